//! Pooling effects: inverse-variance fixed effect, and random effects with the
//! DerSimonian–Laird or REML estimator of τ² and a Wald or Hartung–Knapp–Sidik–Jonkman interval.
//!
//! Notation: `k` effects `yᵢ` with sampling variances `vᵢ`, `df = k − 1`.
//!
//! **Fixed effect.** `wᵢ = 1/vᵢ`, `θ_FE = Σwᵢyᵢ/Σwᵢ`, `SE = 1/√Σwᵢ`, 95% CI `θ ± 1.959964·SE`,
//! `z = θ/SE`, two-sided normal p. Cochran's `Q = Σwᵢ(yᵢ − θ_FE)²` on `df`; its p-value is the
//! chi-square upper tail `P(χ²_df ≥ Q)`.
//!
//! **τ², DerSimonian–Laird** (DerSimonian & Laird 1986): `C = Σwᵢ − Σwᵢ²/Σwᵢ`,
//! `τ² = max(0, (Q − df)/C)`.
//!
//! **τ², REML** (restricted maximum likelihood, the default of metafor's `rma`; Viechtbauer 2005):
//! Fisher scoring on the restricted log-likelihood, started at the DerSimonian–Laird value. With
//! `wᵢ = 1/(vᵢ + τ²)`, `μ = Σwᵢyᵢ/Σwᵢ` and `P = W − wwᵀ/Σw` (so `tr P = Σwᵢ − Σwᵢ²/Σwᵢ`,
//! `tr P² = Σwᵢ² − 2Σwᵢ³/Σwᵢ + (Σwᵢ²/Σwᵢ)²`, `yᵀP²y = Σwᵢ²(yᵢ − μ)²`), each step is
//! `τ² ← max(0, τ² + (yᵀP²y − tr P)/tr P²)`, halved while it would lower the restricted
//! log-likelihood (as metafor's `stepadj` does), until a step changes τ² by at most
//! `10⁻¹⁰·(τ² + s²)` (scale-free; `s²` below), at most 100 steps; when that does not settle, a
//! direct search (a grid over τ², then golden section) finds the global maximum instead.
//! A step below zero stops at zero. `SE(τ²) = √(2/tr P²)` at the estimate (the inverse
//! Fisher information, as metafor reports). For `k = 1`, `τ² = 0`.
//!
//! **Random effects.** `wᵢ* = 1/(vᵢ + τ²)`, `μ = Σwᵢ*yᵢ/Σwᵢ*`, `SE = 1/√Σwᵢ*`. Then either
//!
//! - [`CiMethod::Normal`] (Wald): CI `μ ± 1.959964·SE`, `z = μ/SE`, two-sided normal p; or
//! - [`CiMethod::HartungKnapp`] (Hartung & Knapp 2001; Sidik & Jonkman 2002):
//!   `q = Σwᵢ*(yᵢ − μ)²/df`, `SE_KH = √(q/Σwᵢ*)`, CI `μ ± t_{0.975, df}·SE_KH`, `t = μ/SE_KH`,
//!   two-sided p from t on `df`. `q` is not truncated at 1 (metafor's `test = "knha"`, not its
//!   `"adhoc"` variant), so with nearly equal estimates this interval can be narrower than the
//!   Wald one. It is undefined for `k = 1` and degenerate (zero width) when every estimate is
//!   equal; in both cases the Wald interval is used and `ci_method` reports `Normal`.
//!
//! **Heterogeneity.** With the "typical" within-study variance
//! `s² = df·Σwᵢ/((Σwᵢ)² − Σwᵢ²)` (Higgins & Thompson 2002; `wᵢ = 1/vᵢ`):
//! `I² = 100·τ²/(τ² + s²)` and `H² = (τ² + s²)/s²`, as metafor computes them for every
//! estimator. For DerSimonian–Laird this equals `max(0, (Q − df)/Q)·100`. None for `k = 1`.
//!
//! **Prediction interval** (Riley et al. 2011; metafor's `predict.rma`):
//! `μ ± crit·√(τ² + SE²)`, with the `SE` and critical value of the chosen interval (`z` for
//! Normal, `t_{0.975, df}` for Hartung–Knapp), so that it equals the CI when `τ² = 0`.
//!
//! [`pool_dersimonian_laird`] is the original DerSimonian–Laird/Wald function, kept as it was.

