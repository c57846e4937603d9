//! Shared results of identical subexpressions.
//!
//! SHIN-NY's Bundle profile puts about a hundred invariants on one element,
//! and most of them start from the same paths
//! (`entry.select(resource as Observation)`, then `code.coding.code` on each
//! Observation), often several times in one expression. Evaluated one by
//! one, those paths are walked again for every rule. An [`EvalCache`] lets
//! the evaluations of one input share them: each syntax node gets, at
//! compile time, a structural key (the same text in two expressions gives
//! the same key), and the result of a node evaluated on a single-node focus
//! is kept under (key, focus) and reused.
//!
//! Only nodes whose result is a function of their focus, and that cost
//! more than keeping their result (paths of two steps or more, calls
//! that walk collections, unions) get a key: nothing
//! under them reads `$index` or `$total` (which come from an enclosing
//! iteration) or calls an impure function (`trace`, the clock). The
//! environment's variables and `%resource`/`%rootResource`/`%context`/the
//! Bundle are part of the input, and a cache serves one input: given another,
//! it empties itself first.

use super::eval::{Coll, Val};
use super::parser::{BinOp, Expr, ExprKind, TypeSpec};
use super::value::Item;
use super::EvalInput;
use crate::fxhash::FxHashMap;
use smallvec::SmallVec;
use std::cell::RefCell;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Functions whose result is not a function of their input.
const IMPURE: [&str; 4] = ["trace", "now", "today", "timeOfDay"];

/// Functions that walk or compare collections: their results are worth
/// keeping. Cheap ones (`exists()`, `count()`, `not()`, string functions)
/// are recomputed from their kept input instead, which costs less than
/// keeping every result.
const COSTLY: [&str; 23] = [
    "where",
    "select",
    "ofType",
    "all",
    "exists",
    "repeat",
    "aggregate",
    "resolve",
    "descendants",
    "children",
    "distinct",
    "isDistinct",
    "intersect",
    "exclude",
    "union",
    "combine",
    "subsetOf",
    "supersetOf",
    "extension",
    "memberOf",
    "conformsTo",
    "htmlChecks",
    "iif",
];

/// Whether `e` is a call of a costly function (`exists` only with a
/// criterion).
fn costly_call(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Call(_, name, args) => {
            COSTLY.contains(&name.as_str()) && !(name == "exists" && args.is_empty())
        }
        _ => false,
    }
}

/// Results kept at most; past it the cache stops growing (evaluation goes
/// on uncached) so that hostile input cannot use it to exhaust memory.
const MAX_ENTRIES: usize = 200_000;

/// Results of subexpressions shared between evaluations on one input (for
/// example all the invariants of one element), passed to
/// [`Expression::evaluate_shared`](super::Expression::evaluate_shared). It
/// serves one [`EvalInput`] at a time and empties itself when given
/// another.
#[derive(Default)]
pub struct EvalCache<'a> {
    inner: RefCell<Inner<'a>>,
}

#[derive(Default)]
struct Inner<'a> {
    owner: Option<Owner>,
    /// Shared, so that a hit is read in place rather than copied.
    results: FxHashMap<Key, Arc<Coll<'a>>>,
    /// String values of a path over the items of a collection, for
    /// `where(path = 'literal')` filters (see [`StrIndex`]).
    indexes: FxHashMap<IndexKey, Arc<StrIndex<'a>>>,
    /// Capacity to reserve at the first result (see [`EvalCache::with_capacity`]).
    hint: usize,
}

/// Identity of an input: the addresses of its focus node and resources.
#[derive(PartialEq, Eq, Clone, Copy)]
struct Owner([usize; 5]);

#[derive(PartialEq, Eq, Hash)]
struct Key {
    shape: u128,
    focus: [usize; 3],
    /// The expression's model and singleton mode.
    model: usize,
    strict: bool,
}

impl std::fmt::Debug for EvalCache<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.inner.borrow().results.len();
        f.debug_struct("EvalCache").field("results", &n).finish()
    }
}

impl<'a> EvalCache<'a> {
    /// A cache that expects about `results` results: room for them is
    /// reserved when the first one is kept, so that growing does not
    /// rehash (nothing is allocated if no result is ever kept).
    pub fn with_capacity(results: usize) -> Self {
        let cache = EvalCache::default();
        cache.inner.borrow_mut().hint = results.min(MAX_ENTRIES);
        cache
    }

