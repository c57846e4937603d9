//! Host hooks: reference resolution, terminology and profile checks.

use super::datetime::Temporal;
use super::value::Item;
use crate::json::Node;

/// Where `resolve()` looks for a reference target.
#[derive(Debug, Clone, Copy)]
pub struct ResolveContext<'a> {
    /// The resource holding the reference (for `#id` contained lookups).
    pub resource: Option<&'a Node>,
    /// The root resource (`%rootResource`).
    pub root: Option<&'a Node>,
    /// The enclosing Bundle, searched by `fullUrl` and `Type/id`; when
    /// `None`, `root` is searched if it is a Bundle.
    pub bundle: Option<&'a Node>,
}

/// Services the host application provides; every method has a default.
pub trait EvalHost {
    /// Resolves a reference string to a resource node.
    fn resolve<'a>(&self, reference: &str, ctx: &ResolveContext<'a>) -> Option<&'a Node> {
        default_resolve(reference, ctx)
    }

    /// Whether a code/Coding/CodeableConcept item is in a value set;
    /// `None` when unknown (the expression then yields empty).
    fn member_of(&self, _item: &Item<'_>, _valueset_url: &str) -> Option<bool> {
        None
    }

    /// Whether a resource conforms to a profile; `None` when the host
    /// cannot tell (the default checks only core resource-type profiles).
    fn conforms_to(&self, _item: &Item<'_>, _profile_url: &str) -> Option<bool> {
        None
    }

    /// Whether code `a` subsumes code `b` (both Coding/CodeableConcept/code
    /// items); `None` when unknown (the expression yields empty).
    fn subsumes(&self, _a: &Item<'_>, _b: &Item<'_>) -> Option<bool> {
        None
    }

    /// The current date-time for `now()`/`today()`/`timeOfDay()`; `None`
    /// uses the clock installed with [`set_clock`], else the system clock
    /// (not available on wasm32-unknown-unknown, where those functions then
    /// fail unless a clock is installed or the host provides it).
    fn now(&self) -> Option<Temporal> {
        None
    }
}

/// A process-wide clock: milliseconds since the Unix epoch (UTC), or `None`
/// when unavailable.
pub type ClockFn = fn() -> Option<i64>;

static CLOCK: std::sync::OnceLock<ClockFn> = std::sync::OnceLock::new();

/// Installs the clock that `now()`, `today()` and `timeOfDay()` read when the
/// [`EvalHost`] gives no time, instead of the system clock. Meant for
/// targets without one (wasm32-unknown-unknown: the WASM binding installs
/// JavaScript's `Date.now`). The first installed clock stays; returns
/// `false` when one was already installed.
pub fn set_clock(clock: ClockFn) -> bool {
    CLOCK.set(clock).is_ok()
}

/// The clock installed with [`set_clock`], if any.
pub(crate) fn installed_clock() -> Option<ClockFn> {
    CLOCK.get().copied()
}

/// A host with all defaults.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHost;

impl EvalHost for NoHost {}

fn resource_matches(res: &Node, typ: &str, id: &str) -> bool {
    res.get("resourceType").and_then(Node::as_str) == Some(typ)
        && res.get("id").and_then(Node::as_str) == Some(id)
}

/// Resolution inside the same resource and Bundle: contained `#id`,
/// entry `fullUrl` (including `urn:uuid:`), relative `Type/id` (also with
/// `/_history/n`) and absolute URLs ending in `Type/id`.
pub fn default_resolve<'a>(reference: &str, ctx: &ResolveContext<'a>) -> Option<&'a Node> {
    if let Some(id) = reference.strip_prefix('#') {
        for res in [ctx.resource, ctx.root].into_iter().flatten() {
            if let Some(list) = res.get("contained").and_then(Node::as_array) {
                if let Some(found) = list
                    .iter()
                    .find(|c| c.get("id").and_then(Node::as_str) == Some(id))
                {
                    return Some(found);
                }
            }
        }
        return None;
    }
    let bundle = ctx.bundle.or(ctx.root)?;
    let entries = bundle.get("entry").and_then(Node::as_array)?;
    if let Some(e) = entries
        .iter()
        .find(|e| e.get("fullUrl").and_then(Node::as_str) == Some(reference))
    {
        return e.get("resource");
    }
    let path = reference.split("/_history/").next().unwrap_or(reference);
    let mut parts = path.rsplit('/');
    let id = parts.next()?;
    let typ = parts.next()?;
    entries.iter().find_map(|e| {
        let r = e.get("resource")?;
        if !resource_matches(r, typ, id) {
            return None;
        }
        // An absolute reference must match the entry's base URL when it has one.
        if path.contains("://") {
            if let Some(full) = e.get("fullUrl").and_then(Node::as_str) {
                if full != path {
                    return None;
                }
            }
        }
        Some(r)
    })
}
