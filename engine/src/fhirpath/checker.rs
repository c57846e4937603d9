//! Static checks before evaluation: function names and arity, type names,
//! and element names along paths against the FHIR model (when the context
//! type is known), so `Patient.name.given1` is rejected at compile time.

use super::model::{resolve_key, ModelInfo};
use super::parser::{Expr, ExprKind, TypeSpec};
use super::value::{is_fhir_primitive, TypeName};
use super::{CompileOptions, FhirPathError};

/// Static type knowledge: `None` = unknown (no checks below this point).
type Types = Option<Vec<TypeName>>;

/// (name, min args, max args, whether argument 0 is a lambda, result kind)
pub(crate) const FUNCTIONS: &[(&str, usize, usize, bool, Res)] = &[
    ("empty", 0, 0, false, Res::Other),
    ("exists", 0, 1, true, Res::Other),
    ("all", 1, 1, true, Res::Other),
    ("allTrue", 0, 0, false, Res::Other),
    ("anyTrue", 0, 0, false, Res::Other),
    ("allFalse", 0, 0, false, Res::Other),
    ("anyFalse", 0, 0, false, Res::Other),
    ("subsetOf", 1, 1, false, Res::Other),
    ("supersetOf", 1, 1, false, Res::Other),
    ("count", 0, 0, false, Res::Other),
    ("distinct", 0, 0, false, Res::Same),
    ("isDistinct", 0, 0, false, Res::Other),
    ("where", 1, 1, true, Res::Same),
    ("select", 1, 1, true, Res::Arg),
    ("repeat", 1, 1, true, Res::Other),
    ("ofType", 1, 1, false, Res::TypeArg),
    ("single", 0, 0, false, Res::Same),
    ("first", 0, 0, false, Res::Same),
    ("last", 0, 0, false, Res::Same),
    ("tail", 0, 0, false, Res::Same),
    ("skip", 1, 1, false, Res::Same),
    ("take", 1, 1, false, Res::Same),
    ("intersect", 1, 1, false, Res::Same),
    ("exclude", 1, 1, false, Res::Same),
    ("union", 1, 1, false, Res::Other),
    ("combine", 1, 1, false, Res::Other),
    ("iif", 2, 3, false, Res::Other),
    ("toBoolean", 0, 0, false, Res::Other),
    ("convertsToBoolean", 0, 0, false, Res::Other),
    ("toInteger", 0, 0, false, Res::Other),
    ("convertsToInteger", 0, 0, false, Res::Other),
    ("toDecimal", 0, 0, false, Res::Other),
    ("convertsToDecimal", 0, 0, false, Res::Other),
    ("toString", 0, 0, false, Res::Other),
    ("convertsToString", 0, 0, false, Res::Other),
    ("toDate", 0, 0, false, Res::Other),
    ("convertsToDate", 0, 0, false, Res::Other),
    ("toDateTime", 0, 0, false, Res::Other),
    ("convertsToDateTime", 0, 0, false, Res::Other),
    ("toTime", 0, 0, false, Res::Other),
    ("convertsToTime", 0, 0, false, Res::Other),
    ("toQuantity", 0, 1, false, Res::Other),
    ("convertsToQuantity", 0, 1, false, Res::Other),
    ("indexOf", 1, 1, false, Res::Str),
    ("substring", 1, 2, false, Res::Str),
    ("startsWith", 1, 1, false, Res::Str),
    ("endsWith", 1, 1, false, Res::Str),
    ("contains", 1, 1, false, Res::Str),
    ("upper", 0, 0, false, Res::Str),
    ("lower", 0, 0, false, Res::Str),
    ("replace", 2, 2, false, Res::Str),
    ("matches", 1, 2, false, Res::Str),
    ("replaceMatches", 2, 2, false, Res::Str),
    ("length", 0, 0, false, Res::Str),
    ("toChars", 0, 0, false, Res::Str),
    ("trim", 0, 0, false, Res::Str),
    ("split", 1, 1, false, Res::Str),
    ("join", 0, 1, false, Res::Other),
    ("abs", 0, 0, false, Res::Other),
    ("ceiling", 0, 0, false, Res::Other),
    ("exp", 0, 0, false, Res::Other),
    ("floor", 0, 0, false, Res::Other),
    ("ln", 0, 0, false, Res::Other),
    ("log", 1, 1, false, Res::Other),
    ("power", 1, 1, false, Res::Other),
    ("round", 0, 1, false, Res::Other),
    ("sqrt", 0, 0, false, Res::Other),
    ("truncate", 0, 0, false, Res::Other),
    ("children", 0, 0, false, Res::Other),
    ("descendants", 0, 0, false, Res::Other),
    ("trace", 1, 2, false, Res::Same),
    ("now", 0, 0, false, Res::Other),
    ("today", 0, 0, false, Res::Other),
    ("timeOfDay", 0, 0, false, Res::Other),
    ("not", 0, 0, false, Res::Other),
    ("aggregate", 1, 2, true, Res::Other),
    ("is", 1, 1, false, Res::Other),
    ("as", 1, 1, false, Res::TypeArg),
    ("extension", 1, 1, false, Res::Extension),
    ("hasValue", 0, 0, false, Res::Other),
    ("getValue", 0, 0, false, Res::Other),
    ("resolve", 0, 0, false, Res::Other),
    ("memberOf", 1, 1, false, Res::Other),
    ("conformsTo", 1, 1, false, Res::Other),
    ("htmlChecks", 0, 0, false, Res::Other),
    ("subsumes", 1, 1, false, Res::Other),
    ("subsumedBy", 1, 1, false, Res::Other),
    ("checkModifiers", 1, 1, false, Res::Same),
    ("lowBoundary", 0, 1, false, Res::Other),
    ("highBoundary", 0, 1, false, Res::Other),
    ("precision", 0, 0, false, Res::Other),
    ("comparable", 1, 1, false, Res::Other),
    ("type", 0, 0, false, Res::Other),
    ("sort", 0, 8, true, Res::Same),
    ("matchesFull", 1, 2, false, Res::Str),
    ("encode", 1, 1, false, Res::Str),
    ("sum", 0, 0, false, Res::Other),
    ("min", 0, 0, false, Res::Other),
    ("max", 0, 0, false, Res::Other),
    ("avg", 0, 0, false, Res::Other),
    ("lastIndexOf", 1, 1, false, Res::Str),
    ("decode", 1, 1, false, Res::Str),
    ("escape", 1, 1, false, Res::Str),
    ("unescape", 1, 1, false, Res::Str),
];

