"""MiniLM on ONNX Runtime (`onnx`, `onnx-int8`): exported once from the bundled model, cached.

sentence-transformers' own ONNX backend needs optimum, which requires transformers < 5, so the
transformer is exported here with torch's exporter from the local model folder (nothing is
downloaded) and, for `onnx-int8`, quantised with ONNX Runtime's dynamic int8 quantisation (int8
weights per output channel, activations scaled per input: no calibration data; each document
runs alone, so its vector does not depend on the documents beside it). The files are
cached under a content-addressed name (the model folder's files and the exporter's versions), so
a new model or a new exporter gets a new file and a stale one is never read; each is written
all or nothing (`steps.common.atomic.write_if_absent`), so a failed or concurrent export leaves
no half-written model. Tokenisation, truncation, pooling and normalisation follow the model
folder's own sentence-transformers configuration, read, not assumed.

Measured on the cleaned BBC sample (2,148 documents; bench/sequential_topics_bench.py
--embedding-backends torch-int8,onnx,onnx-int8 --nmi-backends onnx-int8, 2 shared cores, one
thread each; each document run alone): float32 torch 35.4 documents/s, onnx 74.3 (2.10x,
cosine to float32 1.0000), onnx-int8 155.4 (4.38x, mean cosine 0.9945, min 0.9873), torch-int8
77.7 (2.19x, 0.9909); layer-1 NMI onnx-int8 0.673 ± 0.011 against float32's 0.680 ± 0.016 (3
seeds): within the issue's rule (cosine >= 0.99, NMI drop <= 0.01) and at its 0.673 target.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from steps.common.atomic import write_if_absent
from steps.common.errors import InvalidData

logger = logging.getLogger(__name__)

CACHE_ENV = "TOPIC_ONNX_CACHE"  # where exported models are kept (the image sets it)
DEFAULT_CACHE = Path.home() / ".cache" / "ensemble-model-build" / "onnx"
OPSET = 17
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"
# Bump when the export or quantisation recipe changes: the cache key includes it.
_RECIPE = "bert-last-hidden-state/opset17/int8-dynamic-per-channel/v1"


@dataclass(frozen=True)
class SentenceConfig:
    """How the sentence-transformers folder turns token vectors into one document vector."""
    max_seq_length: int
    do_lower_case: bool
    normalize: bool
    dimensions: int


def read_config(model_path: Path) -> SentenceConfig:
    """The folder's modules, truncation and pooling; refuses what this backend cannot run."""
    model_path = Path(model_path)
    try:
        modules = json.loads((model_path / "modules.json").read_text(encoding="utf-8"))
        sentence = json.loads((model_path / "sentence_bert_config.json").read_text(
            encoding="utf-8"))
    except FileNotFoundError as error:
        raise InvalidData(f"{model_path} is not a sentence-transformers model folder (no "
                          f"{Path(error.filename).name}): pass the bundled MiniLM's") from None
    types = [module["type"] for module in modules]
    if types not in ([_TRANSFORMER, _POOLING], [_TRANSFORMER, _POOLING, _NORMALIZE]):
        raise InvalidData(f"the ONNX embedding backends run Transformer -> Pooling "
                          f"[-> Normalize] models; {model_path} has {types}: use backend torch")
    pooling_dir = model_path / next(m["path"] for m in modules if m["type"] == _POOLING)
    pooling = json.loads((pooling_dir / "config.json").read_text(encoding="utf-8"))
    modes = sorted(key for key, on in pooling.items() if key.startswith("pooling_mode") and on)
    if modes != ["pooling_mode_mean_tokens"]:
        raise InvalidData(f"the ONNX embedding backends pool by the mean of the tokens; "
                          f"{model_path} pools by {modes}: use backend torch")
    return SentenceConfig(max_seq_length=int(sentence["max_seq_length"]),
                          do_lower_case=bool(sentence.get("do_lower_case", False)),
                          normalize=_NORMALIZE in types,
                          dimensions=int(pooling["word_embedding_dimension"]))


