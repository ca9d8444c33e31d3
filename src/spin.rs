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
//! for a probe now and then, which spins anyway: waits measured from the blocked side include the
//! wakeup a spin would save (tens of microseconds on some machines), so they alone might never come
//! back under the limit. Probes start at one wait in [`PROBE_EVERY`] and come half as often after
//! each probe whose wait was still too long, down to one in [`MAX_PROBE_EVERY`]: a steady trickle
//! of work a little slower than the limit then costs almost no spinning. The clamp keeps one long
//! idle period from switching spinning off for hundreds of waits. A thread that has just woken the
//! thread it is going to wait for (a submitter that found no pool worker spinning) does not spin for
//! that wait: it lasts at least a wakeup, and a spin through it costs more CPU than blocking.
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
//! Elsewhere (macOS, the BSDs, Windows) nothing is read: the spin's own signal is the only one, and
//! no cgroup quota is looked for.
//!
//! # Policy
//!
//! Every spin of the process is capped by one process-wide limit ([`set_spin_limit`], else the
//! environment variable `TULIP_SPIN`, else none at all under a cgroup CPU quota below the cores the
//! process may use), and every limit saturates at [`MAX_LIMIT`]. The DNS lane does not spin (its
//! lookups take milliseconds). The constants that shape the spin are all in this module, each with
//! the reason for its value.
//!
//! # Caveats
//!
//! Spinning burns the core it runs on, up to the limit per wait, while it pays. Skipped spins after a
//! crowded one mean that latency recovers only a few hundred waits after the machine becomes idle.
//!
//! The default limit ([`DEFAULT_LIMIT`]) must exceed a wakeup: on a machine whose wakeups take
//! longer than about 35 µs, round trips that began blocked may never find spinning worth it, and
//! cost their wakeups like everyone else's (raise the loop's and the pools' limits there; blocking
//! waits and process-pool workers keep the default, which the process-wide setting only caps).
//! Waits between a wakeup and the limit are spun for, which costs more CPU than blocking would.
//!
//! The runnable count of `/proc/loadavg` is the machine's, while the cores compared with it are the
//! process's (`available_parallelism`, which follows CPU affinity and cgroup quotas): in a container
//! limited to a few cores on a busy host, spinning may stay off, and round trips cost their wakeups.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

/// Looks at the awaited condition between two `yield_now`s.
///
/// On a busy machine the thread waited for may be queued behind the spinner on its very core; on an
/// idle one a yield is a short syscall. (Measured on 2 cores under load: yielding every 16 looks
/// roughly halves a pool round trip compared with every 1024.)
const LOOKS_PER_YIELD: u32 = 16;

/// The spin limit of the loop, the thread pools' workers, blocking waits and process-pool workers,
/// unless set otherwise: long enough to cover a wakeup on the other side (about 20 µs on the 2-core
/// VM measured; a spin must be able to pay even while the thread it waits for is still blocked, or
/// adaptivity switches both off for good), short enough that a counterpart which works 50 µs
/// between two round trips (the light-load workloads `W1g50`, `W3bg50`, `W5ag50`) is not spun for:
/// blocking costs a few µs of CPU on each side, spinning through its work would cost all of it.
pub(crate) const DEFAULT_LIMIT: Duration = Duration::from_micros(40);

/// The longest spin any setting can ask for; longer ones are cut to this. A wakeup costs tens of
/// microseconds at worst, so a spin of a millisecond can never pay for itself.
pub(crate) const MAX_LIMIT: Duration = Duration::from_millis(1);

/// The environment variable of the process-wide cap (see [`set_spin_limit`]): `0` switches every
/// spin off, a number caps every spin at that many microseconds.
const SPIN_ENV: &str = "TULIP_SPIN";

/// A gap between two checks of the clock in a spin (16 looks and a yield, normally a microsecond or
/// two) longer than this means another thread had the core meanwhile: the machine is crowded.
const CROWDED: Duration = Duration::from_micros(20);

/// How old a reading of the number of runnable threads may be (Linux only: elsewhere nothing is read).
#[cfg(target_os = "linux")]
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// While recent waits were over the limit, one wait in this many spins anyway, to find out whether
/// spinning would shorten them (see [`AdaptiveSpin::pays`]).
const PROBE_EVERY: u32 = 8;

/// Longest interval between probes: it doubles after each probe whose wait was still over the limit
/// (a steady slow trickle pays for one probe spin in this many waits), and falls back to
/// [`PROBE_EVERY`] at the first wait within the limit.
const MAX_PROBE_EVERY: u32 = 256;

