//! draft-cavage-http-signatures-12 as the Fediverse uses it (Mastodon, Fedify): a `Signature`
//! header (or `Authorization: Signature …`) with `keyId`, `algorithm` (`rsa-sha256` or
//! `hs2019`), `headers` and `signature`; the signing string is `name: value` lines joined by
//! LF, with `(request-target)` = lower-case method, space, path and query.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{
    Algorithm, HttpRequest, HttpSigError, PublicKey, SignatureScheme, SigningKeyRef,
    VerifiedSignature, VerifyPolicy, check_window, digest, key_algorithm, sign_bytes, verify_bytes,
};
use crate::timestamp;

/// The `algorithm` parameter values accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CavageAlgorithm {
    /// `rsa-sha256`: RSASSA-PKCS1-v1_5 with SHA-256.
    RsaSha256,
    /// `hs2019`: algorithm taken from the key (RSA → PKCS1-v1_5 SHA-256, as Mastodon does;
    /// Ed25519 → EdDSA).
    Hs2019,
}

impl CavageAlgorithm {
    /// The parameter value.
    pub fn name(self) -> &'static str {
        match self {
            Self::RsaSha256 => "rsa-sha256",
            Self::Hs2019 => "hs2019",
        }
    }
}

/// Parsed `Signature` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CavageParams {
    /// `keyId`.
    pub key_id: String,
    /// `algorithm` as sent, if any.
    pub algorithm: Option<String>,
    /// `headers`, lower-cased; `["date"]` when absent (draft-cavage-12 §2.1.6 says
    /// `(created)`, but every Fediverse sender names its headers and older drafts used `date`).
    pub headers: Vec<String>,
    /// Decoded `signature`.
    pub signature: Vec<u8>,
    /// `created`, Unix seconds.
    pub created: Option<i64>,
    /// `expires`, Unix seconds.
    pub expires: Option<i64>,
}

fn malformed(reason: impl Into<String>) -> HttpSigError {
    HttpSigError::Malformed {
        header: "signature",
        reason: reason.into(),
    }
}

/// Parses a `Signature` header value (or the part after `Signature ` in `Authorization`).
/// Strict: `name="value"` or `name=integer` pairs separated by commas, no duplicates.
pub fn parse_params(value: &str) -> Result<CavageParams, HttpSigError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| malformed("parameter without '='"))?;
        let name = name.trim();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(malformed(format!("bad parameter name {name:?}")));
        }
        let (val, after) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| malformed("unterminated quoted string"))?;
            let (v, tail) = quoted.split_at(end);
            (v.to_owned(), tail.get(1..).unwrap_or_default())
        } else {
            let end = after.find(',').unwrap_or(after.len());
            let (v, tail) = after.split_at(end);
            let v = v.trim();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return Err(malformed(format!(
                    "unquoted value of {name:?} is not a number"
                )));
            }
            (v.to_owned(), tail)
        };
        let lower = name.to_ascii_lowercase();
        if pairs.iter().any(|(n, _)| *n == lower) {
            return Err(malformed(format!("duplicate parameter {name:?}")));
        }
        pairs.push((lower, val));
        let after = after.trim_start();
        rest = match after.strip_prefix(',') {
            Some(r) => r.trim_start(),
            None if after.is_empty() => after,
            None => return Err(malformed("expected ',' between parameters")),
        };
    }
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let number = |k: &str| -> Result<Option<i64>, HttpSigError> {
        get(k)
            .map(|v| {
                // Some senders emit decimals; the integer part is the time.
                let int = v.split('.').next().unwrap_or_default();
                int.parse::<i64>()
                    .map_err(|_| malformed(format!("{k} is not an integer")))
            })
            .transpose()
    };
    let key_id = get("keyid").ok_or(HttpSigError::MissingParameter("keyId"))?;
    let signature = get("signature").ok_or(HttpSigError::MissingParameter("signature"))?;
    let signature = STANDARD
        .decode(signature.as_bytes())
        .map_err(|_| malformed("signature is not base64"))?;
    let headers = match get("headers") {
        Some(h) => h
            .split_ascii_whitespace()
            .map(str::to_ascii_lowercase)
            .collect(),
        None => vec!["date".to_owned()],
    };
    if headers.is_empty() {
        return Err(malformed("empty headers list"));
    }
    Ok(CavageParams {
        key_id,
        algorithm: get("algorithm"),
        headers,
        signature,
        created: number("created")?,
        expires: number("expires")?,
    })
}

