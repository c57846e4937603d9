//! Building a [`Terminology`]: reading ValueSets, CodeSystems and code
//! lists, then expanding every value set once.

use super::{
    external_name, external_reason, strip_version, syntax_check, Content, NotCheckedKind, Open,
    StoredCodeSystem, StoredConcept, StoredValueSet, StringTable, Terminology, NONE,
};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::fxhash::{FxHashMap as HashMap, FxHashSet as HashSet};

struct BuildConcept {
    code: String,
    /// Preferred display first, then designations.
    displays: Vec<String>,
    /// Parent codes (from nesting and the `parent` property).
    parents: Vec<String>,
    /// Child codes from the `child` property.
    children: Vec<String>,
    /// (property code, value as text).
    props: Vec<(String, String)>,
}

struct BuildCodeSystem {
    /// `CodeSystem.version`.
    version: Option<String>,
    content: Content,
    case_sensitive: bool,
    concepts: Vec<BuildConcept>,
}

#[derive(Default)]
struct Include {
    system: Option<String>,
    /// `include.version`.
    version: Option<String>,
    concepts: Vec<String>,
    filters: Vec<(String, String, String)>,
    value_sets: Vec<String>,
}

struct BuildValueSet {
    include: Vec<Include>,
    exclude: Vec<Include>,
    /// (system, code) of a complete precomputed expansion.
    expansion: Option<Vec<(String, String)>>,
}

/// Collects ValueSets, CodeSystems and code lists, then expands everything
/// into a [`Terminology`]. Later additions with the same canonical replace
/// earlier ones.
#[derive(Default)]
pub struct TerminologyBuilder {
    code_systems: BTreeMap<String, BuildCodeSystem>,
    value_sets: BTreeMap<String, BuildValueSet>,
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn property_value(p: &Value) -> Option<String> {
    for key in [
        "valueCode",
        "valueString",
        "valueBoolean",
        "valueInteger",
        "valueDecimal",
        "valueDateTime",
    ] {
        if let Some(v) = p.get(key).and_then(as_text) {
            return Some(v);
        }
    }
    p.get("valueCoding")
        .and_then(|c| c.get("code"))
        .and_then(as_text)
}

fn read_concepts(list: &Value, parent: Option<&str>, out: &mut Vec<BuildConcept>) {
    for c in list.as_array().into_iter().flatten() {
        let Some(code) = c.get("code").and_then(Value::as_str) else {
            continue;
        };
        let mut displays = Vec::new();
        if let Some(d) = c.get("display").and_then(Value::as_str) {
            displays.push(d.to_string());
        }
        for d in c
            .get("designation")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(v) = d.get("value").and_then(Value::as_str) {
                displays.push(v.to_string());
            }
        }
        let mut concept = BuildConcept {
            code: code.to_string(),
            displays,
            parents: parent.map(str::to_string).into_iter().collect(),
            children: Vec::new(),
            props: Vec::new(),
        };
        for p in c
            .get("property")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(name), Some(value)) =
                (p.get("code").and_then(Value::as_str), property_value(p))
            else {
                continue;
            };
            match name {
                "parent" => concept.parents.push(value.clone()),
                "child" => concept.children.push(value.clone()),
                _ => {}
            }
            concept.props.push((name.to_string(), value));
        }
        out.push(concept);
        if let Some(nested) = c.get("concept") {
            read_concepts(nested, Some(code), out);
        }
    }
}

fn read_include(v: &Value) -> Include {
    let strs = |key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|s| strip_version(s).to_string())
            .collect()
    };
    Include {
        system: v
            .get("system")
            .and_then(Value::as_str)
            .map(|s| strip_version(s).to_string()),
        version: v.get("version").and_then(Value::as_str).map(str::to_string),
        concepts: v
            .get("concept")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("code").and_then(Value::as_str))
            .map(str::to_string)
            .collect(),
        filters: v
            .get("filter")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|f| {
                let s = |k: &str| {
                    f.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                (s("property"), s("op"), s("value"))
            })
            .collect(),
        value_sets: strs("valueSet"),
    }
}

