//! The expression tree a parsed answer becomes.

use super::number::Rational;

/// A numeric literal as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    /// The exact value when it fits an `i128` fraction.
    pub exact: Option<Rational>,
    /// The nearest `f64`.
    pub approx: f64,
    /// Whether it was written with a decimal point (`0.5`, not `1/2`): comparisons against a
    /// decimal round both sides to the configured precision (Math-Verify's `float_rounding`).
    pub decimal: bool,
}

/// Named constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constant {
    /// π.
    Pi,
    /// Euler's number e.
    E,
    /// ∞.
    Infinity,
}

/// Known functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Func {
    Sqrt,
    /// `\sqrt[n]{x}`: arguments `[x, n]`.
    Root,
    Sin,
    Cos,
    Tan,
    Sec,
    Csc,
    Cot,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Ln,
    /// `\log_b x`: arguments `[x]` (natural) or `[x, b]`.
    Log,
    Exp,
    Abs,
    Floor,
    Ceil,
    Factorial,
    /// `\binom{n}{k}`: arguments `[n, k]`.
    Binom,
}

/// A relation symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum RelOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `x \in S`.
    In,
}

/// A parsed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A number.
    Num(Number),
    /// A variable, with its subscript folded into the name (`a_3`).
    Sym(String),
    /// π, e, ∞.
    Const(Constant),
    /// `-x`.
    Neg(Box<Node>),
    /// A sum.
    Add(Vec<Node>),
    /// A product.
    Mul(Vec<Node>),
    /// A quotient.
    Div(Box<Node>, Box<Node>),
    /// A power.
    Pow(Box<Node>, Box<Node>),
    /// A known function.
    Func(Func, Vec<Node>),
    /// An undefined function applied to arguments, `f(x)`.
    Apply(String, Vec<Node>),
    /// `a ± b` (a is `0` for a leading `±`).
    PlusMinus(Box<Node>, Box<Node>),
    /// `x%`, worth `x/100`.
    Percent(Box<Node>),
    /// Words (`\text{Evelyn}`), lower-cased and trimmed.
    Text(String),
    /// `(a, b, c)`: ordered.
    Tuple(Vec<Node>),
    /// `\{a, b\}`, or a bare list `a, b`: unordered.
    Set(Vec<Node>),
    /// An interval with open or closed ends.
    Interval {
        /// Left end.
        lo: Box<Node>,
        /// Right end.
        hi: Box<Node>,
        /// Whether the left end is excluded.
        lo_open: bool,
        /// Whether the right end is excluded.
        hi_open: bool,
    },
    /// `A \cup B`.
    Union(Vec<Node>),
    /// A matrix, row-major.
    Matrix(Vec<Vec<Node>>),
    /// A chain of relations `e0 op0 e1 op1 e2 …`; `ops.len() + 1 == terms.len()`.
    Rel(Vec<Node>, Vec<RelOp>),
}

impl Node {
    /// Whether any node in the tree satisfies `pred`.
    pub fn any(&self, pred: &dyn Fn(&Node) -> bool) -> bool {
        if pred(self) {
            return true;
        }
        self.children().iter().any(|c| c.any(pred))
    }

    /// The direct children.
    pub fn children(&self) -> Vec<&Node> {
        match self {
            Node::Num(_) | Node::Sym(_) | Node::Const(_) | Node::Text(_) => vec![],
            Node::Neg(a) | Node::Percent(a) => vec![a],
            Node::Div(a, b) | Node::Pow(a, b) | Node::PlusMinus(a, b) => vec![a, b],
            Node::Add(v)
            | Node::Mul(v)
            | Node::Func(_, v)
            | Node::Apply(_, v)
            | Node::Tuple(v)
            | Node::Set(v)
            | Node::Union(v)
            | Node::Rel(v, _) => v.iter().collect(),
            Node::Interval { lo, hi, .. } => vec![lo, hi],
            Node::Matrix(rows) => rows.iter().flatten().collect(),
        }
    }

    /// The sorted, deduplicated names of the free variables.
    pub fn free_symbols(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_symbols(&mut out);
        out.sort();
        out.dedup();
        out
    }

    fn collect_symbols(&self, out: &mut Vec<String>) {
        if let Node::Sym(s) = self {
            out.push(s.clone());
        }
        for c in self.children() {
            c.collect_symbols(out);
        }
    }

    /// Whether the tree holds a decimal literal (`0.5`).
    pub fn has_decimal(&self) -> bool {
        self.any(&|n| matches!(n, Node::Num(Number { decimal: true, .. })))
    }

    /// A copy with every variable renamed through `map`.
    pub fn rename(&self, map: &dyn Fn(&str) -> String) -> Node {
        let r = |n: &Node| n.rename(map);
        let rv = |v: &Vec<Node>| v.iter().map(r).collect::<Vec<_>>();
        let b = |n: &Node| Box::new(n.rename(map));
        match self {
            Node::Sym(s) => Node::Sym(map(s)),
            Node::Num(_) | Node::Const(_) | Node::Text(_) => self.clone(),
            Node::Neg(a) => Node::Neg(b(a)),
            Node::Percent(a) => Node::Percent(b(a)),
            Node::Div(x, y) => Node::Div(b(x), b(y)),
            Node::Pow(x, y) => Node::Pow(b(x), b(y)),
            Node::PlusMinus(x, y) => Node::PlusMinus(b(x), b(y)),
            Node::Add(v) => Node::Add(rv(v)),
            Node::Mul(v) => Node::Mul(rv(v)),
            Node::Func(f, v) => Node::Func(*f, rv(v)),
            Node::Apply(n, v) => Node::Apply(n.clone(), rv(v)),
            Node::Tuple(v) => Node::Tuple(rv(v)),
            Node::Set(v) => Node::Set(rv(v)),
            Node::Union(v) => Node::Union(rv(v)),
            Node::Rel(v, ops) => Node::Rel(rv(v), ops.clone()),
            Node::Interval {
                lo,
                hi,
                lo_open,
                hi_open,
            } => Node::Interval {
                lo: b(lo),
                hi: b(hi),
                lo_open: *lo_open,
                hi_open: *hi_open,
            },
            Node::Matrix(rows) => Node::Matrix(rows.iter().map(rv).collect()),
        }
    }
}
