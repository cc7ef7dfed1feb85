"""Topic layers fitted on a sample (issue 17 part 1): quality, and one layer-1 fit's peak
memory and time as the corpus grows.

Quality: on the BBC corpus (cleaned and MiniLM-embedded once, cached like
topic_layers_bench.py), layer-1 NMI against the 5 categories when the model is fitted on
`--quality-sample` of the 2,148 documents and assigns the rest, against fitting on all of them,
seeds 42.. (the layer's defaults otherwise). As a control for how much NMI moves when the data
barely change, also the fit on all but 0.5% of the documents (a sample of 99.5%). And how
often assigning the rest in chunks of 100 agrees with assigning them at once (UMAP's transform
depends on its batch: its epochs and negative samples do).

Scale: one layer-1 fit (layer_models.fit_layer_one with cv_folds 1: fit, assign, in-sample
scores) at each of `--sizes`, each in a fresh process (peak RSS = its ru_maxrss, imports
included), with the embeddings memory-mapped and the model fitted on `--fit-sample-size`
documents, against the full fit on the loaded matrix (today's path) in the same run. The
documents are BBC's repeated with new ids; every copy after the first gets Gaussian noise
(`--jitter` per dimension, then unit length) on its embeddings, so no two rows are equal
(exact repeats flatter UMAP's neighbour search and BIRCH); it still has BBC's 5 topics and
near-duplicate neighbourhoods, which flatters both paths alike.

    python -m bench.topic_scale_bench [--seeds 3] [--quality-sample 1000]
        [--sizes 2000,10000,50000] [--fit-sample-size 5000] [--cache-dir DIR]
        [--skip-quality] [--skip-scale]

`--corpus wordnet --pipeline-store DIR`: the quality check where sampling applies, on the
distinct WordNet documents of a local pipeline run (bench/topic_pipeline_scale_bench.py's
store of one size: its cleaned corpus, and its embeddings, made once with the pipeline's
default backend): layer 1 fitted on `--quality-sample` documents (the pipeline's
FitSampleSize) against fitted on all, NMI against the lexicographer file (45) and the part of
speech (4), seeds 42..; no control fits (each full fit is minutes at 100k).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.hierarchical_corpora import CORPORA
from bench.topic_layers_bench import prepare
from steps.sequential_topics import contract, corpus_io, sample_fit, topic_model
from steps.sequential_topics.embedding_map import EmbeddingMap
from steps.sequential_topics.layer_models import fit_layer_one, layer_assignments
from steps.sequential_topics.topic_model import ModelSettings

REPO = Path(__file__).resolve().parents[1]
PART_ROWS = 10_000  # rows per embedding part, as embed.py's shards would write them


def quality(documents: list[str], embeddings: np.ndarray, labels: np.ndarray, seeds: list[int],
            sample_size: int) -> dict:
    from sklearn.metrics import normalized_mutual_info_score

    rows = []
    for seed in seeds:
        settings = ModelSettings(seed=seed)
        figures: dict[str, float] = {"seed": seed}
        nearly_all = len(documents) - max(1, len(documents) // 200)
        for name, size in (("full", len(documents)), ("nearly_full", nearly_all),
                           ("sample", sample_size)):
            started = time.perf_counter()
            result = fit_layer_one(documents, embeddings, settings, 1, size)
            figures[f"{name}_s"] = round(time.perf_counter() - started, 1)
            figures[f"{name}_nmi"] = round(float(normalized_mutual_info_score(
                labels, layer_assignments(result, len(documents)))), 4)
        fitted = result.models[0]
        rest = np.setdiff1d(np.arange(len(documents)), fitted.sample)
        one_shot = sample_fit.assign(fitted.model, documents, embeddings, rest, len(rest))
        chunked = sample_fit.assign(fitted.model, documents, embeddings, rest, 100)
        figures["chunk_agreement"] = round(float((one_shot == chunked).mean()), 4)
        print(json.dumps(figures), flush=True)
        rows.append(figures)
    change = [r["sample_nmi"] - r["full_nmi"] for r in rows]
    control = [r["nearly_full_nmi"] - r["full_nmi"] for r in rows]
    return {"runs": rows, "sample_size": sample_size, "documents": len(documents),
            **{f"mean_{name}_nmi": round(statistics.mean(r[f"{name}_nmi"] for r in rows), 4)
               for name in ("full", "nearly_full", "sample")},
            "mean_change": round(statistics.mean(change), 4),
            "worst_change": round(min(change), 4),
            "control_mean_change": round(statistics.mean(control), 4),
            "control_worst_change": round(min(control), 4)}


def pipeline_run_data(store: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The cleaned corpus (id, document, label) and its MiniLM embeddings of the one topic
    pipeline execution in a local store."""
    runs = sorted(store.glob("*/SequentialTopicsPipeline/*/MergeCorpus/corpus"))
    if len(runs) != 1:
        raise SystemExit(f"--pipeline-store: expected one topic pipeline run in {store}, "
                         f"found {len(runs)}")
    corpus = corpus_io.read_corpus(runs[0])
    embeddings = corpus_io.read_embeddings(runs[0].parents[1] / "EmbedDocuments" / "embeddings",
                                           contract.MINILM, corpus[contract.ID_COLUMN].tolist())
    return corpus, embeddings


