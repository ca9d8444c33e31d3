//! Function references that survive a re-execution: offsets from a base symbol, and trampolines.
//!
//! A worker is the same executable as the pool's process, loaded at another address (ASLR), so a raw
//! function pointer means nothing there, but the distance between two functions of the same image
//! does. A task travels as two such distances from [`base`]: the user's `fn(A) -> R`, and the
//! [`Trampoline`] monomorphized for exactly that `A` and `R`, which decodes the arguments, calls the
//! function and encodes its result. The pairing is made on the pool's side from one typed `submit`
//! call, so the worker never has to guess a type.
//!
//! Both sides check that an address lies in the same loaded object as [`base`]: in its executable
//! segments where the loader lists them (ELF platforms: Linux, Android, FreeBSD), else in the object
//! `dladdr` finds for both (macOS). A function from another shared library, whose distance to [`base`]
//! differs from process to process, is refused at `submit`; an address neither check can place is
//! refused too, never assumed; and a corrupted offset can never send the worker into data.

use std::any::Any;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::panic_message;

/// How a trampoline reports a task's end; the payload (if any) is already appended to `out`.
#[derive(Debug)]
pub(crate) enum Outcome {
    Value,
    Panicked(String),
    Codec(String),
    /// The task's per-worker state could not be made (see `state.rs`); the task never ran.
    State(String),
}

/// Decodes the arguments from `args`, calls the function at address `f`, appends the encoded result
/// to `out` (at most `max` bytes of it).
///
/// # Safety
///
/// `f` must be the address of a `fn(A) -> R` with the `A` and `R` this trampoline was instantiated
/// with. The pool guarantees it by building both offsets in one typed call.
pub(crate) type Trampoline = unsafe fn(f: usize, args: &[u8], out: &mut Vec<u8>, max: usize) -> Outcome;

/// The base symbol every offset is measured from.
///
/// `#[inline(never)]` and a distinctive body keep it a real, unique function with an address.
#[inline(never)]
fn base_symbol() -> u64 {
    std::hint::black_box(0x7475_6c69_7021)
}

/// The address of the base symbol in this process.
pub(crate) fn base() -> usize {
    base_symbol as fn() -> u64 as usize
}

/// A value that differs between builds: the distances of some of tulip's own functions from the base.
pub(crate) fn code_id() -> u64 {
    let a = trampoline::<u64, u64> as Trampoline as usize;
    let b = chunk_trampoline::<u64, u64> as Trampoline as usize;
    let c = crate::process_pool::process::init as fn() as usize;
    let d = |x: usize| x.wrapping_sub(base()) as u64;
    d(a).rotate_left(7) ^ d(b).rotate_left(29) ^ d(c)
}

/// The loaded object (the executable, or the shared library tulip was linked into) that holds the
/// base symbol: every offset is measured inside it, so only its functions may be named by one.
struct Home {
    /// Where the object is loaded (`dli_fbase` of the base symbol); `None` if `dladdr` cannot say.
    fbase: Option<usize>,
    /// The object's executable segments, where the loader lists them (ELF platforms); `None`
    /// elsewhere.
    text: Option<Vec<(usize, usize)>>,
}

fn home() -> &'static Home {
    static HOME: OnceLock<Home> = OnceLock::new();
    HOME.get_or_init(|| Home { fbase: loaded_at(base()), text: list_text_ranges(base()) })
}

/// Where the object holding `addr` is loaded, as `dladdr` says; `None` if it knows no such object.
#[cfg(unix)]
fn loaded_at(addr: usize) -> Option<usize> {
    // SAFETY: an all-zero `Dl_info` (null pointers) is a valid value to be overwritten.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only inspects the loader's tables for `addr` and fills `info`.
    let found = unsafe { libc::dladdr(addr as *const std::ffi::c_void, &mut info) } != 0;
    (found && !info.dli_fbase.is_null()).then_some(info.dli_fbase as usize)
}

/// Where the module (the executable or a DLL) holding `addr` is loaded, as `GetModuleHandleExW`
/// says (a module's handle is its base address); `None` if no module holds it.
#[cfg(windows)]
fn loaded_at(addr: usize) -> Option<usize> {
    use windows_sys::Win32::System::LibraryLoader::{
        GetModuleHandleExW, GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
        GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
    };
    let flags = GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT;
    let mut module = std::ptr::null_mut();
    // SAFETY: with FROM_ADDRESS the name argument is an address, only looked up; the handle is not
    // counted (UNCHANGED_REFCOUNT), so nothing needs releasing.
    let found = unsafe { GetModuleHandleExW(flags, addr as *const u16, &mut module) } != 0;
    (found && !module.is_null()).then_some(module as usize)
}

