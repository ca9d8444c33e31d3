use std::os::fd::{FromRawFd, OwnedFd};

use tulip::subprocess::{Command, Stdio};

/// A descriptor open on `/dev/null` at number 200 or above, without close-on-exec.
fn leaky_fd() -> OwnedFd {
    // SAFETY: plain descriptor calls; the new descriptor is owned by the returned value.
    unsafe {
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        assert!(fd >= 0);
        let high = libc::fcntl(fd, libc::F_DUPFD, 200);
        libc::close(fd);
        assert!(high >= 200);
        assert_eq!(libc::fcntl(high, libc::F_GETFD) & libc::FD_CLOEXEC, 0, "test setup: not inheritable");
        OwnedFd::from_raw_fd(high)
    }
}

fn child_fds(out: &[u8]) -> Vec<i32> {
    String::from_utf8_lossy(out).split_whitespace().filter_map(|s| s.parse().ok()).collect()
}

#[test]
fn only_the_standard_streams_are_inherited() {
    let leaky = leaky_fd();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&leaky);
    tulip::run(async move {
        // `ls` lists its own descriptors: 0, 1, 2 and the one it reads the directory with. A
        // working directory makes the spawn a `fork` + `exec` (without: `posix_spawn` where it can).
        for cwd in [None, Some("/")] {
            let mut cmd = Command::new("ls");
            cmd.arg("/proc/self/fd");
            if let Some(dir) = cwd {
                cmd.current_dir(dir);
            }
            let out = cmd.output().await.unwrap();
            assert!(out.status.success());
            let fds = child_fds(&out.stdout);
            assert!(!fds.contains(&fd), "descriptor {fd} leaked into the child (cwd {cwd:?}): {fds:?}");
            assert!(fds.iter().filter(|&&f| f > 2).count() <= 1, "more than ls's own descriptor: {fds:?}");
        }

        // A file handed over as stdout is still the child's stdout.
        let path = std::env::temp_dir().join(format!("tulip-fd-hygiene-{}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let status = Command::new("echo").arg("kept").stdout(Stdio::from(file)).status().await.unwrap();
        assert!(status.success());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept\n");
        let _ = std::fs::remove_file(&path);
    });
    drop(leaky);
}
