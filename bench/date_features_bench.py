"""Dates read as days since 1970-01-01 and calendar parts vs. days alone vs. dates taken as
categories (the pipelines before).

A seeded synthetic orders table (the project has no bundled table with dates): `--rows` orders
over three years, each with its date written `%d/%m/%Y`, a store (3 values) and a price; units
grow with the date (a trend of 0.05 a day), fall with the price, differ by store, and rise by
`--weekend` (10) on weekends (which days alone do not carry; 0: no seasonality, where the parts
can only cost), plus noise (sd 2). The whole stacked ensemble
is fitted as the training job fits it (out_of_fold.fit_ensemble, the default learner settings,
5 folds) on 70% of the rows and scored on the other 30% (RMSE), side by side on the same
split: the date column read as preprocessing reads it (date_columns: its days and the parts
that vary, here weekday and month), as days alone, and as a category; the naive predictor (the
training mean) beside them. Medians over `--seeds`.

    python bench/date_features_bench.py [--rows 1500] [--seeds 0 1 2] [--weekend 10]
"""
from __future__ import annotations

import argparse
import statistics

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from steps.common.date_values import DateColumn, date_columns
from steps.stacked_ensemble.ensemble import Ensemble
from steps.stacked_ensemble.features import coerce, infer_spec
from steps.stacked_ensemble.learners import LearnerSettings
from steps.stacked_ensemble.out_of_fold import fit_ensemble
from steps.stacked_ensemble.task import Task

START = pd.Timestamp("2020-01-01")


def orders(rows: int, seed: int, weekend: float) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    day = rng.integers(0, 1100, rows)
    dates = START + pd.to_timedelta(day, unit="D")
    store = rng.choice(["north", "south", "east"], rows)
    price = rng.uniform(1.0, 5.0, rows)
    units = (0.05 * day - 2.0 * price + pd.Series(store).map(
        {"north": 0.0, "south": 5.0, "east": -3.0}).to_numpy()
        + weekend * (dates.day_of_week >= 5) + rng.normal(0.0, 2.0, rows))
    return pd.DataFrame({"ordered": dates.strftime("%d/%m/%Y"), "store": store,
                         "price": price.round(2)}), units


def test_rmse(frame: pd.DataFrame, units: np.ndarray, dates: dict[str, DateColumn],
              seed: int) -> float:
    train, test = train_test_split(np.arange(len(frame)), test_size=0.3, random_state=seed)
    spec = infer_spec(frame, dates)
    task = Task("regression")
    x = coerce(frame, spec, "bench")
    trained = fit_ensemble(x.iloc[train].reset_index(drop=True), units[train], spec, task,
                           LearnerSettings(seed=seed), k_fold=5)
    model = Ensemble(spec, task, trained.learners, trained.combiner_params, trained.chosen, {})
    predicted = model.predict(x.iloc[test].reset_index(drop=True))
    return float(np.sqrt(np.mean((predicted - units[test]) ** 2)))


def naive_rmse(units: np.ndarray, seed: int) -> float:
    train, test = train_test_split(np.arange(len(units)), test_size=0.3, random_state=seed)
    return float(np.sqrt(np.mean((units[test] - units[train].mean()) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--weekend", type=float, default=10.0)
    args = parser.parse_args()
    print(f"configuration: {args.rows} synthetic orders, dates %d/%m/%Y over 1,100 days, "
          f"weekend effect {args.weekend:g}, "
          f"stacked ensemble (default learner settings, 5 folds), 70/30 split, "
          f"seeds {args.seeds}")
    figures: dict[str, list[float]] = {"dates": [], "days alone": [], "categories": [],
                                       "naive": []}
    for seed in args.seeds:
        frame, units = orders(args.rows, seed, args.weekend)
        found = date_columns(frame)
        days_alone = {name: DateColumn(date.format) for name, date in found.items()}
        figures["dates"].append(test_rmse(frame, units, found, seed))
        figures["days alone"].append(test_rmse(frame, units, days_alone, seed))
        figures["categories"].append(test_rmse(frame, units, {}, seed))
        figures["naive"].append(naive_rmse(units, seed))
        print(f"seed {seed}: dates found {found}; test RMSE "
              + ", ".join(f"{name} {values[-1]:.3f}" for name, values in figures.items()),
              flush=True)
    median = {name: statistics.median(values) for name, values in figures.items()}
    print("median test RMSE: " + ", ".join(
        f"{name} {value:.3f} ({value / median['naive']:.2f} x naive)"
        for name, value in median.items()))
    print(f"dates / categories {median['dates'] / median['categories']:.2f}; "
          f"dates / days alone {median['dates'] / median['days alone']:.2f}")


if __name__ == "__main__":
    main()
