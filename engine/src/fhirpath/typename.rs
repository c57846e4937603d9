//! [`TypeName`]: the FHIR type an item carries.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};

/// A FHIR type name (or a backbone element path such as `Patient.contact`).
///
/// Every item of a FHIRPath collection carries one, and items are copied
/// all the time, so the names of the loaded model are interned for the
/// life of the process and copied as plain references; other names (types
/// the model does not know) are reference-counted.
#[derive(Clone)]
pub struct TypeName(Repr);

#[derive(Clone)]
enum Repr {
    Interned(&'static str),
    Shared(Arc<str>),
}

/// Interned names; bounded, past the bound names are shared instead.
static INTERNED: LazyLock<Mutex<HashSet<&'static str>>> =
    LazyLock::new(|| Mutex::new(HashSet::new()));
const MAX_INTERNED: usize = 100_000;

impl TypeName {
    /// The name, interned: for the names of a model, which are few and
    /// reused by every evaluation.
    pub fn interned(name: &str) -> Self {
        let mut set = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = set.get(name) {
            return TypeName(Repr::Interned(s));
        }
        if set.len() >= MAX_INTERNED {
            return TypeName::from(name);
        }
        let s: &'static str = Box::leak(name.to_owned().into_boxed_str());
        set.insert(s);
        TypeName(Repr::Interned(s))
    }

    /// A name known at compile time (no interning needed).
    pub const fn from_static(name: &'static str) -> Self {
        TypeName(Repr::Interned(name))
    }

    /// The interned text (its address identifies the name), if interned
    /// or static.
    pub(crate) fn static_str(&self) -> Option<&'static str> {
        match &self.0 {
            Repr::Interned(s) => Some(s),
            Repr::Shared(_) => None,
        }
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Interned(s) => s,
            Repr::Shared(s) => s,
        }
    }
}

impl std::ops::Deref for TypeName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for TypeName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for TypeName {
    fn from(s: &str) -> Self {
        TypeName(Repr::Shared(Arc::from(s)))
    }
}

impl PartialEq for TypeName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for TypeName {}

impl PartialEq<&str> for TypeName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::hash::Hash for TypeName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl std::fmt::Debug for TypeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for TypeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TypeName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Names read with a model (from a rules artifact) are interned.
impl<'de> Deserialize<'de> for TypeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(TypeName::interned(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::TypeName;

    #[test]
    fn interned_and_shared_names_compare_by_text() {
        let a = TypeName::interned("Patient");
        let b = TypeName::interned("Patient");
        let c = TypeName::from("Patient");
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(&*a, "Patient");
        assert!(a == "Patient");
        assert_ne!(a, TypeName::from("Observation"));
        assert_eq!(format!("{a}"), "Patient");
    }
}
