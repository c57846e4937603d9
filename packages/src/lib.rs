//! FHIR NPM package access (disk and network); see the crate description.
