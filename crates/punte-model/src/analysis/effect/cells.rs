//! Reading one cell: its value, counts, standard error and deviation, each refusal naming
//! the cell's field.

use super::*;

pub(super) fn value(measure: Measure, field: &str, x: Option<f64>) -> Excluded<f64> {
    let x = x.ok_or_else(|| ExclusionReason::Missing {
        field: field.into(),
    })?;
    if !x.is_finite() {
        return Err(ExclusionReason::NotFinite {
            field: field.into(),
        });
    }
    measure
        .check(x)
        .map_err(|detail| ExclusionReason::OutOfRange {
            field: field.into(),
            detail,
        })?;
    Ok(x)
}

pub(super) fn finite_non_negative(field: String, x: f64) -> Excluded<f64> {
    if !x.is_finite() {
        Err(ExclusionReason::NotFinite { field })
    } else if x < 0.0 {
        Err(ExclusionReason::OutOfRange {
            field,
            detail: format!("{x} is negative"),
        })
    } else {
        Ok(x)
    }
}

/// Events and total at one time point: `events`/`n`, else `numerator`/`denominator`, else
/// `value × n` (for a legacy baseline, `n` falls back to the follow-up's total).
pub(super) fn counts(
    measure: Measure,
    obs: &Observation,
    prefix: &str,
    fallback_total: Option<f64>,
    assumptions: &mut Vec<Assumption>,
) -> Excluded<(f64, f64)> {
    if let Some(a) = obs.events {
        let n = obs.n.ok_or_else(|| ExclusionReason::Missing {
            field: format!("{prefix}.n"),
        })?;
        return event_table(a as f64, n as f64, prefix, ("events", "n"));
    }
    if let (Some(a), Some(n)) = (obs.numerator, obs.denominator) {
        let a = finite_non_negative(format!("{prefix}.numerator"), a)?;
        let n = finite_non_negative(format!("{prefix}.denominator"), n)?;
        return event_table(a, n, prefix, ("numerator", "denominator"));
    }
    if obs.value.is_none() {
        return Err(ExclusionReason::Missing {
            field: format!("{prefix}.numerator and .denominator (or .value and .n)"),
        });
    }
    let share = value(measure, &format!("{prefix}.value"), obs.value)?;
    let share = if measure == Measure::Percentage {
        share / 100.0
    } else {
        share
    };
    let n = match (obs.n, fallback_total) {
        (Some(n), _) => n as f64,
        (None, Some(n)) => {
            assumptions.push(Assumption::BaselineSizeFromFollowUp);
            n
        }
        (None, None) => {
            return Err(ExclusionReason::Missing {
                field: format!("{prefix}.n"),
            });
        }
    };
    if n <= 0.0 {
        return Err(ExclusionReason::OutOfRange {
            field: format!("{prefix}.n"),
            detail: "must be above zero".into(),
        });
    }
    Ok((share * n, n))
}

/// `a` events among `n`, refused unless `0 < n` and `a ≤ n`; `fields` name the two numbers.
pub(super) fn event_table(
    a: f64,
    n: f64,
    prefix: &str,
    fields: (&str, &str),
) -> Excluded<(f64, f64)> {
    let (events, total) = fields;
    if n <= 0.0 {
        return Err(ExclusionReason::OutOfRange {
            field: format!("{prefix}.{total}"),
            detail: "must be above zero".into(),
        });
    }
    if a > n {
        return Err(ExclusionReason::OutOfRange {
            field: format!("{prefix}.{events}"),
            detail: format!("{a} is above {total} {n}"),
        });
    }
    Ok((a, n))
}

/// The standard error of `value`: `se`, else a confidence interval, else `sd/√n`.
pub(super) fn standard_error(obs: &Observation, prefix: &str) -> Excluded<Option<f64>> {
    if let Some(se) = obs.se {
        return finite_non_negative(format!("{prefix}.se"), se).map(Some);
    }
    if let Some(ci) = &obs.ci {
        let field = format!("{prefix}.ci");
        if !(ci.lower.is_finite() && ci.upper.is_finite()) {
            return Err(ExclusionReason::NotFinite { field });
        }
        if ci.lower > ci.upper {
            return Err(ExclusionReason::OutOfRange {
                field,
                detail: "lower is above upper".into(),
            });
        }
        let z = critical_value(ci.level).ok_or_else(|| ExclusionReason::OutOfRange {
            field: format!("{prefix}.ci.level"),
            detail: format!("{} is not between 0 and 1", ci.level),
        })?;
        return Ok(Some((ci.upper - ci.lower) / (2.0 * z)));
    }
    if let (Some(sd), Some(n)) = (obs.sd, obs.n) {
        let sd = finite_non_negative(format!("{prefix}.sd"), sd)?;
        if n == 0 {
            return Err(ExclusionReason::OutOfRange {
                field: format!("{prefix}.n"),
                detail: "must be above zero".into(),
            });
        }
        return Ok(Some(sd / (n as f64).sqrt()));
    }
    Ok(None)
}

/// The standard deviation of the measurements: `sd`, else the standard error times `√n`.
pub(super) fn standard_deviation(obs: &Observation, n: f64, prefix: &str) -> Excluded<Option<f64>> {
    if let Some(sd) = obs.sd {
        return finite_non_negative(format!("{prefix}.sd"), sd).map(Some);
    }
    Ok(standard_error(obs, prefix)?.map(|se| se * n.sqrt()))
}

pub(super) fn sample_size(obs: &Observation, prefix: &str) -> Excluded<f64> {
    match obs.n {
        Some(n) if n >= 2 => Ok(n as f64),
        Some(n) => Err(ExclusionReason::OutOfRange {
            field: format!("{prefix}.n"),
            detail: format!("{n} is too small for a standard deviation (at least 2)"),
        }),
        None => Err(ExclusionReason::Missing {
            field: format!("{prefix}.n"),
        }),
    }
}
