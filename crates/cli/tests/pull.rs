//! `imagescope pull` and the store commands against the test bed's real registry, with a small
//! fault-injecting proxy in front of it for cut connections and corrupted bytes, and skopeo
//! reading the exported archives.

mod common;

use common::{fixture, imagescope, registry, Run};
use imagescope_core::digest::Digest;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn store_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("imagescope-pull-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(args: &[&str], store: &Path) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--store", store.to_str().unwrap()]);
    imagescope(&all, None)
}

fn ok(args: &[&str], store: &Path) -> Run {
    let r = run(args, store);
    assert_eq!(r.code, 0, "imagescope {args:?} failed:\n{}\n{}", r.stdout, r.stderr);
    r
}

fn blob_file(store: &Path, digest: &str) -> PathBuf {
    store.join("blobs/sha256").join(digest.trim_start_matches("sha256:"))
}

fn sha256(bytes: &[u8]) -> String {
    Digest::sha256_of(bytes).to_string()
}

fn http() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn upload(repo: &str, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    let base = format!("http://{}", registry("anon"));
    let agent = http();
    let started = agent.post(&format!("{base}/v2/{repo}/blobs/uploads/")).send_empty().expect("start upload");
    assert_eq!(started.status().as_u16(), 202, "start upload to {repo}");
    let location = started.headers().get("location").expect("Location").to_str().unwrap().to_string();
    let url = if location.starts_with("http") { location } else { format!("{base}{location}") };
    let sep = if url.contains('?') { '&' } else { '?' };
    let done = agent.put(&format!("{url}{sep}digest={digest}")).content_type("application/octet-stream").send(bytes).expect("upload");
    assert_eq!(done.status().as_u16(), 201, "upload {digest} to {repo}");
    digest
}

/// Pushes an OCI image to the anonymous registry; `diff_ids` override the honest ones when given.
fn push_image(repo: &str, tag: &str, layers: &[(Vec<u8>, &str, Vec<u8>)], diff_ids: Option<Vec<String>>) -> String {
    let honest: Vec<String> = layers.iter().map(|(_, _, tar)| sha256(tar)).collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/true"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids.unwrap_or(honest)},
        "created": "2024-01-01T00:00:00Z", "history": [{"created_by": repo}],
    }))
    .unwrap();
    let config_digest = upload(repo, &config);
    let descriptors: Vec<Value> = layers
        .iter()
        .map(|(blob, media_type, _)| json!({"mediaType": media_type, "digest": upload(repo, blob), "size": blob.len()}))
        .collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": descriptors,
    }))
    .unwrap();
    let url = format!("http://{}/v2/{repo}/manifests/{tag}", registry("anon"));
    let put = http().put(&url).content_type("application/vnd.oci.image.manifest.v1+json").send(&manifest[..]).expect("push manifest");
    assert_eq!(put.status().as_u16(), 201, "push {repo}:{tag}");
    sha256(&manifest)
}

/// Runs gzip with `args` over `input`; the input is fed from a thread so a full output pipe cannot stall it.
fn gzip_tool(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip").args(args).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().expect("gzip");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap().stdout;
    feeder.join().unwrap().unwrap();
    out
}

fn gzip(tar: &[u8]) -> Vec<u8> {
    gzip_tool(&["-n", "-c"], tar)
}

/// A one-file tar (`name` holding `body`), built by hand so the test needs no tar tool.
fn tar_of(name: &str, body: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{:011o}\0", body.len()).as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[148..156].fill(b' ');
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut out = h.to_vec();
    out.extend(body);
    out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
    out
}

/// Random-looking bytes that do not compress, so a layer really is `len` bytes on the wire.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// (Range header, status) of each request for the faulty blob.
type RequestLog = Arc<Mutex<Vec<(Option<String>, u16)>>>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Close the connection after this many body bytes of a blob GET.
    CutAfter(usize),
    /// Flip one byte in the middle of the body of a blob GET.
    Corrupt,
}

/// A loopback proxy to the real registry that injects `fault` into GETs of the blob `target`,
/// `times` times; it records (Range header, status) of every blob request for that blob.
struct FaultProxy {
    address: String,
    log: RequestLog,
}

