//! The compiled rules artifact: a [`Context`] serialized to bytes that load
//! much faster than compiling packages.
//!
//! Layout: the magic `SHINNYRG`, a little-endian `u32` format version, then
//! the postcard encoding of the context.

use super::Context;

const MAGIC: &[u8; 8] = b"SHINNYRG";
/// Bumped whenever the compiled model changes shape.
pub const FORMAT_VERSION: u32 = 6;

/// Why an artifact could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// Not a shinny rules artifact.
    #[error("not a shinny rules artifact (bad magic bytes)")]
    BadMagic,
    /// Written by an engine with a different model layout.
    #[error("rules artifact format {found} is not supported by this engine (expects {expected}); recompile it with `shinny compile`")]
    Version {
        /// Version in the file.
        found: u32,
        /// Version this engine reads.
        expected: u32,
    },
    /// Truncated or corrupt content.
    #[error("rules artifact is corrupt: {0}")]
    Corrupt(String),
}

impl Context {
    /// Serializes the context into a rules artifact.
    pub fn to_artifact(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 << 20);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        // Serializing plain data into a Vec cannot fail.
        let body = postcard::to_allocvec(self).unwrap_or_default();
        out.extend_from_slice(&body);
        out
    }

    /// Loads a context from a rules artifact.
    pub fn from_artifact(bytes: &[u8]) -> Result<Context, ArtifactError> {
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(ArtifactError::BadMagic);
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if version != FORMAT_VERSION {
            return Err(ArtifactError::Version {
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        let context: Context = postcard::from_bytes(&bytes[12..])
            .map_err(|e| ArtifactError::Corrupt(e.to_string()))?;
        context.terminology.prepare();
        context.fhirpath_model.prepare();
        Ok(context)
    }
}
