//! `tulip::compat::tokio`: tokio timers and `tokio::spawn` work inside tulip tasks.
#![cfg(feature = "tokio")]

use std::time::{Duration, Instant};

#[test]
fn tokio_sleep_inside_a_tulip_task() {
    let waited = tulip::run(async {
        let lp = tulip::get_running_loop();
        let task = lp.spawn(tulip::compat::tokio(async {
            let t = Instant::now();
            tokio::time::sleep(Duration::from_millis(20)).await;
            t.elapsed()
        }));
        task.await.unwrap()
    });
    assert!(waited >= Duration::from_millis(20), "woke after {waited:?}");
}

#[test]
fn tokio_spawn_inside_a_tulip_task() {
    let sum = tulip::run(async {
        tulip::compat::tokio(async {
            let tasks: Vec<_> = (0..10u64).map(|i| tokio::spawn(async move { i * 2 })).collect();
            let mut sum = 0;
            for t in tasks {
                sum += t.await.unwrap();
            }
            sum
        })
        .await
    });
    assert_eq!(sum, 90);
}

#[test]
fn tokio_tcp_inside_a_tulip_task() {
    let echoed = tulip::run(async {
        tulip::compat::tokio(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0; 4];
                s.read_exact(&mut buf).await.unwrap();
                s.write_all(&buf).await.unwrap();
            });
            let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
            c.write_all(b"ping").await.unwrap();
            let mut buf = [0; 4];
            c.read_exact(&mut buf).await.unwrap();
            server.await.unwrap();
            buf
        })
        .await
    });
    assert_eq!(&echoed, b"ping");
}

#[test]
fn the_tulip_loop_keeps_running_while_tokio_waits() {
    tulip::run(async {
        let lp = tulip::get_running_loop();
        // Built inside the adapter: `tokio::time::sleep` needs the runtime when called.
        let slow =
            lp.spawn(tulip::compat::tokio(async { tokio::time::sleep(Duration::from_millis(50)).await }));
        let ticks = lp.spawn(async {
            let mut n = 0;
            for _ in 0..5 {
                tulip::sleep(Duration::from_millis(1)).await;
                n += 1;
            }
            n
        });
        assert_eq!(ticks.await.unwrap(), 5);
        assert!(!slow.is_done());
        slow.await.unwrap();
    });
}
