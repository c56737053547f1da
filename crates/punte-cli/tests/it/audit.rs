//! `punte audit` against real nodes whose database files are tampered with directly: each
//! kind of tampering is named precisely, an untouched node audits clean, and the evidence
//! bundle re-verifies offline with the same findings.

use std::path::{Path, PathBuf};
use std::process::{Child, Output};

use serde_json::Value;

use crate::{ok, punte, serve};

/// A node's data directory with an editor token; the node runs while `child` is set.
struct TestNode {
    dir: tempfile::TempDir,
    token: String,
    child: Option<Child>,
    base: String,
    practices: usize,
}

impl TestNode {
    fn new() -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        ok(&punte(
            dir.path(),
            &[
                "init",
                "--name",
                "Audited",
                "--country",
                "RO",
                "--base-url",
                "https://audited.example.org",
            ],
        ));
        let token = ok(&punte(dir.path(), &["token", "create", "--role", "editor"]))
            .lines()
            .last()
            .unwrap()
            .to_string();
        let mut node = TestNode {
            dir,
            token,
            child: None,
            base: String::new(),
            practices: 0,
        };
        node.start();
        node
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn db_path(&self) -> PathBuf {
        self.path().join("punte-data").join("punte.db")
    }

    fn start(&mut self) {
        let (child, base) = serve(self.path());
        self.child = Some(child);
        self.base = base;
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Creates `n` practices through the API (one log entry each).
    fn add_practices(&mut self, n: usize, label: &str) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = reqwest::Client::new();
        for _ in 0..n {
            self.practices += 1;
            let body = serde_json::json!({
                "title": {"en": format!("{label} practice {}", self.practices)},
                "summary": {"en": "s"}, "problem": {"en": "p"}, "solution": {"en": "s"},
                "originalLanguage": "en", "country": "RO", "maturity": "innovation"
            });
            let status = runtime.block_on(async {
                client
                    .post(format!("{}/api/v1/practices", self.base))
                    .bearer_auth(&self.token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
            assert_eq!(status, 201);
        }
    }

    /// The node's first published key, as an auditor would pin it.
    fn vkey(&self) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            reqwest::get(format!("{}/log/key", self.base))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .to_string()
        })
    }

    /// Runs SQL on the stopped node's database file, then restarts the node.
    fn tamper(&mut self, sql: &str) {
        self.tamper_with(|db| db.execute_batch(sql).unwrap());
    }

    fn tamper_with(&mut self, f: impl FnOnce(&rusqlite::Connection)) {
        self.stop();
        let db = rusqlite::Connection::open(self.db_path()).unwrap();
        f(&db);
        drop(db);
        self.start();
    }

