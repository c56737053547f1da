//! Charts drawn on the server as inline SVG (no JavaScript): a forest plot of effects with
//! their confidence intervals and pooled estimates.
//!
//! Every piece of text is escaped here ([`escape`]); colours are presentation attributes (the
//! content security policy allows no inline styles). The drawing scales with its container
//! (`viewBox`, `width="100%"`).

use std::fmt::Write;

/// Drawing width in user units.
const WIDTH: f64 = 640.0;
/// Where the plot area starts (labels on its left) and ends.
const PLOT_LEFT: f64 = 230.0;
const PLOT_RIGHT: f64 = 620.0;
const ROW_HEIGHT: f64 = 24.0;
const TOP: f64 = 12.0;
/// Room under the rows for the axis, its ticks and its caption.
const AXIS_SPACE: f64 = 46.0;
/// Longest label drawn, in characters (the full text is in the row's `<title>`).
const LABEL_CHARS: usize = 32;

/// Escapes text for SVG/XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// One row of a forest plot.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestRow {
    pub label: String,
    pub estimate: f64,
    pub lower: f64,
    pub upper: f64,
    /// A pooled estimate (drawn as a diamond) rather than one evaluation (a square).
    pub pooled: bool,
}

/// Texts of a forest plot (already translated).
#[derive(Debug, Clone)]
pub struct ForestText {
    /// Unique within the page (used for `aria-labelledby`).
    pub id: String,
    pub title: String,
    pub description: String,
    pub axis: String,
}

fn number(x: f64) -> String {
    format!("{x:.1}")
}

