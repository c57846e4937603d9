//! C ABI for the shinny FHIR validation engine (`libshinny.so`,
//! `libshinny.a`, header `include/shinny.h`, generated from this file by
//! cbindgen).
//!
//! The safety contract is written in the header (see `cbindgen.toml`); in
//! short: handles are opaque and owned by the caller until passed to their
//! `*_free` function, every fallible call returns a [`ShinnyStatus`] and
//! leaves a thread-local message for [`shinny_last_error`], no entry point
//! unwinds into C (panics are caught), and one context may be used from any
//! number of threads at once.

mod guard;

use guard::{buffer, cstr, guard, opt_cstr, out_handle, out_ref, Failure};
use shinny_engine::policy::{Policy, PolicyResult};
use shinny_engine::{Context, ContextSet, OperationOutcome, Severity, ValidationOptions};
use shinny_packages::PackageCache;
use std::ffi::{c_char, CString};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Version of the C ABI this library implements. Bumped on any
/// incompatible change to a signature, a type or the ownership rules;
/// compare it with `shinny_abi_version()` at run time.
pub const SHINNY_ABI_VERSION: u32 = 1;

/// Status of a call. `SHINNY_STATUS_OK` is 0; on any other value
/// `shinny_last_error()` describes the failure and every output handle was
/// set to NULL.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShinnyStatus {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullPointer = 1,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 2,
    /// A file could not be read.
    Io = 3,
    /// The rules artifact is not valid (bad magic, version or content).
    Artifact = 4,
    /// The packages could not be resolved or loaded.
    Packages = 5,
    /// The policy document is not valid.
    Policy = 6,
    /// An argument has a value the function does not accept.
    InvalidArgument = 7,
    /// An internal error (a caught panic); the handles passed in are still
    /// valid, but please report it.
    Panic = 8,
}

/// Highest severity among the issues of a result.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShinnySeverity {
    /// No issue at all.
    None = 0,
    /// Informational only.
    Information = 1,
    /// Possibly a problem.
    Warning = 2,
    /// The content is not valid.
    Error = 3,
    /// Processing could not continue (e.g. the input is not JSON).
    Fatal = 4,
}

impl From<Option<Severity>> for ShinnySeverity {
    fn from(s: Option<Severity>) -> Self {
        match s {
            None => ShinnySeverity::None,
            Some(Severity::Information) => ShinnySeverity::Information,
            Some(Severity::Warning) => ShinnySeverity::Warning,
            Some(Severity::Error) => ShinnySeverity::Error,
            Some(Severity::Fatal) => ShinnySeverity::Fatal,
        }
    }
}

/// A compiled validation context (opaque). Immutable: any number of threads
/// may validate with one context at the same time.
pub struct ShinnyContext {
    set: ContextSet,
}

/// A diagnostics policy (opaque). Immutable and shareable between threads.
pub struct ShinnyPolicy {
    policy: Policy,
}

/// The result of one validation (opaque). Read-only after creation; its
/// accessors may be called from any thread.
pub struct ShinnyResult {
    error_count: usize,
    max_severity: ShinnySeverity,
    report: Report,
    /// Rendered on first request: callers that only need the counts do not
    /// pay for JSON.
    json: OnceLock<CString>,
}

enum Report {
    Plain(OperationOutcome),
    Policy(PolicyResult),
}

// Handles cross threads in C; make sure that is sound.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ShinnyContext>();
    assert_send_sync::<ShinnyPolicy>();
    assert_send_sync::<ShinnyResult>();
};

/// The ABI version of the loaded library (`SHINNY_ABI_VERSION` of the
/// header it was built with). Never fails.
#[no_mangle]
pub extern "C" fn shinny_abi_version() -> u32 {
    SHINNY_ABI_VERSION
}

/// The library version, e.g. `"0.1.0"`: a static NUL-terminated string that
/// must not be freed. Never fails.
#[no_mangle]
pub extern "C" fn shinny_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The message of the last failed call on the calling thread, or NULL when
/// the last status-returning call on this thread succeeded. The string is
/// owned by the library and valid until the next shinny call that returns
/// a `ShinnyStatus` on the same thread; copy it to keep it.
#[no_mangle]
pub extern "C" fn shinny_last_error() -> *const c_char {
    guard::last_error()
}

