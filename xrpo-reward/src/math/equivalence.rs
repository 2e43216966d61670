//! Whether two parsed answers are the same answer.
//!
//! Numbers compare exactly as rationals. Polynomials (multivariate, rational coefficients,
//! and Gaussian integers with `i² = −1`) compare exactly by canonical expansion
//! ([`poly`](super::poly)); an expansion past its work cap fails closed (`too_large`).
//! Other expressions with variables compare by evaluation at deterministic pseudo-random
//! points. A decimal literal on either side makes both sides agree to
//! [`MathConfig::precision`] decimal places *and* significant digits (so `1/3` =
//! `0.333333`, but `1.5·10⁻⁸` ≠ `1.5·10⁻⁷`); irrational values compare within
//! [`MathConfig::rel_tol`] (relative, with an absolute floor of 1e-12 near 0).
//!
//! Relations compare up to a non-zero factor (`y = 2x + 3` ≡ `2y = 4x + 6` ≡
//! `y − 2x = 3`, but `x − y = 4` ≠ `y = −x + 4`), with flipped sides (`x<1` ≡ `-x>-1`); an
//! inequality's factor must be positive. A one-variable inequality (or a list of them
//! joined by "or") compares with an interval or union as the set it describes, both ways
//! by default ([`MathConfig::allow_set_relation_comp`]). Tuples are ordered
//! ([`MathConfig::tuple_order`]); sets and bare lists (`1, 2`, `x = 1, 2`) unordered, with
//! duplicates collapsing; a set of two answers never equals one of them. Intervals compare
//! ends and openness; a column or row vector equals the tuple of its entries.
//!
//! Conventions taken from Math-Verify (documented, each pinned by a conformance case):
//! - `x = 5` against `5`: an equation whose left side names a quantity (symbols only and
//!   not a sum: `x`, `f(x)`, `AB`, `(p, q)`, `V_1 : V_2`) is its value; a chain
//!   `x = 1+1 = 2` is `x = 2` (its last side). `x + y = 5` stays an equation.
//! - A percentage accepts its value (`25\%` = `0.25`) and, with
//!   [`MathConfig::percent_bare_number`], its bare number (`25\%` vs `25`); two
//!   percentages compare their numbers (`0.25\%` ≠ `25\%`).
//! - A tuple against a set compares in the set's written order.

use std::cell::Cell;

use super::ast::{Constant, Node, RelOp};
use super::config::MathConfig;
use super::eval::{Env, EvalError, Val, eval};
use super::poly;

/// Most element comparisons one [`compare`] call makes (sets of sets, ± expansions);
/// past it the answers count as unequal and the comparison reports `too_large`.
const MAX_COMPARISONS: u32 = 1024;

/// Most matrices multiplied together when folding a product (the folded tree grows as
/// the power of the number of factors).
const MAX_MATRIX_FACTORS: usize = 3;

/// The result of comparing two answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comparison {
    /// Whether the answers are equivalent.
    pub equal: bool,
    /// Whether some part could not be evaluated because it ran past a cap.
    pub too_large: bool,
}

/// Compares a gold answer with a predicted one.
///
/// Trees from the parser are always well formed; a hand-built [`Node::Rel`] whose term
/// count is not its relation count plus one compares unequal.
pub fn compare(gold: &Node, pred: &Node, cfg: &MathConfig) -> Comparison {
    let malformed = |n: &Node| {
        n.any(&|x| matches!(x, Node::Rel(t, o) if o.is_empty() || t.len() != o.len() + 1))
    };
    if malformed(gold) || malformed(pred) {
        return Comparison {
            equal: false,
            too_large: false,
        };
    }
    let c = Comparer {
        cfg,
        too_large: Cell::new(false),
        budget: Cell::new(MAX_COMPARISONS),
    };
    let pred = if cfg.strict {
        pred.clone()
    } else {
        let (gs, ps) = (gold.free_symbols(), pred.free_symbols());
        if gs.len() == ps.len() {
            pred.rename(&|name| {
                ps.iter()
                    .position(|p| p == name)
                    .map_or_else(|| name.to_string(), |i| gs[i].clone())
            })
        } else {
            pred.clone()
        }
    };
    let equal = c.cmp(gold, &pred);
    Comparison {
        equal,
        too_large: c.too_large.get(),
    }
}

