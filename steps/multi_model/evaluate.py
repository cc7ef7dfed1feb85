"""Processing job, one per segment: score the segment's model on its held-out test split.

Inputs: --model-dir (a folder holding the training job's model.tar.gz, or an extracted model
directory) and --segment-dir (the preprocess job's `<id>/` folder: test.csv and segment.json).
Writes <output-dir>/model_quality.json (the model's figures in SageMaker Model Monitor's format,
steps/common/model_quality.py: the registered package's ModelQuality.Statistics), plots/*.png
(predicted vs actual, residuals, the error against the naive predictor) and evaluation.json:

    {"segment": "New York", "segment_id": "new-york", "rows": 100,
     "regression_metrics": {"rmse": {"value": ..., "standard_deviation": ...},
                            "mae": {...}, "r2": {...}},
     "baselines": {"naive": {"predicts": "the training mean", "rmse": {...}, ...}},
     "relative": {"rmse_ratio_to_naive": ..., "r2": ...},
     "gate": {"passed": true, "failed": 0, "message": "...", "checks": [...]}}

(SageMaker's model-quality layout; the deviation is a seeded bootstrap over test rows). The
naive baseline predicts the segment's training mean for every test row; the gate
(steps/common/tabular_gate.py) needs the model's RMSE to be at most (1 -
MinImprovementOverBaseline) x the naive one's, and R² at least QualityThreshold when that is
not 0. The definition reads `gate.failed` through a PropertyFile and attaches the file to the
registered model package.
"""
from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steps.common import metrics, plots
from steps.common.cli import StepArgumentParser, run_step
from steps.common.errors import InvalidData
from steps.common.files import model_directory, read_csv_table, write_json_atomic
from steps.common.metrics import with_deviation
from steps.common.model_quality import MODEL_QUALITY_REPORT, regression_report
from steps.common.tabular_gate import GateSettings, absolute_check, baseline_check, verdict
from steps.multi_model import contract, inference
from steps.multi_model.features import csv_dtypes
from steps.multi_model.model import SegmentModel

logger = logging.getLogger(__name__)
NAIVE = "the training mean"


def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="evaluate.py", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default="/opt/ml/processing/input/model",
                        help="a folder holding model.tar.gz, or an extracted model directory")
    parser.add_argument("--segment-dir", default="/opt/ml/processing/input/segment",
                        help="the preprocess job's <segment id>/ folder")
    parser.add_argument("--output-dir",
                        default=f"/opt/ml/processing/output/{contract.EVALUATION_OUTPUT}")
    parser.add_argument("--min-improvement", type=float, default=GateSettings.min_improvement,
                        help="MinImprovementOverBaseline")
    parser.add_argument("--quality-threshold", type=float,
                        default=GateSettings.absolute_threshold,
                        help="QualityThreshold: the least test R² (0: no absolute bar)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the bootstrap")
    return parser


def _target_values(table: pd.DataFrame, target: str, split: str) -> np.ndarray:
    if target not in table.columns:
        raise InvalidData(f"{split} split has no target column {target!r}")
    values = pd.to_numeric(table[target], errors="coerce").to_numpy(dtype=float)
    if np.isnan(values).any():
        raise InvalidData(f"{split} split: target {target!r} has empty or non-numeric values")
    return values


def quality_gate(y: np.ndarray, pred: np.ndarray, naive: np.ndarray,
                 settings: GateSettings) -> dict[str, Any]:
    """The segment model against its naive baseline, plus the opt-in R² bar."""
    checks = [baseline_check("rmse", metrics.rmse(y, pred), metrics.rmse(y, naive), NAIVE,
                             settings.min_improvement),
              absolute_check("r2", metrics.r2(y, pred), settings.absolute_threshold,
                             lower_is_better=False)]
    return verdict(checks, settings)


def evaluate(model: SegmentModel, segment_dir: Path, settings: GateSettings,
             seed: int) -> dict[str, Any]:
    """The evaluation report of `model` on the test split in `segment_dir`."""
    return report_for(model, *predict_test_split(model, segment_dir), settings, seed)


