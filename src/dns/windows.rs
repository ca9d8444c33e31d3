//! The Winsock calls: `GetAddrInfoW`/`FreeAddrInfoW`, `GetNameInfoW`, and `SOCKADDR` conversions;
//! the Windows twin of `sys.rs`, with the same functions.
//!
//! Everything here blocks for as long as the resolver does and knows nothing of lanes or loops; the
//! module above decides on which thread it runs. Names cross as UTF-16 (the `W` calls), so a
//! non-ASCII host name reaches the resolver as the user wrote it.

use std::ffi::CStr;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::OnceLock;

use windows_sys::Win32::Networking::WinSock as ws;

use super::{AddrInfo, DnsError, EaiCode, Hints};

pub(crate) const AF_UNSPEC: i32 = ws::AF_UNSPEC as i32;
pub(crate) const AF_INET: i32 = ws::AF_INET as i32;
pub(crate) const AF_INET6: i32 = ws::AF_INET6 as i32;
pub(crate) const SOCK_STREAM: i32 = ws::SOCK_STREAM;
pub(crate) const SOCK_DGRAM: i32 = ws::SOCK_DGRAM;
pub(crate) const SOCK_RAW: i32 = ws::SOCK_RAW;
pub(crate) const IPPROTO_TCP: i32 = ws::IPPROTO_TCP;
pub(crate) const IPPROTO_UDP: i32 = ws::IPPROTO_UDP;
pub(crate) const AI_PASSIVE: i32 = ws::AI_PASSIVE as i32;
pub(crate) const AI_CANONNAME: i32 = ws::AI_CANONNAME as i32;
pub(crate) const AI_NUMERICHOST: i32 = ws::AI_NUMERICHOST as i32;
pub(crate) const AI_NUMERICSERV: i32 = ws::AI_NUMERICSERV as i32;
pub(crate) const AI_V4MAPPED: i32 = ws::AI_V4MAPPED as i32;
pub(crate) const AI_ALL: i32 = ws::AI_ALL as i32;
pub(crate) const AI_ADDRCONFIG: i32 = ws::AI_ADDRCONFIG as i32;
pub(crate) const NI_NUMERICHOST: i32 = ws::NI_NUMERICHOST as i32;
pub(crate) const NI_NUMERICSERV: i32 = ws::NI_NUMERICSERV as i32;
pub(crate) const NI_NOFQDN: i32 = ws::NI_NOFQDN as i32;
pub(crate) const NI_NAMEREQD: i32 = ws::NI_NAMEREQD as i32;
pub(crate) const NI_DGRAM: i32 = ws::NI_DGRAM as i32;

/// The `EAI_*` codes as Winsock spells them (`ws2tcpip.h` defines each as a `WSA*` error). Windows
/// has no `EAI_SYSTEM`, `EAI_OVERFLOW` or `EAI_ADDRFAMILY`: those are not reported by Windows itself.
pub(crate) const EAI_CODES: &[(EaiCode, i32)] = &[
    (EaiCode::Again, ws::WSATRY_AGAIN),
    (EaiCode::BadFlags, ws::WSAEINVAL),
    (EaiCode::Fail, ws::WSANO_RECOVERY),
    (EaiCode::Family, ws::WSAEAFNOSUPPORT),
    (EaiCode::Memory, ws::WSA_NOT_ENOUGH_MEMORY),
    (EaiCode::NoName, ws::WSAHOST_NOT_FOUND),
    (EaiCode::NoData, ws::WSANO_DATA),
    (EaiCode::Service, ws::WSATYPE_NOT_FOUND),
    (EaiCode::SockType, ws::WSAESOCKTNOSUPPORT),
    // Wine (8) passes glibc's codes for these two through untranslated.
    (EaiCode::NoData, -5),
    (EaiCode::AddrFamily, -9),
];

/// The text of resolver error `code`: `gai_strerrorW` is a header-only function, and what it returns
/// is the system message of the `WSA*` code, which `FormatMessageW` (through std) gives.
pub(crate) fn strerror(code: i32) -> String {
    match EAI_CODES.iter().find(|&&(_, raw)| raw == code) {
        _ if code > 0 => std::io::Error::from_raw_os_error(code).to_string(),
        // The untranslated glibc codes above have no system message.
        Some(&(known, _)) => format!("{} ({code})", known.name()),
        None => format!("unknown resolver error {code}"),
    }
}