/// What a function returns, statically.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Res {
    /// Same types as its input.
    Same,
    /// The types of its lambda argument.
    Arg,
    /// The type named by its type argument.
    TypeArg,
    /// `Extension`.
    Extension,
    /// A string function: input must be a primitive.
    Str,
    /// Unknown or System-typed.
    Other,
}

const SYSTEM_TYPES: [&str; 9] = [
    "Boolean", "String", "Integer", "Decimal", "Date", "DateTime", "Time", "Quantity", "Any",
];

struct Checker<'m> {
    model: Option<&'m dyn ModelInfo>,
    strict: bool,
    /// Unknown element names outside strict mode (published packages have
    /// a few, e.g. `cid-0` on ChargeItemDefinition.name).
    warnings: std::cell::RefCell<Vec<FhirPathError>>,
}

/// Runs the static checks; returns warnings (errors that strict mode
/// would raise).
pub(super) fn check(e: &Expr, opts: &CompileOptions) -> Result<Vec<FhirPathError>, FhirPathError> {
    let ck = Checker {
        model: opts.model.as_deref(),
        strict: opts.strict,
        warnings: Default::default(),
    };
    let ctx: Types = match (&opts.context_type, ck.model) {
        (Some(t), Some(m)) if m.is_type(t) => Some(vec![TypeName::from(t.as_str())]),
        _ => None,
    };
    ck.visit(e, &ctx, &ctx)?;
    Ok(ck.warnings.into_inner())
}

