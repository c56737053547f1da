//! IATI 2.03 activity XML of the node's evaluations, for funders (issue #5).
//!
//! One `<iati-activity>` per practice or adaptation the node has evaluated, one `<result>`
//! (type 2, outcome) per evaluation with values, one `<indicator>` per `code@version` in it
//! with its `<baseline>`s and a `<period>` per reporting period holding `<target>` and
//! `<actual>`; disaggregations become `<dimension>`s. Values are those that may leave the node
//! (disclosure control applied): a suppressed cell keeps its element with no `value` and a
//! comment saying why.
//!
//! Codes: result type 2 (outcome); indicator measure 2 (percentage) for percentages and
//! proportions (a proportion is multiplied by 100), 1 (unit) otherwise; `ascending` from the
//! indicator's direction (left out for neutral ones); indicator reference vocabulary 99
//! (reporting organisation) with the `code@version` and the definition's URL; activity
//! status 2 (implementation), activity date type 2 (actual start) = the earliest evaluation
//! period; reporting organisation type 22 (national NGO) unless told otherwise.
//!
//! The reporting organisation's `ref` should be its registered IATI organisation identifier
//! (org-id.guide); without one, a placeholder `{COUNTRY}-PUNTE-{host}` is used and the export
//! says so in a comment.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use punte_model::indicator::{Direction, Measure};
use punte_model::{
    Adaptation, Evaluation, IndicatorDefinition, IndicatorRef, IndicatorValue, LangMap,
    OrganisationProfile, Practice,
};
use punte_protocol::urls::NodeUrls;
use punte_store::documents::{self as docs, DocKind};

use crate::Node;
use crate::error::NodeError;

/// The IATI standard version written.
pub const IATI_VERSION: &str = "2.03";

/// Options of an IATI export.
#[derive(Debug, Clone, Default)]
pub struct IatiOptions {
    /// The registered IATI organisation identifier, e.g. `RO-ONRC-J40-12345-2010`.
    pub org_ref: Option<String>,
    /// IATI OrganisationType code; 22 (national NGO) when absent.
    pub org_type: Option<String>,
}

/// What the export reads: the node's organisation, documents and catalogue.
#[derive(Debug, Clone)]
pub struct IatiInput {
    pub base_url: String,
    pub organisation: OrganisationProfile,
    pub practices: Vec<Practice>,
    pub adaptations: Vec<Adaptation>,
    /// Evaluations with their values after disclosure control.
    pub evaluations: Vec<Evaluation>,
    pub indicators: Vec<IndicatorDefinition>,
    /// RFC 3339 time of the export.
    pub generated: String,
}

impl Node {
    /// The node's evaluations as an IATI 2.03 `<iati-activities>` document.
    pub fn export_iati(&self, options: &IatiOptions) -> Result<String, NodeError> {
        let organisation = self.organisation()?.ok_or(NodeError::NotInitialised)?;
        let k = self.settings.disclosure_k;
        let (practices, adaptations, evaluations, indicators) =
            self.store.read(|conn| -> Result<_, NodeError> {
                let decode_all = |kind| -> Result<Vec<docs::DocRecord>, NodeError> {
                    Ok(docs::all_current(conn, kind)?)
                };
                let practices = decode_all(DocKind::Practice)?
                    .iter()
                    .map(|r| crate::documents::decode::<Practice>(DocKind::Practice, r))
                    .collect::<Result<Vec<_>, _>>()?;
                let adaptations = decode_all(DocKind::Adaptation)?
                    .iter()
                    .map(|r| crate::documents::decode::<Adaptation>(DocKind::Adaptation, r))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut evaluations = decode_all(DocKind::Evaluation)?
                    .iter()
                    .map(|r| crate::documents::decode::<Evaluation>(DocKind::Evaluation, r))
                    .collect::<Result<Vec<_>, _>>()?;
                for e in &mut evaluations {
                    e.content.values = crate::disclosed_evaluation(conn, e, k)?.values;
                }
                let indicators = crate::indicators::all(conn)?;
                Ok((practices, adaptations, evaluations, indicators))
            })?;
        let input = IatiInput {
            base_url: self.settings.base_url.clone(),
            organisation,
            practices,
            adaptations,
            evaluations,
            indicators,
            generated: punte_store::timestamp(self.now()),
        };
        Ok(iati_activities(&input, options))
    }
}

