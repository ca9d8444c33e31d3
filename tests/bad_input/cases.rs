#[path = "../support/process_harness.rs"]
mod harness;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use harness::Case;
use serde::de::{Deserializer, Error as _};
use serde::ser::{Error as _, Serializer};
use serde::{Deserialize, Serialize};
use tulip::dns::{self, Hints};
use tulip::{
    BlockingPortal, BuildError, DnsError, EventLoop, ExceptionContext, JobError, LoopClosed, ProcessPool,
    RunError, SubmitError, ThreadPool,
};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case { name: "loop_after_close", run: loop_after_close },
        Case { name: "loop_misuse_while_running", run: loop_misuse_while_running },
        Case { name: "loop_refuses_bad_fds", run: loop_refuses_bad_fds },
        Case { name: "panicking_exception_handler", run: panicking_exception_handler },
        Case { name: "reentrant_waits_fail_fast", run: reentrant_waits_fail_fast },
        Case {
            name: "reentrant_wait_for_a_job_waiting_for_room",
            run: reentrant_wait_for_a_job_waiting_for_room,
        },
        Case { name: "result_taken_twice", run: result_taken_twice },
        Case { name: "thread_pool_after_shutdown", run: thread_pool_after_shutdown },
        Case { name: "thread_pool_bad_settings", run: thread_pool_bad_settings },
        Case { name: "thread_pool_panicking_initializer", run: thread_pool_panicking_initializer },
        Case { name: "thread_pool_full_queue", run: thread_pool_full_queue },
        Case { name: "process_pool_after_shutdown", run: process_pool_after_shutdown },
        Case { name: "process_pool_bad_settings", run: process_pool_bad_settings },
        Case { name: "process_pool_unencodable_arguments", run: process_pool_unencodable_arguments },
        Case { name: "process_pool_unencodable_result", run: process_pool_unencodable_result },
        Case { name: "process_pool_undecodable_result", run: process_pool_undecodable_result },
        Case { name: "process_pool_oversize_frames", run: process_pool_oversize_frames },
        Case { name: "dns_bad_names_and_arguments", run: dns_bad_names_and_arguments },
        Case { name: "portal_after_stop", run: portal_after_stop },
    ]);
}

/// Panics without running the panic hook, so that the expected panics of these cases do not fill the
/// output (the payload, and so the message tulip reports, is the same as `panic!`'s).
fn quiet_panic<M: std::any::Any + Send + 'static>(msg: M) -> ! {
    std::panic::resume_unwind(Box::new(msg))
}

// ----- the event loop -------------------------------------------------------------------------

fn loop_after_close() {
    let lp = EventLoop::new().unwrap();
    let h = lp.handle();
    lp.close().unwrap();
    lp.close().unwrap(); // idempotent
    assert_eq!(lp.run_until_complete(async { 1 }), Err(RunError::Closed));
    assert_eq!(lp.run_forever(), Err(RunError::Closed));
    // Scheduling on a closed loop hands back a handle that says so, and drops the callback.
    assert!(lp.call_soon(|| ()).cancelled());
    assert!(lp.call_later(Duration::from_secs(1), || ()).cancelled());
    assert_eq!(h.call_soon_threadsafe(|| ()), Err(LoopClosed));
    assert!(h.is_closed());
    assert_eq!(h.spawn_threadsafe(async { 1 }).wait(), Err(JobError::LoopClosed));
    assert_eq!(lp.spawn(async { 1 }).cancel_and_check(), Err(JobError::Cancelled));
    h.stop(); // harmless
              // SAFETY: a closed loop refuses before it keeps anything.
    let add = unsafe { lp.add_reader(0, || ()) }.unwrap_err();
    assert!(add.to_string().contains("closed"), "{add}");
    assert_eq!(LoopClosed.to_string(), "the event loop is closed");
}

/// A small extension to read a task's outcome on a closed loop without running it.
trait CancelAndCheck<T> {
    fn cancel_and_check(self) -> Result<T, JobError>;
}

impl<T: 'static> CancelAndCheck<T> for tulip::Task<T> {
    fn cancel_and_check(self) -> Result<T, JobError> {
        assert!(self.is_done(), "a task spawned on a closed loop is cancelled at once");
        futures_lite::future::block_on(self)
    }
}

