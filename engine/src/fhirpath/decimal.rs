//! A small exact decimal: `mantissa / 10^scale`, keeping the written scale
//! (FHIR decimals carry their precision: `1.50` is not printed as `1.5`).

use std::cmp::Ordering;
use std::fmt;

/// Largest scale kept after multiplication or division.
const MAX_SCALE: u32 = 28;

/// An exact decimal number.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    m: i128,
    s: u32,
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

// Arithmetic is checked (returns `Option`), so the std operator traits do
// not fit; the plain names read best at call sites.
#[allow(clippy::should_implement_trait)]
impl Decimal {
    /// Builds from mantissa and scale.
    pub fn new(m: i128, s: u32) -> Self {
        Decimal { m, s }
    }

    /// An integer value.
    pub fn from_i64(v: i64) -> Self {
        Decimal { m: v as i128, s: 0 }
    }

    /// Parses `-12.340`, `1e3`, `+5`.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let (mant, exp) = match t.find(['e', 'E']) {
            Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
            None => (t, 0),
        };
        let (neg, digits) = match mant.as_bytes().first()? {
            b'-' => (true, &mant[1..]),
            b'+' => (false, &mant[1..]),
            _ => (false, mant),
        };
        let (int, frac) = match digits.find('.') {
            Some(i) => (&digits[..i], &digits[i + 1..]),
            None => (digits, ""),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if digits.contains('.') && (frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        let mut m: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            m = m.checked_mul(10)?.checked_add((b - b'0') as i128)?;
        }
        let mut s = frac.len() as i32 - exp;
        while s < 0 {
            m = m.checked_mul(10)?;
            s += 1;
        }
        if neg {
            m = -m;
        }
        Some(Decimal { m, s: s as u32 }.limit())
    }

    /// From a float (for sqrt/ln/exp/power), rounded to 15 significant digits.
    pub fn from_f64(v: f64) -> Option<Self> {
        if !v.is_finite() {
            return None;
        }
        let text = format!("{:.*e}", 14, v);
        Decimal::parse(&text).map(|d| d.normalize())
    }

    /// As a float.
    pub fn to_f64(self) -> f64 {
        self.m as f64 / 10f64.powi(self.s as i32)
    }

    /// The number of digits after the point as written.
    pub fn scale(self) -> u32 {
        self.s
    }

    /// Whether the value has no fractional part.
    pub fn is_integer(self) -> bool {
        self.normalize().s == 0
    }

    /// The value as an integer if it has no fractional part and fits.
    pub fn to_i64(self) -> Option<i64> {
        let n = self.normalize();
        if n.s == 0 {
            i64::try_from(n.m).ok()
        } else {
            None
        }
    }

    /// Drops trailing fractional zeros.
    pub fn normalize(self) -> Self {
        let mut d = self;
        while d.s > 0 && d.m % 10 == 0 {
            d.m /= 10;
            d.s -= 1;
        }
        d
    }

    /// Caps the scale at `MAX_SCALE`, rounding half away from zero.
    fn limit(self) -> Self {
        if self.s > MAX_SCALE {
            self.round(MAX_SCALE)
        } else {
            self
        }
    }

    fn rescale(self, s: u32) -> Option<i128> {
        if s >= self.s {
            self.m.checked_mul(pow10(s - self.s)?)
        } else {
            Some(self.m / pow10(self.s - s)?)
        }
    }

    /// Rounds half away from zero to `digits` fractional digits.
    pub fn round(self, digits: u32) -> Self {
        if digits >= self.s {
            return self;
        }
        let Some(p) = pow10(self.s - digits) else {
            return Decimal { m: 0, s: digits };
        };
        let q = self.m / p;
        let r = self.m % p;
        let adj = if r.abs() * 2 >= p { self.m.signum() } else { 0 };
        Decimal {
            m: q + adj,
            s: digits,
        }
    }

    /// Truncates toward zero.
    pub fn truncate(self) -> Self {
        match pow10(self.s) {
            Some(p) => Decimal {
                m: self.m / p,
                s: 0,
            },
            None => Decimal { m: 0, s: 0 },
        }
    }

    /// Largest integer not above.
    pub fn floor(self) -> Self {
        let t = self.truncate();
        if self.m < 0 && t.cmp_num(&self) != Ordering::Equal {
            Decimal { m: t.m - 1, s: 0 }
        } else {
            t
        }
    }

    /// Smallest integer not below.
    pub fn ceiling(self) -> Self {
        let t = self.truncate();
        if self.m > 0 && t.cmp_num(&self) != Ordering::Equal {
            Decimal { m: t.m + 1, s: 0 }
        } else {
            t
        }
    }

    /// Absolute value.
    pub fn abs(self) -> Self {
        Decimal {
            m: self.m.saturating_abs(),
            s: self.s,
        }
    }

    /// Negation.
    pub fn neg(self) -> Self {
        Decimal {
            m: self.m.saturating_neg(),
            s: self.s,
        }
    }

    /// Whether zero.
    pub fn is_zero(self) -> bool {
        self.m == 0
    }

    /// Sign: -1, 0 or 1.
    pub fn signum(self) -> i32 {
        self.m.signum() as i32
    }

    /// Sum.
    pub fn add(self, o: Self) -> Option<Self> {
        let s = self.s.max(o.s);
        Some(Decimal {
            m: self.rescale(s)?.checked_add(o.rescale(s)?)?,
            s,
        })
    }

    /// Difference.
    pub fn sub(self, o: Self) -> Option<Self> {
        self.add(o.neg())
    }

    /// Product.
    pub fn mul(self, o: Self) -> Option<Self> {
        match self.m.checked_mul(o.m) {
            Some(m) => Some(Decimal { m, s: self.s + o.s }.limit()),
            None => {
                let a = self.normalize();
                let b = o.normalize();
                let m = a.m.checked_mul(b.m)?;
                Some(Decimal { m, s: a.s + b.s }.limit())
            }
        }
    }

    /// Quotient with up to 8 fractional digits beyond the operands
    /// (trailing zeros dropped); `None` when dividing by zero.
    pub fn div(self, o: Self) -> Option<Self> {
        if o.m == 0 {
            return None;
        }
        let target = 8u32.max(self.s).max(o.s);
        // value = (a.m * 10^(target + o.s - a.s)) / o.m, scale target
        let mut num = self.m;
        let mut shift = target as i64 + o.s as i64 - self.s as i64;
        let mut den = o.m;
        while shift < 0 {
            den = den.checked_mul(10)?;
            shift += 1;
        }
        // extra digit for rounding
        num = num.checked_mul(pow10(shift as u32 + 1)?)?;
        let q = num / den;
        let rounded = (q + q.signum() * 5) / 10;
        Some(
            Decimal {
                m: rounded,
                s: target,
            }
            .normalize(),
        )
    }

    /// Integer division (truncated).
    pub fn div_trunc(self, o: Self) -> Option<Self> {
        if o.m == 0 {
            return None;
        }
        let s = self.s.max(o.s);
        let a = self.rescale(s)?;
        let b = o.rescale(s)?;
        Some(Decimal { m: a / b, s: 0 })
    }

    /// Remainder of truncated division.
    pub fn rem(self, o: Self) -> Option<Self> {
        if o.m == 0 {
            return None;
        }
        let s = self.s.max(o.s);
        let a = self.rescale(s)?;
        let b = o.rescale(s)?;
        Some(Decimal { m: a % b, s })
    }

    /// Numeric comparison, ignoring scale.
    pub fn cmp_num(&self, o: &Self) -> Ordering {
        let s = self.s.max(o.s);
        match (self.rescale(s), o.rescale(s)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self
                .to_f64()
                .partial_cmp(&o.to_f64())
                .unwrap_or(Ordering::Equal),
        }
    }
}

