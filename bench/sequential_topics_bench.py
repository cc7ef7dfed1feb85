"""Sequential topic pipeline on the BBC corpus: quality against a default BERTopic, speed, scale.

Quality and speed (fixed seeds 42.., `--runs` runs each, mean ± sd; default: the full corpus):
- preprocessing time and embedding throughput (MiniLM docs/s);
- layer 1 with the script's defaults (MiniLM, UMAP 15/5, BIRCH with 15 topics, 3-fold CV) vs.
  a default BERTopic (UMAP 15/5 + HDBSCAN min_cluster_size 10) on the same embeddings:
  NMI/ARI against the 5 categories (HDBSCAN's outliers, topic -1, count as one cluster, as
  BERTopic reports them), NPMI coherence, diversity, time; target: layer-1 NMI at least 0.05
  above the baseline;
- layers 2 and 3: time, with the callback's automatic mapping (the largest topic is split
  when the automatic rules split nothing, so each layer has work).
Whole pipeline (`--pipeline-runs N`): `run-pipeline --local` on the full sample with its
default parameters and tuning budget, cache off; median wall time and per-step medians;
target: under 10 minutes on 2 cores.
Scale (`--scale 2000,10000,50000`, one run each; the cleaned corpus repeated with new ids, in
4 parts): embedding with 1 shard (one embed.py over all parts) and with 2 shards (one embed.py
per host, each picking its 2 parts, run one after the other), time and peak RSS of each
process (getrusage of the child); layer 1 over all documents (one fit, no CV), time and peak.

Cleaning (`--cleaning-workers 2`): documents/s of the cleaning recipe on whole BBC articles
(`--cleaning-corpus records`: the pipeline's sample records, each article's start) in one spaCy
process on the whole text (today's code: the baseline), in N processes, and in 1 and N
processes cleaning only the prefix MiniLM reads (`--prefix-chars`, 0: not); the same documents,
variants interleaved, the median of `--runs` and its ratio to the baseline, per second of wall
time and per CPU second (all processes: what contention for the cores does not inflate);
processes must not change the output. What the prefix costs in quality:
bench/cleaning_prefix_quality_bench.py. This mode skips the quality runs.
`--cleaning-profile 200`: seconds of each cleaning stage (regexes, contractions, spaCy's
tokenizer and components, the lemma filter) in one process on 200 whole articles, on the whole
text and on the prefixes; this mode skips the quality runs.
Embedding backends (`--embedding-backends torch-int8,onnx,onnx-int8`): MiniLM documents/s on
one core (torch.set_num_threads(1), ONNX Runtime sessions of one thread, the first
`--speed-docs` cleaned documents, backends interleaved,
median of `--runs`), mean and minimum cosine of each backend's embeddings to float32 torch's
on the whole cleaned corpus, and layer-1 NMI (the script's defaults, seeds 42..) on
embeddings from `embed.py --embedding-backend` (float32 and `--nmi-backends`, default all);
this mode skips the quality runs.

    python bench/sequential_topics_bench.py [--n-docs N] [--runs 3] [--pipeline-runs 3]
        [--scale 2000,10000,50000] [--scale-shards 1,2]
        [--cleaning-workers 2 [--cleaning-corpus articles|records] [--prefix-chars 2000]]
        [--embedding-backends torch-int8,onnx,onnx-int8 [--speed-docs 300]]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.sequential_topics.sample_data import CATEGORIES, corpus_dir, sample_frame
from runtime.topic_mapping.mapping_update import update_mapping
from steps.sequential_topics import (
    contract,
    corpus_io,
    layer_store,
    representations,
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
        "baseline_ari", "baseline_coherence", "baseline_diversity", "baseline_topics",
        "baseline_outliers")}
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
        results["baseline_outliers"].append(int((topics == -1).sum()))
        print(f"run {run + 1}: ours {ours}, baseline {theirs}", flush=True)
    summary = {k: mean_sd(v) for k, v in results.items()}
    summary["documents"] = len(corpus)
    summary["preprocess_s"] = round(clean_seconds, 2)
    summary["nmi_gain"] = round(statistics.mean(results["layer1_nmi"])
                                - statistics.mean(results["baseline_nmi"]), 4)
    return summary


def _write_parts(corpus: pd.DataFrame, size: int, folder: Path) -> None:
    repeated = pd.concat([corpus] * (size // len(corpus) + 1), ignore_index=True).head(size)
    repeated[contract.ID_COLUMN] = [f"d{i}" for i in range(size)]
    for index, rows in enumerate(np.array_split(np.arange(size), 4)):
        path = folder / contract.PART_PATTERN.format(index=index)
        path.parent.mkdir(parents=True, exist_ok=True)
        repeated.iloc[rows].to_csv(path, index=False)


def _embed_shards(parts: Path, folder: Path, shards: int) -> tuple[list[float], float]:
    hosts = [f"algo-{n + 1}" for n in range(shards)]
    seconds, peaks = [], []
    for host in hosts:
        took, peak, _ = run_script("embed.py", [
            "--input", str(parts), "--full-corpus", str(parts),
            "--output-dir", str(folder / "embeddings"), "--lsa-dir", str(folder / "lsa"),
            "--current-host", host, "--hosts", ",".join(hosts), "--shard-by-host"])
        seconds.append(took)
        peaks.append(peak)
    return seconds, max(peaks)


def scale(sizes: list[int], shard_counts: list[int], root: Path) -> list[dict]:
    corpus, _ = prepare(None, root / "base")
    rows = []
    for size in sizes:
        parts = root / f"s{size}" / "parts"
        _write_parts(corpus, size, parts)
        row: dict = {"documents": size}
        for shards in shard_counts:
            seconds, peak = _embed_shards(parts, root / f"s{size}" / f"shards{shards}", shards)
            row[f"embed_{shards}_shard_s"] = [round(s, 1) for s in seconds]
            row[f"embed_{shards}_shard_peak_mib"] = round(peak, 1)
        embeddings = root / f"s{size}" / f"shards{shard_counts[-1]}" / "embeddings"
        layer_seconds, layer_peak, _ = run_script("train_layer.py", [
            "--corpus", str(parts), "--embeddings", str(embeddings),
            "--model-dir", str(root / f"s{size}" / "model"), "--output-data-dir",
            str(root / f"s{size}" / "out"), "--layer", "1", "--cv_folds", "1"])
        row.update(layer1_s=round(layer_seconds, 1), layer1_peak_mib=round(layer_peak, 1))
        rows.append(row)
        print(row, flush=True)
    return rows


_STEP_LINE = re.compile(r"step (\w+) \(\w+\) Succeeded in ([\d.]+)s")


def bbc_articles(n_docs: int | None) -> pd.DataFrame:
    """Whole BBC articles (columns id, title, text, label; the title is the first line), the
    first n_docs of a round robin over the categories (None: all 2,225). The pipeline's sample
    keeps only each article's start; cleaning's speed on long documents needs all of it."""
    root = corpus_dir()
    per_category = [sorted((root / category).glob("*.txt")) for category in CATEGORIES]
    order = [(category, files[position])
             for position in range(max(map(len, per_category)))
             for category, files in zip(CATEGORIES, per_category, strict=True)
             if position < len(files)]
    rows = []
    for number, (category, path) in enumerate(order[:n_docs], start=1):
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:  # one article is latin-1
            text = data.decode("latin-1")
        title, _, body = text.replace("\r\n", "\n").strip().partition("\n")
        rows.append({"id": f"bbc-{number:04d}", "title": title.strip(), "text": body.strip(),
                     "label": category})
    return pd.DataFrame(rows)


ARTICLE_COLUMNS = ("title", "text")
WARM_UP = 50  # documents cleaned before cleaning is timed


def cleaning_texts(corpus: str, n_docs: int | None) -> tuple[list[str], tuple[str, ...]]:
    """The combined texts cleaning reads: whole articles, or the pipeline's sample records."""
    frame, columns = ((bbc_articles(n_docs), ARTICLE_COLUMNS) if corpus == "articles"
                      else (sample_frame(n_docs), contract.DEFAULT_TEXT_COLUMNS))
    return [text_cleaning.combine_fields(row) for row in
            frame[list(columns)].itertuples(index=False, name=None)], columns


