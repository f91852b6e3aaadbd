//! Media types of manifests, configs and layers (OCI and Docker).

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const OCI_LAYOUT_HEADER: &str = "application/vnd.oci.layout.header.v1+json";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_V1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_MANIFEST_V1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";
pub const DOCKER_FOREIGN_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/// Every manifest type this client understands, in the order the registry should prefer them.
/// Sent as one comma-joined header so registries that read only the first `Accept` line see all.
pub const MANIFEST_ACCEPT: [&str; 6] = [
    OCI_INDEX,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST_V2,
    DOCKER_MANIFEST_V1_SIGNED,
    DOCKER_MANIFEST_V1,
];

pub fn manifest_accept_header() -> String {
    MANIFEST_ACCEPT.join(", ")
}

/// Strips parameters (`; charset=utf-8`) and case from a Content-Type, as the spec tells clients to.
pub fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

pub fn is_image_manifest(media_type: &str) -> bool {
    media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST_V2
}

pub fn is_schema1(media_type: &str) -> bool {
    media_type == DOCKER_MANIFEST_V1 || media_type == DOCKER_MANIFEST_V1_SIGNED
}

/// How a layer blob is compressed, judged from its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn of_layer(media_type: &str) -> Option<Compression> {
        let t = media_type.to_ascii_lowercase();
        if t.ends_with("+gzip") || t.ends_with(".tar.gzip") {
            Some(Compression::Gzip)
        } else if t.ends_with("+zstd") || t.ends_with(".tar.zstd") {
            Some(Compression::Zstd)
        } else if t.ends_with(".tar") || t.ends_with("v1.tar") {
            Some(Compression::None)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn essence_strips_parameters_and_case() {
        let cases = [
            ("application/vnd.oci.image.index.v1+json", OCI_INDEX),
            ("application/vnd.oci.image.index.v1+json; charset=utf-8", OCI_INDEX),
            ("Application/VND.Docker.Distribution.Manifest.V2+JSON ;q=1", DOCKER_MANIFEST_V2),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(essence(input), want, "{input}");
        }
    }

    #[test]
    fn accept_lists_all_six_manifest_types() {
        let header = manifest_accept_header();
        for t in [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST_V2, DOCKER_MANIFEST_V1, DOCKER_MANIFEST_V1_SIGNED] {
            assert!(header.split(", ").any(|x| x == t), "{t} missing from {header}");
        }
        assert_eq!(header.split(", ").count(), 6);
    }

    #[test]
    fn layer_compression_from_media_type() {
        let cases = [
            (OCI_LAYER_GZIP, Some(Compression::Gzip)),
            (OCI_LAYER_ZSTD, Some(Compression::Zstd)),
            (OCI_LAYER_TAR, Some(Compression::None)),
            (DOCKER_LAYER_GZIP, Some(Compression::Gzip)),
            (DOCKER_LAYER_TAR, Some(Compression::None)),
            (DOCKER_LAYER_ZSTD, Some(Compression::Zstd)),
            (DOCKER_FOREIGN_LAYER_GZIP, Some(Compression::Gzip)),
            ("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", Some(Compression::Gzip)),
            ("application/spdx+json", None),
        ];
        for (mt, want) in cases {
            assert_eq!(Compression::of_layer(mt), want, "{mt}");
        }
    }
}
