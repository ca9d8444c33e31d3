//! Data that arrives after a short read of a `tulip::net::TcpStream` is read, whether its readiness
//! event came before the next read began or after, and so is the end of file that came with the
//! data. (A reader that took a short read as "drained" and waited for a new event before trying
//! again would hang on the last: the peer's FIN raises no event of its own once the data's event
//! was taken, and `polling` does not report `EPOLLRDHUP`.)

use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use tulip::net::{TcpListener, TcpStream};

/// A liveness bound only: each read here completes as soon as its data is there.
const BOUND: Duration = Duration::from_secs(10);

/// Reads once into a buffer larger than what was sent (a short read), within [`BOUND`].
async fn read_short(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let n = tulip::timeout(BOUND, s.read(&mut buf)).await.expect("the read never completed").unwrap();
    buf[..n].to_vec()
}

/// A connected pair whose server end has read one byte sent while its read waited (so the poller
/// watches that socket for futures alone).
async fn connected_after_a_waited_read() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1", 0).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut client = TcpStream::connect("127.0.0.1", port).await.unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    let send = async {
        tulip::sleep(Duration::from_millis(20)).await;
        client.write_all(b"-").await.unwrap();
    };
    let (got, ()) = futures_lite::future::zip(read_short(&mut server), send).await;
    assert_eq!(got, b"-");
    (client, server)
}

#[test]
fn data_after_a_short_read_is_read() {
    tulip::run(async {
        let (mut client, mut server) = connected_after_a_waited_read().await;
        // Sent before the next read begins, its event handled meanwhile by the loop.
        client.write_all(b"cd").await.unwrap();
        tulip::sleep(Duration::from_millis(20)).await;
        assert_eq!(read_short(&mut server).await, b"cd");
        // Sent while the next read waits.
        let lp = tulip::get_running_loop();
        let writer = lp.spawn(async move {
            tulip::sleep(Duration::from_millis(20)).await;
            client.write_all(b"ef").await.unwrap();
            client
        });
        assert_eq!(read_short(&mut server).await, b"ef");
        // End of file after a short read.
        drop(writer.await.unwrap());
        assert_eq!(read_short(&mut server).await, b"");
    });
}

#[test]
fn data_sent_right_after_a_short_read_is_read_without_a_new_event() {
    tulip::run(async {
        let (mut client, mut server) = connected_after_a_waited_read().await;
        for round in 0..50u8 {
            client.write_all(&[round]).await.unwrap();
            assert_eq!(read_short(&mut server).await, [round]);
            // Two writes: the second lands while the first one's event may still be unhandled.
            client.write_all(&[round, round]).await.unwrap();
            client.write_all(&[round]).await.unwrap();
            let mut got = read_short(&mut server).await;
            while got.len() < 3 {
                got.extend(read_short(&mut server).await);
            }
            assert_eq!(got, [round; 3]);
        }
    });
}

#[test]
fn end_of_file_that_came_with_the_data_is_read_after_a_short_read() {
    tulip::run(async {
        let (mut client, mut server) = connected_after_a_waited_read().await;
        // Data and FIN together, their event handled by the loop before the next read.
        client.write_all(b"last").await.unwrap();
        drop(client);
        tulip::sleep(Duration::from_millis(20)).await;
        assert_eq!(read_short(&mut server).await, b"last");
        assert_eq!(read_short(&mut server).await, b"", "the end of file was not seen");
    });
}
