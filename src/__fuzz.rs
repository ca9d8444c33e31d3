//! Entry points for the fuzz targets under `fuzz/` (built with `--cfg fuzzing`), and the unit test
//! that replays their corpora on every `cargo test`.
//!
//! Not part of the API: hidden, compiled only for fuzzing and for the crate's own tests. Each entry
//! takes arbitrary bytes, drives one parser, and panics only when an invariant of that parser breaks
//! (a panic inside the parser itself is a finding too).

use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::dns::{self, DnsError, Hints};
use crate::process_pool::code::{decode_args, decode_exact, encode_capped};
use crate::process_pool::wire::{self, FrameError, FrameReader, ToParent, ToWorker, HANDSHAKE_MAX};

/// A stream that hands its bytes out in reads of varying size (partial reads) drawn from `seed`,
/// or as much as fits when `seed` is `None`.
struct Trickle<'a> {
    data: &'a [u8],
    seed: Option<u32>,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // A small LCG: deterministic, so a crash replays.
        let next = self.seed.map(|s| s.wrapping_mul(1_103_515_245).wrapping_add(12_345));
        self.seed = next;
        let want = next.map_or(usize::MAX, |s| 1 + (s >> 16) as usize % 64);
        let n = want.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// What a reader made of a stream: the messages in order, then the error that broke it, if any.
fn read_all(data: &[u8], max: usize, seed: Option<u32>) -> Vec<String> {
    let mut reader = FrameReader::new(max);
    let mut src = Trickle { data, seed };
    let mut seen = Vec::new();
    loop {
        loop {
            match reader.next_to_parent() {
                Ok(Some(msg)) => seen.push(format!("{msg:?}")),
                Ok(None) => break,
                Err(e) => {
                    assert_eq!(
                        reader.next_to_parent().err(),
                        Some(e.clone()),
                        "a broken stream stays broken"
                    );
                    seen.push(format!("error: {e}"));
                    return seen;
                }
            }
        }
        match reader.read_from(&mut src) {
            Ok(0) => return seen,
            Ok(_) => {}
            Err(_) => {
                let why = reader.next_to_parent().err();
                assert!(matches!(why, Some(FrameError::TooLarge { .. })), "a refused read is explained");
                seen.push(format!("error: {}", why.unwrap_or(FrameError::Empty)));
                return seen;
            }
        }
    }
}

/// The frame reader over a stream from a worker: lengths, kinds, partial reads.
///
/// Byte 0 picks the body limit, byte 1 how the stream is cut into reads. Invariants: the messages
/// do not depend on how the stream was cut, and no body is over the limit.
pub fn frame_reader(data: &[u8]) {
    let [limit, seed, stream @ ..] = data else { return };
    let max = 1 + usize::from(*limit) * 16;
    let whole = read_all(stream, max, None);
    let cut = read_all(stream, max, Some(u32::from(*seed)));
    assert_eq!(whole, cut, "the messages depend on how the stream was cut into reads");
}

/// The worker's side of the frame reader: what [`FrameReader::scan_new`] sees ahead is exactly what
/// `next_frame` then returns, once each, whatever the reads.
pub fn frame_scan(data: &[u8]) {
    let [limit, seed, stream @ ..] = data else { return };
    let mut reader = FrameReader::new(1 + usize::from(*limit) * 16);
    let mut src = Trickle { data: stream, seed: Some(u32::from(*seed)) };
    let (mut scanned, mut taken) = (Vec::new(), Vec::new());
    while let Ok(n) = reader.read_from(&mut src) {
        reader.scan_new(|body| scanned.push(body.to_vec()));
        while let Ok(Some(body)) = reader.next_frame() {
            let _ = wire::parse_to_worker(body);
            taken.push(body.to_vec());
        }
        if n == 0 {
            break;
        }
    }
    assert_eq!(scanned, taken, "scan_new and next_frame disagree");
}

/// The handshake: `Hello` (token, fingerprint, versions, limit) as a worker parses it, and `Ready` /
/// `Refused` as the pool does. What parses re-encodes to the same bytes; a fingerprint mismatch is
/// reported exactly when the fingerprints differ.
pub fn handshake(body: &[u8]) {
    if let Ok(ToWorker::Hello { token, fingerprint, max_frame, init_off }) = wire::parse_to_worker(body) {
        assert!(max_frame as usize >= HANDSHAKE_MAX);
        let mut out = Vec::new();
        wire::encode_hello(&mut out, &token, &fingerprint, max_frame, init_off);
        assert_eq!(&out[wire::PREFIX..], body, "Hello does not round-trip");
        let ours =
            wire::Fingerprint { protocol: wire::PROTOCOL_VERSION, dev: 1, ino: 2, len: 3, mtime: 4, code: 5 };
        assert_eq!(ours.mismatch(&fingerprint).is_none(), ours == fingerprint);
    }
    let mut out = Vec::new();
    match wire::parse_to_parent(body) {
        Ok(ToParent::Ready { token, pid }) => wire::encode_ready(&mut out, &token, pid),
        Ok(ToParent::Refused(why)) if why.len() < HANDSHAKE_MAX => wire::encode_refused(&mut out, why),
        _ => return,
    }
    assert_eq!(&out[wire::PREFIX..], body, "Ready / Refused does not round-trip");
}

