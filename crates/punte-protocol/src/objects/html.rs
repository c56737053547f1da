//! The HTML that generic Fediverse software shows for Punte objects (`content`, `summary`):
//! plain text escaped and split into paragraphs, with section headings in the text's language.

use punte_model::{LangMap, LanguageTag};

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Plain text as HTML paragraphs: blank lines separate `<p>`s, single line breaks become
/// `<br>`, everything escaped. Empty text gives an empty string.
pub fn render_text_html(text: &str) -> String {
    let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::new();
    for paragraph in normalised.split("\n\n") {
        let paragraph = paragraph.trim();
        if paragraph.is_empty() {
            continue;
        }
        out.push_str("<p>");
        let lines: Vec<String> = paragraph.lines().map(|l| escape_html(l.trim())).collect();
        out.push_str(&lines.join("<br>"));
        out.push_str("</p>");
    }
    out
}

/// Section headings (problem, solution) for a language; English when unknown.
fn headings(lang: &LanguageTag) -> (&'static str, &'static str) {
    match lang.primary() {
        "ro" => ("Problema", "Soluția"),
        "it" => ("Problema", "Soluzione"),
        "es" => ("Problema", "Solución"),
        "pt" => ("Problema", "Solução"),
        "fr" => ("Problème", "Solution"),
        "de" => ("Problem", "Lösung"),
        _ => ("Problem", "Solution"),
    }
}

/// The `contentMap` of a practice: for every language the problem or the solution is given
/// in, `<h2>Problem</h2><p>…</p><h2>Solution</h2><p>…</p>` (the sections present in that
/// language), in tag order.
pub(crate) fn practice_content(
    problem: &LangMap,
    solution: &LangMap,
) -> Vec<(LanguageTag, String)> {
    let mut languages: Vec<&LanguageTag> =
        problem.languages().chain(solution.languages()).collect();
    languages.sort();
    languages.dedup();
    languages
        .into_iter()
        .map(|lang| {
            let (problem_heading, solution_heading) = headings(lang);
            let mut html = String::new();
            for (heading, text) in [
                (problem_heading, problem.get(lang)),
                (solution_heading, solution.get(lang)),
            ] {
                if let Some(text) = text {
                    html.push_str("<h2>");
                    html.push_str(heading);
                    html.push_str("</h2>");
                    html.push_str(&render_text_html(text));
                }
            }
            (lang.clone(), html)
        })
        .collect()
}