    /// A cache sized for `n` expressions evaluated on one input (what the
    /// validator uses for the constraints of one element). The SHIN-NY
    /// Bundle root's hundred invariants, compiled with one
    /// [`SubexpressionRegistry`], keep about 4 results each (380 on the
    /// largest example; 810 when every shareable result is kept, which
    /// then grows the table once); reserving much more costs a large table
    /// that is allocated, faulted in and freed for every Bundle.
    pub fn for_expressions(n: usize) -> Self {
        // Small groups (most elements) grow as needed: reserving for them
        // costs more in allocating and freeing than it saves.
        if n < 8 {
            return Self::default();
        }
        Self::with_capacity(n.saturating_mul(4))
    }

    /// Binds the cache to `input`; `false` when the input cannot be
    /// identified (a focus of several items or an explicit `%context`),
    /// in which case the cache is not used.
    pub(crate) fn bind(&self, input: &EvalInput<'a>) -> bool {
        let Some(focus) = identity(&input.focus) else {
            return false;
        };
        if input.context.is_some() {
            return false;
        }
        let addr = |n: Option<&crate::json::Node>| n.map_or(0, |n| n as *const _ as usize);
        let owner = Owner([
            focus[0],
            focus[1],
            addr(input.resource),
            addr(input.root_resource),
            addr(input.bundle),
        ]);
        let mut inner = self.inner.borrow_mut();
        if inner.owner != Some(owner) {
            inner.results.clear();
            inner.indexes.clear();
            inner.owner = Some(owner);
        }
        true
    }

    /// Number of results kept.
    pub fn len(&self) -> usize {
        self.inner.borrow().results.len()
    }