struct Comparer<'a> {
    cfg: &'a MathConfig,
    too_large: Cell<bool>,
    /// Element comparisons left; bounds the work on huge sets.
    budget: Cell<u32>,
}

fn is_equation(n: &Node) -> bool {
    matches!(n, Node::Rel(_, ops) if ops.iter().all(|o| *o == RelOp::Eq))
}

fn is_symbolic(n: &Node) -> bool {
    !n.any(&|x| matches!(x, Node::Num(_) | Node::Text(_)))
        && n.any(&|x| matches!(x, Node::Sym(_) | Node::Apply(..)))
}

/// `x = 5`, `f(x) = 2x`, `AB = 4`, `(p, q) = (3, 2)`, `V_1 : V_2 = 11 : 21`: an equation
/// whose left side names a quantity (symbols only, no numbers) stands for its value. A
/// left side that is a sum or difference (`x + y = 5`, a line) makes a true equation,
/// never the number 5.
fn is_assignment(n: &Node) -> bool {
    matches!(n, Node::Rel(terms, _) if is_equation(n)
        && terms.first().is_some_and(|t| is_symbolic(t) && !matches!(t, Node::Add(_) | Node::Neg(_))))
}

/// A list of one-variable inequalities (`x < -1 \text{ or } x > 1`) as the union of the
/// intervals they describe.
fn relations_as_union(n: &Node) -> Option<Node> {
    let Node::Set(items) = n else { return None };
    if items.len() < 2
        || !items
            .iter()
            .all(|x| matches!(x, Node::Rel(_, ops) if ops.iter().all(|o| *o != RelOp::Eq)))
    {
        return None;
    }
    let parts = items
        .iter()
        .map(relation_as_set)
        .collect::<Option<Vec<_>>>()?;
    Some(Node::Union(parts))
}

fn has_imaginary_unit(n: &Node) -> bool {
    n.any(&|x| matches!(x, Node::Sym(s) if s == "i"))
}

fn is_setlike(n: &Node) -> bool {
    matches!(
        n,
        Node::Set(_) | Node::Tuple(_) | Node::Interval { .. } | Node::Union(_)
    )
}

fn last_side(n: &Node) -> Node {
    match n {
        Node::Rel(terms, _) => terms.last().cloned().unwrap_or(Node::Set(vec![])),
        other => other.clone(),
    }
}

fn has_pm(n: &Node) -> bool {
    n.any(&|x| matches!(x, Node::PlusMinus(..)))
}

/// Replaces the first `±` by `+` (`plus`) or `−`.
fn pick_pm(n: &Node, plus: bool, done: &mut bool) -> Node {
    if *done {
        return n.clone();
    }
    if let Node::PlusMinus(a, b) = n {
        *done = true;
        let b = if plus {
            (**b).clone()
        } else {
            Node::Neg(b.clone())
        };
        return Node::Add(vec![(**a).clone(), b]);
    }
    let mut out = n.clone();
    match &mut out {
        Node::Neg(a) | Node::Percent(a) => **a = pick_pm(a, plus, done),
        Node::Div(a, b) | Node::Pow(a, b) => {
            **a = pick_pm(a, plus, done);
            **b = pick_pm(b, plus, done);
        }
        Node::Add(v) | Node::Mul(v) | Node::Func(_, v) | Node::Apply(_, v) | Node::Rel(v, _) => {
            for x in v.iter_mut() {
                *x = pick_pm(x, plus, done);
            }
        }
        _ => {}
    }
    out
}

/// All sign choices of the `±` in a scalar (at most 16).
fn expand_pm(n: &Node, depth: u32) -> Vec<Node> {
    if depth >= 4 || !has_pm(n) {
        return vec![n.clone()];
    }
    let mut out = Vec::new();
    for plus in [true, false] {
        let mut done = false;
        let picked = pick_pm(n, plus, &mut done);
        out.extend(expand_pm(&picked, depth + 1));
    }
    out
}

/// `1 ± √2` becomes the set `{1+√2, 1−√2}`; inside a set, the choices join the set.
fn expand_answer(n: &Node) -> Node {
    match n {
        Node::Set(items) => Node::Set(items.iter().flat_map(|x| expand_pm(x, 0)).collect()),
        Node::Tuple(_) | Node::Interval { .. } | Node::Union(_) | Node::Matrix(_) => n.clone(),
        Node::Rel(terms, ops) if ops.len() == 1 && has_pm(&terms[1]) && !has_pm(&terms[0]) => {
            let choices = expand_pm(&terms[1], 0);
            Node::Set(
                choices
                    .into_iter()
                    .map(|c| Node::Rel(vec![terms[0].clone(), c], ops.clone()))
                    .collect(),
            )
        }
        other if has_pm(other) => Node::Set(expand_pm(other, 0)),
        other => other.clone(),
    }
}

