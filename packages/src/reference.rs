//! Package references (`id#version`) and version matching.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A reference to one package: `id#version` (or `id@version`).
///
/// The version is kept as written. Besides an exact version it may be a
/// wildcard (`4.0.x`, `4.x`, `*`), `latest` or `current`; see
/// [`PackageRef::is_exact`] and [`crate::PackageCache::find`] for how those
/// are matched.
///
/// Parsing rejects characters that could escape a cache folder (`/`, `\`),
/// so a parsed reference is always safe to use as a folder name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageRef {
    id: String,
    version: String,
}

impl PackageRef {
    /// Builds a reference from its parts, validating both.
    pub fn new(id: impl Into<String>, version: impl Into<String>) -> Result<Self> {
        let (id, version) = (id.into(), version.into());
        let input = format!("{id}#{version}");
        validate_id(&id).map_err(|reason| invalid(&input, reason))?;
        validate_version(&version).map_err(|reason| invalid(&input, reason))?;
        Ok(PackageRef { id, version })
    }

    /// Parses `id#version` or `id@version`.
    pub fn parse(input: &str) -> Result<Self> {
        let trimmed = input.trim();
        let (id, version) = if let Some((id, version)) = trimmed.split_once('#') {
            (id, version)
        } else if let Some((id, version)) = trimmed.rsplit_once('@') {
            (id, version)
        } else {
            return Err(invalid(
                input,
                "missing version: write id#version, e.g. hl7.fhir.r4.core#4.0.1",
            ));
        };
        validate_id(id).map_err(|reason| invalid(input, reason))?;
        validate_version(version).map_err(|reason| invalid(input, reason))?;
        Ok(PackageRef {
            id: id.to_string(),
            version: version.to_string(),
        })
    }

    /// The package id, e.g. `hl7.fhir.r4.core`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The version as written, e.g. `4.0.1`, `1.9.4-test`, `4.0.x` or `latest`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// True when the version is a plain version rather than a wildcard,
    /// `latest` or `current`.
    pub fn is_exact(&self) -> bool {
        VersionReq::parse(&self.version) == VersionReq::Exact
    }

    /// The standard package cache folder name, `id#version`.
    pub fn folder_name(&self) -> String {
        format!("{}#{}", self.id, self.version)
    }
}

impl fmt::Display for PackageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.id, self.version)
    }
}

impl FromStr for PackageRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        PackageRef::parse(s)
    }
}

fn invalid(input: &str, reason: impl Into<String>) -> Error {
    Error::InvalidReference {
        input: input.to_string(),
        reason: reason.into(),
    }
}

fn validate_id(id: &str) -> std::result::Result<(), String> {
    if id.is_empty() {
        return Err("empty package id".into());
    }
    if id.starts_with('.') || id.starts_with('-') {
        return Err(format!(
            "package id `{id}` must start with a letter or digit"
        ));
    }
    match id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        Some(c) => Err(format!("character `{c}` is not allowed in a package id")),
        None => Ok(()),
    }
}

fn validate_version(version: &str) -> std::result::Result<(), String> {
    if version.is_empty() {
        return Err("empty version".into());
    }
    if version.starts_with('.') {
        return Err(format!("version `{version}` must not start with `.`"));
    }
    match version
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '*')))
    {
        Some(c) => Err(format!("character `{c}` is not allowed in a version")),
        None => Ok(()),
    }
}

/// How a version string selects versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VersionReq {
    /// One exact version.
    Exact,
    /// The highest release version (`latest`, and `current` when no
    /// `#current` folder exists).
    Latest,
    /// Dot parts to match; `None` is a wildcard (`x`, `X`, `*`) matching this
    /// and every later part.
    Pattern(Vec<Option<String>>),
}

impl VersionReq {
    pub(crate) fn parse(version: &str) -> Self {
        if version == "latest" || version == "current" {
            return VersionReq::Latest;
        }
        let parts: Vec<Option<String>> = version
            .split('.')
            .map(|p| match p {
                "x" | "X" | "*" => None,
                other => Some(other.to_string()),
            })
            .collect();
        if parts.iter().all(Option::is_some) {
            VersionReq::Exact
        } else {
            VersionReq::Pattern(parts)
        }
    }

    /// Whether `candidate` satisfies a non-exact requirement. Pre-releases
    /// (`1.0.0-ballot`, `1.9.4-test`) only ever match exactly, as in npm.
    pub(crate) fn matches(&self, candidate: &str) -> bool {
        match self {
            VersionReq::Exact => false,
            VersionReq::Latest => !candidate.contains('-'),
            VersionReq::Pattern(parts) => {
                if candidate.contains('-') {
                    return false;
                }
                let mut cand = candidate.split('.');
                for part in parts {
                    match (part, cand.next()) {
                        (None, _) => return true,
                        (Some(p), Some(c)) if p == c => {}
                        _ => return false,
                    }
                }
                cand.next().is_none()
            }
        }
    }
}

/// Orders versions semver-style: numeric dot parts compared as numbers,
/// a release above its pre-releases, unknown shapes compared as text.
pub(crate) fn compare_versions(a: &str, b: &str) -> Ordering {
    let (a_core, a_pre) = split_pre(a);
    let (b_core, b_pre) = split_pre(b);
    compare_dotted(a_core, b_core).then_with(|| match (a_pre, b_pre) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => compare_dotted(x, y),
    })
}

fn split_pre(v: &str) -> (&str, Option<&str>) {
    let v = v.split('+').next().unwrap_or(v);
    match v.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (v, None),
    }
}

fn compare_dotted(a: &str, b: &str) -> Ordering {
    let mut a_parts = a.split('.');
    let mut b_parts = b.split('.');
    loop {
        match (a_parts.next(), b_parts.next()) {
            (None, None) => return Ordering::Equal,
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (Some(x), Some(y)) => {
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hash_and_at() {
        let r = PackageRef::parse("us.ny.hrsn#1.9.4-test").unwrap();
        assert_eq!((r.id(), r.version()), ("us.ny.hrsn", "1.9.4-test"));
        let r = PackageRef::parse("hl7.fhir.r4.core@4.0.1").unwrap();
        assert_eq!((r.id(), r.version()), ("hl7.fhir.r4.core", "4.0.1"));
        assert_eq!(r.to_string(), "hl7.fhir.r4.core#4.0.1");
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "hl7.fhir.r4.core",
            "#4.0.1",
            "a#",
            "a#../../etc",
            "../x#1",
            "a/b#1",
            "a#1/2",
            "a#1\\2",
        ] {
            assert!(PackageRef::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn wildcards_and_ordering() {
        let req = VersionReq::parse("4.0.x");
        assert!(req.matches("4.0.1") && !req.matches("4.1.0") && !req.matches("4.0.1-ballot"));
        assert!(VersionReq::parse("4.x").matches("4.3.0"));
        assert!(VersionReq::parse("latest").matches("1.0.0"));
        assert!(!VersionReq::parse("latest").matches("1.0.0-test"));
        assert_eq!(VersionReq::parse("1.9.4-test"), VersionReq::Exact);
        assert_eq!(compare_versions("0.19.0", "0.9.0"), Ordering::Greater);
        assert_eq!(compare_versions("1.9.4", "1.9.4-test"), Ordering::Greater);
        assert_eq!(compare_versions("4.0.1", "4.0.1"), Ordering::Equal);
    }
}