/// Loads a context from a compiled rules artifact held in memory (as
/// written by `shinny compile`). The bytes are copied; the caller keeps
/// ownership of `bytes`.
///
/// On success `*out` receives a context to release with
/// `shinny_context_free`.
///
/// # Safety
///
/// `bytes` must point to `len` readable bytes (it may be NULL only when
/// `len` is 0); `out` must be a valid pointer to write a handle to.
#[no_mangle]
pub unsafe extern "C" fn shinny_context_from_artifact(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ShinnyContext,
) -> ShinnyStatus {
    guard(|| {
        let out = out_handle(out, "out")?;
        let data = buffer(bytes, len, "bytes")?;
        let ctx = Context::from_artifact(data)
            .map_err(|e| Failure::new(ShinnyStatus::Artifact, e.to_string()))?;
        *out = into_handle(ctx);
        Ok(())
    })
}

/// Loads a context from a rules artifact file (UTF-8 path).
///
/// On success `*out` receives a context to release with
/// `shinny_context_free`.
///
/// # Safety
///
/// `path` must be NULL or a NUL-terminated string; `out` must be a valid
/// pointer to write a handle to.
#[no_mangle]
pub unsafe extern "C" fn shinny_context_from_artifact_file(
    path: *const c_char,
    out: *mut *mut ShinnyContext,
) -> ShinnyStatus {
    guard(|| {
        let out = out_handle(out, "out")?;
        let path = cstr(path, "path")?;
        let data = std::fs::read(path).map_err(|e| {
            Failure::new(
                ShinnyStatus::Io,
                format!("cannot read rules artifact {path}: {e}"),
            )
        })?;
        let ctx = Context::from_artifact(&data)
            .map_err(|e| Failure::new(ShinnyStatus::Artifact, format!("{path}: {e}")))?;
        *out = into_handle(ctx);
        Ok(())
    })
}

/// Compiles a context from FHIR packages, exactly as the `shinny` CLI does
/// without an artifact (the IG, its dependencies and the extra packages
/// `ig/contexts.json` lists for it). Takes about half a second for
/// SHIN-NY; prefer an artifact in services that start often.
///
/// `package_dir` is a package cache folder (`<id>#<version>/package/`
/// layout) or NULL for `$FHIR_PACKAGE_CACHE`, else `~/.fhir/packages`.
/// `ig` is an `id#version` in that cache or a path to a package folder or
/// `.tgz`, or NULL for the default IG (`us.ny.hrsn#1.9.4`). Missing
/// dependencies are not an error (as in the CLI): their definitions are
/// simply absent.
///
/// On success `*out` receives a context to release with
/// `shinny_context_free`.
///
/// # Safety
///
/// `package_dir` and `ig` must each be NULL or a NUL-terminated string;
/// `out` must be a valid pointer to write a handle to.
#[no_mangle]
pub unsafe extern "C" fn shinny_context_from_packages(
    package_dir: *const c_char,
    ig: *const c_char,
    out: *mut *mut ShinnyContext,
) -> ShinnyStatus {
    let igs = [ig];
    let n = usize::from(!ig.is_null());
    shinny_context_from_packages_multi(package_dir, igs.as_ptr(), n, out)
}

/// Like `shinny_context_from_packages`, with several IGs side by side (as
/// the CLI's repeated `--ig`): each document is validated by the first IG
/// that defines a profile in its `meta.profile`, else by the first IG.
/// This is how SHIN-NY's production (`http://shinny.org/...`) and test
/// (`http://test.shinny.org/...`, cache folder `us.ny.hrsn#1.9.4-test`)
/// canonicals are served by one context.
///
/// `igs` points to `n_igs` strings; `n_igs` 0 selects the default IG.
///
/// # Safety
///
/// `package_dir` must be NULL or a NUL-terminated string; `igs` must point
/// to `n_igs` NUL-terminated strings (it may be NULL only when `n_igs` is
/// 0); `out` must be a valid pointer to write a handle to.
#[no_mangle]
pub unsafe extern "C" fn shinny_context_from_packages_multi(
    package_dir: *const c_char,
    igs: *const *const c_char,
    n_igs: usize,
    out: *mut *mut ShinnyContext,
) -> ShinnyStatus {
    guard(|| {
        let out = out_handle(out, "out")?;
        let dirs: Vec<PathBuf> = opt_cstr(package_dir, "package_dir")?
            .map(PathBuf::from)
            .into_iter()
            .collect();
        let known = shinny_packages::context::KnownContexts::builtin();
        let mut names = Vec::with_capacity(n_igs.max(1));
        if n_igs > 0 {
            if igs.is_null() {
                return Err(Failure::null("igs"));
            }
            for i in 0..n_igs {
                names.push(cstr(*igs.add(i), "ig")?);
            }
        } else {
            names.push(&known.default_ig);
        }
        let cache = PackageCache::discover(&dirs);
        let contexts = names
            .iter()
            .map(|ig| shinny_packages::context::load_ig(&cache, ig))
            .collect::<Result<Vec<Context>, _>>()
            .map_err(|e| Failure::new(ShinnyStatus::Packages, e.0))?;
        let set = ContextSet::new(contexts)
            .ok_or_else(|| Failure::new(ShinnyStatus::InvalidArgument, "no IG to load".into()))?;
        *out = Box::into_raw(Box::new(ShinnyContext { set }));
        Ok(())
    })
}