/// Starts Winsock for this process once; the resolver calls fail with `WSANOTINITIALISED` before.
///
/// std starts it too, but only when a `std::net` socket is made first. The count `WSAStartup`
/// keeps is never brought back down: Winsock stays up until the process exits, as with std.
pub(crate) fn startup() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        // SAFETY: an all-zero WSADATA is a valid out-buffer, which the call fills.
        let mut data: ws::WSADATA = unsafe { mem::zeroed() };
        // SAFETY: version 2.2 with a pointer to a live WSADATA. A failure shows in the next call.
        let _ = unsafe { ws::WSAStartup(0x202, &mut data) };
    });
}

/// `s` as a NUL-terminated UTF-16 string.
fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(Some(0)).collect()
}

/// A NUL-terminated UTF-16 string read from `p`.
///
/// # Safety
///
/// `p` must be null or point to a NUL-terminated UTF-16 string.
unsafe fn from_wide(p: *const u16) -> Option<String> {
    if p.is_null() {
        return None;
    }
    let len = (0..).take_while(|&i| *p.add(i) != 0).count();
    Some(String::from_utf16_lossy(std::slice::from_raw_parts(p, len)))
}

/// Frees the list `GetAddrInfoW` returned, whatever happens while it is read.
struct AddrInfoList(*mut ws::ADDRINFOW);

impl Drop for AddrInfoList {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from a successful GetAddrInfoW and is freed exactly once.
            unsafe { ws::FreeAddrInfoW(self.0) };
        }
    }
}

/// Calls `GetAddrInfoW(node, port, hints)`; `node == None` passes NULL (the wildcard or loopback
/// address, depending on `AI_PASSIVE`). The port is numeric (`AI_NUMERICSERV`), as on Unix.
pub(crate) fn getaddrinfo(node: Option<&CStr>, port: u16, hints: &Hints) -> Result<Vec<AddrInfo>, DnsError> {
    startup();
    let node = match node.map(CStr::to_str).transpose() {
        Ok(node) => node.map(wide),
        // The caller made the CString from a &str.
        Err(_) => return Err(DnsError::InvalidArgument("the host name is not UTF-8".into())),
    };
    let service = wide(&port.to_string());
    // SAFETY: an all-zero ADDRINFOW is a valid "no hints" value (null pointers, zero lengths).
    let mut raw_hints: ws::ADDRINFOW = unsafe { mem::zeroed() };
    raw_hints.ai_family = hints.family;
    raw_hints.ai_socktype = hints.socktype;
    raw_hints.ai_protocol = hints.protocol;
    raw_hints.ai_flags = hints.flags | AI_NUMERICSERV;
    let mut res: *mut ws::ADDRINFOW = std::ptr::null_mut();
    // SAFETY: NUL-terminated node and service, initialised hints, and an out-pointer the call fills
    // only on success.
    let rc = unsafe {
        ws::GetAddrInfoW(
            node.as_ref().map_or(std::ptr::null(), |n| n.as_ptr()),
            service.as_ptr(),
            &raw_hints,
            &mut res,
        )
    };
    if rc != 0 {
        return Err(DnsError::from_gai(rc, None));
    }
    let list = AddrInfoList(res);
    let mut out = Vec::new();
    let mut cur = list.0;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list, alive until `list` is dropped below.
        let ai = unsafe { &*cur };
        // SAFETY: ai_addr points to ai_addrlen bytes of a SOCKADDR of family ai_family.
        if let Some(addr) = unsafe { sockaddr_to_std(ai.ai_addr, ai.ai_addrlen) } {
            out.push(AddrInfo {
                family: ai.ai_family,
                socktype: ai.ai_socktype,
                protocol: implied_protocol(ai.ai_socktype, ai.ai_protocol),
                // SAFETY: a non-null ai_canonname is a NUL-terminated string owned by the list.
                canonname: unsafe { from_wide(ai.ai_canonname) },
                addr,
            });
        }
        cur = ai.ai_next;
    }
    drop(list);
    Ok(out)
}

/// The protocol of an answer: Wine's `GetAddrInfoW` leaves it 0 where the socket type implies one
/// (glibc fills it in), so it is filled in here and an answer reads the same on every platform.
fn implied_protocol(socktype: i32, protocol: i32) -> i32 {
    match (socktype, protocol) {
        (SOCK_STREAM, 0) => IPPROTO_TCP,
        (SOCK_DGRAM, 0) => IPPROTO_UDP,
        _ => protocol,
    }
}

