//! The attacker of issue #13, kept in the tests: a partner who reads every published value of
//! every version of an evaluation and solves the linear constraints they impose, as an integer
//! program, to bound each hidden count.
//!
//! What the reader knows: every visible value fixes the people `n` of its population (period
//! and categories; the same people under every indicator) and, per indicator, the people with
//! the outcome `e` (and so those without, `n − e`). Every breakdown says its cells add up to
//! at most its margin, for `n`, `e` and `n − e` alike ("at most" because a category may not
//! have been recorded). Counts are whole and not negative, `e ≤ n`. Between versions the reader
//! subtracts what both show, and may guess that a value hidden now is what an earlier version
//! showed; the attacker here is told which guesses are right.
//!
//! The rule holds when no hidden count that is above zero and below k can be bounded below k:
//! its largest value consistent with everything published is k or more.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use microlp::{ComparisonOp, OptimizationDirection, Problem, Variable};
use proptest::prelude::*;

use super::*;

const SEXES: [&str; 3] = ["female", "male", "other"];
const AGES: [&str; 2] = ["young", "old"];
const INDICATORS: [&str; 2] = ["completion@1", "employment@1"];

/// The finest cells: people, and people with each indicator's outcome.
#[derive(Debug, Clone)]
struct Truth {
    cells: Vec<(u64, [u64; 2])>,
}

type Population = BTreeMap<String, String>;

fn population_of(sex: Option<usize>, age: Option<usize>) -> Population {
    let mut p = Population::new();
    if let Some(s) = sex {
        p.insert("sex".into(), SEXES[s].into());
    }
    if let Some(a) = age {
        p.insert("age".into(), AGES[a].into());
    }
    p
}

impl Truth {
    /// People and outcomes of every population of the hypercube (cells, both margins, total).
    fn counts(&self) -> BTreeMap<Population, (u64, [u64; 2])> {
        let mut out: BTreeMap<Population, (u64, [u64; 2])> = BTreeMap::new();
        for (i, &(n, e)) in self.cells.iter().enumerate() {
            let (s, a) = (i / AGES.len(), i % AGES.len());
            for sex in [Some(s), None] {
                for age in [Some(a), None] {
                    let c = out.entry(population_of(sex, age)).or_default();
                    c.0 += n;
                    c.1[0] += e[0];
                    c.1[1] += e[1];
                }
            }
        }
        out
    }

    /// The values an evaluator records: every margin, and the finest cells `recorded` says.
    fn values(&self, recorded: &[bool]) -> Vec<IndicatorValue> {
        let mut values = Vec::new();
        for (p, (n, e)) in self.counts() {
            let finest = p.len() == 2;
            if finest {
                let s = SEXES.iter().position(|x| *x == p["sex"]).unwrap();
                let a = AGES.iter().position(|x| *x == p["age"]).unwrap();
                if !recorded[s * AGES.len() + a] {
                    continue;
                }
            }
            for (ind, events) in INDICATORS.iter().zip(e) {
                let mut v: IndicatorValue = serde_json::from_value(serde_json::json!({
                    "indicator": ind, "numerator": events as f64,
                    "denominator": n as f64, "n": n
                }))
                .unwrap();
                v.disaggregation = p.clone();
                values.push(v);
            }
        }
        values
    }
}

fn truths() -> impl Strategy<Value = Truth> {
    proptest::collection::vec((0u64..14, 0u64..14, 0u64..14), SEXES.len() * AGES.len()).prop_map(
        |cells| Truth {
            cells: cells
                .into_iter()
                .map(|(n, a, b)| (n, [a.min(n), b.min(n)]))
                .collect(),
        },
    )
}

/// What a reader learns of one count, with the truth to judge it by.
#[derive(Debug)]
#[allow(dead_code)] // read through Debug, in the failure message
struct Finding {
    what: String,
    truth: u64,
    bound: f64,
}

/// The attacker on one published version, with `guesses` (population → people) it may add.
fn attack(published: &[IndicatorValue], guesses: &BTreeMap<Population, f64>) -> Attack {
    let populations: Vec<Population> = {
        let mut ps: Vec<Population> = published.iter().map(|v| v.disaggregation.clone()).collect();
        ps.sort();
        ps.dedup();
        ps
    };
    Attack {
        values: published.to_vec(),
        populations,
        guesses: guesses.clone(),
    }
}

struct Attack {
    values: Vec<IndicatorValue>,
    populations: Vec<Population>,
    guesses: BTreeMap<Population, f64>,
}

