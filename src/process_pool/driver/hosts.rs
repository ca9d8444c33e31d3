//! The launcher targets (hosts) of a pool: where the next worker goes, and which hosts are set
//! aside after failing to start workers.
//!
//! A host is set aside after [`FAILURES_BEFORE_ASIDE`] launches in a row failed there (the launcher
//! could not run, the link broke, or the handshake failed), or at once while `build` waits for its
//! first worker and other hosts remain: a pool with one unreachable host starts on the others.
//! A host set aside is tried again once its cool-off is over ([`Launcher::cool_off`], doubled each
//! time it is set aside again before a worker passes its handshake there, up to
//! [`MAX_COOL_OFF_FACTOR`] times): by the next worker the pool starts, and a single failure then
//! sets it aside again. A host `build` could not put the program on stays aside for the pool's life
//! (a new pool tries it again).
//!
//! [`Launcher::cool_off`]: crate::process::Launcher::cool_off

use std::time::{Duration, Instant};

use super::super::launcher::{Launcher, Target};

/// Failed launches in a row after which a host is set aside (once the pool is built).
pub(super) const FAILURES_BEFORE_ASIDE: u32 = 3;

/// The longest cool-off, in multiples of the launcher's: a host down for hours is tried every few
/// minutes (with the default), not every half minute.
const MAX_COOL_OFF_FACTOR: u32 = 16;

/// One launcher target's record.
#[derive(Debug, Default)]
struct Host {
    /// Workers alive or being started there.
    load: usize,
    /// Launches that failed there since one last passed its handshake.
    failures: u32,
    /// Why no more workers are started there, and until when; `None`: in use.
    aside: Option<Aside>,
    /// Times it was set aside since a worker last passed its handshake there.
    asides: u32,
}

#[derive(Debug)]
struct Aside {
    why: String,
    /// When it is tried again; `None`: never (`build` could not put the program there).
    until: Option<Instant>,
}

/// Where the next worker goes: the host with the fewest workers (then the fewest recent failures,
/// then the first), among those not set aside and below the per-host cap.
#[derive(Debug)]
pub(super) struct Hosts {
    /// One per `config.targets`, in its order (the indices workers carry).
    hosts: Vec<Host>,
    /// The names of the targets, for errors and logs.
    labels: Vec<String>,
    /// Most workers one host holds at once (`usize::MAX`: no cap).
    cap: usize,
    /// How long a host set aside for the first time waits before it is tried again.
    cool_off: Duration,
}

/// Why [`Hosts::pick`] found no host.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum NoHost {
    /// Every host in use holds its cap of workers.
    Full,
    /// Every host is set aside.
    Nowhere,
}

impl Hosts {
    /// The record of `targets` of `launcher`, some of them already unusable (`build` could not
    /// prepare them).
    pub(super) fn new(targets: &[Target], launcher: &Launcher) -> Hosts {
        let mut hosts: Vec<Host> = Vec::new();
        let mut labels = Vec::new();
        for t in targets {
            let aside = t.unusable().map(|why| Aside { why: why.to_string(), until: None });
            hosts.push(Host { aside, ..Host::default() });
            labels.push(t.label().to_string());
        }
        if hosts.is_empty() {
            hosts.push(Host::default());
            labels.push("local".into());
        }
        Hosts { hosts, labels, cap: launcher.per_host_cap().max(1), cool_off: launcher.cool_off_time() }
    }

    /// The host the next worker goes to at `now`, counted as loaded with it from now on. Hosts whose
    /// cool-off is over are back in use first.
    pub(super) fn pick(&mut self, now: Instant) -> Result<usize, NoHost> {
        for (h, label) in self.hosts.iter_mut().zip(&self.labels) {
            if h.aside.as_ref().is_some_and(|a| a.until.is_some_and(|t| now >= t)) {
                log::info!("tulip: process-pool host {label} is tried again after its cool-off");
                (h.aside, h.failures) = (None, FAILURES_BEFORE_ASIDE - 1);
            }
        }
        let usable = (0..self.hosts.len()).filter(|&i| self.hosts[i].aside.is_none());
        let open: Vec<usize> = usable.clone().filter(|&i| self.hosts[i].load < self.cap).collect();
        let Some(&best) = open.iter().min_by_key(|&&i| (self.hosts[i].load, self.hosts[i].failures)) else {
            return Err(if usable.count() == 0 { NoHost::Nowhere } else { NoHost::Full });
        };
        self.hosts[best].load += 1;
        Ok(best)
    }