/// The executable segments of the loaded object whose code contains `anchor`, if the loader lists them.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn list_text_ranges(anchor: usize) -> Option<Vec<(usize, usize)>> {
    use std::os::raw::{c_int, c_void};

    /// ELF's `PT_LOAD` and `PF_X` (not every target's `libc` has them).
    const PT_LOAD: u32 = 1;
    const PF_X: u32 = 1;

    struct Search {
        anchor: usize,
        found: Option<Vec<(usize, usize)>>,
    }

    unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
        // SAFETY: `data` is the `Search` passed below; `info` is valid for the duration of the call.
        let (search, info) = unsafe { (&mut *(data as *mut Search), &*info) };
        let headers = if info.dlpi_phdr.is_null() {
            &[][..]
        } else {
            // SAFETY: the loader describes `dlpi_phnum` program headers at `dlpi_phdr`.
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) }
        };
        let ranges: Vec<(usize, usize)> = headers
            .iter()
            .filter(|h| h.p_type == PT_LOAD && h.p_flags & PF_X != 0)
            .map(|h| {
                let start = (info.dlpi_addr as usize).wrapping_add(h.p_vaddr as usize);
                (start, start.wrapping_add(h.p_memsz as usize))
            })
            .collect();
        if ranges.iter().any(|&(s, e)| s <= search.anchor && search.anchor < e) {
            search.found = Some(ranges);
            return 1;
        }
        0
    }

    let mut search = Search { anchor, found: None };
    // SAFETY: `visit` matches the callback type and only touches `search` through `data`.
    unsafe { libc::dl_iterate_phdr(Some(visit), &mut search as *mut Search as *mut c_void) };
    search.found
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn list_text_ranges(_anchor: usize) -> Option<Vec<(usize, usize)>> {
    None
}

/// Whether `addr` is shown to lie in the same loaded object as the base symbol: by that object's
/// executable segments where they are listed, else by `dladdr`. What cannot be shown is refused,
/// so that a worker never jumps to an address that means something else in its process.
fn in_program(addr: usize) -> bool {
    let home = home();
    let in_text = home.text.as_ref().map(|t| t.iter().any(|&(s, e)| s <= addr && addr < e));
    // The segments belong to the base's object: inside them, `dladdr` has nothing to add.
    let same_object = match in_text {
        Some(true) => None,
        _ => home.fbase.zip(loaded_at(addr)).map(|(ours, its)| ours == its),
    };
    shown(in_text, same_object)
}

/// The rule of [`in_program`], given what each check could tell (`None`: it could not tell).
fn shown(in_text: Option<bool>, same_object: Option<bool>) -> bool {
    match (in_text, same_object) {
        (Some(false), _) | (_, Some(false)) | (None, None) => false,
        (Some(true), _) | (_, Some(true)) => true,
    }
}

/// The offset that names `addr` in any process running this program.
pub(crate) fn offset_of(addr: usize) -> Result<i64, String> {
    if !in_program(addr) {
        return Err(format!(
            "the function at {addr:#x} cannot be shown to lie in the code tulip is part of (is it in \
             another shared library?); process-pool functions must be defined in the executable, or \
             in the shared library tulip is linked into"
        ));
    }
    Ok(addr.wrapping_sub(base()) as i64)
}

/// The address an offset names in this process, if it lies in the program's code.
pub(crate) fn address_of(offset: i64) -> Result<usize, String> {
    let addr = base().wrapping_add(offset as usize);
    if in_program(addr) {
        Ok(addr)
    } else {
        Err(format!("function offset {offset:#x} does not point into the program's code"))
    }
}

/// A `Write` into a `Vec` that refuses to take it past `limit` bytes: a value too large for its
/// frame is refused as soon as its encoding crosses the limit, before the rest of it is built.
struct Capped<'a> {
    out: &'a mut Vec<u8>,
    /// The length `out` may not exceed.
    limit: usize,
    /// Set once a write was refused for size.
    over: bool,
}

