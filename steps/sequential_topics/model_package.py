"""The registered model directory: all layers, the final mapping and what inference needs.

Layout (what `inference.model_fn` loads; `model.tar.gz` holds it at its root):

    serving.json                   {"handler": "steps.sequential_topics.inference"}
    model.json                     format, layers, each layer's representation, the
                                   preprocessing settings (text columns, patterns, labels)
    mapping.json                   the final MappingDocument (labels and actions)
    representations/lsa.joblib     the shared LSA model (+ representations.json)
    layer-1/ ... layer-n/          each layer's layer.json, models/*.pkl, topic_summary.json
    assignments.csv                the training documents' topic per layer

`assemble_model_dir` builds it from layer model directories (or their model.tar.gz; a later
layer's model already holds the earlier layers), the final mapping, preprocess's
preprocessing.json and embed's LSA output.
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from steps.common.atomic import write_bytes_atomic
from steps.common.errors import InvalidData
from steps.common.files import write_json_atomic
from steps.sequential_topics import contract, layer_store
from steps.sequential_topics.mapping_schema import dump_document
from steps.sequential_topics.text_cleaning import CleaningSettings

MODEL_FORMAT = 1
SERVING_FILE = "serving.json"  # steps.serve.handler.HANDLER_FILE


def _read_settings(path: Path) -> CleaningSettings:
    import json

    path = Path(path)
    if path.is_dir():
        path = path / contract.PREPROCESSING_CONFIG
    try:
        return CleaningSettings.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        raise InvalidData(f"cannot read the preprocessing settings {path}: {error}") from None


def assemble_model_dir(layer_dirs: Sequence[Path], mapping_path: Path, out_dir: Path,
                       preprocessing_path: Path, representations_dir: Path | None) -> Path:
    """Write the served model directory to `out_dir` (emptied first) and return it."""
    if not layer_dirs:
        raise InvalidData("no layer model given: pass at least the last layer's model")
    mapping = layer_store.read_mapping(Path(mapping_path))
    settings = _read_settings(Path(preprocessing_path))
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="layer-models-") as work:
        opened = [layer_store.open_model(Path(d), Path(work) / str(n))
                  for n, d in enumerate(layer_dirs)]
        deepest = max(opened, key=lambda d: len(layer_store.layers_in(d)))
        for model_dir in opened:
            layer_store.copy_layers(model_dir, out_dir, layer_store.layers_in(model_dir))
        shutil.copy2(deepest / contract.ASSIGNMENTS_FILE, out_dir / contract.ASSIGNMENTS_FILE)
    layers = layer_store.layers_in(out_dir)
    _check_mapping(out_dir, mapping, layers)
    used = {layer: layer_store.read_layer_info(out_dir, layer)["representation"]
            for layer in layers}
    if any(r != contract.MINILM for r in used.values()):
        if representations_dir is None or not (
                Path(representations_dir) / contract.LSA_MODEL_FILE).is_file():
            raise InvalidData(f"layers use {sorted(set(used.values()))}, which need the LSA "
                              f"model: pass embed's LSA output (with {contract.LSA_MODEL_FILE})")
    if representations_dir is not None and Path(representations_dir).is_dir():
        shutil.copytree(representations_dir, out_dir / contract.REPRESENTATIONS_DIR)
    write_bytes_atomic(out_dir / contract.MAPPING_FILE, dump_document(mapping))
    write_json_atomic(out_dir / contract.MODEL_FILE, {
        "format": MODEL_FORMAT, "layers": layers,
        "representations": {str(k): v for k, v in used.items()},
        "preprocessing": settings.to_json()})
    write_json_atomic(out_dir / SERVING_FILE, {"handler": contract.HANDLER_MODULE})
    return out_dir


def _check_mapping(model_dir: Path, mapping, layers: list[int]) -> None:
    if mapping.layer > max(layers):
        raise InvalidData(f"the mapping covers layer {mapping.layer} but the models stop at "
                          f"layer {max(layers)}: pass every layer's model")
    known = {f"{layer}:{t.topic}" for layer in layers
             for t in layer_store.read_summary(model_dir, layer).topics}
    stray = sorted(t.id for t in mapping.topics if t.id not in known)
    if stray:
        raise InvalidData(f"the mapping names topics {stray[:5]} that the layer models do not "
                          "have: pass the mapping produced from these models")


def write_model_archive(model_dir: Path, archive: Path) -> Path:
    """model.tar.gz with the directory's content at the archive root."""
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(Path(model_dir).rglob("*")):
            tar.add(path, arcname=str(path.relative_to(model_dir)), recursive=False)
    write_bytes_atomic(Path(archive), buffer.getvalue())
    return Path(archive)