/// (system, code) of a precomputed expansion, if it is complete.
fn read_expansion(exp: &Value) -> Option<Vec<(String, String)>> {
    fn walk(list: &Value, out: &mut Vec<(String, String)>) {
        for c in list.as_array().into_iter().flatten() {
            let is_abstract = c.get("abstract").and_then(Value::as_bool) == Some(true);
            if let (false, Some(s), Some(code)) = (
                is_abstract,
                c.get("system").and_then(Value::as_str),
                c.get("code").and_then(Value::as_str),
            ) {
                out.push((strip_version(s).to_string(), code.to_string()));
            }
            if let Some(nested) = c.get("contains") {
                walk(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(exp.get("contains")?, &mut out);
    let partial = exp
        .get("parameter")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|p| {
            p.get("name").and_then(Value::as_str) == Some("offset")
                && p.get("valueInteger").and_then(Value::as_u64).unwrap_or(0) > 0
        });
    let total = exp.get("total").and_then(Value::as_u64);
    if partial || total.is_some_and(|t| t as usize > out.len()) {
        return None;
    }
    Some(out)
}

impl TerminologyBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a ValueSet resource. `_source` names where it came from (kept
    /// for future diagnostics). Resources without `url` are ignored.
    pub fn add_value_set(&mut self, vs: &Value, _source: &str) {
        let Some(url) = vs.get("url").and_then(Value::as_str) else {
            return;
        };
        let compose = vs.get("compose");
        let part = |key: &str| -> Vec<Include> {
            compose
                .and_then(|c| c.get(key))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(read_include)
                .collect()
        };
        self.value_sets.insert(
            strip_version(url).to_string(),
            BuildValueSet {
                include: part("include"),
                exclude: part("exclude"),
                expansion: vs.get("expansion").and_then(read_expansion),
            },
        );
    }

    /// Adds a CodeSystem resource. Supplements are ignored; content
    /// defaults to `complete` and `caseSensitive` to true when absent.
    pub fn add_code_system(&mut self, cs: &Value, _source: &str) {
        let Some(url) = cs.get("url").and_then(Value::as_str) else {
            return;
        };
        let content = match cs.get("content").and_then(Value::as_str) {
            Some("supplement") => return,
            Some("fragment") => Content::Fragment,
            Some("example") => Content::Example,
            Some("not-present") => Content::NotPresent,
            _ => Content::Complete,
        };
        let mut concepts = Vec::new();
        if let Some(list) = cs.get("concept") {
            read_concepts(list, None, &mut concepts);
        }
        // "complete" with no concepts (e.g. message-events, whose codes are
        // defined elsewhere) cannot be trusted to reject anything.
        let content = if content == Content::Complete && concepts.is_empty() {
            Content::NotPresent
        } else {
            content
        };
        self.code_systems.insert(
            strip_version(url).to_string(),
            BuildCodeSystem {
                version: cs
                    .get("version")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                content,
                case_sensitive: cs
                    .get("caseSensitive")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
                concepts,
            },
        );
    }

    /// Adds a user-supplied list of the codes of `system` (for licensed
    /// terminologies such as LOINC or SNOMED CT): one code per line,
    /// optionally `code<TAB>display`; blank lines and lines starting with
    /// `#` are skipped. The list is taken as the complete, case-sensitive
    /// content of the system and replaces any loaded CodeSystem.
    pub fn add_code_list(&mut self, system: &str, text: &str) {
        let mut concepts = Vec::new();
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (code, display) = match line.split_once('\t') {
                Some((c, d)) => (c.trim(), Some(d.trim())),
                None => (line.trim(), None),
            };
            concepts.push(BuildConcept {
                code: code.to_string(),
                displays: display
                    .filter(|d| !d.is_empty())
                    .map(str::to_string)
                    .into_iter()
                    .collect(),
                parents: Vec::new(),
                children: Vec::new(),
                props: Vec::new(),
            });
        }
        self.code_systems.insert(
            strip_version(system).to_string(),
            BuildCodeSystem {
                version: None,
                content: Content::Complete,
                case_sensitive: true,
                concepts,
            },
        );
    }

    /// Expands every value set and compiles the result.
    pub fn build(self) -> Terminology {
        let mut ex = Expander {
            strings: Interner::default(),
            systems: HashMap::default(),
            value_sets: &self.value_sets,
            memo: HashMap::default(),
            in_progress: HashSet::default(),
        };
        for (url, cs) in &self.code_systems {
            ex.systems.insert(url.as_str(), SystemIndex::new(cs));
        }
        let mut code_systems = Vec::with_capacity(self.code_systems.len());
        let mut displays: Vec<u32> = Vec::new();
        for (url, cs) in &self.code_systems {
            let mut concepts: Vec<StoredConcept> = Vec::with_capacity(cs.concepts.len());
            for c in &cs.concepts {
                let displays_start = displays.len() as u32;
                for d in &c.displays {
                    displays.push(ex.strings.intern(d));
                }
                concepts.push(StoredConcept {
                    code: ex.strings.intern(&c.code),
                    displays_start,
                    displays_len: c.displays.len() as u32,
                });
            }
            concepts.sort_by_key(|c| c.code);
            concepts.dedup_by_key(|c| c.code);
            code_systems.push(StoredCodeSystem {
                url: ex.strings.intern(url),
                content: cs.content,
                case_sensitive: cs.case_sensitive,
                concepts,
            });
        }
        let mut value_sets = Vec::with_capacity(self.value_sets.len());
        for url in self.value_sets.keys() {
            let set = ex.expand(url);
            let mut systems: HashSet<Option<u32>> =
                set.members.iter().map(|&(s, _)| Some(s)).collect();
            for o in &set.open {
                systems.insert(o.system);
            }
            let single_system = match systems.into_iter().collect::<Vec<_>>()[..] {
                [Some(s)] => s,
                _ => NONE,
            };
            let mut open: Vec<Open> = Vec::new();
            for o in &set.open {
                let stored = Open {
                    system: o.system.unwrap_or(NONE),
                    kind: o.kind,
                    reason: ex.strings.intern(&o.reason),
                };
                if !open.contains(&stored) {
                    open.push(stored);
                }
            }
            value_sets.push(StoredValueSet {
                url: ex.strings.intern(url),
                members: set.members.iter().map(|&(s, c)| (c, s)).collect(),
                single_system,
                open,
            });
        }

        // Sort the string table and renumber every id.
        let mut strings = ex.strings.list;
        let mut order: Vec<u32> = (0..strings.len() as u32).collect();
        order.sort_by(|&a, &b| strings[a as usize].cmp(&strings[b as usize]));
        let mut remap = vec![0u32; strings.len()];
        for (new, &old) in order.iter().enumerate() {
            remap[old as usize] = new as u32;
        }
        let r = |id: u32| if id == NONE { NONE } else { remap[id as usize] };
        let sorted: Vec<String> = order
            .iter()
            .map(|&old| std::mem::take(&mut strings[old as usize]))
            .collect();
        let strings = StringTable::from_sorted(&sorted);
        for d in &mut displays {
            *d = r(*d);
        }
        for cs in &mut code_systems {
            cs.url = r(cs.url);
            for c in &mut cs.concepts {
                c.code = r(c.code);
            }
            cs.concepts.sort_by_key(|c| c.code);
        }
        code_systems.sort_by_key(|c| c.url);
        for vs in &mut value_sets {
            vs.url = r(vs.url);
            vs.single_system = r(vs.single_system);
            for m in &mut vs.members {
                *m = (r(m.0), r(m.1));
            }
            vs.members.sort_unstable();
            for o in &mut vs.open {
                o.system = r(o.system);
                o.reason = r(o.reason);
            }
        }
        value_sets.sort_by_key(|v| v.url);
        Terminology {
            strings,
            displays,
            code_systems,
            value_sets,
        }
    }
}

#[derive(Default)]
struct Interner {
    list: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.list.len() as u32;
        self.list.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }

    fn get(&self, id: u32) -> &str {
        &self.list[id as usize]
    }
}

/// A code system with its hierarchy resolved to indexes.
struct SystemIndex<'a> {
    cs: &'a BuildCodeSystem,
    by_code: HashMap<&'a str, usize>,
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
}

