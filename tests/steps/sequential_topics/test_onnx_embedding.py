"""The ONNX Runtime MiniLM backends: exported offline from the bundled model, tokenised and
pooled like sentence-transformers, close to float32, cached once and never half-written."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from steps.common.errors import InvalidData
from steps.sequential_topics import contract, corpus_io, onnx_embedding, representations

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def offline():
    """No hub and no network: any connection attempt fails the test."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("the ONNX backend tried to reach the network")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setattr(socket.socket, "connect", refuse)
        yield


@pytest.fixture(scope="module")
def cache(tmp_path_factory, offline) -> Path:
    """A fresh cache holding both exports, made once for the module (about 20 s)."""
    folder = tmp_path_factory.mktemp("onnx-cache")
    onnx_embedding.exported_model(Path(representations.minilm_path()), True, folder)
    return folder


@pytest.fixture(scope="module")
def documents(corpus_dir) -> list[str]:
    documents = corpus_io.read_corpus(corpus_dir)[contract.DOCUMENT_COLUMN].head(60).tolist()
    return [*documents, " ".join(documents[:10])]  # longer than the model's 256 tokens


@pytest.fixture(scope="module")
def float32(documents) -> np.ndarray:
    return representations.embed_minilm(representations.load_minilm(backend=contract.TORCH),
                                        documents)


def _key_folder(cache: Path) -> Path:
    return cache / onnx_embedding.cache_key(Path(representations.minilm_path()))


def test_loads_offline_from_the_bundled_model_into_a_content_addressed_cache(cache):
    model = onnx_embedding.load(representations.minilm_path(), quantized=True, cache=cache)
    assert sorted(p.name for p in _key_folder(cache).iterdir()) == [
        "model-int8.onnx", "model.onnx"]
    assert model.get_embedding_dimension() == 384
    assert model.session.get_providers() == ["CPUExecutionProvider"]
    assert model.session.get_session_options().intra_op_num_threads == 1


