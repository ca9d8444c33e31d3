//! `call_soon_threadsafe` from many threads: every callback runs exactly once, and the callbacks of
//! one producer run in the order it posted them.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Barrier};

use tulip::EventLoop;

const PRODUCERS: usize = 4;
const PER_PRODUCER: usize = 250_000;

#[test]
fn four_threads_post_a_million_callbacks_each_runs_once_in_producer_order() {
    let lp = EventLoop::new().unwrap();
    // Per producer: the next sequence number expected, and how many ran out of order or twice.
    let next = Rc::new(RefCell::new(vec![0usize; PRODUCERS]));
    let total = PRODUCERS * PER_PRODUCER;

    // The loop-side state is !Send, so producers post plain data; a loop-local dispatcher checks it.
    type Sink = Box<dyn Fn(usize, usize)>;
    thread_local! {
        static SINK: RefCell<Option<Sink>> = const { RefCell::new(None) };
    }
    let (n2, lp2) = (next.clone(), lp.clone());
    let seen = Rc::new(std::cell::Cell::new(0usize));
    let s2 = seen.clone();
    SINK.with(|s| {
        *s.borrow_mut() = Some(Box::new(move |producer, seq| {
            let mut next = n2.borrow_mut();
            assert_eq!(next[producer], seq, "producer {producer}: callback {seq} out of order or twice");
            next[producer] += 1;
            s2.set(s2.get() + 1);
            if s2.get() == total {
                lp2.stop();
            }
        }))
    });

    let start = Arc::new(Barrier::new(PRODUCERS));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (h, start) = (lp.handle(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for seq in 0..PER_PRODUCER {
                    h.call_soon_threadsafe(move || {
                        SINK.with(|s| (s.borrow().as_ref().expect("sink installed"))(p, seq))
                    })
                    .expect("the loop is open");
                }
            })
        })
        .collect();
    lp.run_forever().unwrap();
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(seen.get(), total);
    assert_eq!(*next.borrow(), vec![PER_PRODUCER; PRODUCERS]);
    // Nothing left over: one more pass runs nothing.
    lp.run_until_complete(async {}).unwrap();
    assert_eq!(seen.get(), total);
    SINK.with(|s| s.borrow_mut().take());
    lp.close().unwrap();
}