/// The signing string for `headers` over `request` (draft-cavage-12 §2.3).
pub fn signing_string(
    request: &HttpRequest,
    headers: &[String],
    created: Option<i64>,
    expires: Option<i64>,
) -> Result<String, HttpSigError> {
    let mut lines = Vec::with_capacity(headers.len());
    for name in headers {
        let value = match name.as_str() {
            "(request-target)" => {
                let target = request.target()?;
                format!(
                    "{} {}",
                    request.method.to_ascii_lowercase(),
                    target.request_target()
                )
            }
            "(created)" => created
                .ok_or(HttpSigError::MissingParameter("created"))?
                .to_string(),
            "(expires)" => expires
                .ok_or(HttpSigError::MissingParameter("expires"))?
                .to_string(),
            "host" => match request.header("host") {
                Some(h) => h,
                None => request.target()?.authority,
            },
            n if n.starts_with('(') => {
                return Err(HttpSigError::UnsupportedComponent(n.to_owned()));
            }
            n => request
                .header(n)
                .ok_or_else(|| HttpSigError::MissingHeader(n.to_owned()))?,
        };
        if value.contains(['\n', '\r']) {
            return Err(malformed("newline in a covered value"));
        }
        lines.push(format!("{name}: {value}"));
    }
    Ok(lines.join("\n"))
}

/// Signs `request` and returns the `Signature` header value
/// `keyId="…",algorithm="…",headers="…",signature="…"`.
pub fn sign(
    request: &HttpRequest,
    key_id: &str,
    headers: &[&str],
    algorithm: CavageAlgorithm,
    key: SigningKeyRef<'_>,
) -> Result<String, HttpSigError> {
    if key_id.contains('"') {
        return Err(malformed("keyId contains a quote"));
    }
    let headers: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    let text = signing_string(request, &headers, None, None)?;
    let signature = sign_bytes(key, text.as_bytes())?;
    Ok(format!(
        "keyId=\"{key_id}\",algorithm=\"{}\",headers=\"{}\",signature=\"{}\"",
        algorithm.name(),
        headers.join(" "),
        STANDARD.encode(signature)
    ))
}

/// Mastodon-compatible outgoing profile with an RSA key: sets `Host` and `Date` (from `now`)
/// when absent and `Digest` when there is a body, then signs `(request-target) host date`
/// (+ `digest`, and `content-type` if present) with `rsa-sha256` and sets `Signature`.
pub fn sign_request(
    request: &mut HttpRequest,
    key_id: &str,
    key: SigningKeyRef<'_>,
    now: i64,
) -> Result<(), HttpSigError> {
    if request.header("host").is_none() {
        let authority = request.target()?.authority;
        request.set_header("Host", authority);
    }
    if request.header("date").is_none() {
        request.set_header("Date", timestamp::format_http_date(now));
    }
    let mut headers = vec!["(request-target)", "host", "date"];
    if !request.body.is_empty() {
        request.set_header("Digest", digest::digest_sha256(&request.body));
        headers.push("digest");
        if request.header("content-type").is_some() {
            headers.push("content-type");
        }
    }
    let value = sign(request, key_id, &headers, CavageAlgorithm::RsaSha256, key)?;
    request.set_header("Signature", value);
    Ok(())
}

