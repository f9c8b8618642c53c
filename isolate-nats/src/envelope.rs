//! What a NATS message between two members holds: a small fixed header,
//! then a body in isolate-core's codec (postcard).
//!
//! `spawn_uri`'s frames carry a length prefix, port ids and export ids,
//! because they share one byte stream and count references across it.
//! NATS already gives each message its bounds, its address (the subject)
//! and its way back (the reply subject), so the envelope only says what
//! the message is and what type its body holds:
//!
//! ```text
//! "IS" version kind  fields
//!  2     1      1    Tell, Ask: fingerprint (u64, little-endian), body
//!                    Probe, Alive: nothing
//!                    Answer: body
//!                    Failed: code (u8), text (UTF-8)
//! ```
//!
//! Decoding never panics and never allocates: every field is checked
//! against the bytes that are there.

use std::fmt;

/// The first bytes of every envelope.
const MAGIC: [u8; 2] = *b"IS";

/// The envelope's version. Two members speak only when theirs are equal.
pub(crate) const VERSION: u8 = 1;

const HEADER: usize = MAGIC.len() + 2;

/// One message between members, borrowing its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Envelope<'a> {
    /// A message for a port, with no answer expected.
    Tell { fingerprint: u64, body: &'a [u8] },
    /// A message for a port that carries a `ReplySender`: the answer goes
    /// to the NATS reply subject.
    Ask { fingerprint: u64, body: &'a [u8] },
    /// Is anybody serving this port? Answered `Alive`, or `Failed` with
    /// `Code::Closed`.
    Probe,
    /// The answer to a `Probe`.
    Alive,
    /// The answer to an `Ask`.
    Answer(&'a [u8]),
    /// No answer will come to an `Ask` (or a `Probe`), and why.
    Failed { code: Code, text: &'a str },
}

/// Why an ask failed at the receiving member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// The handler dropped its `ReplySender`, or the message was dropped.
    Dropped = 0,
    /// The request could not be decoded there, or the answer encoded.
    Undeliverable = 1,
    /// The port's isolate has ended: nobody will read it.
    Closed = 2,
}

mod kind {
    pub(super) const TELL: u8 = 0;
    pub(super) const ASK: u8 = 1;
    pub(super) const PROBE: u8 = 2;
    pub(super) const ALIVE: u8 = 3;
    pub(super) const ANSWER: u8 = 4;
    pub(super) const FAILED: u8 = 5;
}

/// Why bytes are not an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnvelopeError {
    /// Not from a member of an isolate group (no magic bytes).
    NotAnIsolate,
    /// From a member that speaks another version.
    Version(u8),
    /// The kind byte names no message.
    UnknownKind(u8),
    /// The fields do not fit the kind.
    Malformed(&'static str),
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeError::NotAnIsolate => f.write_str(
                "a message that no isolate group sent (something else publishes on the \
                 group's subjects)",
            ),
            EnvelopeError::Version(version) => write!(
                f,
                "a message in envelope version {version}, and this member speaks {VERSION}: \
                 are all members built with the same isolate-nats?"
            ),
            EnvelopeError::UnknownKind(kind) => write!(f, "a message of unknown kind {kind}"),
            EnvelopeError::Malformed(what) => write!(f, "a malformed message: {what}"),
        }
    }
}

impl<'a> Envelope<'a> {
    /// Reads an envelope; never panics.
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<Self, EnvelopeError> {
        if bytes.len() < HEADER || bytes[..MAGIC.len()] != MAGIC {
            return Err(EnvelopeError::NotAnIsolate);
        }
        if bytes[2] != VERSION {
            return Err(EnvelopeError::Version(bytes[2]));
        }
        let rest = &bytes[HEADER..];
        let nothing = |envelope| {
            if rest.is_empty() {
                Ok(envelope)
            } else {
                Err(EnvelopeError::Malformed(
                    "bytes after the end of the message",
                ))
            }
        };
        match bytes[3] {
            kind @ (kind::TELL | kind::ASK) => {
                let Some((fingerprint, body)) = rest.split_first_chunk::<8>() else {
                    return Err(EnvelopeError::Malformed("no room for the fingerprint"));
                };
                let fingerprint = u64::from_le_bytes(*fingerprint);
                Ok(if kind == kind::TELL {
                    Envelope::Tell { fingerprint, body }
                } else {
                    Envelope::Ask { fingerprint, body }
                })
            }
            kind::PROBE => nothing(Envelope::Probe),
            kind::ALIVE => nothing(Envelope::Alive),
            kind::ANSWER => Ok(Envelope::Answer(rest)),
            kind::FAILED => {
                let Some((&code, text)) = rest.split_first() else {
                    return Err(EnvelopeError::Malformed("no failure code"));
                };
                let code = match code {
                    0 => Code::Dropped,
                    1 => Code::Undeliverable,
                    2 => Code::Closed,
                    _ => return Err(EnvelopeError::Malformed("unknown failure code")),
                };
                let text = std::str::from_utf8(text)
                    .map_err(|_| EnvelopeError::Malformed("failure text is not UTF-8"))?;
                Ok(Envelope::Failed { code, text })
            }
            other => Err(EnvelopeError::UnknownKind(other)),
        }
    }

