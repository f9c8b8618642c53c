//! [`Call`]: one operation on the NATS server, awaited or waited for.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use isolate_core::{Reply, ReplyError};

use crate::error::Error;

/// An operation of a [`RemoteGroup`](crate::RemoteGroup) under way: `.await`
/// it in async code (any runtime, and inside isolates), or
/// [`wait`](Call::wait) for it on a plain thread.
///
/// The operation runs on the remote group's own I/O thread whether or not
/// the `Call` is polled; dropping the `Call` only stops waiting for it.
#[must_use = "a Call is an operation under way: await it or wait for it"]
pub struct Call<T> {
    reply: Reply<Result<Raw, Error>>,
    /// Turns what the I/O thread produced into the result, on the caller's
    /// side: what owns the I/O thread is never made or dropped on it.
    finish: Option<Finish<T>>,
}

type Raw = Box<dyn Any + Send>;
type Finish<T> = Box<dyn FnOnce(Raw) -> T + Send>;

impl<T: Send + 'static> Call<T> {
    /// Runs `operation` on `runtime`.
    pub(crate) fn spawn(
        runtime: &tokio::runtime::Handle,
        operation: impl Future<Output = Result<T, Error>> + Send + 'static,
    ) -> Self {
        Call::spawn_then(runtime, operation, |value| value)
    }
}

impl<T> Call<T> {
    /// Runs `operation` on `runtime`, then `finish` on its value where the
    /// call is waited for or awaited.
    pub(crate) fn spawn_then<R: Send + 'static>(
        runtime: &tokio::runtime::Handle,
        operation: impl Future<Output = Result<R, Error>> + Send + 'static,
        finish: impl FnOnce(R) -> T + Send + 'static,
    ) -> Self {
        let (answer, reply) = Reply::channel();
        runtime
            .spawn(async move { answer.send(operation.await.map(|value| Box::new(value) as Raw)) });
        Call {
            reply,
            finish: Some(Box::new(move |raw: Raw| {
                finish(
                    *raw.downcast::<R>()
                        .expect("a call's value has the type it was spawned with"),
                )
            })),
        }
    }

    /// A call that failed before it began.
    pub(crate) fn failed(error: Error) -> Self {
        let (answer, reply) = Reply::channel();
        answer.send(Err(error));
        Call {
            reply,
            finish: None,
        }
    }

    fn finish(&mut self, result: Result<Result<Raw, Error>, ReplyError>) -> Result<T, Error> {
        finish(result, self.finish.take())
    }

    /// Blocks the thread until the operation ends.
    ///
    /// # Errors
    ///
    /// The operation's [`Error`]; [`Error::BlockingInIsolate`] on an isolate
    /// group's worker thread (`.await` there instead).
    pub fn wait(self) -> Result<T, Error> {
        let Call {
            reply,
            finish: then,
        } = self;
        finish(reply.wait(), then)
    }

    /// Blocks the thread for at most `timeout`.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait), plus [`Error::Timeout`]. The operation goes
    /// on regardless: a registration that times out here may still land.
    pub fn wait_timeout(self, timeout: Duration) -> Result<T, Error> {
        let Call {
            reply,
            finish: then,
        } = self;
        finish(reply.wait_timeout(timeout), then)
    }
}

impl<T> Future for Call<T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match Pin::new(&mut this.reply).poll(cx) {
            Poll::Ready(result) => Poll::Ready(this.finish(result)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The call's result, from what its operation produced.
fn finish<T>(
    result: Result<Result<Raw, Error>, ReplyError>,
    then: Option<Finish<T>>,
) -> Result<T, Error> {
    let raw = match result {
        Ok(result) => result?,
        Err(ReplyError::Timeout(after)) => return Err(Error::Timeout(after)),
        Err(ReplyError::BlockingInIsolate) => return Err(Error::BlockingInIsolate),
        // The I/O thread dropped the operation: the group was closed.
        Err(_) => return Err(Error::Closed),
    };
    let then = then.ok_or(Error::Closed)?;
    Ok(then(raw))
}

impl<T> std::fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Call(..)")
    }
}
