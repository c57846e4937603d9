//! Recursive-descent parser producing an AST with source positions.

use super::datetime::Temporal;
use super::decimal::Decimal;
use super::lexer::{tokenize, Tok, Token};
use super::quantity::{calendar_keyword, Quantity};
use super::FhirPathError;

/// Maximum nesting depth the parser accepts (guards the native stack).
pub const MAX_PARSE_DEPTH: usize = 64;

/// Maximum depth of the syntax tree (long operator chains nest to the
/// left); checking and evaluation recurse this deep.
pub const MAX_AST_DEPTH: usize = 128;

/// Depth of a syntax tree.
pub fn depth(e: &Expr) -> usize {
    let kids: Vec<&Expr> = match &e.kind {
        ExprKind::Member(Some(t), _)
        | ExprKind::Neg(t)
        | ExprKind::Is(t, _)
        | ExprKind::As(t, _) => vec![t],
        ExprKind::Call(t, _, args) => t.iter().map(|b| &**b).chain(args.iter()).collect(),
        ExprKind::Scoped(a, b) | ExprKind::Indexer(a, b) | ExprKind::Binary(_, a, b) => vec![a, b],
        _ => vec![],
    };
    1 + kids.into_iter().map(depth).max().unwrap_or(0)
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `implies`
    Implies,
    /// `or`
    Or,
    /// `xor`
    Xor,
    /// `and`
    And,
    /// `in`
    In,
    /// `contains`
    Contains,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `~`
    Equiv,
    /// `!~`
    NotEquiv,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `|`
    Union,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `&`
    Concat,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `div`
    IntDiv,
    /// `mod`
    Mod,
}

/// A type name in `is`/`as`/`ofType`: optional namespace (`FHIR`, `System`).
#[derive(Debug, Clone)]
pub struct TypeSpec {
    /// `FHIR` or `System` when written.
    pub namespace: Option<String>,
    /// The type name.
    pub name: String,
    /// Whether items can be of this type, once the evaluator has checked
    /// the name against its model.
    pub(crate) known: Hint,
}

impl PartialEq for TypeSpec {
    fn eq(&self, other: &Self) -> bool {
        self.namespace == other.namespace && self.name == other.name
    }
}

/// An expression node.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Character offset in the source where the node starts (for calls
    /// and members: the name).
    pub pos: usize,
    /// Character offset just past the node's last token.
    pub end: usize,
    /// Structural key under which an [`EvalCache`](super::EvalCache) may
    /// share this node's result with identical subexpressions; `None` when
    /// the result can depend on more than the focus (see `memo.rs`).
    pub(crate) memo: Option<super::memo::Memo>,
    /// For a function call: the family that last answered it.
    pub(crate) family: Hint,
}

/// A small value the evaluator learns about a node and reuses on later
/// evaluations of it (expressions are compiled once and shared between
/// threads, hence an atomic): which function family answered a call, how a
/// type specifier tests. Only a hint: the evaluator checks what it reads
/// or recomputes it.
#[derive(Default)]
pub(crate) struct Hint(std::sync::atomic::AtomicU8);

impl Hint {
    const NONE: u8 = 0;

    /// The value learnt, if any.
    pub(crate) fn get(&self) -> Option<usize> {
        match self.0.load(std::sync::atomic::Ordering::Relaxed) {
            Self::NONE => None,
            i => Some(usize::from(i - 1)),
        }
    }

