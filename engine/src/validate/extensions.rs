//! Extensions: each `extension` / `modifierExtension` item is validated
//! against the definition its `url` names; unknown extensions are a warning
//! (configurable), unknown modifier extensions an error.

use super::walk::{Mode, Walker};
use crate::json::Node;
use crate::messages as msg;
use crate::model::Element;
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
    w.with_profile_pass(url, |w| w.walk_object(item, sid, 0, false));
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
