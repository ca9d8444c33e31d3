#[path = "../support/process_harness.rs"]
mod harness;

use std::sync::Mutex;

use harness::Case;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tulip::ProcessPool;

fn main() {
    tulip::process::init();
    let subscriber = tracing_subscriber::registry().with(Capture).with(LevelFilter::INFO);
    tracing::subscriber::set_global_default(subscriber).unwrap();
    harness::run(&[
        Case { name: "an_event_reaches_the_parent_in_the_submitters_span", run: in_the_submitters_span },
        Case { name: "outside_any_span_the_event_still_arrives", run: outside_any_span },
        Case { name: "levels_the_parent_does_not_want_stay_in_the_worker", run: levels_filtered },
        Case { name: "events_before_a_worker_crash_are_not_lost", run: before_a_crash },
        Case { name: "a_panicking_subscriber_does_not_stop_the_pool", run: panicking_subscriber },
        Case { name: "tasks_behind_a_crash_keep_their_own_spans", run: behind_a_crash },
        Case { name: "after_cancelled_and_killed_tasks_spans_stay_right", run: cancelled_and_killed },
    ]);
}

/// One event as the parent's subscriber saw it.
#[derive(Debug, Clone)]
struct Seen {
    level: Level,
    target: String,
    /// `message` and every other field, as `name=value` by spaces.
    fields: String,
    /// The event's span: its name and fields.
    span: Option<(String, String)>,
}

static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

/// The events whose fields contain `marker`.
fn seen(marker: &str) -> Vec<Seen> {
    SEEN.lock().unwrap().iter().filter(|s| s.fields.contains(marker)).cloned().collect()
}

#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

/// Records each event with its span's name and fields.
struct Capture;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut text = Text::default();
        attrs.record(&mut text);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(text);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut text = Text::default();
        event.record(&mut text);
        let span = ctx.event_span(event).map(|s| {
            let fields = s.extensions().get::<Text>().map(|t| t.0.clone()).unwrap_or_default();
            (s.name().to_string(), fields)
        });
        if text.0.contains("make the subscriber panic") {
            panic!("a subscriber that panics");
        }
        let meta = event.metadata();
        let seen = Seen { level: *meta.level(), target: meta.target().to_string(), fields: text.0, span };
        SEEN.lock().unwrap().push(seen);
    }
}

fn log_info(marker: String) -> u32 {
    tracing::info!(answer = 42, "hello from the worker {marker}");
    std::process::id()
}

fn in_the_submitters_span() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let span = tracing::info_span!("request", user = "ada");
    let fut = span.in_scope(|| pool.submit(log_info, "m1".to_string()).unwrap());
    let pid = fut.wait().unwrap();
    assert_ne!(pid, std::process::id());
    // The event frame precedes the result frame: it was re-emitted before the future completed.
    let got = seen("hello from the worker m1");
    assert_eq!(got.len(), 1, "{got:?}");
    let e = &got[0];
    assert_eq!(e.level, Level::INFO);
    assert_eq!(e.target, "tulip::worker");
    let (name, fields) = e.span.clone().expect("the event is inside the submitter's span");
    assert_eq!(name, "request");
    assert!(fields.contains("user=\"ada\""), "{fields}");
    assert!(e.fields.contains("answer=42"), "{}", e.fields);
    assert!(e.fields.contains(&format!("worker.pid={pid}")), "{}", e.fields);
    assert!(e.fields.contains("worker.target=tracing_process_tasks"), "{}", e.fields);
    // The worker ran it inside its child span, which names the parent.
    assert!(e.fields.contains("process_task{task="), "{}", e.fields);
    assert!(e.fields.contains("parent=request"), "{}", e.fields);
}

fn outside_any_span() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    pool.submit(log_info, "m2".to_string()).unwrap().wait().unwrap();
    let got = seen("hello from the worker m2");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].span.is_none(), "{got:?}");
}

