//! Tracing across the process boundary (feature `tracing`): a process-pool task runs in a child of
//! the span current at submit, and what it logs in the worker reaches the parent's subscriber inside
//! that span.
//!
//! # The protocol
//!
//! ```text
//!  parent -> worker                               worker -> parent
//!  0x04 Trace  postcard(Context), right before     0x85 Event  id:u64 postcard(Forwarded)
//!              the Task frame it belongs to
//! ```
//!
//! At submit, [`Origin::capture`] keeps the submitter's subscriber and current span in the job and
//! encodes a `Trace` frame: the span's name, target and id, and the most verbose level the parent's
//! subscribers want. The link sends it just before the task's own frame, every time the task is sent
//! (a task re-sent after a worker death carries it again). A submitter with no subscriber gets no
//! `Trace` frame, and the task runs as it would without the feature.
//!
//! In the worker, a `Trace` frame arms the next task: [`enter`] makes this module's [`Forwarder`] the
//! worker thread's subscriber for the task's run and opens a `process_task` span (fields `task`,
//! `parent`, `parent_target`, `parent_id`) around it. The forwarder writes each event the task emits
//! as an `Event` frame at once, on the worker's output pipe, before the task's result: the events of
//! a task that crashes are not lost, and the parent has seen every event of a task when its future
//! completes.
//!
//! In the parent, the driver takes each event in under its lock ([`defer`]) and, once the lock is
//! released and before it completes the round's futures, [`flush`] re-emits it with the
//! submitter's subscriber, inside the submitter's span, at its level, as an event of target `tulip::worker` whose message is the
//! original's; fields `worker.target` (the original target), `worker.pid`, `worker.fields` (the other
//! fields, `name=value` separated by spaces) and `worker.spans` (the worker-side spans it was in,
//! outermost first, `process_task{..}` among them).
//!
//! # Limits
//!
//! The span's own fields stay in the parent: a `Span` handle does not give them out, so the worker's
//! `process_task` span names its parent by name and id, and the forwarded event, re-emitted inside
//! the real span, shows its fields to the parent's subscriber. Only the worker thread that runs the
//! task forwards: events from threads the task starts go to the worker's own subscriber (usually
//! none). While a traced task runs, the worker's own subscriber does not see its events. Each string
//! sent is cut to a few KiB. The re-emitted events all have the target `tulip::worker` (a callsite's
//! target is static), so a filter by target in the parent must allow it; the worker filters by level
//! only.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::{DefaultGuard, Interest, NoSubscriber};
use tracing::{Dispatch, Event, Level, Metadata, Span, Subscriber};

use super::lock;
use super::wire::{self, HANDSHAKE_MAX};

/// Longest strings sent per event (bytes); with the headers, every frame stays under
/// [`HANDSHAKE_MAX`], which every worker and pool accepts.
const MESSAGE_MAX: usize = 2048;
const FIELDS_MAX: usize = 1024;
const NAME_MAX: usize = 256;

/// What the worker learns about the submitter: the body of a `Trace` frame.
#[derive(Debug, Serialize, Deserialize)]
struct Context {
    /// The most verbose level the parent's subscribers want (see [`level_code`]).
    max_level: u8,
    /// Name, target and id of the span current at submit; empty and 0 outside any span.
    span: String,
    target: String,
    span_id: u64,
}

/// One event of a task, as the worker forwards it: the body of an `Event` frame after the task id.
#[derive(Debug, Serialize, Deserialize)]
struct Forwarded {
    level: u8,
    target: String,
    message: String,
    fields: String,
    spans: String,
    pid: u32,
}

/// The parent's side of one task: where its forwarded events go. Kept in the job.
pub(crate) struct Origin {
    /// The subscriber current at submit; the driver thread re-emits with it.
    dispatch: Dispatch,
    /// The span current at submit (possibly none); forwarded events are re-emitted inside it.
    span: Span,
    /// The complete `Trace` frame, sent before the task's frame.
    frame: Vec<u8>,
}

impl Origin {
    /// The submitter's subscriber and span, `None` when no subscriber is set (nothing to forward to).
    pub(crate) fn capture() -> Option<Box<Origin>> {
        let dispatch = tracing::dispatcher::get_default(Dispatch::clone);
        let max = tracing::level_filters::LevelFilter::current().into_level()?;
        if dispatch.is::<NoSubscriber>() {
            return None;
        }
        let span = Span::current();
        let (name, target) = span.metadata().map_or(("", ""), |m| (m.name(), m.target()));
        let context = Context {
            max_level: level_code(&max),
            span: cut(name, NAME_MAX).to_string(),
            target: cut(target, NAME_MAX).to_string(),
            span_id: span.id().map_or(0, |id| id.into_u64()),
        };
        let mut frame = Vec::new();
        let at = wire::begin_frame(&mut frame, wire::KIND_TRACE);
        // A String and small integers always encode, and NAME_MAX keeps the frame in bounds.
        postcard::to_io(&context, &mut frame).ok()?;
        wire::end_frame(&mut frame, at, HANDSHAKE_MAX).ok()?;
        Some(Box::new(Origin { dispatch, span, frame }))
    }
}

