"""The topic pipeline's quality gate on the BBC sample and on word salad: the figures it reads.

For each corpus size and each corpus, the BBC sample (sample_data.sample_frame) and word salad
made from it (sample_data.word_salad_frame: the same records, words drawn at random from the
sample's word frequencies), the step programs run as the pipeline runs them: preprocess.py,
embed.py, then train_layer.py for layer 1 (no CV) with each layer-1 setting below and each
seed, then evaluate.py with the default thresholds. Layer 1 settings span the tuning ranges:
the script's defaults (MiniLM, 15 topics), LSA with 25 topics, the concatenation with 20.
Prints one line per model (coherence, shuffled topics' coherence, their difference,
diversity, largest topic share, NMI and shuffled NMI for BBC, the verdict) and, per corpus,
the minimum / maximum of each figure; the defaults should pass every BBC model clearly and fail
every salad model clearly.

    python bench/topic_quality_gate_bench.py [--n-docs 300,2225] [--seeds 42,43]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.sequential_topics.sample_data import sample_frame, word_salad_frame
from steps.sequential_topics import contract
from steps.sequential_topics.topic_gate import GateThresholds

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "steps" / "sequential_topics"
SETTINGS = {"minilm-15": ["--representation", "minilm", "--n_clusters", "15"],
            "lsa-25": ["--representation", "lsa", "--n_clusters", "25"],
            "concat-20": ["--representation", "concat", "--n_clusters", "20"]}
FIGURES = ("coherence", "shuffled_coherence", "over_shuffled", "diversity", "largest_share",
           "nmi", "shuffled_nmi")


def run_script(script: str, args: list[str]) -> None:
    done = subprocess.run([sys.executable, str(SCRIPTS / script), *args], capture_output=True,
                          text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode:
        raise RuntimeError(f"{script} failed: {done.stderr[-2000:]}")


def figures_of(report: dict) -> dict:
    metrics = report["topic_metrics"]
    value = {name: metrics.get(key, {}).get("value") for name, key in (
        ("coherence", "layer1_coherence"), ("shuffled_coherence", "layer1_shuffled_coherence"),
        ("over_shuffled", "layer1_coherence_over_shuffled"),
        ("diversity", "layer1_diversity"), ("largest_share", "layer1_largest_topic_share"),
        ("nmi", "layer1_nmi"), ("shuffled_nmi", "layer1_shuffled_nmi"))}
    value["topics"] = metrics["layer1_topics"]["value"]
    value["passed"] = report["gate"]["passed"]
    value["message"] = report["gate"]["message"]
    return value


def bench_corpus(name: str, frame, seeds: list[int], root: Path) -> list[dict]:
    raw = root / "raw.csv"
    root.mkdir(parents=True)
    frame.to_csv(raw, index=False)
    label = ["--label-column", contract.DEFAULT_LABEL_COLUMN] if name == "bbc" else []
    run_script("preprocess.py", ["--input", str(raw), "--parts-dir", str(root / "parts"),
                                 "--report-dir", str(root / "report"), "--num-parts", "2",
                                 *label])
    run_script("embed.py", ["--input", str(root / "parts"), "--full-corpus",
                            str(root / "parts"), "--output-dir", str(root / "embeddings"),
                            "--lsa-dir", str(root / "lsa"), "--resource-config",
                            str(root / "none.json")])
    rows = []
    for setting, extra in SETTINGS.items():
        for seed in seeds:
            work = root / f"{setting}-{seed}"
            run_script("train_layer.py", [
                "--corpus", str(root / "parts"), "--embeddings", str(root / "embeddings"),
                "--model-dir", str(work / "model"), "--output-data-dir", str(work / "out"),
                "--layer", "1", "--cv_folds", "1", "--seed", str(seed), *extra])
            run_script("evaluate.py", ["--corpus", str(root / "parts"), "--model",
                                       str(work / "model"), "--output-dir", str(work / "eval")])
            report = json.loads((work / "eval" / contract.EVALUATION_REPORT).read_text())
            row = {"corpus": name, "setting": setting, "seed": seed, **figures_of(report)}
            rows.append(row)
            shown = " ".join(f"{k} {row[k]:.3f}" for k in FIGURES if row[k] is not None)
            print(f"{name:6} {setting:9} seed {seed}: {shown} topics {row['topics']} -> "
                  f"{'PASS' if row['passed'] else 'FAIL'}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-docs", default="300,2225")
    parser.add_argument("--seeds", default="42,43")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus; default thresholds "
          f"{GateThresholds().to_json()}; settings {list(SETTINGS)}; seeds {seeds}")
    with tempfile.TemporaryDirectory(prefix="gate-bench-") as work:
        for n_docs in (int(n) for n in args.n_docs.split(",")):
            started = time.perf_counter()
            rows = []
            for name, make in (("bbc", sample_frame), ("salad", word_salad_frame)):
                rows += bench_corpus(name, make(n_docs), seeds,
                                     Path(work) / f"{name}-{n_docs}")
            print(f"--- {n_docs} records ({time.perf_counter() - started:.0f} s): min / max")
            for name in ("bbc", "salad"):
                mine = [r for r in rows if r["corpus"] == name]
                spans = ", ".join(
                    f"{k} {min(r[k] for r in mine):.3f} / {max(r[k] for r in mine):.3f}"
                    for k in FIGURES if mine[0][k] is not None)
                passed = sum(r["passed"] for r in mine)
                print(f"{name}: {spans}; passed {passed} of {len(mine)}")
            print("e.g.", rows[-1]["message"], flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
