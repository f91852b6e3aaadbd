use super::tar::{header, padding, Entry, EntryKind, BLOCK};
use super::*;
use crate::testing::{descriptor, run};
use crate::status::Image;
use crate::manifest::Descriptor;
use crate::platform::Platform;
use crate::store::{put_blob, MemoryStore, StoredManifest};
use std::io::Read;


impl Sink for Vec<u8> {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

/// Reads every member back with the `tar` crate: (path, kind, mode, uid, mtime, contents).
fn members(archive: &[u8]) -> Vec<(String, tar_crate::EntryType, u32, u64, u64, Vec<u8>)> {
    let mut reader = tar_crate::Archive::new(archive);
    reader
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let h = e.header().clone();
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            (path, h.entry_type(), h.mode().unwrap(), h.uid().unwrap(), h.mtime().unwrap(), body)
        })
        .collect()
}

mod tar_crate {
    pub use ::tar::*;
}

#[test]
fn headers_round_trip_through_an_independent_reader() {
    let long_dir = "d".repeat(120);
    let cases = [
        "index.json".to_string(),
        format!("blobs/sha256/{}", "a".repeat(64)),
        "n".repeat(100),
        format!("{long_dir}/{}", "f".repeat(90)),
        "x".repeat(300),
        format!("{}/{}", "p".repeat(160), "q".repeat(20)),
        "unicodé/ñame".to_string(),
    ];
    for path in cases {
        let body = path.as_bytes().repeat(3);
        let mut archive = header(&Entry::file(path.clone(), body.len() as u64, 0));
        archive.extend(&body);
        archive.resize(archive.len() + padding(body.len() as u64), 0);
        archive.extend(super::tar::trailer());
        assert_eq!(archive.len() % BLOCK, 0);
        let got = members(&archive);
        assert_eq!(got.len(), 1, "{path}");
        assert_eq!(got[0].0, path);
        assert_eq!(got[0].1, tar_crate::EntryType::Regular);
        assert_eq!(got[0].2, 0o644);
        assert_eq!((got[0].3, got[0].4), (0, 0));
        assert_eq!(got[0].5, body);
    }
}

#[test]
fn directories_and_header_fields() {
    let h = header(&Entry::directory("blobs", 0));
    assert_eq!(h.len(), BLOCK);
    assert_eq!(&h[0..6], b"blobs/");
    assert_eq!(h[156], b'5');
    assert_eq!(&h[257..263], b"ustar\0");
    assert_eq!(&h[100..108], b"0000755\0");
    let e = Entry::file("f", 0o77_777_777_777 + 1, 0);
    assert_eq!(e.kind, EntryKind::File);
    let h = header(&e);
    assert_eq!(h.len(), 3 * BLOCK, "a PAX header carries a size over 8 GiB");
    assert_eq!(h[156], b'x');
    assert!(String::from_utf8_lossy(&h[BLOCK..2 * BLOCK]).starts_with("19 size=8589934592\n"));
    assert_eq!(padding(0), 0);
    assert_eq!(padding(1), 511);
    assert_eq!(padding(512), 0);
}


struct Fixture {
    store: ImageStore<MemoryStore>,
    record: ImageRecord,
    layers: Vec<Vec<u8>>,
    config: Vec<u8>,
    manifest: Vec<u8>,
}

