//! Partial-precision dates, date-times and times (FHIRPath §2.1.7).

use std::cmp::Ordering;
use std::fmt::Write;

/// Which of the three temporal types a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemporalKind {
    /// `@2014-01-25`
    Date,
    /// `@2014-01-25T14:30:14.559`
    DateTime,
    /// `@T14:30`
    Time,
}

/// Component index: 0 year, 1 month, 2 day, 3 hour, 4 minute, 5 second, 6 millisecond.
pub const YEAR: usize = 0;
/// Month component.
pub const MONTH: usize = 1;
/// Day component.
pub const DAY: usize = 2;
/// Hour component.
pub const HOUR: usize = 3;
/// Minute component.
pub const MINUTE: usize = 4;
/// Second component.
pub const SECOND: usize = 5;
/// Millisecond component.
pub const MILLI: usize = 6;

/// A date, date-time or time with the precision it was written with.
#[derive(Debug, Clone, PartialEq)]
pub struct Temporal {
    /// Date, DateTime or Time.
    pub kind: TemporalKind,
    /// Components (unused ones are zero; for times the date part is zero).
    pub c: [i64; 7],
    /// Index of the most precise component present.
    pub precision: usize,
    /// Time-zone offset in minutes, when written.
    pub tz: Option<i32>,
    /// Number of fractional-second digits as written (for printing).
    pub frac_digits: u8,
}

fn num(s: &str, len: usize) -> Option<(i64, &str)> {
    if s.len() < len || !s.as_bytes()[..len].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some((s[..len].parse().ok()?, &s[len..]))
}

