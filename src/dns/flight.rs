//! Single-flight: identical lookups in flight at the same time share one resolver call.
//!
//! # Implementation
//!
//! A table maps each key (host, port and hints; or address and flags) to the flight answering it. A
//! flight is created with the first caller's promise and handed to the lane as one job; callers that
//! arrive while it is in the table add their promise to it. When the call returns, the flight leaves
//! the table and every promise is completed with a clone of the answer; a caller arriving after that
//! starts a new flight, so an answer is never older than the call that produced it.
//!
//! Each caller holds its own [`ConcurrentFuture`]: cancelling or dropping it affects that caller only.
//! When every caller of a flight has gone before the lane reaches it, the resolver is not called at all.
//!
//! Locks: the table's lock may be held while a flight's lock is taken, never the other way round, and
//! no lock is held while a promise is completed or a job future is dropped (either may run callbacks
//! that come back here).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};

use super::{lane, DnsError, STATS};
use crate::error::JobError;
use crate::future::{self, ConcurrentFuture, Options, Promise};
use crate::sync::lock;

/// What a caller receives.
pub(crate) type Answer<V> = Result<V, DnsError>;

/// The in-flight lookups of one kind.
pub(crate) struct Table<K, V> {
    map: OnceLock<Mutex<HashMap<K, Arc<Flight<V>>>>>,
}

struct Flight<V> {
    state: Mutex<FlightState<V>>,
}

struct FlightState<V> {
    /// One promise per caller; each is completed exactly once, when the flight ends.
    waiters: Vec<Promise<Answer<V>>>,
    /// The flight has ended (answered, skipped, or failed to run); no caller may join it any more.
    done: bool,
    /// The lane job's future, kept so the queued job is not cancelled by dropping it.
    job: Option<ConcurrentFuture<()>>,
}

impl<K, V> Table<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    pub(crate) const fn new() -> Self {
        Table { map: OnceLock::new() }
    }

    fn map(&self) -> &Mutex<HashMap<K, Arc<Flight<V>>>> {
        self.map.get_or_init(|| Mutex::new(HashMap::new()))
    }

    /// How many flights are in progress.
    pub(crate) fn len(&self) -> usize {
        lock(self.map()).len()
    }

    /// Joins the flight for `key`, or starts one that runs `call` on the DNS lane.
    pub(crate) fn lookup<F>(&'static self, key: K, call: F) -> ConcurrentFuture<Answer<V>>
    where
        F: FnOnce() -> Answer<V> + Send + 'static,
    {
        // Each caller's future starts "queued" so that `cancel()` always succeeds for that caller; the
        // shared call goes on for the others.
        let (promise, fut) = future::pair(Options { drop_error: JobError::ShutDown, ..Options::default() });
        let flight = {
            let mut map = lock(self.map());
            if let Some(f) = map.get(&key) {
                let mut st = lock(&f.state);
                if !st.done {
                    st.waiters.push(promise);
                    STATS.joined.fetch_add(1, Ordering::Relaxed);
                    return fut;
                }
            }
            let flight = Arc::new(Flight {
                state: Mutex::new(FlightState { waiters: vec![promise], done: false, job: None }),
            });
            map.insert(key.clone(), flight.clone());
            flight
        };

        let (job_key, job_flight) = (key.clone(), flight.clone());
        let job = move || {
            lane::wait_while_held();
            if self.skip_if_unwanted(&job_key, &job_flight) {
                return;
            }
            STATS.resolver_calls.fetch_add(1, Ordering::Relaxed);
            let answer = call();
            self.finish(&job_key, &job_flight, answer);
        };
        match lane::submit(job) {
            Ok(cf) => {
                // A job the lane drops without running (it shut down) or that panics must still
                // answer its callers.
                let (cb_key, cb_flight) = (key, flight.clone());
                cf.add_done_callback(move |r: &Result<(), JobError>| {
                    if let Err(e) = r {
                        self.finish(&cb_key, &cb_flight, Err(DnsError::Job(e.clone())));
                    }
                });
                let mut st = lock(&flight.state);
                if st.done {
                    drop(st);
                    drop(cf);
                } else {
                    st.job = Some(cf);
                }
            }
            Err(e) => self.finish(&key, &flight, Err(DnsError::Job(e))),
        }
        fut
    }

    /// Takes the flight out of the table if it is still the one registered for `key`.
    fn unlink(&self, key: &K, flight: &Arc<Flight<V>>) {
        let mut map = lock(self.map());
        if map.get(key).is_some_and(|f| Arc::ptr_eq(f, flight)) {
            map.remove(key);
        }
    }

    /// Ends the flight without a resolver call when every caller has cancelled or dropped its future.
    fn skip_if_unwanted(&self, key: &K, flight: &Arc<Flight<V>>) -> bool {
        let (waiters, job) = {
            let mut st = lock(&flight.state);
            if st.done || !st.waiters.iter().all(|p| p.is_done()) {
                return st.done;
            }
            st.done = true;
            (std::mem::take(&mut st.waiters), st.job.take())
        };
        self.unlink(key, flight);
        drop(waiters);
        drop(job);
        true
    }

    /// Ends the flight with `answer` for every caller (once; later calls do nothing).
    fn finish(&self, key: &K, flight: &Arc<Flight<V>>, answer: Answer<V>) {
        // Unlink first: from here on a new caller starts a fresh flight instead of joining this one.
        self.unlink(key, flight);
        let (waiters, job) = {
            let mut st = lock(&flight.state);
            if st.done {
                return;
            }
            st.done = true;
            (std::mem::take(&mut st.waiters), st.job.take())
        };
        for w in waiters {
            w.complete(Ok(answer.clone()));
        }
        drop(job);
    }
}
