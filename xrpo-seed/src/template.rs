//! Rendering retrieved exemplars in front of the target prompt, and truncating long
//! exemplar solutions.

use serde::{Deserialize, Serialize};

/// Counts tokens the way the caller's tokenizer does (for a token-based solution cap).
///
/// Must be monotone: a prefix of a text never has more tokens than the text.
pub trait TokenCounter: Send + Sync {
    /// Number of tokens in `text`.
    fn count(&self, text: &str) -> usize;
}

/// How long an exemplar solution may be before it is truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SolutionCap {
    /// At most this many Unicode scalar values (characters).
    Chars(usize),
    /// At most this many tokens, counted by the [`TokenCounter`] given to
    /// [`ExemplarBank::with_token_counter`](crate::ExemplarBank::with_token_counter).
    Tokens(usize),
}

impl Default for SolutionCap {
    fn default() -> Self {
        Self::Chars(2048)
    }
}

/// The text layout of a seeded prompt.
///
/// Plain rendering (the default, meant to become the chat *user turn* or a raw prompt):
///
/// ```text
/// {prefix}{problem_label}{exemplar 1 prompt}{field_separator}{solution_label}{solution 1}
/// {pair_separator}{problem_label}{exemplar 2 prompt}{field_separator}{solution_label}{solution 2}
/// {pair_separator}{problem_label}{target}[{field_separator}{solution_label, trimmed}]
/// ```
///
/// With the defaults: `"Problem: …\nSolution: …\n\nProblem: …\nSolution: …\n\nProblem: <target>\nSolution:"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateConfig {
    /// Text before the first exemplar (e.g. an instruction). Default empty.
    pub prefix: String,
    /// Label before each problem. Default `"Problem: "`.
    pub problem_label: String,
    /// Label before each solution. Default `"Solution: "`.
    pub solution_label: String,
    /// Between a problem and its solution. Default `"\n"`.
    pub field_separator: String,
    /// Between two problem/solution pairs, and before the target. Default `"\n\n"`.
    pub pair_separator: String,
    /// End the target with `field_separator` + the trimmed solution label (`"\nSolution:"`),
    /// cueing a completion model. Turn off when the text becomes a chat user turn whose
    /// answer the assistant writes. Default true.
    pub target_solution_cue: bool,
    /// Appended to a truncated exemplar solution (not counted in the cap). Default `" …"`.
    pub truncation_marker: String,
}

impl Default for TemplateConfig {
    fn default() -> Self {
        Self {
            prefix: String::new(),
            problem_label: "Problem: ".into(),
            solution_label: "Solution: ".into(),
            field_separator: "\n".into(),
            pair_separator: "\n\n".into(),
            target_solution_cue: true,
            truncation_marker: " …".into(),
        }
    }
}

/// A chat message produced by [`TemplateConfig::render_chat`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `"user"` or `"assistant"`.
    pub role: String,
    /// The message text.
    pub content: String,
}

impl TemplateConfig {
    /// Renders `(problem, solution)` exemplar pairs and the target as one plain text.
    pub fn render(&self, exemplars: &[(&str, &str)], target: &str) -> String {
        let mut out = self.prefix.clone();
        for (problem, solution) in exemplars {
            out.push_str(&self.problem_label);
            out.push_str(problem);
            out.push_str(&self.field_separator);
            out.push_str(&self.solution_label);
            out.push_str(solution);
            out.push_str(&self.pair_separator);
        }
        out.push_str(&self.problem_label);
        out.push_str(target);
        if self.target_solution_cue {
            out.push_str(&self.field_separator);
            out.push_str(self.solution_label.trim_end());
        }
        out
    }

