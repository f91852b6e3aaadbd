//! Shared by the command's integration tests: the running test bed, the built binary, skopeo.

#![allow(dead_code)] // Each test file uses a different part of this module.

use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// The test bed's state, starting it when nothing runs (`up` is idempotent and shared).
pub fn testbed() -> &'static Value {
    static STATE: OnceLock<Value> = OnceLock::new();
    STATE.get_or_init(|| {
        let out = Command::new("python3")
            .arg(workspace_root().join("tests/testbed/testbed.py"))
            .arg("up")
            .output()
            .expect("run the test bed");
        assert!(out.status.success(), "test bed failed to start: {}", String::from_utf8_lossy(&out.stderr));
        let path = String::from_utf8(out.stdout).expect("utf-8").trim().lines().last().expect("state path").to_string();
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read state.json")).expect("state.json")
    })
}

pub fn registry(mode: &str) -> String {
    testbed()["registries"][mode]["direct"].as_str().expect("registry address").to_string()
}

pub fn fixture(name: &str) -> &'static Value {
    let f = &testbed()["fixtures"][name];
    assert!(f.is_object(), "no fixture {name}");
    f
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `imagescope ARGS`, feeding `stdin` when given.
pub fn imagescope(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imagescope"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start imagescope");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    finish(child.wait_with_output().expect("imagescope ran"))
}

/// `skopeo inspect` of `docker://REFERENCE` with the given extra flags; panics on failure.
pub fn skopeo_inspect(reference: &str, creds: Option<(&str, &str)>, extra: &[&str]) -> Vec<u8> {
    let mut cmd = Command::new("skopeo");
    cmd.arg("inspect").arg("--tls-verify=false").args(extra);
    if let Some((u, p)) = creds {
        cmd.arg("--creds").arg(format!("{u}:{p}"));
    }
    let out = cmd.arg(format!("docker://{reference}")).output().expect("run skopeo");
    assert!(out.status.success(), "skopeo inspect {reference} {extra:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

pub fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("imagescope-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write temp file");
    path
}

pub fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
