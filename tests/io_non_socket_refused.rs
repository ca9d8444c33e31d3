//! A handle with no readiness to wait for (a regular file) is refused by `add_reader` with the OS
//! error, and nothing stays registered: on Windows only sockets can be watched (`polling`'s IOCP
//! backend), and Linux's epoll refuses regular files. (kqueue accepts files, so not on the BSDs.)

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    any(target_os = "linux", windows),
    test,
    "io_non_socket_refused/cases.rs",
    "kqueue accepts regular files, so there is no refusal to check (Linux's epoll and Windows only)"
);