/// Queues `origin`'s `Trace` frame in `out`, before the task frame; returns the bytes added.
pub(crate) fn send(origin: Option<&Origin>, out: &mut Vec<u8>) -> u64 {
    let Some(o) = origin else { return 0 };
    out.extend_from_slice(&o.frame);
    o.frame.len() as u64
}

/// Events taken in by this driver thread and not re-emitted yet, with where each goes.
struct Deferred {
    dispatch: Dispatch,
    span: Span,
    level: Level,
    event: Forwarded,
}

thread_local! {
    /// Filled under the driver's lock, emptied by [`flush`] once it is released: the subscriber is
    /// user code, and no tulip lock is held while user code runs.
    static DEFERRED: RefCell<Vec<Deferred>> = const { RefCell::new(Vec::new()) };
}

/// Takes in, on the driver thread, the event a worker forwarded for task `id`, to be re-emitted by
/// [`flush`]; `head` is the id and origin of the task running on that worker. An event for another
/// task, or one that does not decode, is a protocol violation.
pub(crate) fn defer(head: Option<(u64, Option<&Origin>)>, id: u64, body: &[u8]) -> Result<(), String> {
    let origin = match head {
        Some((head_id, origin)) if head_id == id => origin,
        _ => return Err(format!("a log event for task {id}, which is not the one running")),
    };
    let Some(origin) = origin else {
        return Err(format!("a log event for task {id}, which was sent without tracing"));
    };
    let f: Forwarded =
        postcard::from_bytes(body).map_err(|e| format!("a log event that does not decode: {e}"))?;
    let level = level_of(f.level).ok_or("a log event of an unknown level")?;
    let deferred = Deferred { dispatch: origin.dispatch.clone(), span: origin.span.clone(), level, event: f };
    DEFERRED.with(|d| d.borrow_mut().push(deferred));
    Ok(())
}

/// Re-emits the events this thread took in, each with its submitter's subscriber, inside the
/// submitter's span. The driver calls it before it completes the futures of the same round, so a
/// task's events are out before its result.
pub(crate) fn flush() {
    let events = DEFERRED.with(|d| std::mem::take(&mut *d.borrow_mut()));
    for e in events {
        let run = || {
            tracing::dispatcher::with_default(&e.dispatch, || e.span.in_scope(|| reemit(e.level, &e.event)))
        };
        // The subscriber is user code: a panic in it must not take the driver thread down.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).is_err() {
            log::error!("tulip: a tracing subscriber panicked on an event forwarded from a worker");
        }
    }
}

/// One `tracing::event!` per level: a callsite's level is part of its static metadata.
fn reemit(level: Level, f: &Forwarded) {
    macro_rules! at {
        ($lvl:expr) => {
            tracing::event!(
                target: "tulip::worker",
                $lvl,
                worker.target = %f.target,
                worker.pid = f.pid,
                worker.fields = %f.fields,
                worker.spans = %f.spans,
                "{}",
                f.message
            )
        };
    }
    match level {
        Level::TRACE => at!(Level::TRACE),
        Level::DEBUG => at!(Level::DEBUG),
        Level::INFO => at!(Level::INFO),
        Level::WARN => at!(Level::WARN),
        Level::ERROR => at!(Level::ERROR),
    }
}

fn level_code(level: &Level) -> u8 {
    match *level {
        Level::TRACE => 0,
        Level::DEBUG => 1,
        Level::INFO => 2,
        Level::WARN => 3,
        Level::ERROR => 4,
    }
}

