"""Sequential topic pipeline on the BBC corpus: quality against a default BERTopic, speed, scale.

Quality and speed (fixed seeds, `--runs` runs each, mean ± sd):
- preprocessing time and embedding throughput (MiniLM docs/s);
- layer 1 (MiniLM + UMAP + BIRCH, the script's defaults, 3-fold CV) vs. a default BERTopic
  (UMAP + HDBSCAN) on the same embeddings: NMI/ARI against the 5 categories, NPMI coherence,
  diversity, time; target: layer-1 NMI at least 0.05 above the baseline;
- layers 2 and 3: time, with the callback's automatic mapping (the largest topic is split
  when the automatic rules split nothing, so each layer has work).
Scale (`--scale 2000,10000,50000`, one run each; the cleaned corpus repeated with new ids):
embedding and layer-1 time and peak memory with 1 and 2 shards (each shard embedded by its
own embed.py process; peak RSS from getrusage of the child).

    python bench/sequential_topics_bench.py [--n-docs 2225] [--runs 3] [--scale 2000,10000]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lambdas.mapping_callback.mapping_update import update_mapping
from pipelines.sequential_topics.sample_data import sample_frame
from steps.sequential_topics import (
    contract,
    corpus_io,
    layer_store,
    text_cleaning,
    topic_metrics,
    topic_model,
)
from steps.sequential_topics.mapping_schema import MappingOverrides, dump_document
from steps.sequential_topics.preprocess import clean_table

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "steps" / "sequential_topics"


def mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


_PEAK = "PEAK_RSS_KIB"
# Runs a step script and reports the process's own peak RSS (ru_maxrss, KiB on Linux).
_WRAPPER = ("import resource, runpy, sys\n"
            "sys.argv = sys.argv[1:]\n"
            "try:\n"
            "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
            "finally:\n"
            f"    print('{_PEAK}', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
            " file=sys.stderr)\n")


def run_script(script: str, args: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB of the step's own process, stdout) of one step program."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _WRAPPER, str(SCRIPTS / script), *args],
                          capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{script} failed: {done.stderr[-2000:]}")
    peak = [line for line in done.stderr.splitlines() if line.startswith(_PEAK)][-1]
    return seconds, int(peak.split()[1]) / 1024, done.stdout


def prepare(n_docs: int, folder: Path) -> tuple[pd.DataFrame, float]:
    settings = text_cleaning.CleaningSettings(text_columns=("title", "description", "details"))
    nlp = text_cleaning.load_nlp(settings.drop_entity_labels)
    started = time.perf_counter()
    corpus, _ = clean_table(sample_frame(n_docs), settings, "id", "label", nlp)
    seconds = time.perf_counter() - started
    folder.mkdir(parents=True, exist_ok=True)
    corpus.to_csv(folder / "part-00000.csv", index=False)
    return corpus, seconds


def baseline(documents: list[str], embeddings: np.ndarray, seed: int) -> tuple[np.ndarray, list]:
    """BERTopic's defaults (UMAP 15/5, HDBSCAN min_cluster_size 10) on the same embeddings."""
    from bertopic import BERTopic
    from umap import UMAP

    model = BERTopic(embedding_model=None, umap_model=UMAP(
        n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed),
        verbose=False)
    topics, _ = model.fit_transform(documents, embeddings=embeddings)
    words = [[w for w, _ in model.get_topic(t)] for t in sorted(set(topics)) if t != -1]
    return np.asarray(topics), words


def quality(labels, topics, words, documents) -> dict[str, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {"nmi": normalized_mutual_info_score(labels, topics),
            "ari": adjusted_rand_score(labels, topics),
            "coherence": topic_metrics.npmi_coherence(words, documents)[0],
            "diversity": topic_metrics.topic_diversity(words), "topics": len(words)}


def train(layer: int, corpus: Path, embeddings: Path, work: Path, seed: int,
          extra: list[str]) -> tuple[float, Path]:
    model_dir = work / f"model{layer}"
    args = ["--corpus", str(corpus), "--embeddings", str(embeddings), "--model-dir",
            str(model_dir), "--output-data-dir", str(work / f"output{layer}"), "--layer",
            str(layer), "--seed", str(seed), *extra]
    seconds, _, _ = run_script("train_layer.py", args)
    return seconds, model_dir


def mapping_for(model_dir: Path, layer: int, previous, folder: Path):
    summary = layer_store.read_summary(model_dir, layer)
    mapping = update_mapping(previous, summary)
    if not mapping.recluster:
        largest = max(summary.topics, key=lambda t: t.size)
        mapping = update_mapping(previous, summary, MappingOverrides(
            topics={f"{layer}:{largest.topic}": {"action": "split"}}))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / contract.MAPPING_FILE).write_bytes(dump_document(mapping))
    return mapping