def cleaning_speed(n_docs: int | None, worker_counts: list[int], runs: int,
                   corpus: str = "articles", prefix_chars: int = 0) -> dict:
    """Cleaning throughput (documents/s): one spaCy process on the whole text (today's code,
    the baseline), each count of processes, and, with `prefix_chars`, each count cleaning only
    what MiniLM reads. Interleaved run by run so machine noise hits every variant alike; the
    median of `runs` and its ratio to the baseline's median. Processes must not change the
    output; `truncated` counts the documents cleaned from a prefix."""
    texts, columns = cleaning_texts(corpus, n_docs)
    full = text_cleaning.CleaningSettings(text_columns=columns)
    nlp = text_cleaning.load_nlp(full.drop_entity_labels)
    variants = {f"{count} process{'es' if count > 1 else ''}": (full, count)
                for count in dict.fromkeys([1, *worker_counts])}
    if prefix_chars:
        prefix = replace(full, embedding_word_pieces=text_cleaning.embedding_reads(),
                         prefix_chars=prefix_chars)
        variants.update({f"{count} process{'es' if count > 1 else ''} + prefix": (prefix, count)
                         for count in dict.fromkeys([1, *worker_counts])})
    rates: dict[str, list[float]] = {name: [] for name in variants}
    cpu_rates: dict[str, list[float]] = {name: [] for name in variants}
    outputs: dict[str, list] = {}
    for settings, _ in variants.values():  # warm up: spaCy's and the lemmatiser's caches
        list(text_cleaning.clean_documents(texts[:WARM_UP], settings, nlp))
    for _ in range(runs):
        for name, (settings, count) in variants.items():
            started, cpu = time.perf_counter(), _cpu_seconds()
            cleaned = list(text_cleaning.clean_documents(texts, settings, nlp, workers=count))
            rates[name].append(len(texts) / (time.perf_counter() - started))
            cpu_rates[name].append(len(texts) / (_cpu_seconds() - cpu))
            reference = outputs.setdefault(settings.embedding_word_pieces, cleaned)
            assert cleaned == reference, f"{name} cleaned differently from one process"
        print("documents/s (runs):", json.dumps({k: [round(r, 1) for r in v]
                                                 for k, v in rates.items()}), flush=True)
    truncated = sum(c.cut for c in outputs[max(outputs)])
    return {"corpus": corpus, "documents": len(texts), "runs": runs,
            "mean_chars": round(statistics.mean(map(len, texts))),
            "prefix_chars": prefix_chars, "truncated": truncated,
            **_medians_and_ratios("docs_per_s", rates),
            **_medians_and_ratios("docs_per_cpu_s", cpu_rates)}


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the pool's workers are joined
    when clean_documents ends): what waiting for a core on a shared machine does not inflate."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _medians_and_ratios(key: str, rates: dict[str, list[float]]) -> dict:
    baseline = statistics.median(rates["1 process"])
    return {key: {name: round(statistics.median(r), 1) for name, r in rates.items()},
            f"{key}_over_baseline": {name: round(statistics.median(r) / baseline, 2)
                                     for name, r in rates.items()}}


