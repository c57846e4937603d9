//! Quantities and a small UCUM subset for comparison and conversion
//! (mass, length, volume, time, amount, a few customary units).

use super::decimal::Decimal;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A FHIRPath quantity: a decimal and a unit (a UCUM code, or a calendar
/// duration keyword such as `year`, stored singular).
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    /// The numeric value.
    pub value: Decimal,
    /// The unit: UCUM code, or a calendar keyword (`year`, `month`, `week`,
    /// `day`, `hour`, `minute`, `second`, `millisecond`).
    pub unit: String,
}

/// Calendar duration keywords (singular) and their UCUM equivalents.
const CALENDAR: [(&str, &str); 8] = [
    ("year", "a"),
    ("month", "mo"),
    ("week", "wk"),
    ("day", "d"),
    ("hour", "h"),
    ("minute", "min"),
    ("second", "s"),
    ("millisecond", "ms"),
];

/// Maps a calendar keyword (singular or plural) to its singular form.
pub fn calendar_keyword(word: &str) -> Option<&'static str> {
    let w = word.strip_suffix('s').unwrap_or(word);
    CALENDAR.iter().find(|(k, _)| *k == w).map(|(k, _)| *k)
}

/// Dimension exponents by base atom.
type Dims = BTreeMap<&'static str, i32>;

fn atom(name: &str) -> Option<(&'static str, &'static str, i32)> {
    // (base atom, factor to base, base exponent)
    Some(match name {
        "g" => ("g", "1", 1),
        "m" => ("m", "1", 1),
        "s" => ("s", "1", 1),
        "min" => ("s", "60", 1),
        "h" => ("s", "3600", 1),
        "d" => ("s", "86400", 1),
        "wk" => ("s", "604800", 1),
        "mo" => ("s", "2629800", 1),
        "a" => ("s", "31557600", 1),
        "L" | "l" => ("m", "0.001", 3),
        "mol" => ("mol", "1", 1),
        "K" => ("K", "1", 1),
        "[in_i]" => ("m", "0.0254", 1),
        "[ft_i]" => ("m", "0.3048", 1),
        "[lb_av]" => ("g", "453.59237", 1),
        "[oz_av]" => ("g", "28.349523125", 1),
        "mm[Hg]" => ("mm[Hg]", "1", 1),
        "%" => ("1", "0.01", 0),
        "eq" => ("eq", "1", 1),
        "U" => ("U", "1", 1),
        "[iU]" | "[IU]" => ("[iU]", "1", 1),
        "cal" => ("cal", "1", 1),
        "Cel" => ("Cel", "1", 1),
        "[degF]" => ("[degF]", "1", 1),
        "1" => ("1", "1", 0),
        _ => return None,
    })
}

const PREFIXES: [(&str, &str); 12] = [
    ("da", "10"),
    ("k", "1000"),
    ("M", "1000000"),
    ("G", "1000000000"),
    ("h", "100"),
    ("d", "0.1"),
    ("c", "0.01"),
    ("m", "0.001"),
    ("u", "0.000001"),
    ("n", "0.000000001"),
    ("p", "0.000000000001"),
    ("f", "0.000000000000001"),
];

fn dec(s: &str) -> Decimal {
    Decimal::parse(s).unwrap_or(Decimal::from_i64(1))
}

/// Resolves one term like `mg`, `cm2`, `s-1`, `10*3` into factor and dims.
fn term(t: &str, dims: &mut Dims, sign: i32) -> Option<Decimal> {
    let t = match t.find('{') {
        Some(i) => &t[..i],
        None => t,
    };
    if t.is_empty() {
        return Some(Decimal::from_i64(1));
    }
    if let Some((b, e)) = t.split_once('*') {
        let b: i64 = b.parse().ok()?;
        let e: u32 = e.parse().ok()?;
        let v = b.checked_pow(e)?;
        let d = Decimal::from_i64(v);
        return Some(if sign > 0 {
            d
        } else {
            Decimal::from_i64(1).div(d)?
        });
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        let d = dec(t);
        return Some(if sign > 0 {
            d
        } else {
            Decimal::from_i64(1).div(d)?
        });
    }
    let split = t
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit() || *c == '-' || *c == '+')
        .last()
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    let (name, exp) = if split < t.len() && split > 0 && !t.ends_with(']') {
        (&t[..split], t[split..].parse::<i32>().ok()?)
    } else {
        (t, 1)
    };
    let (base, factor, bexp, pf) = match atom(name) {
        Some((b, f, e)) => (b, dec(f), e, Decimal::from_i64(1)),
        None => {
            let (p, pf) = PREFIXES
                .iter()
                .find(|(p, _)| name.starts_with(p) && atom(&name[p.len()..]).is_some())?;
            let (b, f, e) = atom(&name[p.len()..])?;
            (b, dec(f), e, dec(pf))
        }
    };
    let one = pf.mul(factor)?;
    let exp = exp.checked_mul(sign)?;
    // Real units have small exponents; this also bounds the loop below.
    if exp.unsigned_abs() > 12 {
        return None;
    }
    let mut total = Decimal::from_i64(1);
    for _ in 0..exp.unsigned_abs() {
        total = if exp > 0 {
            total.mul(one)?
        } else {
            total.div(one)?
        };
    }
    if bexp != 0 {
        *dims.entry(base).or_default() += bexp * exp;
    }
    Some(total)
}

