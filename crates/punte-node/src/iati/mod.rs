//! IATI 2.03 activity XML of the node's evaluations, for funders (issue #5), following the
//! IATI Standard Ruleset as well as the schema (issue #12).
//!
//! One `<iati-activity>` per practice or adaptation the node has evaluated, one `<result>`
//! (type 2, outcome) per evaluation with values, one `<indicator>` per `code@version` in it
//! with its `<baseline>`s and a `<period>` per reporting period holding `<target>` and
//! `<actual>`; disaggregations become `<dimension>`s. Values are those that may leave the node
//! (disclosure control applied): a suppressed cell, or one without a value, is left out (the
//! ruleset wants a `value` on every baseline, target and actual) and an XML comment says so.
//!
//! Values with groups: each group's baseline cell is a `<baseline>` and its follow-up cell an
//! `<actual>`, told apart by `<dimension name="evaluation-group" value="intervention">` (or
//! `comparison`); the comparison group's follow-up is an actual of that group, never a
//! baseline. A cell's value is its mean (for counts and proportions, `events / n` when no
//! mean is given).
//!
//! Codes: result type 2 (outcome); indicator measure 2 (percentage) for percentages and
//! proportions (a proportion is multiplied by 100), 1 (unit) otherwise; `ascending` from the
//! indicator's direction (left out for neutral ones); indicator reference vocabulary 99
//! (reporting organisation) with the `code@version` and the definition's URL; activity
//! status 2 (implementation); activity dates from the practice's period (an adaptation: the
//! evaluations' earliest start), type 2 (actual start) or 1 (planned start) when it is still
//! to come, and type 4 (actual end) or 3 (planned end); sectors from the practice's SDG
//! targets (vocabulary 8, SDG targets) and themes (vocabulary 99), percentages summing to 100
//! per vocabulary (an adaptation takes its origin practice's when this node has it);
//! `last-updated-datetime` the latest change of the activity's document, its evaluations and
//! the organisation profile; reporting organisation type 22 (national NGO) unless told
//! otherwise. Numbers are `xsd:decimal`s without floating-point noise (`xml::decimal`).
//!
//! The reporting organisation's `ref` should be its registered IATI organisation identifier
//! (org-id.guide); without one, a placeholder `{COUNTRY}-PUNTE-{host}` is used and the export
//! says so in a comment.

mod xml;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use punte_model::evaluation::{Cell, GroupCells};
use punte_model::indicator::{Direction, Measure};
use punte_model::{
    Adaptation, Evaluation, IndicatorDefinition, IndicatorRef, IndicatorValue, LangMap,
    OrganisationProfile, Period, Practice, SdgTarget, Theme,
};
use punte_protocol::urls::{NodeUrls, origin_of};
use punte_store::documents::{self as docs, DocKind};

use crate::Node;
use crate::error::NodeError;

/// The IATI standard version written.
pub const IATI_VERSION: &str = "2.03";

/// The `<dimension>` name that tells the groups of a value apart.
const GROUP_DIMENSION: &str = "evaluation-group";

/// Options of an IATI export.
#[derive(Debug, Clone, Default)]
pub struct IatiOptions {
    /// The registered IATI organisation identifier, e.g. `RO-ONRC-J40-12345-2010`.
    pub org_ref: Option<String>,
    /// IATI OrganisationType code; 22 (national NGO) when absent.
    pub org_type: Option<String>,
}

/// The classification of a practice the export turns into `<sector>`s.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Classification {
    pub themes: Vec<Theme>,
    pub sdg_targets: Vec<SdgTarget>,
}

impl Classification {
    fn of(practice: &Practice) -> Self {
        Self {
            themes: practice.content.themes.clone(),
            sdg_targets: practice.content.sdg_targets.clone(),
        }
    }
}

