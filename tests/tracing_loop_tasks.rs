//! With the `tracing` feature, a loop task runs in the span that was current where it was spawned:
//! `EventLoop::spawn` on the loop, `LoopHandle::spawn_threadsafe` from another thread.
//! Run with `cargo test --features tracing --test tracing_loop_tasks`.
#![cfg(feature = "tracing")]

use tracing_subscriber::layer::SubscriberExt;

fn current_span_name() -> Option<&'static str> {
    tracing::Span::current().metadata().map(|m| m.name())
}

#[test]
fn a_task_runs_in_its_spawners_span() {
    let subscriber = tracing_subscriber::registry().with(tracing_subscriber::layer::Identity::new());
    // Global, so the loop sees the same subscriber as the thread that calls spawn_threadsafe.
    tracing::dispatcher::set_global_default(tracing::Dispatch::new(subscriber)).unwrap();

    let lp = tulip::EventLoop::new().unwrap();
    let span = tracing::info_span!("request", id = 7);
    let local = span.in_scope(|| {
        lp.spawn(async {
            tulip::sleep(std::time::Duration::from_millis(1)).await;
            current_span_name()
        })
    });
    assert_eq!(lp.run_until_complete(local).unwrap(), Ok(Some("request")));

    // Outside any span, the task runs outside any span too.
    let bare = lp.spawn(async { current_span_name() });
    assert_eq!(lp.run_until_complete(bare).unwrap(), Ok(None));

    let h = lp.handle();
    let remote = std::thread::spawn(move || {
        let span = tracing::info_span!("remote");
        let fut = span.in_scope(|| h.spawn_threadsafe(async { current_span_name() }));
        let v = fut.wait();
        h.stop();
        v
    });
    lp.run_forever().unwrap();
    assert_eq!(remote.join().unwrap(), Ok(Some("remote")));
}
