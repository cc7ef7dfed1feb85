"""Do layers 2 and 3 earn their keep? The sequential topic layers on corpora with coarse and fine labels.

For each corpus (bench/hierarchical_corpora.py: `hpo`, `wiki`, `bbc`) a random sample of
`--n-docs` documents is cleaned as preprocess.py does and embedded once with the bundled MiniLM
(cached under `--cache-dir`). Then, per seed, in process with the step scripts' own functions:
layer 1 with train_layer.py's defaults (no cross-validation: it changes the scores, not the
topics), then for each `--variants` entry layers 2 and 3 as train_layer.py fits them (each
layer's summary with its topics' scored splits, steps/sequential_topics/subtopic_search.py),
with the mapping the Lambda writes between them (runtime.topic_mapping.mapping_update) under
that variant's rules (MappingRules, as an overrides file would set them):

- `breadth`: the product's rule: split a topic whose breadth (dispersion / the layer's median,
  steps/sequential_topics/topic_breadth.py) reaches `--min-breadth` and whose best split's
  silhouette reaches `--min-split-silhouette`, into that split's sub-topic count;
- `size`: the earlier rule (share >= 1.5 x the mean AND dispersion >= the median), into the
  next layer's automatic count (one per 20 documents, 2..6);
- `all`: a control: every topic large enough to search is split, into its best split's count.

Reported, mean ± sd over `--seeds` (default 42,43,44), NMI with AMI beside it (NMI rises with the
topic count by chance alone; AMI does not): layer 1 against the coarse labels next to a
default BERTopic (UMAP 15/5 + HDBSCAN; outliers count as one cluster) on the same embeddings;
against the fine labels after each layer (a document's deepest topic); what each layer changed
(topics split, ARI between consecutive layers, purity of the split topics before and after, by
the fine labels, and the coherence change the quality gate reads: layer_hierarchy);
label-free figures of each layer's topics (NPMI coherence over the sample, keyword diversity,
mean dispersion); and how well each breadth score ranks layer 1's topics by how
mixed they are (Spearman against the entropy of their fine labels, all seeds pooled).
`--flat-control`: one layer-1 model asked for each variant's final topic count, against the
fine labels (do the layers beat simply asking for more topics?).
`--layer1-clusters K`: layer 1's topic count (the layers can only gain against fine labels
that are finer than layer 1's topics).
Layer 1's tuning objective against the labels: bench/topic_objective_bench.py (it draws its
settings with grid_settings here).

    python bench/topic_layers_bench.py [--corpora hpo,wiki] [--n-docs 1500] [--seeds 42,43,44]
        [--variants breadth,size,all] [--min-breadth 1.0] [--min-split-silhouette 0.1]
        [--layer1-clusters 15]
        [--flat-control] [--output FILE]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.hierarchical_corpora import CORPORA, Corpus, sample
from bench.sequential_topics_bench import baseline, mean_sd
from runtime.topic_mapping.mapping_update import update_mapping
from steps.common.atomic import write_bytes_atomic
from steps.common.files import write_csv_atomic, write_json_atomic
from steps.sequential_topics import contract, representations, text_cleaning, topic_metrics, topic_model
from steps.sequential_topics.evaluate import combined_topics
from steps.sequential_topics.layer_hierarchy import coherence_change, layer_topics
from steps.sequential_topics.layer_models import (
    LayerResult,
    fit_layer_one,
    fit_sub_layer,
    layer_assignments,
    summary_topics,
)
from steps.sequential_topics.mapping_schema import (
    MappingDocument,
    MappingOverrides,
    MappingRules,
    SplitSearch,
    TopicSummary,
    topic_id,
)
from steps.sequential_topics.preprocess import clean_table
from steps.sequential_topics.subtopic_search import SplitSearchSettings
from steps.sequential_topics.topic_breadth import relative_breadth
from steps.sequential_topics.topic_model import ModelSettings

SUB_MAX_CLUSTERS, SUB_MIN_DOCS = 6, 20  # train_layer.py's defaults for layers 2 and 3
LABELS = ("coarse", "fine")
VARIANTS = ("breadth", "size", "all")
BREADTH_SCORES = ("breadth", "split_silhouette", "share", "incoherence")
_SEPARATOR = "\x1f"  # joins the two labels through preprocessing's one label column


@dataclass
class Prepared:
    frame: pd.DataFrame              # id, document, coarse, fine
    embeddings: dict[str, np.ndarray]

    @property
    def documents(self) -> list[str]:
        return self.frame[contract.DOCUMENT_COLUMN].tolist()


# --- the corpus, cleaned and embedded once ---------------------------------------------------

def prepare(corpus: Corpus, n_docs: int, sample_seed: int, cache: Path,
            needed: tuple[str, ...]) -> Prepared:
    folder = cache / f"{corpus.name}-n{n_docs or 'all'}-s{sample_seed}"
    table_path, arrays_path = folder / "corpus.csv", folder / "embeddings.npz"
    if table_path.is_file():
        frame = pd.read_csv(table_path, dtype=str, keep_default_na=False)
    else:
        raw = sample(corpus.load(), n_docs, sample_seed)
        raw["label"] = raw["coarse"] + _SEPARATOR + raw["fine"]
        settings = text_cleaning.CleaningSettings(text_columns=("title", "text"))
        frame, report = clean_table(raw, settings, "id", "label",
                                    text_cleaning.load_nlp(settings.drop_entity_labels))
        labels = frame.pop(contract.LABEL_COLUMN).str.split(_SEPARATOR, expand=True)
        frame["coarse"], frame["fine"] = labels[0], labels[1]
        write_csv_atomic(table_path, frame)
        print(f"{corpus.name}: cleaned {report['kept']} of {report['rows_read']} documents",
              flush=True)
    arrays = dict(np.load(arrays_path)) if arrays_path.is_file() else {}
    if not set(needed) <= set(arrays):
        documents = frame[contract.DOCUMENT_COLUMN].tolist()
        started = time.perf_counter()
        lsa = representations.fit_lsa(documents) if {contract.LSA, contract.CONCAT} & set(
            needed) else None
        arrays = representations.compute(documents, representations.load_minilm(
            backend=contract.TORCH), lsa,  # the figures in the README: float32
                                         batch_size=16, needed=needed)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        write_bytes_atomic(arrays_path, buffer.getvalue())
        print(f"{corpus.name}: embedded {len(documents)} documents ({', '.join(needed)}) in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    return Prepared(frame, arrays)


# --- the layers -------------------------------------------------------------------------------

def summary_of(result: LayerResult, documents: list[str], embeddings: np.ndarray,
               search: SplitSearchSettings | None) -> TopicSummary:
    """The layer's topic summary, as train_layer.py writes it."""
    column = layer_assignments(result, len(documents))
    return TopicSummary(layer=result.layer, total_documents=int((column != "").sum()),
                        outliers=0, topics=summary_topics(result, documents, embeddings, search),
                        split_search=None if search is None else SplitSearch(
                            min_documents=search.min_documents, max_subtopics=search.max_k))


