"""One process of test_trl_multiproc.py, started by ``accelerate launch --num_processes 2
--cpu``: trains XRPOTrainer for 2 steps with a tiny random Llama (gloo, no downloads),
saves a checkpoint, resumes it in a fresh trainer for one more step, and writes what it
saw to ``<out>/rank{r}.json`` for the test to check. Not a test module itself.

    accelerate launch --num_processes 2 --cpu python/tests/trl_multiproc_worker.py OUT
"""

import json
import os
import sys

import numpy as np
import torch

import xrpo
from test_trl import tiny_model, tiny_tokenizer
from xrpo.trl import XRPOConfig, XRPOTrainer, xrpo_state_file

PROMPTS = 8  # distinct prompts; 4 per process per step with 2 processes


def dataset():
    from datasets import Dataset

    rows = []
    for i in range(PROMPTS):
        hard = i % 2 == 1
        op = "#" if hard else "+"
        rows.append({"prompt": f"What is {i} {op} {i + 2}? Answer:", "num": i, "hard": hard})
    return Dataset.from_list(rows * 4)


def rank_reward(prompts, completions, hard, num, **kwargs):
    """A deterministic function of the completion and its prompt's number: the
    completion's length parity (0 for hard prompts, never solved) plus num / 1000, so a
    reward that belongs to another process's row (other prompts) is caught."""
    return [(0.0 if h else float(len(c) % 2)) + k / 1000 for c, h, k in zip(completions, hard, num)]


def config(out, **kw):
    base = dict(output_dir=out, per_device_train_batch_size=16, num_generations=4, max_completion_length=6,
                max_steps=2, logging_steps=1, save_steps=2, use_cpu=True, report_to="none", learning_rate=1e-3,
                beta=0.0, seed=0, bf16=False, temperature=1.0, dataloader_num_workers=0, shuffle_dataset=False)
    base.update(kw)
    return XRPOConfig(**base)


def seeder():
    s = xrpo.ExemplarSeeder(k=1, similarity_threshold=0.05)
    s.record("c1", "What is 2 # 3? Answer:", "2 # 3 = 7", curated=True, source="test")
    return s


def cpu_resume_workaround():
    """transformers 5.10 resumes the optimizer with ``map_location=args.device``, which is
    ``cpu:0`` under accelerate's multi-CPU (gloo) state, and torch cannot map storages to
    an indexed CPU device. Only CPU multi-process runs hit it (GPU devices are indexed
    legitimately), so the test maps ``cpu:N`` to ``cpu`` here rather than in xrpo."""
    orig = torch.load

    def load(*args, map_location=None, **kwargs):
        if isinstance(map_location, torch.device) and map_location.type == "cpu":
            map_location = "cpu"
        return orig(*args, map_location=map_location, **kwargs)

    torch.load = load


def spy_steps(trainer, steps):
    """Records what every training step's batch assembly produced into ``steps``."""
    orig = trainer._generate_and_score_completions

    def spy(inputs):
        output = orig(inputs)
        if trainer.model.training:
            last = trainer._xrpo_last
            steps.append({
                "phase_sizes": last["phase_sizes"],
                "counts": last["counts"].tolist(),
                "seeded": last["seeded"],
                "groups": last["groups"].tolist(),
                "rewards": last["rewards"].tolist(),
                "completions": last["completions"],
                "nums": [r["num"] for r in last["rows"]],
                "hard": [r["hard"] for r in last["rows"]],
                "advantages": output["advantages"].tolist(),
                "rows": int(output["completion_ids"].shape[0]),
            })
        return output

    trainer._generate_and_score_completions = spy


def main(out):
    torch.set_num_threads(1)
    cpu_resume_workaround()
    tok = tiny_tokenizer()
    trainer = XRPOTrainer(model=tiny_model(tok), reward_funcs=rank_reward, args=config(out), train_dataset=dataset(),
                          processing_class=tok, seeder=seeder())
    rank = trainer.accelerator.process_index
    steps = []
    spy_steps(trainer, steps)
    result = trainer.train()
    ckpt = os.path.join(out, "checkpoint-2")
    with open(os.path.join(ckpt, xrpo_state_file(rank))) as f:
        saved = json.load(f)

    # The resumed step scales by the batch std (TRL: over every process's rows).
    fresh = XRPOTrainer(model=tiny_model(tok), reward_funcs=rank_reward,
                        args=config(out, max_steps=3, scale_rewards="batch"),
                        train_dataset=dataset(), processing_class=tok, seeder=seeder())
    resumed_steps = []
    spy_steps(fresh, resumed_steps)
    restored = {}
    orig_load = fresh.load_xrpo_state

    def spy_load(state):
        orig_load(state)
        restored.update(allocator=fresh.xrpo_allocator.state(), seeder=fresh.xrpo_seeder.state())

    fresh.load_xrpo_state = spy_load
    fresh.train(resume_from_checkpoint=ckpt)
    report = {
        "rank": rank,
        "num_processes": trainer.accelerator.num_processes,
        "loss": result.training_loss,
        "steps": steps,
        "log_history": trainer.state.log_history,
        "saved": saved,
        "bank": trainer.xrpo_seeder.state(),
        "restored": restored,
        "resumed_steps": resumed_steps,
        "after_resume_steps": fresh.xrpo_allocator.state()["completed_steps"],
        "after_resume_bank": len(fresh.xrpo_seeder),
    }
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump(report, f, default=lambda o: o.item() if isinstance(o, np.generic) else str(o))


if __name__ == "__main__":
    main(sys.argv[1])
