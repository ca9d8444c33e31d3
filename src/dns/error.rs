//! [`DnsError`] and [`EaiCode`]: every way a lookup can fail, typed.

use std::fmt;

use super::sys;
use crate::error::{Elapsed, JobError};

/// Which `EAI_*` code the resolver returned.
///
/// The names follow POSIX (`EAI_AGAIN` is [`Again`](Self::Again), and so on); codes a platform adds
/// beyond POSIX, or that this enum does not know, arrive as [`Other`](Self::Other) with the raw value.
/// On Windows the raw values are Winsock's (`EAI_NONAME` is `WSAHOST_NOT_FOUND`, and so on), and
/// `System`, `Overflow` and `AddrFamily` never occur.
///
/// # Examples
///
/// ```
/// use tulip::dns::EaiCode;
/// assert_eq!(EaiCode::from_raw(EaiCode::NoName.raw()), EaiCode::NoName);
/// # #[cfg(unix)]
/// assert_eq!(EaiCode::NoName.raw(), libc::EAI_NONAME);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EaiCode {
    /// `EAI_AGAIN`: a temporary failure (the name server did not answer in time); retrying may work.
    Again,
    /// `EAI_BADFLAGS`: the flags are invalid.
    BadFlags,
    /// `EAI_FAIL`: a permanent failure of the name server.
    Fail,
    /// `EAI_FAMILY`: the address family is not supported.
    Family,
    /// `EAI_MEMORY`: the resolver ran out of memory.
    Memory,
    /// `EAI_NONAME`: the name is unknown (or, for numeric-only requests, not numeric).
    NoName,
    /// `EAI_NODATA` (glibc, musl): the name exists but has no address.
    NoData,
    /// `EAI_ADDRFAMILY` (glibc): the name has no address of the requested family.
    AddrFamily,
    /// `EAI_SERVICE`: the service is not available for the socket type.
    Service,
    /// `EAI_SOCKTYPE`: the socket type is not supported.
    SockType,
    /// `EAI_SYSTEM`: a system error; [`DnsError::errno`] holds `errno`.
    System,
    /// `EAI_OVERFLOW`: a result buffer was too small.
    Overflow,
    /// A code this enum does not name.
    Other(i32),
}

impl EaiCode {
    /// The code for the raw value `getaddrinfo`/`getnameinfo` returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::dns::EaiCode;
    /// # #[cfg(unix)]
    /// assert_eq!(EaiCode::from_raw(libc::EAI_AGAIN), EaiCode::Again);
    /// assert_eq!(EaiCode::from_raw(12345), EaiCode::Other(12345));
    /// ```
    pub fn from_raw(code: i32) -> EaiCode {
        sys::EAI_CODES.iter().find(|&&(_, raw)| raw == code).map_or(EaiCode::Other(code), |&(c, _)| c)
    }

    /// The raw value of this code on this platform (`0` for a code the platform does not have).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(unix)]
    /// assert_eq!(tulip::dns::EaiCode::System.raw(), libc::EAI_SYSTEM);
    /// ```
    pub fn raw(self) -> i32 {
        match self {
            EaiCode::Other(raw) => raw,
            code => sys::EAI_CODES.iter().find(|&&(c, _)| c == code).map_or(0, |&(_, raw)| raw),
        }
    }

    /// The symbolic name (`"EAI_NONAME"`), or `"EAI_?"` for an unnamed code.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulip::dns::EaiCode::NoName.name(), "EAI_NONAME");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            EaiCode::Again => "EAI_AGAIN",
            EaiCode::BadFlags => "EAI_BADFLAGS",
            EaiCode::Fail => "EAI_FAIL",
            EaiCode::Family => "EAI_FAMILY",
            EaiCode::Memory => "EAI_MEMORY",
            EaiCode::NoName => "EAI_NONAME",
            EaiCode::NoData => "EAI_NODATA",
            EaiCode::AddrFamily => "EAI_ADDRFAMILY",
            EaiCode::Service => "EAI_SERVICE",
            EaiCode::SockType => "EAI_SOCKTYPE",
            EaiCode::System => "EAI_SYSTEM",
            EaiCode::Overflow => "EAI_OVERFLOW",
            EaiCode::Other(_) => "EAI_?",
        }
    }
}

