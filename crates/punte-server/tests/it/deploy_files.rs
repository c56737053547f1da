//! The files in `deploy/` agree with the node's defaults: port, body limit, stop timeout,
//! and every variable in `punte.env.example` is one the node reads.

use punte_server::Config;

use crate::repo_file;

/// The value of the first `Key=value` line of a systemd unit.
fn unit_value<'a>(unit: &'a str, key: &str) -> &'a str {
    unit.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("the unit has no {key}="))
}

#[test]
fn the_systemd_unit_gives_the_node_time_to_shut_down_cleanly() {
    let unit = repo_file("deploy/punte.service");
    let defaults = Config::default();
    let stop: u64 = unit_value(&unit, "TimeoutStopSec")
        .parse()
        .expect("TimeoutStopSec in seconds");
    assert!(
        stop > defaults.server.shutdown_timeout_secs,
        "TimeoutStopSec={stop} must exceed server.shutdown_timeout_secs={}",
        defaults.server.shutdown_timeout_secs
    );
    assert_eq!(unit_value(&unit, "KillSignal"), "SIGTERM");
    assert_eq!(unit_value(&unit, "StateDirectory"), "punte");
    assert!(unit_value(&unit, "ExecStart").contains("--data-dir /var/lib/punte serve"));
}

#[test]
fn the_reverse_proxies_match_the_default_port_and_body_limit() {
    let defaults = Config::default();
    assert_eq!(
        defaults.server.max_body_bytes,
        1024 * 1024,
        "update deploy/Caddyfile and deploy/nginx.conf"
    );
    let upstream = format!("127.0.0.1:{}", defaults.server.listen.port());

    let caddy = repo_file("deploy/Caddyfile");
    assert!(
        caddy.contains(&format!("reverse_proxy {upstream}")),
        "Caddyfile proxies to {upstream}"
    );
    assert!(
        caddy.contains("max_size 1MiB"),
        "Caddyfile limits bodies to server.max_body_bytes"
    );

    let nginx = repo_file("deploy/nginx.conf");
    assert!(
        nginx.contains(&format!("proxy_pass http://{upstream};")),
        "nginx.conf proxies to {upstream}"
    );
    assert!(
        nginx.contains("client_max_body_size 1m;"),
        "nginx.conf limits bodies to server.max_body_bytes"
    );
    assert!(nginx.contains("proxy_set_header Host $host;"));
}

#[test]
fn every_variable_in_the_env_example_is_read_by_the_node() {
    let text = repo_file("deploy/punte.env.example");
    let flag_variables = [
        "PUNTE_CONFIG",
        "PUNTE_DATA_DIR",
        "PUNTE_LISTEN",
        "PUNTE_BASE_URL",
        "RUST_LOG",
    ];
    let mut config_variables = Vec::new();
    for line in text.lines() {
        let line = line.strip_prefix('#').unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            continue;
        }
        if flag_variables.contains(&name) {
            continue;
        }
        assert!(
            name.starts_with("PUNTE_") && name.contains("__"),
            "{name} is not a variable punte reads"
        );
        config_variables.push((name.to_string(), value.to_string()));
    }
    assert_eq!(config_variables.len(), 10, "one line per config key");
    let config =
        Config::load(None, config_variables).expect("every example variable is a valid config key");
    assert_eq!(
        config.storage.data_dir,
        std::path::PathBuf::from("/var/lib/punte")
    );
    assert_eq!(config.server.workers, 0);
}
