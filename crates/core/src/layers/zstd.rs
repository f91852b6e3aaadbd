//! Push-model zstd: ruzstd decodes from a reader or a slice holding whole blocks, so this keeps
//! the bytes of at most one block (128 KiB compressed) until the block is complete, and hands
//! the decoder exactly one block at a time so the output of a call is one block (≤ 128 KiB) too.

use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::FrameDecoder;
use std::io::Read;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZstdError {
    #[error("zstd: not a zstd frame (magic {0:#010x})")]
    Magic(u32),
    #[error("zstd: reserved block type at compressed byte {0}")]
    ReservedBlock(u64),
    #[error("zstd: {0}")]
    Decode(String),
    #[error("zstd: frame checksum mismatch (frame says {stored:#010x}, contents hash to {computed:#010x})")]
    Checksum { stored: u32, computed: u32 },
}

const ZSTD_MAGIC: u32 = 0xFD2F_B528;
const SKIPPABLE_MAGIC: std::ops::RangeInclusive<u32> = 0x184D_2A50..=0x184D_2A5F;
const BLOCK_HEADER: usize = 3;
const OUTPUT_PIECE: usize = 32 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    BetweenFrames,
    Skipping(u64),
    Block,
    Checksum,
}

pub(crate) struct ZstdPush {
    decoder: FrameDecoder,
    pending: Vec<u8>,
    phase: Phase,
    consumed: u64,
    output: Vec<u8>,
    stopped: bool,
}

/// The size of a frame header from its first five bytes (magic and frame descriptor).
fn frame_header_len(descriptor: u8) -> usize {
    let single_segment = descriptor & 0x20 != 0;
    let dictionary = [0, 1, 2, 4][usize::from(descriptor & 0x03)];
    let content_size = match descriptor >> 6 {
        0 if single_segment => 1,
        0 => 0,
        1 => 2,
        2 => 4,
        _ => 8,
    };
    5 + usize::from(!single_segment) + dictionary + content_size
}

fn decode_error(e: FrameDecoderError) -> ZstdError {
    ZstdError::Decode(e.to_string())
}

impl ZstdPush {
    pub(crate) fn new() -> ZstdPush {
        ZstdPush { decoder: FrameDecoder::new(), pending: Vec::new(), phase: Phase::BetweenFrames, consumed: 0, output: vec![0; OUTPUT_PIECE], stopped: false }
    }

    /// Whether the input so far ends exactly at a frame boundary.
    pub(crate) fn at_boundary(&self) -> bool {
        self.stopped || (self.phase == Phase::BetweenFrames && self.pending.is_empty())
    }

    /// Adds compressed bytes and decodes every block they complete, handing each piece of
    /// output to `sink` before decoding the next block. Once `sink` answers `false` (the tar has
    /// ended) and a frame is complete, all later input is dropped unread.
    pub(crate) fn push(&mut self, input: &[u8], sink: &mut dyn FnMut(&[u8]) -> bool) -> Result<(), ZstdError> {
        if self.stopped {
            return Ok(());
        }
        self.pending.extend_from_slice(input);
        let mut start = 0;
        let result = self.run(&mut start, sink);
        self.pending.drain(..start.min(self.pending.len()));
        result
    }