/// Calls `GetNameInfoW(addr, flags)` and returns `(host, service)`.
pub(crate) fn getnameinfo(addr: &SocketAddr, flags: i32) -> Result<(String, String), DnsError> {
    startup();
    let (storage, len) = std_to_sockaddr(addr);
    let mut host = [0u16; ws::NI_MAXHOST as usize];
    let mut serv = [0u16; ws::NI_MAXSERV as usize];
    // SAFETY: the SOCKADDR is initialised for `len` bytes; both buffers are writable for the
    // lengths given (in characters), and the call NUL-terminates what it writes.
    let rc = unsafe {
        ws::GetNameInfoW(
            (&storage as *const ws::SOCKADDR_STORAGE).cast(),
            len,
            host.as_mut_ptr(),
            host.len() as u32,
            serv.as_mut_ptr(),
            serv.len() as u32,
            flags,
        )
    };
    if rc != 0 {
        // SAFETY: no other Winsock call ran on this thread since the failing one.
        return Err(DnsError::from_gai(unsafe { ws::WSAGetLastError() }, None));
    }
    // SAFETY: on success both buffers hold NUL-terminated strings (zero-initialised otherwise).
    let (h, s) = unsafe { (from_wide(host.as_ptr()), from_wide(serv.as_ptr())) };
    Ok((h.unwrap_or_default(), s.unwrap_or_default()))
}

/// Reads a `SOCKADDR_IN`/`SOCKADDR_IN6`; `None` for other families or a short length.
///
/// # Safety
///
/// `sa` must be null or point to at least `len` readable bytes.
pub(crate) unsafe fn sockaddr_to_std(sa: *const ws::SOCKADDR, len: usize) -> Option<SocketAddr> {
    if sa.is_null() || len < mem::size_of::<ws::ADDRESS_FAMILY>() {
        return None;
    }
    match (*sa).sa_family {
        ws::AF_INET if len >= mem::size_of::<ws::SOCKADDR_IN>() => {
            let sin = std::ptr::read_unaligned(sa.cast::<ws::SOCKADDR_IN>());
            let ip = Ipv4Addr::from(sin.sin_addr.S_un.S_addr.to_ne_bytes());
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
        }
        ws::AF_INET6 if len >= mem::size_of::<ws::SOCKADDR_IN6>() => {
            let sin6 = std::ptr::read_unaligned(sa.cast::<ws::SOCKADDR_IN6>());
            let ip = Ipv6Addr::from(sin6.sin6_addr.u.Byte);
            let (port, flow, scope) =
                (u16::from_be(sin6.sin6_port), sin6.sin6_flowinfo, sin6.Anonymous.sin6_scope_id);
            Some(SocketAddr::V6(SocketAddrV6::new(ip, port, flow, scope)))
        }
        _ => None,
    }
}

/// Writes `addr` as a `SOCKADDR_IN`/`SOCKADDR_IN6` inside a `SOCKADDR_STORAGE`, with its length.
pub(crate) fn std_to_sockaddr(addr: &SocketAddr) -> (ws::SOCKADDR_STORAGE, i32) {
    let mut storage = ws::SOCKADDR_STORAGE::default();
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = ws::SOCKADDR_IN {
                sin_family: ws::AF_INET,
                sin_port: a.port().to_be(),
                sin_addr: ws::IN_ADDR { S_un: ws::IN_ADDR_0 { S_addr: u32::from_ne_bytes(a.ip().octets()) } },
                sin_zero: [0; 8],
            };
            // SAFETY: SOCKADDR_STORAGE is large and aligned enough for any SOCKADDR.
            unsafe { std::ptr::write((&mut storage as *mut ws::SOCKADDR_STORAGE).cast(), sin) };
            mem::size_of::<ws::SOCKADDR_IN>()
        }
        SocketAddr::V6(a) => {
            let sin6 = ws::SOCKADDR_IN6 {
                sin6_family: ws::AF_INET6,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: ws::IN6_ADDR { u: ws::IN6_ADDR_0 { Byte: a.ip().octets() } },
                Anonymous: ws::SOCKADDR_IN6_0 { sin6_scope_id: a.scope_id() },
            };
            // SAFETY: as above.
            unsafe { std::ptr::write((&mut storage as *mut ws::SOCKADDR_STORAGE).cast(), sin6) };
            mem::size_of::<ws::SOCKADDR_IN6>()
        }
    };
    (storage, len as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_round_trip() {
        for s in ["127.0.0.1:80", "[::1]:443", "[fe80::1%7]:22", "0.0.0.0:0"] {
            let a: SocketAddr = s.parse().unwrap();
            let (st, len) = std_to_sockaddr(&a);
            let back = unsafe { sockaddr_to_std((&st as *const ws::SOCKADDR_STORAGE).cast(), len as usize) };
            assert_eq!(back, Some(a), "{s}");
        }
    }
}