/// Canonical factor and dimensions of a UCUM unit (or calendar keyword).
pub fn canonical(unit: &str) -> Option<(Decimal, Dims)> {
    let unit = CALENDAR
        .iter()
        .find(|(k, _)| *k == unit)
        .map(|(_, u)| *u)
        .unwrap_or(unit);
    let mut dims = Dims::new();
    let mut factor = Decimal::from_i64(1);
    let mut sign = 1;
    let mut cur = String::new();
    let mut depth = 0;
    for ch in unit.chars().chain(std::iter::once('\0')) {
        match ch {
            '[' | '{' => {
                depth += 1;
                cur.push(ch)
            }
            ']' | '}' => {
                depth -= 1;
                cur.push(ch)
            }
            '.' | '/' | '\0' if depth == 0 => {
                factor = factor.mul(term(&cur, &mut dims, sign)?)?;
                cur.clear();
                sign = if ch == '/' { -1 } else { 1 };
            }
            _ => cur.push(ch),
        }
    }
    dims.retain(|_, e| *e != 0);
    Some((factor, dims))
}

fn dims_unit(d: &Dims) -> String {
    let mut num = Vec::new();
    let mut den = Vec::new();
    for (k, e) in d {
        let s = |e: i32| {
            if e == 1 {
                k.to_string()
            } else {
                format!("{k}{e}")
            }
        };
        if *e > 0 {
            num.push(s(*e));
        } else {
            den.push(s(-*e));
        }
    }
    let mut out = if num.is_empty() {
        "1".to_string()
    } else {
        num.join(".")
    };
    if !den.is_empty() {
        out.push('/');
        out.push_str(&den.join("."));
    }
    out
}

fn is_temperature(u: &str) -> bool {
    matches!(u, "Cel" | "[degF]" | "K")
}

/// Temperatures convert by offset as well as factor.
fn to_kelvin(v: Decimal, u: &str) -> Option<Decimal> {
    let c = Decimal::parse("273.15")?;
    match u {
        "K" => Some(v),
        "Cel" => v.add(c),
        "[degF]" => v
            .add(Decimal::parse("459.67")?)?
            .mul(Decimal::from_i64(5))?
            .div(Decimal::from_i64(9)),
        _ => None,
    }
}

fn from_kelvin(k: Decimal, u: &str) -> Option<Decimal> {
    match u {
        "K" => Some(k),
        "Cel" => k.sub(Decimal::parse("273.15")?),
        "[degF]" => k
            .mul(Decimal::from_i64(9))?
            .div(Decimal::from_i64(5))?
            .sub(Decimal::parse("459.67")?),
        _ => None,
    }
}

/// Whether a unit is a calendar duration keyword.
pub fn is_calendar(u: &str) -> bool {
    CALENDAR.iter().any(|(k, _)| *k == u)
}

fn calendar_seconds(u: &str) -> Option<Decimal> {
    Decimal::parse(match u {
        "year" => "31536000",
        "month" => "2592000",
        "week" => "604800",
        "day" => "86400",
        "hour" => "3600",
        "minute" => "60",
        "second" => "1",
        "millisecond" => "0.001",
        _ => return None,
    })
}

fn is_calendar_inexact(u: &str) -> bool {
    u == "year" || u == "month"
}

impl Quantity {
    /// The FHIRPath literal form: `4 'mg'`, `1 week`.
    pub fn render(&self) -> String {
        if calendar_keyword(&self.unit) == Some(self.unit.as_str()) {
            let plural = if self.value == Decimal::from_i64(1) {
                ""
            } else {
                "s"
            };
            format!("{} {}{}", self.value, self.unit, plural)
        } else {
            format!("{} '{}'", self.value, self.unit)
        }
    }