fn loop_misuse_while_running() {
    let lp = EventLoop::new().unwrap();
    let other = EventLoop::new().unwrap();
    let inner = lp.clone();
    let (again, nested, close) = lp
        .run_until_complete(async move {
            (inner.run_until_complete(async {}), other.run_forever(), inner.close())
        })
        .unwrap();
    assert_eq!(again, Err(RunError::AlreadyRunning));
    assert_eq!(nested, Err(RunError::NestedLoop));
    assert_eq!(close, Err(RunError::AlreadyRunning));
    // Still usable.
    assert_eq!(lp.run_until_complete(async { 5 }), Ok(5));
    // A stop() before the future completes.
    let lp2 = lp.clone();
    let stopped = lp.run_until_complete(async move {
        lp2.stop();
        tulip::sleep(Duration::from_secs(60)).await
    });
    assert_eq!(stopped, Err(RunError::Stopped));
    assert_eq!(lp.run_until_complete(async { 6 }), Ok(6));
    // Async::new off a loop is an error, not a panic.
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let e = tulip::Async::new(a).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    assert!(tulip::try_get_running_loop().is_none());
}

fn loop_refuses_bad_fds() {
    let lp = EventLoop::new().unwrap();
    // SAFETY: a number that is not an open fd is refused before the loop keeps it.
    assert!(unsafe { lp.add_reader(-1, || ()) }.is_err());
    // Far above any descriptor limit: never open.
    let never_open = 1 << 30;
    // SAFETY: a number that is not an open fd is refused before the loop keeps it.
    assert!(unsafe { lp.add_writer(never_open, || ()) }.is_err());
    assert!(!lp.remove_reader(never_open));
    assert_eq!(lp.run_until_complete(async { 1 }), Ok(1));
}

fn panicking_exception_handler() {
    let lp = EventLoop::new().unwrap();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    lp.set_exception_handler(Some(move |_: &EventLoop, ctx: &ExceptionContext| {
        c.set(c.get() + 1);
        quiet_panic(format!("the handler itself fails while handling {:?}", ctx.panic));
    }));
    let after = Rc::new(Cell::new(false));
    let a = after.clone();
    lp.call_soon(|| quiet_panic("a callback fails"));
    lp.call_soon(move || a.set(true));
    let task = lp.spawn(async { quiet_panic("a task fails") });
    let out = lp.run_until_complete(task);
    assert!(matches!(out, Ok(Err(JobError::Panicked(ref m))) if m == "a task fails"), "{out:?}");
    assert!(after.get(), "the callback after the failing one still ran");
    assert_eq!(calls.get(), 2, "the handler saw both failures");
    // An explicit call, a handler reset, and the loop still runs.
    lp.call_exception_handler(ExceptionContext::new("by hand"));
    assert_eq!(calls.get(), 3);
    lp.set_exception_handler(None::<fn(&EventLoop, &ExceptionContext)>);
    lp.call_soon(|| quiet_panic("to the default handler"));
    assert_eq!(lp.run_until_complete(async { 7 }), Ok(7));
}

// ----- re-entrant waits -------------------------------------------------------------------------

fn reentrant_waits_fail_fast() {
    // Waiting on the loop's thread for a task of that loop.
    let lp = EventLoop::new().unwrap();
    let h = lp.handle();
    let r = lp.run_until_complete(async move { h.spawn_threadsafe(async { 1 }).wait() }).unwrap();
    assert_eq!(r, Err(JobError::WouldDeadlock));
    // ... also outside run: the loop lives on this thread, so nothing else can ever run it.
    let mut fut = lp.handle().spawn_threadsafe(async { 2 });
    assert_eq!(fut.wait_timeout(Duration::from_secs(10)), Some(Err(JobError::WouldDeadlock)));
    assert_eq!(lp.run_until_complete(async { 3 }), Ok(3));

    // A portal called from inside itself.
    let portal = Arc::new(BlockingPortal::start().unwrap());
    let p = portal.clone();
    let inner = portal.call(move || async move { p.call(|| async { 1 }) }).unwrap();
    assert_eq!(inner, Err(JobError::WouldDeadlock));
    let p = portal.clone();
    let inner = portal.call(move || async move { p.spawn_with(|| async { 1 }).wait() }).unwrap();
    assert_eq!(inner, Err(JobError::WouldDeadlock));
    assert!(JobError::WouldDeadlock.to_string().contains("deadlock"));
    // The portal still serves.
    assert_eq!(portal.call(|| async { 4 }), Ok(4));
}