    /// Learns `value` (values past 254 are not kept).
    pub(crate) fn set(&self, value: usize) {
        if let Ok(i) = u8::try_from(value + 1) {
            self.0.store(i, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl Clone for Hint {
    fn clone(&self) -> Self {
        Hint(std::sync::atomic::AtomicU8::new(
            self.0.load(std::sync::atomic::Ordering::Relaxed),
        ))
    }
}

impl std::fmt::Debug for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.get())
    }
}

impl Expr {
    /// `(start, end)` character offsets covering the whole node, children
    /// included.
    pub fn span(&self) -> (usize, usize) {
        let mut start = self.pos;
        let mut visit = |e: &Expr| start = start.min(e.span().0);
        match &self.kind {
            ExprKind::Member(Some(t), _)
            | ExprKind::Neg(t)
            | ExprKind::Is(t, _)
            | ExprKind::As(t, _) => visit(t),
            ExprKind::Call(Some(t), _, _) => visit(t),
            ExprKind::Scoped(a, _) | ExprKind::Indexer(a, _) | ExprKind::Binary(_, a, _) => {
                visit(a)
            }
            _ => {}
        }
        (start, self.end)
    }
}

/// Expression kinds.
#[derive(Debug, Clone)]
pub enum ExprKind {
    /// `{}`
    Empty,
    /// `true` / `false`
    Bool(bool),
    /// `'text'`
    Str(String),
    /// `12`
    Int(i64),
    /// `1.5`
    Dec(Decimal),
    /// `@2014-01-01`, `@T10:00`
    Temporal(Temporal),
    /// `4 'mg'`, `2 days`
    Quantity(Quantity),
    /// `$this`
    This,
    /// `$index`
    Index,
    /// `$total`
    Total,
    /// `%name`
    Env(String),
    /// `target.name`, or `name` on `$this` when the target is `None`.
    Member(Option<Box<Expr>>, String),
    /// `target.name(args)`, or a function on `$this` when the target is `None`.
    Call(Option<Box<Expr>>, String, Vec<Expr>),
    /// A type argument of `is()`, `as()`, `ofType()`.
    TypeArg(TypeSpec),
    /// `target.(expr)`: `expr` evaluated with `target` as its focus (an
    /// extension of the HL7 Java engine used by published IGs).
    Scoped(Box<Expr>, Box<Expr>),
    /// `target[index]`
    Indexer(Box<Expr>, Box<Expr>),
    /// `-x` (`+x` is dropped)
    Neg(Box<Expr>),
    /// `a op b`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `x is T`
    Is(Box<Expr>, TypeSpec),
    /// `x as T`
    As(Box<Expr>, TypeSpec),
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    depth: usize,
    /// End offset of the last consumed token.
    prev_end: usize,
}

/// Parses an expression.
pub fn parse(src: &str) -> Result<Expr, FhirPathError> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
        prev_end: 0,
    };
    let e = p.expr(0)?;
    match &p.peek().tok {
        Tok::Eof if depth(&e) > MAX_AST_DEPTH => Err(FhirPathError::syntax(
            0,
            format!("expression nested more than {MAX_AST_DEPTH} levels deep"),
        )),
        Tok::Eof => Ok(e),
        t => Err(FhirPathError::syntax(
            p.peek().pos,
            format!("unexpected {t:?}"),
        )),
    }
}

fn binop(tok: &Tok) -> Option<(BinOp, u8)> {
    Some(match tok {
        Tok::Ident(s, false) => match s.as_str() {
            "implies" => (BinOp::Implies, 1),
            "or" => (BinOp::Or, 2),
            "xor" => (BinOp::Xor, 2),
            "and" => (BinOp::And, 3),
            "in" => (BinOp::In, 4),
            "contains" => (BinOp::Contains, 4),
            "div" => (BinOp::IntDiv, 10),
            "mod" => (BinOp::Mod, 10),
            _ => return None,
        },
        Tok::Op(o) => match *o {
            "=" => (BinOp::Eq, 5),
            "!=" => (BinOp::Ne, 5),
            "~" => (BinOp::Equiv, 5),
            "!~" => (BinOp::NotEquiv, 5),
            "<" => (BinOp::Lt, 6),
            "<=" => (BinOp::Le, 6),
            ">" => (BinOp::Gt, 6),
            ">=" => (BinOp::Ge, 6),
            "|" => (BinOp::Union, 7),
            "+" => (BinOp::Add, 9),
            "-" => (BinOp::Sub, 9),
            "&" => (BinOp::Concat, 9),
            "*" => (BinOp::Mul, 10),
            "/" => (BinOp::Div, 10),
            _ => return None,
        },
        _ => return None,
    })
}

