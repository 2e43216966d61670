"""Shared test helpers. The native module must be installed (`pip install ./python` or
`maturin develop`); TRL/verl/torch tests skip with a reason when those are absent."""

import importlib.util

import pytest


def need(module: str) -> None:
    """Skip the calling test when `module` is not installed."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install ./python[trl,verl])")
