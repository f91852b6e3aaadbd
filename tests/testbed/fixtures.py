"""Deterministic fixture images for the test bed.

Every byte is derived from constants, so the digests recorded in state.json are the same on
every run on the same machine (gzip and zstd output depends only on the library versions).
"""

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
import zlib
from dataclasses import dataclass, field

EPOCH = 1704067200  # 2024-01-01T00:00:00Z
CREATED = "2024-01-01T00:00:00Z"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
IN_TOTO = "application/vnd.in-toto+json"
SPDX = "application/spdx+json"

LARGE_PAYLOAD_BYTES = 256 * 1024 * 1024
STREAM_CHUNK = 1024 * 1024


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Blob:
    data: bytes
    media_type: str
    annotations: dict = None

    @property
    def digest(self):
        return sha256(self.data)

    @property
    def size(self):
        return len(self.data)

    def descriptor(self, **extra):
        d = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            d["annotations"] = self.annotations
        d.update(extra)
        return d


@dataclass
class StreamBlob:
    """A blob too large to hold in memory: `chunks()` regenerates it on every call."""

    media_type: str
    chunks: object
    digest: str
    size: int


@dataclass
class Entry:
    path: str
    kind: str = "file"  # file | dir | symlink | hardlink
    mode: int = 0o644
    data: bytes = b""
    link: str = ""
    uid: int = 0
    gid: int = 0

    def describe(self):
        d = {"path": self.path, "type": self.kind, "mode": f"{self.mode:04o}",
             "uid": self.uid, "gid": self.gid}
        if self.kind == "file":
            d["size"] = len(self.data)
        if self.kind in ("symlink", "hardlink"):
            d["linkname"] = self.link
        return d


def d(path, mode=0o755, uid=0, gid=0):
    return Entry(path, "dir", mode, uid=uid, gid=gid)


def f(path, text, mode=0o644, uid=0, gid=0):
    data = text.encode() if isinstance(text, str) else text
    return Entry(path, "file", mode, data, uid=uid, gid=gid)


def tar_bytes(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e.path)
            info.mtime = EPOCH
            info.mode = e.mode
            info.uid, info.gid = e.uid, e.gid
            info.uname = info.gname = ""
            body = None
            if e.kind == "dir":
                info.type = tarfile.DIRTYPE
            elif e.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, e.link
            elif e.kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, e.link
            else:
                info.size = len(e.data)
                body = io.BytesIO(e.data)
            tar.addfile(info, body)
    return buf.getvalue()


