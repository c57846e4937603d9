//! The wasm-bindgen layer: JavaScript values in, JavaScript values out.
//!
//! Failures of the caller (a bad artifact, policy, option or input type)
//! throw a JavaScript `Error` with a clear message; problems in the
//! validated document are never thrown, they are issues of the returned
//! `OperationOutcome`.
//!
//! This module also compiles on the host (wasm-bindgen's functions are then
//! stubs), so that the workspace's lint covers it.

use crate::core;
use js_sys::{Array, Reflect, Uint8Array, JSON};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Options of `Validator.validate`. */
export interface ValidateOptions {
  /** Canonical URL of a profile the top-level resource must also conform to. */
  profile?: string;
  /** A diagnostics policy (ig/policies/README.md), as JSON text or object. */
  policy?: string | object;
}

/** An extension of an issue: line, column and message id (HL7 validator URLs). */
export interface IssueExtension {
  url: string;
  valueInteger?: number;
  valueString?: string;
}

/** One issue of an OperationOutcome. */
export interface OperationOutcomeIssue {
  severity: "fatal" | "error" | "warning" | "information";
  code: string;
  details?: { text?: string; coding?: object[] };
  diagnostics?: string;
  expression?: string[];
  extension?: IssueExtension[];
}

/** A FHIR R4 OperationOutcome. */
export interface OperationOutcome {
  resourceType: "OperationOutcome";
  issue: OperationOutcomeIssue[];
  extension?: object[];
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `ValidateOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "ValidateOptions")]
    pub type ValidateOptions;

    /// `OperationOutcome` in TypeScript.
    #[wasm_bindgen(typescript_type = "OperationOutcome")]
    pub type JsOutcome;

    /// What `validate` takes: JSON text, UTF-8 bytes or a parsed object.
    #[wasm_bindgen(typescript_type = "string | Uint8Array | object")]
    pub type JsInput;

    /// A list of rules artifacts.
    #[wasm_bindgen(typescript_type = "Uint8Array[]")]
    pub type ArtifactList;
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs when the module is instantiated: installs the clock for FHIRPath
/// `now()`/`today()` (JavaScript's `Date.now()`; std's clock is not
/// available on wasm32-unknown-unknown) and a panic hook that keeps the
/// message for [`last_panic`].
#[wasm_bindgen(start)]
pub fn start() {
    shinny_engine::fhirpath::set_clock(|| Some(js_sys::Date::now() as i64));
    std::panic::set_hook(Box::new(|info| {
        let text = info.to_string();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
    }));
}

/// The version of the shinny engine in this module, e.g. `"0.1.0"`.
#[wasm_bindgen]
pub fn version() -> String {
    core::version().to_string()
}

/// The message of an internal error, if the module ever stopped with one
/// (a `WebAssembly.RuntimeError` thrown by a call). Such an error is a bug:
/// please report it with this message. After it, load a new module.
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow().clone())
}

/// A FHIR R4 validator holding one or more compiled rules artifacts.
/// Immutable: validate any number of documents with one instance.
#[wasm_bindgen]
pub struct Validator {
    inner: core::Validator,
}

#[wasm_bindgen]
impl Validator {
    /// Loads a compiled rules artifact (the bytes of a file written by
    /// `shinny compile`). Throws an `Error` if the bytes are not a valid
    /// artifact of this engine version.
    #[wasm_bindgen(js_name = fromArtifact)]
    pub fn from_artifact(bytes: &[u8]) -> Result<Validator, JsError> {
        let inner = core::Validator::from_artifacts(&[bytes]).map_err(|e| JsError::new(&e))?;
        Ok(Validator { inner })
    }

    /// Loads several artifacts in priority order (e.g. SHIN-NY production
    /// and test canonicals): each document is validated by the first one
    /// that defines a profile in its `meta.profile`, else by the first.
    #[wasm_bindgen(js_name = fromArtifacts)]
    pub fn from_artifacts(artifacts: ArtifactList) -> Result<Validator, JsError> {
        let list: &JsValue = artifacts.as_ref();
        if !Array::is_array(list) {
            return Err(JsError::new(
                "fromArtifacts: expected an array of Uint8Array",
            ));
        }
        let mut owned = Vec::new();
        for (i, item) in Array::from(list).iter().enumerate() {
            let bytes = item.dyn_into::<Uint8Array>().map_err(|_| {
                JsError::new(&format!(
                    "fromArtifacts: item {} is not a Uint8Array",
                    i + 1
                ))
            })?;
            owned.push(bytes.to_vec());
        }
        let slices: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let inner = core::Validator::from_artifacts(&slices).map_err(|e| JsError::new(&e))?;
        Ok(Validator { inner })
    }

    /// Validates one FHIR resource or Bundle and returns its
    /// `OperationOutcome` as a plain object.
    ///
    /// `input` is JSON text, its UTF-8 bytes, or an already parsed object
    /// (then serialized with `JSON.stringify(input, null, 2)`, and the
    /// issues' lines and columns refer to that text). Invalid JSON gives a
    /// fatal `JSON_SYNTAX` issue, not an exception. Throws an `Error` for a
    /// bad option (an empty profile, an invalid policy) or an input of
    /// another type.
    pub fn validate(
        &self,
        input: JsInput,
        options: Option<ValidateOptions>,
    ) -> Result<JsOutcome, JsError> {
        let text = input_bytes(input.as_ref())?;
        let (profile, policy) = match options {
            Some(o) => read_options(o.as_ref())?,
            None => (None, None),
        };
        let value = self
            .inner
            .validate(&text, profile.as_deref(), policy.as_ref())
            .map_err(|e| JsError::new(&e))?;
        let parsed = JSON::parse(&value.to_string())
            .map_err(|_| JsError::new("internal error: the outcome is not valid JSON"))?;
        Ok(parsed.unchecked_into())
    }

    /// How many rules artifacts (contexts) this validator holds.
    #[wasm_bindgen(getter, js_name = contextCount)]
    pub fn context_count(&self) -> usize {
        self.inner.context_count()
    }
}

/// The document as bytes: a string as UTF-8, a `Uint8Array` as is, any
/// other object through `JSON.stringify(value, null, 2)`.
fn input_bytes(input: &JsValue) -> Result<Vec<u8>, JsError> {
    if let Some(s) = input.as_string() {
        return Ok(s.into_bytes());
    }
    if let Some(bytes) = input.dyn_ref::<Uint8Array>() {
        return Ok(bytes.to_vec());
    }
    if input.is_object() {
        let text =
            JSON::stringify_with_replacer_and_space(input, &JsValue::NULL, &JsValue::from(2))
                .map_err(|e| {
                    JsError::new(&format!(
                        "input: the object cannot be serialized to JSON: {}",
                        describe(&e)
                    ))
                })?;
        return Ok(String::from(text).into_bytes());
    }
    Err(JsError::new(
        "input: expected a JSON string, a Uint8Array or an object",
    ))
}

/// Reads `{profile, policy}`; unknown members are ignored.
fn read_options(o: &JsValue) -> Result<(Option<String>, Option<core::PolicyDoc>), JsError> {
    if o.is_undefined() || o.is_null() {
        return Ok((None, None));
    }
    if !o.is_object() {
        return Err(JsError::new("options: expected an object"));
    }
    let get = |name: &str| Reflect::get(o, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    let profile = match get("profile") {
        v if v.is_undefined() || v.is_null() => None,
        v => Some(
            v.as_string()
                .ok_or_else(|| JsError::new("options.profile: expected a string"))?,
        ),
    };
    let policy = match get("policy") {
        v if v.is_undefined() || v.is_null() => None,
        v => {
            let text = match v.as_string() {
                Some(s) => s,
                None if v.is_object() => JSON::stringify(&v).map(String::from).map_err(|e| {
                    JsError::new(&format!(
                        "options.policy: cannot be serialized to JSON: {}",
                        describe(&e)
                    ))
                })?,
                None => {
                    return Err(JsError::new(
                        "options.policy: expected JSON text or an object",
                    ))
                }
            };
            Some(core::parse_policy(&text).map_err(|e| JsError::new(&e))?)
        }
    };
    Ok((profile, policy))
}

/// A thrown JavaScript value as text.
fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}
