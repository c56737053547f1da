//! Published datasets the analysis tests share, read from `tests/vectors/` (sources in its
//! README) so that every test uses the same numbers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

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
