//! Evaluation of a parsed expression over `json::Node` trees.

mod aggregate;
mod boundary;
mod codec;
mod combining;
mod conversion;
mod existence;
mod fhir;
mod filtering;
mod math;
pub(crate) mod ops;
mod string;
mod subsetting;
pub(crate) mod temporal;
mod tree;
mod utility;

use super::host::{EvalHost, NoHost};
use super::limits::MAX_DEPTH;
use super::model::ModelInfo;
use super::parser::{Expr, ExprKind, TypeSpec};
use super::value::{Item, NodeItem, TypeName};
use super::{Environment, EvalInput, FhirPathError};
use crate::json::{Member, Node, Value};
use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Arc;

/// A collection.
pub(crate) type Coll<'a> = Vec<Item<'a>>;
/// A collection or an error.
pub(crate) type R<'a> = Result<Coll<'a>, FhirPathError>;

/// Lambda scope: `$this` (the focus for arguments), `$index`, `$total`.
#[derive(Clone, Copy)]
pub(crate) struct Frame<'f, 'a> {
    pub this: &'f [Item<'a>],
    pub index: Option<i64>,
    pub total: Option<&'f [Item<'a>]>,
}

/// Evaluation state shared by all function families.
pub(crate) struct Ev<'e, 'a> {
    pub model: Option<&'e dyn ModelInfo>,
    pub input: &'e EvalInput<'a>,
    pub env: &'e Environment<'a>,
    pub host: &'e dyn EvalHost,
    /// N1 singleton rules (see `CompileOptions::strict_singletons`).
    pub strict_singletons: bool,
    steps: Cell<u64>,
    depth: Cell<usize>,
    /// `now()` is read once per evaluation (all calls agree).
    pub now: std::cell::OnceCell<Option<super::datetime::Temporal>>,
    /// Shared subexpression results, when the environment has a cache
    /// bound to this input.
    cache: Option<&'e super::EvalCache<'a>>,
    /// Address of the model, part of cache keys.
    model_addr: usize,
}

/// Drops primitives that have no value (only an `_x` extension): they
/// count as items for indexing but as empty for singleton operations.
pub(crate) fn strip_nulls<'c, 'a>(c: &'c [Item<'a>]) -> Cow<'c, [Item<'a>]> {
    let is_null =
        |i: &Item<'a>| matches!(i, Item::Node(n) if n.node.is_none_or(|v| v.value == Value::Null));
    if c.iter().any(is_null) {
        Cow::Owned(c.iter().filter(|i| !is_null(i)).cloned().collect())
    } else {
        Cow::Borrowed(c)
    }
}

/// The text of a one-item collection: FHIR primitives as their JSON text
/// (dates keep what was written), System values converted.
fn single_text<'c>(c: &'c [Item<'_>], pos: usize) -> Result<Option<Cow<'c, str>>, FhirPathError> {
    match c {
        [] => Ok(None),
        [Item::Node(NodeItem {
            node:
                Some(Node {
                    value: Value::String(s),
                    ..
                }),
            ..
        })] => Ok(Some(Cow::Borrowed(s))),
        [Item::String(s)] => Ok(Some(Cow::Borrowed(s))),
        [one] => match one.to_system() {
            Some(Item::String(s)) => Ok(Some(Cow::Owned(s))),
            _ => Err(FhirPathError::exec(pos, "expected a string")),
        },
        _ => Err(FhirPathError::exec(
            pos,
            "expected a single string, found several items",
        )),
    }
}

/// Whether `suffix` is `ty` with its first letter upper-cased (`dateTime`
/// and `DateTime`), as choice element names spell types; no allocation.
fn is_capitalized(ty: &str, suffix: &str) -> bool {
    let (mut a, mut b) = (ty.chars(), suffix.chars());
    match (a.next(), b.next()) {
        (Some(x), Some(y)) => x.to_uppercase().eq(std::iter::once(y)) && a.as_str() == b.as_str(),
        _ => false,
    }
}

/// Exposes the narrative check to the unit tests.
#[cfg(test)]
pub(crate) fn html_checks_for_test(xhtml: &str) -> bool {
    fhir::html_ok(xhtml)
}

/// Types a resource root by its `resourceType`.
pub(crate) fn typed_root(node: &Node) -> Item<'_> {
    let t = node
        .get("resourceType")
        .and_then(Node::as_str)
        .unwrap_or("");
    Item::node(node, Arc::from(t))
}

