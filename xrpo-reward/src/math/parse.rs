//! A recursive-descent parser from normalised LaTeX or plain text to a [`Node`] tree.
//!
//! It reads both `\frac{1}{2}` and `1/2`, `\sqrt3` and `sqrt(3)`, implicit products
//! (`2\sqrt{3}`, `(a+5)(b+2)`), relations and chains, tuples, sets, intervals, unions and
//! matrices. Depth, length and digit caps make every input cheap: exceeding one is an
//! error, never a hang or a stack overflow.

use super::ast::{Constant, Func, Node, Number, RelOp};
use super::number::Rational;

/// Why an answer did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The text is not an expression the parser knows.
    Syntax,
    /// The text ran past a cap (length, nesting depth, digits).
    TooLarge,
}

/// Caps on the parser's input.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Longest answer text, in chars.
    pub max_chars: usize,
    /// Deepest nesting of groups and operators.
    pub max_depth: usize,
    /// Most digits in one number literal.
    pub max_digits: usize,
}

/// Parses one answer.
pub fn parse_answer(text: &str, limits: &ParseLimits) -> Result<Node, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() > limits.max_chars {
        return Err(ParseError::TooLarge);
    }
    let mut p = Parser {
        s: &chars,
        i: 0,
        depth: 0,
        limits,
        abs_depth: 0,
    };
    let node = p.top()?;
    p.ws();
    if p.i != chars.len() {
        return Err(ParseError::Syntax);
    }
    Ok(node)
}

struct Parser<'a> {
    s: &'a [char],
    i: usize,
    depth: usize,
    limits: &'a ParseLimits,
    abs_depth: usize,
}

type PResult = Result<Node, ParseError>;

const GREEK: &[&str] = &[
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Sigma",
    "Phi",
    "Psi",
    "Omega",
    "ell",
];

fn func_named(name: &str) -> Option<Func> {
    Some(match name {
        "sin" => Func::Sin,
        "cos" => Func::Cos,
        "tan" => Func::Tan,
        "sec" => Func::Sec,
        "csc" => Func::Csc,
        "cot" => Func::Cot,
        "arcsin" => Func::Asin,
        "arccos" => Func::Acos,
        "arctan" => Func::Atan,
        "sinh" => Func::Sinh,
        "cosh" => Func::Cosh,
        "tanh" => Func::Tanh,
        "ln" => Func::Ln,
        "log" => Func::Log,
        "exp" => Func::Exp,
        "sqrt" => Func::Sqrt,
        _ => return None,
    })
}