impl<'a> SystemIndex<'a> {
    fn new(cs: &'a BuildCodeSystem) -> Self {
        let by_code: HashMap<&str, usize> = cs
            .concepts
            .iter()
            .enumerate()
            .map(|(i, c)| (c.code.as_str(), i))
            .collect();
        let n = cs.concepts.len();
        let mut parents = vec![Vec::new(); n];
        let mut children = vec![Vec::new(); n];
        for (i, c) in cs.concepts.iter().enumerate() {
            for p in &c.parents {
                if let Some(&pi) = by_code.get(p.as_str()) {
                    if !parents[i].contains(&pi) {
                        parents[i].push(pi);
                        children[pi].push(i);
                    }
                }
            }
            for ch in &c.children {
                if let Some(&ci) = by_code.get(ch.as_str()) {
                    if !parents[ci].contains(&i) {
                        parents[ci].push(i);
                        children[i].push(ci);
                    }
                }
            }
        }
        SystemIndex {
            cs,
            by_code,
            parents,
            children,
        }
    }

    /// `start` and everything reachable through `links`.
    fn closure(&self, start: usize, links: &[Vec<usize>]) -> HashSet<usize> {
        let mut seen: HashSet<usize> = std::iter::once(start).collect();
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            for &j in &links[i] {
                if seen.insert(j) {
                    stack.push(j);
                }
            }
        }
        seen
    }

    /// Values of `property` on concept `i` (with `parent`, `child`,
    /// `code`/`concept` and `display` derived).
    fn values(&self, i: usize, property: &str) -> Vec<&str> {
        let c = &self.cs.concepts[i];
        match property {
            "code" | "concept" => vec![c.code.as_str()],
            "display" => c.displays.first().map(String::as_str).into_iter().collect(),
            "parent" => self.parents[i]
                .iter()
                .map(|&p| self.cs.concepts[p].code.as_str())
                .collect(),
            "child" => self.children[i]
                .iter()
                .map(|&p| self.cs.concepts[p].code.as_str())
                .collect(),
            _ => c
                .props
                .iter()
                .filter(|(n, _)| n == property)
                .map(|(_, v)| v.as_str())
                .collect(),
        }
    }

    /// The concepts selected by one filter.
    fn filter(&self, property: &str, op: &str, value: &str) -> Result<HashSet<usize>, String> {
        let all = || (0..self.cs.concepts.len()).collect::<HashSet<usize>>();
        let hierarchical = matches!(property, "concept" | "code");
        let at = |code: &str| self.by_code.get(code).copied();
        let unsupported = || Err(format!("filter '{property} {op} {value}' is not supported"));
        match op {
            "is-a" | "descendent-of" | "is-not-a" | "generalizes" if !hierarchical => unsupported(),
            "is-a" => Ok(at(value)
                .map(|i| self.closure(i, &self.children))
                .unwrap_or_default()),
            "descendent-of" => Ok(at(value)
                .map(|i| {
                    let mut s = self.closure(i, &self.children);
                    s.remove(&i);
                    s
                })
                .unwrap_or_default()),
            "is-not-a" => {
                let sub = at(value)
                    .map(|i| self.closure(i, &self.children))
                    .unwrap_or_default();
                Ok(all().into_iter().filter(|i| !sub.contains(i)).collect())
            }
            "generalizes" => Ok(at(value)
                .map(|i| self.closure(i, &self.parents))
                .unwrap_or_default()),
            "=" => Ok(all()
                .into_iter()
                .filter(|&i| self.values(i, property).contains(&value))
                .collect()),
            "in" | "not-in" => {
                let list: HashSet<&str> = value.split(',').map(str::trim).collect();
                let want = op == "in";
                Ok(all()
                    .into_iter()
                    .filter(|&i| self.values(i, property).iter().any(|v| list.contains(v)) == want)
                    .collect())
            }
            "regex" => {
                let re = regex::Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("filter regex '{value}' does not compile: {e}"))?;
                Ok(all()
                    .into_iter()
                    .filter(|&i| self.values(i, property).iter().any(|v| re.is_match(v)))
                    .collect())
            }
            "exists" => {
                let want = match value {
                    "true" => true,
                    "false" => false,
                    _ => return unsupported(),
                };
                Ok(all()
                    .into_iter()
                    .filter(|&i| self.values(i, property).is_empty() != want)
                    .collect())
            }
            _ => unsupported(),
        }
    }
}

