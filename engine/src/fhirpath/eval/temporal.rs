//! Date/time component extraction (FHIRPath 2.1 `yearOf()` ... `timeOf()`,
//! which fhirpath.js and R4-era engines provide).

use super::coll;
use super::{Call, R};
use crate::fhirpath::datetime::{
    Temporal, TemporalKind, DAY, HOUR, MILLI, MINUTE, MONTH, SECOND, YEAR,
};
use crate::fhirpath::decimal::Decimal;
use crate::fhirpath::value::Item;

const FUNCS: [(&str, usize); 7] = [
    ("yearOf", YEAR),
    ("monthOf", MONTH),
    ("dayOf", DAY),
    ("hourOf", HOUR),
    ("minuteOf", MINUTE),
    ("secondOf", SECOND),
    ("millisecondOf", MILLI),
];

/// All function names of this family (for the checker).
pub(crate) const NAMES: [&str; 10] = [
    "yearOf",
    "monthOf",
    "dayOf",
    "hourOf",
    "minuteOf",
    "secondOf",
    "millisecondOf",
    "timezoneOffsetOf",
    "dateOf",
    "timeOf",
];

fn temporal(v: Item<'_>) -> Option<Temporal> {
    match v {
        Item::Temporal(t) => Some(*t),
        Item::String(s) => Temporal::parse_date_time(&s)
            .or_else(|| Temporal::parse_time(s.strip_prefix('T').unwrap_or(&s))),
        _ => None,
    }
}

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    if !NAMES.contains(&name) {
        return None;
    }
    Some((|| {
        let Some(t) = c.single()?.and_then(temporal) else {
            return Ok(coll![]);
        };
        let is_time = t.kind == TemporalKind::Time;
        let out = match name {
            "timezoneOffsetOf" => match (t.kind, t.tz) {
                (TemporalKind::DateTime, Some(tz)) => Decimal::from_i64(tz as i64)
                    .div(Decimal::from_i64(60))
                    .map(Item::Decimal),
                _ => None,
            },
            "dateOf" if !is_time => {
                let mut d = t.clone();
                d.kind = TemporalKind::Date;
                d.precision = d.precision.min(DAY);
                d.tz = None;
                Some(Item::Temporal(Box::new(d)))
            }
            "timeOf" if t.kind == TemporalKind::DateTime && t.precision >= HOUR => {
                let mut d = t.clone();
                d.kind = TemporalKind::Time;
                d.tz = None;
                d.c[..HOUR].iter_mut().for_each(|x| *x = 0);
                Some(Item::Temporal(Box::new(d)))
            }
            "dateOf" | "timeOf" => None,
            _ => {
                let idx = FUNCS
                    .iter()
                    .find(|f| f.0 == name)
                    .map(|f| f.1)
                    .unwrap_or(YEAR);
                let valid = if is_time { idx >= HOUR } else { true };
                (valid && t.precision >= idx).then(|| Item::Integer(t.c[idx]))
            }
        };
        Ok(out.into_iter().collect())
    })())
}
