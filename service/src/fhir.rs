//! FHIR response conventions: `application/fhir+json` bodies, and an
//! OperationOutcome for every error.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The FHIR JSON media type.
pub const FHIR_JSON: &str = "application/fhir+json";

/// A FHIR JSON response with a status.
pub fn fhir_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
        bytes,
    )
        .into_response()
}

/// A plain JSON response (for the service's own record types).
pub fn json_response<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

/// An error answered with an OperationOutcome.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Issue severity code.
    pub severity: &'static str,
    /// FHIR IssueType code.
    pub code: &'static str,
    /// Human text.
    pub text: String,
    /// The whole OperationOutcome, when richer than one issue (parse errors).
    pub outcome: Option<serde_json::Value>,
    /// Extra response headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// An error with one issue.
    pub fn new(status: StatusCode, code: &'static str, text: impl Into<String>) -> ApiError {
        ApiError {
            status,
            severity: "error",
            code,
            text: text.into(),
            outcome: None,
            headers: Vec::new(),
        }
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: HeaderName, value: &str) -> ApiError {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    /// 404 with a not-found issue.
    pub fn not_found(text: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", text)
    }

    /// 400 with an invalid-value issue.
    pub fn bad_request(text: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "value", text)
    }

    /// 500; the text is logged by the caller, the client gets a generic one.
    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            "internal error; see the service log for this interaction id",
        )
    }

    /// The OperationOutcome body.
    pub fn outcome(&self) -> serde_json::Value {
        self.outcome.clone().unwrap_or_else(|| {
            serde_json::json!({
                "resourceType": "OperationOutcome",
                "issue": [{
                    "severity": self.severity,
                    "code": self.code,
                    "details": { "text": self.text }
                }]
            })
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = fhir_response(self.status, &self.outcome());
        for (k, v) in self.headers {
            r.headers_mut().insert(k, v);
        }
        r
    }
}

/// True when a `Content-Type` value is FHIR JSON or plain JSON (parameters
/// such as `charset` or `fhirVersion` are allowed).
pub fn is_json_content_type(v: &str) -> bool {
    let essence = v
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == FHIR_JSON || essence == "application/json" || essence == "application/json+fhir"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(is_json_content_type("application/fhir+json"));
        assert!(is_json_content_type(
            "Application/FHIR+JSON; fhirVersion=4.0"
        ));
        assert!(is_json_content_type("application/json; charset=utf-8"));
        assert!(!is_json_content_type("application/xml"));
        assert!(!is_json_content_type("text/plain"));
    }
}
