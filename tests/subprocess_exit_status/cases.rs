use std::os::unix::process::ExitStatusExt;

use tulip::subprocess::Command;

#[test]
fn killed_by_a_signal_is_reported() {
    tulip::run(async {
        let mut child = Command::new("sleep").arg("60").spawn().unwrap();
        assert_eq!(child.try_wait().unwrap(), None);
        assert!(child.kill());
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(status.code(), None);
        assert!(!child.kill(), "an ended child is not signalled again");
        assert_eq!(child.try_wait().unwrap(), Some(status));
    });
}

#[test]
fn a_signal_the_child_sends_itself() {
    tulip::run(async {
        let status = Command::new("/bin/sh").args(["-c", "kill -TERM $$"]).status().await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    });
}

#[test]
fn exit_codes() {
    tulip::run(async {
        let status = Command::new("/bin/sh").args(["-c", "exit 42"]).status().await.unwrap();
        assert_eq!(status.code(), Some(42));
        assert!(Command::new("true").status().await.unwrap().success());
    });
}
