"""Training job (SageMaker script mode): every base learner and combiner in one job.

Reads the train and validation channels, computes k-fold out-of-fold predictions, chooses the
combiner by its out-of-fold objective, refits the learners on the whole train channel, scores
everything on the validation channel and prints one metric line per score
(contract.METRIC_LINE, e.g. `validation-rmse:54.210000;` for the tuning objective).

Hyperparameters arrive as `--name value` (SageMaker may JSON-quote values). SageMaker's own
(`--sagemaker_*`) and the tuner's (`--_tuning_objective_metric`) are ignored; any other
unknown name is an error. Paths: --train/--validation/--model-dir/--output-data-dir, defaulting
to SM_CHANNEL_TRAIN, SM_CHANNEL_VALIDATION, SM_MODEL_DIR and SM_OUTPUT_DATA_DIR.
"""
from __future__ import annotations

import json
import logging
import platform
import random
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import catboost
import numpy as np
import pandas as pd
import scipy
import sklearn
import xgboost

from steps.common import metrics
from steps.common.cli import (
    StepArgumentParser,
    column_name,
    env_path,
    hp_float,
    hp_int,
    hp_str,
    run_step,
)
from steps.common.date_values import DateColumn
from steps.common.files import read_csv_table, write_csv_atomic, write_json_atomic
from steps.stacked_ensemble import combiners, contract, ensemble
from steps.stacked_ensemble.features import coerce, infer_spec, split_target, with_category_orders
from steps.stacked_ensemble.learners import LearnerSettings
from steps.stacked_ensemble.out_of_fold import TrainedEnsemble, fit_ensemble, objective
from steps.stacked_ensemble.task import Task

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
OOF_FILE = "oof_predictions.csv"



