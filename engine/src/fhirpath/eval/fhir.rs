//! FHIR additions (FHIR R4 §2.6.3 / fhirpath.html): extension, hasValue,
//! getValue, resolve, memberOf, conformsTo, htmlChecks.

use super::{coll, copy_coll, Coll};
use super::{typed_root, Call, R};
use crate::fhirpath::host::ResolveContext;
use crate::fhirpath::value::Item;
use crate::json::Node;

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    Some(match name {
        "extension" => (|| {
            let url = c.str_arg(0)?;
            let exts = c.ev.navigate(c.inp, "extension", c.pos)?;
            Ok(match url {
                None => coll![],
                Some(u) => exts
                    .into_iter()
                    .filter(|e| {
                        e.json().and_then(|n| n.get("url")).and_then(Node::as_str) == Some(&*u)
                    })
                    .collect(),
            })
        })(),
        "hasValue" => Ok(coll![Item::Boolean(match c.inp {
            [Item::Node(n)] => n
                .node
                .is_some_and(|v| v.as_object().is_none() && v.as_array().is_none()),
            [] | [Item::Quantity(_)] => false,
            [_] => true,
            _ => false,
        })]),
        "getValue" => Ok(match c.inp {
            [one @ Item::Node(n)] if n.node.is_some_and(|v| v.as_object().is_none()) => {
                one.to_system().into_iter().collect()
            }
            [Item::Node(_)] | [Item::Quantity(_)] => coll![],
            [one] => coll![one.clone()],
            _ => coll![],
        }),
        "resolve" => {
            let ctx = ResolveContext {
                resource: c.ev.input.resource,
                root: c.ev.input.root_resource,
                bundle: c.ev.input.bundle,
            };
            let mut out = Coll::new();
            for it in c.inp {
                let r = match it.to_system() {
                    Some(Item::String(s)) => Some(s),
                    _ => it
                        .json()
                        .and_then(|n| n.get("reference"))
                        .and_then(Node::as_str)
                        .map(str::to_string),
                };
                if let Some(r) = r {
                    if let Some(found) = c.ev.host.resolve(&r, &ctx) {
                        out.push(typed_root(found));
                    }
                }
            }
            Ok(out)
        }
        "memberOf" => (|| {
            let Some(url) = c.str_arg(0)? else {
                return Ok(coll![]);
            };
            // Several codes: true if any is a member, false if none is,
            // empty when the host cannot tell.
            let mut any_unknown = false;
            for it in c.inp {
                match c.ev.host.member_of(it, &url) {
                    Some(true) => return Ok(coll![Item::Boolean(true)]),
                    Some(false) => {}
                    None => any_unknown = true,
                }
            }
            Ok(if c.inp.is_empty() || any_unknown {
                coll![]
            } else {
                coll![Item::Boolean(false)]
            })
        })(),
        "conformsTo" => (|| {
            let Some(url) = c.str_arg(0)? else {
                return Ok(coll![]);
            };
            let mut out = Coll::new();
            for it in c.inp {
                let v = match c.ev.host.conforms_to(it, &url) {
                    Some(v) => v,
                    None => match url.strip_prefix("http://hl7.org/fhir/StructureDefinition/") {
                        Some(t) if c.ev.model.is_none_or(|m| m.is_type(t)) => match it {
                            Item::Node(n) => match c.ev.model {
                                Some(m) => m.is_subtype(&n.type_name, t),
                                None => &*n.type_name == t,
                            },
                            _ => false,
                        },
                        _ => return Err(c.err(format!("cannot check conformance to {url}"))),
                    },
                };
                out.push(Item::Boolean(v));
            }
            Ok(out)
        })(),
        "subsumes" | "subsumedBy" => (|| {
            let other = c.arg(0)?;
            Ok(match (c.inp, other.as_slice()) {
                ([a], [b]) => {
                    let (x, y) = if name == "subsumes" { (a, b) } else { (b, a) };
                    c.ev.host
                        .subsumes(x, y)
                        .map(Item::Boolean)
                        .into_iter()
                        .collect()
                }
                ([], _) | (_, []) => coll![],
                _ => return Err(c.err(format!("{name}() needs single items"))),
            })
        })(),
        "htmlChecks" => Ok(match c.inp {
            [] => coll![],
            [one] => coll![Item::Boolean(
                one.as_system_str().is_some_and(super::narrative::html_ok)
            )],
            _ => coll![Item::Boolean(false)],
        }),
        "checkModifiers" => Ok(copy_coll(c.inp)),
        _ => return None,
    })
}