    /// Renders the exemplars as few-shot chat turns: one user turn (`prefix` + problem) and
    /// one assistant turn (solution) per exemplar, then a user turn with the bare target.
    /// For exemplars *inside* one user turn, put [`render`](Self::render)'s text there.
    pub fn render_chat(&self, exemplars: &[(&str, &str)], target: &str) -> Vec<ChatMessage> {
        let mut out = Vec::with_capacity(2 * exemplars.len() + 1);
        for (i, (problem, solution)) in exemplars.iter().enumerate() {
            let content = if i == 0 {
                format!("{}{problem}", self.prefix)
            } else {
                (*problem).to_owned()
            };
            out.push(ChatMessage {
                role: "user".into(),
                content,
            });
            out.push(ChatMessage {
                role: "assistant".into(),
                content: (*solution).to_owned(),
            });
        }
        out.push(ChatMessage {
            role: "user".into(),
            content: target.to_owned(),
        });
        out
    }
}

/// Byte offset after the first `n` characters of `text` (or its length).
fn char_prefix_end(text: &str, n: usize) -> usize {
    text.char_indices().nth(n).map_or(text.len(), |(i, _)| i)
}

/// Truncates `text` to the cap, returning the kept prefix and whether anything was cut.
///
/// With a token cap, the longest character prefix whose token count fits is found by
/// binary search (O(log len) calls to the counter, which must be monotone).
pub fn truncate_solution<'a>(
    text: &'a str,
    cap: SolutionCap,
    counter: Option<&dyn TokenCounter>,
) -> Option<(&'a str, bool)> {
    match cap {
        SolutionCap::Chars(max) => {
            let end = char_prefix_end(text, max);
            Some((&text[..end], end < text.len()))
        }
        SolutionCap::Tokens(max) => {
            let counter = counter?;
            if counter.count(text) <= max {
                return Some((text, false));
            }
            // Char boundaries; find the largest prefix (in chars) with count <= max.
            let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            let (mut lo, mut hi) = (0usize, bounds.len());
            while lo < hi {
                let mid = (lo + hi).div_ceil(2);
                let end = bounds.get(mid).copied().unwrap_or(text.len());
                if counter.count(&text[..end]) <= max {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            let end = bounds.get(lo).copied().unwrap_or(text.len());
            Some((&text[..end], true))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Words;
    impl TokenCounter for Words {
        fn count(&self, text: &str) -> usize {
            text.split_whitespace().count()
        }
    }

    #[test]
    fn default_plain_layout_is_the_documented_one() {
        let t = TemplateConfig::default();
        let s = t.render(&[("1+1?", "2"), ("2+2?", "4")], "3+3?");
        assert_eq!(
            s,
            "Problem: 1+1?\nSolution: 2\n\nProblem: 2+2?\nSolution: 4\n\nProblem: 3+3?\nSolution:"
        );
        let t = TemplateConfig {
            target_solution_cue: false,
            prefix: "Examples:\n".into(),
            ..TemplateConfig::default()
        };
        assert_eq!(t.render(&[], "x"), "Examples:\nProblem: x");
    }

    #[test]
    fn chat_layout_alternates_roles_and_ends_with_the_target() {
        let m = TemplateConfig::default().render_chat(&[("a", "b"), ("c", "d")], "e");
        let roles: Vec<&str> = m.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["user", "assistant", "user", "assistant", "user"]);
        assert_eq!(m[4].content, "e");
        assert_eq!(m[1].content, "b");
    }

    #[test]
    fn char_truncation_respects_char_boundaries() {
        assert_eq!(
            truncate_solution("héllo", SolutionCap::Chars(2), None),
            Some(("hé", true))
        );
        assert_eq!(
            truncate_solution("abc", SolutionCap::Chars(3), None),
            Some(("abc", false))
        );
        assert_eq!(
            truncate_solution("", SolutionCap::Chars(3), None),
            Some(("", false))
        );
    }

    #[test]
    fn token_truncation_keeps_the_longest_fitting_prefix() {
        let text = "one two three four five";
        let (kept, cut) = truncate_solution(text, SolutionCap::Tokens(3), Some(&Words)).unwrap();
        assert!(cut);
        // The longest prefix with <= 3 words is "one two three " (the trailing space adds no word).
        assert_eq!(kept, "one two three ");
        assert_eq!(
            truncate_solution(text, SolutionCap::Tokens(9), Some(&Words)),
            Some((text, false))
        );
        assert_eq!(truncate_solution(text, SolutionCap::Tokens(3), None), None);
    }
}