/// `run_in_executor` on a pool whose bounded queue is full hands the job to a task on the loop,
/// which waits for room. Waiting for that job's future on the loop's thread could never end (the
/// task that would queue the job cannot run), so it must fail fast, like the other re-entrant waits.
fn reentrant_wait_for_a_job_waiting_for_room() {
    let pool = ThreadPool::builder().max_workers(1).queue_capacity(1).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let running = pool.submit(move || rx.recv().is_ok()).unwrap();
    while pool.stats().running == 0 {
        std::thread::yield_now();
    }
    let queued = pool.submit(|| 1).unwrap();
    let lp = EventLoop::new().unwrap();
    let p = pool.clone();
    let (waited, fut) = lp
        .run_until_complete(async move {
            let lp = tulip::get_running_loop();
            let mut fut = lp.run_in_executor(Some(&p), || 2);
            // The worker is freed meanwhile, so a wait that does not fail fast would hang only
            // until the liveness bound, and the test would report it.
            tx.send(()).unwrap();
            (fut.wait_timeout(Duration::from_secs(5)), fut)
        })
        .unwrap();
    assert_eq!(waited, Some(Err(JobError::WouldDeadlock)));
    assert_eq!(running.wait(), Ok(true));
    assert_eq!(queued.wait(), Ok(1));
    // Awaited on the loop, the same job runs.
    assert_eq!(lp.run_until_complete(fut), Ok(Ok(2)));
}

fn result_taken_twice() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let mut fut = pool.submit(|| 9).unwrap();
    assert_eq!(fut.wait_timeout(Duration::from_secs(10)), Some(Ok(9)));
    assert_eq!(fut.wait_timeout(Duration::from_secs(10)), Some(Err(JobError::ResultTaken)));
    assert_eq!(fut.wait(), Err(JobError::ResultTaken));
}

// ----- thread pools -----------------------------------------------------------------------------

fn thread_pool_after_shutdown() {
    let pool = ThreadPool::builder().max_workers(2).build().unwrap();
    assert_eq!(pool.submit(|| 1).unwrap().wait(), Ok(1));
    assert!(pool.shutdown_timeout(Duration::MAX).is_complete());
    pool.shutdown(); // idempotent
    assert!(pool.shutdown_timeout(Duration::ZERO).is_complete());
    assert!(pool.is_shut_down());
    assert!(matches!(pool.submit(|| 1), Err(SubmitError::ShutDown)));
    assert!(matches!(pool.try_submit(|| 1), Err(SubmitError::ShutDown)));
    assert!(matches!(pool.submit_with_token(|_| 1), Err(SubmitError::ShutDown)));
    assert!(matches!(futures_lite::future::block_on(pool.submit_async(|| 1)), Err(SubmitError::ShutDown)));
    let mapped: Vec<_> = pool.map(|x: u32| x, 0..3).collect();
    assert!(mapped.iter().all(|r| *r == Err(JobError::ShutDown)), "{mapped:?}");
    let via_loop = tulip::run(async move {
        let lp = tulip::get_running_loop();
        lp.run_in_executor(Some(&pool), || 1).await
    });
    assert_eq!(via_loop, Err(JobError::ShutDown));
    assert_eq!(SubmitError::ShutDown.to_string(), "the pool is shut down");
    // A loop's default executor, once shut down.
    let lp = EventLoop::new().unwrap();
    let report = lp.run_until_complete(lp.shutdown_default_executor(None)).unwrap();
    assert_eq!(report, Ok(tulip::ShutdownReport::default()));
    assert!(matches!(lp.default_executor(), Err(SubmitError::ShutDown)));
    let r = lp.run_until_complete(async { tulip::to_thread(|| 1).await }).unwrap();
    assert_eq!(r, Err(JobError::ShutDown));
}

fn thread_pool_bad_settings() {
    let err = |b: tulip::ThreadPoolBuilder| match b.build() {
        Err(tulip::BuildError::InvalidConfig(msg)) => msg,
        other => panic!("expected InvalidConfig, got {other:?}"),
    };
    assert!(err(ThreadPool::builder().max_workers(0)).contains("max_workers"));
    assert!(err(ThreadPool::builder().queue_capacity(0)).contains("queue_capacity"));
}