    fn log_size(&self) -> u64 {
        let db = rusqlite::Connection::open(self.db_path()).unwrap();
        db.query_row("SELECT count(*) FROM log_entries", [], |r| r.get(0))
            .unwrap()
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `punte audit ARGS --json --quiet` in `dir`; returns the exit code and the report.
fn audit(dir: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["audit", "--json", "--quiet"];
    all.extend_from_slice(args);
    let output: Output = punte(dir, &all);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&stdout)
        .map_err(|e| {
            format!(
                "audit printed no JSON ({e}): {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
        .unwrap();
    (output.status.code().unwrap(), report)
}

/// The error findings as (kind, index).
fn errors(report: &Value) -> Vec<(String, Option<u64>)> {
    assert!(report["findings"].is_array(), "{report:#}");
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| (f["kind"].as_str().unwrap().to_string(), f["index"].as_u64()))
        .collect()
}

/// Audits `node` with a bundle, checks the exit code and that the bundle re-verifies
/// offline with the same findings; returns the report.
fn audit_with_bundle(node: &TestNode, key: &str, expect_code: i32) -> Value {
    let bundle = node.path().join("evidence.bundle.json");
    let (code, report) = audit(
        node.path(),
        &[
            &node.base,
            "--key",
            key,
            "--bundle",
            bundle.to_str().unwrap(),
        ],
    );
    assert_eq!(code, expect_code, "{report:#}");
    let (offline_code, offline) = audit(node.path(), &["--offline", bundle.to_str().unwrap()]);
    assert_eq!(offline_code, expect_code, "{offline:#}");
    assert_eq!(offline["reproduced"], true, "{offline:#}");
    assert_eq!(offline["findings"], report["findings"]);
    report
}

#[test]
fn an_untouched_node_audits_clean_in_full_incremental_and_offline() {
    let mut node = TestNode::new();
    node.add_practices(3, "clean");
    let key = node.vkey();
    let report = audit_with_bundle(&node, &key, 0);
    assert_eq!(report["clean"], true);
    assert_eq!(report["mode"], "full");
    assert_eq!(report["anchor"]["source"], "given");
    let size = node.log_size();
    assert!(size >= 3);
    assert_eq!(report["size"], size);
    assert_eq!(report["entries"], size);

    // Trust on first use is said so.
    let (code, tofu) = audit(node.path(), &[&node.base]);
    assert_eq!(code, 0, "{tofu:#}");
    assert_eq!(tofu["anchor"]["source"], "first-use");
    let text = ok(&punte(node.path(), &["audit", "--quiet", &node.base]));
    assert!(
        text.contains("CLEAN") && text.contains("TRUSTED ON FIRST USE"),
        "{text}"
    );

    // The state saved beside the bundle resumes an incremental audit.
    node.add_practices(2, "more");
    let state = node.path().join("evidence.state.json");
    assert!(state.exists());
    let (code, incremental) = audit(
        node.path(),
        &[&node.base, "--since", state.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{incremental:#}");
    assert_eq!(incremental["mode"], "incremental");
    assert_eq!(incremental["from_index"], size);
    assert_eq!(incremental["size"], node.log_size());
}

#[test]
fn a_changed_activity_is_tampered_at_its_index() {
    let mut node = TestNode::new();
    node.add_practices(3, "tamper");
    let key = node.vkey();
    node.tamper(
        "UPDATE log_entries SET activity = CAST('{\"forged\":true}' AS BLOB) WHERE idx = 1",
    );
    let report = audit_with_bundle(&node, &key, 1);
    assert_eq!(errors(&report), vec![("tampered".to_string(), Some(1))]);
}

#[test]
fn a_deleted_entry_is_missing() {
    let mut node = TestNode::new();
    node.add_practices(4, "delete");
    let key = node.vkey();
    node.tamper("DELETE FROM log_entries WHERE idx = 2");
    let report = audit_with_bundle(&node, &key, 1);
    let found = errors(&report);
    assert!(
        found.contains(&("missing".to_string(), Some(2))),
        "{report:#}"
    );
}

#[test]
fn swapped_entries_are_reordered() {
    let mut node = TestNode::new();
    node.add_practices(4, "swap");
    let key = node.vkey();
    node.tamper(
        "CREATE TEMP TABLE s AS SELECT idx, entry, activity FROM log_entries WHERE idx IN (1, 2);
         UPDATE log_entries SET entry = (SELECT entry FROM s WHERE s.idx = 3 - log_entries.idx),
                                activity = (SELECT activity FROM s WHERE s.idx = 3 - log_entries.idx)
         WHERE idx IN (1, 2);",
    );
    let report = audit_with_bundle(&node, &key, 1);
    let kinds: Vec<String> = errors(&report).into_iter().map(|(k, _)| k).collect();
    assert!(
        kinds.iter().any(|k| k == "reordered") && kinds.iter().any(|k| k == "prev_root_mismatch"),
        "{report:#}"
    );
    assert!(errors(&report).contains(&("reordered".to_string(), Some(2))));
}

#[test]
fn an_altered_checkpoint_is_invalid() {
    let mut node = TestNode::new();
    node.add_practices(3, "checkpoint");
    let key = node.vkey();
    // The latest checkpoint claims another root (its third line).
    node.tamper_with(|db| {
        let (size, note): (i64, String) = db
            .query_row(
                "SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let mut lines: Vec<&str> = note.split('\n').collect();
        assert_ne!(lines[2], "ERERERERERERERERERERERERERERERERERERERERERE=");
        lines[2] = "ERERERERERERERERERERERERERERERERERERERERERE=";
        db.execute(
            "UPDATE log_checkpoints SET note = ?1 WHERE size = ?2",
            rusqlite::params![lines.join("\n"), size],
        )
        .unwrap();
    });
    let report = audit_with_bundle(&node, &key, 1);
    let kinds: Vec<String> = errors(&report).into_iter().map(|(k, _)| k).collect();
    assert!(
        kinds.iter().any(|k| k == "checkpoint_invalid"),
        "{report:#}"
    );
}

#[test]
fn a_fork_is_inconsistent_with_the_saved_checkpoint() {
    let mut node = TestNode::new();
    node.add_practices(2, "shared");
    let old = node.path().join("old.db");
    ok(&punte(node.path(), &["backup", old.to_str().unwrap()]));
    node.add_practices(2, "first history");
    let key = node.vkey();
    let state = node.path().join("first.state.json");
    let (code, first) = audit(
        node.path(),
        &[
            &node.base,
            "--key",
            &key,
            "--save-state",
            state.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{first:#}");
    let first_size = first["size"].as_u64().unwrap();

    // Restore the old copy and write a different history on it.
    node.stop();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", node.db_path().display()));
    }
    std::fs::copy(&old, node.db_path()).unwrap();
    node.start();
    node.add_practices(3, "forked history");
    assert!(node.log_size() > first_size);

    let bundle = node.path().join("fork.bundle.json");
    let (code, report) = audit(
        node.path(),
        &[
            &node.base,
            "--since",
            state.to_str().unwrap(),
            "--bundle",
            bundle.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{report:#}");
    let kinds: Vec<String> = errors(&report).into_iter().map(|(k, _)| k).collect();
    assert!(kinds.iter().any(|k| k == "inconsistent"), "{report:#}");
    assert!(!bundle.with_file_name("fork.state.json").exists());
    let (code, offline) = audit(node.path(), &["--offline", bundle.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(offline["reproduced"], true, "{offline:#}");
}

#[test]
fn an_unreachable_node_could_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report) = audit(dir.path(), &["http://127.0.0.1:9", "--timeout", "5"]);
    assert_eq!(code, 2);
    assert!(report["error"].as_str().unwrap().contains("127.0.0.1:9"));
    let (code, _) = audit(dir.path(), &["--offline", "missing.json"]);
    assert_eq!(code, 2);
}

#[test]
fn several_nodes_get_one_report_each() {
    let mut clean = TestNode::new();
    clean.add_practices(1, "first node");
    let mut tampered = TestNode::new();
    tampered.add_practices(2, "second node");
    tampered.tamper("UPDATE log_entries SET activity = CAST('x' AS BLOB) WHERE idx = 0");
    let out = clean.path().join("bundles");
    let (code, reports) = audit(
        clean.path(),
        &[
            &clean.base,
            &tampered.base,
            "--bundle",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{reports:#}");
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["clean"], true);
    assert_eq!(errors(&reports[1]), vec![("tampered".to_string(), Some(0))]);
    let bundles = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".bundle.json")
        })
        .count();
    assert_eq!(bundles, 2);
}

/// A partner that serves `body` for every request (its kept checkpoints, as a node's
/// `/federation/checkpoints` would); returns its base URL.
fn fake_partner(body: String) -> String {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0_u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

#[test]
fn a_fork_only_a_partner_saw_fails_the_audit_its_bundle_and_saves_no_state() {
    let mut node = TestNode::new();
    node.add_practices(2, "shared");
    let old = node.path().join("old.db");
    ok(&punte(node.path(), &["backup", old.to_str().unwrap()]));
    node.add_practices(2, "shown to the partner");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let get = |url: String| {
        runtime.block_on(async { reqwest::get(url).await.unwrap().text().await.unwrap() })
    };
    let seen_by_partner = get(format!("{}/log/checkpoint", node.base));
    let size = node.log_size();
    let key = node.vkey();

    // The node goes back to the copy and writes another history of the same size: its own
    // log is consistent, only the partner's kept checkpoint shows the fork.
    node.stop();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", node.db_path().display()));
    }
    std::fs::copy(&old, node.db_path()).unwrap();
    node.start();
    node.add_practices(2, "shown to the auditor");
    assert_eq!(node.log_size(), size);
    let served = get(format!("{}/log/checkpoint", node.base));
    assert_ne!(served, seen_by_partner);
    let origin = served.lines().next().unwrap().to_owned();
    let partner = fake_partner(
        serde_json::json!({"items": [{"origin": origin, "checkpoint": seen_by_partner}]})
            .to_string(),
    );

    let bundle = node.path().join("partner-fork.bundle.json");
    let (code, report) = audit(
        node.path(),
        &[
            &node.base,
            "--key",
            &key,
            "--partner",
            &partner,
            "--bundle",
            bundle.to_str().unwrap(),
            "--evidence",
            node.path().join("fork.evidence.json").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["clean"], false);
    let kinds: Vec<String> = errors(&report).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, ["equivocation"], "{report:#}");
    // No state to resume from: an audit resumed later would start from the forked root.
    assert!(!node.path().join("partner-fork.state.json").exists());

    // The bundle carries the whole verdict, and re-verifies to it without the network.
    let written: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert_eq!(written["report"]["clean"], false);
    assert_eq!(written["report"]["findings"], report["findings"]);
    let (offline_code, offline) = audit(node.path(), &["--offline", bundle.to_str().unwrap()]);
    assert_eq!(offline_code, 1, "{offline:#}");
    assert_eq!(offline["reproduced"], true, "{offline:#}");
    assert_eq!(offline["findings"], report["findings"]);

    // A bundle whose recorded verdict was edited to look clean does not reproduce.
    let mut edited = written.clone();
    edited["report"]["clean"] = Value::Bool(true);
    edited["report"]["findings"] = serde_json::json!([]);
    let edited_path = node.path().join("edited.bundle.json");
    std::fs::write(&edited_path, serde_json::to_vec(&edited).unwrap()).unwrap();
    let (edited_code, edited) = audit(node.path(), &["--offline", edited_path.to_str().unwrap()]);
    assert_eq!(edited_code, 1, "{edited:#}");
    assert_eq!(edited["reproduced"], false, "{edited:#}");
}

#[test]
fn a_practice_edited_in_the_database_is_refused_found_by_the_audit_and_by_punte_check() {
    let mut node = TestNode::new();
    node.add_practices(2, "edited");
    let key = node.vkey();
    let (id, index): (String, u64) = {
        let db = rusqlite::Connection::open(node.db_path()).unwrap();
        db.query_row(
            "SELECT v.id, v.log_index FROM document_versions v JOIN documents d USING (kind, id)
             WHERE v.kind = 'practice' ORDER BY d.seq LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    ok(&punte(node.path(), &["check"]));
    node.tamper(&format!(
        "UPDATE document_versions SET body = json_set(body, '$.title.en', 'Edited in the database')
         WHERE kind = 'practice' AND id = '{id}'"
    ));

    // Neither the AS2 object nor the HTML page is served.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let get = |accept: &str| {
        runtime.block_on(async {
            let r = reqwest::Client::new()
                .get(format!("{}/practices/{id}", node.base))
                .header("Accept", accept)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    };
    let (status, body) = get("application/activity+json");
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("unlogged-change") && !body.contains("Edited in"),
        "{body}"
    );
    let (status, body) = get("text/html");
    assert_eq!(status, 500);
    assert!(!body.contains("Edited in"), "{body}");

    // The audit names the object and the entry that published it; offline too.
    let report = audit_with_bundle(&node, &key, 1);
    assert_eq!(
        errors(&report),
        vec![("unlogged_change".to_string(), Some(index))],
        "{report:#}"
    );
    let finding = &report["findings"][0];
    assert!(
        finding["message"].as_str().unwrap().contains(&id),
        "{finding}"
    );

    // `punte check` finds it too, and says what to do.
    let out = punte(node.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("signed history: ") && text.contains("all sound"),
        "{text}"
    );
    assert!(text.contains(&format!("practice {id} version 1")), "{text}");
    assert!(text.contains("restore the latest backup"), "{text}");
}

#[test]
fn a_damaged_log_makes_the_node_refuse_to_append_at_start_and_punte_check_says_so() {
    let mut node = TestNode::new();
    node.add_practices(3, "damaged");
    node.tamper(
        "UPDATE log_entries SET activity = CAST('{\"forged\":true}' AS BLOB) WHERE idx = 1",
    );
    // The check at start found it: no more appends, with a message saying how to recover.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, body) = runtime.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/practices", node.base))
            .bearer_auth(&node.token)
            .json(&serde_json::json!({
                "title": {"en": "after the damage"}, "summary": {"en": "s"},
                "problem": {"en": "p"}, "solution": {"en": "s"},
                "originalLanguage": "en", "country": "RO", "maturity": "innovation"
            }))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("restore the latest backup"), "{body}");
    let out = punte(node.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("DAMAGED") && text.contains("entry 1"),
        "{text}"
    );
}

#[test]
fn a_lost_tail_is_missing_with_its_range() {
    let mut node = TestNode::new();
    node.add_practices(5, "tail");
    let key = node.vkey();
    let size = node.log_size();
    node.tamper("DELETE FROM log_entries WHERE idx >= 3");
    let report = audit_with_bundle(&node, &key, 1);
    let missing: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "missing")
        .collect();
    assert_eq!(missing.len(), 1, "{report:#}");
    assert_eq!(missing[0]["index"], 3);
    assert_eq!(missing[0]["detail"]["to"], size - 1, "{report:#}");
}