def sample_fit_quality(corpus: pd.DataFrame, embeddings: np.ndarray, seeds: list[int],
                       sample_size: int) -> dict:
    """Layer-1 NMI fitted on `sample_size` documents vs on all, against each label level."""
    from sklearn.metrics import normalized_mutual_info_score

    documents = corpus[contract.DOCUMENT_COLUMN].tolist()
    labels = {"lexname": corpus[contract.LABEL_COLUMN].to_numpy(),
              "pos": corpus[contract.LABEL_COLUMN].str.split(".").str[0].to_numpy()}
    rows = []
    for seed in seeds:
        figures: dict[str, float] = {"seed": seed}
        for name, size in (("full", len(documents)), ("sample", sample_size)):
            started = time.perf_counter()
            fit = sample_fit.fit_and_assign(documents, embeddings, np.arange(len(documents)),
                                            ModelSettings(seed=seed), size)
            figures[f"{name}_s"] = round(time.perf_counter() - started, 1)
            figures[f"{name}_topics"] = len(set(fit.topics.tolist()))
            for level, truth in labels.items():
                figures[f"{name}_nmi_{level}"] = round(float(
                    normalized_mutual_info_score(truth, fit.topics)), 4)
        print(json.dumps(figures), flush=True)
        rows.append(figures)
    summary = {}
    for level in labels:
        change = [r[f"sample_nmi_{level}"] - r[f"full_nmi_{level}"] for r in rows]
        for name in ("full", "sample"):
            values = [r[f"{name}_nmi_{level}"] for r in rows]
            summary[f"{name}_nmi_{level}"] = {"mean": round(statistics.mean(values), 4),
                                              "sd": round(statistics.stdev(values), 4)
                                              if len(values) > 1 else 0.0}
        summary[f"change_{level}"] = {"mean": round(statistics.mean(change), 4),
                                      "worst": round(min(change), 4)}
    return {"runs": rows, "sample_size": sample_size, "documents": len(documents), **summary}


