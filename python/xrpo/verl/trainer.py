"""``RayXRPOTrainer``: verl's ``RayPPOTrainer`` (the ``trainer.use_v1=False`` path of
verl 0.9.1) with XRPO's phased generation, seeding and sharpening.

How it hooks in without copying verl's ``fit``:

- the rollout manager's ``generate_sequences`` is wrapped (:meth:`_xrpo_generate`): for
  a training batch (``rollout.n`` interleaved copies of each prompt) it runs XRPO's
  phases with :mod:`xrpo.verl.phases` (phase 1: ``n_base`` per prompt; later phases: the
  Rust allocator over the rewards so far, read from the reward loop's ``rm_scores``;
  all-wrong prompts seeded by rewriting their ``raw_prompt``), each phase padded to the
  agent-worker count, and returns the rows grouped by prompt, ``train_batch_size × n`` in
  all, so verl's mini-batch arithmetic is unchanged;
- during ``fit``, ``DataProto.repeat`` of that step's prompt batch (same uids) returns
  ``sample_level_repeat(counts)`` instead of ``n`` copies, so verl's own
  ``batch.repeat(n).union(gen_output)`` lines every prompt row up with its responses;
- ``compute_advantage`` with ``algorithm.adv_estimator=xrpo`` receives ``old_log_probs``
  for the novelty sharpening;
- checkpoints hold ``xrpo_state.json`` (allocator + exemplar bank) next to verl's.

Which context the gradient uses: verl tokenises the prompt rows of ``batch`` (the plain
prompt) for the policy update, so seeded rollouts are trained on the plain prompt by
default (spec §2); ``algorithm.xrpo.seed_context=seeded`` is not offered here.

Needs GPUs (vLLM/SGLang rollout on Ray). Without them, python/tests/test_verl.py runs
this class's XRPO parts on real ``DataProto``s with a stand-in rollout manager and actor
worker group: verl's own generation-block lines of ``fit``, ``compute_advantage`` and
verl's ``_save_checkpoint``/``_load_checkpoint``.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import Any

import numpy as np

import xrpo
from xrpo.verl import phases

try:
    from verl.trainer.ppo.ray_trainer import RayPPOTrainer as _Base
except ImportError:  # pragma: no cover - verl absent
    _Base = object  # type: ignore[misc,assignment]

XRPO_STATE_FILE = "xrpo_state.json"


def _opt(node: Any, key: str, default: Any) -> Any:
    if node is None:
        return default
    try:
        v = node.get(key, None)
    except AttributeError:
        v = getattr(node, key, None)
    return default if v is None else v


class XrpoPhaser:
    """The phased generation of one verl step, independent of Ray: ``rollout(batch)`` is
    the rollout manager's ``generate_sequences``; ``divisor`` the agent-worker count.

    >>> XrpoPhaser(n=8).allocator.plan(2)["phase_budgets"]
    [4, 6, 6]
    """

    def __init__(self, n: int, options: Any = None, divisor: int = 1) -> None:
        o = options
        self.n = n
        self.divisor = divisor
        self.allocator = xrpo.XrpoAllocator(
            n_fixed=n,
            alpha=float(_opt(o, "alpha", 0.05)),
            lam=float(_opt(o, "lam", 0.05)),
            phases=int(_opt(o, "phases", 3)),
            n_base=_opt(o, "n_base", None),
            n_max=_opt(o, "n_max", None),
        )
        self.seeding = bool(_opt(o, "seeding", True))
        self.correct_threshold = float(_opt(o, "correct_threshold", 1.0))
        self.seeder = xrpo.ExemplarSeeder(
            k=int(_opt(o, "seed_k", 2)),
            similarity_threshold=float(_opt(o, "seed_threshold", 0.1)),
            template={"target_solution_cue": False},
        )
        self.pending: tuple[list, np.ndarray] | None = None
        self.last_metrics: dict[str, float] = {}

    @staticmethod
    def _user_text(raw: Any) -> str:
        if isinstance(raw, str):
            return raw
        for m in reversed(list(raw)):
            if m.get("role") == "user":
                return str(m.get("content", ""))
        return ""

    def generate(self, rollout: Any, combined: Any, decode: Any = None, step: int = 0) -> Any:
        """Runs every phase for ``combined`` (``n`` interleaved copies per prompt);
        returns the grouped output and remembers ``(uids, counts)`` for the repeat patch.
        ``decode(output_row_index, output)`` gives a response's text (for the bank)."""
        n = self.n
        if len(combined) % n != 0:
            raise ValueError(f"generate: {len(combined)} rows is not a multiple of rollout.n = {n}")
        prompts = combined.select_idxs(np.arange(0, len(combined), n))
        uids = list(prompts.non_tensor_batch["uid"])
        q_count = len(uids)
        pos = {u: i for i, u in enumerate(uids)}
        plan = self.allocator.plan(q_count)
        rewards: list[list[float]] = [[] for _ in range(q_count)]
        solved = [False] * q_count
        seeded: dict[int, str] = {}
        outputs, timing = [], {}
        raw = prompts.non_tensor_batch.get("raw_prompt")
        for phase, budget in enumerate(plan["phase_budgets"]):
            counts = plan["counts"] if phase == 0 else self.allocator.allocate(rewards, budget)
            if phase > 0 and self.seeding and raw is not None:
                for q in range(q_count):
                    if counts[q] > 0 and q not in seeded and not solved[q] and rewards[q]:
                        text = self.seeder.seed(uids[q], self._user_text(raw[q]))
                        if text is not None:
                            seeded[q] = text
            src = phases.seed_raw_prompts(prompts, seeded)
            expanded = phases.expand(src, counts)
            if len(expanded) == 0:
                continue
            padded, pad = phases.pad(expanded, self.divisor)
            out = rollout(padded)
            for k, v in (out.meta_info.get("timing") or {}).items():
                timing[k] = timing.get(k, 0.0) + v
            out = phases.unpad(out, pad)
            if "rm_scores" not in out.batch.keys():
                raise ValueError(
                    "reward_model.use_reward_loop: XRPO allocates on the rewards of each phase; enable verl's reward "
                    "loop so generate_sequences returns rm_scores"
                )
            scores = out.batch["rm_scores"].sum(-1).float().cpu().numpy()
            for i, u in enumerate(out.non_tensor_batch["uid"]):
                q = pos[u]
                s = float(scores[i])
                rewards[q].append(s)
                if s >= self.correct_threshold:
                    solved[q] = True
                    if self.seeding and decode is not None and raw is not None:
                        self.seeder.record(str(u), self._user_text(raw[q]), decode(i, out), step=step)
            outputs.append(out)
        self.allocator.finish_step()
        final, counts = phases.assemble(outputs, uids)
        final.meta_info["timing"] = timing
        self.pending = (uids, counts)
        self.last_metrics = {
            "alloc/rollouts_per_prompt_max": float(counts.max()),
            "alloc/rollouts_per_prompt_min": float(counts.min()),
            "alloc/rollouts_per_prompt_mean": float(counts.mean()),
            "seed/seeded_prompts": float(len(seeded)),
            "seed/seeded_share": len(seeded) / max(1, q_count),
            "seed/flipped": float(sum(1 for q in seeded if solved[q])),
            "seed/bank_size": float(len(self.seeder)),
        }
        return final

    @contextmanager
    def repeat_patch(self):
        """While active, ``DataProto.repeat`` of the pending step's prompt batch returns
        ``sample_level_repeat(counts)`` (verl's ``batch.repeat(n)`` before its union)."""
        from verl import DataProto

        orig = DataProto.repeat
        phaser = self

        def repeat(self_dp, repeat_times=2, interleave=True):
            p = phaser.pending
            if p is not None and "uid" in self_dp.non_tensor_batch and len(self_dp) == len(p[0]):
                if list(self_dp.non_tensor_batch["uid"]) == p[0]:
                    phaser.pending = None
                    return self_dp.sample_level_repeat(p[1])
            return orig(self_dp, repeat_times=repeat_times, interleave=interleave)

        DataProto.repeat = repeat
        try:
            yield
        finally:
            DataProto.repeat = orig

    def state(self) -> dict:
        return {"allocator": self.allocator.state(), "seeder": self.seeder.state()}

    def restore(self, state: dict) -> None:
        self.allocator.restore(state["allocator"])
        self.seeder.restore(state["seeder"])


