use std::time::Duration;

use tulip::subprocess::Command;

#[test]
fn wait_reports_a_child_reaped_by_someone_else() {
    // SAFETY: changes a disposition; restored below (this file's only test).
    let old = unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    let err = tulip::run(async {
        let mut child = Command::new("true").spawn().unwrap();
        tulip::timeout(Duration::from_secs(30), child.wait()).await.expect("wait hung").unwrap_err()
    });
    // SAFETY: puts back the disposition found above.
    unsafe { libc::signal(libc::SIGCHLD, old) };
    assert!(err.to_string().contains("reaped by other code"), "{err}");
}