def cleaning_profile(n_docs: int, prefix_chars: int) -> dict:
    """Where one spaCy process's cleaning time goes, stage by stage on the same `n_docs` whole
    articles (each stage over all documents, twice, the second timed: the lemmatiser's cache is
    warm as in a long run): regexes, contractions, spaCy's tokenizer, each pipeline component,
    the lemma filter; with `prefix_chars`, on the prefixes cleaned (first pass only)."""
    texts, columns = cleaning_texts("articles", n_docs)
    settings = text_cleaning.CleaningSettings(text_columns=columns)
    nlp = text_cleaning.load_nlp(settings.drop_entity_labels)
    if prefix_chars:
        texts = [text_cleaning.text_prefix(text, prefix_chars) for text in texts]
    labels = frozenset(settings.drop_entity_labels)
    seconds: dict[str, float] = {}

    def timed(stage: str, work, items: list) -> list:
        started = time.perf_counter()
        result = work(items)
        seconds[stage] = time.perf_counter() - started
        return result

    for _ in range(2):
        kept = timed("regexes", lambda items: [text_cleaning.remove_boilerplate(
            text, settings.compiled) for text in items], texts)
        kept = timed("contractions", lambda items: [text_cleaning.expand_contractions(text)
                                                    for text in items], kept)
        docs = timed("spacy tokenizer", lambda items: [nlp.make_doc(text) for text in items],
                     kept)
        for name, component in nlp.pipeline:
            docs = timed(f"spacy {name}", lambda items, c=component: list(c.pipe(
                items, batch_size=64)), docs)
        timed("lemma filter", lambda items: [text_cleaning.lemmas(doc, labels)
                                             for doc in items], docs)
    total = sum(seconds.values())
    return {"documents": len(texts), "prefix_chars": prefix_chars,
            "seconds": {stage: round(s, 2) for stage, s in seconds.items()},
            "share": {stage: round(s / total, 3) for stage, s in seconds.items()}}


