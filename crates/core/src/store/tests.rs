use super::*;
use crate::testing::{descriptor, run};
use crate::status::Image;
use crate::media_type as mt;



/// Stores the blobs of an image made of `layers` and returns its record, named `name:tag`.
fn image(store: &ImageStore<MemoryStore>, name: &str, tag: Option<&str>, config: &[u8], layers: &[&[u8]]) -> ImageRecord {
    let config_d = descriptor(mt::OCI_CONFIG, config);
    let layer_ds: Vec<Descriptor> = layers.iter().map(|l| descriptor(mt::OCI_LAYER_GZIP, l)).collect();
    let manifest = serde_json::to_vec(&serde_json::json!({"config": config_d, "layers": layer_ds})).unwrap();
    let manifest_d = descriptor(mt::OCI_MANIFEST, &manifest);
    run(async {
        put_blob(store.blobs(), &config_d.digest, config).await.unwrap();
        put_blob(store.blobs(), &manifest_d.digest, &manifest).await.unwrap();
        for (l, d) in layers.iter().zip(&layer_ds) {
            put_blob(store.blobs(), &d.digest, l).await.unwrap();
        }
    });
    let stored = StoredManifest { descriptor: manifest_d.clone(), config: config_d.clone(), layers: layer_ds };
    let mut record = ImageRecord {
        image: Image {
            id: config_d.digest.to_string(),
            repo_tags: tag.map(|t| vec![format!("{name}:{t}")]).unwrap_or_default(),
            repo_digests: vec![format!("{name}@{}", manifest_d.digest)],
            size: 0,
            uid: None,
            username: String::new(),
            pinned: false,
        },
        target: manifest_d,
        manifests: vec![stored],
        all_platforms: false,
        blobs: vec![],
        pulled_at: 1_700_000_000,
    };
    record.blobs = record.referenced_blobs();
    record.image.size = record.blobs.len() as u64;
    record
}

#[test]
fn add_list_status_and_remove_with_shared_layers() {
    let store = ImageStore::new(MemoryStore::new());
    let shared: &[u8] = b"shared base layer";
    let a = image(&store, "docker.io/library/app", Some("1"), b"config a", &[shared, b"a only"]);
    let b = image(&store, "example.com/team/web", Some("2"), b"config b", &[shared, b"b only"]);
    assert!(run(store.add_image(a.clone())).unwrap());
    assert!(run(store.add_image(b.clone())).unwrap());
    assert!(!run(store.add_image(b.clone())).unwrap(), "the same pull again is up to date");
    assert_eq!(run(store.list_images(None)).unwrap().len(), 2);

    let status = run(store.image_status("app:1")).unwrap().expect("present");
    assert_eq!(status.id, a.image.id);
    assert_eq!(run(store.image_status("app")).unwrap(), None, "app means app:latest, which is not stored");
    assert_eq!(run(store.image_status(&a.image.id)).unwrap().map(|i| i.id), Some(a.image.id.clone()));
    assert_eq!(run(store.image_status(&a.image.id[7..20])).unwrap().map(|i| i.id), Some(a.image.id.clone()), "13-character short id");
    assert_eq!(run(store.image_status(&a.image.repo_digests[0])).unwrap().map(|i| i.id), Some(a.image.id.clone()));
    assert_eq!(run(store.image_status("nothing:here")).unwrap(), None);

    let removal = run(store.remove_image("app:1")).unwrap();
    assert_eq!(removal.image.map(|i| i.id), Some(a.image.id.clone()));
    let shared_d = Digest::sha256_of(shared);
    assert_eq!(removal.kept_blobs, vec![shared_d.clone()]);
    assert_eq!(removal.deleted_blobs.len(), 3, "manifest, config and the layer only a had");
    run(async {
        assert!(store.blobs().has(&shared_d).await.unwrap());
        assert!(!store.blobs().has(&Digest::sha256_of(b"a only")).await.unwrap());
        assert!(store.blobs().has(&Digest::sha256_of(b"b only")).await.unwrap());
    });
    assert_eq!(run(store.remove_image("app:1")).unwrap(), Removal::default(), "idempotent");
    let removal = run(store.remove_image(&b.image.id)).unwrap();
    assert_eq!(removal.deleted_blobs.len(), 4);
    assert!(run(store.blobs().list()).unwrap().is_empty());
    assert!(run(store.list_images(None)).unwrap().is_empty());
}

#[test]
fn a_re_pulled_tag_moves_and_the_old_image_stays_listed_by_digest() {
    let store = ImageStore::new(MemoryStore::new());
    let old = image(&store, "docker.io/library/app", Some("latest"), b"old config", &[b"old layer"]);
    let new = image(&store, "docker.io/library/app", Some("latest"), b"new config", &[b"new layer"]);
    run(store.add_image(old.clone())).unwrap();
    assert!(run(store.add_image(new.clone())).unwrap());
    let images = run(store.list_images(None)).unwrap();
    assert_eq!(images.len(), 2);
    let old_now = images.iter().find(|i| i.id == old.image.id).unwrap();
    assert!(old_now.repo_tags.is_empty());
    assert_eq!(old_now.repo_digests, old.image.repo_digests);
    assert_eq!(run(store.image_status("app")).unwrap().map(|i| i.id), Some(new.image.id.clone()));
    assert_eq!(run(store.image_status(&old.image.repo_digests[0])).unwrap().map(|i| i.id), Some(old.image.id.clone()));
    // The same content under a second tag joins the existing image.
    let mut again = new.clone();
    again.image.repo_tags = vec!["docker.io/library/app:stable".into()];
    assert!(run(store.add_image(again)).unwrap());
    let merged = run(store.image_status("app:stable")).unwrap().unwrap();
    assert_eq!(merged.repo_tags, vec!["docker.io/library/app:latest", "docker.io/library/app:stable"]);
}