/// Precedence of `is` / `as`.
const TYPE_PREC: u8 = 8;

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.i]
    }

    fn next(&mut self) -> Token {
        let t = self.toks[self.i].clone();
        self.prev_end = t.end;
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn expect(&mut self, op: &'static str) -> Result<(), FhirPathError> {
        let t = self.next();
        if t.tok == Tok::Op(op) {
            Ok(())
        } else {
            Err(FhirPathError::syntax(
                t.pos,
                format!("expected '{op}', found {:?}", t.tok),
            ))
        }
    }

    fn expr(&mut self, min_prec: u8) -> Result<Expr, FhirPathError> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return Err(FhirPathError::syntax(
                self.peek().pos,
                "expression nested too deeply",
            ));
        }
        let mut lhs = self.unary()?;
        loop {
            let t = self.peek().clone();
            if let Tok::Ident(w, false) = &t.tok {
                if (w == "is" || w == "as") && TYPE_PREC >= min_prec {
                    self.next();
                    let spec = self.type_spec()?;
                    let b = Box::new(lhs);
                    let kind = if w == "is" {
                        ExprKind::Is(b, spec)
                    } else {
                        ExprKind::As(b, spec)
                    };
                    lhs = Expr {
                        kind,
                        pos: t.pos,
                        end: self.prev_end,
                        memo: None,
                        family: Default::default(),
                    };
                    continue;
                }
            }
            let Some((op, prec)) = binop(&t.tok) else {
                break;
            };
            if prec < min_prec {
                break;
            }
            self.next();
            let rhs = self.expr(prec + 1)?;
            lhs = Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                pos: t.pos,
                end: self.prev_end,
                memo: None,
                family: Default::default(),
            };
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn type_spec(&mut self) -> Result<TypeSpec, FhirPathError> {
        let t = self.next();
        let Tok::Ident(first, _) = t.tok else {
            return Err(FhirPathError::syntax(t.pos, "expected a type name"));
        };
        if (first == "FHIR" || first == "System") && self.peek().tok == Tok::Op(".") {
            self.next();
            let t2 = self.next();
            let Tok::Ident(name, _) = t2.tok else {
                return Err(FhirPathError::syntax(t2.pos, "expected a type name"));
            };
            return Ok(TypeSpec {
                namespace: Some(first),
                name,
                known: Hint::default(),
            });
        }
        Ok(TypeSpec {
            namespace: None,
            name: first,
            known: Hint::default(),
        })
    }

    fn unary(&mut self) -> Result<Expr, FhirPathError> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Op("-") => {
                self.next();
                let inner = self.unary()?;
                Ok(match inner.kind {
                    ExprKind::Int(i) => Expr {
                        kind: ExprKind::Int(-i),
                        pos: t.pos,
                        end: self.prev_end,
                        memo: None,
                        family: Default::default(),
                    },
                    ExprKind::Dec(d) => Expr {
                        kind: ExprKind::Dec(d.neg()),
                        pos: t.pos,
                        end: self.prev_end,
                        memo: None,
                        family: Default::default(),
                    },
                    ExprKind::Quantity(mut q) => {
                        q.value = q.value.neg();
                        Expr {
                            kind: ExprKind::Quantity(q),
                            pos: t.pos,
                            end: self.prev_end,
                            memo: None,
                            family: Default::default(),
                        }
                    }
                    _ => Expr {
                        kind: ExprKind::Neg(Box::new(inner)),
                        pos: t.pos,
                        end: self.prev_end,
                        memo: None,
                        family: Default::default(),
                    },
                })
            }
            Tok::Op("+") => {
                self.next();
                self.unary()
            }
            _ => self.postfix(),
        }
    }

    fn postfix(&mut self) -> Result<Expr, FhirPathError> {
        let mut e = self.term()?;
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Op(".") => {
                    self.next();
                    if self.peek().tok == Tok::Op("(") {
                        let p = self.next().pos;
                        let inner = self.expr(0)?;
                        self.expect(")")?;
                        e = Expr {
                            kind: ExprKind::Scoped(Box::new(e), Box::new(inner)),
                            pos: p,
                            end: self.prev_end,
                            memo: None,
                            family: Default::default(),
                        };
                        continue;
                    }
                    let nt = self.next();
                    let name = match nt.tok {
                        Tok::Ident(n, _) => n,
                        other => {
                            return Err(FhirPathError::syntax(
                                nt.pos,
                                format!("expected a name after '.', found {other:?}"),
                            ))
                        }
                    };
                    if self.peek().tok == Tok::Op("(") {
                        let args = self.args(&name)?;
                        e = Expr {
                            kind: ExprKind::Call(Some(Box::new(e)), name, args),
                            pos: nt.pos,
                            end: self.prev_end,
                            memo: None,
                            family: Default::default(),
                        };
                    } else {
                        e = Expr {
                            kind: ExprKind::Member(Some(Box::new(e)), name),
                            pos: nt.pos,
                            end: self.prev_end,
                            memo: None,
                            family: Default::default(),
                        };
                    }
                }
                Tok::Op("[") => {
                    self.next();
                    let idx = self.expr(0)?;
                    self.expect("]")?;
                    e = Expr {
                        kind: ExprKind::Indexer(Box::new(e), Box::new(idx)),
                        pos: t.pos,
                        end: self.prev_end,
                        memo: None,
                        family: Default::default(),
                    };
                }
                _ => return Ok(e),
            }
        }
    }

    fn args(&mut self, name: &str) -> Result<Vec<Expr>, FhirPathError> {
        self.expect("(")?;
        let mut args = Vec::new();
        if self.peek().tok == Tok::Op(")") {
            self.next();
            return Ok(args);
        }
        loop {
            let start = self.i;
            let a = self.expr(0)?;
            // Type arguments are plain (qualified) identifiers.
            let a = if matches!(name, "is" | "as" | "ofType") && args.is_empty() {
                self.i = start;
                let pos = self.peek().pos;
                let spec = self.type_spec()?;
                Expr {
                    kind: ExprKind::TypeArg(spec),
                    pos,
                    end: self.prev_end,
                    memo: None,
                    family: Default::default(),
                }
            } else {
                a
            };
            args.push(a);
            let t = self.next();
            match t.tok {
                Tok::Op(",") => continue,
                Tok::Op(")") => return Ok(args),
                other => {
                    return Err(FhirPathError::syntax(
                        t.pos,
                        format!("expected ',' or ')', found {other:?}"),
                    ))
                }
            }
        }
    }

    fn term(&mut self) -> Result<Expr, FhirPathError> {
        let t = self.next();
        let pos = t.pos;
        let kind = match t.tok {
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Number(n) => {
                let unit = match &self.peek().tok {
                    Tok::Str(u) => Some(u.clone()),
                    Tok::Ident(w, false) => calendar_keyword(w).map(str::to_string),
                    _ => None,
                };
                let value =
                    Decimal::parse(&n).ok_or_else(|| FhirPathError::syntax(pos, "bad number"))?;
                if let Some(unit) = unit {
                    self.next();
                    ExprKind::Quantity(Quantity { value, unit })
                } else if n.contains('.') {
                    ExprKind::Dec(value)
                } else {
                    match n.parse::<i64>() {
                        Ok(i) => ExprKind::Int(i),
                        Err(_) => {
                            return Err(FhirPathError::syntax(pos, "integer literal out of range"))
                        }
                    }
                }
            }
            Tok::DateTime(s) => match Temporal::parse_date_time(&s) {
                Some(v) => ExprKind::Temporal(v),
                None => {
                    return Err(FhirPathError::syntax(
                        pos,
                        format!("invalid date/time literal @{s}"),
                    ))
                }
            },
            Tok::Time(s) => match Temporal::parse_time(&s) {
                Some(v) => ExprKind::Temporal(v),
                None => {
                    return Err(FhirPathError::syntax(
                        pos,
                        format!("invalid time literal @T{s}"),
                    ))
                }
            },
            Tok::Env(name) => ExprKind::Env(name),
            Tok::Special(s) => match s.as_str() {
                "$this" => ExprKind::This,
                "$index" => ExprKind::Index,
                _ => ExprKind::Total,
            },
            Tok::Op("(") => {
                let e = self.expr(0)?;
                self.expect(")")?;
                return Ok(e);
            }
            Tok::Op("{") => {
                self.expect("}")?;
                ExprKind::Empty
            }
            Tok::Ident(name, quoted) => {
                if !quoted && (name == "true" || name == "false") {
                    ExprKind::Bool(name == "true")
                } else if self.peek().tok == Tok::Op("(") && !quoted {
                    let args = self.args(&name)?;
                    ExprKind::Call(None, name, args)
                } else {
                    ExprKind::Member(None, name)
                }
            }
            other => return Err(FhirPathError::syntax(pos, format!("unexpected {other:?}"))),
        };
        Ok(Expr {
            kind,
            pos,
            end: self.prev_end,
            memo: None,
            family: Default::default(),
        })
    }
}