def test_the_int8_file_is_really_quantised(cache):
    graph = onnx.load(str(_key_folder(cache) / "model-int8.onnx")).graph
    operators = {node.op_type for node in graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= operators
    int8_weights = [t for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert len(int8_weights) >= 6 * 6  # q, k, v, attention out, FFN up, FFN down per layer


def test_tokenises_and_truncates_like_sentence_transformers(cache, documents):
    reference = representations.load_minilm(backend=contract.TORCH).tokenizer(
        documents, truncation=True, max_length=256)["input_ids"]
    model = onnx_embedding.load(representations.minilm_path(), quantized=False, cache=cache)
    ours = [e.ids for e in model.tokenizer.encode_batch(documents)]
    assert [ids[:len(ref)] for ids, ref in zip(ours, reference, strict=True)] == reference
    assert {i for ids, ref in zip(ours, reference, strict=True) for i in ids[len(ref):]} == {0}
    assert max(len(ids) for ids in reference) == 256  # the long document was truncated


@pytest.mark.parametrize("backend, mean, lowest", [
    (contract.ONNX, 0.99999, 0.9999), (contract.ONNX_INT8, 0.98, 0.95)])
def test_embeddings_agree_with_float32(cache, documents, float32, monkeypatch, backend, mean,
                                       lowest):
    monkeypatch.setenv(onnx_embedding.CACHE_ENV, str(cache))
    vectors = representations.embed_minilm(representations.load_minilm(backend=backend),
                                           documents, 16)
    assert vectors.shape == (len(documents), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    cosine = (vectors * float32).sum(axis=1)
    assert cosine.mean() >= mean and cosine.min() >= lowest
    if backend == contract.ONNX_INT8:
        assert cosine.max() < 1 - 1e-6  # not the float model under another name


def test_a_documents_int8_vector_does_not_depend_on_the_documents_beside_it(cache, documents):
    """Training embeds in bulk and serving one record at a time: both must give one vector."""
    model = onnx_embedding.load(representations.minilm_path(), quantized=True, cache=cache)
    together = model.encode(documents, batch_size=16)
    alone = np.stack([model.encode([document])[0] for document in documents[:8]])
    reordered = model.encode(list(reversed(documents)), batch_size=5)[::-1]
    assert np.array_equal(together[:8], alone)
    assert np.array_equal(together, reordered)


def test_a_cached_model_is_reused_not_exported_again(cache, monkeypatch):
    before = {p.name: p.stat().st_mtime_ns for p in _key_folder(cache).iterdir()}

    def no_export(*_args):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_embedding, "_export", no_export)
    monkeypatch.setattr(onnx_embedding, "_quantize", no_export)
    onnx_embedding.load(representations.minilm_path(), quantized=True, cache=cache)
    assert {p.name: p.stat().st_mtime_ns for p in _key_folder(cache).iterdir()} == before


def test_a_cache_it_cannot_write_is_named_with_the_fix(tmp_path):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache should be")
    with pytest.raises(InvalidData, match=rf"^cannot write the ONNX model cache {not_a_folder} "
                                          rf"\(.+\): set {onnx_embedding.CACHE_ENV} to a "
                                          rf"writable folder$"):
        onnx_embedding.exported_model(Path(representations.minilm_path()), True, not_a_folder)


def test_another_model_folder_gets_another_key(tmp_path):
    copy = shutil.copytree(representations.minilm_path(), tmp_path / "model")
    same = onnx_embedding.cache_key(copy)
    (copy / "sentence_bert_config.json").write_text('{"max_seq_length": 128}')
    assert same == onnx_embedding.cache_key(Path(representations.minilm_path()))
    assert onnx_embedding.cache_key(copy) != same


def test_a_failed_export_leaves_nothing_behind(cache, tmp_path, monkeypatch):
    fresh = tmp_path / "cache"
    shutil.copytree(cache, fresh)
    (_key_folder(fresh) / "model-int8.onnx").unlink()

    def half_written(_source, target):
        Path(target).write_bytes(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(onnx_embedding, "_quantize", half_written)
    with pytest.raises(OSError, match="disk full"):
        onnx_embedding.exported_model(Path(representations.minilm_path()), True, fresh)
    assert sorted(p.name for p in _key_folder(fresh).iterdir()) == ["model.onnx"]


def test_a_concurrent_export_keeps_the_first_complete_file(cache, tmp_path, monkeypatch):
    fresh = tmp_path / "cache"
    shutil.copytree(cache, fresh)
    target = _key_folder(fresh) / "model-int8.onnx"
    first = target.read_bytes()
    target.unlink()
    real = onnx_embedding._quantize

    def racing(source, written):  # another process finishes while this one quantises
        target.write_bytes(first)
        real(source, written)
        Path(written).write_bytes(b"this process's copy")

    monkeypatch.setattr(onnx_embedding, "_quantize", racing)
    assert onnx_embedding.exported_model(Path(representations.minilm_path()), True,
                                         fresh) == target
    assert target.read_bytes() == first
    assert sorted(p.name for p in target.parent.iterdir()) == ["model-int8.onnx", "model.onnx"]


def test_two_processes_quantising_at_once_leave_one_loadable_model(cache, tmp_path):
    fresh = tmp_path / "cache"
    shutil.copytree(cache, fresh)
    target = _key_folder(fresh) / "model-int8.onnx"
    target.unlink()
    script = ("import sys; from steps.sequential_topics import representations as r, "
              "onnx_embedding as o; from pathlib import Path; "
              "print(o.exported_model(Path(r.minilm_path()), True, Path(sys.argv[1])))")
    processes = [subprocess.Popen([sys.executable, "-c", script, str(fresh)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert {out.strip() for out, _ in outputs} == {str(target)}
    assert sorted(p.name for p in target.parent.iterdir()) == ["model-int8.onnx", "model.onnx"]
    onnx.checker.check_model(str(target))
    onnx_embedding.load(representations.minilm_path(), quantized=True, cache=fresh)


@pytest.mark.parametrize("change, message", [
    (lambda d: (d / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": 384, "pooling_mode_cls_token": True})),
     r"^the ONNX embedding backends pool by the mean of the tokens; .* pools by "
     r"\['pooling_mode_cls_token'\]: use backend torch$"),
    (lambda d: (d / "modules.json").unlink(),
     r"^.* is not a sentence-transformers model folder \(no modules.json\): pass the bundled "
     r"MiniLM's$"),
])
def test_a_model_this_backend_cannot_run_is_refused_in_one_line(tmp_path, change, message):
    folder = shutil.copytree(representations.minilm_path(), tmp_path / "model",
                             ignore=shutil.ignore_patterns("*.safetensors"))
    change(folder)
    with pytest.raises(InvalidData, match=message):
        onnx_embedding.read_config(folder)


def test_the_bundled_model_config_is_read_not_assumed():
    config = onnx_embedding.read_config(Path(representations.minilm_path()))
    assert config == onnx_embedding.SentenceConfig(max_seq_length=256, do_lower_case=False,
                                                   normalize=True, dimensions=384)
