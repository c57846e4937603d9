//! Elements of a profile that add nothing to the base definition of the
//! type they constrain.
//!
//! A profile pass walks a resource again against the profile's snapshot,
//! and a snapshot repeats every element of the base resource, most of
//! them as they are (SHIN-NY's profiles constrain a few elements of each
//! resource and list all the others). Such an element, with everything
//! under it, checks exactly what the base pass checked there: the same
//! cardinality, types, bindings and values, and no constraint of its own
//! (those from base definitions are skipped in a profile pass). After a
//! base pass that found no error, the walker skips them in the profile
//! pass (see `validate::walk`).

use super::{Context, Element, Structure};

/// For each element of `s` (by index): whether it and all elements under
/// it say what the base definition of `s`'s type says at the same path.
/// All `false` for a structure that is not a profile, or whose type has no
/// base definition in `ctx`. Slices, and elements inside slices, are never
/// unchanged (the base has no slices).
pub(super) fn compute(ctx: &Context, s: &Structure) -> Vec<bool> {
    let mut out = vec![false; s.elements.len()];
    if !s.is_profile || s.elements.is_empty() {
        return out;
    }
    let Some((_, base)) = ctx
        .structure_by_type(&s.type_name)
        .filter(|(_, b)| !b.is_profile && !b.elements.is_empty())
    else {
        return out;
    };
    mark(ctx, s, 0, base, 0, &mut out, 0);
    out
}

/// Nesting bound: snapshots are a few levels deep; a malformed one whose
/// children loop is not followed past it.
const MAX_DEPTH: usize = 64;

/// Marks element `pe` of profile `p` (matched with element `be` of `base`)
/// and everything under it; returns whether `pe`'s subtree is unchanged.
fn mark(
    ctx: &Context,
    p: &Structure,
    pe: usize,
    base: &Structure,
    be: usize,
    out: &mut [bool],
    depth: usize,
) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let (x, y) = (&p.elements[pe], &base.elements[be]);
    let mut same = same_rules(ctx, x, y) && x.children.len() == y.children.len();
    for &pc in &x.children {
        let name = &p.elements[pc as usize].name;
        let child_same = y
            .children
            .iter()
            .find(|&&bc| base.elements[bc as usize].name == *name)
            .is_some_and(|&bc| mark(ctx, p, pc as usize, base, bc as usize, out, depth + 1));
        same &= child_same;
    }
    out[pe] = same;
    same
}

/// Whether profile element `x` checks what base element `y` checks, its
/// children aside.
fn same_rules(ctx: &Context, x: &Element, y: &Element) -> bool {
    let same_types = x.types.len() == y.types.len()
        && x.types.iter().zip(&y.types).all(|(a, b)| {
            a.code == b.code && a.profiles == b.profiles && a.target_profiles == b.target_profiles
        });
    let same_binding = match (&x.binding, &y.binding) {
        (None, None) => true,
        (Some(a), Some(b)) => a.strength == b.strength && a.value_set == b.value_set,
        _ => false,
    };
    // A profile pass evaluates only the constraints that come from a
    // profile; with none, it evaluates nothing here.
    let no_own_constraints = x.constraints.iter().all(|&ci| {
        let t = ctx.constraint_traits(ci);
        t.from_base || !t.has_expression
    });
    x.min == y.min
        && x.max == y.max
        && x.choice == y.choice
        && same_types
        && x.slicing.is_none()
        && y.slicing.is_none()
        && x.slices.is_empty()
        && y.slices.is_empty()
        && x.slice_name.is_none()
        && x.content_ref.is_none()
        && y.content_ref.is_none()
        && x.fixed == y.fixed
        && x.pattern == y.pattern
        && x.max_length == y.max_length
        && x.min_value == y.min_value
        && x.max_value == y.max_value
        && same_binding
        && x.is_modifier == y.is_modifier
        && no_own_constraints
}

#[cfg(test)]
mod tests {
    use crate::{Context, ContextBuilder, PackageInfo};

    /// R4 core and US Core 3.1.1 from the shared package cache.
    fn us_core() -> Context {
        let mut b = ContextBuilder::new();
        for folder in ["hl7.fhir.r4.core#4.0.1", "hl7.fhir.us.core#3.1.1"] {
            let dir = format!("../../shared/fhir-packages/{folder}/package");
            let files = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{dir}: {e}"))
                .map(|e| e.expect("entry").path())
                .filter(|p| {
                    let n = p.file_name().unwrap_or_default().to_string_lossy();
                    n.starts_with("StructureDefinition-") && n.ends_with(".json")
                })
                .map(|p| {
                    let name = p.file_name().unwrap_or_default().to_string_lossy().into();
                    (name, std::fs::read(&p).expect("read"))
                })
                .collect();
            let (id, version) = folder.split_once('#').expect("id#version");
            let info = PackageInfo {
                id: id.into(),
                version: version.into(),
                canonical: None,
            };
            b.add_package(info, files);
        }
        b.build()
    }

    /// The unchanged flag of the element at `path` of the structure `url`.
    fn flag(ctx: &Context, url: &str, path: &str) -> bool {
        let (sid, s) = ctx.structure_by_url(url).expect("structure");
        let i = s
            .elements
            .iter()
            .position(|e| e.path == path && e.slice_name.is_none())
            .unwrap_or_else(|| panic!("{path}"));
        ctx.unchanged_elements(sid)[i]
    }

    #[test]
    fn profile_elements_that_add_nothing_are_told_apart() {
        let ctx = us_core();
        let patient = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient";
        // As in R4's Patient, with everything under them.
        for path in [
            "Patient.photo",
            "Patient.link",
            "Patient.link.other",
            "Patient.contact.name",
        ] {
            assert!(flag(&ctx, patient, path), "{path}");
        }
        // Constrained: cardinality (identifier 1..*, name 1..*), a binding
        // (communication.language is extensible in US Core), a child of a
        // changed element, an element whose child is constrained, and
        // `pat-1` on contact, which US Core's snapshot gives without a
        // source (so a profile pass evaluates it as the profile's own).
        for path in [
            "Patient.contact",
            "Patient.identifier",
            "Patient.name",
            "Patient.identifier.system",
            "Patient.communication.language",
            "Patient.communication",
            "Patient",
        ] {
            assert!(!flag(&ctx, patient, path), "{path}");
        }
        // A base definition has nothing to compare with.
        let (sid, _) = ctx.structure_by_type("Patient").expect("Patient");
        assert!(ctx.unchanged_elements(sid).iter().all(|b| !b));
    }
}
