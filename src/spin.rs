//! Adaptive busy-waiting: a short spin before a thread blocks, while what it waits for has lately
//! been arriving within that time.
//!
//! A round trip between two threads that each block in between pays two wakeups. On an idle
//! machine a futex wakeup costs from a few microseconds to a few tens (virtual machines, deep CPU
//! idle states), far more than a trivial job. A thread that spins a little first finds the next
//! item itself, and its producer, seeing it awake, makes no wakeup call at all. The pool's workers
//! spin for their next job; the loop spins for the completions and callbacks it waits for; a
//! blocking [`ConcurrentFuture::wait`](crate::ConcurrentFuture::wait) spins for its outcome.
//!
//! # Implementation
//!
//! One moving average of how long recent waits lasted, each sample clamped to four times the limit.
//! A thread spins only while that average is within the limit; otherwise it blocks at once, except
//! for one wait in [`PROBE_EVERY`], which spins anyway: waits measured from the blocked side include
//! the wakeup a spin would save (tens of microseconds on some machines), so they alone might never
//! come back under the limit. The clamp keeps one long idle period from switching spinning off for
//! hundreds of waits.
//!
//! Spinning is for an idle core. On Linux the spinner first asks the kernel how many threads are
//! runnable right now (`/proc/loadavg`, read at most every [`SAMPLE_EVERY`]) and does not spin when
//! that is more than twice the cores the process may use. (Not more than the cores: the threads of
//! one pipeline spin for each other by design; a caller, the process pool's driver and a worker
//! make three on two cores.) Between samples, and elsewhere, a crowded machine is told apart by the
//! spin itself: the spinner gives its core away every few looks (`yield_now`), and when that, or a
//! preemption, costs it more than a few microseconds, other threads wanted the core. Spinning on
//! would then cost the producer its CPU, and the spinner its place in the run queue (a thread that
//! blocks is favoured when it wakes; one that spins is not). So the spin ends there, and the next
//! spins are skipped, twice as many after each crowded spin in a row (up to [`MAX_SKIP`]), until a
//! spin finds the core free again.

//! # Caveats
//!
//! Spinning burns the core it runs on, up to the limit per wait, while it pays. Skipped spins after a
//! crowded one mean that latency recovers only a few hundred waits after the machine becomes idle.
//!
//! The runnable count of `/proc/loadavg` is the machine's, while the cores compared with it are the
//! process's (`available_parallelism`, which follows CPU affinity and cgroup quotas): in a container
//! limited to a few cores on a busy host, spinning may stay off, and round trips cost their wakeups.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

/// Looks at the awaited condition between two `yield_now`s.
///
/// On a busy machine the thread waited for may be queued behind the spinner on its very core; on an
/// idle one a yield is a short syscall. (Measured on 2 cores under load: yielding every 16 looks
/// roughly halves a pool round trip compared with every 1024.)
const LOOKS_PER_YIELD: u32 = 16;

/// The spin limit of the loop, the thread pools' workers, blocking waits and process-pool workers,
/// unless set otherwise: long enough to cover a wakeup on the other side (a spin must be able to pay
/// even while the thread it waits for is still blocked, or adaptivity switches both off for good),
/// short enough to cost little when it does not pay.
pub(crate) const DEFAULT_LIMIT: Duration = Duration::from_micros(100);

/// A gap between two checks of the clock in a spin (16 looks and a yield, normally a microsecond or
/// two) longer than this means another thread had the core meanwhile: the machine is crowded.
const CROWDED: Duration = Duration::from_micros(20);

/// How old a reading of the number of runnable threads may be.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// While recent waits were over the limit, one wait in this many spins anyway, to find out whether
/// spinning would shorten them (see [`AdaptiveSpin::pays`]).
const PROBE_EVERY: u32 = 8;

/// Most spins skipped after crowded spins in a row.
const MAX_SKIP: u32 = 1024;

