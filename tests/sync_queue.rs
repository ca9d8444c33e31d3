//! `tulip::Queue`: FIFO, bounded (`put` waits while full), `join` waits for every `task_done`, across
//! threads and tasks; a `put` dropped while waiting for room leaves no unfinished item behind.

use std::time::Duration;

use tulip::{Queue, QueueFull, TaskDoneTooOften};

#[test]
fn a_thread_feeds_a_task_in_order_and_join_waits_for_task_done() {
    let q = Queue::new(2);
    let producer = q.clone();
    let t = std::thread::spawn(move || (0..100).for_each(|i| producer.put_blocking(i)));
    tulip::run(async {
        let lp = tulip::get_running_loop();
        let consumer = q.clone();
        let c = lp.spawn(async move {
            let mut got = Vec::new();
            for _ in 0..100 {
                got.push(consumer.get().await);
                consumer.task_done().unwrap();
            }
            got
        });
        tulip::timeout(Duration::from_secs(10), q.join()).await.unwrap();
        assert_eq!(c.await.unwrap(), (0..100).collect::<Vec<_>>());
    });
    t.join().unwrap();
    assert_eq!(q.task_done(), Err(TaskDoneTooOften));
}

#[test]
fn put_waits_while_the_queue_is_full() {
    tulip::run(async {
        let q = Queue::new(1);
        q.put(1).await;
        assert_eq!(q.try_put(2), Err(QueueFull(2)));
        assert!(tulip::timeout(Duration::from_millis(5), q.put(2)).await.is_err(), "put did not wait");
        assert_eq!(q.get().await, 1);
        q.put(3).await;
        assert_eq!(q.get().await, 3);
    });
}

#[test]
fn a_dropped_put_is_not_left_unfinished() {
    tulip::run(async {
        let q = Queue::new(1);
        q.put(1).await;
        let _ = tulip::timeout(Duration::from_millis(5), q.put(2)).await;
        assert_eq!(q.get().await, 1);
        q.task_done().unwrap();
        tulip::timeout(Duration::from_secs(10), q.join()).await.expect("join waited for the dropped put");
    });
}
