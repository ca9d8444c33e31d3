//! Debug mode: callbacks and task steps slower than `slow_callback_duration` are logged with where
//! they were scheduled, and `close()` reports the tasks still pending.

use std::sync::{Mutex, Once};
use std::time::Duration;

use tulip::EventLoop;

/// Keeps every log record, as "LEVEL message".
struct Capture;

static RECORDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}", record.level(), record.args());
        RECORDS.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }
    fn flush(&self) {}
}

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        log::set_logger(&Capture).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// The records mentioning `needle` (tests run in parallel: each looks for its own source line).
fn records_with(needle: &str) -> Vec<String> {
    RECORDS.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|r| r.contains(needle)).cloned().collect()
}

fn at(line: u32) -> String {
    format!("{}:{}:", file!(), line)
}

#[test]
fn a_slow_callback_is_logged_with_where_it_was_scheduled() {
    install();
    let lp = EventLoop::new().unwrap();
    lp.set_debug(true);
    lp.set_slow_callback_duration(Duration::from_millis(10));
    let line = line!() + 1;
    lp.call_soon(|| std::thread::sleep(Duration::from_millis(30)));
    lp.run_until_complete(async {}).unwrap();
    let logged = records_with(&at(line));
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].starts_with("WARN"), "{logged:?}");
    assert!(logged[0].contains("callback scheduled at"), "{logged:?}");
    assert!(logged[0].contains(" seconds"), "{logged:?}");
    lp.close().unwrap();
}

#[test]
fn a_slow_timer_callback_is_logged_too() {
    install();
    let lp = EventLoop::new().unwrap();
    lp.set_debug(true);
    lp.set_slow_callback_duration(Duration::from_millis(10));
    let line = line!() + 1;
    lp.call_later(Duration::ZERO, || std::thread::sleep(Duration::from_millis(30)));
    lp.run_until_complete(tulip::sleep(Duration::from_millis(1))).unwrap();
    assert_eq!(records_with(&at(line)).len(), 1);
    lp.close().unwrap();
}

#[test]
fn a_slow_task_step_is_logged_with_where_the_task_was_spawned() {
    install();
    let lp = EventLoop::new().unwrap();
    lp.set_debug(true);
    lp.set_slow_callback_duration(Duration::from_millis(10));
    let line = line!() + 1;
    let task = lp.spawn(async { std::thread::sleep(Duration::from_millis(30)) });
    lp.run_until_complete(task).unwrap().unwrap();
    let logged = records_with(&at(line));
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].contains("task spawned at"), "{logged:?}");
    lp.close().unwrap();
}

#[test]
fn nothing_is_logged_when_debug_is_off() {
    install();
    let lp = EventLoop::new().unwrap();
    assert!(!lp.get_debug());
    lp.set_slow_callback_duration(Duration::from_millis(10));
    let line = line!() + 1;
    lp.call_soon(|| std::thread::sleep(Duration::from_millis(30)));
    let line2 = line!() + 1;
    drop(lp.spawn(std::future::pending::<()>()));
    lp.run_until_complete(async {}).unwrap();
    lp.close().unwrap();
    assert!(records_with(&at(line)).is_empty());
    assert!(records_with(&at(line2)).is_empty());
}

#[test]
fn tasks_pending_at_close_are_reported_in_debug_mode() {
    install();
    let lp = EventLoop::new().unwrap();
    lp.set_debug(true);
    let line = line!() + 1;
    let pending = lp.spawn(std::future::pending::<()>());
    let line_done = line!() + 1;
    let done = lp.spawn(async {});
    lp.run_until_complete(async {}).unwrap();
    lp.close().unwrap();
    let logged = records_with(&at(line));
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].contains("still pending when the loop closed"), "{logged:?}");
    assert!(records_with(&at(line_done)).is_empty(), "a finished task is not reported");
    drop((pending, done));
}

#[test]
fn the_default_exception_handler_logs_at_error_level() {
    install();
    let lp = EventLoop::new().unwrap();
    lp.call_soon(|| panic!("logged-by-default-7f3a"));
    lp.run_until_complete(async {}).unwrap();
    let logged = records_with("logged-by-default-7f3a");
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].starts_with("ERROR"), "{logged:?}");
    lp.close().unwrap();
}

#[test]
fn a_spawn_threadsafe_task_is_reported_where_spawn_threadsafe_was_called() {
    install();
    let lp = EventLoop::new().unwrap();
    lp.set_debug(true);
    let h = lp.handle();
    let line = line!() + 1;
    let fut = h.spawn_threadsafe(std::future::pending::<()>());
    let h2 = h.clone();
    h.call_soon_threadsafe(move || h2.stop()).unwrap();
    lp.run_forever().unwrap();
    lp.close().unwrap();
    let logged = records_with(&at(line));
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].contains("still pending when the loop closed"), "{logged:?}");
    drop(fut);
}

#[test]
fn a_task_cancelled_before_close_is_not_reported_as_pending() {
    install();
    let lp = EventLoop::new().unwrap();
    lp.set_debug(true);
    let line = line!() + 1;
    let task = lp.spawn(std::future::pending::<()>());
    lp.run_until_complete(async {}).unwrap();
    assert!(task.cancel());
    lp.close().unwrap();
    let logged = records_with(&at(line));
    assert!(logged.is_empty(), "a cancelled task was reported: {logged:?}");
}

#[test]
fn a_slow_step_of_the_main_future_of_run_is_logged_with_where_run_was_called() {
    install();
    let line = line!() + 1;
    tulip::run(async {
        let lp = tulip::get_running_loop();
        lp.set_debug(true);
        lp.set_slow_callback_duration(Duration::from_millis(10));
        tulip::sleep(Duration::from_millis(1)).await;
        std::thread::sleep(Duration::from_millis(30));
    });
    let logged = records_with(&at(line));
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].starts_with("WARN"), "{logged:?}");
    assert!(logged[0].contains("main future"), "{logged:?}");
}

#[test]
fn a_slow_step_of_the_main_future_of_run_until_complete_is_logged_too() {
    install();
    let lp = EventLoop::new().unwrap();
    lp.set_debug(true);
    lp.set_slow_callback_duration(Duration::from_millis(10));
    let line = line!() + 1;
    lp.run_until_complete(async { std::thread::sleep(Duration::from_millis(30)) }).unwrap();
    assert_eq!(records_with(&at(line)).len(), 1);
    lp.close().unwrap();
}