use serde::{Deserialize, Serialize};

use super::AnalysisError;
use super::dist::{chi_square_upper_tail, t_critical_value, t_two_sided_p};
use super::normal::{Z_95, two_sided_p};

/// One effect to pool: an estimate and its sampling variance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectSize {
    pub estimate: f64,
    pub variance: f64,
}

/// The inverse-variance (fixed, common) effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixedEffect {
    pub estimate: f64,
    pub se: f64,
    pub ci_lower: f64,
    pub ci_upper: f64,
    pub z: f64,
    pub p_value: f64,
}

/// A DerSimonian–Laird random-effects estimate with its heterogeneity statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PooledEffect {
    /// Number of effects pooled.
    pub k: usize,
    pub estimate: f64,
    pub se: f64,
    pub ci_lower: f64,
    pub ci_upper: f64,
    pub z: f64,
    pub p_value: f64,
    /// Cochran's Q.
    pub q: f64,
    /// Degrees of freedom of Q: `k − 1`.
    pub df: usize,
    /// Between-study variance τ².
    pub tau2: f64,
    /// I² in percent, 0 to 100; none for a single effect.
    pub i2: Option<f64>,
    /// The fixed-effect estimate the heterogeneity statistics are computed around.
    pub fixed: FixedEffect,
}

/// The inverse-variance fixed-effect estimate.
pub fn pool_fixed_effect(effects: &[EffectSize]) -> Result<FixedEffect, AnalysisError> {
    check(effects)?;
    let fixed = weighted(effects.iter().map(|e| (e.estimate, 1.0 / e.variance)));
    if all_finite(&[fixed.estimate, fixed.se, fixed.z, fixed.p_value]) {
        Ok(fixed)
    } else {
        Err(AnalysisError::NotFinite)
    }
}

/// The DerSimonian–Laird random-effects estimate (see the module documentation).
pub fn pool_dersimonian_laird(effects: &[EffectSize]) -> Result<PooledEffect, AnalysisError> {
    let Prelude {
        k,
        df,
        fixed,
        sum_w,
        sum_w2,
        q,
    } = Prelude::of(effects)?;
    let tau2 = dersimonian_laird_tau2(q, df, sum_w, sum_w2);
    let i2 = if df == 0 {
        None
    } else if q > 0.0 {
        Some(((q - df as f64) / q).max(0.0) * 100.0)
    } else {
        Some(0.0)
    };
    let random = weighted(
        effects
            .iter()
            .map(|e| (e.estimate, 1.0 / (e.variance + tau2))),
    );
    let pooled = PooledEffect {
        k,
        estimate: random.estimate,
        se: random.se,
        ci_lower: random.ci_lower,
        ci_upper: random.ci_upper,
        z: random.z,
        p_value: random.p_value,
        q,
        df,
        tau2,
        i2,
        fixed,
    };
    let numbers = [
        pooled.estimate,
        pooled.se,
        pooled.z,
        pooled.p_value,
        pooled.q,
        pooled.tau2,
        pooled.i2.unwrap_or(0.0),
        pooled.fixed.estimate,
        pooled.fixed.se,
    ];
    if all_finite(&numbers) {
        Ok(pooled)
    } else {
        Err(AnalysisError::NotFinite)
    }
}

/// How the between-study variance τ² is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TauEstimator {
    /// The method-of-moments estimator of DerSimonian & Laird (1986).
    #[serde(rename = "dersimonianLaird")]
    DerSimonianLaird,
    /// Restricted maximum likelihood (metafor's default).
    #[serde(rename = "reml")]
    Reml,
}

