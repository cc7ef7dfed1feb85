"""Processing job: score the trained ensemble on the held-out test split.

Loads the model with the inference handler's model_fn (from model.tar.gz or an extracted model
directory) and writes contract.EVALUATION_REPORT: the chosen ensemble's metrics under
contract.METRICS_SECTION[problem type] (each {"value", "standard_deviation"}, the deviation
from a seeded bootstrap over test rows), plus every learner's and combiner's metrics. The
pipeline reads it as a PropertyFile and attaches it to the registered model.
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from steps.common.cli import StepArgumentParser, configure_logging
from steps.common.failure import failures_reported
from steps.common.files import model_directory, read_csv_table, write_json_atomic
from steps.stacked_ensemble import contract, inference, metrics
from steps.stacked_ensemble.ensemble import Ensemble
from steps.stacked_ensemble.features import coerce, split_target

logger = logging.getLogger(__name__)
BOOTSTRAP_SAMPLES = 200


def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="evaluate.py", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default="/opt/ml/processing/model",
                        help="a folder holding model.tar.gz, or an extracted model directory")
    parser.add_argument("--test-dir", default="/opt/ml/processing/test")
    parser.add_argument("--output-dir", default="/opt/ml/processing/evaluation")
    parser.add_argument("--seed", type=int, default=42, help="seed of the bootstrap")
    return parser



def with_deviation(is_classification: bool, y: np.ndarray, pred: np.ndarray,
                   rng: np.random.Generator) -> dict[str, dict[str, float]]:
    """Each metric's value and its bootstrap standard deviation over test rows."""
    samples = rng.integers(0, len(y), size=(BOOTSTRAP_SAMPLES, len(y)))
    out = {}
    for name, fn in metrics.metric_functions(is_classification).items():
        spread = [fn(y[rows], pred[rows]) for rows in samples]
        out[name] = {"value": fn(y, pred), "standard_deviation": float(np.std(spread))}
    return out


def evaluate(model: Ensemble, test_dir: Path, seed: int) -> dict[str, Any]:
    """The evaluation report for the test split in `test_dir`."""
    table = read_csv_table(test_dir, dtype=model.spec.csv_dtypes())
    features, target = split_target(table, model.metadata["target"], "test split")
    x = coerce(features, model.spec, "test split")
    y = model.task.encode(target, "test split")
    learner_preds, combined = model.predict_all(x)
    task = model.task
    report: dict[str, Any] = {
        "problem_type": task.problem_type,
        "chosen_combiner": model.chosen,
        "rows": len(y),
        "learners": {n: with_deviation(task.is_classification, y, p, np.random.default_rng(seed))
                     for n, p in learner_preds.items()},
        "combiners": {n: with_deviation(task.is_classification, y, p, np.random.default_rng(seed))
                      for n, p in combined.items()},
    }
    report[contract.METRICS_SECTION[task.problem_type]] = report["combiners"][model.chosen]
    return report


def run(args: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        location = model_directory(Path(args.model_dir), Path(scratch), contract.MODEL_METADATA)
        model = inference.model_fn(str(location))
        report = evaluate(model, Path(args.test_dir), args.seed)
    write_json_atomic(Path(args.output_dir) / contract.EVALUATION_REPORT, report)
    section = report[contract.METRICS_SECTION[report["problem_type"]]]
    logger.info("test metrics of %s on %d rows: %s", report["chosen_combiner"], report["rows"],
                {name: round(m["value"], 6) for name, m in section.items()})
    return report


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    with failures_reported():
        run(build_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
