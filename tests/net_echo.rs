//! A round trip over `tulip::net::TcpStream`/`TcpListener` on loopback, through the futures-io traits:
//! a short message, then a payload large enough to fill the socket buffers, then end of file.

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use tulip::net::{TcpListener, TcpStream};

#[test]
fn echo_round_trip_on_loopback() {
    tulip::run(async {
        let lp = tulip::get_running_loop();
        let listener = TcpListener::bind("localhost", 0).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = lp.spawn(async move {
            let (conn, peer) = listener.accept().await.unwrap();
            assert_eq!(conn.peer_addr().unwrap(), peer);
            // Echo everything until the client closes its write half.
            let (mut reader, mut writer) = futures_lite::io::split(conn);
            futures_lite::io::copy(&mut reader, &mut writer).await.unwrap();
            writer.close().await.unwrap();
        });

        let client = TcpStream::connect("localhost", port).await.unwrap();
        assert!(client.peer_addr().unwrap().ip().is_loopback());
        let (mut reader, mut writer) = futures_lite::io::split(client);

        writer.write_all(b"hello").await.unwrap();
        let mut buf = [0; 5];
        reader.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");

        // 4 MiB: far more than the socket buffers, so both sides hit WouldBlock and wait for readiness.
        let payload: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
        let expected = payload.clone();
        let sender = lp.spawn(async move {
            writer.write_all(&payload).await.unwrap();
            writer.close().await.unwrap();
        });
        let mut echoed = Vec::new();
        reader.read_to_end(&mut echoed).await.unwrap();
        assert_eq!(echoed.len(), expected.len());
        assert!(echoed == expected);
        sender.await.unwrap();
        server.await.unwrap();
    });
}