pub(crate) fn evaluate<'a>(
    ast: &Expr,
    model: Option<&dyn ModelInfo>,
    strict_singletons: bool,
    input: &EvalInput<'a>,
    env: &Environment<'a>,
    cache: Option<&super::EvalCache<'a>>,
) -> R<'a> {
    let ev = Ev {
        model,
        strict_singletons,
        input,
        env,
        host: env.host.unwrap_or(&NoHost),
        steps: Cell::new(0),
        depth: Cell::new(0),
        now: std::cell::OnceCell::new(),
        cache: cache.filter(|c| env.trace.is_none() && env.variables.is_empty() && c.bind(input)),
        model_addr: model.map_or(0, |m| m as *const dyn ModelInfo as *const () as usize),
    };
    let frame = Frame {
        this: &input.focus,
        index: None,
        total: None,
    };
    ev.eval(ast, &input.focus, &frame)
}

impl<'e, 'a> Ev<'e, 'a> {
    /// Counts work; errors once the step budget is spent.
    pub fn tick(&self, n: u64, pos: usize) -> Result<(), FhirPathError> {
        let s = self.steps.get() + n;
        self.steps.set(s);
        if s > self.env.limits.max_steps {
            return Err(FhirPathError::exec(pos, "evaluation step limit exceeded"));
        }
        Ok(())
    }

