"""XRPO's phased batch assembly on verl ``DataProto`` objects (pure data operations, no
Ray, no GPU): what :class:`xrpo.verl.RayXRPOTrainer` does between verl's dataloader and
its rollout workers.

One step over ``P`` prompts (one row each, each with a ``uid``):

1. :func:`expand` repeats each prompt row ``counts[q]`` times with verl's own
   ``select_idxs`` + ``sample_level_repeat``; :func:`pad` pads the phase to the rollout
   workers' multiple (``pad_dataproto_to_divisor``) and :func:`unpad` removes it again;
2. :func:`seed_raw_prompts` rewrites the ``raw_prompt`` (chat messages) of all-wrong
   prompts with their seeded text; the row keeps its ``uid``, so seeded rollouts join the
   prompt's advantage group;
3. :func:`assemble` concatenates the phases' outputs (``DataProto.concat``, with the
   per-phase ``timing`` popped first) and orders the rows prompt by prompt, returning the
   per-prompt counts: ``batch.sample_level_repeat(counts).union(output)`` then lines the
   original prompt rows up with their responses, as verl's ``fit`` does with ``repeat``.

>>> import numpy as np
>>> from xrpo.verl.phases import grouped_order
>>> grouped_order(np.array(["b", "a", "b", "c"], dtype=object), ["a", "b", "c"]).tolist()
[1, 0, 2, 3]
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np


def expand(prompts: Any, counts: Any) -> Any:
    """Each prompt row repeated ``counts[q]`` times, in prompt order (rows with count 0
    dropped)."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 1 or len(counts) != len(prompts):
        raise ValueError(f"counts: expected one count per prompt ({len(prompts)}), got shape {counts.shape}")
    if (counts < 0).any():
        raise ValueError("counts: must be non-negative")
    keep = np.flatnonzero(counts > 0)
    return prompts.select_idxs(keep).sample_level_repeat(counts[keep])


def pad(batch: Any, divisor: int) -> tuple[Any, int]:
    """``batch`` padded (by repeating its first rows) to a multiple of ``divisor``."""
    from verl.protocol import pad_dataproto_to_divisor

    if divisor < 1:
        raise ValueError(f"divisor: must be >= 1, got {divisor}")
    return pad_dataproto_to_divisor(batch, divisor)


def unpad(batch: Any, pad_size: int) -> Any:
    """``batch`` without its last ``pad_size`` rows."""
    from verl.protocol import unpad_dataproto

    return unpad_dataproto(batch, pad_size=pad_size)


def seed_raw_prompts(prompts: Any, seeded: dict[int, str]) -> Any:
    """A copy of ``prompts`` whose rows ``q in seeded`` have their ``raw_prompt`` (a chat
    message list; the last user turn) or plain string replaced by ``seeded[q]``."""
    if not seeded:
        return prompts
    out = copy.copy(prompts)
    out.non_tensor_batch = dict(prompts.non_tensor_batch)
    raw = np.array(prompts.non_tensor_batch["raw_prompt"], dtype=object, copy=True)
    for q, text in seeded.items():
        msgs = raw[q]
        if isinstance(msgs, str):
            raw[q] = text
            continue
        msgs = [dict(m) for m in msgs]
        for m in reversed(msgs):
            if m.get("role") == "user":
                m["content"] = text
                break
        raw[q] = np.array(msgs, dtype=object) if isinstance(raw[q], np.ndarray) else msgs
    out.non_tensor_batch["raw_prompt"] = raw
    return out


def grouped_order(uids: np.ndarray, prompt_uids: list) -> np.ndarray:
    """Row order that groups rows by prompt (in ``prompt_uids`` order), stable within."""
    pos = {u: i for i, u in enumerate(prompt_uids)}
    try:
        key = np.fromiter((pos[u] for u in uids), dtype=np.int64, count=len(uids))
    except KeyError as e:
        raise ValueError(f"uids: row with uid {e.args[0]!r} belongs to no prompt of this step") from None
    return np.argsort(key, kind="stable")


def assemble(outputs: list, prompt_uids: list) -> tuple[Any, np.ndarray]:
    """Concatenates phase outputs and groups their rows by prompt. Returns the batch and
    the per-prompt row counts (for ``sample_level_repeat`` of the prompt rows)."""
    from verl import DataProto

    parts = []
    for o in outputs:
        if o is None or len(o) == 0:
            continue
        o.meta_info.pop("timing", None)
        parts.append(o)
    if not parts:
        raise ValueError("outputs: no phase produced rows")
    batch = DataProto.concat(parts)
    uids = batch.non_tensor_batch["uid"]
    order = grouped_order(uids, prompt_uids)
    batch = batch.select_idxs(order)
    pos = {u: i for i, u in enumerate(prompt_uids)}
    counts = np.bincount([pos[u] for u in batch.non_tensor_batch["uid"]], minlength=len(prompt_uids))
    return batch, counts
