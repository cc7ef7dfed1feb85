"""Benchmark of the stacked ensemble: quality against the seed's blend, training time, serving.

Prints figures; asserts nothing. Run: `python bench/stacked_ensemble_bench.py` (a few minutes
on 2 cores). Quality on diabetes uses 3 x repeated 5-fold CV with the same outer folds for
every learner and combiner; the combiner is chosen inside each outer fold's training rows
(its own inner k-fold), exactly as the training job does, so the outer rows stay unseen.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import RepeatedKFold, StratifiedKFold

from steps.stacked_ensemble import combiners, contract, inference, metrics
from steps.stacked_ensemble.features import coerce, infer_spec
from steps.stacked_ensemble.learners import LearnerSettings
from steps.stacked_ensemble.task import Task
from steps.stacked_ensemble.training import fit_ensemble

SCRIPTS = Path(__file__).resolve().parents[1] / "steps" / "stacked_ensemble"
RMSE_RATIO_TARGET = 0.985
RMSE_TARGET = 55.0


def _table(rows: list[list], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).rjust(w) for v, w in zip(row, widths, strict=True))
             for row in [header, *rows]]
    return "\n".join(lines)


def _outer_predictions(frame: pd.DataFrame, target: str, task_type: str, splits,
                       settings: LearnerSettings, k_fold: int):
    """Per outer fold: every learner's and combiner's predictions on the held-out rows."""
    features = frame.drop(columns=[target])
    spec = infer_spec(features)
    x = coerce(features, spec, "bench")
    task = Task.from_target(task_type, frame[target])
    y = task.encode(frame[target], "bench")
    for train_rows, test_rows in splits(x, y):
        trained = fit_ensemble(x.iloc[train_rows], y[train_rows], spec, task, settings, k_fold)
        learners = trained.learners.predict(x.iloc[test_rows])
        combined = {name: combiners.apply(name, params, learners, task)
                    for name, params in trained.combiner_params.items()}
        yield y[test_rows], learners, combined, trained.chosen


def diabetes_quality(settings: LearnerSettings, k_fold: int, repeats: int, seed: int) -> None:
    frame = load_diabetes(as_frame=True).frame
    outer = RepeatedKFold(n_splits=5, n_repeats=repeats, random_state=seed)
    learner_names = contract.LEARNERS[contract.REGRESSION]
    names = [*learner_names, "seed_blend", *contract.COMBINERS["regression"], "chosen"]
    scores: dict[str, list[float]] = {n: [] for n in names}
    squared: dict[str, list[np.ndarray]] = {n: [] for n in names}
    rows, chosen_names = [], []
    started = time.perf_counter()
    for number, (y, learners, combined, chosen) in enumerate(_outer_predictions(
            frame, "target", "regression", outer.split, settings, k_fold), start=1):
        preds = {**learners, "seed_blend": (learners["catboost"] + learners["xgboost"]) / 2,
                 **combined, "chosen": combined[chosen]}
        for name in names:
            scores[name].append(metrics.rmse(y, preds[name]))
            squared[name].append((y - preds[name]) ** 2)
        chosen_names.append(chosen)
        rows.append([number, *(f"{scores[n][-1]:.2f}" for n in names), chosen,
                     f"{scores['chosen'][-1] / scores['seed_blend'][-1]:.4f}"])
    print(f"\n## Diabetes regression: RMSE per outer fold (5 folds x {repeats} repeats, paired)")
    print(_table(rows, ["fold", *names, "chosen_is", "chosen/blend"]))
    print("\nsummary (RMSE)          mean   median  pooled")
    for name in names:
        pooled = float(np.sqrt(np.mean(np.concatenate(squared[name]))))
        print(f"  {name:<20} {statistics.mean(scores[name]):7.3f} "
              f"{statistics.median(scores[name]):7.3f} {pooled:7.3f}")
    ratios = [c / b for c, b in zip(scores["chosen"], scores["seed_blend"], strict=True)]
    wins = sum(r < 1 for r in ratios)
    mean_chosen = statistics.mean(scores["chosen"])
    ratio = mean_chosen / statistics.mean(scores["seed_blend"])
    best_single = min(statistics.mean(scores[n]) for n in learner_names)
    print(f"\nchosen combiners: { {n: chosen_names.count(n) for n in sorted(set(chosen_names))} }")
    print(f"chosen/seed-blend ratio of mean RMSE: {ratio:.4f} (target <= {RMSE_RATIO_TARGET}); "
          f"median fold ratio {statistics.median(ratios):.4f}; chosen better in {wins} of "
          f"{len(ratios)} folds")
    verdict = {True: "MET", False: "MISSED"}
    print(f"targets: ratio <= {RMSE_RATIO_TARGET}: {verdict[ratio <= RMSE_RATIO_TARGET]}; "
          f"mean RMSE < {RMSE_TARGET}: {verdict[mean_chosen < RMSE_TARGET]}; below every "
          f"single learner ({best_single:.3f}): {verdict[mean_chosen < best_single]}")
    print(f"(quality run took {time.perf_counter() - started:.0f} s)")


def cancer_quality(settings: LearnerSettings, k_fold: int, seed: int) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    outer = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    names = [*contract.LEARNERS[contract.CLASSIFICATION], *contract.COMBINERS["classification"],
             "chosen"]
    logloss: dict[str, list[float]] = {n: [] for n in names}
    accuracy: dict[str, list[float]] = {n: [] for n in names}
    chosen_names = []
    for y, learners, combined, chosen in _outer_predictions(
            frame, "target", "classification", outer.split, settings, k_fold):
        preds = {**learners, **combined, "chosen": combined[chosen]}
        for name in names:
            logloss[name].append(metrics.logloss(y, preds[name]))
            accuracy[name].append(metrics.accuracy(y, preds[name]))
        chosen_names.append(chosen)
    print("\n## Breast cancer classification (5 outer stratified folds, mean over folds)")
    print(_table([[n, f"{statistics.mean(logloss[n]):.4f}", f"{statistics.mean(accuracy[n]):.4f}"]
                  for n in names], ["subject", "logloss", "accuracy"]))
    print(f"chosen combiners: { {n: chosen_names.count(n) for n in sorted(set(chosen_names))} }")


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
        model = inference.model_fn(str(root / "model"))
        serving(model, load_diabetes(as_frame=True).data, seed)


def serving(model, features: pd.DataFrame, seed: int) -> None:
    rng = np.random.default_rng(seed)
    print("\n## Inference handler: input_fn(text/csv) + predict_fn + output_fn(application/json)")
    for batch, repeats in ((1, 51), (10_000, 7)):
        body = features.iloc[rng.integers(0, len(features), batch)].to_csv(index=False,
                                                                          header=False)
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            prediction = inference.predict_fn(inference.input_fn(body, "text/csv"), model)
            inference.output_fn(prediction, "application/json")
            timings.append(time.perf_counter() - started)
        median = statistics.median(timings)
        print(f"batch {batch:>6}: median {median * 1000:8.2f} ms per call over {repeats} runs, "
              f"{batch / median:10.0f} rows/s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--k-fold", type=int, default=5)
    parser.add_argument("--timing-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip", choices=["diabetes", "cancer", "timing"], nargs="*",
                        default=[])
    args = parser.parse_args(argv)
    settings = LearnerSettings(seed=args.seed)
    print("# Stacked ensemble benchmark")
    print(f"learner settings (training job defaults): {settings.to_json()}")
    print(f"inner k_fold {args.k_fold}; outer CV seed {args.seed}; "
          f"combiners regression {contract.COMBINERS['regression']}, classification "
          f"{contract.COMBINERS['classification']}; chosen by cross-fitted OOF "
          f"{contract.OBJECTIVE_METRIC}")
    print("seed blend = mean of CatBoost and XGBoost at the same settings")
    if "diabetes" not in args.skip:
        diabetes_quality(settings, args.k_fold, args.repeats, args.seed)
    if "cancer" not in args.skip:
        cancer_quality(settings, args.k_fold, args.seed)
    if "timing" not in args.skip:
        training_time_and_serving(args.seed, args.timing_runs)


if __name__ == "__main__":
    main()
