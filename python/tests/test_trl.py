"""xrpo.trl with the real TRL package: reward functions, GRPO equivalence with XRPO off,
and a 3-step end-to-end XRPO run on CPU with a random-initialised Llama (no downloads)."""

import json
import os

import numpy as np
import pytest

from conftest import need, tiny_tokenizer

need("trl")
need("torch")

import torch  # noqa: E402

import xrpo  # noqa: E402
from xrpo.trl import XRPO_STATE_FILE, XRPOConfig, XRPOTrainer, code_reward, math_reward, xrpo_state_file  # noqa: E402


def tiny_model(tokenizer, seed=0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                      bos_token_id=tokenizer.eos_token_id)
    return LlamaForCausalLM(cfg)


def dataset():
    from datasets import Dataset

    rows = [
        {"prompt": "What is 2 + 3? Answer:", "answer": "5", "hard": False},
        {"prompt": "What is 4 + 4? Answer:", "answer": "8", "hard": False},
        {"prompt": "What is 7 # 8? Answer:", "answer": "57", "hard": True},
        {"prompt": "What is 6 # 9? Answer:", "answer": "55", "hard": True},
    ]
    return Dataset.from_list(rows * 4)


def toy_reward(prompts, completions, hard, **kwargs):
    """Hard prompts are never solved; easy ones by a coin the random model flips."""
    return [0.0 if h else float(len(c) % 2) for c, h in zip(completions, hard)]


def config(tmp_path, **kw):
    base = dict(output_dir=str(tmp_path), per_device_train_batch_size=16, num_generations=4,
                max_completion_length=6, max_steps=3, logging_steps=1, save_steps=3, use_cpu=True,
                report_to="none", learning_rate=1e-3, beta=0.0, seed=0, bf16=False, temperature=1.0,
                dataloader_num_workers=0, shuffle_dataset=False)
    base.update(kw)
    return XRPOConfig(**base)


def test_reward_functions_have_trl_signature():
    conv = [[{"role": "assistant", "content": "so $\\boxed{12}$"}], [{"role": "assistant", "content": "13"}]]
    assert math_reward(prompts=["a", "b"], completions=conv, answer=["12", "12"], trainer_state=None) == [1.0, 0.0]
    assert math_reward(prompts=["a"], completions=["#### 1"], answer=["\\frac{1"]) == [None]
    with pytest.raises(ValueError, match="answer"):
        math_reward(prompts=["a"], completions=["1"])
    try:
        out = code_reward(prompts=["p"], completions=["```python\nprint(1)\n```"],
                          tests=[json.dumps({"stdio": [{"input": "", "output": "1\n"}]})])
    except xrpo.VerificationError as e:
        pytest.skip(f"no sandbox: {e}")
    assert out == [1.0]


def test_with_xrpo_off_advantages_equal_grpo_trainer(tmp_path):
    tok = tiny_tokenizer()
    args = config(tmp_path, xrpo_allocation=False, xrpo_seeding=False, xrpo_sharpening=False)
    trainer = XRPOTrainer(model=tiny_model(tok), reward_funcs=[toy_reward, math_reward], args=args,
                          train_dataset=dataset(), processing_class=tok)
    trainer.model.train()
    rows = dataset().to_list()[:4]
    batch = [dict(r) for r in rows for _ in range(4)]
    out = trainer._generate_and_score_completions(batch)
    ours = out["advantages"]
    trl = trainer._xrpo_trl_advantages  # computed by GRPOTrainer's own code on the same batch
    assert ours.shape == trl.shape == (16,)
    assert torch.count_nonzero(trl) > 0
    assert torch.max(torch.abs(ours - trl)).item() <= 1e-6 * max(1.0, torch.max(torch.abs(trl)).item())
    assert trainer._xrpo_last["counts"].tolist() == [4, 4, 4, 4]


def test_three_xrpo_steps_end_to_end(tmp_path):
    tok = tiny_tokenizer()
    seeder = xrpo.ExemplarSeeder(k=1, similarity_threshold=0.05)
    seeder.record("c1", "What is 2 # 3? Answer:", "2 # 3 = 7", curated=True, source="test")
    trainer = XRPOTrainer(model=tiny_model(tok), reward_funcs=[toy_reward, math_reward], args=config(tmp_path),
                          train_dataset=dataset(), processing_class=tok, seeder=seeder)
    seen_counts, seeded = [], []
    orig = trainer._generate_and_score_completions

    last_adv = []

    def spy(inputs):
        out = orig(inputs)
        if trainer.model.training:
            seen_counts.append(trainer._xrpo_last["counts"].tolist())
            seeded.append(sum(trainer._xrpo_last["seeded"]))
            last_adv[:] = out["advantages"].tolist()
        return out

    trainer._generate_and_score_completions = spy
    result = trainer.train()
    assert np.isfinite(result.training_loss)
    assert len(seen_counts) == 3
    assert all(sum(c) == 16 for c in seen_counts)  # TRL's budget kept
    assert any(len(set(c)) > 1 for c in seen_counts), seen_counts  # counts differ per prompt
    assert sum(seeded) >= 1
    # TRL's completions table logs our advantages (unequal groups), not its own.
    assert list(trainer._logs["advantages"])[-16:] == pytest.approx(last_adv)
    logged = {k for h in trainer.state.log_history for k in h}
    for key in ("loss", "reward", "alloc/rollouts_per_prompt_max", "seed/seeded_prompts", "seed/bank_size",
                "advantage/novelty_bonus_mean", "frac_reward_zero_std", "time/xrpo_overhead"):
        assert key in logged, key
    ckpt = os.path.join(tmp_path, "checkpoint-3")
    with open(os.path.join(ckpt, xrpo_state_file(0))) as f:
        state = json.load(f)
    assert state["allocator"]["completed_steps"] == 3
    assert state["rank"] == 0 and state["num_processes"] == 1
    # A fresh trainer resumes allocator and bank from the checkpoint (TRL's resume path)
    # and continues: one more step on top of the three restored ones.
    fresh = XRPOTrainer(model=tiny_model(tok), reward_funcs=[toy_reward, math_reward],
                        args=config(tmp_path, max_steps=4), train_dataset=dataset(), processing_class=tok)
    assert len(fresh.xrpo_seeder) == 0
    restored = {}
    orig_load = fresh.load_xrpo_state

    def spy_load(st):
        orig_load(st)
        restored.update(steps=fresh.xrpo_allocator.state()["completed_steps"], bank=fresh.xrpo_seeder.state())

    fresh.load_xrpo_state = spy_load
    fresh.train(resume_from_checkpoint=ckpt)
    assert restored["steps"] == 3
    assert restored["bank"] == trainer.xrpo_seeder.state()
    assert fresh.xrpo_allocator.state()["completed_steps"] == 4
    assert len(fresh.xrpo_seeder) >= len(trainer.xrpo_seeder) >= 1
    # Which file a process restores: its rank's; else a single-file checkpoint of earlier
    # versions; else none.
    assert fresh._xrpo_state_path(ckpt) == os.path.join(ckpt, xrpo_state_file(0))
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    assert fresh._xrpo_state_path(str(legacy)) is None
    (legacy / XRPO_STATE_FILE).write_text(json.dumps(state))
    assert fresh._xrpo_state_path(str(legacy)) == str(legacy / XRPO_STATE_FILE)
