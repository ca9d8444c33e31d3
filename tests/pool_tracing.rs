//! With the `tracing` feature, the span current at submit is the current span inside the job.
//! Run with `cargo test --features tracing --test pool_tracing`.
#![cfg(feature = "tracing")]

use tracing_subscriber::layer::SubscriberExt;

#[test]
fn the_submitters_span_is_entered_around_the_job() {
    let subscriber = tracing_subscriber::registry().with(tracing_subscriber::layer::Identity::new());
    let dispatch = tracing::Dispatch::new(subscriber);
    // Global, so the pool's threads see the same subscriber.
    tracing::dispatcher::set_global_default(dispatch).unwrap();

    let pool = tulip::ThreadPool::builder().build().unwrap();
    let span = tracing::info_span!("request", id = 42);
    let fut =
        span.in_scope(|| pool.submit(|| tracing::Span::current().metadata().map(|m| m.name())).unwrap());
    assert_eq!(fut.wait(), Ok(Some("request")));

    // Outside any span, the job runs outside any span too.
    let fut = pool.submit(|| tracing::Span::current().is_none()).unwrap();
    assert_eq!(fut.wait(), Ok(true));
}
