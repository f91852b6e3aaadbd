//! `imagescope ls` against the test bed: each layer's listing compared with GNU `tar -tvf` on the
//! same blob, the merged tree with the fixture's expectation and with what `umoci unpack`
//! extracts, and the memory bound of listing the 256 MiB layer.

mod common;

use common::{fixture, imagescope, registry};
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("imagescope-ls-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// `tar -tvf` of a layer blob fetched straight from the anonymous registry, in UTC.
fn tar_tvf(repository: &str, layer: &Value, dir: &Path) -> Vec<String> {
    let digest = layer["digest"].as_str().expect("digest");
    let blob = dir.join(digest.replace(':', "-"));
    let url = format!("http://{}/v2/{repository}/blobs/{digest}", registry("anon"));
    run(Command::new("curl").args(["-sSfL", "-o"]).arg(&blob).arg(&url));
    let tar = if layer["media_type"].as_str().expect("media type").ends_with("zstd") {
        let plain = blob.with_extension("tar");
        run(Command::new("zstd").args(["-q", "-d", "-f", "-o"]).arg(&plain).arg(&blob));
        plain
    } else {
        blob
    };
    let out = run(Command::new("tar").arg("-tvf").arg(&tar).env("TZ", "UTC").env("LC_ALL", "C"));
    String::from_utf8(out).expect("utf-8").lines().map(squeeze).collect()
}

fn squeeze(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Our listing without the whiteout notes, which `tar` does not print.
fn ours(lines: &str) -> Vec<String> {
    lines.lines().map(|l| squeeze(l.split("  [").next().unwrap_or(l))).collect()
}

#[test]
fn each_layer_lists_like_tar_tvf() {
    let dir = scratch("tvf");
    let mut whiteouts = 0;
    for name in ["public/tree:1.0", "public/zstd:1.0"] {
        let fx = fixture(name);
        let repository = fx["repository"].as_str().expect("repository");
        let reference = format!("{}/{name}", registry("anon"));
        for (i, layer) in fx["layers"].as_array().expect("layers").iter().enumerate() {
            let n = (i + 1).to_string();
            let r = imagescope(&["ls", &reference, "--layer", &n], None);
            assert_eq!(r.code, 0, "{name} layer {n}: {}", r.stderr);
            assert_eq!(ours(&r.stdout), tar_tvf(repository, layer, &dir), "{name} layer {n}");
            let files = layer["files"].as_array().expect("files");
            assert_eq!(r.stdout.lines().count(), files.len(), "{name} layer {n}");
            whiteouts += r.stdout.matches("[whiteout: deletes ").count() + r.stdout.matches("[opaque: hides ").count();

            let j = imagescope(&["ls", &reference, "--layer", &n, "--json"], None).json();
            assert_eq!(j["digest"], layer["digest"]);
            assert_eq!(j["tar_size"], layer["uncompressed_size"]);
            for (entry, file) in j["entries"].as_array().expect("entries").iter().zip(files) {
                assert_eq!(entry["path"], file["path"]);
                assert_eq!(format!("{:04o}", entry["mode"].as_u64().expect("mode")), file["mode"].as_str().expect("mode"));
            }
        }
    }
    assert_eq!(whiteouts, 3, "tree has a file whiteout, an opaque directory and a directory whiteout");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn layer_numbers_are_checked() {
    let reference = format!("{}/public/tree:1.0", registry("anon"));
    for bad in ["0", "4"] {
        let r = imagescope(&["ls", &reference, "--layer", bad], None);
        assert_ne!(r.code, 0);
        assert!(r.stderr.contains("numbered from 1"), "{}", r.stderr);
    }
}

/// Type, mode, size and link target of one path.
type Shape = (String, String, u64, String);

/// The merged tree as path → shape, from `ls --json`.
fn merged(reference: &str) -> (Value, BTreeMap<String, Shape>) {
    let j = imagescope(&["ls", reference, "--json"], None).json();
    let tree = j["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            let kind = e["type"].as_str().expect("type").to_string();
            let size = if kind == "dir" { 0 } else { e["size"].as_u64().expect("size") };
            let target = e["target"].as_str().unwrap_or("").to_string();
            (e["path"].as_str().expect("path").to_string(), (kind, format!("{:04o}", e["mode"].as_u64().expect("mode")), size, target))
        })
        .collect();
    (j, tree)
}

#[test]
fn merged_tree_matches_the_fixture() {
    let reference = format!("{}/public/tree:1.0", registry("anon"));
    let (j, tree) = merged(&reference);
    let want: BTreeMap<String, Shape> = fixture("public/tree:1.0")["merged_tree"]
        .as_array()
        .expect("merged_tree")
        .iter()
        .map(|e| {
            let kind = e["type"].as_str().expect("type").to_string();
            let size = match kind.as_str() {
                "file" => e["size"].as_u64().expect("size"),
                // A hardlink shares its target's inode, so it shows the target's size.
                "hardlink" => 20,
                _ => 0,
            };
            let target = e["linkname"].as_str().unwrap_or("").to_string();
            (e["path"].as_str().expect("path").to_string(), (kind, e["mode"].as_str().expect("mode").to_string(), size, target))
        })
        .collect();
    assert_eq!(tree, want);
    let layers = j["layers"].as_array().expect("layers");
    let deleted: Vec<u64> = layers.iter().map(|l| l["deleted"].as_u64().expect("deleted")).collect();
    assert_eq!(deleted, [0, 3, 1], "to-delete.txt and opaque/{{a,b}}.txt in 2; usr/share in 3");
    let wasted: Vec<u64> = layers.iter().map(|l| l["wasted_bytes"].as_u64().expect("wasted")).collect();
    assert_eq!(wasted, [51, 10, 0]);
    assert_eq!(j["file_bytes"].as_u64().unwrap() - j["wasted_bytes"].as_u64().unwrap(), j["final_bytes"].as_u64().unwrap());
    let which: BTreeMap<&str, u64> = j["entries"].as_array().unwrap().iter().map(|e| (e["path"].as_str().unwrap(), e["layer"].as_u64().unwrap())).collect();
    assert_eq!((which["etc/config.txt"], which["opaque/c.txt"], which["usr/bin/tool"]), (3, 2, 1));

    let text = imagescope(&["ls", &reference], None);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("usr/bin/tool-link -> tool"), "{}", text.stdout);
    assert!(text.stdout.contains("efficiency"), "{}", text.stdout);
}

#[test]
fn merged_tree_matches_umoci_unpack() {
    let dir = scratch("umoci");
    let reference = format!("{}/public/tree:1.0", registry("anon"));
    let layout = dir.join("oci");
    run(Command::new("skopeo")
        .args(["copy", "--quiet", "--src-tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .arg(format!("oci:{}:tree", layout.display())));
    let bundle = dir.join("bundle");
    run(Command::new("umoci").args(["unpack", "--rootless", "--image"]).arg(format!("{}:tree", layout.display())).arg(&bundle));
    let rootfs = bundle.join("rootfs");

    let mut found = BTreeMap::new();
    let mut stack = vec![rootfs.clone()];
    while let Some(d) = stack.pop() {
        for item in std::fs::read_dir(&d).expect("read rootfs") {
            let path = item.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let rel = path.strip_prefix(&rootfs).expect("under rootfs").to_string_lossy().into_owned();
            let ft = meta.file_type();
            let (kind, size, target) = if ft.is_dir() {
                stack.push(path.clone());
                ("dir", 0, String::new())
            } else if ft.is_symlink() {
                ("symlink", 0, std::fs::read_link(&path).expect("readlink").to_string_lossy().into_owned())
            } else {
                ("file", meta.len(), String::new())
            };
            found.insert(rel, (kind.to_string(), format!("{:04o}", meta.permissions().mode() & 0o7777), size, target, meta.ino()));
        }
    }

    let (_, tree) = merged(&reference);
    let ours: BTreeMap<String, (String, String, u64, String, u64)> = tree
        .iter()
        .map(|(path, (kind, mode, size, target))| {
            let (kind, target, inode_of) = match kind.as_str() {
                // umoci makes a hardlink; it is a regular file sharing its target's inode.
                "hardlink" => ("file".to_string(), String::new(), target.as_str()),
                _ => (kind.clone(), target.clone(), path.as_str()),
            };
            let ino = found.get(inode_of).map_or(0, |f| f.4);
            (path.clone(), (kind, mode.clone(), *size, target, ino))
        })
        .collect();
    assert_eq!(ours, found);
    let _ = std::fs::remove_dir_all(dir);
}

/// Peak resident memory of a finished child, from the kernel's own accounting (`wait4`).
fn peak_rss_kib(args: &[&str]) -> (i64, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_imagescope")).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let output = std::thread::spawn(move || {
        let mut child = child;
        let mut stdout = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().expect("stdout"), &mut stdout).expect("read stdout");
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut stderr).expect("read stderr");
        (stdout, stderr)
    })
    .join()
    .expect("reader thread");
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (dropping a `Child` never waits), and both
    // out-pointers refer to live locals.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4");
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "imagescope {args:?} failed: {}", output.1);
    (usage.ru_maxrss, output.0)
}

/// The memory bound, not a timing: listing the 256 MiB layer must not grow the process by
/// more than 64 MiB over listing a tiny layer of the same image.
#[test]
fn listing_the_large_layer_keeps_memory_flat() {
    let state = common::testbed();
    if !state["fixtures"]["bench/large:1.0"].is_object() {
        println!("skipped: bench/large:1.0 is not seeded; run `python3 tests/testbed/testbed.py seed-large`");
        return;
    }
    let reference = format!("{}/bench/large:1.0", registry("anon"));
    let (small, _) = peak_rss_kib(&["ls", &reference, "--layer", "1"]);
    let (large, listing) = peak_rss_kib(&["ls", &reference, "--layer", "2"]);
    assert!(listing.contains("268435456") && listing.contains("data/random.bin"), "{listing}");
    let growth_mib = (large - small) as f64 / 1024.0;
    println!("peak RSS: tiny layer {small} KiB, 256 MiB layer {large} KiB, growth {growth_mib:.1} MiB");
    assert!(growth_mib < 64.0, "listing the large layer grew memory by {growth_mib:.1} MiB");
}
