"""Processing job: validate the input table and split it into train, validation and test.

Reads a table file or every table file of a folder (see input_tables), drops the columns to
ignore (--ignore-columns: ids, leakage), all-empty columns and rows without a target (the data
report says what and why), checks the target (present, numeric for regression, at least two
classes for classification) and the row count, and writes
<output-dir>/<split>/data.csv (target first, names kept; beside it category_orders.json when
the input had ordered categories and date_columns.json when it had date columns) plus
<output-dir>/report/data_report.json. Date columns are found here, on the whole table, so every
split reads them with one format. Categorical columns and missing feature values are kept: the
training job handles them.
Classification splits are stratified; the same seed gives the same split.
"""
from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steps.common.cli import StepArgumentParser, column_name, run_step
from steps.common.date_values import date_columns, without_missing_dates
from steps.common.errors import InvalidData
from steps.common.feature_columns import column_list, suspect_columns, without_ignored
from steps.common.files import write_csv_atomic, write_json_atomic
from steps.common.input_tables import read_input_table
from steps.common.numbers import whole_floats_as_integers
from steps.stacked_ensemble import contract
from steps.stacked_ensemble.features import infer_spec

logger = logging.getLogger(__name__)
REPORT_FOLDER = "report"
CLASS_COUNT_HINT = 50  # distinct numeric targets beyond which classification looks mistaken


def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="preprocess.py", description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", default="/opt/ml/processing/input",
                        help="a table file (CSV, Parquet) or a folder of them with one header")
    parser.add_argument("--output-dir", default="/opt/ml/processing/output")
    parser.add_argument("--target-column", type=column_name, required=True,
                        help="the TargetColumn parameter")
    parser.add_argument("--target-transform", default="none", choices=("none", "log"),
                        help="the TargetTransform parameter: log needs a positive target")
    parser.add_argument("--ignore-columns", default="",
                        help="comma-separated columns that are not features (the IgnoreColumns "
                             "parameter; empty: none)")
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


def clean(table: pd.DataFrame, target: str, problem_type: str, min_rows: int,
          ignore: list[str] = ()) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Drop the ignored and all-empty columns and rows without a target; check the target and
    the row count. Returns the table (target first) and the report of what was dropped."""
    table = without_ignored(table, {"TargetColumn": target}, list(ignore))
    empty = [str(c) for c in table.columns if c != target and table[c].isna().all()]
    table = table.drop(columns=empty)
    missing_target = table[target].isna()
    table = table.loc[~missing_target].reset_index(drop=True)
    if problem_type == contract.CLASSIFICATION:  # classes 0/1 with a gap read as 0.0/1.0
        table[target] = whole_floats_as_integers(table[target])
    if problem_type == contract.REGRESSION:
        numbers = pd.to_numeric(table[target], errors="coerce")
        bad = numbers.isna()
        if bad.any():
            examples = sorted({str(v) for v in table.loc[bad, target]})[:3]
            raise InvalidData(
                f"TargetColumn {target!r} must be numeric for regression; {int(bad.sum())} "
                f"value(s) are not, e.g. {examples}; fix the data, choose another "
                f"TargetColumn, or build the pipeline with problem_type classification")
        table[target] = numbers
        if numbers.nunique() == 1:
            raise InvalidData(f"TargetColumn {target!r} is {numbers.iloc[0]:g} on every row: "
                              "there is nothing to predict; choose another TargetColumn")
    if table.shape[1] < 2:
        raise InvalidData(f"no feature columns left besides the TargetColumn {target!r} (ignored: "
                          f"{list(ignore)}, all empty: {empty})")
    if len(table) < min_rows:
        raise InvalidData(f"{len(table)} rows with a target after cleaning; at least {min_rows} "
                          f"are needed (dropped {int(missing_target.sum())} rows without a "
                          f"value in TargetColumn {target!r})")
    if problem_type == contract.CLASSIFICATION and table[target].nunique() < 2:
        raise InvalidData(f"TargetColumn {target!r} has a single class "
                          f"{table[target].tolist()[0]!r}; classification needs at least 2")
    report = {
        "dropped_columns": [{"column": c, "reason": "IgnoreColumns"} for c in ignore]
        + [{"column": c, "reason": "all values missing"} for c in empty],
        "dropped_rows": [{"reason": "missing target", "count": int(missing_target.sum())}],
    }
    ordered = [target] + [c for c in table.columns if c != target]
    return table[ordered], report


def drop_rare_classes(table: pd.DataFrame, target: str, validation: float, test: float
                      ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The table without the classes whose training split would hold fewer than K_FOLD rows
    (a model cannot learn them, and the stratified folds cannot hold them), and those classes'
    row counts. Fewer than two classes left is refused: there is nothing to classify."""
    counts = table[target].value_counts()
    rare = {str(label): int(n) for label, n in counts.items()
            if len(_allocate(np.arange(n), validation, test)["train"]) < contract.K_FOLD}
    if not rare:
        return table, {}
    kept = table[~table[target].astype(str).isin(rare)]
    if kept[target].nunique() < 2:
        has = "no class has" if kept.empty else "only 1 class has"
        fix = ("its values look like amounts, not classes: build the pipeline for regression "
               "(the default problem_type)" if _continuous(table[target])
               else "add rows or merge classes")
        raise InvalidData(f"TargetColumn {target!r}: {has} enough rows to learn (classes with "
                          f"too few: {_few(rare)}); classification needs at least 2: {fix}")
    logger.warning("class(es) %s have too few rows to learn (a class needs at least %d): their %d "
                   "row(s) are left out and the model will not predict them; add rows or merge "
                   "them into related classes", _few(rare), _rows_for_a_class(validation, test),
                   sum(rare.values()))
    return kept, rare