/// What the export reads: the node's organisation, documents and catalogue.
#[derive(Debug, Clone)]
pub struct IatiInput {
    pub base_url: String,
    pub organisation: OrganisationProfile,
    /// When the organisation profile last changed (RFC 3339), if known.
    pub organisation_updated: Option<String>,
    pub practices: Vec<Practice>,
    pub adaptations: Vec<Adaptation>,
    /// The classification of partners' practices this node's adaptations adapt, by the
    /// practice's URL (those this node has a replica of).
    pub origin_classifications: BTreeMap<String, Classification>,
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
        let organisation_updated = self.organisation_updated_at()?;
        let k = self.settings.disclosure_k;
        let own_urls = NodeUrls::new(&self.settings.base_url).ok();
        let (practices, adaptations, origin_classifications, evaluations, indicators) =
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
                let mut origins = BTreeMap::new();
                for a in &adaptations {
                    let url = &a.content.origin.practice;
                    let own = own_urls
                        .as_ref()
                        .is_some_and(|u| practices.iter().any(|p| u.practice(&p.id) == *url));
                    if own || origins.contains_key(url) {
                        continue;
                    }
                    if let Some(c) = replicated_classification(conn, url)? {
                        origins.insert(url.clone(), c);
                    }
                }
                let mut evaluations = decode_all(DocKind::Evaluation)?
                    .iter()
                    .map(|r| crate::documents::decode::<Evaluation>(DocKind::Evaluation, r))
                    .collect::<Result<Vec<_>, _>>()?;
                for e in &mut evaluations {
                    e.content.values = crate::disclosed_evaluation(conn, e, k)?.values;
                }
                let indicators = crate::indicators::all(conn)?;
                Ok((practices, adaptations, origins, evaluations, indicators))
            })?;
        let input = IatiInput {
            base_url: self.settings.base_url.clone(),
            organisation,
            organisation_updated,
            practices,
            adaptations,
            origin_classifications,
            evaluations,
            indicators,
            generated: punte_store::timestamp(self.now()),
        };
        Ok(iati_activities(&input, options))
    }
}

/// The themes and SDG targets of a replicated practice; none when this node has no replica
/// of it or it does not read as a practice (it was checked when received).
fn replicated_classification(
    conn: &punte_store::Connection,
    url: &str,
) -> Result<Option<Classification>, NodeError> {
    let Some(o) = punte_store::federation::replica_object_by_id(conn, url)? else {
        return Ok(None);
    };
    if o.deleted || o.kind != "practice" {
        return Ok(None);
    }
    let Ok(origin) = origin_of(&o.actor) else {
        return Ok(None);
    };
    let practice = serde_json::from_str(&o.object)
        .ok()
        .and_then(|v| punte_protocol::objects::parse_practice(&v, &origin).ok());
    Ok(practice.as_ref().map(Classification::of))
}

/// `<narrative xml:lang="…">` for every language of `text`.
fn narratives(out: &mut String, indent: &str, text: &LangMap) {
    for (lang, t) in text.iter() {
        let _ = writeln!(
            out,
            "{indent}<narrative xml:lang=\"{}\">{}</narrative>",
            xml::attr(lang.as_str()),
            xml::text(t)
        );
    }
}