class RayXRPOTrainer(_Base):  # type: ignore[misc,valid-type]
    """verl's ``RayPPOTrainer`` with XRPO's phases (see the module docstring). Options
    under ``algorithm.xrpo``: ``phases``, ``n_base``, ``n_max``, ``alpha``, ``lam``,
    ``seeding``, ``seed_k``, ``seed_threshold``, ``correct_threshold``,
    ``lambda_novelty``, ``kappa_clip``, ``sharpen``.

    The XRPO parts take verl's objects as arguments, so that they run without Ray or GPUs
    (python/tests/test_verl.py drives them with a stand-in rollout manager and worker
    group): :meth:`xrpo_setup` (the phaser from the config), :meth:`xrpo_wrap_rollout`
    (what ``init_workers`` does to the rollout manager), :meth:`xrpo_fit_patches` (what
    ``fit`` runs under) and the checkpoint overrides."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.xrpo_setup()

    def xrpo_setup(self) -> None:
        """Builds the phaser from ``self.config``: ``rollout.n`` rollouts per prompt on
        average, phases padded to ``rollout.agent.num_workers``."""
        import xrpo.verl.reward  # noqa: F401  registers the "xrpo" estimator here

        rollout = self.config.actor_rollout_ref.rollout
        divisor = int(_opt(_opt(rollout, "agent", None), "num_workers", 1))
        self.xrpo = XrpoPhaser(int(rollout.n), _opt(self.config.algorithm, "xrpo", None), divisor)

    def init_workers(self) -> None:
        super().init_workers()
        self.xrpo_wrap_rollout(self.async_rollout_manager)

    def _xrpo_decode(self, i: int, out: Any) -> str:
        """Response ``i`` of a rollout output as text (for the exemplar bank)."""
        ids = out.batch["responses"][i]
        if "response_mask" in out.batch.keys():
            ids = ids[out.batch["response_mask"][i].bool()]
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def xrpo_wrap_rollout(self, manager: Any) -> None:
        """Makes ``manager.generate_sequences`` run XRPO's phases for training batches
        (validation batches, ``meta_info["validate"]``, pass through unchanged)."""
        orig = manager.generate_sequences
        if getattr(orig, "_xrpo_wrapped", False):
            return

        def generate_sequences(batch: Any) -> Any:
            if batch.meta_info.get("validate", False):
                return orig(batch)
            step = int(getattr(self, "global_steps", 0))
            return self.xrpo.generate(orig, batch, decode=self._xrpo_decode, step=step)

        generate_sequences._xrpo_wrapped = True  # type: ignore[attr-defined]
        manager.generate_sequences = generate_sequences

    @contextmanager
    def xrpo_fit_patches(self):
        """What ``fit`` runs under: verl's ``compute_advantage`` routes
        ``adv_estimator=xrpo`` with ``old_log_probs`` (for sharpening), and the step's
        ``batch.repeat(n)`` becomes ``sample_level_repeat(counts)`` (:meth:`XrpoPhaser.repeat_patch`)."""
        import verl.trainer.ppo.ray_trainer as rt

        orig_adv = rt.compute_advantage

        def compute_advantage(data, adv_estimator, *args, **kwargs):
            if str(getattr(adv_estimator, "value", adv_estimator)) == "xrpo":
                from xrpo.verl.reward import compute_xrpo_outcome_advantage

                if "response_mask" not in data.batch.keys():
                    data.batch["response_mask"] = rt.compute_response_mask(data)
                adv, ret = compute_xrpo_outcome_advantage(
                    data.batch["token_level_rewards"],
                    data.batch["response_mask"],
                    index=data.non_tensor_batch["uid"],
                    config=kwargs.get("config"),
                    old_log_probs=data.batch["old_log_probs"] if "old_log_probs" in data.batch.keys() else None,
                )
                data.batch["advantages"] = adv
                data.batch["returns"] = ret
                return data
            return orig_adv(data, adv_estimator, *args, **kwargs)

        rt.compute_advantage = compute_advantage
        try:
            with self.xrpo.repeat_patch():
                yield
        finally:
            rt.compute_advantage = orig_adv

    def fit(self) -> None:
        with self.xrpo_fit_patches():
            super().fit()

    def _xrpo_checkpoint_folder(self, resuming: bool = False) -> str:
        """The ``global_step_N`` folder verl saves to at ``self.global_steps`` or, with
        ``resuming``, the one it resumed from (``trainer.resume_from_path`` when
        ``resume_mode=resume_path``), as an absolute path (verl's own resolution)."""
        t = self.config.trainer
        if resuming and _opt(t, "resume_mode", "auto") == "resume_path":
            folder = str(t.resume_from_path)
        else:
            folder = os.path.join(str(t.default_local_dir), f"global_step_{self.global_steps}")
        return folder if os.path.isabs(folder) else os.path.join(os.getcwd(), folder)

    def _save_checkpoint(self) -> None:
        super()._save_checkpoint()
        folder = self._xrpo_checkpoint_folder()
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, XRPO_STATE_FILE + ".tmp")
        with open(tmp, "w") as f:
            json.dump(self.xrpo.state(), f)
        os.replace(tmp, os.path.join(folder, XRPO_STATE_FILE))

    def _load_checkpoint(self):
        out = super()._load_checkpoint()
        if getattr(self, "global_steps", 0):
            path = os.path.join(self._xrpo_checkpoint_folder(resuming=True), XRPO_STATE_FILE)
            if os.path.exists(path):
                with open(path) as f:
                    self.xrpo.restore(json.load(f))
            else:
                import warnings

                warnings.warn(f"checkpoint: {path} is missing; XRPO's allocator and exemplar bank start empty")
        return out
