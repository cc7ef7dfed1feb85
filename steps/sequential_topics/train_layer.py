"""Training job (SageMaker script mode) for one topic layer; also every layer-1 tuning trial.

Channels (paths default to SM_CHANNEL_<NAME>):
- corpus: the cleaned parts (preprocess.py); embeddings: the .npz files (embed.py);
- layers 2 and 3 only: mapping (a folder with the previous callback's mapping JSON) and
  previous_model (the previous layer's model.tar.gz, or its extracted directory).
Hyperparameters arrive as `--name value` (values may be JSON-quoted): layer (1|2|3),
representation (minilm|lsa|concat; 'auto' = minilm for layer 1, the previous layer's for
layers >= 2), reducer (umap|pca), umap_n_neighbors, umap_n_components, umap_min_dist,
birch_threshold (in standard deviations of the scaled reduced space), n_clusters (layer 1),
cv_folds (layer 1; < 2 scores in-sample), top_n_words, seed, fit_sample_size (the most
documents a model is fitted on: each of the layer's models fits on a seeded sample of that
many of its documents and assigns the rest in chunks, sample_fit; a smaller corpus is fitted
whole), and for layers >= 2 the sub-model limits sub_n_clusters (0 = automatic),
sub_max_clusters and sub_min_docs. Embeddings are read memory-mapped (embedding_map).
SageMaker's own (`--sagemaker_*`, `--_tuning_*`) are ignored; other unknown names fail.

Layers 2 and 3 give each re-clustered topic the sub-topic count its mapping entry names
(`subtopics`), else the automatic count. Every layer but the last scores, for each of its
topics of at least 2 x sub_min_docs documents, the splits into 2..sub_max_clusters sub-topics
that the next layer would make (subtopic_search; `split_silhouettes` in the summary), so the
mapping rule can split only the topics whose split beats keeping them whole. Layer 1 scores
them with the settings the pipeline gives layers 2 and 3 (the model defaults with this job's
reducer and seed); layers 2 and 3 with their own.

Layer 1's objective (validation-topic-loss, topic_metrics.topic_loss) is the held-out
documents' silhouette in the MiniLM embedding space whatever representation the trial
clusters, so every trial is measured with one ruler; embeddings without a MiniLM array (not
embed.py's) are measured in the trial's own representation, and the log says so.

Writes the layer model to SM_MODEL_DIR (layout in layer_store), and topic_summary.json plus
metrics.json to SM_OUTPUT_DATA_DIR. Prints one metric line per score (contract.METRIC_LINE):
    validation-topic-loss:<v>;  validation-coherence:<v>;  validation-diversity:<v>;
    validation-separation:<v>;  validation-stability:<v>; (layer 1 with cv_folds >= 2)
    train-topic-count:<n>;
matched by contract.metric_definitions() (regex `<name>:(.*?);`).
"""
from __future__ import annotations

import logging
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steps.common.cli import StepArgumentParser, env_path, hp_float, hp_int, hp_str, run_step
from steps.common.errors import InvalidData
from steps.common.files import write_json_atomic
from steps.sequential_topics import contract, corpus_io, layer_store, sample_fit, topic_model
from steps.sequential_topics.embedding_map import EmbeddingMap
from steps.sequential_topics.layer_models import (
    LayerResult,
    fit_layer_one,
    fit_sub_layer,
    layer_assignments,
    summary_topics,
)
from steps.sequential_topics.mapping_schema import (
    TOPIC_SUMMARY_FILE,
    MappingDocument,
    SplitSearch,
    TopicSummary,
    layer_of,
)
from steps.sequential_topics.subtopic_search import SplitSearchSettings
from steps.sequential_topics.topic_model import ModelSettings

logger = logging.getLogger(__name__)

AUTO = "auto"
SEPARATION_SPACE = contract.MINILM  # where layer 1's objective measures every trial
DEFAULTS = ModelSettings()  # one source for the model hyperparameters' defaults