/// A spin limit and the record of recent waits that decides whether spinning pays.
#[derive(Debug)]
pub(crate) struct AdaptiveSpin {
    /// Longest spin, in ns; zero disables spinning.
    limit_ns: AtomicU64,
    /// Moving average of recent waits in ns, each clamped to `4 * limit_ns`. Spinning pays while it
    /// is at most `limit_ns`. Usually written by one thread at a time (the pool's one spinner, the
    /// loop); blocking waits share one for the whole process, and their racing updates may lose a
    /// sample. `Relaxed` throughout, since it is only a hint: a stale or lost value costs one spin
    /// too many or too few, never correctness.
    wait_ns: AtomicU64,
    /// Spins still to skip since the last crowded one.
    skip: AtomicU32,
    /// Crowded spins in a row; the skip after one is `2^crowded`, capped at `MAX_SKIP`.
    crowded: AtomicU32,
    /// Waits that did not spin because recent ones were too long; every `PROBE_EVERY`th spins anyway.
    passes: AtomicU32,
}

impl AdaptiveSpin {
    /// Spins of at most `limit`; a zero limit never spins.
    pub(crate) const fn new(limit: Duration) -> AdaptiveSpin {
        let limit_ns = limit.as_nanos();
        let limit_ns = if limit_ns > u64::MAX as u128 { u64::MAX } else { limit_ns as u64 };
        AdaptiveSpin {
            limit_ns: AtomicU64::new(limit_ns),
            wait_ns: AtomicU64::new(0),
            skip: AtomicU32::new(0),
            crowded: AtomicU32::new(0),
            passes: AtomicU32::new(0),
        }
    }

    /// The longest spin.
    pub(crate) fn limit(&self) -> Duration {
        Duration::from_nanos(self.limit_ns.load(Relaxed))
    }

    /// Changes the longest spin; zero switches spinning off.
    pub(crate) fn set_limit(&self, limit: Duration) {
        self.limit_ns.store(nanos(limit), Relaxed);
        self.wait_ns.store(0, Relaxed);
        self.skip.store(0, Relaxed);
        self.crowded.store(0, Relaxed);
    }

    /// Feeds one wait (from the moment the thread ran out of work to the moment it had some again,
    /// spun or blocked) into the average that decides whether the next one spins.
    pub(crate) fn record(&self, wait: Duration) {
        let cap = self.limit_ns.load(Relaxed).saturating_mul(4);
        let wait = nanos(wait).min(cap);
        let avg = self.wait_ns.load(Relaxed);
        let next = if wait >= avg { avg + (wait - avg) / 4 } else { avg - (avg - wait) / 4 };
        self.wait_ns.store(next, Relaxed);
    }

    /// Whether recent waits say that the next one should spin; counts a skipped spin off when they
    /// do not because a recent spin found the machine crowded.
    fn pays(&self) -> bool {
        let limit_ns = self.limit_ns.load(Relaxed);
        if limit_ns == 0 {
            return false;
        }
        let skip = self.skip.load(Relaxed);
        if skip > 0 {
            self.skip.store(skip - 1, Relaxed);
            return false;
        }
        if self.wait_ns.load(Relaxed) > limit_ns {
            // Waits measured while blocked include the wakeup they would save, so they may stay over
            // the limit although a spin would end them: try one now and then.
            let passes = self.passes.load(Relaxed).wrapping_add(1);
            self.passes.store(passes, Relaxed);
            return passes % PROBE_EVERY == 0;
        }
        true
    }

    /// Calls `look` until it returns `Some`, for at most the limit, if spinning pays; returns `None`
    /// at once if it does not (recent waits too long, or spins skipped after a crowded one), when
    /// the limit has passed, or when the machine turns out to be crowded.
    pub(crate) fn spin<T>(&self, mut look: impl FnMut() -> Option<T>) -> Option<T> {
        let start = Instant::now();
        if !self.pays() || crowded_machine(start) {
            return None;
        }
        let limit_ns = self.limit_ns.load(Relaxed);
        let limit = Duration::from_nanos(limit_ns);
        let mut checked = start;
        let mut looks: u32 = 0;
        loop {
            if let Some(found) = look() {
                self.crowded.store(0, Relaxed);
                return Some(found);
            }
            looks = looks.wrapping_add(1);
            if looks % LOOKS_PER_YIELD == 0 {
                let now = Instant::now();
                if now.saturating_duration_since(checked) > CROWDED {
                    let crowded = self.crowded.load(Relaxed).saturating_add(1);
                    self.crowded.store(crowded, Relaxed);
                    self.skip.store(1u32.checked_shl(crowded).unwrap_or(MAX_SKIP).min(MAX_SKIP), Relaxed);
                    return None;
                }
                if now.saturating_duration_since(start) >= limit {
                    return None;
                }
                checked = now;
                thread::yield_now();
            }
            // One pause per look: the look reads a shared cache line, and reacting within a fraction
            // of a microsecond is what lets the other side find this thread still awake.
            std::hint::spin_loop();
        }
    }
}

