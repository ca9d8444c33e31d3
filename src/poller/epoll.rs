//! epoll, one system call per wait (see the module above for why not `polling`'s backend).

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The key of the notifier's events; [`Events::iter`] leaves them out, and no source may use it.
const NOTIFY_KEY: u64 = u64::MAX;
/// Readiness that counts as readable (as `polling` counts it: a hang-up or error is readable). A
/// read interest also asks for `EPOLLRDHUP`, so that a peer's shutdown is told apart.
const READ_FLAGS: u32 =
    (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLPRI) as u32;
/// A hang-up: the peer shut its side down, the fd hung up, or an error.
const HUP_FLAGS: u32 = (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;
/// Readiness that counts as writable.
const WRITE_FLAGS: u32 = (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32;

/// Whether `epoll_pwait2` may be tried: cleared for good the first time the kernel refuses it.
static PWAIT2: AtomicBool = AtomicBool::new(true);

/// What [`Poller::add`] accepts: a raw descriptor, or a reference to an owner of one (as in
/// `polling`, whose callers pass both).
pub(crate) trait AsRawSource {
    fn raw(self) -> RawFd;
}

impl AsRawSource for RawFd {
    fn raw(self) -> RawFd {
        self
    }
}

impl<T: AsRawFd> AsRawSource for &T {
    fn raw(self) -> RawFd {
        self.as_raw_fd()
    }
}

/// An interest to register, or a readiness reported by [`Poller::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event {
    /// The source's key, given back with its events.
    pub(crate) key: usize,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// Reported only: a hang-up (see [`HUP_FLAGS`]).
    pub(crate) hung_up: bool,
}

impl Event {
    pub(crate) const fn new(key: usize, readable: bool, writable: bool) -> Event {
        Event { key, readable, writable, hung_up: false }
    }

    pub(crate) const fn all(key: usize) -> Event {
        Event::new(key, true, true)
    }

    pub(crate) const fn readable(key: usize) -> Event {
        Event::new(key, true, false)
    }

    pub(crate) const fn writable(key: usize) -> Event {
        Event::new(key, false, true)
    }

    pub(crate) const fn none(key: usize) -> Event {
        Event::new(key, false, false)
    }

    /// The epoll flags of this interest under `mode`.
    fn flags(&self, mode: PollMode) -> u32 {
        let mode = match mode {
            PollMode::Oneshot => libc::EPOLLONESHOT as u32,
            PollMode::Level => 0,
            PollMode::Edge => libc::EPOLLET as u32,
        };
        mode | if self.readable { READ_FLAGS } else { 0 } | if self.writable { WRITE_FLAGS } else { 0 }
    }
}

/// How a registration reports readiness (`polling`'s modes that tulip uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollMode {
    /// Reported once, then disarmed until the next `modify`.
    Oneshot,
    /// Reported on every wait while it holds.
    Level,
    /// Reported when it newly holds.
    Edge,
}

/// The readiness one [`Poller::wait`] reported.
pub(crate) struct Events {
    /// Filled by the kernel up to its capacity, which never changes.
    list: Vec<libc::epoll_event>,
}

impl Events {
    pub(crate) fn new() -> Events {
        Events { list: Vec::with_capacity(1024) }
    }

    pub(crate) fn clear(&mut self) {
        self.list.clear();
    }

    /// The sources' events, without the notifier's.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.list.iter().filter(|ev| ev.u64 != NOTIFY_KEY).map(|ev| Event {
            key: ev.u64 as usize,
            readable: ev.events & READ_FLAGS != 0,
            writable: ev.events & WRITE_FLAGS != 0,
            hung_up: ev.events & HUP_FLAGS != 0,
        })
    }
}

