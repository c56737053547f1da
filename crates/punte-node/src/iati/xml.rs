//! The text the IATI writer puts into XML: escaped content and attribute values, comments,
//! and numbers as `xsd:decimal`s without floating-point noise.
//!
//! One escaper for the whole export. Characters XML 1.0 forbids (C0 controls other than tab,
//! line feed and carriage return; U+FFFE; U+FFFF) are dropped: input validation refuses them
//! (`punte_model::lang::check_text_chars`), this is the defence for documents stored or
//! replicated before it did.

use punte_model::lang::is_xml_char;

/// Escapes `text` for element content. Tab and line feed stay as they are; a carriage return
/// becomes `&#13;` so that parsers do not normalise it away.
pub(crate) fn text(text: &str) -> String {
    escape(text, false)
}

/// Escapes `value` for an attribute value in double quotes. Tab, line feed and carriage return
/// become character references (a parser would turn them into spaces).
pub(crate) fn attr(value: &str) -> String {
    escape(value, true)
}

fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().filter(|c| is_xml_char(*c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// `<!-- text -->`: forbidden characters dropped, no `--` inside and no `-` at the end (both
/// are not allowed in an XML comment).
pub(crate) fn comment(text: &str) -> String {
    let mut body = String::with_capacity(text.len());
    for c in text.chars().filter(|c| is_xml_char(*c)) {
        if c == '-' && body.ends_with('-') {
            body.push(' ');
        }
        body.push(c);
    }
    if body.ends_with('-') {
        body.push(' ');
    }
    format!("<!-- {body} -->")
}

/// Significant decimal digits kept: `f64::DIGITS` (15), the most that survive any
/// decimal → binary → decimal round trip. A value read from JSON and multiplied once (a
/// proportion ×100) is off by at most an ulp or so, far below the 15th digit, so rounding
/// there removes the noise and keeps every digit the evaluator wrote.
const SIGNIFICANT: usize = f64::DIGITS as usize;

/// `x` as an `xsd:decimal`: the shortest decimal that round-trips, after rounding to 15
/// significant digits (`0.29 × 100` → `29`, `0.1 + 0.2` → `0.3`), never in exponent notation
/// (`1e-7` → `0.0000001`, `1e21` → `1000000000000000000000`); `None` when not finite.
pub(crate) fn decimal(x: f64) -> Option<String> {
    if !x.is_finite() {
        return None;
    }
    // `{:.14e}` rounds correctly to 15 significant digits; parsing it back gives the f64
    // nearest that decimal, and `{}` (Display) prints the shortest round-trip form of it
    // without an exponent.
    let rounded: f64 = format!("{:.*e}", SIGNIFICANT - 1, x).parse().ok()?;
    // near f64::MAX the rounded decimal overflows: print the value itself
    let rounded = if !rounded.is_finite() {
        x
    } else if rounded == 0.0 {
        0.0 // no "-0"
    } else {
        rounded
    };
    Some(format!("{rounded}"))
}

/// Splits 100 % into `n` shares of hundredths of a percent that sum to exactly 100 (the first
/// shares get the remainder): 3 → `33.34`, `33.33`, `33.33`.
pub(crate) fn percentages(n: usize) -> Vec<String> {
    let Ok(n32) = u32::try_from(n) else {
        return Vec::new();
    };
    if n32 == 0 {
        return Vec::new();
    }
    let (share, rest) = (10_000 / n32, 10_000 % n32);
    (0..n32)
        .map(|i| hundredths(share + u32::from(i < rest)))
        .collect()
}

/// `h` hundredths as a decimal: 10000 → `100`, 3334 → `33.34`, 250 → `2.5`.
fn hundredths(h: u32) -> String {
    let (whole, frac) = (h / 100, h % 100);
    match frac {
        0 => whole.to_string(),
        f if f % 10 == 0 => format!("{whole}.{}", f / 10),
        f => format!("{whole}.{f:02}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped_and_forbidden_characters_dropped() {
        assert_eq!(
            text("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(text("x\u{FFFE}y\u{FFFF}z\u{0}\u{C}"), "xyz");
        assert_eq!(text("l1\nl2\tt\r\n"), "l1\nl2\tt&#13;\n");
        assert_eq!(attr("l1\nl2\tt\r"), "l1&#10;l2&#9;t&#13;");
        assert_eq!(
            text("Școală \u{FFFD} \u{1F600}"),
            "Școală \u{FFFD} \u{1F600}"
        );
    }

    #[test]
    fn comments_never_hold_a_double_hyphen() {
        assert_eq!(comment("a--b-"), "<!-- a- -b-  -->");
        assert_eq!(comment("ok\u{FFFF}"), "<!-- ok -->");
        assert!(
            !comment("---")
                .trim_start_matches("<!--")
                .trim_end_matches("-->")
                .contains("--")
        );
    }

    #[test]
    fn numbers_print_without_float_noise() {
        let d = |x: f64| decimal(x).unwrap();
        assert_eq!(0.29 * 100.0, 28.999_999_999_999_996);
        assert_eq!(d(0.29 * 100.0), "29");
        assert_eq!(d(0.57 * 100.0), "57");
        assert_eq!(d(1.1 * 100.0), "110");
        assert_eq!(d(0.1 + 0.2), "0.3");
        assert_eq!(d(0.123 * 100.0), "12.3");
        assert_eq!(d(1e-7), "0.0000001");
        assert_eq!(d(1.5e-10), "0.00000000015");
        assert_eq!(d(-0.0), "0");
        assert_eq!(d(0.0), "0");
        assert_eq!(d(-12.5), "-12.5");
        assert_eq!(d(20.0), "20");
        assert_eq!(d(33.3), "33.3");
        // large values: every digit up to 15 kept, never an exponent
        assert_eq!(d(123_456_789_012_345.0), "123456789012345");
        assert_eq!(d(1e21), "1000000000000000000000");
        assert_eq!(d(f64::MAX).len(), 309);
        assert!(!d(f64::MAX).contains('e'));
        assert_eq!(decimal(f64::NAN), None);
        assert_eq!(decimal(f64::INFINITY), None);
        // what the evaluator wrote is kept (15 significant digits)
        assert_eq!(d(0.123_456_789_012_345), "0.123456789012345");
        assert_eq!(d(2.0 / 3.0), "0.666666666666667");
    }

    #[test]
    fn percentages_sum_to_exactly_one_hundred() {
        assert_eq!(percentages(1), ["100"]);
        assert_eq!(percentages(2), ["50", "50"]);
        assert_eq!(percentages(3), ["33.34", "33.33", "33.33"]);
        assert_eq!(percentages(8), vec!["12.5"; 8]);
        assert!(percentages(0).is_empty());
        for n in 1..=50 {
            let total: u32 = percentages(n)
                .iter()
                .map(|p| {
                    let (w, f) = p.split_once('.').unwrap_or((p, "0"));
                    let f = format!("{f:0<2}");
                    w.parse::<u32>().unwrap() * 100 + f.parse::<u32>().unwrap()
                })
                .sum();
            assert_eq!(total, 10_000, "{n}");
        }
    }
}
