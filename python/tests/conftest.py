"""Shared test helpers. The native module must be installed (`pip install ./python` or
`maturin develop`); TRL/verl/torch tests skip with a reason when those are absent."""

import importlib.util

import pytest


def need(module: str) -> None:
    """Skip the calling test when `module` is not installed."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install ./python[trl,verl])", allow_module_level=True)


def tiny_tokenizer():
    """A byte-level BPE tokenizer trained here on arithmetic text (offline)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [f"What is {a} + {b}? Answer: {a + b} #### {a + b}" for a in range(20) for b in range(20)]
    corpus += [f"What is {a} # {b}? {a} # {b} = {a * b + 1}" for a in range(10) for b in range(10)]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=["<pad>", "<eos>", "<unk>"],
                                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")
