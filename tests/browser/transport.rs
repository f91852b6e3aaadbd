use imagescope_core::auth::credentials::Credential;
use imagescope_core::client::Client;
use imagescope_core::digest::Digest;
use imagescope_core::media_type::manifest_accept_header;
use imagescope_core::platform::Platform;
use imagescope_core::reference::Reference;
use imagescope_core::transport::{read_limited, Body, Clock, Request, Transport, TransportError};
use imagescope_web::fetch::{
    from_proxy_url, to_proxy_url, unproxy_text, DateClock, FetchTransport,
};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

const CORS_REGISTRY: Option<&str> = option_env!("IMAGESCOPE_TEST_CORS_REGISTRY");
const NOCORS_REGISTRY: Option<&str> = option_env!("IMAGESCOPE_TEST_NOCORS_REGISTRY");

/// The test bed address, or `None` with a message saying why the test does nothing.
fn registry(value: Option<&'static str>, variable: &str) -> Option<&'static str> {
    if value.is_none() {
        console_log!("skipped: {variable} was not set when this test was compiled (tests/browser/run.sh sets it)");
    }
    value
}

#[wasm_bindgen_test]
async fn reads_status_exposed_headers_and_streams_the_body() {
    let Some(host) = registry(CORS_REGISTRY, "IMAGESCOPE_TEST_CORS_REGISTRY") else {
        return;
    };
    let transport = FetchTransport::direct();
    let url = format!("http://{host}/v2/public/hello/manifests/1.0");
    let mut response = transport
        .send(Request::get(&url).header("Accept", manifest_accept_header()))
        .await
        .expect("fetch");
    assert_eq!(response.status, 200);
    assert_eq!(response.url, url);
    let header_digest = response
        .header("docker-content-digest")
        .expect("Docker-Content-Digest is exposed")
        .to_string();
    let mut body = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = response.body.chunk().await.expect("chunk") {
        chunks += 1;
        body.extend_from_slice(&chunk);
    }
    assert!(chunks >= 1);
    assert_eq!(Some(body.len() as u64), response.content_length());
    assert_eq!(Digest::sha256_of(&body).to_string(), header_digest);
    assert_eq!(response.body.chunk().await.expect("after the end"), None);
}

#[wasm_bindgen_test]
async fn error_bodies_and_statuses_come_through() {
    let Some(host) = registry(CORS_REGISTRY, "IMAGESCOPE_TEST_CORS_REGISTRY") else {
        return;
    };
    let mut response = FetchTransport::direct()
        .send(
            Request::get(format!(
                "http://{host}/v2/public/hello/manifests/no-such-tag"
            ))
            .header("Accept", manifest_accept_header()),
        )
        .await
        .expect("fetch");
    assert_eq!(response.status, 404);
    let body = read_limited(&mut response.body, 1 << 20)
        .await
        .expect("read")
        .expect("small");
    assert!(String::from_utf8_lossy(&body).contains("MANIFEST_UNKNOWN"));
}

#[wasm_bindgen_test]
async fn a_front_without_cors_headers_is_blocked() {
    let Some(host) = registry(NOCORS_REGISTRY, "IMAGESCOPE_TEST_NOCORS_REGISTRY") else {
        return;
    };
    let url = format!("http://{host}/v2/");
    match FetchTransport::direct().send(Request::get(&url)).await {
        Err(TransportError::Blocked { url: blocked, .. }) => assert_eq!(blocked, url),
        Err(other) => panic!("expected Blocked, got {other:?}"),
        Ok(r) => panic!("expected Blocked, got status {}", r.status),
    }
}

#[wasm_bindgen_test]
async fn a_closed_port_is_blocked_too() {
    match FetchTransport::direct()
        .send(Request::get("http://127.0.0.1:9/v2/"))
        .await
    {
        Err(TransportError::Blocked { .. }) => {}
        Err(other) => panic!("expected Blocked, got {other:?}"),
        Ok(r) => panic!("expected Blocked, got status {}", r.status),
    }
}

#[wasm_bindgen_test]
async fn the_core_client_inspects_through_fetch() {
    let Some(host) = registry(CORS_REGISTRY, "IMAGESCOPE_TEST_CORS_REGISTRY") else {
        return;
    };
    let reference = Reference::parse(&format!("{host}/public/multi:v1")).expect("reference");
    let client = Client::new(
        FetchTransport::direct(),
        DateClock,
        &reference.endpoint(&[]),
        Credential::Anonymous,
    )
    .expect("client");
    let inspection = client
        .inspect(
            &reference,
            &Platform::parse("linux/arm/v7").expect("platform"),
        )
        .await
        .expect("inspect");
    let config = inspection.config.expect("config");
    assert_eq!(config.parsed.architecture, "arm");
    let image = inspection.image.expect("ImageStatus");
    assert_eq!(image.id, config.descriptor.digest.to_string());
    let purposes: Vec<&str> = client.exchanges().iter().map(|e| e.purpose).collect();
    assert_eq!(purposes, ["manifest", "manifest", "blob"]);
}

#[wasm_bindgen_test]
fn the_clock_is_unix_seconds() {
    let now = DateClock.now();
    assert!(now > 1_700_000_000 && now < 4_000_000_000, "{now}");
}

#[wasm_bindgen_test]
fn proxy_urls_round_trip() {
    let origin = "http://127.0.0.1:8080";
    let cases = [
        ("https://registry-1.docker.io/v2/library/busybox/manifests/latest", "http://127.0.0.1:8080/proxy/https/registry-1.docker.io/v2/library/busybox/manifests/latest"),
        ("http://127.0.0.1:5000/v2/x/tags/list?n=50", "http://127.0.0.1:8080/proxy/http/127.0.0.1:5000/v2/x/tags/list?n=50"),
    ];
    for (registry, proxied) in cases {
        assert_eq!(to_proxy_url(origin, registry), proxied);
        assert_eq!(from_proxy_url(origin, proxied), registry);
    }
    let realm = "http://127.0.0.1:8080/proxy/https/auth.docker.io/token?service=registry.docker.io";
    assert_eq!(
        to_proxy_url(origin, realm),
        realm,
        "URLs the proxy handed out are not proxied twice"
    );
    assert_eq!(
        FetchTransport::via_proxy(origin).outgoing_url(cases[0].0),
        cases[0].1
    );
    assert_eq!(
        FetchTransport::direct().outgoing_url(cases[0].0),
        cases[0].0
    );
    assert_eq!(
        unproxy_text(
            origin,
            r#"Bearer realm="http://127.0.0.1:8080/proxy/https/auth.docker.io/token",service="registry.docker.io""#
        ),
        r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io""#
    );
}
