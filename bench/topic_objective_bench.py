"""Does layer 1's label-free tuning objective agree with people? Trials scored both ways.

For each corpus (bench/hierarchical_corpora.py; cleaned and embedded once by
topic_layers_bench.prepare, cached) the defaults and `--grid N` settings drawn from the
pipeline's tuning_ranges() (topic_layers_bench.grid_settings: representation, UMAP neighbours
and components, BIRCH threshold, topic count) are each run as a tuning trial runs them
(train_layer.py's layer 1: a model on every document, then `--cv-folds` folds,
layer_models.fold_components). Every trial records each fold's label-free components (the
product's, and the candidates a revision could use: separation in the trial's reduced space
and in the LSA and concatenated spaces, NPMI over the training folds, the smallest topic's
share), and NMI/AMI of the full model against the coarse and the fine labels. Trials are
cached as JSON per corpus, setting and seed under `--cache-dir`, so objectives are compared
without refitting.

Reported per corpus and objective (OBJECTIVES, lower is better; `product` is
topic_metrics.topic_loss, `before` the objective it replaced): Spearman rank correlation of
-objective with NMI and AMI (coarse and fine), and the objective's pick against the defaults;
per component, its own rank correlation with NMI. `--pick-seeds`: the defaults and the picks
of `--pick-objectives` (chosen at `--seed`) refitted with more seeds, mean ± sd NMI (the
issue's bar: the pick scores at least as well as the defaults).

    python bench/topic_objective_bench.py [--corpora hpo,wiki,bbc] [--n-docs 1500]
        [--grid 10] [--seed 42] [--pick-seeds 43,44] [--pick-objectives product,before]
        [--output FILE]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.hierarchical_corpora import CORPORA
from bench.topic_layers_bench import LABELS, Prepared, grid_settings, prepare
from steps.common.files import write_json_atomic
from steps.sequential_topics import contract, topic_metrics, topic_model, train_layer
from steps.sequential_topics.layer_models import fold_components
from steps.sequential_topics.topic_model import ModelSettings

SETTING_FIELDS = ("n_neighbors", "n_components", "birch_threshold", "n_clusters")
TRIAL_FORMAT = 2  # 2: `separation` in the MiniLM space, the reduced space's as a candidate


def _key(corpus: str, representation: str, settings: ModelSettings, folds: int) -> str:
    text = json.dumps([TRIAL_FORMAT, corpus, representation, settings.to_json(), folds],
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_trial(prepared: Prepared, representation: str, settings: ModelSettings,
              folds: int) -> dict[str, Any]:
    """One tuning trial: the full model's agreement with the labels and the per-fold
    label-free components (layer_models.fold_components, as the tuning job computes them)."""
    from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score

    started = time.perf_counter()
    documents, embeddings = prepared.documents, prepared.embeddings[representation]
    model = topic_model.fit_model(documents, embeddings, settings)
    topics = np.asarray(model.topics_, dtype=int)

    def candidates(fold_model: Any, train: np.ndarray, test: np.ndarray, held: np.ndarray
                   ) -> dict[str, float]:
        """The revision's candidate components, measured on the same fold."""
        sizes = np.bincount(held)
        sizes = sizes[sizes > 0]
        words = [[w for w, _ in topic_model.topic_keywords(fold_model, t, [])]
                 for t in sorted(set(fold_model.topics_))]
        return {"separation_reduced": topic_metrics.separation(
                    topic_model.reduce(fold_model, embeddings[test]), held, settings.seed),
                **{f"silhouette_{space}": topic_metrics.separation(
                    prepared.embeddings[space][test], held, settings.seed)
                   for space in (contract.LSA, contract.CONCAT)},
                "coherence_train": topic_metrics.npmi_coherence(
                    words, [documents[r] for r in train])[0],
                "smallest_share": float(sizes.min() * len(sizes) / sizes.sum()),
                "topics_held_out": float(len(sizes))}

    per_fold = fold_components(documents, embeddings, settings, folds, topics, candidates,
                               reference=prepared.embeddings[train_layer.SEPARATION_SPACE])
    trial: dict[str, Any] = {"representation": representation,
                             **{k: getattr(settings, k) for k in SETTING_FIELDS},
                             "seed": settings.seed, "topics": len(set(topics.tolist())),
                             "folds": per_fold}
    for level in LABELS:
        labels = prepared.frame[level].to_numpy()
        trial[f"nmi_{level}"] = float(normalized_mutual_info_score(labels, topics))
        trial[f"ami_{level}"] = float(adjusted_mutual_info_score(labels, topics))
    trial["seconds"] = round(time.perf_counter() - started, 1)
    return trial


