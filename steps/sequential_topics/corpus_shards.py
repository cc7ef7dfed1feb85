"""One host's cleaned shard of the corpus, and the corpus-wide merge of every host's shard.

Preprocessing runs on ProcessingInstanceCount hosts; each reads the whole input and cleans
only its rows (row position mod host count == its rank). A row is a duplicate when its
combined raw text or its cleaned document equals an EARLIER row's anywhere in the corpus:
each host sees every raw text, so it drops raw duplicates corpus-wide itself, and it drops
the cleaned duplicates inside its shard; the merge restores the input order and drops the
cleaned duplicates across shards. The first occurrence of a document is the first in its
shard, so this keeps exactly the rows, counts and parts that one host cleaning everything
keeps.

A shard is two files in the shard folder (every host uploads to the same prefix, so the names
carry the host): `shard-<host>.csv` (position, id, document[, label]: the kept rows, in input
order) and `shard-<host>.json` (the hosts, the table's row count, this shard's counts, the
cleaning settings).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steps.common.errors import InvalidData
from steps.common.files import write_csv_atomic, write_json_atomic
from steps.sequential_topics import contract

POSITION_COLUMN = "position"  # the row's 0-based position in the whole input table
SHARD_ROWS = "shard-{host}.csv"
SHARD_REPORT = "shard-{host}.json"
# a corpus part's documents at most: what one embedding instance holds at a time (1M documents
# make at least 20 parts, so up to 20 instances can share the embedding)
MAX_PART_DOCUMENTS = 50_000
DROP_REASONS = ("empty_input", "empty_after_cleaning", "duplicate")


@dataclass
class CleanedShard:
    """What one host kept of its rows, and why it dropped the others."""

    host: str
    hosts: list[str]
    rows: pd.DataFrame          # position, id, document[, label]; in input order
    table_rows: int             # rows of the whole input table (every host reads all of it)
    shard_rows: int             # rows that were this host's to clean
    dropped: dict[str, int]     # DROP_REASONS -> rows of this shard
    truncated: int              # combined texts longer than max_chars
    truncated_at_embedding: int  # documents cleaned from a prefix (what the embedding reads)
    cleaning_workers: int
    seconds: float
    context: dict[str, Any]     # settings, label_column, ids_generated: equal on every host

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "hosts": self.hosts, "table_rows": self.table_rows,
                "shard_rows": self.shard_rows, "dropped": self.dropped,
                "truncated": self.truncated,
                "truncated_at_embedding": self.truncated_at_embedding,
                "cleaning_workers": self.cleaning_workers,
                "seconds": self.seconds, "context": self.context}


def write_shard(folder: Path, shard: CleanedShard) -> None:
    """The shard's rows and counts, named after its host."""
    write_csv_atomic(Path(folder) / SHARD_ROWS.format(host=shard.host), shard.rows)
    write_json_atomic(Path(folder) / SHARD_REPORT.format(host=shard.host), shard.to_json())


def read_shards(folder: Path) -> list[CleanedShard]:
    """Every host's shard, refusing a set that is incomplete or from different runs."""
    folder = Path(folder)
    reports = sorted(folder.rglob(SHARD_REPORT.format(host="*"))) if folder.is_dir() else []
    if not reports:
        raise InvalidData(f"no cleaned shard ({SHARD_REPORT.format(host='<host>')}) under "
                          f"{folder}: pass the --shard-dir output of preprocess.py")
    shards = [_read_shard(path) for path in reports]
    first = shards[0]
    found = sorted(s.host for s in shards)
    if found != first.hosts:
        missing = sorted(set(first.hosts) - set(found))
        raise InvalidData(f"{folder} holds the shards of hosts {found}, but preprocessing ran "
                          f"on {first.hosts} (missing: {missing or 'none'}): merge the "
                          "output of one complete preprocessing job")
    for shard in shards[1:]:
        if ((shard.hosts, shard.table_rows, shard.context)
                != (first.hosts, first.table_rows, first.context)):
            raise InvalidData(f"shards {first.host} and {shard.host} come from different "
                              "preprocessing runs (hosts, input rows or settings differ): "
                              "merge the output of one preprocessing job")
    if sum(s.shard_rows for s in shards) != first.table_rows:
        raise InvalidData(f"the shards under {folder} cover "
                          f"{sum(s.shard_rows for s in shards)} rows of an input of "
                          f"{first.table_rows}: merge the output of one complete job")
    return shards


