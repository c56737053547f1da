//! RFC 9421 HTTP Message Signatures for requests: signature base (§2.5), `Signature-Input` /
//! `Signature` fields (§4), algorithms `ed25519` and `rsa-v1_5-sha256` (§3.3). Structured
//! fields are parsed strictly with `sfv`.
//!
//! Supported components: `@method`, `@target-uri`, `@authority`, `@scheme`,
//! `@request-target`, `@path`, `@query`, and header fields by lower-case name, all without
//! component parameters.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sfv::{
    BareItem, Dictionary, FieldType, InnerList, Item, KeyRef, List, ListEntry, Parameters, Parser,
};

use super::{
    Algorithm, HttpRequest, HttpSigError, PublicKey, SignatureScheme, SigningKeyRef,
    VerifiedSignature, VerifyPolicy, check_window, digest, key_algorithm, sign_bytes, verify_bytes,
};

/// The signature parameters of one signature (§2.3), in the order they are serialised:
/// `created`, `expires`, `keyid`, `alg`, `nonce`, `tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    /// Covered component identifiers, e.g. `@method`, `content-digest`.
    pub components: Vec<String>,
    /// `created`, Unix seconds.
    pub created: Option<i64>,
    /// `expires`, Unix seconds.
    pub expires: Option<i64>,
    /// `keyid`.
    pub key_id: Option<String>,
    /// `alg`.
    pub alg: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `tag`.
    pub tag: Option<String>,
}

impl SignatureParams {
    /// Parameters with `created`, `keyid` and `alg`, the Punte profile.
    pub fn new(components: &[&str], key_id: &str, created: i64, alg: Option<Algorithm>) -> Self {
        Self {
            components: components.iter().map(|c| (*c).to_owned()).collect(),
            created: Some(created),
            expires: None,
            key_id: Some(key_id.to_owned()),
            alg: alg.map(|a| a.rfc9421_name().to_owned()),
            nonce: None,
            tag: None,
        }
    }

    fn to_inner_list(&self) -> Result<InnerList, HttpSigError> {
        let string = |s: &str| -> Result<BareItem, HttpSigError> {
            sfv::String::from_string(s.to_owned())
                .map(BareItem::String)
                .map_err(|(e, _)| HttpSigError::UnsupportedComponent(format!("{s}: {e}")))
        };
        let items = self
            .components
            .iter()
            .map(|c| string(c).map(Item::new))
            .collect::<Result<Vec<_>, _>>()?;
        let mut params = Parameters::new();
        let mut put = |k: &'static str, v: BareItem| {
            params.insert(KeyRef::constant(k).to_owned(), v);
        };
        if let Some(t) = self.created {
            put("created", BareItem::Integer(int(t)?));
        }
        if let Some(t) = self.expires {
            put("expires", BareItem::Integer(int(t)?));
        }
        if let Some(k) = &self.key_id {
            put("keyid", string(k)?);
        }
        if let Some(a) = &self.alg {
            put("alg", string(a)?);
        }
        if let Some(n) = &self.nonce {
            put("nonce", string(n)?);
        }
        if let Some(t) = &self.tag {
            put("tag", string(t)?);
        }
        Ok(InnerList::with_params(items, params))
    }

    /// The serialised value of `@signature-params` (and of the `Signature-Input` member).
    pub fn serialize(&self) -> Result<String, HttpSigError> {
        serialize_inner_list(self.to_inner_list()?)
    }
}

fn int(v: i64) -> Result<sfv::Integer, HttpSigError> {
    sfv::Integer::try_from(v).map_err(|_| HttpSigError::Malformed {
        header: "signature-input",
        reason: format!("integer {v} out of range"),
    })
}

fn serialize_inner_list(list: InnerList) -> Result<String, HttpSigError> {
    let as_list: List = vec![ListEntry::InnerList(list)];
    as_list.serialize().ok_or_else(|| HttpSigError::Malformed {
        header: "signature-input",
        reason: "empty".to_owned(),
    })
}

/// The value of one component for `request` (§2.1, §2.2).
pub fn component_value(request: &HttpRequest, component: &str) -> Result<String, HttpSigError> {
    let target = || request.target();
    Ok(match component {
        "@method" => request.method.clone(),
        "@target-uri" => {
            target()?;
            request.target_uri.clone()
        }
        "@authority" => target()?.normalized_authority(),
        "@scheme" => target()?.scheme,
        "@request-target" => target()?.request_target(),
        "@path" => target()?.path,
        "@query" => format!("?{}", target()?.query.unwrap_or_default()),
        name if name.starts_with('@') => {
            return Err(HttpSigError::UnsupportedComponent(name.to_owned()));
        }
        name if name.bytes().any(|b| b.is_ascii_uppercase()) => {
            return Err(HttpSigError::UnsupportedComponent(name.to_owned()));
        }
        name => request
            .header(name)
            .ok_or_else(|| HttpSigError::MissingHeader(name.to_owned()))?,
    })
}

