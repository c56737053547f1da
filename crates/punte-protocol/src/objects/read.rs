//! Strict, bounded reading of received JSON objects: every accessor names the field it reads
//! in its error, refuses wrong types and oversized values, and never panics.

use std::collections::BTreeMap;

use punte_model::LangMap;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::ObjectError;
use crate::timestamp;
use crate::urls::{self, Collection, NodeUrls};

/// Most languages in one language map.
pub const MAX_LANGUAGES: usize = 64;
/// Longest plain (non-multilingual) string field, in characters.
pub const MAX_PLAIN_CHARS: usize = 1_000;

/// A JSON object being read, with its path for error messages (`values[2].ci`).
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn invalid(field: String, reason: impl Into<String>) -> ObjectError {
    ObjectError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl<'a> Fields<'a> {
    /// Reads the top-level object.
    pub fn root(value: &'a Value) -> Result<Self, ObjectError> {
        Self::at(value, String::new())
    }

    /// Reads `value` found at `path`.
    pub fn at(value: &'a Value, path: String) -> Result<Self, ObjectError> {
        match value {
            Value::Object(map) => Ok(Self { map, path }),
            _ => Err(ObjectError::NotAnObject(if path.is_empty() {
                "object".to_owned()
            } else {
                path
            })),
        }
    }

    /// The path of member `key`.
    pub fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Member `key`; an explicit `null` counts as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn required(&self, key: &str) -> Result<&'a Value, ObjectError> {
        self.get(key)
            .ok_or_else(|| ObjectError::Missing(self.path_of(key)))
    }

    /// Checks `type`: a string equal to `expected`, or an array (at most 8) containing it.
    pub fn expect_type(&self, expected: &'static str) -> Result<(), ObjectError> {
        let found = self.required("type")?;
        let ok = match found {
            Value::String(s) => s == expected,
            Value::Array(items) if items.len() <= 8 => {
                items.iter().any(|t| t.as_str() == Some(expected))
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(ObjectError::WrongType {
                expected,
                found: found.to_string().chars().take(200).collect(),
            })
        }
    }

    /// A required string of at most `max_chars` characters.
    pub fn string(&self, key: &str, max_chars: usize) -> Result<&'a str, ObjectError> {
        self.opt_string(key, max_chars)?
            .ok_or_else(|| ObjectError::Missing(self.path_of(key)))
    }

    pub fn opt_string(&self, key: &str, max_chars: usize) -> Result<Option<&'a str>, ObjectError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => {
                if s.len() > max_chars.saturating_mul(4) || s.chars().count() > max_chars {
                    Err(invalid(
                        self.path_of(key),
                        format!("longer than {max_chars} characters"),
                    ))
                } else {
                    Ok(Some(s))
                }
            }
            Some(_) => Err(invalid(self.path_of(key), "must be a string")),
        }
    }

    /// A required string parsed by a model constructor such as `CountryCode::parse`.
    pub fn parsed<T>(
        &self,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ObjectError> {
        self.opt_parsed(key, parse)?
            .ok_or_else(|| ObjectError::Missing(self.path_of(key)))
    }

    pub fn opt_parsed<T>(
        &self,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ObjectError> {
        self.opt_string(key, MAX_PLAIN_CHARS)?
            .map(|s| parse(s).map_err(|e| invalid(self.path_of(key), e)))
            .transpose()
    }

    /// A required member of a model enumeration, by its wire name (`promising`, `rct`, …).
    pub fn enumeration<T: DeserializeOwned>(&self, key: &str) -> Result<T, ObjectError> {
        self.opt_enumeration(key)?
            .ok_or_else(|| ObjectError::Missing(self.path_of(key)))
    }

    pub fn opt_enumeration<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, ObjectError> {
        self.opt_string(key, 64)?
            .map(|s| {
                serde_json::from_value(Value::String(s.to_owned()))
                    .map_err(|_| invalid(self.path_of(key), format!("unknown value {s:?}")))
            })
            .transpose()
    }

    /// An RFC 3339 date-time, kept exactly as received.
    pub fn timestamp(&self, key: &str) -> Result<String, ObjectError> {
        let s = self.string(key, 64)?;
        timestamp::parse_rfc3339(s).map_err(|e| invalid(self.path_of(key), e.to_string()))?;
        Ok(s.to_owned())
    }

    pub fn u32(&self, key: &str) -> Result<u32, ObjectError> {
        self.opt_u32(key)?
            .ok_or_else(|| ObjectError::Missing(self.path_of(key)))
    }

    pub fn opt_u32(&self, key: &str) -> Result<Option<u32>, ObjectError> {
        self.opt_u64(key)?
            .map(|n| u32::try_from(n).map_err(|_| invalid(self.path_of(key), "too large")))
            .transpose()
    }

    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>, ObjectError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| invalid(self.path_of(key), "must be a non-negative whole number")),
        }
    }

    pub fn f64(&self, key: &str) -> Result<f64, ObjectError> {
        self.opt_f64(key)?
            .ok_or_else(|| ObjectError::Missing(self.path_of(key)))
    }

    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>, ObjectError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| invalid(self.path_of(key), "must be a finite number")),
        }
    }

    pub fn bool(&self, key: &str) -> Result<bool, ObjectError> {
        match self.required(key)? {
            Value::Bool(b) => Ok(*b),
            _ => Err(invalid(self.path_of(key), "must be true or false")),
        }
    }

    pub fn lang_map(&self, key: &str) -> Result<LangMap, ObjectError> {
        lang_map_at(self.required(key)?, self.path_of(key))
    }

    pub fn opt_lang_map(&self, key: &str) -> Result<Option<LangMap>, ObjectError> {
        self.get(key)
            .map(|v| lang_map_at(v, self.path_of(key)))
            .transpose()
    }

    pub fn nested(&self, key: &str) -> Result<Fields<'a>, ObjectError> {
        Fields::at(self.required(key)?, self.path_of(key))
    }

    pub fn opt_nested(&self, key: &str) -> Result<Option<Fields<'a>>, ObjectError> {
        self.get(key)
            .map(|v| Fields::at(v, self.path_of(key)))
            .transpose()
    }

    /// An array of at most `max` items (absent = empty), with each item's path.
    pub fn array(&self, key: &str, max: usize) -> Result<Vec<(String, &'a Value)>, ObjectError> {
        let items = match self.get(key) {
            None => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(invalid(self.path_of(key), "must be an array")),
        };
        if items.len() > max {
            return Err(ObjectError::TooLarge {
                field: self.path_of(key),
                found: items.len(),
                max,
            });
        }
        let base = self.path_of(key);
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{base}[{i}]"), v))
            .collect())
    }

    /// An object used as a map from keys to values, at most `max` entries (absent = empty).
    pub fn map(&self, key: &str, max: usize) -> Result<Vec<(String, &'a Value)>, ObjectError> {
        let map = match self.get(key) {
            None => return Ok(Vec::new()),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(invalid(self.path_of(key), "must be an object")),
        };
        if map.len() > max {
            return Err(ObjectError::TooLarge {
                field: self.path_of(key),
                found: map.len(),
                max,
            });
        }
        Ok(map.iter().map(|(k, v)| (k.clone(), v)).collect())
    }

    /// The local id of the object's own `id`, which must be `BASE/{collection}/{id}` on the
    /// expected origin.
    pub fn own_id(&self, urls: &NodeUrls, collection: Collection) -> Result<String, ObjectError> {
        let id = self.string("id", urls::MAX_URL_LEN)?;
        local_id_at(id, urls, collection, self.path_of("id"))
    }

    /// `attributedTo` must be present and on the expected origin.
    pub fn check_attributed_to(&self, urls: &NodeUrls) -> Result<(), ObjectError> {
        let actor = self.string("attributedTo", urls::MAX_URL_LEN)?;
        on_origin(actor, urls, self.path_of("attributedTo"))
    }

    /// An absolute http(s) URL.
    pub fn opt_url(&self, key: &str) -> Result<Option<String>, ObjectError> {
        self.opt_string(key, urls::MAX_URL_LEN)?
            .map(|s| {
                urls::origin_of(s)
                    .map(|_| s.to_owned())
                    .map_err(|e| invalid(self.path_of(key), e.to_string()))
            })
            .transpose()
    }
}

