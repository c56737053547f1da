//! HTML form plumbing: reading `application/x-www-form-urlencoded` bodies within the size limit,
//! and the messages shown next to the fields they are about.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde::Serialize;

use super::Ctx;
use super::WebError;
use crate::extract::read_body;

/// The fields of a submitted form, in order; repeated names keep every value.
#[derive(Debug, Default)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    /// Parses a urlencoded string; anything undecodable yields no fields.
    pub fn parse(text: &str) -> Self {
        Self(serde_urlencoded::from_str::<Vec<(String, String)>>(text).unwrap_or_default())
    }

    /// The first value of `name`, trimmed; `""` when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }

    /// Like [`FormData::get`] without trimming (for multi-line text).
    pub fn raw(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// How many numbered groups `prefix_N` the form has (highest N + 1), at most `max`.
    pub fn count(&self, prefix: &str, max: usize) -> usize {
        self.0
            .iter()
            .filter_map(|(k, _)| {
                k.strip_prefix(prefix)?
                    .strip_prefix('_')?
                    .parse::<usize>()
                    .ok()
            })
            .filter(|n| *n < max)
            .map(|n| n + 1)
            .max()
            .unwrap_or(0)
    }
}

/// Reads a form body: 415 unless urlencoded, 413 over the size limit.
pub async fn read(
    ctx: &Ctx,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<FormData, WebError> {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(ctx.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "error_bad_request"));
    }
    let bytes = read_body(req, payload)
        .await
        .map_err(|e| WebError::new(e.status, ctx.lang, "error_bad_request"))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ctx.error(StatusCode::BAD_REQUEST, "error_bad_request"))?;
    Ok(FormData::parse(text))
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A local path to come back to: starts with one `/`, no scheme or host, no backslash.
pub fn local_path(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && next.len() <= 2000;
    if ok { next } else { "/" }
}

/// One message for the reader; `lang` is set when it is not in the interface language
/// (the domain rules explain themselves in English).
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub text: String,
    pub lang: Option<String>,
}

/// Messages for a form: per input name, and all of them for the summary at the top.
#[derive(Debug, Default, Serialize)]
pub struct FormErrors {
    pub fields: BTreeMap<String, Vec<Message>>,
    pub summary: Vec<SummaryItem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SummaryItem {
    /// `#input` when the message sits next to an input.
    pub href: Option<String>,
    /// The field's label, in the interface language.
    pub label: Option<String>,
    pub text: String,
    pub lang: Option<String>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.summary.is_empty()
    }

    /// Adds a message next to `input` (or only to the summary when `None`).
    pub fn add(&mut self, input: Option<String>, text: String, lang: Option<String>) {
        self.add_labelled(None, input, text, lang);
    }

    /// Like [`FormErrors::add`]; the summary names the field by `label`.
    fn add_labelled(
        &mut self,
        label: Option<String>,
        input: Option<String>,
        text: String,
        lang: Option<String>,
    ) {
        self.summary.push(SummaryItem {
            href: input.as_ref().map(|i| format!("#{i}")),
            label,
            text: text.clone(),
            lang: lang.clone(),
        });
        if let Some(input) = input {
            self.fields
                .entry(input)
                .or_default()
                .push(Message { text, lang });
        }
    }

    /// A message from the interface catalogue.
    pub fn local(&mut self, ctx: &Ctx, input: &str, key: &str) {
        let label = label_for(ctx, input);
        self.add_labelled(label, Some(input.to_string()), ctx.text(key), None);
    }

    /// Errors from the model, each placed by `map` (field path -> input name).
    pub fn add_model_errors(
        &mut self,
        ctx: &Ctx,
        errors: &[punte_model::FieldError],
        map: impl Fn(&str) -> Option<String>,
    ) {
        let lang = (ctx.lang.code() != "en").then(|| "en".to_string());
        for e in errors {
            let input = map(&e.field);
            // Next to its input the path would only repeat the label.
            let text = if input.is_some() || e.field.is_empty() {
                e.message.clone()
            } else {
                format!("{}: {}", e.field, e.message)
            };
            let label = input.as_deref().and_then(|i| label_for(ctx, i));
            self.add_labelled(label, input, text, lang.clone());
        }
    }
}

/// The label of an input (`summary_0`, `actual_2`), numbered when it repeats.
fn label_for(ctx: &Ctx, input: &str) -> Option<String> {
    let (name, index) = match input.rsplit_once('_') {
        Some((name, n)) => (name, n.parse::<usize>().ok()),
        None => (input, None),
    };
    let key = match name {
        "lang" => "form_language_code".to_string(),
        "periodStart" => "field_start".into(),
        "periodEnd" => "field_end".into(),
        "budgetAmount" => "field_amount".into(),
        "budgetCurrency" => "field_currency".into(),
        "evaluatorName" => "field_name".into(),
        "evaluatorRole" => "field_role".into(),
        "evaluatorOrganisation" => "field_organisation".into(),
        "ciLower" => "form_ci_lower".into(),
        "ciUpper" => "form_ci_upper".into(),
        "token" => "signin_token".into(),
        "evidenceLevel" => "eval_evidence_level".into(),
        "indicator" | "baseline" | "target" | "actual" | "n" | "group" | "method" | "stage" => {
            format!("eval_{name}")
        }
        other => format!("field_{other}"),
    };
    let text = ctx.text(&key);
    if text == key {
        return None;
    }
    Some(match index {
        Some(i) if i > 0 => format!("{text} ({})", i + 1),
        _ => text,
    })
}

/// Splits a path like `values[2].actual` into its first segment and the rest
/// (`values`, `[2].actual`).
pub fn split_path(path: &str) -> (&str, &str) {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    path.split_at(end)
}

/// The index at the start of `[2].actual` and what follows it (`.actual`).
pub fn leading_index(rest: &str) -> Option<(usize, &str)> {
    let inner = rest.strip_prefix('[')?;
    let (n, after) = inner.split_once(']')?;
    Some((n.parse().ok()?, after))
}

/// Parses a decimal number a person typed (`1.5`, `1,5`); `None` when empty.
pub fn number(text: &str) -> Option<Result<f64, ()>> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    Some(
        t.replace(',', ".")
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or(()),
    )
}

/// Parses a whole number; `None` when empty.
pub fn whole(text: &str) -> Option<Result<u64, ()>> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    Some(t.parse::<u64>().map_err(|_| ()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/practices?q=a"), "/practices?q=a");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "", "x"] {
            assert_eq!(local_path(bad), "/", "{bad}");
        }
    }

    #[test]
    fn paths_split() {
        assert_eq!(split_path("values[2].actual"), ("values", "[2].actual"));
        assert_eq!(split_path("title.ro"), ("title", ".ro"));
        assert_eq!(split_path("country"), ("country", ""));
        assert_eq!(leading_index("[2].actual"), Some((2, ".actual")));
        assert_eq!(number("1,5"), Some(Ok(1.5)));
        assert_eq!(number("x"), Some(Err(())));
        assert_eq!(number(" "), None);
    }
}
