//! The diff_id of a layer: the sha256 of its uncompressed tar, computed by pushing compressed
//! chunks through a decoder, so a layer of any size is checked in bounded memory.

use crate::digest::{Algorithm, Digest, Hasher};
use crate::media_type::Compression;
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
use std::io::Write;

const ZSTD_MAGIC: u32 = 0xFD2F_B528;
const SKIPPABLE_MAGIC: std::ops::RangeInclusive<u32> = 0x184D_2A50..=0x184D_2A5F;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{compression} data is invalid: {message}")]
pub struct DecompressError {
    pub compression: &'static str,
    pub message: String,
}

fn zstd_error(message: impl Into<String>) -> DecompressError {
    DecompressError { compression: "zstd", message: message.into() }
}

/// Feeds decompressed bytes to the hash.
struct HashWriter(Hasher);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Hashes the uncompressed content of a layer fed chunk by chunk.
pub struct DiffIdHasher {
    decoder: Decoder,
}

enum Decoder {
    Plain(Box<HashWriter>),
    Gzip(Box<flate2::write::MultiGzDecoder<HashWriter>>),
    Zstd(Box<ZstdPush>),
}

impl DiffIdHasher {
    pub fn new(compression: Compression) -> DiffIdHasher {
        let out = HashWriter(Hasher::new(Algorithm::Sha256));
        let decoder = match compression {
            Compression::None => Decoder::Plain(Box::new(out)),
            Compression::Gzip => Decoder::Gzip(Box::new(flate2::write::MultiGzDecoder::new(out))),
            Compression::Zstd => Decoder::Zstd(Box::new(ZstdPush::new(out))),
        };
        DiffIdHasher { decoder }
    }

    pub fn update(&mut self, chunk: &[u8]) -> Result<(), DecompressError> {
        match &mut self.decoder {
            Decoder::Plain(w) => {
                w.0.update(chunk);
                Ok(())
            }
            Decoder::Gzip(d) => d.write_all(chunk).map_err(|e| DecompressError { compression: "gzip", message: e.to_string() }),
            Decoder::Zstd(d) => d.push(chunk),
        }
    }

    /// The diff_id, once every compressed byte has been fed.
    pub fn finish(self) -> Result<Digest, DecompressError> {
        let writer = match self.decoder {
            Decoder::Plain(w) => *w,
            Decoder::Gzip(d) => d.finish().map_err(|e| DecompressError { compression: "gzip", message: e.to_string() })?,
            Decoder::Zstd(d) => d.finish()?,
        };
        Ok(writer.0.finalize())
    }
}

enum ZstdState {
    /// Between frames: the next bytes are a magic number.
    FrameStart,
    /// Inside a skippable frame, with this many bytes left to skip.
    Skip(u64),
    /// Inside a frame, before a block header; `checksum` says whether the frame ends with one.
    Block { checksum: bool },
}

/// ruzstd decodes from a reader that has the bytes; a download only has what arrived. This
/// splits the stream at frame headers and whole blocks (at most 128 KiB each), handing each
/// to the decoder once it is complete, so only one block and the decoder's window are held.
struct ZstdPush {
    decoder: FrameDecoder,
    pending: Vec<u8>,
    state: ZstdState,
    out: HashWriter,
}

impl ZstdPush {
    fn new(out: HashWriter) -> ZstdPush {
        ZstdPush { decoder: FrameDecoder::new(), pending: Vec::new(), state: ZstdState::FrameStart, out }
    }

    fn push(&mut self, chunk: &[u8]) -> Result<(), DecompressError> {
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(chunk);
        let mut used = 0;
        while let Some(n) = self.step(&pending[used..])? {
            used += n;
        }
        pending.drain(..used);
        self.pending = pending;
        Ok(())
    }

    /// Consumes one unit (a header, a block, skipped bytes) from `input` when it is complete;
    /// `None` when more bytes are needed.
    fn step(&mut self, input: &[u8]) -> Result<Option<usize>, DecompressError> {
        match self.state {
            ZstdState::FrameStart => {
                let Some(magic) = input.first_chunk::<4>().map(|m| u32::from_le_bytes(*m)) else { return Ok(None) };
                if SKIPPABLE_MAGIC.contains(&magic) {
                    let Some(len) = input.get(4..8) else { return Ok(None) };
                    self.state = ZstdState::Skip(u64::from(u32::from_le_bytes(len.try_into().expect("4 bytes"))));
                    return Ok(Some(8));
                }
                if magic != ZSTD_MAGIC {
                    return Err(zstd_error(format!("bad frame magic number {magic:#010x}")));
                }
                let Some(&descriptor) = input.get(4) else { return Ok(None) };
                let header_len = frame_header_len(descriptor);
                if input.len() < header_len {
                    return Ok(None);
                }
                self.decoder.reset(&input[..header_len]).map_err(|e| zstd_error(e.to_string()))?;
                self.state = ZstdState::Block { checksum: descriptor & 0b100 != 0 };
                Ok(Some(header_len))
            }
            ZstdState::Skip(left) => {
                if input.is_empty() {
                    return Ok(None);
                }
                let n = left.min(input.len() as u64);
                self.state = if n == left { ZstdState::FrameStart } else { ZstdState::Skip(left - n) };
                Ok(Some(n as usize))
            }
            ZstdState::Block { checksum } => {
                let Some(h) = input.first_chunk::<3>() else { return Ok(None) };
                let header = u32::from(h[0]) | u32::from(h[1]) << 8 | u32::from(h[2]) << 16;
                let last = header & 1 == 1;
                let size = (header >> 3) as usize;
                let content = match (header >> 1) & 3 {
                    0 | 2 => size,
                    1 => 1,
                    _ => return Err(zstd_error("reserved block type")),
                };
                let total = 3 + content + if last && checksum { 4 } else { 0 };
                if input.len() < total {
                    return Ok(None);
                }
                self.decoder.decode_blocks(&input[..total], BlockDecodingStrategy::UptoBlocks(1)).map_err(|e| zstd_error(e.to_string()))?;
                self.decoder.collect_to_writer(&mut self.out).map_err(|e| zstd_error(e.to_string()))?;
                if last {
                    self.state = ZstdState::FrameStart;
                }
                Ok(Some(total))
            }
        }
    }

    fn finish(self) -> Result<HashWriter, DecompressError> {
        match self.state {
            ZstdState::FrameStart if self.pending.is_empty() => Ok(self.out),
            _ => Err(zstd_error(format!("the stream ends inside a frame ({} bytes unused)", self.pending.len()))),
        }
    }
}

/// Magic, descriptor, window descriptor, dictionary id and frame content size, as RFC 8878 lays them out.
fn frame_header_len(descriptor: u8) -> usize {
    let single_segment = descriptor & 0b10_0000 != 0;
    let dict_id = [0, 1, 2, 4][usize::from(descriptor & 0b11)];
    let content_size = match descriptor >> 6 {
        0 => usize::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    4 + 1 + usize::from(!single_segment) + dict_id + content_size
}
