//! The catalogue of message ids.
//!
//! Every diagnostic the engine emits carries one of these ids (invariant
//! failures carry the constraint key instead). Each id is a constant whose
//! name equals its value, so one search for the id finds both this entry and
//! the code that emits it.

macro_rules! catalogue {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        $( $(#[$doc])* pub const $name: &str = stringify!($name); )*
        /// Every message id in the catalogue.
        pub const ALL: &[&str] = &[$($name),*];
    };
}

catalogue! {
    /// The document is not well-formed JSON (or not UTF-8).
    JSON_SYNTAX,
    /// An object has the same property twice.
    JSON_DUPLICATE_KEY,
    /// `null` where FHIR JSON does not allow it.
    JSON_NULL,
    /// An empty object, array or string.
    JSON_EMPTY,
    /// The JSON type does not match the FHIR type (e.g. a number for a string).
    JSON_TYPE,
    /// An array where the element has max cardinality 1.
    JSON_ARRAY_NOT_ALLOWED,
    /// A single value where the element repeats and FHIR JSON needs an array.
    JSON_ARRAY_EXPECTED,
    /// `_x` primitive extension data that does not line up with `x`.
    JSON_PRIMITIVE_EXTENSION_MISMATCH,
    /// The document is too large or too deeply nested to process.
    LIMIT_EXCEEDED,
    /// The top level is not a JSON object with `resourceType`.
    RESOURCE_TYPE_MISSING,
    /// `resourceType` names no resource type known to the context.
    RESOURCE_TYPE_UNKNOWN,
    /// A property that the element's definition does not have.
    ELEMENT_UNKNOWN,
    /// A choice element (`value[x]`) is given with a type it does not allow.
    CHOICE_TYPE_NOT_ALLOWED,
    /// A choice element is present with more than one type.
    CHOICE_MULTIPLE,
    /// Fewer occurrences than the minimum cardinality.
    CARDINALITY_MIN,
    /// More occurrences than the maximum cardinality.
    CARDINALITY_MAX,
    /// A primitive value does not match the format of its type.
    PRIMITIVE_FORMAT,
    /// An integer outside its type's range.
    PRIMITIVE_RANGE,
    /// A value differs from the profile's fixed value.
    FIXED_VALUE,
    /// A value does not contain the profile's pattern.
    PATTERN_VALUE,
    /// A string longer than the element's maxLength.
    MAX_LENGTH,
    /// A value below the element's minValue.
    MIN_VALUE,
    /// A value above the element's maxValue.
    MAX_VALUE,
    /// Two Bundle entries share a fullUrl (and version).
    BUNDLE_FULLURL_DUPLICATE,
    /// A Bundle entry's fullUrl does not agree with its resource's type and id.
    BUNDLE_FULLURL_MISMATCH,
    /// A Bundle entry's fullUrl is not an absolute URI.
    BUNDLE_FULLURL_INVALID,
    /// A profile named in `meta.profile` or asked for is not in the context.
    PROFILE_UNKNOWN,
    /// A profile applies to a different resource type than the instance.
    PROFILE_WRONG_TYPE,
    /// An element matches no slice of a closed slicing.
    SLICE_NO_MATCH,
    /// An element matches more than one slice.
    SLICE_MULTIPLE_MATCH,
    /// Fewer items in a slice than its minimum cardinality.
    SLICE_CARDINALITY_MIN,
    /// More items in a slice than its maximum cardinality.
    SLICE_CARDINALITY_MAX,
    /// Slices out of order in an ordered (or openAtEnd) slicing.
    SLICE_ORDER,
    /// A slicing whose discriminator this engine cannot evaluate; the
    /// slicing was not checked.
    SLICING_NOT_CHECKED,
    /// A reference that is not a valid literal reference.
    REFERENCE_FORMAT,
    /// A local reference (`#id`, or `urn:uuid:` in a Bundle) that resolves
    /// to nothing.
    REFERENCE_NOT_FOUND,
    /// A reference to a resource type the element does not allow.
    REFERENCE_TARGET_TYPE,
    /// A resolved reference target that does not conform to the element's
    /// target profiles.
    REFERENCE_TARGET_PROFILE,
    /// A QuestionnaireResponse's Questionnaire is not in the context or Bundle.
    QR_QUESTIONNAIRE_UNKNOWN,
    /// A response item whose linkId the Questionnaire does not have there.
    QR_LINKID_UNKNOWN,
    /// Response items in a different order than the Questionnaire's.
    QR_ITEM_ORDER,
    /// A non-repeating item given more than once.
    QR_ITEM_REPEATS,
    /// A required, enabled item without an answer.
    QR_REQUIRED_MISSING,
    /// An item that enableWhen disables, but that has answers.
    QR_DISABLED_ANSWERED,
    /// A display item with answers or child items.
    QR_DISPLAY_ANSWERED,
    /// An answer whose type does not match the item type (or answers on a group).
    QR_ANSWER_TYPE,
    /// More than one answer to a non-repeating item.
    QR_ANSWER_REPEATS,
    /// An answer that is not one of the item's answerOptions.
    QR_ANSWER_NOT_IN_OPTIONS,
    /// An answer that is not in the item's answerValueSet.
    QR_ANSWER_NOT_IN_VALUESET,
    /// An answer whose answerValueSet membership could not be decided
    /// offline.
    QR_VALUESET_NOT_CHECKED,
    /// An answer longer than the item's maxLength.
    QR_MAX_LENGTH,
    /// An answer that does not match the item's regex extension.
    QR_REGEX,
    /// An answer outside the item's minValue/maxValue (or maxDecimalPlaces).
    QR_VALUE_RANGE,
    /// An item answered fewer or more times than minOccurs/maxOccurs.
    QR_OCCURS,
    /// A readOnly item whose answer differs from the Questionnaire's static
    /// initial value (a respondent cannot change it).
    QR_READONLY_CHANGED,
    /// An invariant whose FHIRPath could not be compiled or evaluated (the
    /// constraint's own key is the id when it is evaluated and fails).
    INVARIANT_NOT_EVALUATED,
    /// An extension whose definition is not in the context.
    EXTENSION_UNKNOWN,
    /// A modifierExtension whose definition is not in the context.
    MODIFIER_EXTENSION_UNKNOWN,
    /// An extension used where its definition's context does not allow it.
    EXTENSION_CONTEXT,
    /// An extension definition used as the wrong kind (modifier or not).
    EXTENSION_MODIFIER_MISMATCH,
    /// A code is not in the value set of a required binding.
    CODE_NOT_IN_VALUESET,
    /// A code is not in the (fully known) value set of an extensible binding.
    CODE_NOT_IN_VALUESET_EXTENSIBLE,
    /// A code is not defined by its code system (whose content is complete).
    CODE_UNKNOWN_IN_CODESYSTEM,
    /// A display does not match the code system's display or designations.
    DISPLAY_MISMATCH,
    /// A code could not be checked offline (e.g. LOINC or SNOMED CT content
    /// is not available); the text says why.
    CODE_NOT_CHECKED,
    /// A value set named by a binding or import is not in the context (the
    /// IG did not load completely).
    VALUESET_UNKNOWN,
    /// A code system is not in the context and is not a known external one
    /// (the IG did not load completely).
    CODESYSTEM_UNKNOWN,
    /// A Quantity unit is not a valid UCUM expression.
    UCUM_INVALID,
    /// A value set uses a filter or construct that cannot be evaluated, so
    /// membership was not checked.
    VALUESET_TOO_COMPLEX,
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<_> = super::ALL.to_vec();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(n, ids.len());
    }
}
