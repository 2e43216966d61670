"""Benchmarks of the Python bindings (figures go to BENCHMARKS.md).

    python python/benches/bench.py [--cli target/release/xrpo] [--trl]

1. verify_batch of 10k math answers vs the `xrpo verify` CLI on the same input
   (build the CLI first, candle-free: cargo build --release -p xrpo-cli --no-default-features);
   the CLI time is the whole process (read JSON lines, verify in parallel, write), the
   Python time is the verify_batch call alone, both best of 3.
2. xrpo.advantages for 1M responses (groups of 16) from numpy, side by side with a numpy
   GRPO baseline: median of 7, wall and CPU time, all cores and one thread.
3. XrpoAllocator.allocate of 16x1024 rollouts over 1024 prompts: one phase's call with
   per-prompt statistics as a (counts, means, stds) tuple and as a [1024, 4] array.
4. With --trl: the XRPO overhead inside TRL steps (tiny random Llama on CPU), as the
   median per-step share of the step spent in allocation, seeding, regrouping and
   sharpening (`time/xrpo_overhead`, with the sharpening forward pass shown apart), plus
   the median step time of XRPO vs plain GRPO with the same model (9 steps after one
   warm-up step each).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

import numpy as np

import xrpo


def best(f, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def math_items(n, seed=0):
    rng = random.Random(seed)
    styles = [
        "Let me think. {a} + {b} = {s}. The final answer is $\\boxed{{{s}}}$.",
        "We compute {a}/{b}, so the answer is \\frac{{{a}}}{{{b}}}.",
        "Step 1: add.\nStep 2: done.\n#### {s}",
        "The answer is {s}.",
        "I am not sure, maybe {a} times {b}.",
    ]
    responses, golds = [], []
    for _ in range(n):
        a, b = rng.randint(1, 999), rng.randint(1, 99)
        s = a + b + (0 if rng.random() < 0.6 else rng.randint(1, 5))
        responses.append(rng.choice(styles).format(a=a, b=b, s=s))
        golds.append(rng.choice([str(a + b), f"${a + b}$", f"\\boxed{{{a + b}}}"]))
    return responses, golds


def bench_verify(cli, n=10_000):
    responses, golds = math_items(n)
    m = xrpo.MathVerifier()
    m.verify_batch(responses[:100], golds[:100])  # warm up
    t_py = best(lambda: m.verify_batch(responses, golds), 3)
    out = {"n": n, "python_s": t_py, "python_per_s": n / t_py}
    if cli and os.path.exists(cli):
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            for r, g in zip(responses, golds):
                f.write(json.dumps({"response": r, "answer": g}) + "\n")
            path = f.name

        def run_cli():
            subprocess.run([cli, "verify", "--input", path, "--output", os.devnull], check=True)

        t_cli = best(run_cli, 3)
        os.unlink(path)
        out.update(cli_s=t_cli, cli_per_s=n / t_cli, ratio=(n / t_py) / (n / t_cli))
        # Same verdicts?
        py = [v.correct for v in m.verify_batch(responses[:500], golds[:500])]
        proc = subprocess.run([cli, "verify"], input="\n".join(json.dumps({"response": r, "answer": g})
                              for r, g in zip(responses[:500], golds[:500])), capture_output=True, text=True, check=True)
        cl = [json.loads(line)["correct"] for line in proc.stdout.splitlines() if line.strip()]
        out["same_verdicts"] = py == cl
    return out


def median_times(f, repeat):
    """(median wall ms, median CPU ms of this thread): the CPU time shows the work of a
    one-thread call even when the box is shared; threaded calls' work is off this thread."""
    walls, cpus = [], []
    for _ in range(repeat):
        c0, t0 = time.thread_time(), time.perf_counter()
        f()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.thread_time() - c0)
    return float(np.median(walls)) * 1e3, float(np.median(cpus)) * 1e3


