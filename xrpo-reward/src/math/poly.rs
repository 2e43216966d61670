//! Exact polynomial identity: a canonical expansion with rational coefficients.
//!
//! A scalar tree made of numbers, variables, `+`, `−`, `·`, division by a non-zero
//! rational constant and non-negative integer powers expands into a sum of monomials
//! with exact [`Rational`] coefficients, so `2(a+b)` = `2a+2b`, `(x−2)(x+3)` = `x²+x−6`
//! and `x^{10} + 10^{-9}x` ≠ `x^{10}` are decided exactly, with no sample points. With the
//! imaginary unit on, `i² = −1` is applied (`i(2−i)` = `1+2i`).
//!
//! The work is capped: at most [`MAX_TERMS`] monomials per intermediate polynomial and
//! degree [`MAX_DEGREE`] per variable; past a cap, or on overflow, or on anything that is
//! not a polynomial (`√x`, `1/x`, `sin x`), expansion gives `None` and the caller falls
//! back to numeric comparison.

use std::collections::BTreeMap;

use super::ast::Node;
use super::number::Rational;

/// Most monomials in one polynomial during expansion.
pub const MAX_TERMS: usize = 512;
/// Highest exponent of one variable.
pub const MAX_DEGREE: u32 = 64;
/// Most monomial products computed in one expansion (bounds `(a+b+…)^k` blow-ups).
const MAX_WORK: usize = 200_000;

/// A monomial: sorted `(variable, exponent)` pairs, exponents positive.
type Monomial = Vec<(String, u32)>;

/// A polynomial: monomial → non-zero coefficient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poly(BTreeMap<Monomial, Rational>);

struct Expander {
    imaginary: bool,
    work: usize,
    /// Whether a term or work cap (not a mere non-polynomial) stopped the expansion.
    capped: bool,
}

impl Poly {
    fn constant(r: Rational) -> Poly {
        let mut m = BTreeMap::new();
        if !r.is_zero() {
            m.insert(Vec::new(), r);
        }
        Poly(m)
    }

    fn var(name: &str) -> Poly {
        let mut m = BTreeMap::new();
        m.insert(vec![(name.to_string(), 1)], Rational::ONE);
        Poly(m)
    }

    /// The value when the polynomial is a constant.
    fn as_constant(&self) -> Option<Rational> {
        match self.0.len() {
            0 => Some(Rational::ZERO),
            1 => self.0.get(&Vec::new()).copied(),
            _ => None,
        }
    }
}

/// Expands `n`; `imaginary` reads the variable `i` as the imaginary unit.
pub fn expand(n: &Node, imaginary: bool) -> Option<Poly> {
    let mut e = Expander {
        imaginary,
        work: 0,
        capped: false,
    };
    e.expand(n, 0)
}

/// The result of an exact polynomial comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// Both sides expand to the same polynomial.
    Same,
    /// Both sides expand, to different polynomials.
    Different,
    /// A side is not a polynomial with rational coefficients (`√x`, `1/x`), a degree is
    /// above [`MAX_DEGREE`], or a coefficient overflowed: compare another way.
    NotPolynomial,
    /// The expansion ran past [`MAX_TERMS`] or its work cap: too large to decide.
    TooLarge,
}

/// Whether `a − b` expands to zero.
pub fn identical(a: &Node, b: &Node, imaginary: bool) -> Identity {
    let mut e = Expander {
        imaginary,
        work: 0,
        capped: false,
    };
    let pa = e.expand(a, 0);
    let pb = pa.as_ref().and_then(|_| e.expand(b, 0));
    match (pa, pb) {
        (Some(x), Some(y)) if x == y => Identity::Same,
        (Some(_), Some(_)) => Identity::Different,
        _ if e.capped => Identity::TooLarge,
        _ => Identity::NotPolynomial,
    }
}

impl Expander {
    fn expand(&mut self, n: &Node, depth: usize) -> Option<Poly> {
        if depth > 64 {
            return None;
        }
        let d = depth + 1;
        match n {
            Node::Num(x) => Some(Poly::constant(x.exact?)),
            Node::Sym(s) => Some(Poly::var(s)),
            Node::Neg(a) => {
                let inner = self.expand(a, d)?;
                self.neg(&inner)
            }
            Node::Add(terms) => {
                let mut acc = Poly::constant(Rational::ZERO);
                for t in terms {
                    let p = self.expand(t, d)?;
                    acc = self.add(&acc, &p)?;
                }
                Some(acc)
            }
            Node::Mul(fs) => {
                let mut acc = Poly::constant(Rational::ONE);
                for f in fs {
                    let p = self.expand(f, d)?;
                    acc = self.mul(&acc, &p)?;
                }
                Some(acc)
            }
            Node::Div(a, b) => {
                let den = self.expand(b, d)?.as_constant()?;
                if den.is_zero() {
                    return None;
                }
                let inv = Rational::ONE.checked_div(den)?;
                let num = self.expand(a, d)?;
                self.mul(&num, &Poly::constant(inv))
            }
            Node::Pow(base, exp) => {
                let e = self.expand(exp, d)?.as_constant()?;
                let b = self.expand(base, d)?;
                if !e.is_integer() {
                    return None;
                }
                // A constant base takes any small integer power (`10^{-9}`).
                if let Some(c) = b.as_constant() {
                    let k = i64::try_from(e.numer()).ok()?;
                    return Some(Poly::constant(c.pow(k)?));
                }
                if e.numer() < 0 || e.numer() > MAX_DEGREE as i128 {
                    return None;
                }
                let mut acc = Poly::constant(Rational::ONE);
                for _ in 0..e.numer() {
                    acc = self.mul(&acc, &b)?;
                }
                Some(acc)
            }
            _ => None,
        }
    }

