"""Fixtures for the topic steps: a small BBC corpus, LSA embeddings and three trained layers.

Everything here is cheap: documents are cleaned with a plain regex (the spaCy cleaning has its
own tests), embeddings are LSA only and the reducer is PCA. One test module
(test_real_stack.py) runs the real MiniLM + UMAP stack.
"""
from __future__ import annotations

import io
import json
import os
import re
import tempfile
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from pipelines.sequential_topics.sample_data import sample_frame
from runtime.topic_mapping.mapping_update import update_mapping
from steps.common.files import write_json_atomic
from steps.sequential_topics import contract, corpus_io, representations, train_layer
from steps.sequential_topics.layer_store import read_summary
from steps.sequential_topics.mapping_schema import MappingOverrides, dump_document
from tests.script_runs import StepRun, run_program

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = REPO / "steps" / "sequential_topics"
N_DOCS = 200
NUMBA_CACHE = Path(tempfile.gettempdir()) / "numba-cache-steps-topics"
FAST = ["--reducer", "pca", "--representation", "lsa", "--umap_n_components", "5",
        "--seed", "7"]


def pytest_configure(config):
    config.addinivalue_line("markers", "real_model: uses the real MiniLM model and UMAP (slow)")


def run_script(script: str, args: list[str], workdir: Path) -> StepRun:
    """Run steps/sequential_topics/<script> as the job would: a program with arguments."""
    # shared between runs: numba compiles UMAP once, later runs load it from here
    numba = os.environ.get("NUMBA_CACHE_DIR") or str(NUMBA_CACHE)
    return run_program(SCRIPTS / script, args, workdir, {"NUMBA_CACHE_DIR": numba}, timeout=600)


def run_main(main: Callable[[list[str]], int], args: list[str], workdir: Path) -> StepRun:
    """Run a step's main(argv) in this process (one BERTopic import for the whole session),
    with its own failure file; stdout/stderr captured as the job's log would be."""
    workdir.mkdir(parents=True, exist_ok=True)
    failure = workdir / "failure"
    previous = os.environ.get("SM_FAILURE_FILE")
    os.environ["SM_FAILURE_FILE"] = str(failure)
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exit_:
                code = exit_.code
    finally:
        if previous is None:
            os.environ.pop("SM_FAILURE_FILE", None)
        else:
            os.environ["SM_FAILURE_FILE"] = previous
    return StepRun(code, out.getvalue(), err.getvalue(), failure)


def simple_clean(text: str) -> str:
    return " ".join(re.findall(r"[a-z]+", text.lower()))


@pytest.fixture(scope="session")
def raw_frame() -> pd.DataFrame:
    return sample_frame(N_DOCS)


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory, raw_frame) -> Path:
    """Two cleaned parts (id, document, label), regex-cleaned."""
    folder = tmp_path_factory.mktemp("corpus")
    text = raw_frame[["title", "description", "details"]].fillna("").agg("\n".join, axis=1)
    corpus = pd.DataFrame({contract.ID_COLUMN: raw_frame["id"],
                           contract.DOCUMENT_COLUMN: text.map(simple_clean),
                           contract.LABEL_COLUMN: raw_frame["label"]})
    corpus = corpus.drop_duplicates(contract.DOCUMENT_COLUMN)
    half = len(corpus) // 2
    corpus.iloc[:half].to_csv(folder / "part-00000.csv", index=False)
    corpus.iloc[half:].to_csv(folder / "part-00001.csv", index=False)
    return folder


@pytest.fixture(scope="session")
def lsa_dir(tmp_path_factory, corpus_dir) -> Path:
    folder = tmp_path_factory.mktemp("lsa")
    corpus = corpus_io.read_corpus(corpus_dir)
    model = representations.fit_lsa(corpus[contract.DOCUMENT_COLUMN].tolist(), 40, seed=7)
    representations.save_lsa(model, folder)
    write_json_atomic(folder / contract.REPRESENTATIONS_FILE, {"lsa": {"components": 40}})
    return folder


@pytest.fixture(scope="session")
def embeddings_dir(tmp_path_factory, corpus_dir, lsa_dir) -> Path:
    """LSA embeddings per part (the format embed.py writes, with the lsa array only)."""
    folder = tmp_path_factory.mktemp("embeddings")
    model = representations.load_lsa(lsa_dir)
    for part in sorted(corpus_dir.glob("*.csv")):
        frame = corpus_io.read_part(part)
        arrays = {contract.LSA: representations.lsa_transform(
            model, frame[contract.DOCUMENT_COLUMN].tolist())}
        corpus_io.write_embeddings(corpus_io.embedding_path(folder, part),
                                   frame[contract.ID_COLUMN].tolist(), arrays)
    return folder


@dataclass
class TrainedLayers:
    root: Path
    runs: dict[int, StepRun]
    model_dirs: dict[int, Path]
    output_dirs: dict[int, Path]
    mappings: dict[int, Path]


def _split_largest(model_dir: Path, layer: int) -> MappingOverrides:
    summary = read_summary(model_dir, layer)
    largest = max(summary.topics, key=lambda t: (t.size, -t.topic))
    return MappingOverrides(topics={f"{layer}:{largest.topic}": {"action": "split"}})


def write_mapping(folder: Path, previous, model_dir: Path, layer: int):
    summary = read_summary(model_dir, layer)
    mapping = update_mapping(previous, summary, _split_largest(model_dir, layer))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / contract.MAPPING_FILE).write_bytes(dump_document(mapping))
    return mapping


@pytest.fixture(scope="session")
def trained(tmp_path_factory, corpus_dir, embeddings_dir) -> TrainedLayers:
    """Layers 1-3 trained as the pipeline would, each mapping splitting the largest topic."""
    root = tmp_path_factory.mktemp("layers")
    result = TrainedLayers(root, {}, {}, {}, {})
    previous_mapping = None
    for layer in (1, 2, 3):
        model_dir, output_dir = root / f"model{layer}", root / f"output{layer}"
        args = ["--corpus", str(corpus_dir), "--embeddings", str(embeddings_dir),
                "--model-dir", str(model_dir), "--output-data-dir", str(output_dir),
                "--layer", str(layer), *FAST]
        args += ["--sub_min_docs", "8", "--sub_max_clusters", "3"]
        if layer == 1:
            args += ["--n_clusters", "6", "--cv_folds", "2"]
        else:
            args += ["--mapping", str(result.mappings[layer - 1]), "--previous-model",
                     str(result.model_dirs[layer - 1])]
        run = run_main(train_layer.main, args, root / f"work{layer}")
        assert run.returncode == 0, run.stderr
        result.runs[layer] = run
        result.model_dirs[layer] = model_dir
        result.output_dirs[layer] = output_dir
        if layer < 3:
            previous_mapping = write_mapping(root / f"mapping{layer}", previous_mapping,
                                             model_dir, layer)
            result.mappings[layer] = root / f"mapping{layer}"
    return result


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


