"""Processing job: raw records -> cleaned, de-duplicated corpus (or one host's shard of it).

Reads a table file or a folder of them (--input), combines --text-columns into one document
per row, cleans it with `text_cleaning` (boilerplate, URLs, e-mails, contractions, dropped entity
labels, lemmas, lower case) in --workers spaCy processes (with --embedding-prefix-chars, a long
document only as far as MiniLM reads it), and drops empty and duplicate documents. A row is a
duplicate when its combined raw text or its cleaned document equals an earlier row's anywhere
in the input; the first one is kept.

With --shard-dir (the pipeline's PreprocessText, on ProcessingInstanceCount instances) every
host reads the whole input, cleans only its share of the rows (row position mod host count ==
its rank; hosts as in embed.py, from steps.common.hosts) and writes its kept rows with their
positions and its counts to <shard-dir>/shard-<host>.{csv,json}; merge_corpus.py (MergeCorpus)
then merges the shards corpus-wide (corpus_shards). Without it, this one process does both and
writes what MergeCorpus writes:
- <parts-dir>/part-00000.csv ... (--num-parts files, fewer if there are fewer documents), each
  with the columns id, document and, with --label-column, label;
- <report-dir>/data_report.json: rows read, dropped (empty input, empty after cleaning,
  duplicates), kept, truncated (at --max-chars, and at what the embedding reads), label
  counts, each host's rows and time, how the input was read (input_files);
- <report-dir>/preprocessing.json: the cleaning settings, which the served model reuses.
The column arguments are the pipeline's TextColumns, IdColumn and LabelColumn parameters, and
bad choices (a missing column, ids with gaps or repeats, no text at all) end the job with one
line that names the parameter, on every host before spaCy loads (each reads the whole table, so
each refuses it the same way); fewer than --min-documents documents left end the merge.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steps.common.cli import StepArgumentParser, run_step
from steps.common.errors import InvalidData
from steps.common.hosts import SINGLE_HOST, add_host_arguments, hosts_from, my_share
from steps.common.input_tables import listed_columns, read_input_table
from steps.sequential_topics import contract, text_cleaning
from steps.sequential_topics.corpus_shards import (
    POSITION_COLUMN,
    CleanedShard,
    add_corpus_arguments,
    merge_shards,
    write_corpus,
    write_shard,
)
from steps.sequential_topics.text_cleaning import CleaningSettings

logger = logging.getLogger(__name__)
LABEL_CHECK_MIN_ROWS = 50  # labelled rows before a label column's variety says anything
LABEL_MAX_DISTINCT_SHARE = 0.5  # distinct labels per labelled row above which they are no categories


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
                        help="a table file (CSV, Parquet) or a folder of them with one header")
    parser.add_argument("--shard-dir", default="",
                        help="write this host's cleaned shard here for merge_corpus.py; "
                             "'' (default): clean every row and write the corpus parts")
    add_host_arguments(parser)  # with --shard-dir: which host this is, among which
    add_corpus_arguments(parser)  # without --shard-dir: the parts and the reports
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
    parser.add_argument("--embedding-prefix-chars", type=int, default=0,
                        help="clean only as much of a document as MiniLM embeds: this many "
                             "characters first (e.g. "
                             f"{text_cleaning.DEFAULT_PREFIX_CHARS}), doubled until the cleaned "
                             "text holds more word pieces than the model reads (counted in the "
                             "report as truncated_at_embedding); 0 (default) cleans the whole "
                             "text, which LSA and the keywords read (text_cleaning says what "
                             "the prefix costs)")
    parser.add_argument("--batch-size", type=int, default=64, help="spaCy nlp.pipe batch size")
    parser.add_argument("--workers", type=int, default=0,
                        help="spaCy processes (0: one per core of the instance; fewer when "
                             "the corpus is small)")
    return parser


def settings_from(args: Any) -> CleaningSettings:
    base = (text_cleaning.DEFAULT_BOILERPLATE if args.boilerplate_patterns is None
            else _json_patterns(args.boilerplate_patterns))
    if args.embedding_prefix_chars < 0:
        raise InvalidData(f"--embedding-prefix-chars must be 0 (clean the whole text) or a "
                          f"number of characters, got {args.embedding_prefix_chars}")
    prefix = {"embedding_word_pieces": text_cleaning.embedding_reads(),
              "prefix_chars": args.embedding_prefix_chars} if args.embedding_prefix_chars else {}
    return CleaningSettings(
        text_columns=_csv_list(args.text_columns),
        boilerplate=base + _json_patterns(args.extra_boilerplate_patterns),
        drop_entity_labels=tuple(label.upper() for label in _csv_list(args.drop_entity_labels)),
        max_chars=args.max_chars, id_column=args.id_column.strip(), **prefix)


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _no_column(parameter: str, missing: list[str], table: pd.DataFrame, fix: str) -> InvalidData:
    noun = "column" if len(missing) == 1 else "columns"
    return InvalidData(f"{parameter}: no {noun} {_quoted(missing)} in the input; its columns "
                       f"are: {listed_columns(table.columns)}; {fix}")


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
    if label_column:
        _warn_if_not_categories(table[label_column], label_column)


def _warn_if_not_categories(labels: pd.Series, label_column: str) -> None:
    """A label column with a different value on (almost) every row is an id or free text: any
    clustering agrees with it about as well as with shuffled topics, so its NMI means little."""
    known = labels.dropna().astype(str).str.strip()
    known = known[known != ""]
    distinct = known.nunique()
    if len(known) >= LABEL_CHECK_MIN_ROWS and distinct > LABEL_MAX_DISTINCT_SHARE * len(known):
        logger.warning("LabelColumn: column %r has %d different values in %d labelled rows: it "
                       "looks like an id or free text, not categories; agreement with it means "
                       "little (set LabelColumn to a column of categories, or to '' for none)",
                       label_column, distinct, len(known))


def clean_shard(table: pd.DataFrame, settings: CleaningSettings, id_column: str,
                label_column: str, nlp: Any, batch_size: int = 64, workers: int = 1,
                host: str = SINGLE_HOST, hosts: Sequence[str] = (SINGLE_HOST,)
                ) -> CleanedShard:
    """This host's share of the rows (position mod len(hosts) == its rank), cleaned.

    Raw duplicates are found over the whole table (every host reads all of it); cleaned
    duplicates inside the share; `corpus_shards.merge_shards` drops those across shares.
    """
    check_columns(table, settings.text_columns, id_column, label_column)
    positions = np.arange(len(table))
    ids = (table[id_column].astype(str).str.strip().to_numpy() if id_column
           else (positions + 1).astype(str).astype(object))
    columns = list(settings.text_columns)
    combined = pd.Series([text_cleaning.combine_fields(row)
                          for row in table[columns].itertuples(index=False, name=None)],
                         dtype=object)
    empty_input = (combined.str.len() == 0).to_numpy()
    if empty_input.all():
        raise InvalidData(f"TextColumns: {_quoted(columns)} "
                          f"{'is' if len(columns) == 1 else 'are'} empty in all {len(table)} "
                          "rows; set the TextColumns parameter to the columns that hold the "
                          "text (comma-separated)")
    duplicate_raw = combined.duplicated().to_numpy() & ~empty_input
    mine = np.zeros(len(table), dtype=bool)
    mine[my_share(positions, host, list(hosts))] = True
    todo = np.flatnonzero(mine & ~empty_input & ~duplicate_raw)
    texts = combined.iloc[todo]
    workers = text_cleaning.cleaning_workers(workers, len(todo))
    results = list(text_cleaning.clean_documents(texts.tolist(), settings, nlp, batch_size,
                                                 workers))
    cleaned = pd.Series([result.document for result in results], dtype=object)
    empty_cleaned = (cleaned.str.len() == 0).to_numpy()
    duplicate_cleaned = cleaned.duplicated().to_numpy() & ~empty_cleaned
    keep = ~empty_cleaned & ~duplicate_cleaned
    rows = pd.DataFrame({POSITION_COLUMN: todo[keep], contract.ID_COLUMN: ids[todo[keep]],
                         contract.DOCUMENT_COLUMN: cleaned[keep].to_numpy()})
    if label_column:
        labels = table[label_column].fillna("").astype(str).to_numpy()
        rows[contract.LABEL_COLUMN] = labels[todo[keep]]
    return CleanedShard(
        host=host, hosts=sorted(hosts), rows=rows, table_rows=len(table),
        shard_rows=int(mine.sum()),
        dropped={"empty_input": int((mine & empty_input).sum()),
                 "empty_after_cleaning": int(empty_cleaned.sum()),
                 "duplicate": int((mine & duplicate_raw).sum() + duplicate_cleaned.sum())},
        truncated=int((texts.str.len() > settings.max_chars).sum()),
        truncated_at_embedding=sum(result.cut for result in results),
        cleaning_workers=workers, seconds=0.0,
        context={"settings": settings.to_json(), "label_column": label_column,
                 "ids_generated": not id_column})


def clean_table(table: pd.DataFrame, settings: CleaningSettings, id_column: str,
                label_column: str, nlp: Any, batch_size: int = 64, workers: int = 1
                ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The cleaned corpus (id, document[, label]) and its data report, on one host."""
    return merge_shards([clean_shard(table, settings, id_column, label_column, nlp,
                                     batch_size, workers)])