/// Why a lookup produced no answer.
///
/// One variant per cause: the resolver's answer ([`Resolver`](Self::Resolver)), an argument refused
/// before any call ([`InvalidHost`](Self::InvalidHost), [`InvalidArgument`](Self::InvalidArgument)),
/// a per-call timeout ([`Elapsed`](Self::Elapsed), the crate's one "timed out" type), or the lookup's
/// job on the DNS lane ending without an answer ([`Job`](Self::Job): `JobError::Cancelled` after
/// [`Lookup::cancel`](crate::dns::Lookup::cancel), `JobError::Spawn` when no lane thread could start).
///
/// It is `Clone` because one resolver call may answer many callers (identical lookups in flight share
/// one call). It converts into [`std::io::Error`] (with a fitting [`ErrorKind`](std::io::ErrorKind)
/// and itself as the inner error), which is what [`net::TcpStream::connect`](crate::net::TcpStream::connect)
/// returns.
///
/// # Examples
///
/// ```
/// use tulip::{dns, DnsError};
/// let err = dns::getaddrinfo("bad\0host", 80, Default::default()).wait().unwrap_err();
/// assert!(matches!(err, DnsError::InvalidHost { .. }));
/// println!("{err}"); // invalid host name "bad\0host": it contains a NUL byte
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DnsError {
    /// The resolver returned an `EAI_*` code.
    Resolver {
        /// Which code.
        code: EaiCode,
        /// `gai_strerror`'s text for the code (for `EAI_SYSTEM`, followed by the OS error's text).
        message: String,
        /// `errno` at the time of the failure, for `EAI_SYSTEM` only.
        errno: Option<i32>,
    },
    /// The host name cannot be looked up at all (checked before any resolver call).
    InvalidHost {
        /// The host as given (lossy, for the message).
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The hints or flags are invalid (unknown bits, an unsupported family, a combination the
    /// resolver rejects); checked before any resolver call.
    InvalidArgument(String),
    /// A per-call timeout ran out (the `_timeout` methods, [`Lookup::wait_timeout`]); the resolver
    /// call itself goes on and its answer is dropped.
    ///
    /// [`Lookup::wait_timeout`]: crate::dns::Lookup::wait_timeout
    Elapsed(Elapsed),
    /// The lookup's job ended without an answer: [`JobError::Cancelled`] after
    /// [`Lookup::cancel`](crate::dns::Lookup::cancel), [`JobError::Spawn`] when the DNS lane could not
    /// start a thread, [`JobError::ResultTaken`] when the answer was already taken.
    Job(JobError),
}

impl DnsError {
    /// `errno` of an `EAI_SYSTEM` failure.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = tulip::DnsError::Job(tulip::JobError::Cancelled);
    /// assert_eq!(e.errno(), None);
    /// ```
    pub fn errno(&self) -> Option<i32> {
        match self {
            DnsError::Resolver { errno, .. } => *errno,
            _ => None,
        }
    }

    /// The `EAI_*` code of a resolver failure.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = tulip::dns::getaddrinfo("name.invalid", 80, Default::default()).wait().unwrap_err();
    /// assert!(err.code().is_some());
    /// ```
    pub fn code(&self) -> Option<EaiCode> {
        match self {
            DnsError::Resolver { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the name does not exist or has no address (`EAI_NONAME`, `EAI_NODATA`,
    /// `EAI_ADDRFAMILY`), as opposed to a failure that retrying might cure.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = tulip::dns::getaddrinfo("name.invalid", 80, Default::default()).wait().unwrap_err();
    /// // A resolver without network access may answer EAI_AGAIN instead of EAI_NONAME.
    /// println!("not found: {}", err.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        matches!(self.code(), Some(EaiCode::NoName | EaiCode::NoData | EaiCode::AddrFamily))
    }

    /// The error of resolver code `code` (non-zero), with `gai_strerror`'s text and, for
    /// `EAI_SYSTEM`, `errno` (which the caller read right after the failing call).
    pub(crate) fn from_gai(code: i32, errno: Option<i32>) -> DnsError {
        let text = sys::strerror(code);
        let code = EaiCode::from_raw(code);
        let errno = if code == EaiCode::System { errno } else { None };
        let message = match errno {
            Some(e) => format!("{text}: {}", std::io::Error::from_raw_os_error(e)),
            None => text,
        };
        DnsError::Resolver { code, message, errno }
    }
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::Resolver { code, message, .. } => write!(f, "{message} ({})", code.name()),
            DnsError::InvalidHost { host, reason } => write!(f, "invalid host name {host:?}: {reason}"),
            DnsError::InvalidArgument(msg) => write!(f, "invalid lookup argument: {msg}"),
            DnsError::Elapsed(_) => f.write_str("name resolution timed out (the lookup was abandoned)"),
            DnsError::Job(JobError::Cancelled) => f.write_str("name resolution was cancelled"),
            DnsError::Job(e) => write!(f, "name resolution did not run to the end: {e}"),
        }
    }
}

impl std::error::Error for DnsError {}

impl From<JobError> for DnsError {
    fn from(e: JobError) -> Self {
        DnsError::Job(e)
    }
}

impl From<Elapsed> for DnsError {
    fn from(e: Elapsed) -> Self {
        DnsError::Elapsed(e)
    }
}

impl From<DnsError> for std::io::Error {
    fn from(e: DnsError) -> Self {
        use std::io::ErrorKind;
        let kind = match &e {
            DnsError::Resolver { errno: Some(n), .. } => std::io::Error::from_raw_os_error(*n).kind(),
            DnsError::Resolver { code, .. } if e.is_not_found() || *code == EaiCode::Fail => {
                ErrorKind::NotFound
            }
            DnsError::Resolver { code: EaiCode::Memory, .. } => ErrorKind::OutOfMemory,
            DnsError::Resolver { .. } => ErrorKind::Other,
            DnsError::InvalidHost { .. } | DnsError::InvalidArgument(_) => ErrorKind::InvalidInput,
            DnsError::Elapsed(_) => ErrorKind::TimedOut,
            DnsError::Job(JobError::Cancelled) => ErrorKind::Interrupted,
            DnsError::Job(_) => ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}