    fn run(&mut self, start: &mut usize, sink: &mut dyn FnMut(&[u8]) -> bool) -> Result<(), ZstdError> {
        loop {
            let avail = &self.pending[*start..];
            match self.phase {
                Phase::Skipping(left) => {
                    let n = avail.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    if n == 0 {
                        return Ok(());
                    }
                    self.advance(start, n);
                    self.phase = if left == n as u64 { Phase::BetweenFrames } else { Phase::Skipping(left - n as u64) };
                }
                Phase::BetweenFrames => {
                    if avail.len() < 8 {
                        return Ok(());
                    }
                    let magic = u32::from_le_bytes([avail[0], avail[1], avail[2], avail[3]]);
                    if SKIPPABLE_MAGIC.contains(&magic) {
                        let length = u32::from_le_bytes([avail[4], avail[5], avail[6], avail[7]]);
                        self.advance(start, 8);
                        self.phase = Phase::Skipping(u64::from(length));
                        continue;
                    }
                    if magic != ZSTD_MAGIC {
                        return Err(ZstdError::Magic(magic));
                    }
                    let need = frame_header_len(avail[4]);
                    if avail.len() < need {
                        return Ok(());
                    }
                    let mut header = &avail[..need];
                    match self.decoder.reset(&mut header) {
                        Ok(()) => {}
                        Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame { .. })) => {
                            unreachable!("skippable frames are handled above")
                        }
                        Err(e) => return Err(decode_error(e)),
                    }
                    self.advance(start, need);
                    self.phase = Phase::Block;
                }
                Phase::Block => {
                    if avail.len() < BLOCK_HEADER {
                        return Ok(());
                    }
                    let header = u32::from(avail[0]) | u32::from(avail[1]) << 8 | u32::from(avail[2]) << 16;
                    let last = header & 1 == 1;
                    let size = (header >> 3) as usize;
                    let body = match (header >> 1) & 3 {
                        1 => 1,
                        3 => return Err(ZstdError::ReservedBlock(self.consumed)),
                        _ => size,
                    };
                    let need = BLOCK_HEADER + body;
                    if avail.len() < need {
                        return Ok(());
                    }
                    let (read, _) = self.decoder.decode_from_to(&avail[..need], &mut []).map_err(decode_error)?;
                    if read != need {
                        return Err(ZstdError::Decode(format!("a block of {need} bytes decoded as {read}")));
                    }
                    self.advance(start, need);
                    if last {
                        self.phase = if self.decoder.is_finished() { Phase::BetweenFrames } else { Phase::Checksum };
                    }
                    if !self.drain(sink)? {
                        return self.stop(start);
                    }
                }
                Phase::Checksum => {
                    if avail.len() < 4 {
                        return Ok(());
                    }
                    self.decoder.decode_from_to(&avail[..4], &mut []).map_err(decode_error)?;
                    self.advance(start, 4);
                    self.phase = Phase::BetweenFrames;
                    if !self.drain(sink)? {
                        return self.stop(start);
                    }
                }
            }
        }
    }

    fn stop(&mut self, start: &mut usize) -> Result<(), ZstdError> {
        self.stopped = true;
        *start = self.pending.len();
        Ok(())
    }

    fn advance(&mut self, start: &mut usize, n: usize) {
        *start += n;
        self.consumed += n as u64;
    }

    /// Moves decoded bytes to `sink` (all of them once the frame is complete, else all but the
    /// window later blocks may refer back to), then checks the frame checksum at its end.
    /// Returns `false` when the sink wants nothing more and the frame is complete.
    fn drain(&mut self, sink: &mut dyn FnMut(&[u8]) -> bool) -> Result<bool, ZstdError> {
        let mut wanted = true;
        loop {
            let n = self.decoder.read(&mut self.output).map_err(|e| ZstdError::Decode(e.to_string()))?;
            if n == 0 {
                break;
            }
            wanted = sink(&self.output[..n]);
        }
        if self.phase != Phase::BetweenFrames {
            return Ok(true);
        }
        if let (Some(stored), Some(computed)) = (self.decoder.get_checksum_from_data(), self.decoder.get_calculated_checksum()) {
            if stored != computed {
                return Err(ZstdError::Checksum { stored, computed });
            }
        }
        Ok(wanted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lengths() {
        assert_eq!(frame_header_len(0x00), 6);
        assert_eq!(frame_header_len(0x20), 6);
        assert_eq!(frame_header_len(0x60), 7);
        assert_eq!(frame_header_len(0xA0), 9);
        assert_eq!(frame_header_len(0xE3), 17);
        assert_eq!(frame_header_len(0xC3), 18);
        assert_eq!(frame_header_len(0xC1), 15);
    }
}
