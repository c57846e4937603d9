//! The platform-independent part of the binding: everything except the
//! conversions to and from JavaScript values, so that it is tested on the
//! host.

use shinny_engine::policy::Policy;

/// A parsed diagnostics policy.
pub type PolicyDoc = Policy;
use shinny_engine::{Context, ContextSet, ValidationOptions};

/// The version of this package (the workspace version).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// One or more compiled contexts, ready to validate documents. Immutable.
pub struct Validator {
    set: ContextSet,
}

impl Validator {
    /// Loads contexts from rules artifacts (as written by `shinny
    /// compile`), in priority order: each document is validated by the
    /// first context that defines a profile named in its `meta.profile` (or
    /// the requested profile), else by the first. This is how SHIN-NY's
    /// production and test canonicals are served side by side.
    ///
    /// Fails with a message naming the artifact when one is not a valid
    /// artifact, or when the list is empty.
    pub fn from_artifacts(artifacts: &[&[u8]]) -> Result<Validator, String> {
        let n = artifacts.len();
        let contexts = artifacts
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                Context::from_artifact(bytes).map_err(|e| {
                    if n == 1 {
                        format!("cannot load the rules artifact: {e}")
                    } else {
                        format!("cannot load rules artifact {} of {n}: {e}", i + 1)
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let set = ContextSet::new(contexts).ok_or("no rules artifact given")?;
        Ok(Validator { set })
    }

    /// Validates one JSON document (a resource or a Bundle) and returns
    /// its FHIR `OperationOutcome` (with the policy applied, if one is
    /// given: then the policy-rendered outcome).
    ///
    /// `profile` is a canonical URL the top-level resource must also
    /// conform to, besides its `meta.profile`. Malformed JSON or invalid
    /// UTF-8 is not a failure: the outcome then holds a fatal `JSON_SYNTAX`
    /// issue with its line and column, as in the CLI. The only failure is
    /// an empty `profile`.
    pub fn validate(
        &self,
        input: &[u8],
        profile: Option<&str>,
        policy: Option<&Policy>,
    ) -> Result<serde_json::Value, String> {
        let mut options = ValidationOptions::default();
        if let Some(p) = profile {
            if p.trim().is_empty() {
                return Err("profile: empty string (leave it out for no profile)".into());
            }
            options.profiles.push(p.trim().to_string());
        }
        let outcome = self.set.validate_bytes(input, &options);
        Ok(match policy {
            None => outcome.to_fhir(),
            Some(p) => p.apply(&outcome.issues).to_fhir(),
        })
    }

    /// The number of contexts loaded.
    pub fn context_count(&self) -> usize {
        self.set.contexts().len()
    }
}

/// Parses a diagnostics policy document (format in
/// `ig/policies/README.md`); the message gives the line and column of a
/// syntax error.
pub fn parse_policy(text: &str) -> Result<Policy, String> {
    Policy::from_json(text).map_err(|e| format!("invalid policy: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shinny_engine::ContextBuilder;

    fn empty_artifact() -> Vec<u8> {
        ContextBuilder::new().build().to_artifact()
    }

    #[test]
    fn artifact_errors_name_the_artifact() {
        let err = |list: &[&[u8]]| Validator::from_artifacts(list).err().unwrap();
        assert_eq!(err(&[]), "no rules artifact given");
        assert!(err(&[b"nope"]).starts_with("cannot load the rules artifact: not a shinny"));
        let good = empty_artifact();
        let msg = err(&[&good, &good[..20]]);
        assert!(
            msg.starts_with("cannot load rules artifact 2 of 2:"),
            "{msg}"
        );
        assert_eq!(
            Validator::from_artifacts(&[&good, &good])
                .unwrap()
                .context_count(),
            2
        );
    }

    #[test]
    fn invalid_documents_are_issues_and_options_are_checked() {
        let good = empty_artifact();
        let v = Validator::from_artifacts(&[&good]).unwrap();
        let out = v.validate(b"{\"resourceType\": ", None, None).unwrap();
        assert_eq!(out["resourceType"], "OperationOutcome");
        assert_eq!(out["issue"][0]["severity"], "fatal");
        assert!(out.to_string().contains("JSON_SYNTAX"));
        let err = v.validate(b"{}", Some("  "), None).unwrap_err();
        assert!(err.starts_with("profile: empty string"), "{err}");
        assert!(parse_policy("{")
            .unwrap_err()
            .starts_with("invalid policy:"));
        let policy = parse_policy(
            r#"{"formatVersion": 1, "name": "p", "version": "1", "minSeverity": "error"}"#,
        );
        let out = v.validate(b"[", None, Some(&policy.unwrap())).unwrap();
        assert!(out.to_string().contains("JSON_SYNTAX"));
    }

    #[test]
    fn version_is_the_crate_version() {
        assert_eq!(version(), env!("CARGO_PKG_VERSION"));
    }
}
