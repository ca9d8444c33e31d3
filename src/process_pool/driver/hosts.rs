//! The launcher targets (hosts) of a pool: where the next worker goes, and which hosts are set
//! aside after failing to start workers.
//!
//! A host is set aside for the rest of the pool's life after [`FAILURES_BEFORE_ASIDE`] launches in
//! a row failed there (the launcher could not run, the link broke, or the handshake failed), or at
//! once while `build` waits for its first worker and other hosts remain: a pool with one
//! unreachable host starts on the others. A new pool tries every host again.

use super::super::launcher::Target;

/// Failed launches in a row after which a host is set aside (once the pool is built).
pub(super) const FAILURES_BEFORE_ASIDE: u32 = 3;

/// One launcher target's record.
#[derive(Debug, Default)]
struct Host {
    /// Workers alive or being started there.
    load: usize,
    /// Launches that failed there since one last passed its handshake.
    failures: u32,
    /// Why no more workers are started there; `None`: in use.
    aside: Option<String>,
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
    /// The record of `targets`, some of them already unusable (`build` could not prepare them).
    pub(super) fn new(targets: &[Target], cap: usize) -> Hosts {
        let mut hosts: Vec<Host> = Vec::new();
        let mut labels = Vec::new();
        for t in targets {
            hosts.push(Host { aside: t.unusable().map(str::to_string), ..Host::default() });
            labels.push(t.label().to_string());
        }
        if hosts.is_empty() {
            hosts.push(Host::default());
            labels.push("local".into());
        }
        Hosts { hosts, labels, cap: cap.max(1) }
    }

    /// The host the next worker goes to, counted as loaded with it from now on.
    pub(super) fn pick(&mut self) -> Result<usize, NoHost> {
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
            h.failures = 0;
        }
    }

    /// A launch at host `i` failed for `why`; `at_once`: set it aside now if another host is in use.
    /// Returns whether it was set aside by this failure.
    pub(super) fn failed(&mut self, i: usize, why: &str, at_once: bool) -> bool {
        let others = (0..self.hosts.len()).any(|j| j != i && self.hosts[j].aside.is_none());
        let Some(h) = self.hosts.get_mut(i).filter(|h| h.aside.is_none()) else { return false };
        h.failures += 1;
        if h.failures < FAILURES_BEFORE_ASIDE && !(at_once && others) {
            return false;
        }
        h.aside = Some(format!("{} launch(es) in a row failed, the last: {why}", h.failures));
        log::warn!("tulip: process-pool host {} is set aside: {}", self.labels[i], why);
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

    /// Every host set aside and why, one per line: the error of tasks that can run nowhere.
    pub(super) fn nowhere(&self) -> String {
        let mut msg = String::from("no host can start a worker; set aside:");
        for (h, label) in self.hosts.iter().zip(&self.labels) {
            if let Some(why) = &h.aside {
                msg.push_str(&format!("\n  {label}: {why}"));
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

    fn hosts(n: usize, cap: usize) -> Hosts {
        let labels = (0..n).map(|i| format!("h{i}")).collect();
        Hosts { hosts: (0..n).map(|_| Host::default()).collect(), labels, cap }
    }

    #[test]
    fn workers_spread_over_hosts_up_to_the_cap() {
        let mut h = hosts(2, 2);
        let picks: Vec<_> = (0..4).map(|_| h.pick().unwrap()).collect();
        assert_eq!(picks, vec![0, 1, 0, 1]);
        assert_eq!(h.pick(), Err(NoHost::Full));
        h.unload(1);
        assert_eq!(h.pick(), Ok(1));
    }

    #[test]
    fn a_host_is_set_aside_after_failures_in_a_row_and_a_success_resets_them() {
        let mut h = hosts(2, usize::MAX);
        assert!(!h.failed(0, "x", false));
        h.ready(0);
        for _ in 1..FAILURES_BEFORE_ASIDE {
            assert!(!h.failed(0, "x", false));
        }
        assert!(h.failed(0, "refused", false));
        assert_eq!(h.aside_count(), 1);
        assert_eq!(h.pick(), Ok(1));
        assert!(h.nowhere().contains("h0: 3 launch(es) in a row failed, the last: refused"));
    }

    #[test]
    fn while_building_a_failing_host_goes_at_once_unless_it_is_the_last() {
        let mut h = hosts(2, usize::MAX);
        assert!(h.failed(0, "x", true));
        assert!(!h.failed(1, "y", true));
        assert!(h.any_usable());
        let mut one = hosts(1, usize::MAX);
        assert!(!one.failed(0, "x", true));
        assert_eq!(one.pick(), Ok(0));
    }

    #[test]
    fn with_every_host_aside_there_is_nowhere() {
        let mut h = hosts(1, usize::MAX);
        for _ in 0..FAILURES_BEFORE_ASIDE {
            h.failed(0, "x", false);
        }
        assert_eq!(h.pick(), Err(NoHost::Nowhere));
        assert!(!h.any_usable());
    }
}
