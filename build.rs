//! Build-time platform facts, as `cfg` names, so one list of platforms is written once.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(atomic_cloexec)");
    // Platforms whose socket(2) and pipe2(2) take SOCK_NONBLOCK / SOCK_CLOEXEC / O_CLOEXEC, so a new fd is
    // never visible without close-on-exec, even for an instant.
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(os.as_str(), "linux" | "android" | "freebsd" | "dragonfly" | "netbsd" | "openbsd") {
        println!("cargo::rustc-cfg=atomic_cloexec");
    }
}
