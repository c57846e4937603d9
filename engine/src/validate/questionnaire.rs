//! QuestionnaireResponse against its Questionnaire: linkIds, item order,
//! required and repeating items, enableWhen, answer types, answer options,
//! maxLength, display and group items, and the SDC answer constraints.

use super::walk::Walker;
use crate::json::{Node, Value};
use crate::messages as msg;
use crate::model::questionnaire::{self, EnableWhen, QItem, Questionnaire};
use crate::model::Literal;
use crate::outcome::{IssueType, Severity};
use crate::terminology::Membership;
use std::borrow::Cow;
use std::collections::HashMap;

/// Answers by linkId across the whole response (for enableWhen).
type Answers<'a> = HashMap<&'a str, Vec<(&'a str, &'a Node)>>;

/// Checks a QuestionnaireResponse; the walker's path is at the resource.
pub(super) fn check<'a>(w: &mut Walker<'a>, qr: &'a Node) {
    let Some(qnode) = qr.get("questionnaire") else {
        return;
    };
    let Some(canonical) = qnode.as_str() else {
        return;
    };
    let Some(q) = find(w, canonical) else {
        let severity = if w.unknown_questionnaire_is_error() {
            Severity::Error
        } else {
            Severity::Warning
        };
        let saved = w.path.len();
        w.path.push_str(".questionnaire");
        w.report_at(
            severity,
            IssueType::NotFound,
            msg::QR_QUESTIONNAIRE_UNKNOWN,
            format!("The Questionnaire '{canonical}' is not known to this validation context or Bundle, so the answers were not checked against it"),
            qnode.pos,
        );
        w.path.truncate(saved);
        return;
    };
    let mut answers: Answers<'a> = HashMap::new();
    collect_answers(qr, &mut answers);
    check_items(w, &q.items, qr, &answers);
}

fn find<'a>(w: &Walker<'a>, canonical: &str) -> Option<Cow<'a, Questionnaire>> {
    let (url, version) = match canonical.split_once('|') {
        Some((u, v)) => (u, Some(v)),
        None => (canonical, None),
    };
    if let Some(q) = w.ctx.questionnaire(url, version) {
        return Some(Cow::Borrowed(q));
    }
    // A Questionnaire in the same Bundle.
    let n = w
        .resolve(url)
        .filter(|n| n.get("resourceType").and_then(Node::as_str) == Some("Questionnaire"))?;
    questionnaire::compile(&n.to_serde()).map(Cow::Owned)
}

fn collect_answers<'a>(node: &'a Node, out: &mut Answers<'a>) {
    for item in node.get("item").and_then(Node::as_array).unwrap_or(&[]) {
        if let Some(link) = item.get("linkId").and_then(Node::as_str) {
            for a in item.get("answer").and_then(Node::as_array).unwrap_or(&[]) {
                if let Some((suffix, v)) = value_of(a) {
                    out.entry(link).or_default().push((suffix, v));
                }
                collect_answers(a, out);
            }
        }
        collect_answers(item, out);
    }
}

/// The `value[x]` of an answer: (type suffix, value node).
fn value_of(a: &Node) -> Option<(&str, &Node)> {
    a.as_object()?.iter().find_map(|m| {
        let s = m.key.strip_prefix("value")?;
        s.starts_with(|c: char| c.is_ascii_uppercase())
            .then_some((s, &m.value))
    })
}