    /// A worker of host `i` is gone, or never started.
    pub(super) fn unload(&mut self, i: usize) {
        if let Some(h) = self.hosts.get_mut(i) {
            h.load = h.load.saturating_sub(1);
        }
    }

    /// A worker of host `i` passed its handshake.
    pub(super) fn ready(&mut self, i: usize) {
        if let Some(h) = self.hosts.get_mut(i) {
            (h.failures, h.asides) = (0, 0);
        }
    }

    /// A launch at host `i` failed at `now` for `why`; `at_once`: set it aside now if another host
    /// is in use. Returns whether it was set aside by this failure.
    pub(super) fn failed(&mut self, i: usize, now: Instant, why: &str, at_once: bool) -> bool {
        let others = (0..self.hosts.len()).any(|j| j != i && self.hosts[j].aside.is_none());
        let Some(h) = self.hosts.get_mut(i).filter(|h| h.aside.is_none()) else { return false };
        h.failures += 1;
        if h.failures < FAILURES_BEFORE_ASIDE && !(at_once && others) {
            return false;
        }
        let factor = 1u32 << h.asides.min(MAX_COOL_OFF_FACTOR.ilog2());
        h.asides += 1;
        let until = now.checked_add(self.cool_off.saturating_mul(factor));
        let why = format!("{} launch(es) in a row failed, the last: {why}", h.failures);
        log::warn!("tulip: process-pool host {} is set aside: {why}", self.labels[i]);
        h.aside = Some(Aside { why, until });
        true
    }

    /// Whether a worker could still be started somewhere.
    pub(super) fn any_usable(&self) -> bool {
        self.hosts.iter().any(|h| h.aside.is_none())
    }

    /// How many hosts are set aside.
    pub(super) fn aside_count(&self) -> usize {
        self.hosts.iter().filter(|h| h.aside.is_some()).count()
    }

    /// Every host set aside at `now` and why, one per line: the error of tasks that can run nowhere.
    pub(super) fn nowhere(&self, now: Instant) -> String {
        let mut msg = String::from("no host can start a worker; set aside:");
        for (h, label) in self.hosts.iter().zip(&self.labels) {
            let Some(a) = &h.aside else { continue };
            msg.push_str(&format!("\n  {label}: {}", a.why));
            if let Some(until) = a.until {
                msg.push_str(&format!(" (tried again in {:.1?})", until.saturating_duration_since(now)));
            }
        }
        msg
    }

