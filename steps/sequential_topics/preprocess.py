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
The column arguments are the pipeline's TextColumns, IdColumn and LabelColumn parameters, and
bad choices (a missing column, ids with gaps or repeats, no text at all, fewer than
--min-documents documents left) end the job with one line that names the parameter.
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

from steps.common.cli import StepArgumentParser, run_step
from steps.common.errors import InvalidData
from steps.common.files import read_csv_table, write_csv_atomic, write_json_atomic
from steps.sequential_topics import contract, text_cleaning
from steps.sequential_topics.text_cleaning import CleaningSettings

logger = logging.getLogger(__name__)


def _csv_list(text: str) -> tuple[str, ...]:
    """Comma-separated names, stripped, empty ones and repeats dropped, in order."""
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


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
                        help="TextColumns: comma-separated columns combined into one document")
    parser.add_argument("--id-column", default=contract.DEFAULT_ID_COLUMN,
                        help="IdColumn: unique record id; '' numbers the rows (1, 2, ...)")
    parser.add_argument("--label-column", default="",
                        help="LabelColumn: optional ground truth, kept as 'label' for "
                             "evaluation; '' for none")
    parser.add_argument("--drop-entity-labels",
                        default=",".join(text_cleaning.DEFAULT_DROP_ENTITY_LABELS),
                        help="spaCy NER labels whose tokens are removed ('' keeps all)")
    parser.add_argument("--boilerplate-patterns", default=None,
                        help="JSON list of regexes replacing the defaults ('[]' for none)")
    parser.add_argument("--extra-boilerplate-patterns", default="[]",
                        help="JSON list of regexes added to the patterns in use")
    parser.add_argument("--max-chars", type=int, default=20000,
                        help="longer combined texts are truncated (counted in the report)")
    parser.add_argument("--min-documents", type=int, default=contract.MIN_DOCUMENTS,
                        help="fewer documents left after cleaning fail the job")
    parser.add_argument("--num-parts", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64, help="spaCy nlp.pipe batch size")
    parser.add_argument("--workers", type=int, default=0,
                        help="spaCy processes (0: one per core of the instance; fewer when "
                             "the corpus is small)")
    return parser


def settings_from(args: Any) -> CleaningSettings:
    base = (text_cleaning.DEFAULT_BOILERPLATE if args.boilerplate_patterns is None
            else _json_patterns(args.boilerplate_patterns))
    return CleaningSettings(
        text_columns=_csv_list(args.text_columns),
        boilerplate=base + _json_patterns(args.extra_boilerplate_patterns),
        drop_entity_labels=tuple(label.upper() for label in _csv_list(args.drop_entity_labels)),
        max_chars=args.max_chars, id_column=args.id_column.strip())


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _no_column(parameter: str, missing: list[str], table: pd.DataFrame, fix: str) -> InvalidData:
    noun = "column" if len(missing) == 1 else "columns"
    return InvalidData(f"{parameter}: no {noun} {_quoted(missing)} in the input; its columns "
                       f"are {list(table.columns)}; {fix}")


def check_columns(table: pd.DataFrame, text_columns: tuple[str, ...], id_column: str,
                  label_column: str) -> None:
    """Refuse column choices the input cannot satisfy, naming the parameter to change."""
    missing = [c for c in text_columns if c not in table.columns]
    if missing:
        raise _no_column("TextColumns", missing, table, "set the TextColumns parameter to the "
                         "free-text columns (comma-separated)")
    if id_column and id_column not in table.columns:
        raise _no_column("IdColumn", [id_column], table, "set the IdColumn parameter to the "
                         "column that identifies each record, or to '' to number the rows")
    if label_column and label_column not in table.columns:
        raise _no_column("LabelColumn", [label_column], table, "set the LabelColumn parameter "
                         "to the column of known categories, or to '' for none")
    if id_column:
        ids = table[id_column].fillna("").astype(str).str.strip()
        gaps = ids == ""
        if gaps.any():
            raise InvalidData(f"IdColumn: column {id_column!r} is empty in {int(gaps.sum())} "
                              f"of {len(ids)} rows; every record needs an id: fill them, or "
                              "set the IdColumn parameter to '' to number the rows")
        repeated = ids[ids.duplicated()].unique().tolist()
        if repeated:
            raise InvalidData(f"IdColumn: column {id_column!r} repeats {len(repeated)} "
                              f"value(s), e.g. {repeated[:5]}; ids must be unique: choose "
                              "another IdColumn, or set it to '' to number the rows")


