"""Training job (SageMaker script mode), one per segment: XGBoost regression on the segment's
preprocessed features, early stopping on its validation split.

Reads the channel contract.SEGMENT_CHANNEL (`--segment-dir`, default $SM_CHANNEL_SEGMENT): the
preprocess job's `<id>/` folder (train.csv, validation.csv, preprocessor.joblib,
segment.json). Writes the model directory (preprocessor.joblib, xgboost-model.json cut at the
best iteration, metadata.json, serving.json) and $SM_OUTPUT_DATA_DIR/metrics.json, and prints
one metric line per score (contract.METRIC_LINE): train-/validation- rmse, mae and r2, then
best-iteration, e.g. `validation-rmse:41234.500000;`.

Hyperparameters arrive as `--name value` (SageMaker may JSON-quote values); SageMaker's own
(`--sagemaker_*`) and the tuner's (`--_tuning_*`) are ignored, any other unknown one is an
error. num_round defaults to 200, not the seed's 25: early stopping (5 rounds) ends training
when validation RMSE stops improving, and 25 rounds at eta 0.2 stop well before that.
"""
from __future__ import annotations

import json
import logging
import platform
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
import xgboost as xgb

from steps.common import metrics
from steps.common.cli import StepArgumentParser, env_path, hp_float, hp_int, hp_str, run_step
from steps.common.errors import InvalidData
from steps.common.files import read_csv_table, write_json_atomic
from steps.multi_model import contract, model
from steps.multi_model.features import Feature, coerce, csv_dtypes

logger = logging.getLogger(__name__)
# The seed's booster settings; num_round raised (see the module docstring).
DEFAULTS = {"max_depth": 5, "eta": 0.2, "gamma": 4.0, "min_child_weight": 6.0,
            "subsample": 0.8, "objective": "reg:squarederror", "num_round": 200,
            "early_stopping_rounds": 5, "seed": 42}