def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="train.py", description=__doc__.splitlines()[0])
    parser.add_argument("--train",
                        default=env_path("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    parser.add_argument("--validation", default=env_path("SM_CHANNEL_VALIDATION",
                                                          "/opt/ml/input/data/validation"))
    parser.add_argument("--model-dir", "--model_dir", dest="model_dir",
                        default=env_path("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--output-data-dir", "--output_data_dir", dest="output_data_dir",
                        default=env_path("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data"))
    parser.add_argument("--problem_type", type=hp_str, required=True,
                        choices=contract.PROBLEM_TYPES)
    parser.add_argument("--target_column", type=column_name, required=True)
    parser.add_argument("--k_fold", type=hp_int, default=contract.K_FOLD)
    types = {int: hp_int, float: hp_float}
    for field in fields(LearnerSettings):
        kind = type(field.default) if field.default is not None else str
        parser.add_argument(f"--{field.name}", type=types.get(kind, hp_str), default=field.default)
    return parser


def parse_args(argv: list[str] | None) -> Any:
    return build_parser().parse_hyperparameters(argv)


def settings_from(args: Any) -> LearnerSettings:
    return LearnerSettings(**{f.name: getattr(args, f.name) for f in fields(LearnerSettings)})


def validation_scores(trained: TrainedEnsemble, task: Task, x: pd.DataFrame,
                      y: np.ndarray) -> dict[str, dict[str, float]]:
    """Scores of every learner, every combiner and (as 'ensemble') the chosen combiner."""
    learner_preds = trained.learners.predict(x)
    scores = {n: metrics.score(task.is_classification, y, p) for n, p in learner_preds.items()}
    for name, params in trained.combiner_params.items():
        pred = combiners.apply(name, params, learner_preds, task)
        scores[name] = metrics.score(task.is_classification, y, pred)
    scores["ensemble"] = scores[trained.chosen]
    return scores


def metric_lines(task: Task, oof: dict[str, dict[str, float]],
                 validation: dict[str, dict[str, float]], chosen: str) -> list[str]:
    """The lines AMT and the pipeline read: chosen first, then every learner and combiner."""
    names = [objective(task)] + (["accuracy"] if task.is_classification else [])
    subjects = [*contract.LEARNERS[task.problem_type], *contract.COMBINERS[task.problem_type]]
    lines = []
    for metric in names:
        value = validation[chosen][metric]
        lines.append(contract.METRIC_LINE.format(
            name=contract.metric_line_name("validation", metric), value=value))
        lines.append(contract.METRIC_LINE.format(
            name=contract.metric_line_name("oof", metric), value=oof[chosen][metric]))
        for subject in subjects:
            for split, scores in (("validation", validation), ("oof", oof)):
                lines.append(contract.METRIC_LINE.format(
                    name=contract.metric_line_name(split, metric, subject),
                    value=scores[subject][metric]))
    return lines


def library_versions() -> dict[str, str]:
    return {"python": platform.python_version(), "numpy": np.__version__,
            "pandas": pd.__version__, "scikit-learn": sklearn.__version__,
            "scipy": scipy.__version__, "xgboost": xgboost.__version__,
            "catboost": catboost.__version__}


def _oof_table(trained: TrainedEnsemble, task: Task, y: np.ndarray) -> pd.DataFrame:
    """One row per training row: its fold, target and each learner's out-of-fold prediction."""
    fold_of = np.zeros(len(y), dtype=int)
    for number, fold in enumerate(trained.folds):
        fold_of[fold.oof] = number
    columns: dict[str, Any] = {"row": np.arange(len(y)), "fold": fold_of, "target": y}
    for name, pred in trained.oof_predictions.items():
        if task.is_classification:
            for index, label in enumerate(task.classes):
                columns[f"{name}_p{label}"] = pred[:, index]
        else:
            columns[name] = pred
    return pd.DataFrame(columns)


def _found_by_preprocessing(train_dir: Path, file_name: str) -> dict[str, Any]:
    """What preprocessing wrote beside the training split (CATEGORY_ORDERS_FILE: a Parquet
    input's ordered categories; DATE_COLUMNS_FILE: the date columns' formats and parts); {} if
    none."""
    path = train_dir / file_name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def run(args: Any) -> dict[str, Any]:
    """Train, score, print metric lines and write the model and output directories."""
    started = time.monotonic()
    random.seed(args.seed)
    np.random.seed(args.seed)  # the learners take the seed too; this covers any global draw
    settings = settings_from(args)
    orders = _found_by_preprocessing(Path(args.train), contract.CATEGORY_ORDERS_FILE)
    dates = {name: DateColumn.from_json(date) for name, date in _found_by_preprocessing(
        Path(args.train), contract.DATE_COLUMNS_FILE).items()}
    table = read_csv_table(Path(args.train), dtype={name: str for name in [*orders, *dates]})
    features, target = split_target(table, args.target_column, "train channel")
    spec = infer_spec(with_category_orders(features, orders), dates)
    task = Task.from_target(args.problem_type, target)
    x = coerce(features, spec, "train channel")
    y = task.encode(target, "train channel")
    dtypes = spec.csv_dtypes()
    valid_table = read_csv_table(Path(args.validation), dtype=dtypes)
    valid_features, valid_target = split_target(valid_table, args.target_column,
                                                "validation channel")
    x_valid = coerce(valid_features, spec, "validation channel")
    y_valid = task.encode(valid_target, "validation channel")
    logger.info("training %s on %d rows (%d numeric, %d date (%d parts), %d categorical "
                "features), k_fold=%d", task.problem_type, len(y), len(spec.numeric),
                len(spec.dates), len(spec.date_parts), len(spec.categorical), args.k_fold)
    trained = fit_ensemble(x, y, spec, task, settings, args.k_fold)
    validation = validation_scores(trained, task, x_valid, y_valid)
    for line in metric_lines(task, trained.oof_scores, validation, trained.chosen):
        print(line, flush=True)
    metadata = {
        **task.to_json(),
        "target": args.target_column,
        "features": spec.to_json(),
        "learners": list(contract.LEARNERS[task.problem_type]),
        "combiners": list(contract.COMBINERS[task.problem_type]),
        "chosen_combiner": trained.chosen,
        "metrics": {"oof": trained.oof_scores, "validation": validation},
        "rows": {"train": len(y), "validation": len(y_valid)},
        "k_fold": args.k_fold,
        "seed": settings.seed,
        "hyperparameters": settings.to_json(),
        "boosting_rounds": trained.rounds_json(),
        "versions": library_versions(),
    }
    ensemble.save(Path(args.model_dir), trained, metadata)
    output = Path(args.output_data_dir)
    summary = {"chosen_combiner": trained.chosen, "objective": objective(task),
               "validation": validation, "oof": trained.oof_scores,
               "seconds": round(time.monotonic() - started, 3)}
    write_json_atomic(output / METRICS_FILE, summary)
    write_csv_atomic(output / OOF_FILE, _oof_table(trained, task, y))
    logger.info("chosen combiner %s; validation %s %.6f", trained.chosen, objective(task),
                validation["ensemble"][objective(task)])
    return summary


def main(argv: list[str] | None = None) -> int:
    return run_step(run, parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