impl FaultProxy {
    fn start(target: &str, fault: Fault, times: usize) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let log: RequestLog = Arc::new(Mutex::new(Vec::new()));
        let (upstream, target, left, log2) = (registry("anon"), target.to_string(), Arc::new(AtomicUsize::new(times)), log.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, target, left, log) = (upstream.clone(), target.clone(), left.clone(), log2.clone());
                std::thread::spawn(move || proxy_one(client, &upstream, &target, fault, &left, &log));
            }
        });
        FaultProxy { address, log }
    }

    fn blob_requests(&self) -> Vec<(Option<String>, u16)> {
        self.log.lock().unwrap().clone()
    }
}

fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(head)
}

fn proxy_one(mut client: TcpStream, upstream: &str, target: &str, fault: Fault, left: &AtomicUsize, log: &Mutex<Vec<(Option<String>, u16)>>) {
    let Some(head) = read_head(&mut client) else { return };
    let text = String::from_utf8_lossy(&head).to_string();
    let path = text.split_whitespace().nth(1).unwrap_or("").to_string();
    let range = text.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("range:").map(|v| v.trim().to_string()));
    let request: String = text
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect::<String>()
        + "Connection: close\r\n\r\n";
    let mut server = TcpStream::connect(upstream).unwrap();
    server.write_all(request.as_bytes()).unwrap();
    let Some(response_head) = read_head(&mut server) else { return };
    let status: u16 = String::from_utf8_lossy(&response_head).split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let is_target = path.ends_with(&format!("/blobs/{target}"));
    if is_target {
        log.lock().unwrap().push((range.clone(), status));
    }
    let inject = is_target
        && status / 100 == 2
        && left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    let head_out: String = String::from_utf8_lossy(&response_head)
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect::<String>()
        + "Connection: close\r\n\r\n";
    client.write_all(head_out.as_bytes()).unwrap();
    let mut body = Vec::new();
    server.read_to_end(&mut body).unwrap();
    match fault {
        Fault::CutAfter(n) if inject => {
            let _ = client.write_all(&body[..n.min(body.len())]);
        }
        Fault::Corrupt if inject => {
            let middle = body.len() / 2;
            body[middle] ^= 0xff;
            let _ = client.write_all(&body);
        }
        _ => {
            let _ = client.write_all(&body);
        }
    }
    let _ = client.flush();
    let _ = client.shutdown(Shutdown::Both);
}

