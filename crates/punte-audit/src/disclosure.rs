//! Whether a node obeyed the disclosure rule (`docs/protocol.md`, "Disclosure control"): every
//! evaluation version in the audited entries is run through the rule again, with the versions
//! before it in the same entries as its history; a value it shows that the rule would hide is
//! an error finding naming the evaluation, the version and the value.
//!
//! What a node published is all an auditor has, so the check is of what a reader can see:
//! a visible cell below k, a breakdown or linked indicator that gives a hidden cell back, two
//! versions that differ by a small group, a hidden cell shown again. The sizes of hidden cells
//! are unknown to the auditor, so the bound of several breakdowns together (rule 7) cannot be
//! re-checked. An incremental audit sees only the versions in its entries.

use std::collections::BTreeMap;

use punte_model::disclosure::{Published, Reason, disclose};
use punte_model::evaluation::{Evaluation, IndicatorValue};
use punte_model::indicator::{IndicatorRef, Measure};
use punte_protocol::objects::{PunteObject, parse_object};

use super::{FetchedEntry, FindingSeverity, ReportFinding};

/// The findings for `entries` of the node at `base_url`, with threshold `k`.
pub(super) fn findings(base_url: &str, entries: &[FetchedEntry], k: u64) -> Vec<ReportFinding> {
    let mut measures: BTreeMap<IndicatorRef, Measure> = BTreeMap::new();
    let mut evaluations: Vec<(u64, Evaluation)> = Vec::new();
    for e in entries {
        let Some(object) = e
            .activity
            .as_deref()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
            .filter(|a| {
                matches!(
                    a.get("type").and_then(|t| t.as_str()),
                    Some("Create" | "Update")
                )
            })
            .and_then(|mut a| a.get_mut("object").map(serde_json::Value::take))
        else {
            continue;
        };
        match parse_object(&object, base_url) {
            Ok(PunteObject::IndicatorDefinition(d)) => {
                measures.insert(
                    IndicatorRef {
                        code: d.code.clone(),
                        version: d.version,
                    },
                    d.measure,
                );
            }
            Ok(PunteObject::Evaluation(ev)) => evaluations.push((e.index, ev)),
            _ => {}
        }
    }
    let mut history: BTreeMap<String, Vec<Evaluation>> = BTreeMap::new();
    let mut out = Vec::new();
    for (index, ev) in evaluations {
        let earlier = history.entry(ev.id.clone()).or_default();
        let published: Vec<Published<'_>> = earlier.iter().map(Published::of).collect();
        let values = &ev.content.values;
        let checked = disclose(values, k, Some(&ev.content.period), &published, |r| {
            measures.get(r).copied()
        });
        for (i, (value, reason)) in values.iter().zip(&checked.reasons).enumerate() {
            if value.suppressed.is_some() {
                continue;
            }
            let Some(reason) = reason else { continue };
            out.push(finding(index, &ev, i, value, reason, k));
        }
        earlier.push(ev);
    }
    out
}

fn finding(
    index: u64,
    ev: &Evaluation,
    i: usize,
    value: &IndicatorValue,
    reason: &Reason,
    k: u64,
) -> ReportFinding {
    let what = match reason {
        Reason::BelowThreshold { .. } => "it describes fewer than k people".to_owned(),
        Reason::Recoverable { .. } => {
            "the visible cells of its breakdown give a hidden group of fewer than k back".to_owned()
        }
        Reason::Linked { with } => {
            format!("the same people are hidden in value {with} (another indicator)")
        }
        Reason::Bounded { .. } => "it bounds a hidden cell below k".to_owned(),
        Reason::HiddenBefore { version } => format!("version {version} published it hidden"),
        Reason::Differencing { version, .. } => {
            format!("it differs from version {version} by fewer than k people")
        }
    };
    ReportFinding {
        severity: FindingSeverity::Error,
        kind: "disclosure_violation".to_owned(),
        index: Some(index),
        message: format!(
            "evaluation {} version {} publishes value {i} ({}{}) although {what} (k = {k})",
            ev.id,
            ev.version,
            value.indicator,
            if value.disaggregation.is_empty() {
                String::new()
            } else {
                format!(" {:?}", value.disaggregation)
            },
        ),
        detail: serde_json::json!({
            "evaluation": ev.id,
            "version": ev.version,
            "value": i,
            "indicator": value.indicator.to_string(),
            "disaggregation": value.disaggregation,
            "reason": reason,
        }),
    }
}
