//! [`Lookup`]: a lookup in progress, with one flat `Result`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::DnsError;
use crate::error::{Elapsed, JobError};
use crate::future::ConcurrentFuture;

/// A lookup in progress, from [`getaddrinfo`](super::getaddrinfo) or
/// [`getnameinfo`](super::getnameinfo): a future of `Result<T, DnsError>`, usable from any runtime or
/// from blocking code.
///
/// Whatever ends it (the resolver's answer, an argument refused up front, a cancel, a lane that could
/// not run it) arrives as one [`DnsError`]; there is no nested `Result`. Dropping it abandons the
/// lookup (see the [module's caveats](super#caveats)).
///
/// # Examples
///
/// ```
/// use tulip::dns::{self, Hints};
/// // Blocking code:
/// let addrs = dns::getaddrinfo("localhost", 80, Hints::default()).wait().unwrap();
/// assert!(addrs.iter().any(|a| a.addr.ip().is_loopback()));
/// // Any runtime:
/// let addrs = futures_lite::future::block_on(dns::getaddrinfo("::1", 80, Hints::default())).unwrap();
/// assert!(addrs[0].addr.ip().is_loopback());
/// ```
#[must_use = "dropping a Lookup abandons it"]
pub struct Lookup<T> {
    /// The lane job's future; its own `Err` (cancelled, no thread) becomes [`DnsError::Job`].
    inner: ConcurrentFuture<Result<T, DnsError>>,
}

/// Joins the job's outcome and the lookup's into one `Result`.
fn flatten<T>(r: Result<Result<T, DnsError>, JobError>) -> Result<T, DnsError> {
    r.map_err(DnsError::Job).and_then(|x| x)
}

impl<T: Send + 'static> Lookup<T> {
    pub(super) fn new(inner: ConcurrentFuture<Result<T, DnsError>>) -> Self {
        Lookup { inner }
    }

    /// A lookup answered on the caller's thread (an IP literal, or arguments refused up front).
    pub(super) fn ready(answer: Result<T, DnsError>) -> Self {
        Lookup { inner: ConcurrentFuture::ready(Ok(answer)) }
    }

    /// Blocks until the answer arrives.
    ///
    /// # Examples
    ///
    /// ```
    /// let (host, port) = tulip::dns::getnameinfo("127.0.0.1:22".parse().unwrap(), 0).wait().unwrap();
    /// assert!(!host.is_empty() && !port.is_empty());
    /// ```
    pub fn wait(self) -> Result<T, DnsError> {
        flatten(self.inner.wait())
    }

    /// Blocks for at most `timeout`: [`DnsError::Elapsed`] when the answer has not come by then (the
    /// lookup goes on, so waiting again is allowed); once the answer was taken, later waits give
    /// `DnsError::Job(JobError::ResultTaken)`. `Duration::MAX` waits for ever.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut lookup = tulip::dns::getaddrinfo("localhost", 80, Default::default());
    /// assert!(lookup.wait_timeout(Duration::from_secs(30)).is_ok());
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<T, DnsError> {
        match self.inner.wait_timeout(timeout) {
            Some(r) => flatten(r),
            None => Err(DnsError::Elapsed(Elapsed)),
        }
    }

    /// Abandons the lookup for this caller: it is answered `DnsError::Job(JobError::Cancelled)` at
    /// once, while a resolver call already running goes on for callers that share it. Returns `false`
    /// if the answer had already arrived.
    ///
    /// # Examples
    ///
    /// ```
    /// let lookup = tulip::dns::getaddrinfo("127.0.0.1", 80, Default::default());
    /// assert!(!lookup.cancel(), "an IP literal is answered at once");
    /// assert!(lookup.wait().is_ok());
    /// ```
    pub fn cancel(&self) -> bool {
        self.inner.cancel()
    }

    /// Whether the answer (or the error) has arrived.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tulip::dns::getaddrinfo("::1", 80, Default::default()).is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.inner.is_done()
    }
}

impl<T: Send + 'static> Future for Lookup<T> {
    type Output = Result<T, DnsError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.inner).poll(cx).map(flatten)
    }
}

impl<T: Send + 'static> fmt::Debug for Lookup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lookup").field("done", &self.is_done()).finish()
    }
}
