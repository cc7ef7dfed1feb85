"""The torch-int8 MiniLM backend: built offline from the bundled model, really quantised,
close to float32; every backend is chosen by embed.py's --embedding-backend and reused by the
served model (the ONNX backends' own tests: test_onnx_embedding.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

from steps.common.errors import InvalidData
from steps.sequential_topics import contract, corpus_io, embed, onnx_embedding, representations
from tests.steps.sequential_topics.conftest import run_main

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def documents(corpus_dir):
    return corpus_io.read_corpus(corpus_dir)[contract.DOCUMENT_COLUMN].head(60).tolist()


@pytest.fixture(scope="module")
def int8_model(monkeypatch_module):
    monkeypatch_module.setenv("HF_HUB_OFFLINE", "1")  # nothing may be downloaded
    return representations.load_minilm(backend=contract.TORCH_INT8)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_int8_backend_quantises_every_linear_but_the_early_ffn_outputs(int8_model):
    kinds = {name: type(module) for name, module in int8_model.named_modules()
             if isinstance(module, (torch.nn.Linear, DynamicInt8Linear))}
    kept_float = sorted(name for name, kind in kinds.items() if kind is torch.nn.Linear)
    assert [name.split("encoder.")[-1] for name in kept_float] == [
        f"layer.{layer}.output.dense" for layer in range(4)]
    quantised = [name for name, kind in kinds.items() if kind is DynamicInt8Linear]
    assert len(quantised) >= 6 * 6 - 4  # q, k, v, attention out, FFN up, FFN down per layer
    query = dict(int8_model.named_modules())[quantised[0]]
    assert query.weight().dtype == torch.qint8


def test_int8_embeddings_agree_with_float32(int8_model, documents):
    reference = representations.embed_minilm(representations.load_minilm(backend=contract.TORCH),
                                             documents)
    vectors = representations.embed_minilm(int8_model, documents)
    assert vectors.shape == (len(documents), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    cosine = (vectors * reference).sum(axis=1)
    assert cosine.mean() >= 0.98 and cosine.min() >= 0.95
    assert cosine.max() < 1 - 1e-6  # it is not the float model under another name


def test_unknown_backend_is_refused_with_the_choices():
    with pytest.raises(InvalidData, match=r"^embedding backend 'tensorrt' is not one of "
                                          r"\['torch', 'torch-int8', 'onnx', 'onnx-int8'\]: "
                                          r"pass one of them$"):
        representations.load_minilm(backend="tensorrt")


@pytest.mark.parametrize("backend", [contract.TORCH_INT8, contract.ONNX_INT8])
def test_embed_records_its_backend_for_the_served_model(corpus_dir, tmp_path, backend,
                                                        monkeypatch):
    monkeypatch.setenv(onnx_embedding.CACHE_ENV, str(tmp_path / "onnx-cache"))
    parts = tmp_path / "parts"
    parts.mkdir()
    corpus = corpus_io.read_corpus(corpus_dir).head(12)
    corpus.to_csv(parts / "part-00000.csv", index=False)
    run = run_main(embed.main, [
        "--input", str(parts), "--full-corpus", str(parts), "--output-dir",
        str(tmp_path / "embeddings"), "--lsa-dir", str(tmp_path / "lsa"), "--lsa-components",
        "4", "--embedding-backend", backend, "--resource-config",
        str(tmp_path / "absent.json")], tmp_path / "work")
    assert run.returncode == 0, run.stderr
    info = json.loads((tmp_path / "lsa" / contract.REPRESENTATIONS_FILE).read_text())
    assert info["minilm"]["backend"] == backend
    assert representations.saved_backend(tmp_path / "lsa") == backend
    written = corpus_io.read_embeddings(tmp_path / "embeddings", contract.MINILM,
                                        corpus[contract.ID_COLUMN].tolist())
    # what the served model loads (served_model.load_model): the backend embed.py recorded
    again = representations.embed_minilm(representations.load_minilm(
        backend=representations.saved_backend(tmp_path / "lsa")),
        corpus[contract.DOCUMENT_COLUMN].tolist(), 16)
    assert np.allclose(written, again, atol=1e-5)


def test_embed_refuses_an_unknown_backend(tmp_path):
    run = run_main(embed.main, ["--embedding-backend", "tensorrt"], tmp_path)
    assert run.returncode == 1  # a step's bad argument fails its job (steps.common.cli)
    assert "--embedding-backend: invalid choice: 'tensorrt'" in run.stderr
    assert "--embedding-backend" in (tmp_path / "failure").read_text()


def test_models_without_a_recorded_backend_use_float32(tmp_path):
    (tmp_path / contract.REPRESENTATIONS_FILE).write_text(json.dumps({"minilm": {}}))
    assert representations.saved_backend(tmp_path) == contract.TORCH
    assert representations.saved_backend(tmp_path / "absent") == contract.TORCH