    /// Whether the pool has more than one host (errors then name each).
    pub(super) fn several(&self) -> bool {
        self.hosts.len() > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL: Duration = Duration::from_secs(30);

    fn hosts(n: usize, cap: usize) -> Hosts {
        let labels = (0..n).map(|i| format!("h{i}")).collect();
        Hosts { hosts: (0..n).map(|_| Host::default()).collect(), labels, cap, cool_off: COOL }
    }

    /// One fixed instant, the tests' "now".
    fn t0() -> Instant {
        use std::sync::OnceLock;
        static T0: OnceLock<Instant> = OnceLock::new();
        *T0.get_or_init(Instant::now)
    }

    fn set_aside(h: &mut Hosts, i: usize, now: Instant) {
        for _ in 0..FAILURES_BEFORE_ASIDE {
            h.failed(i, now, "down", false);
        }
        assert!(h.hosts[i].aside.is_some());
    }

    #[test]
    fn a_host_set_aside_is_tried_again_after_its_cool_off() {
        let mut h = hosts(1, usize::MAX);
        set_aside(&mut h, 0, t0());
        assert_eq!(h.pick(t0() + COOL - Duration::from_millis(1)), Err(NoHost::Nowhere));
        assert!(h
            .nowhere(t0())
            .contains("h0: 3 launch(es) in a row failed, the last: down (tried again in 30.0s)"));
        assert_eq!(h.pick(t0() + COOL), Ok(0), "back after its cool-off");
        assert_eq!(h.aside_count(), 0);
    }

    #[test]
    fn a_host_that_fails_again_waits_twice_as_long_until_a_worker_starts_there() {
        let mut h = hosts(1, usize::MAX);
        set_aside(&mut h, 0, t0());
        let back = t0() + COOL;
        assert_eq!(h.pick(back), Ok(0));
        h.unload(0);
        assert!(h.failed(0, back, "still down", false), "one failure after the cool-off sets it aside");
        assert_eq!(h.pick(back + COOL), Err(NoHost::Nowhere), "for twice as long");
        assert_eq!(h.pick(back + 2 * COOL), Ok(0));
        h.ready(0);
        h.unload(0);
        let later = back + 2 * COOL;
        set_aside(&mut h, 0, later);
        assert_eq!(h.pick(later + COOL), Ok(0), "a worker that started there resets the cool-off");
    }

    #[test]
    fn the_cool_off_stops_growing() {
        let mut h = hosts(1, usize::MAX);
        let mut now = t0();
        for _ in 0..10 {
            set_aside(&mut h, 0, now);
            now += COOL * MAX_COOL_OFF_FACTOR;
            assert_eq!(h.pick(now), Ok(0));
            h.unload(0);
            h.hosts[0].failures = 0;
        }
    }

    #[test]
    fn a_host_build_could_not_prepare_stays_aside() {
        let mut h = hosts(1, usize::MAX);
        h.hosts[0].aside = Some(Aside { why: "no upload".into(), until: None });
        assert_eq!(h.pick(t0() + COOL * 100), Err(NoHost::Nowhere));
    }

    #[test]
    fn workers_spread_over_hosts_up_to_the_cap() {
        let mut h = hosts(2, 2);
        let picks: Vec<_> = (0..4).map(|_| h.pick(t0()).unwrap()).collect();
        assert_eq!(picks, vec![0, 1, 0, 1]);
        assert_eq!(h.pick(t0()), Err(NoHost::Full));
        h.unload(1);
        assert_eq!(h.pick(t0()), Ok(1));
    }

    #[test]
    fn a_host_is_set_aside_after_failures_in_a_row_and_a_success_resets_them() {
        let mut h = hosts(2, usize::MAX);
        assert!(!h.failed(0, t0(), "x", false));
        h.ready(0);
        for _ in 1..FAILURES_BEFORE_ASIDE {
            assert!(!h.failed(0, t0(), "x", false));
        }
        assert!(h.failed(0, t0(), "refused", false));
        assert_eq!(h.aside_count(), 1);
        assert_eq!(h.pick(t0()), Ok(1));
        assert!(h.nowhere(t0()).contains("h0: 3 launch(es) in a row failed, the last: refused"));
    }

    #[test]
    fn while_building_a_failing_host_goes_at_once_unless_it_is_the_last() {
        let mut h = hosts(2, usize::MAX);
        assert!(h.failed(0, t0(), "x", true));
        assert!(!h.failed(1, t0(), "y", true));
        assert!(h.any_usable());
        let mut one = hosts(1, usize::MAX);
        assert!(!one.failed(0, t0(), "x", true));
        assert_eq!(one.pick(t0()), Ok(0));
    }

    #[test]
    fn with_every_host_aside_there_is_nowhere() {
        let mut h = hosts(1, usize::MAX);
        for _ in 0..FAILURES_BEFORE_ASIDE {
            h.failed(0, t0(), "x", false);
        }
        assert_eq!(h.pick(t0()), Err(NoHost::Nowhere));
        assert!(!h.any_usable());
    }
}
