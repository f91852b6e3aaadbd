use super::*;

const HELLO_V2: &str = r#"{
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
  "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469, "digest": "sha256:9c7a54a9a43cca047013b82af109fe963fde787f63f9e016fdc3384500c2823d"},
  "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2479, "digest": "sha256:719385e32844401d57ecfd3eacab360bf551a1491c05b85806ed8f1b08d792f6"}]
}"#;

fn index_json() -> String {
    let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
      {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{a}","size":500,"platform":{{"architecture":"amd64","os":"linux"}}}},
      {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{b}","size":501,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}},
      {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{c}","size":502,"platform":{{"architecture":"arm","os":"linux","variant":"v6"}}}},
      {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{e}","size":503,"platform":{{"architecture":"arm","os":"linux","variant":"v7"}}}},
      {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{f}","size":504,"platform":{{"architecture":"unknown","os":"unknown"}},
        "annotations":{{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"{a}"}}}}
    ]}}"#,
        a = d('a'),
        b = d('b'),
        c = d('c'),
        e = d('e'),
        f = d('f')
    )
}

fn expect<'a>(content_type: Option<&'a str>) -> ManifestExpectations<'a> {
    ManifestExpectations { content_type, image_name: "docker.io/library/test:latest", ..Default::default() }
}

#[test]
fn detects_every_kind_from_content_type_or_body() {
    let index = index_json();
    let cases: Vec<(Option<&str>, &str, &str)> = vec![
        (Some(mt::DOCKER_MANIFEST_V2), HELLO_V2, mt::DOCKER_MANIFEST_V2),
        (Some("application/vnd.docker.distribution.manifest.v2+json; charset=utf-8"), HELLO_V2, mt::DOCKER_MANIFEST_V2),
        (None, HELLO_V2, mt::DOCKER_MANIFEST_V2),
        (Some("application/json"), HELLO_V2, mt::DOCKER_MANIFEST_V2),
        (Some(mt::OCI_INDEX), &index, mt::OCI_INDEX),
        (Some("text/plain"), &index, mt::OCI_INDEX),
    ];
    for (ct, body, want) in cases {
        let got = parse_manifest(body.as_bytes(), &expect(ct)).unwrap();
        assert_eq!(got.media_type, want, "{ct:?}");
        assert_eq!(got.digest, Digest::sha256_of(body.as_bytes()));
        assert_eq!(got.size, body.len() as u64);
        assert!(got.warnings.is_empty());
    }
}

#[test]
fn body_without_media_type_is_guessed() {
    let oci_no_mt = r#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
    let got = parse_manifest(oci_no_mt.as_bytes(), &expect(None)).unwrap();
    assert_eq!(got.media_type, mt::OCI_MANIFEST);
    let index_no_mt = r#"{"schemaVersion":2,"manifests":[]}"#;
    assert_eq!(parse_manifest(index_no_mt.as_bytes(), &expect(None)).unwrap().media_type, mt::OCI_INDEX);
}

#[test]
fn content_type_contradicting_body_is_rejected() {
    let err = parse_manifest(HELLO_V2.as_bytes(), &expect(Some(mt::OCI_MANIFEST))).unwrap_err();
    assert_eq!(
        err,
        ManifestError::MediaTypeMismatch { content_type: mt::OCI_MANIFEST.into(), body_media_type: mt::DOCKER_MANIFEST_V2.into() }
    );
    let err = parse_manifest(index_json().as_bytes(), &expect(Some(mt::DOCKER_MANIFEST_LIST))).unwrap_err();
    assert!(matches!(err, ManifestError::MediaTypeMismatch { .. }));
}

#[test]
fn digest_checks() {
    let body = HELLO_V2.as_bytes();
    let right = Digest::sha256_of(body);
    let wrong = Digest::sha256_of(b"something else");
    let by_digest = ManifestExpectations { requested_digest: Some(&right), ..expect(Some(mt::DOCKER_MANIFEST_V2)) };
    assert_eq!(parse_manifest(body, &by_digest).unwrap().digest, right);
    let by_wrong = ManifestExpectations { requested_digest: Some(&wrong), ..expect(Some(mt::DOCKER_MANIFEST_V2)) };
    assert_eq!(
        parse_manifest(body, &by_wrong).unwrap_err(),
        ManifestError::DigestMismatch { expected: wrong.clone(), actual: right.clone() }
    );
    let header = right.to_string();
    let with_header = ManifestExpectations { header_digest: Some(&header), ..expect(Some(mt::DOCKER_MANIFEST_V2)) };
    assert!(parse_manifest(body, &with_header).is_ok());
    let bad_header = wrong.to_string();
    let with_bad = ManifestExpectations { header_digest: Some(&bad_header), ..expect(Some(mt::DOCKER_MANIFEST_V2)) };
    assert_eq!(parse_manifest(body, &with_bad).unwrap_err(), ManifestError::HeaderDigestMismatch { header: wrong, actual: right });
    let garbage = ManifestExpectations { header_digest: Some("md5:abc"), ..expect(Some(mt::DOCKER_MANIFEST_V2)) };
    assert!(matches!(parse_manifest(body, &garbage).unwrap_err(), ManifestError::BadHeaderDigest(_)));
}