/// A part of a value set that is not enumerated, during the build.
#[derive(Debug, Clone, PartialEq)]
struct BuildOpen {
    /// `None`: any system.
    system: Option<u32>,
    kind: NotCheckedKind,
    reason: String,
}

/// A value set (or part of one) being expanded: enumerated members plus
/// open parts.
#[derive(Debug, Clone, Default)]
struct CodeSet {
    /// (system, code)
    members: HashSet<(u32, u32)>,
    open: Vec<BuildOpen>,
}

enum Tri {
    Yes,
    No,
    Unknown(BuildOpen),
}

/// Adds an open part unless the same one is already there.
fn push_open(list: &mut Vec<BuildOpen>, o: BuildOpen) {
    if !list.contains(&o) {
        list.push(o);
    }
}

fn overlaps(a: Option<u32>, b: Option<u32>) -> bool {
    a.is_none() || b.is_none() || a == b
}

struct Expander<'a> {
    strings: Interner,
    systems: HashMap<&'a str, SystemIndex<'a>>,
    value_sets: &'a BTreeMap<String, BuildValueSet>,
    memo: HashMap<String, CodeSet>,
    in_progress: HashSet<String>,
}

impl<'a> Expander<'a> {
    fn contains(&self, set: &CodeSet, system: u32, code: u32) -> Tri {
        if set.members.contains(&(system, code)) {
            return Tri::Yes;
        }
        let mut unknown = None;
        for o in &set.open {
            if !overlaps(o.system, Some(system)) {
                continue;
            }
            if o.kind == NotCheckedKind::Syntax {
                if let Some(valid) = o.system.and_then(|s| syntax_check(self.strings.get(s))) {
                    if valid(self.strings.get(code)) {
                        return Tri::Yes;
                    }
                }
                continue;
            }
            unknown.get_or_insert_with(|| o.clone());
        }
        match unknown {
            Some(o) => Tri::Unknown(o),
            None => Tri::No,
        }
    }

