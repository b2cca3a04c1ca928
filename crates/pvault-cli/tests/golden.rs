//! Golden tests: the exact text, streams and exit codes of the `pvault` binary, as a user sees
//! them. The cases are in `tests/cmd/` (see its README.md); `TRYCMD=overwrite cargo test -p
//! pvault-cli --test golden` rewrites their expected output.
//!
//! Every case runs in its own sandbox directory (a fresh temporary directory), with the default
//! pvault home inside it (`$XDG_DATA_HOME/pvault`, `XDG_DATA_HOME` being relative). This file
//! makes sure nothing from the developer's machine leaks in: no `PVAULT_*` variable of the user, no
//! real home, no running agent, no terminal to prompt at.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// The password the cases' profiles are created with (the default PVAULT_PASSWORD of every step).
const PASSWORD: &str = "correct horse battery staple";

/// Where the cases are.
const CASES: &str = "tests/cmd";

#[test]
fn golden() {
    let scratch = tempfile::Builder::new()
        .prefix("pvault-golden-")
        .tempdir()
        .expect("temporary directory");
    detach_from_terminal();
    isolate_environment(scratch.path());
    assert_every_case_is_sandboxed();
    write_generated_inputs();

    let run = std::panic::catch_unwind(|| {
        trycmd::TestCases::new()
            .register_bin("pvault", trycmd::cargo::cargo_bin!("pvault"))
            // A command waiting for a prompt fails its case instead of hanging the test.
            .timeout(Duration::from_secs(60))
            .case(format!("{CASES}/*.toml"))
            .case(format!("{CASES}/*.trycmd"))
            .run();
    });
    // A case that fails half-way skips its remaining steps, `pvault agent --stop` among them: stop
    // every agent a case started, whatever happened.
    stop_agents(&scratch.path().join("run").join("pvault"));
    if let Err(panic) = run {
        std::panic::resume_unwind(panic);
    }
}

/// pvault prompts on /dev/tty when it can open it. When the test itself runs at a terminal, leave
/// the terminal's session so that no case can prompt (they fail with the "no terminal" message
/// instead, as in CI). The test binary is not a process group leader under `cargo test`, so
/// `setsid` succeeds; if it does not, the per-command timeout still ends a prompting case.
fn detach_from_terminal() {
    if std::fs::File::open("/dev/tty").is_ok() && rustix::process::setsid().is_err() {
        eprintln!("warning: cannot leave the terminal's session; a prompting case will time out");
    }
}

/// A clean environment for pvault, inherited by every command the cases run (a step's `VAR=value`
/// prefix overrides it; `VAR=` makes it empty, which pvault treats as unset).
fn isolate_environment(scratch: &Path) {
    let vars: Vec<(String, String)> = [
        // The default home, `$XDG_DATA_HOME/pvault`, is `xdg-data/pvault` in each case's sandbox:
        // the cases run as a user who never set PVAULT_HOME (which clap would show in usage
        // lines and in the help).
        ("XDG_DATA_HOME", "xdg-data".to_string()),
        ("PVAULT_PASSWORD", PASSWORD.to_string()),
        // Never the developer's own data or agent.
        ("HOME", scratch.join("user-home").display().to_string()),
        ("XDG_RUNTIME_DIR", scratch.join("run").display().to_string()),
        ("NO_COLOR", "1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let inherited: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("PVAULT_") || k == "SSL_CERT_FILE" || k == "COLUMNS")
        .collect();
    // SAFETY: this test binary holds this one test, which changes the environment here, before it
    // starts any thread or process of its own; nothing else reads or writes the environment
    // meanwhile.
    unsafe {
        for k in inherited {
            std::env::remove_var(k);
        }
        for (k, v) in vars {
            std::env::set_var(k, v);
        }
    }
}

/// A `.toml` case without `fs.sandbox = true`, or a `.trycmd` case without its `.out/` directory,
/// would run in `tests/cmd` itself and write a pvault home there.
fn assert_every_case_is_sandboxed() {
    for entry in std::fs::read_dir(CASES).expect("tests/cmd") {
        let path = entry.expect("entry").path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => {
                let text = std::fs::read_to_string(&path).expect("read case");
                assert!(
                    text.contains("sandbox = true"),
                    "{}: add `[fs]` `sandbox = true`",
                    path.display()
                );
            }
            Some("trycmd") => {
                let out = path.with_extension("out");
                assert!(
                    out.join(".keep").exists(),
                    "{}: add {}/.keep (it makes trycmd run the case in a sandbox)",
                    path.display(),
                    out.display()
                );
            }
            _ => {}
        }
    }
}

/// Inputs too large to keep in git, written into the cases' `.in/` templates (ignored by git).
fn write_generated_inputs() {
    let dir = Path::new(CASES).join("bad-input.in");
    std::fs::create_dir_all(&dir).expect("bad-input.in");
    // Just over the record limit once stored, well under the input limit (4 x the record limit).
    let big = format!(
        "{{\"blob\":\"{}\"}}",
        "x".repeat(pvault_core::MAX_RECORD_BYTES + 100)
    );
    write_if_changed(&dir.join("big.json"), big.as_bytes());
}

/// Writes `bytes` unless the file already holds them; through a rename, so a concurrent run never
/// reads half a file.
fn write_if_changed(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).is_ok_and(|b| b == bytes) {
        return;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).expect("write generated input");
    std::fs::rename(&tmp, path).expect("rename generated input");
}

/// Asks every agent socket in `dir` to stop (the agent protocol: a 4-byte big-endian length, then
/// a JSON request).
fn stop_agents(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.extension().is_none_or(|e| e != "sock") {
            continue;
        }
        let Ok(mut stream) = UnixStream::connect(&path) else {
            continue;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let request = br#"{"op":"stop"}"#;
        let _ = stream.write_all(&(request.len() as u32).to_be_bytes());
        let _ = stream.write_all(request);
        let mut answer = [0u8; 4];
        let _ = stream.read_exact(&mut answer);
        eprintln!("asked an agent still running to stop: {}", path.display());
    }
}
