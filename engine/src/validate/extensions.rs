//! Extensions: each `extension` / `modifierExtension` item is validated
//! against the definition its `url` names; unknown extensions are a warning
//! (configurable), unknown modifier extensions an error.

use super::walk::{Mode, Walker};
use crate::json::Node;
use crate::messages as msg;
use crate::model::{Element, ExtensionContext, Structure};
use crate::outcome::{IssueType, Severity};

/// What to do with an extension whose definition is not in the context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownExtensions {
    /// Report a warning (the default).
    #[default]
    Warning,
    /// Report an error.
    Error,
    /// Say nothing.
    Ignore,
}

/// Checks one extension item (already walked against the base Extension
/// structure by the caller).
pub(super) fn check<'a>(w: &mut Walker<'a>, item: &'a Node, e: &Element) {
    let Some(url_node) = item.get("url") else {
        return; // Extension.url is 1..1: the cardinality check reports it
    };
    let Some(url) = url_node.as_str() else { return };
    // Relative urls name the parts of a complex extension; the enclosing
    // extension's definition (its slices) validates them.
    if !url.contains(':') && e.path.starts_with("Extension.") {
        return;
    }
    let modifier = e.name == "modifierExtension";
    let Some((sid, def)) = w.ctx.structure_by_url(url) else {
        let policy = w.unknown_extensions();
        let saved = w.path.len();
        w.path.push_str(".url");
        if modifier {
            w.report_at(
                Severity::Error,
                IssueType::NotSupported,
                msg::MODIFIER_EXTENSION_UNKNOWN,
                format!(
                    "The modifier extension '{url}' is not known to this validation context; a modifier extension that is not understood makes the resource unsafe to process"
                ),
                url_node.pos,
            );
        } else if policy != UnknownExtensions::Ignore {
            w.report_at(
                if policy == UnknownExtensions::Error { Severity::Error } else { Severity::Warning },
                IssueType::NotFound,
                msg::EXTENSION_UNKNOWN,
                format!("The extension '{url}' is not known to this validation context, so its content was not checked"),
                url_node.pos,
            );
        }
        w.path.truncate(saved);
        return;
    };
    if def.type_name != "Extension" {
        w.error(
            IssueType::Structure,
            msg::EXTENSION_UNKNOWN,
            format!(
                "The url '{url}' names a {} definition, not an extension",
                def.type_name
            ),
            url_node.pos,
        );
        return;
    }
    let def_is_modifier = def.elements.first().is_some_and(|r| r.is_modifier);
    if def_is_modifier != modifier {
        w.error(
            IssueType::Structure,
            msg::EXTENSION_MODIFIER_MISMATCH,
            if def_is_modifier {
                format!("The extension '{url}' is a modifier extension and must be in modifierExtension")
            } else {
                format!("The extension '{url}' is not a modifier extension and must not be in modifierExtension")
            },
            url_node.pos,
        );
    }
    check_context(w, url, def, e, url_node);
    w.with_profile_pass(url, |w| w.walk_object(item, sid, 0, false));
}

