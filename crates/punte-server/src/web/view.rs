//! What the templates show: practices and evaluations in the reader's language (each text
//! with the language it is really in), and the field-by-field difference of two versions.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;

use punte_model::preregistration::{Adherence, Deviation};
use punte_model::{Adaptation, Evaluation, IndicatorDefinition, LangMap, LanguageTag, Practice};

use super::i18n::{self, UiLang};

/// A text in the language it is shown in.
#[derive(Debug, Clone, Serialize)]
pub struct TextView {
    pub text: String,
    /// The language of `text` (for the `lang` attribute).
    pub lang: String,
    /// Whether `text` is in the original language of its document.
    pub original: bool,
}

/// The text in `want`, else in `fallback`, else the first one there is.
pub fn pick(map: &LangMap, want: Option<&LanguageTag>, fallback: Option<&LanguageTag>) -> TextView {
    let (lang, text) = match (want, fallback) {
        (Some(w), Some(f)) => map.best(w, f),
        (Some(w), None) => map.best(w, w),
        (None, Some(f)) => map.best(f, f),
        (None, None) => match map.iter().next() {
            Some(first) => first,
            None => {
                return TextView {
                    text: String::new(),
                    lang: String::new(),
                    original: true,
                };
            }
        },
    };
    TextView {
        text: text.to_string(),
        lang: lang.to_string(),
        original: fallback.is_some_and(|f| f == lang),
    }
}

/// A practice as the practice page and the lists show it.
#[derive(Debug, Serialize)]
pub struct PracticeView {
    pub id: String,
    pub version: u32,
    pub href: String,
    pub title: TextView,
    pub summary: TextView,
    pub problem: TextView,
    pub solution: TextView,
    /// Optional texts, in display order: `(field name, text)`.
    pub more: Vec<(String, TextView)>,
    pub core_components: Vec<TextView>,
    pub adaptable_components: Vec<TextView>,
    pub themes: Vec<String>,
    pub sdg_targets: Vec<String>,
    pub country: String,
    pub region: Option<String>,
    pub period: Option<String>,
    pub maturity: String,
    pub licence: String,
    pub original_language: String,
    /// Every language with text, and how its translation was made (`None` = original).
    pub languages: Vec<(String, Option<String>)>,
    pub resources: Vec<(String, String)>,
    pub resources_notes: Option<TextView>,
    pub created_at: String,
    pub updated_at: String,
}

pub fn practice(p: &Practice, want: Option<&LanguageTag>) -> PracticeView {
    let c = &p.content;
    let original = Some(&c.original_language);
    let t = |m: &LangMap| pick(m, want, original);
    let mut more = Vec::new();
    for (name, map) in [
        ("targetGroup", &c.target_group),
        ("evidence", &c.evidence),
        ("difficulties", &c.difficulties),
        ("transferability", &c.transferability),
    ] {
        if let Some(m) = map {
            more.push((name.to_string(), t(m)));
        }
    }
    let mut resources = Vec::new();
    let mut resources_notes = None;
    if let Some(r) = &c.resources {
        if let Some(fte) = r.staff_fte {
            resources.push(("staffFte".into(), fte.to_string()));
        }
        if let Some(b) = &r.budget {
            resources.push(("budget".into(), format!("{} {}", b.amount, b.currency)));
        }
        if let Some(m) = r.duration_months {
            resources.push(("durationMonths".into(), m.to_string()));
        }
        resources_notes = r.notes.as_ref().map(t);
    }
    let languages = c
        .title
        .languages()
        .map(|l| {
            let method = if *l == c.original_language {
                None
            } else {
                Some(
                    c.translations
                        .get(l)
                        .map(|p| {
                            serde_json::to_value(p.method)
                                .ok()
                                .and_then(|v| v.as_str().map(String::from))
                                .unwrap_or_default()
                        })
                        .unwrap_or_else(|| "unknown".into()),
                )
            };
            (l.to_string(), method)
        })
        .collect();
    PracticeView {
        id: p.id.clone(),
        version: p.version,
        href: format!("/practices/{}", p.id),
        title: t(&c.title),
        summary: t(&c.summary),
        problem: t(&c.problem),
        solution: t(&c.solution),
        more,
        core_components: c.core_components.iter().map(t).collect(),
        adaptable_components: c.adaptable_components.iter().map(t).collect(),
        themes: c.themes.iter().map(|x| x.to_string()).collect(),
        sdg_targets: c.sdg_targets.iter().map(|x| x.to_string()).collect(),
        country: c.country.to_string(),
        region: c.region.as_ref().map(|r| r.to_string()),
        period: c.period.as_ref().map(period),
        maturity: c.maturity.as_str().to_string(),
        licence: c.licence.to_string(),
        original_language: c.original_language.to_string(),
        languages,
        resources,
        resources_notes,
        created_at: date_time(&p.created_at),
        updated_at: date_time(&p.updated_at),
    }
}

