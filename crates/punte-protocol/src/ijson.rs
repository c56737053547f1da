//! I-JSON (RFC 7493) reading for bytes from outside: JSON whose objects have no duplicate
//! member names (and, as `serde_json` ensures, valid UTF-8 without lone surrogates).
//! RFC 8785 canonicalisation and FEP-8b32 proofs are defined over I-JSON; two readers that
//! keep a different one of two equal names would see different documents.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Most nesting accepted (arrays and objects), well below `serde_json`'s own recursion limit.
const MAX_DEPTH: usize = 64;

/// Parses `bytes` as one I-JSON value: duplicate member names (and nesting beyond 64 levels)
/// are errors.
pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue { depth: 0 }.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

struct StrictValue {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.deeper::<A::Error>()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue { depth })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.deeper::<A::Error>()?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate member name {key:?} (I-JSON, RFC 7493 §2.3)"
                )));
            }
            let value = map.next_value_seed(StrictValue { depth })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

impl StrictValue {
    fn deeper<E: de::Error>(&self) -> Result<usize, E> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(E::custom(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(depth)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn duplicate_names_are_refused_at_any_depth_and_the_rest_reads_as_serde_json_does() {
        for bad in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"x": {"id": "a", "id": "b"}}"#,
            r#"[{"type": "Create", "type": "Delete"}]"#,
        ] {
            let e = from_slice(bad.as_bytes()).unwrap_err();
            assert!(
                e.to_string().contains("duplicate member name"),
                "{bad}: {e}"
            );
        }
        for good in [
            r#"{"a": 1, "b": [1, 2.5, "x", null, true, {"a": -3}], "c": {"a": 18446744073709551615}}"#,
            "[]",
            "\"\\u00e9\"",
        ] {
            let strict = from_slice(good.as_bytes()).unwrap();
            let plain: Value = serde_json::from_str(good).unwrap();
            assert_eq!(strict, plain, "{good}");
        }
        assert!(from_slice(b"{} trailing").is_err());
        assert!(from_slice("[".repeat(100).as_bytes()).is_err());
        let deep = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(from_slice(deep.as_bytes()).is_ok());
        assert!(from_slice(b"\"\\ud800\"").is_err(), "a lone surrogate");
    }
}
