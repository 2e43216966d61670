//! Hands out rollouts one at a time to the prompt with the fewest so far: the round-robin
//! the filtering allocators use inside and after their priority classes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::PromptStats;

/// Adds up to `budget` rollouts to `grants`, one at a time, each to the eligible prompt
/// with the fewest rollouts (its [`PromptStats::rollouts`] plus its grants so far), ties
/// to the lowest index, never past `n_max`. Returns how many were handed out. Cost
/// `O((|Q| + budget) log |Q|)`; stops when every eligible prompt is at its cap.
pub(crate) fn fill_fewest_first(
    stats: &[PromptStats],
    grants: &mut [usize],
    eligible: impl Fn(usize) -> bool,
    n_max: usize,
    budget: usize,
) -> usize {
    let mut heap: BinaryHeap<Reverse<(usize, usize)>> = stats
        .iter()
        .zip(grants.iter())
        .enumerate()
        .filter(|&(q, (s, &g))| eligible(q) && s.rollouts().saturating_add(g) < n_max)
        .map(|(q, (s, &g))| Reverse((s.rollouts() + g, q)))
        .collect();
    let mut given = 0;
    while given < budget {
        let Some(Reverse((n, q))) = heap.pop() else {
            break;
        };
        grants[q] += 1;
        given += 1;
        if n + 1 < n_max {
            heap.push(Reverse((n + 1, q)));
        }
    }
    given
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fewest_first_with_caps_and_eligibility() {
        let stats = [
            PromptStats::from_rewards([1.0; 3]).unwrap(),
            PromptStats::from_rewards([1.0]).unwrap(),
            PromptStats::new(),
            PromptStats::new(),
        ];
        let mut g = vec![0; 4];
        // Prompt 3 is not eligible; caps at 4: room 1 + 3 + 4 = 8.
        let given = fill_fewest_first(&stats, &mut g, |q| q != 3, 4, 100);
        assert_eq!((given, g.clone()), (8, vec![1, 3, 4, 0]));
        let mut g = vec![0; 4];
        // Budget 3: prompts 2 and 3 (0 each), then prompt 1 (1; ties go to the lowest index).
        assert_eq!(fill_fewest_first(&stats, &mut g, |_| true, 4, 3), 3);
        assert_eq!(g, vec![0, 1, 1, 1]);
    }
}