impl io::Write for Capped<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if bytes.len() > self.limit - self.out.len() {
            self.over = true;
            return Err(io::ErrorKind::WriteZero.into());
        }
        self.out.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Appends `value` encoded, at most `max` bytes of it; on failure restores `out` and says why.
/// `what` names the value in the message ("the arguments", "the result"). A panic in `value`'s
/// `Serialize` unwinds to the caller (on the pool's side: the caller's own code panicked).
pub(crate) fn encode_capped<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
    max: usize,
    what: &str,
) -> Result<(), String> {
    let mark = out.len();
    let mut w = Capped { limit: mark.saturating_add(max), out, over: false };
    let r = postcard::to_io(value, &mut w).map(|_| ());
    let err = match r {
        Ok(()) => return Ok(()),
        Err(_) if w.over => format!(
            "{what} encodes to more than the {max} bytes its frame has room for (the pool's max_frame_size)"
        ),
        Err(e) => format!("could not encode {what}: {e}"),
    };
    out.truncate(mark);
    Err(err)
}

/// [`encode_capped`] in a worker: a panic in `Serialize` is an encoding failure too.
fn encode_into<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
    max: usize,
    what: &str,
) -> Result<(), String> {
    let mark = out.len();
    catch_unwind(AssertUnwindSafe(|| encode_capped(value, out, max, what))).unwrap_or_else(|p| {
        out.truncate(mark);
        Err(format!("encoding {what} panicked: {}", message_of(p)))
    })
}

/// The message of a panic payload, which is then dropped without letting its own `Drop` unwind.
pub(crate) fn message_of(payload: Box<dyn Any + Send>) -> String {
    let m = panic_message(&*payload);
    drop_quietly(payload);
    m
}

/// Drops `value`; a panic in its `Drop` is swallowed, and that panic's payload leaked, so nothing
/// unwinds out of the worker's task loop.
fn drop_quietly<T>(value: T) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        std::mem::forget(again);
    }
}

/// Decodes exactly one `T` from `bytes` (trailing bytes are an error: they mean a type mismatch).
pub(crate) fn decode_exact<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((v, [])) => Ok(v),
        Ok((_, rest)) => Err(format!("{} unexpected trailing bytes", rest.len())),
        Err(e) => Err(e.to_string()),
    }
}

/// Decodes a task's arguments, or says how that failed.
pub(crate) fn decode_args<A: DeserializeOwned>(args: &[u8]) -> Result<A, Outcome> {
    match catch_unwind(AssertUnwindSafe(|| decode_exact::<A>(args))) {
        Ok(Ok(a)) => Ok(a),
        Ok(Err(e)) => Err(Outcome::Codec(format!("could not decode the arguments: {e}"))),
        Err(p) => Err(Outcome::Panicked(message_of(p))),
    }
}

/// Calls `f(a)`, appends the result encoded (as `Ok(result)` if `as_item`; at most `max` bytes), and
/// drops it, all under one `catch_unwind`: a panic in the function, in the result's `Serialize` or
/// in its `Drop` is the task's panic (`Err`, with `out` restored), never an unwind out of the worker.
pub(crate) fn call_and_encode<A, R: Serialize>(
    f: impl FnOnce(A) -> R,
    a: A,
    as_item: bool,
    out: &mut Vec<u8>,
    max: usize,
) -> Result<Result<(), String>, String> {
    let mark = out.len();
    let r = catch_unwind(AssertUnwindSafe(|| {
        let r = f(a);
        let encoded = if as_item {
            encode_into(&Ok::<&R, &str>(&r), out, max, "the result")
        } else {
            encode_into(&r, out, max, "the result")
        };
        drop(r);
        encoded
    }));
    r.map_err(|p| {
        out.truncate(mark);
        message_of(p)
    })
}

/// The trampoline of a plain task: `A` in, `R` out.
///
/// # Safety
///
/// See [`Trampoline`].
pub(crate) unsafe fn trampoline<A: DeserializeOwned, R: Serialize>(
    f: usize,
    args: &[u8],
    out: &mut Vec<u8>,
    max: usize,
) -> Outcome {
    // SAFETY: the caller guarantees `f` is a `fn(A) -> R` (see `Trampoline`); function pointers and
    // `usize` have the same size on every supported target.
    let f = unsafe { std::mem::transmute::<usize, fn(A) -> R>(f) };
    let args: A = match decode_args(args) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    call(f, args, out, max)
}