/// One link `f op 0` of a relation chain, with `>`/`≥` turned around.
fn links(terms: &[Node], ops: &[RelOp]) -> Option<Vec<(Node, RelOp)>> {
    let mut out = Vec::new();
    for (k, op) in ops.iter().enumerate() {
        let (a, b) = (terms[k].clone(), terms[k + 1].clone());
        let diff = |x: Node, y: Node| Node::Add(vec![x, Node::Neg(Box::new(y))]);
        out.push(match op {
            RelOp::Eq | RelOp::Ne | RelOp::Lt | RelOp::Le => (diff(a, b), *op),
            RelOp::Gt => (diff(b, a), RelOp::Lt),
            RelOp::Ge => (diff(b, a), RelOp::Le),
            RelOp::In => return None,
        });
    }
    Some(out)
}

/// A one-variable inequality as the interval (or point set) it describes.
fn relation_as_set(n: &Node) -> Option<Node> {
    let Node::Rel(terms, ops) = n else {
        return None;
    };
    let constant = |x: &Node| x.free_symbols().is_empty() && !is_setlike(x);
    let inf = || Node::Const(Constant::Infinity);
    let ninf = || Node::Neg(Box::new(Node::Const(Constant::Infinity)));
    let interval = |lo: Node, hi: Node, lo_open: bool, hi_open: bool| Node::Interval {
        lo: Box::new(lo),
        hi: Box::new(hi),
        lo_open,
        hi_open,
    };
    match (terms.as_slice(), ops.as_slice()) {
        ([a, mid, b], [o1, o2])
            if constant(a) && constant(b) && matches!(mid, Node::Sym(_) | Node::Apply(..)) =>
        {
            let lower = |o: &RelOp| matches!(o, RelOp::Lt | RelOp::Le);
            let upper = |o: &RelOp| matches!(o, RelOp::Gt | RelOp::Ge);
            if lower(o1) && lower(o2) {
                Some(interval(
                    a.clone(),
                    b.clone(),
                    *o1 == RelOp::Lt,
                    *o2 == RelOp::Lt,
                ))
            } else if upper(o1) && upper(o2) {
                Some(interval(
                    b.clone(),
                    a.clone(),
                    *o2 == RelOp::Gt,
                    *o1 == RelOp::Gt,
                ))
            } else {
                None
            }
        }
        ([x, c], [op]) | ([c, x], [op])
            if constant(c) && matches!(x, Node::Sym(_) | Node::Apply(..)) =>
        {
            // Orient as `x op c`.
            let op = if std::ptr::eq(c, &terms[0]) {
                match op {
                    RelOp::Lt => RelOp::Gt,
                    RelOp::Le => RelOp::Ge,
                    RelOp::Gt => RelOp::Lt,
                    RelOp::Ge => RelOp::Le,
                    other => *other,
                }
            } else {
                *op
            };
            let c = c.clone();
            Some(match op {
                RelOp::Lt => interval(ninf(), c, true, true),
                RelOp::Le => interval(ninf(), c, true, false),
                RelOp::Gt => interval(c, inf(), true, true),
                RelOp::Ge => interval(c, inf(), false, true),
                RelOp::Eq => Node::Set(vec![c]),
                _ => return None,
            })
        }
        _ => None,
    }
}

/// The letters of a product of variables, for comparing with words (`odd` vs `\text{odd}`).
fn letters(n: &Node) -> Option<String> {
    match n {
        Node::Text(t) => Some(t.clone()),
        Node::Sym(s) => Some(s.clone()),
        Node::Const(Constant::E) => Some("e".into()),
        Node::Const(Constant::Pi) => Some("pi".into()),
        Node::Mul(v) => v
            .iter()
            .map(letters)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.concat()),
        Node::Tuple(v) if v.len() == 1 => letters(&v[0]),
        _ => None,
    }
}

fn text_key(s: &str) -> String {
    let t: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    t.trim_start_matches('(').trim_end_matches(')').to_string()
}

