//! `call_soon_threadsafe` and `call_soon` keep one order, as asyncio's single ready queue does: a
//! callback posted thread-safely runs before a `call_soon` made after the post was complete, whether
//! the post came from the loop's own thread or from another one.

use std::sync::{Arc, Mutex};

use tulip::EventLoop;

type Order = Arc<Mutex<Vec<&'static str>>>;

fn note(order: &Order, what: &'static str) -> impl FnOnce() + Send + 'static {
    let order = order.clone();
    move || order.lock().unwrap().push(what)
}

#[test]
fn a_threadsafe_post_on_the_loop_thread_runs_before_a_later_call_soon() {
    let lp = EventLoop::new().unwrap();
    let order = Order::default();
    lp.handle().call_soon_threadsafe(note(&order, "threadsafe")).unwrap();
    lp.call_soon(note(&order, "soon"));
    lp.run_until_complete(async {}).unwrap();
    assert_eq!(*order.lock().unwrap(), ["threadsafe", "soon"]);
    lp.close().unwrap();
}

#[test]
fn a_post_completed_on_another_thread_runs_before_a_later_call_soon() {
    let lp = EventLoop::new().unwrap();
    let order = Order::default();
    let (h, post) = (lp.handle(), note(&order, "threadsafe"));
    std::thread::spawn(move || h.call_soon_threadsafe(post).unwrap()).join().unwrap();
    // The post is complete (its thread was joined): a call_soon made now comes after it.
    lp.call_soon(note(&order, "soon"));
    lp.run_until_complete(async {}).unwrap();
    assert_eq!(*order.lock().unwrap(), ["threadsafe", "soon"]);
    lp.close().unwrap();
}

#[test]
fn the_same_order_holds_for_posts_made_while_the_loop_runs() {
    let lp = EventLoop::new().unwrap();
    let order = Order::default();
    let o = order.clone();
    lp.run_until_complete(async move {
        let lp = tulip::get_running_loop();
        let (h, post) = (lp.handle(), note(&o, "threadsafe"));
        std::thread::spawn(move || h.call_soon_threadsafe(post).unwrap()).join().unwrap();
        lp.call_soon(note(&o, "soon"));
        tulip::sleep(std::time::Duration::from_millis(1)).await;
    })
    .unwrap();
    assert_eq!(*order.lock().unwrap(), ["threadsafe", "soon"]);
    lp.close().unwrap();
}