def _layer_one_nmi(corpus: pd.DataFrame, embeddings: Path, work: Path, seed: int) -> float:
    from sklearn.metrics import normalized_mutual_info_score

    _, model = train(1, work / "parts", embeddings, work, seed, [])
    topics = layer_store.read_assignments(model).set_index(contract.ID_COLUMN).loc[
        corpus[contract.ID_COLUMN], contract.layer_column(1)]
    return float(normalized_mutual_info_score(corpus[contract.LABEL_COLUMN], topics))


def _backend_nmi(corpus: pd.DataFrame, backend: str, root: Path, runs: int) -> list[float]:
    """Layer-1 NMI (seeds 42..) on embeddings written by `embed.py --embedding-backend`."""
    embeddings = root / backend / "embeddings"
    run_script("embed.py", [
        "--input", str(root / "parts"), "--full-corpus", str(root / "parts"),
        "--output-dir", str(embeddings), "--lsa-dir", str(root / backend / "lsa"),
        "--embedding-backend", backend, "--resource-config", str(root / "none.json")])
    return [_layer_one_nmi(corpus, embeddings, root, 42 + run) for run in range(runs)]


def embedding_backends(args: argparse.Namespace, backends: list[str], root: Path,
                       nmi_backends: set[str]) -> dict:
    """Each backend against float32 torch: speed on one core, cosine and, for float32 and
    `nmi_backends`, layer-1 NMI."""
    import torch

    corpus, _ = prepare(args.n_docs, root / "parts")
    documents = corpus[contract.DOCUMENT_COLUMN].tolist()
    names = list(dict.fromkeys([contract.TORCH, *backends]))
    models = {name: representations.load_minilm(backend=name) for name in names}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rates: dict[str, list[float]] = {name: [] for name in names}
    sample = documents[:args.speed_docs]
    for _ in range(args.runs):
        for name, model in models.items():
            started = time.perf_counter()
            representations.embed_minilm(model, sample, 16)
            rates[name].append(len(sample) / (time.perf_counter() - started))
    torch.set_num_threads(threads)
    vectors = {name: representations.embed_minilm(model, documents, 16)
               for name, model in models.items()}
    print("docs/s on one core (runs):", json.dumps(rates), flush=True)
    report: dict[str, dict] = {}
    for name in names:
        nmi = _backend_nmi(corpus, name, root, args.runs) if name in nmi_backends else []
        cosine = (vectors[name] * vectors[contract.TORCH]).sum(axis=1)
        report[name] = {
            "docs_per_s_one_core": round(statistics.median(rates[name]), 1),
            "speedup_over_torch": round(statistics.median(rates[name])
                                        / statistics.median(rates[contract.TORCH]), 2),
            "cosine_to_torch_mean": round(float(cosine.mean()), 4),
            "cosine_to_torch_min": round(float(cosine.min()), 4),
            "layer1_nmi": mean_sd(nmi) if nmi else "not measured",
            "layer1_nmi_runs": [round(v, 4) for v in nmi]}
        print(f"{name}: {report[name]}", flush=True)
    return {"documents": len(documents), "speed_documents": len(sample), "runs": args.runs,
            "backends": report}


