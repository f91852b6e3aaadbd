//! `imagescope` against the real registries of the test bed (anonymous, Basic, token),
//! every answer cross-checked with skopeo.

mod common;

use common::{b64, fixture, imagescope, registry, skopeo_inspect, temp_file, testbed};
use imagescope_core::digest::Digest;
use serde_json::Value;

fn creds(mode: &str) -> Option<(&'static str, &'static str)> {
    let user = match mode {
        "basic" => &testbed()["users"]["basic"],
        "token" => &testbed()["users"]["token"],
        _ => return None,
    };
    Some((user["username"].as_str().unwrap(), user["password"].as_str().unwrap()))
}

/// `imagescope inspect --json` with username and password (where the mode needs them).
fn inspect(mode: &str, image: &str, extra: &[&str]) -> Value {
    let reference = format!("{}/{image}", registry(mode));
    let mut args = vec!["inspect", reference.as_str(), "--json"];
    args.extend_from_slice(extra);
    let run = match creds(mode) {
        Some((user, password)) => {
            args.extend_from_slice(&["--username", user, "--password-stdin"]);
            imagescope(&args, Some(password))
        }
        None => imagescope(&args, None),
    };
    assert_eq!(run.code, 0, "inspect {reference} failed: {}", run.stderr);
    run.json()
}

fn sha256(bytes: &[u8]) -> String {
    Digest::sha256_of(bytes).to_string()
}

