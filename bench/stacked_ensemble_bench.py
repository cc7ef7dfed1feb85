"""Benchmark of the stacked ensemble: quality against the seed's blend and the best single
learner, training time, serving.

Prints figures; asserts nothing. Run: `python bench/stacked_ensemble_bench.py` (about 12
minutes on 2 quiet cores; `--tables` picks some). Every table is scored with outer k-fold CV, the same
outer folds for every learner and combiner (paired); the combiner is chosen inside each outer
fold's training rows (its own inner k-fold), exactly as the training job does, so the outer
rows stay unseen. The learners run at the training job's defaults (`LearnerSettings`):
boosters sized by early stopping. `--ceilings` adds, per regression table, what any combiner
of the learners could reach (ensemble_ceilings.py): whether a combiner target is reachable at
all. `--score-folds N` scores the first N outer folds only (diamonds in full takes an hour on
a shared 2-core machine; two of five folds score 21,576 rows).

Tables (`pip install -e '.[bench]'` or `make bench` installs what they need; nothing is
downloaded at run time):
- diabetes: scikit-learn's bundled diabetes data (442 rows, 10 numeric columns; BSD-3),
  3 x repeated 5-fold CV, scored by the mean of the 15 fold RMSEs as before.
- diamonds: ggplot2's diamonds (53,940 rows; carat, depth, table, x, y, z and the ordered
  categoricals cut, color, clarity; target price), as the PyPI package plotnine ships it
  (`plotnine.data`, MIT licence, as is ggplot2's data). 5-fold out-of-fold RMSE.
- txhousing: ggplot2's txhousing (Texas housing market by city and month; 8,602 rows, 7,986
  with a median price; the categorical city with 46 values, missing sales, listings and
  inventory; target median, the monthly median sale price; the redundant `date` column is
  dropped), from plotnine too. 5-fold out-of-fold RMSE.
- cancer: scikit-learn's breast cancer data (classification), 5 stratified folds.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from ensemble_ceilings import (  # this folder's modules (run as a script)
    ceilings,
    correlation_lines,
    report,
)
from serving_bench import in_process
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import KFold, RepeatedKFold, StratifiedKFold

from steps.common import metrics
from steps.stacked_ensemble import combiners, contract
from steps.stacked_ensemble.features import coerce, infer_spec
from steps.stacked_ensemble.learners import BOOSTERS, LearnerSettings
from steps.stacked_ensemble.out_of_fold import fit_ensemble
from steps.stacked_ensemble.task import Task

SCRIPTS = Path(__file__).resolve().parents[1] / "steps" / "stacked_ensemble"
DIABETES_RATIO_TARGET = 0.985   # chosen / seed's blend
TABLE_BLEND_TARGET = 0.97       # chosen / seed's blend, on the larger tables
TABLE_SINGLE_TARGET = 0.99      # chosen / best single learner, on every table
RMSE_TARGET = 55.0              # diabetes
TABLES = ("diabetes", "diamonds", "txhousing", "cancer", "timing")


def _table(rows: list[list], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).rjust(w) for v, w in zip(row, widths, strict=True))
             for row in [header, *rows]]
    return "\n".join(lines)


@dataclass
class OuterFold:
    """One outer fold: the held-out targets, every subject's predictions, and the fit."""

    y: np.ndarray
    preds: dict[str, np.ndarray]
    chosen: str
    seconds: float
    rounds: dict[str, dict]


@dataclass
class Pooled:
    """One run's learners' out-of-fold predictions, every outer fold's rows in turn: the
    rows' targets, their outer fold and the seed's blend's pooled RMSE."""

    y: np.ndarray
    folds: np.ndarray
    learners: dict[str, np.ndarray]
    blend: float