/// Escapes text for XML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // characters XML 1.0 does not allow
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// `<narrative xml:lang="…">` for every language of `text`.
fn narratives(out: &mut String, indent: &str, text: &LangMap) {
    for (lang, t) in text.iter() {
        let _ = writeln!(
            out,
            "{indent}<narrative xml:lang=\"{}\">{}</narrative>",
            esc(lang.as_str()),
            esc(t)
        );
    }
}

fn english(out: &mut String, indent: &str, text: &str) {
    let _ = writeln!(
        out,
        "{indent}<narrative xml:lang=\"en\">{}</narrative>",
        esc(text)
    );
}

/// The placeholder organisation reference: `{COUNTRY}-PUNTE-{host}`.
fn placeholder_ref(country: &str, base_url: &str) -> String {
    let host = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest)
        .trim_end_matches('/');
    let host: String = host
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{country}-PUNTE-{host}")
}

/// An activity: a practice or an adaptation and the evaluations of it.
struct ActivityGroup<'a> {
    local_id: String,
    title: Option<LangMap>,
    /// The title when `title` is absent.
    fallback_title: String,
    description: Option<LangMap>,
    country: String,
    updated: String,
    evaluations: Vec<&'a Evaluation>,
}

/// The `<iati-activities>` document (pure: everything comes from `input`).
pub fn iati_activities(input: &IatiInput, options: &IatiOptions) -> String {
    let org = &input.organisation;
    let country = org.country.to_string();
    let org_ref = options
        .org_ref
        .clone()
        .unwrap_or_else(|| placeholder_ref(&country, &input.base_url));
    let org_type = options.org_type.clone().unwrap_or_else(|| "22".to_owned());
    let default_lang = org
        .languages
        .first()
        .map(|l| l.as_str().to_owned())
        .unwrap_or_else(|| "en".to_owned());
    let urls = NodeUrls::new(&input.base_url).ok();
    let indicators: BTreeMap<IndicatorRef, &IndicatorDefinition> = input
        .indicators
        .iter()
        .map(|d| (d.reference(), d))
        .collect();

    let mut groups: BTreeMap<String, ActivityGroup<'_>> = BTreeMap::new();
    for p in &input.practices {
        groups.insert(
            format!("practice:{}", p.id),
            ActivityGroup {
                local_id: p.id.clone(),
                title: Some(p.content.title.clone()),
                fallback_title: String::new(),
                description: Some(p.content.summary.clone()),
                country: p.content.country.to_string(),
                updated: p.updated_at.clone(),
                evaluations: Vec::new(),
            },
        );
    }
    for a in &input.adaptations {
        groups.insert(
            format!("adaptation:{}", a.id),
            ActivityGroup {
                local_id: a.id.clone(),
                title: a.content.title.clone(),
                fallback_title: format!("Adaptation of {}", a.content.origin.practice),
                description: Some(a.content.context.clone()),
                country: a.content.country.to_string(),
                updated: a.updated_at.clone(),
                evaluations: Vec::new(),
            },
        );
    }
    for e in &input.evaluations {
        if e.content.values.is_empty() {
            continue;
        }
        let key = match (&e.content.subject.practice, &e.content.subject.adaptation) {
            (_, Some(a)) => format!("adaptation:{a}"),
            (Some(p), None) => format!("practice:{p}"),
            (None, None) => continue,
        };
        if let Some(g) = groups.get_mut(&key) {
            g.evaluations.push(e);
        }
    }

    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<iati-activities version=\"{IATI_VERSION}\" generated-datetime=\"{}\">",
        esc(&input.generated)
    );
    if options.org_ref.is_none() {
        out.push_str(
            "  <!-- reporting-org ref is a placeholder: pass the organisation's registered IATI identifier -->\n",
        );
    }
    for g in groups.values().filter(|g| !g.evaluations.is_empty()) {
        let start = g
            .evaluations
            .iter()
            .map(|e| e.content.period.start)
            .min()
            .map(|d| d.to_string())
            .unwrap_or_else(|| input.generated.chars().take(10).collect());
        let _ = writeln!(
            out,
            "  <iati-activity last-updated-datetime=\"{}\" xml:lang=\"{}\">",
            esc(&g.updated),
            esc(&default_lang)
        );
        let _ = writeln!(
            out,
            "    <iati-identifier>{}-{}</iati-identifier>",
            esc(&org_ref),
            esc(&g.local_id)
        );
        let _ = writeln!(
            out,
            "    <reporting-org ref=\"{}\" type=\"{}\">",
            esc(&org_ref),
            esc(&org_type)
        );
        narratives(&mut out, "      ", &org.name);
        out.push_str("    </reporting-org>\n    <title>\n");
        match &g.title {
            Some(t) if t.iter().next().is_some() => narratives(&mut out, "      ", t),
            _ => english(&mut out, "      ", &g.fallback_title),
        }
        out.push_str("    </title>\n    <description type=\"1\">\n");
        match &g.description {
            Some(d) if d.iter().next().is_some() => narratives(&mut out, "      ", d),
            _ => english(&mut out, "      ", "Evaluated practice"),
        }
        out.push_str("    </description>\n");
        let _ = writeln!(
            out,
            "    <participating-org ref=\"{}\" type=\"{}\" role=\"4\">",
            esc(&org_ref),
            esc(&org_type)
        );
        narratives(&mut out, "      ", &org.name);
        out.push_str("    </participating-org>\n");
        out.push_str("    <activity-status code=\"2\"/>\n");
        let _ = writeln!(
            out,
            "    <activity-date type=\"2\" iso-date=\"{}\"/>",
            esc(&start)
        );
        let _ = writeln!(
            out,
            "    <recipient-country code=\"{}\" percentage=\"100\"/>",
            esc(&g.country)
        );
        for e in &g.evaluations {
            result(&mut out, e, &indicators, urls.as_ref(), &input.generated);
        }
        out.push_str("  </iati-activity>\n");
    }
    out.push_str("</iati-activities>\n");
    out
}