/// Most spins skipped after crowded spins in a row.
const MAX_SKIP: u32 = 1024;

/// The process-wide cap on every spin, in ns, or `UNSET` until first needed (see [`cap_ns`]).
static CAP_NS: AtomicU64 = AtomicU64::new(UNSET);

/// `CAP_NS` before its first reading.
const UNSET: u64 = u64::MAX;

/// Caps every busy-wait of this process: the loop's, blocking `wait()`s', the thread pools'
/// workers'. Zero switches them all off.
///
/// Each of those spins has its own limit ([`EventLoop::set_idle_spin`](crate::EventLoop::set_idle_spin),
/// [`ThreadPoolBuilder::idle_spin`](crate::ThreadPoolBuilder::idle_spin), 40 µs by default); the
/// cap is the most any of them may spin. Longer than 1 ms is cut to 1 ms.
///
/// Until this is called, the cap comes from the environment variable `TULIP_SPIN` (`0`: no spin;
/// a number: that many microseconds), read once; without it, no spin at all when the process runs
/// under a cgroup CPU quota smaller than the cores it may use (`cpu.max`, or `cpu.cfs_quota_us` in
/// cgroup v1: a spin there eats a quota that the thread waited for needs), else 1 ms (the per-spin
/// limits decide). Process-pool workers follow `TULIP_SPIN`, which they inherit, not this call.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// // CPU time matters more than round-trip latency here: never busy-wait.
/// tulip::set_spin_limit(Duration::ZERO);
/// assert_eq!(tulip::spin_limit(), Duration::ZERO);
/// assert_eq!(tulip::to_thread(|| 1).wait(), Ok(1));
/// ```
pub fn set_spin_limit(limit: Duration) {
    CAP_NS.store(nanos(limit.min(MAX_LIMIT)), Relaxed);
}

/// The process-wide cap on every busy-wait (see [`set_spin_limit`]).
///
/// # Examples
///
/// ```
/// // At most 1 ms, whatever the environment says.
/// assert!(tulip::spin_limit() <= std::time::Duration::from_millis(1));
/// ```
pub fn spin_limit() -> Duration {
    Duration::from_nanos(cap_ns())
}

/// The cap in ns; the first call works it out (see [`set_spin_limit`]).
fn cap_ns() -> u64 {
    let cap = CAP_NS.load(Relaxed);
    if cap != UNSET {
        return cap;
    }
    let initial = nanos(initial_cap());
    // A `set_spin_limit` that ran meanwhile wins.
    match CAP_NS.compare_exchange(UNSET, initial, Relaxed, Relaxed) {
        Ok(_) => initial,
        Err(set) => set,
    }
}

/// The cap before any `set_spin_limit`: `TULIP_SPIN`, else none under a small CPU quota.
fn initial_cap() -> Duration {
    if let Some(value) = std::env::var_os(SPIN_ENV) {
        match parse_env(&value) {
            Some(limit) => return limit,
            None => log::warn!("tulip: {SPIN_ENV}={value:?} is not a number of microseconds; ignored"),
        }
    }
    if cpu_quota_below_cores() {
        Duration::ZERO
    } else {
        MAX_LIMIT
    }
}

/// `TULIP_SPIN`'s value: microseconds, at most `MAX_LIMIT`.
fn parse_env(value: &std::ffi::OsStr) -> Option<Duration> {
    let us = value.to_str()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_micros(us).min(MAX_LIMIT))
}

/// Whether a cgroup CPU quota gives this process fewer CPUs than the cores it may run on.
#[cfg(target_os = "linux")]
fn cpu_quota_below_cores() -> bool {
    // SAFETY: a zeroed cpu_set_t is valid; sched_getaffinity writes at most its size.
    let cores = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return false;
        }
        libc::CPU_COUNT(&set)
    };
    cgroup_cpus().is_some_and(|cpus| cpus < f64::from(cores))
}

#[cfg(not(target_os = "linux"))]
fn cpu_quota_below_cores() -> bool {
    false
}