def _outer_folds(frame: pd.DataFrame, target: str, task_type: str, splits: Callable,
                 settings: LearnerSettings, k_fold: int,
                 max_folds: int | None = None) -> Iterator[OuterFold]:
    """Per outer fold (the first `max_folds`, or all): every learner's and combiner's
    predictions on the held-out rows."""
    features = frame.drop(columns=[target])
    spec = infer_spec(features)
    x = coerce(features, spec, "bench")
    task = Task.from_target(task_type, frame[target])
    y = task.encode(frame[target], "bench")
    for train_rows, test_rows in itertools.islice(splits(x, y), max_folds):
        started = time.perf_counter()
        trained = fit_ensemble(x.iloc[train_rows], y[train_rows], spec, task, settings, k_fold)
        seconds = time.perf_counter() - started
        learners = trained.learners.predict(x.iloc[test_rows])
        combined = {name: combiners.apply(name, params, learners, task)
                    for name, params in trained.combiner_params.items()}
        preds = {**learners, **combined, "chosen": combined[trained.chosen]}
        if not task.is_classification:
            preds["seed_blend"] = (learners["catboost"] + learners["xgboost"]) / 2
        yield OuterFold(y[test_rows], preds, trained.chosen, seconds, trained.rounds_json())


def _verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


def regression_quality(title: str, frame: pd.DataFrame, target: str, splits: Callable,
                       settings: LearnerSettings, k_fold: int, blend_target: float,
                       by_fold_mean: bool, with_ceilings: bool,
                       max_folds: int | None = None) -> Pooled:
    """Every learner, the seed's blend, every combiner and the chosen one, paired on the
    same outer folds; the headline RMSE is the mean over folds (`by_fold_mean`) or the
    pooled out-of-fold RMSE (each row predicted once). `with_ceilings`: also what any
    combiner of these learners could reach (ensemble_ceilings), on the pooled predictions."""
    learner_names = list(contract.LEARNERS[contract.REGRESSION])
    names = [*learner_names, "seed_blend", *contract.COMBINERS[contract.REGRESSION], "chosen"]
    folds = list(_outer_folds(frame, target, contract.REGRESSION, splits, settings, k_fold,
                              max_folds))
    fold_rmse = {n: [metrics.rmse(f.y, f.preds[n]) for f in folds] for n in names}
    pooled = {n: float(np.sqrt(np.mean(np.concatenate([(f.y - f.preds[n]) ** 2
                                                        for f in folds])))) for n in names}
    headline = {n: statistics.mean(fold_rmse[n]) for n in names} if by_fold_mean else pooled
    print(f"\n## {title}: {len(frame):,} rows, target {target!r} "
          f"(mean {frame[target].mean():.4g}, sd {frame[target].std():.4g}); "
          f"target_transform={settings.target_transform}")
    rows = [[number, *(f"{fold_rmse[n][number - 1]:.4g}" for n in names), fold.chosen,
             f"{fold.seconds:.0f}"] for number, fold in enumerate(folds, start=1)]
    print(_table(rows, ["fold", *names, "chosen_is", "fit_s"]))
    print(f"\nRMSE           {'mean of folds' if by_fold_mean else 'pooled out-of-fold'}"
          f"   {'pooled' if by_fold_mean else 'mean of folds'}")
    for name in names:
        other = pooled[name] if by_fold_mean else statistics.mean(fold_rmse[name])
        print(f"  {name:<12} {headline[name]:14.4f} {other:14.4f}")
    best_single = min(learner_names, key=headline.get)
    to_blend = headline["chosen"] / headline["seed_blend"]
    to_single = headline["chosen"] / headline[best_single]
    wins = sum(c < b for c, b in zip(fold_rmse["chosen"], fold_rmse["seed_blend"], strict=True))
    print(f"chosen combiners: {_counts([f.chosen for f in folds])}; chosen better than the "
          f"seed's blend in {wins} of {len(folds)} folds")
    for booster in BOOSTERS:
        print(f"{booster} rounds (refit per outer fold; inner folds' early stops): "
              + "; ".join(f"{f.rounds[booster]['refit']} {f.rounds[booster]['folds']}"
                          for f in folds))
    print(f"fit_ensemble seconds per outer fold: median "
          f"{statistics.median(f.seconds for f in folds):.1f} (about "
          f"{len(frame) - len(folds[0].y):,} training rows each)")
    print(f"targets: chosen / seed's blend {to_blend:.4f} (<= {blend_target}: "
          f"{_verdict(to_blend <= blend_target)}); chosen / best single ({best_single}) "
          f"{to_single:.4f} (<= {TABLE_SINGLE_TARGET}: {_verdict(to_single <= TABLE_SINGLE_TARGET)})")
    out = Pooled(np.concatenate([f.y for f in folds]),
                 np.concatenate([np.full(len(f.y), i) for i, f in enumerate(folds)]),
                 {n: np.concatenate([f.preds[n] for f in folds]) for n in learner_names},
                 pooled["seed_blend"])
    if with_ceilings:
        print("ceilings (pooled out-of-fold predictions of the learners; RMSE):")
        _print_ceilings(out, out.learners, blend_target)
    return out


