//! The per-group part of an evaluation form row: the inputs of the intervention and comparison
//! groups before and after (`g{cell}{field}_{row}`, e.g. `gcfsd_0`) and the correlation
//! (`gr_{row}`), read into a value's `groups`, filled back from a stored value, and the inputs
//! the model's `groups.…` error paths point to. The cells are listed once, in [`CELLS`], for the
//! form and for the page that shows them ([`cells_of`]).

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

use punte_model::evaluation::{Cell, Groups};

use super::Ctx;
use super::form::{self, FormErrors};

/// The cells of a value's groups: the input code (intervention `i` / comparison `c`, baseline
/// `b` / follow-up `f`), then the group and time point as the JSON names them.
pub const CELLS: [(&str, &str, &str); 4] = [
    ("ib", "intervention", "baseline"),
    ("if", "intervention", "followUp"),
    ("cb", "comparison", "baseline"),
    ("cf", "comparison", "followUp"),
];
/// The inputs of one cell and whether each takes a whole number.
const FIELDS: [(&str, bool); 5] = [
    ("n", true),
    ("events", true),
    ("mean", false),
    ("sd", false),
    ("se", false),
];

/// The cells of `groups` in the order of [`CELLS`], with their input codes.
pub fn cells_of(groups: &Groups) -> [(&'static str, Option<&Cell>); 4] {
    let comparison = groups.comparison.as_ref();
    [
        ("ib", groups.intervention.baseline.as_ref()),
        ("if", groups.intervention.follow_up.as_ref()),
        ("cb", comparison.and_then(|c| c.baseline.as_ref())),
        ("cf", comparison.and_then(|c| c.follow_up.as_ref())),
    ]
}

/// Every group input of a row, `g{cell}{field}` plus the correlation `gr`.
pub fn inputs() -> impl Iterator<Item = String> {
    CELLS
        .iter()
        .flat_map(|(cell, _, _)| FIELDS.iter().map(move |(f, _)| format!("g{cell}{f}")))
        .chain(std::iter::once("gr".to_owned()))
}

/// The `groups` of row `i` from its inputs; `None` when none is filled.
pub fn to_json<'r>(
    ctx: &Ctx,
    i: usize,
    get: &impl Fn(&str) -> &'r str,
    errors: &mut FormErrors,
) -> Option<Json> {
    let mut groups = Map::new();
    for (cell, group, time) in CELLS {
        let mut c = Map::new();
        for (f, whole) in FIELDS {
            let input = format!("g{cell}{f}");
            let text = get(&input);
            let parsed = if whole {
                form::whole(text).map(|r| r.map(|x| json!(x)))
            } else {
                form::number(text).map(|r| r.map(|x| json!(x)))
            };
            match parsed {
                Some(Ok(x)) => {
                    c.insert(f.into(), x);
                }
                Some(Err(())) => {
                    let key = if whole {
                        "err_whole_number"
                    } else {
                        "err_number"
                    };
                    errors.local(ctx, &format!("{input}_{i}"), key);
                }
                None => {}
            }
        }
        if c.is_empty() {
            continue;
        }
        let entry = groups
            .entry(group.to_owned())
            .or_insert_with(|| Json::Object(Map::new()));
        if let Json::Object(g) = entry {
            g.insert(time.into(), Json::Object(c));
        }
    }
    match form::number(get("gr")) {
        Some(Ok(r)) => {
            groups.insert("correlation".into(), json!(r));
        }
        Some(Err(())) => errors.local(ctx, &format!("gr_{i}"), "err_number"),
        None => {}
    }
    if groups.is_empty() {
        return None;
    }
    // the model names the missing intervention group itself
    groups
        .entry("intervention".to_owned())
        .or_insert_with(|| Json::Object(Map::new()));
    Some(Json::Object(groups))
}

/// The input of a `groups.…` error path (what follows `values[i]`), e.g.
/// `.groups.comparison.followUp.sd` → `gcfsd`; `None` for other paths.
pub fn input_for(after: &str) -> Option<String> {
    let mut parts = after.trim_start_matches('.').split('.');
    if parts.next() != Some("groups") {
        return None;
    }
    let group = parts.next()?;
    if group == "correlation" {
        return Some("gr".into());
    }
    let time = parts.next();
    let (cell, _, _) = CELLS
        .iter()
        .find(|(_, g, t)| *g == group && time.is_none_or(|time| time == *t))?;
    let field = match parts.next() {
        Some(f @ ("n" | "events" | "mean" | "sd" | "se")) => f,
        // the interval is not an input: its error sits at the mean it contains
        Some("ci") => "mean",
        _ => "n",
    };
    Some(format!("g{cell}{field}"))
}

/// Fills a row's group inputs from a stored value's groups.
pub fn fill(
    row: &mut BTreeMap<String, String>,
    groups: &Groups,
    number_text: fn(Option<f64>) -> String,
) {
    for (code, cell) in cells_of(groups) {
        let Some(cell) = cell else { continue };
        let whole = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
        row.insert(format!("g{code}n"), whole(cell.n));
        row.insert(format!("g{code}events"), whole(cell.events));
        row.insert(format!("g{code}mean"), number_text(cell.mean));
        row.insert(format!("g{code}sd"), number_text(cell.sd));
        row.insert(format!("g{code}se"), number_text(cell.se));
    }
    row.insert("gr".into(), number_text(groups.correlation));
}

/// Puts back into an edited value's JSON the interval each cell had: the form shows none.
pub fn keep_cell_intervals(before: &Map<String, Json>, after: &mut Map<String, Json>) {
    for (_, group, time) in CELLS {
        let ci = before
            .get("groups")
            .and_then(|g| g.get(group))
            .and_then(|g| g.get(time))
            .and_then(|c| c.get("ci"));
        if let (Some(ci), Some(Json::Object(cell))) = (
            ci,
            after
                .get_mut("groups")
                .and_then(|g| g.get_mut(group))
                .and_then(|g| g.get_mut(time)),
        ) {
            cell.entry("ci".to_owned()).or_insert_with(|| ci.clone());
        }
    }
}
