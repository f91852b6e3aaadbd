//! Content digests (`sha256:<hex>`), incremental hashing that survives an interrupted
//! download, and a verifier that checks a blob stream against a descriptor.
//!
//! Parsing follows the registry ecosystem's digest rules: the error a malformed digest
//! gets is the one docker, containerd and the distribution tools print for it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::digest::common::hazmat::SerializableState;
use sha2::Digest as _;
use std::fmt;
use std::str::FromStr;

/// The hash algorithms this crate can compute. Others (`sha384`, `blake3`) parse as
/// "unsupported", exactly as they do in a client that has not registered them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Length of the lowercase hex encoding of this algorithm's output.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    fn block_len(self) -> u128 {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    fn state_tag(self) -> u8 {
        match self {
            Algorithm::Sha256 => 1,
            Algorithm::Sha512 => 2,
        }
    }

    fn from_state_tag(tag: u8) -> Option<Algorithm> {
        match tag {
            1 => Some(Algorithm::Sha256),
            2 => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("invalid checksum digest format")]
    InvalidFormat,
    #[error("invalid checksum digest length")]
    InvalidLength,
    #[error("unsupported digest algorithm")]
    Unsupported,
    #[error("unsupported saved hash state version {0}")]
    UnsupportedStateVersion(u8),
    #[error("invalid saved hash state: {0}")]
    InvalidState(&'static str),
}

/// A validated digest. The hex is always lowercase, so equal digests compare equal as
/// values and as strings, and the derived order is the order of their string forms.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses `algorithm:hex`; the hex must be lowercase and exactly as long as the
    /// algorithm's output.
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let Some((name, encoded)) = s.split_once(':') else {
            return Err(DigestError::InvalidFormat);
        };
        if encoded.is_empty() {
            return Err(DigestError::InvalidFormat);
        }
        let Some(algorithm) = Algorithm::from_name(name) else {
            // An unknown algorithm is only "unsupported" when the string is at least a
            // well-formed digest; anything else is a format error.
            return Err(if is_well_formed_unknown(name, encoded) {
                DigestError::Unsupported
            } else {
                DigestError::InvalidFormat
            });
        };
        // The length check comes before the character check, so a short uppercase digest
        // reports its length: the order matters for matching the reference tools' errors.
        if encoded.len() != algorithm.hex_len() {
            return Err(DigestError::InvalidLength);
        }
        if !encoded.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestError::InvalidFormat);
        }
        Ok(Digest { algorithm, hex: encoded.to_owned() })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The 12-character prefix `docker pull` prints for each layer.
    pub fn short(&self) -> &str {
        &self.hex[..12]
    }

    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        hasher.finalize()
    }

    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest::of(Algorithm::Sha256, bytes)
    }

    fn from_output(algorithm: Algorithm, output: &[u8]) -> Digest {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(output.len() * 2);
        for byte in output {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        Digest { algorithm, hex }
    }
}

/// go-digest's grammar for a digest whose algorithm it does not know:
/// `[a-z0-9]+([.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+`.
fn is_well_formed_unknown(name: &str, encoded: &str) -> bool {
    let name_ok = !name.is_empty()
        && name
            .split(['.', '+', '_', '-'])
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    let encoded_ok = encoded.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
    name_ok && encoded_ok
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Digest, DigestError> {
        Digest::parse(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Digest, D::Error> {
        struct DigestVisitor;

        impl serde::de::Visitor<'_> for DigestVisitor {
            type Value = Digest;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a digest such as \"sha256:<64 hex>\"")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Digest, E> {
                Digest::parse(v).map_err(|e| E::custom(format_args!("{e}: {v:?}")))
            }
        }

        deserializer.deserialize_str(DigestVisitor)
    }
}

/// The first byte of every saved state, which continues with the algorithm, the byte
/// count (u64 little-endian) and sha2's own serialized state. Bump it when that layout
/// changes, so that a state an old build stored in the browser is refused, not misread.
const STATE_VERSION: u8 = 1;

