//! `imagescope serve` as a black box: the built binary, a throwaway app directory, and the real
//! registry test bed (`tests/testbed/testbed.py up`, reused when it already runs).

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

const INDEX_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' http: https:";
const INDEX_HTML: &str = "<!doctype html><html><head><meta charset=\"utf-8\">\
    <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' http: https:\">\
    <title>imagescope</title></head><body></body></html>";
const WASM: &[u8] = b"\0asm\x01\0\0\0";
const SECRET: &str = "outside the app directory";

/// The running test bed's state.json. `up` reuses a live bed, starts one otherwise, and
/// serialises concurrent callers, so every test binary may call it.
fn bed() -> &'static Value {
    static BED: OnceLock<Value> = OnceLock::new();
    BED.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/testbed/testbed.py");
        let output = Command::new("python3")
            .arg(&script)
            .arg("up")
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(output.status.success(), "{} up failed", script.display());
        let path = String::from_utf8(output.stdout).expect("utf-8 path");
        let text = fs::read_to_string(path.trim()).expect("state.json");
        serde_json::from_str(&text).expect("state.json is JSON")
    })
}

fn registry(mode: &str) -> String {
    bed()["registries"][mode]["direct"].as_str().expect("registry address").to_string()
}

fn fixture(key: &str) -> &'static Value {
    &bed()["fixtures"][key]
}

/// A running `imagescope serve`, stopped (and its directory removed) when dropped.
struct Serve {
    child: Child,
    addr: String,
    root: PathBuf,
}

