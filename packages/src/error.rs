//! The crate's single error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading, resolving or installing packages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A package reference string could not be parsed.
    #[error("invalid package reference `{input}`: {reason}")]
    InvalidReference {
        /// The text that was given.
        input: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A `package.json` is missing required fields or is not valid JSON.
    #[error("invalid package manifest {origin}: {reason}")]
    Manifest {
        /// Where the manifest came from (path or archive name).
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The folder or archive does not contain `package/package.json`.
    #[error("{origin} is not a FHIR package (no package/package.json)")]
    NotAPackage {
        /// The folder or archive that was inspected.
        origin: String,
    },
    /// A `.tgz` is corrupt, too large, or holds unsafe paths.
    #[error("bad package archive {origin}: {reason}")]
    Archive {
        /// The archive path or download URL.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The package is not present in any of the cache folders.
    #[error("package {reference} not found in the package cache ({folders})")]
    NotFound {
        /// The reference that was looked up, as `id#version`.
        reference: String,
        /// The cache folders that were searched, separated by `, `.
        folders: String,
    },
    /// The registry answered with a non-success HTTP status.
    #[error("{url}: HTTP status {status}")]
    HttpStatus {
        /// The URL that was requested.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The registry could not be reached (DNS, connection, TLS, timeout, …).
    #[error("{url}: network error: {message}")]
    Network {
        /// The URL that was requested.
        url: String,
        /// The transport error.
        message: String,
    },
    /// A download delivered a package other than the one requested.
    #[error("requested {requested} but the registry delivered {delivered}")]
    Mismatch {
        /// What was asked for, as `id#version`.
        requested: String,
        /// What the downloaded manifest says, as `name#version`.
        delivered: String,
    },
    /// The operation needs an exact version, but the reference holds a
    /// wildcard (`4.0.x`), `latest` or `current` that could not be pinned.
    #[error("{reference}: {reason}")]
    VersionNotExact {
        /// The reference, as `id#version`.
        reference: String,
        /// Why no exact version could be chosen.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn archive(origin: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Archive {
            origin: origin.into(),
            reason: reason.into(),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
