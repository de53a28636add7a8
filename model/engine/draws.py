"""The model's draws without replacement: numpy's, or their compiled twins on the same stream.

(:func:`numpy_stream` gives the compiled kernels numpy's own uniform and geometric draws.)

The measures' queues draw who enrols with ``Generator.choice(pool, size, replace=False)`` and
``Generator.permutation``; with the compiled kernels (:mod:`model.engine.kernels`) the same draws
run in :mod:`model.engine.compiled_draws`, which takes every number from the model's generator
in numpy's order: the same households, in the same order, and the generator left in the same
state.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


def _draws(model: Any) -> tuple[ModuleType, int, int] | None:
    """The compiled kernels and the addresses of ``model.rng``'s stream, when the model uses them.

    Kept on the model with the generator they belong to, and taken afresh if ``model.rng`` is
    ever another generator.
    """
    compiled = model.households.kernels
    if compiled is None:
        return None
    rng = model.rng
    kept = getattr(model, "_draw_stream", None)
    if kept is None or kept[0] is not rng or kept[1] is not compiled:
        kept = model._draw_stream = (rng, compiled, *compiled.stream(rng))
    return kept[1:]


def _compiled_pool(pool: np.ndarray, compiled: ModuleType) -> bool:
    """Whether the compiled draws take ``pool``: household indices (int64, one dimension)."""
    longest = compiled.compiled_draws.LONGEST_POOL
    return pool.dtype == np.int64 and pool.ndim == 1 and pool.size < longest


def compiled_stream(model: Any, pool: np.ndarray) -> tuple[int, int] | None:
    """The addresses of ``model.rng``'s stream when the compiled draws take ``pool``, else None.

    For a compiled kernel that draws from the pool itself, as
    :func:`model.engine.compiled_draws.choice_without_replacement` does, on the same stream.
    """
    draws = _draws(model)
    if draws is None or not _compiled_pool(pool, draws[0]):
        return None
    return draws[1], draws[2]


def choice_without_replacement(model: Any, pool: np.ndarray, size: int) -> np.ndarray:
    """``model.rng.choice(pool, size=size, replace=False)``; compiled where the model's kernels are.

    The same households in the same order, and the same stream left behind, either way
    (:mod:`model.engine.compiled_draws`).
    """
    draws = _draws(model)
    if draws is not None and _compiled_pool(pool, draws[0]) and 0 <= size <= pool.size:
        compiled, function, state = draws
        return compiled.choice_without_replacement(function, state, pool, int(size))
    return model.rng.choice(pool, size=size, replace=False)


def permutation(model: Any, pool: np.ndarray) -> np.ndarray:
    """``model.rng.permutation(pool)`` of a one-dimensional array; compiled likewise."""
    draws = _draws(model)
    if draws is not None and _compiled_pool(pool, draws[0]):
        compiled, function, state = draws
        return compiled.permutation(function, state, pool)
    return model.rng.permutation(pool)


def numpy_stream(hh: Any, rng: np.random.Generator) -> tuple[int, int, int] | None:
    """The addresses of numpy's own draws on ``rng``'s stream for compiled kernels, else None.

    :func:`model.engine.compiled_draws.numpy_stream` (None also where numpy does not export its
    functions), kept on the households with the generator it belongs to.
    """
    compiled = hh.kernels
    if compiled is None:
        return None
    kept = getattr(hh, "_numpy_stream", None)
    if kept is None or kept[0] is not rng or kept[1] is not compiled:
        kept = hh._numpy_stream = (rng, compiled, compiled.numpy_stream(rng))
    return kept[2]