def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="train_layer.py", description=__doc__.splitlines()[0])
    for channel in ("corpus", "embeddings", "mapping", "previous_model"):
        parser.add_argument(f"--{channel.replace('_', '-')}", dest=channel,
                            default=env_path(f"SM_CHANNEL_{channel.upper()}",
                                         f"/opt/ml/input/data/{channel}"))
    parser.add_argument("--model-dir", "--model_dir", dest="model_dir",
                        default=env_path("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--output-data-dir", "--output_data_dir", dest="output_data_dir",
                        default=env_path("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data"))
    parser.add_argument("--layer", type=hp_int, required=True, choices=(1, 2, 3))
    parser.add_argument("--representation", type=hp_str, default=AUTO,
                        choices=(AUTO, *contract.REPRESENTATIONS))
    parser.add_argument("--reducer", type=hp_str, default=DEFAULTS.reducer, choices=topic_model.REDUCERS)
    parser.add_argument("--umap_n_neighbors", type=hp_int, default=DEFAULTS.n_neighbors)
    parser.add_argument("--umap_n_components", type=hp_int, default=DEFAULTS.n_components)
    parser.add_argument("--umap_min_dist", type=hp_float, default=DEFAULTS.min_dist)
    parser.add_argument("--birch_threshold", type=hp_float, default=DEFAULTS.birch_threshold)
    parser.add_argument("--n_clusters", type=hp_int, default=DEFAULTS.n_clusters)
    parser.add_argument("--cv_folds", type=hp_int, default=3)
    parser.add_argument("--top_n_words", type=hp_int, default=DEFAULTS.top_n_words)
    parser.add_argument("--seed", type=hp_int, default=DEFAULTS.seed)
    parser.add_argument("--fit_sample_size", type=hp_int, default=sample_fit.DEFAULT_FIT_SAMPLE)
    parser.add_argument("--sub_n_clusters", type=hp_int, default=0)
    parser.add_argument("--sub_max_clusters", type=hp_int, default=6)
    parser.add_argument("--sub_min_docs", type=hp_int, default=20)
    return parser


def parse_args(argv: list[str] | None) -> Any:
    return build_parser().parse_hyperparameters(argv)


def settings_from(args: Any, boilerplate: tuple[str, ...] = ()) -> ModelSettings:
    """The model settings of this job's hyperparameters, with the corpus's boilerplate."""
    return ModelSettings(reducer=args.reducer, n_neighbors=args.umap_n_neighbors,
                         n_components=args.umap_n_components, min_dist=args.umap_min_dist,
                         birch_threshold=args.birch_threshold, n_clusters=args.n_clusters,
                         top_n_words=args.top_n_words, seed=args.seed, boilerplate=boilerplate)


def split_search_settings(args: Any,
                          boilerplate: tuple[str, ...] = ()) -> SplitSearchSettings | None:
    """How this layer scores its topics' splits; None for the last layer (nothing follows)."""
    if args.layer >= contract.MAX_LAYERS:
        return None
    settings = settings_from(args, boilerplate) if args.layer > 1 else replace(
        DEFAULTS, reducer=args.reducer, seed=args.seed, boilerplate=boilerplate)
    return SplitSearchSettings(settings, args.sub_max_clusters, args.sub_min_docs)


def metric_lines(result: LayerResult) -> list[str]:
    """The job's metric lines; a layer that fitted no model (the mapping re-clustered nothing)
    reports only its topic count: it has no validation figures, not figures of zero."""
    if not result.models:
        return [contract.METRIC_LINE.format(name="train-topic-count", value=0)]
    values = {contract.OBJECTIVE_LINE: result.scores["topic_loss"],
              "validation-coherence": result.scores["coherence"],
              "validation-diversity": result.scores["diversity"],
              "validation-separation": result.scores["separation"],
              "validation-stability": result.scores.get("stability"),
              "train-topic-count": sum(len(m.sub_model().topics) for m in result.models)}
    return [contract.METRIC_LINE.format(name=name, value=value)
            for name, value in values.items() if value is not None]


def separation_space(location: Path, representation: str, embeddings: EmbeddingMap,
                     ids: list[str]) -> tuple[str, EmbeddingMap]:
    """(name, embeddings) of the space layer 1's separation is measured in: MiniLM's when the
    embeddings hold it, else the trial's own representation."""
    if representation == SEPARATION_SPACE:
        return representation, embeddings
    try:
        return SEPARATION_SPACE, EmbeddingMap(location, SEPARATION_SPACE, ids)
    except InvalidData as missing:
        logger.warning("separation measured in the %s space: %s", representation, missing)
        return representation, embeddings


def _previous_layer(args: Any, work_dir: Path
                    ) -> tuple[Path, pd.DataFrame, MappingDocument, str]:
    """(previous model dir, its assignments, the mapping to follow, its representation)."""
    previous = layer_store.open_model(Path(args.previous_model), work_dir)
    info = layer_store.read_layer_info(previous, args.layer - 1)
    mapping = layer_store.read_mapping(Path(args.mapping))
    if mapping.layer != args.layer - 1:
        raise InvalidData(f"layer {args.layer} needs the layer {args.layer - 1} mapping, got "
                          f"one for layer {mapping.layer}: pass the previous callback's output")
    stray = [t for t in mapping.recluster if layer_of(t) != args.layer - 1]
    if stray:
        raise InvalidData(f"the mapping asks to re-cluster {stray}, which are not layer "
                          f"{args.layer - 1} topics")
    return previous, layer_store.read_assignments(previous), mapping, info["representation"]


def _align(assignments: pd.DataFrame, ids: list[str], layer: int) -> np.ndarray:
    column = contract.layer_column(layer)
    if column not in assignments.columns:
        raise InvalidData(f"the previous model's assignments have no {column} column")
    by_id = dict(zip(assignments[contract.ID_COLUMN], assignments[column], strict=True))
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise InvalidData(f"{len(missing)} corpus document(s) (e.g. {missing[:3]}) are not in "
                          "the previous layer's assignments: train every layer on one corpus")
    return np.asarray([by_id[i] for i in ids], dtype=object)


def run(args: Any) -> dict[str, Any]:
    started = time.monotonic()
    sample_fit.check_sample_size(args.fit_sample_size)
    random.seed(args.seed)
    np.random.seed(args.seed)
    topic_model.set_numba_cache()
    corpus = corpus_io.read_corpus(Path(args.corpus))
    ids = corpus[contract.ID_COLUMN].tolist()
    documents = corpus[contract.DOCUMENT_COLUMN].tolist()
    boilerplate = topic_model.boilerplate_words(documents)
    if boilerplate and args.layer == 1:
        logger.warning("word(s) %s are in more than %.0f%% of the documents (a signature or "
                       "template?): they are left out of every topic's keywords",
                       list(boilerplate), 100 * topic_model.BOILERPLATE_SHARE)
    settings = settings_from(args, boilerplate)
    model_dir = Path(args.model_dir)
    recluster: list[str] = []
    with tempfile.TemporaryDirectory(prefix="previous-model-") as work:
        if args.layer == 1:
            representation = contract.MINILM if args.representation == AUTO \
                else args.representation
            embeddings = EmbeddingMap(Path(args.embeddings), representation, ids)
            space, reference = separation_space(Path(args.embeddings), representation,
                                                embeddings, ids)
            result = fit_layer_one(documents, embeddings, settings, args.cv_folds,
                                   args.fit_sample_size, reference)
            assignments = pd.DataFrame({contract.ID_COLUMN: ids})
        else:
            previous, old, mapping, inherited = _previous_layer(args, Path(work))
            recluster = list(mapping.recluster)
            representation = inherited if args.representation == AUTO else args.representation
            embeddings = EmbeddingMap(Path(args.embeddings), representation, ids)
            space = representation
            parents = _align(old, ids, args.layer - 1)
            counts = {t.id: t.subtopics for t in mapping.topics
                      if t.id in recluster and t.subtopics}
            result = fit_sub_layer(args.layer, documents, embeddings, parents, recluster,
                                   settings, args.sub_n_clusters, args.sub_max_clusters,
                                   args.sub_min_docs, counts, args.fit_sample_size)
            layer_store.copy_layers(previous, model_dir, list(range(1, args.layer)))
            assignments = pd.DataFrame({contract.ID_COLUMN: ids})
            for layer in range(1, args.layer):
                assignments[contract.layer_column(layer)] = _align(old, ids, layer)
    column = layer_assignments(result, len(ids))
    assignments[contract.layer_column(args.layer)] = column
    search = split_search_settings(args, boilerplate)
    topics = summary_topics(result, documents, embeddings, search, args.fit_sample_size,
                            args.seed)
    clustered = int((column != "").sum())
    summary = TopicSummary(layer=args.layer, total_documents=clustered, outliers=0,
                           topics=topics, split_search=None if search is None else SplitSearch(
                               min_documents=search.min_documents, max_subtopics=search.max_k))
    for fitted in result.models:
        topic_model.save_model(fitted.model, layer_store.layer_dir(model_dir, args.layer)
                               / fitted.sub_model().file)
    metrics = {"layer": args.layer, "representation": representation, "separation_space": space,
               "scores": {k: round(v, 6) for k, v in result.scores.items()},
               "topics": len(topics), "documents": clustered,
               "fitted_documents": sum(len(m.sample) for m in result.models),
               "skipped": result.skipped,
               "seconds": round(time.monotonic() - started, 3)}
    info = {"layer": args.layer, "representation": representation,
            "settings": settings.to_json(), "cv_folds": args.cv_folds,
            "fit_sample_size": args.fit_sample_size,
            "sub_models": {"sub_n_clusters": args.sub_n_clusters,
                           "sub_max_clusters": args.sub_max_clusters,
                           "sub_min_docs": args.sub_min_docs},
            "recluster": recluster,  # the previous layer's topics this layer was asked to split
            "models": [m.sub_model().to_json() for m in result.models], "metrics": metrics}
    layer_store.write_layer(model_dir, args.layer, info, summary, assignments)
    output = Path(args.output_data_dir)
    layer_store.write_summary(output / TOPIC_SUMMARY_FILE, summary)
    write_json_atomic(output / contract.TRAINING_METRICS_FILE, metrics)
    for line in metric_lines(result):
        print(line, flush=True)
    logger.info("layer %d: %d topics over %d documents (%s) in %.1f s", args.layer,
                len(topics), clustered, representation, metrics["seconds"])
    return metrics


def main(argv: list[str] | None = None) -> int:
    return run_step(run, parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
