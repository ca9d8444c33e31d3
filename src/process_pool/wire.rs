//! The wire format between the pool and its workers: length-prefixed frames on two pipes.
//!
//! Every message is one frame: a little-endian `u32` body length, then the body. The body's first byte
//! says what it is:
//!
//! ```text
//!  parent -> worker                         worker -> parent
//!  0x01 Hello  token[16] fingerprint max    0x81 Ready    token[16] pid:u32
//!  0x02 Task   id:u64 fn:i64 tramp:i64 args 0x82 Refused  reason (UTF-8)
//!  0x03 Cancel seq:u64                      0x83 Result   id:u64 exec_ns:u64 status:u8 payload
//!                                           0x84 TakenBack from:u64 upto:u64
//! ```
//!
//! With the `tracing` feature, two more kinds carry spans and events (see `process_pool::trace`):
//! `0x04 Trace` before a task's frame, `0x85 Event` from the task as it runs. On a remote worker's
//! link (see `nanny`): `0x05 Kill` to the worker, which reads the link itself; `0x06 Restart
//! token[16]` to the nanny, after its worker's end; `0x86 Gone` and `0x87 Beat` from the nanny.
//!
//! Integers are fixed-width little-endian: headers are parsed with a handful of loads and no branches
//! on the data, and the variable part (arguments, results) is postcard, encoded by the caller.
//!
//! # Implementation
//!
//! [`FrameReader`] owns one read buffer per pipe. It reads whatever the pipe has (many frames per
//! `read` when the peer is fast), hands out complete frame bodies as borrowed slices, and only ever
//! grows its buffer for a frame whose announced length has already been checked against the limit:
//! a malformed or hostile length prefix is rejected *before* anything is allocated for it.

use std::fmt;
use std::io::{self, Read};

/// Bytes of the length prefix.
pub(crate) const PREFIX: usize = 4;

/// Limit on frame bodies until the handshake has told the worker the pool's `max_frame_size`.
pub(crate) const HANDSHAKE_MAX: usize = 4096;

/// Size of the first read buffer; most batches of small frames fit in one.
const READ_CHUNK: usize = 64 * 1024;

/// A buffer that grew for one large frame is given back once it is empty and this much bigger than
/// the usual chunk, so one huge result does not pin memory for the life of the pool.
const SHRINK_ABOVE: usize = 4 * READ_CHUNK;

pub(crate) const KIND_HELLO: u8 = 0x01;
pub(crate) const KIND_TASK: u8 = 0x02;
pub(crate) const KIND_CANCEL: u8 = 0x03;
pub(crate) const KIND_READY: u8 = 0x81;
pub(crate) const KIND_REFUSED: u8 = 0x82;
pub(crate) const KIND_RESULT: u8 = 0x83;
#[cfg(feature = "tracing")]
pub(crate) const KIND_TRACE: u8 = 0x04;
#[cfg(feature = "tracing")]
pub(crate) const KIND_EVENT: u8 = 0x85;
/// A worker hands back tasks it has not started (see [`encode_taken_back`]).
pub(crate) const KIND_TAKEN_BACK: u8 = 0x84;
/// Pool → remote worker: end now (a task's timeout or cancel), with whatever its tasks started;
/// its nanny answers `Gone`. Bare, so that a worker's link watcher can spot it while a task runs.
pub(crate) const KIND_KILL: u8 = 0x05;
/// Pool → nanny, after a `Gone`: start a fresh worker on this link. Its body is the link's token:
/// the nanny finds it by its bytes (see [`restart_marker`]), since a dead worker may have left the
/// stream anywhere in a frame, and drops what came before it (it was meant for the dead worker).
/// The pool sends nothing after it until the new worker's `Ready`.
pub(crate) const KIND_RESTART: u8 = 0x06;
/// Nanny → pool: the worker is gone: its wait status, one more than the sequence number of the
/// last task it started (`u64::MAX`: unknown), and why. Frames after it come from the next worker.
pub(crate) const KIND_GONE: u8 = 0x86;
/// Nanny → pool: a heartbeat, sent every interval the pool asked for.
pub(crate) const KIND_BEAT: u8 = 0x87;

/// Result statuses carried by a `Result` frame.
pub(crate) const STATUS_VALUE: u8 = 0;
pub(crate) const STATUS_PANICKED: u8 = 1;
pub(crate) const STATUS_CODEC: u8 = 2;
pub(crate) const STATUS_SKIPPED: u8 = 3;
pub(crate) const STATUS_REJECTED: u8 = 4;
/// The pool's initializer failed in this worker; the task never ran and the pool is broken.
pub(crate) const STATUS_INIT_FAILED: u8 = 5;
/// The task's per-worker state could not be made; the task never ran.
pub(crate) const STATUS_STATE_FAILED: u8 = 6;

/// Bumped whenever a frame layout changes; part of the handshake.
pub(crate) const PROTOCOL_VERSION: u32 = 3;

/// Bytes of a task frame before its arguments: prefix, kind, id, function and trampoline offsets.
pub(crate) const TASK_HEADER: usize = PREFIX + 1 + 8 + 8 + 8;

/// Bytes of a result frame before its payload: prefix, kind, id, execution time, status.
pub(crate) const RESULT_HEADER: usize = PREFIX + 1 + 8 + 8 + 1;