def gzip_bytes(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def zstd_bytes(data):
    return subprocess.run(["zstd", "-q", "-c", "-19", "--no-progress"], input=data,
                          stdout=subprocess.PIPE, check=True).stdout


@dataclass
class Layer:
    blob: Blob
    diff_id: str
    uncompressed_size: int
    entries: list

    def describe(self):
        return {"digest": self.blob.digest, "size": self.blob.size,
                "media_type": self.blob.media_type, "diff_id": self.diff_id,
                "uncompressed_size": self.uncompressed_size,
                "files": [e.describe() for e in self.entries]}


def layer(entries, media_type, compress=gzip_bytes):
    raw = tar_bytes(entries)
    return Layer(Blob(compress(raw), media_type), sha256(raw), len(raw), entries)


def json_bytes(obj, indent=None):
    if indent is None:
        return json.dumps(obj, separators=(",", ":")).encode()
    return json.dumps(obj, indent=indent).encode()


@dataclass
class Push:
    """One step of seeding: a blob (`blob`) or a manifest (`manifest` bytes under `ref`)."""

    repo: str
    blob: object = None
    ref: str = None
    manifest: Blob = None


@dataclass
class Fixture:
    key: str
    pushes: list = field(default_factory=list)
    info: dict = field(default_factory=dict)


def merged_tree(layers):
    """The file system a runtime would see after applying `layers` in order (OCI whiteouts)."""
    tree = {}

    def drop(prefix):
        for p in [p for p in tree if p == prefix or p.startswith(prefix + "/")]:
            del tree[p]

    for lay in layers:
        # Whiteouts only hide what lower layers brought, so apply them before this layer's files.
        for e in lay.entries:
            parent, _, base = e.path.rstrip("/").rpartition("/")
            if base == ".wh..wh..opq":
                for p in [p for p in tree if parent and p.startswith(parent + "/")]:
                    del tree[p]
            elif base.startswith(".wh."):
                drop((parent + "/" if parent else "") + base[4:])
        for e in lay.entries:
            base = e.path.rstrip("/").rpartition("/")[2]
            if base.startswith(".wh."):
                continue
            path = e.path.rstrip("/")
            if path in tree and tree[path].kind == "dir" and e.kind != "dir":
                drop(path)
            tree[path] = e
    return [dict(tree[p].describe(), path=p) for p in sorted(tree)]


def oci_config(arch, diff_ids, history, variant=None, extra_config=None):
    cfg = {"created": CREATED, "architecture": arch, "os": "linux"}
    if variant:
        cfg["variant"] = variant
    cfg["config"] = extra_config or {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"],
                                     "Cmd": ["/bin/sh"]}
    cfg["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    cfg["history"] = history
    return Blob(json_bytes(cfg), OCI_CONFIG)


def image_manifest(media_type, config, layers, extra=None):
    m = {"schemaVersion": 2, "mediaType": media_type, "config": config.descriptor(),
         "layers": [lay.blob.descriptor() for lay in layers]}
    m.update(extra or {})
    indent = 3 if media_type == DOCKER_MANIFEST else None
    return Blob(json_bytes(m, indent), media_type)


def image_pushes(repo, config, layers, manifest, refs):
    pushes = [Push(repo, blob=lay.blob) for lay in layers] + [Push(repo, blob=config)]
    pushes += [Push(repo, ref=ref, manifest=manifest) for ref in refs]
    return pushes


def manifest_info(manifest, config, layers):
    layers_size = sum(lay["size"] for lay in layers)
    return {"manifest_digest": manifest.digest, "media_type": manifest.media_type,
            "manifest_size": manifest.size, "config_digest": config.digest,
            "config_size": config.size, "config_media_type": config.media_type,
            "layers": layers, "layers_size": layers_size,
            "content_size": manifest.size + config.size + layers_size}


def image_info(repo, tags, manifest, config, layers):
    return dict({"repository": repo, "tag": tags[0], "tags": tags},
                **manifest_info(manifest, config, [lay.describe() for lay in layers]))


def single_image(repo, tags, manifest_type, layers, config, annotations=None):
    extra = {"annotations": annotations} if annotations else None
    manifest = image_manifest(manifest_type, config, layers, extra)
    fx = Fixture(f"{repo}:{tags[0]}", image_pushes(repo, config, layers, manifest, tags),
                 image_info(repo, tags, manifest, config, layers))
    return fx, manifest


def hello():
    l1 = layer([d("app"), f("app/hello.sh", '#!/bin/sh\necho "hello from imagescope"\n', 0o755),
                f("app/message.txt", "Hello, registry!\n"), d("etc"),
                f("etc/hello.conf", "greeting=hello\nloud=false\n")], DOCKER_LAYER_GZIP)
    l2 = layer([d("app"), f("app/VERSION", "1.0\n"), d("data", 0o755, 1000, 1000),
                f("data/.keep", "", 0o644, 1000, 1000)], DOCKER_LAYER_GZIP)
    cfg = {
        "architecture": "amd64", "os": "linux", "created": CREATED,
        "author": "imagescope test bed",
        "config": {
            "User": "1000:1000",
            "ExposedPorts": {"8080/tcp": {}, "9090/udp": {}},
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "GREETING=hello"],
            "Entrypoint": ["/app/hello.sh"],
            "Cmd": ["--loud"],
            "Volumes": {"/data": {}},
            "WorkingDir": "/app",
            "Labels": {"org.opencontainers.image.title": "hello",
                       "org.opencontainers.image.version": "1.0",
                       "com.example.team": "imagescope"},
            "StopSignal": "SIGTERM",
        },
        "rootfs": {"type": "layers", "diff_ids": [l1.diff_id, l2.diff_id]},
        "history": [
            {"created": CREATED, "created_by": "COPY app/ /app/ # buildkit",
             "comment": "buildkit.dockerfile.v0"},
            {"created": CREATED, "created_by": "ENV GREETING=hello",
             "comment": "buildkit.dockerfile.v0", "empty_layer": True},
            {"created": CREATED, "created_by": "COPY data/ /data/ # buildkit",
             "comment": "buildkit.dockerfile.v0"},
            {"created": CREATED, "created_by": "USER 1000:1000",
             "comment": "buildkit.dockerfile.v0", "empty_layer": True},
        ],
    }
    config = Blob(json_bytes(cfg, 3), DOCKER_CONFIG)
    return single_image("public/hello", ["1.0", "latest"], DOCKER_MANIFEST, [l1, l2], config)


PLATFORMS = [("amd64", None), ("arm64", "v8"), ("arm", "v7")]


def multi():
    repo = "public/multi"
    pushes, platforms, index_entries = [], [], []
    for arch, variant in PLATFORMS:
        name = "/".join(filter(None, ["linux", arch, variant]))
        lay = layer([d("etc"), f("etc/platform", name + "\n"), d("bin"),
                     f("bin/hello", f"#!/bin/sh\necho hello from {name}\n", 0o755)],
                    OCI_LAYER_GZIP)
        history = [{"created": CREATED, "created_by": f"ADD {name}"}]
        config = oci_config(arch, [lay.diff_id], history, variant)
        manifest = image_manifest(OCI_MANIFEST, config, [lay])
        pushes += image_pushes(repo, config, [lay], manifest, [manifest.digest])
        platform = {"architecture": arch, "os": "linux"}
        if variant:
            platform["variant"] = variant
        index_entries.append(manifest.descriptor(platform=platform))
        platforms.append(dict(manifest_info(manifest, config, [lay.describe()]), os="linux",
                              architecture=arch, variant=variant, platform=name))

    amd64 = index_entries[0]["digest"]
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://spdx.dev/Document",
        "subject": [{"name": "pkg:docker/public/multi@v1?platform=linux%2Famd64",
                     "digest": {"sha256": amd64.split(":", 1)[1]}}],
        "predicate": {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT",
                      "name": "public/multi", "dataLicense": "CC0-1.0", "packages": []},
    }
    att_layer = Blob(json_bytes(statement), IN_TOTO,
                     {"in-toto.io/predicate-type": "https://spdx.dev/Document"})
    att_cfg = Blob(json_bytes({"architecture": "unknown", "os": "unknown", "config": {},
                               "rootfs": {"type": "layers", "diff_ids": [att_layer.digest]}}),
                   OCI_CONFIG)
    att = Blob(json_bytes({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": att_cfg.descriptor(), "layers": [att_layer.descriptor()]}),
               OCI_MANIFEST)
    pushes += [Push(repo, blob=att_layer), Push(repo, blob=att_cfg),
               Push(repo, ref=att.digest, manifest=att)]
    att_annotations = {"vnd.docker.reference.type": "attestation-manifest",
                       "vnd.docker.reference.digest": amd64}
    index_entries.append(att.descriptor(platform={"architecture": "unknown", "os": "unknown"},
                                        annotations=att_annotations))
    index = Blob(json_bytes({"schemaVersion": 2, "mediaType": OCI_INDEX,
                             "manifests": index_entries}), OCI_INDEX)
    pushes.append(Push(repo, ref="v1", manifest=index))
    info = {"repository": repo, "tag": "v1", "tags": ["v1"], "manifest_digest": index.digest,
            "media_type": OCI_INDEX, "manifest_size": index.size, "platforms": platforms,
            "attestations": [{"digest": att.digest, "size": att.size,
                              "media_type": OCI_MANIFEST, "annotations": att_annotations,
                              "layer_digest": att_layer.digest,
                              "layer_media_type": IN_TOTO}]}
    return Fixture(f"{repo}:v1", pushes, info)


def zstd_image():
    l1 = layer([d("usr"), d("usr/share"), d("usr/share/zstd"),
                f("usr/share/zstd/words.txt", "zstandard " * 400 + "\n")],
               OCI_LAYER_ZSTD, zstd_bytes)
    l2 = layer([d("etc"), f("etc/compression", "gzip\n")], OCI_LAYER_GZIP)
    config = oci_config("amd64", [l1.diff_id, l2.diff_id],
                        [{"created": CREATED, "created_by": "ADD zstd"},
                         {"created": CREATED, "created_by": "ADD gzip"}])
    return single_image("public/zstd", ["1.0"], OCI_MANIFEST, [l1, l2], config)[0]


def tree():
    l1 = layer([
        d("etc"), f("etc/config.txt", "version=1\n"),
        d("usr"), d("usr/bin"),
        f("usr/bin/tool", "#!/bin/sh\necho tool\n", 0o755),
        Entry("usr/bin/tool-link", "symlink", 0o777, link="tool"),
        Entry("usr/bin/tool-hard", "hardlink", 0o755, link="usr/bin/tool"),
        f("usr/bin/suid-tool", "#!/bin/sh\nid\n", 0o4755),
        d("usr/share"), d("usr/share/doc"), f("usr/share/doc/README", "docs\n"),
        d("data", 0o750, 1000, 1000),
        f("data/secret.key", "not really a key\n", 0o600, 1000, 1000),
        f("data/to-delete.txt", "this file is deleted by layer 2\n"),
        d("opaque"), f("opaque/a.txt", "a\n"), f("opaque/b.txt", "b\n"),
    ], OCI_LAYER_GZIP)
    l2 = layer([
        d("data", 0o750, 1000, 1000), f("data/.wh.to-delete.txt", ""),
        d("opaque"), f("opaque/.wh..wh..opq", ""), f("opaque/c.txt", "c replaces a and b\n"),
        d("etc"), f("etc/config.txt", "version=2\n"),
    ], OCI_LAYER_GZIP)
    l3 = layer([
        d("etc"), f("etc/config.txt", "version=3\n", 0o640),
        d("usr"), f("usr/.wh.share", ""),
        d("tmp", 0o1777),
        d("home"), d("home/user", 0o700, 1000, 1000),
        f("home/user/notes.md", "# notes\n", 0o644, 1000, 1000),
    ], OCI_LAYER_GZIP)
    layers = [l1, l2, l3]
    config = oci_config("amd64", [lay.diff_id for lay in layers], [
        {"created": CREATED, "created_by": "ADD base"},
        {"created": CREATED, "created_by": "RUN rm /data/to-delete.txt && rm -r /opaque/*"},
        {"created": CREATED, "created_by": "RUN rm -r /usr/share"}])
    fx = single_image("public/tree", ["1.0"], OCI_MANIFEST, layers, config)[0]
    fx.info["merged_tree"] = merged_tree(layers)
    return fx


def secret():
    lay = layer([d("secret", 0o700), f("secret/flag.txt", "imagescope-private-flag\n", 0o600)],
                OCI_LAYER_GZIP)
    config = oci_config("amd64", [lay.diff_id],
                        [{"created": CREATED, "created_by": "ADD secret"}])
    return single_image("private/secret", ["1.0"], OCI_MANIFEST, [lay], config)[0]


def artifact(subject_repo, subject):
    sbom = {"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
            "name": "public/hello:1.0",
            "documentNamespace": "https://imagescope.invalid/spdx/public-hello-1.0",
            "creationInfo": {"created": CREATED, "creators": ["Tool: imagescope-testbed"]},
            "packages": [{"SPDXID": "SPDXRef-hello", "name": "hello", "versionInfo": "1.0",
                          "downloadLocation": "NOASSERTION"}]}
    layer_blob = Blob(json_bytes(sbom, 2), SPDX,
                      {"org.opencontainers.image.title": "sbom.spdx.json"})
    empty = Blob(b"{}", OCI_EMPTY)
    subject_desc = subject.descriptor()
    manifest = Blob(json_bytes({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SPDX,
        "config": empty.descriptor(), "layers": [layer_blob.descriptor()],
        "subject": subject_desc,
        "annotations": {"org.opencontainers.image.created": CREATED}}), OCI_MANIFEST)
    # Registry 2.8 has no referrers API: clients fall back to the tag schema, an index tagged
    # with the subject digest in the subject's own repository, so the referrer lives there too.
    referrers = Blob(json_bytes({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        manifest.descriptor(artifactType=SPDX,
                            annotations={"org.opencontainers.image.created": CREATED})]}),
        OCI_INDEX)
    fallback_tag = subject.digest.replace(":", "-")
    repo = "public/artifact"
    pushes = []
    for r in (repo, subject_repo):
        pushes += [Push(r, blob=layer_blob), Push(r, blob=empty)]
    pushes += [Push(repo, ref="sbom", manifest=manifest),
               Push(subject_repo, ref=manifest.digest, manifest=manifest),
               Push(subject_repo, ref=fallback_tag, manifest=referrers)]
    info = {"repository": repo, "tag": "sbom", "tags": ["sbom"],
            "manifest_digest": manifest.digest, "media_type": OCI_MANIFEST,
            "manifest_size": manifest.size, "artifact_type": SPDX,
            "config_digest": empty.digest, "config_size": empty.size,
            "config_media_type": OCI_EMPTY,
            "layers": [{"digest": layer_blob.digest, "size": layer_blob.size,
                        "media_type": SPDX}],
            "subject": {"repository": subject_repo, "digest": subject_desc["digest"],
                        "media_type": subject_desc["mediaType"], "size": subject_desc["size"]},
            "referrers_tag": {"repository": subject_repo, "tag": fallback_tag,
                              "digest": referrers.digest, "media_type": OCI_INDEX,
                              "size": referrers.size}}
    return Fixture(f"{repo}:sbom", pushes, info)


def build_fixtures():
    hello_fx, hello_manifest = hello()
    artifact_fx = artifact("public/hello", hello_manifest)
    # The referrers fallback tag shows up in the subject's tag list too.
    hello_fx.info["repository_tags"] = sorted(
        hello_fx.info["tags"] + [artifact_fx.info["referrers_tag"]["tag"]])
    return [hello_fx, multi(), zstd_image(), tree(), secret(), artifact_fx]


def _random_payload():
    for i in range(LARGE_PAYLOAD_BYTES // STREAM_CHUNK):
        yield hashlib.shake_128(b"imagescope-large-%d" % i).digest(STREAM_CHUNK)


def _large_tar_stream():
    info = tarfile.TarInfo("data/random.bin")
    info.size, info.mtime, info.mode = LARGE_PAYLOAD_BYTES, EPOCH, 0o644
    info.uname = info.gname = ""
    yield info.tobuf(tarfile.PAX_FORMAT)
    total = 0
    for chunk in _random_payload():
        total += len(chunk)
        yield chunk
    pad = -total % tarfile.BLOCKSIZE
    trailer = b"\0" * (pad + 2 * tarfile.BLOCKSIZE)
    written = tarfile.BLOCKSIZE + total + len(trailer)
    yield trailer + b"\0" * (-written % tarfile.RECORDSIZE)


class Tally:
    """Digest and size of the bytes seen so far."""

    def __init__(self):
        self.hash = hashlib.sha256()
        self.size = 0

    def add(self, data):
        self.hash.update(data)
        self.size += len(data)
        return data

    @property
    def digest(self):
        return "sha256:" + self.hash.hexdigest()


def _large_gzip_stream(raw, packed):
    """Stored (level 0) gzip: the payload is random, so compressing it would only cost time."""
    z = zlib.compressobj(0, zlib.DEFLATED, 31)
    for piece in _large_tar_stream():
        out = z.compress(raw.add(piece))
        if out:
            yield packed.add(out)
    yield packed.add(z.flush())


def large():
    raw, packed = Tally(), Tally()
    for _ in _large_gzip_stream(raw, packed):
        pass
    big = StreamBlob(OCI_LAYER_GZIP, lambda: _large_gzip_stream(Tally(), Tally()),
                     packed.digest, packed.size)
    small = layer([d("bench"), f("bench/README", "benchmark image for imagescope\n")],
                  OCI_LAYER_GZIP)
    big_diff_id = raw.digest
    config = oci_config("amd64", [small.diff_id, big_diff_id], [
        {"created": CREATED, "created_by": "ADD README"},
        {"created": CREATED, "created_by": "ADD random.bin"}])
    big_desc = {"mediaType": big.media_type, "digest": big.digest, "size": big.size}
    manifest = Blob(json_bytes({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                                "config": config.descriptor(),
                                "layers": [small.blob.descriptor(), big_desc]}), OCI_MANIFEST)
    repo = "bench/large"
    pushes = [Push(repo, blob=small.blob), Push(repo, blob=big), Push(repo, blob=config),
              Push(repo, ref="1.0", manifest=manifest)]
    layers = [small.describe(),
              {"digest": big.digest, "size": big.size, "media_type": big.media_type,
               "diff_id": big_diff_id, "uncompressed_size": raw.size,
               "files": [{"path": "data/random.bin", "type": "file", "mode": "0644",
                          "uid": 0, "gid": 0, "size": LARGE_PAYLOAD_BYTES}]}]
    info = dict({"repository": repo, "tag": "1.0", "tags": ["1.0"]},
                **manifest_info(manifest, config, layers))
    return Fixture(f"{repo}:1.0", pushes, info)
