//! Type information about the FHIR model, and [`SnapshotModel`], built from
//! StructureDefinition snapshots.

use super::value::TypeName;
use crate::fxhash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// What an element of a type declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildInfo {
    /// Declared types: FHIR type names, or a backbone path such as
    /// `Questionnaire.item` for inline (and content-referenced) elements.
    pub types: Vec<TypeName>,
    /// Whether this is a choice element (`value[x]`).
    pub choice: bool,
    /// Whether the element may repeat (max > 1).
    pub many: bool,
}

/// Broad category of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TypeKind {
    /// A FHIR primitive (`string`, `date`, ...).
    Primitive,
    /// A complex data type (`HumanName`) or backbone element.
    Complex,
    /// A resource.
    Resource,
}

/// Answers questions about FHIR types for navigation and type checking.
pub trait ModelInfo: Send + Sync {
    /// The element `name` of type `type_name` (choice elements by their
    /// base name without `[x]`). Implementations need not follow the base
    /// chain; callers do.
    fn own_child(&self, type_name: &str, name: &str) -> Option<&ChildInfo>;

    /// The parent type (`Patient` -> `DomainResource`), if any.
    fn base_type(&self, type_name: &str) -> Option<&str>;

    /// The kind of a known type; `None` if the name is not a type.
    fn type_kind(&self, type_name: &str) -> Option<TypeKind>;

    /// The shared name of a known type, so that items of that type need
    /// not allocate their own; `None` when not a type (or not interned).
    fn type_name(&self, _name: &str) -> Option<TypeName> {
        None
    }

    /// Whether `name` is a known type.
    fn is_type(&self, name: &str) -> bool {
        self.type_kind(name).is_some()
    }

    /// The element `name` of `type_name` or of one of its base types.
    fn child(&self, type_name: &str, name: &str) -> Option<&ChildInfo> {
        let mut t = type_name;
        for _ in 0..32 {
            if let Some(c) = self.own_child(t, name) {
                return Some(c);
            }
            t = self.base_type(t)?;
        }
        None
    }

    /// [`ModelInfo::child`] for the type an item carries; models may
    /// answer faster for their own (interned) type names.
    fn child_of(&self, type_name: &TypeName, name: &str) -> Option<&ChildInfo> {
        self.child(type_name, name)
    }

    /// [`ModelInfo::child_of`] with the element name as the model keeps
    /// it, so that an evaluation can remember the answer by name; `None`
    /// when the model cannot say (the caller then asks `child_of`).
    fn child_entry(&self, _type_name: &TypeName, _name: &str) -> Option<(&str, &ChildInfo)> {
        None
    }

    /// The static type at an element path (`Patient.contact.name` ->
    /// `HumanName`, `Questionnaire.item.item` -> `Questionnaire.item`), for
    /// [`CompileOptions::context_type`](super::CompileOptions::context_type);
    /// `None` when unknown or not a single type (for a choice element pass
    /// the concrete type, such as `Quantity`, instead).
    fn type_of_path(&self, path: &str) -> Option<TypeName> {
        let mut segs = path.split('.');
        let first = segs.next()?;
        if !self.is_type(first) {
            return None;
        }
        let mut cur = TypeName::interned(first);
        for seg in segs {
            let c = self.child(&cur, seg)?;
            if c.choice || c.types.len() != 1 {
                return None;
            }
            cur = c.types[0].clone();
        }
        Some(cur)
    }

    /// [`ModelInfo::is_subtype`] for the type an item carries; models may
    /// answer faster for their own (interned) type names.
    fn is_subtype_of(&self, t: &TypeName, ancestor: &str) -> bool {
        self.is_subtype(t, ancestor)
    }

    /// Whether `t` is `ancestor` or derives from it.
    fn is_subtype(&self, t: &str, ancestor: &str) -> bool {
        let mut cur = t;
        for _ in 0..32 {
            if cur == ancestor {
                return true;
            }
            match self.base_type(cur) {
                Some(b) => cur = b,
                None => return false,
            }
        }
        false
    }
}

/// Upper-cases the first letter (`dateTime` -> `DateTime`), as choice
/// element JSON names do.
pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Resolves a JSON member key of an object of `type_name` to its element
/// and concrete type: `valueQuantity` -> (`value` info, `Quantity`).
pub fn resolve_key<'m>(
    model: &'m dyn ModelInfo,
    type_name: &str,
    key: &str,
) -> Option<(&'m ChildInfo, TypeName)> {
    if let Some(c) = model.child(type_name, key) {
        if !c.choice {
            return Some((c, c.types.first()?.clone()));
        }
    }
    choice_key(key, |name| model.child(type_name, name))
}

