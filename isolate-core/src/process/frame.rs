//! The wire format between two isolate groups in different processes:
//! length-prefixed frames, decoded without trusting a byte.
//!
//! A frame is a little-endian `u32` length, then that many bytes: a one-byte
//! kind and the kind's fields. Message bodies are [postcard]; everything
//! around them is fixed-width, so that the decoder is small enough to read
//! in one sitting and to fuzz (`fuzz/fuzz_targets/frame.rs`).
//!
//! The decoder never panics and never allocates more than the frame's
//! announced length, which is checked against a maximum first; a reader that
//! announces a huge frame and sends nothing costs one small buffer.
//!
//! [postcard]: https://docs.rs/postcard

use std::fmt;
use std::io::{self, Read};

/// The protocol version in every [`Frame::Hello`]. Two processes speak to
/// each other only when their versions are equal.
pub const PROTOCOL_VERSION: u16 = 3;

/// The first bytes of every `Hello`, so that a program that is not an
/// isolate group (or a stray connection) is told apart from a version skew.
pub const MAGIC: [u8; 4] = *b"ISLT";

/// The most ports and reply senders one message may carry. Each one that
/// is not used must be released with a frame of its own, so a bound here
/// bounds the work one incoming frame can cause.
pub const MAX_PORTS_PER_MESSAGE: usize = 4096;

/// The largest frame a process accepts unless told otherwise: 64 MiB.
pub const DEFAULT_MAX_FRAME: u32 = 64 << 20;

/// The length prefix.
const LEN: usize = 4;

