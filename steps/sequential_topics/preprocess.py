"""Processing job: raw records -> cleaned, de-duplicated corpus in N part files.

Reads one CSV or a folder of CSVs (--input), combines --text-columns into one document per row,
cleans it with `text_cleaning` (boilerplate, URLs, e-mails, contractions, dropped entity
labels, lemmas, lower case), drops empty and duplicate documents, and writes:
- <parts-dir>/part-00000.csv ... (--num-parts files, fewer if there are fewer documents), each
  with the columns id, document and, with --label-column, label;
- <report-dir>/data_report.json: rows read, dropped (empty input, empty after cleaning,
  duplicates), kept, label counts;
- <report-dir>/preprocessing.json: the cleaning settings, which the served model reuses.
A row is a duplicate when its combined raw text or its cleaned document equals an earlier
row's; the first one is kept.
"""
from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steps.common.cli import StepArgumentParser, configure_logging
from steps.common.errors import InvalidData
from steps.common.failure import failures_reported
from steps.common.files import read_csv_table, write_csv_atomic, write_json_atomic
from steps.sequential_topics import contract, text_cleaning
from steps.sequential_topics.text_cleaning import CleaningSettings

logger = logging.getLogger(__name__)


def _csv_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _json_patterns(text: str) -> tuple[str, ...]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidData(f"boilerplate patterns must be a JSON list of regex strings, got "
                          f"{text!r}; e.g. '[\"please see attached\"]'")
    return tuple(value)


def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="preprocess.py", description=__doc__.splitlines()[0])
    parser.add_argument("--input", default="/opt/ml/processing/input",
                        help="a CSV file or a folder of CSVs with the same header")
    parser.add_argument("--parts-dir", default="/opt/ml/processing/corpus")
    parser.add_argument("--report-dir", default="/opt/ml/processing/report")
    parser.add_argument("--text-columns", default=",".join(contract.DEFAULT_TEXT_COLUMNS),
                        help="comma-separated columns combined into one document")
    parser.add_argument("--id-column", default=contract.ID_COLUMN,
                        help="unique record id; when absent, row numbers (1, 2, ...) are used")
    parser.add_argument("--label-column", default="",
                        help="optional ground-truth column, kept as 'label' for evaluation")
    parser.add_argument("--drop-entity-labels",
                        default=",".join(text_cleaning.DEFAULT_DROP_ENTITY_LABELS),
                        help="spaCy NER labels whose tokens are removed ('' keeps all)")
    parser.add_argument("--boilerplate-patterns", default=None,
                        help="JSON list of regexes replacing the defaults ('[]' for none)")
    parser.add_argument("--extra-boilerplate-patterns", default="[]",
                        help="JSON list of regexes added to the patterns in use")
    parser.add_argument("--max-chars", type=int, default=20000,
                        help="longer combined texts are truncated (counted in the report)")
    parser.add_argument("--num-parts", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64, help="spaCy nlp.pipe batch size")
    return parser


def settings_from(args: Any) -> CleaningSettings:
    base = (text_cleaning.DEFAULT_BOILERPLATE if args.boilerplate_patterns is None
            else _json_patterns(args.boilerplate_patterns))
    return CleaningSettings(
        text_columns=_csv_list(args.text_columns),
        boilerplate=base + _json_patterns(args.extra_boilerplate_patterns),
        drop_entity_labels=tuple(label.upper() for label in _csv_list(args.drop_entity_labels)),
        max_chars=args.max_chars)


def _check_columns(table: pd.DataFrame, settings: CleaningSettings, id_column: str,
                   label_column: str) -> None:
    wanted = list(settings.text_columns) + ([label_column] if label_column else [])
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise InvalidData(f"input has no column(s) {missing}; its columns are "
                          f"{list(table.columns)}: set --text-columns / --label-column")
    if id_column in table.columns:
        ids = table[id_column]
        if ids.isna().any():
            raise InvalidData(f"id column {id_column!r} has {int(ids.isna().sum())} empty "
                              "value(s): every row needs an id")
        repeated = ids[ids.duplicated()].unique().tolist()
        if repeated:
            raise InvalidData(f"id column {id_column!r} repeats values {repeated[:5]}: ids must "
                              "be unique")