fn fixture(tags: &[&str]) -> Fixture {
    let store = ImageStore::new(MemoryStore::new());
    let layers: Vec<Vec<u8>> = vec![b"first layer".to_vec(), vec![7u8; 100_000]];
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    let config_d = descriptor(mt::OCI_CONFIG, &config);
    let layer_ds: Vec<Descriptor> = layers.iter().map(|l| descriptor(mt::OCI_LAYER_GZIP, l)).collect();
    let manifest = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": mt::OCI_MANIFEST, "config": config_d, "layers": layer_ds})).unwrap();
    let mut manifest_d = descriptor(mt::OCI_MANIFEST, &manifest);
    manifest_d.platform = Some(Platform::new("linux", "amd64", ""));
    let index = serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [manifest_d]})).unwrap();
    let index_d = descriptor(mt::OCI_INDEX, &index);
    run(async {
        for (d, b) in [(&config_d.digest, &config), (&manifest_d.digest, &manifest), (&index_d.digest, &index)] {
            put_blob(store.blobs(), d, b).await.unwrap();
        }
        for (d, l) in layer_ds.iter().zip(&layers) {
            put_blob(store.blobs(), &d.digest, l).await.unwrap();
        }
    });
    let mut record = ImageRecord {
        image: Image {
            id: config_d.digest.to_string(),
            repo_tags: tags.iter().map(|t| t.to_string()).collect(),
            repo_digests: vec![format!("127.0.0.1:5000/team/app@{}", index_d.digest)],
            size: 1,
            uid: None,
            username: String::new(),
            pinned: false,
        },
        target: index_d,
        manifests: vec![StoredManifest { descriptor: manifest_d, config: config_d, layers: layer_ds }],
        all_platforms: false,
        blobs: vec![],
        pulled_at: 0,
    };
    record.blobs = record.referenced_blobs();
    run(store.add_image(record.clone())).unwrap();
    Fixture { store, record, layers, config, manifest }
}

#[test]
fn archive_holds_the_oci_layout_and_docker_manifest() {
    let f = fixture(&["127.0.0.1:5000/team/app:1.0", "127.0.0.1:5000/team/app:latest"]);
    let mut out = Vec::new();
    let summary = run(export_image(&f.store, "127.0.0.1:5000/team/app:1.0", &mut out)).unwrap();
    assert_eq!(summary.bytes, out.len() as u64);
    assert_eq!(summary.repo_tags, vec!["127.0.0.1:5000/team/app:1.0"]);
    let got = members(&out);
    let names: Vec<&str> = got.iter().map(|m| m.0.as_str()).collect();
    let mut blob_names: Vec<String> = [&f.config, &f.manifest, &f.layers[0], &f.layers[1]]
        .iter()
        .map(|b| format!("blobs/sha256/{}", Digest::sha256_of(b).hex()))
        .collect();
    blob_names.sort();
    let mut want = vec!["blobs/", "blobs/sha256/"];
    want.extend(blob_names.iter().map(String::as_str));
    want.extend(["index.json", "manifest.json", "oci-layout", "repositories"]);
    assert_eq!(names, want, "the index blob is left out: only the chosen platform was pulled");
    for (path, _, _, uid, mtime, body) in &got {
        assert_eq!((*uid, *mtime), (0, 0), "{path}");
        if let Some(hex) = path.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
            assert_eq!(Digest::sha256_of(body).hex(), hex, "{path} holds what its name says");
        }
    }
    let doc = |name: &str| -> serde_json::Value { serde_json::from_slice(&got.iter().find(|m| m.0 == name).unwrap().5).unwrap() };
    assert_eq!(doc("oci-layout"), json!({"imageLayoutVersion": "1.0.0"}));
    let index = doc("index.json");
    assert_eq!(index["schemaVersion"], 2);
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["digest"], f.record.manifests[0].descriptor.digest.to_string());
    assert_eq!(entries[0]["mediaType"], mt::OCI_MANIFEST);
    assert_eq!(entries[0]["platform"]["architecture"], "amd64");
    assert_eq!(entries[0]["annotations"]["io.containerd.image.name"], "127.0.0.1:5000/team/app:1.0");
    assert_eq!(entries[0]["annotations"]["org.opencontainers.image.ref.name"], "1.0");
    let layer_paths: Vec<String> = f.layers.iter().map(|l| format!("blobs/sha256/{}", Digest::sha256_of(l).hex())).collect();
    assert_eq!(
        doc("manifest.json"),
        json!([{
            "Config": format!("blobs/sha256/{}", Digest::sha256_of(&f.config).hex()),
            "RepoTags": ["127.0.0.1:5000/team/app:1.0"],
            "Layers": layer_paths,
        }])
    );
    assert_eq!(doc("repositories"), json!({"127.0.0.1:5000/team/app": {"1.0": Digest::sha256_of(&f.layers[1]).hex()}}));

    let mut again = Vec::new();
    run(export_image(&f.store, "127.0.0.1:5000/team/app:1.0", &mut again)).unwrap();
    assert_eq!(out, again, "deterministic");
}