/// Why a frame was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// The length prefix announces more than the limit allows.
    TooLarge { len: usize, max: usize },
    /// A zero-length body: every body has at least its kind byte.
    Empty,
    /// The kind byte is not one this side accepts.
    UnknownKind(u8),
    /// The body is shorter than its kind requires.
    Truncated { kind: u8, len: usize },
    /// A field that must be UTF-8 is not.
    BadText,
    /// A field has a value its kind does not allow.
    BadField(&'static str),
    /// The reader's owner refused a well-formed frame (it was not expected there); the text says why.
    Refused(String),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { len, max } => {
                write!(f, "frame of {len} bytes is over the limit of {max} bytes")
            }
            FrameError::Empty => f.write_str("empty frame"),
            FrameError::UnknownKind(k) => write!(f, "unknown frame kind {k:#04x}"),
            FrameError::Truncated { kind, len } => {
                write!(f, "frame of kind {kind:#04x} is truncated ({len} bytes)")
            }
            FrameError::BadText => f.write_str("frame text is not UTF-8"),
            FrameError::BadField(what) => write!(f, "frame has an invalid {what}"),
            FrameError::Refused(why) => f.write_str(why),
        }
    }
}

/// Incremental frame decoder over a byte stream.
///
/// Feed it with [`read_from`](Self::read_from), take frames with [`next_frame`](Self::next_frame).
pub(crate) struct FrameReader {
    /// Always fully initialized; `start..end` holds unconsumed bytes.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Largest body accepted; checked before the buffer grows for a frame.
    max: usize,
    /// Where [`scan_new`](Self::scan_new) stopped, as an index into `buf` (always `>= start`).
    scanned: usize,
    /// The first error: once set, every later frame is refused with it, since a peer that sent
    /// one bad frame may have sent anything after it.
    broken: Option<FrameError>,
    /// The last [`read_from`](Self::read_from) filled all the room it had.
    filled: bool,
}

impl FrameReader {
    /// A reader that accepts bodies of at most `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        FrameReader {
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            max,
            scanned: 0,
            broken: None,
            filled: false,
        }
    }

    /// Changes the body limit (after the handshake).
    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// Bytes received but not yet taken as frames.
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Length announced by the frame at `at`, if its prefix is complete.
    fn announced(&self, at: usize) -> Option<usize> {
        if at + PREFIX > self.end {
            return None;
        }
        let p = &self.buf[at..at + PREFIX];
        Some(u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as usize)
    }

    /// Makes room for the next read: compacts, and grows only for a frame whose length passed the
    /// limit check.
    fn make_room(&mut self) {
        let need = match self.announced(self.start) {
            Some(len) if len <= self.max => PREFIX + len,
            // Over the limit: `next_frame` reports it; reading more would be pointless.
            Some(_) => return,
            None => PREFIX,
        };
        if self.start == self.end && self.buf.len() > SHRINK_ABOVE {
            self.buf = vec![0; READ_CHUNK];
            self.start = 0;
            self.end = 0;
            self.scanned = 0;
        }
        if self.end < self.buf.len() && self.buf.len() - self.start >= need {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scanned -= self.start;
            self.start = 0;
        }
        if self.buf.len() < need {
            self.buf.resize(need.max(READ_CHUNK), 0);
        } else if self.end == self.buf.len() {
            // Full of complete frames the caller has not taken yet (the worker reads ahead to see
            // cancellations): make room rather than refuse. The pool bounds what it sends ahead.
            let len = self.buf.len() * 2;
            self.buf.resize(len, 0);
        }
    }

    /// Reads once from `src` into the buffer; `Ok(0)` means end of stream.
    ///
    /// Refuses (`InvalidData`) once the frame at the front announces more than the limit: the stream
    /// is unusable from there, and `next_frame` says why.
    pub(crate) fn read_from(&mut self, src: &mut impl Read) -> io::Result<usize> {
        if self.announced(self.start).is_some_and(|len| len > self.max) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "frame over the size limit"));
        }
        self.make_room();
        let n = src.read(&mut self.buf[self.end..])?;
        self.end += n;
        self.filled = self.end == self.buf.len();
        Ok(n)
    }

    /// Whether the last [`read_from`](Self::read_from) filled all the room it had: one that did
    /// not, from a pipe, took everything the pipe held.
    pub(crate) fn filled_last_read(&self) -> bool {
        self.filled
    }

    /// Appends bytes as if read (a remote worker's handshake, and what its link watcher read).
    #[cfg_attr(windows, allow(dead_code))] // remote workers are Unix-only
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Result<(), FrameError> {
        while !bytes.is_empty() {
            self.make_room();
            if self.end == self.buf.len() {
                if let Some(len) = self.announced(self.start) {
                    return Err(FrameError::TooLarge { len, max: self.max });
                }
            }
            let n = bytes.len().min(self.buf.len() - self.end);
            self.buf[self.end..self.end + n].copy_from_slice(&bytes[..n]);
            self.end += n;
            bytes = &bytes[n..];
        }
        Ok(())
    }

    /// The next complete frame body, `None` if more bytes are needed.
    ///
    /// After an error the stream is unusable (frame boundaries are lost, or the peer is not to be
    /// trusted): every later call returns the same error, and the caller drops the peer.
    pub(crate) fn next_frame(&mut self) -> Result<Option<&[u8]>, FrameError> {
        Ok(self.next_body()?.map(|r| &self.buf[r]))
    }

    /// The next message from a worker, `None` if more bytes are needed; a frame that does not parse
    /// breaks the stream (see [`next_frame`](Self::next_frame)).
    pub(crate) fn next_to_parent(&mut self) -> Result<Option<ToParent<'_>>, FrameError> {
        let Some(body) = self.next_body()? else { return Ok(None) };
        match parse_to_parent(&self.buf[body]) {
            Ok(msg) => Ok(Some(msg)),
            Err(e) => {
                self.broken = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Breaks the stream: the owner refused a frame it took, for `why`; nothing after it is read.
    pub(crate) fn refuse(&mut self, why: String) {
        self.broken.get_or_insert(FrameError::Refused(why));
    }

    /// Where the next complete frame body lies in `buf` (it is consumed), `None` if more bytes are
    /// needed.
    fn next_body(&mut self) -> Result<Option<std::ops::Range<usize>>, FrameError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        let Some(len) = self.announced(self.start) else { return Ok(None) };
        let bad = if len > self.max {
            Some(FrameError::TooLarge { len, max: self.max })
        } else {
            (len == 0).then_some(FrameError::Empty)
        };
        if let Some(e) = bad {
            self.broken = Some(e.clone());
            return Err(e);
        }
        let body_at = self.start + PREFIX;
        if self.end - body_at < len {
            return Ok(None);
        }
        self.start = body_at + len;
        if self.scanned < self.start {
            self.scanned = self.start;
        }
        Ok(Some(body_at..body_at + len))
    }

    /// Where the stream stands after the last byte received, for a [`FrameWalker`] that goes on
    /// from there. Valid after [`scan_new`](Self::scan_new), which leaves only the start of a frame
    /// unscanned.
    #[cfg_attr(windows, allow(dead_code))] // remote workers are Unix-only
    pub(crate) fn walker(&self) -> FrameWalker {
        let mut w = FrameWalker::default();
        w.advance(&self.buf[self.scanned.max(self.start)..self.end], |_| {});
        w
    }

    /// Calls `visit` on every complete frame not visited before, without consuming any.
    ///
    /// The worker uses it to see `Cancel` frames that sit behind tasks it has not reached yet. It
    /// stops at a prefix that would be rejected; `next_frame` reports that one in order.
    pub(crate) fn scan_new(&mut self, mut visit: impl FnMut(&[u8])) {
        let mut at = self.scanned.max(self.start);
        while let Some(len) = self.announced(at) {
            if len == 0 || len > self.max || self.end - at - PREFIX < len {
                break;
            }
            visit(&self.buf[at + PREFIX..at + PREFIX + len]);
            at += PREFIX + len;
        }
        self.scanned = at;
    }
}