impl Checker<'_> {
    fn type_spec(&self, t: &TypeSpec, pos: usize) -> Result<(), FhirPathError> {
        let ok = match t.namespace.as_deref() {
            // Any System name is allowed: a non-System type just never matches.
            Some("System") => true,
            Some(_) => self.model.is_none_or(|m| m.is_type(&t.name)) || is_fhir_primitive(&t.name),
            None => {
                SYSTEM_TYPES.contains(&t.name.as_str())
                    || is_fhir_primitive(&t.name)
                    || self.model.is_none_or(|m| m.is_type(&t.name))
            }
        };
        if ok {
            Ok(())
        } else {
            Err(FhirPathError::semantic(
                pos,
                format!("unknown type {}", t.name),
            ))
        }
    }

    /// Abstract or polymorphic types whose concrete children are unknown.
    fn opaque(t: &str) -> bool {
        matches!(
            t,
            "Resource" | "DomainResource" | "Element" | "BackboneElement" | ""
        )
    }

    fn navigate(&self, types: &[TypeName], name: &str, pos: usize) -> Result<Types, FhirPathError> {
        let Some(model) = self.model else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for t in types {
            if Self::opaque(t) || !model.is_type(t) {
                return Ok(None);
            }
            if is_fhir_primitive(t) {
                match name {
                    "extension" => out.push(TypeName::from("Extension")),
                    "id" => out.push(TypeName::from("string")),
                    _ => {}
                }
                continue;
            }
            if let Some(ci) = model.child(t, name) {
                out.extend(ci.types.iter().cloned());
            } else if resolve_key(model, t, name).is_some() {
                return Err(FhirPathError::semantic(
                    pos,
                    format!("choice element must be accessed by its base name, not '{name}'"),
                ));
            }
        }
        if out.is_empty() && !types.is_empty() {
            let list: Vec<&str> = types.iter().map(|t| &**t).collect();
            let err = FhirPathError::semantic(
                pos,
                format!("'{name}' is not an element of {}", list.join(" | ")),
            );
            if self.strict {
                return Err(err);
            }
            self.warnings.borrow_mut().push(err);
        }
        Ok(Some(out))
    }

    fn visit(&self, e: &Expr, focus: &Types, this: &Types) -> Result<Types, FhirPathError> {
        Ok(match &e.kind {
            ExprKind::Member(None, name) => {
                let Some(types) = focus else { return Ok(None) };
                let model = self.model.expect("types are only known with a model");
                if name.starts_with(|c: char| c.is_ascii_uppercase()) && model.is_type(name) {
                    let matching: Vec<TypeName> = types
                        .iter()
                        .filter(|t| model.is_subtype(t, name))
                        .cloned()
                        .collect();
                    if matching.is_empty() && self.strict {
                        return Err(FhirPathError::semantic(
                            e.pos,
                            format!("the context is not a {name}"),
                        ));
                    }
                    return Ok(Some(if matching.is_empty() {
                        vec![]
                    } else {
                        vec![TypeName::from(name.as_str())]
                    }));
                }
                self.navigate(types, name, e.pos)?
            }
            ExprKind::Member(Some(t), name) => match self.visit(t, focus, this)? {
                Some(types) => self.navigate(&types, name, e.pos)?,
                None => None,
            },
            ExprKind::Call(target, name, args) => {
                let inp = match target {
                    Some(t) => self.visit(t, focus, this)?,
                    None => focus.clone(),
                };
                let family = super::eval::temporal::NAMES
                    .contains(&name.as_str())
                    .then_some(("", 0, 0, false, Res::Other));
                let found = FUNCTIONS.iter().find(|f| f.0 == name).copied().or(family);
                let Some((_, min, max, lambda, res)) = found else {
                    return Err(FhirPathError::semantic(
                        e.pos,
                        format!("unknown function {name}()"),
                    ));
                };
                if args.len() < min || args.len() > max {
                    return Err(FhirPathError::semantic(
                        e.pos,
                        format!(
                            "{name}() takes {min}..{max} arguments, {} given",
                            args.len()
                        ),
                    ));
                }
                // Strict mode: children()/descendants() have no defined order.
                if self.strict
                    && matches!(name.as_str(), "first" | "last" | "tail" | "skip" | "take")
                {
                    if let Some(ExprKind::Call(_, prev, _)) = target.as_deref().map(|t| &t.kind) {
                        if prev == "children" || prev == "descendants" {
                            return Err(FhirPathError::semantic(
                                e.pos,
                                format!("{name}() depends on order, but {prev}() is unordered"),
                            ));
                        }
                    }
                }
                let mut arg_types = Vec::new();
                for (i, a) in args.iter().enumerate() {
                    let t = if let ExprKind::TypeArg(spec) = &a.kind {
                        self.type_spec(spec, a.pos)?;
                        None
                    } else if name == "repeat" {
                        // The lambda also sees its own results: input type unknown.
                        self.visit(a, &None, &None)?
                    } else if lambda && (i == 0 || name == "sort")
                        || name == "select"
                        || name == "trace" && i == 1
                    {
                        self.visit(a, &inp, &inp)?
                    } else if name == "iif" {
                        if i == 0
                            && matches!(
                                a.kind,
                                ExprKind::Str(_) | ExprKind::Int(_) | ExprKind::Dec(_)
                            )
                        {
                            return Err(FhirPathError::semantic(
                                a.pos,
                                "iif() criterion must be a boolean",
                            ));
                        }
                        self.visit(
                            a,
                            &inp.clone().or(this.clone()),
                            &inp.clone().or(this.clone()),
                        )?
                    } else {
                        self.visit(a, this, this)?
                    };
                    arg_types.push(t);
                }
                match res {
                    Res::Same => inp,
                    Res::Arg => arg_types.into_iter().next().flatten(),
                    Res::TypeArg => match args.first().map(|a| &a.kind) {
                        Some(ExprKind::TypeArg(t))
                            if self.model.is_some_and(|m| m.is_type(&t.name)) =>
                        {
                            Some(vec![TypeName::from(t.name.as_str())])
                        }
                        _ => None,
                    },
                    Res::Extension => self.model.map(|_| vec![TypeName::from("Extension")]),
                    Res::Str => {
                        if let (Some(types), Some(m)) = (&inp, self.model) {
                            if !types.is_empty()
                                && types.iter().all(|t| {
                                    !is_fhir_primitive(t) && !Self::opaque(t) && m.is_type(t)
                                })
                            {
                                return Err(FhirPathError::semantic(
                                    e.pos,
                                    format!("{name}() needs a string, not {}", types[0]),
                                ));
                            }
                        }
                        None
                    }
                    Res::Other => None,
                }
            }
            ExprKind::Indexer(t, i) => {
                self.visit(i, this, this)?;
                self.visit(t, focus, this)?
            }
            ExprKind::Neg(x) => {
                self.visit(x, focus, this)?;
                None
            }
            ExprKind::Binary(_, l, r) => {
                self.visit(l, focus, this)?;
                self.visit(r, focus, this)?;
                None
            }
            ExprKind::Is(x, t) => {
                self.type_spec(t, e.pos)?;
                self.visit(x, focus, this)?;
                None
            }
            ExprKind::As(x, t) => {
                self.type_spec(t, e.pos)?;
                let inner = self.visit(x, focus, this)?;
                match (inner, self.model) {
                    (Some(types), Some(m)) if m.is_type(&t.name) => {
                        if self.strict
                            && !types.is_empty()
                            && !types
                                .iter()
                                .any(|s| m.is_subtype(s, &t.name) || m.is_subtype(&t.name, s))
                        {
                            return Err(FhirPathError::semantic(
                                e.pos,
                                format!("{} can never be a {}", types[0], t.name),
                            ));
                        }
                        Some(vec![TypeName::from(t.name.as_str())])
                    }
                    _ => None,
                }
            }
            ExprKind::This => this.clone(),
            ExprKind::Scoped(t, inner) => {
                let ts = self.visit(t, focus, this)?;
                self.visit(inner, &ts, &ts)?
            }
            _ => None,
        })
    }
}