    /// Errors when built strings grow past the length limit.
    pub fn check_strings(&self, items: &[Item<'a>], pos: usize) -> Result<(), FhirPathError> {
        let max = self.env.limits.max_string_len;
        if items
            .iter()
            .any(|i| matches!(i, Item::String(s) if s.len() > max))
        {
            return Err(FhirPathError::exec(
                pos,
                format!("string longer than {max} bytes"),
            ));
        }
        Ok(())
    }

    /// Errors when a collection grows past the size limit.
    pub fn check_size(&self, len: usize, pos: usize) -> Result<(), FhirPathError> {
        if len > self.env.limits.max_items {
            return Err(FhirPathError::exec(
                pos,
                format!("collection larger than {} items", self.env.limits.max_items),
            ));
        }
        Ok(())
    }

    pub fn eval(&self, e: &Expr, focus: &[Item<'a>], fr: &Frame<'_, 'a>) -> R<'a> {
        self.tick(1, e.pos)?;
        let d = self.depth.get() + 1;
        if d > MAX_DEPTH {
            return Err(FhirPathError::exec(e.pos, "evaluation nested too deeply"));
        }
        self.depth.set(d);
        let r = match (e.memo, self.cache) {
            (Some(memo), Some(cache)) => self.eval_shared(cache, memo, e, focus, fr),
            _ => self.eval_inner(e, focus, fr),
        };
        self.depth.set(d - 1);
        r
    }

    /// [`Ev::eval_inner`] through the shared cache.
    fn eval_shared(
        &self,
        cache: &super::EvalCache<'a>,
        memo: super::memo::Memo,
        e: &Expr,
        focus: &[Item<'a>],
        fr: &Frame<'_, 'a>,
    ) -> R<'a> {
        let Some(key) = super::memo::cache_key(
            memo,
            focus,
            fr.this,
            self.model_addr,
            self.strict_singletons,
        ) else {
            return self.eval_inner(e, focus, fr);
        };
        if let Some(v) = cache.get(&key) {
            return Ok(v);
        }
        let r = self.eval_inner(e, focus, fr)?;
        cache.put(key, &r);
        Ok(r)
    }

    fn eval_inner(&self, e: &Expr, focus: &[Item<'a>], fr: &Frame<'_, 'a>) -> R<'a> {
        Ok(match &e.kind {
            ExprKind::Empty => vec![],
            ExprKind::Bool(b) => vec![Item::Boolean(*b)],
            ExprKind::Str(s) => vec![Item::String(s.clone())],
            ExprKind::Int(i) => vec![Item::Integer(*i)],
            ExprKind::Dec(d) => vec![Item::Decimal(*d)],
            ExprKind::Temporal(t) => vec![Item::Temporal(t.clone())],
            ExprKind::Quantity(q) => vec![Item::Quantity(q.clone())],
            ExprKind::This => fr.this.to_vec(),
            ExprKind::Index => fr.index.map(Item::Integer).into_iter().collect(),
            ExprKind::Total => fr.total.map(<[Item]>::to_vec).unwrap_or_default(),
            ExprKind::Env(name) => self.env_var(name, e.pos)?,
            ExprKind::TypeArg(t) => {
                return Err(FhirPathError::exec(
                    e.pos,
                    format!("unexpected type name {}", t.name),
                ))
            }
            ExprKind::Member(target, name) => match target {
                None => self.root_member(focus, name, e.pos)?,
                Some(t) => {
                    let base = self.eval(t, focus, fr)?;
                    self.navigate(&base, name, e.pos)?
                }
            },
            ExprKind::Call(target, name, args) => {
                let inp = match target {
                    None => focus.to_vec(),
                    Some(t) => self.eval(t, focus, fr)?,
                };
                self.call(name, &inp, args, fr, e.pos)?
            }
            ExprKind::Scoped(t, inner) => {
                let base = self.eval(t, focus, fr)?;
                let scope = Frame {
                    this: &base,
                    index: fr.index,
                    total: fr.total,
                };
                self.eval(inner, &base, &scope)?
            }
            ExprKind::Indexer(t, idx) => {
                let base = self.eval(t, focus, fr)?;
                let i = self.eval(idx, fr.this, fr)?;
                match self.singleton_int(&i, idx.pos)? {
                    Some(i) if i >= 0 => base.into_iter().nth(i as usize).into_iter().collect(),
                    _ => vec![],
                }
            }
            ExprKind::Neg(inner) => {
                let v = self.eval(inner, focus, fr)?;
                ops::negate(v, e.pos)?
            }
            ExprKind::Binary(op, l, r) => ops::binary(self, *op, l, r, focus, fr, e.pos)?,
            ExprKind::Is(inner, spec) => {
                let v = self.eval(inner, focus, fr)?;
                match v.as_slice() {
                    [] => vec![],
                    [one] => vec![Item::Boolean(self.is_type(one, spec, e.pos)?)],
                    _ => return Err(FhirPathError::exec(e.pos, "'is' needs a single item")),
                }
            }
            ExprKind::As(inner, spec) => {
                // Lenient like the HL7 Java engine: filters a collection.
                let v = self.eval(inner, focus, fr)?;
                let mut out = Vec::new();
                for it in v {
                    if self.as_type(&it, spec, e.pos)? {
                        out.push(it);
                    }
                }
                out
            }
        })
    }

    fn env_var(&self, name: &str, pos: usize) -> R<'a> {
        if let Some(v) = self.env.variables.get(name) {
            return Ok(v.clone());
        }
        let s = |v: &str| Ok(vec![Item::String(v.to_string())]);
        match name {
            "resource" => Ok(self
                .input
                .resource
                .map(|n| self.typed_resource(n))
                .into_iter()
                .collect()),
            "rootResource" => Ok(self
                .input
                .root_resource
                .map(|n| self.typed_resource(n))
                .into_iter()
                .collect()),
            "context" => Ok(self
                .input
                .context
                .clone()
                .unwrap_or_else(|| self.input.focus.clone())),
            "ucum" => s("http://unitsofmeasure.org"),
            "sct" => s("http://snomed.info/sct"),
            "loinc" => s("http://loinc.org"),
            _ => {
                if let Some(v) = name.strip_prefix("vs-") {
                    return s(&format!("http://hl7.org/fhir/ValueSet/{v}"));
                }
                if let Some(v) = name.strip_prefix("ext-") {
                    return s(&format!("http://hl7.org/fhir/StructureDefinition/{v}"));
                }
                Err(FhirPathError::exec(
                    pos,
                    format!("unknown variable %{name}"),
                ))
            }
        }
    }

    /// A resource typed by its `resourceType` (the model's interned name,
    /// so no allocation).
    fn typed_resource(&self, node: &'a Node) -> Item<'a> {
        let t = node
            .get("resourceType")
            .and_then(Node::as_str)
            .unwrap_or("");
        let name = self
            .model
            .and_then(|m| m.type_name(t))
            .unwrap_or_else(|| Arc::from(t));
        Item::node(node, name)
    }

    /// An identifier at the start of a path: a type name filters the focus
    /// by type (`Patient.name` on a Patient), otherwise it is navigation.
    fn root_member(&self, focus: &[Item<'a>], name: &str, pos: usize) -> R<'a> {
        if name.starts_with(|c: char| c.is_ascii_uppercase()) {
            let matching: Coll<'a> = focus
                .iter()
                .filter(|it| match it {
                    Item::Node(n) => match self.model {
                        Some(m) => m.is_subtype(&n.type_name, name),
                        None => &*n.type_name == name,
                    },
                    _ => false,
                })
                .cloned()
                .collect();
            if !matching.is_empty() || self.model.is_some_and(|m| m.is_type(name)) {
                return Ok(matching);
            }
        }
        self.navigate(focus, name, pos)
    }

    /// `.name` on every item.
    pub fn navigate(&self, base: &[Item<'a>], name: &str, pos: usize) -> R<'a> {
        let mut out = Vec::new();
        for it in base {
            self.child_named(it, name, &mut out);
            self.check_size(out.len(), pos)?;
        }
        self.tick(base.len() as u64, pos)?;
        Ok(out)
    }

    /// The type of a value declared `declared`: a resource says its own
    /// (interned by the model, so no allocation per resource).
    fn type_of_value(&self, node: &Node, declared: &TypeName) -> TypeName {
        match node.get("resourceType").and_then(Node::as_str) {
            Some(rt) if rt != &**declared => self
                .model
                .and_then(|m| m.type_name(rt))
                .unwrap_or_else(|| Arc::from(rt)),
            _ => declared.clone(),
        }
    }

    /// Pushes the value(s) of member `key` (with `_key` siblings) typed `t`.
    fn push_member(&self, members: &'a [Member], key: &str, t: &TypeName, out: &mut Coll<'a>) {
        // One pass finds both `key` and `_key`.
        let (mut val, mut ext) = (None, None);
        for m in members {
            let k: &str = &m.key;
            if k == key {
                val = val.or(Some(&m.value));
            } else if k.len() == key.len() + 1 && k.strip_prefix('_') == Some(key) {
                ext = ext.or(Some(&m.value));
            }
        }
        // Items of a member: an array's (null counts as absent) or the one
        // value; read by index so that nothing is collected.
        let len = |n: Option<&'a Node>| match n.map(|n| &n.value) {
            None | Some(Value::Null) => 0,
            Some(Value::Array(a)) => a.len(),
            Some(_) => 1,
        };
        let at = |n: Option<&'a Node>, i: usize| -> Option<&'a Node> {
            let n = n?;
            match &n.value {
                Value::Array(a) => a.get(i).filter(|x| x.value != Value::Null),
                Value::Null => None,
                _ => (i == 0).then_some(n),
            }
        };
        for i in 0..len(val).max(len(ext)) {
            let node = at(val, i);
            let ext = at(ext, i);
            if node.is_none() && ext.is_none() {
                continue;
            }
            let type_name = match node {
                Some(n) => self.type_of_value(n, t),
                None => t.clone(),
            };
            out.push(Item::Node(NodeItem {
                node,
                ext,
                type_name,
            }));
        }
    }

    fn child_named(&self, it: &Item<'a>, name: &str, out: &mut Coll<'a>) {
        let n = match it {
            Item::Node(n) => n,
            Item::Quantity(q) => {
                match name {
                    "value" => out.push(Item::Decimal(q.value)),
                    "unit" | "code" => out.push(Item::String(q.unit.clone())),
                    _ => {}
                }
                return;
            }
            Item::Type(ns, t) => {
                match name {
                    "namespace" => out.push(Item::String(ns.to_string())),
                    "name" => out.push(Item::String(t.clone())),
                    _ => {}
                }
                return;
            }
            _ => return,
        };
        let members = match n.node.and_then(Node::as_object) {
            Some(m) => m,
            None => {
                // A primitive: only `id` and `extension` from its `_x` sibling.
                if let Some(ext) = n.ext.and_then(Node::as_object) {
                    let t: TypeName = Arc::from(if name == "extension" {
                        "Extension"
                    } else {
                        "string"
                    });
                    self.push_member(ext, name, &t, out);
                }
                return;
            }
        };
        let t = &n.type_name;
        // One model look-up in the common case: a child found means the
        // type is known.
        let model = self.model.filter(|_| !t.is_empty());
        match model.map(|m| (m, m.child(t, name))) {
            Some((_, Some(ci))) if ci.choice => {
                for m in members {
                    // `valueString`, or `_valueString` alone (extension only).
                    let key = match m.key.strip_prefix('_') {
                        Some(k) if members.iter().any(|o| &*o.key == k) => continue,
                        Some(k) => k,
                        None => &*m.key,
                    };
                    if let Some(suffix) = key.strip_prefix(name) {
                        if let Some(ty) = ci.types.iter().find(|ty| is_capitalized(ty, suffix)) {
                            self.push_member(members, key, ty, out);
                        }
                    }
                }
            }
            Some((_, Some(ci))) => {
                if let Some(ty) = ci.types.first() {
                    self.push_member(members, name, ty, out);
                }
            }
            Some((model, None)) if model.is_type(t) => {
                if name == "resourceType" {
                    self.push_member(members, name, &Arc::from("string"), out);
                } else if let Some((_, ty)) = super::model::resolve_key(model, t, name) {
                    // `valueQuantity` style (rejected by the checker when
                    // the context type is known; evaluates like fhirpath.js).
                    self.push_member(members, name, &ty, out);
                }
            }
            _ => self.push_member(members, name, &Arc::from(""), out),
        }
    }

    /// All direct children of an item (for `children()`/`descendants()`).
    pub fn children_of(&self, it: &Item<'a>, out: &mut Coll<'a>) {
        let Item::Node(n) = it else {
            return;
        };
        let Some(members) = n.node.and_then(Node::as_object) else {
            if let Some(ext) = n.ext.and_then(Node::as_object) {
                for m in ext {
                    let t: TypeName = Arc::from(if &*m.key == "extension" {
                        "Extension"
                    } else {
                        "string"
                    });
                    self.push_member(ext, &m.key, &t, out);
                }
            }
            return;
        };
        for m in members {
            let key: &str = &m.key;
            if key == "resourceType" {
                continue;
            }
            if let Some(base) = key.strip_prefix('_') {
                if members.iter().any(|o| &*o.key == base) {
                    continue;
                }
                self.push_child_key(n, members, base, out);
                continue;
            }
            self.push_child_key(n, members, key, out);
        }
    }

    fn push_child_key(
        &self,
        n: &NodeItem<'a>,
        members: &'a [Member],
        key: &str,
        out: &mut Coll<'a>,
    ) {
        let t = self
            .model
            .and_then(|m| super::model::resolve_key(m, &n.type_name, key).map(|(_, t)| t))
            .unwrap_or_else(|| Arc::from(""));
        self.push_member(members, key, &t, out);
    }

    /// Evaluates a non-lambda argument (against the enclosing `$this`).
    pub fn arg(&self, args: &[Expr], i: usize, fr: &Frame<'_, 'a>) -> R<'a> {
        match args.get(i) {
            Some(a) => self.eval(a, fr.this, fr),
            None => Ok(vec![]),
        }
    }

    /// Evaluates a lambda argument for one item.
    pub fn lambda(
        &self,
        e: &Expr,
        item: &Item<'a>,
        index: usize,
        total: Option<&[Item<'a>]>,
    ) -> R<'a> {
        let this = std::slice::from_ref(item);
        let fr = Frame {
            this,
            index: Some(index as i64),
            total,
        };
        self.eval(e, this, &fr)
    }

    /// The single integer of a collection (error for several or non-integer).
    pub fn singleton_int(&self, c: &[Item<'a>], pos: usize) -> Result<Option<i64>, FhirPathError> {
        match &*strip_nulls(c) {
            [] => Ok(None),
            [one] => match one.to_system() {
                Some(Item::Integer(i)) => Ok(Some(i)),
                _ => Err(FhirPathError::exec(pos, "expected an integer")),
            },
            _ => Err(FhirPathError::exec(
                pos,
                "expected a single integer, found several items",
            )),
        }
    }

    /// The single string of a collection, borrowed where it can be.
    pub fn singleton_str<'c>(
        &self,
        c: &'c [Item<'a>],
        pos: usize,
    ) -> Result<Option<Cow<'c, str>>, FhirPathError> {
        match strip_nulls(c) {
            Cow::Borrowed(c) => single_text(c, pos),
            Cow::Owned(v) => Ok(single_text(&v, pos)?.map(|s| Cow::Owned(s.into_owned()))),
        }
    }

    /// Singleton evaluation of a collection to a boolean (§4.5): empty is
    /// `None`; one boolean is itself; another single item is `true`.
    pub fn singleton_bool(
        &self,
        c: &[Item<'a>],
        pos: usize,
    ) -> Result<Option<bool>, FhirPathError> {
        match &*strip_nulls(c) {
            [] => Ok(None),
            [one] => Ok(Some(match one.to_system() {
                Some(Item::Boolean(b)) => b,
                _ => true,
            })),
            // Java-validator compatible: a non-empty collection is true.
            _ if !self.strict_singletons => Ok(Some(true)),
            _ => Err(FhirPathError::exec(
                pos,
                "expected a single boolean, found several items",
            )),
        }
    }

    /// `is`: whether `it` is of the named type or a subtype (`code` is a
    /// `string`).
    pub fn is_type(
        &self,
        it: &Item<'a>,
        spec: &TypeSpec,
        pos: usize,
    ) -> Result<bool, FhirPathError> {
        self.type_matches(it, spec, pos, false)
    }

    /// `as`/`ofType`: like [`Ev::is_type`] but FHIR primitives must match
    /// exactly (the official R4 suite: `gender.as(string)` is empty).
    pub fn as_type(
        &self,
        it: &Item<'a>,
        spec: &TypeSpec,
        pos: usize,
    ) -> Result<bool, FhirPathError> {
        self.type_matches(it, spec, pos, true)
    }

    fn type_matches(
        &self,
        it: &Item<'a>,
        spec: &TypeSpec,
        pos: usize,
        exact_primitive: bool,
    ) -> Result<bool, FhirPathError> {
        const SYSTEM: [&str; 9] = [
            "Boolean", "String", "Integer", "Decimal", "Date", "DateTime", "Time", "Quantity",
            "Any",
        ];
        let ns = spec.namespace.as_deref();
        let name = spec.name.as_str();
        let known_fhir =
            self.model.is_none_or(|m| m.is_type(name)) || super::value::is_fhir_primitive(name);
        if ns == Some("System") && !SYSTEM.contains(&name) {
            // Not a System type, so nothing is one (`is(System.Patient)`).
            return Ok(false);
        }
        if !SYSTEM.contains(&name) && !known_fhir {
            return Err(FhirPathError::exec(pos, format!("unknown type {name}")));
        }
        Ok(match it {
            // Untyped JSON (no model): judge by the System value.
            Item::Node(n) if n.type_name.is_empty() => match it.to_system() {
                Some(v) => ns != Some("FHIR") && v.type_info().1 == name,
                None => false,
            },
            Item::Node(n) => {
                if ns == Some("System") {
                    false
                } else {
                    let t: &str = &n.type_name;
                    match self.model {
                        // FHIR primitives are distinct types (`code` is not `string`).
                        Some(_) if exact_primitive && super::value::is_fhir_primitive(t) => {
                            t == name
                        }
                        Some(m) => {
                            m.is_subtype(t, name)
                                || (t.contains('.')
                                    && m.base_type(t).is_some_and(|b| m.is_subtype(b, name)))
                        }
                        None => t == name,
                    }
                }
            }
            other => {
                if ns == Some("FHIR") {
                    false
                } else {
                    let (_, t) = other.type_info();
                    t == name || name == "Any"
                }
            }
        })
    }

    /// Dispatches a function call to its family.
    fn call(
        &self,
        name: &str,
        inp: &[Item<'a>],
        args: &[Expr],
        fr: &Frame<'_, 'a>,
        pos: usize,
    ) -> R<'a> {
        let c = Call {
            ev: self,
            inp,
            args,
            fr,
            pos,
        };
        let r = existence::call(&c, name)
            .or_else(|| filtering::call(&c, name))
            .or_else(|| subsetting::call(&c, name))
            .or_else(|| combining::call(&c, name))
            .or_else(|| conversion::call(&c, name))
            .or_else(|| string::call(&c, name))
            .or_else(|| math::call(&c, name))
            .or_else(|| tree::call(&c, name))
            .or_else(|| utility::call(&c, name))
            .or_else(|| fhir::call(&c, name))
            .or_else(|| boundary::call(&c, name))
            .or_else(|| temporal::call(&c, name))
            .or_else(|| codec::call(&c, name))
            .or_else(|| aggregate::call(&c, name))
            .or_else(|| ops::call(&c, name));
        if let Some(r) = r {
            return r;
        }
        Err(FhirPathError::semantic(
            pos,
            format!("unknown function {name}()"),
        ))
    }
}

/// One function invocation: evaluation state, input and arguments.
pub(crate) struct Call<'c, 'e, 'f, 'a> {
    pub ev: &'c Ev<'e, 'a>,
    pub inp: &'c [Item<'a>],
    pub args: &'c [Expr],
    pub fr: &'c Frame<'f, 'a>,
    pub pos: usize,
}

impl<'c, 'a> Call<'c, '_, '_, 'a> {
    /// Evaluates argument `i` (non-lambda).
    pub fn arg(&self, i: usize) -> R<'a> {
        self.ev.arg(self.args, i, self.fr)
    }

    /// Argument `i` as an optional single string (a literal is borrowed).
    pub fn str_arg(&self, i: usize) -> Result<Option<Cow<'c, str>>, FhirPathError> {
        if let Some(ExprKind::Str(s)) = self.args.get(i).map(|a| &a.kind) {
            return Ok(Some(Cow::Borrowed(s)));
        }
        let v = self.arg(i)?;
        Ok(self
            .ev
            .singleton_str(&v, self.pos)?
            .map(|s| Cow::Owned(s.into_owned())))
    }

    /// Argument `i` as an optional single integer.
    pub fn int_arg(&self, i: usize) -> Result<Option<i64>, FhirPathError> {
        let v = self.arg(i)?;
        self.ev.singleton_int(&v, self.pos)
    }

    /// The input as a single System value (`None` when empty).
    pub fn single(&self) -> Result<Option<Item<'a>>, FhirPathError> {
        match &*strip_nulls(self.inp) {
            [] => Ok(None),
            [one] => Ok(Some(
                one.to_system()
                    .map(|v| v as Item<'a>)
                    .unwrap_or_else(|| one.clone()),
            )),
            _ => Err(FhirPathError::exec(
                self.pos,
                "function requires a single input item",
            )),
        }
    }

    /// The input as a single string (`None` when empty; error otherwise).
    pub fn single_str(&self) -> Result<Option<Cow<'c, str>>, FhirPathError> {
        self.ev.singleton_str(self.inp, self.pos)
    }

    /// Errors unless the argument count is in range.
    pub fn arity(&self, min: usize, max: usize) -> Result<(), FhirPathError> {
        if self.args.len() < min || self.args.len() > max {
            return Err(FhirPathError::semantic(
                self.pos,
                "wrong number of arguments",
            ));
        }
        Ok(())
    }

    /// An execution error at this call.
    pub fn err(&self, msg: impl Into<String>) -> FhirPathError {
        FhirPathError::exec(self.pos, msg)
    }
}