/// Checks one resolved image against skopeo: manifest, config, layers and the CRI size.
fn check_against_skopeo(mode: &str, image: &str, platform: Option<(&str, &str, &str)>) {
    let mut extra = vec![];
    let platform_arg = platform.map(|(os, arch, variant)| {
        if variant.is_empty() { format!("{os}/{arch}") } else { format!("{os}/{arch}/{variant}") }
    });
    if let Some(p) = &platform_arg {
        extra.extend(["--platform", p.as_str()]);
    }
    let got = inspect(mode, image, &extra);
    let reference = format!("{}/{image}", registry(mode));
    let c = creds(mode);
    let mut overrides = vec![];
    if let Some((os, arch, variant)) = platform {
        overrides.extend(["--override-os", os, "--override-arch", arch]);
        if !variant.is_empty() {
            overrides.extend(["--override-variant", variant]);
        }
    }
    let top_raw = skopeo_inspect(&reference, c, &["--raw"]);
    let summary: Value = serde_json::from_slice(&skopeo_inspect(&reference, c, &overrides)).unwrap();
    let config_raw = skopeo_inspect(&reference, c, &[&overrides[..], &["--config", "--raw"]].concat());

    assert_eq!(got["manifest"]["digest"], sha256(&top_raw), "{mode} {image}: top manifest digest");
    assert_eq!(got["manifest"]["digest"], summary["Digest"], "{mode} {image}: skopeo's Digest");
    assert_eq!(got["manifest"]["size"], top_raw.len(), "{mode} {image}: top manifest size");
    assert_eq!(got["image"]["id"], sha256(&config_raw), "{mode} {image}: image id is the config digest");

    // skopeo 1.9 lists layer digests only; sizes and media types come from the raw manifest it fetched.
    let platform_raw = match &got["image_manifest"] {
        Value::Null => top_raw.clone(),
        chosen => {
            let by_digest = format!("{}/{}@{}", registry(mode), image.split(':').next().unwrap(), chosen["digest"].as_str().unwrap());
            let raw = skopeo_inspect(&by_digest, c, &["--raw"]);
            assert_eq!(chosen["digest"], sha256(&raw), "{mode} {image}: platform manifest digest");
            assert_eq!(chosen["size"], raw.len(), "{mode} {image}: platform manifest size");
            raw
        }
    };
    let platform_manifest: Value = serde_json::from_slice(&platform_raw).unwrap();
    let raw_layers = platform_manifest["layers"].as_array().unwrap();
    let layers = got["layers"].as_array().unwrap();
    let skopeo_digests = summary["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), skopeo_digests.len(), "{mode} {image}: layer count");
    for ((mine, theirs), raw) in layers.iter().zip(skopeo_digests).zip(raw_layers) {
        assert_eq!(&mine["digest"], theirs);
        assert_eq!(mine["digest"], raw["digest"]);
        assert_eq!(mine["size"], raw["size"]);
        assert_eq!(mine["media_type"], raw["mediaType"]);
    }
    assert_eq!(sha256(&config_raw), platform_manifest["config"]["digest"].as_str().unwrap());
    let layer_sum: u64 = raw_layers.iter().map(|l| l["size"].as_u64().unwrap()).sum();
    let platform_manifest_size = if got["image_manifest"].is_null() { 0 } else { platform_raw.len() as u64 };
    let expected_size = top_raw.len() as u64 + platform_manifest_size + config_raw.len() as u64 + layer_sum;
    assert_eq!(got["image"]["size"], expected_size, "{mode} {image}: CRI size = index + manifest + config + layers");

    let name = format!("{}/{}", registry(mode), image.split(':').next().unwrap());
    assert_eq!(got["image"]["repo_tags"], serde_json::json!([format!("{}/{image}", registry(mode))]));
    assert_eq!(got["image"]["repo_digests"], serde_json::json!([format!("{name}@{}", sha256(&top_raw))]));

    let f = fixture(image);
    assert_eq!(got["manifest"]["digest"], f["manifest_digest"], "{image}: the test bed's own record");
}

#[test]
fn every_fixture_matches_skopeo_in_every_registry() {
    for mode in ["anon", "basic", "token"] {
        for image in ["public/hello:1.0", "public/zstd:1.0", "public/tree:1.0", "private/secret:1.0"] {
            check_against_skopeo(mode, image, None);
        }
        for platform in [("linux", "amd64", ""), ("linux", "arm64", "v8"), ("linux", "arm", "v7")] {
            check_against_skopeo(mode, "public/multi:v1", Some(platform));
        }
    }
}

#[test]
fn index_platforms_and_attestations() {
    let f = fixture("public/multi:v1");
    for (asked, want) in [("linux/arm64", "linux/arm64/v8"), ("linux/arm", "linux/arm/v7"), ("linux/amd64", "linux/amd64")] {
        let got = inspect("anon", "public/multi:v1", &["--platform", asked]);
        let entry = f["platforms"].as_array().unwrap().iter().find(|p| p["platform"] == want).expect("fixture platform");
        assert_eq!(got["chosen"]["digest"], entry["manifest_digest"], "{asked}");
        assert_eq!(got["image"]["id"], entry["config_digest"], "{asked}");
        let platforms = got["platforms"].as_array().unwrap();
        assert_eq!(platforms.iter().filter(|p| p["attestation"] == true).count(), 1, "the attestation is listed and marked");
    }
    let none = imagescope(&["inspect", &format!("{}/public/multi:v1", registry("anon")), "--platform", "linux/s390x", "--json"], None);
    assert_eq!(none.code, 1);
    assert_eq!(none.json()["error"]["kind"], "platform");
    assert!(none.stderr.contains("linux/s390x") && none.stderr.contains("linux/arm64/v8"), "{}", none.stderr);
    let bad = imagescope(&["inspect", &format!("{}/public/multi:v1", registry("anon")), "--platform", "linux"], None);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("invalid platform"), "{}", bad.stderr);
}

#[test]
fn config_and_history_come_through() {
    let got = inspect("anon", "public/hello:1.0", &[]);
    assert_eq!(got["image"]["uid"]["value"], 1000);
    let config = &got["config"];
    assert!(config["config"]["Env"].as_array().is_some_and(|e| !e.is_empty()));
    assert!(config["history"].as_array().unwrap().iter().any(|h| h["empty_layer"] == true));
    let diff_ids: Vec<&Value> = got["layers"].as_array().unwrap().iter().map(|l| &l["diff_id"]).collect();
    let expected: Vec<&Value> = fixture("public/hello:1.0")["layers"].as_array().unwrap().iter().map(|l| &l["diff_id"]).collect();
    assert_eq!(diff_ids, expected);
}