def _print_ceilings(pooled: Pooled, learners: dict[str, np.ndarray], blend_target: float,
                    correlations: bool = True) -> None:
    bounds = ceilings(pooled.y, learners, pooled.folds)
    best_single = min(metrics.rmse(pooled.y, p) for p in learners.values())
    lines = report(bounds, pooled.blend, best_single, blend_target, TABLE_SINGLE_TARGET)
    for line in lines + (correlation_lines(bounds) if correlations else []):
        print(f"  {line}")


def joint_ceilings(runs: dict[str, Pooled], blend_target: float) -> None:
    """What the learners of every target transform together could reach (e.g. boosters on
    the log target alongside the raw ones), against each transform's own seed's blend. The
    runs share their outer folds (same table, same seed), so their rows line up."""
    first = next(iter(runs.values()))
    for pooled in runs.values():
        if not np.array_equal(pooled.y, first.y):
            raise ValueError("the transforms' runs did not score the same rows in one order")
    learners = {f"{name}_{transform}": pred for transform, pooled in runs.items()
                for name, pred in pooled.learners.items()}
    for number, (transform, pooled) in enumerate(runs.items()):
        print(f"\nceilings of the learners of every transform ({', '.join(runs)}) together, "
              f"against the seed's blend with target_transform={transform}:")
        _print_ceilings(pooled, learners, blend_target, correlations=number == len(runs) - 1)


def _counts(names: list[str]) -> dict[str, int]:
    return {n: names.count(n) for n in sorted(set(names))}


def diamonds() -> tuple[pd.DataFrame, str]:
    from plotnine.data import diamonds as table  # ordered categoricals, as ggplot2 has them

    return table.copy(), "price"


def txhousing() -> tuple[pd.DataFrame, str]:
    from plotnine.data import txhousing as table

    table = table.drop(columns=["date"])  # year + (month - 1) / 12: a copy of two columns
    return table.dropna(subset=["median"]).reset_index(drop=True), "median"


