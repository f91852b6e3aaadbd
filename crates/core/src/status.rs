//! The CRI `ImageStatus` view of an image, with containerd's rules, and crictl's display forms.

use crate::digest::Digest;
use crate::manifest::ImageConfig;
use crate::reference::Reference;
use serde::{Deserialize, Serialize};

/// CRI `Int64Value`: a wrapper so "uid 0" and "no uid" differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Int64Value {
    pub value: i64,
}

/// CRI `Image`, field names as in api.proto.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub size: u64,
    pub uid: Option<Int64Value>,
    pub username: String,
    pub pinned: bool,
}

/// What was resolved on the way to an image: each piece counts toward the size containerd reports.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    pub reference: &'a Reference,
    /// Digest and size of what the reference named: the index for a multi-platform tag.
    pub target_digest: &'a Digest,
    pub target_size: u64,
    /// Size of the platform manifest chosen from an index; `None` when the target is the manifest.
    pub platform_manifest_size: Option<u64>,
    pub config_digest: &'a Digest,
    pub config_size: u64,
    pub layer_sizes: &'a [u64],
    pub config: Option<&'a ImageConfig>,
}

impl Image {
    /// containerd's ImageStatus: id = config digest; repo_tags = the normalised name and tag
    /// (none for a pull by digest); repo_digests = name@target digest; size = target + chosen
    /// manifest + config + compressed layers.
    pub fn from_resolved(r: &Resolved<'_>) -> Image {
        let name = r.reference.name();
        let repo_tags = match (r.reference.tag(), r.reference.digest()) {
            (Some(tag), _) => vec![format!("{name}:{tag}")],
            (None, None) => vec![format!("{name}:latest")],
            (None, Some(_)) => vec![],
        };
        let size = r.target_size
            + r.platform_manifest_size.unwrap_or(0)
            + r.config_size
            + r.layer_sizes.iter().sum::<u64>();
        let (uid, username) = user_of(r.config.and_then(|c| c.config.as_ref()).and_then(|c| c.user.as_deref()));
        Image {
            id: r.config_digest.to_string(),
            repo_tags,
            repo_digests: vec![format!("{name}@{}", r.target_digest)],
            size,
            uid,
            username,
            pinned: false,
        }
    }

    /// crictl's IMAGE ID column: the hex without `sha256:`, 13 characters.
    pub fn short_id(&self) -> &str {
        let hex = self.id.split_once(':').map_or(self.id.as_str(), |(_, h)| h);
        &hex[..hex.len().min(13)]
    }

    /// crictl's SIZE column.
    pub fn human_size(&self) -> String {
        human_size(self.size)
    }
}

/// The part of `User` before `:`: numeric is a uid, anything else a user name (containerd's rule).
fn user_of(user: Option<&str>) -> (Option<Int64Value>, String) {
    let Some(user) = user.filter(|u| !u.is_empty()) else { return (None, String::new()) };
    let first = user.split(':').next().unwrap_or("");
    match first.parse::<i64>() {
        Ok(value) => (Some(Int64Value { value }), String::new()),
        Err(_) => (None, first.to_string()),
    }
}

/// docker/go-units `HumanSizeWithPrecision(size, 3)`: decimal units and Go's `%.3g`,
/// including its quirk of printing `1e+03kB` for 999 999 bytes.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    format!("{}{}", format_g3(size), UNITS[unit])
}

/// Go's `%.3g` for zero or a number in [1, 1000), which is all `human_size` passes. The digits
/// come from the float's exact binary value with integer arithmetic, rounding half to even as
/// Go does: Rust's float formatting would link its dragon and grisu tables into the web app.
fn format_g3(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let bits = x.to_bits();
    let mantissa = bits & ((1 << 52) - 1) | 1 << 52;
    let shift = 1075 - ((bits >> 52) & 0x7ff) as u32;
    let mut exponent = if x >= 100.0 { 2 } else if x >= 10.0 { 1 } else { 0 };
    let scaled = mantissa * 10u64.pow(2 - exponent);
    let (mut digits, rest, half) = (scaled >> shift, scaled & ((1 << shift) - 1), 1u64 << (shift - 1));
    if rest > half || (rest == half && digits % 2 == 1) {
        digits += 1;
    }
    if digits == 1000 {
        digits = 100;
        exponent += 1;
    }
    if exponent == 3 {
        return format!("{}e+03", trim_zeros(&with_point(digits, 2)));
    }
    trim_zeros(&with_point(digits, 2 - exponent)).to_string()
}

