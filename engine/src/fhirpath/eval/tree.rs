//! Tree navigation (§5.8): children, descendants.

use super::{copy_coll, Coll};
use super::{Call, R};

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    Some(match name {
        "children" => (|| {
            let mut out = Coll::new();
            for it in c.inp {
                c.ev.children_of(it, &mut out);
                c.ev.check_size(out.len(), c.pos)?;
            }
            Ok(out)
        })(),
        "descendants" => (|| {
            // Iterative walk: a JSON tree is finite and acyclic.
            let mut out = Coll::new();
            let mut frontier = copy_coll(c.inp);
            while !frontier.is_empty() {
                let mut next = Coll::new();
                for it in &frontier {
                    c.ev.children_of(it, &mut next);
                }
                c.ev.tick(next.len() as u64, c.pos)?;
                out.extend(next.iter().cloned());
                c.ev.check_size(out.len(), c.pos)?;
                frontier = next;
            }
            Ok(out)
        })(),
        _ => return None,
    })
}