impl TauEstimator {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DerSimonianLaird => "dersimonianLaird",
            Self::Reml => "reml",
        }
    }
}

/// How the confidence interval (and test) of the pooled effect is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CiMethod {
    /// Wald: normal critical value and the usual standard error.
    Normal,
    /// Hartung–Knapp–Sidik–Jonkman: t on `k − 1` degrees of freedom and the Knapp–Hartung
    /// variance factor. Recommended when few effects are pooled.
    HartungKnapp,
}

impl CiMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::HartungKnapp => "hartungKnapp",
        }
    }
}

/// The choices of [`pool_random_effects`].
///
/// The default is REML with a Wald interval, the default of metafor's `rma`. With few effects
/// (as across a handful of partner nodes) the Hartung–Knapp interval is the recommended choice;
/// which one a node shows is the node's decision, not this crate's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PoolOptions {
    pub tau: TauEstimator,
    pub ci: CiMethod,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            tau: TauEstimator::Reml,
            ci: CiMethod::Normal,
        }
    }
}

/// A random-effects estimate, saying which estimator and interval produced it (see the module
/// documentation for the formulas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RandomEffects {
    /// Number of effects pooled.
    pub k: usize,
    /// The estimator of τ² used.
    pub estimator: TauEstimator,
    /// The interval actually used: `Normal` when Hartung–Knapp was asked for but is undefined
    /// (`k = 1`) or degenerate (every estimate equal).
    pub ci_method: CiMethod,
    pub estimate: f64,
    /// The standard error of the estimate (Knapp–Hartung adjusted under `HartungKnapp`).
    pub se: f64,
    pub ci_lower: f64,
    pub ci_upper: f64,
    /// `estimate/se`: a z statistic under `Normal`, a t statistic under `HartungKnapp`.
    pub statistic: f64,
    /// Degrees of freedom of the t statistic and interval (`k − 1`); none under `Normal`.
    pub df_ci: Option<usize>,
    /// Two-sided p-value of `statistic`.
    pub p_value: f64,
    /// Cochran's Q (around the fixed effect).
    pub q: f64,
    /// Degrees of freedom of Q: `k − 1`.
    pub df: usize,
    /// `P(χ²_df ≥ Q)`; none for a single effect.
    pub q_p_value: Option<f64>,
    /// Between-study variance τ².
    pub tau2: f64,
    /// Standard error of τ² (REML only: the inverse Fisher information).
    pub tau2_se: Option<f64>,
    /// I² in percent, 0 to 100; none for a single effect.
    pub i2: Option<f64>,
    /// H² (1 or more); none for a single effect.
    pub h2: Option<f64>,
    /// 95% prediction interval for the true effect in a new setting.
    pub pi_lower: f64,
    pub pi_upper: f64,
    /// The fixed-effect estimate Q is computed around.
    pub fixed: FixedEffect,
}

/// The most Fisher-scoring steps the REML estimate may take.
pub(super) const REML_MAX_ITERATIONS: usize = 100;
/// A step at most this fraction of `τ² + s²` ends the REML iteration.
const REML_TOLERANCE: f64 = 1e-10;