/// Letters that read as function names when directly followed by `(`: `f(x)`.
const FUNCTION_LETTERS: &[char] = &['f', 'g', 'h', 'F', 'G', 'H', 'P', 'Q', 'W'];

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn starts_with(&self, lit: &str) -> bool {
        lit.chars()
            .enumerate()
            .all(|(k, c)| self.s.get(self.i + k) == Some(&c))
    }

    /// Reads `\name` at the cursor without consuming it.
    fn peek_command(&self) -> Option<String> {
        if self.peek() != Some('\\') {
            return None;
        }
        let mut k = self.i + 1;
        let mut name = String::new();
        while let Some(&c) = self.s.get(k) {
            if c.is_ascii_alphabetic() {
                name.push(c);
                k += 1;
            } else {
                break;
            }
        }
        if name.is_empty() {
            // One-symbol commands: `\{`, `\}`, `\%`.
            if let Some(&c) = self.s.get(self.i + 1) {
                name.push(c);
            }
        }
        Some(name)
    }

    fn eat_command(&mut self, name: &str) -> bool {
        self.ws();
        if self.peek_command().as_deref() == Some(name) {
            self.i += 1 + name.chars().count();
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            Err(ParseError::TooLarge)
        } else {
            Ok(())
        }
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Top level: `;`-separated groups of `,`-separated items.
    fn top(&mut self) -> PResult {
        let mut groups = Vec::new();
        loop {
            let items = self.list(&[';'])?;
            groups.push(if items.len() == 1 {
                items.into_iter().next().ok_or(ParseError::Syntax)?
            } else {
                Node::Set(items)
            });
            if !self.eat(';') {
                break;
            }
        }
        Ok(if groups.len() == 1 {
            groups.into_iter().next().ok_or(ParseError::Syntax)?
        } else {
            Node::Set(groups)
        })
    }

    /// Comma- (and, inside brackets, semicolon-) separated items.
    fn list(&mut self, stop_semicolon: &[char]) -> Result<Vec<Node>, ParseError> {
        let mut items = vec![self.relation()?];
        loop {
            self.ws();
            match self.peek() {
                Some(',') => self.i += 1,
                Some(';') if stop_semicolon.is_empty() => self.i += 1,
                _ => break,
            }
            items.push(self.relation()?);
        }
        Ok(items)
    }

    fn rel_op(&mut self) -> Option<RelOp> {
        self.ws();
        let two = (self.peek(), self.peek_at(1));
        let op = match two {
            (Some('<'), Some('=')) => Some((RelOp::Le, 2)),
            (Some('>'), Some('=')) => Some((RelOp::Ge, 2)),
            (Some('!'), Some('=')) => Some((RelOp::Ne, 2)),
            (Some('='), Some('=')) => Some((RelOp::Eq, 2)),
            (Some('='), _) => Some((RelOp::Eq, 1)),
            (Some('<'), _) => Some((RelOp::Lt, 1)),
            (Some('>'), _) => Some((RelOp::Gt, 1)),
            _ => None,
        };
        if let Some((op, n)) = op {
            self.i += n;
            return Some(op);
        }
        let cmd = self.peek_command()?;
        let op = match cmd.as_str() {
            "le" | "leq" => RelOp::Le,
            "ge" | "geq" => RelOp::Ge,
            "lt" => RelOp::Lt,
            "gt" => RelOp::Gt,
            "ne" | "neq" => RelOp::Ne,
            "in" => RelOp::In,
            "equiv" => RelOp::Eq,
            _ => return None,
        };
        self.i += 1 + cmd.chars().count();
        Some(op)
    }

    fn relation(&mut self) -> PResult {
        self.enter()?;
        let first = self.union()?;
        let mut terms = vec![first];
        let mut ops = Vec::new();
        while let Some(op) = self.rel_op() {
            ops.push(op);
            terms.push(self.union()?);
        }
        self.leave();
        Ok(if ops.is_empty() {
            terms.pop().ok_or(ParseError::Syntax)?
        } else {
            Node::Rel(terms, ops)
        })
    }

    fn union(&mut self) -> PResult {
        let first = self.sum()?;
        if !self.eat_command("cup") {
            return Ok(first);
        }
        let mut parts = vec![first, self.sum()?];
        while self.eat_command("cup") {
            parts.push(self.sum()?);
        }
        Ok(Node::Union(parts))
    }

    fn sum(&mut self) -> PResult {
        self.enter()?;
        let mut acc = self.product()?;
        let mut terms = Vec::new();
        loop {
            self.ws();
            if self.eat('+') {
                terms.push(acc);
                acc = self.product()?;
            } else if self.peek() == Some('-') {
                self.i += 1;
                terms.push(acc);
                acc = Node::Neg(Box::new(self.product()?));
            } else if self.eat_command("pm") {
                let rhs = self.product()?;
                terms.push(acc);
                let lhs = Node::Add(std::mem::take(&mut terms));
                acc = Node::PlusMinus(Box::new(flatten_add(lhs)), Box::new(rhs));
            } else if self.eat_command("mp") {
                let rhs = self.product()?;
                terms.push(acc);
                let lhs = Node::Add(std::mem::take(&mut terms));
                acc = Node::PlusMinus(
                    Box::new(flatten_add(lhs)),
                    Box::new(Node::Neg(Box::new(rhs))),
                );
            } else {
                break;
            }
        }
        self.leave();
        if terms.is_empty() {
            Ok(acc)
        } else {
            terms.push(acc);
            Ok(Node::Add(terms))
        }
    }

    /// Whether the cursor starts a factor that multiplies implicitly (`2x`, `2\sqrt3`).
    fn starts_factor(&self) -> bool {
        match self.peek() {
            Some(c) if c.is_ascii_digit() || c.is_alphabetic() || c == '(' || c == '{' => true,
            Some('.') => self.peek_at(1).is_some_and(|c| c.is_ascii_digit()),
            Some('|') => self.abs_depth == 0,
            Some('[') => false,
            Some('\\') => match self.peek_command() {
                Some(cmd) => !matches!(
                    cmd.as_str(),
                    "le" | "leq"
                        | "ge"
                        | "geq"
                        | "lt"
                        | "gt"
                        | "ne"
                        | "neq"
                        | "in"
                        | "cup"
                        | "pm"
                        | "mp"
                        | "cdot"
                        | "times"
                        | "div"
                        | "right"
                        | "end"
                        | "}"
                        | "rfloor"
                        | "rceil"
                        | "\\"
                        | "equiv"
                        | "cap"
                        | "%"
                ),
                None => false,
            },
            _ => false,
        }
    }

    fn product(&mut self) -> PResult {
        self.enter()?;
        let mut factors = vec![self.unary()?];
        // Mixed numbers: `2\frac{1}{2}` is 2 + 1/2, not 2 · 1/2.
        self.ws();
        if self.peek_command().as_deref() == Some("frac") {
            let whole = match &factors[0] {
                Node::Num(n) if !n.decimal && n.exact.is_some_and(|r| r.is_integer()) => {
                    Some((false, n.clone()))
                }
                Node::Neg(inner) => match &**inner {
                    Node::Num(n) if !n.decimal && n.exact.is_some_and(|r| r.is_integer()) => {
                        Some((true, n.clone()))
                    }
                    _ => None,
                },
                _ => None,
            };
            if let Some((neg, whole)) = whole {
                let save = self.i;
                let frac = self.power()?;
                let is_int = |n: &Node| matches!(n, Node::Num(x) if !x.decimal && x.exact.is_some_and(|r| r.is_integer()));
                if let Node::Div(a, b) = &frac
                    && is_int(a)
                    && is_int(b)
                {
                    let mixed = Node::Add(vec![Node::Num(whole), frac.clone()]);
                    factors[0] = if neg {
                        Node::Neg(Box::new(mixed))
                    } else {
                        mixed
                    };
                } else {
                    self.i = save;
                }
            }
        }
        loop {
            self.ws();
            if self.eat('*') || self.eat_command("cdot") || self.eat_command("times") {
                factors.push(self.unary()?);
            } else if self.peek() == Some('/') || self.peek() == Some(':') {
                self.i += 1;
                let den = self.unary()?;
                let num = collapse_mul(std::mem::take(&mut factors));
                factors.push(Node::Div(Box::new(num), Box::new(den)));
            } else if self.eat_command("div") {
                let den = self.unary()?;
                let num = collapse_mul(std::mem::take(&mut factors));
                factors.push(Node::Div(Box::new(num), Box::new(den)));
            } else if self.starts_factor() {
                factors.push(self.power()?);
            } else {
                break;
            }
        }
        self.leave();
        Ok(collapse_mul(factors))
    }

    fn unary(&mut self) -> PResult {
        self.enter()?;
        self.ws();
        let out = if self.eat('-') {
            Node::Neg(Box::new(self.unary()?))
        } else if self.eat('+') {
            self.unary()?
        } else if self.eat_command("pm") {
            Node::PlusMinus(Box::new(Node::Num(int_number(0))), Box::new(self.unary()?))
        } else {
            self.power()?
        };
        self.leave();
        Ok(out)
    }

    fn power(&mut self) -> PResult {
        self.enter()?;
        let base = self.postfix()?;
        self.ws();
        let out = if self.peek() == Some('^') || self.starts_with("**") {
            self.i += if self.peek() == Some('^') { 1 } else { 2 };
            let exp = self.script_arg(true)?;
            let node = Node::Pow(Box::new(base), Box::new(exp));
            self.postfix_ops(node)?
        } else {
            base
        };
        self.leave();
        Ok(out)
    }

    /// The argument of `^`, `_`, `\frac` or `\sqrt`: a braced group or one token.
    fn script_arg(&mut self, allow_sign: bool) -> PResult {
        self.ws();
        match self.peek() {
            Some('{') => {
                self.i += 1;
                let inner = self.group_until('}')?;
                Ok(inner)
            }
            Some(c) if c.is_ascii_digit() => {
                self.i += 1;
                Ok(Node::Num(int_number(c as i128 - '0' as i128)))
            }
            Some('-') if allow_sign => {
                self.i += 1;
                Ok(Node::Neg(Box::new(self.script_arg(false)?)))
            }
            Some('(') if allow_sign => self.atom(),
            Some(c) if c.is_alphabetic() => {
                self.i += 1;
                Ok(Node::Sym(c.to_string()))
            }
            Some('\\') => self.atom(),
            _ => Err(ParseError::Syntax),
        }
    }

    /// Parses the inside of a `{…}` group up to `close`: one item, or a set of several.
    fn group_until(&mut self, close: char) -> PResult {
        self.enter()?;
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
            self.leave();
            return Ok(Node::Set(vec![]));
        }
        let items = self.list(&[])?;
        if !self.eat(close) {
            return Err(ParseError::Syntax);
        }
        self.leave();
        Ok(if items.len() == 1 {
            items.into_iter().next().ok_or(ParseError::Syntax)?
        } else {
            Node::Set(items)
        })
    }

    fn postfix(&mut self) -> PResult {
        let a = self.atom()?;
        self.postfix_ops(a)
    }

    fn postfix_ops(&mut self, mut a: Node) -> PResult {
        loop {
            // No whitespace skip before `!`/`'`/`_`: they bind to what they touch.
            match self.peek() {
                Some('!') if self.peek_at(1) != Some('=') => {
                    self.i += 1;
                    a = Node::Func(Func::Factorial, vec![a]);
                }
                Some('%') => {
                    self.i += 1;
                    a = Node::Percent(Box::new(a));
                }
                Some('\'') => {
                    self.i += 1;
                    a = match a {
                        Node::Sym(s) => Node::Sym(format!("{s}'")),
                        other => Node::Apply("prime".into(), vec![other]),
                    };
                }
                Some('_') => {
                    self.i += 1;
                    let sub = self.subscript_text()?;
                    a = match a {
                        Node::Sym(s) => Node::Sym(format!("{s}_{sub}")),
                        Node::Num(n) => based_number(&n, &sub)?,
                        other => Node::Apply(format!("sub_{sub}"), vec![other]),
                    };
                }
                _ => return Ok(a),
            }
        }
    }

    /// The raw text of a subscript, spaces removed (`{37}` → `37`, `1` → `1`).
    fn subscript_text(&mut self) -> Result<String, ParseError> {
        self.ws();
        match self.peek() {
            Some('{') => {
                let mut depth = 0usize;
                let start = self.i;
                while let Some(c) = self.peek() {
                    self.i += 1;
                    if c == '{' {
                        depth += 1;
                    } else if c == '}' {
                        depth -= 1;
                        if depth == 0 {
                            let inner: String = self.s[start + 1..self.i - 1]
                                .iter()
                                .filter(|c| !c.is_whitespace())
                                .collect();
                            return Ok(inner);
                        }
                    }
                }
                Err(ParseError::Syntax)
            }
            Some(c) if c.is_alphanumeric() => {
                self.i += 1;
                Ok(c.to_string())
            }
            Some('\\') => {
                let cmd = self.peek_command().ok_or(ParseError::Syntax)?;
                self.i += 1 + cmd.chars().count();
                Ok(cmd)
            }
            _ => Err(ParseError::Syntax),
        }
    }

    fn number(&mut self) -> PResult {
        let start = self.i;
        let mut digits = 0usize;
        let mut decimal = false;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() {
                digits += 1;
                self.i += 1;
            } else if c == '.' && !decimal && self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) {
                decimal = true;
                self.i += 1;
            } else {
                break;
            }
        }
        if digits > self.limits.max_digits {
            return Err(ParseError::TooLarge);
        }
        let text: String = self.s[start..self.i].iter().collect();
        // Scientific notation in plain text: `1.5e-3`, `2E10`.
        let mut sci: Option<i32> = None;
        if matches!(self.peek(), Some('e') | Some('E'))
            && let Some((exp, used)) = read_exponent(&self.s[self.i + 1..])
        {
            sci = Some(exp);
            self.i += 1 + used;
        }
        let mut n = parse_decimal(&text).ok_or(ParseError::Syntax)?;
        if let Some(e) = sci {
            n = scale_pow10(n, e);
        }
        Ok(Node::Num(n))
    }

    fn atom(&mut self) -> PResult {
        self.enter()?;
        self.ws();
        let c = self.peek().ok_or(ParseError::Syntax)?;
        let out = match c {
            '0'..='9' => self.number()?,
            '.' if self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => self.number()?,
            '(' => {
                self.i += 1;
                self.bracketed(true)?
            }
            '[' => {
                self.i += 1;
                self.bracketed(false)?
            }
            '{' => {
                self.i += 1;
                self.group_until('}')?
            }
            '|' => {
                self.i += 1;
                self.abs_depth += 1;
                let inner = self.sum()?;
                self.abs_depth -= 1;
                if !self.eat('|') {
                    return Err(ParseError::Syntax);
                }
                Node::Func(Func::Abs, vec![inner])
            }
            '…' => return Err(ParseError::Syntax),
            '\\' => self.command()?,
            c if c.is_alphabetic() => self.word()?,
            _ => return Err(ParseError::Syntax),
        };
        self.leave();
        Ok(out)
    }

    /// After `(` or `[`: a group, a tuple or an interval, closed by `)` or `]`.
    fn bracketed(&mut self, open_paren: bool) -> PResult {
        let items = self.list(&[])?;
        self.ws();
        let close = self.peek().ok_or(ParseError::Syntax)?;
        if close != ')' && close != ']' {
            return Err(ParseError::Syntax);
        }
        self.i += 1;
        let close_paren = close == ')';
        if items.len() == 1 {
            let item = items.into_iter().next().ok_or(ParseError::Syntax)?;
            return if open_paren == close_paren {
                Ok(item)
            } else {
                Err(ParseError::Syntax)
            };
        }
        if open_paren && close_paren {
            return Ok(Node::Tuple(items));
        }
        if items.len() == 2 {
            let mut it = items.into_iter();
            let (lo, hi) = (
                it.next().ok_or(ParseError::Syntax)?,
                it.next().ok_or(ParseError::Syntax)?,
            );
            return Ok(Node::Interval {
                lo: Box::new(lo),
                hi: Box::new(hi),
                lo_open: open_paren,
                hi_open: close_paren,
            });
        }
        Ok(Node::Tuple(items))
    }

    /// Letters outside commands: function words (`sqrt`, `sin`), `pi`, `f(x)`, else one
    /// variable per letter.
    fn word(&mut self) -> PResult {
        let start = self.i;
        let mut end = start;
        while self.s.get(end).is_some_and(|c| c.is_ascii_alphabetic()) {
            end += 1;
        }
        let word: String = self.s[start..end].iter().collect();
        // Function names are short: only the first 8 letters can start one.
        for len in (2..=word.len().min(8)).rev() {
            let head = &word[..len];
            if let Some(f) = func_named(head) {
                self.i = start + len;
                return self.func_call(f);
            }
            if head == "pi" && len == word.len() {
                self.i = end;
                return Ok(Node::Const(Constant::Pi));
            }
            if (head == "infty" || head == "infinity" || head == "oo") && len == word.len() {
                self.i = end;
                return Ok(Node::Const(Constant::Infinity));
            }
        }
        let c = self.s[start];
        self.i = start + 1;
        if FUNCTION_LETTERS.contains(&c) && self.peek() == Some('(') {
            self.i += 1;
            let args = self.list(&[])?;
            if !self.eat(')') {
                return Err(ParseError::Syntax);
            }
            return Ok(Node::Apply(c.to_string(), args));
        }
        if c == 'e' && self.peek().is_none_or(|n| n != '_') {
            return Ok(Node::Const(Constant::E));
        }
        Ok(Node::Sym(c.to_string()))
    }

    /// A function's argument after its name (and an optional `^2` power).
    fn func_call(&mut self, f: Func) -> PResult {
        self.ws();
        let mut power = None;
        if self.peek() == Some('^') {
            self.i += 1;
            power = Some(self.script_arg(true)?);
        }
        let mut base = None;
        if f == Func::Log && self.peek() == Some('_') {
            self.i += 1;
            base = Some(self.script_arg(false)?);
        }
        self.ws();
        let arg = if f == Func::Sqrt && self.peek() == Some('[') {
            self.i += 1;
            let n = self.relation()?;
            if !self.eat(']') {
                return Err(ParseError::Syntax);
            }
            let x = self.script_arg(false)?;
            return Ok(Node::Func(Func::Root, vec![x, n]));
        } else if f == Func::Sqrt && self.peek() == Some('(') {
            // Plain-text `sqrt(2)`.
            self.atom()?
        } else if f == Func::Sqrt {
            self.script_arg(false)?
        } else if self.peek() == Some('(') {
            self.atom()?
        } else {
            self.power()?
        };
        let mut args = vec![arg];
        if let Some(b) = base {
            args.push(b);
        }
        let call = Node::Func(f, args);
        Ok(match power {
            // `\sin^{-1}` is the inverse function.
            Some(Node::Neg(ref one)) if **one == Node::Num(int_number(1)) => match f {
                Func::Sin => Node::Func(Func::Asin, call_args(call)),
                Func::Cos => Node::Func(Func::Acos, call_args(call)),
                Func::Tan => Node::Func(Func::Atan, call_args(call)),
                _ => Node::Pow(
                    Box::new(call),
                    Box::new(Node::Neg(Box::new(Node::Num(int_number(1))))),
                ),
            },
            Some(p) => Node::Pow(Box::new(call), Box::new(p)),
            None => call,
        })
    }

    fn command(&mut self) -> PResult {
        let name = self.peek_command().ok_or(ParseError::Syntax)?;
        self.i += 1 + name.chars().count();
        if let Some(f) = func_named(&name) {
            return self.func_call(f);
        }
        match name.as_str() {
            "frac" => {
                let num = self.script_arg(false)?;
                let den = self.script_arg(false)?;
                Ok(Node::Div(Box::new(num), Box::new(den)))
            }
            "binom" => {
                let n = self.script_arg(false)?;
                let k = self.script_arg(false)?;
                Ok(Node::Func(Func::Binom, vec![n, k]))
            }
            "pi" => Ok(Node::Const(Constant::Pi)),
            "infty" | "infin" => Ok(Node::Const(Constant::Infinity)),
            "emptyset" | "varnothing" => Ok(Node::Set(vec![])),
            "{" => {
                let items = if self.eat_command("}") {
                    vec![]
                } else {
                    let items = self.list(&[])?;
                    if !self.eat_command("}") {
                        return Err(ParseError::Syntax);
                    }
                    items
                };
                Ok(Node::Set(items))
            }
            "lfloor" | "lceil" => {
                let inner = self.sum()?;
                let close = if name == "lfloor" { "rfloor" } else { "rceil" };
                if !self.eat_command(close) {
                    return Err(ParseError::Syntax);
                }
                Ok(Node::Func(
                    if name == "lfloor" {
                        Func::Floor
                    } else {
                        Func::Ceil
                    },
                    vec![inner],
                ))
            }
            "text" | "textbf" | "textit" | "textnormal" | "textrm" | "mbox" | "mathrm"
            | "mathbf" | "mathit" | "operatorname" | "textsf" | "mathsf" | "boldsymbol" => {
                self.text_arg(&name)
            }
            "begin" => self.environment(),
            "sum" | "prod" => self.big_operator(&name),
            "exp" => self.func_call(Func::Exp),
            g if GREEK.contains(&g) => Ok(Node::Sym(g.to_string())),
            _ => Err(ParseError::Syntax),
        }
    }

    /// `\sum_{k=a}^{b} body` / `\prod`: kept opaque, compared by bounds, index name and the
    /// body's value, so reordered factors match and changed bounds do not.
    fn big_operator(&mut self, name: &str) -> PResult {
        self.ws();
        let mut index = String::new();
        let mut lo = Node::Sym("_".into());
        if self.peek() == Some('_') {
            self.i += 1;
            match self.script_arg(false)? {
                Node::Rel(terms, _) if terms.len() == 2 => {
                    if let Node::Sym(s) = &terms[0] {
                        index = s.clone();
                    }
                    lo = terms[1].clone();
                }
                other => lo = other,
            }
        }
        self.ws();
        let mut hi = Node::Sym("_".into());
        if self.peek() == Some('^') {
            self.i += 1;
            hi = self.script_arg(false)?;
        }
        let body = self.product()?;
        Ok(Node::Apply(format!("{name}_{index}"), vec![lo, hi, body]))
    }

    /// `\text{…}` and friends: a number, a single letter (a variable or a choice), or words.
    fn text_arg(&mut self, cmd: &str) -> PResult {
        self.ws();
        if self.peek() != Some('{') {
            return Err(ParseError::Syntax);
        }
        let start = self.i + 1;
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == '{' {
                depth += 1;
            } else if c == '}' {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
        }
        if depth != 0 {
            return Err(ParseError::Syntax);
        }
        let inner: String = self.s[start..self.i - 1].iter().collect();
        let trimmed = inner.trim();
        let math_font = matches!(
            cmd,
            "mathrm" | "mathbf" | "mathit" | "mathsf" | "boldsymbol"
        );
        // Parse the content with the depth already used, so nested `\text{\text{…}}`
        // stays within the depth cap.
        let chars: Vec<char> = trimmed.chars().collect();
        let mut sub = Parser {
            s: &chars,
            i: 0,
            depth: self.depth,
            limits: self.limits,
            abs_depth: 0,
        };
        if let Ok(node) = sub.top()
            && sub.i == chars.len()
            && (math_font || matches!(node, Node::Num(_)))
        {
            return Ok(node);
        }
        if self.depth + 1 > self.limits.max_depth {
            return Err(ParseError::TooLarge);
        }
        Ok(Node::Text(trimmed.to_lowercase()))
    }

    /// `\begin{pmatrix} … \end{pmatrix}` and other matrix environments.
    fn environment(&mut self) -> PResult {
        let env = self.subscript_text()?;
        const MATRICES: &[&str] = &[
            "pmatrix",
            "bmatrix",
            "matrix",
            "vmatrix",
            "Bmatrix",
            "smallmatrix",
            "array",
        ];
        if !MATRICES.contains(&env.as_str()) {
            return Err(ParseError::Syntax);
        }
        if env == "array" {
            self.ws();
            if self.peek() == Some('{') {
                self.subscript_text()?;
            }
        }
        let mut rows: Vec<Vec<Node>> = vec![vec![]];
        loop {
            self.ws();
            if self.eat_command("end") {
                let close = self.subscript_text()?;
                if close != env {
                    return Err(ParseError::Syntax);
                }
                break;
            }
            let cell = self.relation()?;
            rows.last_mut().ok_or(ParseError::Syntax)?.push(cell);
            self.ws();
            if self.eat('&') {
                continue;
            }
            if self.starts_with("\\\\") {
                self.i += 2;
                self.ws();
                if self.starts_with("\\end") {
                    continue;
                }
                rows.push(vec![]);
                continue;
            }
            if self.starts_with("\\end") {
                continue;
            }
            return Err(ParseError::Syntax);
        }
        rows.retain(|r| !r.is_empty());
        let width = rows.first().map_or(0, Vec::len);
        if width == 0 || rows.iter().any(|r| r.len() != width) {
            return Err(ParseError::Syntax);
        }
        Ok(Node::Matrix(rows))
    }
}

