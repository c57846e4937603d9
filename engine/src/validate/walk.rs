//! The tree walk: matches JSON properties to compiled elements and
//! dispatches each value to the check families. The walker's state and
//! reporting are in `walker.rs`.

use super::references::BundleIndex;
pub(super) use super::walker::{Mode, Walker};
use super::Finding;
use crate::json::{Member, Node, Pos, Value};
use crate::messages as msg;
use crate::model::{ChildLookup, ElemId, Element, Kind, StructId, Structure, TypeRef};
use crate::outcome::{IssueType, Severity};

/// One JSON property matched to an element.
pub(super) struct Matched<'n> {
    elem: ElemId,
    /// Position of `elem` in its parent's `children`.
    child_pos: u32,
    /// The type chosen by a choice suffix (`valueQuantity` → Quantity).
    type_idx: Option<usize>,
    key: &'n str,
    value: Option<&'n Member>,
    ext: Option<&'n Member>,
}

impl<'a> Walker<'a> {
    /// Validates a resource: base type, then profiles. `nested` is false for
    /// the top-level resource; nested resources (entries, contained) are
    /// entered with the walker's path pointing at their element.
    pub fn validate_resource(&mut self, node: &'a Node, nested: bool, extra_profiles: &[String]) {
        if node.as_object().is_none() {
            self.error(
                IssueType::Structure,
                msg::RESOURCE_TYPE_MISSING,
                format!(
                    "A resource must be a JSON object, found {}",
                    node.kind_name()
                ),
                node.pos,
            );
            return;
        }
        let rt = match node.get("resourceType") {
            Some(Node {
                value: Value::String(s),
                ..
            }) => s.to_string(),
            Some(other) => {
                self.error(
                    IssueType::Structure,
                    msg::RESOURCE_TYPE_MISSING,
                    format!("resourceType must be a string, found {}", other.kind_name()),
                    other.pos,
                );
                return;
            }
            None => {
                self.error(
                    IssueType::Structure,
                    msg::RESOURCE_TYPE_MISSING,
                    "The JSON object has no resourceType property, so it is not a FHIR resource"
                        .into(),
                    node.pos,
                );
                return;
            }
        };
        let Some((sid, base)) = self
            .ctx
            .structure_by_type(&rt)
            .filter(|(_, s)| s.kind == Kind::Resource)
        else {
            let pos = node.get("resourceType").map(|n| n.pos).unwrap_or(node.pos);
            self.error(
                IssueType::NotSupported,
                msg::RESOURCE_TYPE_UNKNOWN,
                format!("Unknown resource type '{rt}'"),
                pos,
            );
            return;
        };

        let saved_path = self.path.len();
        if nested {
            self.path.push_str(&format!(".ofType({rt})"));
        } else {
            self.path.push_str(&rt);
        }
        let saved_rt = std::mem::replace(&mut self.resource_type, rt.clone());
        let saved_profile = self.profile.replace(base.url.clone());
        let saved_mode = self.mode;

        self.resources.push(node);
        let saved_index = self.index.clone();
        if rt == "Bundle" {
            self.index = Some(std::rc::Rc::new(BundleIndex::build(node)));
        }
        self.mode = Mode::Base;
        let base_start = self.issue_count();
        self.walk_object(node, sid, 0, true);
        if rt == "Bundle" {
            super::bundle::check_bundle(self, node);
        }
        if rt == "QuestionnaireResponse" {
            super::questionnaire::check(self, node);
        }
        let saved_skip = self.skip_base_types;
        self.skip_base_types = !self.exhaustive_conformance && !self.has_errors_since(base_start);

        // Profiles from meta.profile, then the caller's.
        let mut profiles: Vec<(String, Pos)> = node
            .get("meta")
            .and_then(|m| m.get("profile"))
            .and_then(Node::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| Some((p.as_str()?.to_string(), p.pos)))
                    .collect()
            })
            .unwrap_or_default();
        profiles.extend(extra_profiles.iter().map(|p| (p.clone(), node.pos)));
        let mut done: Vec<StructId> = vec![sid];
        for (url, pos) in profiles {
            match self.ctx.structure_by_url(&url) {
                None => {
                    self.report(Finding {
                        severity: Severity::Warning,
                        code: IssueType::NotFound,
                        id: msg::PROFILE_UNKNOWN,
                        text: format!(
                            "Profile '{url}' is not known to this validation context, so the resource was not checked against it"
                        ),
                        pos,
                    });
                }
                Some((pid, p)) => {
                    if done.contains(&pid) {
                        continue;
                    }
                    done.push(pid);
                    if p.type_name != rt || p.kind != Kind::Resource {
                        self.error(
                            IssueType::Invalid,
                            msg::PROFILE_WRONG_TYPE,
                            format!("Profile '{url}' is for {}, not {rt}", p.type_name),
                            pos,
                        );
                        continue;
                    }
                    self.profile = Some(p.url.clone());
                    self.mode = Mode::Profile;
                    self.profile_pass(node, pid);
                }
            }
        }

        self.skip_base_types = saved_skip;
        self.index = saved_index;
        self.resources.pop();
        self.mode = saved_mode;
        self.profile = saved_profile;
        self.resource_type = saved_rt;
        self.path.truncate(saved_path);
    }

    /// Whether `(sid, eid)` describes its content itself (children or a
    /// content reference within its structure) rather than through the
    /// base structure of its type.
    fn profile_shapes(&self, sid: StructId, eid: ElemId) -> bool {
        let el = &self.ctx.structure(sid).elements[eid as usize];
        !el.children.is_empty() || el.content_ref.is_some()
    }

    /// The element whose children describe the content of `(sid, eid)`
    /// holding a value of type `type_code`.
    fn content_of(
        &self,
        sid: StructId,
        eid: ElemId,
        ty: Option<&TypeRef>,
    ) -> Option<(StructId, ElemId)> {
        let s = self.ctx.structure(sid);
        let el = &s.elements[eid as usize];
        if !el.children.is_empty() {
            return Some((sid, eid));
        }
        if let Some(cr) = el.content_ref {
            return Some((sid, cr));
        }
        let (tsid, _) = self.ctx.type_structure(ty?)?;
        Some((tsid, 0))
    }

    /// Validates a JSON object against the children of `(sid, eid)`.
    pub fn walk_object(&mut self, node: &'a Node, sid: StructId, eid: ElemId, resource_root: bool) {
        let Some(members) = node.as_object() else {
            return;
        };
        let ctx = self.ctx;
        let s: &'a Structure = ctx.structure(sid);
        let el = &s.elements[eid as usize];
        if members.is_empty() && self.mode == Mode::Base {
            self.error(
                IssueType::Structure,
                msg::JSON_EMPTY,
                "Objects must have some content; empty objects are not allowed in FHIR JSON".into(),
                node.pos,
            );
            return;
        }
        let children = &el.children;
        let primitive_ext = s.kind == Kind::Primitive && eid == 0;
        // Constraints of a type's or resource's root element (per-1,
        // dom-2, a profile's resource-level rules); element-level ones are
        // evaluated by the caller on each value.
        if eid == 0 && s.kind != Kind::Primitive && !self.skip_invariants {
            super::invariants::check(self, &el.constraints, Some(node), None, &s.type_name);
        }

        // Match properties to elements.
        // A recycled buffer: one allocation per nesting depth, not per object.
        let mut matched: Vec<Matched<'a>> = self.matched_pool.pop().unwrap_or_default();
        matched.clear();
        let mut wrong_type: Vec<ElemId> = Vec::new();
        let saved_full_url = self.full_url;
        if el.path == "Bundle.entry" {
            self.full_url = node.get("fullUrl").and_then(Node::as_str);
        }
        let lookup = s.children_by_name(eid);
        // Where to start looking for the next property's element.
        let mut hint = 0;
        for (i, m) in members.iter().enumerate() {
            let key: &str = &m.key;
            // A duplicate key is found through its slot when it names an
            // element (the slot already holds that part), else by comparing
            // it with the keys before it: the same keys as comparing every
            // key with all before it, without the quadratic scan.
            let base = self.mode == Mode::Base;
            if resource_root && key == "resourceType" {
                if base && is_duplicate(members, i) {
                    self.report_duplicate(m);
                }
                continue;
            }
            let (is_ext, name) = match key.strip_prefix('_') {
                Some(rest) => (true, rest),
                None => (false, key),
            };
            match find_child(s, children, &lookup, name, primitive_ext, hint) {
                Some((child_pos, elem, type_idx)) => {
                    hint = child_pos as usize + 1;
                    // A name decides its element and choice type, and they
                    // decide the name, so slots are found by them.
                    let slot = match matched
                        .iter()
                        .position(|x| x.elem == elem && x.type_idx == type_idx)
                    {
                        Some(x) => &mut matched[x],
                        None => {
                            matched.push(Matched {
                                elem,
                                child_pos,
                                type_idx,
                                key: name,
                                value: None,
                                ext: None,
                            });
                            matched.last_mut().expect("just pushed")
                        }
                    };
                    let part = if is_ext {
                        &mut slot.ext
                    } else {
                        &mut slot.value
                    };
                    if base && part.is_some() {
                        self.report_duplicate(m);
                        continue;
                    }
                    *part = Some(m);
                }
                None => {
                    if base && is_duplicate(members, i) {
                        self.report_duplicate(m);
                        continue;
                    }
                    if let Some(c) = self.report_unmatched(s, children, name, m) {
                        wrong_type.push(c);
                    }
                }
            }
        }

        // Choice elements given with more than one type.
        for (i, a) in matched.iter().enumerate() {
            if matched[..i].iter().any(|b| b.elem == a.elem) && self.mode == Mode::Base {
                let e = &s.elements[a.elem as usize];
                let pos = a.value.or(a.ext).map(|m| m.key_pos).unwrap_or(node.pos);
                let name = e.name.clone();
                self.with_segment(&name, |w| {
                    w.error(
                        IssueType::Structure,
                        msg::CHOICE_MULTIPLE,
                        format!(
                            "Only one type of the choice element {}[x] is allowed; found more than one",
                            e.name
                        ),
                        pos,
                    )
                });
            }
        }

        // Cardinality and content, element by element: the properties in
        // the order of their elements (a stable sort keeps document order
        // within one element), so each child takes its run of `matched`.
        // Only children given or required are visited: an absent optional
        // child has nothing to check.
        matched.sort_by_key(|m| m.child_pos);
        let required = lookup.required();
        // After a base pass without errors, a profile's elements that say
        // what the base says (the unchanged ones of `model::unchanged`)
        // could only repeat that pass's findings: none, and no error.
        let unchanged: &[bool] = if self.mode == Mode::Profile && self.skip_base_types {
            ctx.unchanged_elements(sid)
        } else {
            &[]
        };
        let (mut next, mut r) = (0, 0);
        loop {
            let k = match (matched.get(next), required.get(r)) {
                (None, None) => break,
                (Some(m), None) => m.child_pos as usize,
                (None, Some(&q)) => q as usize,
                (Some(m), Some(&q)) => (m.child_pos as usize).min(q as usize),
            };
            if required.get(r) == Some(&(k as u32)) {
                r += 1;
            }
            let c = children[k];
            let e = &s.elements[c as usize];
            let start = next;
            while next < matched.len() && matched[next].child_pos as usize == k {
                next += 1;
            }
            if start == next && e.min == 0 {
                continue; // absent and optional: nothing to check
            }
            if primitive_ext && e.name == "value" {
                continue;
            }
            if unchanged.get(c as usize) == Some(&true) {
                continue;
            }
            let mut count = 0usize;
            let mut found = 0usize;
            let mut first_key = None;
            for m in &matched[start..next] {
                count += self.visit_property(sid, e, c, m, resource_root);
                found += 1;
                first_key.get_or_insert(m.key);
            }
            if e.choice && found > 1 {
                count = 1; // CHOICE_MULTIPLE already said it
            }
            if count == 0 && wrong_type.contains(&c) {
                continue; // CHOICE_TYPE_NOT_ALLOWED already said it
            }
            super::cardinality::check(self, node, e, count, first_key);
        }
        self.full_url = saved_full_url;
        self.matched_pool.push(matched);
    }

    /// Validates one property (value and `_` extension part); returns the
    /// number of occurrences for cardinality.
    fn visit_property(
        &mut self,
        sid: StructId,
        e: &'a Element,
        eid: ElemId,
        m: &Matched<'a>,
        resource_root: bool,
    ) -> usize {
        let ty = match m.type_idx {
            Some(i) => e.types.get(i),
            None => e.types.first(),
        };
        // R4 types Resource.id as a plain string, but logical ids have the
        // `id` format (the HL7 validator checks it too).
        let type_struct = match ty {
            Some(_) if resource_root && e.name == "id" => self.ctx.structure_by_type("id"),
            Some(t) => self.ctx.type_structure(t),
            None => None,
        };
        let is_primitive = type_struct.is_some_and(|(_, s)| s.kind == Kind::Primitive);
        let is_resource = type_struct.is_some_and(|(_, s)| s.kind == Kind::Resource);
        let repeats = e.max > 1;
        let saved = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(&e.name);
        if e.choice {
            self.path.push_str(".ofType(");
            self.path
                .push_str(ty.map(|t| t.code.as_str()).unwrap_or(""));
            self.path.push(')');
        }

        let values: Items<'a> = match m.value.map(|v| &v.value) {
            None => Items::Empty,
            Some(
                n @ Node {
                    value: Value::Array(items),
                    ..
                },
            ) => {
                if !repeats && self.mode == Mode::Base {
                    self.error(
                        IssueType::Structure,
                        msg::JSON_ARRAY_NOT_ALLOWED,
                        format!("The property {} must be a single value, not an array (max cardinality 1)", m.key),
                        n.pos,
                    );
                }
                if items.is_empty() && self.mode == Mode::Base {
                    self.error(
                        IssueType::Structure,
                        msg::JSON_EMPTY,
                        "Arrays must have some content; empty arrays are not allowed in FHIR JSON"
                            .into(),
                        n.pos,
                    );
                }
                Items::Many(items)
            }
            Some(n) => {
                if repeats && self.mode == Mode::Base {
                    self.error(
                        IssueType::Structure,
                        msg::JSON_ARRAY_EXPECTED,
                        format!("The property {} repeats (max cardinality {}), so its value must be a JSON array", m.key, max_text(e.max)),
                        n.pos,
                    );
                }
                if matches!(n.value, Value::Null) {
                    if self.mode == Mode::Base && m.ext.is_none() {
                        self.error(
                            IssueType::Structure,
                            msg::JSON_NULL,
                            format!(
                                "The property {} is null; null is not allowed here in FHIR JSON",
                                m.key
                            ),
                            n.pos,
                        );
                    }
                    Items::One(None)
                } else {
                    Items::One(Some(n))
                }
            }
        };
        let exts: Items<'a> = match m.ext.map(|x| &x.value) {
            None => Items::Empty,
            Some(Node {
                value: Value::Array(items),
                ..
            }) => Items::Many(items),
            Some(n) => Items::One(Some(n)),
        };
        if let (Some(x), false, Mode::Base) = (m.ext, is_primitive, self.mode) {
            self.error(
                IssueType::Structure,
                msg::ELEMENT_UNKNOWN,
                format!(
                    "The property _{} is only allowed for primitive types, and {} is not primitive",
                    m.key, m.key
                ),
                x.key_pos,
            );
        }
        if is_primitive && self.mode == Mode::Base {
            // The item lists matter only when both `x` and `_x` are given.
            let (vs, xs) = if m.value.is_some() && m.ext.is_some() {
                (values.to_vec(), exts.to_vec())
            } else {
                (Vec::new(), Vec::new())
            };
            super::primitive::check_alignment(self, m.value, m.ext, &vs, &xs);
        }

        let assignment = if e.slicing.is_some() && !e.slices.is_empty() {
            let item_type = if e.choice {
                ty.map(|t| t.code.as_str())
            } else {
                None
            };
            let pos = m.value.map(|v| v.key_pos).unwrap_or_default();
            super::slicing::assign(self, sid, e, &values.to_vec(), item_type, pos)
        } else {
            None
        };
        let n = values.len().max(if is_primitive { exts.len() } else { 0 });
        let mut count = 0;
        for i in 0..n {
            let v = values.get(i);
            let x = if is_primitive { exts.get(i) } else { None };
            if v.is_none() && x.is_none() {
                continue;
            }
            count += 1;
            let seg_len = self.path.len();
            if repeats || values.len() > 1 {
                self.push_index(i);
            }
            if let Some(v) = v {
                if is_resource {
                    if self.mode == Mode::Base {
                        let saved_mode = self.mode;
                        self.validate_resource(v, true, &[]);
                        self.mode = saved_mode;
                    }
                } else if is_primitive {
                    let (_, ts) = type_struct.expect("primitive has a structure");
                    let well_formed =
                        self.mode == Mode::Profile || super::primitive::check_value(self, v, ts);
                    super::values::check(self, v, e);
                    if well_formed {
                        super::bindings::check(self, v, e, &ts.type_name);
                    }
                } else if let Some(obj_ok) = self.expect_object(v) {
                    if obj_ok {
                        super::values::check(self, v, e);
                        let slice = assignment
                            .as_ref()
                            .and_then(|a| a.get(i).copied().flatten());
                        self.walk_content(v, sid, e, eid, ty, slice);
                    }
                }
            }
            if !self.skip_invariants {
                // Backbone elements are typed by their path in FHIRPath
                // (`Bundle.entry`), others by their type.
                let type_name = match (ty.map(|t| t.code.as_str()), type_struct) {
                    (Some("BackboneElement" | "Element"), _) => match e.content_ref {
                        Some(cr) => self.ctx.structure(sid).elements[cr as usize].path.as_str(),
                        None => e.path.as_str(),
                    },
                    (_, Some((_, ts))) => ts.type_name.as_str(),
                    (code, None) => code.unwrap_or(""),
                };
                super::invariants::check(self, &e.constraints, v, x, type_name);
                if let Some(sl) = v
                    .and(assignment.as_ref())
                    .and_then(|a| a.get(i).copied().flatten())
                {
                    let se = &self.ctx.structure(sid).elements[sl as usize];
                    super::invariants::check(self, &se.constraints, v, x, type_name);
                }
            }
            let skip_ext = self.mode == Mode::Profile && self.skip_base_types;
            if let (Some(x), Some((tsid, _)), false) = (x, type_struct, skip_ext) {
                if self.expect_object(x) == Some(true) {
                    self.walk_object(x, tsid, 0, false);
                }
            }
            self.path.truncate(seg_len);
        }
        self.path.truncate(saved);
        count
    }

    /// Walks a complex value against its content: the slice it matched (its
    /// children, else its type profile), else the element's own children,
    /// else its type (or type profile) structure. Extensions are walked
    /// against their definition found by URL (`extensions` module), so a
    /// profile pass does not walk them again.
    fn walk_content(
        &mut self,
        v: &'a Node,
        sid: StructId,
        e: &'a Element,
        eid: ElemId,
        ty: Option<&'a TypeRef>,
        slice: Option<ElemId>,
    ) {
        let s = self.ctx.structure(sid);
        if let Some(t) = ty {
            super::bindings::check(self, v, e, &t.code);
            if let Some(sl) = slice {
                super::bindings::check(self, v, &s.elements[sl as usize], &t.code);
            }
        }
        if let Some(t) = ty.filter(|t| t.code == "Reference") {
            let t = match slice {
                Some(sl) => s.elements[sl as usize].types.first().unwrap_or(t),
                None => t,
            };
            super::references::check_reference(self, v, t);
        }
        let is_extension = super::slicing::is_extension(e);
        // Extensions with an absolute url were checked against their own
        // definition in the base pass; parts of complex extensions (relative
        // urls) are checked here, through their slice. (Only extensions
        // look their url up.)
        let by_url = is_extension
            && v.get("url")
                .and_then(Node::as_str)
                .is_some_and(|u| memchr::memchr(b':', u.as_bytes()).is_some());
        if is_extension && by_url && self.mode == Mode::Profile {
            if let Some(sl) = slice {
                super::values::check(self, v, &s.elements[sl as usize]);
            }
            return;
        }
        if let Some(sl) = slice {
            let se = &s.elements[sl as usize];
            super::values::check(self, v, se);
            if !se.children.is_empty() {
                self.walk_object(v, sid, sl, false);
                return;
            }
            if let Some((psid, _)) = se
                .types
                .iter()
                .flat_map(|t| t.profiles.iter())
                .find_map(|p| self.ctx.structure_by_url(p))
            {
                self.walk_object(v, psid, 0, false);
                return;
            }
        }
        let enclosing = is_extension && by_url && self.mode == Mode::Base;
        if enclosing {
            if let Some(u) = v.get("url").and_then(Node::as_str) {
                self.extension_urls.push(u);
            }
        }
        if self.mode == Mode::Profile && self.skip_base_types && !self.profile_shapes(sid, eid) {
            // The content is a base datatype, walked against that same
            // definition by the base pass, which found no error: a
            // profile pass there could only repeat (a subset of) its
            // findings, and the pass's verdict would not change.
            return;
        }
        if let Some((csid, ceid)) = self.content_of(sid, eid, ty) {
            self.walk_object(v, csid, ceid, false);
        }
        if enclosing {
            self.extension_urls.pop();
        }
        if is_extension && self.mode == Mode::Base {
            super::extensions::check(self, v, e);
        }
    }

    /// Reports a non-object where an object is needed; `Some(true)` when it
    /// is an object.
    fn expect_object(&mut self, v: &'a Node) -> Option<bool> {
        if v.as_object().is_some() {
            return Some(true);
        }
        if self.mode == Mode::Base {
            self.error(
                IssueType::Structure,
                msg::JSON_TYPE,
                format!("This property must be a JSON object, not {}", v.kind_name()),
                v.pos,
            );
        }
        Some(false)
    }

    pub(super) fn with_segment(&mut self, seg: &str, f: impl FnOnce(&mut Self)) {
        let saved = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(seg);
        f(self);
        self.path.truncate(saved);
    }

    fn report_duplicate(&mut self, m: &Member) {
        let key: &str = &m.key;
        self.with_segment(key, |w| {
            w.error(
                IssueType::Structure,
                msg::JSON_DUPLICATE_KEY,
                format!("Duplicate JSON property '{key}'"),
                m.key_pos,
            )
        });
    }

    /// Reports a property no child element matches: a choice element given
    /// with a type it (or, in a profile pass, the profile) does not allow,
    /// or (base pass only) an unknown property. Returns the choice element
    /// hit, whose cardinality is then not reported a second time.
    fn report_unmatched(
        &mut self,
        s: &Structure,
        children: &[ElemId],
        name: &str,
        m: &Member,
    ) -> Option<ElemId> {
        let key = m.key.to_string();
        let choice = children.iter().copied().find(|&c| {
            let e = &s.elements[c as usize];
            e.choice && name.len() > e.name.len() && name.starts_with(e.name.as_str())
        });
        let Some(c) = choice else {
            if self.mode == Mode::Base {
                let text = format!("Unrecognized property '{key}'");
                self.with_segment(&key, |w| {
                    w.error(IssueType::Structure, msg::ELEMENT_UNKNOWN, text, m.key_pos)
                });
            }
            return None;
        };
        let e = &s.elements[c as usize];
        let allowed: Vec<&str> = e.types.iter().map(|t| t.code.as_str()).collect();
        let text = format!(
            "{} type '{}' for {}[x] (allowed: {})",
            if self.mode == Mode::Base {
                "The element does not allow"
            } else {
                "The profile does not allow"
            },
            &name[e.name.len()..],
            e.name,
            allowed.join(", ")
        );
        self.with_segment(&key, |w| {
            w.error(
                IssueType::Structure,
                msg::CHOICE_TYPE_NOT_ALLOWED,
                text,
                m.key_pos,
            )
        });
        Some(c)
    }
}