/// A random-effects estimate with the estimator of τ² and the interval of `options`.
pub fn pool_random_effects(
    effects: &[EffectSize],
    options: PoolOptions,
) -> Result<RandomEffects, AnalysisError> {
    let Prelude {
        k,
        df,
        fixed,
        sum_w,
        sum_w2,
        q,
    } = Prelude::of(effects)?;
    // the "typical" within-study variance; none for a single effect
    let s2 = (df > 0).then(|| df as f64 * sum_w / (sum_w * sum_w - sum_w2));

    let dl = dersimonian_laird_tau2(q, df, sum_w, sum_w2);
    let (tau2, tau2_se) = match options.tau {
        TauEstimator::DerSimonianLaird => (dl, None),
        TauEstimator::Reml if df == 0 => (0.0, None),
        TauEstimator::Reml => {
            let tau2 = match reml_tau2(effects, dl, s2.unwrap_or(0.0), REML_MAX_ITERATIONS) {
                Err(AnalysisError::NotConverged { .. }) => reml_by_search(effects),
                other => other?,
            };
            let sums = RemlSums::at(effects, tau2);
            (tau2, Some((2.0 / sums.trace_pp).sqrt()))
        }
    };

    let random = weighted(
        effects
            .iter()
            .map(|e| (e.estimate, 1.0 / (e.variance + tau2))),
    );
    let first = effects.first().map(|e| e.estimate);
    let all_equal = effects.iter().all(|e| Some(e.estimate) == first);
    let hartung_knapp = options.ci == CiMethod::HartungKnapp && df > 0 && !all_equal;

    let (ci_method, se, crit, statistic, df_ci, p_value) = if hartung_knapp {
        let (sum_w_star, residual) = effects.iter().fold((0.0, 0.0), |(s, q), e| {
            let w = 1.0 / (e.variance + tau2);
            let r = e.estimate - random.estimate;
            (s + w, q + w * r * r)
        });
        let se = (residual / df as f64 / sum_w_star).sqrt();
        let crit = t_critical_value(0.95, df as f64).ok_or(AnalysisError::NotFinite)?;
        let t = random.estimate / se;
        let p = t_two_sided_p(t, df as f64);
        (CiMethod::HartungKnapp, se, crit, t, Some(df), p)
    } else {
        (
            CiMethod::Normal,
            random.se,
            Z_95,
            random.z,
            None,
            random.p_value,
        )
    };
    let estimate = random.estimate;
    let half_pi = crit * (tau2 + se * se).sqrt();
    let (i2, h2) = match s2 {
        Some(s2) => (Some(100.0 * tau2 / (tau2 + s2)), Some((tau2 + s2) / s2)),
        None => (None, None),
    };
    let pooled = RandomEffects {
        k,
        estimator: options.tau,
        ci_method,
        estimate,
        se,
        ci_lower: estimate - crit * se,
        ci_upper: estimate + crit * se,
        statistic,
        df_ci,
        p_value,
        q,
        df,
        q_p_value: (df > 0).then(|| chi_square_upper_tail(q, df as f64)),
        tau2,
        tau2_se,
        i2,
        h2,
        pi_lower: estimate - half_pi,
        pi_upper: estimate + half_pi,
        fixed,
    };
    let numbers = [
        pooled.estimate,
        pooled.se,
        pooled.ci_lower,
        pooled.ci_upper,
        pooled.statistic,
        pooled.p_value,
        pooled.q,
        pooled.q_p_value.unwrap_or(0.0),
        pooled.tau2,
        pooled.tau2_se.unwrap_or(0.0),
        pooled.i2.unwrap_or(0.0),
        pooled.h2.unwrap_or(1.0),
        pooled.pi_lower,
        pooled.pi_upper,
        pooled.fixed.estimate,
        pooled.fixed.se,
    ];
    if all_finite(&numbers) {
        Ok(pooled)
    } else {
        Err(AnalysisError::NotFinite)
    }
}

/// The sums of one REML Fisher-scoring step at a given τ².
struct RemlSums {
    /// `yᵀP²y − tr P`: twice the score.
    twice_score: f64,
    /// `tr P²`: twice the Fisher information.
    trace_pp: f64,
}

impl RemlSums {
    fn at(effects: &[EffectSize], tau2: f64) -> Self {
        let (s1, s2, s3, swy) = effects.iter().fold((0.0, 0.0, 0.0, 0.0), |acc, e| {
            let w = 1.0 / (e.variance + tau2);
            (
                acc.0 + w,
                acc.1 + w * w,
                acc.2 + w * w * w,
                acc.3 + w * e.estimate,
            )
        });
        let mu = swy / s1;
        let ypy = effects.iter().fold(0.0, |acc, e| {
            let w = 1.0 / (e.variance + tau2);
            let r = e.estimate - mu;
            acc + w * w * r * r
        });
        let trace_p = s1 - s2 / s1;
        let ratio = s2 / s1;
        Self {
            twice_score: ypy - trace_p,
            trace_pp: s2 - 2.0 * s3 / s1 + ratio * ratio,
        }
    }
}