/// The CPUs a cgroup quota allows (quota / period), if one is set: cgroup v2's `cpu.max` of the
/// process's own cgroup or of the mount's root (a container's own), else cgroup v1's CFS quota.
#[cfg(target_os = "linux")]
fn cgroup_cpus() -> Option<f64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let own = read("/proc/self/cgroup")
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("0::").map(|p| p.trim().to_string())));
    let v2 = own
        .map(|p| format!("/sys/fs/cgroup{p}/cpu.max"))
        .into_iter()
        .chain(["/sys/fs/cgroup/cpu.max".into()]);
    if let Some(cpus) = v2.filter_map(|p| read(&p)).find_map(|t| parse_cpu_max(&t)) {
        return Some(cpus);
    }
    ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"].iter().find_map(|dir| {
        let quota = read(&format!("{dir}/cpu.cfs_quota_us"))?.trim().parse::<f64>().ok()?;
        let period = read(&format!("{dir}/cpu.cfs_period_us"))?.trim().parse::<f64>().ok()?;
        (quota > 0.0 && period > 0.0).then(|| quota / period)
    })
}

/// CPUs from a cgroup v2 `cpu.max` ("50000 100000"); `None` for "max" (no quota).
#[cfg(target_os = "linux")]
fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut fields = text.split_ascii_whitespace();
    let quota = fields.next()?.parse::<f64>().ok()?;
    let period = fields.next()?.parse::<f64>().ok()?;
    (period > 0.0).then(|| quota / period)
}

thread_local! {
    /// Set by [`woke_a_sleeper`]; the next spin on this thread reads and clears it.
    static WOKE_A_SLEEPER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Tells the spin that this thread has just woken (or started) a thread to do work that it will wait
/// for: that wait lasts at least the other thread's wakeup, so spinning through it would spend a
/// wakeup's worth of CPU time to save one. The next spin on this thread is skipped.
pub(crate) fn woke_a_sleeper() {
    WOKE_A_SLEEPER.with(|w| w.set(true));
}

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
    /// Waits that did not spin because recent ones were too long; every `probe_every`th spins anyway.
    passes: AtomicU32,
    /// The current probe interval, from `PROBE_EVERY` to `MAX_PROBE_EVERY`.
    probe_every: AtomicU32,
    /// Set when `pays` allowed a probe; `record` reads and clears it to judge the probe.
    probing: AtomicBool,
}

impl AdaptiveSpin {
    /// Spins of at most `limit` (cut to `MAX_LIMIT`), and at most the process-wide cap; a zero limit
    /// never spins.
    pub(crate) const fn new(limit: Duration) -> AdaptiveSpin {
        let limit_ns = limit.as_nanos();
        let max_ns = MAX_LIMIT.as_nanos();
        let limit_ns = if limit_ns > max_ns { max_ns as u64 } else { limit_ns as u64 };
        AdaptiveSpin {
            limit_ns: AtomicU64::new(limit_ns),
            wait_ns: AtomicU64::new(0),
            skip: AtomicU32::new(0),
            crowded: AtomicU32::new(0),
            passes: AtomicU32::new(0),
            probe_every: AtomicU32::new(PROBE_EVERY),
            probing: AtomicBool::new(false),
        }
    }

    /// The longest spin, as set.
    pub(crate) fn limit(&self) -> Duration {
        Duration::from_nanos(self.limit_ns.load(Relaxed))
    }

    /// The longest spin in effect: the limit as set, under the process-wide cap.
    fn effective_ns(&self) -> u64 {
        self.limit_ns.load(Relaxed).min(cap_ns())
    }

    /// Whether this may spin at all (a nonzero limit under a nonzero cap).
    pub(crate) fn enabled(&self) -> bool {
        self.effective_ns() > 0
    }

    /// Changes the longest spin (cut to `MAX_LIMIT`); zero switches spinning off.
    pub(crate) fn set_limit(&self, limit: Duration) {
        self.limit_ns.store(nanos(limit.min(MAX_LIMIT)), Relaxed);
        self.probe_every.store(PROBE_EVERY, Relaxed);
        self.wait_ns.store(0, Relaxed);
        self.skip.store(0, Relaxed);
        self.crowded.store(0, Relaxed);
    }

    /// Feeds one wait (from the moment the thread ran out of work to the moment it had some again,
    /// spun or blocked) into the average that decides whether the next one spins.
    pub(crate) fn record(&self, wait: Duration) {
        let limit_ns = self.effective_ns();
        let wait = nanos(wait).min(limit_ns.saturating_mul(4));
        let probe = self.probing.swap(false, Relaxed);
        let in_time = wait <= limit_ns;
        if in_time {
            self.probe_every.store(PROBE_EVERY, Relaxed);
        } else if probe {
            let every = self.probe_every.load(Relaxed);
            self.probe_every.store(every.saturating_mul(2).min(MAX_PROBE_EVERY), Relaxed);
        }
        let avg = self.wait_ns.load(Relaxed);
        let next = if probe && in_time {
            // A probe that found its item in time measured what spinning gives, which the blocked
            // waits before it could not (they include the wakeup): it replaces their average.
            wait
        } else if wait >= avg {
            avg + (wait - avg) / 4
        } else {
            avg - (avg - wait) / 4
        };
        self.wait_ns.store(next, Relaxed);
    }

