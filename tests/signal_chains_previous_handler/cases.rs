use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

static SIGINFO_CALLS: AtomicUsize = AtomicUsize::new(0);
static PLAIN_CALLS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn siginfo_handler(sig: c_int, info: *mut libc::siginfo_t, _ctx: *mut c_void) {
    // SAFETY: the kernel (or tulip, passing it on) hands a valid siginfo for this signal.
    if sig == libc::SIGUSR1 && !info.is_null() && unsafe { (*info).si_signo } == libc::SIGUSR1 {
        SIGINFO_CALLS.fetch_add(1, Ordering::SeqCst);
    }
}

extern "C" fn plain_handler(sig: c_int) {
    if sig == libc::SIGCHLD {
        PLAIN_CALLS.fetch_add(1, Ordering::SeqCst);
    }
}

/// Installs `handler` the way C code does, with `sigaction`.
fn install_c_handler(sig: c_int, handler: usize, flags: c_int) {
    // SAFETY: a zeroed sigaction is valid; both handlers are async-signal-safe.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = handler;
        act.sa_flags = flags;
        assert_eq!(libc::sigaction(sig, &act, std::ptr::null_mut()), 0);
    }
}

#[path = "../support/disposition.rs"]
mod disposition;
use disposition::disposition;

#[test]
fn the_previous_handler_is_called_too_and_put_back() {
    let siginfo = siginfo_handler as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) as usize;
    let plain = plain_handler as extern "C" fn(c_int) as usize;
    install_c_handler(libc::SIGUSR1, siginfo, libc::SA_SIGINFO);
    install_c_handler(libc::SIGCHLD, plain, 0);

    let lp = tulip::EventLoop::new().unwrap();
    let seen = Rc::new(Cell::new(0));
    for sig in [libc::SIGUSR1, libc::SIGCHLD] {
        let (seen, lp2) = (seen.clone(), lp.clone());
        lp.add_signal_handler(sig, move || {
            seen.set(seen.get() + 1);
            if seen.get() == 2 {
                lp2.stop();
            }
        })
        .unwrap();
    }
    // SAFETY: raising signals that have handlers.
    unsafe {
        libc::raise(libc::SIGUSR1);
        libc::raise(libc::SIGCHLD);
    }
    lp.run_forever().unwrap();
    assert_eq!(seen.get(), 2, "tulip's callbacks");
    assert_eq!(SIGINFO_CALLS.load(Ordering::SeqCst), 1, "the SA_SIGINFO handler was not chained");
    assert_eq!(PLAIN_CALLS.load(Ordering::SeqCst), 1, "the plain handler was not chained");

    assert_eq!(lp.remove_signal_handler(libc::SIGUSR1), Ok(true));
    assert_eq!(disposition(libc::SIGUSR1), siginfo, "removal did not put the C handler back");
    lp.close().unwrap();
    assert_eq!(disposition(libc::SIGCHLD), plain, "close did not put the C handler back");
}
