//! FHIRPath (N1, 2.0.0) as FHIR R4 uses it: parse and type-check an
//! expression once with [`compile`], then [`Expression::evaluate`] it over
//! [`json::Node`](crate::json::Node) trees as often as needed.
//!
//! ```
//! use shinny_engine::fhirpath::{compile, CompileOptions, EvalInput, Environment};
//! let node = shinny_engine::json::parse(br#"{"resourceType":"Patient","active":true}"#).unwrap();
//! let expr = compile("Patient.active", &CompileOptions::default()).unwrap();
//! let out = expr.evaluate(&EvalInput::resource(&node), &Environment::default()).unwrap();
//! assert_eq!(out.len(), 1);
//! ```
//!
//! # Wiring into validation
//!
//! * Build one [`SnapshotModel`] from the core (and IG) StructureDefinitions
//!   ([`SnapshotModel::from_structure_definitions`]; profiles are skipped,
//!   base types and data types are what matter). It is serde-serializable,
//!   so it can live in the compiled rules artifact; wrap it in an `Arc` and
//!   put it in [`CompileOptions::model`].
//! * Compile each invariant once with `context_type` set to the element's
//!   type (a type name such as `HumanName`, or the element path of a
//!   backbone element such as `Patient.contact`; [`ModelInfo::type_of_path`]
//!   computes it from an element path) and `strict: false`:
//!   element names unknown for the type then come back as
//!   [`Expression::warnings`] (published packages have a few) instead of
//!   errors. Compiled [`Expression`]s are `Send + Sync`.
//! * Evaluate with [`EvalInput::resource`] for resource-level invariants,
//!   or [`EvalInput::element`] / [`EvalInput::with_focus`] for elements;
//!   `resource` is `%resource` (the resource holding the element, a
//!   contained resource for elements inside one), `root_resource` is
//!   `%rootResource` (the resource containing a contained one) and
//!   `bundle` is the Bundle that `resolve()` searches. [`Expression::evaluate_bool`] applies the invariant rule
//!   (empty counts as "not failed": `None`).
//! * Terminology (`memberOf`), profiles (`conformsTo`), references
//!   (`resolve`) and the clock go through an [`EvalHost`] in the
//!   [`Environment`]; [`default_resolve`] handles contained and same-Bundle
//!   references. Evaluation is bounded ([`limits`]).

mod checker;
pub mod datetime;
pub mod decimal;
mod eval;
mod host;
mod lexer;
mod memo;
mod model;
mod parser;
pub mod quantity;
mod rewrite;
mod typename;
mod value;

use crate::json::Node;
use std::collections::HashMap;
use std::sync::Arc;

pub use host::{default_resolve, set_clock, ClockFn, EvalHost, NoHost, ResolveContext};
pub use memo::{EvalCache, SubexpressionRegistry};
pub use model::{capitalize, resolve_key, ChildInfo, ModelInfo, SnapshotModel, TypeKind};
pub use parser::{BinOp, Expr, ExprKind, TypeSpec};
pub use value::{is_fhir_primitive, Item, NodeItem, TypeName};

/// Which stage rejected an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not valid FHIRPath syntax.
    Syntax,
    /// Valid syntax, but wrong against the model or the function signatures.
    Semantic,
    /// Failed while evaluating (e.g. a singleton was required).
    Execution,
}

/// An error with the character offset in the expression where it arose.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind:?} error at {pos}: {message}")]
pub struct FhirPathError {
    /// Stage.
    pub kind: ErrorKind,
    /// Character offset in the expression source.
    pub pos: usize,
    /// What went wrong.
    pub message: String,
}

impl FhirPathError {
    pub(crate) fn syntax(pos: usize, message: impl Into<String>) -> Self {
        FhirPathError {
            kind: ErrorKind::Syntax,
            pos,
            message: message.into(),
        }
    }

    pub(crate) fn semantic(pos: usize, message: impl Into<String>) -> Self {
        FhirPathError {
            kind: ErrorKind::Semantic,
            pos,
            message: message.into(),
        }
    }

    pub(crate) fn exec(pos: usize, message: impl Into<String>) -> Self {
        FhirPathError {
            kind: ErrorKind::Execution,
            pos,
            message: message.into(),
        }
    }
}