/// One frame, borrowing its variable-length fields from the buffer it was
/// decoded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// The first frame each side sends: who it is and what it speaks.
    Hello(Hello<'a>),
    /// The parent's initial message to the child's entry function.
    Init(&'a [u8]),
    /// The child's answer to `Init`: what its entry function returned.
    Ready(&'a [u8]),
    /// A message for the port the receiver exported as `port`.
    Message {
        /// The receiver's id for the port.
        port: u64,
        /// The message, postcard-encoded.
        body: &'a [u8],
        /// The ports and reply senders the sender exported into `body`: a
        /// receiver that cannot deliver the message releases them without
        /// decoding it, so that no ask waits on an answer that cannot come.
        exports: Ids<'a>,
    },
    /// The sender holds no more references to the receiver's port `port`.
    Drop {
        /// The receiver's id for the port.
        port: u64,
    },
    /// The receiver's port `port`, which the sender exported, has closed:
    /// its isolate ended or its `ReceivePort` was dropped.
    Closed {
        /// The sender's id for the port.
        port: u64,
    },
    /// A liveness probe, answered with a `Pong` of the same id.
    Ping(u64),
    /// The answer to a `Ping`.
    Pong(u64),
    /// An error the sender reports to the receiver's error listeners.
    Error {
        /// What kind of error (see `ErrorCode`).
        code: u8,
        /// What happened, in words.
        text: &'a str,
    },
    /// The parent asks the child to end.
    Shutdown,
    /// The receiver has taken `bytes` bytes of messages for its port
    /// `port` (delivered them, or dropped them): the sender may send that
    /// many more. See [`WINDOW`].
    Credit {
        /// The receiver's id for the port.
        port: u64,
        /// How many bytes of `Message` frames, length prefixes included.
        bytes: u64,
    },
}

/// How many bytes of messages to one imported port may be on their way (sent
/// and not yet taken by the receiver) before its senders wait, as they wait
/// for room in a full bounded mailbox. A message goes whenever less than
/// this is on its way, so one larger than the window still goes, alone.
pub const WINDOW: u64 = 4 << 20;

/// The receiver returns credit once it has taken this many bytes for one
/// port: one `Credit` frame per quarter of the window, so a stream of small
/// messages costs one more small frame per megabyte.
pub const GRANT: u64 = WINDOW / 4;

/// Export ids in a frame, as little-endian `u64`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids<'a>(&'a [u8]);

impl<'a> Ids<'a> {
    /// No ids.
    pub const NONE: Ids<'static> = Ids(&[]);

    /// Ids from their encoding: `None` unless `bytes` holds whole `u64`s.
    pub fn from_bytes(bytes: &'a [u8]) -> Option<Self> {
        bytes.len().is_multiple_of(8).then_some(Ids(bytes))
    }

    /// How many ids.
    pub fn len(&self) -> usize {
        self.0.len() / 8
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ids, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = u64> + 'a {
        self.0.chunks_exact(8).map(|chunk| {
            let mut id = [0; 8];
            id.copy_from_slice(chunk);
            u64::from_le_bytes(id)
        })
    }
}

/// The contents of a [`Frame::Hello`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello<'a> {
    /// [`PROTOCOL_VERSION`] of the sender.
    pub version: u16,
    /// The largest frame the receiver may send to the sender.
    pub max_frame: u32,
    /// The [fingerprint](crate::transport::fingerprint) of the initial
    /// message's type.
    pub init_fingerprint: u64,
    /// The fingerprint of the type the child's entry function returns.
    pub port_fingerprint: u64,
    /// The type of the initial message, as the sender names it (for an
    /// error message: the fingerprint is what must match).
    pub init_type: &'a str,
    /// The type the child's entry function returns, as the sender names it.
    pub port_type: &'a str,
}

/// Why bytes are not a frame. Every bad input ends here: the decoder has no
/// other way out.
#[derive(Debug)]
#[non_exhaustive]
pub enum FrameError {
    /// The length prefix announces more than the receiver accepts.
    TooLarge {
        /// The announced length.
        len: u64,
        /// The receiver's maximum.
        max: u32,
    },
    /// The stream or the buffer ended inside a frame.
    Truncated,
    /// The kind byte names no frame.
    UnknownKind(u8),
    /// A `Hello` without the magic bytes: the peer is not an isolate group.
    NotAnIsolate,
    /// The fields do not fit the kind: what was wrong.
    Malformed(&'static str),
    /// Reading the stream failed.
    Io(io::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { len, max } => write!(
                f,
                "a frame of {len} bytes is larger than the {max} bytes this process accepts: \
                 send smaller messages, or raise the limit with `ProcessOptions::max_frame`"
            ),
            FrameError::Truncated => f.write_str("the connection ended inside a frame"),
            FrameError::UnknownKind(kind) => write!(
                f,
                "unknown frame kind {kind}: the peer speaks another protocol (is it built \
                 with the same isolate-core?)"
            ),
            FrameError::NotAnIsolate => f.write_str(
                "the peer did not greet as an isolate group: is the program calling \
                 `isolate_core::process::serve`?",
            ),
            FrameError::Malformed(what) => write!(f, "malformed frame: {what}"),
            FrameError::Io(error) => write!(f, "reading a frame failed: {error}"),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FrameError::Io(error) => Some(error),
            _ => None,
        }
    }
}

mod kind {
    pub(super) const HELLO: u8 = 0;
    pub(super) const INIT: u8 = 1;
    pub(super) const READY: u8 = 2;
    pub(super) const MESSAGE: u8 = 3;
    pub(super) const DROP: u8 = 4;
    pub(super) const PING: u8 = 5;
    pub(super) const PONG: u8 = 6;
    pub(super) const ERROR: u8 = 7;
    pub(super) const SHUTDOWN: u8 = 8;
    pub(super) const CLOSED: u8 = 9;
    pub(super) const CREDIT: u8 = 10;
}

impl<'a> Frame<'a> {
    /// Decodes one frame's contents (the bytes after the length prefix).
    ///
    /// # Errors
    ///
    /// A [`FrameError`] for any input that is not exactly one frame; never
    /// panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate_core::process::frame::Frame;
    ///
    /// let mut bytes = Vec::new();
    /// Frame::Ping(7).encode(&mut bytes);
    /// assert_eq!(Frame::decode(&bytes[4..]).unwrap(), Frame::Ping(7));
    /// assert!(Frame::decode(&[200]).is_err());
    /// ```
    pub fn decode(bytes: &'a [u8]) -> Result<Frame<'a>, FrameError> {
        let mut input = Input(bytes);
        let frame = match input.u8()? {
            kind::HELLO => {
                if input.take(MAGIC.len())? != MAGIC {
                    return Err(FrameError::NotAnIsolate);
                }
                Frame::Hello(Hello {
                    version: u16::from_le_bytes(input.array()?),
                    max_frame: u32::from_le_bytes(input.array()?),
                    init_fingerprint: input.u64()?,
                    port_fingerprint: input.u64()?,
                    init_type: input.str()?,
                    port_type: input.str()?,
                })
            }
            kind::INIT => Frame::Init(input.rest()),
            kind::READY => Frame::Ready(input.rest()),
            kind::MESSAGE => {
                let port = input.u64()?;
                // The body, then the ids, then their count: the ids are
                // known only once the body is encoded.
                let rest = input.rest();
                let Some(split) = rest.len().checked_sub(4) else {
                    return Err(FrameError::Truncated);
                };
                let (rest, count) = rest.split_at(split);
                let count = u32::from_le_bytes([count[0], count[1], count[2], count[3]]) as usize;
                if count > MAX_PORTS_PER_MESSAGE {
                    return Err(FrameError::Malformed(
                        "more ports in one message than MAX_PORTS_PER_MESSAGE",
                    ));
                }
                let ids_len = count
                    .checked_mul(8)
                    .filter(|&len| len <= rest.len())
                    .ok_or(FrameError::Malformed("more ids than bytes"))?;
                let (body, ids) = rest.split_at(rest.len() - ids_len);
                Frame::Message {
                    port,
                    body,
                    exports: Ids(ids),
                }
            }
            kind::DROP => Frame::Drop { port: input.u64()? },
            kind::CLOSED => Frame::Closed { port: input.u64()? },
            kind::PING => Frame::Ping(input.u64()?),
            kind::PONG => Frame::Pong(input.u64()?),
            kind::ERROR => Frame::Error {
                code: input.u8()?,
                text: std::str::from_utf8(input.rest())
                    .map_err(|_| FrameError::Malformed("error text is not UTF-8"))?,
            },
            kind::SHUTDOWN => Frame::Shutdown,
            kind::CREDIT => Frame::Credit {
                port: input.u64()?,
                bytes: input.u64()?,
            },
            other => return Err(FrameError::UnknownKind(other)),
        };
        if !input.0.is_empty() {
            return Err(FrameError::Malformed("bytes after the end of the frame"));
        }
        Ok(frame)
    }

    /// Appends the frame, length prefix included, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = begin(out);
        match self {
            Frame::Hello(hello) => {
                out.push(kind::HELLO);
                out.extend_from_slice(&MAGIC);
                out.extend_from_slice(&hello.version.to_le_bytes());
                out.extend_from_slice(&hello.max_frame.to_le_bytes());
                out.extend_from_slice(&hello.init_fingerprint.to_le_bytes());
                out.extend_from_slice(&hello.port_fingerprint.to_le_bytes());
                put_str(out, hello.init_type);
                put_str(out, hello.port_type);
            }
            Frame::Init(body) => {
                out.push(kind::INIT);
                out.extend_from_slice(body);
            }
            Frame::Ready(body) => {
                out.push(kind::READY);
                out.extend_from_slice(body);
            }
            Frame::Message {
                port,
                body,
                exports,
            } => {
                out.push(kind::MESSAGE);
                out.extend_from_slice(&port.to_le_bytes());
                out.extend_from_slice(body);
                end_message(out, exports.iter());
            }
            Frame::Drop { port } => {
                out.push(kind::DROP);
                out.extend_from_slice(&port.to_le_bytes());
            }
            Frame::Closed { port } => {
                out.push(kind::CLOSED);
                out.extend_from_slice(&port.to_le_bytes());
            }
            Frame::Ping(id) => {
                out.push(kind::PING);
                out.extend_from_slice(&id.to_le_bytes());
            }
            Frame::Pong(id) => {
                out.push(kind::PONG);
                out.extend_from_slice(&id.to_le_bytes());
            }
            Frame::Error { code, text } => {
                out.push(kind::ERROR);
                out.push(*code);
                out.extend_from_slice(text.as_bytes());
            }
            Frame::Shutdown => out.push(kind::SHUTDOWN),
            Frame::Credit { port, bytes } => {
                out.push(kind::CREDIT);
                out.extend_from_slice(&port.to_le_bytes());
                out.extend_from_slice(&bytes.to_le_bytes());
            }
        }
        finish(out, start);
    }
}

/// Reserves the length prefix of a frame that starts at the end of `out`.
pub(crate) fn begin(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; LEN]);
    start
}

