//! Sizing: how many workers the pool wants, which idle ones retire.

use std::time::Instant;

use super::super::lock;
use super::link::Phase;
use super::Driver;

impl Driver {
    /// Workers that count towards the pool's size: being spawned, starting, or ready and not retiring.
    pub(super) fn usable(&self) -> usize {
        self.pending_spawns + self.workers.iter().flatten().filter(|w| !w.retiring).count()
    }

    /// Closes a worker's input: it finishes what it has, then exits; its end is seen as EOF.
    pub(super) fn close_input(&mut self, slot: usize) {
        if let Some(w) = self.workers[slot].as_mut() {
            w.retiring = true;
            if let Some(f) = w.to_worker.take() {
                let _ = self.shared.poller.delete(&f);
            }
        }
    }

    pub(super) fn maintain(&mut self, now: Instant) {
        self.resize_due = false;
        let cfg = &self.shared.config;
        let (min, max, idle_timeout) = (cfg.min_workers, cfg.max_workers, cfg.idle_timeout);
        let (queue_len, closing) = {
            let inbox = lock(&self.shared.inbox);
            (inbox.queue.len(), inbox.closing)
        };
        let mut usable = self.usable();
        for slot in 0..self.workers.len() {
            let Some(w) = self.workers[slot].as_ref() else { continue };
            if w.phase != Phase::Ready || w.to_worker.is_none() || !w.fifo.is_empty() || w.pending_out() > 0 {
                continue;
            }
            let idle_expired =
                !w.retiring && usable > min && w.idle_due(idle_timeout).is_some_and(|t| now >= t);
            if w.retiring || (closing.is_some() && queue_len == 0) || idle_expired {
                if !w.retiring {
                    usable -= 1;
                }
                self.close_input(slot);
            }
        }
        let waiting_for_first = self.startup.is_some();
        if waiting_for_first
            || closing.is_some_and(|c| c.kill)
            || self.spawn_retry_at.is_some_and(|t| now < t)
        {
            return;
        }
        let limit = self.depth_limit();
        loop {
            let usable = self.usable();
            let starting = self.pending_spawns
                + self.workers.iter().flatten().filter(|w| matches!(w.phase, Phase::Starting { .. })).count();
            let has_room = self.workers.iter().flatten().any(|w| w.room(limit, now) > 0);
            let want =
                (usable < min && closing.is_none()) || (queue_len > starting && !has_room && usable < max);
            if !want {
                break;
            }
            let before = self.pending_spawns;
            self.request_spawn();
            if self.pending_spawns == before {
                break;
            }
        }
    }
}