/// Follows a stream's frames by their length prefixes without keeping them: to tell when it is
/// between two, and to see bare frames (a kind byte alone) go by.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
#[cfg_attr(windows, allow(dead_code))] // remote workers are Unix-only
pub(crate) struct FrameWalker {
    /// Bytes of the current frame's body still to come.
    body_left: usize,
    /// The bytes of the current prefix seen so far, and how many.
    prefix: [u8; PREFIX],
    have: usize,
}

#[cfg_attr(windows, allow(dead_code))]
impl FrameWalker {
    /// Whether the stream is between two frames.
    pub(crate) fn between(&self) -> bool {
        self.body_left == 0 && self.have == 0
    }

    /// Walks over `bytes`, calling `bare` with the kind of each bare frame in them.
    pub(crate) fn advance(&mut self, mut bytes: &[u8], mut bare: impl FnMut(u8)) {
        while !bytes.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(bytes.len());
                // A body of one byte, taken whole here: the frame is bare.
                if self.body_left == 1 && self.prefix == 1u32.to_le_bytes() {
                    bare(bytes[0]);
                }
                self.body_left -= n;
                bytes = &bytes[n..];
                continue;
            }
            let n = (PREFIX - self.have).min(bytes.len());
            self.prefix[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            if self.have == PREFIX {
                self.body_left = u32::from_le_bytes(self.prefix) as usize;
                self.have = 0;
            }
        }
    }
}

/// Writes a frame's prefix placeholder and kind; returns where the frame starts.
pub(crate) fn begin_frame(out: &mut Vec<u8>, kind: u8) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0; PREFIX]);
    out.push(kind);
    at
}

/// Fills in the length prefix of the frame begun at `at`; `Err(len)` when the body is over `max`
/// (the frame is then removed again).
pub(crate) fn end_frame(out: &mut Vec<u8>, at: usize, max: usize) -> Result<(), usize> {
    let len = out.len() - at - PREFIX;
    if len > max || len > u32::MAX as usize {
        out.truncate(at);
        return Err(len);
    }
    out[at..at + PREFIX].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(())
}

/// What identifies the program a worker runs, compared during the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    pub(crate) protocol: u32,
    /// Device and inode of the executable file (zero where unknown).
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    /// Size and modification time of the executable file.
    pub(crate) len: u64,
    pub(crate) mtime: i64,
    /// Offsets of a few of tulip's own functions from the base symbol: equal only in the same build.
    pub(crate) code: u64,
}

const FINGERPRINT_LEN: usize = 4 + 8 * 5;

impl Fingerprint {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.protocol.to_le_bytes());
        out.extend_from_slice(&self.dev.to_le_bytes());
        out.extend_from_slice(&self.ino.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&self.mtime.to_le_bytes());
        out.extend_from_slice(&self.code.to_le_bytes());
    }

    fn decode(b: &[u8]) -> Fingerprint {
        let mut c = Cursor(b);
        Fingerprint {
            protocol: c.u32(),
            dev: c.u64(),
            ino: c.u64(),
            len: c.u64(),
            mtime: c.u64() as i64,
            code: c.u64(),
        }
    }

    /// Why `theirs` (the parent's) is not this program, or `None` when it is.
    pub(crate) fn mismatch(&self, theirs: &Fingerprint) -> Option<String> {
        if self.protocol != theirs.protocol {
            return Some(format!(
                "the worker speaks protocol {} but the pool speaks {}: they are different tulip versions",
                self.protocol, theirs.protocol
            ));
        }
        if (self.dev, self.ino) != (theirs.dev, theirs.ino) {
            return Some(format!(
                "the worker runs a different executable file (device {} inode {}) than the pool's \
                 program (device {} inode {}): the program was replaced on disk after it started",
                self.dev, self.ino, theirs.dev, theirs.ino
            ));
        }
        if (self.len, self.mtime) != (theirs.len, theirs.mtime) {
            return Some(format!(
                "the worker's executable ({} bytes, modified at {}) differs from the pool's program \
                 ({} bytes, modified at {}): the program was rebuilt after it started",
                self.len, self.mtime, theirs.len, theirs.mtime
            ));
        }
        if self.code != theirs.code {
            return Some(
                "the worker's code layout differs from the pool's program: they are not the same build"
                    .to_string(),
            );
        }
        None
    }
}

