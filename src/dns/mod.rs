//! Name resolution off the loop: `getaddrinfo` and `getnameinfo` on a lane of their own.
//!
//! The C resolver blocks, so a lookup must run on some other thread. asyncio runs it in its default
//! executor, where a pool full of long user jobs starves it and programs see "DNS timeouts" that are
//! really queueing (CPython gh-112169; Node had the same problem until libuv capped DNS separately).
//! tulip resolves on the *DNS lane*, a small thread pool used for nothing else.
//!
//! This module owns:
//!
//! - [`getaddrinfo`] and [`getnameinfo`]: free functions that return a [`Lookup`] (a future of
//!   `Result<_, DnsError>`, with `wait`, `wait_timeout` and `cancel`), usable from any runtime or from
//!   blocking code; and [`EventLoop::getaddrinfo`] / [`EventLoop::getnameinfo`], their asyncio-shaped
//!   counterparts, with an optional per-call timeout;
//! - the types [`AddrInfo`], [`Hints`], [`DnsError`], [`EaiCode`] and [`DnsStats`], and the libc
//!   constants a caller needs for hints and flags;
//! - the lane itself ([`set_lane_size`], [`lane_size`], [`DEFAULT_LANE_SIZE`]).
//!
//! On Windows the calls are Winsock's `GetAddrInfoW` and `GetNameInfoW` (names cross as UTF-16), on
//! the same lane, with the same errors; the constants below take Winsock's values there.
//!
//! ```
//! use tulip::dns::{self, Hints};
//! // From blocking code (or any runtime: the future is runtime-agnostic).
//! let addrs = dns::getaddrinfo("localhost", 80, Hints::default().socktype(dns::SOCK_STREAM))
//!     .wait()
//!     .unwrap();
//! assert!(addrs.iter().any(|a| a.addr.ip().is_loopback()));
//!
//! // On a loop.
//! tulip::run(async {
//!     let lp = tulip::get_running_loop();
//!     let addrs = lp.getaddrinfo("127.0.0.1", 443, Hints::default()).await.unwrap();
//!     assert_eq!(addrs[0].addr, "127.0.0.1:443".parse().unwrap());
//! });
//! ```
//!
//! # Implementation
//!
//! The lookups call the real `getaddrinfo(3)`/`getnameinfo(3)` (std's `ToSocketAddrs` hides the family,
//! socket type, protocol, flags and canonical name). The result list is always released with
//! `freeaddrinfo`, even if reading it fails.
//!
//! A lookup takes one of three paths:
//!
//! 1. **Checked first, on the caller's thread.** A host with a NUL byte, an empty host (without
//!    `AI_PASSIVE`), a host over 253 bytes, unknown flag bits, an unsupported family or a flag
//!    combination that cannot work (`AI_CANONNAME` without a host, `NI_NAMEREQD` with
//!    `NI_NUMERICHOST`) fail at once with a typed error.
//! 2. **Answered on the caller's thread.** An IP literal (`192.0.2.1`, `::1`, `fe80::1%eth0`,
//!    `fe80::1%2`), or any host with `AI_NUMERICHOST`, is passed to `getaddrinfo` with `AI_NUMERICHOST`,
//!    which parses and never touches the network, so no thread is involved and the future is ready
//!    when returned. The same holds for `getnameinfo` with both `NI_NUMERICHOST` and `NI_NUMERICSERV`.
//! 3. **On the lane.** Anything else joins the *flight* for the same question if one is in progress
//!    (same host, port and hints, or same address and flags), or starts one: a single resolver call on
//!    the lane whose answer goes to every caller that joined. A caller that comes after the call
//!    returned starts a new one; nothing is cached.
//!
//! # Caveats
//!
//! - **A lookup cannot be interrupted.** libc offers no way to stop `getaddrinfo`. Dropping or
//!   cancelling a [`Lookup`] *abandons* it: that caller is answered `Job(Cancelled)` at once (or sees
//!   nothing, if it dropped the future), while the resolver call goes on and keeps its lane thread
//!   until the resolver gives up by itself (governed by `/etc/resolv.conf`'s `timeout` and
//!   `attempts`). If every caller of a flight has gone before the lane reaches it, the call is skipped.
//! - A **per-call timeout** ([`EventLoop::getaddrinfo_timeout`], [`EventLoop::getnameinfo_timeout`])
//!   bounds how long the caller waits, with [`DnsError::Elapsed`]; for the free functions, use
//!   [`Lookup::wait_timeout`] (same error) or the timeout of the runtime that awaits them. In every
//!   case the resolver call itself is abandoned, not stopped.
//! - The lane runs at most [`lane_size`] resolver calls at once; more distinct lookups queue.
//! - Only numeric ports are taken (`u16`); service names such as `"http"` are not looked up.
//! - Only `AF_UNSPEC`, `AF_INET` and `AF_INET6` are supported, since an [`AddrInfo`] holds a
//!   [`SocketAddr`].

