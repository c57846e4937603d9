//! Combining (§5.4): union, combine.

use super::seen::distinct;
use super::{copy_coll, Call, R};

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    Some(match name {
        "union" | "combine" => (|| {
            let other = c.arg(0)?;
            c.ev.check_size(c.inp.len() + other.len(), c.pos)?;
            let mut all = copy_coll(c.inp);
            all.extend(other);
            Ok(if name == "union" { distinct(all) } else { all })
        })(),
        _ => return None,
    })
}