fn level_of(code: u8) -> Option<Level> {
    [Level::TRACE, Level::DEBUG, Level::INFO, Level::WARN, Level::ERROR].get(code as usize).copied()
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

// ---------------------------------------------------------------------------------------------
// The worker's side.

/// The forwarder's state; one per worker process (it runs one task at a time).
struct State {
    /// The context of the next task, from the `Trace` frame that precedes its `Task` frame.
    pending: Option<Context>,
    /// The task running under the forwarder, and the most verbose level its submitter wants;
    /// `None` between tasks (a late event from another thread is then dropped, not misfiled).
    task: Option<(u64, Level)>,
    /// Spans the running task opened, by id: `name{fields}`.
    spans: BTreeMap<u64, String>,
    /// Entered spans, innermost last.
    stack: Vec<u64>,
    next_id: u64,
}

static STATE: Mutex<State> =
    Mutex::new(State { pending: None, task: None, spans: BTreeMap::new(), stack: Vec::new(), next_id: 1 });

/// Takes in a `Trace` frame's body: the next task runs traced.
pub(crate) fn receive(body: &[u8]) -> Result<(), String> {
    let context: Context =
        postcard::from_bytes(body).map_err(|e| format!("a trace context that does not decode: {e}"))?;
    lock(&STATE).pending = Some(context);
    Ok(())
}

/// While a task runs traced: the forwarder is the thread's subscriber, `process_task` is entered.
pub(crate) struct Traced {
    /// Dropped before `_default`, so the span closes in the forwarder.
    _span: tracing::span::EnteredSpan,
    _default: DefaultGuard,
}

/// Called as task `id` starts (or is skipped): runs it traced if a `Trace` frame armed it.
pub(crate) fn enter(id: u64) -> Option<Traced> {
    let context = lock(&STATE).pending.take()?;
    let max = level_of(context.max_level)?;
    static FORWARDER: OnceLock<Dispatch> = OnceLock::new();
    let dispatch = FORWARDER.get_or_init(|| Dispatch::new(Forwarder));
    let default = tracing::dispatcher::set_default(dispatch);
    lock(&STATE).task = Some((id, max));
    let span = tracing::info_span!(
        target: "tulip::worker",
        "process_task",
        task = id,
        parent = %context.span,
        parent_target = %context.target,
        parent_id = context.span_id
    );
    Some(Traced { _span: span.entered(), _default: default })
}

impl Drop for Traced {
    fn drop(&mut self) {
        // Events after this point (from threads the task left running) are not this task's.
        lock(&STATE).task = None;
    }
}

/// The worker's subscriber while a traced task runs: sends each event to the parent.
struct Forwarder;

impl Subscriber for Forwarder {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The wanted level changes from task to task: ask `enabled` every time.
        Interest::sometimes()
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        lock(&STATE).task.is_some_and(|(_, max)| meta.level() <= &max)
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut text = Text::default();
        attrs.record(&mut text);
        let mut state = lock(&STATE);
        let id = state.next_id;
        state.next_id += 1;
        state.spans.insert(id, format!("{}{{{}}}", attrs.metadata().name(), cut(&text.fields, NAME_MAX)));
        Id::from_u64(id)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut text = Text::default();
        event.record(&mut text);
        let state = lock(&STATE);
        let Some((id, _)) = state.task else { return };
        let spans: Vec<&str> =
            state.stack.iter().filter_map(|s| state.spans.get(s).map(String::as_str)).collect();
        let meta = event.metadata();
        let f = Forwarded {
            level: level_code(meta.level()),
            target: cut(meta.target(), NAME_MAX).to_string(),
            message: cut(&text.message, MESSAGE_MAX).to_string(),
            fields: cut(&text.fields, FIELDS_MAX).to_string(),
            spans: cut(&spans.join(" "), NAME_MAX).to_string(),
            pid: std::process::id(),
        };
        // Written under the lock, so `Traced::drop` cannot end the task half-way through a frame.
        write_event(id, &f);
    }

    fn enter(&self, span: &Id) {
        lock(&STATE).stack.push(span.into_u64());
    }

    fn exit(&self, span: &Id) {
        let mut state = lock(&STATE);
        if let Some(at) = state.stack.iter().rposition(|s| *s == span.into_u64()) {
            state.stack.remove(at);
        }
    }

    fn try_close(&self, span: Id) -> bool {
        lock(&STATE).spans.remove(&span.into_u64());
        true
    }
}

/// Writes one `Event` frame on the worker's output pipe.
fn write_event(id: u64, f: &Forwarded) {
    let mut frame = Vec::with_capacity(256);
    let at = wire::begin_frame(&mut frame, wire::KIND_EVENT);
    frame.extend_from_slice(&id.to_le_bytes());
    if postcard::to_io(f, &mut frame).is_err() || wire::end_frame(&mut frame, at, HANDSHAKE_MAX).is_err() {
        return;
    }
    // Under the worker's output lock: the take-back thread writes frames on the same pipe.
    // If the pool is gone, the task's result cannot reach it either; the worker stops at that write.
    let _ = super::worker::write_frame(&frame);
}

/// An event's or span's fields as text: the message apart, the rest `name=value` by spaces.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
            return;
        }
        if !self.fields.is_empty() {
            self.fields.push(' ');
        }
        let _ = write!(self.fields, "{}={value:?}", field.name());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.record_debug(field, &format_args!("{value}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_round_trip() {
        for l in [Level::TRACE, Level::DEBUG, Level::INFO, Level::WARN, Level::ERROR] {
            assert_eq!(level_of(level_code(&l)), Some(l));
        }
        assert_eq!(level_of(5), None);
    }

    #[test]
    fn an_event_for_a_task_that_is_not_running_is_refused() {
        assert!(defer(None, 3, &[]).unwrap_err().contains("task 3"));
        assert!(defer(Some((4, None)), 3, &[]).unwrap_err().contains("not the one running"));
        assert!(defer(Some((3, None)), 3, &[]).unwrap_err().contains("without tracing"));
    }

    #[test]
    fn cut_keeps_characters_whole() {
        assert_eq!(cut("héllo", 2), "h");
        assert_eq!(cut("abc", 10), "abc");
    }
}