/// Calls `f(a)` and appends its result encoded (at most `max` bytes): the end of a plain task.
pub(crate) fn call<A, R: Serialize>(f: impl FnOnce(A) -> R, a: A, out: &mut Vec<u8>, max: usize) -> Outcome {
    match call_and_encode(f, a, false, out, max) {
        Ok(Ok(())) => Outcome::Value,
        Ok(Err(e)) => Outcome::Codec(e),
        Err(panic) => Outcome::Panicked(panic),
    }
}

/// The trampoline of a `map` chunk: `Vec<A>` in, one `Result<R, panic message>` per item out, so a
/// panic (in the function, or in a result's `Serialize` or `Drop`) fails only its own item.
///
/// The results are encoded one by one as they are made, exactly as postcard encodes the whole
/// `Vec<Result<R, String>>`: the item count, then each item.
///
/// # Safety
///
/// See [`Trampoline`].
pub(crate) unsafe fn chunk_trampoline<A: DeserializeOwned, R: Serialize>(
    f: usize,
    args: &[u8],
    out: &mut Vec<u8>,
    max: usize,
) -> Outcome {
    // SAFETY: as in `trampoline`.
    let f = unsafe { std::mem::transmute::<usize, fn(A) -> R>(f) };
    let items: Vec<A> = match decode_args(args) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let mark = out.len();
    let end = mark.saturating_add(max);
    let mut failed = encode_into(&items.len(), out, max, "the results").err();
    let mut items = items.into_iter();
    while let (None, Some(a)) = (&failed, items.next()) {
        let room = end - out.len();
        failed = match call_and_encode(f, a, true, out, room) {
            Ok(r) => r.err(),
            Err(panic) => encode_into(&Err::<&R, &str>(&panic), out, room, "the results").err(),
        };
    }
    drop_quietly(items);
    match failed {
        None => Outcome::Value,
        Some(e) => {
            out.truncate(mark);
            Outcome::Codec(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_one(x: u32) -> u32 {
        x + 1
    }

    #[test]
    fn offsets_round_trip_in_process() {
        let off = offset_of(add_one as fn(u32) -> u32 as usize).unwrap();
        assert_eq!(address_of(off).unwrap(), add_one as fn(u32) -> u32 as usize);
    }

    #[test]
    fn data_addresses_are_refused() {
        static DATA: [u8; 4] = [0; 4];
        if home().text.is_some() {
            assert!(offset_of(DATA.as_ptr() as usize).is_err());
        }
        assert!(address_of(i64::MAX / 3).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn functions_of_other_loaded_objects_are_refused() {
        let getpid = libc::getpid as unsafe extern "C" fn() -> libc::pid_t as usize;
        assert!(offset_of(getpid).is_err());
        // Not `strlen`: under AddressSanitizer that is the runtime's interceptor, linked into this
        // program's own text.
        let getuid = libc::getuid as unsafe extern "C" fn() -> libc::uid_t as usize;
        assert!(offset_of(getuid).is_err());
    }

    #[cfg(windows)]
    #[test]
    fn functions_of_other_modules_are_refused() {
        use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
        let name: Vec<u16> = "kernel32.dll\0".encode_utf16().collect();
        // SAFETY: a NUL-terminated module name and procedure name; kernel32 is always loaded.
        let f = unsafe {
            GetProcAddress(GetModuleHandleW(name.as_ptr()), c"GetCurrentProcessId".as_ptr().cast())
        };
        let addr = f.expect("kernel32 exports GetCurrentProcessId") as usize;
        assert!(offset_of(addr).is_err());
        assert_eq!(loaded_at(base()), loaded_at(trampoline::<u64, u64> as Trampoline as usize));
    }

    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    #[test]
    fn segments_listed_are_those_of_the_anchor_object() {
        let getpid = libc::getpid as unsafe extern "C" fn() -> libc::pid_t as usize;
        let libc_text = list_text_ranges(getpid).expect("the C library's segments are listed");
        let inside = |t: &[(usize, usize)], a: usize| t.iter().any(|&(s, e)| s <= a && a < e);
        assert!(inside(&libc_text, getpid) && !inside(&libc_text, base()));
        let ours = home().text.as_deref().expect("our own segments are listed");
        assert!(inside(ours, base()) && !inside(ours, getpid));
    }

    #[test]
    fn what_cannot_be_shown_is_refused() {
        assert!(!shown(None, None));
        assert!(!shown(Some(false), None));
        assert!(!shown(None, Some(false)));
        assert!(!shown(Some(true), Some(false)));
        assert!(shown(Some(true), None));
        assert!(shown(None, Some(true)));
    }

    #[test]
    fn the_base_symbol_object_is_identified() {
        assert!(home().fbase.is_some(), "dladdr knows the object of the base symbol");
        assert!(in_program(base()));
    }

    #[test]
    fn trampoline_calls_encodes_and_catches() {
        let f = add_one as fn(u32) -> u32 as usize;
        let args = postcard::to_stdvec(&41u32).unwrap();
        let mut out = Vec::new();
        // SAFETY: `f` is a `fn(u32) -> u32`.
        let r = unsafe { trampoline::<u32, u32>(f, &args, &mut out, 1 << 10) };
        assert!(matches!(r, Outcome::Value));
        assert_eq!(decode_exact::<u32>(&out).unwrap(), 42);

        fn boom(_: ()) -> u8 {
            panic!("boom here")
        }
        let mut out = Vec::new();
        let args = postcard::to_stdvec(&()).unwrap();
        // SAFETY: `boom` is a `fn(()) -> u8`.
        let r = unsafe { trampoline::<(), u8>(boom as fn(()) -> u8 as usize, &args, &mut out, 1 << 10) };
        assert!(matches!(r, Outcome::Panicked(m) if m == "boom here"));

        // Wrong argument bytes are a codec error, not a crash.
        let mut out = Vec::new();
        // SAFETY: `f` is a `fn(u32) -> u32`.
        let r =
            unsafe { trampoline::<u32, u32>(f, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], &mut out, 1 << 10) };
        assert!(matches!(r, Outcome::Codec(_)));
    }

    #[test]
    fn oversize_result_is_a_codec_error() {
        fn big(n: usize) -> Vec<u8> {
            vec![1; n]
        }
        let args = postcard::to_stdvec(&5000usize).unwrap();
        let mut out = vec![9];
        // SAFETY: `big` is a `fn(usize) -> Vec<u8>`.
        let r = unsafe {
            trampoline::<usize, Vec<u8>>(big as fn(usize) -> Vec<u8> as usize, &args, &mut out, 100)
        };
        assert!(matches!(r, Outcome::Codec(m) if m.contains("max_frame_size")));
        assert_eq!(out, vec![9]);
    }

    /// A sequence that counts how many of its items were encoded.
    struct Endless<'a>(&'a std::cell::Cell<u32>);

    impl Serialize for Endless<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeSeq;
            let mut seq = s.serialize_seq(Some(1_000_000))?;
            for i in 0..1_000_000u32 {
                self.0.set(self.0.get() + 1);
                seq.serialize_element(&i)?;
            }
            seq.end()
        }
    }

    #[test]
    fn oversize_values_are_refused_while_encoding() {
        let count = std::cell::Cell::new(0);
        let mut out = vec![1, 2];
        let e = encode_into(&Endless(&count), &mut out, 100, "the result").unwrap_err();
        assert!(e.contains("max_frame_size"), "{e}");
        assert_eq!(out, vec![1, 2]);
        assert!(count.get() <= 101, "{} items were encoded before the refusal", count.get());
    }

    #[test]
    fn chunk_results_encode_as_one_vec() {
        fn maybe(x: u32) -> String {
            assert!(x != 2, "two is right out");
            "x".repeat(x as usize)
        }
        let args = postcard::to_stdvec(&vec![0u32, 1, 2, 3]).unwrap();
        let mut out = Vec::new();
        // SAFETY: `maybe` is a `fn(u32) -> String`.
        let r = unsafe {
            chunk_trampoline::<u32, String>(maybe as fn(u32) -> String as usize, &args, &mut out, 1 << 10)
        };
        assert!(matches!(r, Outcome::Value));
        let want: Vec<Result<String, String>> =
            vec![Ok(String::new()), Ok("x".into()), Err("two is right out".into()), Ok("xxx".into())];
        assert_eq!(out, postcard::to_stdvec(&want).unwrap());
    }
}