fn period(p: &punte_model::common::Period) -> String {
    match &p.end {
        Some(end) => format!("{} – {end}", p.start),
        None => format!("{} –", p.start),
    }
}

/// `2025-01-02T10:11:12.123Z` shown as `2025-01-02 10:11 UTC`.
pub fn date_time(stamp: &str) -> String {
    match (stamp.get(..10), stamp.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => stamp.to_string(),
    }
}

/// An evaluation with its values, for the practice page.
#[derive(Debug, Serialize)]
pub struct EvaluationView {
    pub id: String,
    pub title: Option<TextView>,
    pub evaluator: String,
    pub evaluator_role: String,
    pub method: String,
    pub evidence_level: u8,
    pub period: String,
    pub stage: String,
    pub practice_version: Option<u32>,
    pub values: Vec<ValueView>,
    pub dac: Vec<(String, u8)>,
    /// The plan the results name and whether they followed it (see [`plan`]).
    pub plan: Option<PlanView>,
}

/// Results' adherence to their registered plan.
#[derive(Debug, Serialize)]
pub struct PlanView {
    /// The plan's id (an evaluation on the same page).
    pub id: String,
    pub followed: bool,
    pub deviations: Vec<DeviationView>,
}

/// One deviation from the plan: `kind` names the message (`deviation_{kind}`); the other
/// fields are its details, empty when they do not apply.
#[derive(Debug, Serialize)]
pub struct DeviationView {
    pub kind: &'static str,
    pub planned: String,
    pub reported: String,
}

/// The plan view of results `e` with their adherence (none when they name no plan).
pub fn plan(e: &Evaluation, adherence: Option<&Adherence>) -> Option<PlanView> {
    let id = e.content.plan.clone()?;
    let adherence = adherence?;
    Some(PlanView {
        id,
        followed: adherence.followed,
        deviations: adherence
            .deviations
            .iter()
            .map(|d| {
                let (planned, reported) = match d {
                    Deviation::MethodChanged { planned, reported } => {
                        (enum_str(planned), enum_str(reported))
                    }
                    Deviation::EvidenceLevelLowered { planned, reported } => {
                        (planned.get().to_string(), reported.get().to_string())
                    }
                    Deviation::OutcomeDropped { indicator } => {
                        (indicator.to_string(), String::new())
                    }
                    Deviation::OutcomeAdded { indicator } => (String::new(), indicator.to_string()),
                    Deviation::PeriodOutsidePlan { planned, reported } => {
                        (period(planned), period(reported))
                    }
                    Deviation::PlanChangedAfterResults {
                        plan_entry,
                        results_first_entry,
                    } => (plan_entry.to_string(), results_first_entry.to_string()),
                    _ => (String::new(), String::new()),
                };
                DeviationView {
                    kind: d.kind(),
                    planned,
                    reported,
                }
            })
            .collect(),
    })
}

/// Why a value is published blank, for the message catalogue's `disclosure_why_{rule}` with
/// its `{size}`, `{version}` and `{people}` filled in.
#[derive(Debug, Serialize)]
pub struct WhyView {
    pub rule: &'static str,
    pub size: String,
    pub version: String,
    pub people: String,
}

