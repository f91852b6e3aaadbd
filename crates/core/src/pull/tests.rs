use super::diff_id::DiffIdHasher;
use super::events::{docker_lines, progress_bar, recovery_notice, BlobKind, BlobStatus, PullEvent};
use super::range::{parse_content_range, range_mismatch, ContentRange};
use super::{is_digest_tag, CancelToken};
use crate::digest::Digest;
use crate::media_type::Compression;
use std::io::Write;

fn layer(hex_char: char) -> Digest {
    Digest::parse(&format!("sha256:{}", hex_char.to_string().repeat(64))).unwrap()
}

#[test]
fn docker_lines_match_docker_pull() {
    let d = Digest::parse("sha256:cbdbe7a5bc2a134ca8ec91be58565ec07d037386d1f1d8385412d224deafca08").unwrap();
    let blob = |status| PullEvent::Blob { digest: d.clone(), kind: BlobKind::Layer, status };
    let cases: Vec<(PullEvent, Vec<&str>)> = vec![
        (PullEvent::UsingDefaultTag, vec!["Using default tag: latest"]),
        (PullEvent::PullingFrom { tag_or_digest: "latest".into(), repository: "library/alpine".into() }, vec!["latest: Pulling from library/alpine"]),
        (blob(BlobStatus::Waiting { size: 1 }), vec!["cbdbe7a5bc2a: Pulling fs layer"]),
        (blob(BlobStatus::AlreadyExists { size: 1 }), vec!["cbdbe7a5bc2a: Already exists"]),
        (blob(BlobStatus::Verifying), vec!["cbdbe7a5bc2a: Verifying Checksum"]),
        (blob(BlobStatus::Downloaded), vec!["cbdbe7a5bc2a: Download complete"]),
        (blob(BlobStatus::Complete), vec!["cbdbe7a5bc2a: Pull complete"]),
        (blob(BlobStatus::Progress { done: 1, size: 2 }), vec![]),
        (PullEvent::Blob { digest: d.clone(), kind: BlobKind::Config, status: BlobStatus::Complete }, vec![]),
        (PullEvent::Overall { done: 1, total: 2 }, vec![]),
        (
            PullEvent::Done {
                digest: layer('9'),
                updated: true,
                familiar: "alpine:latest".into(),
                canonical: "docker.io/library/alpine:latest".into(),
            },
            vec![
                "Digest: sha256:9999999999999999999999999999999999999999999999999999999999999999",
                "Status: Downloaded newer image for alpine:latest",
                "docker.io/library/alpine:latest",
            ],
        ),
        (
            PullEvent::Done { digest: layer('9'), updated: false, familiar: "alpine@sha256:99".into(), canonical: "x".into() },
            vec!["Digest: sha256:9999999999999999999999999999999999999999999999999999999999999999", "Status: Image is up to date for alpine@sha256:99", "x"],
        ),
    ];
    for (event, want) in cases {
        assert_eq!(docker_lines(&event), want, "{event:?}");
    }
}

#[test]
fn events_serialize_for_a_worker_message() {
    let e = PullEvent::Blob { digest: layer('a'), kind: BlobKind::Layer, status: BlobStatus::Progress { done: 5, size: 10 } };
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["event"], "blob");
    assert_eq!(v["kind"], "layer");
    assert_eq!(v["status"], "progress");
    assert_eq!(v["done"], 5);
}

#[test]
fn progress_bar_has_docker_shape() {
    assert_eq!(progress_bar(0, 100), format!("[>{}]      0B/100B", " ".repeat(49)));
    assert_eq!(progress_bar(100, 100), format!("[{}]    100B/100B", "=".repeat(50)));
    assert!(progress_bar(1_500_000, 3_000_000).starts_with(&format!("[{}>", "=".repeat(25))));
    assert_eq!(progress_bar(0, 0), format!("[{}]      0B/0B", "=".repeat(50)));
}

#[test]
fn content_range_parsing() {
    let ok = |first, last, total| Some(ContentRange { first, last, total });
    let cases = [
        ("bytes 100-199/200", ok(100, 199, Some(200))),
        ("bytes 0-0/1", ok(0, 0, Some(1))),
        ("bytes 5-9/*", ok(5, 9, None)),
        ("  bytes  100-199/200 ", ok(100, 199, Some(200))),
        ("bytes 100-99/200", None),
        ("bytes 100-200/200", None),
        ("bytes */200", None),
        ("items 0-1/2", None),
        ("bytes -1-2/3", None),
        ("bytes +1-2/3", None),
        ("bytes 1-2", None),
        ("", None),
    ];
    for (input, want) in cases {
        assert_eq!(parse_content_range(input), want, "{input:?}");
    }
}

#[test]
fn a_206_must_be_exactly_the_rest() {
    assert_eq!(range_mismatch(Some("bytes 100-199/200"), 100, 200), None);
    assert_eq!(range_mismatch(Some("bytes 100-199/*"), 100, 200), None);
    for bad in [Some("bytes 0-199/200"), Some("bytes 100-150/200"), Some("bytes 100-199/300"), Some("garbage"), None] {
        assert!(range_mismatch(bad, 100, 200).is_some(), "{bad:?}");
    }
}

#[test]
fn digest_tags_are_recognised() {
    assert!(is_digest_tag(&format!("sha256-{}", "a".repeat(64))));
    assert!(!is_digest_tag("sha256-abc"));
    assert!(!is_digest_tag("v1.0-alpine"));
    assert!(!is_digest_tag(&format!("sha256-{}", "g".repeat(64))));
}