/// A "nice" tick step (1, 2 or 5 × 10ⁿ) giving about five ticks over `span`.
fn tick_step(span: f64) -> f64 {
    let raw = span / 5.0;
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let unit = raw / magnitude;
    let nice = if unit <= 1.0 {
        1.0
    } else if unit <= 2.0 {
        2.0
    } else if unit <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

fn tick_label(value: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        // Enough decimals to tell the ticks apart (step 0.05 → 2).
        let d = -step.log10().floor();
        if d.is_finite() && d > 0.0 && d < 10.0 {
            d as usize
        } else {
            2
        }
    };
    let text = format!("{value:.decimals$}");
    // "-0" and "-0.00" read as zero.
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_string()
    } else {
        text.replace('-', "−")
    }
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(LABEL_CHARS.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// A forest plot: one row per effect (confidence interval line with a square, or a diamond
/// for a pooled estimate), a vertical line at zero and a ticked axis. Rows whose numbers are
/// not finite are left out. `None` when no row can be drawn.
pub fn forest_plot(rows: &[ForestRow], text: &ForestText) -> Option<String> {
    let rows: Vec<&ForestRow> = rows
        .iter()
        .filter(|r| r.estimate.is_finite() && r.lower.is_finite() && r.upper.is_finite())
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut low = 0.0f64;
    let mut high = 0.0f64;
    for r in &rows {
        low = low.min(r.lower).min(r.estimate);
        high = high.max(r.upper).max(r.estimate);
    }
    let step = tick_step(high - low);
    let low = (low / step).floor() * step;
    let mut high = (high / step).ceil() * step;
    if high <= low {
        high = low + step;
    }
    let x = |v: f64| PLOT_LEFT + (v - low) / (high - low) * (PLOT_RIGHT - PLOT_LEFT);
    let plot_bottom = TOP + ROW_HEIGHT * rows.len() as f64;
    let height = plot_bottom + AXIS_SPACE;
    let id = escape(&text.id);

    let mut s = String::new();
    // `write!` to a String cannot fail.
    let _ = write!(
        s,
        r#"<svg class="forest-plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {h}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" font-family="sans-serif" font-size="12">"#,
        h = number(height),
    );
    let _ = write!(
        s,
        r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(&text.title),
        escape(&text.description)
    );
    // Axis, ticks and grid.
    let _ = write!(
        s,
        r##"<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#555" stroke-width="1"/>"##,
        l = number(PLOT_LEFT),
        r = number(PLOT_RIGHT),
        b = number(plot_bottom),
    );
    let ticks = ((high - low) / step).round();
    if ticks.is_finite() && ticks > 0.0 && ticks <= 20.0 {
        for i in 0..=(ticks as u32) {
            let v = low + f64::from(i) * step;
            let tx = number(x(v));
            let _ = write!(
                s,
                r##"<line x1="{tx}" y1="{b}" x2="{tx}" y2="{e}" stroke="#555" stroke-width="1"/><text x="{tx}" y="{ty}" text-anchor="middle" fill="#222">{}</text>"##,
                escape(&tick_label(v, step)),
                b = number(plot_bottom),
                e = number(plot_bottom + 5.0),
                ty = number(plot_bottom + 18.0),
            );
        }
    }
    let _ = write!(
        s,
        r##"<text x="{cx}" y="{y}" text-anchor="middle" fill="#222">{}</text>"##,
        escape(&text.axis),
        cx = number((PLOT_LEFT + PLOT_RIGHT) / 2.0),
        y = number(plot_bottom + 38.0),
    );
    // The line of no effect.
    let zero = number(x(0.0));
    let _ = write!(
        s,
        r##"<line class="zero" x1="{zero}" y1="{t}" x2="{zero}" y2="{b}" stroke="#222" stroke-width="1" stroke-dasharray="4 3"/>"##,
        t = number(TOP - 4.0),
        b = number(plot_bottom),
    );
    for (i, r) in rows.iter().enumerate() {
        let cy = TOP + ROW_HEIGHT * (i as f64 + 0.5);
        let full = format!(
            "{}: {:.2} [{:.2}, {:.2}]",
            r.label, r.estimate, r.lower, r.upper
        );
        let weight = if r.pooled { "bold" } else { "normal" };
        let _ = write!(
            s,
            r##"<g class="{class}"><title>{}</title><text x="{lx}" y="{ty}" text-anchor="end" font-weight="{weight}" fill="#222">{}</text>"##,
            escape(&full),
            escape(&shorten(&r.label)),
            class = if r.pooled { "pooled" } else { "effect" },
            lx = number(PLOT_LEFT - 8.0),
            ty = number(cy + 4.0),
        );
        let (x1, x2, xe) = (x(r.lower), x(r.upper), x(r.estimate));
        if r.pooled {
            let _ = write!(
                s,
                r##"<polygon points="{a},{cy} {xe},{top} {b},{cy} {xe},{bottom}" fill="#7a1f5c" stroke="#4a0f38" stroke-width="1"/>"##,
                a = number(x1),
                b = number(x2),
                xe = number(xe),
                cy = number(cy),
                top = number(cy - 7.0),
                bottom = number(cy + 7.0),
            );
        } else {
            let _ = write!(
                s,
                r##"<line x1="{a}" y1="{cy}" x2="{b}" y2="{cy}" stroke="#1f4e7a" stroke-width="2"/><rect x="{sx}" y="{sy}" width="9" height="9" fill="#1f4e7a"/>"##,
                a = number(x1),
                b = number(x2),
                cy = number(cy),
                sx = number(xe - 4.5),
                sy = number(cy - 4.5),
            );
        }
        s.push_str("</g>");
    }
    s.push_str("</svg>");
    Some(s)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn text() -> ForestText {
        ForestText {
            id: "forest".into(),
            title: "Effects <b>".into(),
            description: "d & e".into(),
            axis: "SMD".into(),
        }
    }

    #[test]
    fn escapes_every_text() {
        let rows = [ForestRow {
            label: "<script>alert(1)</script>".into(),
            estimate: 0.2,
            lower: -0.1,
            upper: 0.5,
            pooled: false,
        }];
        let svg = forest_plot(&rows, &text()).unwrap_or_default();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("Effects &lt;b&gt;"));
        assert!(svg.contains("d &amp; e"));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains("viewBox"));
    }

    #[test]
    fn draws_squares_diamonds_and_zero() {
        let rows = [
            ForestRow {
                label: "a".into(),
                estimate: 0.3,
                lower: 0.1,
                upper: 0.5,
                pooled: false,
            },
            ForestRow {
                label: "pooled".into(),
                estimate: 0.3,
                lower: 0.2,
                upper: 0.4,
                pooled: true,
            },
            ForestRow {
                label: "nan".into(),
                estimate: f64::NAN,
                lower: 0.0,
                upper: 1.0,
                pooled: false,
            },
        ];
        let svg = forest_plot(&rows, &text()).unwrap_or_default();
        assert_eq!(svg.matches("<rect").count(), 1);
        assert_eq!(svg.matches("<polygon").count(), 1);
        assert!(svg.contains(r#"class="zero""#));
        assert!(!svg.contains(">nan<"));
        assert!(forest_plot(&rows[2..], &text()).is_none());
    }

    #[test]
    fn ticks_are_nice() {
        assert!((tick_step(1.0) - 0.2).abs() < 1e-12);
        assert!((tick_step(0.37) - 0.1).abs() < 1e-12);
        assert!((tick_step(12.0) - 5.0).abs() < 1e-12);
        assert_eq!(tick_label(-0.0, 0.2), "0.0");
        assert_eq!(tick_label(-0.4, 0.2), "−0.4");
    }
}
