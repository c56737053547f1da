//! The signed network membership list: a `punte:MembershipList` object, `BASE/membership`,
//! published by a coordinator node as an `Update` in its own log (docs/protocol.md §1.10).
//!
//! Every version lists every organisation ever admitted; a removed member stays listed with
//! `left`, so each version carries the whole history and `change` names what this version
//! changed. Parsing is strict: a bad country, key, date, duplicate actor or version 0 is an
//! [`ObjectError`] naming the field.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::VerifyingKey;
use punte_model::{CountryCode, Date};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::read::{Fields, on_origin};
use super::{ObjectError, public_addressing};
use crate::multikey;
use crate::urls::{self, NodeUrls};

/// The `type` of the membership list.
pub const MEMBERSHIP_TYPE: &str = "MembershipList";
/// The path of the list under the coordinator's base URL.
pub const MEMBERSHIP_PATH: &str = "/membership";
/// Most members a list may name (admitted ever, including those who left).
pub const MAX_MEMBERS: usize = 2_000;
/// Longest member name, in characters.
const MAX_NAME_CHARS: usize = 300;
/// Longest witness key string.
const MAX_VKEY_CHARS: usize = 400;
/// The C2SP signature type byte of a `cosignature/v1` key.
const COSIGNATURE_V1: u8 = 0x04;

/// What one version of the list changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipAction {
    /// A new member (or a former one admitted again).
    Admit,
    /// A member left: it stays listed with `left`.
    Remove,
    /// A member's pinned keys (or name, country) changed, e.g. after a key rotation.
    Update,
}

impl MembershipAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admit => "admit",
            Self::Remove => "remove",
            Self::Update => "update",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admit" => Some(Self::Admit),
            "remove" => Some(Self::Remove),
            "update" => Some(Self::Update),
            _ => None,
        }
    }
}

/// One organisation of the network, with its pinned keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's actor id (`https://HOST/actor`).
    pub actor: String,
    pub name: Option<String>,
    pub country: CountryCode,
    /// The Ed25519 identity key (FEP-521a multikey in the actor's `assertionMethod`).
    pub identity_key: VerifyingKey,
    /// The C2SP vkey of the member's `cosignature/v1` witness key.
    pub witness_key: String,
    pub joined: Date,
    pub left: Option<Date>,
}

impl Member {
    /// Whether the member is in the network now (admitted and not left).
    pub fn is_current(&self) -> bool {
        self.left.is_none()
    }
}

/// One version of the membership list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipList {
    /// `BASE/membership` on the coordinator.
    pub id: String,
    /// The coordinator's actor (`attributedTo`).
    pub coordinator: String,
    /// 1 for the first version, +1 per change.
    pub version: u64,
    /// RFC 3339, as published.
    pub published: String,
    pub members: Vec<Member>,
    pub action: MembershipAction,
    /// The actor `action` applies to; listed in `members`.
    pub changed: String,
}

impl MembershipList {
    /// The listed member `actor` (current or not).
    pub fn member(&self, actor: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.actor == actor)
    }

    /// The member `actor` if it is in the network now.
    pub fn current_member(&self, actor: &str) -> Option<&Member> {
        self.member(actor).filter(|m| m.is_current())
    }
}

/// The list as an AS2 object (without `@context`), published by the coordinator at `urls`.
pub fn membership_to_object(list: &MembershipList, urls: &NodeUrls) -> Value {
    let mut o = Map::new();
    o.insert("id".to_owned(), list.id.clone().into());
    o.insert("type".to_owned(), MEMBERSHIP_TYPE.into());
    o.insert("attributedTo".to_owned(), urls.actor().into());
    public_addressing(&mut o, urls);
    o.insert("version".to_owned(), list.version.into());
    o.insert("published".to_owned(), list.published.clone().into());
    o.insert(
        "members".to_owned(),
        list.members.iter().map(member_value).collect(),
    );
    let mut change = Map::new();
    change.insert("action".to_owned(), list.action.as_str().into());
    change.insert("actor".to_owned(), list.changed.clone().into());
    o.insert("change".to_owned(), Value::Object(change));
    Value::Object(o)
}