#[test]
fn recoveries_are_told_where_docker_is_silent() {
    let d = layer('a');
    let blob = |status| PullEvent::Blob { digest: d.clone(), kind: BlobKind::Layer, status };
    let cases: Vec<(PullEvent, Option<&str>)> = vec![
        (blob(BlobStatus::Retrying { from: 1024, reason: "reset".into() }), Some("aaaaaaaaaaaa: connection lost (reset); resuming from byte 1024")),
        (blob(BlobStatus::Restarted { reason: "the registry answered the Range request with the whole blob".into() }), Some("aaaaaaaaaaaa: starting over from byte 0: the registry answered the Range request with the whole blob")),
        (blob(BlobStatus::Downloading { size: 10, resumed_from: 4 }), Some("aaaaaaaaaaaa: resuming at byte 4 of 10")),
        (blob(BlobStatus::Downloading { size: 10, resumed_from: 0 }), None),
        (blob(BlobStatus::Complete), None),
        (PullEvent::Overall { done: 1, total: 2 }, None),
    ];
    for (event, want) in cases {
        assert_eq!(recovery_notice(&event).as_deref(), want, "{event:?}");
    }
}

#[test]
fn a_cancel_ends_a_wait_that_would_never_finish() {
    let token = CancelToken::new();
    let canceller = token.clone();
    let (waited, ()) = pollster::block_on(futures::future::join(token.unless_cancelled(futures::future::pending::<()>()), async move {
        // Let the wait park first, so the cancel has to wake it.
        let mut parked = false;
        std::future::poll_fn(|cx| {
            if std::mem::replace(&mut parked, true) {
                return std::task::Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        })
        .await;
        canceller.cancel();
    }));
    assert_eq!(waited, None);
    assert_eq!(pollster::block_on(token.unless_cancelled(async { 7 })), None, "once cancelled, nothing more runs");
    assert_eq!(pollster::block_on(CancelToken::new().unless_cancelled(async { 7 })), Some(7));
}

#[test]
fn cancel_token_is_shared_by_clones() {
    let token = CancelToken::new();
    let handle = token.clone();
    assert!(!token.is_cancelled());
    handle.cancel();
    assert!(token.is_cancelled());
}

fn sample_tar() -> Vec<u8> {
    let mut data: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    data.extend(b"hello layer\n".repeat(60_000));
    data
}

fn diff_id_in_chunks(compression: Compression, bytes: &[u8], chunk: usize) -> Result<Digest, super::diff_id::DecompressError> {
    let mut hasher = DiffIdHasher::new(compression);
    for c in bytes.chunks(chunk) {
        hasher.update(c)?;
    }
    hasher.finish()
}

#[test]
fn diff_id_of_gzip_in_any_chunking() {
    let data = sample_tar();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&data).unwrap();
    let mut compressed = gz.finish().unwrap();
    let want = Digest::sha256_of(&data);
    for chunk in [1, 7, 4096, 1 << 20] {
        if chunk == 1 && compressed.len() > 100_000 {
            continue;
        }
        assert_eq!(diff_id_in_chunks(Compression::Gzip, &compressed, chunk).unwrap(), want, "chunk {chunk}");
    }
    // Two members concatenated decompress to the two contents concatenated, as pigz writes them.
    let mut second = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    second.write_all(b"more").unwrap();
    compressed.extend(second.finish().unwrap());
    let mut both = data.clone();
    both.extend(b"more");
    assert_eq!(diff_id_in_chunks(Compression::Gzip, &compressed, 4096).unwrap(), Digest::sha256_of(&both));
    assert!(diff_id_in_chunks(Compression::Gzip, b"not gzip at all", 4).is_err());
}

#[test]
fn diff_id_of_zstd_frames_in_any_chunking() {
    let data = sample_tar();
    let frame = ruzstd::encoding::compress_to_vec(&data[..], ruzstd::encoding::CompressionLevel::Fastest);
    let want = Digest::sha256_of(&data);
    for chunk in [3, 1000, 65_536, 1 << 22] {
        assert_eq!(diff_id_in_chunks(Compression::Zstd, &frame, chunk).unwrap(), want, "chunk {chunk}");
    }
    // A skippable frame between two frames is ignored, and the frames' contents join.
    let tail = ruzstd::encoding::compress_to_vec(&b"tail"[..], ruzstd::encoding::CompressionLevel::Uncompressed);
    let mut stream = frame.clone();
    stream.extend(0x184D_2A50u32.to_le_bytes());
    stream.extend(5u32.to_le_bytes());
    stream.extend(b"skip!");
    stream.extend(&tail);
    let mut joined = data.clone();
    joined.extend(b"tail");
    assert_eq!(diff_id_in_chunks(Compression::Zstd, &stream, 777).unwrap(), Digest::sha256_of(&joined));
    let truncated = &frame[..frame.len() - 10];
    assert!(diff_id_in_chunks(Compression::Zstd, truncated, 4096).is_err());
    assert!(diff_id_in_chunks(Compression::Zstd, b"\x00\x01\x02\x03 not zstd", 4).is_err());
}

#[test]
fn diff_id_of_an_uncompressed_layer_is_its_digest() {
    let data = sample_tar();
    assert_eq!(diff_id_in_chunks(Compression::None, &data, 5000).unwrap(), Digest::sha256_of(&data));
}
