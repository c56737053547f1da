//! Body digests: RFC 9530 `Content-Digest` (`sha-256=:BASE64:`, a structured-field
//! dictionary) and the legacy RFC 3230 `Digest` (`SHA-256=BASE64`) draft-cavage peers send.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sfv::{BareItem, Dictionary, ListEntry, Parser};
use sha2::{Digest, Sha256, Sha512};

use super::HttpSigError;

/// `Content-Digest` value for `body`: `sha-256=:…:`.
pub fn content_digest_sha256(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

/// Legacy `Digest` value for `body`: `SHA-256=…`.
pub fn digest_sha256(body: &[u8]) -> String {
    format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)))
}

fn expected(algorithm: &str, body: &[u8]) -> Option<Vec<u8>> {
    match algorithm {
        "sha-256" => Some(Sha256::digest(body).to_vec()),
        "sha-512" => Some(Sha512::digest(body).to_vec()),
        _ => None,
    }
}

/// Checks an RFC 9530 `Content-Digest` value against `body`: every `sha-256` / `sha-512`
/// member must match, at least one must be present; other algorithms are ignored.
pub fn verify_content_digest(header_value: &str, body: &[u8]) -> Result<(), HttpSigError> {
    let dict: Dictionary =
        Parser::new(header_value)
            .parse()
            .map_err(|e| HttpSigError::Malformed {
                header: "content-digest",
                reason: e.to_string(),
            })?;
    let mut checked = false;
    for (name, entry) in &dict {
        let Some(want) = expected(name.as_str(), body) else {
            continue;
        };
        let ListEntry::Item(item) = entry else {
            return Err(HttpSigError::DigestMismatch);
        };
        match &item.bare_item {
            BareItem::ByteSequence(got) if *got == want => checked = true,
            _ => return Err(HttpSigError::DigestMismatch),
        }
    }
    if checked {
        Ok(())
    } else {
        Err(HttpSigError::DigestMismatch)
    }
}

/// Checks a legacy `Digest` value (`SHA-256=b64[, SHA-512=b64]`, algorithm names
/// case-insensitive) against `body`, with the same rules as [`verify_content_digest`].
pub fn verify_digest(header_value: &str, body: &[u8]) -> Result<(), HttpSigError> {
    let mut checked = false;
    for member in header_value.split(',') {
        let (algorithm, value) =
            member
                .trim()
                .split_once('=')
                .ok_or_else(|| HttpSigError::Malformed {
                    header: "digest",
                    reason: "member without '='".to_owned(),
                })?;
        let Some(want) = expected(&algorithm.to_ascii_lowercase(), body) else {
            continue;
        };
        let got = STANDARD
            .decode(value)
            .map_err(|_| HttpSigError::DigestMismatch)?;
        if got != want {
            return Err(HttpSigError::DigestMismatch);
        }
        checked = true;
    }
    if checked {
        Ok(())
    } else {
        Err(HttpSigError::DigestMismatch)
    }
}