def run(args: Any) -> dict[str, Any]:
    started = time.monotonic()
    settings = settings_from(args)
    id_column, label_column = settings.id_column, args.label_column.strip()
    host, hosts = hosts_from(args) if args.shard_dir else (SINGLE_HOST, [SINGLE_HOST])
    table, formats = read_input_table(Path(args.input), dtype=str)
    check_columns(table, settings.text_columns, id_column, label_column)  # before spaCy loads
    nlp = text_cleaning.load_nlp(settings.drop_entity_labels)
    shard = clean_shard(table, settings, id_column, label_column, nlp, args.batch_size,
                        args.workers, host, hosts)
    shard = replace(shard, seconds=round(time.monotonic() - started, 3), context={
        **shard.context, "input_files": [asdict(f) for f in formats]})  # as every host read it
    logger.info("host %s of %s: kept %d of its %d rows (dropped %s) in %.1f s", host, hosts,
                len(shard.rows), shard.shard_rows, shard.dropped, shard.seconds)
    if args.shard_dir:
        write_shard(Path(args.shard_dir), shard)
        return shard.to_json()
    report = write_corpus([shard], args, time.monotonic())
    logger.info("kept %d of %d rows in %d parts", report["kept"], report["rows_read"],
                report["parts"])
    return report


def main(argv: list[str] | None = None) -> int:
    return run_step(run, build_parser().parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
