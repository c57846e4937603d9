//! Finding an element's child by JSON property name. The walk looks up
//! every property of every object among its element's children, and
//! properties mostly come in the order of the elements; so the search
//! starts where the previous property's element was, which is exact when
//! no two (non-choice) children share a name: the match is then the only
//! one. Whether they do is computed per structure on first use (not part
//! of artifacts).

use super::{ElemId, Element};

/// For each element, whether the names of its non-choice children are
/// distinct, and a fingerprint of each child's name (compared before the
/// name itself, so a miss costs a load and a comparison per child).
#[derive(Debug, Default)]
pub(crate) struct ChildNames {
    distinct: Vec<bool>,
    /// Fingerprints of all elements' children, element after element.
    prints: Vec<u32>,
    /// Where each element's fingerprints start in `prints`.
    starts: Vec<u32>,
    /// Positions (in `children`) of the children with a minimum
    /// cardinality, element after element: the only absent children the
    /// walk has to look at.
    required: Vec<u32>,
    /// Where each element's positions start in `required`; one more entry
    /// than elements.
    required_starts: Vec<u32>,
}

/// Never the fingerprint of a name (no UTF-8 byte is 0xFF): marks choice
/// children, which a name look-up skips.
const CHOICE: u32 = u32::MAX;

/// Length, first, middle and last byte: equal names have equal prints.
fn fingerprint(name: &str) -> u32 {
    let b = name.as_bytes();
    match b.len() {
        0 => 0,
        n => {
            (n.min(255) as u32)
                | u32::from(b[0]) << 8
                | u32::from(b[n / 2]) << 16
                | u32::from(b[n - 1]) << 24
        }
    }
}

impl ChildNames {
    pub(crate) fn build(elements: &[Element]) -> Self {
        let mut t = ChildNames::default();
        for e in elements {
            t.starts.push(t.prints.len() as u32);
            t.required_starts.push(t.required.len() as u32);
            let mut names = Vec::new();
            for (k, &c) in e.children.iter().enumerate() {
                let child = &elements[c as usize];
                if child.min > 0 {
                    t.required.push(k as u32);
                }
                if child.choice {
                    t.prints.push(CHOICE);
                } else {
                    t.prints.push(fingerprint(&child.name));
                    names.push(child.name.as_str());
                }
            }
            names.sort_unstable();
            t.distinct.push(names.windows(2).all(|w| w[0] != w[1]));
        }
        t.required_starts.push(t.required.len() as u32);
        t
    }

    /// The look-up of the children of `parent` by name.
    pub(crate) fn of<'a>(&'a self, elements: &'a [Element], parent: ElemId) -> ChildLookup<'a> {
        let children = &elements[parent as usize].children;
        let from = self.starts[parent as usize] as usize;
        let p = parent as usize;
        let required = self.required_starts[p] as usize..self.required_starts[p + 1] as usize;
        ChildLookup {
            elements,
            children,
            prints: &self.prints[from..from + children.len()],
            distinct: self.distinct[parent as usize],
            required: &self.required[required],
        }
    }
}

/// Finds the children of one element by JSON property name (made once
/// per object, used for each of its properties).
pub struct ChildLookup<'a> {
    elements: &'a [Element],
    children: &'a [ElemId],
    prints: &'a [u32],
    distinct: bool,
    required: &'a [u32],
}

impl<'a> ChildLookup<'a> {
    /// Positions (in the element's `children`, ascending) of the children
    /// whose minimum cardinality is above zero.
    pub fn required(&self) -> &'a [u32] {
        self.required
    }

    /// The position in the element's `children` of the first child that
    /// is not a choice element and is named `name`, searching from
    /// position `hint` when that gives the same answer (`children[k]` is
    /// the child).
    #[inline]
    pub fn find(&self, name: &str, hint: usize) -> Option<usize> {
        let fp = fingerprint(name);
        let is = |k: usize| {
            self.prints[k] == fp
                && crate::short_eq::eq_str(&self.elements[self.children[k] as usize].name, name)
        };
        let n = self.prints.len();
        let start = if self.distinct { hint.min(n) } else { 0 };
        (start..n)
            .find(|&k| is(k))
            .or_else(|| (0..start).find(|&k| is(k)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(name: &str, choice: bool, children: Vec<ElemId>) -> Element {
        Element {
            name: name.into(),
            choice,
            children,
            ..Default::default()
        }
    }

    /// The scan from the first child.
    fn scan(elements: &[Element], parent: ElemId, name: &str) -> Option<usize> {
        elements[parent as usize]
            .children
            .iter()
            .position(|&c| !elements[c as usize].choice && elements[c as usize].name == name)
    }

    #[test]
    fn same_answers_as_a_scan_from_the_start() {
        // 0: root with a, value[x], b, a (again), value; 3: b with a, c.
        let elements = vec![
            el("Root", false, vec![1, 2, 3, 4, 5]),
            el("a", false, vec![]),
            el("value", true, vec![]),
            el("b", false, vec![6, 7]),
            el("a", false, vec![]),
            el("value", false, vec![]),
            el("a", false, vec![]),
            el("c", false, vec![]),
        ];
        let t = ChildNames::build(&elements);
        assert_eq!(t.distinct[..4], [false, true, true, true]);
        for parent in 0..elements.len() as ElemId {
            for name in ["a", "b", "c", "value", "valueString", "x", "", "Root"] {
                for hint in 0..8 {
                    assert_eq!(
                        t.of(&elements, parent).find(name, hint),
                        scan(&elements, parent, name),
                        "{parent} {name} {hint}"
                    );
                }
            }
        }
    }

    #[test]
    fn required_children_are_listed_by_position() {
        let mut elements = vec![
            el("Root", false, vec![1, 2, 3]),
            el("a", false, vec![]),
            el("b", false, vec![4, 5]),
            el("c", false, vec![]),
            el("d", false, vec![]),
            el("e", false, vec![]),
        ];
        for i in [2, 3, 5] {
            elements[i].min = 1;
        }
        let t = ChildNames::build(&elements);
        let required = |p: ElemId| t.of(&elements, p).required().to_vec();
        assert_eq!(required(0), [1, 2]); // b and c
        assert_eq!(required(2), [1]); // e
        assert!(required(1).is_empty() && required(5).is_empty());
    }
}