/// The extension's definition must allow the place it is used: an
/// `element` context names the element path (`Patient.address`), the
/// container's type or one of its ancestors (`Address`, `Element`); an
/// `extension` context names an enclosing extension. `fhirpath` contexts
/// are not evaluated: such a definition is accepted anywhere.
fn check_context(w: &mut Walker<'_>, url: &str, def: &Structure, e: &Element, url_node: &Node) {
    if def.contexts.is_empty() || def.contexts.iter().any(|c| c.kind == "fhirpath") {
        return;
    }
    // The element that holds the extension, in the definition (`Address`,
    // `Patient.contact`) and in the instance (`Patient.address`).
    let holder = e
        .path
        .rsplit_once('.')
        .map(|(h, _)| h)
        .unwrap_or(e.path.as_str());
    let instance = instance_element_path(w, &w.path);
    let allowed = |c: &ExtensionContext| {
        let x = c.expression.rsplit('#').next().unwrap_or(&c.expression);
        match c.kind.as_str() {
            "extension" => {
                let x = x.split('|').next().unwrap_or(x);
                holder == "Extension" && w.extension_urls.last() == Some(&x)
            }
            // `Element` is taken as "anywhere", resources included, as
            // the HL7 validator and the core examples do.
            _ => {
                matches!(x, "Element" | "Base")
                    || x == holder
                    || x == instance
                    || type_or_ancestor(w, holder, x)
                    || in_type(w, &instance, x)
            }
        }
    };
    if def.contexts.iter().any(allowed) {
        return;
    }
    let list: Vec<String> = def
        .contexts
        .iter()
        .map(|c| format!("{} {}", c.kind, c.expression))
        .collect();
    let saved = w.path.len();
    w.path.push_str(".url");
    w.error(
        IssueType::Structure,
        msg::EXTENSION_CONTEXT,
        format!(
            "The extension '{url}' is not allowed on {instance}; its definition allows: {}",
            list.join(", ")
        ),
        url_node.pos,
    );
    w.path.truncate(saved);
}

/// True when `name` is the type of the definition element `holder` (a
/// one-segment path names a type; deeper ones are backbone elements) or one
/// of that type's ancestors.
fn type_or_ancestor(w: &Walker<'_>, holder: &str, name: &str) -> bool {
    if !holder.contains('.') {
        let mut cur = w.ctx.structure_by_type(holder).map(|(_, s)| s);
        let mut guard = 0;
        while let Some(s) = cur {
            if s.type_name == name {
                return true;
            }
            guard += 1;
            if guard > 16 {
                break;
            }
            cur = s
                .base
                .as_deref()
                .and_then(|b| w.ctx.structure_by_url(b))
                .map(|(_, s)| s);
        }
        false
    } else {
        matches!(name, "BackboneElement" | "Element" | "Base")
    }
}

/// A context given as a path inside a datatype (`HumanName.family`) that
/// the instance path ends with (`Patient.contact.name.family`).
fn in_type(w: &Walker<'_>, instance: &str, x: &str) -> bool {
    let Some((ty, rest)) = x.split_once('.') else {
        return false;
    };
    instance
        .strip_suffix(rest)
        .is_some_and(|head| head.ends_with('.'))
        && w.ctx
            .structure_by_type(ty)
            .is_some_and(|(_, s)| s.kind == crate::model::Kind::Complex)
}

/// The element path (`Observation.component.value[x]`) of the element
/// that holds the extension at instance path `path`
/// (`Bundle.entry[0].resource.ofType(Observation).component[1].value.ofType(Quantity).extension[0]`).
fn instance_element_path(w: &Walker<'_>, path: &str) -> String {
    let mut out_segs: Vec<String> = Vec::new();
    for seg in split_path(path) {
        let seg = seg.split('[').next().unwrap_or(seg);
        if let Some(t) = seg
            .strip_prefix("ofType(")
            .and_then(|t| t.strip_suffix(')'))
        {
            let is_resource = w
                .ctx
                .structure_by_type(t)
                .is_some_and(|(_, s)| s.kind == crate::model::Kind::Resource);
            if is_resource {
                out_segs.clear();
                out_segs.push(t.to_string());
            } else if let Some(last) = out_segs.last_mut() {
                last.push_str("[x]");
            }
            continue;
        }
        out_segs.push(seg.to_string());
    }
    out_segs.pop(); // the extension itself
    out_segs.join(".")
}

/// Splits an instance path on dots outside parentheses.
fn split_path(path: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0i32;
    path.split(move |c: char| {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        c == '.' && depth == 0
    })
}

impl Walker<'_> {
    /// Runs `f` as a profile pass for the definition `url`, restoring the
    /// walker's mode and profile afterwards.
    pub(super) fn with_profile_pass(&mut self, url: &str, f: impl FnOnce(&mut Self)) {
        let saved_mode = self.mode;
        let saved_profile = self.set_profile(Some(url.to_string()));
        self.mode = Mode::Profile;
        f(self);
        self.mode = saved_mode;
        self.set_profile(saved_profile);
    }
}
