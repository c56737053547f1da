//! Student's t and chi-square distributions for the pooled tests, from the `statrs` crate.
//!
//! The functions keep the analysis API small (plain `f64` in, `f64` out) and say what happens at
//! the edges: `NaN` for a distribution that does not exist (no degrees of freedom), never a
//! panic. The tests check them against closed forms (`ν = 1`: Cauchy; `ν = 2`; `χ²₂`:
//! `e^(−x/2)`; `χ²₁`: `erfc(√(x/2))`), published tables (NIST/SEMATECH e-Handbook of Statistical
//! Methods, §1.3.6.7.2 and §1.3.6.7.4) and published p-values.

use statrs::distribution::{ChiSquared, ContinuousCDF, StudentsT};

fn students_t(df: f64) -> Option<StudentsT> {
    if !(df > 0.0 && df.is_finite()) {
        return None;
    }
    StudentsT::new(0.0, 1.0, df).ok()
}

/// The two-sided p-value of a t statistic on `df` degrees of freedom: `P(|T| ≥ |t|)`. `NaN`
/// unless `df > 0` is finite and `t` is not `NaN`.
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    match students_t(df) {
        Some(_) if t.is_nan() => f64::NAN,
        Some(_) if t.is_infinite() => 0.0,
        // the upper tail of |t| keeps its relative precision far out
        Some(d) => (2.0 * d.sf(t.abs())).min(1.0),
        None => f64::NAN,
    }
}

/// The distribution function of Student's t on `df` degrees of freedom, `P(T ≤ t)`.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    match students_t(df) {
        Some(_) if t.is_nan() => f64::NAN,
        Some(d) => d.cdf(t),
        None => f64::NAN,
    }
}

/// The two-sided critical value of Student's t for a confidence level, e.g. `2.178813` for
/// `0.95` on 12 degrees of freedom: the `t` with `P(|T| ≥ t) = 1 − level`. `None` unless
/// `0 < level < 1` and `df > 0` is finite.
pub fn t_critical_value(level: f64, df: f64) -> Option<f64> {
    if !(level > 0.0 && level < 1.0) {
        return None;
    }
    let t = students_t(df)?.inverse_cdf(0.5 + level / 2.0);
    (t.is_finite() && t > 0.0).then_some(t)
}

/// The upper tail of the chi-square distribution on `df` degrees of freedom, `P(χ² ≥ x)`: the
/// p-value of a heterogeneity statistic `Q` on `k − 1` degrees of freedom. `NaN` unless `df > 0`
/// is finite and `x` is not `NaN`; `1` for `x ≤ 0`.
pub fn chi_square_upper_tail(x: f64, df: f64) -> f64 {
    if x.is_nan() || !(df > 0.0 && df.is_finite()) {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    match ChiSquared::new(df) {
        Ok(d) => d.sf(x),
        Err(_) => f64::NAN,
    }
}