    fn neg(&self, a: &Poly) -> Option<Poly> {
        let mut m = BTreeMap::new();
        for (k, v) in &a.0 {
            m.insert(k.clone(), v.checked_neg()?);
        }
        Some(Poly(m))
    }

    fn add(&mut self, a: &Poly, b: &Poly) -> Option<Poly> {
        let mut m = a.0.clone();
        for (k, v) in &b.0 {
            self.work += 1;
            let sum = match m.get(k) {
                Some(x) => x.checked_add(*v)?,
                None => *v,
            };
            if sum.is_zero() {
                m.remove(k);
            } else {
                m.insert(k.clone(), sum);
            }
        }
        if m.len() > MAX_TERMS || self.work > MAX_WORK {
            self.capped = true;
            return None;
        }
        Some(Poly(m))
    }

    fn mul(&mut self, a: &Poly, b: &Poly) -> Option<Poly> {
        let mut m: BTreeMap<Monomial, Rational> = BTreeMap::new();
        for (ka, va) in &a.0 {
            for (kb, vb) in &b.0 {
                self.work += 1;
                if self.work > MAX_WORK {
                    self.capped = true;
                    return None;
                }
                let (mono, sign) = self.mono_mul(ka, kb)?;
                let mut coef = va.checked_mul(*vb)?;
                if sign {
                    coef = coef.checked_neg()?;
                }
                let sum = match m.get(&mono) {
                    Some(x) => x.checked_add(coef)?,
                    None => coef,
                };
                if sum.is_zero() {
                    m.remove(&mono);
                } else {
                    m.insert(mono, sum);
                    if m.len() > MAX_TERMS {
                        self.capped = true;
                        return None;
                    }
                }
            }
        }
        Some(Poly(m))
    }

    /// The product of two monomials, and whether `i² = −1` flipped its sign.
    fn mono_mul(&self, a: &Monomial, b: &Monomial) -> Option<(Monomial, bool)> {
        let mut m: BTreeMap<&str, u32> = BTreeMap::new();
        for (v, e) in a.iter().chain(b) {
            let x = m.entry(v.as_str()).or_insert(0);
            *x += e;
            if *x > MAX_DEGREE {
                return None;
            }
        }
        let mut neg = false;
        if self.imaginary
            && let Some(e) = m.get_mut("i")
        {
            // i^e = i^(e mod 4): i^2 = -1, i^3 = -i.
            let r = *e % 4;
            neg = r >= 2;
            *e = r % 2;
        }
        let mono = m
            .into_iter()
            .filter(|(_, e)| *e > 0)
            .map(|(v, e)| (v.to_string(), e))
            .collect();
        Some((mono, neg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::parse::{ParseLimits, parse_answer};

    fn same(a: &str, b: &str, im: bool) -> Identity {
        let limits = ParseLimits {
            max_chars: 1000,
            max_depth: 64,
            max_digits: 100,
        };
        identical(
            &parse_answer(a, &limits).unwrap(),
            &parse_answer(b, &limits).unwrap(),
            im,
        )
    }

    #[test]
    fn identities_by_hand() {
        assert_eq!(same("2(a+b)", "2a+2b", false), Identity::Same);
        assert_eq!(same("(x-2)(x+3)", "x^2+x-6", false), Identity::Same);
        assert_eq!(same("3x+2x", "5x", false), Identity::Same);
        assert_eq!(
            same("x^{10}+10^{-9}x", "x^{10}", false),
            Identity::Different
        );
        assert_eq!(same("i(2-i)", "1+2i", true), Identity::Same);
        assert_eq!(same("i(2-i)", "1+2i", false), Identity::Different);
        assert_eq!(same("\\sqrt{x}", "x", false), Identity::NotPolynomial);
        // (a+b+c+d)^64 has 47905 monomials: past the cap, not a hang.
        assert_eq!(same("(a+b+c+d)^{64}", "1", false), Identity::TooLarge);
    }
}
