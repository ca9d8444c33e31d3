use tulip::subprocess::{Command, Stdio};

#[test]
fn a_command_spawns_twice_with_its_pipes() {
    tulip::run(async {
        let mut cmd = Command::new("echo");
        cmd.arg("again").stdout(Stdio::piped());
        for _ in 0..2 {
            let child = cmd.spawn().unwrap();
            assert!(child.stdout.is_some(), "the second spawn lost its stdout pipe");
            assert_eq!(child.wait_with_output().await.unwrap().stdout, b"again\n");
        }
    });
}