/// Sequential little-endian reader over a body whose length was checked beforehand.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    fn u32(&mut self) -> u32 {
        let b = self.take(4);
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    fn u64(&mut self) -> u64 {
        let mut a = [0; 8];
        a.copy_from_slice(self.take(8));
        u64::from_le_bytes(a)
    }
    fn rest(self) -> &'a [u8] {
        self.0
    }
}

fn need(body: &[u8], n: usize) -> Result<Cursor<'_>, FrameError> {
    if body.len() < n {
        return Err(FrameError::Truncated { kind: body[0], len: body.len() });
    }
    Ok(Cursor(&body[1..]))
}

fn exact(body: &[u8], n: usize) -> Result<Cursor<'_>, FrameError> {
    if body.len() != n {
        return Err(FrameError::Truncated { kind: body[0], len: body.len() });
    }
    Ok(Cursor(&body[1..]))
}

fn text(b: &[u8]) -> Result<&str, FrameError> {
    std::str::from_utf8(b).map_err(|_| FrameError::BadText)
}

/// A message from the pool to a worker.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToWorker<'a> {
    /// `init_off`: the offset of the pool's initializer, 0 for none.
    Hello {
        token: [u8; 16],
        fingerprint: Fingerprint,
        max_frame: u32,
        init_off: i64,
    },
    Task {
        id: u64,
        fn_off: i64,
        tramp_off: i64,
        args: &'a [u8],
    },
    Cancel {
        seq: u64,
    },
    /// The submitter's span and level, for the next task (see `process_pool::trace`).
    #[cfg(feature = "tracing")]
    Trace(&'a [u8]),
    /// End now (remote workers only, see [`KIND_KILL`]).
    Kill,
}

const HELLO_LEN: usize = 1 + 16 + FINGERPRINT_LEN + 4 + 8;

/// Appends a complete `Hello` frame (`init_off`: the initializer's offset, 0 for none).
pub(crate) fn encode_hello(
    out: &mut Vec<u8>,
    token: &[u8; 16],
    fingerprint: &Fingerprint,
    max_frame: u32,
    init_off: i64,
) {
    let at = begin_frame(out, KIND_HELLO);
    out.extend_from_slice(token);
    fingerprint.encode(out);
    out.extend_from_slice(&max_frame.to_le_bytes());
    out.extend_from_slice(&init_off.to_le_bytes());
    // A fixed, small body: always within HANDSHAKE_MAX.
    let _ = end_frame(out, at, HANDSHAKE_MAX);
}

/// Appends the header of a `Task` frame; the caller appends the arguments, then calls [`end_frame`].
pub(crate) fn begin_task(out: &mut Vec<u8>, id: u64, fn_off: i64, tramp_off: i64) -> usize {
    let at = begin_frame(out, KIND_TASK);
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&fn_off.to_le_bytes());
    out.extend_from_slice(&tramp_off.to_le_bytes());
    at
}

/// Appends a complete `Cancel` frame for the worker's `seq`-th task.
pub(crate) fn encode_cancel(out: &mut Vec<u8>, seq: u64) {
    let at = begin_frame(out, KIND_CANCEL);
    out.extend_from_slice(&seq.to_le_bytes());
    let _ = end_frame(out, at, HANDSHAKE_MAX);
}

/// Parses a body sent to a worker.
pub(crate) fn parse_to_worker(body: &[u8]) -> Result<ToWorker<'_>, FrameError> {
    let Some(&kind) = body.first() else { return Err(FrameError::Empty) };
    match kind {
        KIND_HELLO => {
            let mut c = exact(body, HELLO_LEN)?;
            let mut token = [0; 16];
            token.copy_from_slice(c.take(16));
            let fingerprint = Fingerprint::decode(c.take(FINGERPRINT_LEN));
            let max_frame = c.u32();
            if (max_frame as usize) < HANDSHAKE_MAX {
                return Err(FrameError::BadField("max_frame_size"));
            }
            let init_off = c.u64() as i64;
            Ok(ToWorker::Hello { token, fingerprint, max_frame, init_off })
        }
        KIND_TASK => {
            let mut c = need(body, TASK_HEADER - PREFIX)?;
            let id = c.u64();
            let fn_off = c.u64() as i64;
            let tramp_off = c.u64() as i64;
            Ok(ToWorker::Task { id, fn_off, tramp_off, args: c.rest() })
        }
        KIND_CANCEL => {
            let mut c = exact(body, 1 + 8)?;
            Ok(ToWorker::Cancel { seq: c.u64() })
        }
        #[cfg(feature = "tracing")]
        KIND_TRACE => Ok(ToWorker::Trace(&body[1..])),
        KIND_KILL if body.len() == 1 => Ok(ToWorker::Kill),
        k => Err(FrameError::UnknownKind(k)),
    }
}