fn member_value(m: &Member) -> Value {
    let mut o = Map::new();
    o.insert("actor".to_owned(), m.actor.clone().into());
    if let Some(name) = &m.name {
        o.insert("name".to_owned(), name.clone().into());
    }
    o.insert("country".to_owned(), m.country.as_str().into());
    o.insert(
        "identityKey".to_owned(),
        multikey::encode_ed25519_public(&m.identity_key).into(),
    );
    o.insert("witnessKey".to_owned(), m.witness_key.clone().into());
    o.insert("joined".to_owned(), m.joined.to_string().into());
    if let Some(left) = &m.left {
        o.insert("left".to_owned(), left.to_string().into());
    }
    Value::Object(o)
}

/// Rebuilds a membership list published by the node at `expected_origin`: `id` must be
/// `ORIGIN/membership`, `attributedTo` `ORIGIN/actor`.
pub fn parse_membership(
    object: &Value,
    expected_origin: &str,
) -> Result<MembershipList, ObjectError> {
    let urls = NodeUrls::new(expected_origin)?;
    let f = Fields::root(object)?;
    f.expect_type(MEMBERSHIP_TYPE)?;
    let id = f.string("id", urls::MAX_URL_LEN)?;
    on_origin(id, &urls, f.path_of("id"))?;
    let expected_id = format!("{}{MEMBERSHIP_PATH}", urls.base());
    if id != expected_id {
        return Err(invalid(f.path_of("id"), format!("must be {expected_id}")));
    }
    let coordinator = f.string("attributedTo", urls::MAX_URL_LEN)?;
    if coordinator != urls.actor() {
        return Err(invalid(
            f.path_of("attributedTo"),
            format!("must be {}", urls.actor()),
        ));
    }
    let version = f
        .opt_u64("version")?
        .ok_or_else(|| ObjectError::Missing(f.path_of("version")))?;
    if version == 0 {
        return Err(invalid(f.path_of("version"), "versions start at 1"));
    }
    let published = f.timestamp("published")?;
    let mut members: Vec<Member> = Vec::new();
    for (path, item) in f.array("members", MAX_MEMBERS)? {
        let member = parse_member(item, path.clone())?;
        if members.iter().any(|m| m.actor == member.actor) {
            return Err(invalid(
                format!("{path}.actor"),
                format!("{} is listed twice", member.actor),
            ));
        }
        members.push(member);
    }
    let change = f.nested("change")?;
    let action_text = change.string("action", 16)?;
    let action = MembershipAction::parse(action_text).ok_or_else(|| {
        invalid(
            change.path_of("action"),
            format!("must be admit, remove or update, not {action_text:?}"),
        )
    })?;
    let changed = change.string("actor", urls::MAX_URL_LEN)?.to_owned();
    let changed_member = members.iter().find(|m| m.actor == changed).ok_or_else(|| {
        invalid(
            change.path_of("actor"),
            format!("{changed} is not listed in members"),
        )
    })?;
    let consistent = match action {
        MembershipAction::Remove => !changed_member.is_current(),
        MembershipAction::Admit | MembershipAction::Update => changed_member.is_current(),
    };
    if !consistent {
        return Err(invalid(
            change.path_of("action"),
            format!(
                "{} of {changed}, but the member is {}",
                action.as_str(),
                if changed_member.is_current() {
                    "current"
                } else {
                    "listed as left"
                }
            ),
        ));
    }
    Ok(MembershipList {
        id: id.to_owned(),
        coordinator: coordinator.to_owned(),
        version,
        published,
        members,
        action,
        changed,
    })
}