fn signature_header(request: &HttpRequest) -> Result<String, HttpSigError> {
    if let Some(value) = request.header("signature") {
        return Ok(value);
    }
    let auth = request
        .header("authorization")
        .ok_or(HttpSigError::Unsigned)?;
    match auth.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("signature") => Ok(rest.to_owned()),
        _ => Err(HttpSigError::Unsigned),
    }
}

/// The `keyId` of the signature, without verifying.
pub fn key_id(request: &HttpRequest) -> Result<String, HttpSigError> {
    Ok(parse_params(&signature_header(request)?)?.key_id)
}

/// Verifies the draft-cavage signature of `request`.
///
/// Checks: syntax; the policy's required headers covered; time from `(created)` if covered,
/// else the covered `Date` header, within the window; `expires` not passed; with a body,
/// `digest` covered and matching; `algorithm` is `rsa-sha256` (RSA key) or `hs2019` (RSA or
/// Ed25519 key) or absent; the signature.
pub fn verify(
    request: &HttpRequest,
    mut resolve_key: impl FnMut(&str) -> Option<PublicKey>,
    policy: &VerifyPolicy,
    now: i64,
) -> Result<VerifiedSignature, HttpSigError> {
    let params = parse_params(&signature_header(request)?)?;
    for required in &policy.cavage_required {
        if !params.headers.contains(required) {
            return Err(HttpSigError::NotCovered(required.clone()));
        }
    }
    let covers = |h: &str| params.headers.iter().any(|c| c == h);
    // a signature made for another server must not verify here (draft-cavage has no
    // target URI component; the signed `Host` is what binds it)
    if covers("host") {
        let expected = request.target()?.normalized_authority();
        let signed = request.header("host").unwrap_or_default();
        let signed_host = crate::httpsig::request::TargetUri::parse(&format!(
            "{}://{}/",
            request.target()?.scheme,
            signed.trim()
        ))
        .map(|t| t.normalized_authority())
        .unwrap_or_else(|_| signed.trim().to_ascii_lowercase());
        if signed_host != expected {
            return Err(HttpSigError::WrongHost {
                signed: signed.chars().take(200).collect(),
                expected,
            });
        }
    }
    let created = if covers("(created)") {
        params
            .created
            .ok_or(HttpSigError::MissingParameter("created"))?
    } else if covers("date") {
        let date = request
            .header("date")
            .ok_or_else(|| HttpSigError::MissingHeader("date".to_owned()))?;
        timestamp::parse_http_date(&date).map_err(|e| HttpSigError::InvalidDate(e.to_string()))?
    } else {
        return Err(HttpSigError::NotCovered("date".to_owned()));
    };
    check_window(created, now, policy)?;
    if let Some(expires) = params.expires
        && expires < now
    {
        return Err(HttpSigError::Expired(expires));
    }
    let digest_covered = covers("digest");
    if policy.require_body_digest && !request.body.is_empty() && !digest_covered {
        return Err(HttpSigError::NotCovered("digest".to_owned()));
    }
    if digest_covered {
        let value = request
            .header("digest")
            .ok_or(HttpSigError::MissingDigest)?;
        digest::verify_digest(&value, &request.body)?;
    }
    let text = signing_string(request, &params.headers, params.created, params.expires)?;
    let key = resolve_key(&params.key_id)
        .ok_or_else(|| HttpSigError::UnknownKey(params.key_id.clone()))?;
    let algorithm = match (params.algorithm.as_deref(), &key) {
        (Some("rsa-sha256"), PublicKey::Rsa(_)) => Algorithm::RsaV1_5Sha256,
        (Some("hs2019") | None, key) => key_algorithm(key),
        (Some(other), _) => return Err(HttpSigError::UnsupportedAlgorithm(other.to_owned())),
    };
    verify_bytes(&key, algorithm, text.as_bytes(), &params.signature)?;
    Ok(VerifiedSignature {
        key_id: params.key_id,
        created,
        scheme: SignatureScheme::Cavage {
            algorithm: params.algorithm.unwrap_or_else(|| "hs2019".to_owned()),
        },
        algorithm,
        covered: params.headers,
    })
}