    /// Whether recent waits say that the next one should spin; counts a skipped spin off when they
    /// do not because a recent spin found the machine crowded.
    fn pays(&self) -> bool {
        let limit_ns = self.effective_ns();
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
            let passes = self.passes.load(Relaxed).saturating_add(1);
            let probe = passes >= self.probe_every.load(Relaxed);
            self.passes.store(if probe { 0 } else { passes }, Relaxed);
            self.probing.store(probe, Relaxed);
            return probe;
        }
        true
    }

    /// Calls `look` until it returns `Some`, for at most the limit, if spinning pays; returns `None`
    /// at once if it does not (recent waits too long, spins skipped after a crowded one, or this
    /// thread just woke the thread it waits for), when the limit has passed, or when the machine
    /// turns out to be crowded.
    pub(crate) fn spin<T>(&self, mut look: impl FnMut() -> Option<T>) -> Option<T> {
        if WOKE_A_SLEEPER.with(|w| w.replace(false)) {
            return None;
        }
        let start = Instant::now();
        if !self.pays() || crowded_machine(start) {
            return None;
        }
        let limit = Duration::from_nanos(self.effective_ns());
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
    fn probes_that_find_long_waits_come_ever_more_rarely() {
        let spin = AdaptiveSpin::new(Duration::from_micros(50));
        for _ in 0..4 {
            spin.record(Duration::from_secs(1));
        }
        let mut intervals = Vec::new();
        for _ in 0..4 {
            let waits = (1..=MAX_PROBE_EVERY).take_while(|_| !spin.pays()).count() + 1;
            intervals.push(waits);
            spin.record(Duration::from_secs(1));
        }
        assert_eq!(intervals, [8, 16, 32, 64]);
        // One wait within the limit brings the short interval back.
        spin.record(Duration::from_micros(1));
        assert_eq!(spin.probe_every.load(Relaxed), PROBE_EVERY);
    }

    #[test]
    fn a_probe_that_finds_its_item_in_time_switches_spinning_back_on() {
        let spin = AdaptiveSpin::new(Duration::from_micros(50));
        for _ in 0..8 {
            spin.record(Duration::from_secs(1));
        }
        let skipped = (0..MAX_PROBE_EVERY).take_while(|_| !spin.pays()).count();
        assert_eq!(skipped as u32, PROBE_EVERY - 1);
        spin.record(Duration::from_micros(20));
        assert!(spin.pays(), "the probe's wait replaces the long ones");
    }

    #[test]
    fn a_thread_that_woke_a_sleeper_does_not_spin_once() {
        let spin = AdaptiveSpin::new(Duration::from_micros(50));
        woke_a_sleeper();
        let mut looked = false;
        let first = spin.spin(|| {
            looked = true;
            Some(())
        });
        assert_eq!((first, looked), (None, false));
        assert!(!WOKE_A_SLEEPER.with(|w| w.get()), "the hint is used once");
        woke_a_sleeper();
        let elsewhere = std::thread::spawn(|| WOKE_A_SLEEPER.with(|w| w.get())).join().unwrap();
        assert!(!elsewhere, "the hint belongs to the thread that woke");
    }

    #[test]
    fn limits_saturate_and_the_environment_is_read_as_microseconds() {
        assert_eq!(AdaptiveSpin::new(Duration::from_secs(1)).limit(), MAX_LIMIT);
        let spin = AdaptiveSpin::new(Duration::ZERO);
        spin.set_limit(Duration::MAX);
        assert_eq!(spin.limit(), MAX_LIMIT);
        let env = |v: &str| parse_env(std::ffi::OsStr::new(v));
        assert_eq!(env("0"), Some(Duration::ZERO));
        assert_eq!(env(" 40 "), Some(Duration::from_micros(40)));
        assert_eq!(env("99999999999"), Some(MAX_LIMIT));
        assert_eq!(env("-1"), None);
        assert_eq!(env("off"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_cgroup_v2_quota_reads_as_cpus() {
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("50000 100000\n"), Some(0.5));
        assert_eq!(parse_cpu_max("300000 100000"), Some(3.0));
        assert_eq!(parse_cpu_max(""), None);
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
