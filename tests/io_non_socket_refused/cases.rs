use tulip::EventLoop;

#[test]
fn a_regular_file_is_refused_and_nothing_stays_registered() {
    let path = std::env::temp_dir().join(format!("tulip-non-socket-{}", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    #[cfg(unix)]
    let raw = std::os::fd::AsRawFd::as_raw_fd(&file);
    #[cfg(windows)]
    let raw = std::os::windows::io::AsRawHandle::as_raw_handle(&file) as std::os::windows::io::RawSocket;
    let lp = EventLoop::new().unwrap();
    // SAFETY: `file` stays open until the end of the test, after the loop is closed.
    let err = unsafe { lp.add_reader(raw, || ()) }.unwrap_err();
    assert!(err.raw_os_error().is_some(), "not the OS error: {err:?}");
    assert!(!lp.remove_reader(raw), "a refused handle must leave no reader behind");
    lp.close().unwrap();
    drop(file);
    let _ = std::fs::remove_file(&path);
}