def export_csv(folder: Path) -> None:
    """The larger tables as CSV files, as a user would hand them to the pipeline (a CSV keeps
    no category order: cut, color and clarity arrive as plain text)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, load in (("diamonds", diamonds), ("txhousing", txhousing)):
        frame, target = load()
        frame.to_csv(folder / f"{name}.csv", index=False)
        print(f"{folder / f'{name}.csv'}: {len(frame):,} rows, {frame.shape[1]} columns, "
              f"target {target!r}")


def _sampled(frame: pd.DataFrame, rows: int | None, seed: int) -> pd.DataFrame:
    if rows is None or rows >= len(frame):
        return frame
    return frame.sample(rows, random_state=seed).reset_index(drop=True)


def cancer_quality(settings: LearnerSettings, k_fold: int, seed: int) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    outer = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    names = [*contract.LEARNERS[contract.CLASSIFICATION], *contract.COMBINERS["classification"],
             "chosen"]
    folds = list(_outer_folds(frame, "target", "classification", outer.split, settings, k_fold))
    print("\n## Breast cancer classification (5 outer stratified folds, mean over folds)")
    print(_table([[n, f"{statistics.mean(metrics.logloss(f.y, f.preds[n]) for f in folds):.4f}",
                   f"{statistics.mean(metrics.accuracy(f.y, f.preds[n]) for f in folds):.4f}"]
                  for n in names], ["subject", "logloss", "accuracy"]))
    print(f"chosen combiners: {_counts([f.chosen for f in folds])}")


def _run(script: str, args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, str(SCRIPTS / script), *args], check=True,
                   capture_output=True, text=True)
    return time.perf_counter() - started


def training_time_and_serving(seed: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        load_diabetes(as_frame=True).frame.to_csv(root / "diabetes.csv", index=False)
        _run("preprocess.py", ["--input-dir", str(root / "diabetes.csv"), "--output-dir",
                               str(root / "splits"), "--target-column", "target",
                               "--problem-type", "regression", "--seed", str(seed)])
        args = ["--train", str(root / "splits" / "train"), "--validation",
                str(root / "splits" / "validation"), "--model-dir", str(root / "model"),
                "--output-data-dir", str(root / "out"), "--problem_type", "regression",
                "--target_column", "target"]
        times = [_run("train.py", args) for _ in range(runs)]
        print("\n## Training job (train.py as a program, defaults, diabetes train split of "
              "310 rows, process start and imports included)")
        print(f"wall seconds per job: median {statistics.median(times):.2f} of "
              f"{[round(t, 2) for t in times]}")
        in_process({"regression": root / "model"},
                   {"regression": load_diabetes(as_frame=True).data}, seed, single_calls=101,
                   batch_calls=5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="*", choices=TABLES, default=list(TABLES))
    parser.add_argument("--repeats", type=int, default=3, help="diabetes: CV repeats")
    parser.add_argument("--k-fold", type=int, default=5, help="inner folds (the job's k_fold)")
    parser.add_argument("--outer-folds", type=int, default=5, help="diamonds and txhousing")
    parser.add_argument("--score-folds", type=int, default=None, metavar="N",
                        help="diamonds and txhousing: fit and score only the first N of the "
                             "outer folds (each still trains on the other folds' rows): the "
                             "full table's figures on fewer scored rows, in less time")
    parser.add_argument("--target-transform", nargs="+", choices=("none", "log"),
                        default=["log", "none"],
                        help="for the price tables (diamonds, txhousing)")
    parser.add_argument("--sample", type=int, default=None,
                        help="score a seeded sample of this many rows of the larger tables")
    parser.add_argument("--timing-runs", type=int, default=3)
    parser.add_argument("--ceilings", action="store_true",
                        help="regression tables: also print what any combiner of the learners "
                             "could reach (in-sample linear combination, per-row oracle and "
                             "hull), a cross-fitted stack and the learners' error correlations; "
                             "with both target transforms, also of their learners together")
    parser.add_argument("--export-csv", type=Path, default=None, metavar="DIR",
                        help="only write diamonds.csv and txhousing.csv to DIR (for "
                             "bench/stacked_pipeline_e2e_bench.py --csv) and stop")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if args.export_csv is not None:
        export_csv(args.export_csv)
        return
    settings = LearnerSettings(seed=args.seed)
    print("# Stacked ensemble benchmark")
    print(f"learner settings (training job defaults): {settings.to_json()}")
    print(f"inner k_fold {args.k_fold}; outer CV seed {args.seed}; "
          f"combiners regression {contract.COMBINERS['regression']}, classification "
          f"{contract.COMBINERS['classification']}; chosen by cross-fitted OOF "
          f"{contract.OBJECTIVE_METRIC}")
    print("seed blend = mean of CatBoost and XGBoost at the same settings")
    if "diabetes" in args.tables:
        outer = RepeatedKFold(n_splits=5, n_repeats=args.repeats, random_state=args.seed)
        regression_quality(f"Diabetes (5 folds x {args.repeats} repeats)",
                           load_diabetes(as_frame=True).frame, "target", outer.split, settings,
                           args.k_fold, DIABETES_RATIO_TARGET, by_fold_mean=True,
                           with_ceilings=args.ceilings)
    outer = KFold(n_splits=args.outer_folds, shuffle=True, random_state=args.seed)
    for name, load in (("diamonds", diamonds), ("txhousing", txhousing)):
        if name not in args.tables:
            continue
        frame, target = load()
        frame = _sampled(frame, args.sample, args.seed)
        scored = f", the first {args.score_folds} scored" if args.score_folds else ""
        runs = {transform: regression_quality(
            f"{name} ({args.outer_folds} outer folds{scored})", frame, target, outer.split,
            replace(settings, target_transform=transform), args.k_fold, TABLE_BLEND_TARGET,
            by_fold_mean=False, with_ceilings=args.ceilings, max_folds=args.score_folds)
            for transform in args.target_transform}
        if args.ceilings and len(runs) > 1:
            joint_ceilings(runs, TABLE_BLEND_TARGET)
    if "cancer" in args.tables:
        cancer_quality(settings, args.k_fold, args.seed)
    if "timing" in args.tables:
        training_time_and_serving(args.seed, args.timing_runs)


if __name__ == "__main__":
    main()
