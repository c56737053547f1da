//! Published datasets the analysis tests share, read from `tests/vectors/` (sources in its
//! README) so that every test uses the same numbers, and the helpers that compare with them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::SourceRef;
use super::pool::EffectSize;
use crate::common::CountryCode;

pub(super) fn close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: got {actual}, expected {expected} ± {tolerance}"
    );
}

/// Matches a published figure printed with `decimals` decimals: within half a unit of its last
/// digit.
pub(super) fn printed(actual: f64, published: f64, decimals: i32, what: &str) {
    let half = 0.5 * 10f64.powi(-decimals) * (1.0 + 1e-9) + 1e-12;
    assert!(
        (actual - published).abs() <= half,
        "{what}: got {actual}, published {published} (to {decimals} decimals)"
    );
}

/// Effects from `(estimate, variance)` pairs.
pub(super) fn sizes(pairs: &[(f64, f64)]) -> Vec<EffectSize> {
    pairs
        .iter()
        .map(|&(estimate, variance)| EffectSize { estimate, variance })
        .collect()
}

/// The source of a row: entry `index` of `https://{origin}.example`'s log.
pub(super) fn source(origin: &str, index: u64) -> SourceRef {
    SourceRef {
        origin: format!("https://{origin}.example"),
        log_index: index,
        activity_id: format!("https://{origin}.example/activities/{index}"),
    }
}

pub(super) fn country(code: &str) -> CountryCode {
    CountryCode::parse(code).unwrap()
}

/// One trial of `dat.bcg` (Colditz et al. 1994): TB cases and non-cases, vaccinated (`tpos`,
/// `tneg`) and control (`cpos`, `cneg`).
#[derive(Debug, Clone, Copy)]
pub(super) struct BcgTrial {
    pub trial: &'static str,
    pub tpos: u64,
    pub tneg: u64,
    pub cpos: u64,
    pub cneg: u64,
}

/// The 13 trials of `dat.bcg`, in metafor's order.
pub(super) fn bcg() -> Vec<BcgTrial> {
    include_str!("../../tests/vectors/dat.bcg.csv")
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let f: Vec<&'static str> = line.split(',').collect();
            let n = |i: usize| f[i].parse::<u64>().unwrap();
            BcgTrial {
                trial: f[0],
                tpos: n(1),
                tneg: n(2),
                cpos: n(3),
                cneg: n(4),
            }
        })
        .collect()
}