#[test]
fn pull_list_status_remove_and_dedup_shared_layers() {
    let store = store_dir("lifecycle");
    let hello = fixture("public/hello:1.0");
    let hello_ref = format!("{}/public/hello:1.0", registry("anon"));
    let first = ok(&["pull", &hello_ref], &store);
    let layers: Vec<&str> = hello["layers"].as_array().unwrap().iter().map(|l| l["digest"].as_str().unwrap()).collect();
    let short = |d: &str| d[7..19].to_string();
    let lines: Vec<&str> = first.stdout.lines().collect();
    assert_eq!(lines[0], "1.0: Pulling from public/hello");
    for l in &layers {
        assert!(lines.contains(&format!("{}: Pulling fs layer", short(l)).as_str()), "{}", first.stdout);
        assert!(lines.contains(&format!("{}: Pull complete", short(l)).as_str()), "{}", first.stdout);
    }
    let n = lines.len();
    assert_eq!(lines[n - 3], format!("Digest: {}", hello["manifest_digest"].as_str().unwrap()));
    assert_eq!(lines[n - 2], format!("Status: Downloaded newer image for {hello_ref}"));
    assert_eq!(lines[n - 1], hello_ref);
    for blob in layers.iter().copied().chain([hello["config_digest"].as_str().unwrap(), hello["manifest_digest"].as_str().unwrap()]) {
        let bytes = std::fs::read(blob_file(&store, blob)).expect("blob stored");
        assert_eq!(sha256(&bytes), blob);
    }
    let again = ok(&["pull", &hello_ref], &store);
    assert!(again.stdout.contains(&format!("{}: Already exists", short(layers[0]))), "{}", again.stdout);
    assert!(again.stdout.contains(&format!("Status: Image is up to date for {hello_ref}")), "{}", again.stdout);

    let multi_ref = format!("{}/public/multi:v1", registry("anon"));
    ok(&["pull", &multi_ref], &store);

    // A second image that shares hello's first layer: that layer is not fetched again.
    let shared_tar = tar_of("extra.txt", b"only in the shared image\n");
    let shared_blob = gzip(&shared_tar);
    let hello_layer = std::fs::read(blob_file(&store, layers[0])).unwrap();
    let hello_tar = gunzip(&hello_layer);
    push_image(
        "pulltest/shared",
        "1",
        &[(hello_layer.clone(), "application/vnd.oci.image.layer.v1.tar+gzip", hello_tar), (shared_blob.clone(), "application/vnd.oci.image.layer.v1.tar+gzip", shared_tar)],
        None,
    );
    let shared_ref = format!("{}/pulltest/shared:1", registry("anon"));
    let shared = ok(&["pull", &shared_ref, "--verify-diff-ids"], &store);
    assert!(shared.stdout.contains(&format!("{}: Already exists", short(layers[0]))), "{}", shared.stdout);
    assert!(shared.stdout.contains(&format!("{}: Pull complete", &sha256(&shared_blob)[7..19])), "{}", shared.stdout);

    let listed = ok(&["images", "--json"], &store).json();
    assert_eq!(listed["images"].as_array().unwrap().len(), 3);
    let filtered = ok(&["images", "--json", "--filter", &format!("{}/public/hello", registry("anon"))], &store).json();
    assert_eq!(filtered["images"].as_array().unwrap().len(), 1);
    let status = ok(&["status", &hello_ref], &store).json();
    assert_eq!(status["image"]["id"], hello["config_digest"]);
    assert_eq!(status["image"]["repo_digests"][0], format!("{}/public/hello@{}", registry("anon"), hello["manifest_digest"].as_str().unwrap()));
    assert_eq!(status["image"]["size"], hello["content_size"]);

    let removed = ok(&["rmi", &hello_ref, "--json"], &store).json();
    assert_eq!(removed["image"]["id"], hello["config_digest"]);
    assert!(blob_file(&store, layers[0]).exists(), "the shared layer stays for pulltest/shared");
    assert!(!blob_file(&store, layers[1]).exists(), "hello's own layer is deleted");
    assert!(!blob_file(&store, hello["config_digest"].as_str().unwrap()).exists());
    assert_eq!(ok(&["status", &hello_ref], &store).json(), json!({"image": null}));
    ok(&["rmi", &hello_ref], &store);
    let back = ok(&["pull", &hello_ref], &store);
    assert!(back.stdout.contains(&format!("{}: Already exists", short(layers[0]))), "{}", back.stdout);
    assert!(back.stdout.contains(&format!("{}: Pull complete", short(layers[1]))), "{}", back.stdout);
    let fsck = ok(&["fsck", "--json"], &store).json();
    assert_eq!(fsck["corrupt"], json!([]));
    assert_eq!(fsck["missing"], json!([]));
}

/// gunzip through the system tool, so the test's expectations do not share the core's decoder.
fn gunzip(gz: &[u8]) -> Vec<u8> {
    gzip_tool(&["-dc"], gz)
}

fn big_image(repo: &str, seed: u64) -> (String, Vec<u8>) {
    let tar = tar_of("noise.bin", &noise(3 * 1024 * 1024, seed));
    let blob = gzip(&tar);
    push_image(repo, "1", &[(blob.clone(), "application/vnd.oci.image.layer.v1.tar+gzip", tar)], None);
    (sha256(&blob), blob)
}

#[test]
fn a_cut_download_resumes_with_range_and_is_verified() {
    let (layer, blob) = big_image("pulltest/resume", 7);
    let store = store_dir("resume");
    // Within one pull: the first connection breaks after 1 MiB, the retry asks for the rest.
    let proxy = FaultProxy::start(&layer, Fault::CutAfter(1024 * 1024), 1);
    let reference = format!("{}/pulltest/resume:1", proxy.address);
    let pulled = ok(&["pull", &reference], &store);
    assert!(pulled.stderr.contains("resuming from byte 1048576"), "{}", pulled.stderr);
    let requests = proxy.blob_requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[1], (Some("bytes=1048576-".to_string()), 206));
    assert_eq!(std::fs::read(blob_file(&store, &layer)).unwrap(), blob);

    // Across pulls: every attempt of the first pull breaks, the next pull continues from the bytes kept.
    let store = store_dir("resume-later");
    let proxy = FaultProxy::start(&layer, Fault::CutAfter(1024 * 1024), 3);
    let reference = format!("{}/pulltest/resume:1", proxy.address);
    let failed = run(&["pull", &reference], &store);
    assert_ne!(failed.code, 0);
    assert!(failed.stderr.contains("pull again to resume"), "{}", failed.stderr);
    assert!(!blob_file(&store, &layer).exists());
    let partial = store.join("ingest").join(format!("sha256-{}.data", &layer[7..]));
    let kept = std::fs::metadata(&partial).expect("partial kept").len();
    assert!(kept > 0);
    let resumed = ok(&["pull", &reference], &store);
    assert!(resumed.stderr.contains(&format!("resuming at byte {kept} of {}", blob.len())), "{}", resumed.stderr);
    assert_eq!(proxy.blob_requests().last().unwrap(), &(Some(format!("bytes={kept}-")), 206));
    assert_eq!(std::fs::read(blob_file(&store, &layer)).unwrap(), blob);
    assert!(!partial.exists());
}

