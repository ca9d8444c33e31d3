#[test]
fn a_fan_out_of_children_starts_no_thread() {
    use tulip::subprocess::Command;

    let threads = || std::fs::read_dir("/proc/self/task").unwrap().count();
    let before = threads();
    let most = tulip::run(async move {
        let lp = tulip::get_running_loop();
        let lanes: Vec<_> = (0..20)
            .map(|_| {
                lp.spawn(async move {
                    let mut most = 0;
                    for _ in 0..3 {
                        let mut child = Command::new("true").spawn().unwrap();
                        most = most.max(threads());
                        assert!(child.wait().await.unwrap().success());
                        most = most.max(threads());
                    }
                    most
                })
            })
            .collect();
        let mut most = 0;
        for lane in lanes {
            most = most.max(lane.await.unwrap());
        }
        most
    });
    assert_eq!(most, before, "threads while children were spawned and waited for");
}
