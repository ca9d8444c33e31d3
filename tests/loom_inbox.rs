//! A `loom` model of the loop's thread-safe inbox and its wakeup protocol: producers push and wake
//! while the loop announces its sleep, looks at the inbox a last time, sleeps (parked on its thread,
//! or in the poller), wakes and drains, in every interleaving loom can find.
//!
//! The code under test is the loop's own `Inbox` (queue, close, and the `Wakeup` state claimed with
//! a compare-and-swap); only the two system calls are modelled, each by a sticky token (a flag with a
//! condition variable): `thread::park`/`Thread::unpark` (std's park token) and
//! `Poller::wait`/`Poller::notify` (an eventfd that stays readable until a wait consumes it). loom's
//! own `thread::park` is not used: in loom 0.7 a stray `unpark` of a thread blocked in `join` aborts
//! the model (tokio-rs/loom#249), and the loop's protocol does allow a late, harmless `unpark`.
//!
//! A lost wakeup leaves the loop asleep with nobody left to wake it, which loom reports as a
//! deadlock; a lost or duplicated item fails the count.
//!
//! The model has teeth: each of these mutations of `src/handle.rs` makes it fail (checked by hand
//! when it was written) — waking only a polling loop and not a parked one (5 tests fail), not
//! looking at the inbox after the announcement (deadlock), dropping the producer's `SeqCst` fence
//! (`flag_and_wake_without_push`), and replacing the compare-and-swap by a plain store of
//! `NOTIFIED` (`loop_switching_sleep_modes`: a producer that read an earlier sleep's mode delivers
//! the wrong wakeup).
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test --release --test loom_inbox`.
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

use tulip::__loom::{Inbox, Sleep};

/// Runs `f` in every interleaving with at most `LOOM_MAX_PREEMPTIONS` preemptions (default 4, about
/// five seconds for this file: each mutation listed in the module docs is found with it, while the
/// unbounded space of three threads with mutexes takes hours).
fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(4);
    }
    b.check(f);
}

/// A sticky wakeup token: `notify` makes the next (or current) `wait` return, however many
/// `notify` calls came before it.
#[derive(Default)]
struct Token {
    pending: Mutex<bool>,
    cv: Condvar,
}

impl Token {
    fn notify(&self) {
        *self.pending.lock().unwrap() = true;
        self.cv.notify_all();
    }

    fn wait(&self) {
        let mut pending = self.pending.lock().unwrap();
        while !*pending {
            pending = self.cv.wait(pending).unwrap();
        }
        *pending = false;
    }
}

/// The shared half of a modelled loop: what `handle::Shared` holds, with the OS calls modelled.
struct Loop {
    inbox: Inbox<usize>,
    /// The loop thread's park token.
    park: Token,
    /// The poller's notification.
    poller: Token,
    /// Wakeups delivered, to check they are coalesced.
    wakeups: AtomicUsize,
}

impl Loop {
    fn new() -> Arc<Loop> {
        Arc::new(Loop {
            inbox: Inbox::new(),
            park: Token::default(),
            poller: Token::default(),
            wakeups: AtomicUsize::new(0),
        })
    }

    /// `Shared::push`: queue, then deliver the wakeup the inbox claimed, if any.
    fn push(&self, item: usize) -> Result<(), usize> {
        let wakeup = self.inbox.push(item)?;
        self.deliver(wakeup);
        Ok(())
    }

    /// `Shared::wake` (a waker that sets a flag of its own, then wakes the loop).
    fn wake(&self) {
        self.deliver(self.inbox.claim_wakeup());
    }

    fn deliver(&self, wakeup: Option<Sleep>) {
        match wakeup {
            None => {}
            Some(Sleep::Poller) => {
                self.wakeups.fetch_add(1, Ordering::Relaxed);
                self.poller.notify();
            }
            Some(Sleep::Park) => {
                self.wakeups.fetch_add(1, Ordering::Relaxed);
                self.park.notify();
            }
        }
    }

    /// One blocking pass of `EventLoop::run_once`: announce, look once more, sleep, wake, drain.
    /// `how` picks the sleep the way the loop does (no fd and no timer: park; else the poller).
    fn pass(&self, how: Sleep, extra_work: impl Fn() -> bool, got: &mut Vec<usize>) {
        let empty = self.inbox.prepare_sleep(how);
        if empty && !extra_work() {
            match how {
                Sleep::Park => self.park.wait(),
                Sleep::Poller => self.poller.wait(),
            }
        }
        self.inbox.after_sleep();
        let mut buf = Vec::new();
        self.inbox.drain_into(&mut buf);
        got.extend(buf);
    }
}

/// The loop sleeps the same way on every pass while producers each post one item.
fn producers_vs_sleeping_loop(how: Sleep, producers: usize) {
    model(move || {
        let lp = Loop::new();
        let handles: Vec<_> = (0..producers)
            .map(|i| {
                let lp = lp.clone();
                thread::spawn(move || lp.push(i).unwrap())
            })
            .collect();
        let mut got = Vec::new();
        while got.len() < producers {
            lp.pass(how, || false, &mut got);
        }
        for h in handles {
            h.join().unwrap();
        }
        got.sort_unstable();
        assert_eq!(got, (0..producers).collect::<Vec<_>>(), "an item was lost or duplicated");
        // Coalesced: never more wakeups than items (each push claims at most one).
        assert!(lp.wakeups.load(Ordering::Relaxed) <= producers);
    });
}

#[test]
fn one_producer_parked_loop() {
    producers_vs_sleeping_loop(Sleep::Park, 1);
}

#[test]
fn one_producer_polling_loop() {
    producers_vs_sleeping_loop(Sleep::Poller, 1);
}

#[test]
fn two_producers_parked_loop() {
    producers_vs_sleeping_loop(Sleep::Park, 2);
}

#[test]
fn two_producers_polling_loop() {
    producers_vs_sleeping_loop(Sleep::Poller, 2);
}

/// The loop switches between parking and polling from one pass to the next (a timer or an fd came
/// or went), so a producer may read the mode of an earlier sleep: its compare-and-swap must fail
/// rather than deliver the wrong wakeup, and the Dekker fences must still make one side see the
/// other.
#[test]
fn loop_switching_sleep_modes() {
    model(|| {
        let lp = Loop::new();
        let producers: Vec<_> = (0..2)
            .map(|i| {
                let lp = lp.clone();
                thread::spawn(move || lp.push(i).unwrap())
            })
            .collect();
        let mut got = Vec::new();
        let mut pass = 0;
        while got.len() < 2 {
            let how = if pass % 2 == 0 { Sleep::Poller } else { Sleep::Park };
            lp.pass(how, || false, &mut got);
            pass += 1;
        }
        for p in producers {
            p.join().unwrap();
        }
        got.sort_unstable();
        assert_eq!(got, vec![0, 1]);
    });
}

/// A producer pushes twice: the second push may find the loop between its wakeup and its drain
/// (state `NOTIFIED`), or asleep again; either way both items arrive.
#[test]
fn producer_posting_twice() {
    model(|| {
        let lp = Loop::new();
        let p = {
            let lp = lp.clone();
            thread::spawn(move || {
                lp.push(1).unwrap();
                lp.push(2).unwrap();
            })
        };
        let mut got = Vec::new();
        while got.len() < 2 {
            lp.pass(Sleep::Park, || false, &mut got);
        }
        p.join().unwrap();
        assert_eq!(got, vec![1, 2], "items from one producer arrive in order");
    });
}

/// `Shared::wake` without a push (the waker of `run_until_complete`'s future): the flag the waker
/// sets is the loop's "work ready" check, made after the announcement, so the loop either sees it
/// or is woken.
#[test]
fn flag_and_wake_without_push() {
    model(|| {
        let lp = Loop::new();
        let flag = Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let w = {
            let (lp, flag) = (lp.clone(), flag.clone());
            thread::spawn(move || {
                flag.store(true, Ordering::Release);
                lp.wake();
            })
        };
        let mut got = Vec::new();
        while !flag.load(Ordering::Acquire) {
            lp.pass(Sleep::Park, || flag.load(Ordering::Acquire), &mut got);
        }
        w.join().unwrap();
        assert!(got.is_empty());
    });
}

/// `close()` races a push: the item is either refused (handed back to the producer) or taken by
/// `close`, never both and never neither; later pushes are refused.
#[test]
fn close_races_push() {
    model(|| {
        let lp = Loop::new();
        let p = {
            let lp = lp.clone();
            thread::spawn(move || lp.push(7).is_err())
        };
        let drained = lp.inbox.close();
        let refused = p.join().unwrap();
        assert!(refused ^ (drained == vec![7]), "refused: {refused}, drained: {drained:?}");
        assert!(lp.inbox.is_closed());
        assert_eq!(lp.inbox.push(8), Err(8));
    });
}