def _read_shard(report_path: Path) -> CleanedShard:
    document = json.loads(report_path.read_text())
    rows_path = report_path.with_suffix(".csv")
    if not rows_path.is_file():
        raise InvalidData(f"{rows_path.name} is missing beside {report_path.name}: merge "
                          "the output of one complete preprocessing job")
    # every field is text: no NaN for an empty label, no number for an id such as '007'
    rows = pd.read_csv(rows_path, dtype=str, keep_default_na=False, na_filter=False)
    rows[POSITION_COLUMN] = rows[POSITION_COLUMN].astype(np.int64)
    return CleanedShard(rows=rows, **{k: document[k] for k in (
        "host", "hosts", "table_rows", "shard_rows", "dropped", "truncated",
        "truncated_at_embedding", "cleaning_workers", "seconds", "context")})


def merge_shards(shards: list[CleanedShard]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The corpus (id, document[, label]) in input order and its data report, as one host
    cleaning every row would have made them."""
    rows = pd.concat([s.rows for s in shards], ignore_index=True)
    if rows[POSITION_COLUMN].duplicated().any():
        raise InvalidData("two shards hold the same input row: merge the output of one "
                          "preprocessing job")
    rows = rows.sort_values(POSITION_COLUMN, kind="stable")
    across = rows[contract.DOCUMENT_COLUMN].duplicated()  # equal to a row of another shard
    corpus = rows.loc[~across].drop(columns=POSITION_COLUMN).reset_index(drop=True)
    dropped = {reason: sum(s.dropped[reason] for s in shards) for reason in DROP_REASONS}
    dropped["duplicate"] += int(across.sum())
    context = shards[0].context
    lengths = corpus[contract.DOCUMENT_COLUMN].str.split().str.len()
    report: dict[str, Any] = {
        "rows_read": shards[0].table_rows,
        "dropped": dropped,
        "kept": len(corpus),
        "truncated": sum(s.truncated for s in shards),
        "truncated_at_embedding": sum(s.truncated_at_embedding for s in shards),
        "cleaning_workers": sum(s.cleaning_workers for s in shards),
        "tokens_per_document": _describe(lengths),
        "hosts": [{"host": s.host, "rows": s.shard_rows, "documents": len(s.rows),
                   "cleaning_workers": s.cleaning_workers, "seconds": s.seconds}
                  for s in shards],
        **context,
    }
    if context["label_column"]:
        report["labels"] = dict(sorted(Counter(corpus[contract.LABEL_COLUMN]).items()))
    return corpus, report


def add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    """Where and how `write_corpus` writes the merged corpus."""
    parser.add_argument("--parts-dir", default="/opt/ml/processing/corpus")
    parser.add_argument("--report-dir", default="/opt/ml/processing/report")
    parser.add_argument("--min-documents", type=int, default=contract.MIN_DOCUMENTS,
                        help="fewer documents left after cleaning fail the job")
    parser.add_argument("--num-parts", type=int, default=4)


def write_corpus(shards: list[CleanedShard], args: argparse.Namespace,
                 started: float) -> dict[str, Any]:
    """Merge, check the document count, then write the parts, the data report and the
    cleaning settings (preprocessing.json, which the served model reuses); `started`: when
    the merge began (time.monotonic)."""
    corpus, report = merge_shards(shards)
    check_enough_documents(report, args.min_documents)
    parts = write_parts(corpus, Path(args.parts_dir), args.num_parts)
    # the slowest host, then the merge: the cleaning's critical path
    report.update(parts=len(parts), seconds=round(
        max(s.seconds for s in shards) + time.monotonic() - started, 3))
    report_dir = Path(args.report_dir)
    write_json_atomic(report_dir / contract.DATA_REPORT, report)
    write_json_atomic(report_dir / contract.PREPROCESSING_CONFIG, report["settings"])
    return report


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


def write_parts(corpus: pd.DataFrame, parts_dir: Path, num_parts: int,
                max_part_documents: int = MAX_PART_DOCUMENTS) -> list[Path]:
    """Contiguous, nearly equal parts in input order; never an empty part file. At least
    `num_parts` parts, more when a part would hold over `max_part_documents`: a part is what
    one embedding instance holds in memory at a time (~14 KiB a document), and the part count
    caps how many instances can share the embedding."""
    if num_parts < 1:
        raise InvalidData(f"--num-parts must be at least 1, got {num_parts}")
    count = min(max(num_parts, math.ceil(len(corpus) / max_part_documents)), len(corpus))
    paths = []
    for index, rows in enumerate(np.array_split(np.arange(len(corpus)), count)):
        path = Path(parts_dir) / contract.PART_PATTERN.format(index=index)
        write_csv_atomic(path, corpus.iloc[rows])
        paths.append(path)
    return paths
