"""CatBoost on wide tables: each split searching every feature vs. the learner's rule.

The stacked ensemble's CatBoost searches a random half of the features at each split when a
table has more than CATBOOST_WIDE_FEATURES of them (learners.catboost_rsm); narrower tables are
unchanged. This times the learner as the training job fits it (learners.fit_catboost: early
stopping on a seeded slice, its threads and its defaults), on the same folds with and without
the rule, and prints each table's held-out loss and fit seconds (medians over folds, the
ratio taken fold by fold):
- wide: a seeded synthetic regression table, 2,000 rows x 300 numeric columns, 20 of which
  carry a non-linear signal (RMSE);
- digits: scikit-learn's 8x8 digits, 1,797 rows x 64 pixel columns, 10 classes (log loss).

    python bench/catboost_wide_bench.py [--folds 5] [--tables wide digits]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import KFold, StratifiedKFold

from steps.stacked_ensemble import learners
from steps.stacked_ensemble.features import coerce, infer_spec
from steps.stacked_ensemble.learners import LearnerSettings, fit_catboost, stopping_split
from steps.stacked_ensemble.task import Task


def wide_table(rows: int = 2000, columns: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, columns))
    y = (np.sin(x[:, :10]).sum(axis=1) + (x[:, 10:20] ** 2).sum(axis=1) / 4
         + rng.normal(scale=1.0, size=rows))
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(columns)]), y


def digits_table() -> tuple[pd.DataFrame, np.ndarray]:
    data = load_digits()
    return pd.DataFrame(data.data, columns=[f"p{i}" for i in range(64)]), data.target


def held_out_loss(model, x: pd.DataFrame, y: np.ndarray, task: Task) -> float:
    if task.is_classification:
        probabilities = np.clip(model.predict_proba(x), 1e-15, 1.0)
        return float(-np.mean(np.log(probabilities[np.arange(len(y)), y])))
    return float(np.sqrt(np.mean((model.predict(x) - y) ** 2)))


def fit_fold(x: pd.DataFrame, y: np.ndarray, task: Task, train: np.ndarray, test: np.ndarray,
             wide_rule: bool) -> tuple[float, float]:
    """(held-out loss, fit seconds) of CatBoost fitted as the training job does."""
    settings = LearnerSettings()
    spec = infer_spec(x)
    features = coerce(x, spec, "bench")
    fit_rows, stop_rows = stopping_split(y[train], task, settings)
    fit_x, fit_y = features.iloc[train[fit_rows]], y[train[fit_rows]]
    stop = (features.iloc[train[stop_rows]], y[train[stop_rows]])
    saved = learners.CATBOOST_WIDE_FEATURES
    learners.CATBOOST_WIDE_FEATURES = saved if wide_rule else 10**9  # 10**9: every feature
    try:
        started = time.perf_counter()
        model = fit_catboost(fit_x, fit_y, spec, task, settings, None, stop)
        seconds = time.perf_counter() - started
    finally:
        learners.CATBOOST_WIDE_FEATURES = saved
    return held_out_loss(model, features.iloc[test], y[test], task), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--tables", nargs="+", default=["wide", "digits"],
                        choices=["wide", "digits"])
    args = parser.parse_args()
    print(f"CatBoost wide-table bench: {args.folds} folds, rule: rsm "
          f"{learners.CATBOOST_WIDE_RSM} above {learners.CATBOOST_WIDE_FEATURES} features, "
          f"{learners.THREADS} threads, {os.cpu_count()} cores; defaults {LearnerSettings()}")
    for name in args.tables:
        x, y = wide_table() if name == "wide" else digits_table()
        task = Task("regression") if name == "wide" else Task("classification",
                                                               tuple(range(10)))
        splitter = (StratifiedKFold if task.is_classification else KFold)(
            args.folds, shuffle=True, random_state=0)
        figures: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for train, test in splitter.split(x, y):
            for wide_rule in (False, True):  # interleaved: drift hits both alike
                figures[wide_rule].append(fit_fold(x, y, task, train, test, wide_rule))
        loss = {rule: statistics.mean(f[0] for f in runs) for rule, runs in figures.items()}
        seconds = {rule: statistics.median(f[1] for f in runs) for rule, runs in figures.items()}
        ratio = statistics.median(every[1] / rule[1] for every, rule in
                                  zip(figures[False], figures[True], strict=True))
        metric = "log loss" if task.is_classification else "RMSE"
        print(f"{name} ({x.shape[0]} x {x.shape[1]}, rsm {learners.catboost_rsm(x.shape[1])}): "
              f"{metric} every feature {loss[False]:.4f}, rule {loss[True]:.4f} "
              f"({loss[True] / loss[False]:.3f} x); fit seconds median every feature "
              f"{seconds[False]:.1f}, rule {seconds[True]:.1f}; speed-up {ratio:.2f}x",
              flush=True)


if __name__ == "__main__":
    main()