fn thread_pool_panicking_initializer() {
    let pool = ThreadPool::builder()
        .max_workers(2)
        .initializer(|| -> Result<(), String> { quiet_panic("cannot open the database") })
        .build()
        .unwrap();
    let first = pool.submit(|| 1).unwrap().wait();
    assert!(
        matches!(&first, Err(JobError::Initializer(m)) if m.contains("cannot open the database")),
        "{first:?}"
    );
    match pool.submit(|| 1) {
        Err(e @ SubmitError::Broken(_)) => assert!(e.to_string().contains("cannot open the database")),
        other => panic!("expected SubmitError::Broken, got {other:?}"),
    }
    assert!(pool.is_shut_down());
    assert!(pool.shutdown_timeout(Duration::MAX).is_complete());
    assert_eq!(pool.stats().workers, 0);
    // Another pool is not affected.
    let fine = ThreadPool::builder().max_workers(1).build().unwrap();
    assert_eq!(fine.submit(|| 2).unwrap().wait(), Ok(2));
}

fn thread_pool_full_queue() {
    let pool = ThreadPool::builder().max_workers(1).queue_capacity(1).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let running = pool.submit(move || rx.recv().is_ok()).unwrap();
    while pool.stats().running == 0 {
        std::thread::yield_now();
    }
    let queued = pool.try_submit(|| 1).unwrap();
    assert!(matches!(pool.try_submit(|| 2), Err(SubmitError::QueueFull)));
    tx.send(()).unwrap();
    assert_eq!(running.wait(), Ok(true));
    assert_eq!(queued.wait(), Ok(1));
    assert_eq!(pool.submit(|| 3).unwrap().wait(), Ok(3));
}

// ----- process pools ----------------------------------------------------------------------------

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn echo(v: Vec<u8>) -> usize {
    v.len()
}

fn bytes(n: usize) -> Vec<u8> {
    vec![7; n]
}

/// A value whose `Serialize` fails (as a serde type with an unsupported field would).
#[derive(Debug)]
struct Unencodable;

impl Serialize for Unencodable {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom("this value refuses to be encoded"))
    }
}

impl<'de> Deserialize<'de> for Unencodable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <()>::deserialize(d).map(|()| Unencodable)
    }
}

/// A value whose `Serialize` panics.
#[derive(Debug)]
struct PanicsWhenEncoded;

impl Serialize for PanicsWhenEncoded {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        std::panic::resume_unwind(Box::new("Serialize panicked"))
    }
}

impl<'de> Deserialize<'de> for PanicsWhenEncoded {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <()>::deserialize(d).map(|()| PanicsWhenEncoded)
    }
}

/// A value that encodes, but whose `Deserialize` fails.
#[derive(Debug)]
struct Undecodable;

impl Serialize for Undecodable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(1)
    }
}

impl<'de> Deserialize<'de> for Undecodable {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(D::Error::custom("this value refuses to be decoded"))
    }
}

fn take_unencodable(_: Unencodable) -> u8 {
    1
}

fn take_panicking(_: PanicsWhenEncoded) -> u8 {
    1
}

fn make_unencodable(_: ()) -> Unencodable {
    Unencodable
}

fn make_panicking(_: ()) -> PanicsWhenEncoded {
    PanicsWhenEncoded
}

fn make_undecodable(_: ()) -> Undecodable {
    Undecodable
}

fn process_pool_after_shutdown() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    pool.shutdown();
    pool.shutdown(); // idempotent
    assert!(pool.is_shut_down());
    assert!(matches!(pool.try_submit(pid, ()), Err(SubmitError::ShutDown)));
    assert!(matches!(pool.submit(pid, ()), Err(SubmitError::ShutDown)));
    assert!(matches!(pool.submit_with_limit(pid, (), Duration::from_secs(1)), Err(SubmitError::ShutDown)));
    let refused = futures_lite::future::block_on(pool.submit_async(pid, ()));
    assert!(matches!(refused, Err(SubmitError::ShutDown)));
    assert_eq!(pool.map(pid, [()]).collect::<Vec<_>>(), vec![Err(JobError::ShutDown)]);
    assert!(pool.shutdown_timeout(Duration::from_secs(1)).is_complete());
    assert_eq!(pool.stats().workers, 0);
    // Futures of a pool dropped before they ran.
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let slow: Vec<_> = (0..3).map(|_| pool.try_submit(echo, vec![0; 10]).unwrap()).collect();
    drop(pool);
    for f in slow {
        assert!(matches!(f.wait(), Ok(10) | Err(JobError::ShutDown)));
    }
}

