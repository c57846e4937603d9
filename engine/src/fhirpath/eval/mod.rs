//! Evaluation of a parsed expression over `json::Node` trees.

mod aggregate;
mod boundary;
mod codec;
mod combining;
mod conversion;
mod existence;
mod fhir;
mod filtering;
mod math;
mod narrative;
mod navigate;
pub(crate) mod ops;
mod seen;
mod string;
mod subsetting;
pub(crate) mod temporal;
mod tree;
mod truth;
mod utility;

use super::host::{EvalHost, NoHost};
use super::limits::MAX_DEPTH;
use super::model::ModelInfo;
use super::parser::{Expr, ExprKind, TypeSpec};
use super::value::{Item, NodeItem};
use super::{Environment, EvalInput, FhirPathError};
use crate::json::{Node, Value};
use std::borrow::Cow;
use std::cell::Cell;

/// A collection.
/// Most intermediate results hold one item: those stay off the heap.
pub(crate) type Coll<'a> = smallvec::SmallVec<[Item<'a>; 1]>;

/// A [`Coll`] from items, like `vec!`.
macro_rules! coll {
    () => { $crate::fhirpath::eval::Coll::new() };
    ($($x:expr),+ $(,)?) => { smallvec::smallvec![$($x),+] };
}
pub(crate) use coll;

/// The result of a node that the shared cache keeps: kept, or not when
/// the focus gives no key or the cache is full.
pub(crate) enum Val<'a> {
    /// Not kept.
    Own(Coll<'a>),
    /// Shared with the cache: read in place, not copied.
    Kept(std::sync::Arc<Coll<'a>>),
}

impl<'a> std::ops::Deref for Val<'a> {
    type Target = [Item<'a>];
    #[inline]
    fn deref(&self) -> &[Item<'a>] {
        match self {
            Val::Own(c) => c,
            Val::Kept(k) => k,
        }
    }
}

impl<'a> Val<'a> {
    /// The items as a collection of one's own (a copy when kept: the
    /// cache holds the other reference).
    pub fn into_coll(self) -> Coll<'a> {
        match self {
            Val::Own(c) => c,
            Val::Kept(k) => copy_coll(&k),
        }
    }
}

/// A copy of a collection. `copy_coll(slice)` and `clone()` go through
/// smallvec's generic `extend`, several times slower for the one- and
/// two-item collections that cached results and `$this` mostly are.
pub(crate) fn copy_coll<'a>(items: &[Item<'a>]) -> Coll<'a> {
    let mut c = Coll::with_capacity(items.len());
    for it in items {
        c.push(it.clone());
    }
    c
}
/// Room in `out` for `remaining` more items when it is full (and not
/// empty): a collection built item by item from another (`entry.resource`
/// over forty entries) grows once to the input's size rather than
/// doubling its way there.
#[inline]
pub(crate) fn grow_for(out: &mut Coll<'_>, remaining: usize) {
    if !out.is_empty() && out.len() == out.capacity() {
        out.reserve(out.len().max(remaining));
    }
}

/// A collection or an error.
pub(crate) type R<'a> = Result<Coll<'a>, FhirPathError>;

/// Lambda scope: `$this` (the focus for arguments), `$index`, `$total`.
#[derive(Clone, Copy)]
pub(crate) struct Frame<'f, 'a> {
    pub this: &'f [Item<'a>],
    pub index: Option<i64>,
    pub total: Option<&'f [Item<'a>]>,
}

impl<'f, 'a> Frame<'f, 'a> {
    /// The scope of a lambda argument on one item of its input.
    fn of_item(item: &'f Item<'a>, index: usize, total: Option<&'f [Item<'a>]>) -> Self {
        Frame {
            this: std::slice::from_ref(item),
            index: Some(index as i64),
            total,
        }
    }
}