/// The REML estimate of τ² by Fisher scoring from `start`, for `k ≥ 2` effects already
/// checked; `s2` is the typical within-study variance that scales the tolerance.
pub(super) fn reml_tau2(
    effects: &[EffectSize],
    start: f64,
    s2: f64,
    max_iterations: usize,
) -> Result<f64, AnalysisError> {
    let mut tau2 = start.max(0.0);
    let mut ll = restricted_log_likelihood(effects, tau2);
    for _ in 0..max_iterations {
        let sums = RemlSums::at(effects, tau2);
        let mut step = sums.twice_score / sums.trace_pp;
        if !step.is_finite() {
            return Err(AnalysisError::NotFinite);
        }
        // Step halving: a step is taken only if it does not lower the restricted likelihood,
        // so the iteration climbs to a maximum instead of oscillating around it.
        let mut next = (tau2 + step).max(0.0);
        let mut next_ll = restricted_log_likelihood(effects, next);
        let mut halvings = 0;
        while next_ll.partial_cmp(&ll).is_none_or(|o| o.is_lt()) && halvings < MAX_HALVINGS {
            step /= 2.0;
            next = (tau2 + step).max(0.0);
            next_ll = restricted_log_likelihood(effects, next);
            halvings += 1;
        }
        if !(next.is_finite() && next_ll.is_finite()) {
            return Err(AnalysisError::NotFinite);
        }
        let converged = (next - tau2).abs() <= REML_TOLERANCE * (next + s2);
        if next_ll >= ll {
            tau2 = next;
            ll = next_ll;
        }
        if converged || halvings == MAX_HALVINGS {
            return Ok(tau2);
        }
    }
    Err(AnalysisError::NotConverged {
        iterations: max_iterations,
    })
}

/// The REML τ² by direct search, for the rare sets where Fisher scoring crawls: the restricted
/// likelihood on a geometric grid from 0 to ten times the spread of the estimates, then a
/// golden-section search between the neighbours of the best grid point. Taking the best grid
/// point first also picks the global maximum when the likelihood has more than one.
fn reml_by_search(effects: &[EffectSize]) -> f64 {
    let k = effects.len() as f64;
    let mean = effects.iter().map(|e| e.estimate).sum::<f64>() / k;
    let spread = effects
        .iter()
        .map(|e| (e.estimate - mean).powi(2))
        .sum::<f64>()
        / (k - 1.0).max(1.0);
    let upper = 10.0 * spread.max(f64::MIN_POSITIVE);
    const POINTS: i32 = 400;
    let grid: Vec<f64> = std::iter::once(0.0)
        .chain((0..=POINTS).map(|i| upper * 1e-12f64.powf(1.0 - f64::from(i) / f64::from(POINTS))))
        .collect();
    let ll = |t: f64| restricted_log_likelihood(effects, t);
    let best = grid
        .iter()
        .enumerate()
        .max_by(|a, b| ll(*a.1).total_cmp(&ll(*b.1)))
        .map_or(0, |(i, _)| i);
    let at = |i: usize| grid.get(i).copied().unwrap_or(0.0);
    let (mut lo, mut hi) = (at(best.saturating_sub(1)), at(best + 1).max(at(best)));
    let golden = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..200 {
        let a = hi - golden * (hi - lo);
        let b = lo + golden * (hi - lo);
        if ll(a) >= ll(b) {
            hi = b;
        } else {
            lo = a;
        }
    }
    let found = 0.5 * (lo + hi);
    if ll(found) >= ll(at(best)) {
        found
    } else {
        at(best)
    }
}