def _continuous(target: pd.Series) -> bool:
    """Numbers with more distinct values than classes usually have: a regression target."""
    return pd.api.types.is_numeric_dtype(target) and \
        target.nunique() > max(CLASS_COUNT_HINT, len(target) // 10)


def _few(rare: dict[str, int]) -> str:
    shown = ", ".join(f"{label!r} ({n} rows)" for label, n in list(rare.items())[:5])
    return shown + (f" and {len(rare) - 5} more" if len(rare) > 5 else "")


def _rows_for_a_class(validation: float, test: float) -> int:
    """The fewest rows a class needs for K_FOLD of them to land in the training split."""
    rows = contract.K_FOLD
    while len(_allocate(np.arange(rows), validation, test)["train"]) < contract.K_FOLD:
        rows += 1
    return rows


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


def check_target_transform(target: pd.Series, name: str, problem_type: str,
                           transform: str) -> None:
    """Refuse TargetTransform log where it cannot apply, before any training job starts."""
    if transform != "log":
        return
    if problem_type != contract.REGRESSION:
        raise InvalidData("TargetTransform log is for regression; set TargetTransform to none "
                          "for classification")
    bad = target <= 0
    if bad.any():
        raise InvalidData(f"TargetTransform log needs a positive TargetColumn {name!r}, but "
                          f"{int(bad.sum())} value(s) are <= 0 (smallest {target.min():g}); set "
                          "TargetTransform to none")


def run(args: Any) -> dict[str, Any]:
    check_fractions(args.validation_fraction, args.test_fraction)
    raw, formats = read_input_table(Path(args.input_dir))
    table, report = clean(raw, args.target_column, args.problem_type, args.min_rows,
                          column_list(args.ignore_columns))
    check_target_transform(table[args.target_column], args.target_column, args.problem_type,
                           args.target_transform)
    if args.problem_type == contract.CLASSIFICATION:
        table, rare = drop_rare_classes(table, args.target_column, args.validation_fraction,
                                        args.test_fraction)
        if rare:
            report["dropped_rows"].append({"reason": "class too rare to learn",
                                           "count": sum(rare.values()), "classes": rare})
    splits = split_indices(table[args.target_column], args.problem_type,
                           args.validation_fraction, args.test_fraction, args.seed)
    output = Path(args.output_dir)
    dates = date_columns(table.drop(columns=[args.target_column]))
    table = without_missing_dates(table, dates)
    features = table.drop(columns=[args.target_column])
    spec = infer_spec(features, dates)
    if spec.dates:
        logger.info("column(s) %s read as dates (%s): the learners see days since 1970-01-01 "
                    "and the parts %s", list(spec.dates),
                    ", ".join(f"{n}: {d.format}" for n, d in spec.dates.items()),
                    list(spec.date_parts))
    for split, rows in splits.items():
        write_csv_atomic(output / split / contract.DATA_FILE, table.iloc[rows])
        if spec.orders:  # the CSV loses them; training reads them back
            write_json_atomic(output / split / contract.CATEGORY_ORDERS_FILE, spec.orders)
        if spec.dates:
            write_json_atomic(output / split / contract.DATE_COLUMNS_FILE,
                              {name: date.to_json() for name, date in spec.dates.items()})
    report.update({
        "input_files": [asdict(f) for f in formats],
        "rows_read": len(raw),
        "columns_read": [str(c) for c in raw.columns],
        "rows": len(table),
        "target_column": args.target_column,
        "problem_type": args.problem_type,
        "features": [{**f, "missing": int(features[f.get("of", f["name"])].isna().sum())}
                     for f in spec.to_json()],  # a date part is missing where its date is
        **suspect_columns(features.drop(columns=list(spec.dates))),
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
    return run_step(run, build_parser().parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