/// `digits` with a decimal point `decimals` places from the right.
fn with_point(digits: u64, decimals: u32) -> String {
    let text = digits.to_string();
    let (whole, fraction) = text.split_at(text.len() - decimals as usize);
    if fraction.is_empty() {
        text
    } else {
        format!("{whole}.{fraction}")
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::RuntimeConfig;

    fn d(c: char) -> Digest {
        Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
    }

    #[test]
    fn status_by_tag_of_an_index() {
        let reference = Reference::parse("nginx").unwrap();
        let (index, config) = (d('a'), d('c'));
        let image = Image::from_resolved(&Resolved {
            reference: &reference,
            target_digest: &index,
            target_size: 1000,
            platform_manifest_size: Some(500),
            config_digest: &config,
            config_size: 300,
            layer_sizes: &[10_000, 20_000],
            config: None,
        });
        assert_eq!(image.id, config.to_string());
        assert_eq!(image.repo_tags, vec!["docker.io/library/nginx:latest"]);
        assert_eq!(image.repo_digests, vec![format!("docker.io/library/nginx@{index}")]);
        assert_eq!(image.size, 1000 + 500 + 300 + 30_000);
        assert_eq!(image.short_id(), "ccccccccccccc");
        assert_eq!(image.human_size(), "31.8kB");
    }

    #[test]
    fn status_by_digest_has_no_tag_and_keeps_a_tag_given_with_it() {
        let m = d('b');
        let by_digest = Reference::parse(&format!("localhost:5000/app@{m}")).unwrap();
        let both = Reference::parse(&format!("localhost:5000/app:v1@{m}")).unwrap();
        for (reference, tags) in [(&by_digest, vec![]), (&both, vec!["localhost:5000/app:v1".to_string()])] {
            let image = Image::from_resolved(&Resolved {
                reference,
                target_digest: &m,
                target_size: 10,
                platform_manifest_size: None,
                config_digest: &d('c'),
                config_size: 1,
                layer_sizes: &[],
                config: None,
            });
            assert_eq!(image.repo_tags, tags);
            assert_eq!(image.repo_digests, vec![format!("localhost:5000/app@{m}")]);
            assert_eq!(image.size, 11);
        }
    }

    #[test]
    fn uid_and_username_from_config_user() {
        let cases = [
            (None, None, ""),
            (Some(""), None, ""),
            (Some("0"), Some(0), ""),
            (Some("1000:1000"), Some(1000), ""),
            (Some("nginx"), None, "nginx"),
            (Some("app:staff"), None, "app"),
        ];
        for (user, uid, name) in cases {
            let config = ImageConfig {
                config: Some(RuntimeConfig { user: user.map(String::from), ..Default::default() }),
                ..Default::default()
            };
            let reference = Reference::parse("busybox").unwrap();
            let image = Image::from_resolved(&Resolved {
                reference: &reference,
                target_digest: &d('a'),
                target_size: 1,
                platform_manifest_size: None,
                config_digest: &d('c'),
                config_size: 1,
                layer_sizes: &[],
                config: Some(&config),
            });
            assert_eq!(image.uid.map(|u| u.value), uid, "{user:?}");
            assert_eq!(image.username, name, "{user:?}");
        }
    }

    #[test]
    fn crictl_sizes() {
        let cases = [
            (0, "0B"),
            (999, "999B"),
            (1000, "1kB"),
            (1234, "1.23kB"),
            (2479, "2.48kB"),
            (10_000, "10kB"),
            (100_000, "100kB"),
            (999_499, "999kB"),
            (999_999, "1e+03kB"),
            (70_500_000, "70.5MB"),
            (191_000_000, "191MB"),
            (1_500_000_000, "1.5GB"),
            (268_435_456, "268MB"),
            (1125, "1.12kB"),
            (1135, "1.14kB"),
            (9995, "9.99kB"),
            (99_950, "100kB"),
            (u64::MAX, "18.4EB"),
        ];
        for (bytes, want) in cases {
            assert_eq!(human_size(bytes), want, "{bytes}");
        }
    }
}