/// Days in a month of a year (Gregorian).
pub fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Temporal {
    /// Parses a date or date-time (the text after `@`, or a FHIR value).
    /// `T` alone after a partial date (`2015T`) is accepted as a date-time.
    pub fn parse_date_time(s: &str) -> Option<Temporal> {
        let mut c = [0i64; 7];
        let (y, mut rest) = num(s, 4)?;
        c[YEAR] = y;
        let mut precision = YEAR;
        let mut kind = TemporalKind::Date;
        if let Some(r) = rest.strip_prefix('-') {
            let (m, r) = num(r, 2)?;
            c[MONTH] = m;
            precision = MONTH;
            rest = r;
            if let Some(r) = rest.strip_prefix('-') {
                let (d, r) = num(r, 2)?;
                c[DAY] = d;
                precision = DAY;
                rest = r;
            }
        }
        if !(1..=12).contains(&c[MONTH]) && precision >= MONTH {
            return None;
        }
        if precision >= DAY && (c[DAY] < 1 || c[DAY] > days_in_month(c[YEAR], c[MONTH])) {
            return None;
        }
        let mut tz = None;
        let mut frac_digits = 0;
        if let Some(r) = rest.strip_prefix('T') {
            kind = TemporalKind::DateTime;
            rest = r;
            if !rest.is_empty() && rest.as_bytes()[0].is_ascii_digit() {
                let (p, f, r) = Self::parse_time_part(rest, &mut c)?;
                precision = p;
                frac_digits = f;
                rest = r;
            }
            let (z, r) = Self::parse_tz(rest)?;
            tz = z;
            rest = r;
        }
        if !rest.is_empty() {
            return None;
        }
        Some(Temporal {
            kind,
            c,
            precision,
            tz,
            frac_digits,
        })
    }

    /// Parses a time `hh(:mm(:ss(.fff)?)?)?` (without the `T`).
    pub fn parse_time(s: &str) -> Option<Temporal> {
        let mut c = [0i64; 7];
        let (precision, frac_digits, rest) = Self::parse_time_part(s, &mut c)?;
        if !rest.is_empty() {
            return None;
        }
        Some(Temporal {
            kind: TemporalKind::Time,
            c,
            precision,
            tz: None,
            frac_digits,
        })
    }

    fn parse_time_part<'s>(s: &'s str, c: &mut [i64; 7]) -> Option<(usize, u8, &'s str)> {
        let (h, mut rest) = num(s, 2)?;
        c[HOUR] = h;
        let mut p = HOUR;
        let mut fd = 0u8;
        if let Some(r) = rest.strip_prefix(':') {
            let (m, r) = num(r, 2)?;
            c[MINUTE] = m;
            p = MINUTE;
            rest = r;
            if let Some(r) = rest.strip_prefix(':') {
                let (sec, r) = num(r, 2)?;
                c[SECOND] = sec;
                p = SECOND;
                rest = r;
                if let Some(r) = rest.strip_prefix('.') {
                    let n = r.bytes().take_while(u8::is_ascii_digit).count();
                    if n == 0 {
                        return None;
                    }
                    let digits = &r[..n];
                    let mut ms = 0i64;
                    for (i, b) in digits.bytes().take(3).enumerate() {
                        ms += (b - b'0') as i64 * [100, 10, 1][i];
                    }
                    c[MILLI] = ms;
                    p = MILLI;
                    fd = n.min(9) as u8;
                    rest = &r[n..];
                }
            }
        }
        if c[HOUR] > 23 || c[MINUTE] > 59 || c[SECOND] > 59 {
            return None;
        }
        Some((p, fd, rest))
    }

    fn parse_tz(s: &str) -> Option<(Option<i32>, &str)> {
        if let Some(r) = s.strip_prefix('Z') {
            return Some((Some(0), r));
        }
        let sign = match s.as_bytes().first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Some((None, s)),
        };
        let (h, r) = num(&s[1..], 2)?;
        let r = r.strip_prefix(':')?;
        let (m, r) = num(r, 2)?;
        // Offsets run from -12:00 to +14:00.
        if m > 59 || h > 14 || (h == 14 && m > 0) {
            return None;
        }
        Some((Some(sign * (h * 60 + m) as i32), r))
    }

    /// FHIRPath literal text without the `@`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let c = &self.c;
        if self.kind != TemporalKind::Time {
            let _ = write!(out, "{:04}", c[YEAR]);
            if self.precision >= MONTH {
                let _ = write!(out, "-{:02}", c[MONTH]);
            }
            if self.precision >= DAY {
                let _ = write!(out, "-{:02}", c[DAY]);
            }
            if self.kind == TemporalKind::DateTime {
                out.push('T');
            }
        }
        if self.precision >= HOUR {
            let _ = write!(out, "{:02}", c[HOUR]);
            if self.precision >= MINUTE {
                let _ = write!(out, ":{:02}", c[MINUTE]);
            }
            if self.precision >= SECOND {
                let _ = write!(out, ":{:02}", c[SECOND]);
            }
            if self.precision >= MILLI {
                let _ = write!(out, ".{:03}", c[MILLI]);
            }
        }
        if self.kind == TemporalKind::DateTime && self.precision >= HOUR {
            match self.tz {
                Some(0) => out.push('Z'),
                Some(t) => {
                    let sign = if t < 0 { '-' } else { '+' };
                    let _ = write!(out, "{sign}{:02}:{:02}", t.abs() / 60, t.abs() % 60);
                }
                None => {}
            }
        }
        out
    }

    /// This value shifted to UTC (only when it has a zone and an hour).
    fn utc(&self) -> Temporal {
        match self.tz {
            Some(tz)
                if tz != 0 && self.precision >= HOUR && self.kind == TemporalKind::DateTime =>
            {
                let mut t = self.clone();
                t.add_minutes(-(tz as i64));
                t.tz = Some(0);
                t
            }
            _ => self.clone(),
        }
    }

    fn add_minutes(&mut self, mins: i64) {
        let c = &mut self.c;
        let total = c[HOUR] * 60 + c[MINUTE] + mins;
        let day_shift = total.div_euclid(1440);
        let rem = total.rem_euclid(1440);
        c[HOUR] = rem / 60;
        c[MINUTE] = rem % 60;
        if day_shift != 0 {
            let days = days_from_civil(c[YEAR], c[MONTH], c[DAY]) + day_shift;
            let (y, m, d) = civil_from_days(days);
            c[YEAR] = y;
            c[MONTH] = m;
            c[DAY] = d;
        }
    }

    /// Ordering; `None` when precisions differ and the common part is equal.
    /// Seconds and milliseconds count as one precision.
    pub fn compare(&self, o: &Temporal) -> Option<Ordering> {
        if (self.kind == TemporalKind::Time) != (o.kind == TemporalKind::Time) {
            return None;
        }
        if self.kind == TemporalKind::DateTime
            && o.kind == TemporalKind::DateTime
            && self.precision >= HOUR
            && o.precision >= HOUR
            && self.tz.is_some() != o.tz.is_some()
        {
            // One zoned, one local: the offset between them is unknown.
            return None;
        }
        let (a, b) = if self.tz.is_some() && o.tz.is_some() {
            (self.utc(), o.utc())
        } else {
            (self.clone(), o.clone())
        };
        let start = if a.kind == TemporalKind::Time {
            HOUR
        } else {
            YEAR
        };
        let pa = if a.precision == MILLI {
            SECOND
        } else {
            a.precision
        };
        let pb = if b.precision == MILLI {
            SECOND
        } else {
            b.precision
        };
        let common = pa.min(pb);
        for i in start..=common {
            match a.c[i].cmp(&b.c[i]) {
                Ordering::Equal => {}
                ord => return Some(ord),
            }
        }
        if pa != pb {
            return None;
        }
        if common == SECOND {
            return Some(a.c[MILLI].cmp(&b.c[MILLI]));
        }
        Some(Ordering::Equal)
    }

    /// Adds `amount` of a calendar unit (`year` .. `millisecond`); values
    /// more precise than this value are truncated to its precision.
    pub fn add(&self, amount: i64, unit: &str) -> Option<Temporal> {
        let mut t = self.clone();
        let (idx, mut n) = match unit {
            "year" => (YEAR, amount),
            "month" => (MONTH, amount),
            "week" => (DAY, amount.checked_mul(7)?),
            "day" => (DAY, amount),
            "hour" => (HOUR, amount),
            "minute" => (MINUTE, amount),
            "second" => (SECOND, amount),
            "millisecond" => (MILLI, amount),
            _ => return None,
        };
        let mut idx = idx;
        // Convert to the value's precision when the unit is finer.
        const FACTORS: [i64; 7] = [1, 12, 0, 24, 60, 60, 1000];
        while idx > t.precision {
            if idx == DAY {
                // Days to coarser precisions use 30-day months, 365-day years.
                if t.precision == YEAR {
                    n /= 365;
                    idx = YEAR;
                } else {
                    n /= 30;
                    idx = MONTH;
                }
                continue;
            }
            n /= FACTORS[idx];
            idx -= 1;
        }
        if t.kind == TemporalKind::Time {
            if idx < HOUR {
                return None;
            }
            let ms = t.c[HOUR] * 3_600_000 + t.c[MINUTE] * 60_000 + t.c[SECOND] * 1000 + t.c[MILLI];
            let unit_ms = [0, 0, 0, 3_600_000, 60_000, 1000, 1][idx];
            let total = ms
                .checked_add(n.checked_mul(unit_ms)?)?
                .rem_euclid(86_400_000);
            t.c[HOUR] = total / 3_600_000;
            t.c[MINUTE] = total / 60_000 % 60;
            t.c[SECOND] = total / 1000 % 60;
            t.c[MILLI] = total % 1000;
            return Some(t);
        }
        match idx {
            YEAR | MONTH => {
                let months = if idx == YEAR { n.checked_mul(12)? } else { n };
                let total = (t.c[YEAR] * 12 + (t.c[MONTH].max(1) - 1)).checked_add(months)?;
                t.c[YEAR] = total.div_euclid(12);
                if t.precision >= MONTH {
                    t.c[MONTH] = total.rem_euclid(12) + 1;
                }
                if t.precision >= DAY {
                    t.c[DAY] = t.c[DAY].min(days_in_month(t.c[YEAR], t.c[MONTH]));
                }
            }
            _ => {
                let unit_ms: i64 = [0, 0, 86_400_000, 3_600_000, 60_000, 1000, 1][idx];
                let delta = n.checked_mul(unit_ms)?;
                let day_ms =
                    t.c[HOUR] * 3_600_000 + t.c[MINUTE] * 60_000 + t.c[SECOND] * 1000 + t.c[MILLI];
                let total = day_ms.checked_add(delta)?;
                let days = days_from_civil(t.c[YEAR], t.c[MONTH], t.c[DAY])
                    .checked_add(total.div_euclid(86_400_000))?;
                // Far outside years 1..9999: stop before the calendar maths overflows.
                if days.abs() > 4_000_000 {
                    return None;
                }
                let rem = total.rem_euclid(86_400_000);
                let (y, m, d) = civil_from_days(days);
                t.c[YEAR] = y;
                t.c[MONTH] = m;
                t.c[DAY] = d;
                t.c[HOUR] = rem / 3_600_000;
                t.c[MINUTE] = rem / 60_000 % 60;
                t.c[SECOND] = rem / 1000 % 60;
                t.c[MILLI] = rem % 1000;
            }
        }
        if !(1..=9999).contains(&t.c[YEAR]) {
            return None;
        }
        Some(t)
    }

    /// Number of components a full value of this kind has (for `precision()`).
    pub fn precision_digits(&self) -> i64 {
        match self.kind {
            TemporalKind::Time => [0, 0, 0, 2, 4, 6, 9][self.precision],
            _ => [4, 6, 8, 10, 12, 14, 17][self.precision],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_render_round_trip() {
        for s in [
            "2014",
            "2014-01",
            "2014-01-25",
            "2014-01-25T14:30:14.559+10:00",
            "2015T",
            "2015-02-04T14Z",
        ] {
            assert_eq!(Temporal::parse_date_time(s).unwrap().render(), s);
        }
        assert!(Temporal::parse_date_time("2014-13").is_none());
        assert!(Temporal::parse_date_time("2014-02-30").is_none());
        assert_eq!(Temporal::parse_time("14:30").unwrap().render(), "14:30");
    }

    #[test]
    fn partial_comparison_is_uncertain() {
        let a = Temporal::parse_date_time("2012-04-15").unwrap();
        let b = Temporal::parse_date_time("2012-04-15T10:00").unwrap();
        let c = Temporal::parse_date_time("2012-04-16T10:00").unwrap();
        assert_eq!(a.compare(&b), None);
        assert_eq!(a.compare(&c), Some(Ordering::Less));
        let z1 = Temporal::parse_date_time("2017-11-05T01:30:00.0-04:00").unwrap();
        let z2 = Temporal::parse_date_time("2017-11-05T01:15:00.0-05:00").unwrap();
        assert_eq!(z1.compare(&z2), Some(Ordering::Less));
    }

    #[test]
    fn calendar_arithmetic() {
        let d = Temporal::parse_date_time("1973-12-25").unwrap();
        assert_eq!(d.add(7, "day").unwrap().render(), "1974-01-01");
        assert_eq!(d.add(1, "month").unwrap().render(), "1974-01-25");
        assert_eq!(d.add(-1, "year").unwrap().render(), "1972-12-25");
        let m = Temporal::parse_date_time("2016-03-31").unwrap();
        assert_eq!(m.add(-1, "month").unwrap().render(), "2016-02-29");
    }
}