    /// Whether no result is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `f` applied to the kept result of a node on a focus, if any, without
    /// copying it (`f` must not evaluate: the cache is borrowed meanwhile).
    pub(crate) fn with<T>(&self, key: &CacheKey, f: impl FnOnce(&[Item<'a>]) -> T) -> Option<T> {
        self.inner.borrow().results.get(&key.0).map(|v| f(v))
    }

    /// The kept result of a node on a focus, if any (shared, not copied).
    pub(crate) fn get(&self, key: &CacheKey) -> Option<Val<'a>> {
        self.inner
            .borrow()
            .results
            .get(&key.0)
            .map(|v| Val::Kept(v.clone()))
    }

    /// Keeps a result, and gives it back (shared with the cache when kept).
    pub(crate) fn put(&self, key: CacheKey, value: Coll<'a>) -> Val<'a> {
        let mut inner = self.inner.borrow_mut();
        if inner.results.capacity() == 0 {
            let hint = inner.hint;
            inner.results.reserve(hint);
        }
        if inner.results.len() >= MAX_ENTRIES {
            return Val::Own(value);
        }
        let kept = Arc::new(value);
        inner.results.insert(key.0, kept.clone());
        Val::Kept(kept)
    }
}

/// Where an index is kept: the path's node (shape, model, singleton mode),
/// and the collection's length and first item (the whole collection is
/// compared on look-up).
#[derive(PartialEq, Eq, Hash)]
pub(crate) struct IndexKey {
    shape: u128,
    model: usize,
    strict: bool,
    len: usize,
    first: [usize; 3],
}

/// The values of one path on every item of one collection, as string
/// slices of the instance: `None` for an item where the path gives
/// something else than strings held by FHIR primitives (such items are
/// filtered the general way). SHIN-NY's 27 crosswalk rules each filter
/// the same Observations by `code.coding.code contains '…'` with a
/// different code: the index reads each Observation's codes once.
pub(crate) struct StrIndex<'a> {
    items: Vec<[usize; 3]>,
    pub values: Vec<Option<SmallVec<[&'a str; 2]>>>,
}

impl<'a> StrIndex<'a> {
    /// An index of `values` (one per item of `coll`).
    pub fn new(coll: &[Item<'a>], values: Vec<Option<SmallVec<[&'a str; 2]>>>) -> Option<Self> {
        let items = coll
            .iter()
            .map(|it| identity(std::slice::from_ref(it)))
            .collect::<Option<Vec<_>>>()?;
        Some(StrIndex { items, values })
    }
}

/// The index key of path node `memo` over collection `coll`, if every item
/// is a node.
pub(crate) fn index_key(
    memo: &Memo,
    coll: &[Item<'_>],
    model: usize,
    strict: bool,
) -> Option<IndexKey> {
    if !memo.reads_focus {
        return None;
    }
    Some(IndexKey {
        shape: memo.shape,
        model,
        strict,
        len: coll.len(),
        first: identity(coll.get(..1)?)?,
    })
}

impl<'a> EvalCache<'a> {
    /// The index kept under `key`, if it was built over `coll` itself.
    pub(crate) fn index(&self, key: &IndexKey, coll: &[Item<'a>]) -> Option<Arc<StrIndex<'a>>> {
        let inner = self.inner.borrow();
        let idx = inner.indexes.get(key)?;
        let same = idx.items.len() == coll.len()
            && idx
                .items
                .iter()
                .zip(coll)
                .all(|(id, it)| identity(std::slice::from_ref(it)) == Some(*id));
        same.then(|| idx.clone())
    }

    /// Keeps an index (within the cache's bound on kept results).
    pub(crate) fn put_index(&self, key: IndexKey, idx: Arc<StrIndex<'a>>) {
        let mut inner = self.inner.borrow_mut();
        if inner.results.len() + inner.indexes.len() < MAX_ENTRIES {
            inner.indexes.insert(key, idx);
        }
    }
}

/// The cache key of a syntax node, assigned at compile time.
#[derive(Debug, Clone)]
pub(crate) struct Memo {
    /// Hash of the node's canonical text.
    shape: u128,
    /// Whether the result depends on the focus; when not, one result
    /// serves every focus.
    reads_focus: bool,
    /// Whether another node of the same shape was compiled with the same
    /// [`SubexpressionRegistry`] (set later if that one is compiled later).
    shared: Arc<AtomicBool>,
}

impl Memo {
    /// Whether a kept result of this node can be asked for again: another
    /// node has its shape, or it does not read its focus (so the same key
    /// comes back at every item of an enclosing iteration). SHIN-NY's
    /// Bundle rules keep about 810 results per Bundle, and 586 of them were
    /// never read again; keeping those cost more than they could save.
    pub(crate) fn worth_keeping(&self) -> bool {
        !self.reads_focus || self.shared.load(Ordering::Relaxed)
    }
}

/// The shapes of the shareable subexpressions of the expressions compiled
/// with it (see [`CompileOptions::shared_subexpressions`](super::CompileOptions::shared_subexpressions)).
#[derive(Default)]
pub struct SubexpressionRegistry {
    shapes: Mutex<FxHashMap<u128, Arc<AtomicBool>>>,
}

impl std::fmt::Debug for SubexpressionRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.shapes.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("SubexpressionRegistry")
            .field("shapes", &n)
            .finish()
    }
}

impl SubexpressionRegistry {
    /// The flag of `shape`, set once the shape is registered a second time.
    fn register(&self, shape: u128) -> Arc<AtomicBool> {
        let mut shapes = self.shapes.lock().unwrap_or_else(|e| e.into_inner());
        match shapes.entry(shape) {
            std::collections::hash_map::Entry::Occupied(e) => {
                e.get().store(true, Ordering::Relaxed);
                e.get().clone()
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(Arc::new(AtomicBool::new(false))).clone()
            }
        }
    }
}

/// A lookup key, built by [`cache_key`].
pub(crate) struct CacheKey(Key);

/// The key of node `memo` evaluated on `focus` with `$this` = `this`, or
/// `None` when that evaluation cannot be shared.
pub(crate) fn cache_key(
    memo: &Memo,
    focus: &[Item<'_>],
    this: &[Item<'_>],
    model: usize,
    strict: bool,
) -> Option<CacheKey> {
    let f = if memo.reads_focus {
        let f = identity(focus)?;
        // `$this` is part of what a node reads; it equals the focus
        // wherever the evaluator calls into a node, and is checked to be
        // sure.
        if identity(this)? != f {
            return None;
        }
        f
    } else {
        [0; 3]
    };
    Some(CacheKey(Key {
        shape: memo.shape,
        focus: f,
        model,
        strict,
    }))
}

/// Identity of a single-node collection: node, `_x` sibling and type name
/// addresses (the same node reached under another type name is another
/// focus).
fn identity(c: &[Item<'_>]) -> Option<[usize; 3]> {
    match c {
        [Item::Node(n)] => Some([
            n.node.map_or(0, |n| n as *const _ as usize),
            n.ext.map_or(0, |n| n as *const _ as usize),
            n.type_name.as_ptr() as usize,
        ]),
        _ => None,
    }
}

/// Gives every shareable node of `e` its structural key, registered in
/// `registry` when there is one (otherwise every such node counts as
/// shared).
pub(crate) fn assign(e: &mut Expr, registry: Option<&SubexpressionRegistry>) {
    shape(e, registry);
}

/// What a subtree reads beyond its focus, and its canonical text.
struct Shape {
    text: String,
    /// Reads `$index`/`$total` or calls an impure function.
    frame_bound: bool,
    /// Reads the focus or `$this` (otherwise only literals and
    /// environment variables: the same result on every focus).
    reads_focus: bool,
}

fn shape(e: &mut Expr, reg: Option<&SubexpressionRegistry>) -> Shape {
    let mut text = String::new();
    let mut flags = (false, false);
    let b = &mut flags;
    let spec = |t: &TypeSpec| format!("{}.{}", t.namespace.as_deref().unwrap_or(""), t.name);
    let shareable = match &mut e.kind {
        // Literals, variables and type names: their debug form is their
        // canonical text (no positions inside).
        k @ (ExprKind::Empty
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::Int(_)
        | ExprKind::Dec(_)
        | ExprKind::Temporal(_)
        | ExprKind::Quantity(_)
        | ExprKind::Env(_)
        | ExprKind::TypeArg(_)) => {
            text = format!("{k:?}");
            false
        }
        ExprKind::This => {
            text.push_str("$this");
            b.1 = true;
            false
        }
        ExprKind::Index | ExprKind::Total => {
            text.push_str("$frame");
            b.0 = true;
            false
        }
        ExprKind::Member(target, name) => {
            text = format!("m{name:?}");
            match target {
                Some(t) => {
                    // A path of two steps or more, or a step after a costly call.
                    let worth = matches!(t.kind, ExprKind::Member(..)) || costly_call(t);
                    child(t, &mut text, b, reg);
                    worth
                }
                None => {
                    b.1 = true;
                    false
                }
            }
        }
        ExprKind::Call(target, name, args) => {
            text = format!("c{name:?}");
            match target {
                Some(t) => child(t, &mut text, b, reg),
                None => b.1 = true,
            }
            text.push('[');
            for a in args.iter_mut() {
                child(a, &mut text, b, reg);
            }
            text.push(']');
            b.0 |= IMPURE.contains(&name.as_str());
            costly_call(e)
        }
        ExprKind::Scoped(l, r) => {
            text.push_str("scoped");
            child(l, &mut text, b, reg);
            child(r, &mut text, b, reg);
            false
        }
        ExprKind::Indexer(l, r) => {
            text.push_str("index");
            child(l, &mut text, b, reg);
            child(r, &mut text, b, reg);
            false
        }
        ExprKind::Neg(a) => {
            text.push_str("neg");
            child(a, &mut text, b, reg);
            false
        }
        ExprKind::Binary(op, l, r) => {
            text = format!("{op:?}");
            child(l, &mut text, b, reg);
            child(r, &mut text, b, reg);
            // A union removes duplicates; other operators cost little next
            // to their operands, which are kept themselves.
            *op == BinOp::Union
        }
        // Cheap filters of their operand: not worth a cache entry.
        ExprKind::Is(a, t) => {
            text = format!("is{}", spec(t));
            child(a, &mut text, b, reg);
            false
        }
        ExprKind::As(a, t) => {
            text = format!("as{}", spec(t));
            child(a, &mut text, b, reg);
            false
        }
    };
    let (frame_bound, reads_focus) = flags;
    e.memo = (shareable && !frame_bound).then(|| {
        let shape = hash128(&text);
        Memo {
            shape,
            reads_focus,
            shared: match reg {
                Some(r) => r.register(shape),
                None => Arc::new(AtomicBool::new(true)),
            },
        }
    });
    Shape {
        text,
        frame_bound,
        reads_focus,
    }
}

fn child(
    c: &mut Expr,
    text: &mut String,
    flags: &mut (bool, bool),
    reg: Option<&SubexpressionRegistry>,
) {
    let s = shape(c, reg);
    flags.0 |= s.frame_bound;
    flags.1 |= s.reads_focus;
    text.push('(');
    text.push_str(&s.text);
    text.push(')');
}

/// Two independent 64-bit hashes of the canonical text: a collision between
/// two different subexpressions of one input is out of practical reach.
fn hash128(text: &str) -> u128 {
    let h = |seed: u8| {
        let mut s = std::collections::hash_map::DefaultHasher::new();
        seed.hash(&mut s);
        text.hash(&mut s);
        s.finish()
    };
    (u128::from(h(1)) << 64) | u128::from(h(2))
}
