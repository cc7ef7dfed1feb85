"""Processing job, one per segment: score the segment's model on its held-out test split.

Inputs: --model-dir (a folder holding the training job's model.tar.gz, or an extracted model
directory) and --segment-dir (the preprocess job's `<id>/` folder: test.csv and segment.json).
Writes <output-dir>/evaluation.json:

    {"segment": "New York", "segment_id": "new-york", "rows": 100,
     "regression_metrics": {"rmse": {"value": ..., "standard_deviation": ...},
                            "mae": {...}, "r2": {...}}}

(SageMaker's model-quality layout; the deviation is a seeded bootstrap over test rows). The
definition reads contract.metric_json_path() = "regression_metrics.rmse.value" through a
PropertyFile and attaches the file to the registered model package.
"""
from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steps.common.cli import StepArgumentParser, configure_logging
from steps.common.errors import InvalidData
from steps.common.failure import failures_reported
from steps.common.files import model_directory, read_csv_table, write_json_atomic
from steps.multi_model import contract, inference, metrics
from steps.multi_model.features import csv_dtypes
from steps.multi_model.model import SegmentModel

logger = logging.getLogger(__name__)
BOOTSTRAP_SAMPLES = 200


def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="evaluate.py", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default="/opt/ml/processing/input/model",
                        help="a folder holding model.tar.gz, or an extracted model directory")
    parser.add_argument("--segment-dir", default="/opt/ml/processing/input/segment",
                        help="the preprocess job's <segment id>/ folder")
    parser.add_argument("--output-dir",
                        default=f"/opt/ml/processing/output/{contract.EVALUATION_OUTPUT}")
    parser.add_argument("--seed", type=int, default=42, help="seed of the bootstrap")
    return parser



def with_deviation(y: np.ndarray, pred: np.ndarray, seed: int) -> dict[str, dict[str, float]]:
    """Each metric's value and its bootstrap standard deviation over test rows."""
    samples = np.random.default_rng(seed).integers(0, len(y), size=(BOOTSTRAP_SAMPLES, len(y)))
    return {name: {"value": fn(y, pred),
                   "standard_deviation": float(np.std([fn(y[s], pred[s]) for s in samples]))}
            for name, fn in metrics.FUNCTIONS.items()}


def evaluate(model: SegmentModel, segment_dir: Path, seed: int) -> dict[str, Any]:
    """The evaluation report of `model` on the test split in `segment_dir`."""
    description_path = segment_dir / contract.SEGMENT_FILE
    if not description_path.is_file():
        raise InvalidData(f"{segment_dir} holds no {contract.SEGMENT_FILE}: pass the preprocess "
                          f"job's segment folder (its S3 prefix must end with '<id>/')")
    description = json.loads(description_path.read_text(encoding="utf-8"))
    if description["segment_id"] != model.metadata["segment_id"]:
        raise InvalidData(f"the model is for segment {model.segment!r} but the test data is for "
                          f"{description['segment']!r}; wire each segment's model to its own "
                          f"data")
    table = read_csv_table(segment_dir / contract.TEST_FILE, dtype=csv_dtypes(model.features))
    target = model.metadata["target_column"]
    if target not in table.columns:
        raise InvalidData(f"test split has no target column {target!r}")
    y = pd.to_numeric(table[target], errors="coerce").to_numpy(dtype=float)
    if np.isnan(y).any():
        raise InvalidData(f"test split: target {target!r} has empty or non-numeric values")
    pred = model.predict(table, source="test split")
    return {"segment": model.segment, "segment_id": model.metadata["segment_id"],
            "rows": len(y), contract.METRICS_SECTION: with_deviation(y, pred, seed)}


def run(args: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        location = model_directory(Path(args.model_dir), Path(scratch), contract.MODEL_METADATA)
        model = inference.model_fn(str(location))
        report = evaluate(model, Path(args.segment_dir), args.seed)
    write_json_atomic(Path(args.output_dir) / contract.EVALUATION_REPORT, report)
    logger.info("segment %s: test metrics on %d rows: %s", report["segment"], report["rows"],
                {name: round(m["value"], 6)
                 for name, m in report[contract.METRICS_SECTION].items()})
    return report


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    with failures_reported():
        run(build_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