def clean_table(table: pd.DataFrame, settings: CleaningSettings, id_column: str,
                label_column: str, nlp: Any, batch_size: int = 64
                ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The cleaned corpus (id, document[, label]) and the counts for the data report."""
    _check_columns(table, settings, id_column, label_column)
    ids = (table[id_column].astype(str).str.strip() if id_column in table.columns
           else pd.Series([str(i) for i in range(1, len(table) + 1)], index=table.index))
    columns = list(settings.text_columns)
    combined = [text_cleaning.combine_fields(row)
                for row in table[columns].itertuples(index=False, name=None)]
    combined_series = pd.Series(combined, index=table.index)
    empty_input = combined_series.str.len() == 0
    duplicate_raw = combined_series.duplicated() & ~empty_input
    todo = ~empty_input & ~duplicate_raw
    truncated = int((combined_series[todo].str.len() > settings.max_chars).sum())
    cleaned = pd.Series("", index=table.index)
    cleaned[todo] = list(text_cleaning.clean_texts(combined_series[todo].tolist(), settings,
                                                   nlp, batch_size))
    empty_cleaned = todo & (cleaned.str.len() == 0)
    candidates = todo & ~empty_cleaned
    duplicate_cleaned = pd.Series(False, index=table.index)
    duplicate_cleaned[candidates] = cleaned[candidates].duplicated().to_numpy()
    keep = todo & ~empty_cleaned & ~duplicate_cleaned
    corpus = pd.DataFrame({contract.ID_COLUMN: ids[keep].to_numpy(),
                           contract.DOCUMENT_COLUMN: cleaned[keep].to_numpy()})
    if label_column:
        corpus[contract.LABEL_COLUMN] = table.loc[keep, label_column].fillna("").astype(
            str).to_numpy()
    lengths = corpus[contract.DOCUMENT_COLUMN].str.split().str.len()
    report: dict[str, Any] = {
        "rows_read": len(table),
        "dropped": {"empty_input": int(empty_input.sum()),
                    "empty_after_cleaning": int(empty_cleaned.sum()),
                    "duplicate": int(duplicate_raw.sum() + duplicate_cleaned.sum())},
        "kept": len(corpus),
        "truncated": truncated,
        "ids_generated": id_column not in table.columns,
        "tokens_per_document": _describe(lengths),
    }
    if label_column:
        report["labels"] = dict(sorted(Counter(corpus[contract.LABEL_COLUMN]).items()))
    return corpus, report


def _describe(lengths: pd.Series) -> dict[str, float]:
    if lengths.empty:
        return {"mean": 0.0, "median": 0.0, "max": 0.0}
    return {"mean": round(float(lengths.mean()), 2), "median": float(lengths.median()),
            "max": float(lengths.max())}


def write_parts(corpus: pd.DataFrame, parts_dir: Path, num_parts: int) -> list[Path]:
    """Contiguous, nearly equal parts in input order; never an empty part file."""
    if num_parts < 1:
        raise InvalidData(f"--num-parts must be at least 1, got {num_parts}")
    count = min(num_parts, len(corpus))
    paths = []
    for index, rows in enumerate(np.array_split(np.arange(len(corpus)), count)):
        path = Path(parts_dir) / contract.PART_PATTERN.format(index=index)
        write_csv_atomic(path, corpus.iloc[rows])
        paths.append(path)
    return paths


def run(args: Any) -> dict[str, Any]:
    started = time.monotonic()
    settings = settings_from(args)
    table = read_csv_table(Path(args.input), dtype=str)
    _check_columns(table, settings, args.id_column, args.label_column)  # before loading spaCy
    nlp = text_cleaning.load_nlp(settings.drop_entity_labels)
    corpus, report = clean_table(table, settings, args.id_column, args.label_column, nlp,
                                 args.batch_size)
    if corpus.empty:
        raise InvalidData(f"no document is left after cleaning {report['rows_read']} rows "
                          f"(dropped: {report['dropped']}): check --text-columns and the "
                          "boilerplate patterns")
    parts = write_parts(corpus, Path(args.parts_dir), args.num_parts)
    report.update(parts=len(parts), seconds=round(time.monotonic() - started, 3),
                  settings=settings.to_json())
    report_dir = Path(args.report_dir)
    write_json_atomic(report_dir / contract.DATA_REPORT, report)
    write_json_atomic(report_dir / contract.PREPROCESSING_CONFIG, settings.to_json())
    logger.info("kept %d of %d rows in %d parts (dropped %s) in %.1f s", report["kept"],
                report["rows_read"], len(parts), report["dropped"], report["seconds"])
    return report


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    with failures_reported():
        run(build_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
