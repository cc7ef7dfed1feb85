"""Test-set figures with their spread, as SageMaker's model-quality reports hold them."""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

BOOTSTRAP_SAMPLES = 200
Metric = Callable[[np.ndarray, np.ndarray], float]


def with_deviation(functions: Mapping[str, Metric], y: np.ndarray, pred: np.ndarray,
                   seed: int) -> dict[str, dict[str, float]]:
    """Each metric's {"value", "standard_deviation"}: the deviation over a seeded bootstrap of
    the test rows, so the same predictions always give the same report."""
    samples = np.random.default_rng(seed).integers(0, len(y), size=(BOOTSTRAP_SAMPLES, len(y)))
    return {name: {"value": fn(y, pred),
                   "standard_deviation": float(np.std([fn(y[rows], pred[rows])
                                                       for rows in samples]))}
            for name, fn in functions.items()}