fn process_pool_bad_settings() {
    let err = |b: tulip::ProcessPoolBuilder| match b.build() {
        Err(BuildError::InvalidConfig(msg)) => msg,
        other => panic!("expected InvalidConfig, got {other:?}"),
    };
    assert!(err(ProcessPool::builder().max_workers(0)).contains("max_workers"));
    assert!(err(ProcessPool::builder().max_workers(1).min_workers(2)).contains("min_workers"));
    assert!(err(ProcessPool::builder().max_frame_size(100)).contains("max_frame_size"));
    assert!(err(ProcessPool::builder().max_frame_size(usize::MAX)).contains("max_frame_size"));
    assert!(err(ProcessPool::builder().task_timeout(Duration::ZERO)).contains("task_timeout"));
    assert!(err(ProcessPool::builder().queue_capacity(0)).contains("queue_capacity"));
}

fn process_pool_unencodable_arguments() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    match pool.try_submit(take_unencodable, Unencodable) {
        // postcard keeps the kind of a serde error, not its text.
        Err(e @ SubmitError::Encode(_)) => {
            assert!(e.to_string().contains("could not encode the arguments"), "{e}")
        }
        other => panic!("expected SubmitError::Encode, got {other:?}"),
    }
    // A Serialize that panics unwinds into the caller, like any panic of the caller's own code,
    // and leaves the pool as it was.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.try_submit(take_panicking, PanicsWhenEncoded).map(|_| ())
    }));
    assert!(caught.is_err());
    // In map, items that cannot be encoded fail in their places.
    let out: Vec<_> = pool.map(take_unencodable, [Unencodable, Unencodable]).chunksize(1).collect();
    assert_eq!(out.len(), 2);
    assert!(
        out.iter()
            .all(|r| matches!(r, Err(JobError::Codec(m)) if m.contains("could not encode the arguments"))),
        "{out:?}"
    );
    assert_eq!(pool.stats().queued, 0);
    assert_eq!(pool.try_submit(echo, vec![1, 2, 3]).unwrap().wait(), Ok(3));
}

fn process_pool_unencodable_result() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let worker = pool.submit(pid, ()).unwrap().wait().unwrap();
    let r = pool.try_submit(make_unencodable, ()).unwrap().wait();
    assert!(matches!(&r, Err(JobError::Codec(m)) if m.contains("could not encode the result")), "{r:?}");
    let r = pool.try_submit(make_panicking, ()).unwrap().wait();
    assert!(matches!(&r, Err(JobError::Codec(m)) if m.contains("Serialize panicked")), "{r:?}");
    // The worker lives on.
    assert_eq!(pool.submit(pid, ()).unwrap().wait(), Ok(worker));
    assert_eq!(pool.stats().worker_deaths, 0);
}

fn process_pool_undecodable_result() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let worker = pool.submit(pid, ()).unwrap().wait().unwrap();
    let r = pool.try_submit(make_undecodable, ()).unwrap().wait();
    assert!(matches!(&r, Err(JobError::Codec(m)) if m.contains("could not decode the result")), "{r:?}");
    assert_eq!(pool.submit(pid, ()).unwrap().wait(), Ok(worker));
}

