//! shinny-wasm: the shinny FHIR validation engine for browsers, Node and
//! edge runtimes, through wasm-bindgen.
//!
//! The JavaScript API (see `wasm/README.md` and the generated `.d.ts`):
//!
//! ```js
//! const v = Validator.fromArtifact(rulesBytes);        // a `shinny compile` artifact
//! const outcome = v.validate(bundleTextOrObject, { profile, policy });
//! // outcome: a FHIR OperationOutcome as a plain JS object
//! ```
//!
//! [`core`] holds the platform-independent part (artifacts, options,
//! policy, rendering), tested on the host with `cargo test -p shinny-wasm`;
//! [`bindings`] is the thin wasm-bindgen layer over it.

pub mod bindings;
pub mod core;

pub use crate::core::{parse_policy, version, Validator};