    /// Converts to `unit` if the dimensions agree. Calendar durations
    /// convert among themselves (a year is 12 months or 365 days, a month
    /// 30 days); to UCUM only from `week` and finer, and never to `a`/`mo`.
    pub fn convert_to(&self, unit: &str) -> Option<Quantity> {
        if self.unit == unit {
            return Some(self.clone());
        }
        let value = match (is_calendar(&self.unit), is_calendar(unit)) {
            (true, true) => match (self.unit.as_str(), unit) {
                ("year", "month") => self.value.mul(Decimal::from_i64(12))?,
                ("month", "year") => self.value.div(Decimal::from_i64(12))?,
                (a, b) => self
                    .value
                    .mul(calendar_seconds(a)?)?
                    .div(calendar_seconds(b)?)?,
            },
            (true, false) | (false, true) => {
                let (cal, ucum) = if is_calendar(&self.unit) {
                    (self.unit.as_str(), unit)
                } else {
                    (unit, self.unit.as_str())
                };
                if is_calendar_inexact(cal) || matches!(ucum, "a" | "mo") {
                    return None;
                }
                let (f, d) = canonical(ucum)?;
                if d.len() != 1 || d.get("s") != Some(&1) {
                    return None;
                }
                let cs = calendar_seconds(cal)?;
                if is_calendar(&self.unit) {
                    self.value.mul(cs)?.div(f)?
                } else {
                    self.value.mul(f)?.div(cs)?
                }
            }
            (false, false) if is_temperature(&self.unit) || is_temperature(unit) => {
                let k = to_kelvin(self.value, &self.unit)?;
                from_kelvin(k, unit)?
            }
            (false, false) => {
                let (f1, d1) = canonical(&self.unit)?;
                let (f2, d2) = canonical(unit)?;
                if d1 != d2 {
                    return None;
                }
                self.value.mul(f1)?.div(f2)?
            }
        };
        Some(Quantity {
            value,
            unit: unit.to_string(),
        })
    }

    /// Comparison after unit conversion; `None` when not comparable.
    /// Calendar years/months compare with UCUM `a`/`mo` only for
    /// equivalence (`strict == false`).
    pub fn compare(&self, o: &Quantity, strict: bool) -> Option<Ordering> {
        if let Some(c) = o.convert_to(&self.unit) {
            return Some(self.value.cmp_num(&c.value));
        }
        if strict {
            return None;
        }
        let ucum = |u: &str| -> String {
            match u {
                "year" => "a".into(),
                "month" => "mo".into(),
                u => CALENDAR
                    .iter()
                    .find(|(k, _)| *k == u)
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_else(|| u.to_string()),
            }
        };
        let a = Quantity {
            value: self.value,
            unit: ucum(&self.unit),
        };
        let b = Quantity {
            value: o.value,
            unit: ucum(&o.unit),
        };
        b.convert_to(&a.unit).map(|c| a.value.cmp_num(&c.value))
    }

    /// The smaller of two compatible units (sums are expressed in it).
    pub fn finer_unit<'u>(&'u self, o: &'u Quantity) -> &'u str {
        let one = Quantity {
            value: Decimal::from_i64(1),
            unit: self.unit.clone(),
        };
        match one.convert_to(&o.unit) {
            Some(c) if c.value.cmp_num(&Decimal::from_i64(1)) == Ordering::Greater => &o.unit,
            _ => &self.unit,
        }
    }

    /// Product or quotient with units combined into base units.
    /// Calendar durations do not multiply (their length is not fixed).
    pub fn mul_div(&self, o: &Quantity, divide: bool) -> Option<Quantity> {
        if is_calendar(&self.unit) || is_calendar(&o.unit) {
            return None;
        }
        let (f1, d1) = canonical(&self.unit)?;
        let (f2, mut d2) = canonical(&o.unit)?;
        let a = self.value.mul(f1)?;
        let b = o.value.mul(f2)?;
        let value = if divide { a.div(b)? } else { a.mul(b)? };
        if divide {
            d2.values_mut().for_each(|e| *e = -*e);
        }
        let mut d = d1;
        for (k, e) in d2 {
            *d.entry(k).or_default() += e;
        }
        d.retain(|_, e| *e != 0);
        Some(Quantity {
            value,
            unit: dims_unit(&d),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(v: &str, u: &str) -> Quantity {
        Quantity {
            value: Decimal::parse(v).unwrap(),
            unit: u.into(),
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(
            q("1", "g").compare(&q("1000", "mg"), true),
            Some(Ordering::Equal)
        );
        assert_eq!(
            q("7", "day").compare(&q("1", "week"), true),
            Some(Ordering::Equal)
        );
        assert_eq!(q("1", "year").compare(&q("1", "a"), true), None);
        assert_eq!(
            q("1", "year").compare(&q("1", "a"), false),
            Some(Ordering::Equal)
        );
        assert_eq!(q("1", "m").compare(&q("1", "g"), true), None);
        assert_eq!(
            q("100", "cm").convert_to("m").unwrap().value.to_string(),
            "1"
        );
        assert_eq!(
            q("1", "mg/dL").compare(&q("10", "mg/L"), true),
            Some(Ordering::Equal)
        );
        assert!(q("1", "year").mul_div(&q("1", "year"), false).is_none());
        let r = q("4.0", "g").mul_div(&q("2.0", "m"), true).unwrap();
        assert_eq!(r.compare(&q("2", "g/m"), true), Some(Ordering::Equal));
        assert_eq!(q("1", "m").mul_div(&q("1", "m"), true).unwrap().unit, "1");
    }
}
