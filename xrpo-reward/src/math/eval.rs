//! Evaluation of a scalar expression: exact rationals while they last, `f64` after.

use super::ast::{Constant, Func, Node};
use super::number::Rational;

/// A scalar value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    /// An exact rational.
    Exact(Rational),
    /// An approximation (irrational, overflowed, or from a variable's sample point).
    Approx(f64),
}

impl Val {
    /// As `f64`.
    pub fn f(&self) -> f64 {
        match self {
            Val::Exact(r) => r.to_f64(),
            Val::Approx(x) => *x,
        }
    }
}

/// Why a value could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalError {
    /// The node is not a scalar (a set, a relation, words).
    NotScalar,
    /// An exponent or factorial ran past its cap.
    TooLarge,
}

/// Values of the free variables at one sample point, and the evaluation caps.
pub struct Env<'a> {
    /// `(name, value)` pairs.
    pub vars: &'a [(String, f64)],
    /// Largest exponent magnitude evaluated.
    pub max_exponent: f64,
}

fn approx(x: f64) -> Val {
    Val::Approx(x)
}

fn lift(
    a: Val,
    b: Val,
    exact: impl Fn(Rational, Rational) -> Option<Rational>,
    float: impl Fn(f64, f64) -> f64,
) -> Val {
    if let (Val::Exact(x), Val::Exact(y)) = (a, b)
        && let Some(r) = exact(x, y)
    {
        return Val::Exact(r);
    }
    approx(float(a.f(), b.f()))
}