fn process_pool_oversize_frames() {
    let pool = ProcessPool::builder().max_workers(1).max_frame_size(4096).build().unwrap();
    let worker = pool.submit(pid, ()).unwrap().wait().unwrap();
    // Arguments: refused by submit, before anything is sent.
    match pool.try_submit(echo, vec![0u8; 10_000]) {
        Err(e @ SubmitError::Encode(_)) => assert!(e.to_string().contains("max_frame_size"), "{e}"),
        other => panic!("expected SubmitError::Encode, got {other:?}"),
    }
    // In map, the over-size chunk fails its own items only.
    let out: Vec<_> = pool.map(echo, [vec![0u8; 10], vec![0u8; 10_000], vec![0u8; 20]]).collect();
    assert_eq!(out[0], Ok(10));
    assert!(matches!(&out[1], Err(JobError::Codec(m)) if m.contains("max_frame_size")), "{out:?}");
    assert_eq!(out[2], Ok(20));
    // A result: refused by the worker, which lives on.
    let r = pool.try_submit(bytes, 10_000).unwrap().wait();
    assert!(matches!(&r, Err(JobError::Codec(m)) if m.contains("max_frame_size")), "{r:?}");
    assert_eq!(pool.try_submit(bytes, 100).unwrap().wait().map(|v| v.len()), Ok(100));
    assert_eq!(pool.submit(pid, ()).unwrap().wait(), Ok(worker));
}

// ----- names ------------------------------------------------------------------------------------

fn dns_bad_names_and_arguments() {
    let before = dns::stats();
    let invalid_host = |r: Result<Vec<tulip::AddrInfo>, DnsError>| match r {
        Err(DnsError::InvalidHost { reason, .. }) => reason,
        other => panic!("expected InvalidHost, got {other:?}"),
    };
    let now = |host: &str, hints: Hints| {
        let f = dns::getaddrinfo(host, 80, hints);
        assert!(f.is_done(), "{host:?} must be refused at once, on the caller's thread");
        f.wait()
    };
    assert!(invalid_host(now("local\0host", Hints::default())).contains("NUL"));
    assert!(!invalid_host(now(&"a".repeat(254), Hints::default())).is_empty());
    assert!(!invalid_host(now(&format!("{}.example", "b".repeat(300)), Hints::default())).is_empty());
    assert!(!invalid_host(now("", Hints::default())).is_empty());
    assert!(matches!(now("localhost", Hints::default().flags(1 << 24)), Err(DnsError::InvalidArgument(_))));
    assert!(matches!(now("localhost", Hints::default().family(4242)), Err(DnsError::InvalidArgument(_))));
    let ni = dns::getnameinfo("127.0.0.1:1".parse().unwrap(), 1 << 24).wait();
    assert!(matches!(ni, Err(DnsError::InvalidArgument(_))), "{ni:?}");
    // The same through a loop and through connect; the loop stays usable.
    let (on_loop, connect, fine) = tulip::run(async {
        let lp = tulip::get_running_loop();
        let a = lp.getaddrinfo("bad\0name", 80, Hints::default()).await;
        let b = tulip::net::TcpStream::connect(&"c".repeat(300), 80).await;
        let c = lp.getaddrinfo("127.0.0.1", 80, Hints::default()).await;
        (a, b, c)
    });
    assert!(matches!(on_loop, Err(DnsError::InvalidHost { .. })), "{on_loop:?}");
    assert_eq!(connect.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    assert!(fine.unwrap()[0].addr.ip().is_loopback());
    assert_eq!(dns::stats().resolver_calls, before.resolver_calls, "no bad name reached the resolver");
}

// ----- portals ----------------------------------------------------------------------------------

fn portal_after_stop() {
    let portal = BlockingPortal::start().unwrap();
    let h = portal.handle();
    // A call in flight when the portal stops fails instead of hanging.
    let pending = portal.spawn_with(|| tulip::sleep(Duration::from_secs(60)));
    portal.stop();
    portal.stop(); // idempotent
    assert_eq!(pending.wait(), Err(JobError::LoopClosed));
    assert_eq!(portal.call(|| async { 1 }), Err(JobError::LoopClosed));
    assert_eq!(portal.spawn_with(|| async { 1 }).wait(), Err(JobError::LoopClosed));
    assert_eq!(h.call_soon_threadsafe(|| ()), Err(LoopClosed));
    // A panic in a called future fails that call only.
    let portal = BlockingPortal::start().unwrap();
    let r = portal.call(|| async { quiet_panic("inside the portal") });
    assert!(matches!(&r, Err(JobError::Panicked(m)) if m == "inside the portal"), "{r:?}");
    let state = Rc::new(RefCell::new(0)); // !Send state stays on the caller's side
    *state.borrow_mut() += portal.call(|| async { 1 }).unwrap();
    assert_eq!(*state.borrow(), 1);
}
