//! `package/package.json`.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::error::{Error, Result};

/// The parts of `package/package.json` that shinny uses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Manifest {
    /// The package id (`name`).
    pub name: String,
    /// The package version as written in the manifest.
    pub version: String,
    /// The canonical base URL of the package's resources, if declared.
    pub canonical: Option<String>,
    /// FHIR versions: `fhirVersions`, or the early `fhir-version-list` form
    /// used by `hl7.fhir.r4.core#4.0.1`.
    pub fhir_versions: Vec<String>,
    /// The package type (`fhir.core`, `fhir.ig`, `IG`, …), if declared.
    pub package_type: Option<String>,
    /// The human title, if declared.
    pub title: Option<String>,
    /// Dependencies `id → version`, in manifest order.
    pub dependencies: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct Raw {
    name: Option<String>,
    version: Option<String>,
    canonical: Option<String>,
    #[serde(rename = "fhirVersions")]
    fhir_versions: Option<OneOrMany>,
    #[serde(rename = "fhir-version-list")]
    fhir_version_list: Option<OneOrMany>,
    #[serde(rename = "type")]
    package_type: Option<String>,
    title: Option<String>,
    #[serde(default)]
    dependencies: Option<OrderedDeps>,
}

/// Some hand-written manifests give a single version as a plain string.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(v) => vec![v],
            OneOrMany::Many(v) => v,
        }
    }
}

/// serde_json's default map type sorts keys; dependency order matters for
/// a predictable load order, so the map is read entry by entry.
struct OrderedDeps(Vec<(String, String)>);

impl<'de> Deserialize<'de> for OrderedDeps {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedDeps;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object mapping package ids to version strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedDeps, A::Error> {
                let mut deps = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    deps.push((k, v));
                }
                Ok(OrderedDeps(deps))
            }
        }
        d.deserialize_map(V)
    }
}

impl Manifest {
    /// Parses a manifest; `origin` names it in errors (a path or archive).
    pub fn from_json(bytes: &[u8], origin: &str) -> Result<Manifest> {
        let err = |reason: String| Error::Manifest {
            origin: origin.to_string(),
            reason,
        };
        let raw: Raw = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
        let name = raw
            .name
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| err("missing `name`".into()))?;
        let version = raw
            .version
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| err("missing `version`".into()))?;
        Ok(Manifest {
            name,
            version,
            canonical: raw.canonical,
            fhir_versions: raw
                .fhir_versions
                .or(raw.fhir_version_list)
                .map(OneOrMany::into_vec)
                .unwrap_or_default(),
            package_type: raw.package_type,
            title: raw.title,
            dependencies: raw.dependencies.map(|d| d.0).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_dependency_order_and_early_form() {
        let m = Manifest::from_json(
            br#"{"name":"a","version":"1","fhir-version-list":["4.0.1"],
                "dependencies":{"z.last":"1","a.first":"2"}}"#,
            "test",
        )
        .unwrap();
        assert_eq!(m.fhir_versions, ["4.0.1"]);
        assert_eq!(
            m.dependencies,
            [
                ("z.last".into(), "1".into()),
                ("a.first".into(), "2".into())
            ]
        );
    }

    #[test]
    fn accepts_single_fhir_version_string() {
        let m = Manifest::from_json(br#"{"name":"a","version":"1","fhirVersions":"4.0.1"}"#, "t")
            .unwrap();
        assert_eq!(m.fhir_versions, ["4.0.1"]);
        assert!(m.dependencies.is_empty() && m.canonical.is_none());
    }

    #[test]
    fn rejects_missing_name() {
        let e = Manifest::from_json(br#"{"version":"1"}"#, "x/package.json").unwrap_err();
        assert!(e.to_string().contains("missing `name`"), "{e}");
    }
}
