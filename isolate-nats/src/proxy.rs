//! The sending side: a looked-up port, whose messages are encoded on the
//! sender's thread and queued for NATS.

use std::marker::PhantomData;
use std::sync::Arc;

use async_nats::Subject;
use isolate_core::transport::{self, Proxy};
use isolate_core::{ReplyError, TrySendError};
use serde::Serialize;

use crate::NATS;
use crate::envelope::Envelope;
use crate::group::Inner;
use crate::link::Out;

/// A port of another member, as a `SendPort` here sees it.
pub(crate) struct RemotePort<T> {
    /// Keeps the connection (and its I/O thread) alive while the port is.
    pub(crate) inner: Arc<Inner>,
    pub(crate) subject: Subject,
    pub(crate) fingerprint: u64,
    pub(crate) _message: PhantomData<fn(T)>,
}

impl<T: Serialize + Send + 'static> Proxy<T> for RemotePort<T> {
    fn send(&self, message: T) -> Result<(), TrySendError<T>> {
        let link = &self.inner.link;
        if link.is_closed() {
            return Err(TrySendError::Closed(message));
        }
        // Encoded here, on the sender's thread: an error is the sender's,
        // at once, and many senders encode in parallel.
        let encoded = match transport::encode(NATS, &message) {
            Ok(encoded) => encoded,
            Err(error) => {
                link.report(error.to_string());
                return Err(TrySendError::Undeliverable(message));
            }
        };
        let (body, pending) = encoded.into_parts();
        let envelope = match pending {
            Some(_) => Envelope::Ask {
                fingerprint: self.fingerprint,
                body: &body,
            },
            None => Envelope::Tell {
                fingerprint: self.fingerprint,
                body: &body,
            },
        };
        let payload = envelope.encode();
        let max = link.client.server_info().max_payload;
        if payload.len() > max {
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
        let out = match pending {
            Some(pending) => Out::Ask {
                subject,
                payload,
                pending,
            },
            None => Out::Publish { subject, payload },
        };
        match link.send(out) {
            Ok(()) => Ok(()),
            // The group is closing: an ask's pending reply is dropped with
            // the refused `Out`, which fails it.
            Err(_) => Err(TrySendError::Closed(message)),
        }
    }

    fn is_closed(&self) -> bool {
        self.inner.link.is_closed()
    }
}
