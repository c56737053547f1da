//! Tests of the real `punte` binary: commands, configuration errors, and crash safety.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod audit;
mod cli;
mod crash;
mod federation;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_punte");

/// Runs `punte` with `args` in `dir`, without any PUNTE_ variables from the outside.
pub fn punte(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir).stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("PUNTE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "warn").output().unwrap()
}

pub fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "punte failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Sets up a node in `dir` (`punte init`), as an operator does before anything else.
pub fn init(dir: &Path) {
    ok(&punte(
        dir,
        &[
            "init",
            "--name",
            "Test",
            "--country",
            "RO",
            "--base-url",
            "http://127.0.0.1:1",
        ],
    ));
}

/// Starts `punte serve` on a free port in `dir` and returns the child and its base URL.
pub fn serve(dir: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    // keep draining standard output so the node never blocks on a full pipe
    std::thread::spawn(move || {
        let mut rest = String::new();
        while reader.read_line(&mut rest).is_ok_and(|n| n > 0) {
            rest.clear();
        }
    });
    let address = line
        .split("listening on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
    (child, address.to_string())
}