fn english(out: &mut String, indent: &str, text: &str) {
    let _ = writeln!(
        out,
        "{indent}<narrative xml:lang=\"en\">{}</narrative>",
        xml::text(text)
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
    /// The practice's period (adaptations have none).
    period: Option<Period>,
    classification: Classification,
    evaluations: Vec<&'a Evaluation>,
}

/// The latest of RFC 3339 times (those that parse), as RFC 3339 in UTC.
fn latest<'a>(times: impl IntoIterator<Item = &'a str>) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    times
        .into_iter()
        .filter_map(|t| time::OffsetDateTime::parse(t, &Rfc3339).ok())
        .max()
        .map(punte_store::timestamp)
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
    let today: String = input.generated.chars().take(10).collect();

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
                period: p.content.period.clone(),
                classification: Classification::of(p),
                evaluations: Vec::new(),
            },
        );
    }
    for a in &input.adaptations {
        let origin = &a.content.origin.practice;
        let classification = input
            .practices
            .iter()
            .find(|p| urls.as_ref().is_some_and(|u| u.practice(&p.id) == *origin))
            .map(Classification::of)
            .or_else(|| input.origin_classifications.get(origin).cloned())
            .unwrap_or_default();
        groups.insert(
            format!("adaptation:{}", a.id),
            ActivityGroup {
                local_id: a.id.clone(),
                title: a.content.title.clone(),
                fallback_title: format!("Adaptation of {origin}"),
                description: Some(a.content.context.clone()),
                country: a.content.country.to_string(),
                updated: a.updated_at.clone(),
                period: None,
                classification,
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
        xml::attr(&input.generated)
    );
    if options.org_ref.is_none() {
        let _ = writeln!(
            out,
            "  {}",
            xml::comment(
                "reporting-org ref is a placeholder: pass the organisation's registered IATI identifier"
            )
        );
    }
    for g in groups.values().filter(|g| !g.evaluations.is_empty()) {
        let updated = latest(
            std::iter::once(g.updated.as_str())
                .chain(g.evaluations.iter().map(|e| e.updated_at.as_str()))
                .chain(input.organisation_updated.as_deref()),
        )
        .unwrap_or_else(|| g.updated.clone());
        let _ = writeln!(
            out,
            "  <iati-activity last-updated-datetime=\"{}\" xml:lang=\"{}\">",
            xml::attr(&updated),
            xml::attr(&default_lang)
        );
        let _ = writeln!(
            out,
            "    <iati-identifier>{}-{}</iati-identifier>",
            xml::text(&org_ref),
            xml::text(&g.local_id)
        );
        let _ = writeln!(
            out,
            "    <reporting-org ref=\"{}\" type=\"{}\">",
            xml::attr(&org_ref),
            xml::attr(&org_type)
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
            xml::attr(&org_ref),
            xml::attr(&org_type)
        );
        narratives(&mut out, "      ", &org.name);
        out.push_str("    </participating-org>\n");
        out.push_str("    <activity-status code=\"2\"/>\n");
        activity_dates(&mut out, g, &today);
        let _ = writeln!(
            out,
            "    <recipient-country code=\"{}\" percentage=\"100\"/>",
            xml::attr(&g.country)
        );
        sectors(&mut out, &g.classification);
        for e in &g.evaluations {
            result(&mut out, e, &indicators, urls.as_ref(), &today);
        }
        out.push_str("  </iati-activity>\n");
    }
    out.push_str("</iati-activities>\n");
    out
}

/// `<activity-date>`s: the start (type 2, actual, or 1, planned when it is after `today`)
/// and, when known, the end (type 4, actual, or 3, planned when after `today`). The start is
/// the practice's, else the earliest evaluation period's.
fn activity_dates(out: &mut String, g: &ActivityGroup<'_>, today: &str) {
    let start = g
        .period
        .as_ref()
        .map(|p| p.start)
        .or_else(|| g.evaluations.iter().map(|e| e.content.period.start).min())
        .map(|d| d.to_string())
        .unwrap_or_else(|| today.to_owned());
    let start_type = if start.as_str() > today { "1" } else { "2" };
    let _ = writeln!(
        out,
        "    <activity-date type=\"{start_type}\" iso-date=\"{}\"/>",
        xml::attr(&start)
    );
    if let Some(end) = g.period.as_ref().and_then(|p| p.end) {
        let end = end.to_string();
        let end_type = if end.as_str() > today { "3" } else { "4" };
        let _ = writeln!(
            out,
            "    <activity-date type=\"{end_type}\" iso-date=\"{}\"/>",
            xml::attr(&end)
        );
    }
}

/// `<sector>`s: SDG targets (vocabulary 8) and themes (vocabulary 99, the reporting
/// organisation's own), each vocabulary's percentages summing to 100. The ruleset wants at
/// least one sector: a practice with neither gets an `unclassified` one of vocabulary 99, and
/// a comment saying why.
fn sectors(out: &mut String, c: &Classification) {
    for (target, pct) in c
        .sdg_targets
        .iter()
        .zip(xml::percentages(c.sdg_targets.len()))
    {
        let _ = writeln!(
            out,
            "    <sector vocabulary=\"8\" code=\"{}\" percentage=\"{pct}\"/>",
            xml::attr(target.as_str())
        );
    }
    for (theme, pct) in c.themes.iter().zip(xml::percentages(c.themes.len())) {
        let _ = writeln!(
            out,
            "    <sector vocabulary=\"99\" code=\"{}\" percentage=\"{pct}\">",
            xml::attr(theme.as_str())
        );
        english(out, "      ", theme.as_str());
        out.push_str("    </sector>\n");
    }
    if c.themes.is_empty() && c.sdg_targets.is_empty() {
        let _ = writeln!(
            out,
            "    {}",
            xml::comment("the practice names no theme and no SDG target")
        );
        out.push_str("    <sector vocabulary=\"99\" code=\"unclassified\" percentage=\"100\">\n");
        english(out, "      ", "Not classified");
        out.push_str("    </sector>\n");
    }
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
    today: &str,
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
            today,
        );
    }
    out.push_str("    </result>\n");
}

