//! shinny-engine: an embedded FHIR R4 validation engine.
//!
//! FHIR packages are compiled once into a compact rule graph
//! ([`Context`]); resources and bundles are then validated against it, giving
//! an [`OperationOutcome`](outcome::OperationOutcome) with the instance path,
//! line and column of every issue.
//!
//! The crate does no file or network I/O: callers hand it package contents
//! (see the `shinny-packages` crate for the disk cache and registry), which
//! keeps it buildable for `wasm32-unknown-unknown`.

pub mod fhirpath;
mod fxhash;
pub mod json;
pub mod messages;
pub mod model;
pub mod outcome;
pub mod policy;
pub mod select;
mod short_eq;
pub mod terminology;
#[cfg(test)]
mod test_rng;
pub mod validate;

pub use model::{Context, ContextBuilder, LoadReport, PackageInfo};
pub use outcome::{Issue, IssueType, OperationOutcome, Severity};
pub use select::ContextSet;
pub use validate::{UnknownExtensions, ValidationOptions};
