"""XRPO inside verl (tested against verl==0.9.1).

- :mod:`xrpo.verl.reward`: ``compute_score`` / ``compute_score_batch`` backed by the Rust
  verifiers, and the advantage estimator ``"xrpo"`` registered with verl's
  ``register_adv_est`` when the module is imported (verl imports it through
  ``custom_reward_function.path``).
- :mod:`xrpo.verl.phases`: XRPO's phased batch assembly on verl ``DataProto`` objects.
- :class:`RayXRPOTrainer` (:mod:`xrpo.verl.trainer`) and ``python -m xrpo.verl.main_xrpo``.

verl and torch are imported lazily: ``import xrpo.verl`` works without them.

>>> import xrpo.verl
>>> xrpo.verl.reward_path().endswith("reward.py")
True
"""

from __future__ import annotations

import os
from typing import Any


def reward_path() -> str:
    """The file to pass as ``custom_reward_function.path`` (it also registers the
    ``"xrpo"`` advantage estimator in the process that imports it).

    >>> import os, xrpo.verl
    >>> os.path.exists(xrpo.verl.reward_path())
    True
    """
    return os.path.join(os.path.dirname(__file__), "reward.py")


def __getattr__(name: str) -> Any:
    if name == "RayXRPOTrainer":
        from .trainer import RayXRPOTrainer

        return RayXRPOTrainer
    raise AttributeError(name)