#[test]
fn artifact_is_recognised() {
    let got = inspect("anon", "public/artifact:sbom", &[]);
    let f = fixture("public/artifact:sbom");
    assert_eq!(got["artifact_type"], f["artifact_type"]);
    assert_eq!(got["manifest"]["digest"], f["manifest_digest"]);
    assert_eq!(got["subject"]["digest"], fixture("public/hello:1.0")["manifest_digest"]);
}

#[test]
fn missing_tag_is_an_absent_image_not_a_failure() {
    for mode in ["anon", "basic", "token"] {
        let reference = format!("{}/public/hello:no-such-tag", registry(mode));
        let run = match creds(mode) {
            Some((u, p)) => imagescope(&["inspect", &reference, "--json", "--username", u, "--password-stdin"], Some(p)),
            None => imagescope(&["inspect", &reference, "--json"], None),
        };
        assert_eq!(run.code, 0, "{mode}: {}", run.stderr);
        assert_eq!(run.json(), serde_json::json!({"image": null}), "{mode}");
        assert!(run.stderr.contains("MANIFEST_UNKNOWN"), "{mode}: {}", run.stderr);
    }
    let run = imagescope(&["inspect", &format!("{}/no/such-repo:1", registry("anon")), "--json"], None);
    assert_eq!((run.code, run.json()), (0, serde_json::json!({"image": null})), "NAME_UNKNOWN is absent too");
}

/// Expects a refusal: non-zero exit, one line on stderr, and the registry's code in the JSON.
fn assert_refused(run: &common::Run, what: &str) {
    assert_eq!(run.code, 1, "{what}: {}", run.stdout);
    let code = run.json()["error"]["code"].as_str().map(String::from);
    assert!(matches!(code.as_deref(), Some("UNAUTHORIZED" | "DENIED")), "{what}: code {code:?}");
    assert_eq!(run.stderr.trim().lines().count(), 1, "{what}: one line on stderr: {}", run.stderr);
    assert!(run.stderr.contains(code.as_deref().unwrap()), "{what}: {}", run.stderr);
}

