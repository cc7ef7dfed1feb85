"""Processing job: split the table per segment, then each segment into train/validation/test,
and fit each segment's scikit-learn preprocessor on its training rows only.

Writes ONE processing output (contract.SEGMENTS_OUTPUT) with a folder per segment id, so the
number of segments is not bound by SageMaker's 10 outputs per job:

    <output-dir>/segments.json             every segment: name, id, rows per split; how the
                                           input was read (input_files), what was dropped
    <output-dir>/<id>/train.csv            header, target first, segment column dropped
    <output-dir>/<id>/validation.csv
    <output-dir>/<id>/test.csv
    <output-dir>/<id>/preprocessor.joblib  ColumnTransformer (scaling, one-hot) fitted on train
    <output-dir>/<id>/segment.json         name, id, target, features with kinds, categories
                                           and date formats

A segment's training job reads `<output-dir>/<id>/` as one channel. Rows without a segment or a
target are dropped (segments.json counts them); the IgnoreColumns and all-empty columns are
dropped; date columns are found on the whole table (one format per column, read as days by
every segment); columns that look like record ids, or like dates in no single format, are
warned about (segments.json lists them). The split of a segment depends only on the seed and
the segment's id, not on the other segments.
"""
from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer

from steps.common.atomic import write_bytes_atomic
from steps.common.cli import StepArgumentParser, column_name, run_step
from steps.common.date_values import DateColumn, date_columns, without_missing_dates
from steps.common.errors import InvalidData
from steps.common.feature_columns import column_list, suspect_columns, without_ignored
from steps.common.files import write_csv_atomic, write_json_atomic
from steps.common.input_tables import read_input_table
from steps.common.numbers import whole_floats_as_integers
from steps.multi_model import contract
from steps.multi_model.features import Feature, fit_preprocessor

logger = logging.getLogger(__name__)


def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="preprocess.py", description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", default="/opt/ml/processing/input/raw",
                        help="a table file (CSV, Parquet) or a folder of them with one header")
    parser.add_argument("--output-dir",
                        default=f"/opt/ml/processing/output/{contract.SEGMENTS_OUTPUT}")
    parser.add_argument("--segment-column", type=column_name,
                        default=contract.DEFAULT_SEGMENT_COLUMN)
    parser.add_argument("--segments", nargs="*", default=[],
                        help="segment names to keep, one per argument (commas also separate "
                             "names; each must be in the data); none: every segment in the data")
    parser.add_argument("--target-column", type=column_name,
                        default=contract.DEFAULT_TARGET_COLUMN)
    parser.add_argument("--ignore-columns", default="",
                        help="comma-separated columns that are not features (the IgnoreColumns "
                             "parameter; empty: none)")
    parser.add_argument("--validation-fraction", type=float, default=0.3)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--min-rows", type=int, default=20,
                        help="fewest rows a segment may have")
    parser.add_argument("--seed", type=int, default=42)
    return parser


def _check_fractions(validation: float, test: float) -> None:
    if not (0 < validation < 1 and 0 < test < 1 and validation + test < 1):
        raise InvalidData(f"--validation-fraction {validation} and --test-fraction {test} must "
                          f"each be between 0 and 1 and sum to less than 1")


def clean(table: pd.DataFrame, segment_column: str, target: str,
          ignore: list[str] = ()) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Drop the ignored and all-empty columns and rows without a segment or target; the target
    must be numeric. Returns the table and what was dropped."""
    table = without_ignored(table, {"SegmentColumn": segment_column, "TargetColumn": target},
                            list(ignore))
    if segment_column == target:
        raise InvalidData(f"SegmentColumn and TargetColumn are both {target!r}: the segment "
                          "and the predicted value must be different columns")
    empty = [str(c) for c in table.columns
             if c not in (segment_column, target) and table[c].isna().all()]
    table = table.drop(columns=empty)
    no_segment = table[segment_column].isna() | (table[segment_column].astype(str).str.strip()
                                                 == "")
    no_target = table[target].isna() & ~no_segment
    table = table.loc[~(no_segment | no_target)].reset_index(drop=True)
    numbers = pd.to_numeric(table[target], errors="coerce")
    if numbers.isna().any():
        examples = sorted({str(v) for v in table.loc[numbers.isna(), target]})[:3]
        raise InvalidData(f"TargetColumn {target!r} must be numeric; "
                          f"{int(numbers.isna().sum())} value(s) are not, e.g. {examples}")
    table[target] = numbers
    segments = whole_floats_as_integers(table[segment_column])  # 101 with a gap: not 101.0
    table[segment_column] = segments.astype(str).str.strip()
    if table.shape[1] < 3:
        raise InvalidData(f"no feature columns besides SegmentColumn {segment_column!r} and "
                          f"TargetColumn {target!r}")
    dropped = {"columns": [{"column": c, "reason": "IgnoreColumns"} for c in ignore]
               + [{"column": c, "reason": "all values missing"} for c in empty],
               "rows_without_segment": int(no_segment.sum()),
               "rows_without_target": int(no_target.sum())}
    return table, dropped


def select_segments(values: pd.Series, requested: list[str]) -> dict[str, str]:
    """{name in the data: id} of the segments to process, in the order requested (or sorted
    by name when none are). Requested names match the data's by id ('new york' = 'New York')."""
    try:
        available = contract.segment_ids(sorted(values.unique()))
    except ValueError as error:
        raise InvalidData(f"SegmentColumn: {error}") from None
    wanted = [name.strip() for item in requested for name in item.split(",") if name.strip()]
    if not wanted:
        return available
    by_id = {ident: name for name, ident in available.items()}
    selected: dict[str, str] = {}
    missing = []
    for name in wanted:
        try:
            ident = contract.segment_id(name)
        except ValueError as error:
            raise InvalidData(f"--segments: {error}") from None
        if ident in by_id:
            selected[by_id[ident]] = ident
        else:
            missing.append(name)
    if missing:
        raise InvalidData(f"the pipeline's segments (its `segments` kwarg) name {missing}, not "
                          f"found in the SegmentColumn; segments in the data: "
                          f"{', '.join(available)}")
    return selected