/// How often a Fisher-scoring step is halved before the current τ² is taken as the maximum.
const MAX_HALVINGS: u32 = 60;

/// The restricted log-likelihood of the random-effects model at τ², up to a constant:
/// `−½(Σ ln(vᵢ + τ²) + ln Σwᵢ + Σwᵢ(yᵢ − μ)²)`.
fn restricted_log_likelihood(effects: &[EffectSize], tau2: f64) -> f64 {
    let (sum_ln, sum_w, sum_wy) = effects.iter().fold((0.0, 0.0, 0.0), |acc, e| {
        let v = e.variance + tau2;
        (acc.0 + v.ln(), acc.1 + 1.0 / v, acc.2 + e.estimate / v)
    });
    let mu = sum_wy / sum_w;
    let rss = effects.iter().fold(0.0, |acc, e| {
        let r = e.estimate - mu;
        acc + r * r / (e.variance + tau2)
    });
    -0.5 * (sum_ln + sum_w.ln() + rss)
}

/// `max(0, (Q − df)/C)` with `C = Σw − Σw²/Σw`; 0 for a single effect or a degenerate `C`.
/// What every random-effects estimate starts from: the fixed-effect estimate, the sums of the
/// inverse-variance weights and their squares, and Cochran's Q around the fixed estimate.
struct Prelude {
    k: usize,
    df: usize,
    fixed: FixedEffect,
    sum_w: f64,
    sum_w2: f64,
    q: f64,
}

impl Prelude {
    fn of(effects: &[EffectSize]) -> Result<Self, AnalysisError> {
        check(effects)?;
        let k = effects.len();
        let fixed = weighted(effects.iter().map(|e| (e.estimate, 1.0 / e.variance)));
        let (sum_w, sum_w2, q) = effects.iter().fold((0.0, 0.0, 0.0), |(s, s2, q), e| {
            let w = 1.0 / e.variance;
            let r = e.estimate - fixed.estimate;
            (s + w, s2 + w * w, q + w * r * r)
        });
        Ok(Prelude {
            k,
            df: k - 1,
            fixed,
            sum_w,
            sum_w2,
            q,
        })
    }
}

fn dersimonian_laird_tau2(q: f64, df: usize, sum_w: f64, sum_w2: f64) -> f64 {
    let c = sum_w - sum_w2 / sum_w;
    if df == 0 || c.is_nan() || c <= 0.0 {
        0.0
    } else {
        ((q - df as f64) / c).max(0.0)
    }
}

fn check(effects: &[EffectSize]) -> Result<(), AnalysisError> {
    if effects.is_empty() {
        return Err(AnalysisError::Empty);
    }
    for (index, e) in effects.iter().enumerate() {
        if !e.estimate.is_finite() {
            return Err(AnalysisError::InvalidEstimate {
                index,
                estimate: e.estimate,
            });
        }
        // 1/v must be finite too: a subnormal variance would give an infinite weight.
        if !(e.variance.is_finite() && e.variance > 0.0 && (1.0 / e.variance).is_finite()) {
            return Err(AnalysisError::InvalidVariance {
                index,
                variance: e.variance,
            });
        }
    }
    Ok(())
}

fn weighted(pairs: impl Iterator<Item = (f64, f64)>) -> FixedEffect {
    let (sum_w, sum_wy) = pairs.fold((0.0, 0.0), |(s, sy), (y, w)| (s + w, sy + w * y));
    let estimate = sum_wy / sum_w;
    let se = (1.0 / sum_w).sqrt();
    let z = estimate / se;
    FixedEffect {
        estimate,
        se,
        ci_lower: estimate - Z_95 * se,
        ci_upper: estimate + Z_95 * se,
        z,
        p_value: two_sided_p(z),
    }
}

fn all_finite(xs: &[f64]) -> bool {
    xs.iter().all(|x| x.is_finite())
}