fn docker_config(host: &str, entry: &str) -> std::path::PathBuf {
    temp_file(&format!("config-{}.json", host.replace([':', '.'], "-")), &format!(r#"{{"auths": {{"{host}": {entry}}}}}"#))
}

fn pull_secret(name: &str, host: &str, user: &str, password: &str) -> std::path::PathBuf {
    let config = format!(r#"{{"auths":{{"{host}":{{"username":"{user}","password":"{password}","auth":"{}"}}}}}}"#, b64(&format!("{user}:{password}")));
    temp_file(
        &format!("{name}.yaml"),
        &format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: default\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {}\n", b64(&config)),
    )
}

#[test]
fn every_credential_form_works_with_the_right_secret_and_is_refused_with_a_wrong_one() {
    for mode in ["basic", "token"] {
        let host = registry(mode);
        let reference = format!("{host}/private/secret:1.0");
        let (user, password) = creds(mode).unwrap();
        let want_id = fixture("private/secret:1.0")["config_digest"].clone();
        let ok = |run: common::Run, what: &str| {
            assert_eq!(run.code, 0, "{mode} {what}: {}", run.stderr);
            assert_eq!(run.json()["image"]["id"], want_id, "{mode} {what}");
        };
        let base = ["inspect", reference.as_str(), "--json"];

        ok(imagescope(&[&base[..], &["--username", user, "--password-stdin"]].concat(), Some(password)), "username");
        assert_refused(&imagescope(&[&base[..], &["--username", user, "--password-stdin"]].concat(), Some("wrong")), "wrong password");

        let auth = b64(&format!("{user}:{password}"));
        ok(imagescope(&[&base[..], &["--auth", &auth]].concat(), None), "auth");
        assert_refused(&imagescope(&[&base[..], &["--auth", &b64(&format!("{user}:nope"))]].concat(), None), "wrong auth");

        let server = format!("http://{host}");
        ok(imagescope(&[&base[..], &["--auth", &auth, "--server-address", &server]].concat(), None), "auth with server_address");

        let good = docker_config(&host, &format!(r#"{{"auth": "{auth}"}}"#));
        ok(imagescope(&[&base[..], &["--docker-config", good.to_str().unwrap()]].concat(), None), "docker config.json");
        let wrong = temp_file(&format!("wrong-{mode}.json"), &format!(r#"{{"auths": {{"{host}": {{"auth": "{}"}}}}}}"#, b64(&format!("{user}:bad"))));
        assert_refused(&imagescope(&[&base[..], &["--docker-config", wrong.to_str().unwrap()]].concat(), None), "wrong config.json");

        let secret = pull_secret(&format!("regcred-{mode}"), &host, user, password);
        ok(imagescope(&[&base[..], &["--pull-secret", secret.to_str().unwrap()]].concat(), None), "pull secret");
        let bad_secret = pull_secret(&format!("badcred-{mode}"), &host, user, "bad");
        assert_refused(&imagescope(&[&base[..], &["--pull-secret", bad_secret.to_str().unwrap()]].concat(), None), "wrong pull secret");
        // kubelet tries every matching Secret in turn: a wrong one first does not stop a right one.
        ok(
            imagescope(&[&base[..], &["--pull-secret", bad_secret.to_str().unwrap(), "--pull-secret", secret.to_str().unwrap()]].concat(), None),
            "wrong then right pull secret",
        );

        let made = imagescope(&["secret", "made", "--docker-server", &host, "--docker-username", user, "--password-stdin"], Some(password));
        assert_eq!(made.code, 0, "{}", made.stderr);
        assert!(made.stdout.contains("type: kubernetes.io/dockerconfigjson"), "{}", made.stdout);
        let made_file = temp_file(&format!("made-{mode}.yaml"), &made.stdout);
        ok(imagescope(&[&base[..], &["--pull-secret", made_file.to_str().unwrap()]].concat(), None), "secret made by `imagescope secret`");

        assert_refused(&imagescope(&base, None), "anonymous on a private repository");
    }
}

/// A token straight from the token server, the way a registry token reaches a CRI AuthConfig.
fn token_from_server(user: &str, password: &str, scope: &str) -> String {
    let realm = testbed()["token_server"]["direct"].as_str().unwrap();
    let service = testbed()["token_server"]["service"].as_str().unwrap();
    let out = std::process::Command::new("curl")
        .args(["-sf", "-u", &format!("{user}:{password}"), &format!("{realm}?service={service}&scope={scope}")])
        .output()
        .expect("curl");
    assert!(out.status.success(), "token server refused: {}", String::from_utf8_lossy(&out.stderr));
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    body["token"].as_str().unwrap().to_string()
}

#[test]
fn token_registry_identity_and_registry_tokens() {
    let reference = format!("{}/private/secret:1.0", registry("token"));
    let want_id = fixture("private/secret:1.0")["config_digest"].clone();
    let users = &testbed()["users"]["token"];
    let identity = users["identity_token"].as_str().unwrap();

    let run = imagescope(&["inspect", &reference, "--json", "--identity-token", identity], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got = run.json();
    assert_eq!(got["image"]["id"], want_id);
    let methods: Vec<&str> = got["requests"].as_array().unwrap().iter().filter(|r| r["purpose"] == "token").map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(methods, vec!["POST"], "an identity token is exchanged by OAuth2 POST");
    assert_refused(&imagescope(&["inspect", &reference, "--json", "--identity-token", "not-a-refresh-token"], None), "wrong identity token");

    let token = token_from_server(users["username"].as_str().unwrap(), users["password"].as_str().unwrap(), "repository:private/secret:pull");
    let run = imagescope(&["inspect", &reference, "--json", "--registry-token", &token], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got = run.json();
    assert_eq!(got["image"]["id"], want_id);
    assert!(got["requests"].as_array().unwrap().iter().all(|r| r["purpose"] != "token" && r["auth"] == "bearer"), "a registry token is sent as is");
    assert_refused(&imagescope(&["inspect", &reference, "--json", "--registry-token", "garbage.token.value"], None), "wrong registry token");
}

#[test]
fn cached_token_means_no_extra_requests() {
    let got = inspect("token", "public/multi:v1", &["--platform", "linux/arm64"]);
    let purposes: Vec<&str> = got["requests"].as_array().unwrap().iter().map(|r| r["purpose"].as_str().unwrap()).collect();
    // challenge, token, then index, platform manifest and config with the cached token: what crane needs.
    assert_eq!(purposes, vec!["manifest", "token", "manifest", "manifest", "blob"]);
}

#[test]
fn tags_are_listed() {
    let f = fixture("public/hello:1.0");
    let mut want: Vec<String> = f["repository_tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
    want.sort();
    for mode in ["anon", "token"] {
        let reference = format!("{}/public/hello", registry(mode));
        let run = match creds(mode) {
            Some((u, p)) => imagescope(&["tags", &reference, "--json", "--username", u, "--password-stdin"], Some(p)),
            None => imagescope(&["tags", &reference, "--json"], None),
        };
        assert_eq!(run.code, 0, "{}", run.stderr);
        let mut got: Vec<String> = run.json()["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
        got.sort();
        assert_eq!(got, want, "{mode}");
    }
}

#[test]
fn reference_command() {
    let cases = [
        ("busybox", "docker.io/library/busybox:latest", "https://registry-1.docker.io", true),
        ("localhost:5000/a/b:v1", "localhost:5000/a/b:v1", "http://localhost:5000", false),
        ("index.docker.io/fooo/bar", "docker.io/fooo/bar:latest", "https://registry-1.docker.io", true),
        ("registry.example.com:5000/team/app:v1", "registry.example.com:5000/team/app:v1", "https://registry.example.com:5000", false),
    ];
    for (input, canonical, endpoint, default_tag) in cases {
        let run = imagescope(&["ref", input, "--json"], None);
        assert_eq!(run.code, 0, "{input}: {}", run.stderr);
        let v = run.json();
        assert_eq!(v["canonical"], canonical, "{input}");
        assert_eq!(v["endpoint"], endpoint, "{input}");
        assert_eq!(v["default_tag_applied"], default_tag, "{input}");
    }
    let text = imagescope(&["ref", "busybox"], None);
    assert!(text.stdout.starts_with("Using default tag: latest\n"), "{}", text.stdout);
    let bad = imagescope(&["ref", "docker/Docker"], None);
    assert_eq!(bad.code, 1);
    assert_eq!(bad.stderr.trim(), "imagescope: invalid reference format: repository name (docker/Docker) must be lowercase");
    let plain = imagescope(&["ref", "registry.test:5000/x", "--plain-http", "registry.test:5000", "--json"], None);
    assert_eq!(plain.json()["endpoint"], "http://registry.test:5000");
}

#[test]
fn unusable_input_is_a_usage_error_that_says_what_to_fix() {
    let reference = format!("{}/public/hello:1.0", registry("anon"));
    let cases: [(&[&str], &str); 3] = [
        (&["--password-stdin", "--json"], "--password-stdin needs --username"),
        (&["--docker-config", "/nonexistent/config.json", "--json"], "cannot read /nonexistent/config.json"),
        (&["--auth", "Zm9v", "--docker-config", "/x", "--json"], "give credentials one way"),
    ];
    for (flags, message) in cases {
        let run = imagescope(&[&["inspect", reference.as_str()][..], flags].concat(), Some(""));
        assert_eq!(run.code, 1, "{flags:?}");
        let error = &run.json()["error"];
        assert_eq!(error["kind"], "usage", "{flags:?}");
        assert!(error["message"].as_str().unwrap().contains(message), "{flags:?}: {error}");
        assert_eq!(run.stderr.trim().lines().count(), 1, "{flags:?}: {}", run.stderr);
    }
}