def clean_table(table: pd.DataFrame, settings: CleaningSettings, id_column: str,
                label_column: str, nlp: Any, batch_size: int = 64, workers: int = 1
                ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The cleaned corpus (id, document[, label]) and the counts for the data report."""
    check_columns(table, settings.text_columns, id_column, label_column)
    ids = (table[id_column].astype(str).str.strip() if id_column
           else pd.Series([str(i) for i in range(1, len(table) + 1)], index=table.index))
    columns = list(settings.text_columns)
    combined = [text_cleaning.combine_fields(row)
                for row in table[columns].itertuples(index=False, name=None)]
    combined_series = pd.Series(combined, index=table.index)
    empty_input = combined_series.str.len() == 0
    if empty_input.all():
        raise InvalidData(f"TextColumns: {_quoted(columns)} "
                          f"{'is' if len(columns) == 1 else 'are'} empty in all {len(table)} "
                          "rows; set the TextColumns parameter to the columns that hold the "
                          "text (comma-separated)")
    duplicate_raw = combined_series.duplicated() & ~empty_input
    todo = ~empty_input & ~duplicate_raw
    truncated = int((combined_series[todo].str.len() > settings.max_chars).sum())
    cleaned = pd.Series("", index=table.index)
    workers = text_cleaning.cleaning_workers(workers, int(todo.sum()))
    cleaned[todo] = list(text_cleaning.clean_texts(combined_series[todo].tolist(), settings,
                                                   nlp, batch_size, workers))
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
        "cleaning_workers": workers,
        "ids_generated": not id_column,
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


def check_enough_documents(report: dict[str, Any], min_documents: int) -> None:
    """Refuse a cleaned corpus too small to cluster; the usual cause is the wrong columns."""
    if report["kept"] >= max(min_documents, 1):
        return
    dropped = ", ".join(f"{why.replace('_', ' ')} {count}"
                        for why, count in report["dropped"].items())
    raise InvalidData(f"TextColumns: only {report['kept']} of {report['rows_read']} rows are "
                      f"left after cleaning (dropped: {dropped}); topic modelling needs at "
                      f"least {min_documents} documents: set the TextColumns parameter to the "
                      "columns that hold the text, or give a larger corpus")


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
    id_column, label_column = settings.id_column, args.label_column.strip()
    table = read_csv_table(Path(args.input), dtype=str)
    check_columns(table, settings.text_columns, id_column, label_column)  # before spaCy loads
    nlp = text_cleaning.load_nlp(settings.drop_entity_labels)
    corpus, report = clean_table(table, settings, id_column, label_column, nlp, args.batch_size,
                                 args.workers)
    check_enough_documents(report, args.min_documents)
    parts = write_parts(corpus, Path(args.parts_dir), args.num_parts)
    report.update(parts=len(parts), seconds=round(time.monotonic() - started, 3),
                  settings=settings.to_json(), label_column=label_column)
    report_dir = Path(args.report_dir)
    write_json_atomic(report_dir / contract.DATA_REPORT, report)
    write_json_atomic(report_dir / contract.PREPROCESSING_CONFIG, settings.to_json())
    logger.info("kept %d of %d rows in %d parts (dropped %s) in %.1f s", report["kept"],
                report["rows_read"], len(parts), report["dropped"], report["seconds"])
    return report


def main(argv: list[str] | None = None) -> int:
    return run_step(run, build_parser().parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