mod error;
mod flight;
mod lane;
mod lookup;
#[cfg_attr(windows, path = "windows.rs")]
pub(crate) mod sys;

use std::ffi::CString;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use error::{DnsError, EaiCode};
#[doc(hidden)]
pub use lane::{hold_lookups, LaneHold};
pub use lane::{lane_size, set_lane_size, DEFAULT_LANE_SIZE, LANE_IDLE_TIMEOUT};
pub use lookup::Lookup;

use crate::{EventLoop, PoolStats};
use flight::Table;

/// Address family: IPv4 or IPv6, whichever the resolver finds (the default).
pub const AF_UNSPEC: i32 = sys::AF_UNSPEC;
/// Address family: IPv4 only.
pub const AF_INET: i32 = sys::AF_INET;
/// Address family: IPv6 only.
pub const AF_INET6: i32 = sys::AF_INET6;
/// Socket type: stream (TCP).
pub const SOCK_STREAM: i32 = sys::SOCK_STREAM;
/// Socket type: datagram (UDP).
pub const SOCK_DGRAM: i32 = sys::SOCK_DGRAM;
/// Socket type: raw.
pub const SOCK_RAW: i32 = sys::SOCK_RAW;
/// Protocol: TCP.
pub const IPPROTO_TCP: i32 = sys::IPPROTO_TCP;
/// Protocol: UDP.
pub const IPPROTO_UDP: i32 = sys::IPPROTO_UDP;
/// `getaddrinfo` flag: addresses for `bind` (the wildcard address when the host is empty).
pub const AI_PASSIVE: i32 = sys::AI_PASSIVE;
/// `getaddrinfo` flag: fill [`AddrInfo::canonname`] of the first answer with the canonical name.
pub const AI_CANONNAME: i32 = sys::AI_CANONNAME;
/// `getaddrinfo` flag: the host must be an IP literal; never contacts a name server.
pub const AI_NUMERICHOST: i32 = sys::AI_NUMERICHOST;
/// `getaddrinfo` flag: the service is numeric (always set by tulip, which only takes port numbers).
pub const AI_NUMERICSERV: i32 = sys::AI_NUMERICSERV;
/// `getaddrinfo` flag: with `AF_INET6`, return IPv4-mapped addresses when there is no IPv6 one.
pub const AI_V4MAPPED: i32 = sys::AI_V4MAPPED;
/// `getaddrinfo` flag: with `AI_V4MAPPED`, return IPv6 and IPv4-mapped addresses.
pub const AI_ALL: i32 = sys::AI_ALL;
/// `getaddrinfo` flag: only families for which this host has a configured (non-loopback) address.
pub const AI_ADDRCONFIG: i32 = sys::AI_ADDRCONFIG;
/// `getnameinfo` flag: the host as a numeric address, no reverse lookup.
pub const NI_NUMERICHOST: i32 = sys::NI_NUMERICHOST;
/// `getnameinfo` flag: the service as a port number, no `/etc/services` lookup.
pub const NI_NUMERICSERV: i32 = sys::NI_NUMERICSERV;
/// `getnameinfo` flag: only the host part of a local host's name.
pub const NI_NOFQDN: i32 = sys::NI_NOFQDN;
/// `getnameinfo` flag: fail (`EAI_NONAME`) when the address has no name, instead of returning it
/// numerically.
pub const NI_NAMEREQD: i32 = sys::NI_NAMEREQD;
/// `getnameinfo` flag: the service is a datagram (UDP) service.
pub const NI_DGRAM: i32 = sys::NI_DGRAM;

const KNOWN_AI_FLAGS: i32 =
    AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_NUMERICSERV | AI_V4MAPPED | AI_ALL | AI_ADDRCONFIG;
pub(crate) const KNOWN_NI_FLAGS: i32 = NI_NUMERICHOST | NI_NUMERICSERV | NI_NOFQDN | NI_NAMEREQD | NI_DGRAM;

/// The longest host name tulip passes to the resolver: 253 bytes, the longest name DNS can carry in
/// text form (plus one for a trailing root dot).
pub const MAX_HOST_LEN: usize = 253;

