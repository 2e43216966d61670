"""XRPO as a drop-in for TRL's ``GRPOTrainer`` (tested against trl==1.16.*).

- :func:`math_reward` / :func:`code_reward`: TRL reward functions backed by the Rust
  verifiers (usable with plain ``GRPOTrainer`` too).
- :class:`XRPOConfig` / :class:`XRPOTrainer`: each training step keeps TRL's generation
  budget (the local generation batch: ``num_generations`` rows per prompt) but spends it
  in XRPO's phases: ``n_base`` rollouts per prompt, then the rest by the Rust allocator's
  priorities; prompts whose rollouts so far are all wrong are seeded with solved exemplars
  for later phases; correct responses' advantages are sharpened by novelty; groups of
  unequal size flow through advantages, loss and logging.

Which context the gradient uses (spec §2). By default (``xrpo_seed_context="plain"``) a
seeded rollout is *trained and scored* on the plain prompt: its ``prompt_ids`` in the
training batch are the plain prompt's, so TRL's π_old, the importance ratio and the
sharpening score s(y) are all computed on the plain context (off-policy with respect to
the seeded sampling context, by design). ``"seeded"`` keeps the seeded prompt (on-policy).

Several processes (``accelerate launch``): each process allocates over its own prompts
(its local generation batch must hold whole groups) and pads every phase to the phase
budget, so all processes generate the same number of rows per phase (TRL gathers
rewards with equal-size collectives); solved exemplars are shared across processes
after every phase, so every process's bank holds the whole step's solves; metrics are
reduced over processes; each process checkpoints its own allocator and bank
(``xrpo_state_rank{r}.json``). Tested with 2 CPU processes (python/tests/test_trl_multiproc.py).

Limits: generation runs through TRL's own ``_generate`` once per phase (transformers
``generate`` or colocated vLLM; vLLM *server* mode asks for ``num_generations`` per prompt
and is refused); a user ``rollout_func`` is not supported.

>>> import xrpo.trl
>>> xrpo.trl.math_reward(prompts=["p", "p"], completions=["#### 4", "#### 5"], answer=["4", "4"])
[1.0, 0.0]
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import xrpo

_MATH: xrpo.MathVerifier | None = None
_CODE: xrpo.CodeVerifier | None = None


def _text(completion: Any) -> str:
    """A completion's text: a string, or the last message's content of a conversation."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        content = completion[-1].get("content", "")
        if isinstance(content, list):
            return "".join(c.get("text", "") for c in content if isinstance(c, dict))
        return str(content)
    return str(completion)


def math_reward(prompts: list, completions: list, answer: list | None = None, **kwargs: Any) -> list[float | None]:
    """TRL reward function: 1.0 when the completion's final answer equals the row's
    ``answer`` column, 0.0 when not, ``None`` (TRL: no reward, left out of the baseline)
    when the gold answer cannot be parsed. Verified in parallel in Rust.

    >>> math_reward(prompts=["q"], completions=[[{"role": "assistant", "content": "$\\\\boxed{7}$"}]], answer=["7"])
    [1.0]
    """
    global _MATH
    if answer is None:
        raise ValueError("answer: math_reward reads the dataset's 'answer' column, which is missing")
    if _MATH is None:
        _MATH = xrpo.MathVerifier()
    verdicts = _MATH.verify_batch([_text(c) for c in completions], [str(a) for a in answer])
    return [v.score for v in verdicts]


def code_reward(prompts: list, completions: list, tests: list | None = None, **kwargs: Any) -> list[float | None]:
    """TRL reward function for Python code: runs the completion's last fenced python block
    in xrpo's sandbox against the row's ``tests`` column (a dict or JSON:
    ``{"stdio": [{"input", "output"}]}`` or ``{"tests", "entry_point"[, "prefix"]}``).

    >>> code_reward(prompts=["q"], completions=["```python\\nprint(int(input()) * 2)\\n```"],
    ...             tests=[{"stdio": [{"input": "4\\n", "output": "8\\n"}]}])
    [1.0]
    """
    global _CODE
    if tests is None:
        raise ValueError("tests: code_reward reads the dataset's 'tests' column, which is missing")
    if _CODE is None:
        _CODE = xrpo.CodeVerifier(min_isolation="rlimits")
    verdicts = _CODE.verify_batch([_text(c) for c in completions], list(tests))
    return [v.score for v in verdicts]