/// The items of one property, without copying them: none, a single value
/// (`None` for JSON null) or an array (null items read as `None`).
#[derive(Clone, Copy)]
enum Items<'a> {
    Empty,
    One(Option<&'a Node>),
    Many(&'a [Node]),
}

impl<'a> Items<'a> {
    fn len(&self) -> usize {
        match self {
            Items::Empty => 0,
            Items::One(_) => 1,
            Items::Many(items) => items.len(),
        }
    }

    fn get(&self, i: usize) -> Option<&'a Node> {
        match self {
            Items::Empty => None,
            Items::One(v) => v.filter(|_| i == 0),
            Items::Many(items) => items.get(i).filter(|n| !matches!(n.value, Value::Null)),
        }
    }

    fn to_vec(self) -> Vec<Option<&'a Node>> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }
}

pub(super) fn max_text(max: u32) -> String {
    if max == crate::model::UNBOUNDED {
        "*".into()
    } else {
        max.to_string()
    }
}

/// Finds the element for a JSON property name among `children` (looked up
/// by `lookup`), with its position among them; for choice elements also
/// returns which type the suffix picked. Runs for every property: the
/// look-up by name stays inline, choice suffixes are matched out of line.
#[inline]
fn find_child(
    s: &Structure,
    children: &[ElemId],
    lookup: &ChildLookup<'_>,
    name: &str,
    skip_value: bool,
    hint: usize,
) -> Option<(u32, ElemId, Option<usize>)> {
    if let Some(k) = lookup.find(name, hint) {
        if skip_value && name == "value" {
            return None;
        }
        return Some((k as u32, children[k], None));
    }
    find_choice_child(s, children, name)
}