    fn intersect(&self, a: CodeSet, b: CodeSet) -> CodeSet {
        let mut out = CodeSet::default();
        for (x, y) in [(&a, &b), (&b, &a)] {
            for &(s, c) in &x.members {
                match self.contains(y, s, c) {
                    Tri::Yes => {
                        out.members.insert((s, c));
                    }
                    Tri::No => {}
                    Tri::Unknown(o) => push_open(
                        &mut out.open,
                        BuildOpen {
                            system: Some(s),
                            ..o
                        },
                    ),
                }
            }
        }
        for oa in &a.open {
            for ob in &b.open {
                if !overlaps(oa.system, ob.system) {
                    continue;
                }
                let system = oa.system.or(ob.system);
                let pick = if oa.kind != NotCheckedKind::Syntax {
                    oa
                } else {
                    ob
                };
                push_open(
                    &mut out.open,
                    BuildOpen {
                        system,
                        ..pick.clone()
                    },
                );
            }
        }
        out
    }

    fn subtract(&self, a: CodeSet, e: &CodeSet) -> CodeSet {
        let mut out = CodeSet::default();
        for &(s, c) in &a.members {
            match self.contains(e, s, c) {
                Tri::Yes => {}
                Tri::No => {
                    out.members.insert((s, c));
                }
                Tri::Unknown(o) => push_open(
                    &mut out.open,
                    BuildOpen {
                        system: Some(s),
                        ..o
                    },
                ),
            }
        }
        for o in a.open {
            let touched = o.kind == NotCheckedKind::Syntax
                && (e.open.iter().any(|x| overlaps(x.system, o.system))
                    || e.members.iter().any(|&(s, _)| Some(s) == o.system));
            if touched {
                out.open.push(BuildOpen {
                    kind: NotCheckedKind::TooComplex,
                    reason: "an exclude removes codes from a system checked by syntax; the exclusion cannot be evaluated".into(),
                    ..o
                });
            } else {
                out.open.push(o);
            }
        }
        out
    }

    fn open(&mut self, system: &str, kind: NotCheckedKind, reason: String) -> CodeSet {
        CodeSet {
            members: HashSet::default(),
            open: vec![BuildOpen {
                system: Some(self.strings.intern(system)),
                kind,
                reason,
            }],
        }
    }

