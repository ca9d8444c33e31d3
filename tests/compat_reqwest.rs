//! reqwest (tokio-based, rustls, no OpenSSL) inside a tulip task through `tulip::compat::tokio`,
//! against a hyper server running natively on the same loop.
#![cfg(all(feature = "tokio", feature = "hyper"))]

#[path = "support/http.rs"]
mod http;

#[test]
fn reqwest_get_and_post_from_a_tulip_task() {
    let (got, posted) = tulip::run(async {
        let listener = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        // How many connections reqwest opens is its pool's business: it takes a connection back
        // on a task of the tokio runtime once the response is read, and a request made before that
        // task ran opens a second one. Keep-alive on tulip's side is pinned by
        // `compat_hyper_keep_alive` (1,000 requests on one connection).
        let _accepted = http::spawn_server(listener);
        let lp = tulip::get_running_loop();
        let client = lp.spawn(tulip::compat::tokio(async move {
            let client = reqwest::Client::new();
            let got =
                client.get(&url).send().await.unwrap().error_for_status().unwrap().text().await.unwrap();
            let posted = client.post(&url).body("posted").send().await.unwrap().text().await.unwrap();
            (got, posted)
        }));
        client.await.unwrap()
    });
    assert_eq!(got, "hello");
    assert_eq!(posted, "posted");
}
