//! The current disposition of a signal (its handler address, `SIG_DFL` or `SIG_IGN`), read without
//! changing it.

pub fn disposition(sig: libc::c_int) -> libc::sighandler_t {
    // SAFETY: queries the current disposition only (no new one given) into a zeroed structure.
    unsafe {
        let mut now: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut now);
        now.sa_sigaction
    }
}