/// Starts a `Message` frame whose body the caller appends, then
/// [`finish`]es.
pub(crate) fn begin_message(out: &mut Vec<u8>, port: u64) -> usize {
    let start = begin(out);
    out.push(kind::MESSAGE);
    out.extend_from_slice(&port.to_le_bytes());
    start
}

/// Ends a `Message` frame's body with the ids exported into it (then
/// [`finish`] it).
pub(crate) fn end_message(out: &mut Vec<u8>, ids: impl ExactSizeIterator<Item = u64>) {
    let count = u32::try_from(ids.len()).unwrap_or(u32::MAX);
    for id in ids {
        out.extend_from_slice(&id.to_le_bytes());
    }
    out.extend_from_slice(&count.to_le_bytes());
}

/// As [`begin_message`], for `Init` and `Ready`.
pub(crate) fn begin_body(out: &mut Vec<u8>, ready: bool) -> usize {
    let start = begin(out);
    out.push(if ready { kind::READY } else { kind::INIT });
    start
}

/// Writes the length of the frame that starts at `start`. A frame longer
/// than `u32::MAX` gets a length the receiver refuses (its maximum is lower).
pub(crate) fn finish(out: &mut [u8], start: usize) {
    let len = u32::try_from(out.len() - start - LEN).unwrap_or(u32::MAX);
    out[start..start + LEN].copy_from_slice(&len.to_le_bytes());
}