/// How a task ended, as a worker reports it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Status<'a> {
    /// The postcard-encoded result.
    Value(&'a [u8]),
    /// The function panicked; the panic message.
    Panicked(&'a str),
    /// The arguments could not be decoded or the result not encoded.
    Codec(&'a str),
    /// The task was cancelled before it started; it never ran.
    Skipped,
    /// The worker refused the function reference (not in the program's code).
    Rejected(&'a str),
    /// The pool's initializer failed in the worker; its error.
    InitFailed(&'a str),
    /// The task's per-worker state could not be made; the state factory's error.
    StateFailed(&'a str),
}

/// A message from a worker to the pool.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToParent<'a> {
    Ready {
        token: [u8; 16],
        pid: u32,
    },
    Refused(&'a str),
    Result {
        id: u64,
        exec_ns: u64,
        status: Status<'a>,
    },
    /// An event the task of this id emitted (see `process_pool::trace`).
    #[cfg(feature = "tracing")]
    Event(u64, &'a [u8]),
    /// The tasks with sequence numbers in `from..upto` (this worker's arrival order) will never be
    /// started by this worker; no result comes for them.
    TakenBack {
        from: u64,
        upto: u64,
    },
    /// From a remote worker's nanny: its worker is gone (see [`KIND_GONE`]).
    Gone {
        status: i32,
        started: u64,
        why: &'a str,
    },
    /// From a remote worker's nanny: the host and the link are alive (see [`KIND_BEAT`]).
    Beat,
}

/// `bytes` as lower-case hex: how tokens travel in a worker's environment, and the program's hash.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The 16-byte token written as 32 hex digits in `s` (see [`hex`]).
pub(crate) fn token_from_hex(s: &str) -> Option<[u8; 16]> {
    bytes_from_hex(s)?.try_into().ok()
}

/// The bytes written as hex digits in `s` (see [`hex`]).
pub(crate) fn bytes_from_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

/// Appends a complete `Ready` frame.
pub(crate) fn encode_ready(out: &mut Vec<u8>, token: &[u8; 16], pid: u32) {
    let at = begin_frame(out, KIND_READY);
    out.extend_from_slice(token);
    out.extend_from_slice(&pid.to_le_bytes());
    let _ = end_frame(out, at, HANDSHAKE_MAX);
}

/// Appends a complete `Refused` frame (the reason is cut to fit the handshake limit).
pub(crate) fn encode_refused(out: &mut Vec<u8>, reason: &str) {
    let at = begin_frame(out, KIND_REFUSED);
    let mut cut = reason.len().min(HANDSHAKE_MAX - 1);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    out.extend_from_slice(&reason.as_bytes()[..cut]);
    let _ = end_frame(out, at, HANDSHAKE_MAX);
}

/// Appends the header of a `Result` frame; the caller appends the payload, then calls [`end_frame`].
pub(crate) fn begin_result(out: &mut Vec<u8>, id: u64, exec_ns: u64, status: u8) -> usize {
    let at = begin_frame(out, KIND_RESULT);
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&exec_ns.to_le_bytes());
    out.push(status);
    at
}

/// Parses a body sent to the pool.
pub(crate) fn parse_to_parent(body: &[u8]) -> Result<ToParent<'_>, FrameError> {
    let Some(&kind) = body.first() else { return Err(FrameError::Empty) };
    match kind {
        KIND_READY => {
            let mut c = exact(body, 1 + 16 + 4)?;
            let mut token = [0; 16];
            token.copy_from_slice(c.take(16));
            Ok(ToParent::Ready { token, pid: c.u32() })
        }
        KIND_REFUSED => Ok(ToParent::Refused(text(&body[1..])?)),
        KIND_RESULT => {
            let mut c = need(body, RESULT_HEADER - PREFIX)?;
            let id = c.u64();
            let exec_ns = c.u64();
            let status = c.u8();
            let rest = c.rest();
            let status = match status {
                STATUS_VALUE => Status::Value(rest),
                STATUS_PANICKED => Status::Panicked(text(rest)?),
                STATUS_CODEC => Status::Codec(text(rest)?),
                STATUS_SKIPPED if rest.is_empty() => Status::Skipped,
                STATUS_REJECTED => Status::Rejected(text(rest)?),
                STATUS_INIT_FAILED => Status::InitFailed(text(rest)?),
                STATUS_STATE_FAILED => Status::StateFailed(text(rest)?),
                _ => return Err(FrameError::BadField("result status")),
            };
            Ok(ToParent::Result { id, exec_ns, status })
        }
        #[cfg(feature = "tracing")]
        KIND_EVENT => {
            let mut c = need(body, 1 + 8)?;
            Ok(ToParent::Event(c.u64(), c.rest()))
        }
        KIND_TAKEN_BACK => parse_taken_back(body),
        KIND_GONE => parse_gone(body),
        KIND_BEAT if body.len() == 1 => Ok(ToParent::Beat),
        k => Err(FrameError::UnknownKind(k)),
    }
}

// Take-back: a worker's answer to the pool's request (made through the status page) for the
// tasks it holds but has not started.

/// Appends a complete `TakenBack` frame: the worker will never start its tasks `from..upto`.
pub(crate) fn encode_taken_back(out: &mut Vec<u8>, from: u64, upto: u64) {
    let at = begin_frame(out, KIND_TAKEN_BACK);
    out.extend_from_slice(&from.to_le_bytes());
    out.extend_from_slice(&upto.to_le_bytes());
    // A fixed, small body: always within HANDSHAKE_MAX.
    let _ = end_frame(out, at, HANDSHAKE_MAX);
}

fn parse_taken_back(body: &[u8]) -> Result<ToParent<'_>, FrameError> {
    let mut c = exact(body, 1 + 8 + 8)?;
    let (from, upto) = (c.u64(), c.u64());
    if from > upto {
        return Err(FrameError::BadField("taken-back range"));
    }
    Ok(ToParent::TakenBack { from, upto })
}

// Frames between the pool and a remote worker's nanny (see `nanny`), never seen by a worker.

/// Appends a frame of `kind` with no body besides its kind (`Kill`, `Restart`, `Beat`).
pub(crate) fn encode_bare(out: &mut Vec<u8>, kind: u8) {
    let at = begin_frame(out, kind);
    let _ = end_frame(out, at, HANDSHAKE_MAX);
}

/// The bytes of the `Restart` frame of the link whose token is `token`.
pub(crate) fn restart_marker(token: &[u8; 16]) -> [u8; RESTART_LEN] {
    let mut frame = [0; RESTART_LEN];
    frame[..PREFIX].copy_from_slice(&(1 + 16u32).to_le_bytes());
    frame[PREFIX] = KIND_RESTART;
    frame[PREFIX + 1..].copy_from_slice(token);
    frame
}

/// Bytes of a `Restart` frame.
pub(crate) const RESTART_LEN: usize = PREFIX + 1 + 16;

/// Appends a complete `Gone` frame (the reason is cut to fit the handshake limit).
#[cfg_attr(windows, allow(dead_code))] // only the nanny (Unix) sends it
pub(crate) fn encode_gone(out: &mut Vec<u8>, status: i32, started: u64, why: &str) {
    let at = begin_frame(out, KIND_GONE);
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&started.to_le_bytes());
    let mut cut = why.len().min(HANDSHAKE_MAX - 13);
    while !why.is_char_boundary(cut) {
        cut -= 1;
    }
    out.extend_from_slice(&why.as_bytes()[..cut]);
    let _ = end_frame(out, at, HANDSHAKE_MAX);
}

fn parse_gone(body: &[u8]) -> Result<ToParent<'_>, FrameError> {
    let mut c = need(body, 1 + 4 + 8)?;
    let status = c.u32() as i32;
    let started = c.u64();
    Ok(ToParent::Gone { status, started, why: text(c.rest())? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fp(x: u64) -> Fingerprint {
        Fingerprint { protocol: PROTOCOL_VERSION, dev: x, ino: x + 1, len: x + 2, mtime: -3, code: x * 7 }
    }

    #[test]
    fn a_token_survives_its_hex_and_bad_hex_is_refused() {
        let token: [u8; 16] = std::array::from_fn(|i| (i as u8).wrapping_mul(37));
        assert_eq!(token_from_hex(&hex(&token)), Some(token));
        for bad in ["", "00", &"0".repeat(33), &"g".repeat(32), &format!("{}é", "0".repeat(30))] {
            assert_eq!(token_from_hex(bad), None, "{bad:?}");
        }
    }

    fn frames_of(reader: &mut FrameReader) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut v = Vec::new();
        while let Some(f) = reader.next_frame()? {
            v.push(f.to_vec());
        }
        Ok(v)
    }

    #[test]
    fn hello_round_trip() {
        let mut out = Vec::new();
        encode_hello(&mut out, &[9; 16], &fp(5), 1 << 20, -7);
        let mut r = FrameReader::new(HANDSHAKE_MAX);
        r.feed(&out).unwrap();
        let body = r.next_frame().unwrap().unwrap().to_vec();
        assert_eq!(
            parse_to_worker(&body).unwrap(),
            ToWorker::Hello { token: [9; 16], fingerprint: fp(5), max_frame: 1 << 20, init_off: -7 }
        );
    }

    #[test]
    fn fingerprint_mismatch_is_explained() {
        let mut other = fp(5);
        other.ino += 1;
        assert!(fp(5).mismatch(&other).unwrap().contains("different executable file"));
        let mut other = fp(5);
        other.mtime = 99;
        assert!(fp(5).mismatch(&other).unwrap().contains("rebuilt"));
        let mut other = fp(5);
        other.code ^= 1;
        assert!(fp(5).mismatch(&other).unwrap().contains("not the same build"));
        let mut other = fp(5);
        other.protocol += 1;
        assert!(fp(5).mismatch(&other).unwrap().contains("different tulip versions"));
        assert_eq!(fp(5).mismatch(&fp(5)), None);
    }

    #[test]
    fn oversize_prefix_is_rejected_without_allocating() {
        let mut r = FrameReader::new(1000);
        r.feed(&u32::MAX.to_le_bytes()).unwrap();
        assert_eq!(r.next_frame(), Err(FrameError::TooLarge { len: u32::MAX as usize, max: 1000 }));
        assert_eq!(r.buf.len(), READ_CHUNK);
        // Reading more is refused rather than buffered.
        let mut src: &[u8] = &[0; 10];
        assert!(r.read_from(&mut src).is_err());
        assert_eq!(r.buf.len(), READ_CHUNK);
    }

    #[test]
    fn large_frame_grows_then_shrinks() {
        let max = 1 << 20;
        let mut out = Vec::new();
        let at = begin_result(&mut out, 1, 2, STATUS_VALUE);
        out.extend(std::iter::repeat_n(7u8, max - 100));
        end_frame(&mut out, at, max).unwrap();
        let mut r = FrameReader::new(max);
        let mut src: &[u8] = &out;
        while r.next_frame().unwrap().is_none() {
            assert!(r.read_from(&mut src).unwrap() > 0);
        }
        assert!(r.buf.len() >= max - 100);
        let mut src: &[u8] = &[];
        assert_eq!(r.read_from(&mut src).unwrap(), 0);
        assert_eq!(r.buf.len(), READ_CHUNK);
    }

    #[test]
    fn nothing_is_read_after_a_frame_of_unknown_kind() {
        let mut out = vec![3, 0, 0, 0, 0x55, 0x55, 0x55];
        encode_ready(&mut out, &[1; 16], 7);
        let mut r = FrameReader::new(HANDSHAKE_MAX);
        r.feed(&out).unwrap();
        assert_eq!(r.next_to_parent(), Err(FrameError::UnknownKind(0x55)));
        assert_eq!(r.next_to_parent(), Err(FrameError::UnknownKind(0x55)));
        assert_eq!(r.next_frame(), Err(FrameError::UnknownKind(0x55)));
    }

    #[test]
    fn nothing_is_read_after_a_refused_frame() {
        let mut out = Vec::new();
        encode_ready(&mut out, &[1; 16], 7);
        encode_ready(&mut out, &[1; 16], 7);
        let mut r = FrameReader::new(HANDSHAKE_MAX);
        r.feed(&out).unwrap();
        assert!(matches!(r.next_to_parent(), Ok(Some(ToParent::Ready { pid: 7, .. }))));
        r.refuse("a second handshake reply".into());
        assert_eq!(r.next_to_parent(), Err(FrameError::Refused("a second handshake reply".into())));
    }

    #[test]
    fn scan_sees_frames_ahead_once() {
        let mut out = Vec::new();
        encode_cancel(&mut out, 1);
        encode_cancel(&mut out, 2);
        let mut r = FrameReader::new(HANDSHAKE_MAX);
        r.feed(&out[..20]).unwrap();
        let mut seen = Vec::new();
        let mut visit = |b: &[u8]| {
            if let Ok(ToWorker::Cancel { seq }) = parse_to_worker(b) {
                seen.push(seq)
            }
        };
        r.scan_new(&mut visit);
        r.feed(&out[20..]).unwrap();
        r.scan_new(&mut visit);
        assert_eq!(seen, vec![1, 2]);
        assert_eq!(frames_of(&mut r).unwrap().len(), 2);
    }

    #[derive(Debug, Clone)]
    enum Msg {
        Task(u64, i64, i64, Vec<u8>),
        Cancel(u64),
        Result(u64, u64, u8, Vec<u8>),
        Ready([u8; 16], u32),
        Refused(String),
        TakenBack(u64, u64),
    }

    fn arb_msg() -> impl Strategy<Value = Msg> {
        prop_oneof![
            (any::<u64>(), any::<i64>(), any::<i64>(), proptest::collection::vec(any::<u8>(), 0..300))
                .prop_map(|(a, b, c, d)| Msg::Task(a, b, c, d)),
            any::<u64>().prop_map(Msg::Cancel),
            (any::<u64>(), any::<u64>(), 0u8..3, "[a-z ]{0,40}").prop_map(|(a, b, s, t)| Msg::Result(
                a,
                b,
                s,
                t.into_bytes()
            )),
            (any::<[u8; 16]>(), any::<u32>()).prop_map(|(t, p)| Msg::Ready(t, p)),
            "\\PC{0,40}".prop_map(Msg::Refused),
            (any::<u64>(), any::<u64>()).prop_map(|(a, b)| Msg::TakenBack(a.min(b), a.max(b))),
        ]
    }

    fn encode(m: &Msg, out: &mut Vec<u8>) {
        match m {
            Msg::Task(id, f, t, args) => {
                let at = begin_task(out, *id, *f, *t);
                out.extend_from_slice(args);
                end_frame(out, at, 1 << 16).unwrap();
            }
            Msg::Cancel(seq) => encode_cancel(out, *seq),
            Msg::Result(id, ns, st, p) => {
                let at = begin_result(out, *id, *ns, *st);
                out.extend_from_slice(p);
                end_frame(out, at, 1 << 16).unwrap();
            }
            Msg::Ready(t, p) => encode_ready(out, t, *p),
            Msg::Refused(s) => encode_refused(out, s),
            Msg::TakenBack(from, upto) => encode_taken_back(out, *from, *upto),
        }
    }

    fn check(m: &Msg, body: &[u8]) {
        match m {
            Msg::Task(id, f, t, args) => assert_eq!(
                parse_to_worker(body).unwrap(),
                ToWorker::Task { id: *id, fn_off: *f, tramp_off: *t, args }
            ),
            Msg::Cancel(seq) => assert_eq!(parse_to_worker(body).unwrap(), ToWorker::Cancel { seq: *seq }),
            Msg::Result(id, ns, st, p) => {
                let text = std::str::from_utf8(p).unwrap();
                let status = match *st {
                    STATUS_VALUE => Status::Value(p),
                    STATUS_PANICKED => Status::Panicked(text),
                    _ => Status::Codec(text),
                };
                assert_eq!(
                    parse_to_parent(body).unwrap(),
                    ToParent::Result { id: *id, exec_ns: *ns, status }
                );
            }
            Msg::Ready(t, p) => {
                assert_eq!(parse_to_parent(body).unwrap(), ToParent::Ready { token: *t, pid: *p })
            }
            Msg::Refused(s) => assert_eq!(parse_to_parent(body).unwrap(), ToParent::Refused(s)),
            Msg::TakenBack(from, upto) => {
                assert_eq!(parse_to_parent(body).unwrap(), ToParent::TakenBack { from: *from, upto: *upto })
            }
        }
    }

    proptest! {
        /// Any byte stream, cut anywhere: the decoder never panics, never yields a body over the
        /// limit, and never grows its buffer beyond what one in-limit frame needs.
        #[test]
        fn arbitrary_bytes_never_panic(
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            cuts in proptest::collection::vec(0usize..2000, 0..8),
            max in 1usize..600,
        ) {
            let mut r = FrameReader::new(max);
            let mut cuts = cuts;
            cuts.push(data.len());
            cuts.sort_unstable();
            let mut from = 0;
            'outer: for c in cuts {
                let c = c.min(data.len());
                if c < from { continue; }
                let mut src: &[u8] = &data[from..c];
                from = c;
                while !src.is_empty() {
                    if r.read_from(&mut src).is_err() { break 'outer; }
                    loop {
                        match r.next_frame() {
                            Ok(Some(body)) => {
                                prop_assert!(!body.is_empty() && body.len() <= max);
                                let _ = parse_to_worker(body);
                                let _ = parse_to_parent(body);
                            }
                            Ok(None) => break,
                            Err(_) => break 'outer,
                        }
                    }
                }
                prop_assert!(r.buf.len() <= READ_CHUNK.max(max + PREFIX));
            }
        }

        /// Any body, parsed as either direction: an error or a message, never a panic.
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 1..200)) {
            let _ = parse_to_worker(&body);
            let _ = parse_to_parent(&body);
        }

        /// Encoded messages, delivered in arbitrary pieces, come back exactly, in order.
        #[test]
        fn messages_round_trip_across_any_split(
            msgs in proptest::collection::vec(arb_msg(), 1..20),
            piece in 1usize..97,
        ) {
            let mut stream = Vec::new();
            for m in &msgs { encode(m, &mut stream); }
            let mut r = FrameReader::new(1 << 16);
            let mut got = Vec::new();
            for chunk in stream.chunks(piece) {
                let mut src: &[u8] = chunk;
                while !src.is_empty() { r.read_from(&mut src).unwrap(); }
                got.extend(frames_of(&mut r).unwrap());
            }
            prop_assert_eq!(got.len(), msgs.len());
            for (m, body) in msgs.iter().zip(&got) { check(m, body); }
            prop_assert_eq!(r.buffered(), 0);
        }

        /// A prefix over the limit is an error as soon as its four bytes are in, whatever follows.
        #[test]
        fn oversize_rejected_early(len in 101u32.., tail in proptest::collection::vec(any::<u8>(), 0..50)) {
            let mut r = FrameReader::new(100);
            let mut bytes = len.to_le_bytes().to_vec();
            bytes.extend(tail);
            let _ = r.feed(&bytes);
            prop_assert_eq!(r.next_frame(), Err(FrameError::TooLarge { len: len as usize, max: 100 }));
            prop_assert_eq!(r.buf.len(), READ_CHUNK);
        }
    }
}