    /// The codes of `system` selected by an include's concepts or filters.
    fn system_part(&mut self, system: &str, inc: &Include) -> CodeSet {
        let sys = self.strings.intern(system);
        if !inc.concepts.is_empty() {
            let members = inc
                .concepts
                .iter()
                .map(|c| (sys, self.strings.intern(c)))
                .collect();
            return CodeSet {
                members,
                open: Vec::new(),
            };
        }
        if let Some(index) = self.systems.get(system) {
            let content = index.cs.content;
            let mut selected: Option<HashSet<usize>> = None;
            let mut problem = None;
            for (p, op, v) in &inc.filters {
                match index.filter(p, op, v) {
                    Ok(s) => {
                        selected = Some(match selected {
                            None => s,
                            Some(prev) => prev.intersection(&s).copied().collect(),
                        })
                    }
                    Err(e) => {
                        problem = Some(e);
                        break;
                    }
                }
            }
            if let Some(reason) = problem {
                return self.open(
                    system,
                    NotCheckedKind::TooComplex,
                    format!("value set include on {system}: {reason}"),
                );
            }
            let codes: Vec<&str> = match &selected {
                None => index.cs.concepts.iter().map(|c| c.code.as_str()).collect(),
                Some(s) => {
                    let mut v: Vec<usize> = s.iter().copied().collect();
                    v.sort_unstable();
                    v.into_iter()
                        .map(|i| index.cs.concepts[i].code.as_str())
                        .collect()
                }
            };
            let members: HashSet<(u32, u32)> = codes
                .into_iter()
                .map(|c| (sys, self.strings.intern(c)))
                .collect();
            let mut set = CodeSet {
                members,
                open: Vec::new(),
            };
            if let (Some(wanted), Some(loaded)) = (&inc.version, &index.cs.version) {
                if wanted != loaded {
                    // Codes added in the wanted version are not known here.
                    set.open.push(BuildOpen {
                        system: Some(sys),
                        kind: NotCheckedKind::ContentUnavailable,
                        reason: format!(
                            "the value set uses version {wanted} of code system {system}, but version {loaded} is loaded; a code it does not list cannot be judged"
                        ),
                    });
                }
            }
            if content != Content::Complete {
                set.open.push(BuildOpen {
                    system: Some(sys),
                    kind: NotCheckedKind::ContentUnavailable,
                    reason: format!(
                        "code system {system} is loaded with content '{}', so a code it does not list cannot be judged",
                        content.code()
                    ),
                });
            }
            return set;
        }
        if syntax_check(system).is_some() {
            if inc.filters.is_empty() {
                return self.open(
                    system,
                    NotCheckedKind::Syntax,
                    format!("codes of {system} are checked by syntax"),
                );
            }
            return self.open(
                system,
                NotCheckedKind::TooComplex,
                format!("filters on {system} cannot be evaluated offline"),
            );
        }
        match external_name(system) {
            Some(name) => {
                let reason = external_reason(name, system);
                self.open(system, NotCheckedKind::ContentUnavailable, reason)
            }
            None => self.open(
                system,
                NotCheckedKind::UnknownCodeSystem,
                format!("code system {system} is not loaded"),
            ),
        }
    }

    fn include(&mut self, inc: &Include) -> CodeSet {
        let mut parts = Vec::new();
        if let Some(system) = &inc.system {
            parts.push(self.system_part(system, inc));
        }
        for vs in &inc.value_sets {
            parts.push(self.expand(vs));
        }
        let mut parts = parts.into_iter();
        let Some(first) = parts.next() else {
            return CodeSet::default();
        };
        parts.fold(first, |acc, p| self.intersect(acc, p))
    }

    /// The expansion of a value set (memoized; imports of value sets that
    /// are not loaded become open parts).
    fn expand(&mut self, url: &str) -> CodeSet {
        if let Some(s) = self.memo.get(url) {
            return s.clone();
        }
        let Some(vs) = self.value_sets.get(url) else {
            if super::UCUM_VALUE_SETS.contains(&url) {
                return self.open(super::UCUM, NotCheckedKind::Syntax, String::new());
            }
            return CodeSet {
                members: HashSet::default(),
                open: vec![BuildOpen {
                    system: None,
                    kind: NotCheckedKind::UnknownValueSet,
                    reason: format!("imported value set {url} is not loaded"),
                }],
            };
        };
        if !self.in_progress.insert(url.to_string()) {
            return CodeSet {
                members: HashSet::default(),
                open: vec![BuildOpen {
                    system: None,
                    kind: NotCheckedKind::TooComplex,
                    reason: format!("value set {url} imports itself"),
                }],
            };
        }
        let set = if let Some(exp) = &vs.expansion {
            CodeSet {
                members: exp
                    .iter()
                    .map(|(s, c)| (self.strings.intern(s), self.strings.intern(c)))
                    .collect(),
                open: Vec::new(),
            }
        } else if vs.include.is_empty() {
            CodeSet {
                members: HashSet::default(),
                open: vec![BuildOpen {
                    system: None,
                    kind: NotCheckedKind::TooComplex,
                    reason: format!(
                        "value set {url} has neither a compose nor a complete expansion"
                    ),
                }],
            }
        } else {
            let mut set = CodeSet::default();
            for inc in &vs.include {
                let part = self.include(inc);
                set.members.extend(part.members);
                for o in part.open {
                    push_open(&mut set.open, o);
                }
            }
            for exc in &vs.exclude {
                let part = self.include(exc);
                set = self.subtract(set, &part);
            }
            set
        };
        self.in_progress.remove(url);
        self.memo.insert(url.to_string(), set.clone());
        set
    }
}
