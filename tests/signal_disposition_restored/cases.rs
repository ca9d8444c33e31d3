use futures_lite::StreamExt;

#[path = "../support/disposition.rs"]
mod disposition;
use disposition::disposition;

#[test]
fn removal_and_close_restore_the_old_disposition() {
    // SAFETY: sets a disposition for a signal nothing else in this test program uses.
    unsafe { libc::signal(libc::SIGWINCH, libc::SIG_IGN) };
    let lp = tulip::EventLoop::new().unwrap();
    lp.add_signal_handler(libc::SIGWINCH, || {}).unwrap();
    assert_ne!(disposition(libc::SIGWINCH), libc::SIG_IGN);
    assert_eq!(lp.remove_signal_handler(libc::SIGWINCH), Ok(true));
    assert_eq!(disposition(libc::SIGWINCH), libc::SIG_IGN, "removal did not restore SIG_IGN");
    assert_eq!(lp.remove_signal_handler(libc::SIGWINCH), Ok(false));

    lp.add_signal_handler(libc::SIGWINCH, || {}).unwrap();
    lp.close().unwrap();
    assert_eq!(disposition(libc::SIGWINCH), libc::SIG_IGN, "close did not restore SIG_IGN");

    // A loop dropped without `close` does too (its handlers do not keep it alive).
    let lp = tulip::EventLoop::new().unwrap();
    lp.add_signal_handler(libc::SIGWINCH, || {}).unwrap();
    drop(lp);
    assert_eq!(disposition(libc::SIGWINCH), libc::SIG_IGN, "dropping the loop did not restore SIG_IGN");

    // A stream keeps the handler in after the callback goes; the last one out restores.
    tulip::run(async {
        let lp = tulip::get_running_loop();
        lp.add_signal_handler(libc::SIGWINCH, || {}).unwrap();
        let mut stream = tulip::signal::Signals::new(libc::SIGWINCH).unwrap();
        assert_eq!(lp.remove_signal_handler(libc::SIGWINCH), Ok(true));
        assert_ne!(disposition(libc::SIGWINCH), libc::SIG_IGN);
        // SAFETY: the signal has a handler (the stream's).
        unsafe { libc::raise(libc::SIGWINCH) };
        assert_eq!(stream.next().await, Some(libc::SIGWINCH));
        drop(stream);
        assert_eq!(disposition(libc::SIGWINCH), libc::SIG_IGN, "dropping the stream did not restore");
    });
}