/// Options for [`compile`].
#[derive(Clone, Default)]
pub struct CompileOptions {
    /// The FHIR model; without one, navigation follows the JSON as is and
    /// no static checking is done.
    pub model: Option<Arc<dyn ModelInfo>>,
    /// The type of the evaluation context (`Patient`, or an element path
    /// such as `Patient.contact`) for static checking; `None` skips checks
    /// that depend on it.
    pub context_type: Option<String>,
    /// Strict mode: element names unknown for the static type are errors
    /// (otherwise they are reported by [`Expression::warnings`] and
    /// evaluate to empty).
    pub strict: bool,
    /// Follow FHIRPath N1 exactly where one item is expected: `x.as(T)`
    /// and boolean contexts (operands of `and`/`or`/`xor`/`implies`,
    /// `not()`, `where`/`all`/`exists` criteria) fail on several items.
    /// Off by default, matching the HL7 Java validator that published IGs
    /// were checked with: `as()` filters the collection (R4 core `dom-3`
    /// relies on `descendants().as(canonical)`) and a non-empty collection
    /// counts as `true` (US Core `pd-1` is `telecom or endpoint`). The `as`
    /// operator always filters.
    pub strict_singletons: bool,
    /// The subexpressions of a group of expressions that are evaluated
    /// together through one [`EvalCache`] (the invariants of one element):
    /// compile the whole group with one registry, and the cache keeps only
    /// the results that something can ask for again (a subexpression that
    /// occurs twice in the group, or that does not read its focus). Without
    /// a registry every shareable result is kept.
    pub shared_subexpressions: Option<Arc<SubexpressionRegistry>>,
}

/// A compiled expression: immutable, `Send + Sync`, reusable.
#[derive(Clone)]
pub struct Expression {
    src: Arc<str>,
    ast: Arc<Expr>,
    model: Option<Arc<dyn ModelInfo>>,
    warnings: Arc<[FhirPathError]>,
    strict_singletons: bool,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expression")
            .field("src", &self.src)
            .finish()
    }
}

/// Parses and checks an expression.
pub fn compile(src: &str, opts: &CompileOptions) -> Result<Expression, FhirPathError> {
    let mut ast = parser::parse(src)?;
    let warnings = checker::check(&ast, opts)?;
    rewrite::rewrite(&mut ast);
    memo::assign(&mut ast, opts.shared_subexpressions.as_deref());
    Ok(Expression {
        src: Arc::from(src),
        ast: Arc::new(ast),
        model: opts.model.clone(),
        strict_singletons: opts.strict_singletons,
        warnings: Arc::from(warnings),
    })
}

/// What an expression is evaluated against.
#[derive(Clone, Default)]
pub struct EvalInput<'a> {
    /// The input collection (`$this` at the top level); usually one node.
    pub focus: Vec<Item<'a>>,
    /// `%resource`: the resource that contains the focus.
    pub resource: Option<&'a Node>,
    /// `%rootResource`: the resource that contains `%resource` when that
    /// is a contained resource, else `%resource` itself (a Bundle entry's
    /// resource is its own root, as in the HL7 validator).
    pub root_resource: Option<&'a Node>,
    /// The Bundle that `resolve()` searches (by `fullUrl` and `Type/id`);
    /// when `None`, `root_resource` is searched if it is a Bundle.
    pub bundle: Option<&'a Node>,
    /// `%context`; defaults to the focus.
    pub context: Option<Vec<Item<'a>>>,
}

impl<'a> EvalInput<'a> {
    /// Input for a whole resource: focus, `%resource` and `%rootResource`
    /// are all `node`, typed by its `resourceType`.
    pub fn resource(node: &'a Node) -> Self {
        EvalInput {
            focus: vec![eval::typed_root(node)],
            resource: Some(node),
            root_resource: Some(node),
            bundle: None,
            context: None,
        }
    }

    /// Input for any focus collection (for example a primitive element
    /// built with [`NodeItem`] to include its `_x` extension sibling).
    pub fn with_focus(
        focus: Vec<Item<'a>>,
        resource: Option<&'a Node>,
        root: Option<&'a Node>,
    ) -> Self {
        EvalInput {
            focus,
            resource,
            root_resource: root,
            bundle: None,
            context: None,
        }
    }

    /// Input for an element of a resource: `focus` typed `type_name`
    /// (a FHIR type or element path), inside `resource` / `root`.
    pub fn element(focus: &'a Node, type_name: &str, resource: &'a Node, root: &'a Node) -> Self {
        EvalInput {
            focus: vec![Item::node(focus, TypeName::from(type_name))],
            resource: Some(resource),
            root_resource: Some(root),
            bundle: None,
            context: None,
        }
    }
}

/// Collected `trace(name)` output: each call's name and rendered items.
pub type TraceLog = std::cell::RefCell<Vec<(String, Vec<String>)>>;

/// Variables and host hooks for evaluation.
#[derive(Default)]
pub struct Environment<'a> {
    /// User-defined `%name` variables.
    pub variables: HashMap<String, Vec<Item<'a>>>,
    /// Terminology, profile and reference hooks; defaults when `None`.
    pub host: Option<&'a dyn EvalHost>,
    /// Output of `trace()` calls (name and items rendered), when `Some`.
    pub trace: Option<TraceLog>,
    /// Bounds on one evaluation.
    pub limits: Limits,
}

