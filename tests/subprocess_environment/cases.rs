use tulip::subprocess::Command;

#[test]
fn the_environment_is_the_parents_with_the_changes() {
    // The only test of this binary: set before any child starts, with no other thread running.
    std::env::set_var("TULIP_TEST_INHERITED", "from-parent");
    std::env::set_var("TULIP_TEST_REMOVED", "should-go");
    tulip::run(async {
        let script = r#"echo "$TULIP_TEST_INHERITED|${TULIP_TEST_REMOVED-unset}|$TULIP_TEST_SET""#;
        // No change asked for: the parent's environment is handed over as it is.
        let out = Command::new("sh").args(["-c", script]).output().await.unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "from-parent|should-go|\n");
        for cwd in [None, Some("/")] {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", script]).env("TULIP_TEST_SET", "a=b c").env_remove("TULIP_TEST_REMOVED");
            if let Some(dir) = cwd {
                cmd.current_dir(dir);
            }
            let out = cmd.output().await.unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), "from-parent|unset|a=b c\n", "cwd {cwd:?}");
        }
        let out = Command::new("/bin/sh")
            .args(["-c", script])
            .env_clear()
            .env("TULIP_TEST_SET", "x")
            .output()
            .await;
        assert_eq!(String::from_utf8_lossy(&out.unwrap().stdout), "|unset|x\n");

        // Rust ignores SIGPIPE in the parent; a child gets the default back (its SigIgn lacks it).
        for cwd in [None, Some("/")] {
            let mut cmd = Command::new("grep");
            cmd.args(["SigIgn", "/proc/self/status"]);
            if let Some(dir) = cwd {
                cmd.current_dir(dir);
            }
            let out = String::from_utf8(cmd.output().await.unwrap().stdout).unwrap();
            let mask = u64::from_str_radix(out.trim().trim_start_matches("SigIgn:").trim(), 16).unwrap();
            assert_eq!(mask & (1 << (libc::SIGPIPE - 1)), 0, "SIGPIPE ignored in the child (cwd {cwd:?})");
        }
    });
}