#[test]
fn sha512_header_is_checked_with_sha512() {
    let body = HELLO_V2.as_bytes();
    let header = Digest::of(Algorithm::Sha512, body).to_string();
    let e = ManifestExpectations { header_digest: Some(&header), ..expect(Some(mt::DOCKER_MANIFEST_V2)) };
    let got = parse_manifest(body, &e).unwrap();
    assert_eq!(got.digest.to_string(), header);
}

#[test]
fn oversized_manifest_is_refused() {
    let body = vec![b' '; MAX_MANIFEST_BYTES + 1];
    assert_eq!(parse_manifest(&body, &expect(None)).unwrap_err(), ManifestError::TooLarge { size: body.len() as u64 });
}

#[test]
fn not_json_and_unknown_types_are_errors() {
    assert!(matches!(parse_manifest(b"<html>", &expect(Some("text/html"))).unwrap_err(), ManifestError::Invalid { .. }));
    assert!(matches!(parse_manifest(b"{}", &expect(None)).unwrap_err(), ManifestError::Unsupported(_)));
    let missing_config = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#;
    assert!(matches!(parse_manifest(missing_config.as_bytes(), &expect(None)).unwrap_err(), ManifestError::Invalid { .. }));
    let bad_digest = HELLO_V2.replace("sha256:9c7a", "sha256:XX7a");
    assert!(matches!(parse_manifest(bad_digest.as_bytes(), &expect(None)).unwrap_err(), ManifestError::Invalid { .. }));
}