fn call_args(call: Node) -> Vec<Node> {
    match call {
        Node::Func(_, args) => args,
        other => vec![other],
    }
}

fn flatten_add(n: Node) -> Node {
    match n {
        Node::Add(mut v) if v.len() == 1 => v.pop().unwrap_or(Node::Add(vec![])),
        other => other,
    }
}

fn collapse_mul(mut factors: Vec<Node>) -> Node {
    if factors.len() == 1 {
        // Invariant: checked length 1 just above.
        factors.pop().expect("one factor")
    } else {
        Node::Mul(factors)
    }
}

fn int_number(n: i128) -> Number {
    Number {
        exact: Some(Rational::int(n)),
        approx: n as f64,
        decimal: false,
    }
}

/// Reads `[+-]digits` after an `e` of scientific notation; returns the exponent and the
/// chars used. Only short exponents count (`e3`, `E-12`).
fn read_exponent(rest: &[char]) -> Option<(i32, usize)> {
    let mut k = 0;
    let neg = match rest.first() {
        Some('-') => {
            k = 1;
            true
        }
        Some('+') => {
            k = 1;
            false
        }
        _ => false,
    };
    let start = k;
    while rest.get(k).is_some_and(|c| c.is_ascii_digit()) && k - start < 4 {
        k += 1;
    }
    if k == start || rest.get(k).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let v: i32 = rest[start..k].iter().collect::<String>().parse().ok()?;
    Some((if neg { -v } else { v }, k))
}