def whole_pipeline(runs: int, root: Path) -> dict:
    """`run-pipeline --local` end to end: median wall time and per-step medians."""
    walls: list[float] = []
    steps: dict[str, list[float]] = {}
    for run in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.cli.run_pipeline", "--local", "--module-name",
             "pipelines.sequential_topics.pipeline", "--local-root", str(root / f"run{run}"),
             "--no-cache"], capture_output=True, text=True, cwd=REPO,
            env={**os.environ, "HF_HUB_OFFLINE": "1"})
        walls.append(time.perf_counter() - started)
        if done.returncode:
            raise RuntimeError(f"run-pipeline failed: {(done.stdout + done.stderr)[-2000:]}")
        for name, seconds in _STEP_LINE.findall(done.stdout + done.stderr):
            steps.setdefault(name, []).append(float(seconds))
        print(f"pipeline run {run + 1}: {walls[-1]:.1f} s", flush=True)
    return {"runs": runs, "wall_s_median": round(statistics.median(walls), 1),
            "wall_s": [round(w, 1) for w in walls],
            "step_s_median": {k: round(statistics.median(v), 1) for k, v in steps.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-docs", type=int, default=None, help="default: all 2,225")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pipeline-runs", type=int, default=0,
                        help="also time the whole local pipeline this many times")
    parser.add_argument("--scale", default="", help="comma-separated sizes, e.g. 2000,10000")
    parser.add_argument("--scale-shards", default="1,2", help="shard counts to embed with")
    parser.add_argument("--cleaning-workers", default="",
                        help="comma-separated spaCy process counts to time cleaning with "
                             "(against 1 process, --runs times each), e.g. 2,4")
    parser.add_argument("--cleaning-corpus", choices=("articles", "records"), default="articles",
                        help="clean whole BBC articles (default) or the pipeline's sample "
                             "records (each article's start)")
    parser.add_argument("--prefix-chars", type=int,
                        default=text_cleaning.DEFAULT_PREFIX_CHARS,
                        help="also time cleaning only what MiniLM reads, from a prefix of "
                             "this many characters (0: not)")
    parser.add_argument("--cleaning-profile", type=int, default=0,
                        help="time each cleaning stage on this many whole articles in one "
                             "process (whole text, and the prefixes with --prefix-chars)")
    parser.add_argument("--embedding-backends", default="",
                        help="comma-separated MiniLM backends to compare with float32 torch "
                             f"(speed, cosine, layer-1 NMI), of {list(contract.EMBEDDING_BACKENDS)}")
    parser.add_argument("--nmi-backends", default="",
                        help="the backends whose layer-1 NMI is measured (each costs an "
                             "embed.py run and --runs layer-1 fits); default: all compared")
    parser.add_argument("--speed-docs", type=int, default=300,
                        help="documents the backends' one-core speed is timed on")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    topic_model.set_numba_cache()
    report = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="topics-bench-") as work:
        root = Path(work)
        if args.cleaning_profile:
            report["cleaning_profile"] = [cleaning_profile(args.cleaning_profile, chars)
                                          for chars in dict.fromkeys([0, args.prefix_chars])]
        if args.runs and not (args.cleaning_workers or args.embedding_backends
                              or args.cleaning_profile):
            report["quality_and_speed"] = quality_and_speed(args, root / "quality")
        if args.cleaning_workers:
            report["cleaning"] = cleaning_speed(
                args.n_docs, [int(c) for c in args.cleaning_workers.split(",")], args.runs,
                args.cleaning_corpus, args.prefix_chars)
        if args.embedding_backends:
            backends = args.embedding_backends.split(",")
            nmi_backends = set(args.nmi_backends.split(",") if args.nmi_backends else backends)
            report["embedding_backends"] = embedding_backends(
                args, backends, root / "backends", nmi_backends | {contract.TORCH})
        if args.pipeline_runs:
            report["whole_pipeline"] = whole_pipeline(args.pipeline_runs, root / "pipeline")
        if args.scale:
            report["scale"] = scale([int(s) for s in args.scale.split(",")],
                                    [int(s) for s in args.scale_shards.split(",")],
                                    root / "scale")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