/// Evaluation state shared by all function families.
pub(crate) struct Ev<'e, 'a> {
    pub model: Option<&'e dyn ModelInfo>,
    pub input: &'e EvalInput<'a>,
    pub env: &'e Environment<'a>,
    pub host: &'e dyn EvalHost,
    /// N1 singleton rules (see `CompileOptions::strict_singletons`).
    pub strict_singletons: bool,
    steps: Cell<u64>,
    depth: Cell<usize>,
    /// `now()` is read once per evaluation (all calls agree).
    pub now: std::cell::OnceCell<Option<super::datetime::Temporal>>,
    /// Shared subexpression results, when the environment has a cache
    /// bound to this input.
    pub(crate) cache: Option<&'e super::EvalCache<'a>>,
    /// Address of the model, part of cache keys.
    model_addr: usize,
    /// The model's answers to element look-ups in this evaluation.
    children: navigate::ChildMemo<'e>,
    /// The model's name of the last resource type named.
    last_resource: Cell<Option<&'static str>>,
}

/// Drops primitives that have no value (only an `_x` extension): they
/// count as items for indexing but as empty for singleton operations.
pub(crate) fn strip_nulls<'c, 'a>(c: &'c [Item<'a>]) -> Cow<'c, [Item<'a>]> {
    let is_null = |i: &Item<'a>| matches!(i, Item::Node(n) if n.node.is_none_or(|v| matches!(v.value, Value::Null)));
    if c.iter().any(is_null) {
        Cow::Owned(c.iter().filter(|i| !is_null(i)).cloned().collect())
    } else {
        Cow::Borrowed(c)
    }
}

/// The text of a one-item collection: FHIR primitives as their JSON text
/// (dates keep what was written), System values converted.
fn single_text<'c>(c: &'c [Item<'_>], pos: usize) -> Result<Option<Cow<'c, str>>, FhirPathError> {
    match c {
        [] => Ok(None),
        [Item::Node(NodeItem {
            node:
                Some(Node {
                    value: Value::String(s),
                    ..
                }),
            ..
        })] => Ok(Some(Cow::Borrowed(s))),
        [Item::String(s)] => Ok(Some(Cow::Borrowed(s))),
        [one] => match one.to_system() {
            Some(Item::String(s)) => Ok(Some(Cow::Owned(s))),
            _ => Err(FhirPathError::exec(pos, "expected a string")),
        },
        _ => Err(FhirPathError::exec(
            pos,
            "expected a single string, found several items",
        )),
    }
}

/// Exposes the narrative check to the unit tests.
#[cfg(test)]
pub(crate) fn html_checks_for_test(xhtml: &str) -> bool {
    narrative::html_ok(xhtml)
}

/// Types a resource root by its `resourceType`.
pub(crate) fn typed_root(node: &Node) -> Item<'_> {
    let t = node
        .get("resourceType")
        .and_then(Node::as_str)
        .unwrap_or("");
    Item::node(node, crate::fhirpath::TypeName::from(t))
}

/// `f` with the evaluation state of one evaluation and its top frame.
pub(crate) fn with_ev<'a, T>(
    model: Option<&dyn ModelInfo>,
    strict_singletons: bool,
    input: &EvalInput<'a>,
    env: &Environment<'a>,
    cache: Option<&super::EvalCache<'a>>,
    f: impl FnOnce(&Ev<'_, 'a>, &Frame<'_, 'a>) -> T,
) -> T {
    let ev = Ev {
        model,
        strict_singletons,
        input,
        env,
        host: env.host.unwrap_or(&NoHost),
        steps: Cell::new(0),
        depth: Cell::new(0),
        now: std::cell::OnceCell::new(),
        cache: cache.filter(|c| env.trace.is_none() && env.variables.is_empty() && c.bind(input)),
        model_addr: model.map_or(0, |m| m as *const dyn ModelInfo as *const () as usize),
        children: Default::default(),
        last_resource: Cell::new(None),
    };
    let frame = Frame {
        this: &input.focus,
        index: None,
        total: None,
    };
    f(&ev, &frame)
}