def search_settings(layer: int, seed: int) -> SplitSearchSettings | None:
    """train_layer.split_search_settings for the pipeline's hyperparameters."""
    if layer >= contract.MAX_LAYERS:
        return None
    return SplitSearchSettings(ModelSettings(seed=seed), SUB_MAX_CLUSTERS, SUB_MIN_DOCS)


def variant_rules(variant: str, args: argparse.Namespace) -> MappingRules:
    if variant == "size":
        return MappingRules(split_rule="size")
    if variant == "all":
        return MappingRules(min_breadth=1e-9, min_split_silhouette=-1.0)
    return MappingRules(min_breadth=args.min_breadth, min_split_silhouette=args.min_split_silhouette)


def run_layers(prepared: Prepared, layer_one: LayerResult, layer_one_summary: TopicSummary,
               variant: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Layers 2 and 3 after `layer_one` under one variant: assignments, summaries, splits."""
    documents, embeddings = prepared.documents, prepared.embeddings[contract.MINILM]
    settings = ModelSettings(seed=seed)
    overrides = MappingOverrides(rules=variant_rules(variant, args))
    columns = {1: layer_assignments(layer_one, len(documents))}
    summaries = {1: layer_one_summary}
    mapping: MappingDocument | None = None
    splits: dict[int, list[str]] = {}
    for layer in (2, 3):
        mapping = update_mapping(mapping, summaries[layer - 1], overrides)
        counts = {t.id: t.subtopics for t in mapping.topics
                  if t.id in mapping.recluster and t.subtopics}
        result = fit_sub_layer(layer, documents, embeddings, columns[layer - 1],
                               list(mapping.recluster), settings, 0, SUB_MAX_CLUSTERS,
                               SUB_MIN_DOCS, counts)
        splits[layer] = [m.parent for m in result.models]
        columns[layer] = layer_assignments(result, len(documents))
        summaries[layer] = summary_of(result, documents, embeddings, search_settings(layer, seed))
    return {"columns": columns, "summaries": summaries, "splits": splits}


# --- figures ----------------------------------------------------------------------------------

def _purity(labels: np.ndarray, topics: np.ndarray) -> float:
    """Share of the documents whose label is their topic's most common one."""
    frame = pd.DataFrame({"topic": topics, "label": labels})
    majority = frame.groupby("topic")["label"].agg(lambda s: s.value_counts().iloc[0])
    return float(majority.sum() / len(frame))


def layer_figures(prepared: Prepared, run: dict[str, Any]) -> dict[str, float]:
    from sklearn.metrics import (
        adjusted_mutual_info_score,
        adjusted_rand_score,
        normalized_mutual_info_score,
    )

    documents, embeddings = prepared.documents, prepared.embeddings[contract.MINILM]
    fine = prepared.frame["fine"].to_numpy()
    assignments = pd.DataFrame({contract.layer_column(k): v for k, v in run["columns"].items()})
    words = {topic_id(layer, t.topic): [k.word for k in t.keywords]
             for layer, summary in run["summaries"].items() for t in summary.topics}
    hierarchy = {layer: layer_topics(summary, topic_metrics.npmi_coherence(
        [[k.word for k in t.keywords] for t in summary.topics], documents)[1])
        for layer, summary in run["summaries"].items()}
    figures: dict[str, float] = {}
    previous = None
    for layer in (1, 2, 3):
        topics = combined_topics(assignments, layer)
        names = sorted(set(topics.tolist()))
        key = f"layer{layer}"
        figures[f"{key}_nmi_fine"] = normalized_mutual_info_score(fine, topics)
        figures[f"{key}_ami_fine"] = adjusted_mutual_info_score(fine, topics)
        figures[f"{key}_ari_fine"] = adjusted_rand_score(fine, topics)
        figures[f"{key}_topics"] = len(names)
        topic_words = [words[n] for n in names]
        figures[f"{key}_coherence"] = topic_metrics.npmi_coherence(topic_words, documents)[0]
        figures[f"{key}_diversity"] = topic_metrics.topic_diversity(topic_words)
        figures[f"{key}_dispersion"] = float(np.mean([
            topic_metrics.dispersion(embeddings[topics == n]) for n in names]))
        if previous is not None:
            split = run["splits"][layer]
            rows = np.isin(previous, split)
            figures[f"{key}_splits"] = len(split)
            figures[f"{key}_ari_vs_previous"] = adjusted_rand_score(previous, topics)
            change = coherence_change(hierarchy[layer], hierarchy[layer - 1])
            if change is not None:  # what the gate's MinLayerCoherenceChange reads
                figures[f"{key}_coherence_change"] = change
            if split:  # purity of the split topics' documents, before and after the split
                figures[f"{key}_split_purity_before"] = _purity(fine[rows], previous[rows])
                figures[f"{key}_split_purity_after"] = _purity(fine[rows], topics[rows])
        previous = topics
    return figures


def breadth_agreement(records: list[dict[str, float]]) -> dict[str, float]:
    """Spearman rank correlation of each label-free score with the topics' fine-label entropy."""
    from scipy.stats import spearmanr

    frame = pd.DataFrame(records)
    return {name: round(float(spearmanr(frame[name], frame["fine_entropy"]).statistic), 4)
            for name in BREADTH_SCORES}


def topic_records(prepared: Prepared, summary: TopicSummary, topics: np.ndarray
                  ) -> list[dict[str, float]]:
    """Layer 1's topics: breadth, best split silhouette, size share, incoherence and
    fine-label entropy."""
    from scipy.stats import entropy

    fine = prepared.frame["fine"].to_numpy()
    _, coherence = topic_metrics.npmi_coherence(
        [[k.word for k in t.keywords] for t in summary.topics], prepared.documents)
    breadth = relative_breadth({t.topic: t.dispersion for t in summary.topics})
    records = []
    for t, npmi in zip(summary.topics, coherence, strict=True):
        counts = pd.Series(fine[topics == topic_id(1, t.topic)]).value_counts().to_numpy()
        records.append({"breadth": breadth[t.topic],
                        "split_silhouette": max(t.split_silhouettes.values(), default=-1.0),
                        "share": t.size / len(topics), "incoherence": -npmi,
                        "fine_entropy": float(entropy(counts)), "size": t.size})
    return records


def layer_one_figures(prepared: Prepared, layer_one: LayerResult, seed: int) -> dict[str, float]:
    from sklearn.metrics import (
        adjusted_mutual_info_score,
        adjusted_rand_score,
        normalized_mutual_info_score,
    )

    documents, embeddings = prepared.documents, prepared.embeddings[contract.MINILM]
    coarse = prepared.frame["coarse"].to_numpy()
    ours = layer_assignments(layer_one, len(documents))
    started = time.perf_counter()
    theirs, _ = baseline(documents, embeddings, seed)
    return {"layer1_nmi_coarse": normalized_mutual_info_score(coarse, ours),
            "layer1_ari_coarse": adjusted_rand_score(coarse, ours),
            "layer1_ami_coarse": adjusted_mutual_info_score(coarse, ours),
            "baseline_nmi_coarse": normalized_mutual_info_score(coarse, theirs),
            "baseline_ami_coarse": adjusted_mutual_info_score(coarse, theirs),
            "baseline_ari_coarse": adjusted_rand_score(coarse, theirs),
            "baseline_nmi_fine": normalized_mutual_info_score(
                prepared.frame["fine"].to_numpy(), theirs),
            "baseline_topics": len(set(theirs.tolist()) - {-1}),
            "baseline_outliers": int((theirs == -1).sum()),
            "baseline_s": time.perf_counter() - started}


def flat_control(prepared: Prepared, topics: int, seed: int, variant: str) -> dict[str, float]:
    """One layer-1 model asked for as many topics as the layers ended with: do the layers beat
    simply asking for more topics?"""
    from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score

    model = topic_model.fit_model(prepared.documents, prepared.embeddings[contract.MINILM],
                                  ModelSettings(seed=seed, n_clusters=topics))
    fine = prepared.frame["fine"].to_numpy()
    return {f"{variant}.flat_nmi_fine": normalized_mutual_info_score(fine, model.topics_),
            f"{variant}.flat_ami_fine": adjusted_mutual_info_score(fine, model.topics_)}


# --- settings drawn from layer 1's tuning ranges (bench/topic_objective_bench.py) ----------

def grid_settings(count: int, seed: int) -> list[tuple[str, ModelSettings]]:
    """The defaults first, then `count` settings drawn from the pipeline's tuning ranges."""
    from pipelines.sequential_topics.pipeline import tuning_ranges

    ranges = tuning_ranges()
    rng = np.random.default_rng(seed)
    drawn = [(contract.MINILM, ModelSettings(seed=seed))]
    for index in range(count):
        def integer(name: str) -> int:
            return int(rng.integers(int(ranges[name].min_value), int(ranges[name].max_value) + 1))

        threshold = ranges["birch_threshold"]
        drawn.append((ranges["representation"].values[index % len(ranges["representation"].values)],
                      ModelSettings(n_neighbors=integer("umap_n_neighbors"),
                                    n_components=integer("umap_n_components"),
                                    birch_threshold=round(float(rng.uniform(
                                        float(threshold.min_value), float(threshold.max_value))), 3),
                                    n_clusters=integer("n_clusters"), seed=seed)))
    return drawn


# --- driver -----------------------------------------------------------------------------------

def bench_corpus(corpus: Corpus, args: argparse.Namespace) -> dict[str, Any]:
    prepared = prepare(corpus, args.n_docs, args.sample_seed, Path(args.cache_dir),
                       (contract.MINILM,))
    report: dict[str, Any] = {
        "package": corpus.package, "licence": corpus.licence, "hierarchy": corpus.hierarchy,
        "documents": len(prepared.frame), "coarse_classes": prepared.frame["coarse"].nunique(),
        "fine_classes": prepared.frame["fine"].nunique()}
    per_seed: dict[str, list[float]] = {}
    records: list[dict[str, float]] = []
    for seed in args.seeds:
        started = time.perf_counter()
        layer_one = fit_layer_one(prepared.documents, prepared.embeddings[contract.MINILM],
                                  ModelSettings(seed=seed, n_clusters=args.layer1_clusters),
                                  cv_folds=0)
        figures = {"layer1_s": time.perf_counter() - started,
                   **layer_one_figures(prepared, layer_one, seed)}
        started = time.perf_counter()
        summary = summary_of(layer_one, prepared.documents, prepared.embeddings[contract.MINILM],
                             search_settings(1, seed))
        figures["layer1_split_search_s"] = time.perf_counter() - started
        records.extend(topic_records(prepared, summary,
                                     layer_assignments(layer_one, len(prepared.documents))))
        for variant in args.variants:
            started = time.perf_counter()
            run = run_layers(prepared, layer_one, summary, variant, seed, args)
            figures.update({f"{variant}.{k}": v for k, v in layer_figures(prepared, run).items()})
            figures[f"{variant}.layers23_s"] = time.perf_counter() - started
            if args.flat_control:
                figures.update(flat_control(prepared, int(figures[f"{variant}.layer3_topics"]),
                                            seed, variant))
        for key, value in figures.items():
            per_seed.setdefault(key, []).append(float(value))
        print(f"{corpus.name} seed {seed}: " + ", ".join(
            f"{k} {v:.3f}" for k, v in figures.items() if "nmi" in k or k.endswith("splits")),
            flush=True)
    report["figures"] = {k: mean_sd(v) for k, v in per_seed.items()}
    report["targets"] = {
        "layer1_minus_baseline_nmi_coarse (>= 0.05)": round(statistics.mean(
            per_seed["layer1_nmi_coarse"]) - statistics.mean(per_seed["baseline_nmi_coarse"]), 4),
        **{f"{v}: final_minus_layer1_{m}_fine{' (>= 0.03)' if m == 'nmi' else ''}": round(
            statistics.mean(per_seed[f"{v}.layer3_{m}_fine"])
            - statistics.mean(per_seed[f"{v}.layer1_{m}_fine"]), 4)
           for v in args.variants for m in ("nmi", "ami")}}
    report["breadth_vs_fine_entropy_spearman"] = breadth_agreement(records)
    report["layer1_topics"] = [{k: round(v, 4) for k, v in r.items()} for r in records]
    return report


def _names(text: str, known: dict | tuple, what: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise SystemExit(f"topic_layers_bench: error: unknown {what} {unknown or text!r}; "
                         f"choose from {', '.join(known)}")
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", default="hpo,wiki", help=f"of {', '.join(CORPORA)}")
    parser.add_argument("--n-docs", type=int, default=1500, help="sample size; 0 = all")
    parser.add_argument("--sample-seed", type=int, default=0, help="which documents (all seeds)")
    parser.add_argument("--seeds", default="42,43,44")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--min-breadth", type=float, default=MappingRules().min_breadth,
                        help="breadth variant: dispersion / the layer's median to split")
    parser.add_argument("--min-split-silhouette", type=float,
                        default=MappingRules().min_split_silhouette,
                        help="breadth variant: a split below this does not beat keeping the topic")
    parser.add_argument("--layer1-clusters", type=int, default=ModelSettings().n_clusters,
                        help="layer 1's topic count (the model default; the pipeline tunes it)")
    parser.add_argument("--flat-control", action="store_true",
                        help="also fit one layer-1 model with each variant's final topic count")
    parser.add_argument("--cache-dir", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
        "ensemble-model-build", "topic-layers-bench"))
    parser.add_argument("--output", default="", help="also write the report as JSON here")
    args = parser.parse_args(argv)
    args.corpora = _names(args.corpora, CORPORA, "corpus")
    args.variants = _names(args.variants, VARIANTS, "variant")
    try:
        args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
    if args.n_docs < 0 or not args.seeds or args.layer1_clusters < 2:
        parser.error("--n-docs must be >= 0, --seeds must name at least one seed and "
                     "--layer1-clusters must be at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    topic_model.set_numba_cache()
    config = dict(vars(args))
    config["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    print("configuration:", json.dumps(config), flush=True)
    report = {"configuration": config,
              "corpora": {name: bench_corpus(CORPORA[name], args) for name in args.corpora}}
    print(json.dumps(report["corpora"], indent=2, default=str))
    if args.output:
        write_json_atomic(Path(args.output), report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
