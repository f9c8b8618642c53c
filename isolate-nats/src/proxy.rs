//! The sending side: a looked-up port, whose messages are encoded on the
//! sender's thread and queued for NATS.

use std::marker::PhantomData;
use std::sync::Arc;

use async_nats::Subject;
use isolate_core::transport::{self, Proxy, Room};
use isolate_core::{ReplyError, TrySendError};
use serde::Serialize;

use crate::NATS;
use crate::envelope::Envelope;
use crate::group::Inner;
use crate::link::{Again, Out, Waiting, Window};

/// A port of another member, as a `SendPort` here sees it.
pub(crate) struct RemotePort<T> {
    /// Keeps the connection (and its I/O thread) alive while the port is.
    pub(crate) inner: Arc<Inner>,
    pub(crate) subject: Subject,
    pub(crate) fingerprint: u64,
    /// Shared by the port's clones: one window per looked-up port.
    pub(crate) window: Arc<Window>,
    pub(crate) _message: PhantomData<fn(T)>,
}

// SAFETY: it reaches only the link (its queue to the I/O task, which carries
// encoded messages to NATS, and its error listeners) and the port's
// flow-control window, all synchronized and owned by this crate; no user
// value is inside.
unsafe impl<T: Serialize + Send + 'static> Proxy<T> for RemotePort<T> {
    fn send(&self, message: T) -> Result<(), TrySendError<T>> {
        let link = &self.inner.link;
        if link.is_closed() {
            return Err(TrySendError::Closed(message));
        }
        // Encoded here, on the sender's thread: an error is the sender's,
        // at once, and many senders encode in parallel. Written once, after
        // the envelope's header, in the buffer that is published.
        let head = Envelope::tell_header(self.fingerprint, 32);
        let encoded = match transport::encode_after(NATS, &message, head) {
            Ok(encoded) => encoded,
            Err(error) => {
                link.report(error.to_string());
                return Err(TrySendError::Undeliverable(message));
            }
        };
        // A tell waits for credit when the window is full. An ask never
        // does (it takes its credit regardless): deferred, it would go out
        // after tells sent later, and its own timeout bounds it anyway.
        if encoded.is_ask() {
            self.window.take_anyway();
        } else if !self.window.take() {
            return Err(TrySendError::Full(message));
        }
        let (mut payload, pending) = encoded.into_parts();
        if pending.is_some() {
            Envelope::mark_ask(&mut payload);
        }
        let max = link.client.max_payload();
        if payload.len() > max {
            self.window.release(1);
            link.report(format!(
                "a `{}` of {} bytes is larger than the {max} bytes the NATS server accepts \
                 in one message (its `max_payload`): send it in parts, or raise the server's \
                 limit",
                std::any::type_name::<T>(),
                payload.len()
            ));
            if let Some(pending) = pending {
                pending.fail(ReplyError::Undeliverable);
            }
            return Err(TrySendError::Undeliverable(message));
        }
        let subject = self.subject.clone();
        let payload = payload.into();
        // An ask holds its credit until answered; a tell's comes back with
        // the acknowledgement that one tell in `CHUNK` asks for.
        let credit = match &pending {
            Some(_) => Some(1),
            None => self.window.count_tell(),
        };
        // The ask's deadline starts here, not when the queue gets to it.
        let out = match credit {
            Some(credit) => Out::Request {
                subject,
                payload,
                id: link.request(Waiting {
                    again: pending.is_none().then(|| Again {
                        subject: self.subject.clone(),
                        link: Arc::downgrade(link),
                    }),
                    reply: pending,
                    window: self.window.clone(),
                    credit,
                }),
            },
            None => Out::Publish { subject, payload },
        };
        match link.send(out) {
            Ok(()) => Ok(()),
            Err(refused) => {
                // The group is closing: the request is failed (an ask's
                // reply with it).
                if let Out::Request { id, .. } = refused
                    && let Some(waiting) = link.take_request(id)
                {
                    waiting.fail(ReplyError::Dropped);
                }
                Err(TrySendError::Closed(message))
            }
        }
    }

    fn is_closed(&self) -> bool {
        self.inner.link.is_closed()
    }

    fn room(&self) -> Option<&Room> {
        Some(&self.window.room)
    }
}