impl<'e, 'a> Ev<'e, 'a> {
    /// Counts work; errors once the step budget is spent.
    pub fn tick(&self, n: u64, pos: usize) -> Result<(), FhirPathError> {
        let s = self.steps.get() + n;
        self.steps.set(s);
        if s > self.env.limits.max_steps {
            return Err(FhirPathError::exec(pos, "evaluation step limit exceeded"));
        }
        Ok(())
    }

    /// Errors when built strings grow past the length limit.
    pub fn check_strings(&self, items: &[Item<'a>], pos: usize) -> Result<(), FhirPathError> {
        let max = self.env.limits.max_string_len;
        if items
            .iter()
            .any(|i| matches!(i, Item::String(s) if s.len() > max))
        {
            return Err(FhirPathError::exec(
                pos,
                format!("string longer than {max} bytes"),
            ));
        }
        Ok(())
    }

    /// Errors when a collection grows past the size limit.
    pub fn check_size(&self, len: usize, pos: usize) -> Result<(), FhirPathError> {
        if len > self.env.limits.max_items {
            return Err(FhirPathError::exec(
                pos,
                format!("collection larger than {} items", self.env.limits.max_items),
            ));
        }
        Ok(())
    }

    pub fn eval(&self, e: &Expr, focus: &[Item<'a>], fr: &Frame<'_, 'a>) -> R<'a> {
        match self.kept(e) {
            Some((cache, memo)) => self
                .eval_kept(cache, memo, e, focus, fr)
                .map(Val::into_coll),
            None => self.eval_plain(e, focus, fr),
        }
    }

    /// The shared cache and the node's key, when the cache keeps the
    /// node's results.
    #[inline]
    fn kept<'x>(&self, e: &'x Expr) -> Option<(&'e super::EvalCache<'a>, &'x super::memo::Memo)> {
        let (Some(memo), Some(cache)) = (&e.memo, self.cache) else {
            return None;
        };
        memo.worth_keeping().then_some((cache, memo))
    }

    /// [`Ev::eval`] of a node whose results are not kept.
    #[inline]
    fn eval_plain(&self, e: &Expr, focus: &[Item<'a>], fr: &Frame<'_, 'a>) -> R<'a> {
        let d = self.enter(e)?;
        let r = self.eval_inner(e, focus, fr);
        self.depth.set(d - 1);
        r
    }

    /// Counts a step and one more level of nesting (an error past either
    /// limit); the caller sets the depth back to the answer minus one.
    #[inline]
    fn enter(&self, e: &Expr) -> Result<usize, FhirPathError> {
        self.tick(1, e.pos)?;
        let d = self.depth.get() + 1;
        if d > MAX_DEPTH {
            return Err(FhirPathError::exec(e.pos, "evaluation nested too deeply"));
        }
        self.depth.set(d);
        Ok(d)
    }

    /// `f` on the result of `e`: a result kept in the shared cache is
    /// lent rather than copied out (and freed again) as [`Ev::eval`]'s is.
    #[inline]
    pub(crate) fn with_val<T>(
        &self,
        e: &Expr,
        focus: &[Item<'a>],
        fr: &Frame<'_, 'a>,
        f: impl FnOnce(&[Item<'a>]) -> Result<T, FhirPathError>,
    ) -> Result<T, FhirPathError> {
        let (kept, own);
        let v: &[Item<'a>] = match self.kept(e) {
            Some((cache, memo)) => {
                kept = self.eval_kept(cache, memo, e, focus, fr)?;
                &kept
            }
            None => {
                own = self.eval_plain(e, focus, fr)?;
                &own
            }
        };
        f(v)
    }

    /// [`Ev::eval`] of a node whose result the shared cache keeps: the
    /// kept result, else [`Ev::eval_inner`]'s, kept (out of line: its key
    /// would enlarge the frame of every [`Ev::eval`]).
    #[inline(never)]
    fn eval_kept(
        &self,
        cache: &super::EvalCache<'a>,
        memo: &super::memo::Memo,
        e: &Expr,
        focus: &[Item<'a>],
        fr: &Frame<'_, 'a>,
    ) -> Result<Val<'a>, FhirPathError> {
        let d = self.enter(e)?;
        let r = match self.cache_key(memo, focus, fr) {
            None => self.eval_inner(e, focus, fr).map(Val::Own),
            Some(key) => match cache.get(&key) {
                Some(v) => Ok(v),
                None => self.eval_inner(e, focus, fr).map(|r| cache.put(key, r)),
            },
        };
        self.depth.set(d - 1);
        r
    }

    /// `f` on the kept result of `e` on `focus`, read in place, when the
    /// shared cache holds one (counted as one step, as [`Ev::eval`] would).
    /// `f` only reads: it must not evaluate.
    pub(crate) fn with_kept<T>(
        &self,
        e: &Expr,
        focus: &[Item<'a>],
        fr: &Frame<'_, 'a>,
        f: impl FnOnce(&[Item<'a>]) -> T,
    ) -> Result<Option<T>, FhirPathError> {
        let Some((cache, memo)) = self.kept(e) else {
            return Ok(None);
        };
        let Some(key) = self.cache_key(memo, focus, fr) else {
            return Ok(None);
        };
        let r = cache.with(&key, f);
        if r.is_some() {
            self.tick(1, e.pos)?;
        }
        Ok(r)
    }

    /// The key of an index of path `memo` over collection `coll` in this
    /// evaluation.
    pub(crate) fn index_key(
        &self,
        memo: &super::memo::Memo,
        coll: &[Item<'a>],
    ) -> Option<super::memo::IndexKey> {
        super::memo::index_key(memo, coll, self.model_addr, self.strict_singletons)
    }

    /// The cache key of a node on `focus` in this evaluation.
    fn cache_key(
        &self,
        memo: &super::memo::Memo,
        focus: &[Item<'a>],
        fr: &Frame<'_, 'a>,
    ) -> Option<super::memo::CacheKey> {
        super::memo::cache_key(
            memo,
            focus,
            fr.this,
            self.model_addr,
            self.strict_singletons,
        )
    }

    /// The frequent node kinds; the others are in [`Ev::eval_rare`], out
    /// of line, so that this function's stack frame (one per level of
    /// recursion) stays small.
    #[inline(never)]
    fn eval_inner(&self, e: &Expr, focus: &[Item<'a>], fr: &Frame<'_, 'a>) -> R<'a> {
        match &e.kind {
            ExprKind::Member(target, name) => match target {
                None => self.root_member(focus, name, e.pos),
                Some(t) => self.with_val(t, focus, fr, |base| self.navigate(base, name, e.pos)),
            },
            ExprKind::Call(target, name, args) => match target {
                None => self.call(e, name, focus, args, fr),
                Some(t) => self.with_val(t, focus, fr, |inp| self.call(e, name, inp, args, fr)),
            },
            ExprKind::Binary(op, l, r) => ops::binary(self, *op, l, r, focus, fr, e.pos),
            _ => self.eval_rare(e, focus, fr),
        }
    }

    #[inline(never)]
    fn eval_rare(&self, e: &Expr, focus: &[Item<'a>], fr: &Frame<'_, 'a>) -> R<'a> {
        Ok(match &e.kind {
            ExprKind::Empty => coll![],
            ExprKind::Bool(b) => coll![Item::Boolean(*b)],
            ExprKind::Str(s) => coll![Item::String(s.clone())],
            ExprKind::Int(i) => coll![Item::Integer(*i)],
            ExprKind::Dec(d) => coll![Item::Decimal(*d)],
            ExprKind::Temporal(t) => coll![Item::Temporal(Box::new(t.clone()))],
            ExprKind::Quantity(q) => coll![Item::Quantity(Box::new(q.clone()))],
            ExprKind::This => copy_coll(fr.this),
            ExprKind::Index => fr.index.map(Item::Integer).into_iter().collect(),
            ExprKind::Total => fr.total.map(Coll::from).unwrap_or_default(),
            ExprKind::Env(name) => self.env_var(name, e.pos)?,
            ExprKind::TypeArg(t) => {
                return Err(FhirPathError::exec(
                    e.pos,
                    format!("unexpected type name {}", t.name),
                ))
            }
            ExprKind::Scoped(t, inner) => {
                let base = self.eval(t, focus, fr)?;
                let scope = Frame {
                    this: &base,
                    index: fr.index,
                    total: fr.total,
                };
                self.eval(inner, &base, &scope)?
            }
            ExprKind::Indexer(t, idx) => {
                if let Some(r) = self.split_index(t, idx, focus, fr) {
                    return r;
                }
                let base = self.eval(t, focus, fr)?;
                let i = self.eval(idx, fr.this, fr)?;
                match self.singleton_int(&i, idx.pos)? {
                    Some(i) if i >= 0 => base.into_iter().nth(i as usize).into_iter().collect(),
                    _ => coll![],
                }
            }
            ExprKind::Neg(inner) => {
                let v = self.eval(inner, focus, fr)?;
                ops::negate(v, e.pos)?
            }
            ExprKind::Member(..) | ExprKind::Call(..) | ExprKind::Binary(..) => {
                return self.eval_inner(e, focus, fr)
            }
            ExprKind::Is(inner, spec) => {
                let v = self.eval(inner, focus, fr)?;
                match v.as_slice() {
                    [] => coll![],
                    [one] => coll![Item::Boolean(self.is_type(one, spec, e.pos)?)],
                    _ => return Err(FhirPathError::exec(e.pos, "'is' needs a single item")),
                }
            }
            ExprKind::As(inner, spec) => {
                // Lenient like the HL7 Java engine: filters a collection.
                let v = self.eval(inner, focus, fr)?;
                self.filter_as(&v, spec, e.pos)?
            }
        })
    }

    /// `X.split(sep)[k]` with a literal `k`: only part `k` is built (see
    /// [`string::split_nth`]); `None` for other indexers.
    fn split_index(
        &self,
        t: &Expr,
        idx: &Expr,
        focus: &[Item<'a>],
        fr: &Frame<'_, 'a>,
    ) -> Option<R<'a>> {
        let (ExprKind::Call(Some(recv), name, args), ExprKind::Int(k)) = (&t.kind, &idx.kind)
        else {
            return None;
        };
        if name != "split" || *k < 0 {
            return None;
        }
        let inp = match self.eval(recv, focus, fr) {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        };
        let c = Call {
            ev: self,
            inp: &inp,
            args,
            fr,
            pos: t.pos,
        };
        // The call and the index, as the general way counts them.
        if let Err(e) = self.tick(2, t.pos) {
            return Some(Err(e));
        }
        Some(match string::split_nth(&c, *k) {
            Some(r) => r,
            None => self
                .call(t, name, &inp, args, fr)
                .map(|v| v.into_iter().nth(*k as usize).into_iter().collect()),
        })
    }

    fn env_var(&self, name: &str, pos: usize) -> R<'a> {
        if let Some(v) = self.env.variables.get(name) {
            return Ok(copy_coll(v.as_slice()));
        }
        let s = |v: &str| Ok(coll![Item::String(v.to_string())]);
        match name {
            "resource" => Ok(self
                .input
                .resource
                .map(|n| self.typed_resource(n))
                .into_iter()
                .collect()),
            "rootResource" => Ok(self
                .input
                .root_resource
                .map(|n| self.typed_resource(n))
                .into_iter()
                .collect()),
            "context" => Ok(copy_coll(
                self.input.context.as_deref().unwrap_or(&self.input.focus),
            )),
            "ucum" => s("http://unitsofmeasure.org"),
            "sct" => s("http://snomed.info/sct"),
            "loinc" => s("http://loinc.org"),
            _ => {
                if let Some(v) = name.strip_prefix("vs-") {
                    return s(&format!("http://hl7.org/fhir/ValueSet/{v}"));
                }
                if let Some(v) = name.strip_prefix("ext-") {
                    return s(&format!("http://hl7.org/fhir/StructureDefinition/{v}"));
                }
                Err(FhirPathError::exec(
                    pos,
                    format!("unknown variable %{name}"),
                ))
            }
        }
    }

    /// Evaluates a non-lambda argument (against the enclosing `$this`).
    pub fn arg(&self, args: &[Expr], i: usize, fr: &Frame<'_, 'a>) -> R<'a> {
        match args.get(i) {
            Some(a) => self.eval(a, fr.this, fr),
            None => Ok(coll![]),
        }
    }

    /// Evaluates a lambda argument for one item.
    pub fn lambda(
        &self,
        e: &Expr,
        item: &Item<'a>,
        index: usize,
        total: Option<&[Item<'a>]>,
    ) -> R<'a> {
        let fr = Frame::of_item(item, index, total);
        self.eval(e, fr.this, &fr)
    }

    /// [`Ev::lambda`] for a reader (see [`Ev::with_val`]).
    pub fn lambda_with<T>(
        &self,
        e: &Expr,
        item: &Item<'a>,
        index: usize,
        f: impl FnOnce(&[Item<'a>]) -> Result<T, FhirPathError>,
    ) -> Result<T, FhirPathError> {
        let fr = Frame::of_item(item, index, None);
        self.with_val(e, fr.this, &fr, f)
    }

    /// The single integer of a collection (error for several or non-integer).
    pub fn singleton_int(&self, c: &[Item<'a>], pos: usize) -> Result<Option<i64>, FhirPathError> {
        match &*strip_nulls(c) {
            [] => Ok(None),
            [one] => match one.to_system() {
                Some(Item::Integer(i)) => Ok(Some(i)),
                _ => Err(FhirPathError::exec(pos, "expected an integer")),
            },
            _ => Err(FhirPathError::exec(
                pos,
                "expected a single integer, found several items",
            )),
        }
    }

    /// The single string of a collection, borrowed where it can be.
    pub fn singleton_str<'c>(
        &self,
        c: &'c [Item<'a>],
        pos: usize,
    ) -> Result<Option<Cow<'c, str>>, FhirPathError> {
        match strip_nulls(c) {
            Cow::Borrowed(c) => single_text(c, pos),
            Cow::Owned(v) => Ok(single_text(&v, pos)?.map(|s| Cow::Owned(s.into_owned()))),
        }
    }

    /// Singleton evaluation of a collection to a boolean (§4.5): empty is
    /// `None`; one boolean is itself; another single item is `true`.
    pub fn singleton_bool(
        &self,
        c: &[Item<'a>],
        pos: usize,
    ) -> Result<Option<bool>, FhirPathError> {
        // The usual operands: a criterion's result, decided at once.
        match c {
            [] => return Ok(None),
            [Item::Boolean(b)] => return Ok(Some(*b)),
            _ => {}
        }
        match &*strip_nulls(c) {
            [] => Ok(None),
            [one] => Ok(Some(match one.to_system() {
                Some(Item::Boolean(b)) => b,
                _ => true,
            })),
            // Java-validator compatible: a non-empty collection is true.
            _ if !self.strict_singletons => Ok(Some(true)),
            _ => Err(FhirPathError::exec(
                pos,
                "expected a single boolean, found several items",
            )),
        }
    }

    /// `is`: whether `it` is of the named type or a subtype (`code` is a
    /// `string`).
    pub fn is_type(
        &self,
        it: &Item<'a>,
        spec: &TypeSpec,
        pos: usize,
    ) -> Result<bool, FhirPathError> {
        Ok(self
            .type_test(spec, pos)?
            .is_some_and(|t| self.test_item(it, &t, false)))
    }

    /// `as`/`ofType` on a collection: the items of the named type. FHIR
    /// primitives must match exactly (the official R4 suite:
    /// `gender.as(string)` is empty). The type is checked once, at the
    /// first item (an unknown type is an error only when there is an item
    /// to test).
    pub fn filter_as(&self, items: &[Item<'a>], spec: &TypeSpec, pos: usize) -> R<'a> {
        if items.is_empty() {
            return Ok(coll![]);
        }
        let Some(t) = self.type_test(spec, pos)? else {
            return Ok(coll![]);
        };
        // A typed node's answer depends on its type alone, and collections
        // come in runs of one type (a Bundle's Observations): the last
        // interned type's answer is reused.
        let mut last: Option<(&'static str, bool)> = None;
        Ok(items
            .iter()
            .filter(|it| {
                let Some(ty) = it.node_type_static() else {
                    return self.test_item(it, &t, true);
                };
                match last {
                    Some((l, r)) if std::ptr::eq(l, ty) => r,
                    _ => {
                        let r = self.test_item(it, &t, true);
                        last = Some((ty, r));
                        r
                    }
                }
            })
            .cloned()
            .collect())
    }

    /// A type specifier made ready for testing items; `None` when nothing
    /// can be of it (`System.Patient`), an error for an unknown type.
    fn type_test<'s>(
        &self,
        spec: &'s TypeSpec,
        pos: usize,
    ) -> Result<Option<TypeTest<'s>>, FhirPathError> {
        const SYSTEM: [&str; 9] = [
            "Boolean", "String", "Integer", "Decimal", "Date", "DateTime", "Time", "Quantity",
            "Any",
        ];
        let ns = spec.namespace.as_deref();
        let name = spec.name.as_str();
        // Learnt at the first test (the model is the expression's own).
        const TESTABLE: usize = 0;
        const NOTHING: usize = 1;
        match spec.known.get() {
            Some(TESTABLE) => return Ok(Some(TypeTest { ns, name })),
            Some(NOTHING) => return Ok(None),
            _ => {}
        }
        let system = SYSTEM.contains(&name);
        if ns == Some("System") && !system {
            // Not a System type, so nothing is one (`is(System.Patient)`).
            spec.known.set(NOTHING);
            return Ok(None);
        }
        let known_fhir =
            self.model.is_none_or(|m| m.is_type(name)) || super::value::is_fhir_primitive(name);
        if !system && !known_fhir {
            return Err(FhirPathError::exec(pos, format!("unknown type {name}")));
        }
        spec.known.set(TESTABLE);
        Ok(Some(TypeTest { ns, name }))
    }

    fn test_item(&self, it: &Item<'a>, t: &TypeTest<'_>, exact_primitive: bool) -> bool {
        let (ns, name) = (t.ns, t.name);
        match it {
            // Untyped JSON (no model): judge by the System value.
            Item::Node(n) if n.type_name.is_empty() => match it.to_system() {
                Some(v) => ns != Some("FHIR") && v.type_info().1 == name,
                None => false,
            },
            Item::Node(n) => {
                if ns == Some("System") {
                    false
                } else {
                    let t: &str = &n.type_name;
                    if t == name {
                        return true;
                    }
                    match self.model {
                        // FHIR primitives are distinct types (`code` is not `string`).
                        Some(_) if exact_primitive && super::value::is_fhir_primitive(t) => {
                            t == name
                        }
                        Some(m) => {
                            m.is_subtype_of(&n.type_name, name)
                                || (t.contains('.')
                                    && m.base_type(t).is_some_and(|b| m.is_subtype(b, name)))
                        }
                        None => t == name,
                    }
                }
            }
            other => {
                if ns == Some("FHIR") {
                    false
                } else {
                    let (_, t) = other.type_info();
                    t == name || name == "Any"
                }
            }
        }
    }

    /// Dispatches a function call to its family. Kept out of line, and
    /// the families tried one after another: inlined into
    /// [`Ev::eval_inner`], the fifteen `Option<R>` temporaries of an
    /// `or_else` chain made every level of the recursion's stack frame
    /// several hundred bytes larger; early returns let them share a slot.
    #[inline(never)]
    fn call(
        &self,
        node: &Expr,
        name: &str,
        inp: &[Item<'a>],
        args: &[Expr],
        fr: &Frame<'_, 'a>,
    ) -> R<'a> {
        let pos = node.pos;
        let c = Call {
            ev: self,
            inp,
            args,
            fr,
            pos,
        };
        // Each family answers `None` for names that are not its own; the
        // node remembers which one answered.
        if let Some(f) = node.family.get().and_then(|i| FAMILIES.get(i)) {
            if let Some(r) = f(&c, name) {
                return r;
            }
        }
        for (i, f) in FAMILIES.iter().enumerate() {
            if let Some(r) = f(&c, name) {
                node.family.set(i);
                return r;
            }
        }
        Err(FhirPathError::semantic(
            pos,
            format!("unknown function {name}()"),
        ))
    }
}

/// A checked type specifier (see [`Ev::type_test`]).
struct TypeTest<'s> {
    ns: Option<&'s str>,
    name: &'s str,
}

/// A function family: answers the calls of its own functions.
type Family = for<'c, 'e, 'f, 'a> fn(&Call<'c, 'e, 'f, 'a>, &str) -> Option<R<'a>>;

/// The function families, in the order they are asked.
const FAMILIES: [Family; 15] = [
    existence::call,
    filtering::call,
    subsetting::call,
    combining::call,
    conversion::call,
    string::call,
    math::call,
    tree::call,
    utility::call,
    fhir::call,
    boundary::call,
    temporal::call,
    codec::call,
    aggregate::call,
    ops::call,
];

/// One function invocation: evaluation state, input and arguments.
pub(crate) struct Call<'c, 'e, 'f, 'a> {
    pub ev: &'c Ev<'e, 'a>,
    pub inp: &'c [Item<'a>],
    pub args: &'c [Expr],
    pub fr: &'c Frame<'f, 'a>,
    pub pos: usize,
}

impl<'c, 'a> Call<'c, '_, '_, 'a> {
    /// Evaluates argument `i` (non-lambda).
    pub fn arg(&self, i: usize) -> R<'a> {
        self.ev.arg(self.args, i, self.fr)
    }

    /// Argument `i` as an optional single string (a literal is borrowed).
    pub fn str_arg(&self, i: usize) -> Result<Option<Cow<'c, str>>, FhirPathError> {
        if let Some(ExprKind::Str(s)) = self.args.get(i).map(|a| &a.kind) {
            return Ok(Some(Cow::Borrowed(s)));
        }
        let v = self.arg(i)?;
        Ok(self
            .ev
            .singleton_str(&v, self.pos)?
            .map(|s| Cow::Owned(s.into_owned())))
    }

    /// Argument `i` as an optional single integer.
    pub fn int_arg(&self, i: usize) -> Result<Option<i64>, FhirPathError> {
        let v = self.arg(i)?;
        self.ev.singleton_int(&v, self.pos)
    }

    /// The input as a single System value (`None` when empty).
    pub fn single(&self) -> Result<Option<Item<'a>>, FhirPathError> {
        match &*strip_nulls(self.inp) {
            [] => Ok(None),
            [one] => Ok(Some(
                one.to_system()
                    .map(|v| v as Item<'a>)
                    .unwrap_or_else(|| one.clone()),
            )),
            _ => Err(FhirPathError::exec(
                self.pos,
                "function requires a single input item",
            )),
        }
    }

    /// The input as a single string (`None` when empty; error otherwise).
    pub fn single_str(&self) -> Result<Option<Cow<'c, str>>, FhirPathError> {
        self.ev.singleton_str(self.inp, self.pos)
    }

    /// Errors unless the argument count is in range.
    pub fn arity(&self, min: usize, max: usize) -> Result<(), FhirPathError> {
        if self.args.len() < min || self.args.len() > max {
            return Err(FhirPathError::semantic(
                self.pos,
                "wrong number of arguments",
            ));
        }
        Ok(())
    }

    /// An execution error at this call.
    pub fn err(&self, msg: impl Into<String>) -> FhirPathError {
        FhirPathError::exec(self.pos, msg)
    }
}