def cached_trial(prepared: Prepared, corpus: str, representation: str,
                 settings: ModelSettings, folds: int, cache: Path) -> dict[str, Any]:
    path = cache / "trials" / f"{corpus}-{_key(corpus, representation, settings, folds)}.json"
    if path.is_file():
        return json.loads(path.read_text())
    trial = run_trial(prepared, representation, settings, folds)
    write_json_atomic(path, trial)
    return trial


def fold_means(trial: dict[str, Any]) -> dict[str, float]:
    return {k: statistics.mean(f[k] for f in trial["folds"]) for k in trial["folds"][0]}


def _weighted(m: dict[str, float], weights: dict[str, float]) -> float:
    """1 - the weighted mean of components mapped to [0, 1] (silhouettes and NPMI from
    [-1, 1], stability clipped at 0), as the objective before the revision did."""
    scaled = {k: (v + 1) / 2 if k.startswith(("silhouette", "coherence", "separation"))
              else max(v, 0.0) for k, v in m.items()}
    return 1.0 - sum(w * scaled[k] for k, w in weights.items()) / sum(weights.values())


# The objectives compared, all label-free. `separation` is the held-out silhouette in the
# MiniLM space, one ruler for every trial whatever representation it clusters;
# `separation_reduced` the same in the trial's own reduced (UMAP) space.
OBJECTIVES = {
    "product": lambda m: topic_metrics.topic_loss(m["separation"]),
    "before": lambda m: _weighted(m, {"coherence": 0.4, "diversity": 0.2,
                                      "separation_reduced": 0.2, "stability": 0.2}),
    "before_minilm_space": lambda m: _weighted(m, {"coherence": 0.4, "diversity": 0.2,
                                                   "separation": 0.2, "stability": 0.2}),
    "before_without_separation": lambda m: _weighted(m, {"coherence": 0.5, "diversity": 0.25,
                                                         "stability": 0.25}),
    "separation_stability": lambda m: _weighted(m, {"separation": 0.5, "stability": 0.5}),
    "separation_coherence": lambda m: _weighted(m, {"separation": 0.5, "coherence": 0.5}),
}


def objective_values(trial: dict[str, Any]) -> dict[str, float]:
    """Every candidate objective's value for one trial (lower is better)."""
    means = fold_means(trial)
    return {name: float(objective(means)) for name, objective in OBJECTIVES.items()}


def agreement(trials: list[dict[str, Any]]) -> dict[str, Any]:
    """Per objective: Spearman of -objective with NMI/AMI, its pick and the defaults' figures
    (trials[0] holds the defaults)."""
    from scipy.stats import spearmanr

    frame = pd.DataFrame([{**{k: t[k] for k in t if k != "folds"},
                           **objective_values(t)} for t in trials])
    report: dict[str, Any] = {"objectives": {}, "components": {}}
    for name in OBJECTIVES:
        pick = int(frame[name].idxmin())
        fields = ["representation", *SETTING_FIELDS]  # as plain JSON values, not numpy's
        entry: dict[str, Any] = {"pick": json.loads(
            frame.loc[[pick], fields].to_json(orient="records"))[0]}
        for level in LABELS:
            for measure in ("nmi", "ami"):
                column = f"{measure}_{level}"
                entry[f"spearman_{column}"] = round(float(spearmanr(
                    -frame[name], frame[column]).statistic), 4)
                entry[f"pick_{column}"] = round(float(frame.loc[pick, column]), 4)
        report["objectives"][name] = entry
    means = pd.DataFrame([fold_means(t) for t in trials])
    for component in means.columns:
        report["components"][component] = {
            f"spearman_nmi_{level}": round(float(spearmanr(means[component],
                                                           frame[f"nmi_{level}"]).statistic), 4)
            for level in LABELS}
    report["defaults"] = {f"{m}_{level}": round(float(frame.loc[0, f"{m}_{level}"]), 4)
                          for level in LABELS for m in ("nmi", "ami")}
    report["best"] = {f"nmi_{level}": round(float(frame[f"nmi_{level}"].max()), 4)
                      for level in LABELS}
    return report


