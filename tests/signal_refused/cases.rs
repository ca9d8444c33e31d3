use tulip::signal::SignalError;

#[test]
fn uncatchable_synchronous_and_invalid_signals() {
    let lp = tulip::EventLoop::new().unwrap();
    for sig in [libc::SIGKILL, libc::SIGSTOP] {
        assert_eq!(lp.add_signal_handler(sig, || {}), Err(SignalError::Uncatchable(sig)));
    }
    for sig in [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL, libc::SIGTRAP, libc::SIGSYS] {
        assert_eq!(lp.add_signal_handler(sig, || {}), Err(SignalError::Synchronous(sig)));
    }
    for sig in [0, -1, 65, 1000] {
        assert_eq!(lp.add_signal_handler(sig, || {}), Err(SignalError::Invalid(sig)));
        assert_eq!(lp.remove_signal_handler(sig), Err(SignalError::Invalid(sig)));
    }
    let err = lp.add_signal_handler(libc::SIGKILL, || {}).unwrap_err();
    assert!(err.to_string().contains("cannot be handled"), "{err}");
    lp.close().unwrap();
    assert_eq!(lp.add_signal_handler(libc::SIGUSR1, || {}), Err(SignalError::LoopClosed));
}

#[test]
fn awaitables_need_a_running_loop() {
    assert_eq!(tulip::signal::Signals::new(libc::SIGUSR1).unwrap_err(), SignalError::NoLoop);
}

#[test]
fn a_second_loop_is_refused_while_the_first_has_handlers() {
    let first = tulip::EventLoop::new().unwrap();
    first.add_signal_handler(libc::SIGUSR1, || {}).unwrap();
    let try_other = || {
        std::thread::spawn(|| {
            let lp = tulip::EventLoop::new().unwrap();
            let r = lp.add_signal_handler(libc::SIGUSR2, || {});
            lp.close().unwrap();
            r
        })
        .join()
        .unwrap()
    };
    assert_eq!(try_other(), Err(SignalError::OtherLoop));
    assert_eq!(first.remove_signal_handler(libc::SIGUSR1), Ok(true));
    assert_eq!(try_other(), Ok(()), "the handlers were given up with the last removal");
    first.close().unwrap();
}
