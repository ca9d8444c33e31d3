//! Build-time platform facts, as `cfg` names, so one list of platforms is written once.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(atomic_cloexec)");
    println!("cargo::rustc-check-cfg=cfg(waiter_help)");
    // Platforms whose socket(2) and pipe2(2) take SOCK_NONBLOCK / SOCK_CLOEXEC / O_CLOEXEC, so a new fd is
    // never visible without close-on-exec, even for an instant.
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(os.as_str(), "linux" | "android" | "freebsd" | "dragonfly" | "netbsd" | "openbsd") {
        println!("cargo::rustc-cfg=atomic_cloexec");
    }
    // Where a thread waiting for a remote worker's result reads the worker's link itself (see the
    // process pool's `driver::help`): Unix, outside the `loom` models.
    let unix = std::env::var_os("CARGO_CFG_UNIX").is_some();
    if unix && std::env::var_os("CARGO_CFG_LOOM").is_none() {
        println!("cargo::rustc-cfg=waiter_help");
    }
}