#[derive(Clone, Debug)]
enum Engine {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

/// An incremental hash whose progress can be saved and restored, so that a blob download
/// resumed with `Range` does not have to re-read what it already hashed.
#[derive(Clone, Debug)]
pub struct Hasher {
    engine: Engine,
    bytes: u64,
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Hasher {
        let engine = match algorithm {
            Algorithm::Sha256 => Engine::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Engine::Sha512(sha2::Sha512::new()),
        };
        Hasher { engine, bytes: 0 }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.engine {
            Engine::Sha256(_) => Algorithm::Sha256,
            Engine::Sha512(_) => Algorithm::Sha512,
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.engine {
            Engine::Sha256(h) => h.update(bytes),
            Engine::Sha512(h) => h.update(bytes),
        }
        self.bytes += bytes.len() as u64;
    }

    pub fn bytes_hashed(&self) -> u64 {
        self.bytes
    }

    pub fn finalize(self) -> Digest {
        match self.engine {
            Engine::Sha256(h) => Digest::from_output(Algorithm::Sha256, &h.finalize()),
            Engine::Sha512(h) => Digest::from_output(Algorithm::Sha512, &h.finalize()),
        }
    }

    /// An opaque byte string from which [`Hasher::restore`] rebuilds this hasher.
    pub fn save_state(&self) -> Vec<u8> {
        let mut out = vec![STATE_VERSION];
        out.push(self.algorithm().state_tag());
        out.extend_from_slice(&self.bytes.to_le_bytes());
        match &self.engine {
            Engine::Sha256(h) => out.extend_from_slice(&h.serialize()),
            Engine::Sha512(h) => out.extend_from_slice(&h.serialize()),
        }
        out
    }

    pub fn restore(state: &[u8]) -> Result<Hasher, DigestError> {
        let Some((&version, rest)) = state.split_first() else {
            return Err(DigestError::InvalidState("empty"));
        };
        if version != STATE_VERSION {
            return Err(DigestError::UnsupportedStateVersion(version));
        }
        let Some((&tag, rest)) = rest.split_first() else {
            return Err(DigestError::InvalidState("truncated"));
        };
        let algorithm = Algorithm::from_state_tag(tag).ok_or(DigestError::InvalidState("unknown algorithm"))?;
        let Some((count, engine_state)) = rest.split_first_chunk::<8>() else {
            return Err(DigestError::InvalidState("truncated"));
        };
        let bytes = u64::from_le_bytes(*count);
        let engine = match algorithm {
            Algorithm::Sha256 => Engine::Sha256(deserialize_engine(engine_state)?),
            Algorithm::Sha512 => Engine::Sha512(deserialize_engine(engine_state)?),
        };
        if engine_byte_count(algorithm, engine_state) != Some(u128::from(bytes)) {
            return Err(DigestError::InvalidState("byte count disagrees with the hash state"));
        }
        Ok(Hasher { engine, bytes })
    }
}

fn deserialize_engine<H: SerializableState>(state: &[u8]) -> Result<H, DigestError> {
    let array = state.try_into().map_err(|_| DigestError::InvalidState("wrong length"))?;
    H::deserialize(array).map_err(|_| DigestError::InvalidState("corrupt hash state"))
}

/// How many bytes a serialized sha2 0.11 state has absorbed: its block counter times the
/// block size plus the bytes waiting in its buffer. sha2 lays its state out as the
/// chaining words, the block counter (u64 for sha256, u128 for sha512, little-endian),
/// then the buffer's fill level and contents. Checking this against the stored count
/// catches a state spliced from two downloads, which would otherwise only surface as a
/// digest mismatch after the whole blob had been fetched again.
fn engine_byte_count(algorithm: Algorithm, state: &[u8]) -> Option<u128> {
    let (blocks, pending) = match algorithm {
        Algorithm::Sha256 => {
            let counter = state.get(32..40)?;
            (u128::from(u64::from_le_bytes(counter.try_into().ok()?)), *state.get(40)?)
        }
        Algorithm::Sha512 => {
            let counter = state.get(64..80)?;
            (u128::from_le_bytes(counter.try_into().ok()?), *state.get(80)?)
        }
    };
    blocks.checked_mul(algorithm.block_len())?.checked_add(u128::from(pending))
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("size mismatch: expected {expected} bytes, got {received_at_least} so far")]
    TooLong { expected: u64, received_at_least: u64 },
    #[error("size mismatch: expected {expected} bytes, got {received}")]
    TooShort { expected: u64, received: u64 },
    #[error("digest mismatch after {size} bytes: expected {expected}, got {actual}")]
    Mismatch { expected: Digest, actual: Digest, size: u64 },
    #[error("saved state hashes with {state} but the expected digest is {expected}")]
    StateAlgorithm { state: Algorithm, expected: Digest },
    #[error(transparent)]
    State(#[from] DigestError),
}

/// Checks a stream against a descriptor's digest and size. Size is enforced while the
/// bytes arrive, so a registry that sends more than it promised is cut off at once
/// instead of being buffered.
#[derive(Clone, Debug)]
pub struct Verifier {
    expected: Digest,
    size: u64,
    hasher: Hasher,
    /// Every byte offered, including a chunk refused for overflowing `size`; once it
    /// exceeds `size` the verifier stays failed.
    received: u64,
}

impl Verifier {
    pub fn new(expected: Digest, size: u64) -> Verifier {
        let hasher = Hasher::new(expected.algorithm());
        Verifier { expected, size, hasher, received: 0 }
    }