fn parse_member(item: &Value, path: String) -> Result<Member, ObjectError> {
    let m = Fields::at(item, path)?;
    let actor = m.string("actor", urls::MAX_URL_LEN)?;
    urls::origin_of(actor).map_err(|e| invalid(m.path_of("actor"), e.to_string()))?;
    let identity_key = multikey::decode_ed25519_public(m.string("identityKey", 100)?)
        .map_err(|e| invalid(m.path_of("identityKey"), e.to_string()))?;
    let witness_key = m.string("witnessKey", MAX_VKEY_CHARS)?;
    check_cosignature_vkey(witness_key).map_err(|e| invalid(m.path_of("witnessKey"), e))?;
    let joined = m.parsed("joined", Date::parse)?;
    let left = m.opt_parsed("left", Date::parse)?;
    if left.is_some_and(|l| l < joined) {
        return Err(invalid(m.path_of("left"), "is before joined"));
    }
    Ok(Member {
        actor: actor.to_owned(),
        name: m.opt_string("name", MAX_NAME_CHARS)?.map(str::to_owned),
        country: m.parsed("country", CountryCode::parse)?,
        identity_key,
        witness_key: witness_key.to_owned(),
        joined,
        left,
    })
}

/// Checks a C2SP vkey of a `cosignature/v1` key: `NAME+HASH+KEY`, where `KEY` is base64 of
/// the type byte 0x04 and the 32-byte Ed25519 key, and `HASH` is the 8 hex digits of the
/// first four bytes of SHA-256(`NAME` `\n` 0x04 key).
pub fn check_cosignature_vkey(vkey: &str) -> Result<(), String> {
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("is not a vkey (NAME+HASH+KEY)".to_owned());
    };
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err("has an invalid key name".to_owned());
    }
    if hash.len() != 8 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("has no 8-digit key hash".to_owned());
    }
    let bytes = STANDARD
        .decode(key)
        .map_err(|_| "key is not base64".to_owned())?;
    if bytes.len() != 33 || bytes.first() != Some(&COSIGNATURE_V1) {
        return Err("is not a cosignature/v1 Ed25519 key".to_owned());
    }
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(&bytes);
    let digest = h.finalize();
    let expected: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    if !hash.eq_ignore_ascii_case(&expected) {
        return Err("key hash does not match the key".to_owned());
    }
    Ok(())
}

