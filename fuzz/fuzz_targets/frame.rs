//! Arbitrary bytes from another process: the frame reader and decoder must
//! return frames or errors, never panic, and never allocate more than a
//! frame announces (within the maximum); a message body must decode to its
//! type or fail.
#![no_main]

use isolate_core::process::frame::{Frame, FrameReader};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

/// A message shaped like users' messages: numbers, text, bytes, nesting.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
enum Message {
    Add(u64),
    Text(String, Vec<u8>),
    Nested(Option<Box<Message>>, Vec<(i32, bool)>),
}

fuzz_target!(|data: &[u8]| {
    let _ = Frame::decode(data);
    let mut reader = FrameReader::new(data, 1 << 20);
    while let Ok(Some(frame)) = reader.next_frame() {
        if let Frame::Message { exports, .. } = frame {
            assert!(exports.iter().count() == exports.len());
        }
        if let Frame::Message { body, .. } | Frame::Init(body) | Frame::Ready(body) = frame {
            let _ = postcard::take_from_bytes::<Message>(body);
        }
    }
});