/// Bounds on one evaluation; exceeding one is an execution error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum items in any intermediate collection.
    pub max_items: usize,
    /// Maximum evaluation steps (expression node visits plus items visited).
    pub max_steps: u64,
    /// Maximum length in bytes of any string built during evaluation.
    pub max_string_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_items: limits::MAX_ITEMS,
            max_steps: limits::MAX_STEPS,
            max_string_len: limits::MAX_STRING_LEN,
        }
    }
}

/// Default and fixed limits that keep every evaluation bounded.
pub mod limits {
    /// Default maximum items in any intermediate collection (an item is
    /// 80 bytes, so about 80 MB; large enough for `descendants()` of a
    /// multi-megabyte Bundle).
    pub const MAX_ITEMS: usize = 1_000_000;
    /// Default maximum evaluation steps.
    pub const MAX_STEPS: u64 = 50_000_000;
    /// Maximum evaluation nesting depth.
    pub const MAX_DEPTH: usize = 300;
    /// Default maximum length of a string built during evaluation (bytes).
    pub const MAX_STRING_LEN: usize = 10_000_000;
    pub use super::parser::{MAX_AST_DEPTH, MAX_PARSE_DEPTH};
}

impl Expression {
    /// The source text.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// Problems found by static checking that strict mode would reject
    /// (element names unknown for the static type, which evaluate to empty).
    pub fn warnings(&self) -> &[FhirPathError] {
        &self.warnings
    }

    /// The syntax tree as evaluated: the parsed tree after rewrites that
    /// keep every result (`X.select(path as T)` is `X.path.ofType(T)`).
    pub fn ast(&self) -> &Expr {
        &self.ast
    }

    /// Evaluates against `input`.
    pub fn evaluate<'a>(
        &self,
        input: &EvalInput<'a>,
        env: &Environment<'a>,
    ) -> Result<Vec<Item<'a>>, FhirPathError> {
        self.evaluate_shared(input, env, None)
    }

    /// Evaluates against `input`, sharing the results of identical
    /// subexpressions with the other evaluations on the same input that
    /// use `cache` (for example all the invariants of one element). The
    /// result is the same as [`Expression::evaluate`]'s. The cache is not
    /// used while `env` has `trace` or `variables` set.
    pub fn evaluate_shared<'a>(
        &self,
        input: &EvalInput<'a>,
        env: &Environment<'a>,
        cache: Option<&EvalCache<'a>>,
    ) -> Result<Vec<Item<'a>>, FhirPathError> {
        self.run(input, env, cache, |ev, frame| {
            ev.eval(&self.ast, &input.focus, frame)
        })
        .map(smallvec::SmallVec::into_vec)
    }

    /// Evaluates and converts the result to a boolean the way invariants
    /// are checked: empty is `None`, a single boolean is itself, any other
    /// single item is `true`; several items are `true`, or an error with
    /// [`CompileOptions::strict_singletons`].
    pub fn evaluate_bool(
        &self,
        input: &EvalInput<'_>,
        env: &Environment<'_>,
    ) -> Result<Option<bool>, FhirPathError> {
        self.evaluate_bool_shared(input, env, None)
    }

    /// [`Expression::evaluate_bool`] with a shared cache, as
    /// [`Expression::evaluate_shared`].
    pub fn evaluate_bool_shared<'a>(
        &self,
        input: &EvalInput<'a>,
        env: &Environment<'a>,
        cache: Option<&EvalCache<'a>>,
    ) -> Result<Option<bool>, FhirPathError> {
        // A root that gives one boolean or nothing (`and`, `exists()`)
        // converts the same way under either rule, without its collection.
        self.run(input, env, cache, |ev, frame| {
            match ev.direct_bool(&self.ast, &input.focus, frame) {
                Some(truth) => truth,
                None => self.invariant_result(&ev.eval(&self.ast, &input.focus, frame)?),
            }
        })
    }

    /// `f` with the evaluation state of one evaluation of this expression.
    fn run<'a, T>(
        &self,
        input: &EvalInput<'a>,
        env: &Environment<'a>,
        cache: Option<&EvalCache<'a>>,
        f: impl FnOnce(&eval::Ev<'_, 'a>, &eval::Frame<'_, 'a>) -> T,
    ) -> T {
        eval::with_ev(
            self.model.as_deref(),
            self.strict_singletons,
            input,
            env,
            cache,
            f,
        )
    }

    fn invariant_result(&self, out: &[Item<'_>]) -> Result<Option<bool>, FhirPathError> {
        match out {
            [] => Ok(None),
            [one] => Ok(Some(match one.to_system() {
                Some(Item::Boolean(b)) => b,
                _ => true,
            })),
            _ if !self.strict_singletons => Ok(Some(true)),
            _ => Err(FhirPathError::exec(0, "expected a single boolean result")),
        }
    }
}

#[cfg(test)]
mod tests;
