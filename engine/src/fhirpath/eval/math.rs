//! Math functions (§5.7).

use super::coll;
use super::{Call, R};
use crate::fhirpath::decimal::Decimal;
use crate::fhirpath::value::Item;

fn num(it: &Item<'_>) -> Option<Decimal> {
    match it {
        Item::Integer(i) => Some(Decimal::from_i64(*i)),
        Item::Decimal(d) => Some(*d),
        _ => None,
    }
}

fn dec<'a>(d: Option<Decimal>) -> R<'a> {
    Ok(d.map(Item::Decimal).into_iter().collect())
}

fn int<'a>(d: Decimal) -> R<'a> {
    Ok(d.to_i64().map(Item::Integer).into_iter().collect())
}

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    if !matches!(
        name,
        "abs"
            | "ceiling"
            | "exp"
            | "floor"
            | "ln"
            | "log"
            | "power"
            | "round"
            | "sqrt"
            | "truncate"
    ) {
        return None;
    }
    Some((|| {
        let Some(v) = c.single()? else {
            return Ok(coll![]);
        };
        if let Item::Quantity(mut q) = v {
            // Rounding-type functions keep the unit.
            q.value = match name {
                "abs" => q.value.abs(),
                "ceiling" => q.value.ceiling(),
                "floor" => q.value.floor(),
                "truncate" => q.value.truncate(),
                "round" => {
                    let p = c.int_arg(0)?.unwrap_or(0);
                    if p < 0 {
                        return Err(c.err("round() precision must be >= 0"));
                    }
                    q.value.round(p as u32)
                }
                _ => return Err(c.err(format!("{name}() needs a number"))),
            };
            return Ok(coll![Item::Quantity(q)]);
        }
        let x = num(&v).ok_or_else(|| c.err(format!("{name}() needs a number")))?;
        match name {
            "abs" => Ok(coll![match v {
                Item::Integer(i) => {
                    Item::Integer(i.checked_abs().ok_or_else(|| c.err("overflow"))?)
                }
                _ => Item::Decimal(x.abs()),
            }]),
            "ceiling" => int(x.ceiling()),
            "floor" => int(x.floor()),
            "truncate" => int(x.truncate()),
            "exp" => dec(Decimal::from_f64(x.to_f64().exp())),
            "ln" => dec(if x.signum() > 0 {
                Decimal::from_f64(x.to_f64().ln())
            } else {
                None
            }),
            "sqrt" => dec(if x.signum() >= 0 {
                Decimal::from_f64(x.to_f64().sqrt())
            } else {
                None
            }),
            "log" => {
                let base = c.arg(0)?;
                let Some(b) = base
                    .first()
                    .and_then(|b| b.to_system())
                    .and_then(|b| num(&b))
                else {
                    return Ok(coll![]);
                };
                dec(Decimal::from_f64(x.to_f64().ln() / b.to_f64().ln()))
            }
            "round" => {
                let p = c.int_arg(0)?.unwrap_or(0);
                if p < 0 {
                    return Err(c.err("round() precision must be >= 0"));
                }
                dec(Some(x.round(p as u32)))
            }
            _ => {
                let e = c.arg(0)?;
                let Some(ev) = e.first().and_then(|b| b.to_system()) else {
                    return Ok(coll![]);
                };
                let y = num(&ev).ok_or_else(|| c.err("power() needs a number"))?;
                if let (Item::Integer(a), Item::Integer(b)) = (&v, &ev) {
                    if *b >= 0 {
                        return Ok(u32::try_from(*b)
                            .ok()
                            .and_then(|b| a.checked_pow(b))
                            .map(Item::Integer)
                            .into_iter()
                            .collect());
                    }
                }
                let r = x.to_f64().powf(y.to_f64());
                dec(if r.is_nan() {
                    None
                } else {
                    Decimal::from_f64(r)
                })
            }
        }
    })())
}