impl WhyView {
    pub fn of(reason: &punte_model::disclosure::Reason) -> Self {
        use punte_model::disclosure::Reason;
        let count = |x: f64| format!("{}", x.round());
        let (rule, size, version, people) = match reason {
            Reason::BelowThreshold { size } => ("belowThreshold", count(*size), 0, String::new()),
            Reason::Recoverable { group, .. } => ("recoverable", count(*group), 0, String::new()),
            Reason::Linked { .. } => ("linked", String::new(), 0, String::new()),
            Reason::Bounded { .. } => ("bounded", String::new(), 0, String::new()),
            Reason::HiddenBefore { version } => {
                ("hiddenBefore", String::new(), *version, String::new())
            }
            Reason::Differencing { version, people } => {
                ("differencing", String::new(), *version, count(*people))
            }
        };
        WhyView {
            rule,
            size,
            version: version.to_string(),
            people,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ValueView {
    pub indicator: String,
    pub label: Option<TextView>,
    pub unit: String,
    pub group: String,
    pub baseline: String,
    pub target: String,
    pub actual: String,
    pub n: String,
    pub ci: String,
    /// Set by disclosure control (`primary`, `secondary`): on pages for the public the
    /// observed numbers are blank; for signed-in people they are shown and marked.
    pub suppressed: Option<String>,
    /// Why disclosure control hides it (signed-in pages only; set by the caller).
    pub why: Option<WhyView>,
    /// The cells of a value recorded per group and time point (empty for a single-group value).
    pub groups: Vec<CellView>,
    /// The baseline–follow-up correlation the evaluator gave.
    pub correlation: String,
}

/// One group at one time point, for the page: `cell` is `ib`, `if`, `cb` or `cf`
/// (intervention/comparison, baseline/follow-up), labelled from the catalogue.
#[derive(Debug, Serialize)]
pub struct CellView {
    pub cell: &'static str,
    pub n: String,
    pub events: String,
    pub mean: String,
    pub sd: String,
    pub se: String,
    pub suppressed: Option<String>,
}

fn cell_views(groups: &punte_model::evaluation::Groups) -> Vec<CellView> {
    super::evaluation_groups::cells_of(groups)
        .into_iter()
        .filter_map(|(cell, c)| {
            let c = c?;
            let whole = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
            Some(CellView {
                cell,
                n: whole(c.n),
                events: whole(c.events),
                mean: num(c.mean),
                sd: num(c.sd),
                se: num(c.se),
                suppressed: c.suppressed.as_ref().map(enum_str),
            })
        })
        .collect()
}

fn enum_str<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn num(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

pub fn evaluation(
    e: &Evaluation,
    definitions: &BTreeMap<String, IndicatorDefinition>,
    want: Option<&LanguageTag>,
) -> EvaluationView {
    let c = &e.content;
    EvaluationView {
        id: e.id.clone(),
        title: c.title.as_ref().map(|m| pick(m, want, None)),
        evaluator: match &c.evaluator.organisation {
            Some(org) => format!("{} ({org})", c.evaluator.name),
            None => c.evaluator.name.clone(),
        },
        evaluator_role: enum_str(&c.evaluator.role),
        method: enum_str(&c.method),
        evidence_level: c.evidence_level.get(),
        period: period(&c.period),
        stage: enum_str(&c.stage),
        plan: None,
        practice_version: c.subject.practice_version,
        values: c
            .values
            .iter()
            .map(|v| {
                let reference = v.indicator.to_string();
                let definition = definitions.get(&reference);
                ValueView {
                    label: definition.map(|d| pick(&d.label, want, None)),
                    unit: definition.map(|d| d.unit.clone()).unwrap_or_default(),
                    indicator: reference,
                    group: v
                        .disaggregation
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    baseline: num(v.baseline),
                    target: num(v.target),
                    actual: num(v.actual),
                    n: v.n.map(|n| n.to_string()).unwrap_or_default(),
                    ci: v
                        .ci
                        .as_ref()
                        .map(|ci| format!("{} – {} ({}%)", ci.lower, ci.upper, ci.level * 100.0))
                        .unwrap_or_default(),
                    suppressed: v.suppressed.as_ref().map(enum_str),
                    why: None,
                    groups: v.groups.as_ref().map(cell_views).unwrap_or_default(),
                    correlation: num(v.groups.as_ref().and_then(|g| g.correlation)),
                }
            })
            .collect(),
        dac: c
            .dac
            .as_ref()
            .map(|d| d.iter().map(|(k, j)| (k.to_string(), j.rating)).collect())
            .unwrap_or_default(),
    }
}

/// An adaptation of a practice, for the practice page.
#[derive(Debug, Serialize)]
pub struct AdaptationView {
    pub id: String,
    pub version: u32,
    pub title: Option<TextView>,
    pub context: TextView,
    pub country: String,
    pub state: String,
    pub scaling: String,
    /// The version of the practice adapted.
    pub origin_version: u32,
    /// The core components kept, by their text in the practice (or their position).
    pub kept: Vec<TextView>,
    pub core_count: usize,
    pub fidelity_notes: Option<TextView>,
    pub modifications: Vec<ModificationView>,
    pub updated_at: String,
}

/// One FRAME modification.
#[derive(Debug, Serialize)]
pub struct ModificationView {
    pub what: TextView,
    pub nature: String,
    pub when: String,
    pub planned: bool,
    pub decided_by: Option<String>,
    pub reason_category: String,
    pub reason: TextView,
    pub fidelity_consistent: bool,
}

/// `core` are the core components of the practice adapted, to name the ones kept.
/// How an adaptation is named: its title, else the start of its context.
pub fn adaptation_title(a: &Adaptation, want: Option<&LanguageTag>) -> TextView {
    match &a.content.title {
        Some(t) => pick(t, want, None),
        None => {
            let mut context = pick(&a.content.context, want, None);
            if context.text.chars().count() > 80 {
                context.text = context.text.chars().take(79).collect::<String>() + "…";
            }
            context
        }
    }
}

pub fn adaptation(a: &Adaptation, core: &[LangMap], want: Option<&LanguageTag>) -> AdaptationView {
    let c = &a.content;
    AdaptationView {
        id: a.id.clone(),
        version: a.version,
        title: c.title.as_ref().map(|m| pick(m, want, None)),
        context: pick(&c.context, want, None),
        country: c.country.to_string(),
        state: enum_str(&c.state),
        scaling: enum_str(&c.scaling),
        origin_version: c.origin.version,
        kept: c
            .fidelity
            .core_components_kept
            .iter()
            .map(|i| {
                let found = usize::try_from(*i).ok().and_then(|i| core.get(i));
                match found {
                    Some(m) => pick(m, want, None),
                    None => TextView {
                        text: format!("#{}", u64::from(*i) + 1),
                        lang: String::new(),
                        original: true,
                    },
                }
            })
            .collect(),
        core_count: core.len(),
        fidelity_notes: c.fidelity.notes.as_ref().map(|m| pick(m, want, None)),
        modifications: c
            .modifications
            .iter()
            .map(|m| ModificationView {
                what: pick(&m.what, want, None),
                nature: enum_str(&m.nature),
                when: enum_str(&m.when),
                planned: m.planned,
                decided_by: m.decided_by.clone(),
                reason_category: enum_str(&m.reason_category),
                reason: pick(&m.reason, want, None),
                fidelity_consistent: m.fidelity_consistent,
            })
            .collect(),
        updated_at: date_time(&a.updated_at),
    }
}

/// One changed field between two versions.
#[derive(Debug, Serialize)]
pub struct DiffRow {
    pub label: String,
    /// The language of a text field's value.
    pub lang: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
}

/// Fields whose values are language maps (their last path segment is a language).
const TEXT_FIELDS: &[&str] = &[
    "title",
    "summary",
    "problem",
    "solution",
    "targetGroup",
    "evidence",
    "difficulties",
    "transferability",
    "coreComponents",
    "adaptableComponents",
    "resources.notes",
];

/// Field-by-field difference of two documents' JSON, in the order of the newer one's fields.
pub fn diff(before: &Json, after: &Json, lang: UiLang) -> Vec<DiffRow> {
    let mut old = Vec::new();
    flatten("", before, &mut old);
    let mut new = Vec::new();
    flatten("", after, &mut new);
    let old_map: BTreeMap<&str, &str> = old.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let new_map: BTreeMap<&str, &str> = new.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut paths: Vec<&str> = new.iter().map(|(k, _)| k.as_str()).collect();
    for (k, _) in &old {
        if !new_map.contains_key(k.as_str()) {
            paths.push(k);
        }
    }
    let mut rows = Vec::new();
    for path in paths {
        let (b, a) = (old_map.get(path), new_map.get(path));
        if b == a {
            continue;
        }
        let change = match (b, a) {
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            _ => "changed",
        };
        let (label, text_lang) = label_of(path, lang);
        rows.push(DiffRow {
            label,
            lang: text_lang,
            before: b.map(|s| s.to_string()),
            after: a.map(|s| s.to_string()),
            change,
        });
    }
    rows
}

fn flatten(prefix: &str, value: &Json, out: &mut Vec<(String, String)>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Json::Object(map) => {
            for (k, v) in map {
                flatten(&join(k), v, out);
            }
        }
        Json::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            let joined: Vec<String> = items.iter().map(scalar).collect();
            out.push((prefix.to_string(), joined.join(", ")));
        }
        Json::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        other => out.push((prefix.to_string(), scalar(other))),
    }
}

fn scalar(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// A readable label for a path (`resources.staffFte` -> "Resources › Staff (FTE)") and, for
/// text fields, the language of the value.
fn label_of(path: &str, lang: UiLang) -> (String, Option<String>) {
    let is_text = TEXT_FIELDS.iter().any(|f| {
        path.strip_prefix(f)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    });
    let (field_path, text_lang) = match (is_text, path.rsplit_once('.')) {
        (true, Some((head, last))) => (head, Some(last.to_string())),
        _ => (path, None),
    };
    let mut parts = Vec::new();
    for segment in field_path.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let key = format!("field_{name}");
        let text = i18n::text(lang, &key);
        parts.push(if text == key { name.to_string() } else { text });
        if let Some(i) = index {
            parts.push(format!("#{}", i + 1));
        }
    }
    (parts.join(" › "), text_lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_each_changed_field_with_its_language() {
        let before = serde_json::json!({"title": {"ro": "A", "en": "B"}, "themes": ["x"], "maturity": "good"});
        let after = serde_json::json!({"title": {"ro": "A2", "en": "B"}, "themes": ["x", "y"], "region": "RO32"});
        let rows = diff(&before, &after, UiLang::En);
        let summary: Vec<(String, Option<String>, &str)> = rows
            .iter()
            .map(|r| (r.label.clone(), r.lang.clone(), r.change))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("Title".to_string(), Some("ro".to_string()), "changed"),
                ("Themes".to_string(), None, "changed"),
                ("Region".to_string(), None, "added"),
                ("Maturity".to_string(), None, "removed"),
            ]
        );
    }
}