#[test]
fn list_filters_by_name_tag_digest_and_id() {
    let store = ImageStore::new(MemoryStore::new());
    let a1 = image(&store, "docker.io/library/app", Some("1"), b"c1", &[b"l1"]);
    let a2 = image(&store, "docker.io/library/app", Some("2"), b"c2", &[b"l2"]);
    let w = image(&store, "docker.io/library/web", Some("1"), b"c3", &[b"l3"]);
    for r in [&a1, &a2, &w] {
        run(store.add_image(r.clone())).unwrap();
    }
    let ids = |filter: &str| -> Vec<String> {
        run(store.list_images(Some(&ImageSelector::parse(filter)))).unwrap().into_iter().map(|i| i.id).collect()
    };
    assert_eq!(ids("app"), vec![a1.image.id.clone(), a2.image.id.clone()]);
    assert_eq!(ids("docker.io/library/app"), vec![a1.image.id.clone(), a2.image.id.clone()]);
    assert_eq!(ids("app:2"), vec![a2.image.id.clone()]);
    assert_eq!(ids(&w.image.repo_digests[0]), vec![w.image.id.clone()]);
    assert_eq!(ids(&w.image.id), vec![w.image.id.clone()]);
    assert_eq!(ids(&w.image.id[7..19]), vec![w.image.id.clone()]);
    assert!(ids("app:3").is_empty());
    assert!(ids("other").is_empty());
}

#[test]
fn fsck_finds_damaged_missing_and_unreferenced_blobs() {
    let memory = MemoryStore::new();
    let store = ImageStore::new(memory.clone());
    let a = image(&store, "docker.io/library/app", Some("1"), b"config", &[b"layer one", b"layer two"]);
    run(store.add_image(a)).unwrap();
    let clean = run(store.fsck()).unwrap();
    assert!(clean.is_clean());
    assert_eq!(clean.checked, 4);
    let damaged = Digest::sha256_of(b"layer one");
    memory.overwrite(&damaged, b"layer 0ne".to_vec());
    let gone = Digest::sha256_of(b"layer two");
    run(memory.delete(&gone)).unwrap();
    let stray = Digest::sha256_of(b"stray");
    run(put_blob(&memory, &stray, b"stray")).unwrap();
    let report = run(store.fsck()).unwrap();
    assert_eq!(report.corrupt, vec![(damaged, Digest::sha256_of(b"layer 0ne"))]);
    assert_eq!(report.missing, vec![gone]);
    assert_eq!(report.unreferenced, vec![stray]);
    assert!(!report.is_clean());
}

#[test]
fn writers_resume_commit_and_abort() {
    let store = MemoryStore::new();
    let d = Digest::sha256_of(b"0123456789");
    run(async {
        let mut w = store.writer(&d).await.unwrap();
        w.write_at(0, b"01234").await.unwrap();
        w.save_state(b"state").await.unwrap();
        drop(w);
        assert!(!store.has(&d).await.unwrap(), "a partial is not visible");
        let mut w = store.writer(&d).await.unwrap();
        assert_eq!(w.current_len().await.unwrap(), 5);
        assert_eq!(w.load_state().await.unwrap().as_deref(), Some(&b"state"[..]));
        w.write_at(5, b"56789").await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(store.size(&d).await.unwrap(), Some(10));
        assert!(store.partials().is_empty());
        let other = Digest::sha256_of(b"x");
        let mut w = store.writer(&other).await.unwrap();
        w.write_at(0, b"x").await.unwrap();
        w.abort().await.unwrap();
        assert!(store.partials().is_empty());
        assert!(!store.has(&other).await.unwrap());
    });
}

#[test]
fn quota_refuses_writes_past_the_limit() {
    let store = MemoryStore::with_quota(8);
    let d = Digest::sha256_of(b"0123456789");
    run(async {
        let mut w = store.writer(&d).await.unwrap();
        w.write_at(0, b"0123").await.unwrap();
        assert!(matches!(w.write_at(4, b"456789").await, Err(StoreError::Quota { .. })));
        w.abort().await.unwrap();
        assert_eq!(store.used(), 0);
    });
}

#[test]
fn metadata_survives_a_new_image_store_over_the_same_blobs() {
    let memory = MemoryStore::new();
    let first = ImageStore::new(memory.clone());
    let a = image(&first, "docker.io/library/app", Some("1"), b"config", &[b"layer"]);
    run(first.add_image(a.clone())).unwrap();
    let second = ImageStore::new(memory.clone());
    assert_eq!(run(second.records()).unwrap(), vec![a]);
    run(memory.write_metadata(b"{\"version\": 99, \"images\": []}")).unwrap();
    assert!(matches!(run(ImageStore::new(memory).records()), Err(StoreError::Metadata(_))));
}