/// The choice element and type that `key` spells as name and capitalized
/// type (`valueQuantity`), with `child` looking up element names; `None`
/// at once for keys without an upper-case letter (most keys that name no
/// element, such as `encounter` asked of a Patient).
pub(crate) fn choice_key<'m>(
    key: &str,
    child: impl Fn(&str) -> Option<&'m ChildInfo>,
) -> Option<(&'m ChildInfo, TypeName)> {
    for (i, ch) in key.char_indices().skip(1) {
        if ch.is_ascii_uppercase() {
            let (name, suffix) = key.split_at(i);
            if let Some(c) = child(name) {
                if c.choice {
                    let t = c.types.iter().find(|t| capitalize(t) == suffix)?;
                    return Some((c, t.clone()));
                }
            }
        }
    }
    None
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct TypeEntry {
    /// The type's own name, shared by the items of this type.
    name: Option<TypeName>,
    base: Option<TypeName>,
    kind: Option<TypeKind>,
    children: HashMap<String, ChildInfo>,
}

/// A [`ModelInfo`] built from StructureDefinition snapshots (type
/// definitions: `derivation = specialization` or base types); profiles
/// (`derivation = constraint`) are ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SnapshotModel {
    types: HashMap<String, TypeEntry>,
    /// Every element of every type, inherited ones included, by the
    /// address of the type's interned name: navigation asks for a child
    /// of an item's type once per item, and the base-chain walk of
    /// [`ModelInfo::child`] costs several string-keyed look-ups. Built on
    /// first use or by [`SnapshotModel::prepare`]; reset by `add`.
    #[serde(skip)]
    flat: OnceLock<Flat>,
}

type Flat = HashMap<usize, FlatType>;

/// A type with everything it inherits.
#[derive(Debug, Clone, Default)]
struct FlatType {
    children: HashMap<&'static str, ChildInfo>,
    /// The type and its base types, nearest first, as
    /// [`ModelInfo::is_subtype`] walks them.
    ancestors: Vec<&'static str>,
    /// Whether `children` and `ancestors` are whole (false when a name
    /// could not be interned, past the interning bound).
    complete: bool,
}