    pub fn expected(&self) -> &Digest {
        &self.expected
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn update(&mut self, chunk: &[u8]) -> Result<(), VerifyError> {
        self.received = self.received.saturating_add(chunk.len() as u64);
        if self.received > self.size {
            return Err(VerifyError::TooLong { expected: self.size, received_at_least: self.received });
        }
        self.hasher.update(chunk);
        Ok(())
    }

    pub fn bytes_seen(&self) -> u64 {
        self.received
    }

    pub fn finish(self) -> Result<(), VerifyError> {
        if self.received > self.size {
            return Err(VerifyError::TooLong { expected: self.size, received_at_least: self.received });
        }
        if self.received < self.size {
            return Err(VerifyError::TooShort { expected: self.size, received: self.received });
        }
        let actual = self.hasher.finalize();
        if actual != self.expected {
            return Err(VerifyError::Mismatch { expected: self.expected, actual, size: self.size });
        }
        Ok(())
    }

    /// The state of the bytes accepted so far; a chunk refused as too long is not in it.
    pub fn save_state(&self) -> Vec<u8> {
        self.hasher.save_state()
    }

    pub fn restore(state: &[u8], expected: Digest, size: u64) -> Result<Verifier, VerifyError> {
        let hasher = Hasher::restore(state)?;
        if hasher.algorithm() != expected.algorithm() {
            return Err(VerifyError::StateAlgorithm { state: hasher.algorithm(), expected });
        }
        let received = hasher.bytes_hashed();
        if received > size {
            return Err(VerifyError::TooLong { expected: size, received_at_least: received });
        }
        Ok(Verifier { expected, size, hasher, received })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const EMPTY_SHA512: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

    fn d(s: &str) -> Digest {
        Digest::parse(s).unwrap()
    }

    #[test]
    fn parses_valid_digests() {
        let cases = [
            (format!("sha256:{EMPTY_SHA256}"), Algorithm::Sha256),
            (format!("sha256:{}", "f".repeat(64)), Algorithm::Sha256),
            (format!("sha256:{}", "0".repeat(64)), Algorithm::Sha256),
            (format!("sha512:{EMPTY_SHA512}"), Algorithm::Sha512),
        ];
        for (input, algorithm) in cases {
            let digest = Digest::parse(&input).unwrap();
            assert_eq!(digest.algorithm(), algorithm, "{input}");
            assert_eq!(digest.to_string(), input);
            assert_eq!(digest.hex(), input.split_once(':').unwrap().1);
            assert_eq!(input.parse::<Digest>().unwrap(), digest);
        }
    }

    #[test]
    fn rejects_invalid_digests_with_go_digest_messages() {
        let format = "invalid checksum digest format";
        let length = "invalid checksum digest length";
        let unsupported = "unsupported digest algorithm";
        let cases = [
            (String::new(), format),
            ("sha256".to_string(), format),
            ("sha256:".to_string(), format),
            (":".to_string(), format),
            (format!(":{EMPTY_SHA256}"), format),
            ("sha256:abc".to_string(), length),
            (format!("sha256:{}", "f".repeat(34)), length),
            (format!("sha256:{}", "f".repeat(65)), length),
            (format!("sha256:{EMPTY_SHA512}"), length),
            (format!("sha512:{EMPTY_SHA256}"), length),
            (format!("sha256:{}", "F".repeat(64)), format),
            (format!("sha256:{}", "g".repeat(64)), format),
            (format!("sha256:{}", "é".repeat(32)), format),
            (format!("sha256:{}:", "a".repeat(63)), format),
            (format!("SHA256:{EMPTY_SHA256}"), format),
            (format!("sha384:{}", "a".repeat(96)), unsupported),
            (format!("blake3:{EMPTY_SHA256}"), unsupported),
            (format!("invaliddigest:{EMPTY_SHA256}"), unsupported),
            ("foo.bar+baz_1-2:abc=_-XYZ".to_string(), unsupported),
            ("foo..bar:abc".to_string(), format),
            ("foo-:abc".to_string(), format),
            ("foo:ab/c".to_string(), format),
            ("foo:ab:c".to_string(), format),
        ];
        for (input, message) in cases {
            let err = Digest::parse(&input).unwrap_err();
            assert_eq!(err.to_string(), message, "{input:?}");
        }
    }

    #[test]
    fn known_vectors() {
        let cases: [(Algorithm, &[u8], &str); 7] = [
            (Algorithm::Sha256, b"", EMPTY_SHA256),
            (Algorithm::Sha256, b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                Algorithm::Sha256,
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ),
            // The OCI "empty descriptor" blob used by artifacts without a config.
            (Algorithm::Sha256, b"{}", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"),
            (Algorithm::Sha512, b"", EMPTY_SHA512),
            (
                Algorithm::Sha512,
                b"abc",
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
            (
                Algorithm::Sha256,
                &[b'a'; 1_000_000],
                "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
            ),
        ];
        for (algorithm, input, hex) in cases {
            let digest = Digest::of(algorithm, input);
            assert_eq!(digest.hex(), hex);
            assert_eq!(digest.to_string(), format!("{algorithm}:{hex}"));
        }
        assert_eq!(Digest::sha256_of(b"abc"), Digest::of(Algorithm::Sha256, b"abc"));
    }

    #[test]
    fn short_form_is_what_docker_pull_prints() {
        assert_eq!(Digest::sha256_of(b"{}").short(), "44136fa355b3");
    }

    #[test]
    fn ordering_follows_the_string_form() {
        let mut digests = [
            d(&format!("sha512:{EMPTY_SHA512}")),
            d(&format!("sha256:{}", "f".repeat(64))),
            d(&format!("sha256:{EMPTY_SHA256}")),
        ];
        digests.sort();
        let strings: Vec<String> = digests.iter().map(ToString::to_string).collect();
        let mut sorted = strings.clone();
        sorted.sort();
        assert_eq!(strings, sorted);
    }

    #[test]
    fn serde_uses_the_string_form() {
        let digest = Digest::sha256_of(b"{}");
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, format!("\"{digest}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), digest);
        let err = serde_json::from_str::<Digest>("\"sha256:abc\"").unwrap_err();
        assert!(err.to_string().contains("invalid checksum digest length"), "{err}");
        assert!(serde_json::from_str::<Digest>("42").is_err());
    }

    #[test]
    fn hasher_counts_bytes_and_matches_one_shot() {
        let mut hasher = Hasher::new(Algorithm::Sha512);
        hasher.update(b"a");
        hasher.update(b"");
        hasher.update(b"bc");
        assert_eq!(hasher.bytes_hashed(), 3);
        assert_eq!(hasher.algorithm(), Algorithm::Sha512);
        assert_eq!(hasher.finalize(), Digest::of(Algorithm::Sha512, b"abc"));
    }

    #[test]
    fn saved_state_carries_version_and_algorithm() {
        let mut hasher = Hasher::new(Algorithm::Sha256);
        hasher.update(&[7; 100]);
        let state = hasher.save_state();
        assert_eq!(state[0], STATE_VERSION);
        let restored = Hasher::restore(&state).unwrap();
        assert_eq!(restored.algorithm(), Algorithm::Sha256);
        assert_eq!(restored.bytes_hashed(), 100);
        assert_eq!(restored.finalize(), Digest::sha256_of(&[7; 100]));
    }

    #[test]
    fn restore_rejects_damaged_states() {
        let mut hasher = Hasher::new(Algorithm::Sha256);
        hasher.update(&[1; 70]);
        let good = hasher.save_state();

        let mut wrong_version = good.clone();
        wrong_version[0] = 9;
        assert_eq!(Hasher::restore(&wrong_version).unwrap_err(), DigestError::UnsupportedStateVersion(9));

        let mut wrong_algorithm = good.clone();
        wrong_algorithm[1] = 2;
        assert_eq!(Hasher::restore(&wrong_algorithm).unwrap_err(), DigestError::InvalidState("wrong length"));

        let mut unknown_algorithm = good.clone();
        unknown_algorithm[1] = 0;
        assert_eq!(Hasher::restore(&unknown_algorithm).unwrap_err(), DigestError::InvalidState("unknown algorithm"));

        let mut wrong_count = good.clone();
        wrong_count[2] = 71;
        assert_eq!(
            Hasher::restore(&wrong_count).unwrap_err(),
            DigestError::InvalidState("byte count disagrees with the hash state")
        );

        let mut dirty_buffer = good.clone();
        let last = dirty_buffer.len() - 1;
        dirty_buffer[last] = 1;
        assert_eq!(Hasher::restore(&dirty_buffer).unwrap_err(), DigestError::InvalidState("corrupt hash state"));

        for len in 0..good.len() {
            assert!(Hasher::restore(&good[..len]).is_err(), "truncated to {len}");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(Hasher::restore(&longer).is_err());
        assert!(Hasher::restore(&good).is_ok());
    }

    #[test]
    fn verifier_accepts_the_right_stream() {
        let body = b"hello, registry";
        let mut verifier = Verifier::new(Digest::sha256_of(body), body.len() as u64);
        verifier.update(&body[..5]).unwrap();
        verifier.update(&body[5..]).unwrap();
        assert_eq!(verifier.bytes_seen(), body.len() as u64);
        verifier.finish().unwrap();
    }

    #[test]
    fn verifier_fails_as_soon_as_the_stream_is_too_long() {
        let mut verifier = Verifier::new(Digest::sha256_of(&[0; 1234]), 1234);
        verifier.update(&[0; 1000]).unwrap();
        let err = verifier.update(&[0; 240]).unwrap_err();
        assert_eq!(err, VerifyError::TooLong { expected: 1234, received_at_least: 1240 });
        assert_eq!(err.to_string(), "size mismatch: expected 1234 bytes, got 1240 so far");
        // A later chunk that would fit must not revive a stream that already overflowed.
        assert!(verifier.update(&[]).is_err());
        assert_eq!(
            verifier.clone().finish().unwrap_err(),
            VerifyError::TooLong { expected: 1234, received_at_least: 1240 }
        );
    }

    #[test]
    fn verifier_reports_short_reads_and_mismatches() {
        let mut short = Verifier::new(Digest::sha256_of(&[0; 1234]), 1234);
        short.update(&[0; 1200]).unwrap();
        let err = short.finish().unwrap_err();
        assert_eq!(err, VerifyError::TooShort { expected: 1234, received: 1200 });
        assert_eq!(err.to_string(), "size mismatch: expected 1234 bytes, got 1200");

        let expected = Digest::sha256_of(&[0; 1234]);
        let mut wrong = Verifier::new(expected.clone(), 1234);
        wrong.update(&[1; 1234]).unwrap();
        let err = wrong.finish().unwrap_err();
        let actual = Digest::sha256_of(&[1; 1234]);
        assert_eq!(err, VerifyError::Mismatch { expected: expected.clone(), actual: actual.clone(), size: 1234 });
        assert_eq!(err.to_string(), format!("digest mismatch after 1234 bytes: expected {expected}, got {actual}"));
    }

    #[test]
    fn verifier_of_an_empty_blob() {
        Verifier::new(Digest::sha256_of(b""), 0).finish().unwrap();
        let mut verifier = Verifier::new(Digest::sha256_of(b""), 0);
        assert!(verifier.update(b"x").is_err());
    }

    #[test]
    fn verifier_resumes_from_saved_state() {
        let body: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let expected = Digest::of(Algorithm::Sha512, &body);
        let mut first = Verifier::new(expected.clone(), 5000);
        first.update(&body[..3001]).unwrap();
        let state = first.save_state();

        let mut resumed = Verifier::restore(&state, expected.clone(), 5000).unwrap();
        assert_eq!(resumed.bytes_seen(), 3001);
        resumed.update(&body[3001..]).unwrap();
        resumed.finish().unwrap();

        let other = Digest::sha256_of(&body);
        assert_eq!(
            Verifier::restore(&state, other.clone(), 5000).unwrap_err(),
            VerifyError::StateAlgorithm { state: Algorithm::Sha512, expected: other }
        );
        assert_eq!(
            Verifier::restore(&state, expected.clone(), 3000).unwrap_err(),
            VerifyError::TooLong { expected: 3000, received_at_least: 3001 }
        );
        assert_eq!(
            Verifier::restore(&[], expected, 5000).unwrap_err(),
            VerifyError::State(DigestError::InvalidState("empty"))
        );
    }

    fn split_points(len: usize, cuts: &[usize]) -> Vec<usize> {
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (len + 1)).collect();
        points.push(0);
        points.push(len);
        points.sort_unstable();
        points.dedup();
        points
    }

    proptest! {
        #[test]
        fn chunking_and_resuming_never_change_the_digest(
            data in proptest::collection::vec(any::<u8>(), 0..700),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
            resume_at in any::<usize>(),
            sha512 in any::<bool>(),
        ) {
            let algorithm = if sha512 { Algorithm::Sha512 } else { Algorithm::Sha256 };
            let expected = Digest::of(algorithm, &data);
            let points = split_points(data.len(), &cuts);
            let resume_after = resume_at % points.len();

            let mut hasher = Hasher::new(algorithm);
            let mut verifier = Verifier::new(expected.clone(), data.len() as u64);
            for (i, window) in points.windows(2).enumerate() {
                if i == resume_after {
                    hasher = Hasher::restore(&hasher.save_state()).unwrap();
                    verifier = Verifier::restore(&verifier.save_state(), expected.clone(), data.len() as u64).unwrap();
                }
                hasher.update(&data[window[0]..window[1]]);
                verifier.update(&data[window[0]..window[1]]).unwrap();
            }
            prop_assert_eq!(hasher.bytes_hashed(), data.len() as u64);
            prop_assert_eq!(hasher.finalize(), expected);
            prop_assert!(verifier.finish().is_ok());
        }

        #[test]
        fn parse_accepts_exactly_its_own_output(s in "(sha256|sha512|sha384|Sha256|[a-z.+_-]{0,4})(:)?[0-9a-fA-Fg:]{0,130}") {
            if let Ok(digest) = Digest::parse(&s) {
                prop_assert_eq!(digest.to_string(), s);
            }
        }
    }
}