/// Releases a context. NULL is ignored. The context must not be in use by
/// another thread, and must not be used afterwards.
///
/// # Safety
///
/// `ctx` must be NULL or a handle from a `shinny_context_from_*` function
/// that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn shinny_context_free(ctx: *mut ShinnyContext) {
    guard::release(ctx);
}

/// Loads a diagnostics policy from its JSON text (`len` bytes, UTF-8, no
/// NUL terminator needed; format in `ig/policies/README.md`). The bytes are
/// copied.
///
/// On success `*out` receives a policy to release with
/// `shinny_policy_free`; an invalid document gives `SHINNY_STATUS_POLICY`
/// with the line and column in `shinny_last_error()`.
///
/// # Safety
///
/// `json` must point to `len` readable bytes (NULL only when `len` is 0);
/// `out` must be a valid pointer to write a handle to.
#[no_mangle]
pub unsafe extern "C" fn shinny_policy_from_json(
    json: *const u8,
    len: usize,
    out: *mut *mut ShinnyPolicy,
) -> ShinnyStatus {
    guard(|| {
        let out = out_handle(out, "out")?;
        let data = buffer(json, len, "json")?;
        let text = std::str::from_utf8(data).map_err(|e| {
            Failure::new(
                ShinnyStatus::InvalidUtf8,
                format!("json: not valid UTF-8: {e}"),
            )
        })?;
        let policy = Policy::from_json(text)
            .map_err(|e| Failure::new(ShinnyStatus::Policy, e.to_string()))?;
        *out = Box::into_raw(Box::new(ShinnyPolicy { policy }));
        Ok(())
    })
}

/// Releases a policy. NULL is ignored. It must not be in use by another
/// thread.
///
/// # Safety
///
/// `policy` must be NULL or a handle from `shinny_policy_from_json` that
/// was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn shinny_policy_free(policy: *mut ShinnyPolicy) {
    guard::release(policy);
}

/// Validates one JSON document (a resource or a Bundle, `len` bytes; no NUL
/// terminator needed). Thread-safe: any number of threads may call it with
/// the same context and policy at once.
///
/// `profile` (NULL for none) is a canonical URL the top-level resource must
/// also conform to, besides its `meta.profile`. `policy` (NULL for none) is
/// applied to the issues, as `shinny validate --policy` does.
///
/// Invalid input is not a call failure: malformed JSON or invalid UTF-8 in
/// the document gives `SHINNY_STATUS_OK` and a result with a fatal
/// `JSON_SYNTAX` issue.
///
/// On success `*out` receives a result to release with
/// `shinny_result_free`.
///
/// # Safety
///
/// `ctx` must be a live context handle; `input` must point to `len`
/// readable bytes (NULL only when `len` is 0); `profile` must be NULL or a
/// NUL-terminated string; `policy` must be NULL or a live policy handle;
/// `out` must be a valid pointer to write a handle to.
#[no_mangle]
pub unsafe extern "C" fn shinny_validate(
    ctx: *const ShinnyContext,
    input: *const u8,
    len: usize,
    profile: *const c_char,
    policy: *const ShinnyPolicy,
    out: *mut *mut ShinnyResult,
) -> ShinnyStatus {
    guard(|| {
        let out = out_handle(out, "out")?;
        let ctx = ctx.as_ref().ok_or_else(|| Failure::null("ctx"))?;
        let data = buffer(input, len, "input")?;
        let mut options = ValidationOptions::default();
        if let Some(p) = opt_cstr(profile, "profile")? {
            if p.is_empty() {
                return Err(Failure::new(
                    ShinnyStatus::InvalidArgument,
                    "profile: empty string (pass NULL for no profile)".into(),
                ));
            }
            options.profiles.push(p.to_string());
        }
        let outcome = ctx.set.validate_bytes(data, &options);
        let result = match policy.as_ref() {
            None => ShinnyResult::new(Report::Plain(outcome)),
            Some(p) => ShinnyResult::new(Report::Policy(p.policy.apply(&outcome.issues))),
        };
        *out = Box::into_raw(Box::new(result));
        Ok(())
    })
}