impl PartialEq for Decimal {
    fn eq(&self, o: &Self) -> bool {
        self.cmp_num(o) == Ordering::Equal
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.m < 0;
        let digits = self.m.unsigned_abs().to_string();
        let s = self.s as usize;
        let body = if s == 0 {
            digits
        } else if digits.len() > s {
            format!(
                "{}.{}",
                &digits[..digits.len() - s],
                &digits[digits.len() - s..]
            )
        } else {
            format!("0.{}{}", "0".repeat(s - digits.len()), digits)
        };
        if neg {
            write!(f, "-{body}")
        } else {
            f.write_str(&body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_keep_scale() {
        assert_eq!(Decimal::parse("1.50").unwrap().to_string(), "1.50");
        assert_eq!(Decimal::parse("-0.05").unwrap().to_string(), "-0.05");
        assert_eq!(Decimal::parse("1e2").unwrap().to_string(), "100");
        assert!(Decimal::parse("1.").is_none());
        assert!(Decimal::parse("abc").is_none());
    }

    #[test]
    fn arithmetic() {
        let d = |s| Decimal::parse(s).unwrap();
        assert_eq!(d("1.2").div(d("1.8")).unwrap().round(2).to_string(), "0.67");
        assert_eq!(d("1").div(d("3")).unwrap().to_string(), "0.33333333");
        assert!(d("1").div(d("0")).is_none());
        assert_eq!(d("-5.5").round(0).to_string(), "-6");
        assert_eq!(d("-1.5").floor().to_string(), "-2");
        assert_eq!(d("1.1").ceiling().to_string(), "2");
        assert_eq!(d("5.5").rem(d("0.7")).unwrap().to_string(), "0.6");
        assert_eq!(d("2.2").div_trunc(d("1.8")).unwrap().to_string(), "1");
    }
}
