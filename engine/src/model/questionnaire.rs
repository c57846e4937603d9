//! Questionnaires compiled for QuestionnaireResponse validation: the item
//! tree with the properties that constrain answers.

use super::Literal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

const EXT_MIN_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/minValue";
const EXT_MAX_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/maxValue";
const EXT_MIN_OCCURS: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-minOccurs";
const EXT_MAX_OCCURS: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs";
const EXT_REGEX: &str = "http://hl7.org/fhir/StructureDefinition/regex";
const EXT_MAX_DECIMALS: &str = "http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces";
/// SDC extensions whose FHIRPath sets an item's answer; a readOnly item that
/// carries one gets its answer from data, not from the static `initial`.
const EXT_COMPUTED: &[&str] = &[
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-initialExpression",
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression",
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-candidateExpression",
    "http://hl7.org/fhir/StructureDefinition/cqf-expression",
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-observationLinkPeriod",
];

/// A compiled Questionnaire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Questionnaire {
    /// Canonical URL.
    pub url: String,
    /// Business version.
    pub version: Option<String>,
    /// Top-level items.
    pub items: Vec<QItem>,
}

/// One Questionnaire item.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QItem {
    /// `linkId`.
    pub link_id: String,
    /// `type` (group, display, boolean, decimal, integer, date, dateTime,
    /// time, string, text, url, choice, open-choice, attachment, reference,
    /// quantity, question).
    pub kind: String,
    /// `text`, for messages.
    pub text: Option<String>,
    /// `required`.
    pub required: bool,
    /// `repeats`.
    pub repeats: bool,
    /// `readOnly`.
    pub read_only: bool,
    /// `maxLength`.
    pub max_length: Option<u32>,
    /// `answerOption[].value[x]`: (type suffix, value).
    pub options: Vec<(String, Literal)>,
    /// `answerValueSet`.
    pub answer_value_set: Option<String>,
    /// `enableWhen`.
    pub enable_when: Vec<EnableWhen>,
    /// `enableBehavior` is `all` (otherwise `any`; one condition either way).
    pub enable_all: bool,
    /// SDC `minValue` / `maxValue` extensions: (type suffix, value).
    pub min_value: Option<(String, Literal)>,
    /// See `min_value`.
    pub max_value: Option<(String, Literal)>,
    /// SDC `questionnaire-minOccurs`.
    pub min_occurs: Option<u32>,
    /// SDC `questionnaire-maxOccurs`.
    pub max_occurs: Option<u32>,
    /// `regex` extension.
    pub regex: Option<String>,
    /// `maxDecimalPlaces` extension.
    pub max_decimal_places: Option<u32>,
    /// The static initial answers: `initial[].value[x]` and the
    /// `answerOption`s marked `initialSelected`.
    pub initial: Vec<(String, Literal)>,
    /// The item's answer is computed (SDC initial/calculated expressions),
    /// so `initial` does not say what a readOnly answer must be.
    pub computed: bool,
    /// `regex`, compiled on first use (not part of the artifact).
    #[serde(skip)]
    pub regex_compiled: std::sync::OnceLock<Option<regex::Regex>>,
    /// Child items.
    pub items: Vec<QItem>,
}

/// One `enableWhen` condition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnableWhen {
    /// The linkId of the question it depends on.
    pub question: String,
    /// `exists`, `=`, `!=`, `>`, `<`, `>=`, `<=`.
    pub operator: String,
    /// `answer[x]`: (type suffix, value).
    pub answer: (String, Literal),
}

/// Compiles a Questionnaire resource; `None` when it has no url.
pub fn compile(q: &Value) -> Option<Questionnaire> {
    Some(Questionnaire {
        url: q.get("url")?.as_str()?.to_string(),
        version: q.get("version").and_then(Value::as_str).map(str::to_string),
        items: items(q),
    })
}

fn items(v: &Value) -> Vec<QItem> {
    v.get("item")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(item).collect())
        .unwrap_or_default()
}

/// The `value[x]` / `answer[x]` member of an object: (type suffix, value).
fn choice(v: &Value, prefix: &str) -> Option<(String, Literal)> {
    v.as_object()?.iter().find_map(|(k, val)| {
        let suffix = k.strip_prefix(prefix)?;
        suffix
            .starts_with(|c: char| c.is_ascii_uppercase())
            .then(|| (suffix.to_string(), Literal::from_serde(val)))
    })
}

fn extension<'a>(v: &'a Value, url: &str) -> Option<&'a Value> {
    v.get("extension")
        .and_then(Value::as_array)?
        .iter()
        .find(|x| x.get("url").and_then(Value::as_str) == Some(url))
}

fn ext_u32(v: &Value, url: &str) -> Option<u32> {
    extension(v, url)?
        .get("valueInteger")
        .and_then(Value::as_u64)
        .map(|n| n as u32)
}

fn item(v: &Value) -> QItem {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let b = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    QItem {
        link_id: s("linkId").unwrap_or_default(),
        kind: s("type").unwrap_or_default(),
        text: s("text"),
        required: b("required"),
        repeats: b("repeats"),
        read_only: b("readOnly"),
        max_length: v.get("maxLength").and_then(Value::as_u64).map(|n| n as u32),
        options: v
            .get("answerOption")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|o| choice(o, "value")).collect())
            .unwrap_or_default(),
        answer_value_set: s("answerValueSet"),
        enable_when: v
            .get("enableWhen")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|w| {
                        Some(EnableWhen {
                            question: w.get("question")?.as_str()?.to_string(),
                            operator: w.get("operator")?.as_str()?.to_string(),
                            answer: choice(w, "answer")?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        enable_all: s("enableBehavior").as_deref() == Some("all"),
        min_value: extension(v, EXT_MIN_VALUE).and_then(|x| choice(x, "value")),
        max_value: extension(v, EXT_MAX_VALUE).and_then(|x| choice(x, "value")),
        min_occurs: ext_u32(v, EXT_MIN_OCCURS),
        max_occurs: ext_u32(v, EXT_MAX_OCCURS),
        regex: extension(v, EXT_REGEX)
            .and_then(|x| x.get("valueString"))
            .and_then(Value::as_str)
            .map(str::to_string),
        max_decimal_places: ext_u32(v, EXT_MAX_DECIMALS),
        initial: initial(v),
        computed: EXT_COMPUTED.iter().any(|u| extension(v, u).is_some()),
        regex_compiled: std::sync::OnceLock::new(),
        items: items(v),
    }
}

fn initial(v: &Value) -> Vec<(String, Literal)> {
    let list = |k: &str| v.get(k).and_then(Value::as_array).map(Vec::as_slice);
    let from_initial = list("initial")
        .unwrap_or_default()
        .iter()
        .filter_map(|i| choice(i, "value"));
    let selected = list("answerOption")
        .unwrap_or_default()
        .iter()
        .filter(|o| o.get("initialSelected").and_then(Value::as_bool) == Some(true))
        .filter_map(|o| choice(o, "value"));
    from_initial.chain(selected).collect()
}

impl QItem {
    /// The compiled `regex` extension; `None` when absent or not a valid
    /// pattern (the pattern is then not enforced).
    pub fn regex(&self) -> Option<&regex::Regex> {
        self.regex_compiled
            .get_or_init(|| {
                let re = self.regex.as_deref()?;
                regex::Regex::new(&format!("^(?:{re})$")).ok()
            })
            .as_ref()
    }
}