def write_corpus(documents: list[str], embeddings: np.ndarray, size: int, jitter: float,
                 folder: Path) -> None:
    """`size` documents: BBC's repeated with new ids, each later copy's embeddings jittered."""
    rng = np.random.default_rng(0)
    copies = -(-size // len(documents))
    matrix = np.concatenate([embeddings] + [
        embeddings + rng.normal(0, jitter, embeddings.shape).astype(np.float32)
        for _ in range(copies - 1)])[:size]
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = [f"d{i}" for i in range(size)]
    pd.DataFrame({contract.ID_COLUMN: ids, contract.DOCUMENT_COLUMN: (
        documents * copies)[:size]}).to_csv(folder / "corpus.csv", index=False)
    (folder / "embeddings").mkdir()
    for number, start in enumerate(range(0, size, PART_ROWS)):
        corpus_io.write_embeddings(folder / "embeddings" / f"part-{number:05d}.npz",
                                   ids[start:start + PART_ROWS],
                                   {contract.MINILM: matrix[start:start + PART_ROWS]})


def child(folder: Path, mode: str, sample_size: int) -> None:
    """One layer-1 fit in this process; prints its seconds and peak RSS as JSON (and, on
    stderr, the sample fit's split of its time)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    topic_model.set_numba_cache()
    frame = corpus_io.read_part(folder / "corpus.csv")
    ids, documents = frame[contract.ID_COLUMN].tolist(), frame[contract.DOCUMENT_COLUMN].tolist()
    started = time.perf_counter()
    if mode == "full":
        embeddings = corpus_io.read_embeddings(folder / "embeddings", contract.MINILM, ids)
        size = len(ids)
    else:
        embeddings = EmbeddingMap(folder / "embeddings", contract.MINILM, ids)
        size = sample_size
    result = fit_layer_one(documents, embeddings, ModelSettings(), 1, size)
    print(json.dumps({"seconds": round(time.perf_counter() - started, 1),
                      "peak_rss_gib": round(resource.getrusage(
                          resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
                      "fitted": len(result.models[0].sample),
                      "topics": len(set(result.models[0].local_topics.tolist()))}), flush=True)


def scale(documents: list[str], embeddings: np.ndarray, sizes: list[int], sample_size: int,
          jitter: float) -> list[dict]:
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="topic-scale-") as work:
            write_corpus(documents, embeddings, size, jitter, Path(work))
            for mode in ("full", "sample"):
                if mode == "sample" and size <= sample_size:
                    continue  # the same fit as the full one
                done = subprocess.run(
                    [sys.executable, "-m", "bench.topic_scale_bench", "--child", work, mode,
                     str(sample_size)], capture_output=True, text=True, check=False, cwd=REPO)
                if done.returncode != 0:
                    raise RuntimeError(f"{mode} fit at {size} failed: {done.stderr[-2000:]}")
                figures = {"documents": size, "mode": mode,
                           **json.loads(done.stdout.strip().splitlines()[-1])}
                figures["split"] = [line for line in done.stderr.splitlines()
                                    if line.startswith("fitted on")]
                print(json.dumps(figures), flush=True)
                rows.append(figures)
    return rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quality-sample", type=int, default=1000)
    parser.add_argument("--sizes", default="2000,10000,50000")
    parser.add_argument("--fit-sample-size", type=int, default=5000)
    parser.add_argument("--jitter", type=float, default=0.01)
    parser.add_argument("--cache-dir", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
        "ensemble-model-build", "topic-layers-bench"))
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--corpus", choices=("bbc", "wordnet"), default="bbc")
    parser.add_argument("--pipeline-store", type=Path,
                        help="--corpus wordnet: a local store of one topic pipeline run")
    parser.add_argument("--child", nargs=3, metavar=("FOLDER", "MODE", "SAMPLE"),
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        child(Path(args.child[0]), args.child[1], int(args.child[2]))
        return 0
    topic_model.set_numba_cache()
    if args.corpus == "wordnet":
        if args.pipeline_store is None:
            raise SystemExit("--corpus wordnet needs --pipeline-store: the local store of a "
                             "bench/topic_pipeline_scale_bench.py run")
        corpus, embeddings = pipeline_run_data(args.pipeline_store)
        report = sample_fit_quality(corpus, embeddings, list(range(42, 42 + args.seeds)),
                                    args.quality_sample)
        print(json.dumps(report, indent=2))
        return 0
    prepared = prepare(CORPORA["bbc"], 0, 0, Path(args.cache_dir), (contract.MINILM,))
    documents, embeddings = prepared.documents, prepared.embeddings[contract.MINILM]
    report = {"machine": f"{os.cpu_count()} cores (shared)"}
    if not args.skip_quality:
        report["quality"] = quality(documents, embeddings, prepared.frame["coarse"].to_numpy(),
                                    list(range(42, 42 + args.seeds)), args.quality_sample)
    if not args.skip_scale:
        report["scale"] = scale(documents, embeddings, [int(s) for s in args.sizes.split(",")],
                                args.fit_sample_size, args.jitter)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
