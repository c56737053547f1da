//! `config/punte.example.toml` documents exactly the defaults, and every key there is.

use punte_server::Config;

use crate::repo_file;

/// Every `section.key` of [`Config`]. The test below checks this list against the struct
/// itself (through serde's "expected one of" error), so a new key fails here until it is
/// added to this list and documented in the example file.
const KEYS: &[&str] = &[
    "server.listen",
    "server.base_url",
    "server.max_body_bytes",
    "server.body_read_timeout_secs",
    "server.shutdown_timeout_secs",
    "server.workers",
    "storage.data_dir",
    "federation.allow_private_addresses",
    "federation.username",
    "federation.auto_approve_follows",
    "federation.authorized_fetch",
    "federation.signature_window_secs",
    "federation.retry_base_ms",
    "federation.retry_max_delay_secs",
    "federation.give_up_after_hours",
    "federation.breaker_threshold",
    "federation.breaker_max_pause_secs",
    "federation.delivery_concurrency",
    "federation.replica_poll_interval_secs",
    "federation.require_partner_witnesses",
    "federation.require_partner_countries",
    "federation.stranger_activities_max",
    "federation.stranger_activities_days",
    "disclosure.k",
    "witness.min_cosignatures",
    "witness.distinct_countries",
    "membership.coordinator",
    "membership.members_only",
    "logging.level",
    "logging.format",
];

fn example() -> String {
    repo_file("config/punte.example.toml")
}

/// The names serde lists after "expected" in an unknown-field error: the struct's fields.
/// The list ends its line; a next line may name the section (``in `server` ``).
fn expected_names(error: &str) -> Vec<String> {
    let (_, after) = error
        .split_once("expected")
        .unwrap_or_else(|| panic!("no list of expected names in: {error}"));
    let list = after.lines().next().unwrap_or_default();
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn sections() -> Vec<String> {
    let mut names: Vec<String> = KEYS
        .iter()
        .filter_map(|k| k.split_once('.'))
        .map(|(s, _)| s.to_string())
        .collect();
    names.dedup();
    names
}

/// The text of `[section]` in the example file, up to the next section header.
fn section_text<'a>(file: &'a str, section: &str) -> &'a str {
    let header = format!("\n[{section}]\n");
    let start = file
        .find(&header)
        .unwrap_or_else(|| panic!("no [{section}] in the example file"))
        + header.len();
    let rest = &file[start..];
    let end = rest.find("\n[").unwrap_or(rest.len());
    &rest[..end]
}

/// Key names assigned in a section, whether the line is live or commented out (`# key = …`).
fn assigned_keys(section: &str) -> Vec<String> {
    section
        .lines()
        .map(|l| l.trim_start().trim_start_matches('#').trim_start())
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, _)| k.to_string())
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .collect()
}

#[test]
fn the_example_file_documents_exactly_the_defaults() {
    let text = example();
    let loaded = Config::load(Some(("punte.example.toml", &text)), std::iter::empty());
    assert_eq!(loaded.expect("the example file loads"), Config::default());
}

#[test]
fn the_key_list_is_every_field_of_the_config_struct() {
    let error = Config::load(Some(("t.toml", "[no_such_section]\n")), std::iter::empty())
        .expect_err("an unknown section is an error")
        .to_string();
    let mut from_struct = expected_names(&error);
    let mut listed = sections();
    from_struct.sort();
    listed.sort();
    assert_eq!(listed, from_struct, "sections of Config vs the KEYS list");

    for section in sections() {
        let file = format!("[{section}]\nno_such_key = 1\n");
        let error = Config::load(Some(("t.toml", &file)), std::iter::empty())
            .expect_err("an unknown key is an error")
            .to_string();
        let mut from_struct = expected_names(&error);
        let mut listed: Vec<String> = KEYS
            .iter()
            .filter_map(|k| k.split_once('.'))
            .filter(|(s, _)| *s == section)
            .map(|(_, k)| k.to_string())
            .collect();
        from_struct.sort();
        listed.sort();
        assert_eq!(listed, from_struct, "keys of [{section}] vs the KEYS list");
    }
}

#[test]
fn every_key_is_documented_in_its_section_with_its_environment_variable() {
    let text = example();
    for key in KEYS {
        let (section, name) = key.split_once('.').expect("section.key");
        let body = section_text(&text, section);
        assert!(
            assigned_keys(body).iter().any(|k| k == name),
            "{key} is not in [{section}] of the example file"
        );
        let env = format!(
            "PUNTE_{}__{}",
            section.to_ascii_uppercase(),
            name.to_ascii_uppercase()
        );
        assert!(
            body.contains(&env),
            "{key}: the example file does not name {env}"
        );
    }
}

#[test]
fn the_example_file_names_no_key_that_does_not_exist() {
    let text = example();
    for section in sections() {
        for name in assigned_keys(section_text(&text, &section)) {
            let key = format!("{section}.{name}");
            assert!(
                KEYS.contains(&key.as_str()),
                "the example file documents {key}, which Config does not have"
            );
        }
    }
}

#[test]
fn commented_out_keys_are_valid_when_uncommented() {
    let uncommented: String = example()
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.split_once(" = ").is_some_and(|(k, _)| {
                    KEYS.iter().any(|key| key.ends_with(&format!(".{k}")))
                }) =>
            {
                rest
            }
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let config =
        Config::load(Some(("uncommented", &uncommented)), std::iter::empty()).expect("loads");
    assert_eq!(
        config.server.base_url.as_deref(),
        Some("https://ngo.example.org")
    );
}
