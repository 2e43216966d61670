//! Exact rational numbers on `i128` with checked arithmetic.
//!
//! Every operation returns `None` on overflow; callers fall back to `f64`. This keeps the
//! common case (integers, fractions, decimals of a few dozen digits) exact and fast, and a
//! hostile input (a million-digit number, `10^{10^{10}}`) cheap: it simply stops being exact.

use std::cmp::Ordering;

/// A reduced fraction `num / den` with `den > 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rational {
    num: i128,
    den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

impl Rational {
    /// Zero.
    pub const ZERO: Rational = Rational { num: 0, den: 1 };
    /// One.
    pub const ONE: Rational = Rational { num: 1, den: 1 };

    /// `num / den` reduced; `None` when `den == 0` or on overflow.
    pub fn new(num: i128, den: i128) -> Option<Rational> {
        if den == 0 || num == i128::MIN || den == i128::MIN {
            return None;
        }
        let g = gcd(num, den).max(1);
        let (mut n, mut d) = (num / g, den / g);
        if d < 0 {
            n = -n;
            d = -d;
        }
        Some(Rational { num: n, den: d })
    }

    /// An integer.
    pub fn int(n: i128) -> Rational {
        Rational { num: n, den: 1 }
    }

    /// The numerator (sign carrier).
    pub fn numer(&self) -> i128 {
        self.num
    }

    /// The denominator (always positive).
    pub fn denom(&self) -> i128 {
        self.den
    }

    /// Whether the value is an integer.
    pub fn is_integer(&self) -> bool {
        self.den == 1
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.num == 0
    }

    /// Nearest `f64`.
    pub fn to_f64(&self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// Sum.
    pub fn checked_add(self, o: Rational) -> Option<Rational> {
        let g = gcd(self.den, o.den).max(1);
        let l = (self.den / g).checked_mul(o.den)?;
        let a = self.num.checked_mul(l / self.den)?;
        let b = o.num.checked_mul(l / o.den)?;
        Rational::new(a.checked_add(b)?, l)
    }

    /// Difference.
    pub fn checked_sub(self, o: Rational) -> Option<Rational> {
        self.checked_add(o.checked_neg()?)
    }

    /// Negation.
    pub fn checked_neg(self) -> Option<Rational> {
        Some(Rational {
            num: self.num.checked_neg()?,
            den: self.den,
        })
    }

    /// Product.
    pub fn checked_mul(self, o: Rational) -> Option<Rational> {
        let g1 = gcd(self.num, o.den).max(1);
        let g2 = gcd(o.num, self.den).max(1);
        let n = (self.num / g1).checked_mul(o.num / g2)?;
        let d = (self.den / g2).checked_mul(o.den / g1)?;
        Rational::new(n, d)
    }

    /// Quotient; `None` for division by zero.
    pub fn checked_div(self, o: Rational) -> Option<Rational> {
        if o.num == 0 {
            return None;
        }
        self.checked_mul(Rational::new(o.den, o.num)?)
    }

    /// Integer power with a small exponent (`|e| ≤ 256`); `None` on overflow.
    pub fn pow(self, e: i64) -> Option<Rational> {
        if e.unsigned_abs() > 256 {
            return None;
        }
        let mut base = if e < 0 {
            Rational::ONE.checked_div(self)?
        } else {
            self
        };
        let mut k = e.unsigned_abs();
        let mut acc = Rational::ONE;
        while k > 0 {
            if k & 1 == 1 {
                acc = acc.checked_mul(base)?;
            }
            k >>= 1;
            if k > 0 {
                base = base.checked_mul(base)?;
            }
        }
        Some(acc)
    }

    /// `10^k` for `0 ≤ k ≤ 38`.
    pub fn pow10(k: u32) -> Option<Rational> {
        Some(Rational::int(10i128.checked_pow(k)?))
    }

    /// The exact square root when both numerator and denominator are perfect squares.
    pub fn sqrt_exact(self) -> Option<Rational> {
        if self.num < 0 {
            return None;
        }
        let n = isqrt(self.num)?;
        let d = isqrt(self.den)?;
        Rational::new(n, d)
    }
}

fn isqrt(v: i128) -> Option<i128> {
    if v < 0 {
        return None;
    }
    let mut r = (v as f64).sqrt() as i128;
    // Correct the float estimate by at most a few steps either way.
    while r > 0 && r.checked_mul(r).is_none_or(|s| s > v) {
        r -= 1;
    }
    while (r + 1).checked_mul(r + 1).is_some_and(|s| s <= v) {
        r += 1;
    }
    (r * r == v).then_some(r)
}

impl PartialOrd for Rational {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rational {
    fn cmp(&self, other: &Self) -> Ordering {
        match (
            self.num.checked_mul(other.den),
            other.num.checked_mul(self.den),
        ) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self.to_f64().total_cmp(&other.to_f64()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_reduces_and_checks_overflow() {
        let half = Rational::new(1, 2).unwrap();
        let third = Rational::new(-2, -6).unwrap();
        assert_eq!(half.checked_add(third), Rational::new(5, 6));
        assert_eq!(half.checked_div(third), Rational::new(3, 2));
        assert_eq!(Rational::new(3, 0), None);
        assert_eq!(
            Rational::int(i128::MAX / 2).checked_mul(Rational::int(4)),
            None
        );
        assert_eq!(Rational::int(2).pow(-3), Rational::new(1, 8));
        assert_eq!(
            Rational::new(9, 4).unwrap().sqrt_exact(),
            Rational::new(3, 2)
        );
        assert_eq!(Rational::int(2).sqrt_exact(), None);
    }
}