fn last_segment(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

impl SnapshotModel {
    /// Builds the model from StructureDefinition JSON values; other
    /// resources are skipped.
    pub fn from_structure_definitions<'v>(
        defs: impl IntoIterator<Item = &'v serde_json::Value>,
    ) -> Self {
        let mut m = SnapshotModel::default();
        for sd in defs {
            m.add(sd);
        }
        m
    }

    /// Adds one StructureDefinition.
    pub fn add(&mut self, sd: &serde_json::Value) {
        self.flat = OnceLock::new();
        if sd.get("resourceType").and_then(|v| v.as_str()) != Some("StructureDefinition") {
            return;
        }
        if sd.get("derivation").and_then(|v| v.as_str()) == Some("constraint") {
            return;
        }
        let Some(type_name) = sd.get("type").and_then(|v| v.as_str()) else {
            return;
        };
        if sd.get("kind").and_then(|v| v.as_str()) == Some("logical") {
            // Logical models (Definition, Event, ...) are not instance types.
            return;
        }
        let kind = match sd.get("kind").and_then(|v| v.as_str()) {
            Some("primitive-type") => TypeKind::Primitive,
            Some("resource") => TypeKind::Resource,
            _ => TypeKind::Complex,
        };
        let base = sd
            .get("baseDefinition")
            .and_then(|v| v.as_str())
            .map(|b| TypeName::interned(last_segment(b)));
        {
            let e = self.types.entry(type_name.to_string()).or_default();
            e.name = Some(TypeName::interned(type_name));
            e.base = base;
            e.kind = Some(kind);
        }
        let elements = sd
            .pointer("/snapshot/element")
            .and_then(|v| v.as_array())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for el in elements {
            let Some(path) = el.get("path").and_then(|v| v.as_str()) else {
                continue;
            };
            let Some((parent, name)) = path.rsplit_once('.') else {
                continue;
            };
            if kind == TypeKind::Primitive && name == "value" {
                continue;
            }
            let (name, choice) = match name.strip_suffix("[x]") {
                Some(n) => (n, true),
                None => (name, false),
            };
            let many = match el.get("max").and_then(|v| v.as_str()) {
                Some("*") => true,
                Some(n) => n.parse::<u32>().map(|n| n > 1).unwrap_or(false),
                None => false,
            };
            let mut types: Vec<TypeName> = Vec::new();
            if let Some(r) = el.get("contentReference").and_then(|v| v.as_str()) {
                types.push(TypeName::interned(r.trim_start_matches('#')));
            }
            for t in el
                .get("type")
                .and_then(|v| v.as_array())
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let Some(code) = t.get("code").and_then(|v| v.as_str()) else {
                    continue;
                };
                let code = if let Some(sys) = code.strip_prefix("http://hl7.org/fhirpath/System.") {
                    let fhir = t
                        .get("extension")
                        .and_then(|v| v.as_array())
                        .and_then(|a| {
                            a.iter()
                                .find_map(|x| x.get("valueUrl").or_else(|| x.get("valueUri")))
                        })
                        .and_then(|v| v.as_str());
                    match fhir {
                        Some(f) => f.to_string(),
                        None => match sys {
                            "String" => "string".into(),
                            "Boolean" => "boolean".into(),
                            "Integer" => "integer".into(),
                            "Decimal" => "decimal".into(),
                            "Date" => "date".into(),
                            "DateTime" => "dateTime".into(),
                            "Time" => "time".into(),
                            other => other.to_string(),
                        },
                    }
                } else {
                    code.to_string()
                };
                if (code == "BackboneElement" || code == "Element") && type_name != code {
                    // Inline element: its children are listed under its path.
                    let e = self.types.entry(path.to_string()).or_default();
                    e.base = Some(TypeName::interned(code.as_str()));
                    e.kind = Some(TypeKind::Complex);
                    types.push(TypeName::interned(path));
                } else if kind == TypeKind::Resource && name == "id" && parent == type_name {
                    // Resource.id is declared System.String but is an `id`.
                    types.push(TypeName::interned("id"));
                } else {
                    types.push(TypeName::interned(code.as_str()));
                }
            }
            let info = ChildInfo {
                types,
                choice,
                many,
            };
            self.types
                .entry(parent.to_string())
                .or_default()
                .children
                .insert(name.to_string(), info);
        }
    }

    /// Builds the look-up tables that navigation uses, so that the first
    /// evaluation does not pay for them (they are built on first use
    /// otherwise).
    pub fn prepare(&self) {
        self.flat();
    }

    fn flat(&self) -> &Flat {
        self.flat.get_or_init(|| {
            let mut flat = Flat::default();
            for key in self.types.keys() {
                let Some(interned) = TypeName::interned(key).static_str() else {
                    continue; // past the interning bound: the slow path serves it
                };
                let mut all = FlatType {
                    complete: true,
                    ..FlatType::default()
                };
                let mut t: &str = key;
                for _ in 0..32 {
                    let Some(name) = TypeName::interned(t).static_str() else {
                        all.complete = false;
                        break;
                    };
                    all.ancestors.push(name);
                    let Some(e) = self.types.get(t) else { break };
                    for (name, info) in &e.children {
                        let Some(name) = TypeName::interned(name).static_str() else {
                            all.complete = false;
                            continue;
                        };
                        // The most derived declaration wins, as in `child`.
                        all.children.entry(name).or_insert_with(|| info.clone());
                    }
                    match e.base.as_deref() {
                        Some(b) => t = b,
                        None => break,
                    }
                }
                flat.insert(interned.as_ptr() as usize, all);
            }
            flat
        })
    }

    /// The flattened table of a type, when it is whole; names not interned
    /// by this model (or interned elsewhere, such as `from_static`) take
    /// the general path.
    fn flat_of(&self, t: &TypeName) -> Option<&FlatType> {
        let flat = self.flat().get(&(t.static_str()?.as_ptr() as usize))?;
        flat.complete.then_some(flat)
    }

    /// Number of known types (including backbone paths).
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether no types are known.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }
}

impl ModelInfo for SnapshotModel {
    fn own_child(&self, type_name: &str, name: &str) -> Option<&ChildInfo> {
        self.types.get(type_name)?.children.get(name)
    }

    fn base_type(&self, type_name: &str) -> Option<&str> {
        self.types.get(type_name)?.base.as_deref()
    }

    fn type_kind(&self, type_name: &str) -> Option<TypeKind> {
        self.types.get(type_name)?.kind
    }

    fn type_name(&self, name: &str) -> Option<TypeName> {
        self.types.get(name)?.name.clone()
    }

    fn child_of(&self, type_name: &TypeName, name: &str) -> Option<&ChildInfo> {
        match self.flat_of(type_name) {
            Some(flat) => flat.children.get(name),
            None => self.child(type_name, name),
        }
    }

    fn child_entry(&self, type_name: &TypeName, name: &str) -> Option<(&str, &ChildInfo)> {
        let (k, c) = self.flat_of(type_name)?.children.get_key_value(name)?;
        Some((k, c))
    }

    fn is_subtype_of(&self, t: &TypeName, ancestor: &str) -> bool {
        match self.flat_of(t) {
            Some(flat) => flat.ancestors.contains(&ancestor),
            None => self.is_subtype(t, ancestor),
        }
    }
}
