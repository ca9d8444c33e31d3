//! The libc calls: `getaddrinfo`/`freeaddrinfo`, `getnameinfo`, and `sockaddr` conversions.
//!
//! Everything here blocks for as long as the resolver does and knows nothing of lanes or loops; the
//! module above decides on which thread it runs.

use std::ffi::{CStr, CString};
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::raw::c_char;

use super::{AddrInfo, DnsError, EaiCode, Hints};

pub(crate) use libc::{
    AF_INET, AF_INET6, AF_UNSPEC, AI_ADDRCONFIG, AI_ALL, AI_CANONNAME, AI_NUMERICHOST, AI_NUMERICSERV,
    AI_PASSIVE, AI_V4MAPPED, IPPROTO_TCP, IPPROTO_UDP, NI_DGRAM, NI_NAMEREQD, NI_NOFQDN, NI_NUMERICHOST,
    NI_NUMERICSERV, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM,
};

/// glibc's `EAI_NODATA` and `EAI_ADDRFAMILY`: GNU extensions the `libc` crate does not export for
/// Linux; musl uses the same values. Other platforms report these cases as `EAI_NONAME`.
#[cfg(target_os = "linux")]
const EAI_NODATA: i32 = -5;
#[cfg(target_os = "linux")]
const EAI_ADDRFAMILY: i32 = -9;

/// The `EAI_*` codes of this platform.
pub(crate) const EAI_CODES: &[(EaiCode, i32)] = &[
    (EaiCode::Again, libc::EAI_AGAIN),
    (EaiCode::BadFlags, libc::EAI_BADFLAGS),
    (EaiCode::Fail, libc::EAI_FAIL),
    (EaiCode::Family, libc::EAI_FAMILY),
    (EaiCode::Memory, libc::EAI_MEMORY),
    (EaiCode::NoName, libc::EAI_NONAME),
    (EaiCode::Service, libc::EAI_SERVICE),
    (EaiCode::SockType, libc::EAI_SOCKTYPE),
    (EaiCode::System, libc::EAI_SYSTEM),
    (EaiCode::Overflow, libc::EAI_OVERFLOW),
    #[cfg(target_os = "linux")]
    (EaiCode::NoData, EAI_NODATA),
    #[cfg(target_os = "linux")]
    (EaiCode::AddrFamily, EAI_ADDRFAMILY),
];

/// `gai_strerror`'s text for resolver error `code`.
pub(crate) fn strerror(code: i32) -> String {
    // SAFETY: gai_strerror returns a pointer to a static, NUL-terminated string (or NULL on some
    // platforms for unknown codes), which is only read here.
    unsafe {
        let p = libc::gai_strerror(code);
        if p.is_null() {
            format!("unknown resolver error {code}")
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}

/// `NI_MAXHOST` and `NI_MAXSERV` as glibc defines them (musl's host bound is smaller; the larger buffer
/// fits both).
const NI_MAXHOST: usize = 1025;
const NI_MAXSERV: usize = 32;

/// Frees the list `getaddrinfo` returned, whatever happens while it is read.
struct AddrInfoList(*mut libc::addrinfo);

impl Drop for AddrInfoList {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from a successful getaddrinfo and is freed exactly once.
            unsafe { libc::freeaddrinfo(self.0) };
        }
    }
}

/// `errno` right after a failed call, read before anything else can change it.
fn last_errno() -> Option<i32> {
    std::io::Error::last_os_error().raw_os_error()
}

/// Calls `getaddrinfo(node, port, hints)`; `node == None` passes NULL (the wildcard or loopback
/// address, depending on `AI_PASSIVE`).
///
/// The port is passed as a numeric service with `AI_NUMERICSERV`, so `/etc/services` is never read.
pub(crate) fn getaddrinfo(node: Option<&CStr>, port: u16, hints: &Hints) -> Result<Vec<AddrInfo>, DnsError> {
    let service = match CString::new(port.to_string()) {
        Ok(s) => s,
        // Digits never contain NUL; kept as an error rather than a panic.
        Err(_) => return Err(DnsError::InvalidArgument(format!("port {port} is not representable"))),
    };
    // SAFETY: an all-zero addrinfo is a valid "no hints" value (null pointers, zero lengths).
    let mut raw_hints: libc::addrinfo = unsafe { mem::zeroed() };
    raw_hints.ai_family = hints.family;
    raw_hints.ai_socktype = hints.socktype;
    raw_hints.ai_protocol = hints.protocol;
    raw_hints.ai_flags = hints.flags | libc::AI_NUMERICSERV;

    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call: NUL-terminated node and service, initialised
    // hints, and an out-pointer the call fills only on success.
    let rc = unsafe {
        libc::getaddrinfo(node.map_or(std::ptr::null(), CStr::as_ptr), service.as_ptr(), &raw_hints, &mut res)
    };
    if rc != 0 {
        let errno = if rc == libc::EAI_SYSTEM { last_errno() } else { None };
        return Err(DnsError::from_gai(rc, errno));
    }
    let list = AddrInfoList(res);

    let mut out = Vec::new();
    let mut cur = list.0;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list, alive until `list` is dropped below.
        let ai = unsafe { &*cur };
        // SAFETY: ai_addr points to ai_addrlen bytes of a sockaddr of family ai_family.
        let addr = unsafe { sockaddr_to_std(ai.ai_addr, ai.ai_addrlen as usize) };
        if let Some(addr) = addr {
            let canonname = if ai.ai_canonname.is_null() {
                None
            } else {
                // SAFETY: a non-null ai_canonname is a NUL-terminated string owned by the list.
                Some(unsafe { CStr::from_ptr(ai.ai_canonname) }.to_string_lossy().into_owned())
            };
            out.push(AddrInfo {
                family: ai.ai_family,
                socktype: ai.ai_socktype,
                protocol: ai.ai_protocol,
                canonname,
                addr,
            });
        }
        // Families other than IPv4/IPv6 cannot appear (the family hint is checked), and are skipped
        // if a resolver returns them anyway.
        cur = ai.ai_next;
    }
    drop(list);
    Ok(out)
}