/// The choice element whose name and type suffix spell `name`.
#[inline(never)]
fn find_choice_child(
    s: &Structure,
    children: &[ElemId],
    name: &str,
) -> Option<(u32, ElemId, Option<usize>)> {
    for (k, &c) in children.iter().enumerate() {
        let e = &s.elements[c as usize];
        if e.choice && name.len() > e.name.len() && name.starts_with(e.name.as_str()) {
            let suffix = &name[e.name.len()..];
            if let Some(i) = e
                .types
                .iter()
                .position(|t| type_suffix_matches(&t.code, suffix))
            {
                return Some((k as u32, c, Some(i)));
            }
        }
    }
    None
}

/// Whether member `i` repeats the key of an earlier member.
fn is_duplicate(members: &[Member], i: usize) -> bool {
    members[..i]
        .iter()
        .any(|o| crate::short_eq::eq_str(&o.key, &members[i].key))
}

/// `valueDateTime` ↔ `dateTime`, `valueQuantity` ↔ `Quantity`.
fn type_suffix_matches(code: &str, suffix: &str) -> bool {
    let mut a = code.chars();
    let mut b = suffix.chars();
    match (a.next(), b.next()) {
        (Some(x), Some(y)) if x.to_ascii_uppercase() == y => a.as_str() == b.as_str(),
        _ => false,
    }
}