impl ShinnyResult {
    fn new(report: Report) -> ShinnyResult {
        // The counts describe what is reported: after the policy, if any.
        let severities: Vec<Severity> = match &report {
            Report::Plain(o) => o.issues.iter().map(|i| i.severity).collect(),
            Report::Policy(p) => p.issues.iter().map(|r| r.issue.severity).collect(),
        };
        ShinnyResult {
            error_count: severities.iter().filter(|s| **s >= Severity::Error).count(),
            max_severity: severities.iter().copied().max().into(),
            report,
            json: OnceLock::new(),
        }
    }
}

/// The result's FHIR `OperationOutcome` as UTF-8 JSON (with a policy: the
/// policy-rendered outcome, carrying the policy extension). `*json`
/// receives a NUL-terminated string owned by the result, valid until
/// `shinny_result_free`; `*len` (if `len` is not NULL) its length in bytes
/// without the NUL. Rendered once, on the first call.
///
/// # Safety
///
/// `result` must be a live result handle; `json` must be a valid pointer;
/// `len` must be NULL or a valid pointer.
#[no_mangle]
pub unsafe extern "C" fn shinny_result_outcome_json(
    result: *const ShinnyResult,
    json: *mut *const c_char,
    len: *mut usize,
) -> ShinnyStatus {
    guard(|| {
        let json = out_ref(json, "json")?;
        *json = std::ptr::null();
        if !len.is_null() {
            *len = 0;
        }
        let r = result.as_ref().ok_or_else(|| Failure::null("result"))?;
        let text = r.json.get_or_init(|| {
            let value = match &r.report {
                Report::Plain(o) => o.to_fhir(),
                Report::Policy(p) => p.to_fhir(),
            };
            // JSON escapes control characters, so there is no interior NUL.
            CString::new(value.to_string()).unwrap_or_default()
        });
        *json = text.as_ptr();
        if !len.is_null() {
            *len = text.as_bytes().len();
        }
        Ok(())
    })
}

/// The number of issues at severity error or fatal (after the policy, if
/// one was given). 0 means the document is valid.
///
/// # Safety
///
/// `result` must be a live result handle; `out` must be a valid pointer.
#[no_mangle]
pub unsafe extern "C" fn shinny_result_error_count(
    result: *const ShinnyResult,
    out: *mut usize,
) -> ShinnyStatus {
    guard(|| {
        let out = out_ref(out, "out")?;
        let r = result.as_ref().ok_or_else(|| Failure::null("result"))?;
        *out = r.error_count;
        Ok(())
    })
}

/// The highest severity among the result's issues (after the policy, if
/// one was given); `SHINNY_SEVERITY_NONE` when there is no issue.
///
/// # Safety
///
/// `result` must be a live result handle; `out` must be a valid pointer.
#[no_mangle]
pub unsafe extern "C" fn shinny_result_max_severity(
    result: *const ShinnyResult,
    out: *mut ShinnySeverity,
) -> ShinnyStatus {
    guard(|| {
        let out = out_ref(out, "out")?;
        let r = result.as_ref().ok_or_else(|| Failure::null("result"))?;
        *out = r.max_severity;
        Ok(())
    })
}

/// Releases a result and the JSON string it handed out. NULL is ignored.
///
/// # Safety
///
/// `result` must be NULL or a handle from `shinny_validate` that was not
/// freed yet, and not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn shinny_result_free(result: *mut ShinnyResult) {
    guard::release(result);
}

fn into_handle(ctx: Context) -> *mut ShinnyContext {
    // `ContextSet::new` only refuses an empty list.
    let set = ContextSet::new(vec![ctx]).expect("one context");
    Box::into_raw(Box::new(ShinnyContext { set }))
}