def pick_check(prepared: Prepared, corpus: str, trials: list[dict[str, Any]],
               report: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The defaults and the picks of `args.pick_objectives` refitted with `args.pick_seeds`
    (and the grid's seed): mean ± sd NMI against each label level."""
    seeds, folds, cache = args.pick_seeds, args.cv_folds, Path(args.cache_dir)
    chosen = {"defaults": (trials[0]["representation"], {k: trials[0][k]
                                                         for k in SETTING_FIELDS})}
    for name in args.pick_objectives:
        pick = report["objectives"][name]["pick"]
        chosen[name] = (pick["representation"], {k: pick[k] for k in SETTING_FIELDS})
    figures: dict[str, Any] = {}
    for name, (representation, fields) in chosen.items():
        runs = [trials[0]] if name == "defaults" else []
        for seed in seeds:
            settings = ModelSettings(seed=seed, n_neighbors=int(fields["n_neighbors"]),
                                     n_components=int(fields["n_components"]),
                                     birch_threshold=float(fields["birch_threshold"]),
                                     n_clusters=int(fields["n_clusters"]))
            runs.append(cached_trial(prepared, corpus, representation, settings, folds, cache))
        if name != "defaults":
            first = [t for t in trials if t["representation"] == representation and all(
                t[k] == fields[k] for k in SETTING_FIELDS)][0]
            runs.insert(0, first)
        figures[name] = {f"nmi_{level}": _mean_sd([r[f"nmi_{level}"] for r in runs])
                         for level in LABELS}
    return figures


def _mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f} (n={len(values)})"


def bench_corpus(name: str, args: argparse.Namespace) -> dict[str, Any]:
    cache = Path(args.cache_dir)
    prepared = prepare(CORPORA[name], args.n_docs, args.sample_seed, cache,
                       contract.REPRESENTATIONS)
    trials = []
    for number, (representation, settings) in enumerate(grid_settings(args.grid, args.seed)):
        trial = cached_trial(prepared, name, representation, settings, args.cv_folds, cache)
        trials.append(trial)
        print(f"{name} trial {number + 1}/{args.grid + 1}: {representation} "
              f"{[trial[k] for k in SETTING_FIELDS]} nmi coarse {trial['nmi_coarse']:.3f} "
              f"fine {trial['nmi_fine']:.3f} ({trial['seconds']} s)", flush=True)
    report = {"documents": len(prepared.frame),
              "coarse_classes": int(prepared.frame["coarse"].nunique()),
              "fine_classes": int(prepared.frame["fine"].nunique()), **agreement(trials)}
    if args.pick_seeds:
        report["pick_vs_defaults"] = pick_check(prepared, name, trials, report, args)
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", default="hpo,wiki,bbc", help=f"of {', '.join(CORPORA)}")
    parser.add_argument("--n-docs", type=int, default=1500, help="sample size; 0 = all")
    parser.add_argument("--sample-seed", type=int, default=0, help="which documents")
    parser.add_argument("--grid", type=int, default=10, help="settings drawn besides defaults")
    parser.add_argument("--seed", type=int, default=42, help="model seed of the grid's trials")
    parser.add_argument("--cv-folds", type=int, default=3)
    parser.add_argument("--pick-seeds", default="", help="refit defaults and picks with these")
    parser.add_argument("--pick-objectives", default=",".join(OBJECTIVES),
                        help="whose picks --pick-seeds refits")
    parser.add_argument("--cache-dir", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
        "ensemble-model-build", "topic-layers-bench"))
    parser.add_argument("--output", default="", help="also write the report as JSON here")
    args = parser.parse_args(argv)
    args.corpora = [c.strip() for c in args.corpora.split(",") if c.strip()]
    unknown = [c for c in args.corpora if c not in CORPORA]
    if unknown or not args.corpora:
        parser.error(f"unknown corpus {unknown or args.corpora!r}; choose from "
                     f"{', '.join(CORPORA)}")
    args.pick_objectives = [o.strip() for o in args.pick_objectives.split(",") if o.strip()]
    if not set(args.pick_objectives) <= set(OBJECTIVES):
        parser.error(f"--pick-objectives: choose from {', '.join(OBJECTIVES)}")
    try:
        args.pick_seeds = [int(s) for s in args.pick_seeds.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--pick-seeds must be comma-separated integers, got {args.pick_seeds!r}")
    if args.grid < 1 or args.cv_folds < 2 or args.n_docs < 0:
        parser.error("--grid must be >= 1, --cv-folds >= 2 and --n-docs >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    topic_model.set_numba_cache()
    config = {**vars(args), "machine": {"python": platform.python_version(),
                                        "cpus": os.cpu_count()}}
    print("configuration:", json.dumps(config), flush=True)
    report = {"configuration": config,
              "corpora": {name: bench_corpus(name, args) for name in args.corpora}}
    print(json.dumps(report["corpora"], indent=2, default=str))
    if args.output:
        write_json_atomic(Path(args.output), report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
