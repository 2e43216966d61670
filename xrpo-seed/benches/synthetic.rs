//! A seeded generator of arithmetic word-problem prompts for benchmarks and tests (shared
//! by `benches/retrieval.rs` and `tests/`): 20 problem families filled with random names,
//! objects and numbers, so similar prompts exist in many lexical variants.
#![allow(dead_code)]

/// SplitMix64: a tiny, well-mixed, seedable generator (no `rand` dependency needed here).
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const NAMES: &[&str] = &[
    "Tom", "Ann", "Lena", "Ravi", "Mei", "Omar", "Sofia", "Jack", "Priya", "Lucas", "Chen",
    "Fatima", "Noah", "Emma", "Kofi", "Yuki", "Ivan", "Zara", "Diego", "Hana",
];
const ITEMS: &[&str] = &[
    "apples", "pencils", "marbles", "stickers", "cookies", "books", "coins", "cards", "shells",
    "stamps", "balloons", "oranges", "candies", "toys", "flowers",
];
const PLACES: &[&str] = &[
    "store", "market", "library", "bakery", "park", "school", "museum", "garden",
];

/// Number of problem families.
pub const FAMILIES: usize = 20;

/// One prompt of family `family` (0..FAMILIES) with random fillers.
pub fn prompt_of_family(rng: &mut SplitMix64, family: usize) -> String {
    let n = |rng: &mut SplitMix64| 2 + rng.below(97);
    let (a, b, c) = (n(rng), n(rng), n(rng));
    let p = rng.pick(NAMES);
    let q = rng.pick(NAMES);
    let it = rng.pick(ITEMS);
    let pl = rng.pick(PLACES);
    match family % FAMILIES {
        0 => format!(
            "{p} has {a} {it} and buys {b} more at the {pl}. How many {it} does {p} have now?"
        ),
        1 => format!("{p} had {a} {it} and gave {b} of them to {q}. How many {it} are left?"),
        2 => format!("A box holds {a} {it}. How many {it} are in {b} boxes?"),
        3 => format!(
            "{p} shares {a} {it} equally among {b} friends. How many does each friend get, and how many remain?"
        ),
        4 => format!(
            "A train travels {a} km per hour for {b} hours. How far does it travel in total?"
        ),
        5 => format!("A rectangle has a length of {a} cm and a width of {b} cm. What is its area?"),
        6 => format!("What is the perimeter of a square with side length {a} meters?"),
        7 => format!("Solve for x: {a}x + {b} = {c}."),
        8 => format!("Find the remainder when {a}^{b} is divided by {c}."),
        9 => format!("What is {a}% of {b}? Round to the nearest whole number."),
        10 => format!(
            "The price of a ticket at the {pl} is ${a}. {p} buys {b} tickets and pays with ${c}0. How much change?"
        ),
        11 => format!("How many positive divisors does {a}{b} have?"),
        12 => format!("Compute the sum of the first {a} positive odd integers."),
        13 => format!(
            "A bag has {a} red and {b} blue {it}. If one is drawn at random, what is the probability it is red?"
        ),
        14 => format!("The average of {a}, {b} and x is {c}. What is x?"),
        15 => format!("{p} reads {a} pages a day. How many days to finish a book of {b}{c} pages?"),
        16 => format!("Find the greatest common divisor of {a}{b} and {c}{a}."),
        17 => {
            format!("A recipe needs {a} grams of flour for {b} {it}. How much flour for {c} {it}?")
        }
        18 => format!("Evaluate \\frac{{{a}}}{{{b}}} + \\frac{{{c}}}{{{a}}} and simplify."),
        _ => format!(
            "In how many ways can {a} students be seated in a row of {b} chairs if {p} and {q} sit together?"
        ),
    }
}

/// `n` prompts with families drawn uniformly.
pub fn prompts(seed: u64, n: usize) -> Vec<String> {
    let mut rng = SplitMix64(seed);
    (0..n)
        .map(|_| {
            let f = rng.below(FAMILIES);
            prompt_of_family(&mut rng, f)
        })
        .collect()
}