enum Target<'a> {
    People(&'a Population),
    Events(usize, &'a Population),
    Without(usize, &'a Population),
}

impl Attack {
    /// The largest value of `target` consistent with everything published.
    fn max(&self, target: Target<'_>) -> f64 {
        let mut lp = Problem::new(OptimizationDirection::Maximize);
        let big = 10_000;
        let want = |t: &Target<'_>, p: &Population, ind: Option<usize>| match (t, ind) {
            (Target::People(q), None) => *q == p,
            (Target::Events(i, q), Some(j)) => *q == p && *i == j,
            _ => false,
        };
        let mut n: BTreeMap<&Population, Variable> = BTreeMap::new();
        let mut e: BTreeMap<(usize, &Population), Variable> = BTreeMap::new();
        for p in &self.populations {
            let c = if want(&target, p, None) { 1.0 } else { 0.0 };
            n.insert(p, lp.add_integer_var(c, (0, big)));
            for i in 0..INDICATORS.len() {
                let c = match &target {
                    Target::Events(j, q) if *j == i && *q == p => 1.0,
                    Target::Without(j, q) if *j == i && *q == p => -1.0,
                    _ => 0.0,
                };
                e.insert((i, p), lp.add_integer_var(c, (0, big)));
            }
        }
        if let Target::Without(_, q) = &target {
            // maximise n − e: add n with coefficient 1 through a copy constrained equal
            let copy = lp.add_integer_var(1.0, (0, big));
            lp.add_constraint([(copy, 1.0), (n[q], -1.0)], ComparisonOp::Eq, 0.0);
        }
        for p in &self.populations {
            for i in 0..INDICATORS.len() {
                lp.add_constraint([(e[&(i, p)], 1.0), (n[p], -1.0)], ComparisonOp::Le, 0.0);
            }
        }
        for v in &self.values {
            let i = INDICATORS
                .iter()
                .position(|x| *x == v.indicator.to_string())
                .unwrap();
            let p = &v.disaggregation;
            if v.suppressed.is_none() {
                lp.add_constraint([(n[p], 1.0)], ComparisonOp::Eq, v.n.unwrap() as f64);
                lp.add_constraint([(e[&(i, p)], 1.0)], ComparisonOp::Eq, v.numerator.unwrap());
            }
        }
        for (p, guess) in &self.guesses {
            if let Some(var) = n.get(p) {
                lp.add_constraint([(*var, 1.0)], ComparisonOp::Eq, *guess);
            }
        }
        // breakdowns: every population with one category more, under its margin
        for margin in &self.populations {
            for dim in ["sex", "age"] {
                if margin.contains_key(dim) {
                    continue;
                }
                let members: Vec<&Population> = self
                    .populations
                    .iter()
                    .filter(|c| {
                        let mut rest = (*c).clone();
                        rest.remove(dim).is_some() && &rest == margin
                    })
                    .collect();
                if members.is_empty() {
                    continue;
                }
                let mut people: Vec<(Variable, f64)> =
                    members.iter().map(|c| (n[c], 1.0)).collect();
                people.push((n[margin], -1.0));
                lp.add_constraint(people, ComparisonOp::Le, 0.0);
                for i in 0..INDICATORS.len() {
                    let mut with: Vec<(Variable, f64)> =
                        members.iter().map(|c| (e[&(i, *c)], 1.0)).collect();
                    with.push((e[&(i, margin)], -1.0));
                    lp.add_constraint(with, ComparisonOp::Le, 0.0);
                    let mut without: Vec<(Variable, f64)> = Vec::new();
                    for c in &members {
                        without.push((n[c], 1.0));
                        without.push((e[&(i, *c)], -1.0));
                    }
                    without.push((n[margin], -1.0));
                    without.push((e[&(i, margin)], 1.0));
                    lp.add_constraint(without, ComparisonOp::Le, 0.0);
                }
            }
        }
        let solution = lp
            .solve()
            .expect("the truth is feasible")
            .into_solution()
            .unwrap();
        solution.objective()
    }

    /// Every hidden count above zero and below `k` that the reader bounds below `k`.
    fn findings(&self, truth: &BTreeMap<Population, (u64, [u64; 2])>, k: u64) -> Vec<Finding> {
        let mut out = Vec::new();
        let small = |x: u64| x > 0 && x < k;
        let mut check = |what: String, x: u64, target: Target<'_>| {
            if small(x) {
                let bound = self.max(target);
                if bound < k as f64 - 1e-6 {
                    out.push(Finding {
                        what,
                        truth: x,
                        bound,
                    });
                }
            }
        };
        for p in &self.populations {
            let hidden: Vec<usize> = self
                .values
                .iter()
                .filter(|v| &v.disaggregation == p && v.suppressed.is_some())
                .map(|v| {
                    INDICATORS
                        .iter()
                        .position(|x| *x == v.indicator.to_string())
                        .unwrap()
                })
                .collect();
            if hidden.is_empty() {
                continue;
            }
            let (n, e) = truth[p];
            let people_visible = self
                .values
                .iter()
                .any(|v| &v.disaggregation == p && v.suppressed.is_none());
            if !people_visible {
                check(format!("people of {p:?}"), n, Target::People(p));
            }
            for i in hidden {
                check(
                    format!("{} of {p:?}", INDICATORS[i]),
                    e[i],
                    Target::Events(i, p),
                );
                check(
                    format!("without {} of {p:?}", INDICATORS[i]),
                    n - e[i],
                    Target::Without(i, p),
                );
            }
        }
        out
    }
}

