//! "Does this resource conform to that profile?", asked by profile
//! slicing (Bundle entries), reference target profiles and `conformsTo()`,
//! and the main walk's own profile pass over the same resource.
//!
//! Each (resource, profile) pair gets one profile pass per document. A pass
//! run for a conformance question keeps its issues (with expressions
//! relative to the resource) so that the main walk, when it reaches the
//! resource, replays them under its own path instead of walking again. And
//! a resource that conforms to a profile in its `meta.profile` conforms to
//! that profile's ancestors: SHIN-NY's references name the SDOH CC and US
//! Core profiles that its own profiles derive from.

use super::walk::Walker;
use crate::fxhash::FxHashMap;
use crate::json::Node;
use crate::model::StructId;
use crate::outcome::{InvariantStats, Issue};
use std::cell::RefCell;
use std::rc::Rc;

/// The outcome of one profile pass over one resource.
struct Pass {
    ok: bool,
    /// Issues and invariant counts of a pass the main walk has not made
    /// yet; `None` once it has been replayed or when the main walk made
    /// the pass itself, or when the pass leaned on a pair still being
    /// computed (a reference cycle), whose answer was only assumed.
    replay: Option<(Vec<Issue>, InvariantStats)>,
}

/// Conformance results of one document, shared by a walker and its
/// sub-walkers. A pair already being computed (a reference cycle) counts as
/// conforming rather than recursing.
#[derive(Default)]
pub(super) struct State {
    passes: FxHashMap<(usize, StructId), Option<Pass>>,
    /// How many times a pair still being computed was taken as conforming.
    assumed: u64,
}

pub(super) type ConformanceCache = Rc<RefCell<State>>;

fn key(node: &Node, pid: StructId) -> (usize, StructId) {
    (node as *const Node as usize, pid)
}

impl<'a> Walker<'a> {
    /// Does `node` (a resource) conform to `profile`? Runs a profile pass in
    /// a sub-walker set up as the main walk would be at that resource, and
    /// looks for errors.
    pub(super) fn conforms(&mut self, node: &'a Node, profile: &str) -> bool {
        let Some((pid, p)) = self.ctx.structure_by_url(profile) else {
            return false;
        };
        let rt = node.get("resourceType").and_then(Node::as_str);
        if let Some(rt) = rt {
            if p.type_name != rt && p.type_name != "Resource" && p.type_name != "DomainResource" {
                return false;
            }
        }
        let k = key(node, pid);
        let cache = self.conformance_cache();
        {
            let mut state = cache.borrow_mut();
            match state.passes.get(&k) {
                Some(Some(pass)) => return pass.ok,
                Some(None) => {
                    state.assumed += 1;
                    return true;
                }
                None => {}
            }
            state.passes.insert(k, None);
        }
        if !self.exhaustive_conformance && self.conforms_to_derived(node, pid) {
            cache.borrow_mut().passes.insert(
                k,
                Some(Pass {
                    ok: true,
                    replay: None,
                }),
            );
            return true;
        }
        let assumed_before = cache.borrow().assumed;
        let rt = rt.unwrap_or(&p.type_name);
        let mut sub = self.sub_walker_at(node, rt, &p.url);
        sub.walk_object(node, pid, 0, true);
        let ok = !sub.has_errors_since(0);
        let mut state = cache.borrow_mut();
        let sound = state.assumed == assumed_before;
        let (issues, stats) = sub.into_parts();
        state.passes.insert(
            k,
            Some(Pass {
                ok,
                replay: sound.then_some((issues, stats)),
            }),
        );
        ok
    }

    /// The main walk's profile pass of `node` against `pid` (the walker is
    /// at the resource, in profile mode, attributing issues to the
    /// profile): replays a pass already made for a conformance question, or
    /// walks and records the answer for later questions.
    pub(super) fn profile_pass(&mut self, node: &'a Node, pid: StructId) {
        let k = key(node, pid);
        let cache = self.conformance_cache();
        let replay = match cache.borrow_mut().passes.get_mut(&k) {
            Some(Some(pass)) => pass.replay.take(),
            _ => None,
        };
        if let Some((issues, stats)) = replay {
            self.replay(issues, &stats);
            return;
        }
        let start = self.issue_count();
        self.walk_object(node, pid, 0, true);
        let ok = !self.has_errors_since(start);
        cache
            .borrow_mut()
            .passes
            .entry(k)
            .or_insert(Some(Pass { ok, replay: None }));
    }

    /// Does `node` conform to a profile in its `meta.profile` that derives
    /// from `pid`? A profile only constrains its base, so that answers for
    /// `pid` too; and the pass made here is the one the main walk replays.
    /// SHIN-NY's reference targets name the SDOH CC and US Core profiles
    /// that its own profiles, in every entry's `meta.profile`, derive from.
    fn conforms_to_derived(&mut self, node: &'a Node, pid: StructId) -> bool {
        let Some(listed) = node
            .get("meta")
            .and_then(|m| m.get("profile"))
            .and_then(Node::as_array)
        else {
            return false;
        };
        listed.iter().filter_map(Node::as_str).any(|url| {
            self.ctx
                .structure_by_url(url)
                .is_some_and(|(sid, _)| sid != pid && self.ctx.derives_from(sid, pid))
                && self.conforms(node, url)
        })
    }
}