/// Whether more than twice as many threads are runnable on the machine as the process has cores, as
/// of a reading
/// at most [`SAMPLE_EVERY`] old.
#[cfg(target_os = "linux")]
fn crowded_machine(now: Instant) -> bool {
    use std::io::Read;
    use std::sync::atomic::AtomicBool;
    use std::sync::OnceLock;

    /// The last reading, shared by every spinner in the process.
    struct Sampler {
        cores: usize,
        /// When the reading was taken, in ns since `epoch`.
        taken_ns: AtomicU64,
        epoch: Instant,
        crowded: AtomicBool,
    }

    static SAMPLER: OnceLock<Sampler> = OnceLock::new();
    let s = SAMPLER.get_or_init(|| Sampler {
        cores: thread::available_parallelism().map_or(1, |n| n.get()),
        // Old enough that the first call takes a reading.
        taken_ns: AtomicU64::new(0),
        epoch: now.checked_sub(SAMPLE_EVERY * 2).unwrap_or(now),
        crowded: AtomicBool::new(false),
    });
    let at = nanos(now.saturating_duration_since(s.epoch));
    if at.saturating_sub(s.taken_ns.load(Relaxed)) < nanos(SAMPLE_EVERY) {
        return s.crowded.load(Relaxed);
    }
    s.taken_ns.store(at, Relaxed);
    // "0.52 0.58 0.59 3/467 12345": the fourth field counts the runnable threads, this one included.
    // Opened for each reading rather than kept open: a program's fd table is its own. Where it cannot
    // be read the machine never counts as crowded here, and only the spin's own check applies.
    let mut buf = [0u8; 128];
    let read = std::fs::File::open("/proc/loadavg").and_then(|mut f| f.read(&mut buf));
    let runnable = read.ok().and_then(|n| {
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        text.split_ascii_whitespace().nth(3)?.split('/').next()?.parse::<usize>().ok()
    });
    let crowded = runnable.is_some_and(|r| r > 2 * s.cores);
    s.crowded.store(crowded, Relaxed);
    crowded
}

#[cfg(not(target_os = "linux"))]
fn crowded_machine(_: Instant) -> bool {
    false
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_waits_switch_spinning_off_and_short_ones_bring_it_back() {
        let spin = AdaptiveSpin::new(Duration::from_micros(50));
        assert!(spin.pays());
        for _ in 0..4 {
            spin.record(Duration::from_secs(1));
        }
        assert!(!spin.pays(), "recent waits were far over the limit");
        // But one wait in PROBE_EVERY spins anyway, to find out whether that would shorten them.
        let probes = (1..2 * PROBE_EVERY).filter(|_| spin.pays()).count();
        assert_eq!(probes, 2);
        // Clamped samples: a handful of short waits is enough to come back.
        for _ in 0..12 {
            spin.record(Duration::from_micros(1));
        }
        assert!(spin.pays());
    }

    #[test]
    fn a_crowded_spin_skips_the_spins_after_it() {
        let spin = AdaptiveSpin::new(Duration::from_micros(50));
        spin.crowded.store(2, Relaxed);
        spin.skip.store(4, Relaxed);
        let skipped = (0..10).take_while(|_| !spin.pays()).count();
        assert_eq!(skipped, 4);
    }

    #[test]
    fn a_zero_limit_never_spins_and_a_spin_ends_at_its_limit() {
        let off = AdaptiveSpin::new(Duration::ZERO);
        assert!(!off.pays());
        let mut looked = false;
        assert_eq!(
            off.spin(|| {
                looked = true;
                Some(())
            }),
            None
        );
        assert!(!looked);
        let short = AdaptiveSpin::new(Duration::from_micros(20));
        assert_eq!(short.spin(|| None::<()>), None);
    }
}