fn method_name(e: &Evaluation) -> String {
    serde_json::to_value(e.content.method)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn result(
    out: &mut String,
    e: &Evaluation,
    indicators: &BTreeMap<IndicatorRef, &IndicatorDefinition>,
    urls: Option<&NodeUrls>,
    generated: &str,
) {
    out.push_str("    <result type=\"2\">\n      <title>\n");
    match &e.content.title {
        Some(t) if t.iter().next().is_some() => narratives(out, "        ", t),
        _ => english(
            out,
            "        ",
            &format!(
                "Evaluation {} ({}, evidence level {})",
                e.id,
                method_name(e),
                e.content.evidence_level.get()
            ),
        ),
    }
    out.push_str("      </title>\n");
    if let Some(s) = e
        .content
        .summary
        .as_ref()
        .filter(|s| s.iter().next().is_some())
    {
        out.push_str("      <description>\n");
        narratives(out, "        ", s);
        out.push_str("      </description>\n");
    }
    let mut by_indicator: BTreeMap<&IndicatorRef, Vec<&IndicatorValue>> = BTreeMap::new();
    for v in &e.content.values {
        by_indicator.entry(&v.indicator).or_default().push(v);
    }
    for (reference, values) in by_indicator {
        indicator(
            out,
            e,
            reference,
            &values,
            indicators.get(reference).copied(),
            urls,
            generated,
        );
    }
    out.push_str("    </result>\n");
}

fn indicator(
    out: &mut String,
    e: &Evaluation,
    reference: &IndicatorRef,
    values: &[&IndicatorValue],
    definition: Option<&IndicatorDefinition>,
    urls: Option<&NodeUrls>,
    generated: &str,
) {
    let measure = definition.map(|d| d.measure);
    let (code, scale) = match measure {
        Some(Measure::Percentage) => ("2", 1.0),
        Some(Measure::Proportion) => ("2", 100.0),
        _ => ("1", 1.0),
    };
    let ascending = match definition.map(|d| d.direction) {
        Some(Direction::Increase) => " ascending=\"1\"",
        Some(Direction::Decrease) => " ascending=\"0\"",
        Some(Direction::Neutral) | None => "",
    };
    let _ = writeln!(out, "      <indicator measure=\"{code}\"{ascending}>");
    out.push_str("        <title>\n");
    match definition {
        Some(d) => narratives(out, "          ", &d.label),
        None => english(out, "          ", &reference.to_string()),
    }
    out.push_str("        </title>\n");
    if let Some(d) = definition.and_then(|d| d.description.as_ref()) {
        out.push_str("        <description>\n");
        narratives(out, "          ", d);
        out.push_str("        </description>\n");
    }
    let uri = urls
        .map(|u| format!(" indicator-uri=\"{}\"", esc(&u.indicator(reference))))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "        <reference vocabulary=\"99\" code=\"{}\"{uri}/>",
        esc(&reference.to_string())
    );
    let value_attr = |x: Option<f64>| {
        x.map(|x| format!(" value=\"{}\"", x * scale))
            .unwrap_or_default()
    };
    let dimensions = |out: &mut String, indent: &str, v: &IndicatorValue| {
        for (name, value) in &v.disaggregation {
            let _ = writeln!(
                out,
                "{indent}<dimension name=\"{}\" value=\"{}\"/>",
                esc(name),
                esc(value)
            );
        }
    };
    let suppressed_comment = |out: &mut String, indent: &str, v: &IndicatorValue| {
        if v.suppressed.is_some() {
            let _ = writeln!(out, "{indent}<comment>");
            english(
                out,
                &format!("{indent}  "),
                "suppressed by disclosure control: fewer people than the threshold",
            );
            let _ = writeln!(out, "{indent}</comment>");
        }
    };
    for v in values {
        let has_baseline = v.baseline.is_some() || v.suppressed.is_some();
        if !has_baseline {
            continue;
        }
        let start = v
            .period
            .as_ref()
            .map_or(e.content.period.start, |p| p.start);
        let _ = writeln!(
            out,
            "        <baseline year=\"{}\" iso-date=\"{start}\"{}>",
            start.inner().year(),
            value_attr(v.baseline)
        );
        dimensions(out, "          ", v);
        // baseline: location, dimension, document-link, comment
        suppressed_comment(out, "          ", v);
        out.push_str("        </baseline>\n");
    }
    let today: String = generated.chars().take(10).collect();
    let mut periods: BTreeMap<(String, String), Vec<&IndicatorValue>> = BTreeMap::new();
    for v in values {
        let period = v.period.as_ref().unwrap_or(&e.content.period);
        let end = period
            .end
            .or(e.content.period.end)
            .map(|d| d.to_string())
            .unwrap_or_else(|| today.clone());
        periods
            .entry((period.start.to_string(), end))
            .or_default()
            .push(v);
    }
    for ((start, end), vs) in periods {
        out.push_str("        <period>\n");
        let _ = writeln!(
            out,
            "          <period-start iso-date=\"{}\"/>",
            esc(&start)
        );
        let _ = writeln!(out, "          <period-end iso-date=\"{}\"/>", esc(&end));
        // target, then actual: location, dimension, comment, document-link
        for v in vs.iter().filter(|v| v.target.is_some()) {
            let _ = writeln!(out, "          <target{}>", value_attr(v.target));
            dimensions(out, "            ", v);
            out.push_str("          </target>\n");
        }
        for v in vs
            .iter()
            .filter(|v| v.actual.is_some() || v.suppressed.is_some())
        {
            let _ = writeln!(out, "          <actual{}>", value_attr(v.actual));
            dimensions(out, "            ", v);
            suppressed_comment(out, "            ", v);
            out.push_str("          </actual>\n");
        }
        out.push_str("        </period>\n");
    }
    out.push_str("      </indicator>\n");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(
            esc("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
    }

    #[test]
    fn the_placeholder_reference_names_country_and_host() {
        assert_eq!(
            placeholder_ref("RO", "https://ngo.example.org:8443"),
            "RO-PUNTE-ngo-example-org-8443"
        );
    }
}
