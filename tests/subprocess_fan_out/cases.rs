use futures_lite::{AsyncReadExt, AsyncWriteExt};
use tulip::subprocess::{Command, Stdio};

#[test]
fn a_hundred_children_at_once() {
    tulip::run(async {
        let lp = tulip::get_running_loop();
        let mut children = Vec::new();
        for i in 0..100 {
            let mut child = Command::new("/bin/sh")
                .args(["-c", "echo $$; cat"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let (mut stdin, mut stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
            // All children are started before any is fed: 100 run at once.
            children.push(lp.spawn(async move {
                stdin.write_all(format!("child {i}\n").as_bytes()).await.unwrap();
                drop(stdin);
                let mut out = String::new();
                stdout.read_to_string(&mut out).await.unwrap();
                let status = child.wait().await.unwrap();
                (child.id(), out, status)
            }));
        }
        for (i, task) in children.into_iter().enumerate() {
            let (pid, out, status) = task.await.unwrap();
            assert!(status.success(), "child {i}: {status}");
            assert_eq!(out, format!("{pid}\nchild {i}\n"));
        }
    });
}