/// The bytes a `Message` frame with `body` and `exports` takes on the wire,
/// length prefix included: what it costs of its port's [`WINDOW`], which
/// the sender counts as the length of what it encoded.
pub(crate) fn message_cost(body: &[u8], exports: Ids<'_>) -> u64 {
    (LEN + 1 + 8 + body.len() + exports.0.len() + 4) as u64
}

/// The length of the frame that starts at `start`, as [`finish`] wrote it.
pub(crate) fn len_of(out: &[u8], start: usize) -> usize {
    out.len() - start - LEN
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    // Type names are short; a longer one is cut at a character boundary
    // rather than turned into a frame the peer refuses.
    let mut end = text.len().min(u16::MAX as usize);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    out.extend_from_slice(&(end as u16).to_le_bytes());
    out.extend_from_slice(&text.as_bytes()[..end]);
}

/// A cursor over a frame's bytes whose every read is checked.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if self.0.len() < n {
            return Err(FrameError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FrameError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.array::<1>()?[0])
    }

    fn u64(&mut self) -> Result<u64, FrameError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn str(&mut self) -> Result<&'a str, FrameError> {
        let len = u16::from_le_bytes(self.array()?) as usize;
        std::str::from_utf8(self.take(len)?)
            .map_err(|_| FrameError::Malformed("a name is not UTF-8"))
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

/// Reads frames from a stream, one buffer reused for all of them.
///
/// # Examples
///
/// ```
/// use isolate_core::process::frame::{Frame, FrameReader};
///
/// let mut bytes = Vec::new();
/// Frame::Ping(1).encode(&mut bytes);
/// Frame::Shutdown.encode(&mut bytes);
/// let mut reader = FrameReader::new(&bytes[..], 1024);
/// assert_eq!(reader.next_frame().unwrap(), Some(Frame::Ping(1)));
/// assert_eq!(reader.next_frame().unwrap(), Some(Frame::Shutdown));
/// assert_eq!(reader.next_frame().unwrap(), None); // a clean end
/// ```
pub struct FrameReader<R> {
    stream: R,
    max: u32,
    buffer: Vec<u8>,
}

impl<R: Read> FrameReader<R> {
    /// Reads from `stream`, refusing frames longer than `max` bytes.
    pub fn new(stream: R, max: u32) -> Self {
        FrameReader {
            stream,
            max,
            buffer: Vec::new(),
        }
    }

    /// Changes the largest frame accepted from now on.
    pub fn set_max(&mut self, max: u32) {
        self.max = max;
    }

    /// The next frame, or `None` when the stream ends between frames.
    ///
    /// # Errors
    ///
    /// [`FrameError::Truncated`] when the stream ends inside a frame, and
    /// every error of [`Frame::decode`].
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, FrameError> {
        let mut prefix = [0; LEN];
        let mut got = 0;
        while got < LEN {
            match self.stream.read(&mut prefix[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(FrameError::Truncated),
                Ok(n) => got += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(FrameError::Io(error)),
            }
        }
        let len = u32::from_le_bytes(prefix);
        if len > self.max {
            return Err(FrameError::TooLarge {
                len: len.into(),
                max: self.max,
            });
        }
        self.buffer.clear();
        // Grows with what arrives, so a length that lies costs nothing.
        let read = (&mut self.stream)
            .take(len.into())
            .read_to_end(&mut self.buffer)
            .map_err(FrameError::Io)?;
        if read < len as usize {
            return Err(FrameError::Truncated);
        }
        Frame::decode(&self.buffer).map(Some)
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> &R {
        &self.stream
    }
}

impl<R> fmt::Debug for FrameReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameReader")
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The receiver credits what the sender counted: the length of the
    /// whole encoded frame.
    #[test]
    fn a_message_costs_its_encoded_length() {
        let ids: Vec<u8> = [3u64, 9].iter().flat_map(|id| id.to_le_bytes()).collect();
        for (body, exports) in [
            (&b""[..], Ids::NONE),
            (&b"hello"[..], Ids::from_bytes(&ids).unwrap()),
        ] {
            let mut bytes = Vec::new();
            Frame::Message {
                port: 7,
                body,
                exports,
            }
            .encode(&mut bytes);
            assert_eq!(message_cost(body, exports), bytes.len() as u64);
        }
    }

    #[test]
    fn credit_round_trips() {
        let mut bytes = Vec::new();
        let credit = Frame::Credit {
            port: 5,
            bytes: GRANT,
        };
        credit.encode(&mut bytes);
        assert_eq!(Frame::decode(&bytes[LEN..]).unwrap(), credit);
        assert!(Frame::decode(&bytes[LEN..bytes.len() - 1]).is_err());
    }
}
