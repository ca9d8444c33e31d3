//! The workloads of `../shared/WORKLOADS.md`, for tulip and its peers in one run.
//!
//! Run with `cargo bench --bench workloads -- [--quick] [--only W1,W6a] [--control]`. Each figure is
//! printed as one JSON line: `{"system": S, "workload": W, "value": V, "unit": U, "n": N}`.
//!
//! One module per workload family; each exposes `run(&mut Report)` and checks `report.wants("W..")`
//! before measuring anything.

// Unix-only families (not built elsewhere): remote workers and subprocesses are Unix-only (README,
// Platforms); the process-pool rows are not ported to Windows yet (they raise RLIMIT_NOFILE with
// setrlimit); cpu_cost reads POSIX CPU clocks and /proc; the W7 and W7h client driver waits with
// poll(2).
#[cfg(unix)]
mod cpu_cost;
mod dns;
#[cfg(unix)]
mod echo;
mod executor;
#[cfg(all(unix, feature = "hyper"))]
mod http;
mod loop_callbacks;
#[cfg(unix)]
mod process;
#[cfg(unix)]
mod remote;
#[cfg(unix)]
mod subprocess;
mod threadsafe;
mod wait_many;

/// Command-line selection and the output sink shared by every workload.
pub struct Report {
    /// `--quick`: smaller N, for CI smoke runs; figures are then only indicative.
    pub quick: bool,
    /// `--control`: W7 and W7h run tokio's server a second time, as the system `tokio-control`, in
    /// the same turns: the ratio of the two tokio figures is what the machine alone makes of a
    /// ratio in this run, the yardstick for tulip's.
    pub control: bool,
    only: Option<Vec<String>>,
}

impl Report {
    /// Whether workload `id` (e.g. `"W3a"`) was selected.
    pub fn wants(&self, id: &str) -> bool {
        self.only.as_ref().is_none_or(|ids| ids.iter().any(|w| w.eq_ignore_ascii_case(id)))
    }

    /// `n`, or `n / div` under `--quick` (at least 1).
    pub fn scale(&self, n: usize, div: usize) -> usize {
        if self.quick {
            (n / div).max(1)
        } else {
            n
        }
    }

    /// Prints one JSON line.
    pub fn emit(&self, system: &str, workload: &str, value: f64, unit: &str, n: usize) {
        println!(
            "{{\"system\": \"{system}\", \"workload\": \"{workload}\", \"value\": {value:.3}, \"unit\": \"{unit}\", \"n\": {n}}}"
        );
    }
}

/// Runs the systems in turn, `rounds` times over, and gives each one's results in system order:
/// in a fixed order, one system's rounds all in a row, a slow stretch of the machine fell on one
/// system alone. (Its users, W7/W7h and W9/W9p, are Unix-only.)
#[cfg(unix)]
pub fn take_turns<T>(rounds: usize, systems: &[impl Fn() -> T]) -> Vec<Vec<T>> {
    let mut results: Vec<Vec<T>> = systems.iter().map(|_| Vec::with_capacity(rounds)).collect();
    for _ in 0..rounds {
        for (f, results) in systems.iter().zip(&mut results) {
            results.push(f());
        }
    }
    results
}

/// The median of `xs` (which must not be empty).
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn main() {
    // Worker processes re-execute this binary: tulip's and procspawn's workers enter here.
    #[cfg(unix)]
    tulip::process::init();
    procspawn::init();

    let mut args = std::env::args().skip(1);
    let mut report = Report { quick: false, control: false, only: None };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => report.quick = true,
            "--control" => report.control = true,
            "--only" => {
                report.only = args.next().map(|s| s.split(',').map(|w| w.trim().to_string()).collect())
            }
            // cargo bench passes --bench; ignore anything else.
            _ => {}
        }
    }
    #[cfg(not(unix))]
    eprintln!(
        "notice: W1c/W3bc/W5ac and their g50/g200 variants, W5a-d, W7, W7h, W8a-c, W9, W9p are Unix-only"
    );
    executor::run(&mut report);
    #[cfg(unix)]
    cpu_cost::run(&mut report);
    threadsafe::run(&mut report);
    dns::run(&mut report);
    #[cfg(unix)]
    process::run(&mut report);
    loop_callbacks::run(&mut report);
    #[cfg(unix)]
    echo::run(&mut report);
    #[cfg(all(unix, feature = "hyper"))]
    http::run(&mut report);
    #[cfg(unix)]
    subprocess::run(&mut report);
    wait_many::run(&mut report);
    #[cfg(unix)]
    remote::run(&mut report);
}