/// One answer of `getaddrinfo`: an address with the socket type and protocol to use it with.
///
/// # Examples
///
/// ```
/// use tulip::dns::{self, Hints};
/// let answers = dns::getaddrinfo("127.0.0.1", 80, Hints::default().socktype(dns::SOCK_STREAM))
///     .wait().unwrap();
/// let a = &answers[0];
/// assert_eq!((a.family, a.socktype, a.protocol), (dns::AF_INET, dns::SOCK_STREAM, dns::IPPROTO_TCP));
/// assert_eq!(a.addr.port(), 80);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddrInfo {
    /// `AF_INET` or `AF_INET6`.
    pub family: i32,
    /// `SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_RAW`, ...
    pub socktype: i32,
    /// `IPPROTO_TCP`, `IPPROTO_UDP`, or 0.
    pub protocol: i32,
    /// The canonical name, on the first answer only, and only when `AI_CANONNAME` was asked for.
    pub canonname: Option<String>,
    /// The address and port.
    pub addr: SocketAddr,
}

/// What to ask `getaddrinfo` for: family, socket type, protocol and flags (`struct addrinfo` hints).
///
/// The default asks for everything: any family, any socket type, any protocol, no flags (as
/// asyncio's `loop.getaddrinfo` defaults).
///
/// # Examples
///
/// ```
/// use tulip::dns::{self, Hints};
/// let hints = Hints::default().family(dns::AF_INET).socktype(dns::SOCK_STREAM).flags(dns::AI_ADDRCONFIG);
/// assert_eq!(hints.family, dns::AF_INET);
/// assert_eq!(Hints::default().flags, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hints {
    /// `AF_UNSPEC` (default), `AF_INET` or `AF_INET6`.
    pub family: i32,
    /// `0` (any, default), `SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_RAW`.
    pub socktype: i32,
    /// `0` (any, default), `IPPROTO_TCP`, `IPPROTO_UDP`.
    pub protocol: i32,
    /// `AI_*` flags, or-ed together (default none).
    pub flags: i32,
}

impl Default for Hints {
    fn default() -> Self {
        Hints { family: AF_UNSPEC, socktype: 0, protocol: 0, flags: 0 }
    }
}

impl Hints {
    /// Sets the address family.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = tulip::dns::Hints::default().family(tulip::dns::AF_INET6);
    /// assert_eq!(h.family, tulip::dns::AF_INET6);
    /// ```
    pub fn family(mut self, family: i32) -> Self {
        self.family = family;
        self
    }

    /// Sets the socket type.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = tulip::dns::Hints::default().socktype(tulip::dns::SOCK_DGRAM);
    /// assert_eq!(h.socktype, tulip::dns::SOCK_DGRAM);
    /// ```
    pub fn socktype(mut self, socktype: i32) -> Self {
        self.socktype = socktype;
        self
    }

    /// Sets the protocol.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = tulip::dns::Hints::default().protocol(tulip::dns::IPPROTO_TCP);
    /// assert_eq!(h.protocol, tulip::dns::IPPROTO_TCP);
    /// ```
    pub fn protocol(mut self, protocol: i32) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sets the `AI_*` flags (replacing those set before).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::dns;
    /// let h = dns::Hints::default().flags(dns::AI_CANONNAME | dns::AI_ADDRCONFIG);
    /// assert_eq!(h.flags & dns::AI_CANONNAME, dns::AI_CANONNAME);
    /// ```
    pub fn flags(mut self, flags: i32) -> Self {
        self.flags = flags;
        self
    }
}

/// Counters of the DNS module, for tuning and tests; from [`stats`].
///
/// # Examples
///
/// ```
/// let before = tulip::dns::stats();
/// tulip::dns::getaddrinfo("::1", 80, Default::default()).wait().unwrap();
/// let after = tulip::dns::stats();
/// assert_eq!(after.inline, before.inline + 1);
/// assert_eq!(after.resolver_calls, before.resolver_calls);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DnsStats {
    /// Resolver calls made on the lane (`getaddrinfo` and `getnameinfo` together).
    pub resolver_calls: u64,
    /// Lookups that joined an identical one in flight instead of calling the resolver.
    pub joined: u64,
    /// Lookups answered on the caller's thread (IP literals, numeric-only requests).
    pub inline: u64,
    /// Flights (distinct questions) in progress now.
    pub in_flight: usize,
    /// The lane's size (configured, or running with).
    pub lane_size: usize,
    /// The lane's pool statistics, `None` until the first lookup that needs it.
    pub lane: Option<PoolStats>,
}

