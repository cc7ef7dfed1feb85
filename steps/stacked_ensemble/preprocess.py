"""Processing job: validate the input table and split it into train, validation and test.

Reads a CSV file or every CSV of a folder, drops all-empty columns and rows without a target
(the data report says what and why), checks the target (present, numeric for regression, at
least two classes for classification) and the row count, and writes
<output-dir>/<split>/data.csv (target first, names kept) plus <output-dir>/report/data_report.json.
Categorical columns and missing feature values are kept: the training job handles them.
Classification splits are stratified; the same seed gives the same split.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steps.common.cli import StepArgumentParser, configure_logging
from steps.common.errors import InvalidData
from steps.common.failure import failures_reported
from steps.common.files import csv_files, read_csv_table, write_csv_atomic, write_json_atomic
from steps.stacked_ensemble import contract
from steps.stacked_ensemble.features import infer_spec

logger = logging.getLogger(__name__)
REPORT_FOLDER = "report"


def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="preprocess.py", description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", default="/opt/ml/processing/input",
                        help="a CSV file or a folder of CSVs with one header")
    parser.add_argument("--output-dir", default="/opt/ml/processing/output")
    parser.add_argument("--target-column", required=True)
    parser.add_argument("--problem-type", required=True, choices=contract.PROBLEM_TYPES)
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--min-rows", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    return parser


def check_fractions(validation: float, test: float) -> None:
    if not (0 < validation < 1 and 0 < test < 1 and validation + test < 1):
        raise InvalidData(f"--validation-fraction {validation} and --test-fraction {test} must "
                          f"each be between 0 and 1 and sum to less than 1")


def clean(table: pd.DataFrame, target: str, problem_type: str,
          min_rows: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Drop all-empty columns and rows without a target; check the target and the row count.
    Returns the table (target first) and the report of what was dropped."""
    if target not in table.columns:
        raise InvalidData(f"target column {target!r} not found; columns found: "
                          f"{', '.join(map(str, table.columns))}; pass --target-column")
    empty = [str(c) for c in table.columns if c != target and table[c].isna().all()]
    table = table.drop(columns=empty)
    missing_target = table[target].isna()
    table = table.loc[~missing_target].reset_index(drop=True)
    if problem_type == contract.REGRESSION:
        numbers = pd.to_numeric(table[target], errors="coerce")
        bad = numbers.isna()
        if bad.any():
            examples = sorted({str(v) for v in table.loc[bad, target]})[:3]
            raise InvalidData(
                f"target column {target!r} must be numeric for regression; {int(bad.sum())} "
                f"value(s) are not, e.g. {examples}; fix the data or use --problem-type "
                f"classification")
        table[target] = numbers
    if table.shape[1] < 2:
        raise InvalidData(f"no feature columns left besides the target {target!r}")
    if len(table) < min_rows:
        raise InvalidData(f"{len(table)} rows with a target after cleaning; at least --min-rows="
                          f"{min_rows} are needed (dropped {int(missing_target.sum())} rows "
                          f"without a target)")
    if problem_type == contract.CLASSIFICATION and table[target].nunique() < 2:
        raise InvalidData(f"target column {target!r} has a single class "
                          f"{table[target].tolist()[0]!r}; classification needs at least 2")
    report = {
        "dropped_columns": [{"column": c, "reason": "all values missing"} for c in empty],
        "dropped_rows": [{"reason": "missing target", "count": int(missing_target.sum())}],
    }
    ordered = [target] + [c for c in table.columns if c != target]
    return table[ordered], report


def _allocate(indices: np.ndarray, validation: float, test: float) -> dict[str, np.ndarray]:
    n_test = round(len(indices) * test)
    n_valid = round(len(indices) * validation)
    return {"test": indices[:n_test], "validation": indices[n_test:n_test + n_valid],
            "train": indices[n_test + n_valid:]}


def split_indices(target: pd.Series, problem_type: str, validation: float, test: float,
                  seed: int) -> dict[str, np.ndarray]:
    """Row positions of each split: shuffled with `seed`, per class for classification."""
    rng = np.random.default_rng(seed)
    if problem_type == contract.REGRESSION:
        groups = [np.arange(len(target))]
    else:
        codes = pd.factorize(target, sort=True)[0]
        groups = [np.flatnonzero(codes == code) for code in range(codes.max() + 1)]
    parts: dict[str, list[np.ndarray]] = {split: [] for split in contract.SPLITS}
    for group in groups:
        for split, rows in _allocate(rng.permutation(group), validation, test).items():
            parts[split].append(rows)
    out = {split: np.sort(np.concatenate(parts[split])) for split in contract.SPLITS}
    for split, rows in out.items():
        if len(rows) == 0:
            raise InvalidData(f"the {split} split would be empty with {len(target)} rows; raise "
                              f"its fraction or add data")
    return out


def run(args: Any) -> dict[str, Any]:
    check_fractions(args.validation_fraction, args.test_fraction)
    files = csv_files(Path(args.input_dir))
    raw = read_csv_table(Path(args.input_dir))
    table, report = clean(raw, args.target_column, args.problem_type, args.min_rows)
    splits = split_indices(table[args.target_column], args.problem_type,
                           args.validation_fraction, args.test_fraction, args.seed)
    output = Path(args.output_dir)
    for split, rows in splits.items():
        write_csv_atomic(output / split / contract.DATA_FILE, table.iloc[rows])
    features = table.drop(columns=[args.target_column])
    spec = infer_spec(features)
    report.update({
        "input_files": [str(f) for f in files],
        "rows_read": len(raw),
        "columns_read": [str(c) for c in raw.columns],
        "rows": len(table),
        "target_column": args.target_column,
        "problem_type": args.problem_type,
        "features": [{**f, "missing": int(features[f["name"]].isna().sum())}
                     for f in spec.to_json()],
        "splits": {split: len(rows) for split, rows in splits.items()},
        "validation_fraction": args.validation_fraction,
        "test_fraction": args.test_fraction,
        "seed": args.seed,
    })
    if args.problem_type == contract.CLASSIFICATION:
        counts = table[args.target_column].value_counts().sort_index()
        report["classes"] = {str(label): int(n) for label, n in counts.items()}
    write_json_atomic(output / REPORT_FOLDER / contract.DATA_REPORT, report)
    logger.info("kept %d of %d rows; dropped columns %s; splits %s", len(table), len(raw),
                [d["column"] for d in report["dropped_columns"]], report["splits"])
    return report


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    with failures_reported():
        run(build_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
