//! File trees of image layers and of the merged image filesystem.
//!
//! A [`LayerReader`] is fed a layer blob in pieces of any size, as they arrive from the network
//! or from storage, and reports each tar entry the moment its header is complete. It decompresses
//! gzip, zstd or plain tar by push (no reader to block on, no thread, no clock), skips file
//! contents without holding them, and can hand over one chosen file's bytes on the way. Its
//! memory stays flat whatever the layer's size: a 32 KiB output window for gzip, one block plus
//! the frame's window for zstd, one 512-byte header for tar.
//!
//! ```text
//! let mut reader = LayerReader::new(Compression::of_layer(&descriptor.media_type)?, None);
//! for each chunk: reader.feed(&chunk, &mut |event| match event {
//!     Event::Entry(entry) => { tree.apply(layer_index, &entry)?; show(entry) }
//!     Event::Content(bytes) | Event::ContentEnd { .. } => { /* the captured file */ }
//! })?;
//! reader.finish(&mut on_event)?;
//! ```
//!
//! A [`MergedTree`] applies the entries of layers in order, oldest first, with the OCI whiteout
//! rules, and answers the questions of a layer explorer: which layer last wrote each path, the
//! size of each directory, what a layer added, changed and deleted, and the space wasted on
//! files a later layer replaced or removed.
//!
//! [`LayerTree`] (one layer, deletions included) and [`MergedTree`] both answer a file
//! browser's [`View`] with the [`Rows`] of the directories it has open, or of a path search.

mod browse;
mod entry;
mod merge;
mod tar;
mod zstd;

pub use browse::{LayerTree, Row, Rows, View};
pub use entry::{format_mtime, mode_string, normalize, Entry, EntryKind};
pub use merge::{Change, ChangeKind, ImageSummary, LayerSummary, MergeError, MergedEntry, MergedTree, Node};
pub use tar::{Capture, TarError};
pub use zstd::ZstdError;

use crate::media_type::Compression;
use flate2::write::GzDecoder;
use std::io::Write;
use tar::TarParser;
use zstd::ZstdPush;

/// Plain tar is handed to the parser in pieces this size so a captured file's bytes reach the
/// caller in bounded events, as the decompressors' output does.
const PLAIN_PIECE: usize = 32 * 1024;

