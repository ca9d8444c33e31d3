//! `TaskGroup`: the first failing child cancels its siblings and `join` reports it (with every other
//! error); cancelling the owner cancels the children; no child is left running after the group ends.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tulip::{GroupError, JobError, TaskGroup, ThreadPool};

/// Counts a child's future alive; the count drops when the future is dropped (finished or cancelled).
struct Alive(Rc<Cell<usize>>);

impl Alive {
    fn new(n: &Rc<Cell<usize>>) -> Alive {
        n.set(n.get() + 1);
        Alive(n.clone())
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// A child's own failure, or how the group saw it end.
#[derive(Debug, PartialEq)]
enum Oops {
    Said(&'static str),
    Job(JobError),
}

impl From<JobError> for Oops {
    fn from(e: JobError) -> Self {
        Oops::Job(e)
    }
}

async fn forever(alive: Alive) -> Result<u8, Oops> {
    let _alive = alive;
    tulip::sleep(Duration::from_secs(3600)).await;
    Ok(0)
}

#[test]
fn outputs_come_in_spawn_order() {
    tulip::run(async {
        let mut group = TaskGroup::<u64, JobError>::new();
        for ms in [20u64, 1, 10] {
            group.spawn(async move {
                tulip::sleep(Duration::from_millis(ms)).await;
                Ok(ms)
            });
        }
        assert_eq!(group.join().await, Ok(vec![20, 1, 10]));
    });
}

#[test]
fn the_first_failure_cancels_the_siblings_and_is_reported() {
    tulip::run(async {
        let alive = Rc::new(Cell::new(0));
        let mut group = TaskGroup::new();
        group.spawn(forever(Alive::new(&alive)));
        group.spawn(async { Err(Oops::Said("first")) });
        group.spawn(forever(Alive::new(&alive)));
        let err = group.join().await.unwrap_err();
        assert_eq!(err.first(), &Oops::Said("first"));
        assert_eq!(err.errors().len(), 1, "cancelled siblings are not failures");
        assert_eq!(alive.get(), 0, "a sibling is still running after join");
    });
}

#[test]
fn every_error_is_available() {
    tulip::run(async {
        let mut group = TaskGroup::<(), Oops>::new();
        group.spawn(async { Err(Oops::Said("a")) });
        group.spawn(async { Err(Oops::Said("b")) });
        group.spawn(async { panic!("c") });
        let err: GroupError<Oops> = group.join().await.unwrap_err();
        let errors = err.into_errors();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert_eq!(errors[..2], [Oops::Said("a"), Oops::Said("b")]);
        assert!(matches!(&errors[2], Oops::Job(JobError::Panicked(m)) if m == "c"), "{errors:?}");
    });
}

#[test]
fn cancelling_the_owner_cancels_the_children() {
    tulip::run(async {
        let alive = Rc::new(Cell::new(0));
        let lp = tulip::get_running_loop();
        let a = alive.clone();
        let owner = lp.spawn(async move {
            let mut group = TaskGroup::new();
            group.spawn(forever(Alive::new(&a)));
            group.spawn(forever(Alive::new(&a)));
            group.join().await
        });
        tulip::sleep(Duration::from_millis(5)).await;
        assert_eq!(alive.get(), 2);
        assert!(owner.cancel());
        assert_eq!(owner.await, Err(JobError::Cancelled));
        tulip::sleep(Duration::from_millis(5)).await;
        assert_eq!(alive.get(), 0, "a child outlived its cancelled owner");
    });
}

#[test]
fn works_with_pool_futures_and_tasks() {
    let pool = ThreadPool::builder().max_workers(2).build().unwrap();
    tulip::run(async move {
        let lp = tulip::get_running_loop();
        let mut group = TaskGroup::new();
        group.spawn(pool.submit(|| 1).unwrap());
        group.spawn(lp.spawn(async { 2 }));
        group.spawn(async { Ok(3) });
        assert_eq!(group.join().await, Ok(vec![1, 2, 3]));
    });
}