def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="train.py", description=__doc__.splitlines()[0])
    channel = f"SM_CHANNEL_{contract.SEGMENT_CHANNEL.upper()}"
    parser.add_argument("--segment-dir", "--segment_dir", dest="segment_dir",
                        default=env_path(channel,
                                          f"/opt/ml/input/data/{contract.SEGMENT_CHANNEL}"))
    parser.add_argument("--model-dir", "--model_dir", dest="model_dir",
                        default=env_path("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--output-data-dir", "--output_data_dir", dest="output_data_dir",
                        default=env_path("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data"))
    types = {int: hp_int, float: hp_float, str: hp_str}
    for name, default in DEFAULTS.items():
        parser.add_argument(f"--{name}", type=types[type(default)], default=default)
    return parser


def parse_args(argv: list[str] | None) -> Any:
    return build_parser().parse_hyperparameters(argv, known=list(DEFAULTS))


def check_hyperparameters(args: Any) -> None:
    problems = []
    if args.max_depth < 1:
        problems.append(f"max_depth={args.max_depth} (at least 1)")
    if not 0 < args.eta <= 1:
        problems.append(f"eta={args.eta} (in (0, 1])")
    if not 0 < args.subsample <= 1:
        problems.append(f"subsample={args.subsample} (in (0, 1])")
    if args.gamma < 0 or args.min_child_weight < 0:
        problems.append("gamma and min_child_weight must be >= 0")
    if args.num_round < 1 or args.early_stopping_rounds < 1:
        problems.append("num_round and early_stopping_rounds must be >= 1")
    if problems:
        raise InvalidData("bad hyperparameters: " + "; ".join(problems))


def read_segment(folder: Path) -> dict[str, Any]:
    path = folder / contract.SEGMENT_FILE
    if not path.is_file():
        raise InvalidData(f"{folder} holds no {contract.SEGMENT_FILE}: the "
                          f"{contract.SEGMENT_CHANNEL} channel must be one segment folder "
                          f"written by preprocess.py "
                          f"(its S3 prefix must end with '<id>/')")
    return json.loads(path.read_text(encoding="utf-8"))


def load_split(folder: Path, split: str, description: dict[str, Any],
               features: list[Feature]) -> tuple[pd.DataFrame, np.ndarray]:
    """A split's coerced features and target."""
    table = read_csv_table(folder / contract.SPLIT_FILES[split], dtype=csv_dtypes(features))
    target = description["target_column"]
    if target not in table.columns:
        raise InvalidData(f"{split} split has no target column {target!r}")
    x = coerce(table, features, f"{split} split")
    y = pd.to_numeric(table[target], errors="coerce").to_numpy(dtype=float)
    if np.isnan(y).any():
        raise InvalidData(f"{split} split: target {target!r} has empty or non-numeric values")
    return x, y


def booster_params(args: Any) -> dict[str, Any]:
    return {"objective": args.objective, "max_depth": args.max_depth, "eta": args.eta,
            "gamma": args.gamma, "min_child_weight": args.min_child_weight,
            "subsample": args.subsample, "seed": args.seed, "eval_metric": "rmse"}


def fit(args: Any, preprocessor: Any, x_train: pd.DataFrame, y_train: np.ndarray,
        x_valid: pd.DataFrame, y_valid: np.ndarray) -> xgb.Booster:
    """Train with early stopping; the returned booster holds trees up to the best round."""
    train = model.to_dmatrix(preprocessor, x_train, y_train)
    valid = model.to_dmatrix(preprocessor, x_valid, y_valid)
    try:
        booster = xgb.train(booster_params(args), train, num_boost_round=args.num_round,
                            evals=[(train, "train"), (valid, "validation")],
                            early_stopping_rounds=args.early_stopping_rounds, verbose_eval=False)
    except xgb.core.XGBoostError as error:
        raise InvalidData(f"XGBoost refused the settings: {str(error).splitlines()[0]}") from None
    return booster[: booster.best_iteration + 1]


def metric_lines(scores: dict[str, dict[str, float]], best_iteration: int) -> list[str]:
    lines = [contract.METRIC_LINE.format(name=contract.metric_line_name(split, metric),
                                         value=scores[split][metric])
             for split in ("validation", "train") for metric in contract.METRICS]
    lines.append(contract.METRIC_LINE.format(name=contract.BEST_ITERATION, value=best_iteration))
    return lines


def library_versions() -> dict[str, str]:
    return {"python": platform.python_version(), "numpy": np.__version__,
            "pandas": pd.__version__, "scikit-learn": sklearn.__version__,
            "xgboost": xgb.__version__, "joblib": joblib.__version__}


def run(args: Any) -> dict[str, Any]:
    check_hyperparameters(args)
    np.random.seed(args.seed)
    folder = Path(args.segment_dir)
    description = read_segment(folder)
    features = [Feature.from_json(f) for f in description["features"]]
    preprocessor = model.load_preprocessor(folder / contract.PREPROCESSOR_FILE)
    x_train, y_train = load_split(folder, "train", description, features)
    x_valid, y_valid = load_split(folder, "validation", description, features)
    logger.info("segment %s: training on %d rows, validating on %d", description["segment"],
                len(y_train), len(y_valid))
    booster = fit(args, preprocessor, x_train, y_train, x_valid, y_valid)
    best_iteration = booster.num_boosted_rounds() - 1
    scores = {name: metrics.score(False, y, booster.predict(model.to_dmatrix(preprocessor, x)))
              for name, x, y in (("train", x_train, y_train), ("validation", x_valid, y_valid))}
    for line in metric_lines(scores, best_iteration):
        print(line, flush=True)
    hyperparameters = {name: getattr(args, name) for name in DEFAULTS}
    metadata = {"segment": description["segment"], "segment_id": description["segment_id"],
                "segment_column": description["segment_column"],
                "target_column": description["target_column"],
                "features": description["features"],
                "transformed_features": list(booster.feature_names or []),
                "metrics": scores, "best_iteration": best_iteration,
                "rows": {"train": len(y_train), "validation": len(y_valid)},
                "hyperparameters": hyperparameters, "versions": library_versions()}
    model.save(Path(args.model_dir), folder / contract.PREPROCESSOR_FILE, booster, metadata)
    summary = {"segment": description["segment"], "segment_id": description["segment_id"],
               "metrics": scores, "best_iteration": best_iteration}
    write_json_atomic(Path(args.output_data_dir) / contract.METRICS_FILE, summary)
    logger.info("segment %s: best iteration %d, validation rmse %.2f", description["segment"],
                best_iteration, scores["validation"]["rmse"])
    return summary


def main(argv: list[str] | None = None) -> int:
    return run_step(run, parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