fn log_levels(marker: String) {
    tracing::debug!("debug {marker}");
    let inner = tracing::warn_span!("inner", step = 2);
    inner.in_scope(|| tracing::warn!("warn {marker}"));
}

fn levels_filtered() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let span = tracing::info_span!("batch");
    span.in_scope(|| pool.submit(log_levels, "m3".to_string()).unwrap()).wait().unwrap();
    let got = seen("m3");
    assert_eq!(got.len(), 1, "the subscriber wants INFO and above: {got:?}");
    assert_eq!(got[0].level, Level::WARN);
    assert!(got[0].fields.contains("warn m3"));
    // The span the task opened in the worker is named in the event.
    assert!(got[0].fields.contains("inner{step=2}"), "{}", got[0].fields);
}

fn log_then_abort(marker: String) {
    tracing::error!("about to die {marker}");
    std::process::abort();
}

fn before_a_crash() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let span = tracing::info_span!("doomed");
    let result = span.in_scope(|| pool.submit(log_then_abort, "m4".to_string()).unwrap()).wait();
    assert!(result.is_err());
    let got = seen("about to die m4");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].span.as_ref().map(|s| s.0.as_str()), Some("doomed"));
}

fn panicking_subscriber() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let span = tracing::info_span!("unlucky");
    let fut = span.in_scope(|| pool.submit(log_info, "make the subscriber panic".to_string()).unwrap());
    assert!(fut.wait().is_ok(), "the task's result still arrives");
    pool.submit(log_info, "m5".to_string()).unwrap().wait().unwrap();
    assert_eq!(seen("hello from the worker m5").len(), 1);
}

/// Tasks queued on a worker behind one that kills it go to a new worker, their span with them.
fn behind_a_crash() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let doomed =
        tracing::info_span!("doomed").in_scope(|| pool.submit(log_then_abort, "m6".to_string()).unwrap());
    let next: Vec<_> = (0..4)
        .map(|i| {
            let span = tracing::info_span!("next", i);
            span.in_scope(|| pool.submit(log_info, format!("m7-{i}.")).unwrap())
        })
        .collect();
    assert!(doomed.wait().is_err());
    for (i, fut) in next.into_iter().enumerate() {
        fut.wait().unwrap();
        let got = seen(&format!("hello from the worker m7-{i}."));
        assert_eq!(got.len(), 1, "{got:?}");
        let (name, fields) = got[0].span.clone().unwrap();
        assert_eq!((name.as_str(), fields.trim()), ("next", format!("i={i}").as_str()));
    }
}

fn log_then_sleep((marker, ms): (String, u64)) {
    tracing::info!("sleeping {marker}");
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

/// A task killed at its time limit, and a task cancelled while queued on its worker (skipped
/// there): neither leaves its span behind for the tasks after it.
fn cancelled_and_killed() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let limit = std::time::Duration::from_millis(300);
    let slow = tracing::info_span!("slow")
        .in_scope(|| pool.submit_with_limit(log_then_sleep, ("m8".to_string(), 30_000), limit).unwrap());
    assert!(matches!(slow.wait(), Err(tulip::JobError::TimedOut(_))));
    assert_eq!(seen("sleeping m8")[0].span.as_ref().map(|s| s.0.as_str()), Some("slow"));

    // The same worker: a traced task skipped, then one submitted where no subscriber is set.
    let busy = pool.submit(log_then_sleep, ("m9".to_string(), 200)).unwrap();
    let skipped =
        tracing::info_span!("skipped").in_scope(|| pool.submit(log_info, "m10".to_string()).unwrap());
    skipped.cancel();
    let none = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let untraced =
        tracing::dispatcher::with_default(&none, || pool.submit(log_info, "m11".to_string()).unwrap());
    busy.wait().unwrap();
    assert!(untraced.wait().is_ok(), "the untraced task ran as such");
    assert!(seen("m10").is_empty(), "the cancelled task did not run");
    assert!(seen("m11").is_empty(), "the untraced task forwarded nothing");
}
