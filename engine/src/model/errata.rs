//! Published constraint expressions that cannot be right, with the
//! correction applied when they compile. Each entry names the definition
//! bug; the list is deliberately short and exact (key and text must both
//! match).

/// (constraint key, expression as published, corrected expression, why).
const ERRATA: &[(&str, &str, &str, &str)] = &[(
    "que-7",
    "operator = 'exists' implies (answer is Boolean)",
    "operator = 'exists' implies (answer is boolean)",
    "R4 tests the FHIR boolean answer against System.Boolean, which a FHIR \
     boolean never is (FHIRPath type tests are exact), so every valid \
     'exists' condition would fail; later FHIR versions test FHIR.boolean",
)];

/// The expression to compile for a published constraint.
pub(super) fn corrected<'a>(key: &str, expression: &'a str) -> &'a str {
    ERRATA
        .iter()
        .find(|(k, wrong, _, _)| *k == key && *wrong == expression)
        .map(|(_, _, right, _)| *right)
        .unwrap_or(expression)
}
