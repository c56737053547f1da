//! What a reader can bound a hidden count to, from everything published beside it.
//!
//! Each value has three counts: people `n`, people with the outcome `e` and without it `w`,
//! with `n = e + w` when the value has an outcome. A visible value fixes them; a hidden one
//! is only known to lie in `[0, ∞)`. The reader then tightens those intervals with what the
//! published values imply, to a fixed point (interval constraint propagation):
//!
//! - the values of one population (same period and categories) have the same people under
//!   every indicator;
//! - in each breakdown the cells add up to at most their margin, for `n`, `e` and `w` alike
//!   ("at most": a category may not have been recorded), so a margin is at least the sum of
//!   its cells' lower bounds and a cell at most its margin's upper bound minus the other cells'
//!   lower bounds.
//!
//! A hidden value whose true count is above zero and below `k` must keep an upper bound of at
//! least `k`; [`Bounds::violation`] finds one that does not. Propagation is a relaxation of the
//! integer program the attacker in the tests solves (`attack.rs`), which checks it.

/// The three counts of a value: people, with the outcome, without it.
pub(super) const PEOPLE: usize = 0;
pub(super) const KINDS: usize = 3;

/// The structure the bounds are computed over, built once per evaluation.
pub(super) struct Structure {
    /// Per value: its true counts (`None` where it has none) as recorded.
    pub truth: Vec<[Option<f64>; KINDS]>,
    /// The values describing the same people, one list per population.
    pub same_people: Vec<Vec<usize>>,
    /// Breakdowns: cells and their margin.
    pub breakdowns: Vec<(Vec<usize>, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Interval {
    lo: f64,
    hi: f64,
}

const UNKNOWN: Interval = Interval {
    lo: 0.0,
    hi: f64::INFINITY,
};

/// A hidden count the reader bounds below `k`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Violation {
    pub value: usize,
    pub kind: usize,
    pub bound: f64,
}

pub(super) struct Bounds {
    intervals: Vec<[Interval; KINDS]>,
}

/// The most passes of propagation; each pass that changes nothing ends it earlier.
const MAX_PASSES: usize = 200;

impl Structure {
    /// The intervals a reader gets when the values `hidden` says are blank; the people of a
    /// `known_people` value count as visible even when it is hidden (a reader can guess them
    /// from an earlier version that showed them unchanged).
    pub fn bounds(&self, hidden: &[bool], known_people: &[bool]) -> Bounds {
        self.bounds_within(hidden, known_people, &vec![true; self.truth.len()])
    }

    /// [`Structure::bounds`] for the values `scope` marks only (one period: periods do not
    /// constrain each other); the others keep `[0, ∞)`.
    pub fn bounds_within(&self, hidden: &[bool], known_people: &[bool], scope: &[bool]) -> Bounds {
        let inside = |i: usize| scope.get(i).copied().unwrap_or(false);
        let shown = |i: usize, kind: usize| {
            !hidden.get(i).copied().unwrap_or(true)
                || (kind == PEOPLE && known_people.get(i).copied().unwrap_or(false))
        };
        let mut intervals: Vec<[Interval; KINDS]> = self
            .truth
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut v = [UNKNOWN; KINDS];
                for (kind, x) in t.iter().enumerate() {
                    if let (Some(x), true, Some(slot)) = (x, shown(i, kind), v.get_mut(kind)) {
                        *slot = Interval { lo: *x, hi: *x };
                    }
                }
                v
            })
            .collect();
        for _ in 0..MAX_PASSES {
            let before = intervals.clone();
            for group in &self.same_people {
                if !group.first().is_some_and(|&j| inside(j)) {
                    continue;
                }
                let joint = group.iter().fold(UNKNOWN, |acc, &j| {
                    let x = intervals.get(j).map_or(UNKNOWN, |v| v[PEOPLE]);
                    Interval {
                        lo: acc.lo.max(x.lo),
                        hi: acc.hi.min(x.hi),
                    }
                });
                for &j in group {
                    if let Some(v) = intervals.get_mut(j) {
                        v[PEOPLE] = joint;
                    }
                }
            }
            for (i, v) in intervals.iter_mut().enumerate() {
                if !inside(i) {
                    continue;
                }
                let has_outcome = self.truth.get(i).is_some_and(|t| t[1].is_some());
                if !has_outcome {
                    continue;
                }
                let [n, e, w] = *v;
                v[0] = tighten(n, e.lo + w.lo, e.hi + w.hi);
                v[1] = tighten(e, n.lo - w.hi, n.hi - w.lo);
                v[2] = tighten(w, n.lo - e.hi, n.hi - e.lo);
            }
            for (cells, margin) in &self.breakdowns {
                if !inside(*margin) {
                    continue;
                }
                for kind in 0..KINDS {
                    let get = |iv: &Vec<[Interval; KINDS]>, i: usize| {
                        iv.get(i).map_or(UNKNOWN, |v| at(v, kind))
                    };
                    let sum_lo: f64 = cells.iter().map(|&c| get(&intervals, c).lo).sum();
                    let m = get(&intervals, *margin);
                    if let Some(v) = intervals.get_mut(*margin) {
                        set(v, kind, tighten(m, sum_lo, f64::INFINITY));
                    }
                    let m = get(&intervals, *margin);
                    for &c in cells {
                        let x = get(&intervals, c);
                        let others = sum_lo - x.lo;
                        if let Some(v) = intervals.get_mut(c) {
                            set(v, kind, tighten(x, 0.0, m.hi - others));
                        }
                    }
                }
            }
            if intervals == before {
                break;
            }
        }
        Bounds { intervals }
    }
}

fn at(v: &[Interval; KINDS], kind: usize) -> Interval {
    v.get(kind).copied().unwrap_or(UNKNOWN)
}

fn set(v: &mut [Interval; KINDS], kind: usize, x: Interval) {
    if let Some(slot) = v.get_mut(kind) {
        *slot = x;
    }
}

/// `x` intersected with `[lo, hi]`, never below zero; an empty intersection (inconsistent
/// input) keeps `x`.
fn tighten(x: Interval, lo: f64, hi: f64) -> Interval {
    let lo = x.lo.max(lo).max(0.0);
    let hi = x.hi.min(hi);
    if lo <= hi { Interval { lo, hi } } else { x }
}

impl Bounds {
    /// A hidden value whose true count (of any kind) is above zero and below `k` and that the
    /// reader bounds below `k`, among `candidates`.
    pub fn violation(
        &self,
        structure: &Structure,
        hidden: &[bool],
        k: f64,
        candidates: impl Iterator<Item = usize>,
    ) -> Option<Violation> {
        for i in candidates {
            if !hidden.get(i).copied().unwrap_or(false) {
                continue;
            }
            let (Some(truth), Some(iv)) = (structure.truth.get(i), self.intervals.get(i)) else {
                continue;
            };
            for (kind, (x, bound)) in truth.iter().zip(iv).enumerate() {
                if let Some(x) = x
                    && *x > 0.0
                    && *x < k
                    && bound.hi < k
                {
                    return Some(Violation {
                        value: i,
                        kind,
                        bound: bound.hi,
                    });
                }
            }
        }
        None
    }

    /// The upper bound of one count.
    pub fn upper(&self, value: usize, kind: usize) -> f64 {
        self.intervals
            .get(value)
            .map_or(f64::INFINITY, |v| at(v, kind).hi)
    }
}
