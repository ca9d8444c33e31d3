use tulip::subprocess::Command;

#[path = "../support/disposition.rs"]
mod disposition;
use disposition::disposition;

#[test]
fn waiting_with_pidfds_installs_no_sigchld_handler() {
    // SAFETY: pidfd_open(2) on our own pid: only tells whether this kernel has pidfds.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    if fd < 0 {
        println!("skipped: this kernel has no pidfds");
        return;
    }
    if std::env::var_os("TULIP_PIDFD").is_some_and(|v| v == "0") {
        println!("skipped: TULIP_PIDFD=0 turns pidfds off");
        // SAFETY: closes the descriptor just opened.
        unsafe { libc::close(fd as i32) };
        return;
    }
    // SAFETY: closes the descriptor just opened.
    unsafe { libc::close(fd as i32) };
    tulip::run(async {
        let mut child = Command::new("true").spawn().unwrap();
        assert!(child.wait().await.unwrap().success());
        assert!(child.wait().await.unwrap().success(), "a second wait gives the same status");
        assert_eq!(disposition(libc::SIGCHLD), libc::SIG_DFL, "a SIGCHLD handler was installed");
    });
}
