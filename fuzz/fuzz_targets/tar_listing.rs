//! Arbitrary bytes as a layer blob, in every compression and cut into pieces the input chooses:
//! the reader must never panic or grow without bound, and the merged tree must accept whatever
//! entries come out.
#![no_main]

use imagescope_core::layers::{Capture, Event, LayerReader, MergedTree};
use imagescope_core::media_type::Compression;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&control, blob)) = data.split_first() else { return };
    let compression = [Compression::None, Compression::Gzip, Compression::Zstd][usize::from(control % 3)];
    let piece = 1 + usize::from(control / 3) * 7;
    let capture = Capture { path: "a".to_string(), limit: Some(64) };
    let mut reader = LayerReader::new(compression, Some(capture));
    let mut tree = MergedTree::new();
    let mut on_event = |event: Event| {
        if let Event::Entry(entry) = event {
            let _ = entry.tar_line();
            tree.apply(0, &entry).expect("one layer is always in order");
        }
    };
    for chunk in blob.chunks(piece) {
        if reader.feed(chunk, &mut on_event).is_err() {
            return;
        }
    }
    let _ = reader.finish(&mut on_event);
    let summary = tree.summary();
    assert!(summary.wasted_bytes <= summary.file_bytes);
    let _ = tree.search("a", 16);
});