pub(crate) struct Counters {
    pub(crate) resolver_calls: AtomicU64,
    pub(crate) joined: AtomicU64,
    pub(crate) inline: AtomicU64,
}

pub(crate) static STATS: Counters =
    Counters { resolver_calls: AtomicU64::new(0), joined: AtomicU64::new(0), inline: AtomicU64::new(0) };

/// The DNS module's counters now.
///
/// # Examples
///
/// ```
/// let s = tulip::dns::stats();
/// assert_eq!(s.lane_size, tulip::dns::lane_size());
/// ```
pub fn stats() -> DnsStats {
    DnsStats {
        resolver_calls: STATS.resolver_calls.load(Ordering::Relaxed),
        joined: STATS.joined.load(Ordering::Relaxed),
        inline: STATS.inline.load(Ordering::Relaxed),
        in_flight: ADDR_FLIGHTS.len() + NAME_FLIGHTS.len(),
        lane_size: lane_size(),
        lane: lane::pool_stats(),
    }
}

/// The question a `getaddrinfo` flight answers.
#[derive(Clone, PartialEq, Eq, Hash)]
struct AddrKey {
    host: String,
    port: u16,
    hints: Hints,
}

static ADDR_FLIGHTS: Table<AddrKey, Vec<AddrInfo>> = Table::new();
static NAME_FLIGHTS: Table<(SocketAddr, i32), (String, String)> = Table::new();

/// The checks made before any resolver call. Returns the node to pass (`None`: NULL).
pub(crate) fn check_addr_args(host: &str, hints: &Hints) -> Result<Option<CString>, DnsError> {
    let invalid = |reason| DnsError::InvalidHost { host: host.to_string(), reason };
    if hints.family != AF_UNSPEC && hints.family != AF_INET && hints.family != AF_INET6 {
        return Err(DnsError::InvalidArgument(format!(
            "address family {} is not supported; use AF_UNSPEC, AF_INET or AF_INET6",
            hints.family
        )));
    }
    if hints.socktype < 0 || hints.protocol < 0 {
        return Err(DnsError::InvalidArgument(format!(
            "socket type {} and protocol {} must not be negative",
            hints.socktype, hints.protocol
        )));
    }
    let unknown = hints.flags & !KNOWN_AI_FLAGS;
    if unknown != 0 {
        return Err(DnsError::InvalidArgument(format!("unknown getaddrinfo flags {unknown:#x}")));
    }
    if host.is_empty() {
        if hints.flags & AI_PASSIVE == 0 {
            return Err(invalid("it is empty (pass AI_PASSIVE for the wildcard address)"));
        }
        if hints.flags & AI_CANONNAME != 0 {
            return Err(DnsError::InvalidArgument(
                "AI_CANONNAME needs a host name; it cannot be combined with an empty host".into(),
            ));
        }
        return Ok(None);
    }
    let limit = if host.ends_with('.') { MAX_HOST_LEN + 1 } else { MAX_HOST_LEN };
    if host.len() > limit {
        return Err(invalid("it is longer than 253 bytes"));
    }
    match CString::new(host) {
        Ok(c) => Ok(Some(c)),
        Err(_) => Err(invalid("it contains a NUL byte")),
    }
}

/// Whether `host` is an IP literal: IPv4 dotted quad, IPv6, or IPv6 with a zone (`%eth0`, `%2`).
fn is_ip_literal(host: &str) -> bool {
    if host.parse::<IpAddr>().is_ok() {
        return true;
    }
    match host.split_once('%') {
        Some((addr, zone)) => !zone.is_empty() && addr.parse::<Ipv6Addr>().is_ok(),
        None => false,
    }
}

