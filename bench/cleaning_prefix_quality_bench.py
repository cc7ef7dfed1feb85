"""What cleaning only the prefix MiniLM reads costs: whole BBC articles cleaned both ways.

The 2,225 whole articles (title and body, bench/sequential_topics_bench.bbc_articles) are
cleaned as preprocess.py cleans them (de-duplicated, 2 processes), once on the whole text and
once from a prefix of `--prefix-chars` characters (text_cleaning: doubled until the cleaned
prefix holds more word pieces than MiniLM reads). On the documents both keep:

- agreement at the embedding: how many documents' first word pieces (as many as MiniLM reads,
  its own tokenizer) differ, and the cosine between the two MiniLM embeddings (the default
  backend, each document alone) of the documents the prefix shortened, mean and minimum;
- layer-1 NMI against the 5 categories for the MiniLM, LSA (fitted on each corpus) and
  concatenated representations, with train_layer.py's defaults (no cross-validation: it
  changes the scores, not the topics), seeds 42.. (`--seeds`), mean ± sd. The MiniLM row is
  the control: every document's embedded word pieces are the same both ways, so its change is
  the noise of the int8 backend, whose batches (formed by text length) differ between the two
  corpora and change a document's embedding slightly (measured: +0.009 over 6 seeds);
- the keywords: each seed's layer-1 MiniLM topics of the whole-text run, their top-10 c-TF-IDF
  words (the model's recipe) from the whole documents and from the prefixes: the mean share of
  a topic's words both lists hold.

The cleaned corpora are cached under `--cache-dir` (cleaning takes minutes).

    python bench/cleaning_prefix_quality_bench.py [--prefix-chars 2000] [--seeds 3]
        [--cache-dir /tmp/cleaning-prefix-bench] [--n-docs N]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import normalized_mutual_info_score

from bench.sequential_topics_bench import ARTICLE_COLUMNS, bbc_articles, mean_sd
from steps.common.files import write_csv_atomic
from steps.sequential_topics import contract, representations, text_cleaning, topic_model
from steps.sequential_topics.layer_models import fit_layer_one, layer_assignments
from steps.sequential_topics.preprocess import clean_table
from steps.sequential_topics.shuffled_baseline import ctfidf_keywords
from steps.sequential_topics.topic_model import ModelSettings

REPRESENTATIONS = (contract.MINILM, contract.LSA, contract.CONCAT)
KEYWORDS = 10


def cleaned_corpora(n_docs: int | None, prefix_chars: int, cache: Path
                    ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(whole-text corpus, prefix corpus, the prefix run's data report) on the ids both keep."""
    articles = bbc_articles(n_docs)
    whole = text_cleaning.CleaningSettings(text_columns=ARTICLE_COLUMNS)
    prefix = replace(whole, embedding_word_pieces=text_cleaning.embedding_reads(),
                     prefix_chars=prefix_chars)
    nlp = text_cleaning.load_nlp(whole.drop_entity_labels)
    corpora, reports = [], []
    for name, settings in (("whole", whole), (f"prefix{prefix_chars}", prefix)):
        path = cache / f"{name}-n{n_docs or 'all'}.csv"
        report_path = path.with_suffix(".json")
        if not path.is_file():
            started = time.perf_counter()
            corpus, report = clean_table(articles, settings, "id", "label", nlp, workers=2)
            report["cleaning_s"] = round(time.perf_counter() - started, 1)
            write_csv_atomic(path, corpus)
            report_path.write_text(json.dumps(report))
        corpora.append(pd.read_csv(path, dtype=str, keep_default_na=False))
        reports.append(json.loads(report_path.read_text()))
        print(f"{name}: {len(corpora[-1])} documents, cleaned in {reports[-1]['cleaning_s']} s",
              flush=True)
    ids = sorted(set(corpora[0][contract.ID_COLUMN]) & set(corpora[1][contract.ID_COLUMN]))
    whole_corpus, prefix_corpus = (c.set_index(contract.ID_COLUMN).loc[ids].reset_index()
                                   for c in corpora)
    return whole_corpus, prefix_corpus, {
        "documents_whole": len(corpora[0]), "documents_prefix": len(corpora[1]),
        "documents_compared": len(ids),
        "truncated_at_embedding": reports[1]["truncated_at_embedding"],
        "cleaning_s": {"whole": reports[0]["cleaning_s"], "prefix": reports[1]["cleaning_s"]},
        "cleaned_words_mean": {"whole": reports[0]["tokens_per_document"]["mean"],
                               "prefix": reports[1]["tokens_per_document"]["mean"]}}