/// What a [`LayerReader`] reports, in archive order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A header is complete. Whiteouts arrive as [`EntryKind::Whiteout`] / [`EntryKind::Opaque`].
    Entry(Entry),
    /// The next bytes of the captured file (right after its `Entry`), at most 32 KiB each.
    Content(Vec<u8>),
    /// The captured file is over; `truncated` when [`Capture::limit`] cut it short.
    ContentEnd { truncated: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayerError {
    #[error(transparent)]
    Tar(#[from] TarError),
    #[error(transparent)]
    Zstd(#[from] ZstdError),
    #[error("gzip: {0}")]
    Gzip(String),
    #[error("the {0} stream ends before its end: the layer is truncated")]
    Truncated(&'static str),
}

enum Codec {
    Plain,
    /// One gzip member at a time (layers may concatenate several); output lands in the `Vec`
    /// and goes straight on to the tar parser, one 32 KiB decoder buffer at a time.
    Gzip(Box<GzDecoder<Vec<u8>>>),
    Zstd(Box<ZstdPush>),
}

/// Lists one layer blob fed in pieces. See the module documentation for the calling pattern.
pub struct LayerReader {
    codec: Codec,
    tar: TarParser,
    compression: Compression,
    compressed: u64,
    /// The tar ended and its compressed stream is complete: later bytes are padding to ignore.
    done: bool,
}

fn emit(tar: &mut TarParser, on_event: &mut dyn FnMut(Event)) {
    for e in tar.events.drain(..) {
        on_event(e);
    }
}

impl LayerReader {
    /// `capture` names one regular file whose contents to hand over as [`Event::Content`].
    pub fn new(compression: Compression, capture: Option<Capture>) -> LayerReader {
        let codec = match compression {
            Compression::None => Codec::Plain,
            Compression::Gzip => Codec::Gzip(Box::new(GzDecoder::new(Vec::new()))),
            Compression::Zstd => Codec::Zstd(Box::new(ZstdPush::new())),
        };
        LayerReader { codec, tar: TarParser::new(capture), compression, compressed: 0, done: false }
    }

    /// Blob bytes fed so far.
    pub fn compressed_bytes(&self) -> u64 {
        self.compressed
    }

    /// Tar bytes decoded so far (the layer's `uncompressed_size` once finished).
    pub fn tar_bytes(&self) -> u64 {
        self.tar.position()
    }

    /// Feeds the next piece of the blob; every event it completes goes to `on_event` before
    /// this returns. After an error the reader is spent: every later call fails the same way.
    pub fn feed(&mut self, bytes: &[u8], on_event: &mut dyn FnMut(Event)) -> Result<(), LayerError> {
        self.compressed += bytes.len() as u64;
        if self.done {
            return self.tar.finish().map_err(LayerError::from);
        }
        match &mut self.codec {
            Codec::Plain => {
                for piece in bytes.chunks(PLAIN_PIECE) {
                    let pushed = self.tar.push(piece);
                    emit(&mut self.tar, on_event);
                    pushed?;
                }
                Ok(())
            }
            Codec::Gzip(_) => {
                let mut rest = bytes;
                while !rest.is_empty() && !self.done {
                    let n = self.gzip_write(rest, on_event)?;
                    if n == 0 {
                        self.member_done(on_event)?;
                    }
                    rest = &rest[n..];
                }
                Ok(())
            }
            Codec::Zstd(push) => {
                let tar = &mut self.tar;
                let mut failure = None;
                let decoded = push.push(bytes, &mut |piece| {
                    if failure.is_none() {
                        if let Err(e) = tar.push(piece) {
                            failure = Some(e);
                        }
                    }
                    emit(tar, on_event);
                    failure.is_none() && !tar.ended()
                });
                if let Some(e) = failure {
                    return Err(e.into());
                }
                decoded?;
                Ok(())
            }
        }
    }

    /// One write into the gzip decoder; what it decoded (a buffer or so) is parsed at once.
    fn gzip_write(&mut self, bytes: &[u8], on_event: &mut dyn FnMut(Event)) -> Result<usize, LayerError> {
        let Codec::Gzip(decoder) = &mut self.codec else { unreachable!("called for gzip only") };
        let written = decoder.write(bytes);
        let pushed = self.tar.push(decoder.get_ref());
        decoder.get_mut().clear();
        emit(&mut self.tar, on_event);
        pushed?;
        written.map_err(|e| LayerError::Gzip(e.to_string()))
    }

    /// A gzip member ended with input left: check its trailer, then either start the next
    /// member or, when the tar is over, ignore the rest.
    fn member_done(&mut self, on_event: &mut dyn FnMut(Event)) -> Result<(), LayerError> {
        let Codec::Gzip(decoder) = &mut self.codec else { unreachable!("only gzip has members") };
        let finished = std::mem::replace(decoder, Box::new(GzDecoder::new(Vec::new())));
        let tail = finished.finish().map_err(|e| LayerError::Gzip(e.to_string()))?;
        let pushed = self.tar.push(&tail);
        emit(&mut self.tar, on_event);
        pushed?;
        self.done = self.tar.ended();
        Ok(())
    }

    /// The blob is complete: flushes the decompressor, checks its trailer (gzip CRC and
    /// length, zstd checksum) and that the tar did not stop mid-entry.
    pub fn finish(&mut self, on_event: &mut dyn FnMut(Event)) -> Result<(), LayerError> {
        if !self.done {
            match &mut self.codec {
                Codec::Plain => {}
                Codec::Gzip(decoder) => {
                    let flushed = decoder.try_finish();
                    let pushed = self.tar.push(decoder.get_ref());
                    decoder.get_mut().clear();
                    emit(&mut self.tar, on_event);
                    pushed?;
                    // flate2 says "checksum" both for a wrong CRC and for a missing trailer.
                    flushed.map_err(|e| {
                        if self.tar.ended() || self.compressed == 0 {
                            LayerError::Gzip(format!("the stream is truncated or corrupt ({e})"))
                        } else {
                            LayerError::Truncated(self.compression.as_str())
                        }
                    })?;
                }
                Codec::Zstd(push) => {
                    if !push.at_boundary() || self.compressed == 0 {
                        return Err(LayerError::Truncated(self.compression.as_str()));
                    }
                }
            }
            self.done = true;
        }
        self.tar.finish().map_err(LayerError::from)
    }
}

#[cfg(test)]
mod tests;