/// Parses `123`, `0.25`, `.5` into a [`Number`], exact when it fits.
pub fn parse_decimal(text: &str) -> Option<Number> {
    let approx: f64 = if text.starts_with('.') {
        format!("0{text}").parse().ok()?
    } else {
        text.parse().ok()?
    };
    let (int_part, frac_part) = match text.split_once('.') {
        Some((a, b)) => (a, b),
        None => (text, ""),
    };
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let exact = if digits.len() <= 36 && frac_part.len() <= 36 {
        let n: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        Rational::pow10(frac_part.len() as u32).and_then(|d| Rational::new(n, d.numer()))
    } else {
        None
    };
    Some(Number {
        exact,
        approx,
        decimal: text.contains('.'),
    })
}

fn scale_pow10(n: Number, e: i32) -> Number {
    let factor = Rational::pow10(e.unsigned_abs());
    let exact = match (n.exact, factor) {
        (Some(x), Some(f)) if e >= 0 => x.checked_mul(f),
        (Some(x), Some(f)) => x.checked_div(f),
        _ => None,
    };
    Number {
        exact,
        approx: n.approx * 10f64.powi(e),
        decimal: n.decimal,
    }
}

/// `204_5`: digits in base 5; a subscript that is not a valid base keeps it opaque.
fn based_number(n: &Number, sub: &str) -> PResult {
    let base: u32 = sub.parse().map_err(|_| ParseError::Syntax)?;
    let Some(exact) = n.exact.filter(|r| r.is_integer() && !n.decimal) else {
        return Err(ParseError::Syntax);
    };
    if !(2..=36).contains(&base) {
        return Err(ParseError::Syntax);
    }
    let digits = exact.numer().to_string();
    match i128::from_str_radix(&digits, base) {
        Ok(v) => Ok(Node::Num(int_number(v))),
        // Digits outside the base: keep the literal as an opaque symbol so it still
        // compares equal to itself.
        Err(_) => Ok(Node::Sym(format!("{digits}_{base}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Node {
        let limits = ParseLimits {
            max_chars: 1000,
            max_depth: 64,
            max_digits: 100,
        };
        parse_answer(s, &limits).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    #[test]
    fn shapes() {
        assert!(matches!(p("(1,2)"), Node::Tuple(v) if v.len() == 2));
        assert!(matches!(
            p("[1,2)"),
            Node::Interval {
                lo_open: false,
                hi_open: true,
                ..
            }
        ));
        assert!(matches!(p("\\{1,2\\}"), Node::Set(v) if v.len() == 2));
        assert!(matches!(p("1, 2"), Node::Set(v) if v.len() == 2));
        assert!(matches!(p("x \\le 2"), Node::Rel(_, ops) if ops == vec![RelOp::Le]));
        assert!(
            matches!(p("\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}"), Node::Matrix(r) if r.len() == 2)
        );
        assert!(matches!(p("\\frac12"), Node::Div(..)));
        assert!(matches!(p("f(x)"), Node::Apply(..)));
    }

    #[test]
    fn caps() {
        let limits = ParseLimits {
            max_chars: 1000,
            max_depth: 16,
            max_digits: 10,
        };
        assert_eq!(
            parse_answer(&"(".repeat(100), &limits),
            Err(ParseError::TooLarge)
        );
        assert_eq!(
            parse_answer("12345678901234", &limits),
            Err(ParseError::TooLarge)
        );
    }
}