def bench_advantages(n=1_000_000, g=16, repeat=7):
    """xrpo.advantages side by side with a numpy GRPO baseline (grouped mean, Bessel std,
    normalise: the least a numpy user would run) in the same process, median of `repeat`."""
    rng = np.random.default_rng(0)
    rewards = rng.integers(0, 2, n).astype(np.float32)
    ids = np.repeat(np.arange(n // g), g)
    seq = -rng.random(n).astype(np.float32)
    xrpo.advantages(rewards[:1000], ids[:1000])

    def numpy_grpo():
        r = rewards.reshape(-1, g)
        return ((r - r.mean(1, keepdims=True)) / (r.std(1, ddof=1, keepdims=True) + 1e-4)).ravel()

    out = {"n": n, "repeat": repeat, "loadavg": os.getloadavg()[0]}
    runs = {
        "numpy_grpo": numpy_grpo,
        "grpo": lambda: xrpo.advantages(rewards, ids),
        "grpo_1thread": lambda: xrpo.advantages(rewards, ids, threads=1),
        "xrpo": lambda: xrpo.advantages(rewards, ids, seq, estimator="xrpo"),
        "xrpo_1thread": lambda: xrpo.advantages(rewards, ids, seq, estimator="xrpo", threads=1),
    }
    for name, f in runs.items():
        wall, cpu = median_times(f, repeat)
        out[f"{name}_ms"] = wall
        out[f"{name}_cpu_ms"] = cpu
    shuffled = rng.permutation(n)
    r_s, ids_s = rewards[shuffled], ids[shuffled]
    out["grpo_shuffled_ids_ms"] = median_times(lambda: xrpo.advantages(r_s, ids_s), 3)[0]
    return out


def bench_allocate(prompts=1024, n_fixed=16):
    rng = np.random.default_rng(0)
    a = xrpo.XrpoAllocator(n_fixed=n_fixed)
    plan = a.plan(prompts)
    r = (rng.random((prompts, plan["n_base"])) < rng.random((prompts, 1))).astype(np.float64)
    moments = (np.full(prompts, plan["n_base"]), r.mean(1), r.std(1, ddof=1))
    budget = plan["phase_budgets"][1]
    t_m = best(lambda: a.allocate(moments, budget), 20)
    t_r = best(lambda: a.allocate(r, budget), 20)

    def step():
        xrpo.run_step(a, prompts, lambda p, c: [[1.0 if i % 2 else 0.0 for i in range(k)] for k in c])

    t_step = best(step, 3)
    return {"prompts": prompts, "rollouts": prompts * n_fixed, "phase_budget": budget,
            "allocate_moments_ms": t_m * 1e3, "allocate_rewards_ms": t_r * 1e3, "run_step_ms": t_step * 1e3}


def bench_trl(steps=10):
    """XRPO vs plain GRPO (XRPO's switches off) in TRL with test_trl.py's tiny model. A step's
    time is the wall time between consecutive `on_step_end` callbacks (generation, scoring
    and the update; TRL's own `step_time` metric is not a whole step). Per step: XRPO's own
    work (`time/xrpo_overhead`) and its share of the step, with the sharpening forward pass
    inside it shown apart. Medians over the steps after the first (warm-up)."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
    import test_trl as T  # reuse the test's tiny model, tokenizer and data
    from transformers import TrainerCallback

    from xrpo.trl import XRPOTrainer

    class StepClock(TrainerCallback):
        def __init__(self):
            self.ends = []

        def on_train_begin(self, args, state, control, **kw):
            self.ends.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kw):
            self.ends.append(time.perf_counter())

    out = {}
    for name, kw in (("xrpo", {}), ("grpo", dict(xrpo_allocation=False, xrpo_seeding=False, xrpo_sharpening=False))):
        with tempfile.TemporaryDirectory() as d:
            tok = T.tiny_tokenizer()
            args = T.config(d, max_steps=steps, save_steps=1000, **kw)
            clock = StepClock()
            tr = XRPOTrainer(model=T.tiny_model(tok), reward_funcs=[T.toy_reward, xrpo.trl.math_reward], args=args,
                             train_dataset=T.dataset(), processing_class=tok, callbacks=[clock])
            tr.train()
            st = np.diff(clock.ends)[1:]
            logs = [h for h in tr.state.log_history if "time/xrpo_overhead" in h][1:]
            over = np.array([h["time/xrpo_overhead"] for h in logs])
            lp = np.array([h.get("time/xrpo_sharpen_logp_pass", 0.0) for h in logs])
            out[name] = {"steps_measured": len(st), "step_median_s": float(np.median(st)),
                         "xrpo_overhead_median_s": float(np.median(over)),
                         "overhead_share_median": float(np.median(over / st)),
                         "sharpen_logp_pass_median_s": float(np.median(lp)),
                         "per_step_s": [[round(float(a), 4), round(float(b), 4)] for a, b in zip(st, over)]}
    out["xrpo_vs_grpo_step_time"] = out["xrpo"]["step_median_s"] / out["grpo"]["step_median_s"]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="target/release/xrpo")
    ap.add_argument("--trl", action="store_true")
    ap.add_argument("--only", choices=["verify", "advantages", "allocate"], help="run one part")
    a = ap.parse_args()
    parts = {"verify": lambda: bench_verify(a.cli), "advantages": bench_advantages, "allocate": bench_allocate}
    res = {k: f() for k, f in parts.items() if a.only in (None, k)}
    if a.trl:
        res["trl"] = bench_trl()
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
