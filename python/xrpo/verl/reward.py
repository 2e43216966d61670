"""verl reward functions backed by xrpo's Rust verifiers, and the ``"xrpo"`` advantage
estimator (registered with verl's ``register_adv_est`` on import).

Use with plain ``main_ppo`` or with ``python -m xrpo.verl.main_xrpo``::

    custom_reward_function.path=$(python -c 'import xrpo.verl; print(xrpo.verl.reward_path())')
    custom_reward_function.name=compute_score          # reward loop (per sample)
    algorithm.adv_estimator=xrpo                       # group advantages over any group size

For verl's legacy batch manager (``reward_model.use_reward_loop=False
reward_model.reward_manager=batch``) name ``compute_score_batch`` instead: one parallel,
GIL-free Rust call per batch.

verl imports this file by path (as a fresh module), so it only uses absolute imports.

>>> from xrpo.verl.reward import compute_score
>>> compute_score("gsm8k", "... so the answer is 42. #### 42", "42")["score"]
1.0
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

import xrpo

_MATH: xrpo.MathVerifier | None = None
_CODE: xrpo.CodeVerifier | None = None

#: Options of the ``"xrpo"`` estimator, read from ``algorithm.xrpo`` when present.
DEFAULT_OPTIONS = {"lambda_novelty": 2.5, "kappa_clip": 0.5, "epsilon": 1e-6, "sharpen": True}


def _math() -> xrpo.MathVerifier:
    global _MATH
    if _MATH is None:
        _MATH = xrpo.MathVerifier()
    return _MATH


def _code() -> xrpo.CodeVerifier:
    global _CODE
    if _CODE is None:
        _CODE = xrpo.CodeVerifier(min_isolation="rlimits")
    return _CODE


def _is_code(data_source: Any, ground_truth: Any) -> bool:
    if isinstance(ground_truth, dict):
        return True
    if isinstance(ground_truth, str) and ground_truth.lstrip().startswith("{"):
        try:
            obj = json.loads(ground_truth)
        except ValueError:
            return False
        return isinstance(obj, dict) and ("stdio" in obj or "tests" in obj)
    return False


def _result(v: xrpo.Verdict, unverifiable_score: float) -> dict[str, Any]:
    score = v.reward if v.outcome != "unverifiable" else unverifiable_score
    return {
        "score": float(score),
        "acc": bool(v.correct),
        "verifiable": v.outcome != "unverifiable",
        "pred": v.extracted if v.extracted is not None else "",
    }


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: Any = None,
    *,
    unverifiable_score: float = 0.0,
    **kwargs: Any,
) -> dict[str, Any]:
    """verl's per-sample reward signature: the response ``solution_str`` against
    ``ground_truth`` (a math answer, or code tests as a dict/JSON ``{"stdio": [...]}`` /
    ``{"tests", "entry_point"}``). Returns ``{"score", "acc", "verifiable", "pred"}``.

    An unverifiable sample (unparseable gold) scores ``unverifiable_score`` (default 0.0,
    verl's convention); pass ``float("nan")`` through ``reward_kwargs`` to have the
    ``"xrpo"`` estimator leave it out of its group's baseline instead.

    >>> compute_score("math", "$\\\\boxed{\\\\frac{1}{2}}$", "0.5")["acc"]
    True
    """
    if _is_code(data_source, ground_truth):
        v = _code().verify(solution_str, ground_truth)
    else:
        v = _math().verify(solution_str, str(ground_truth))
    return _result(v, unverifiable_score)


def compute_score_batch(
    data_sources: list[Any],
    solution_strs: list[str],
    ground_truths: list[Any],
    extra_infos: list[Any] | None = None,
    *,
    unverifiable_score: float = 0.0,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """verl's ``BatchRewardManager`` signature: all responses at once, verified in
    parallel by Rust without the GIL, results in input order.

    >>> [r["score"] for r in compute_score_batch(["m", "m"], ["#### 3", "#### 4"], ["3", "3"])]
    [1.0, 0.0]
    """
    n = len(solution_strs)
    if len(ground_truths) != n:
        raise ValueError(f"ground_truths: {len(ground_truths)} entries for {n} solution_strs")
    out: list[dict[str, Any] | None] = [None] * n
    math_rows = [i for i in range(n) if not _is_code(data_sources[i], ground_truths[i])]
    code_rows = [i for i in range(n) if i not in set(math_rows)]
    if math_rows:
        verdicts = _math().verify_batch([solution_strs[i] for i in math_rows], [str(ground_truths[i]) for i in math_rows])
        for i, v in zip(math_rows, verdicts):
            out[i] = _result(v, unverifiable_score)
    if code_rows:
        verdicts = _code().verify_batch([solution_strs[i] for i in code_rows], [ground_truths[i] for i in code_rows])
        for i, v in zip(code_rows, verdicts):
            out[i] = _result(v, unverifiable_score)
    return out  # type: ignore[return-value]


def _options(config: Any) -> dict[str, Any]:
    opts = dict(DEFAULT_OPTIONS)
    node = None
    if config is not None:
        try:
            node = config.get("xrpo", None)
        except (AttributeError, TypeError):
            node = getattr(config, "xrpo", None)
    if node:
        for k in DEFAULT_OPTIONS:
            try:
                v = node.get(k, None)
            except AttributeError:
                v = getattr(node, k, None)
            if v is not None:
                opts[k] = v
    return opts


def seq_mean_logprob(log_probs: Any, response_mask: Any) -> np.ndarray:
    """Mean token log-prob per response (the sharpening score s(y_i)), from
    ``[batch, response_len]`` tensors.

    >>> import torch
    >>> seq_mean_logprob(torch.tensor([[-1.0, -3.0, 9.0]]), torch.tensor([[1, 1, 0]])).tolist()
    [-2.0]
    """
    m = response_mask.float()
    s = (log_probs.float() * m).sum(-1) / m.sum(-1).clamp(min=1)
    return s.detach().cpu().numpy().astype(np.float32)


def compute_xrpo_outcome_advantage(
    token_level_rewards: Any,
    response_mask: Any,
    index: Any = None,
    config: Any = None,
    batch: Any = None,
    non_tensor_batch: Any = None,
    old_log_probs: Any = None,
    norm_adv_by_std_in_grpo: bool | None = None,
    **kwargs: Any,
) -> tuple[Any, Any]:
    """verl advantage estimator ``"xrpo"``: GRPO over groups of any size (grouped by
    ``uid``), NaN rewards left out of the baseline, ε = 1e-6 as verl's GRPO, plus XRPO's
    novelty sharpening when the sampling log-probs reach it (``batch["old_log_probs"]``
    with verl PR #7473, or ``old_log_probs=``; :class:`RayXRPOTrainer` passes them).
    Differs from verl's GRPO on purpose in one place: a group with a single scored
    response gets advantage 0, not its raw score. Options under ``algorithm.xrpo``:
    ``lambda_novelty``, ``kappa_clip``, ``epsilon``, ``sharpen``;
    ``algorithm.norm_adv_by_std_in_grpo=False`` gives Dr.GRPO's centring.

    >>> import numpy as np, torch
    >>> r = torch.zeros(4, 3); r[[0, 2], -1] = 1.0
    >>> adv, _ = compute_xrpo_outcome_advantage(r, torch.ones(4, 3), np.array(["a", "a", "a", "b"], dtype=object))
    >>> [round(x, 3) for x in adv[:, 0].tolist()]
    [0.577, -1.155, 0.577, 0.0]
    """
    import torch

    opts = _options(config)
    if norm_adv_by_std_in_grpo is None:
        norm = True
        if config is not None:
            try:
                norm = bool(config.get("norm_adv_by_std_in_grpo", True))
            except (AttributeError, TypeError):
                norm = bool(getattr(config, "norm_adv_by_std_in_grpo", True))
    else:
        norm = bool(norm_adv_by_std_in_grpo)
    scores = token_level_rewards.sum(dim=-1)
    if index is None:
        raise ValueError("index: the 'xrpo' estimator groups responses by uid; the batch has no 'uid'")
    lp = old_log_probs
    if lp is None and batch is not None and "old_log_probs" in batch.keys():
        lp = batch["old_log_probs"]
    seq = seq_mean_logprob(lp, response_mask) if (lp is not None and opts["sharpen"]) else None
    estimator = "xrpo" if seq is not None else "grpo"
    adv, _ = xrpo.advantages(
        scores.detach().float().cpu().numpy(),
        xrpo.group_index(index),
        seq,
        estimator=estimator,
        scale="group" if norm else "none",
        epsilon=float(opts["epsilon"]),
        lambda_novelty=float(opts["lambda_novelty"]),
        kappa_clip=float(opts["kappa_clip"]),
    )
    a = torch.from_numpy(adv).to(device=token_level_rewards.device, dtype=token_level_rewards.dtype)
    a = a.unsqueeze(-1) * response_mask
    return a, a


def register() -> bool:
    """Registers ``compute_xrpo_outcome_advantage`` as verl's ``"xrpo"`` estimator; a no-op
    when verl is absent or ``"xrpo"`` is already registered (re-imports by path). Returns
    whether the name is registered afterwards."""
    try:
        from verl.trainer.ppo import core_algos
    except ImportError:
        return False
    if "xrpo" not in core_algos.ADV_ESTIMATOR_REGISTRY:
        core_algos.register_adv_est("xrpo")(compute_xrpo_outcome_advantage)
    return True


register()