#[cfg(test)]
mod nanny_frames {
    use super::*;

    fn body(frame: &[u8]) -> &[u8] {
        &frame[PREFIX..]
    }

    #[test]
    fn gone_and_beat_round_trip() {
        let mut out = Vec::new();
        encode_gone(&mut out, 9, 3, "worker 7 killed by signal 9 (SIGKILL)");
        let gone = ToParent::Gone { status: 9, started: 3, why: "worker 7 killed by signal 9 (SIGKILL)" };
        assert_eq!(parse_to_parent(body(&out)).unwrap(), gone);
        let mut beat = Vec::new();
        encode_bare(&mut beat, KIND_BEAT);
        assert_eq!(parse_to_parent(body(&beat)).unwrap(), ToParent::Beat);
    }

    #[test]
    fn a_long_reason_is_cut_to_fit() {
        let mut out = Vec::new();
        encode_gone(&mut out, 0, u64::MAX, &"é".repeat(HANDSHAKE_MAX));
        assert!(out.len() - PREFIX <= HANDSHAKE_MAX);
        assert!(matches!(parse_to_parent(body(&out)), Ok(ToParent::Gone { started: u64::MAX, .. })));
    }

    #[test]
    fn the_walker_follows_frames_split_anywhere_and_sees_bare_ones() {
        let mut stream = Vec::new();
        encode_refused(&mut stream, "one");
        encode_bare(&mut stream, KIND_KILL);
        encode_cancel(&mut stream, 1); // its body's last byte is not a bare frame's kind
        encode_bare(&mut stream, KIND_BEAT);
        let ends = [PREFIX + 4, PREFIX + 4 + PREFIX + 1, stream.len() - PREFIX - 1, stream.len()];
        for split in 0..stream.len() {
            let (mut w, mut bare) = (FrameWalker::default(), Vec::new());
            w.advance(&stream[..split], |k| bare.push(k));
            assert_eq!(w.between(), split == 0 || ends.contains(&split), "split at {split}");
            w.advance(&stream[split..], |k| bare.push(k));
            assert!(w.between());
            assert_eq!(bare, [KIND_KILL, KIND_BEAT], "split at {split}");
        }
    }

    #[test]
    fn a_reader_hands_its_walker_the_stream_where_it_stands() {
        let mut stream = Vec::new();
        encode_cancel(&mut stream, 1);
        encode_bare(&mut stream, KIND_KILL);
        for split in 0..stream.len() {
            let mut r = FrameReader::new(HANDSHAKE_MAX);
            r.feed(&stream[..split]).unwrap();
            r.scan_new(|_| ());
            let (mut w, mut bare) = (r.walker(), Vec::new());
            w.advance(&stream[split..], |k| bare.push(k));
            assert!(w.between(), "split at {split}");
            assert_eq!(bare, [KIND_KILL], "split at {split}: the kill is seen however it was cut");
        }
    }
}
