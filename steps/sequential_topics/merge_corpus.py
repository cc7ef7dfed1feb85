"""Processing job (one instance): every host's cleaned shard -> the corpus parts and reports.

PreprocessText cleans the input on ProcessingInstanceCount hosts, each its own rows
(preprocess.py --shard-dir); this step reads every shard (--shards), restores the input order,
drops the rows whose cleaned document equals an earlier row's in another shard (corpus_shards),
checks that at least --min-documents documents are left, and writes what a one-host
preprocess.py writes: <parts-dir>/part-00000.csv ... (--num-parts), <report-dir>/
data_report.json and <report-dir>/preprocessing.json. The corpus, its parts and the counts
are the same for any number of hosts.
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

from steps.common.cli import StepArgumentParser, run_step
from steps.sequential_topics.corpus_shards import add_corpus_arguments, read_shards, write_corpus

logger = logging.getLogger(__name__)


def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="merge_corpus.py", description=__doc__.splitlines()[0])
    parser.add_argument("--shards", default="/opt/ml/processing/input/shards",
                        help="the shard files of every preprocessing host")
    add_corpus_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    shards = read_shards(Path(args.shards))
    report = write_corpus(shards, args, started)
    logger.info("merged %d shard(s): kept %d of %d rows in %d parts (dropped %s)",
                len(shards), report["kept"], report["rows_read"], report["parts"],
                report["dropped"])
    return report


def main(argv: list[str] | None = None) -> int:
    return run_step(run, build_parser().parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