/// Decodes `bytes` as a `T` the way the pool does; what decodes re-encodes (within a cap, or fails
/// cleanly with the output untouched) and decodes to the same value.
fn decode_as<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    let Ok(value) = decode_exact::<T>(bytes) else { return };
    let mut out = vec![0xAA];
    match encode_capped(&value, &mut out, bytes.len(), "the value") {
        Ok(()) => assert_eq!(decode_exact::<T>(&out[1..]).ok().as_ref(), Some(&value)),
        Err(_) => assert_eq!(out, [0xAA], "a failed encoding leaves the output as it was"),
    }
}

/// Postcard payloads of a few shapes a user's task or result might have.
fn decode_shapes(bytes: &[u8]) {
    decode_as::<(u64, String, Vec<u8>, Option<i32>)>(bytes);
    decode_as::<Vec<String>>(bytes);
    decode_as::<Result<Vec<u64>, String>>(bytes);
    decode_as::<std::collections::BTreeMap<String, (bool, char)>>(bytes);
}

/// A task frame as a worker decodes it: the header, then the arguments (postcard) in a few shapes.
pub fn task(body: &[u8]) {
    if let Ok(ToWorker::Task { args, .. }) = wire::parse_to_worker(body) {
        let _ = decode_args::<(u64, String)>(args);
        decode_shapes(args);
    }
}

/// A result frame as the pool decodes it: the header and status, then the value (postcard).
pub fn result(body: &[u8]) {
    if let Ok(ToParent::Result { status: wire::Status::Value(value), .. }) = wire::parse_to_parent(body) {
        decode_shapes(value);
    }
}

/// `getaddrinfo` and `getnameinfo` argument validation (no resolver is called: only the checks and
/// the numeric paths run). Bytes 0..16: flags, family, socket type, protocol; the rest: the host.
pub fn dns_arguments(data: &[u8]) {
    let Some((head, host)) = data.split_first_chunk::<16>() else { return };
    let int = |i: usize| i32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let hints = Hints { flags: int(0), family: int(4), socktype: int(8), protocol: int(12) };
    let host = String::from_utf8_lossy(host);
    match dns::check_addr_args(&host, &hints) {
        Ok(Some(node)) => {
            assert_eq!(node.as_bytes(), host.as_bytes());
            assert!(host.len() <= dns::MAX_HOST_LEN + 1);
        }
        Ok(None) => assert!(host.is_empty() && hints.flags & dns::AI_PASSIVE != 0),
        Err(DnsError::InvalidHost { .. } | DnsError::InvalidArgument(_)) => {}
        Err(e) => panic!("the checks failed with an error that is not about the arguments: {e}"),
    }
    getnameinfo_arguments(int(0), host.as_bytes());
}

/// `getnameinfo` with arbitrary flags: invalid ones fail at once, before any thread is involved;
/// valid ones, made numeric so no resolver runs, answer at once with the address itself.
fn getnameinfo_arguments(flags: i32, addr: &[u8]) {
    let ip = match *addr {
        [a, b, c, d, ..] if addr.len() < 16 => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        _ => match addr.first_chunk::<16>() {
            Some(b) => IpAddr::V6(Ipv6Addr::from(*b)),
            None => IpAddr::V4(Ipv4Addr::LOCALHOST),
        },
    };
    let addr = SocketAddr::new(ip, flags as u16);
    let numeric = dns::NI_NUMERICHOST | dns::NI_NUMERICSERV;
    let contradictory = flags & dns::NI_NUMERICHOST != 0 && flags & dns::NI_NAMEREQD != 0;
    if flags & !dns::KNOWN_NI_FLAGS != 0 || contradictory {
        let lookup = dns::getnameinfo(addr, flags);
        assert!(lookup.is_done(), "invalid flags are refused at once");
        assert!(matches!(lookup.wait(), Err(DnsError::InvalidArgument(_))));
        return;
    }
    if cfg!(miri) {
        return; // getnameinfo(3) is FFI, out of Miri's reach; the checks above are not.
    }
    let flags = (flags & !dns::NI_NAMEREQD) | numeric;
    let (host, port) = dns::getnameinfo(addr, flags).wait().expect("a numeric getnameinfo answers");
    assert_eq!(port, addr.port().to_string());
    if let IpAddr::V4(v4) = ip {
        assert_eq!(host.parse::<Ipv4Addr>().ok(), Some(v4));
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every file of every corpus under `fuzz/corpus/`, through its target: the regression tests
    /// for what fuzzing found, and a smoke test of the targets without a fuzzer.
    #[test]
    fn the_fuzz_corpora_replay_clean() {
        type Target = (&'static str, fn(&[u8]));
        let targets: [Target; 6] = [
            ("frame_reader", super::frame_reader),
            ("frame_scan", super::frame_scan),
            ("handshake", super::handshake),
            ("task", super::task),
            ("result", super::result),
            ("dns_arguments", super::dns_arguments),
        ];
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        for (name, target) in targets {
            let dir = root.join(name);
            let files = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            let mut n = 0;
            for file in files {
                let path = file.expect("a directory entry").path();
                target(&std::fs::read(&path).expect("a corpus file"));
                n += 1;
            }
            assert!(n > 0, "the corpus of {name} is empty");
        }
    }
}
