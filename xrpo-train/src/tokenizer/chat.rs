//! Single-turn chat formats, recognised from a model's Jinja chat template.
//!
//! We do not run Jinja: a template is recognised by its markers (ChatML's
//! `<|im_start|>`, Llama 3's `<|start_header_id|>`) and its default system prompt is
//! read from the first string literal that spells a system turn. That covers
//! SmolLM2, Qwen2/Qwen2.5 and Llama 3 instruct models; anything else is reported as
//! unrecognised and the model is used without a chat format.

/// How one user message is wrapped for the model, ending with the assistant prompt.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ChatTemplate {
    /// No chat format: the user text is the prompt.
    #[default]
    Plain,
    /// ChatML (`<|im_start|>role\n…<|im_end|>\n`), used by SmolLM2 and Qwen2.
    ChatMl {
        /// The default system message the template inserts, if it inserts one.
        system: Option<String>,
    },
    /// Llama 3 headers (`<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>`);
    /// the BOS token is not included (see `TextTokenizer::bos_id`).
    Llama3 {
        /// The default system message the template inserts, if it inserts one.
        system: Option<String>,
    },
}

/// ChatML turn opener.
const IM_START: &str = "<|im_start|>";
/// ChatML turn closer.
const IM_END: &str = "<|im_end|>";
/// Llama 3 header opener.
const HEADER_START: &str = "<|start_header_id|>";
/// Llama 3 header closer.
const HEADER_END: &str = "<|end_header_id|>";
/// Llama 3 turn closer.
const EOT: &str = "<|eot_id|>";

impl ChatTemplate {
    /// Recognises a Jinja chat template; `None` when it is neither ChatML nor Llama 3.
    pub fn detect(jinja: &str) -> Option<ChatTemplate> {
        if jinja.contains(IM_START) {
            let opener = format!("{IM_START}system");
            Some(ChatTemplate::ChatMl {
                system: literal_system(jinja, &opener, IM_END),
            })
        } else if jinja.contains(HEADER_START) {
            let opener = format!("{HEADER_START}system{HEADER_END}");
            Some(ChatTemplate::Llama3 {
                system: literal_system(jinja, &opener, EOT),
            })
        } else {
            None
        }
    }

    /// Whether the template changes text.
    pub fn is_chat(&self) -> bool {
        !matches!(self, ChatTemplate::Plain)
    }

    /// `user` as a single-turn conversation, ending with the assistant's turn opener.
    pub fn apply(&self, user: &str) -> String {
        match self {
            ChatTemplate::Plain => user.to_string(),
            ChatTemplate::ChatMl { system } => {
                let mut s = String::new();
                if let Some(sys) = system {
                    s.push_str(&format!("{IM_START}system\n{sys}{IM_END}\n"));
                }
                s.push_str(&format!(
                    "{IM_START}user\n{user}{IM_END}\n{IM_START}assistant\n"
                ));
                s
            }
            ChatTemplate::Llama3 { system } => {
                let mut s = String::new();
                if let Some(sys) = system {
                    s.push_str(&format!("{HEADER_START}system{HEADER_END}\n\n{sys}{EOT}"));
                }
                s.push_str(&format!(
                    "{HEADER_START}user{HEADER_END}\n\n{user}{EOT}{HEADER_START}assistant{HEADER_END}\n\n"
                ));
                s
            }
        }
    }
}

/// The first system message written as a plain string literal after `opener` and
/// closed by `closer`, e.g. `'<|im_start|>system\nYou are …<|im_end|>\n'`. Jinja's `\n`
/// escapes are unescaped; a message built from variables (`' + messages[0]… + '`) is
/// skipped.
fn literal_system(jinja: &str, opener: &str, closer: &str) -> Option<String> {
    let mut rest = jinja;
    while let Some(at) = rest.find(opener) {
        let after = &rest[at + opener.len()..];
        rest = after;
        // The role line ends with a newline (ChatML) or two (Llama 3), written either
        // as a Jinja escape or as a raw newline.
        let mut body = after;
        loop {
            if let Some(b) = body.strip_prefix("\\n") {
                body = b;
            } else if let Some(b) = body.strip_prefix('\n') {
                body = b;
            } else {
                break;
            }
        }
        let Some(end) = body.find(closer) else {
            continue;
        };
        let raw = &body[..end];
        if raw.is_empty() || raw.contains(['\'', '"', '{', '}', '+', '~']) {
            continue;
        }
        return Some(raw.replace("\\n", "\n"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_with_default_system_prompt() {
        // Shape of SmolLM2's template (the system turn as a Jinja literal).
        let jinja = r"{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
        let t = ChatTemplate::detect(jinja).unwrap();
        assert_eq!(
            t.apply("Hi"),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn dynamic_system_turn_is_skipped_for_the_literal_default() {
        // Shape of Qwen2.5's template: first the caller's system message, later the default.
        let jinja = r"{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}{%- else %}{{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}{%- endif %}";
        assert_eq!(
            ChatTemplate::detect(jinja),
            Some(ChatTemplate::ChatMl {
                system: Some(
                    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.".into()
                )
            })
        );
    }

    #[test]
    fn chatml_without_system_and_llama3_and_unknown() {
        let t = ChatTemplate::detect("{{'<|im_start|>' + m['role'] + '\\n'}}").unwrap();
        assert_eq!(
            t.apply("x"),
            "<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n"
        );
        let l =
            ChatTemplate::detect("{{ '<|start_header_id|>' + role + '<|end_header_id|>\\n\\n' }}")
                .unwrap();
        assert_eq!(
            l.apply("x"),
            "<|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        );
        assert_eq!(ChatTemplate::detect("{{ messages }}"), None);
        assert_eq!(ChatTemplate::Plain.apply("x"), "x");
        assert!(!ChatTemplate::Plain.is_chat());
    }
}