/// One measurement of a value as IATI carries it: a single group's baseline or actual, or
/// one cell of a group.
struct Observation<'a> {
    value: &'a IndicatorValue,
    /// `intervention` or `comparison` for a value with groups.
    group: Option<&'static str>,
    /// The measurement; none when there is none or it is suppressed.
    measured: Option<f64>,
    suppressed: bool,
}

/// A cell's value: its mean, else `events / n`.
fn cell_value(c: &Cell) -> Option<f64> {
    c.mean.or_else(|| match (c.events, c.n) {
        (Some(e), Some(n)) if n > 0 => Some(e as f64 / n as f64),
        _ => None,
    })
}

/// The value's baselines (`follow_up` false) or actuals (`follow_up` true).
fn observations(v: &IndicatorValue, follow_up: bool) -> Vec<Observation<'_>> {
    let Some(groups) = &v.groups else {
        let measured = if follow_up { v.actual } else { v.baseline };
        return vec![Observation {
            value: v,
            group: None,
            measured: measured.filter(|_| v.suppressed.is_none()),
            suppressed: v.suppressed.is_some(),
        }];
    };
    let of = |name: &'static str, g: &GroupCells| {
        let cell = if follow_up { &g.follow_up } else { &g.baseline };
        cell.as_ref().map(|c| {
            let suppressed = v.suppressed.is_some() || c.suppressed.is_some();
            Observation {
                value: v,
                group: Some(name),
                measured: cell_value(c).filter(|_| !suppressed),
                suppressed,
            }
        })
    };
    of("intervention", &groups.intervention)
        .into_iter()
        .chain(groups.comparison.as_ref().and_then(|c| of("comparison", c)))
        .collect()
}

/// What an observation is, for the comment that stands in for a left-out one.
fn described(what: &str, o: &Observation<'_>) -> String {
    let mut text = what.to_owned();
    if let Some(g) = o.group {
        let _ = write!(text, " of the {g} group");
    }
    for (name, value) in &o.value.disaggregation {
        let _ = write!(text, ", {name} {value}");
    }
    if o.suppressed {
        text.push_str(
            ": suppressed by disclosure control (fewer people than the threshold), left out",
        );
    } else {
        text.push_str(": no value reported, left out");
    }
    text
}