/// Checks the `item` list of `parent` (the response or an item/answer)
/// against the questionnaire items of that level.
fn check_items<'a>(w: &mut Walker<'a>, qitems: &[QItem], parent: &'a Node, answers: &Answers<'a>) {
    let ritems = parent.get("item").and_then(Node::as_array).unwrap_or(&[]);
    let mut last_index = 0usize;
    let mut seen: Vec<usize> = Vec::new();
    for (i, r) in ritems.iter().enumerate() {
        let saved = w.path.len();
        w.path.push_str(&format!(".item[{i}]"));
        let link = r.get("linkId").and_then(Node::as_str).unwrap_or("");
        match qitems.iter().position(|q| q.link_id == link) {
            None => w.error(
                IssueType::Structure,
                msg::QR_LINKID_UNKNOWN,
                format!("linkId '{link}' is not an item of the Questionnaire at this level"),
                r.pos,
            ),
            Some(k) => {
                let q = &qitems[k];
                if k < last_index {
                    w.error(
                        IssueType::Structure,
                        msg::QR_ITEM_ORDER,
                        format!(
                            "Item '{link}' is out of order: the Questionnaire puts it before '{}'",
                            qitems[last_index].link_id
                        ),
                        r.pos,
                    );
                }
                last_index = last_index.max(k);
                if seen.contains(&k) && !q.repeats {
                    w.error(
                        IssueType::Structure,
                        msg::QR_ITEM_REPEATS,
                        format!("Item '{link}' appears more than once but does not repeat"),
                        r.pos,
                    );
                }
                seen.push(k);
                check_item(w, q, r, answers);
            }
        }
        w.path.truncate(saved);
    }
    for (k, q) in qitems.iter().enumerate() {
        let count = seen.iter().filter(|&&s| s == k).count();
        let enabled = is_enabled(q, answers);
        if count == 0 && q.required && enabled && q.kind != "display" {
            w.error(
                IssueType::Required,
                msg::QR_REQUIRED_MISSING,
                format!("Required item '{}'{} has no answer", q.link_id, label(q)),
                parent.pos,
            );
        }
        if let Some(min) = q.min_occurs {
            if enabled && q.kind == "group" && count < min as usize && (count > 0 || q.required) {
                w.error(
                    IssueType::Required,
                    msg::QR_OCCURS,
                    format!(
                        "Item '{}' occurs {count} times, fewer than minOccurs {min}",
                        q.link_id
                    ),
                    parent.pos,
                );
            }
        }
        if let Some(max) = q.max_occurs {
            if q.kind == "group" && count > max as usize {
                w.error(
                    IssueType::Structure,
                    msg::QR_OCCURS,
                    format!(
                        "Item '{}' occurs {count} times, more than maxOccurs {max}",
                        q.link_id
                    ),
                    parent.pos,
                );
            }
        }
    }
}

fn label(q: &QItem) -> String {
    q.text
        .as_deref()
        .map(|t| {
            let t: String = t.chars().take(60).collect();
            format!(" (\"{t}\")")
        })
        .unwrap_or_default()
}

fn check_item<'a>(w: &mut Walker<'a>, q: &QItem, r: &'a Node, answers: &Answers<'a>) {
    let link = q.link_id.as_str();
    let ans = r.get("answer").and_then(Node::as_array).unwrap_or(&[]);
    let has_content = !ans.is_empty() || r.get("item").is_some();
    if !is_enabled(q, answers) && has_content {
        w.error(
            IssueType::BusinessRule,
            msg::QR_DISABLED_ANSWERED,
            format!("Item '{link}' is not enabled (its enableWhen conditions are not met) but has answers"),
            r.pos,
        );
    }
    match q.kind.as_str() {
        "display" if has_content => w.error(
            IssueType::Structure,
            msg::QR_DISPLAY_ANSWERED,
            format!("Display item '{link}' must not have answers or child items"),
            r.pos,
        ),
        "group" if !ans.is_empty() => w.error(
            IssueType::Structure,
            msg::QR_ANSWER_TYPE,
            format!("Group item '{link}' must not have answers (its content goes in child items)"),
            r.pos,
        ),
        _ => {}
    }
    if ans.len() > 1 && !q.repeats {
        w.error(
            IssueType::Structure,
            msg::QR_ANSWER_REPEATS,
            format!(
                "Item '{link}' has {} answers but does not repeat",
                ans.len()
            ),
            r.pos,
        );
    }
    if q.kind != "group" && q.kind != "display" {
        if let Some(min) = q.min_occurs {
            if !ans.is_empty() && ans.len() < min as usize {
                w.error(
                    IssueType::Required,
                    msg::QR_OCCURS,
                    format!(
                        "Item '{link}' has {} answers, fewer than minOccurs {min}",
                        ans.len()
                    ),
                    r.pos,
                );
            }
        }
        if let Some(max) = q.max_occurs {
            if ans.len() > max as usize {
                w.error(
                    IssueType::Structure,
                    msg::QR_OCCURS,
                    format!(
                        "Item '{link}' has {} answers, more than maxOccurs {max}",
                        ans.len()
                    ),
                    r.pos,
                );
            }
        }
    }
    for (j, a) in ans.iter().enumerate() {
        let saved = w.path.len();
        w.path.push_str(&format!(".answer[{j}]"));
        if let Some((suffix, v)) = value_of(a) {
            let saved_v = w.path.len();
            let ty = suffix[..1].to_ascii_lowercase() + &suffix[1..];
            w.path.push_str(&format!(
                ".value.ofType({})",
                if suffix == "Coding"
                    || suffix == "Quantity"
                    || suffix == "Attachment"
                    || suffix == "Reference"
                {
                    suffix.to_string()
                } else {
                    ty
                }
            ));
            check_answer(w, q, suffix, v);
            w.path.truncate(saved_v);
        }
        // Answers can carry nested items (questions under an answer).
        check_items(w, &q.items, a, answers);
        w.path.truncate(saved);
    }
    if r.get("item").is_some() {
        check_items(w, &q.items, r, answers);
    }
}