fn invalid(field: String, reason: impl Into<String>) -> ObjectError {
    ObjectError::Invalid {
        field,
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;
    use ed25519_dalek::SigningKey;

    const BASE: &str = "https://coord.example";

    fn vkey(name: &str, seed: u8) -> String {
        let key = SigningKey::from_bytes(&[seed; 32]).verifying_key();
        let mut bytes = vec![COSIGNATURE_V1];
        bytes.extend_from_slice(key.as_bytes());
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        h.update(b"\n");
        h.update(&bytes);
        let d = h.finalize();
        format!(
            "{name}+{:02x}{:02x}{:02x}{:02x}+{}",
            d[0],
            d[1],
            d[2],
            d[3],
            STANDARD.encode(&bytes)
        )
    }

    fn member(host: &str, seed: u8, left: Option<&str>) -> Member {
        Member {
            actor: format!("https://{host}/actor"),
            name: Some(format!("Org {host}")),
            country: CountryCode::parse("RO").unwrap(),
            identity_key: SigningKey::from_bytes(&[seed; 32]).verifying_key(),
            witness_key: vkey(&format!("{host}/punte-witness"), seed.wrapping_add(100)),
            joined: Date::parse("2025-01-02").unwrap(),
            left: left.map(|l| Date::parse(l).unwrap()),
        }
    }

    fn sample() -> MembershipList {
        MembershipList {
            id: format!("{BASE}/membership"),
            coordinator: format!("{BASE}/actor"),
            version: 3,
            published: "2025-03-01T10:00:00Z".to_owned(),
            members: vec![
                member("a.example", 1, None),
                member("b.example", 2, Some("2025-02-01")),
            ],
            action: MembershipAction::Remove,
            changed: "https://b.example/actor".to_owned(),
        }
    }

    fn object() -> Value {
        membership_to_object(&sample(), &NodeUrls::new(BASE).unwrap())
    }

    /// Parses `object` changed by `edit`; the error's text.
    fn refused(edit: impl FnOnce(&mut Value)) -> String {
        let mut o = object();
        edit(&mut o);
        parse_membership(&o, BASE).unwrap_err().to_string()
    }

    #[test]
    fn a_list_round_trips() {
        let parsed = parse_membership(&object(), BASE).unwrap();
        assert_eq!(parsed, sample());
        assert!(parsed.current_member("https://a.example/actor").is_some());
        assert!(parsed.current_member("https://b.example/actor").is_none());
        assert!(parsed.member("https://b.example/actor").is_some());
    }

    #[test]
    fn bad_lists_are_refused_naming_the_field() {
        type Edit = Box<dyn FnOnce(&mut Value)>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "members[0].country",
                Box::new(|o| o["members"][0]["country"] = "XX".into()),
            ),
            (
                "members[0].identityKey",
                Box::new(|o| o["members"][0]["identityKey"] = "z6MkNotAKey".into()),
            ),
            (
                "members[0].witnessKey",
                Box::new(|o| {
                    let k = o["members"][0]["witnessKey"].as_str().unwrap().to_owned();
                    // another name with the same key: the key hash no longer matches
                    o["members"][0]["witnessKey"] = k.replacen("a.example", "c.example", 1).into();
                }),
            ),
            (
                "members[1].actor",
                Box::new(|o| o["members"][1]["actor"] = "https://a.example/actor".into()),
            ),
            ("version", Box::new(|o| o["version"] = 0.into())),
            ("version", Box::new(|o| o["version"] = (-1).into())),
            (
                "members[0].joined",
                Box::new(|o| o["members"][0]["joined"] = "2025-13-01".into()),
            ),
            (
                "members[1].left",
                Box::new(|o| o["members"][1]["left"] = "2024-12-31".into()),
            ),
            (
                "id",
                Box::new(|o| o["id"] = "https://coord.example/other".into()),
            ),
            (
                "id",
                Box::new(|o| o["id"] = "https://evil.example/membership".into()),
            ),
            (
                "attributedTo",
                Box::new(|o| o["attributedTo"] = "https://coord.example/x".into()),
            ),
            (
                "change.action",
                Box::new(|o| o["change"]["action"] = "ban".into()),
            ),
            // a removal of a member who did not leave
            (
                "change.action",
                Box::new(|o| o["change"]["actor"] = "https://a.example/actor".into()),
            ),
            (
                "change.actor",
                Box::new(|o| o["change"]["actor"] = "https://z.example/actor".into()),
            ),
            (
                "published",
                Box::new(|o| o["published"] = "yesterday".into()),
            ),
            (
                "members[0].actor",
                Box::new(|o| o["members"][0]["actor"] = "ftp://x/actor".into()),
            ),
        ];
        for (field, edit) in cases {
            let e = refused(edit);
            assert!(e.contains(field), "{field}: {e}");
        }
        assert!(refused(|o| o["type"] = "Note".into()).contains("MembershipList"));
        assert!(refused(|o| o["members"] = "all".into()).contains("members"));
    }

    #[test]
    fn witness_keys_are_checked_like_c2sp_vkeys() {
        let good = vkey("w.example/punte-witness", 7);
        assert_eq!(check_cosignature_vkey(&good), Ok(()));
        for bad in [
            "",
            "name+0000",
            "name+zzzzzzzz+AAAA",
            "na me+00000000+AAAA",
            &good.replace("+", "+0"),
        ] {
            assert!(check_cosignature_vkey(bad).is_err(), "{bad}");
        }
        // an Ed25519 (type 0x01) note key is not a cosignature key
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let mut bytes = vec![0x01];
        bytes.extend_from_slice(key.as_bytes());
        let ed = format!("n+00000000+{}", STANDARD.encode(&bytes));
        assert!(
            check_cosignature_vkey(&ed)
                .unwrap_err()
                .contains("cosignature")
        );
    }
}