/// The signature base (§2.5): one `"component": value` line per covered component, then the
/// `"@signature-params"` line, joined by LF with no trailing newline.
pub fn signature_base(
    request: &HttpRequest,
    components: &[String],
    serialized_params: &str,
) -> Result<String, HttpSigError> {
    let mut base = String::new();
    let mut seen = Vec::with_capacity(components.len());
    for component in components {
        if seen.contains(&component) {
            return Err(HttpSigError::Malformed {
                header: "signature-input",
                reason: format!("component {component:?} covered twice"),
            });
        }
        seen.push(component);
        let value = component_value(request, component)?;
        if value.contains(['\n', '\r']) {
            return Err(HttpSigError::Malformed {
                header: "signature-input",
                reason: "newline in value".to_owned(),
            });
        }
        base.push('"');
        base.push_str(component);
        base.push_str("\": ");
        base.push_str(&value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(serialized_params);
    Ok(base)
}

/// `Signature-Input` and `Signature` field values for one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// `label=(…);created=…;keyid=…`.
    pub signature_input: String,
    /// `label=:base64:`.
    pub signature: String,
}

/// Signs `request` under `label` with `params` and returns the two header values.
pub fn sign(
    request: &HttpRequest,
    label: &str,
    params: &SignatureParams,
    key: SigningKeyRef<'_>,
) -> Result<SignatureHeaders, HttpSigError> {
    KeyRef::from_str(label).map_err(|e| HttpSigError::Malformed {
        header: "signature-input",
        reason: e.to_string(),
    })?;
    let serialized = params.serialize()?;
    let base = signature_base(request, &params.components, &serialized)?;
    let signature = sign_bytes(key, base.as_bytes())?;
    Ok(SignatureHeaders {
        signature_input: format!("{label}={serialized}"),
        signature: format!("{label}=:{}:", STANDARD.encode(signature)),
    })
}

/// Punte's outgoing profile: adds `Content-Digest` when there is a body, then signs
/// `@method`, `@target-uri`, and (with a body) `content-digest` and `content-type` if present,
/// with `created`, `keyid` and `alg`, under label `sig1`; sets both headers on `request`.
pub fn sign_request(
    request: &mut HttpRequest,
    key_id: &str,
    key: SigningKeyRef<'_>,
    created: i64,
) -> Result<(), HttpSigError> {
    let mut components = vec!["@method", "@target-uri"];
    if !request.body.is_empty() {
        request.set_header(
            "Content-Digest",
            digest::content_digest_sha256(&request.body),
        );
        components.push("content-digest");
        if request.header("content-type").is_some() {
            components.push("content-type");
        }
    }
    let alg = match key {
        SigningKeyRef::Ed25519(_) => Algorithm::Ed25519,
        SigningKeyRef::Rsa(_) => Algorithm::RsaV1_5Sha256,
    };
    let params = SignatureParams::new(&components, key_id, created, Some(alg));
    let headers = sign(request, "sig1", &params, key)?;
    request.set_header("Signature-Input", headers.signature_input);
    request.set_header("Signature", headers.signature);
    Ok(())
}

struct Parsed {
    label: String,
    components: Vec<String>,
    serialized_params: String,
    created: Option<i64>,
    expires: Option<i64>,
    key_id: Option<String>,
    alg: Option<String>,
    signature: Vec<u8>,
}

fn malformed(header: &'static str, reason: impl Into<String>) -> HttpSigError {
    HttpSigError::Malformed {
        header,
        reason: reason.into(),
    }
}

fn parse_dictionary(request: &HttpRequest, name: &'static str) -> Result<Dictionary, HttpSigError> {
    let value = request.header(name).ok_or(HttpSigError::Unsigned)?;
    Parser::new(&value)
        .parse::<Dictionary>()
        .map_err(|e| malformed(name, e.to_string()))
}

/// Parses the first label that appears in both `Signature-Input` and `Signature`.
fn parse(request: &HttpRequest) -> Result<Parsed, HttpSigError> {
    let inputs = parse_dictionary(request, "signature-input")?;
    let signatures = parse_dictionary(request, "signature")?;
    let (label, input, sig) = inputs
        .iter()
        .find_map(|(label, input)| signatures.get(label).map(|sig| (label, input, sig)))
        .ok_or_else(|| {
            malformed(
                "signature",
                "no label present in both signature-input and signature",
            )
        })?;
    let ListEntry::InnerList(list) = input else {
        return Err(malformed("signature-input", "member is not an inner list"));
    };
    let ListEntry::Item(Item {
        bare_item: BareItem::ByteSequence(signature),
        ..
    }) = sig
    else {
        return Err(malformed("signature", "member is not a byte sequence"));
    };
    let mut components = Vec::with_capacity(list.items.len());
    for item in &list.items {
        let BareItem::String(s) = &item.bare_item else {
            return Err(malformed(
                "signature-input",
                "component identifier is not a string",
            ));
        };
        if !item.params.is_empty() {
            return Err(HttpSigError::UnsupportedComponent(format!(
                "{};…",
                s.as_str()
            )));
        }
        components.push(s.as_str().to_owned());
    }
    let integer = |k: &str| -> Result<Option<i64>, HttpSigError> {
        match list.params.get(k) {
            None => Ok(None),
            Some(BareItem::Integer(i)) => Ok(Some(i64::from(*i))),
            Some(_) => Err(malformed(
                "signature-input",
                format!("{k} is not an integer"),
            )),
        }
    };
    let string = |k: &str| -> Result<Option<String>, HttpSigError> {
        match list.params.get(k) {
            None => Ok(None),
            Some(BareItem::String(s)) => Ok(Some(s.as_str().to_owned())),
            Some(_) => Err(malformed("signature-input", format!("{k} is not a string"))),
        }
    };
    Ok(Parsed {
        label: label.as_str().to_owned(),
        components,
        serialized_params: serialize_inner_list(list.clone())?,
        created: integer("created")?,
        expires: integer("expires")?,
        key_id: string("keyid")?,
        alg: string("alg")?,
        signature: signature.clone(),
    })
}

/// The `keyid` of the signature [`verify`] would check, without verifying.
pub fn key_id(request: &HttpRequest) -> Result<String, HttpSigError> {
    parse(request)?
        .key_id
        .ok_or(HttpSigError::MissingParameter("keyid"))
}

/// Verifies the RFC 9421 signature of `request` (the first label present in both fields).
///
/// Checks, in order: syntax; `keyid` and `created` present; `created` within
/// `policy.max_skew_seconds` of `now`; `expires` not passed; the policy's required
/// components covered; with a body, `content-digest` covered and matching; `alg` (if sent)
/// supported and fitting the key; the signature.
pub fn verify(
    request: &HttpRequest,
    mut resolve_key: impl FnMut(&str) -> Option<PublicKey>,
    policy: &VerifyPolicy,
    now: i64,
) -> Result<VerifiedSignature, HttpSigError> {
    let parsed = parse(request)?;
    let key_id = parsed
        .key_id
        .clone()
        .ok_or(HttpSigError::MissingParameter("keyid"))?;
    let created = parsed
        .created
        .ok_or(HttpSigError::MissingParameter("created"))?;
    check_window(created, now, policy)?;
    if let Some(expires) = parsed.expires
        && expires < now
    {
        return Err(HttpSigError::Expired(expires));
    }
    for required in &policy.rfc9421_required {
        if !parsed.components.contains(required) {
            return Err(HttpSigError::NotCovered(required.clone()));
        }
    }
    let digest_covered = parsed.components.iter().any(|c| c == "content-digest");
    if policy.require_body_digest && !request.body.is_empty() && !digest_covered {
        return Err(HttpSigError::NotCovered("content-digest".to_owned()));
    }
    if digest_covered {
        let value = request
            .header("content-digest")
            .ok_or(HttpSigError::MissingDigest)?;
        digest::verify_content_digest(&value, &request.body)?;
    }
    let base = signature_base(request, &parsed.components, &parsed.serialized_params)?;
    let key = resolve_key(&key_id).ok_or_else(|| HttpSigError::UnknownKey(key_id.clone()))?;
    let algorithm = match &parsed.alg {
        Some(name) => Algorithm::from_rfc9421_name(name)
            .ok_or_else(|| HttpSigError::UnsupportedAlgorithm(name.clone()))?,
        None => key_algorithm(&key),
    };
    verify_bytes(&key, algorithm, base.as_bytes(), &parsed.signature)?;
    Ok(VerifiedSignature {
        key_id,
        created,
        scheme: SignatureScheme::Rfc9421 {
            label: parsed.label,
        },
        algorithm,
        covered: parsed.components,
    })
}