/// The answer types an item type accepts.
fn allowed_types(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "boolean" => &["Boolean"],
        "decimal" => &["Decimal"],
        "integer" => &["Integer"],
        "date" => &["Date"],
        "dateTime" => &["DateTime"],
        "time" => &["Time"],
        "string" | "text" => &["String"],
        "url" => &["Uri"],
        "choice" => &["Coding"],
        "open-choice" => &["Coding", "String"],
        "attachment" => &["Attachment"],
        "reference" => &["Reference"],
        "quantity" => &["Quantity"],
        _ => return None,
    })
}

fn check_answer<'a>(w: &mut Walker<'a>, q: &QItem, suffix: &str, v: &'a Node) {
    let link = q.link_id.as_str();
    if let Some(allowed) = allowed_types(&q.kind) {
        if !allowed.contains(&suffix) {
            w.error(
                IssueType::Structure,
                msg::QR_ANSWER_TYPE,
                format!(
                    "Item '{link}' is of type {} and takes value{}, not value{suffix}",
                    q.kind,
                    allowed.join(" or value")
                ),
                v.pos,
            );
            return;
        }
    }
    // Answer options (choice, and any type with options).
    let free_text = q.kind == "open-choice" && suffix == "String";
    if !q.options.is_empty() && !free_text {
        let ok = q
            .options
            .iter()
            .any(|(t, lit)| t == suffix && option_matches(lit, v));
        if !ok {
            w.error(
                IssueType::CodeInvalid,
                msg::QR_ANSWER_NOT_IN_OPTIONS,
                format!("The answer to '{link}' is not one of the item's answerOptions"),
                v.pos,
            );
        }
    } else if let Some(vs) = &q.answer_value_set {
        let (system, code) = match suffix {
            "Coding" => (
                v.get("system").and_then(Node::as_str),
                v.get("code").and_then(Node::as_str),
            ),
            "String" if q.kind != "open-choice" => (None, v.as_str()),
            _ => (None, None),
        };
        if let Some(code) = code {
            let display = v.get("display").and_then(Node::as_str);
            match w.ctx.terminology().check_code(vs, system, code, display) {
                Membership::Member { .. } => {}
                Membership::NotMember if q.kind == "open-choice" => {}
                Membership::NotMember => w.error(
                    IssueType::CodeInvalid,
                    msg::QR_ANSWER_NOT_IN_VALUESET,
                    format!("The answer to '{link}' ({code}) is not in its answerValueSet {vs}"),
                    v.pos,
                ),
                Membership::NotChecked { reason, .. } => w.report_at(
                    Severity::Information,
                    IssueType::NotSupported,
                    msg::QR_VALUESET_NOT_CHECKED,
                    format!("The answer to '{link}' was not checked against its answerValueSet {vs}: {reason}"),
                    v.pos,
                ),
                Membership::UnknownValueSet => w.report_at(
                    Severity::Warning,
                    IssueType::NotFound,
                    msg::VALUESET_UNKNOWN,
                    format!("The answerValueSet {vs} of '{link}' is not in the context, so the answer was not checked"),
                    v.pos,
                ),
            }
        }
    }
    if let (Some(max), Some(s)) = (q.max_length, v.as_str()) {
        if s.chars().count() > max as usize {
            w.error(
                IssueType::Value,
                msg::QR_MAX_LENGTH,
                format!("The answer to '{link}' is longer than maxLength {max}"),
                v.pos,
            );
        }
    }
    if let (Some(r), Some(s)) = (q.regex(), v.as_str()) {
        if !r.is_match(s) {
            w.error(
                IssueType::Value,
                msg::QR_REGEX,
                format!(
                    "The answer to '{link}' does not match the pattern {}",
                    q.regex.as_deref().unwrap_or_default()
                ),
                v.pos,
            );
        }
    }
    // readOnly: a respondent cannot change the answer, so where the
    // Questionnaire fixes it statically (and no SDC expression computes it)
    // the answer must be one of those initial values.
    if q.read_only
        && !q.computed
        && !q.initial.is_empty()
        && !q
            .initial
            .iter()
            .any(|(t, lit)| t == suffix && option_matches(lit, v))
    {
        w.report_at(
            Severity::Warning,
            IssueType::BusinessRule,
            msg::QR_READONLY_CHANGED,
            format!("Item '{link}' is readOnly, but its answer differs from the Questionnaire's initial value, so it was changed"),
            v.pos,
        );
    }
    for (limit, below) in [(&q.min_value, true), (&q.max_value, false)] {
        let Some((t, lit)) = limit else { continue };
        let Some(ord) = compare(suffix, v, t, lit) else {
            continue;
        };
        let bad = if below {
            ord == std::cmp::Ordering::Less
        } else {
            ord == std::cmp::Ordering::Greater
        };
        if bad {
            w.error(
                IssueType::Value,
                msg::QR_VALUE_RANGE,
                format!(
                    "The answer to '{link}' is {} the {} {}",
                    if below { "below" } else { "above" },
                    if below { "minValue" } else { "maxValue" },
                    lit.to_json_string()
                ),
                v.pos,
            );
        }
    }
    if let (Some(places), Some(n)) = (q.max_decimal_places, v.as_number()) {
        let decimals = n
            .split_once('.')
            .map(|(_, f)| f.trim_end_matches(|c: char| !c.is_ascii_digit()).len())
            .unwrap_or(0);
        if decimals > places as usize {
            w.error(IssueType::Value, msg::QR_VALUE_RANGE, format!("The answer to '{link}' has {decimals} decimal places, more than maxDecimalPlaces {places}"), v.pos);
        }
    }
}