/// Calls `getnameinfo(addr, flags)` and returns `(host, service)`.
pub(crate) fn getnameinfo(addr: &SocketAddr, flags: i32) -> Result<(String, String), DnsError> {
    let (storage, len) = std_to_sockaddr(addr);
    let mut host = [0 as c_char; NI_MAXHOST];
    let mut serv = [0 as c_char; NI_MAXSERV];
    // SAFETY: the sockaddr is initialised for `len` bytes; both buffers are writable for the lengths
    // given, and getnameinfo NUL-terminates what it writes.
    let rc = unsafe {
        libc::getnameinfo(
            (&storage as *const libc::sockaddr_storage).cast(),
            len,
            host.as_mut_ptr(),
            // The length type differs between platforms (`socklen_t`, `size_t`); both buffers are small.
            host.len() as _,
            serv.as_mut_ptr(),
            serv.len() as _,
            flags,
        )
    };
    if rc != 0 {
        let errno = if rc == libc::EAI_SYSTEM { last_errno() } else { None };
        return Err(DnsError::from_gai(rc, errno));
    }
    // SAFETY: on success both buffers hold NUL-terminated strings (zero-initialised otherwise).
    let (h, s) = unsafe { (CStr::from_ptr(host.as_ptr()), CStr::from_ptr(serv.as_ptr())) };
    Ok((h.to_string_lossy().into_owned(), s.to_string_lossy().into_owned()))
}

/// Reads a `sockaddr_in`/`sockaddr_in6`; `None` for other families or a short length.
///
/// # Safety
///
/// `sa` must be null or point to at least `len` readable bytes.
pub(crate) unsafe fn sockaddr_to_std(sa: *const libc::sockaddr, len: usize) -> Option<SocketAddr> {
    if sa.is_null() || len < mem::size_of::<libc::sa_family_t>() {
        return None;
    }
    match i32::from((*sa).sa_family) {
        libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
            let sin = std::ptr::read_unaligned(sa.cast::<libc::sockaddr_in>());
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
        }
        libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
            let sin6 = std::ptr::read_unaligned(sa.cast::<libc::sockaddr_in6>());
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Writes `addr` as a `sockaddr_in`/`sockaddr_in6` inside a `sockaddr_storage`, with its length.
pub(crate) fn std_to_sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: plain data; the fields that matter are set below.
            let mut sin: libc::sockaddr_in = unsafe { mem::zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) };
            #[cfg(any(
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd",
                target_os = "dragonfly",
                target_os = "openbsd",
                target_os = "netbsd"
            ))]
            {
                sin.sin_len = mem::size_of::<libc::sockaddr_in>() as u8;
            }
            // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: plain data; the fields that matter are set below.
            let mut sin6: libc::sockaddr_in6 = unsafe { mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_addr = libc::in6_addr { s6_addr: a.ip().octets() };
            sin6.sin6_scope_id = a.scope_id();
            #[cfg(any(
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd",
                target_os = "dragonfly",
                target_os = "openbsd",
                target_os = "netbsd"
            ))]
            {
                sin6.sin6_len = mem::size_of::<libc::sockaddr_in6>() as u8;
            }
            // SAFETY: as above.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_round_trip() {
        for s in ["127.0.0.1:80", "[::1]:443", "[fe80::1%7]:22", "0.0.0.0:0"] {
            let a: SocketAddr = s.parse().unwrap();
            let (st, len) = std_to_sockaddr(&a);
            let back =
                unsafe { sockaddr_to_std((&st as *const libc::sockaddr_storage).cast(), len as usize) };
            assert_eq!(back, Some(a), "{s}");
        }
    }
}
