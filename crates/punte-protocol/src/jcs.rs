//! RFC 8785 JSON Canonicalization Scheme (JCS) of a `serde_json::Value`.
//!
//! A thin, named boundary over `serde_json_canonicalizer`, so that every caller in the
//! workspace canonicalises the same way (object members sorted by UTF-16 code units, numbers
//! in ECMAScript form, minimal string escaping, no whitespace).

use serde_json::Value;

/// Why a value could not be canonicalised.
#[derive(Debug, thiserror::Error)]
pub enum JcsError {
    /// The serializer refused the value.
    #[error("json value cannot be canonicalised: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// The RFC 8785 canonical UTF-8 bytes of `value`.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    Ok(serde_json_canonicalizer::to_vec(value)?)
}

/// The RFC 8785 canonical form of `value` as a string.
pub fn canonicalize_to_string(value: &Value) -> Result<String, JcsError> {
    Ok(serde_json_canonicalizer::to_string(value)?)
}