/// Looks `host` and `port` up with `getaddrinfo(3)`; runs on the DNS lane unless the answer needs no
/// resolver (see the [module docs](self)).
///
/// The [`Lookup`] is runtime-agnostic: `.await` it anywhere or [`wait`](Lookup::wait) for it; every
/// failure is one [`DnsError`] (`DnsError::Job(JobError::Cancelled)` after
/// [`cancel`](Lookup::cancel)). A host with a NUL byte, an empty host without `AI_PASSIVE`, a host
/// over 253 bytes, or invalid hints fail at once with a typed [`DnsError`]. An empty host with
/// `AI_PASSIVE` asks for the wildcard addresses (a NULL node).
///
/// Dropping the lookup abandons it (see the module's caveats); use [`Lookup::wait_timeout`] to bound a
/// blocking wait.
///
/// # Examples
///
/// ```
/// use tulip::dns::{self, Hints};
/// let answers = dns::getaddrinfo("localhost", 8080, Hints::default().socktype(dns::SOCK_STREAM))
///     .wait().unwrap();
/// assert!(answers.iter().all(|a| a.addr.port() == 8080 && a.socktype == dns::SOCK_STREAM));
///
/// let wildcard = dns::getaddrinfo("", 80, Hints::default().family(dns::AF_INET).flags(dns::AI_PASSIVE))
///     .wait().unwrap();
/// assert!(wildcard[0].addr.ip().is_unspecified());
/// ```
pub fn getaddrinfo(host: &str, port: u16, hints: Hints) -> Lookup<Vec<AddrInfo>> {
    let node = match check_addr_args(host, &hints) {
        Ok(node) => node,
        Err(e) => return Lookup::ready(Err(e)),
    };
    let numeric = hints.flags & AI_NUMERICHOST != 0;
    if numeric || node.is_none() || is_ip_literal(host) {
        // Parsing only (AI_NUMERICHOST) or the NULL node: answered here, no thread, no network.
        let numeric_hints = if node.is_some() { hints.flags(hints.flags | AI_NUMERICHOST) } else { hints };
        STATS.inline.fetch_add(1, Ordering::Relaxed);
        return Lookup::ready(sys::getaddrinfo(node.as_deref(), port, &numeric_hints));
    }
    let key = AddrKey { host: host.to_string(), port, hints };
    Lookup::new(ADDR_FLIGHTS.lookup(key, move || sys::getaddrinfo(node.as_deref(), port, &hints)))
}

/// Looks the name and service of `addr` up with `getnameinfo(3)` and returns `(host, service)`;
/// runs on the DNS lane unless `flags` hold both `NI_NUMERICHOST` and `NI_NUMERICSERV`.
///
/// `flags` are `NI_*` flags or-ed together; unknown bits, or `NI_NAMEREQD` with `NI_NUMERICHOST`,
/// fail at once with [`DnsError::InvalidArgument`]. Otherwise as [`getaddrinfo`].
///
/// # Examples
///
/// ```
/// use tulip::dns;
/// let addr = "127.0.0.1:22".parse().unwrap();
/// let (host, port) = dns::getnameinfo(addr, dns::NI_NUMERICHOST | dns::NI_NUMERICSERV)
///     .wait().unwrap();
/// assert_eq!((host.as_str(), port.as_str()), ("127.0.0.1", "22"));
/// ```
pub fn getnameinfo(addr: SocketAddr, flags: i32) -> Lookup<(String, String)> {
    let unknown = flags & !KNOWN_NI_FLAGS;
    if unknown != 0 {
        return Lookup::ready(Err(DnsError::InvalidArgument(format!(
            "unknown getnameinfo flags {unknown:#x}"
        ))));
    }
    if flags & NI_NUMERICHOST != 0 && flags & NI_NAMEREQD != 0 {
        let e = DnsError::InvalidArgument("NI_NAMEREQD asks for a name, NI_NUMERICHOST forbids one".into());
        return Lookup::ready(Err(e));
    }
    let numeric = NI_NUMERICHOST | NI_NUMERICSERV;
    if flags & numeric == numeric {
        STATS.inline.fetch_add(1, Ordering::Relaxed);
        return Lookup::ready(sys::getnameinfo(&addr, flags));
    }
    Lookup::new(NAME_FLIGHTS.lookup((addr, flags), move || sys::getnameinfo(&addr, flags)))
}

/// Awaits `lookup` for at most `timeout` on the running loop.
async fn bounded<T: Send + 'static>(lookup: Lookup<T>, timeout: Duration) -> Result<T, DnsError> {
    // On `Elapsed`, dropping `lookup` (inside the timeout) abandons it.
    crate::timeout(timeout, lookup).await?
}

impl EventLoop {
    /// Resolves `host` and `port` (asyncio's `loop.getaddrinfo`), on the DNS lane so that a busy
    /// default executor cannot delay it.
    ///
    /// The lookup starts when this is called; the returned [`Lookup`] waits for its answer and may be
    /// awaited on any runtime. Dropping it abandons the lookup. See [`dns::getaddrinfo`] for
    /// the rules on hosts and hints, and the [`dns`](crate::dns) module for single-flight and
    /// IP-literal answers.
    ///
    /// [`dns::getaddrinfo`]: crate::dns::getaddrinfo
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let lp = tulip::get_running_loop();
    ///     let addrs = lp.getaddrinfo("localhost", 80, Default::default()).await.unwrap();
    ///     assert!(addrs.iter().any(|a| a.addr.ip().is_loopback()));
    /// });
    /// ```
    pub fn getaddrinfo(&self, host: &str, port: u16, hints: Hints) -> Lookup<Vec<AddrInfo>> {
        getaddrinfo(host, port, hints)
    }

