//! A character-level tokenizer over a small fixed alphabet, for the tiny model.

use std::collections::HashMap;

use super::{TextTokenizer, TokenizerError};

/// The built-in alphabet of [`CharTokenizer::arithmetic`], 62 symbols, in id order
/// starting at id 2:
///
/// | ids | symbols |
/// |---|---|
/// | 2–11 | digits `0`–`9` |
/// | 12–13 | space, newline |
/// | 14–29 | `+ - * / ^ = ( ) . , ? : ! # < >` |
/// | 30–55 | lowercase `a`–`z` |
/// | 56–63 | uppercase `A Q W H T F I S` (for "Q: … A: …", "What", "How", "The", "Find", "Is", "Solve") |
///
/// Id 0 is EOS and id 1 stands for any character outside the alphabet, so the whole
/// vocabulary is 64 ids, the tiny model's `vocab_size`.
pub const ARITHMETIC_ALPHABET: &str =
    "0123456789 \n+-*/^=().,?:!#<>abcdefghijklmnopqrstuvwxyzAQWHTFIS";

/// Id of the end-of-sequence token in every [`CharTokenizer`].
const EOS_ID: u32 = 0;
/// Id that every character outside the alphabet encodes to.
const UNK_ID: u32 = 1;
/// Number of ids before the alphabet (EOS, unknown).
const N_SPECIAL: usize = 2;
/// Largest vocabulary (special ids included) a [`CharTokenizer`] may have.
pub const MAX_CHAR_VOCAB: usize = 64;
/// What an unknown id (1) decodes to: U+FFFD, the Unicode replacement character.
const UNK_CHAR: char = '\u{FFFD}';

/// One id per character: id 0 is EOS, id 1 is "unknown character", ids 2.. are the
/// alphabet in order.
///
/// Encoding never fails: a character outside the alphabet becomes id 1, which decodes
/// to U+FFFD. Decoding skips EOS. There is no BOS and no chat format.
#[derive(Debug, Clone)]
pub struct CharTokenizer {
    alphabet: Vec<char>,
    index: HashMap<char, u32>,
    eos: [u32; 1],
}

impl CharTokenizer {
    /// The built-in tokenizer over [`ARITHMETIC_ALPHABET`] (64 ids).
    pub fn arithmetic() -> CharTokenizer {
        // Invariant: ARITHMETIC_ALPHABET has 62 distinct characters (a unit test checks).
        CharTokenizer::new(ARITHMETIC_ALPHABET).expect("built-in alphabet is valid")
    }

    /// A tokenizer over the characters of `alphabet`, in order (ids 2, 3, …).
    ///
    /// Fails when the alphabet is empty, repeats a character, or with the two special
    /// ids makes more than [`MAX_CHAR_VOCAB`] ids.
    pub fn new(alphabet: &str) -> Result<CharTokenizer, TokenizerError> {
        let chars: Vec<char> = alphabet.chars().collect();
        if chars.is_empty() {
            return Err(TokenizerError::InvalidAlphabet {
                reason: "alphabet is empty".into(),
            });
        }
        if chars.len() + N_SPECIAL > MAX_CHAR_VOCAB {
            return Err(TokenizerError::InvalidAlphabet {
                reason: format!(
                    "{} characters + {N_SPECIAL} special ids exceed {MAX_CHAR_VOCAB}",
                    chars.len()
                ),
            });
        }
        let mut index = HashMap::with_capacity(chars.len());
        for (i, &c) in chars.iter().enumerate() {
            if index.insert(c, (i + N_SPECIAL) as u32).is_some() {
                return Err(TokenizerError::InvalidAlphabet {
                    reason: format!("character {c:?} appears twice"),
                });
            }
        }
        Ok(CharTokenizer {
            alphabet: chars,
            index,
            eos: [EOS_ID],
        })
    }

    /// The id of the "unknown character" token.
    pub fn unk_id(&self) -> u32 {
        UNK_ID
    }

    /// The alphabet, in id order starting at id 2.
    pub fn alphabet(&self) -> &[char] {
        &self.alphabet
    }
}

impl Default for CharTokenizer {
    fn default() -> Self {
        CharTokenizer::arithmetic()
    }
}

impl TextTokenizer for CharTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        Ok(text
            .chars()
            .map(|c| self.index.get(&c).copied().unwrap_or(UNK_ID))
            .collect())
    }

    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let mut out = String::with_capacity(ids.len());
        for &id in ids {
            match id {
                EOS_ID => {}
                UNK_ID => out.push(UNK_CHAR),
                _ => match self.alphabet.get(id as usize - N_SPECIAL) {
                    Some(&c) => out.push(c),
                    None => {
                        return Err(TokenizerError::IdOutOfRange {
                            id,
                            vocab_size: self.vocab_size(),
                        });
                    }
                },
            }
        }
        Ok(out)
    }

    fn vocab_size(&self) -> usize {
        self.alphabet.len() + N_SPECIAL
    }

    fn eos_ids(&self) -> &[u32] {
        &self.eos
    }

    fn bos_id(&self) -> Option<u32> {
        None
    }

    fn apply_chat_template(&self, user: &str) -> String {
        user.to_string()
    }

    fn is_chat(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn built_in_alphabet_fills_the_tiny_vocabulary() {
        let tok = CharTokenizer::arithmetic();
        assert_eq!(tok.vocab_size(), 64);
        // Hand-counted from the table in ARITHMETIC_ALPHABET's docs.
        assert_eq!(tok.encode("0").unwrap(), vec![2]);
        assert_eq!(tok.encode("9 \n+").unwrap(), vec![11, 12, 13, 14]);
        assert_eq!(tok.encode(">a").unwrap(), vec![29, 30]);
        assert_eq!(tok.encode("zAS").unwrap(), vec![55, 56, 63]);
    }

    #[test]
    fn unknown_characters_map_to_unk_and_back_to_replacement_char() {
        let tok = CharTokenizer::arithmetic();
        let ids = tok.encode("x@y").unwrap();
        assert_eq!(ids[1], tok.unk_id());
        assert_eq!(tok.decode(&ids).unwrap(), "x\u{FFFD}y");
    }

    #[test]
    fn decode_skips_eos_and_rejects_out_of_range_ids() {
        let tok = CharTokenizer::arithmetic();
        assert_eq!(tok.decode(&[2, 0, 3]).unwrap(), "01");
        assert!(matches!(
            tok.decode(&[64]),
            Err(TokenizerError::IdOutOfRange {
                id: 64,
                vocab_size: 64
            })
        ));
    }

    #[test]
    fn invalid_alphabets_are_rejected() {
        assert!(CharTokenizer::new("").is_err());
        assert!(CharTokenizer::new("abca").is_err());
        let too_long: String = (0..63)
            .map(|i| char::from_u32(0x100 + i).unwrap())
            .collect();
        assert!(CharTokenizer::new(&too_long).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn round_trips_text_over_the_alphabet(
            idx in proptest::collection::vec(0usize..62, 0..40)
        ) {
            let tok = CharTokenizer::arithmetic();
            let text: String = idx.iter().map(|&i| tok.alphabet()[i]).collect();
            let ids = tok.encode(&text).unwrap();
            prop_assert_eq!(ids.len(), text.chars().count());
            prop_assert!(ids.iter().all(|&id| (id as usize) < tok.vocab_size() && id > 1));
            prop_assert_eq!(tok.decode(&ids).unwrap(), text);
        }
    }
}
