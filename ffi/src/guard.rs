//! The plumbing every entry point shares: panic catching, the thread-local
//! last-error message and checked conversion of C arguments.

use crate::ShinnyStatus;
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// A failed call: the status returned and the message kept for
/// `shinny_last_error`.
#[derive(Debug)]
pub(crate) struct Failure {
    status: ShinnyStatus,
    message: String,
}

impl Failure {
    pub(crate) fn new(status: ShinnyStatus, message: String) -> Failure {
        Failure { status, message }
    }

    pub(crate) fn null(what: &str) -> Failure {
        Failure::new(ShinnyStatus::NullPointer, format!("{what}: NULL pointer"))
    }
}

fn set_last_error(message: String) {
    // A message with a NUL byte would be cut; replace it instead of failing.
    let c = CString::new(message.replace('\0', "\u{FFFD}")).unwrap_or_default();
    // `try_with`: during thread teardown the slot may be gone; never panic.
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = Some(c));
}

pub(crate) fn last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(std::ptr::null(), |c| c.as_ptr()))
}

/// Runs an entry point's body: clears the last error, catches panics (which
/// must never unwind into C) and turns failures into a status.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> ShinnyStatus {
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = None);
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => ShinnyStatus::Ok,
        Ok(Err(f)) => {
            set_last_error(f.message);
            f.status
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(format!("internal error: {what}"));
            ShinnyStatus::Panic
        }
    }
}

/// Drops a boxed handle; NULL is ignored. Panics are caught like
/// everywhere else, but a free function has no status, so the last error
/// is left alone.
///
/// # Safety
///
/// `handle` must be NULL or come from `Box::into_raw` and not be freed yet.
pub(crate) unsafe fn release<T>(handle: *mut T) {
    if !handle.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(handle))));
    }
}

/// Checks a handle output pointer and sets it to NULL, so that callers see
/// NULL on every failure path.
///
/// # Safety
///
/// `out` must be NULL or valid for writes.
pub(crate) unsafe fn out_handle<'a, T>(
    out: *mut *mut T,
    what: &str,
) -> Result<&'a mut *mut T, Failure> {
    let out = out_ref(out, what)?;
    *out = std::ptr::null_mut();
    Ok(out)
}

/// Checks a value output pointer.
///
/// # Safety
///
/// `out` must be NULL or valid for writes.
pub(crate) unsafe fn out_ref<'a, T>(out: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    out.as_mut().ok_or_else(|| Failure::null(what))
}

/// A required, NUL-terminated UTF-8 string argument.
///
/// # Safety
///
/// `p` must be NULL or a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn cstr<'a>(p: *const c_char, what: &str) -> Result<&'a str, Failure> {
    opt_cstr(p, what)?.ok_or_else(|| Failure::null(what))
}

/// An optional (NULL allowed) NUL-terminated UTF-8 string argument.
///
/// # Safety
///
/// `p` must be NULL or a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn opt_cstr<'a>(
    p: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    CStr::from_ptr(p).to_str().map(Some).map_err(|e| {
        Failure::new(
            ShinnyStatus::InvalidUtf8,
            format!("{what}: not valid UTF-8: {e}"),
        )
    })
}

/// A `(pointer, length)` byte buffer; NULL is accepted only with length 0.
///
/// # Safety
///
/// `p` must be NULL or point to `len` readable bytes that outlive `'a`.
pub(crate) unsafe fn buffer<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a [u8], Failure> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(what))
        };
    }
    Ok(std::slice::from_raw_parts(p, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = guard(|| panic!("boom {}", 42));
        assert_eq!(status, ShinnyStatus::Panic);
        let msg = unsafe { CStr::from_ptr(last_error()) }.to_str().unwrap();
        assert_eq!(msg, "internal error: boom 42");
        assert_eq!(guard(|| Ok(())), ShinnyStatus::Ok);
        assert!(last_error().is_null());
    }
}
