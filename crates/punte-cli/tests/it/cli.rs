//! The commands an operator types.

use crate::{init, ok, punte};

#[test]
fn init_token_practice_indicator_evaluation_export_and_backup() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&punte(
        d,
        &[
            "init",
            "--name",
            "Asociația Exemplu",
            "--country",
            "RO",
            "--base-url",
            "https://ngo.example.org/",
            "--languages",
            "ro,en",
        ],
    ));
    let out = ok(&punte(
        d,
        &["token", "create", "--role", "editor", "--label", "laptop"],
    ));
    let token = out.lines().last().unwrap();
    assert!(token.starts_with("punte_") && token.len() > 40, "{out}");
    assert!(ok(&punte(d, &["token", "list"])).contains("editor"));

    std::fs::write(
        d.join("practice.toml"),
        r#"
originalLanguage = "ro"
country = "RO"
maturity = "good"
themes = ["education"]
[title]
ro = "Școala de după școală"
en = "After-school club"
[summary]
ro = "Sprijin la teme"
[problem]
ro = "Abandon școlar"
[solution]
ro = "Mentori voluntari"
[period]
start = 2024-09-01
"#,
    )
    .unwrap();
    let added = ok(&punte(d, &["practice", "add", "practice.toml"]));
    let practice: serde_json::Value = serde_json::from_str(&added).unwrap();
    let id = practice["id"].as_str().unwrap();
    assert_eq!(practice["period"]["start"], "2024-09-01");
    let listed = ok(&punte(d, &["practice", "list", "--query", "scoala"]));
    assert!(listed.contains(id), "{listed}");
    assert!(ok(&punte(d, &["practice", "show", id])).contains("Mentori voluntari"));

    std::fs::write(
        d.join("catalogue.csv"),
        "code,version,label:en,label:ro,unit,measure,direction,aggregation\nparticipants,1,Participants,Participanți,persons,count,increase,sum\n",
    )
    .unwrap();
    assert!(ok(&punte(d, &["indicator", "import", "catalogue.csv"])).contains("participants@1"));
    assert!(ok(&punte(d, &["indicator", "list"])).contains("participants@1"));

    let evaluation = serde_json::json!({
        "subject": {"practice": id}, "evaluator": {"name": "Ana", "role": "internal"}, "method": "monitoring",
        "evidenceLevel": 2, "period": {"start": "2024-09-01"},
        "values": [{"indicator": "participants@1", "actual": 42, "n": 42}]
    });
    std::fs::write(d.join("evaluation.json"), evaluation.to_string()).unwrap();
    ok(&punte(d, &["evaluation", "add", "evaluation.json"]));
    assert!(ok(&punte(d, &["evaluation", "list"])).contains(id));

    let export: serde_json::Value = serde_json::from_str(&ok(&punte(d, &["export"]))).unwrap();
    assert_eq!(export["baseUrl"], "https://ngo.example.org");
    assert_eq!(export["practices"].as_array().unwrap().len(), 1);
    assert_eq!(export["evaluations"].as_array().unwrap().len(), 1);

    ok(&punte(d, &["backup", "copy.db"]));
    let copy = d.join("copy.db").metadata().unwrap();
    assert!(copy.len() > 0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            copy.permissions().mode() & 0o777,
            0o600,
            "backups are private"
        );
    }
    let again = punte(d, &["backup", "copy.db"]);
    assert!(
        !again.status.success(),
        "an existing backup is never overwritten"
    );
    // the copy is a working database: a node opened on it sees the practice
    std::fs::create_dir_all(d.join("restored")).unwrap();
    std::fs::copy(d.join("copy.db"), d.join("restored/punte.db")).unwrap();
    let restored = ok(&punte(d, &["--data-dir", "restored", "practice", "list"]));
    assert!(restored.contains(id), "{restored}");
}

#[test]
fn bad_files_and_config_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // outside a node's folder, commands refuse instead of creating an empty node
    let out = punte(d, &["practice", "list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("punte init"));
    assert!(!d.join("punte-data").exists());
    init(d);
    std::fs::write(d.join("bad.json"), r#"{"title": {"ro": "x"}, "summary": {"ro": "x"}, "problem": {"ro": "x"}, "solution": {"ro": "x"}, "originalLanguage": "ro", "country": "ROM", "maturity": "good"}"#).unwrap();
    let out = punte(d, &["practice", "add", "bad.json"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("country") && err.contains("ROM"), "{err}");

    std::fs::write(d.join("punte.toml"), "[server]\nlisen = \"127.0.0.1:1\"\n").unwrap();
    let out = punte(d, &["--config", "punte.toml", "practice", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lisen"));

    let out = punte(
        d,
        &[
            "init",
            "--name",
            "X",
            "--country",
            "XX",
            "--base-url",
            "https://x.example",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--country"));
}

#[cfg(unix)]
#[test]
fn keys_are_private_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let keys = dir.path().join("punte-data/keys");
    assert_eq!(
        std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for f in ["identity.ed25519.pem", "witness.ed25519.pem", "rsa.pem"] {
        assert_eq!(
            std::fs::metadata(keys.join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600,
            "{f}"
        );
    }
    // a key readable by others is refused with the fix spelled out
    std::fs::set_permissions(keys.join("rsa.pem"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = punte(dir.path(), &["token", "list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
}

#[test]
fn members_commands_show_the_state_and_explain_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d);
    assert!(ok(&punte(d, &["members", "list"])).contains("no membership list"));
    let status = ok(&punte(d, &["members", "status"]));
    assert!(
        status.contains("(none configured)") && status.contains("members only: false"),
        "{status}"
    );
    let out = punte(d, &["members", "remove", "https://x.example/actor"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a current member"));
    let out = punte(
        d,
        &[
            "members",
            "admit",
            "https://x.example/actor",
            "--country",
            "XX",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("'XX'"));

    std::fs::write(
        d.join("punte.toml"),
        "[membership]\ncoordinator = \"https://coord.example/actor\"\nmembers_only = true\n",
    )
    .unwrap();
    let status = ok(&punte(d, &["--config", "punte.toml", "members", "status"]));
    assert!(
        status.contains("coordinator: https://coord.example/actor")
            && status.contains("members only: true")
            && status.contains("none known yet"),
        "{status}"
    );
}
