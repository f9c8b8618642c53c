//! The frame decoder against arbitrary bytes: it returns frames or typed
//! errors, never panics, and never reads past what a frame announces.
#![cfg(all(unix, feature = "process"))]

use isolate_core::process::frame::{Frame, FrameError, FrameReader, Hello, Ids};
use proptest::prelude::*;

const MAX: u32 = 1 << 16;

fn frame() -> impl Strategy<Value = OwnedFrame> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        (
            any::<u16>(),
            any::<u32>(),
            any::<(u64, u64)>(),
            "\\PC{0,40}",
            "\\PC{0,40}"
        )
            .prop_map(|(v, m, f, i, p)| OwnedFrame::Hello(v, m, f, i, p)),
        bytes().prop_map(OwnedFrame::Init),
        bytes().prop_map(OwnedFrame::Ready),
        (
            any::<u64>(),
            bytes(),
            proptest::collection::vec(any::<u64>(), 0..4)
        )
            .prop_map(|(port, body, ids)| OwnedFrame::Message(
                port,
                body,
                ids.iter().flat_map(|id| id.to_le_bytes()).collect()
            )),
        any::<u64>().prop_map(OwnedFrame::Drop),
        any::<u64>().prop_map(OwnedFrame::Closed),
        any::<u64>().prop_map(OwnedFrame::Ping),
        any::<u64>().prop_map(OwnedFrame::Pong),
        (any::<u8>(), "\\PC{0,40}").prop_map(|(code, text)| OwnedFrame::Error(code, text)),
        Just(OwnedFrame::Shutdown),
        any::<(u64, u64)>().prop_map(|(port, bytes)| OwnedFrame::Credit(port, bytes)),
    ]
}

/// A frame that owns its fields, for the strategy.
#[derive(Debug, Clone)]
enum OwnedFrame {
    Hello(u16, u32, (u64, u64), String, String),
    Init(Vec<u8>),
    Ready(Vec<u8>),
    Message(u64, Vec<u8>, Vec<u8>),
    Drop(u64),
    Closed(u64),
    Ping(u64),
    Pong(u64),
    Error(u8, String),
    Shutdown,
    Credit(u64, u64),
}

impl OwnedFrame {
    fn as_frame(&self) -> Frame<'_> {
        match self {
            OwnedFrame::Hello(version, max_frame, fingerprints, init_type, port_type) => {
                Frame::Hello(Hello {
                    version: *version,
                    max_frame: *max_frame,
                    init_fingerprint: fingerprints.0,
                    port_fingerprint: fingerprints.1,
                    init_type,
                    port_type,
                })
            }
            OwnedFrame::Init(body) => Frame::Init(body),
            OwnedFrame::Ready(body) => Frame::Ready(body),
            OwnedFrame::Message(port, body, ids) => Frame::Message {
                port: *port,
                body,
                exports: Ids::from_bytes(ids).unwrap(),
            },
            OwnedFrame::Drop(port) => Frame::Drop { port: *port },
            OwnedFrame::Closed(port) => Frame::Closed { port: *port },
            OwnedFrame::Ping(id) => Frame::Ping(*id),
            OwnedFrame::Pong(id) => Frame::Pong(*id),
            OwnedFrame::Error(code, text) => Frame::Error { code: *code, text },
            OwnedFrame::Shutdown => Frame::Shutdown,
            OwnedFrame::Credit(port, bytes) => Frame::Credit {
                port: *port,
                bytes: *bytes,
            },
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_frame_decodes_to_itself(frames in proptest::collection::vec(frame(), 1..8)) {
        let mut bytes = Vec::new();
        for frame in &frames {
            frame.as_frame().encode(&mut bytes);
        }
        let mut reader = FrameReader::new(&bytes[..], MAX);
        for frame in &frames {
            prop_assert_eq!(reader.next_frame().unwrap(), Some(frame.as_frame()));
        }
        prop_assert_eq!(reader.next_frame().unwrap(), None);
    }

    #[test]
    fn arbitrary_bytes_are_frames_or_errors(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Frame::decode(&bytes);
        let mut reader = FrameReader::new(&bytes[..], MAX);
        for _ in 0..bytes.len() + 1 {
            match reader.next_frame() {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }

    #[test]
    fn a_cut_frame_is_truncated(frame in frame(), cut in any::<prop::sample::Index>()) {
        let mut bytes = Vec::new();
        frame.as_frame().encode(&mut bytes);
        let cut = 1 + cut.index(bytes.len() - 1);
        let mut reader = FrameReader::new(&bytes[..cut], MAX);
        prop_assert!(matches!(reader.next_frame(), Err(FrameError::Truncated)));
    }

    #[test]
    fn a_flipped_byte_never_panics(frame in frame(), at in any::<prop::sample::Index>(), to in any::<u8>()) {
        let mut bytes = Vec::new();
        frame.as_frame().encode(&mut bytes);
        let at = at.index(bytes.len());
        bytes[at] = to;
        let mut reader = FrameReader::new(&bytes[..], MAX);
        let _ = reader.next_frame();
    }
}

#[test]
fn a_frame_over_the_maximum_is_refused_before_it_is_read() {
    // Announces 4 GiB and sends none of it: refused, nothing allocated.
    let bytes = u32::MAX.to_le_bytes();
    let mut reader = FrameReader::new(&bytes[..], MAX);
    let error = reader.next_frame().unwrap_err();
    assert!(matches!(
        error,
        FrameError::TooLarge {
            len: 0xffff_ffff,
            max: MAX
        }
    ));
    assert!(error.to_string().contains("max_frame"), "{error}");
}

#[test]
fn a_greeting_without_the_magic_is_not_an_isolate() {
    let mut bytes = Vec::new();
    Frame::Hello(Hello {
        version: 1,
        max_frame: 1,
        init_fingerprint: 2,
        port_fingerprint: 3,
        init_type: "A",
        port_type: "B",
    })
    .encode(&mut bytes);
    bytes[5] = b'X';
    assert!(matches!(
        Frame::decode(&bytes[4..]),
        Err(FrameError::NotAnIsolate)
    ));
}

#[test]
fn unknown_kinds_and_trailing_bytes_are_refused() {
    assert!(matches!(
        Frame::decode(&[200]),
        Err(FrameError::UnknownKind(200))
    ));
    assert!(matches!(Frame::decode(&[]), Err(FrameError::Truncated)));
    let mut bytes = Vec::new();
    Frame::Ping(1).encode(&mut bytes);
    bytes.push(0);
    assert!(matches!(
        Frame::decode(&bytes[4..]),
        Err(FrameError::Malformed(_))
    ));
}

#[test]
fn a_message_listing_more_ports_than_the_bound_is_refused() {
    use isolate_core::process::frame::MAX_PORTS_PER_MESSAGE;
    // Each listed port would cost the receiver a release frame if unused:
    // the bound keeps one frame from causing a million.
    let ids = |count: usize| -> Vec<u8> { (0..count as u64).flat_map(u64::to_le_bytes).collect() };
    for (count, accepted) in [
        (MAX_PORTS_PER_MESSAGE, true),
        (MAX_PORTS_PER_MESSAGE + 1, false),
    ] {
        let listed = ids(count);
        let mut bytes = Vec::new();
        Frame::Message {
            port: 1,
            body: &[7],
            exports: Ids::from_bytes(&listed).unwrap(),
        }
        .encode(&mut bytes);
        let decoded = Frame::decode(&bytes[4..]);
        assert_eq!(decoded.is_ok(), accepted, "{count} ports: {decoded:?}");
    }
}
