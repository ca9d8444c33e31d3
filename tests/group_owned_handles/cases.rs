#[path = "../support/process_harness.rs"]
mod harness;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use harness::Case;
use tulip::tasks::owned;
use tulip::{JobError, ProcessPool, TaskGroup};

fn forever(_: ()) -> u8 {
    loop {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Flags its drop: the task's future was dropped (the task stopped).
struct Stopped(Rc<Cell<bool>>);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

fn an_owned_task_is_cancelled_with_the_group() {
    tulip::run(async {
        let stopped = Rc::new(Cell::new(false));
        let flag = Stopped(stopped.clone());
        let task = tulip::get_running_loop().spawn(async move {
            let _flag = flag;
            tulip::sleep(Duration::from_secs(3600)).await;
            1u8
        });
        let mut group = TaskGroup::new();
        group.spawn(owned(task));
        group.spawn(async { Err(JobError::ShutDown) });
        assert_eq!(group.join().await.unwrap_err().errors(), [JobError::ShutDown]);
        tulip::sleep(Duration::from_millis(5)).await;
        assert!(stopped.get(), "the task runs on after its group ended");
    });
}

fn a_process_job_is_stopped_with_the_group() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let p = pool.clone();
    tulip::run(async move {
        let job = p.submit(forever, ()).unwrap();
        harness::eventually(Duration::from_secs(10), "the job started", || p.stats().running == 1);
        let mut group = TaskGroup::new();
        group.spawn(owned(job));
        group.spawn(async { Err(JobError::ShutDown) });
        assert!(group.join().await.is_err());
    });
    harness::eventually(Duration::from_secs(10), "the job was stopped", || pool.stats().running == 0);
    assert_eq!(pool.stats().cancelled, 1, "{:?}", pool.stats());
}

fn main() {
    tulip::process::init();
    harness::run(&[
        Case {
            name: "an_owned_task_is_cancelled_with_the_group",
            run: an_owned_task_is_cancelled_with_the_group,
        },
        Case {
            name: "a_process_job_is_stopped_with_the_group",
            run: a_process_job_is_stopped_with_the_group,
        },
    ]);
}