def split_rows(count: int, ident: str, validation: float, test: float,
               seed: int) -> dict[str, np.ndarray]:
    """Sorted row positions of each split; the shuffle is seeded by (seed, segment id)."""
    stream = int.from_bytes(hashlib.sha256(ident.encode()).digest()[:8], "big")
    order = np.random.default_rng([seed, stream]).permutation(count)
    n_test, n_valid = round(count * test), round(count * validation)
    return {"train": np.sort(order[n_test + n_valid:]),
            "validation": np.sort(order[n_test:n_test + n_valid]),
            "test": np.sort(order[:n_test])}


@dataclass
class SegmentPlan:
    """One segment's rows (target first, segment column dropped), splits and preprocessor."""

    name: str
    ident: str
    rows: pd.DataFrame
    splits: dict[str, np.ndarray]
    preprocessor: ColumnTransformer
    features: list[Feature]


def plan_segment(name: str, ident: str, rows: pd.DataFrame, args: Any,
                 dates: dict[str, DateColumn]) -> SegmentPlan:
    """Check the segment's size, split it, fit its preprocessor on the training rows (`dates`:
    the whole table's date columns and their formats)."""
    target = args.target_column
    rows = rows.drop(columns=[args.segment_column]).reset_index(drop=True)
    rows = rows[[target] + [c for c in rows.columns if c != target]]
    if len(rows) < args.min_rows:
        raise InvalidData(f"segment {name!r} has {len(rows)} rows; at least {args.min_rows} "
                          "are needed to train and test a model: add rows or leave the segment "
                          "out of the pipeline's `segments` kwarg")
    if rows[target].nunique() == 1:
        raise InvalidData(f"segment {name!r}: TargetColumn {target!r} is "
                          f"{rows[target].iloc[0]:g} on every row: there is nothing to learn; "
                          "leave the segment out of the pipeline's `segments` kwarg")
    splits = split_rows(len(rows), ident, args.validation_fraction, args.test_fraction,
                        args.seed)
    for split, positions in splits.items():
        if len(positions) == 0:
            raise InvalidData(f"segment {name!r}: the {split} split of {len(rows)} rows is "
                              f"empty; add rows or raise its fraction")
    try:
        preprocessor, features = fit_preprocessor(
            rows.iloc[splits["train"]].drop(columns=[target]), dates)
    except InvalidData as error:
        raise InvalidData(f"segment {name!r}: {error}") from None
    return SegmentPlan(name, ident, rows, splits, preprocessor, features)


def write_segment(folder: Path, plan: SegmentPlan, args: Any) -> dict[str, Any]:
    """One segment's splits, fitted preprocessor and description."""
    for split, positions in plan.splits.items():
        write_csv_atomic(folder / contract.SPLIT_FILES[split], plan.rows.iloc[positions])
    buffer = io.BytesIO()
    joblib.dump(plan.preprocessor, buffer)
    write_bytes_atomic(folder / contract.PREPROCESSOR_FILE, buffer.getvalue())
    description = {"segment": plan.name, "segment_id": plan.ident,
                   "segment_column": args.segment_column, "target_column": args.target_column,
                   "features": [f.to_json() for f in plan.features],
                   "rows": {split: len(p) for split, p in plan.splits.items()},
                   "seed": args.seed}
    write_json_atomic(folder / contract.SEGMENT_FILE, description)
    return description


def run(args: Any) -> dict[str, Any]:
    _check_fractions(args.validation_fraction, args.test_fraction)
    raw, formats = read_input_table(Path(args.input_dir))
    table, dropped = clean(raw, args.segment_column, args.target_column,
                           column_list(args.ignore_columns))
    if table.empty:
        raise InvalidData("no rows left with both a segment and a target")
    selected = select_segments(table[args.segment_column], args.segments)
    dates = date_columns(table.drop(columns=[args.segment_column, args.target_column]))
    table = without_missing_dates(table, dates)
    features = table.drop(columns=[args.segment_column, args.target_column])
    if dates:
        logger.info("column(s) %s read as dates (%s): the models see days since 1970-01-01 "
                    "and their parts %s", list(dates),
                    ", ".join(f"{n}: {d.format}" for n, d in dates.items()),
                    {n: list(d.parts) for n, d in dates.items()})
    suspects = suspect_columns(features.drop(columns=list(dates)))
    # Every segment is checked and fitted before anything is written.
    plans = [plan_segment(name, ident, table.loc[table[args.segment_column] == name], args,
                          dates)
             for name, ident in selected.items()]
    output = Path(args.output_dir)
    segments = []
    for plan in plans:
        description = write_segment(output / plan.ident, plan, args)
        segments.append({key: description[key] for key in ("segment", "segment_id", "rows")})
        logger.info("segment %s (%s): %s", plan.name, plan.ident, description["rows"])
    manifest = {"segment_column": args.segment_column, "target_column": args.target_column,
                "segments": segments, "dropped": dropped, **suspects,
                "input_files": [asdict(f) for f in formats], "rows_read": len(raw),
                "validation_fraction": args.validation_fraction,
                "test_fraction": args.test_fraction, "seed": args.seed}
    write_json_atomic(output / contract.SEGMENTS_MANIFEST, manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    return run_step(run, build_parser().parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