/// An option matches an answer: Codings by system (when the option has one)
/// and code; other values by equality.
fn option_matches(lit: &Literal, v: &Node) -> bool {
    match lit {
        Literal::Object(fields) => {
            let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, l)| l);
            match (get("code"), v.get("code")) {
                (Some(Literal::String(code)), Some(vc)) => {
                    vc.as_str() == Some(code.as_str())
                        && match get("system") {
                            Some(Literal::String(sys)) => v
                                .get("system")
                                .and_then(Node::as_str)
                                .is_none_or(|s| s == sys),
                            _ => true,
                        }
                }
                _ => lit.matches(v),
            }
        }
        _ => lit.equals(v),
    }
}

fn compare(suffix: &str, v: &Node, t: &str, lit: &Literal) -> Option<std::cmp::Ordering> {
    match (&v.value, lit) {
        (Value::Number(a), Literal::Number(b)) => {
            a.parse::<f64>().ok()?.partial_cmp(&b.parse::<f64>().ok()?)
        }
        (Value::String(a), Literal::String(b)) if t == suffix && a.len() == b.len() => {
            Some((**a).cmp(b.as_str()))
        }
        (Value::Object(_), Literal::Object(_)) if suffix == "Quantity" => {
            let a = v.get("value")?.as_number()?.parse::<f64>().ok()?;
            let Literal::Object(f) = lit else { return None };
            let b = f
                .iter()
                .find(|(k, _)| k == "value")
                .and_then(|(_, l)| match l {
                    Literal::Number(n) => n.parse::<f64>().ok(),
                    _ => None,
                })?;
            a.partial_cmp(&b)
        }
        _ => None,
    }
}

fn is_enabled(q: &QItem, answers: &Answers<'_>) -> bool {
    if q.enable_when.is_empty() {
        return true;
    }
    let mut results = q.enable_when.iter().map(|c| condition(c, answers));
    if q.enable_all {
        results.all(|r| r)
    } else {
        results.any(|r| r)
    }
}

fn condition(c: &EnableWhen, answers: &Answers<'_>) -> bool {
    let given = answers
        .get(c.question.as_str())
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let (t, expected) = &c.answer;
    if c.operator == "exists" {
        let want = matches!(expected, Literal::Bool(true));
        return given.is_empty() != want;
    }
    let eq = |(s, v): &(&str, &Node)| *s == t.as_str() && option_matches(expected, v);
    match c.operator.as_str() {
        "=" => given.iter().any(eq),
        "!=" => !given.is_empty() && !given.iter().any(eq),
        op => given.iter().any(|(s, v)| {
            let Some(ord) = compare(s, v, t, expected) else {
                return false;
            };
            match op {
                ">" => ord.is_gt(),
                "<" => ord.is_lt(),
                ">=" => ord.is_ge(),
                "<=" => ord.is_le(),
                _ => false,
            }
        }),
    }
}
