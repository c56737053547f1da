//! Pooling effects: inverse-variance fixed effect and DerSimonian–Laird random effects.
//!
//! With `wᵢ = 1/vᵢ`: fixed effect `θ_FE = Σwᵢyᵢ/Σwᵢ`, `SE = 1/√Σwᵢ`; Cochran's
//! `Q = Σwᵢ(yᵢ − θ_FE)²` on `df = k − 1`; `C = Σwᵢ − Σwᵢ²/Σwᵢ`;
//! `τ² = max(0, (Q − df)/C)` (DerSimonian & Laird 1986); random-effects weights
//! `wᵢ* = 1/(vᵢ + τ²)`, `θ = Σwᵢ*yᵢ/Σwᵢ*`, `SE = 1/√Σwᵢ*`, 95% CI `θ ± 1.959964·SE`,
//! `z = θ/SE`, two-sided normal p; `I² = max(0, (Q − df)/Q)·100` (Higgins & Thompson 2002),
//! none for `k = 1`, `0` when `Q = 0`.

use serde::{Deserialize, Serialize};

use super::AnalysisError;
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
    check(effects)?;
    let k = effects.len();
    let df = k - 1;
    let fixed = weighted(effects.iter().map(|e| (e.estimate, 1.0 / e.variance)));
    let (sum_w, sum_w2, q) = effects.iter().fold((0.0, 0.0, 0.0), |(s, s2, q), e| {
        let w = 1.0 / e.variance;
        let r = e.estimate - fixed.estimate;
        (s + w, s2 + w * w, q + w * r * r)
    });
    let c = sum_w - sum_w2 / sum_w;
    let tau2 = if df == 0 || c.is_nan() || c <= 0.0 {
        0.0
    } else {
        ((q - df as f64) / c).max(0.0)
    };
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