#[test]
fn every_tag_when_named_by_id_and_hub_names_are_familiar() {
    let f = fixture(&["docker.io/library/app:1", "docker.io/library/app:2"]);
    let tags: Vec<Reference> = f.record.image.repo_tags.iter().map(|t| Reference::parse(t).unwrap()).collect();
    let l = layout(&f.record, &tags);
    assert_eq!(l.manifest_json[0]["RepoTags"], json!(["app:1", "app:2"]));
    assert_eq!(l.index_json["manifests"].as_array().unwrap().len(), 2);
    assert_eq!(l.index_json["manifests"][1]["annotations"]["io.containerd.image.name"], "docker.io/library/app:2");
    let top = Digest::sha256_of(&f.layers[1]).hex().to_string();
    assert_eq!(l.repositories, Some(json!({"app": {"1": top, "2": top}})));
    let mut out = Vec::new();
    let summary = run(export_image(&f.store, &f.record.image.id, &mut out)).unwrap();
    assert_eq!(summary.repo_tags, vec!["app:1", "app:2"]);
}

#[test]
fn untagged_image_has_no_repositories_and_the_whole_index_when_complete() {
    let mut f = fixture(&[]);
    let l = layout(&f.record, &[]);
    assert_eq!(l.repositories, None);
    assert_eq!(l.manifest_json[0]["RepoTags"], json!([]));
    assert!(l.index_json["manifests"][0].get("annotations").is_none());
    f.record.all_platforms = true;
    let l = layout(&f.record, &[]);
    assert_eq!(l.index_json["manifests"][0]["digest"], f.record.target.digest.to_string());
    assert_eq!(l.index_json["manifests"][0]["mediaType"], mt::OCI_INDEX);
    assert!(l.blobs.iter().any(|(d, _)| *d == f.record.target.digest));
    assert_eq!(l.blobs.len(), 5);
}

#[test]
fn a_damaged_or_missing_blob_stops_the_export() {
    let memory = MemoryStore::new();
    let f = fixture(&["docker.io/library/app:1"]);
    let layer = Digest::sha256_of(&f.layers[0]);
    run(async {
        for d in f.store.blobs().list().await.unwrap() {
            let mut r = f.store.blobs().reader(&d).await.unwrap();
            let mut bytes = Vec::new();
            while let Some(c) = r.chunk().await.unwrap() {
                bytes.extend(c);
            }
            put_blob(&memory, &d, &bytes).await.unwrap();
        }
    });
    memory.overwrite(&layer, b"first lAyer".to_vec());
    let plan = layout(&f.record, &[]);
    let err = run(write_archive(&memory, &plan, &mut Vec::new())).unwrap_err();
    assert!(matches!(&err, ExportError::Corrupt { digest, .. } if *digest == layer), "{err}");
    memory.overwrite(&layer, b"short".to_vec());
    assert!(matches!(run(write_archive(&memory, &plan, &mut Vec::new())), Err(ExportError::SizeChanged { .. })));
    run(memory.delete(&layer)).unwrap();
    assert!(matches!(run(write_archive(&memory, &plan, &mut Vec::new())), Err(ExportError::Store(StoreError::Missing(_)))));
    assert!(matches!(run(export_image(&f.store, "app:nope", &mut Vec::new())), Err(ExportError::NotFound(_))));
}

#[test]
fn archive_names_come_from_the_first_tag_or_the_short_id() {
    let id = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let cases: &[(&[&str], &str)] = &[
        (&["docker.io/library/hello:1.0"], "hello_1.0.tar"),
        (&["127.0.0.1:5000/team/app:v2", "127.0.0.1:5000/team/app:latest"], "app_v2.tar"),
        (&["localhost:5000/app:1"], "app_1.tar"),
        (&[], "0123456789ab.tar"),
    ];
    for (tags, want) in cases {
        let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        assert_eq!(archive_name(&tags, id), *want, "{tags:?}");
    }
}