const SCHEMA1_PAYLOAD: &str = "{\n   \"schemaVersion\": 1,\n   \"name\": \"library/old\",\n   \"tag\": \"2.6\",\n   \"architecture\": \"amd64\",\n   \"fsLayers\": [\n      {\"blobSum\": \"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"},\n      {\"blobSum\": \"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}\n   ],\n   \"history\": [{\"v1Compatibility\": \"{\\\"id\\\":\\\"2\\\"}\"}, {\"v1Compatibility\": \"{\\\"id\\\":\\\"1\\\"}\"}]\n}";

/// Builds a signed schema1 body the way libtrust does: the payload's closing brace is cut off,
/// the signature block appended, and the cut recorded in the protected header.
fn sign_schema1(payload: &str) -> String {
    let format_length = payload.rfind("\n}").unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let protected = format!(
        r#"{{"formatLength":{format_length},"formatTail":"{}","time":"2016-01-01T00:00:00Z"}}"#,
        b64.encode(&payload[format_length..])
    );
    format!(
        "{},\n   \"signatures\": [{{\"header\": {{\"alg\": \"ES256\"}}, \"signature\": \"c2ln\", \"protected\": \"{}\"}}]\n}}",
        &payload[..format_length],
        b64.encode(protected)
    )
}

#[test]
fn signed_schema1_digest_covers_the_payload_not_the_body() {
    let body = sign_schema1(SCHEMA1_PAYLOAD);
    let got = parse_manifest(body.as_bytes(), &expect(Some(mt::DOCKER_MANIFEST_V1_SIGNED))).unwrap();
    assert_eq!(got.digest, Digest::sha256_of(SCHEMA1_PAYLOAD.as_bytes()));
    assert_ne!(got.digest, Digest::sha256_of(body.as_bytes()));
    assert_eq!(got.size, body.len() as u64);
    let Manifest::Schema1 { manifest, signed } = &got.manifest else { panic!("not schema1") };
    assert!(signed);
    assert_eq!(manifest.layers_oldest_first()[0].hex(), "a".repeat(64));
    assert_eq!(got.warnings.len(), 1);
    assert!(got.warnings[0].starts_with("Image docker.io/library/test:latest uses outdated schema1 manifest format."));
    // The registry names a signed schema1 manifest by its payload digest; the check must agree.
    let header = Digest::sha256_of(SCHEMA1_PAYLOAD.as_bytes()).to_string();
    let with_header = ManifestExpectations { header_digest: Some(&header), ..expect(None) };
    assert_eq!(parse_manifest(body.as_bytes(), &with_header).unwrap().media_type, mt::DOCKER_MANIFEST_V1_SIGNED);
}

#[test]
fn unsigned_schema1_digest_is_the_body() {
    let got = parse_manifest(SCHEMA1_PAYLOAD.as_bytes(), &expect(Some(mt::DOCKER_MANIFEST_V1))).unwrap();
    assert_eq!(got.digest, Digest::sha256_of(SCHEMA1_PAYLOAD.as_bytes()));
    assert!(matches!(got.manifest, Manifest::Schema1 { signed: false, .. }));
}

#[test]
fn broken_signature_block_is_an_error() {
    let body = sign_schema1(SCHEMA1_PAYLOAD).replace("\"protected\": \"", "\"protected\": \"!!");
    assert!(matches!(parse_manifest(body.as_bytes(), &expect(None)).unwrap_err(), ManifestError::BadSignature(_)));
}

#[test]
fn index_selection() {
    let index_body = index_json();
    let got = parse_manifest(index_body.as_bytes(), &expect(Some(mt::OCI_INDEX))).unwrap();
    let Manifest::Index(index) = got.manifest else { panic!("not an index") };
    let pick = |p: &str| index.select(&Platform::parse(p).unwrap()).map(|d| d.size);
    assert_eq!(pick("linux/amd64"), Ok(500));
    assert_eq!(pick("linux/arm64"), Ok(501));
    assert_eq!(pick("linux/arm64/v8"), Ok(501));
    assert_eq!(pick("linux/arm"), Ok(503), "arm means arm/v7, not the first arm entry");
    assert_eq!(pick("linux/arm/v6"), Ok(502));
    let err = pick("linux/s390x").unwrap_err();
    assert_eq!(err.available, vec!["linux/amd64", "linux/arm64/v8", "linux/arm/v6", "linux/arm/v7"]);
    assert!(err.to_string().contains("linux/s390x"));
    assert!(index.manifests[4].is_attestation());
    assert!(pick("unknown/unknown").is_err(), "an attestation is never an image");
}

#[test]
fn entry_without_platform_counts_as_linux_amd64() {
    let body = r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":7}]}"#;
    let index: ImageIndex = serde_json::from_str(body).unwrap();
    assert_eq!(index.select(&Platform::default_linux_amd64()).unwrap().size, 7);
    assert!(index.select(&Platform::parse("linux/arm64").unwrap()).is_err());
}

#[test]
fn artifacts_are_recognised() {
    let body = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json",
      "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},
      "layers":[{"mediaType":"application/spdx+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":10}],
      "subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","size":100}}"#;
    let got = parse_manifest(body.as_bytes(), &expect(None)).unwrap();
    let Manifest::Image(m) = got.manifest else { panic!() };
    assert!(m.is_artifact());
    assert_eq!(m.effective_artifact_type(), Some("application/spdx+json"));
    assert_eq!(m.subject.unwrap().size, 100);
    let Manifest::Image(image) = parse_manifest(HELLO_V2.as_bytes(), &expect(None)).unwrap().manifest else { panic!() };
    assert!(!image.is_artifact());
    assert_eq!(image.effective_artifact_type(), None);
}

#[test]
fn config_fields_and_history_lines() {
    let body = r#"{"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z","author":"someone",
      "config":{"User":"1000:1000","Env":["PATH=/usr/bin"],"Entrypoint":["/app"],"Cmd":["--help"],"WorkingDir":"/srv",
        "ExposedPorts":{"8080/tcp":{}},"Volumes":{"/data":{}},"Labels":{"a":"b"},"StopSignal":"SIGTERM"},
      "rootfs":{"type":"layers","diff_ids":["sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"]},
      "history":[{"created_by":"/bin/sh -c #(nop) ADD file:abc in / "},{"created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]","empty_layer":true},
        {"created_by":"/bin/sh -c apk add curl"},{"created_by":"|1 V=2 /bin/sh -c make"},{"created_by":"COPY . /src # buildkit"}]}"#;
    let c = parse_config(body.as_bytes()).unwrap();
    let rc = c.config.as_ref().unwrap();
    assert_eq!(rc.user.as_deref(), Some("1000:1000"));
    assert_eq!(rc.stop_signal.as_deref(), Some("SIGTERM"));
    assert_eq!(rc.exposed_ports.as_ref().unwrap().keys().collect::<Vec<_>>(), vec!["8080/tcp"]);
    assert_eq!(c.rootfs.as_ref().unwrap().diff_ids.len(), 1);
    let lines: Vec<String> = c.history.iter().map(History::dockerfile_line).collect();
    assert_eq!(lines, vec!["ADD file:abc in /", "CMD [\"sh\"]", "RUN apk add curl", "RUN make", "COPY . /src # buildkit"]);
    assert!(c.history[1].empty_layer);
    assert!(parse_config(b"not json").is_err());
}