def embedded_agreement(whole: list[str], prefix: list[str], minilm: Any) -> dict:
    """Documents whose embedded word pieces differ, and the cosine between the embeddings of
    each shortened document, whole and prefix, each embedded alone: the int8 backend scales
    activations per batch and batches are formed by length, so batched embeddings of the same
    document differ with its batch (cosine 0.993-0.996 in a check), which is not cleaning's."""
    reads = text_cleaning.embedding_reads()
    tokenizer = text_cleaning.embedding_tokenizer()
    differ = sum(
        tokenizer.encode(a, add_special_tokens=False).ids[:reads]
        != tokenizer.encode(b, add_special_tokens=False).ids[:reads]
        for a, b in zip(whole, prefix, strict=True))
    shortened = [(a, b) for a, b in zip(whole, prefix, strict=True) if a != b]
    cosine = np.array([float(representations.embed_minilm(minilm, [a], 1)[0]
                             @ representations.embed_minilm(minilm, [b], 1)[0])
                       for a, b in shortened])
    return {"word_pieces_read": reads, "documents_whose_embedded_word_pieces_differ": differ,
            "documents_shortened": len(shortened),
            "cosine_mean_shortened": round(float(cosine.mean()), 7),
            "cosine_min_shortened": round(float(cosine.min()), 7)}


def keyword_overlap(whole: list[str], prefix: list[str], topics: np.ndarray) -> float:
    """Mean share of each topic's top words that the whole documents and the prefixes share."""
    pairs = zip(ctfidf_keywords(whole, topics, KEYWORDS), ctfidf_keywords(prefix, topics, KEYWORDS),
                strict=True)
    return statistics.mean(len(set(a) & set(b)) / KEYWORDS for a, b in pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix-chars", type=int, default=text_cleaning.DEFAULT_PREFIX_CHARS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-docs", type=int, default=None, help="default: all 2,225")
    parser.add_argument("--cache-dir", default="/tmp/cleaning-prefix-bench")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    topic_model.set_numba_cache()
    cache = Path(args.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    whole, prefix, report = cleaned_corpora(args.n_docs, args.prefix_chars, cache)
    labels = whole[contract.LABEL_COLUMN].to_numpy()
    documents = {"whole": whole[contract.DOCUMENT_COLUMN].tolist(),
                 "prefix": prefix[contract.DOCUMENT_COLUMN].tolist()}
    minilm = representations.load_minilm()
    arrays = {name: representations.compute(docs, minilm, representations.fit_lsa(docs),
                                            needed=REPRESENTATIONS)
              for name, docs in documents.items()}
    report["agreement"] = embedded_agreement(documents["whole"], documents["prefix"], minilm)
    print(json.dumps(report["agreement"]), flush=True)
    nmi: dict[str, list[float]] = {}
    overlap: list[float] = []
    for seed in range(42, 42 + args.seeds):
        for representation in REPRESENTATIONS:
            for name, docs in documents.items():
                result = fit_layer_one(docs, arrays[name][representation],
                                       ModelSettings(seed=seed), cv_folds=0)
                topics = layer_assignments(result, len(docs))
                nmi.setdefault(f"{representation}.{name}", []).append(
                    float(normalized_mutual_info_score(labels, topics)))
                if (representation, name) == (contract.MINILM, "whole"):
                    overlap.append(keyword_overlap(documents["whole"], documents["prefix"],
                                                   topics))
        print(f"seed {seed}: " + ", ".join(f"{k} {v[-1]:.4f}" for k, v in nmi.items())
              + f", keyword overlap {overlap[-1]:.3f}", flush=True)
    report["layer1_nmi"] = {key: mean_sd(values) for key, values in nmi.items()}
    report["layer1_nmi_runs"] = {key: [round(v, 4) for v in values] for key, values in nmi.items()}
    report["nmi_change_prefix_minus_whole"] = {
        representation: round(statistics.mean(nmi[f"{representation}.prefix"])
                              - statistics.mean(nmi[f"{representation}.whole"]), 4)
        for representation in REPRESENTATIONS}
    report["top10_keyword_overlap"] = mean_sd(overlap)
    report.update(prefix_chars=args.prefix_chars, seeds=args.seeds,
                  machine={"python": platform.python_version(), "cpus": os.cpu_count()})
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
