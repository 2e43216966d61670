"""XRPO (eXplore-eXploit GRPO, arXiv 2510.06672) from Python.

Every component is the Rust implementation, called in-process:

- rollout allocation: :class:`XrpoAllocator`, :class:`FixedAllocator`, :func:`run_step`;
- group advantages (GRPO, Dr.GRPO, RLOO, XRPO's novelty sharpening): :func:`advantages`;
- in-context seeding: :class:`ExemplarSeeder`;
- verifiable rewards: :class:`MathVerifier`, :class:`CodeVerifier`, :class:`Verdict`.

Drop-ins for training stacks live in :mod:`xrpo.trl` (TRL's ``GRPOTrainer``) and
:mod:`xrpo.verl` (verl's ``RayPPOTrainer``); they import their framework lazily.

>>> import numpy as np, xrpo
>>> adv, _ = xrpo.advantages(np.array([1.0, 0.0, 0.0]), np.array([7, 7, 7]))
>>> [round(float(a), 3) for a in adv]
[1.155, -0.577, -0.577]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _xrpo
from ._xrpo import (
    Allocator,
    CodeVerifier,
    ExemplarSeeder,
    FixedAllocator,
    InternalError,
    MathVerifier,
    VerificationError,
    Verdict,
    XrpoAllocator,
    run_step,
)

__version__: str = _xrpo.__version__

__all__ = [
    "Allocator",
    "CodeVerifier",
    "ExemplarSeeder",
    "FixedAllocator",
    "InternalError",
    "MathVerifier",
    "VerificationError",
    "Verdict",
    "XrpoAllocator",
    "advantages",
    "as_numpy",
    "group_index",
    "run_step",
]


def as_numpy(x: Any, name: str) -> np.ndarray:
    """A 1-D numpy view of ``x``: numpy arrays pass through, torch CPU tensors through
    ``.numpy()`` (no copy), lists through ``np.asarray``.

    >>> import xrpo
    >>> xrpo.as_numpy([1, 2], "x").tolist()
    [1, 2]
    """
    if isinstance(x, np.ndarray):
        arr = x
    elif hasattr(x, "detach") and hasattr(x, "numpy"):  # a torch tensor
        t = x.detach()
        if getattr(t, "device", None) is not None and t.device.type != "cpu":
            raise ValueError(f"{name}: tensor is on {t.device}; move it to the CPU first")
        if str(t.dtype) == "torch.bfloat16" or str(t.dtype) == "torch.float16":
            t = t.float()
        arr = t.numpy()
    else:
        arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    return arr


def group_index(group_ids: Any) -> np.ndarray:
    """Integer group ids for any hashable ids (verl's uid strings, tuples, ...), in order
    of first appearance.

    >>> import numpy as np, xrpo
    >>> xrpo.group_index(np.array(["b", "a", "b"], dtype=object)).tolist()
    [0, 1, 0]
    """
    ids = as_numpy(group_ids, "group_ids") if not isinstance(group_ids, (list, tuple)) else None
    if ids is not None and ids.dtype.kind in "iu":
        if ids.dtype in (np.int64, np.int32, np.uint32):
            return ids
        return ids.astype(np.int64)
    seq = list(group_ids) if ids is None else ids.tolist()
    first: dict[Any, int] = {}
    return np.fromiter((first.setdefault(g, len(first)) for g in seq), np.int64, len(seq))


def advantages(
    rewards: Any,
    group_ids: Any,
    seq_logprobs: Any = None,
    *,
    estimator: str = "grpo",
    lengths: Any = None,
    scale: str = "group",
    epsilon: float = 1e-4,
    lambda_novelty: float = 2.5,
    kappa_clip: float = 0.5,
    threads: int | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Group-relative advantages, one per response (XRPO spec §3).

    ``rewards``: float32/float64 (NaN = missing: advantage 0, left out of the baseline).
    ``group_ids``: one id per response (ints; any hashable ids are mapped first), groups
    of any size, rows of a group need not be adjacent. ``seq_logprobs``: mean token
    log-prob of each response under the sampling policy (needed by ``"xrpo"``).
    ``estimator``: ``"grpo"``, ``"dr_grpo"``, ``"rloo"`` or ``"xrpo"`` (GRPO + novelty
    sharpening). Torch CPU tensors are read through ``.numpy()`` without a copy; the
    arrays are read in place with the GIL released, on ``threads`` threads (default: every
    core) for large batches.
    Returns ``(advantages float32 array, stats dict)``.

    >>> import numpy as np, xrpo
    >>> r = np.array([1, 0, 1, 0], np.float32)
    >>> s = np.array([-0.2, -0.4, -0.9, -0.5], np.float32)
    >>> adv, st = xrpo.advantages(r, np.zeros(4, np.int64), s, estimator="xrpo")
    >>> [round(float(a), 3) for a in adv], st["bonused_responses"]
    ([0.866, -0.866, 1.299, -0.866], 1)
    """
    r = as_numpy(rewards, "rewards")
    if r.dtype not in (np.float32, np.float64):
        if r.dtype.kind not in "iub":
            raise TypeError(f"rewards: expected a float array, got dtype {r.dtype}")
        r = r.astype(np.float32)
    g = group_index(group_ids)
    s = None if seq_logprobs is None else as_numpy(seq_logprobs, "seq_logprobs")
    ln = None if lengths is None else as_numpy(lengths, "lengths").astype(np.int64, copy=False)
    return _xrpo.advantages(
        r,
        g,
        s,
        estimator=estimator,
        lengths=ln,
        scale=scale,
        epsilon=epsilon,
        lambda_novelty=lambda_novelty,
        kappa_clip=kappa_clip,
        threads=threads,
    )
