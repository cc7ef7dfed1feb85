"""Processing job: the document representations, once, per corpus part.

Runs on one or many instances. --input holds this instance's parts (SageMaker's ShardedByS3Key
gives each instance its own share of the part files); --full-corpus holds every part
(FullyReplicated) and is used only to fit the LSA model on a deterministic sample of the whole
corpus (the --lsa-sample-size ids with the smallest MD5, read part by part so memory stays
bounded by the sample and one part), so every instance fits the same model.
With --shard-by-host the instance itself picks every n-th part of --input (for runs
where the input is not sharded, e.g. locally): part i goes to host i mod len(hosts), in sorted
host order.

Writes <output-dir>/part-XXXXX.npz per part (format in corpus_io) and, on the first host only,
<lsa-dir>/lsa.joblib and <lsa-dir>/representations.json (settings, dimensions and the
--embedding-backend), which the served model needs. Hosts come from --current-host/--hosts,
else --resource-config (SageMaker's /opt/ml/config/resourceconfig.json), else a single host
'algo-1'.
"""
from __future__ import annotations

import logging
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from steps.common.cli import StepArgumentParser, run_step
from steps.common.errors import InvalidData
from steps.common.files import csv_files, write_json_atomic
from steps.common.hosts import add_host_arguments, hosts_from, my_share
from steps.sequential_topics import contract, corpus_io, representations

logger = logging.getLogger(__name__)


def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="embed.py", description=__doc__.splitlines()[0])
    parser.add_argument("--input", default="/opt/ml/processing/input/shard",
                        help="this instance's corpus parts")
    parser.add_argument("--full-corpus", default="/opt/ml/processing/input/corpus",
                        help="every corpus part, to fit the shared LSA model")
    parser.add_argument("--output-dir", default="/opt/ml/processing/embeddings")
    parser.add_argument("--lsa-dir", default="/opt/ml/processing/lsa")
    add_host_arguments(parser)
    parser.add_argument("--shard-by-host", action="store_true",
                        help="pick this host's parts from --input (when it is not sharded)")
    parser.add_argument("--model-path", default="",
                        help="sentence-transformers folder (default: the offline MiniLM)")
    parser.add_argument("--embedding-backend", default=contract.DEFAULT_EMBEDDING_BACKEND,
                        choices=contract.EMBEDDING_BACKENDS,
                        help="MiniLM in float32 (torch), with int8 Linear layers (torch-int8), "
                             "or on ONNX Runtime in float32 (onnx) or int8 (onnx-int8)")
    parser.add_argument("--batch-size", type=int, default=16,
                        help="MiniLM batch size; small batches pad less")
    parser.add_argument("--lsa-components", type=int, default=100)
    parser.add_argument("--lsa-sample-size", type=int, default=20000)
    parser.add_argument("--lsa-max-features", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=42)
    return parser


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    import torch

    torch.manual_seed(seed)


def fit_shared_lsa(full_corpus: Path, args: Any) -> tuple[Any, dict[str, Any]]:
    parts = (corpus_io.read_part(path) for path in csv_files(full_corpus))
    documents, seen = representations.deterministic_sample(parts, args.lsa_sample_size)
    if not documents:
        raise InvalidData(f"the full corpus at {full_corpus} has no documents: pass every "
                          "part written by preprocess.py as --full-corpus")
    model = representations.fit_lsa(documents, args.lsa_components, args.lsa_max_features,
                                    args.seed)
    svd = model.named_steps["svd"]
    info = {"documents": seen, "sample": len(documents),
            "terms": len(model.named_steps["tfidf"].vocabulary_),
            "components": int(svd.n_components),
            "explained_variance": round(float(svd.explained_variance_ratio_.sum()), 6)}
    return model, info


def run(args: Any) -> dict[str, Any]:
    started = time.monotonic()
    seed_everything(args.seed)
    current, hosts = hosts_from(args)
    parts = csv_files(Path(args.input)) if Path(args.input).exists() else []
    if args.shard_by_host:
        parts = my_share(parts, current, hosts)
    logger.info("host %s of %s: %d part(s)", current, hosts, len(parts))
    lsa_model, lsa_info = fit_shared_lsa(Path(args.full_corpus), args)
    model_path = args.model_path or representations.minilm_path()
    # the job has the instance to itself: ONNX Runtime, like torch, uses every physical core
    minilm = representations.load_minilm(model_path, args.embedding_backend, onnx_threads=0)
    documents = 0
    embed_seconds = 0.0
    for part in parts:
        frame = corpus_io.read_part(part)
        tick = time.monotonic()
        arrays = representations.compute(frame[contract.DOCUMENT_COLUMN].tolist(), minilm,
                                         lsa_model, args.batch_size)
        embed_seconds += time.monotonic() - tick
        corpus_io.write_embeddings(corpus_io.embedding_path(Path(args.output_dir), part),
                                   frame[contract.ID_COLUMN].tolist(), arrays)
        documents += len(frame)
        logger.info("embedded %s: %d documents", part.name, len(frame))
    summary = {"host": current, "hosts": hosts, "parts": [p.name for p in parts],
               "embedding_backend": args.embedding_backend,
               "documents": documents, "embed_seconds": round(embed_seconds, 3),
               "docs_per_second": round(documents / embed_seconds, 2) if embed_seconds else None,
               "seconds": round(time.monotonic() - started, 3)}
    if current == hosts[0]:
        dimensions = int(minilm.get_embedding_dimension())
        representations.save_lsa(lsa_model, Path(args.lsa_dir))
        write_json_atomic(Path(args.lsa_dir) / contract.REPRESENTATIONS_FILE, {
            "minilm": {"model": "all-MiniLM-L6-v2", "dimensions": dimensions,
                       "normalized": True, "backend": args.embedding_backend},
            "lsa": {**lsa_info, "max_features": args.lsa_max_features, "seed": args.seed},
            "concat": {"dimensions": dimensions + lsa_info["components"],
                       "weights": "each half / sqrt(2)"},
            "representations": list(contract.REPRESENTATIONS)})
    logger.info("embedded %d documents in %.1f s (%s docs/s, %s)", documents, embed_seconds,
                summary["docs_per_second"], args.embedding_backend)
    return summary


def main(argv: list[str] | None = None) -> int:
    return run_step(run, build_parser().parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
