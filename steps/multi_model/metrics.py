"""Regression scores shared by training (validation) and evaluation (test)."""
from __future__ import annotations

import numpy as np


def rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - pred) ** 2)))


def mae(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(y - pred)))


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination; 0.0 when the target is constant."""
    total = float(np.sum((y - np.mean(y)) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / total if total > 0 else 0.0


FUNCTIONS = {"rmse": rmse, "mae": mae, "r2": r2}


def score(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Every metric of contract.METRICS, by name."""
    return {name: fn(y, pred) for name, fn in FUNCTIONS.items()}