def predict_test_split(model: SegmentModel,
                       segment_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(targets, the model's predictions, the naive predictions) for the segment's test rows."""
    description_path = segment_dir / contract.SEGMENT_FILE
    if not description_path.is_file():
        raise InvalidData(f"{segment_dir} holds no {contract.SEGMENT_FILE}: pass the preprocess "
                          f"job's segment folder (its S3 prefix must end with '<id>/')")
    description = json.loads(description_path.read_text(encoding="utf-8"))
    if description["segment_id"] != model.metadata["segment_id"]:
        raise InvalidData(f"the model is for segment {model.segment!r} but the test data is for "
                          f"{description['segment']!r}; wire each segment's model to its own "
                          f"data")
    dtypes = csv_dtypes(model.features)
    table = read_csv_table(segment_dir / contract.TEST_FILE, dtype=dtypes)
    target = model.metadata["target_column"]
    y = _target_values(table, target, "test")
    train = _target_values(read_csv_table(segment_dir / contract.TRAIN_FILE, dtype=dtypes),
                           target, "training")
    pred = model.predict(table, source="test split")
    return y, pred, np.full(len(y), float(np.mean(train)))


def report_for(model: SegmentModel, y: np.ndarray, pred: np.ndarray, naive: np.ndarray,
               settings: GateSettings, seed: int) -> dict[str, Any]:
    scores = with_deviation(metrics.REGRESSION_METRICS, y, pred, seed)
    naive_scores = with_deviation(metrics.REGRESSION_METRICS, y, naive, seed)
    return {"segment": model.segment, "segment_id": model.metadata["segment_id"],
            "rows": len(y), contract.METRICS_SECTION: scores,
            "baselines": {"naive": {"predicts": NAIVE, **naive_scores}},
            "relative": {"rmse_ratio_to_naive": scores["rmse"]["value"]
                         / naive_scores["rmse"]["value"] if naive_scores["rmse"]["value"] > 0
                         else None, "r2": scores["r2"]["value"]},
            "gate": quality_gate(y, pred, naive, settings)}


def draw_plots(segment: str, y: np.ndarray, pred: np.ndarray, report: dict[str, Any],
               directory: Path) -> list[Path]:
    """The segment's predictions against the targets, residuals, and its error next to the
    naive predictor's."""
    title = f"{segment}, {len(y)} test rows"
    naive = report["baselines"]["naive"]["rmse"]
    chosen = report[contract.METRICS_SECTION]["rmse"]
    return [plots.predicted_vs_actual(y, pred, directory / "predicted_vs_actual.png", title),
            plots.residuals(y, pred, directory / "residuals.png", title),
            plots.metric_bars({"model": (chosen["value"], chosen["standard_deviation"]),
                               "naive": (naive["value"], naive["standard_deviation"])},
                              directory / "error.png", "rmse",
                              f"{segment}: test rmse against {NAIVE}", highlight=("model",))]


def run(args: Any) -> dict[str, Any]:
    settings = GateSettings(args.min_improvement, absolute_threshold=args.quality_threshold)
    output = Path(args.output_dir)
    with tempfile.TemporaryDirectory() as scratch:
        location = model_directory(Path(args.model_dir), Path(scratch), contract.MODEL_METADATA)
        model = inference.model_fn(str(location))
        y, pred, naive = predict_test_split(model, Path(args.segment_dir))
    report = report_for(model, y, pred, naive, settings, args.seed)
    write_json_atomic(output / MODEL_QUALITY_REPORT, regression_report(y, pred, args.seed))
    draw_plots(report["segment"], y, pred, report, output / plots.PLOTS_DIR)
    write_json_atomic(output / contract.EVALUATION_REPORT, report)
    logger.info("segment %s: test metrics on %d rows: %s", report["segment"], report["rows"],
                {name: round(m["value"], 6)
                 for name, m in report[contract.METRICS_SECTION].items()})
    logger.info("segment %s: quality gate %s: %s", report["segment"],
                "passed" if report["gate"]["passed"] else "FAILED", report["gate"]["message"])
    return report


def main(argv: list[str] | None = None) -> int:
    return run_step(run, build_parser().parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