/// A deterministic pseudo-random value in `[1, 2)` for an undefined function applied to
/// arguments, so `f(x)` equals `f(x)` and differs from `f(y)`.
fn opaque(name: &str, args: &[f64]) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x1000_0000_01b3);
    }
    for a in args {
        // Round so that tiny float noise does not change the value.
        let q = (a * 1e9).round() as i64 as u64;
        h = (h ^ q).wrapping_mul(0x1000_0000_01b3);
    }
    1.0 + (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Evaluates a scalar node.
pub fn eval(node: &Node, env: &Env) -> Result<Val, EvalError> {
    Ok(match node {
        Node::Num(n) => match n.exact {
            Some(r) => Val::Exact(r),
            None => approx(n.approx),
        },
        Node::Sym(name) => match env.vars.iter().find(|(n, _)| n == name) {
            Some((_, v)) => approx(*v),
            None => approx(opaque(name, &[])),
        },
        Node::Const(c) => approx(match c {
            Constant::Pi => std::f64::consts::PI,
            Constant::E => std::f64::consts::E,
            Constant::Infinity => f64::INFINITY,
        }),
        Node::Neg(a) => {
            let v = eval(a, env)?;
            match v {
                Val::Exact(r) => r.checked_neg().map_or(approx(-r.to_f64()), Val::Exact),
                Val::Approx(x) => approx(-x),
            }
        }
        Node::Add(terms) => {
            let mut acc = Val::Exact(Rational::ZERO);
            for t in terms {
                acc = lift(acc, eval(t, env)?, Rational::checked_add, |a, b| a + b);
            }
            acc
        }
        Node::Mul(fs) => {
            let mut acc = Val::Exact(Rational::ONE);
            for f in fs {
                if matches!(f, Node::Text(_)) {
                    continue;
                }
                if let Node::Pow(b, _) = f
                    && matches!(**b, Node::Text(_))
                {
                    continue;
                }
                acc = lift(acc, eval(f, env)?, Rational::checked_mul, |a, b| a * b);
            }
            acc
        }
        Node::Div(a, b) => {
            let (x, y) = (eval(a, env)?, eval(b, env)?);
            if y.f() == 0.0 {
                // Division by zero is undefined, never ∞ (so 12/0 ≠ 1/0).
                approx(f64::NAN)
            } else {
                lift(x, y, Rational::checked_div, |a, b| a / b)
            }
        }
        Node::Pow(a, b) => pow(eval(a, env)?, eval(b, env)?, env)?,
        Node::Percent(a) => {
            let v = eval(a, env)?;
            lift(
                v,
                Val::Exact(Rational::int(100)),
                Rational::checked_div,
                |a, b| a / b,
            )
        }
        Node::Func(f, args) => func(*f, args, env)?,
        Node::Apply(name, args) => {
            let vals = args
                .iter()
                .map(|a| eval(a, env).map(|v| v.f()))
                .collect::<Result<Vec<_>, _>>()?;
            approx(opaque(name, &vals))
        }
        _ => return Err(EvalError::NotScalar),
    })
}

fn pow(base: Val, exp: Val, env: &Env) -> Result<Val, EvalError> {
    let e = exp.f();
    if let (Val::Exact(b), Val::Exact(x)) = (base, exp) {
        if x.is_integer() {
            let k = x.numer();
            if b.is_zero() || b == Rational::ONE {
                return Ok(Val::Exact(b));
            }
            if k.unsigned_abs() <= 256
                && let Some(r) = b.pow(k as i64)
            {
                return Ok(Val::Exact(r));
            }
        } else if x.denom() == 2
            && let Some(root) = b.sqrt_exact()
            && let Some(r) = root.pow(x.numer() as i64)
        {
            return Ok(Val::Exact(r));
        }
    }
    let b = base.f();
    if e.abs() > env.max_exponent && b.abs() != 1.0 && b != 0.0 {
        return Err(EvalError::TooLarge);
    }
    // Odd roots of negative numbers stay real: (-8)^(1/3) = -2.
    if b < 0.0 && e.fract() != 0.0 {
        let inv = 1.0 / e;
        if (inv.round() - inv).abs() < 1e-9 && (inv.round() as i64) % 2 != 0 {
            return Ok(approx(-(-b).powf(e)));
        }
    }
    Ok(approx(b.powf(e)))
}

fn func(f: Func, args: &[Node], env: &Env) -> Result<Val, EvalError> {
    let x = eval(args.first().ok_or(EvalError::NotScalar)?, env)?;
    let xf = x.f();
    Ok(match f {
        Func::Sqrt => match x {
            Val::Exact(r) => r.sqrt_exact().map_or(approx(xf.sqrt()), Val::Exact),
            Val::Approx(v) => approx(v.sqrt()),
        },
        Func::Root => {
            let n = eval(args.get(1).ok_or(EvalError::NotScalar)?, env)?;
            pow(
                x,
                lift(
                    Val::Exact(Rational::ONE),
                    n,
                    Rational::checked_div,
                    |a, b| a / b,
                ),
                env,
            )?
        }
        Func::Sin => approx(xf.sin()),
        Func::Cos => approx(xf.cos()),
        Func::Tan => approx(xf.tan()),
        Func::Sec => approx(1.0 / xf.cos()),
        Func::Csc => approx(1.0 / xf.sin()),
        Func::Cot => approx(1.0 / xf.tan()),
        Func::Asin => approx(xf.asin()),
        Func::Acos => approx(xf.acos()),
        Func::Atan => approx(xf.atan()),
        Func::Sinh => approx(xf.sinh()),
        Func::Cosh => approx(xf.cosh()),
        Func::Tanh => approx(xf.tanh()),
        Func::Ln => approx(xf.ln()),
        Func::Log => match args.get(1) {
            Some(b) => approx(xf.ln() / eval(b, env)?.f().ln()),
            None => approx(xf.ln()),
        },
        Func::Exp => {
            if xf.abs() > env.max_exponent {
                return Err(EvalError::TooLarge);
            }
            approx(xf.exp())
        }
        Func::Abs => match x {
            Val::Exact(r) if r.numer() < 0 => r.checked_neg().map_or(approx(xf.abs()), Val::Exact),
            other => match other {
                Val::Exact(_) => other,
                Val::Approx(v) => approx(v.abs()),
            },
        },
        Func::Floor => approx(xf.floor()),
        Func::Ceil => approx(xf.ceil()),
        Func::Factorial => factorial(x)?,
        Func::Binom => {
            let k = eval(args.get(1).ok_or(EvalError::NotScalar)?, env)?;
            match (x, k) {
                (Val::Exact(n), Val::Exact(k))
                    if n.is_integer() && k.is_integer() && k.numer() >= 0 && k.numer() <= 200 =>
                {
                    let mut acc = Rational::ONE;
                    for i in 0..k.numer() {
                        acc = acc
                            .checked_mul(Rational::int(n.numer() - i))
                            .and_then(|a| a.checked_div(Rational::int(i + 1)))
                            .ok_or(EvalError::TooLarge)?;
                    }
                    Val::Exact(acc)
                }
                _ => return Err(EvalError::NotScalar),
            }
        }
    })
}

fn factorial(x: Val) -> Result<Val, EvalError> {
    match x {
        Val::Exact(r) if r.is_integer() && r.numer() >= 0 => {
            if r.numer() > 170 {
                return Err(EvalError::TooLarge);
            }
            let mut acc = Rational::ONE;
            let mut fl = 1.0f64;
            for i in 1..=r.numer() {
                fl *= i as f64;
                match acc.checked_mul(Rational::int(i)) {
                    Some(a) => acc = a,
                    None => {
                        return Ok(approx(
                            fl * ((i + 1)..=r.numer()).map(|k| k as f64).product::<f64>(),
                        ));
                    }
                }
            }
            Ok(Val::Exact(acc))
        }
        _ => Err(EvalError::NotScalar),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::parse::{ParseLimits, parse_answer};

    fn ev(s: &str) -> Result<Val, EvalError> {
        let limits = ParseLimits {
            max_chars: 1000,
            max_depth: 64,
            max_digits: 100,
        };
        let node = parse_answer(s, &limits).unwrap();
        eval(
            &node,
            &Env {
                vars: &[],
                max_exponent: 1e4,
            },
        )
    }

    #[test]
    fn exact_where_possible() {
        assert_eq!(
            ev("\\frac{1}{2}+\\frac13").unwrap(),
            Val::Exact(Rational::new(5, 6).unwrap())
        );
        assert_eq!(ev("\\sqrt{16}").unwrap(), Val::Exact(Rational::int(4)));
        assert_eq!(ev("2^{10}").unwrap(), Val::Exact(Rational::int(1024)));
        assert_eq!(ev("5!").unwrap(), Val::Exact(Rational::int(120)));
        assert!((ev("\\sqrt[3]{-8}").unwrap().f() + 2.0).abs() < 1e-12);
        assert_eq!(ev("10^{10^{10}}"), Err(EvalError::TooLarge));
    }
}