#[allow(clippy::too_many_lines)] // one element in the schema's order, top to bottom
fn indicator(
    out: &mut String,
    e: &Evaluation,
    reference: &IndicatorRef,
    values: &[&IndicatorValue],
    definition: Option<&IndicatorDefinition>,
    urls: Option<&NodeUrls>,
    today: &str,
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
        .map(|u| format!(" indicator-uri=\"{}\"", xml::attr(&u.indicator(reference))))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "        <reference vocabulary=\"99\" code=\"{}\"{uri}/>",
        xml::attr(&reference.to_string())
    );
    let scaled = |x: f64| xml::decimal(x * scale);
    let dimensions = |out: &mut String, indent: &str, o: &Observation<'_>| {
        for (name, value) in &o.value.disaggregation {
            let _ = writeln!(
                out,
                "{indent}<dimension name=\"{}\" value=\"{}\"/>",
                xml::attr(name),
                xml::attr(value)
            );
        }
        if let Some(g) = o.group {
            let _ = writeln!(
                out,
                "{indent}<dimension name=\"{GROUP_DIMENSION}\" value=\"{g}\"/>"
            );
        }
    };
    for v in values {
        let start = v
            .period
            .as_ref()
            .map_or(e.content.period.start, |p| p.start);
        for o in observations(v, false) {
            // a value that is nothing but a target has no baseline to speak of; a suppressed
            // single-group value gets one comment, in its period
            if o.group.is_none() && (v.baseline.is_none() || o.suppressed) {
                continue;
            }
            let Some(value) = o.measured.and_then(scaled) else {
                let _ = writeln!(out, "        {}", xml::comment(&described("baseline", &o)));
                continue;
            };
            let _ = writeln!(
                out,
                "        <baseline year=\"{}\" iso-date=\"{start}\" value=\"{value}\">",
                start.inner().year(),
            );
            // baseline: location, dimension, document-link, comment
            dimensions(out, "          ", &o);
            out.push_str("        </baseline>\n");
        }
    }
    let mut periods: BTreeMap<(String, String), Vec<&IndicatorValue>> = BTreeMap::new();
    for v in values {
        let period = v.period.as_ref().unwrap_or(&e.content.period);
        let end = period
            .end
            .or(e.content.period.end)
            .map(|d| d.to_string())
            .unwrap_or_else(|| today.to_owned());
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
            xml::attr(&start)
        );
        let _ = writeln!(
            out,
            "          <period-end iso-date=\"{}\"/>",
            xml::attr(&end)
        );
        // target, then actual: location, dimension, comment, document-link
        for v in &vs {
            let Some(target) = v.target.and_then(scaled) else {
                continue;
            };
            let _ = writeln!(out, "          <target value=\"{target}\">");
            for (name, value) in &v.disaggregation {
                let _ = writeln!(
                    out,
                    "            <dimension name=\"{}\" value=\"{}\"/>",
                    xml::attr(name),
                    xml::attr(value)
                );
            }
            out.push_str("          </target>\n");
        }
        for v in &vs {
            for o in observations(v, true) {
                if o.group.is_none() && v.actual.is_none() && !o.suppressed {
                    continue;
                }
                let Some(value) = o.measured.and_then(scaled) else {
                    let what = if o.group.is_none() {
                        "value (baseline and actual)"
                    } else {
                        "actual"
                    };
                    let _ = writeln!(out, "          {}", xml::comment(&described(what, &o)));
                    continue;
                };
                let _ = writeln!(out, "          <actual value=\"{value}\">");
                dimensions(out, "            ", &o);
                out.push_str("          </actual>\n");
            }
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
    fn the_placeholder_reference_names_country_and_host() {
        assert_eq!(
            placeholder_ref("RO", "https://ngo.example.org:8443"),
            "RO-PUNTE-ngo-example-org-8443"
        );
    }

    #[test]
    fn the_latest_time_wins_whatever_its_precision() {
        assert_eq!(
            latest(["2025-01-01T00:00:00Z", "2025-01-01T00:00:00.5Z", "nonsense"]).as_deref(),
            Some("2025-01-01T00:00:00.500Z")
        );
        assert_eq!(latest(["bad"]), None);
    }
}