    /// The header of a tell whose body is to be appended: the one buffer a
    /// message is written into (see `proxy.rs`).
    pub(crate) fn tell_header(fingerprint: u64, body_len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + 8 + body_len);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(kind::TELL);
        out.extend_from_slice(&fingerprint.to_le_bytes());
        out
    }

    /// Turns a tell written after [`tell_header`](Self::tell_header) into
    /// an ask.
    pub(crate) fn mark_ask(message: &mut [u8]) {
        message[3] = kind::ASK;
    }

    /// The envelope as bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let body_len = match self {
            Envelope::Tell { body, .. } | Envelope::Ask { body, .. } => 8 + body.len(),
            Envelope::Answer(body) => body.len(),
            Envelope::Failed { text, .. } => 1 + text.len(),
            Envelope::Probe | Envelope::Alive => 0,
        };
        let mut out = Vec::with_capacity(HEADER + body_len);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        match self {
            Envelope::Tell { fingerprint, body } | Envelope::Ask { fingerprint, body } => {
                out.push(if matches!(self, Envelope::Tell { .. }) {
                    kind::TELL
                } else {
                    kind::ASK
                });
                out.extend_from_slice(&fingerprint.to_le_bytes());
                out.extend_from_slice(body);
            }
            Envelope::Probe => out.push(kind::PROBE),
            Envelope::Alive => out.push(kind::ALIVE),
            Envelope::Answer(body) => {
                out.push(kind::ANSWER);
                out.extend_from_slice(body);
            }
            Envelope::Failed { code, text } => {
                out.push(kind::FAILED);
                out.push(*code as u8);
                out.extend_from_slice(text.as_bytes());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_survives_a_round_trip() {
        let all = [
            Envelope::Tell {
                fingerprint: 7,
                body: b"tell",
            },
            Envelope::Ask {
                fingerprint: u64::MAX,
                body: b"",
            },
            Envelope::Probe,
            Envelope::Alive,
            Envelope::Answer(b"42"),
            Envelope::Failed {
                code: Code::Closed,
                text: "gone",
            },
        ];
        for envelope in all {
            assert_eq!(Envelope::decode(&envelope.encode()), Ok(envelope));
        }
    }

    #[test]
    fn a_header_with_its_body_appended_is_a_tell_or_an_ask() {
        let mut message = Envelope::tell_header(9, 3);
        message.extend_from_slice(b"abc");
        assert_eq!(
            Envelope::decode(&message),
            Ok(Envelope::Tell {
                fingerprint: 9,
                body: b"abc"
            })
        );
        Envelope::mark_ask(&mut message);
        assert_eq!(
            Envelope::decode(&message),
            Ok(Envelope::Ask {
                fingerprint: 9,
                body: b"abc"
            })
        );
    }

    #[test]
    fn foreign_and_skewed_bytes_are_told_apart() {
        assert_eq!(Envelope::decode(b"hello"), Err(EnvelopeError::NotAnIsolate));
        assert_eq!(Envelope::decode(b"IS"), Err(EnvelopeError::NotAnIsolate));
        assert_eq!(
            Envelope::decode(&[b'I', b'S', 9, 0]),
            Err(EnvelopeError::Version(9))
        );
        assert_eq!(
            Envelope::decode(&[b'I', b'S', VERSION, 77]),
            Err(EnvelopeError::UnknownKind(77))
        );
        assert!(matches!(
            Envelope::decode(&[b'I', b'S', VERSION, kind::TELL, 1, 2]),
            Err(EnvelopeError::Malformed(_))
        ));
        assert!(matches!(
            Envelope::decode(&[b'I', b'S', VERSION, kind::FAILED, 9]),
            Err(EnvelopeError::Malformed(_))
        ));
        assert!(matches!(
            Envelope::decode(&[b'I', b'S', VERSION, kind::PROBE, 0]),
            Err(EnvelopeError::Malformed(_))
        ));
    }

    #[test]
    fn no_input_of_up_to_twelve_bytes_makes_the_decoder_panic() {
        // Every byte value in each position of a valid header, with every
        // short tail: the decoder answers each one with a value or an error.
        for kind in 0..=255u8 {
            for len in 0..=8usize {
                for fill in [0u8, 1, 2, 0xff] {
                    let mut bytes = vec![b'I', b'S', VERSION, kind];
                    bytes.extend(std::iter::repeat_n(fill, len));
                    let _ = Envelope::decode(&bytes);
                }
            }
        }
    }
}