/// An epoll instance with a notifier other threads wake it through.
#[derive(Debug)]
pub(crate) struct Poller {
    epoll: OwnedFd,
    /// An `eventfd` registered edge-triggered under `NOTIFY_KEY`: each write is one event. It is
    /// read only when a write finds its counter full, which takes 2^64 notifies.
    notifier: OwnedFd,
    /// Set by the notify that writes the notifier, cleared after each wait: at most one write
    /// between two waits.
    notified: AtomicBool,
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        let epoll = owned(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        let notifier = owned(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        let poller = Poller { epoll, notifier, notified: AtomicBool::new(false) };
        let flags = (libc::EPOLLIN | libc::EPOLLET) as u32;
        poller.ctl(libc::EPOLL_CTL_ADD, poller.notifier.as_raw_fd(), flags, NOTIFY_KEY)?;
        Ok(poller)
    }

    /// Whether edge-triggered registrations are available (always, with epoll).
    pub(crate) fn supports_edge(&self) -> bool {
        true
    }

    /// Registers `fd` in oneshot mode.
    ///
    /// # Safety
    ///
    /// `fd` must stay open until it is deleted (epoll itself does not require it; `polling`'s
    /// other backends do, and callers are written for both).
    pub(crate) unsafe fn add(&self, fd: impl AsRawSource, ev: Event) -> io::Result<()> {
        unsafe { self.add_with_mode(fd, ev, PollMode::Oneshot) }
    }

    /// Registers `fd` under `mode`.
    ///
    /// # Safety
    ///
    /// As for [`add`](Self::add).
    pub(crate) unsafe fn add_with_mode(
        &self,
        fd: impl AsRawSource,
        ev: Event,
        mode: PollMode,
    ) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd.raw(), ev.flags(mode), key(ev)?)
    }

    /// Changes the interest of a registered `fd` to `ev`, in oneshot mode.
    pub(crate) fn modify(&self, fd: impl AsFd, ev: Event) -> io::Result<()> {
        self.modify_with_mode(fd, ev, PollMode::Oneshot)
    }

    /// Changes the interest of a registered `fd` to `ev` under `mode`.
    pub(crate) fn modify_with_mode(&self, fd: impl AsFd, ev: Event, mode: PollMode) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd.as_fd().as_raw_fd(), ev.flags(mode), key(ev)?)
    }

    /// Removes `fd`.
    pub(crate) fn delete(&self, fd: impl AsFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd.as_fd().as_raw_fd(), 0, 0)
    }

    /// Waits until a source is ready, `timeout` passes (`None`: no limit) or [`notify`] is called;
    /// returns how many events it put in `events` (the notifier's included). An interrupted wait
    /// goes on until its deadline.
    ///
    /// [`notify`]: Self::notify
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        let deadline = timeout.filter(|t| !t.is_zero()).and_then(|t| Instant::now().checked_add(t));
        let mut left = timeout;
        let got = loop {
            match self.wait_once(events, left) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    left = deadline.map(|d| d.saturating_duration_since(Instant::now())).or(left);
                }
                got => break got,
            }
        };
        self.notified.store(false, Ordering::SeqCst);
        got
    }

    /// Wakes the current or next [`wait`](Self::wait); notifies before that wait ends coalesce.
    pub(crate) fn notify(&self) -> io::Result<()> {
        if self.notified.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let one = 1u64.to_ne_bytes();
        loop {
            let n = unsafe { libc::write(self.notifier.as_raw_fd(), one.as_ptr().cast(), one.len()) };
            if n >= 0 {
                return Ok(());
            }
            match io::Error::last_os_error() {
                e if e.kind() == io::ErrorKind::Interrupted => {}
                // The counter is full: empty it (a new write is a new edge all the same).
                e if e.kind() == io::ErrorKind::WouldBlock => {
                    let mut buf = [0u8; 8];
                    unsafe { libc::read(self.notifier.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                }
                e => return Err(e),
            }
        }
    }

    /// One `epoll_wait`/`epoll_pwait2` into `events` (emptied first).
    fn wait_once(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.list.clear();
        let (epfd, list) = (self.epoll.as_raw_fd(), events.list.as_mut_ptr());
        let cap = events.list.capacity().min(libc::c_int::MAX as usize) as libc::c_int;
        let n = match timeout {
            None => unsafe { libc::epoll_wait(epfd, list, cap, -1) },
            Some(t) if t.is_zero() => unsafe { libc::epoll_wait(epfd, list, cap, 0) },
            Some(t) => wait_timed(epfd, list, cap, t),
        };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        // SAFETY: the kernel initialised the first `n` entries, and `n <= cap`.
        unsafe { events.list.set_len(n) };
        Ok(n)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, key: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: key };
        if unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// A timed wait: `epoll_pwait2` to the nanosecond, else `epoll_wait` rounded up to the millisecond.
fn wait_timed(epfd: RawFd, list: *mut libc::epoll_event, cap: libc::c_int, t: Duration) -> libc::c_int {
    if PWAIT2.load(Ordering::Relaxed) {
        let ts = libc::timespec {
            tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: t.subsec_nanos() as _,
        };
        let no_mask: *const libc::sigset_t = std::ptr::null();
        let n = unsafe { libc::syscall(libc::SYS_epoll_pwait2, epfd, list, cap, &ts, no_mask, 0usize) };
        // ENOSYS: before Linux 5.11; EPERM: a seccomp filter that does not know the call.
        if n >= 0 || !matches!(io::Error::last_os_error().raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) {
            return n as libc::c_int;
        }
        PWAIT2.store(false, Ordering::Relaxed);
    }
    let ms = t.as_nanos().div_ceil(1_000_000).min(libc::c_int::MAX as u128) as libc::c_int;
    unsafe { libc::epoll_wait(epfd, list, cap, ms) }
}

/// The key of `ev`, which must not be the notifier's.
fn key(ev: Event) -> io::Result<u64> {
    match ev.key as u64 {
        NOTIFY_KEY => Err(io::Error::new(io::ErrorKind::InvalidInput, "the key usize::MAX is reserved")),
        key => Ok(key),
    }
}

/// `fd` as an owned descriptor, or the error a `-1` stands for.
fn owned(fd: RawFd) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor the kernel just returned, owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_notify_from_another_thread_ends_a_wait_without_timeout() {
        let poller = Arc::new(Poller::new().unwrap());
        let p = poller.clone();
        let t = std::thread::spawn(move || p.notify().unwrap());
        let mut events = Events::new();
        poller.wait(&mut events, None).unwrap();
        assert_eq!(events.iter().count(), 0, "the notifier's own event is not reported");
        t.join().unwrap();
    }

    /// The notifier is never read: each wait must still be woken by the notify meant for it.
    #[test]
    fn every_wait_is_woken_by_its_own_notify() {
        let poller = Poller::new().unwrap();
        let mut events = Events::new();
        for _ in 0..100 {
            poller.notify().unwrap();
            poller.notify().unwrap();
            poller.wait(&mut events, Some(Duration::from_secs(60))).unwrap();
        }
        // The coalesced second notifies left nothing behind: a zero wait finds no event.
        assert_eq!(poller.wait(&mut events, Some(Duration::ZERO)).unwrap(), 0);
    }

    #[test]
    fn a_timed_wait_never_ends_before_its_deadline() {
        let poller = Poller::new().unwrap();
        let mut events = Events::new();
        for t in [Duration::from_micros(300), Duration::from_millis(2)] {
            let start = Instant::now();
            assert_eq!(poller.wait(&mut events, Some(t)).unwrap(), 0);
            assert!(start.elapsed() >= t, "woke after {:?} of {t:?}", start.elapsed());
        }
    }

    /// Without `epoll_pwait2` the timeout is rounded up to the millisecond, never down to zero.
    #[test]
    fn the_millisecond_fallback_rounds_up() {
        let poller = Poller::new().unwrap();
        let mut events = Events::new();
        let (epfd, list) = (poller.epoll.as_raw_fd(), events.list.as_mut_ptr());
        PWAIT2.store(false, Ordering::Relaxed);
        let start = Instant::now();
        let n = wait_timed(epfd, list, 1024, Duration::from_micros(200));
        PWAIT2.store(true, Ordering::Relaxed);
        assert_eq!(n, 0);
        assert!(start.elapsed() >= Duration::from_micros(200));
    }

    #[test]
    fn readiness_is_reported_under_the_source_key_in_each_mode() {
        let poller = Poller::new().unwrap();
        let mut events = Events::new();
        let mut fds = [0; 2];
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) }, 0);
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        unsafe { poller.add(&r, Event::readable(7)).unwrap() };
        unsafe { poller.add_with_mode(&w, Event::writable(8), PollMode::Level).unwrap() };
        assert_eq!(unsafe { libc::write(w.as_raw_fd(), b"x".as_ptr().cast(), 1) }, 1);
        poller.wait(&mut events, Some(Duration::from_secs(60))).unwrap();
        let mut got: Vec<_> = events.iter().map(|e| (e.key, e.readable, e.writable)).collect();
        got.sort();
        assert_eq!(got, [(7, true, false), (8, false, true)]);
        // Oneshot: the reader is disarmed until modified; level: the writer is reported again.
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert_eq!(events.iter().map(|e| e.key).collect::<Vec<_>>(), [8]);
        poller.modify_with_mode(&r, Event::readable(7), PollMode::Edge).unwrap();
        poller.delete(&w).unwrap();
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert_eq!(events.iter().map(|e| e.key).collect::<Vec<_>>(), [7]);
        // Edge: reported once until new data arrives.
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert_eq!(events.iter().count(), 0);
        assert!(unsafe { poller.add(&w, Event::readable(usize::MAX)) }.is_err(), "the notifier's key");
    }
}
