"""Combiners: how the base learners' predictions become one prediction.

Each combiner is fitted on out-of-fold predictions only and stored as plain JSON parameters,
so the model directory holds no pickled combiner. Regression: mean, weighted (non-negative
weights summing to 1), stack (non-negative linear model with intercept). Classification:
hard_vote, soft_vote, weighted (on probabilities), stack (logistic model on log-odds).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LinearRegression, LogisticRegression
from threadpoolctl import threadpool_limits

from steps.common import metrics
from steps.stacked_ensemble import contract
from steps.stacked_ensemble.task import Task

Predictions = dict[str, np.ndarray]
_TIE_BREAK = 1e-9  # hard vote ties go to the class with the higher mean probability
# The logistic stack's inverse L2 strength on standardised meta-features: breast cancer's
# cross-fitted log loss 0.0786 at 1, 0.0682 at 10 and at 100 (0.0686 unscaled at 1).
STACK_C = 10.0
# A meta-feature spread below this (log units) is a constant: standardising it would give raw
# coefficients of 1e11 whose products with the log-probabilities lose every digit.
_STACK_MIN_SPREAD = 1e-3


def _stacked(preds: Predictions, task: Task) -> np.ndarray:
    """(learners, rows) for values or (learners, rows, classes) for probabilities."""
    return np.stack([preds[name] for name in contract.LEARNERS[task.problem_type]])


def _simplex_weights(loss, n: int) -> list[float]:
    """Non-negative weights summing to 1 that minimise `loss(weights)`."""
    start = np.full(n, 1.0 / n)
    result = minimize(loss, start, method="SLSQP", bounds=[(0.0, 1.0)] * n,
                      constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1.0}])
    weights = np.clip(result.x if result.success else start, 0.0, None)
    return (weights / weights.sum()).tolist()


def _standardised(stacked: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and target in units of the target's spread around its mean. Weights that
    sum to 1 give the same fit in any units, but the optimiser's tolerances are absolute: on
    prices in the thousands SLSQP stopped at its starting weights and reported success."""
    centre, spread = float(np.mean(y)), float(np.std(y)) or 1.0
    return (stacked - centre) / spread, (y - centre) / spread


def _log_odds(preds: Predictions, task: Task) -> np.ndarray:
    """Meta-features for the logistic stack: per learner, log-odds of class 1 (binary) or the
    log-probability of every class (multiclass)."""
    proba = np.clip(_stacked(preds, task), metrics.PROBABILITY_FLOOR,
                    1.0 - metrics.PROBABILITY_FLOOR)
    if proba.shape[2] == 2:
        return np.log(proba[:, :, 1] / proba[:, :, 0]).T
    return np.concatenate([np.log(p) for p in proba], axis=1)


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


def fit(name: str, preds: Predictions, y: np.ndarray, task: Task, seed: int) -> dict[str, Any]:
    """Fit combiner `name` on out-of-fold predictions `preds` of the rows whose targets are `y`."""
    stacked = _stacked(preds, task)
    n = len(contract.LEARNERS[task.problem_type])
    if name in ("mean", "hard_vote", "soft_vote"):
        return {}
    if name == "weighted" and not task.is_classification:
        standard, target = _standardised(stacked, y)
        return {"weights": _simplex_weights(
            lambda w: float(np.mean((np.tensordot(w, standard, 1) - target) ** 2)), n)}
    if name == "weighted":
        return {"weights": _simplex_weights(
            lambda w: metrics.logloss(y, np.tensordot(w, stacked, 1)), n)}
    if name == "stack" and not task.is_classification:
        model = LinearRegression(positive=True).fit(stacked.T, y)
        return {"coefficients": model.coef_.tolist(), "intercept": float(model.intercept_)}
    if name == "stack":
        return _logistic_stack(_log_odds(preds, task), y, seed)
    raise ValueError(f"unknown combiner {name!r} for {task.problem_type}")


def _logistic_stack(features: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    """The logistic meta-model, fitted on standardised meta-features and returned in their
    raw units, in one thread. On a 21-class table (2,092 rows, 84 meta-features) it held a
    training job for over 14 minutes: raw log-probabilities span 0 to -34 (the probability
    floor) where a learner rules a class out, so lbfgs ran to its 5,000 iterations (~300
    standardised), and sklearn's OpenMP threads, spinning on cores that parallel tuning jobs
    share, made each iteration 60 ms instead of 0.8 ms in one thread."""
    centre = features.mean(axis=0)
    spread = np.maximum(features.std(axis=0), _STACK_MIN_SPREAD)
    model = LogisticRegression(C=STACK_C, max_iter=5000, random_state=seed)
    with threadpool_limits(limits=1):  # see the docstring
        model.fit((features - centre) / spread, y)
    coefficients = model.coef_ / spread
    return {"coefficients": coefficients.tolist(),
            "intercept": (model.intercept_ - coefficients @ centre).tolist()}


def apply(name: str, params: dict[str, Any], preds: Predictions, task: Task) -> np.ndarray:
    """Combined predictions: values (regression) or class probabilities (classification)."""
    stacked = _stacked(preds, task)
    if name in ("mean", "soft_vote"):
        return stacked.mean(axis=0)
    if name == "weighted":
        return np.tensordot(np.asarray(params["weights"]), stacked, 1)
    if name == "hard_vote":
        votes = np.zeros(stacked.shape[1:])
        for proba in stacked:
            votes[np.arange(len(proba)), np.argmax(proba, axis=1)] += 1.0
        votes += _TIE_BREAK * stacked.mean(axis=0)
        return votes / votes.sum(axis=1, keepdims=True)
    if name == "stack" and not task.is_classification:
        return stacked.T @ np.asarray(params["coefficients"]) + params["intercept"]
    if name == "stack":
        scores = _log_odds(preds, task) @ np.asarray(params["coefficients"]).T
        scores = scores + np.asarray(params["intercept"])
        if scores.shape[1] == 1:
            positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.column_stack([1.0 - positive, positive])
        return _softmax(scores)
    raise ValueError(f"unknown combiner {name!r} for {task.problem_type}")


def cross_fitted(name: str, preds: Predictions, y: np.ndarray, folds: list[np.ndarray],
                 task: Task, seed: int) -> np.ndarray:
    """Each fold's rows combined by a combiner fitted on the other folds' out-of-fold rows, so
    a fitted combiner's score is as honest as the parameter-free ones'."""
    out = None
    for oof_rows in folds:
        rest = np.setdiff1d(np.arange(len(y)), oof_rows)
        params = fit(name, {k: v[rest] for k, v in preds.items()}, y[rest], task, seed)
        part = apply(name, params, {k: v[oof_rows] for k, v in preds.items()}, task)
        if out is None:
            out = np.zeros((len(y),) + part.shape[1:])
        out[oof_rows] = part
    return out
