//! Platforms (`os/arch[/variant]`) and choosing one manifest from an index.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
    #[serde(rename = "os.version", default, skip_serializing_if = "String::is_empty")]
    pub os_version: String,
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform {input:?}: expected os/arch or os/arch/variant, e.g. linux/arm64/v8")]
pub struct PlatformError {
    pub input: String,
}

impl Platform {
    pub fn new(os: &str, architecture: &str, variant: &str) -> Platform {
        Platform { os: os.into(), architecture: architecture.into(), variant: variant.into(), ..Default::default() }
    }

    /// The platform a runtime on a typical x86-64 Linux node asks for.
    pub fn default_linux_amd64() -> Platform {
        Platform::new("linux", "amd64", "")
    }

    pub fn parse(input: &str) -> Result<Platform, PlatformError> {
        let parts: Vec<&str> = input.split('/').collect();
        let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        match parts.as_slice() {
            [os, arch] if valid(os) && valid(arch) => Ok(Platform::new(os, arch, "")),
            [os, arch, variant] if valid(os) && valid(arch) && valid(variant) => Ok(Platform::new(os, arch, variant)),
            _ => Err(PlatformError { input: input.into() }),
        }
    }

    /// The same platform with the aliases runtimes accept folded together, so that
    /// `linux/arm64` and `linux/arm64/v8`, or `linux/arm` and `linux/arm/v7`, compare equal.
    pub fn normalized(&self) -> Platform {
        let os = match self.os.to_ascii_lowercase().as_str() {
            "macos" => "darwin".to_string(),
            other => other.to_string(),
        };
        let arch_in = self.architecture.to_ascii_lowercase();
        let variant_in = self.variant.to_ascii_lowercase();
        let (arch, variant) = match arch_in.as_str() {
            "aarch64" | "arm64" => ("arm64", match variant_in.as_str() {
                "" | "8" | "v8" | "v8.0" => "v8".to_string(),
                "9" | "v9.0" => "v9".to_string(),
                v => v.to_string(),
            }),
            "armhf" => ("arm", "v7".to_string()),
            "armel" => ("arm", "v6".to_string()),
            "arm" => ("arm", match variant_in.as_str() {
                "" | "7" => "v7".to_string(),
                v if v.len() == 1 && v.chars().all(|c| c.is_ascii_digit()) => format!("v{v}"),
                v => v.to_string(),
            }),
            "x86_64" | "x86-64" | "amd64" => ("amd64", match variant_in.as_str() {
                "v1" => String::new(),
                v => v.to_string(),
            }),
            "i386" | "386" => ("386", variant_in.clone()),
            other => (other, variant_in.clone()),
        };
        Platform { os, architecture: arch.to_string(), variant, os_version: self.os_version.clone(), os_features: self.os_features.clone() }
    }

    /// Whether an index entry for `candidate` satisfies a request for `self`.
    /// Variants count only where the architecture has a default variant, or when one was asked for.
    pub fn matches(&self, candidate: &Platform) -> bool {
        let want = self.normalized();
        let have = candidate.normalized();
        if want.os != have.os || want.architecture != have.architecture {
            return false;
        }
        let variant_matters = !self.variant.is_empty() || matches!(want.architecture.as_str(), "arm" | "arm64");
        if variant_matters && want.variant != have.variant {
            return false;
        }
        if !self.os_version.is_empty() && self.os_version != candidate.os_version {
            return false;
        }
        self.os_features.iter().all(|f| candidate.os_features.contains(f))
    }

    /// buildx stores provenance and SBOM attestations as index entries with this platform.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" && self.architecture == "unknown"
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_platforms() {
        let ok = [
            ("linux/amd64", ("linux", "amd64", "")),
            ("linux/arm64/v8", ("linux", "arm64", "v8")),
            ("linux/arm/v7", ("linux", "arm", "v7")),
            ("windows/amd64", ("windows", "amd64", "")),
        ];
        for (input, (os, arch, variant)) in ok {
            assert_eq!(Platform::parse(input).unwrap(), Platform::new(os, arch, variant), "{input}");
            assert_eq!(Platform::parse(input).unwrap().to_string(), input);
        }
        for bad in ["", "linux", "linux/", "/amd64", "linux/amd64/v1/extra", "linux/am d64"] {
            assert!(Platform::parse(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn matching_with_normalisation() {
        let cases = [
            ("linux/arm64", "linux/arm64/v8", true),
            ("linux/arm64/v8", "linux/arm64", true),
            ("linux/arm64/v8", "linux/aarch64", true),
            ("linux/arm", "linux/arm/v7", true),
            ("linux/arm", "linux/arm/v6", false),
            ("linux/arm/v6", "linux/armel", true),
            ("linux/arm/7", "linux/arm/v7", true),
            ("linux/amd64", "linux/x86_64", true),
            ("linux/amd64", "linux/amd64/v3", true),
            ("linux/amd64/v3", "linux/amd64", false),
            ("linux/amd64/v1", "linux/amd64", true),
            ("linux/386", "linux/i386", true),
            ("darwin/arm64", "macos/arm64", true),
            ("linux/amd64", "linux/arm64", false),
            ("linux/amd64", "windows/amd64", false),
            ("linux/amd64", "unknown/unknown", false),
        ];
        for (want, have, expected) in cases {
            let w = Platform::parse(want).unwrap();
            let h = Platform::parse(have).unwrap();
            assert_eq!(w.matches(&h), expected, "{want} vs {have}");
        }
    }

    #[test]
    fn os_version_and_features_only_when_asked() {
        let mut want = Platform::new("windows", "amd64", "");
        let mut have = want.clone();
        have.os_version = "10.0.17763.1".into();
        have.os_features = vec!["win32k".into()];
        assert!(want.matches(&have));
        want.os_version = "10.0.20348.1".into();
        assert!(!want.matches(&have));
        want.os_version.clear();
        want.os_features = vec!["win32k".into()];
        assert!(want.matches(&have));
        want.os_features = vec!["other".into()];
        assert!(!want.matches(&have));
    }
}