def quality_and_speed(args: argparse.Namespace, root: Path) -> dict:
    corpus, clean_seconds = prepare(args.n_docs, root / "parts")
    documents = corpus[contract.DOCUMENT_COLUMN].tolist()
    labels = corpus[contract.LABEL_COLUMN].to_numpy()
    results: dict[str, list] = {k: [] for k in (
        "embed_docs_per_s", "layer1_s", "layer2_s", "layer3_s", "baseline_s",
        "layer1_nmi", "layer1_ari", "layer1_coherence", "layer1_diversity", "baseline_nmi",
        "baseline_ari", "baseline_coherence", "baseline_diversity", "baseline_topics")}
    for run in range(args.runs):
        seed = 42 + run
        work = root / f"run{run}"
        _, _, out = run_script("embed.py", [
            "--input", str(root / "parts"), "--full-corpus", str(root / "parts"),
            "--output-dir", str(work / "embeddings"), "--lsa-dir", str(work / "lsa"),
            "--seed", str(seed), "--resource-config", str(work / "none.json")])
        rate = [line for line in out.splitlines() if "docs/s" in line][-1]
        results["embed_docs_per_s"].append(float(rate.split("(")[-1].split(" ")[0]))
        seconds, model1 = train(1, root / "parts", work / "embeddings", work, seed, [])
        results["layer1_s"].append(seconds)
        assignments = layer_store.read_assignments(model1).set_index("id").loc[
            corpus[contract.ID_COLUMN]]
        summary = layer_store.read_summary(model1, 1)
        words = [[k.word for k in t.keywords] for t in summary.topics]
        ours = quality(labels, assignments["layer1"].to_numpy(), words, documents)
        for key in ("nmi", "ari", "coherence", "diversity"):
            results[f"layer1_{key}"].append(ours[key])
        mapping1 = mapping_for(model1, 1, None, work / "mapping1")
        seconds, model2 = train(2, root / "parts", work / "embeddings", work, seed, [
            "--mapping", str(work / "mapping1"), "--previous-model", str(model1)])
        results["layer2_s"].append(seconds)
        mapping_for(model2, 2, mapping1, work / "mapping2")
        seconds, _ = train(3, root / "parts", work / "embeddings", work, seed, [
            "--mapping", str(work / "mapping2"), "--previous-model", str(model2)])
        results["layer3_s"].append(seconds)
        embeddings = corpus_io.read_embeddings(work / "embeddings", contract.MINILM,
                                               corpus[contract.ID_COLUMN].tolist())
        started = time.perf_counter()
        topics, base_words = baseline(documents, embeddings, seed)
        results["baseline_s"].append(time.perf_counter() - started)
        theirs = quality(labels, topics, base_words, documents)
        for key in ("nmi", "ari", "coherence", "diversity", "topics"):
            results[f"baseline_{key}"].append(theirs[key])
        print(f"run {run + 1}: ours {ours}, baseline {theirs}", flush=True)
    summary = {k: mean_sd(v) for k, v in results.items()}
    summary["documents"] = len(corpus)
    summary["preprocess_s"] = round(clean_seconds, 2)
    summary["nmi_gain"] = round(statistics.mean(results["layer1_nmi"])
                                - statistics.mean(results["baseline_nmi"]), 4)
    return summary


def scale(sizes: list[int], root: Path) -> list[dict]:
    corpus, _ = prepare(None, root / "base")
    rows = []
    for size in sizes:
        repeated = pd.concat([corpus] * (size // len(corpus) + 1), ignore_index=True).head(size)
        repeated[contract.ID_COLUMN] = [f"d{i}" for i in range(size)]
        for shards in (1, 2):
            folder = root / f"s{size}-{shards}"
            for index, rows_ in enumerate(np.array_split(np.arange(size), 4)):
                path = folder / "parts" / contract.PART_PATTERN.format(index=index)
                path.parent.mkdir(parents=True, exist_ok=True)
                repeated.iloc[rows_].to_csv(path, index=False)
            seconds, peaks = [], []
            for host in [f"algo-{n + 1}" for n in range(shards)]:
                took, peak, _ = run_script("embed.py", [
                    "--input", str(folder / "parts"), "--full-corpus", str(folder / "parts"),
                    "--output-dir", str(folder / "embeddings"), "--lsa-dir", str(folder / "lsa"),
                    "--current-host", host, "--hosts", ",".join(
                        f"algo-{n + 1}" for n in range(shards)), "--shard-by-host"])
                seconds.append(took)
                peaks.append(peak)
            layer_seconds, layer_peak, _ = run_script("train_layer.py", [
                "--corpus", str(folder / "parts"), "--embeddings", str(folder / "embeddings"),
                "--model-dir", str(folder / "model"), "--output-data-dir",
                str(folder / "out"), "--layer", "1", "--cv_folds", "1"])
            rows.append({"documents": size, "shards": shards,
                         "embed_s_per_shard": [round(s, 1) for s in seconds],
                         "embed_peak_mib_per_process": round(max(peaks), 1),
                         "layer1_s": round(layer_seconds, 1),
                         "layer1_peak_mib": round(layer_peak, 1)})
            print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-docs", type=int, default=None, help="default: all 2,225")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", default="", help="comma-separated sizes, e.g. 2000,10000")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    topic_model.set_numba_cache()
    report = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="topics-bench-") as work:
        root = Path(work)
        report["quality_and_speed"] = quality_and_speed(args, root / "quality")
        if args.scale:
            report["scale"] = scale([int(s) for s in args.scale.split(",")], root / "scale")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