/// `url` must be an http(s) URL on the origin of `urls`.
pub(crate) fn on_origin(url: &str, urls: &NodeUrls, field: String) -> Result<(), ObjectError> {
    match urls::origin_of(url) {
        Err(e) => Err(invalid(field, e.to_string())),
        Ok(origin) if origin == urls.base() => Ok(()),
        Ok(_) => Err(ObjectError::CrossOrigin {
            field,
            url: url.chars().take(200).collect(),
            expected_origin: urls.base().to_owned(),
        }),
    }
}

/// The local id of `url` = `BASE/{collection}/{id}` on the expected origin.
pub(crate) fn local_id_at(
    url: &str,
    urls: &NodeUrls,
    collection: Collection,
    field: String,
) -> Result<String, ObjectError> {
    on_origin(url, urls, field.clone())?;
    urls.local_id(collection, url)
        .map(str::to_owned)
        .ok_or_else(|| {
            invalid(
                field,
                format!("is not {}/{}/ID", urls.base(), collection.segment()),
            )
        })
}

/// A language map: an object of at most [`MAX_LANGUAGES`] BCP 47 tags to non-empty texts.
pub(crate) fn lang_map_at(value: &Value, path: String) -> Result<LangMap, ObjectError> {
    let map = value
        .as_object()
        .ok_or_else(|| invalid(path.clone(), "must be a language map (an object)"))?;
    if map.len() > MAX_LANGUAGES {
        return Err(ObjectError::TooLarge {
            field: path,
            found: map.len(),
            max: MAX_LANGUAGES,
        });
    }
    let mut texts = BTreeMap::new();
    for (lang, text) in map {
        let text = text
            .as_str()
            .ok_or_else(|| invalid(join(&path, lang), "must be a string"))?;
        texts.insert(lang.clone(), text.to_owned());
    }
    LangMap::try_from(texts).map_err(|e| invalid(path, e))
}

/// A plain string item of an array.
pub(crate) fn string_item(
    value: &Value,
    path: String,
    max_chars: usize,
) -> Result<&str, ObjectError> {
    match value {
        Value::String(s) if s.chars().count() <= max_chars => Ok(s),
        Value::String(_) => Err(invalid(path, format!("longer than {max_chars} characters"))),
        _ => Err(invalid(path, "must be a string")),
    }
}

/// A string item parsed by a model constructor.
pub(crate) fn parsed_item<T>(
    value: &Value,
    path: String,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ObjectError> {
    let s = string_item(value, path.clone(), MAX_PLAIN_CHARS)?;
    parse(s).map_err(|e| invalid(path, e))
}