/// The entries of a one-column or one-row matrix, or of a tuple of two or more.
fn vector_entries(n: &Node) -> Option<Vec<Node>> {
    match n {
        Node::Matrix(rows) if rows.len() > 1 && rows.iter().all(|r| r.len() == 1) => {
            Some(rows.iter().map(|r| r[0].clone()).collect())
        }
        Node::Matrix(rows) if rows.len() == 1 && rows[0].len() > 1 => Some(rows[0].clone()),
        Node::Tuple(v) if v.len() > 1 => Some(v.clone()),
        _ => None,
    }
}

/// Sums and products of matrices folded into one matrix of scalar expressions.
fn fold_matrix(n: &Node) -> Option<Vec<Vec<Node>>> {
    match n {
        Node::Matrix(rows) => Some(rows.clone()),
        Node::Add(terms) => {
            let ms = terms.iter().map(fold_matrix).collect::<Option<Vec<_>>>()?;
            let first = ms.first()?;
            let (r, c) = (first.len(), first.first()?.len());
            if ms
                .iter()
                .any(|m| m.len() != r || m.iter().any(|row| row.len() != c))
            {
                return None;
            }
            Some(
                (0..r)
                    .map(|i| {
                        (0..c)
                            .map(|j| Node::Add(ms.iter().map(|m| m[i][j].clone()).collect()))
                            .collect()
                    })
                    .collect(),
            )
        }
        Node::Neg(a) => Some(
            fold_matrix(a)?
                .into_iter()
                .map(|row| row.into_iter().map(|x| Node::Neg(Box::new(x))).collect())
                .collect(),
        ),
        Node::Mul(fs) => {
            let mut acc: Option<Vec<Vec<Node>>> = None;
            let mut matrices = 0usize;
            let mut scalars = Vec::new();
            for f in fs {
                match fold_matrix(f) {
                    Some(m) => {
                        matrices += 1;
                        if matrices > MAX_MATRIX_FACTORS || m.len() * m.first()?.len() > 64 {
                            return None;
                        }
                        acc = Some(match acc {
                            None => m,
                            Some(a) => {
                                let (r, k, c) = (a.len(), m.len(), m.first()?.len());
                                if a.first()?.len() != k {
                                    return None;
                                }
                                (0..r)
                                    .map(|i| {
                                        (0..c)
                                            .map(|j| {
                                                Node::Add(
                                                    (0..k)
                                                        .map(|t| {
                                                            Node::Mul(vec![
                                                                a[i][t].clone(),
                                                                m[t][j].clone(),
                                                            ])
                                                        })
                                                        .collect(),
                                                )
                                            })
                                            .collect()
                                    })
                                    .collect()
                            }
                        })
                    }
                    None => scalars.push(f.clone()),
                }
            }
            let m = acc?;
            if scalars.is_empty() {
                return Some(m);
            }
            let s = Node::Mul(scalars);
            Some(
                m.into_iter()
                    .map(|row| {
                        row.into_iter()
                            .map(|x| Node::Mul(vec![s.clone(), x]))
                            .collect()
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Deterministic sample value for variable `var` at point `k`: magnitude in `[0.3, 2.7)`,
/// positive at the first two points (so restricted domains such as `\sqrt{x}` always get
/// points), of pseudo-random sign after (so `|x|` differs from `x`).
fn sample(k: usize, var: usize) -> f64 {
    let mut h = (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (var as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ 0x1656_67B1_9E37_79F9;
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    let magnitude = 0.3 + 2.4 * ((h >> 11) as f64 / (1u64 << 53) as f64);
    if k >= 2 && h & 1 == 1 {
        -magnitude
    } else {
        magnitude
    }
}

impl Comparer<'_> {
    fn spend(&self) -> bool {
        let b = self.budget.get();
        if b == 0 {
            self.too_large.set(true);
            return false;
        }
        self.budget.set(b - 1);
        true
    }

    fn cmp(&self, gold: &Node, pred: &Node) -> bool {
        if !self.spend() {
            return false;
        }
        let mut g = expand_answer(gold);
        let mut p = expand_answer(pred);
        // `x \in S` is `S`.
        for n in [&mut g, &mut p] {
            if let Node::Rel(terms, ops) = n
                && ops.as_slice() == [RelOp::In]
            {
                *n = terms[1].clone();
            }
        }
        for n in [&mut g, &mut p] {
            if let Some(u) = relations_as_union(n) {
                *n = u;
            }
        }
        let (g_assign, p_assign) = (is_assignment(&g), is_assignment(&p));
        let (g_eq, p_eq) = (is_equation(&g), is_equation(&p));
        if g_assign && let Node::Rel(terms, _) = &g {
            g = Node::Rel(vec![terms[0].clone(), last_side(&g)], vec![RelOp::Eq]);
        }
        if p_assign && let Node::Rel(terms, _) = &p {
            p = Node::Rel(vec![terms[0].clone(), last_side(&p)], vec![RelOp::Eq]);
        }
        if p_eq && !g_eq {
            p = last_side(&p);
        } else if g_assign && !p_eq {
            g = last_side(&g);
        }
        if matches!(g, Node::Rel(..))
            && is_setlike(&p)
            && let Some(s) = relation_as_set(&g)
        {
            g = s;
        }
        if self.cfg.allow_set_relation_comp
            && matches!(p, Node::Rel(..))
            && is_setlike(&g)
            && let Some(s) = relation_as_set(&p)
        {
            p = s;
        }
        // A relation that is not a plain interval (`1 ≤ |z| ≤ 3/2`) against a union of
        // intervals: compare the sets they describe point by point.
        if matches!(g, Node::Rel(..)) && is_setlike(&p) && g.free_symbols().len() == 1 {
            return self.membership_equal(&g, &p);
        }
        if self.cfg.allow_set_relation_comp
            && matches!(p, Node::Rel(..))
            && is_setlike(&g)
            && p.free_symbols().len() == 1
        {
            return self.membership_equal(&p, &g);
        }
        if g == p {
            return true;
        }
        // Percentages. Both sides percentages: the numbers compare (`0.25\%` ≠ `25\%`).
        // One side a percentage: its value (`25\%` = `0.25`), or, with
        // `percent_bare_number`, its bare number (`25\%` vs `25`, Math-Verify's rule).
        match (&g, &p) {
            (Node::Percent(a), Node::Percent(b)) => self.cmp(a, b),
            (Node::Percent(inner), _) => {
                self.dispatch(&g, &p) || (self.cfg.percent_bare_number && self.cmp(inner, &p))
            }
            (_, Node::Percent(inner)) => {
                self.dispatch(&g, &p) || (self.cfg.percent_bare_number && self.cmp(&g, inner))
            }
            _ => self.dispatch(&g, &p),
        }
    }

    fn dispatch(&self, g: &Node, p: &Node) -> bool {
        // A column or row vector written as a tuple: `\begin{pmatrix}1\\2\end{pmatrix}`
        // vs `(1, 2)`, compared in order.
        if let (Some(a), Some(b)) = (vector_entries(g), vector_entries(p))
            && (matches!(g, Node::Matrix(_)) != matches!(p, Node::Matrix(_)))
        {
            return a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| self.cmp(x, y));
        }
        match (g, p) {
            (Node::Rel(gt, go), Node::Rel(pt, po)) => self.relations(gt, go, pt, po),
            (Node::Rel(..), _) | (_, Node::Rel(..)) => false,
            _ if is_setlike(g) || is_setlike(p) => self.sets(g, p),
            _ => {
                if let (Some(a), Some(b)) = (fold_matrix(g), fold_matrix(p)) {
                    return a.len() == b.len()
                        && a.iter().zip(&b).all(|(ra, rb)| {
                            ra.len() == rb.len() && ra.iter().zip(rb).all(|(x, y)| self.cmp(x, y))
                        });
                }
                if matches!(g, Node::Text(_)) || matches!(p, Node::Text(_)) {
                    return match (letters(g), letters(p)) {
                        (Some(a), Some(b)) => text_key(&a) == text_key(&b),
                        _ => false,
                    };
                }
                self.scalars(g, p)
            }
        }
    }

    /// Whether the one-variable relation `rel` holds exactly on the set `set`, tested at
    /// the set's finite ends, just inside and outside each, between them, and at fixed
    /// points in `[-10, 10]`.
    fn membership_equal(&self, rel: &Node, set: &Node) -> bool {
        let Node::Rel(terms, ops) = rel else {
            return false;
        };
        let var = rel.free_symbols().pop().unwrap_or_default();
        let env = Env {
            vars: &[],
            max_exponent: self.cfg.max_exponent,
        };
        let Some(parts) = self.set_parts(set, &env) else {
            return false;
        };
        let mut ends: Vec<f64> = parts
            .iter()
            .flat_map(|p| [p.0, p.1])
            .filter(|x| x.is_finite())
            .collect();
        ends.sort_by(f64::total_cmp);
        ends.dedup();
        let mut points: Vec<f64> = (0..=40).map(|k| -10.0 + 0.5 * k as f64 + 0.123).collect();
        for (i, e) in ends.iter().enumerate() {
            let eps = 1e-4 * e.abs().max(1.0);
            points.extend([*e, e - eps, e + eps, e - 1.0, e + 1.0]);
            if let Some(next) = ends.get(i + 1) {
                points.push((e + next) / 2.0);
            }
        }
        // Ends are probed 1e-4 away, so equality here must be much tighter.
        let tol = 1e-9;
        points.iter().all(|&x| {
            let vars = [(var.clone(), x)];
            let env = Env {
                vars: &vars,
                max_exponent: self.cfg.max_exponent,
            };
            let vals: Option<Vec<f64>> = terms
                .iter()
                .map(|t| self.value(t, &env).map(|v| v.f()))
                .collect();
            let Some(vals) = vals else { return false };
            let holds = ops.iter().enumerate().all(|(k, op)| {
                let (a, b) = (vals[k], vals[k + 1]);
                let eq = (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0);
                match op {
                    RelOp::Eq => eq,
                    RelOp::Ne => !eq,
                    RelOp::Lt => a < b && !eq,
                    RelOp::Le => a < b || eq,
                    RelOp::Gt => a > b && !eq,
                    RelOp::Ge => a > b || eq,
                    RelOp::In => false,
                }
            });
            let inside = parts.iter().any(|&(lo, hi, lo_open, hi_open)| {
                let above = if lo_open { x > lo } else { x >= lo };
                let below = if hi_open { x < hi } else { x <= hi };
                above && below
            });
            holds == inside
        })
    }

    /// A set as `(lo, hi, lo_open, hi_open)` intervals (points are closed degenerate
    /// intervals); `None` when an end is not a number.
    fn set_parts(&self, set: &Node, env: &Env) -> Option<Vec<(f64, f64, bool, bool)>> {
        let num = |n: &Node| self.value(n, env).map(|v| v.f()).filter(|x| !x.is_nan());
        match set {
            Node::Interval {
                lo,
                hi,
                lo_open,
                hi_open,
            } => Some(vec![(num(lo)?, num(hi)?, *lo_open, *hi_open)]),
            Node::Tuple(v) if v.len() == 2 => Some(vec![(num(&v[0])?, num(&v[1])?, true, true)]),
            Node::Set(v) => v
                .iter()
                .map(|x| num(x).map(|x| (x, x, false, false)))
                .collect(),
            Node::Union(v) => Some(
                v.iter()
                    .map(|x| self.set_parts(x, env))
                    .collect::<Option<Vec<_>>>()?
                    .concat(),
            ),
            _ => None,
        }
    }

    fn relations(&self, gt: &[Node], go: &[RelOp], pt: &[Node], po: &[RelOp]) -> bool {
        if go.len() != po.len() {
            return false;
        }
        let (Some(gl), Some(pl)) = (links(gt, go), links(pt, po)) else {
            return false;
        };
        let mut used = vec![false; pl.len()];
        gl.iter().all(|(gf, gop)| {
            let hit = pl.iter().enumerate().position(|(i, (pf, pop))| {
                !used[i] && gop == pop && self.proportional(gf, pf, *gop)
            });
            if let Some(i) = hit {
                used[i] = true;
                true
            } else {
                false
            }
        })
    }

    /// Whether `f = k·h` for a constant `k` (positive for inequalities, non-zero else).
    fn proportional(&self, f: &Node, h: &Node, op: RelOp) -> bool {
        let mut vars = f.free_symbols();
        vars.extend(h.free_symbols());
        vars.sort();
        vars.dedup();
        if vars.is_empty() {
            return self.scalars(f, h);
        }
        let tol = self.tolerance(f.has_decimal() || h.has_decimal());
        let mut k: Option<f64> = None;
        let mut valid = 0;
        for point in 0..self.cfg.sample_points {
            let env_vars: Vec<(String, f64)> = vars
                .iter()
                .enumerate()
                .map(|(i, v)| (v.clone(), sample(point, i)))
                .collect();
            let env = Env {
                vars: &env_vars,
                max_exponent: self.cfg.max_exponent,
            };
            let (Some(a), Some(b)) = (self.value(f, &env), self.value(h, &env)) else {
                return false;
            };
            let (a, b) = (a.f(), b.f());
            if a.is_nan() || b.is_nan() {
                continue;
            }
            if !a.is_finite() || !b.is_finite() {
                return false;
            }
            let scale = a.abs().max(b.abs()).max(1e-300);
            match k {
                None if b.abs() > tol * scale.max(1.0) => k = Some(a / b),
                None if a.abs() > tol * scale.max(1.0) => return false,
                None => {}
                Some(k) if (a - k * b).abs() > tol * a.abs().max((k * b).abs()).max(1e-9) => {
                    return false;
                }
                Some(_) => {}
            }
            valid += 1;
        }
        if valid < 2 {
            return false;
        }
        match (k, op) {
            (None, _) => true,
            (Some(k), RelOp::Lt | RelOp::Le) => k > 0.0,
            (Some(k), _) => k != 0.0,
        }
    }

    fn sets(&self, g: &Node, p: &Node) -> bool {
        let wrap = |n: &Node| {
            if is_setlike(n) {
                n.clone()
            } else {
                Node::Set(vec![n.clone()])
            }
        };
        let (g, p) = (wrap(g), wrap(p));
        let as_interval = |n: &Node| match n {
            Node::Tuple(v) if v.len() == 2 => Node::Interval {
                lo: Box::new(v[0].clone()),
                hi: Box::new(v[1].clone()),
                lo_open: true,
                hi_open: true,
            },
            other => other.clone(),
        };
        match (&g, &p) {
            (
                Node::Interval {
                    lo: a,
                    hi: b,
                    lo_open: ao,
                    hi_open: ac,
                },
                Node::Interval {
                    lo: c,
                    hi: d,
                    lo_open: co,
                    hi_open: cc,
                },
            ) => ao == co && ac == cc && self.cmp(a, c) && self.cmp(b, d),
            (Node::Interval { .. }, Node::Tuple(v)) | (Node::Tuple(v), Node::Interval { .. })
                if v.len() == 2 =>
            {
                self.sets(&as_interval(&g), &as_interval(&p))
            }
            (Node::Union(a), Node::Union(b)) => {
                let a: Vec<Node> = a.iter().map(as_interval).collect();
                let b: Vec<Node> = b.iter().map(as_interval).collect();
                a.len() == b.len() && self.set_equal(&a, &b)
            }
            (Node::Set(a), Node::Set(b)) => self.set_equal(a, b),
            (Node::Tuple(a), Node::Tuple(b)) if !self.cfg.tuple_order => {
                a.len() == b.len() && self.set_equal(a, b)
            }
            (Node::Tuple(a), Node::Tuple(b))
            | (Node::Tuple(a), Node::Set(b))
            | (Node::Set(a), Node::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| self.cmp(x, y))
            }
            _ => false,
        }
    }

    /// Set equality: every element of each side has an equivalent on the other.
    fn set_equal(&self, a: &[Node], b: &[Node]) -> bool {
        if a.is_empty() || b.is_empty() {
            return a.is_empty() && b.is_empty();
        }
        a.iter().all(|x| b.iter().any(|y| self.cmp(x, y)))
            && b.iter().all(|y| a.iter().any(|x| self.cmp(x, y)))
    }

    fn value(&self, n: &Node, env: &Env) -> Option<Val> {
        match eval(n, env) {
            Ok(v) => Some(v),
            Err(EvalError::TooLarge) => {
                self.too_large.set(true);
                None
            }
            Err(EvalError::NotScalar) => None,
        }
    }

    fn tolerance(&self, decimal: bool) -> f64 {
        if decimal {
            self.cfg
                .rel_tol
                .max(0.5 * 10f64.powi(-(self.cfg.precision as i32)))
        } else {
            self.cfg.rel_tol
        }
    }

    fn scalars(&self, g: &Node, p: &Node) -> bool {
        let mut vars = g.free_symbols();
        vars.extend(p.free_symbols());
        vars.sort();
        vars.dedup();
        let decimal = g.has_decimal() || p.has_decimal();
        // Polynomials (and Gaussian integers) compare exactly by canonical expansion;
        // a decimal literal leaves the last word to the rounding rule below.
        let imaginary = has_imaginary_unit(g) || has_imaginary_unit(p);
        match poly::identical(g, p, imaginary) {
            poly::Identity::Same => return true,
            poly::Identity::Different if !decimal => return false,
            // Sample points cannot be trusted on an expansion this large (`X + 1` vs
            // `X` for a huge `X`): fail closed.
            poly::Identity::TooLarge => {
                self.too_large.set(true);
                return false;
            }
            _ => {}
        }
        if vars.is_empty() {
            let env = Env {
                vars: &[],
                max_exponent: self.cfg.max_exponent,
            };
            let (Some(a), Some(b)) = (self.value(g, &env), self.value(p, &env)) else {
                return false;
            };
            return self.numbers_equal(a, b, decimal);
        }
        let tol = self.tolerance(decimal);
        let mut valid = 0;
        for point in 0..self.cfg.sample_points {
            let env_vars: Vec<(String, f64)> = vars
                .iter()
                .enumerate()
                .map(|(i, v)| (v.clone(), sample(point, i)))
                .collect();
            let env = Env {
                vars: &env_vars,
                max_exponent: self.cfg.max_exponent,
            };
            let (Some(a), Some(b)) = (self.value(g, &env), self.value(p, &env)) else {
                return false;
            };
            let (a, b) = (a.f(), b.f());
            // Outside one side's real domain (`\sqrt{x}` at x < 0): this point says nothing.
            if a.is_nan() || b.is_nan() {
                continue;
            }
            if !close(a, b, tol) {
                return false;
            }
            valid += 1;
        }
        valid >= 2
    }

    fn numbers_equal(&self, a: Val, b: Val, decimal: bool) -> bool {
        if let (Val::Exact(x), Val::Exact(y)) = (a, b) {
            if x == y {
                return true;
            }
            if !decimal {
                return false;
            }
        }
        let (x, y) = (a.f(), b.f());
        if x.is_nan() || y.is_nan() {
            return false;
        }
        if x.is_infinite() || y.is_infinite() {
            return x == y;
        }
        if decimal {
            // Rounded to `precision` decimal places AND agreeing to `precision`
            // significant digits: `1/3` = `0.333333`, but `1.5e-8` ≠ `1.5e-7` (both round
            // to 0.000000) and `123456.7` ≠ `123456.8`.
            let p = self.cfg.precision as i32;
            let scale = 10f64.powi(p);
            let relative = (x - y).abs() <= 5.0 * 10f64.powi(-p) * x.abs().max(y.abs());
            if x.abs() * scale < 1e15 && y.abs() * scale < 1e15 {
                return (x * scale).round() == (y * scale).round() && relative;
            }
            return relative || close(x, y, self.cfg.rel_tol);
        }
        close(x, y, self.cfg.rel_tol)
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    let diff = (a - b).abs();
    diff <= rel * a.abs().max(b.abs()) || diff <= 1e-12
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::parse::{ParseLimits, parse_answer};

    fn eq(g: &str, p: &str) -> bool {
        let limits = ParseLimits {
            max_chars: 1000,
            max_depth: 64,
            max_digits: 100,
        };
        let g = parse_answer(g, &limits).unwrap();
        let p = parse_answer(p, &limits).unwrap();
        compare(&g, &p, &MathConfig::default()).equal
    }

    #[test]
    fn numbers_and_expressions() {
        assert!(eq("\\frac{1}{2}", "0.5"));
        assert!(eq("\\sqrt{117}", "3\\sqrt{13}"));
        assert!(!eq("1000000", "1000001"));
        assert!(eq("\\frac{x+2}{7}", "\\frac{x}{7}+\\frac{2}{7}"));
        assert!(!eq("x+1", "x+2"));
    }

    #[test]
    fn structures() {
        assert!(eq("\\{1,2\\}", "\\{2,1\\}"));
        assert!(!eq("(1,2)", "(2,1)"));
        assert!(eq("x=5", "5"));
        assert!(eq("1 \\pm \\sqrt{2}", "\\{1-\\sqrt{2}, 1+\\sqrt{2}\\}"));
        assert!(eq("2x+4y-3=0", "y=-\\frac{1}{2}x+\\frac{3}{4}"));
        assert!(!eq("x < 1", "x > -1"));
        assert!(eq("x < 1", "-x > -1"));
        assert!(!eq("[0,1)", "(0,1)"));
    }
}