impl Serve {
    fn start(extra: &[&str]) -> Serve {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir()
            .join(format!("imagescope-serve-test-{}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::SeqCst)));
        let dist = root.join("dist");
        fs::create_dir_all(dist.join("assets")).unwrap();
        fs::write(dist.join("index.html"), INDEX_HTML).unwrap();
        fs::write(dist.join("app.js"), "export default 1;\n").unwrap();
        fs::write(dist.join("app_bg.wasm"), WASM).unwrap();
        fs::write(dist.join("style.css"), "body{}\n").unwrap();
        fs::write(dist.join("assets/logo.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap();
        fs::write(dist.join(".hidden"), SECRET).unwrap();
        fs::write(root.join("secret.txt"), SECRET).unwrap();
        std::os::unix::fs::symlink(root.join("secret.txt"), dist.join("escape.txt")).unwrap();
        let log = fs::File::create(root.join("serve.log")).unwrap();

        let mut child = Command::new(env!("CARGO_BIN_EXE_imagescope"))
            .args(["serve", "--listen", "127.0.0.1:0", "--dist"])
            .arg(&dist)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start imagescope serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let mut serve = Serve { child, addr: String::new(), root };
        let prefix = "imagescope serve: listening on http://";
        let rest = line.strip_prefix(prefix).unwrap_or_else(|| panic!("unexpected first line {line:?}; log: {}", serve.log()));
        let (addr, from) = rest.split_once(' ').unwrap();
        assert_eq!(from.trim_end(), format!("(app from {})", dist.display()));
        serve.addr = addr.to_string();
        serve
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn proxy(&self, scheme: &str, authority: &str, path: &str) -> String {
        self.url(&format!("/proxy/{scheme}/{authority}{path}"))
    }

    fn log(&self) -> String {
        fs::read_to_string(self.root.join("serve.log")).unwrap_or_default()
    }

    /// The log once it mentions `line`: the server writes a request's line after the client
    /// already has the whole answer.
    fn log_with(&self, line: &str) -> String {
        for _ in 0..100 {
            let log = self.log();
            if log.contains(line) {
                return log;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!("the log never showed {line:?}: {}", self.log());
    }

    /// Sends bytes as they are, for paths an HTTP client would normalise first.
    fn raw(&self, request_line: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        write!(stream, "{request_line}\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addr).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, response)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.root);
    }
}

struct Reply {
    status: u16,
    headers: ureq::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn error_code(&self) -> String {
        self.json()["errors"][0]["code"].as_str().unwrap_or_default().to_string()
    }

    fn error_message(&self) -> String {
        self.json()["errors"][0]["message"].as_str().unwrap_or_default().to_string()
    }
}

fn send(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .allow_non_standard_methods(true)
        .build()
        .into();
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = agent.run(request.body(body).unwrap()).unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    response.into_body().into_reader().read_to_end(&mut body).unwrap();
    Reply { status, headers, body }
}

fn get(url: &str, headers: &[(&str, &str)]) -> Reply {
    send("GET", url, headers, &[])
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>())
}

const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// The value of one auth-param in a challenge, for checking the rewritten header.
fn param(challenge: &str, name: &str) -> String {
    let start = challenge.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("no {name} in {challenge}")) + name.len() + 2;
    challenge[start..start + challenge[start..].find('"').unwrap()].to_string()
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

#[test]
fn serves_the_app_with_its_types_and_security_headers() {
    let serve = Serve::start(&[]);
    let index = get(&serve.url("/"), &[]);
    assert_eq!(index.status, 200);
    assert_eq!(index.body, INDEX_HTML.as_bytes());
    assert_eq!(index.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(index.header("content-security-policy"), format!("{INDEX_CSP}; frame-ancestors 'none'"));
    assert_eq!(index.header("x-content-type-options"), "nosniff");
    assert_eq!(get(&serve.url("/index.html"), &[]).body, INDEX_HTML.as_bytes());

    for (path, mime, body) in [
        ("/app_bg.wasm", "application/wasm", WASM),
        ("/app.js", "text/javascript; charset=utf-8", b"export default 1;\n".as_slice()),
        ("/style.css", "text/css; charset=utf-8", b"body{}\n".as_slice()),
        ("/assets/logo.svg", "image/svg+xml", b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".as_slice()),
    ] {
        let reply = get(&serve.url(path), &[]);
        assert_eq!((reply.status, reply.header("content-type")), (200, mime), "{path}");
        assert_eq!(reply.body, body, "{path}");
        assert_eq!(reply.header("content-length"), body.len().to_string(), "{path}");
        assert_eq!(reply.header("x-content-type-options"), "nosniff", "{path}");
    }
    let head = send("HEAD", &serve.url("/app_bg.wasm"), &[], &[]);
    assert_eq!((head.status, head.header("content-length"), head.body.len()), (200, "8", 0));

    assert_eq!(get(&serve.url("/missing.js"), &[]).status, 404);
    assert_eq!(send("POST", &serve.url("/index.html"), &[], b"x").status, 405);
    serve.log_with("imagescope serve: GET /app_bg.wasm 200 8 bytes");
}

#[test]
fn refuses_traversal_hidden_files_and_listings() {
    let serve = Serve::start(&[]);
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/assets/%2E%2E/%2E%2E/secret.txt",
        "/..\\secret.txt",
        "/escape.txt",
        "/.hidden",
        "/assets/",
        "/assets",
        "//etc/passwd",
    ] {
        let (status, response) = serve.raw(&format!("GET {path} HTTP/1.1"));
        assert!(matches!(status, 400 | 404), "{path}: {status}");
        assert!(!response.contains(SECRET) && !response.contains("logo.svg") && !response.contains("root:"), "{path}: {response}");
    }
}

#[test]
fn announces_itself() {
    let serve = Serve::start(&[]);
    let reply = get(&serve.url("/proxy/_imagescope"), &[]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.json(), serde_json::json!({"proxy": true, "version": env!("CARGO_PKG_VERSION")}));
}

#[test]
fn refuses_to_listen_beyond_loopback_unless_told() {
    let dir = std::env::temp_dir();
    let output = Command::new(env!("CARGO_BIN_EXE_imagescope"))
        .args(["serve", "--listen", "0.0.0.0:0", "--dist"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a loopback address") && stderr.contains("--allow-remote"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn anonymous_manifest_and_head() {
    let serve = Serve::start(&["--allow-loopback"]);
    let hello = fixture("public/hello:1.0");
    let url = serve.proxy("http", &registry("anon"), "/v2/public/hello/manifests/1.0");

    let reply = get(&url, &[("Accept", MANIFEST_ACCEPT)]);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.header("docker-content-digest"), hello["manifest_digest"].as_str().unwrap());
    assert_eq!(reply.header("content-type"), hello["media_type"].as_str().unwrap());
    assert_eq!(reply.header("docker-distribution-api-version"), "registry/2.0");
    assert_eq!(sha256(&reply.body), hello["manifest_digest"].as_str().unwrap());
    assert_eq!(reply.header("content-length"), hello["manifest_size"].to_string());
    assert_eq!(reply.header("x-content-type-options"), "nosniff");

    let head = send("HEAD", &url, &[("Accept", MANIFEST_ACCEPT)], &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), hello["manifest_size"].to_string());
    assert_eq!(head.header("docker-content-digest"), hello["manifest_digest"].as_str().unwrap());

    let missing = get(&serve.proxy("http", &registry("anon"), "/v2/public/hello/manifests/nope"), &[("Accept", MANIFEST_ACCEPT)]);
    assert_eq!((missing.status, missing.error_code().as_str()), (404, "MANIFEST_UNKNOWN"));

    serve.log_with(&format!("GET http://{}/v2/public/hello/manifests/1.0 200 {} bytes", registry("anon"), hello["manifest_size"]));
    serve.log_with(&format!("HEAD http://{}/v2/public/hello/manifests/1.0 200 0 bytes", registry("anon")));
}

#[test]
fn token_flow_through_the_proxy() {
    let serve = Serve::start(&["--allow-loopback"]);
    let secret = fixture("private/secret:1.0");
    let token_registry = registry("token");
    let manifest = serve.proxy("http", &token_registry, "/v2/private/secret/manifests/1.0");
    let user = &bed()["users"]["token"];
    let (username, password) = (user["username"].as_str().unwrap(), user["password"].as_str().unwrap());

    // Before any challenge named it, the token server is no place the proxy goes.
    let realm = bed()["registries"]["token"]["realm"].as_str().unwrap();
    let realm_rest = realm.strip_prefix("http://").unwrap();
    let early = get(&serve.url(&format!("/proxy/http/{realm_rest}?service=x")), &[]);
    assert_eq!((early.status, early.error_code().as_str()), (403, "PROXY_REFUSED"));

    let challenged = get(&manifest, &[("Accept", MANIFEST_ACCEPT)]);
    assert_eq!(challenged.status, 401);
    let challenge = challenged.header("www-authenticate").to_string();
    let proxied_realm = serve.url(&format!("/proxy/http/{realm_rest}"));
    assert_eq!(param(&challenge, "realm"), proxied_realm, "{challenge}");
    assert_eq!(param(&challenge, "service"), bed()["registries"]["token"]["service"].as_str().unwrap());
    assert_eq!(param(&challenge, "scope"), "repository:private/secret:pull");
    assert_eq!(challenged.error_code(), "UNAUTHORIZED");

    // The token server answering on a port no challenge named stays out of reach.
    let direct = bed()["token_server"]["direct"].as_str().unwrap().strip_prefix("http://").unwrap();
    assert_eq!(get(&serve.url(&format!("/proxy/http/{direct}")), &[]).status, 403);

    let service = param(&challenge, "service");
    let token_url = format!("{proxied_realm}?service={service}&scope=repository:private/secret:pull");
    let auth = basic(username, password);
    let granted = get(&token_url, &[("Authorization", auth.as_str())]);
    assert_eq!(granted.status, 200, "{}", String::from_utf8_lossy(&granted.body));
    let token = granted.json()["token"].as_str().unwrap().to_string();

    let bearer = format!("Bearer {token}");
    let reply = get(&manifest, &[("Accept", MANIFEST_ACCEPT), ("Authorization", bearer.as_str())]);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.header("docker-content-digest"), secret["manifest_digest"].as_str().unwrap());
    assert_eq!(sha256(&reply.body), secret["manifest_digest"].as_str().unwrap());

    // The OAuth2 form flow goes through the same realm.
    let form = format!(
        "grant_type=password&service={service}&client_id=imagescope&scope=repository%3Aprivate%2Fsecret%3Apull&username={username}&password={password}"
    );
    let oauth = send("POST", &proxied_realm, &[("Content-Type", "application/x-www-form-urlencoded")], form.as_bytes());
    assert_eq!(oauth.status, 200, "{}", String::from_utf8_lossy(&oauth.body));
    let access = oauth.json()["access_token"].as_str().unwrap().to_string();
    let refresh = oauth.json()["refresh_token"].as_str().unwrap_or_default().to_string();
    let bearer = format!("Bearer {access}");
    assert_eq!(get(&manifest, &[("Accept", MANIFEST_ACCEPT), ("Authorization", bearer.as_str())]).status, 200);

    // A wrong password is the registry's refusal, passed through as it is.
    let wrong = basic(username, "not-the-password");
    assert_eq!(get(&token_url, &[("Authorization", wrong.as_str())]).status, 401);

    serve.log_with(&format!("POST {realm} 200"));
    let log = serve.log_with(&format!("GET {realm} 401"));
    for secret in [password, "not-the-password", &token, &access, &auth, "Bearer", "Basic", "scope=", "grant_type"] {
        assert!(!log.contains(secret), "the log shows {secret:?}: {log}");
    }
    if !refresh.is_empty() {
        assert!(!log.contains(&refresh), "the log shows the refresh token: {log}");
    }
}

#[test]
fn only_registry_paths_are_forwarded() {
    let serve = Serve::start(&["--allow-loopback"]);
    let anon = registry("anon");
    for path in ["/", "/debug/vars", "/v2x/", "/token", "/v2/%2e%2e/debug/vars", "/v2/public/../../debug/vars"] {
        let reply = get(&serve.proxy("http", &anon, path), &[]);
        assert_eq!((reply.status, reply.error_code().as_str()), (403, "PROXY_REFUSED"), "{path}");
    }
    let reply = get(&serve.proxy("http", &anon, "/debug/vars"), &[]);
    assert!(reply.error_message().contains("only registry API paths"), "{}", reply.error_message());
    for method in ["PUT", "DELETE", "POST", "PATCH"] {
        let reply = send(method, &serve.proxy("http", &anon, "/v2/public/hello/manifests/1.0"), &[], b"");
        assert_eq!(reply.status, 403, "{method}");
        assert!(reply.error_message().contains(method), "{}", reply.error_message());
    }
}

#[test]
fn plain_http_private_and_unallowed_loopback_upstreams_are_refused() {
    let serve = Serve::start(&["--allow-loopback", "--plain-http", "registry.invalid:5000"]);
    for (scheme, authority, why) in [
        ("http", "example.com", "plain http"),
        ("http", "registry.invalid:5001", "plain http"),
        ("https", "10.1.2.3", "private"),
        ("https", "192.168.0.1:5000", "private"),
        ("https", "169.254.169.254", "private"),
        ("https", "[fd00::1]", "private"),
        ("ftp", "example.com", "http and https"),
        ("https", "user@example.com", "not a host"),
    ] {
        let reply = get(&serve.proxy(scheme, authority, "/v2/"), &[]);
        assert_eq!(reply.status, 403, "{scheme}://{authority}");
        assert!(reply.error_message().contains(why), "{scheme}://{authority}: {}", reply.error_message());
    }
    // Allowed as plain http, then nothing answers: an upstream failure, not a refusal.
    let unreachable = get(&serve.proxy("http", "registry.invalid:5000", "/v2/"), &[]);
    assert_eq!((unreachable.status, unreachable.error_code().as_str()), (502, "PROXY_UPSTREAM_FAILED"));

    let strict = Serve::start(&[]);
    let reply = get(&strict.proxy("http", &registry("anon"), "/v2/"), &[]);
    assert_eq!(reply.status, 403);
    assert!(reply.error_message().contains("--allow-loopback"), "{}", reply.error_message());
    let reply = get(&strict.proxy("http", "localhost:1", "/v2/"), &[]);
    assert_eq!(reply.status, 403);
}

#[test]
fn refuses_other_sites_and_rebound_names() {
    let serve = Serve::start(&["--allow-loopback"]);
    let url = serve.proxy("http", &registry("anon"), "/v2/");
    assert_eq!(get(&url, &[("Sec-Fetch-Site", "same-origin")]).status, 200);
    assert_eq!(get(&url, &[("Sec-Fetch-Site", "cross-site")]).status, 403);
    assert_eq!(get(&url, &[("Origin", "http://evil.example")]).status, 403);
    let own_origin = serve.url("");
    assert_eq!(get(&url, &[("Origin", own_origin.as_str())]).status, 200);

    let mut stream = TcpStream::connect(&serve.addr).unwrap();
    write!(stream, "GET /proxy/http/{}/v2/ HTTP/1.1\r\nHost: rebound.example\r\nConnection: close\r\n\r\n", registry("anon")).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert!(response.contains("--allow-remote"), "{response}");
}

#[test]
fn range_requests_on_a_blob() {
    let serve = Serve::start(&["--allow-loopback"]);
    let layer = &fixture("public/hello:1.0")["layers"][0];
    let (digest, size) = (layer["digest"].as_str().unwrap(), layer["size"].as_u64().unwrap());
    let url = serve.proxy("http", &registry("anon"), &format!("/v2/public/hello/blobs/{digest}"));

    let whole = get(&url, &[]);
    assert_eq!(whole.status, 200);
    assert_eq!(sha256(&whole.body), digest);
    assert_eq!(whole.header("content-length"), size.to_string());

    let part = get(&url, &[("Range", "bytes=0-9")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-range"), format!("bytes 0-9/{size}"));
    assert_eq!(part.header("content-length"), "10");
    assert_eq!(part.body, whole.body[..10]);

    let tail = get(&url, &[("Range", &format!("bytes=10-{}", size - 1))]);
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, whole.body[10..]);
}

#[test]
fn parallel_blob_downloads() {
    let serve = Serve::start(&["--allow-loopback"]);
    let anon = registry("anon");
    let mut blobs = Vec::new();
    for key in ["public/hello:1.0", "public/zstd:1.0", "public/tree:1.0"] {
        let fx = fixture(key);
        for layer in fx["layers"].as_array().unwrap() {
            blobs.push((fx["repository"].as_str().unwrap().to_string(), layer["digest"].as_str().unwrap().to_string()));
        }
        blobs.push((fx["repository"].as_str().unwrap().to_string(), fx["config_digest"].as_str().unwrap().to_string()));
    }
    thread::scope(|scope| {
        let handles: Vec<_> = blobs
            .iter()
            .map(|(repo, digest)| {
                let url = serve.proxy("http", &anon, &format!("/v2/{repo}/blobs/{digest}"));
                scope.spawn(move || (digest, get(&url, &[])))
            })
            .collect();
        for handle in handles {
            let (digest, reply) = handle.join().unwrap();
            assert_eq!((reply.status, sha256(&reply.body)), (200, digest.clone()));
        }
    });
}

#[test]
fn follows_redirects_itself_and_keeps_links_inside() {
    let serve = Serve::start(&["--allow-loopback"]);
    let basic_user = &bed()["users"]["basic"];
    let auth = basic(basic_user["username"].as_str().unwrap(), basic_user["password"].as_str().unwrap());

    // distribution answers /v2 with a redirect to /v2/, on the same host: followed here, with
    // the credentials kept, so the page sees the final answer and no Location.
    let reply = get(&serve.proxy("http", &registry("basic"), "/v2"), &[("Authorization", auth.as_str())]);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.header("location"), "");
    assert_eq!(reply.body, b"{}");

    let anon = registry("anon");
    let first = get(&serve.proxy("http", &anon, "/v2/_catalog?n=1"), &[]);
    assert_eq!(first.status, 200);
    let link = first.header("link").to_string();
    let prefix = format!("<{}", serve.proxy("http", &anon, "/v2/_catalog?"));
    assert!(link.starts_with(&prefix) && link.ends_with(">; rel=\"next\""), "{link}");
    let next = &link[1..link.find('>').unwrap()];
    let second = get(next, &[]);
    assert_eq!(second.status, 200);
    let (a, b) = (&first.json()["repositories"][0], &second.json()["repositories"][0]);
    assert!(a.is_string() && b.is_string() && a != b, "{a} {b}");
    let log = serve.log_with(&format!("GET http://{anon}/v2/_catalog 200"));
    assert!(!log.contains("last="), "{log}");
}

/// Needs the bed's large fixture (`testbed.py seed-large`); without it there is nothing large
/// enough to tell streaming from buffering.
#[test]
fn streams_a_large_blob_without_holding_it() {
    let Some(large) = bed()["fixtures"].get("bench/large:1.0") else {
        eprintln!("skipped: the test bed has no bench/large:1.0 (run tests/testbed/testbed.py seed-large)");
        return;
    };
    let layer = large["layers"].as_array().unwrap().iter().max_by_key(|l| l["size"].as_u64()).unwrap();
    let (digest, size) = (layer["digest"].as_str().unwrap(), layer["size"].as_u64().unwrap());
    let serve = Serve::start(&["--allow-loopback"]);
    let url = serve.proxy("http", &registry("anon"), &format!("/v2/bench/large/blobs/{digest}"));

    let response = ureq::get(&url).call().unwrap();
    assert_eq!(response.headers().get("content-length").unwrap().to_str().unwrap(), size.to_string());
    // Hashing 256 MiB in a debug build takes long; the length and the last MiB, compared with
    // the registry's own bytes, show the stream arrived whole.
    let mut reader = response.into_body().into_reader();
    let (mut buf, mut total, mut tail) = (vec![0u8; 1 << 20], 0u64, Vec::new());
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&buf[..n]);
        tail.drain(..tail.len().saturating_sub(1 << 20));
        total += n as u64;
    }
    assert_eq!(total, size);
    let direct = format!("http://{}/v2/bench/large/blobs/{digest}", registry("anon"));
    let range = format!("bytes={}-", size - tail.len() as u64);
    assert_eq!(get(&direct, &[("Range", range.as_str())]).body, tail);

    let status = fs::read_to_string(format!("/proc/{}/status", serve.child.id())).unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(peak_kib < 64 * 1024, "the server peaked at {peak_kib} KiB for a {size}-byte blob");
}