def _prompt_text(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    for m in reversed(prompt):
        if m.get("role") == "user":
            return _text([m])
    return _text(prompt)


def _with_text(prompt: Any, text: str) -> Any:
    """`prompt` with its (last user) text replaced by `text`."""
    if isinstance(prompt, str):
        return text
    out = [dict(m) for m in prompt]
    for m in reversed(out):
        if m.get("role") == "user":
            m["content"] = text
            break
    return out


def _lazy_trl():
    import torch  # noqa: F401
    from trl import GRPOConfig, GRPOTrainer

    return GRPOConfig, GRPOTrainer


try:  # TRL is optional: the reward functions above work without it.
    from trl import GRPOConfig as _GRPOConfig
    from trl import GRPOTrainer as _GRPOTrainer

    _HAVE_TRL = True
except ImportError:  # pragma: no cover - exercised only without trl
    _HAVE_TRL = False
    _GRPOConfig = object  # type: ignore[misc,assignment]
    _GRPOTrainer = object  # type: ignore[misc,assignment]


@dataclass
class XRPOConfig(_GRPOConfig):  # type: ignore[misc,valid-type]
    """``GRPOConfig`` plus XRPO's switches (all on by default).

    ``xrpo_allocation``: phased allocation by the Rust ``XrpoAllocator`` (off: GRPO's fixed
    ``num_generations`` per prompt). ``xrpo_phases``, ``xrpo_n_base`` (default
    ``max(2, num_generations // 4)``), ``xrpo_n_max``, ``xrpo_alpha``, ``xrpo_lambda``:
    the allocator's parameters. ``xrpo_seeding``: seed all-wrong prompts with solved
    exemplars; ``xrpo_seed_k``, ``xrpo_seed_threshold``; ``xrpo_seed_context``:
    ``"plain"`` (default, spec §2) or ``"seeded"`` (on-policy). ``xrpo_sharpening``:
    novelty sharpening with ``xrpo_lambda_novelty``, ``xrpo_kappa_clip``.
    ``xrpo_correct_threshold``: a summed reward at or above it counts as a solve (for the
    exemplar bank and the all-wrong test). ``xrpo_prompt_id_column``: dataset column with a
    stable prompt id (default: a hash of the prompt text).
    """

    xrpo_allocation: bool = field(default=True, metadata={"help": "Phased XRPO allocation."})
    xrpo_phases: int = field(default=3, metadata={"help": "Phases per step (>= 2)."})
    xrpo_n_base: int | None = field(default=None, metadata={"help": "Phase-1 rollouts per prompt."})
    xrpo_n_max: int | None = field(default=None, metadata={"help": "Cap on one prompt's rollouts per step."})
    xrpo_alpha: float = field(default=0.05, metadata={"help": "t-interval significance."})
    xrpo_lambda: float = field(default=0.05, metadata={"help": "Exploration bonus weight."})
    xrpo_seeding: bool = field(default=True, metadata={"help": "In-context seeding of all-wrong prompts."})
    xrpo_seed_k: int = field(default=2, metadata={"help": "Exemplars per seeded prompt."})
    xrpo_seed_threshold: float = field(default=0.1, metadata={"help": "Minimum exemplar similarity."})
    xrpo_seed_context: str = field(default="plain", metadata={"help": "'plain' or 'seeded'."})
    xrpo_sharpening: bool = field(default=True, metadata={"help": "Novelty sharpening of correct answers."})
    xrpo_lambda_novelty: float = field(default=2.5, metadata={"help": "Novelty bonus scale."})
    xrpo_kappa_clip: float = field(default=0.5, metadata={"help": "Bonus cap as a fraction of A."})
    xrpo_correct_threshold: float = field(default=1.0, metadata={"help": "Reward counted as a solve."})
    xrpo_prompt_id_column: str | None = field(default=None, metadata={"help": "Column with prompt ids."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.xrpo_seed_context not in ("plain", "seeded"):
            raise ValueError(f"xrpo_seed_context: {self.xrpo_seed_context!r} is not 'plain' or 'seeded'")
        if self.xrpo_allocation and self.xrpo_phases < 2:
            raise ValueError("xrpo_phases: must be at least 2 with xrpo_allocation")


XRPO_STATE_FILE = "xrpo_state.json"  # single-file checkpoints written before per-rank files


def xrpo_state_file(rank: int) -> str:
    """Name of process ``rank``'s allocator/bank state file inside a checkpoint folder."""
    return f"xrpo_state_rank{rank}.json"


class XRPOTrainer(_GRPOTrainer):  # type: ignore[misc,valid-type]
    """``GRPOTrainer`` that spends each step's generation budget in XRPO's phases.

    Extra keyword arguments: ``allocator`` (an ``xrpo.Allocator``; default built from the
    config) and ``seeder`` (an ``xrpo.ExemplarSeeder``, e.g. pre-loaded with curated
    exemplars via ``record(..., curated=True)``; default an empty bank). Their state is
    saved in every checkpoint, one file per process (``xrpo_state_rank{r}.json``), and
    restored by rank on resume.

    Logged on top of TRL's metrics: ``alloc/*`` (rollouts per prompt), ``seed/*``
    (attempts, seeded prompts and rollouts, flipped prompts, bank size),
    ``advantage/*`` (the Rust shaper's counters), ``time/xrpo_overhead`` (seconds of XRPO's
    own work in the step: allocation, seeding, regrouping, sharpening; the slowest process)
    and, inside it, ``time/xrpo_sharpen_logp_pass`` (the forward pass for the sharpening
    log-probs when TRL has no π_old in the batch).
    """

    def __init__(self, *args: Any, allocator: Any = None, seeder: Any = None, **kwargs: Any) -> None:
        if not _HAVE_TRL:
            raise ImportError("xrpo.trl.XRPOTrainer needs trl (pip install 'trl==1.16.*')")
        super().__init__(*args, **kwargs)
        a = self.args
        if self.rollout_func is not None:
            raise ValueError("rollout_func: XRPOTrainer generates its phases itself; a rollout_func is not supported")
        if self.use_vllm and getattr(a, "vllm_mode", "colocate") == "server":
            raise ValueError("vllm_mode: XRPOTrainer needs vllm_mode='colocate' (server mode asks num_generations per prompt)")
        g = self.num_generations
        xa = getattr(a, "xrpo_allocation", True)
        if allocator is None:
            if xa:
                allocator = xrpo.XrpoAllocator(
                    n_fixed=g,
                    alpha=getattr(a, "xrpo_alpha", 0.05),
                    lam=getattr(a, "xrpo_lambda", 0.05),
                    phases=getattr(a, "xrpo_phases", 3),
                    n_base=getattr(a, "xrpo_n_base", None),
                    n_max=getattr(a, "xrpo_n_max", None),
                )
            else:
                allocator = xrpo.FixedAllocator(g)
        self.xrpo_allocator = allocator
        if seeder is None:
            seeder = xrpo.ExemplarSeeder(
                k=getattr(a, "xrpo_seed_k", 2),
                similarity_threshold=getattr(a, "xrpo_seed_threshold", 0.1),
            )
        self.xrpo_seeder = seeder
        self._xrpo_cached_rewards = None
        self._xrpo_trl_advantages = None  # TRL's own advantages of the last batch (tests)

    # ---------------------------------------------------------------- rewards
    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        if self._xrpo_cached_rewards is not None:
            cached, self._xrpo_cached_rewards = self._xrpo_cached_rewards, None
            return cached
        return super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)

    # ---------------------------------------------------------------- helpers
    def _prompt_id(self, row: dict) -> str:
        col = getattr(self.args, "xrpo_prompt_id_column", None)
        if col is not None and col in row:
            return str(row[col])
        text = json.dumps(row["prompt"], sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def _solved(self, reward_row: Any) -> tuple[float, bool]:
        """(summed weighted reward or NaN, correct?) of one row of rewards_per_func."""
        import torch

        w = self.reward_weights.to(reward_row.device)
        if torch.isnan(reward_row).all():
            return float("nan"), False
        r = float((reward_row * w).nansum().item())
        return r, r >= getattr(self.args, "xrpo_correct_threshold", 1.0)

    # ---------------------------------------------------------------- the step
    def _generate_and_score_completions(self, inputs):
        import torch

        mode = "train" if self.model.training else "eval"
        if mode != "train":
            return super()._generate_and_score_completions(inputs)
        a = self.args
        g = self.num_generations
        if len(inputs) % g != 0:
            raise ValueError(f"the local generation batch ({len(inputs)} rows) must hold whole groups of {g}")
        rows = inputs[::g]
        q_count = len(rows)
        for q, row in enumerate(rows):
            if any(json.dumps(inputs[q * g + j]["prompt"], default=str) != json.dumps(row["prompt"], default=str) for j in range(g)):
                raise ValueError("inputs: expected num_generations consecutive copies of each prompt (TRL's RepeatSampler)")
        ids = [self._prompt_id(r) for r in rows]
        plain = [r["prompt"] for r in rows]
        seeded_prompt: list[Any] = [None] * q_count
        seeding = getattr(a, "xrpo_seeding", True)
        overhead = 0.0

        t0 = time.perf_counter()
        plan = self.xrpo_allocator.plan(q_count)
        budgets = plan["phase_budgets"]
        overhead += time.perf_counter() - t0

        # Per generated row: prompt index, generation prompt, prompt ids, completion ids,
        # sampling logprobs, completion text, gathered reward row.
        gen_rows: list[dict] = []
        per_prompt_rewards: list[list[float]] = [[] for _ in range(q_count)]
        solved = [False] * q_count
        seed_attempts = 0
        proc = self.accelerator.process_index
        nproc = self.accelerator.num_processes
        phase_sizes: list[int] = []
        for phase in range(len(budgets)):
            t0 = time.perf_counter()
            if phase == 0:
                counts = plan["counts"].astype(np.int64)
            else:
                stats = [np.array(r, dtype=np.float64) for r in per_prompt_rewards]
                counts = self.xrpo_allocator.allocate(stats, budgets[phase])
                short = budgets[phase] - int(counts.sum())
                for i in range(short):  # caps bound: keep every process's phase the same size
                    counts[i % q_count] += 1
                if seeding and phase < len(budgets):
                    for q in range(q_count):
                        if counts[q] > 0 and seeded_prompt[q] is None and not solved[q] and len(per_prompt_rewards[q]) > 0:
                            seed_attempts += 1
                            text = self.xrpo_seeder.seed(ids[q], _prompt_text(plain[q]))
                            if text is not None:
                                seeded_prompt[q] = _with_text(plain[q], text)
            overhead += time.perf_counter() - t0
            order = [q for q in range(q_count) for _ in range(int(counts[q]))]
            if not order:  # same on every process: the budgets depend only on q_count
                continue
            phase_sizes.append(len(order))
            gen_prompts = [seeded_prompt[q] if seeded_prompt[q] is not None else plain[q] for q in order]
            phase_inputs = [dict(rows[q]) for q in order]
            (p_ids, c_ids, tool_mask, completions, logprobs, extra, _imgs, _timgs) = self._generate(gen_prompts)
            if tool_mask is not None:
                raise ValueError("tools: XRPOTrainer does not support tool-calling rollouts")
            rpf = self._calculate_rewards(phase_inputs, gen_prompts, completions, c_ids)
            n = len(order)
            if rpf.shape[0] != n * nproc:
                raise RuntimeError(f"rewards: gathered {rpf.shape[0]} rows, expected {n} per process x {nproc}")
            local = rpf[proc * n : (proc + 1) * n]  # this process's rows (equal phase sizes)
            t0 = time.perf_counter()
            solves = []
            for i, q in enumerate(order):
                r, ok = self._solved(local[i])
                per_prompt_rewards[q].append(r)  # NaN when no reward function scored it
                if ok:
                    solved[q] = True
                    if seeding:
                        solves.append((ids[q], _prompt_text(plain[q]), _text(completions[i])))
                gen_rows.append(
                    {
                        "q": q,
                        "seeded": seeded_prompt[q] is not None,
                        "gen_prompt_ids": p_ids[i],
                        "completion_ids": c_ids[i],
                        "logprobs": None if logprobs is None else logprobs[i],
                        "reward_row": local[i],
                        "text": _text(completions[i]),
                    }
                )
            if seeding:
                self._xrpo_record(solves)
            overhead += time.perf_counter() - t0
        t0 = time.perf_counter()
        self.xrpo_allocator.finish_step()
        # Final batch, grouped by prompt. Plain-context scoring trains seeded rollouts on the
        # plain prompt's token ids.
        gen_rows.sort(key=lambda r: r["q"])
        use_seeded_ctx = getattr(a, "xrpo_seed_context", "plain") == "seeded"
        plain_ids, _, _ = self._tokenize_prompts(plain)
        final_prompt_ids = [r["gen_prompt_ids"] if (use_seeded_ctx or not r["seeded"]) else plain_ids[r["q"]] for r in gen_rows]
        final_inputs = [dict(rows[r["q"]]) for r in gen_rows]
        has_lp = all(r["logprobs"] is not None for r in gen_rows)
        local_rewards = torch.stack([r["reward_row"] for r in gen_rows])
        overhead += time.perf_counter() - t0
        self._xrpo_cached_rewards = self.accelerator.gather(local_rewards)

        def rollout(prompts, trainer):
            return {
                "prompt_ids": final_prompt_ids,
                "completion_ids": [r["completion_ids"] for r in gen_rows],
                "logprobs": [r["logprobs"] for r in gen_rows] if has_lp else None,
            }

        saved_rf = self.rollout_func
        self.rollout_func = rollout
        try:
            output = super()._generate_and_score_completions(final_inputs)
        finally:
            self.rollout_func = saved_rf
            self._xrpo_cached_rewards = None
        self._xrpo_trl_advantages = output["advantages"].detach().clone()

        # Advantages over the true (unequal) groups, with sharpening from log-probs.
        t0 = time.perf_counter()
        w = self.reward_weights.to(local_rewards.device)
        summed = (local_rewards * w).nansum(dim=1)
        summed[torch.isnan(local_rewards).all(dim=1)] = float("nan")
        group = np.array([r["q"] for r in gen_rows], dtype=np.int64)
        sharpen = getattr(a, "xrpo_sharpening", True)
        seq = None
        logp_pass = 0.0
        if sharpen:
            mask = output["completion_mask"].float()
            if "old_per_token_logps" in output:
                lp = output["old_per_token_logps"]  # π_old on the training (plain) context
            elif "sampling_per_token_logps" in output and use_seeded_ctx:
                lp = output["sampling_per_token_logps"]  # sampling context = training context
            else:  # π_old is not in the batch (one iteration per generation): one forward pass
                t_lp = time.perf_counter()
                with torch.no_grad():
                    ids_all = torch.cat([output["prompt_ids"], output["completion_ids"]], dim=1)
                    att = torch.cat([output["prompt_mask"], output["completion_mask"]], dim=1)
                    lp, _, _ = self._get_per_token_logps_and_entropies(
                        self.model, ids_all, att, output["completion_ids"].size(1), batch_size=a.per_device_train_batch_size
                    )
                logp_pass = time.perf_counter() - t_lp
            lp = torch.nan_to_num(lp.float(), nan=0.0)
            seq = ((lp * mask).sum(1) / mask.sum(1).clamp(min=1)).cpu().numpy().astype(np.float32)
        scale = self.scale_rewards if self.scale_rewards in ("group", "batch", "none") else "group"
        rewards_np = summed.cpu().float().numpy()
        adv_rows, adv_group, adv_seq = rewards_np, group, seq
        global_batch = scale == "batch" and nproc > 1
        if global_batch:
            # TRL scales by the std of the whole batch, every process's rows: shape the
            # gathered batch (every rank holds the same number of rows and prompts, so
            # rank r's rows are slice r and its group ids are offset by r · q_count), then
            # keep this process's slice. Stats are then the global ones on every rank.
            def gathered(x: np.ndarray) -> np.ndarray:
                return self.accelerator.gather(torch.from_numpy(np.ascontiguousarray(x)).to(self.accelerator.device)).cpu().numpy()

            adv_rows = gathered(rewards_np)
            adv_group = gathered(group + proc * q_count)
            adv_seq = None if seq is None else gathered(seq)
        adv, stats = xrpo.advantages(
            adv_rows,
            adv_group,
            adv_seq,
            estimator="xrpo" if sharpen else "grpo",
            scale=scale,
            lambda_novelty=getattr(a, "xrpo_lambda_novelty", 2.5),
            kappa_clip=getattr(a, "xrpo_kappa_clip", 0.5),
        )
        if global_batch:
            n_local = len(rewards_np)
            adv = np.ascontiguousarray(adv[proc * n_local : (proc + 1) * n_local])
        output["advantages"] = torch.from_numpy(adv).to(output["advantages"].device)
        overhead += time.perf_counter() - t0

        # Metrics: replace TRL's view(-1, G)-based zero-std fraction and logged advantages
        # (TRL's, over equal groups) with ours, add ours; all reduced over processes.
        m = self._metrics[mode]
        adv_all = self.accelerator.gather(output["advantages"].float()).cpu()
        n_all = adv_all.numel()
        logged = self._logs["advantages"]  # a bounded deque: replace its tail in place
        if len(logged) >= n_all:
            for _ in range(n_all):
                logged.pop()
            logged.extend(adv_all.tolist())
        per_prompt = np.bincount(group, minlength=q_count)
        flipped = sum(1 for q in range(q_count) if seeded_prompt[q] is not None and solved[q])
        n_seeded = float(sum(s is not None for s in seeded_prompt))
        summed_keys = {  # summed over processes
            "alloc/rollouts": float(per_prompt.sum()),
            "alloc/phase1_rollouts": float(budgets[0]),
            "seed/attempts": float(seed_attempts),
            "seed/seeded_prompts": n_seeded,
            "seed/flipped": float(flipped),
            "seed/seeded_rollouts": float(sum(r["seeded"] for r in gen_rows)),
        }
        mean_keys = {  # averaged over processes
            "alloc/rollouts_per_prompt_mean": float(per_prompt.mean()),
            "seed/seeded_share": n_seeded / q_count,
            "seed/bank_size": float(len(self.xrpo_seeder)),
            "frac_reward_zero_std": float(stats["metrics"]["frac_reward_zero_std"]),
        }
        for k, v in stats["metrics"].items():
            if k != "frac_reward_zero_std":
                mean_keys[k] = float(v)
        max_keys = {
            "alloc/rollouts_per_prompt_max": float(per_prompt.max()),
            "time/xrpo_overhead": overhead,
            "time/xrpo_sharpen_logp_pass": logp_pass,
        }
        min_keys = {"alloc/rollouts_per_prompt_min": float(per_prompt.min())}
        values = self._xrpo_reduce(summed_keys, mean_keys, max_keys, min_keys)
        if m.get("frac_reward_zero_std"):
            m["frac_reward_zero_std"][-1] = values.pop("frac_reward_zero_std")
        else:
            values.pop("frac_reward_zero_std")
        for k, v in values.items():
            m[k].append(v)
        self._xrpo_last = {
            "counts": per_prompt,
            "seeded": [s is not None for s in seeded_prompt],
            "stats": stats,
            "phase_sizes": phase_sizes,
            "groups": group,
            "rewards": summed.cpu().numpy(),
            "completions": [r["text"] for r in gen_rows],
            "rows": rows,
        }
        return output

    def _xrpo_reduce(self, summed: dict, mean: dict, maximum: dict, minimum: dict) -> dict[str, float]:
        """One gather for all step metrics: sums, means, maxima and minima over processes."""
        import torch

        keys = [*summed, *mean, *maximum, *minimum]
        local = {**summed, **mean, **maximum, **minimum}
        if self.accelerator.num_processes == 1:
            return {k: float(local[k]) for k in keys}
        vec = torch.tensor([local[k] for k in keys], dtype=torch.float64, device=self.accelerator.device)
        allv = self.accelerator.gather(vec.unsqueeze(0)).view(-1, len(keys)).cpu()
        out = {}
        for j, k in enumerate(keys):
            col = allv[:, j]
            if k in summed:
                out[k] = float(col.sum())
            elif k in mean:
                out[k] = float(col.mean())
            elif k in maximum:
                out[k] = float(col.max())
            else:
                out[k] = float(col.min())
        return out

    def _xrpo_record(self, solves: list[tuple[str, str, str]]) -> None:
        """Records this phase's solved (prompt id, prompt, solution) in the exemplar bank of
        every process (gathered across processes), in rank order, so the banks stay equal."""
        if self.accelerator.num_processes > 1:
            from accelerate.utils import gather_object

            gathered = gather_object([solves])
            solves = [s for part in gathered for s in part]
        step = int(self.state.global_step)
        for pid, prompt, solution in solves:
            self.xrpo_seeder.record(pid, prompt, solution, step=step)

    # ---------------------------------------------------------------- checkpoints
    def xrpo_state(self) -> dict:
        """Allocator and exemplar-bank state (what checkpoints store)."""
        return {"allocator": self.xrpo_allocator.state(), "seeder": self.xrpo_seeder.state()}

    def load_xrpo_state(self, state: dict) -> None:
        """Restores :meth:`xrpo_state`."""
        self.xrpo_allocator.restore(state["allocator"])
        self.xrpo_seeder.restore(state["seeder"])

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        # Every process writes its own state (like TRL's per-rank RNG files): allocators
        # and banks are per process.
        from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

        folder = os.path.join(self._get_output_dir(trial=trial), f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}")
        os.makedirs(folder, exist_ok=True)
        rank = self.accelerator.process_index
        state = {"rank": rank, "num_processes": self.accelerator.num_processes, **self.xrpo_state()}
        tmp = os.path.join(folder, xrpo_state_file(rank) + ".tmp")
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, os.path.join(folder, xrpo_state_file(rank)))

    def _xrpo_state_path(self, checkpoint: str) -> str | None:
        """This process's state file in ``checkpoint``: its rank's; when the checkpoint was
        written by fewer processes, rank ``r mod saved``'s (the allocator state is the same on
        every rank and the banks are shared); a pre-per-rank ``xrpo_state.json``; or None."""
        rank = self.accelerator.process_index
        own = os.path.join(checkpoint, xrpo_state_file(rank))
        if os.path.exists(own):
            return own
        first = os.path.join(checkpoint, xrpo_state_file(0))
        if os.path.exists(first):
            with open(first) as f:
                saved = int(json.load(f).get("num_processes", 1))
            path = os.path.join(checkpoint, xrpo_state_file(rank % max(1, saved)))
            if not os.path.exists(path):
                raise FileNotFoundError(f"checkpoint: {path} is missing (written by {saved} processes)")
            import warnings

            warnings.warn(f"checkpoint: written by {saved} processes; process {rank} restores rank {rank % saved}'s XRPO state")
            return path
        legacy = os.path.join(checkpoint, XRPO_STATE_FILE)
        return legacy if os.path.exists(legacy) else None

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is not None:
            path = self._xrpo_state_path(checkpoint)
            if path is not None:
                with open(path) as f:
                    state = json.load(f)
                self.load_xrpo_state({"allocator": state["allocator"], "seeder": state["seeder"]})


__all__ = ["XRPOConfig", "XRPOTrainer", "code_reward", "math_reward", "XRPO_STATE_FILE", "xrpo_state_file"]