def cache_key(model_path: Path) -> str:
    """SHA-256 of the model folder's files (names and bytes), the recipe and the exporter's and
    quantiser's versions: the same key means the same exported bytes can be reused."""
    digest = hashlib.sha256(_RECIPE.encode())
    for package in ("torch", "onnx", "onnxruntime"):
        digest.update(f"{package}=={metadata.version(package)}\n".encode())
    root = Path(model_path)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def exported_model(model_path: Path, quantized: bool, cache: Path | None = None) -> Path:
    """The cached ONNX file of the model folder's transformer (int8 if `quantized`), exported
    and quantised now if the cache does not hold it yet."""
    folder = (cache or cache_dir()) / cache_key(model_path)
    target = folder / ("model-int8.onnx" if quantized else "model.onnx")
    if target.is_file():
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidData(f"cannot write the ONNX model cache {folder.parent} "
                          f"({error.strerror}): set {CACHE_ENV} to a writable folder") from None
    with tempfile.TemporaryDirectory(prefix=".tmp-export-", dir=folder) as work:
        written = Path(work) / target.name
        if quantized:  # from a private copy: the quantiser writes beside its input
            source = shutil.copyfile(exported_model(model_path, False, cache),
                                     Path(work) / "model.onnx")
            _quantize(source, written)
        else:
            _export(Path(model_path), written)
        if write_if_absent(target, written.read_bytes()):
            logger.info("exported %s to %s", model_path, target)
    return target


def _export(model_path: Path, target: Path) -> None:
    """The transformer's last hidden state as an ONNX graph with dynamic batch and length."""
    import warnings

    import torch
    from transformers import AutoModel

    class _LastHiddenState(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN202
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    bert = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()
    example = tuple(torch.ones((1, 8), dtype=torch.int64) for _ in _INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its successor
        torch.onnx.export(_LastHiddenState(bert), example, str(target), input_names=list(_INPUTS),
                          output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(source, target, weight_type=QuantType.QInt8, per_channel=True)


class OnnxMiniLM:
    """The sentence-transformers model's encode() on an ONNX Runtime session."""

    def __init__(self, session: Any, tokenizer: Any, config: SentenceConfig) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.config = config

    def get_embedding_dimension(self) -> int:
        return self.config.dimensions

    def encode(self, sentences: Sequence[str], batch_size: int = 32,
               show_progress_bar: bool = False, normalize_embeddings: bool = False
               ) -> np.ndarray:
        """Float32 vectors in `sentences`' order, each document run alone: dynamic int8
        quantisation scales activations over the whole input, so in a batch a document's
        vector depends on its neighbours (cosine down to 0.976 on BBC articles) and training
        would not embed as serving does; alone it is also faster on CPU (no padding: 300 BBC
        articles 2.7 s against 4.8 s in batches of 64). `batch_size` and `show_progress_bar`
        are accepted for SentenceTransformer.encode's callers."""
        texts = [str(text).strip() for text in sentences]
        if self.config.do_lower_case:
            texts = [text.lower() for text in texts]
        vectors = np.zeros((len(texts), self.config.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            vectors[row] = self._embed_batch([text])[0]
        if self.config.normalize or normalize_embeddings:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors /= np.maximum(norms, 1e-12)
        return vectors

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        feeds = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                 "attention_mask": np.array([e.attention_mask for e in encodings],
                                            dtype=np.int64),
                 "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        hidden = self.session.run(None, feeds)[0]
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        return (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)


def load(model_path: str | Path, quantized: bool, threads: int = 1,
         cache: Path | None = None) -> OnnxMiniLM:
    """The model folder's MiniLM on ONNX Runtime, with `threads` threads (0: ONNX Runtime's
    default, one per physical core)."""
    import onnxruntime
    from tokenizers import Tokenizer

    model_path = Path(model_path)
    config = read_config(model_path)
    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=config.max_seq_length)
    padding = tokenizer.padding or {"pad_id": 0, "pad_token": "[PAD]"}  # the file's pad token
    tokenizer.enable_padding(pad_id=padding["pad_id"], pad_token=padding["pad_token"])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(exported_model(model_path, quantized, cache)),
                                           options, providers=["CPUExecutionProvider"])
    return OnnxMiniLM(session, tokenizer, config)