fn measure(_: &IndicatorRef) -> Option<Measure> {
    Some(Measure::Proportion)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// One version: a sex × age hypercube with both margins and the total under two
    /// indicators, some cells not recorded.
    #[test]
    fn the_attacker_bounds_no_small_group_below_k(
        truth in truths(),
        recorded in proptest::collection::vec(proptest::bool::weighted(0.8), SEXES.len() * AGES.len()),
        k in 2u64..8,
    ) {
        let values = truth.values(&recorded);
        let published = disclose(&values, k, None, &[], measure).values;
        let findings = attack(&published, &BTreeMap::new()).findings(&truth.counts(), k);
        prop_assert!(findings.is_empty(), "{findings:?}\npublished: {published:?}");
    }

    /// Two versions: people join one cell between them. The reader has both, subtracts what
    /// both show, and guesses (rightly) that what is hidden now but was shown is unchanged.
    #[test]
    fn versions_give_back_no_small_group(
        truth in truths(),
        recorded in proptest::collection::vec(proptest::bool::weighted(0.8), SEXES.len() * AGES.len()),
        cell in 0usize..SEXES.len() * AGES.len(),
        joined in 0u64..6,
        with_outcome in 0u64..6,
        k in 2u64..8,
    ) {
        let mut later = truth.clone();
        later.cells[cell].0 += joined;
        later.cells[cell].1[0] += with_outcome.min(joined);
        let v1 = disclose(&truth.values(&recorded), k, None, &[], measure).values;
        let earlier = [Published { version: 1, values: &v1, period: None }];
        let v2 = disclose(&later.values(&recorded), k, None, &earlier, measure).values;

        // hidden stays hidden
        for old in v1.iter().filter(|v| v.suppressed.is_some()) {
            for new in v2.iter().filter(|v| v.disaggregation == old.disaggregation) {
                prop_assert!(new.suppressed.is_some(), "{old:?} shown again as {new:?}");
            }
        }
        // subtraction of what both versions show
        let kf = k as f64;
        for old in v1.iter().filter(|v| v.suppressed.is_none()) {
            for new in v2.iter().filter(|v| {
                v.suppressed.is_none() && v.disaggregation == old.disaggregation
            }) {
                let dn = (new.n.unwrap() as f64 - old.n.unwrap() as f64).abs();
                prop_assert!(dn == 0.0 || dn >= kf, "{dn} people between {old:?} and {new:?}");
                if new.indicator == old.indicator {
                    let de = (new.numerator.unwrap() - old.numerator.unwrap()).abs();
                    prop_assert!(de == 0.0 || de >= kf, "{de} events between versions");
                }
            }
        }
        // the right guesses, then the attacker on the later version
        let before = truth.counts();
        let after = later.counts();
        let mut guesses = BTreeMap::new();
        for old in v1.iter().filter(|v| v.suppressed.is_none()) {
            let p = &old.disaggregation;
            let hidden_now = v2.iter().any(|v| &v.disaggregation == p && v.suppressed.is_some());
            if hidden_now && before[p].0 == after[p].0 {
                guesses.insert(p.clone(), before[p].0 as f64);
            }
        }
        let findings = attack(&v2, &guesses).findings(&after, k);
        prop_assert!(findings.is_empty(), "{findings:?}\nv1: {v1:?}\nv2: {v2:?}");
    }
}