#[test]
fn a_corrupted_blob_is_rejected_and_nothing_is_stored() {
    let (layer, _) = big_image("pulltest/corrupt", 11);
    let store = store_dir("corrupt");
    let proxy = FaultProxy::start(&layer, Fault::Corrupt, usize::MAX);
    let reference = format!("{}/pulltest/corrupt:1", proxy.address);
    let failed = run(&["pull", &reference, "--json"], &store);
    assert_ne!(failed.code, 0);
    assert!(failed.stderr.contains("digest mismatch"), "{}", failed.stderr);
    assert_eq!(failed.json()["error"]["kind"], "blob");
    assert!(!blob_file(&store, &layer).exists());
    assert_eq!(std::fs::read_dir(store.join("ingest")).unwrap().count(), 0, "no partial left");
    assert_eq!(ok(&["images", "--json"], &store).json(), json!({"images": []}));

    // A manifest that promises one byte more than the blob holds is refused the same way.
    let tar = tar_of("a", b"a");
    let blob = gzip(&tar);
    let digest = upload("pulltest/short", &blob);
    let config = serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [sha256(&tar)]}})).unwrap();
    let config_digest = upload("pulltest/short", &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": blob.len() + 1}],
    }))
    .unwrap();
    let put = http()
        .put(&format!("http://{}/v2/pulltest/short/manifests/1", registry("anon")))
        .content_type("application/vnd.oci.image.manifest.v1+json")
        .send(&manifest[..])
        .unwrap();
    assert_eq!(put.status().as_u16(), 201);
    let failed = run(&["pull", &format!("{}/pulltest/short:1", registry("anon"))], &store);
    assert_ne!(failed.code, 0, "{}", failed.stdout);
    assert!(!blob_file(&store, &digest).exists());
    assert_eq!(std::fs::read_dir(store.join("ingest")).unwrap().count(), 0);
}

#[test]
fn diff_ids_are_checked_for_gzip_and_zstd_layers() {
    let store = store_dir("diffids");
    let zstd = fixture("public/zstd:1.0");
    let pulled = ok(&["pull", &format!("{}/public/zstd:1.0", registry("anon")), "--verify-diff-ids"], &store);
    for l in zstd["layers"].as_array().unwrap() {
        assert!(pulled.stdout.contains(&format!("{}: Pull complete", &l["digest"].as_str().unwrap()[7..19])), "{}", pulled.stdout);
    }
    let tar = tar_of("lie.txt", b"the config says otherwise\n");
    let blob = gzip(&tar);
    push_image("pulltest/baddiff", "1", &[(blob.clone(), "application/vnd.oci.image.layer.v1.tar+gzip", tar)], Some(vec![sha256(b"something else")]));
    let reference = format!("{}/pulltest/baddiff:1", registry("anon"));
    let failed = run(&["pull", &reference, "--verify-diff-ids"], &store);
    assert_ne!(failed.code, 0);
    assert!(failed.stderr.contains("rootfs.diff_ids[0]"), "{}", failed.stderr);
    assert!(!blob_file(&store, &sha256(&blob)).exists(), "an inconsistent layer is not kept");
    assert_eq!(ok(&["status", &reference], &store).json(), json!({"image": null}));
    ok(&["pull", &reference], &store);
}

fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo").args(args).output().expect("run skopeo");
    assert!(out.status.success(), "skopeo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn exported_archives_load_in_skopeo_with_every_digest_intact() {
    let store = store_dir("export");
    let scratch = store_dir("export-out");
    std::fs::create_dir_all(&scratch).unwrap();
    for name in ["public/hello:1.0", "public/zstd:1.0"] {
        let f = fixture(name);
        let reference = format!("{}/{name}", registry("anon"));
        let archive = scratch.join(format!("{}.tar", name.replace(['/', ':'], "-")));
        ok(&["pull", &reference, "--output", archive.to_str().unwrap()], &store);
        let file = |scheme: &str| format!("{scheme}:{}", archive.display());
        let diff_ids: Vec<&str> = f["layers"].as_array().unwrap().iter().map(|l| l["diff_id"].as_str().unwrap()).collect();
        let layers: Vec<&str> = f["layers"].as_array().unwrap().iter().map(|l| l["digest"].as_str().unwrap()).collect();

        let inspected: Value = serde_json::from_str(&skopeo(&["inspect", &file("docker-archive")])).unwrap();
        assert_eq!(inspected["Layers"], json!(diff_ids), "{name}: docker-archive layers are the diff_ids");

        let dir = scratch.join(format!("dir-{}", name.replace(['/', ':'], "-")));
        skopeo(&["copy", &file("docker-archive"), &format!("dir:{}", dir.display())]);
        assert!(dir.join(&f["config_digest"].as_str().unwrap()[7..]).exists(), "{name}: config kept byte for byte");
        for d in &diff_ids {
            assert!(dir.join(&d[7..]).exists(), "{name}: layer {d} in dir:");
        }

        let dir = scratch.join(format!("oci-dir-{}", name.replace(['/', ':'], "-")));
        skopeo(&["copy", "--preserve-digests", &file("oci-archive"), &format!("dir:{}", dir.display())]);
        let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
        assert_eq!(sha256(&manifest), f["manifest_digest"], "{name}: the manifest survives the OCI side unchanged");
        for d in layers.iter().copied().chain([f["config_digest"].as_str().unwrap()]) {
            let bytes = std::fs::read(dir.join(&d[7..])).unwrap();
            assert_eq!(sha256(&bytes), d, "{name}: blob {d}");
        }
    }
    let f = fixture("public/zstd:1.0");
    let oci = scratch.join("oci-layout");
    skopeo(&["copy", "--preserve-digests", &format!("oci-archive:{}", scratch.join("public-zstd-1.0.tar").display()), &format!("oci:{}", oci.display())]);
    let index: Value = serde_json::from_slice(&std::fs::read(oci.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], f["manifest_digest"]);
    // `save` from the store writes the same archive again, byte for byte.
    let again = scratch.join("again.tar");
    ok(&["save", &format!("{}/public/zstd:1.0", registry("anon")), "--output", again.to_str().unwrap()], &store);
    assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(scratch.join("public-zstd-1.0.tar")).unwrap());
}

/// podman with a store of its own under `root`: loading needs no daemon, and the machine's
/// own image store is left alone.
fn podman(root: &Path, args: &[&str]) -> String {
    let (graph, run) = (root.join("graph"), root.join("run"));
    let base = ["--root", graph.to_str().unwrap(), "--runroot", run.to_str().unwrap(), "--storage-driver", "vfs"];
    let out = Command::new("podman").args(base).args(args).output().expect("run podman");
    assert!(out.status.success(), "podman {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn exported_archives_load_in_podman_as_the_same_image() {
    let store = store_dir("podman");
    let scratch = store_dir("podman-out");
    std::fs::create_dir_all(&scratch).unwrap();
    for name in ["public/hello:1.0", "public/zstd:1.0"] {
        let f = fixture(name);
        let reference = format!("{}/{name}", registry("anon"));
        let archive = scratch.join(format!("{}.tar", name.replace(['/', ':'], "-")));
        ok(&["pull", &reference, "--output", archive.to_str().unwrap()], &store);
        let loaded = podman(&scratch, &["load", "--input", archive.to_str().unwrap()]);
        assert!(loaded.contains(&format!("Loaded image: {reference}")), "{name}: {loaded}");
        let inspected: Value = serde_json::from_str(&podman(&scratch, &["image", "inspect", &reference])).unwrap();
        let image = &inspected[0];
        assert_eq!(image["Id"].as_str().map(|id| format!("sha256:{id}")), f["config_digest"].as_str().map(String::from), "{name}: podman's image ID is the config digest, like the CRI id");
        assert_eq!(image["Digest"], f["manifest_digest"], "{name}: the manifest is kept byte for byte");
        assert_eq!(image["RepoTags"], json!([reference]), "{name}");
        let diff_ids: Vec<&Value> = f["layers"].as_array().unwrap().iter().map(|l| &l["diff_id"]).collect();
        assert_eq!(image["RootFS"]["Layers"], json!(diff_ids), "{name}: every layer unpacks to its diff_id");
    }
    // podman's unpacked layers are the bulk of what the test wrote.
    let _ = std::fs::remove_dir_all(&scratch);
}