    /// [`getaddrinfo`](Self::getaddrinfo) that gives up waiting after `timeout` with
    /// [`DnsError::Elapsed`]; the resolver call is then abandoned (libc cannot stop it).
    ///
    /// # Panics
    ///
    /// When the future is awaited outside a running tulip loop (the timeout is a loop timer).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// tulip::run(async {
    ///     let lp = tulip::get_running_loop();
    ///     let r = lp.getaddrinfo_timeout("localhost", 80, Default::default(), Duration::from_secs(5)).await;
    ///     assert!(r.is_ok());
    /// });
    /// ```
    pub fn getaddrinfo_timeout(
        &self,
        host: &str,
        port: u16,
        hints: Hints,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<AddrInfo>, DnsError>> + 'static {
        bounded(getaddrinfo(host, port, hints), timeout)
    }

    /// Looks up the host name and service of `addr` (asyncio's `loop.getnameinfo`), on the DNS lane.
    ///
    /// Returns a [`Lookup`]; same rules as [`getaddrinfo`](Self::getaddrinfo); `flags` are `NI_*` flags
    /// (see [`dns::getnameinfo`](crate::dns::getnameinfo)).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let lp = tulip::get_running_loop();
    ///     let (host, _service) = lp.getnameinfo("127.0.0.1:80".parse().unwrap(), 0).await.unwrap();
    ///     assert!(!host.is_empty());
    /// });
    /// ```
    pub fn getnameinfo(&self, addr: SocketAddr, flags: i32) -> Lookup<(String, String)> {
        getnameinfo(addr, flags)
    }

    /// [`getnameinfo`](Self::getnameinfo) that gives up waiting after `timeout` with
    /// [`DnsError::Elapsed`]; the resolver call is then abandoned.
    ///
    /// # Panics
    ///
    /// When the future is awaited outside a running tulip loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// tulip::run(async {
    ///     let lp = tulip::get_running_loop();
    ///     let addr = "127.0.0.1:80".parse().unwrap();
    ///     let (host, port) = lp
    ///         .getnameinfo_timeout(addr, tulip::dns::NI_NUMERICHOST | tulip::dns::NI_NUMERICSERV, Duration::from_secs(1))
    ///         .await
    ///         .unwrap();
    ///     assert_eq!((host.as_str(), port.as_str()), ("127.0.0.1", "80"));
    /// });
    /// ```
    pub fn getnameinfo_timeout(
        &self,
        addr: SocketAddr,
        flags: i32,
        timeout: Duration,
    ) -> impl Future<Output = Result<(String, String), DnsError>> + 'static {
        bounded(getnameinfo(addr, flags), timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        for h in ["127.0.0.1", "::1", "fe80::1%eth0", "fe80::1%2", "2001:db8::1"] {
            assert!(is_ip_literal(h), "{h}");
        }
        for h in ["localhost", "fe80::1%", "1.2.3.4%eth0", "example.com", ""] {
            assert!(!is_ip_literal(h), "{h}");
        }
    }

    #[test]
    fn host_checks() {
        let h = Hints::default();
        assert!(matches!(check_addr_args("a\0b", &h), Err(DnsError::InvalidHost { .. })));
        assert!(matches!(check_addr_args("", &h), Err(DnsError::InvalidHost { .. })));
        assert!(matches!(check_addr_args(&"a".repeat(254), &h), Err(DnsError::InvalidHost { .. })));
        assert!(check_addr_args(&format!("{}.", "a".repeat(253)), &h).is_ok());
        assert!(matches!(check_addr_args("x", &h.flags(1 << 20)), Err(DnsError::InvalidArgument(_))));
        assert!(matches!(
            check_addr_args("", &h.flags(AI_PASSIVE | AI_CANONNAME)),
            Err(DnsError::InvalidArgument(_))
        ));
        assert!(matches!(check_addr_args("x", &h.family(12345)), Err(DnsError::InvalidArgument(_))));
        assert_eq!(check_addr_args("", &h.flags(AI_PASSIVE)), Ok(None));
    }
}
