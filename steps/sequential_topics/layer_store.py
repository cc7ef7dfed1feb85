"""The layer model directory: how a layer's models and assignments are saved and read back.

A layer-L training job writes to SM_MODEL_DIR (so model.tar.gz holds all of it):

    layer-1/ ... layer-(L-1)/     copied from the previous layer's model (cumulative)
    layer-L/layer.json            layer, representation, settings, metrics and its models:
                                  [{"file": "models/root.pkl", "parent": null, "offset": 0,
                                    "topics": [0, 1, ...]}, ...]; a model's local topic t is
                                  the layer's topic offset + t ("L:<offset + t>")
    layer-L/models/*.pkl          BERTopic models (pickle; reducer + BIRCH + c-TF-IDF)
    layer-L/topic_summary.json    the layer's TopicSummary (also in SM_OUTPUT_DATA_DIR)
    assignments.csv               id, layer1, ..., layerL: each document's topic id per layer
                                  ('' where the layer did not re-cluster its parent topic)
"""
from __future__ import annotations

import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from steps.common.atomic import write_bytes_atomic
from steps.common.errors import InvalidData
from steps.common.files import write_csv_atomic, write_json_atomic
from steps.sequential_topics import contract
from steps.sequential_topics.mapping_schema import (
    TOPIC_SUMMARY_FILE,
    MappingDocument,
    SchemaError,
    TopicSummary,
    dump_document,
    load_document,
)

ROOT_MODEL = "root"


@dataclass(frozen=True)
class SubModel:
    """One BERTopic model of a layer; `parent` is None for layer 1's single model."""

    file: str
    parent: str | None
    offset: int
    topics: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "parent": self.parent, "offset": self.offset,
                "topics": list(self.topics)}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> SubModel:
        return cls(document["file"], document.get("parent"), int(document["offset"]),
                   tuple(int(t) for t in document["topics"]))


def layer_dir(model_dir: Path, layer: int) -> Path:
    return Path(model_dir) / contract.LAYER_DIR.format(layer=layer)


def model_file_name(parent: str | None) -> str:
    return f"models/{ROOT_MODEL if parent is None else parent.replace(':', '-')}.pkl"


def read_layer_info(model_dir: Path, layer: int) -> dict[str, Any]:
    path = layer_dir(model_dir, layer) / contract.LAYER_FILE
    if not path.is_file():
        raise InvalidData(f"{model_dir} has no layer {layer} ({path} is missing): pass the "
                          f"model of layer {layer} or a later one")
    return json.loads(path.read_text(encoding="utf-8"))


def sub_models(info: dict[str, Any]) -> list[SubModel]:
    return [SubModel.from_json(m) for m in info["models"]]


def layers_in(model_dir: Path) -> list[int]:
    """The layers a model directory holds, which must be 1..n without gaps."""
    found = sorted(int(p.name.split("-", 1)[1]) for p in Path(model_dir).glob("layer-*")
                   if (p / contract.LAYER_FILE).is_file())
    if found != list(range(1, len(found) + 1)):
        raise InvalidData(f"{model_dir} holds layers {found}; expected 1..n without gaps")
    return found


def read_summary(model_dir: Path, layer: int) -> TopicSummary:
    path = layer_dir(model_dir, layer) / TOPIC_SUMMARY_FILE
    try:
        return load_document(TopicSummary, path.read_bytes(), str(path))
    except (OSError, SchemaError) as error:
        raise InvalidData(str(error)) from None


def write_summary(path: Path, summary: TopicSummary) -> None:
    write_bytes_atomic(Path(path), dump_document(summary))


def read_assignments(model_dir: Path) -> pd.DataFrame:
    path = Path(model_dir) / contract.ASSIGNMENTS_FILE
    if not path.is_file():
        raise InvalidData(f"{model_dir} has no {contract.ASSIGNMENTS_FILE}: pass a layer model "
                          "written by train_layer.py")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def write_layer(model_dir: Path, layer: int, info: dict[str, Any], summary: TopicSummary,
                assignments: pd.DataFrame) -> None:
    folder = layer_dir(model_dir, layer)
    write_json_atomic(folder / contract.LAYER_FILE, info)
    write_summary(folder / TOPIC_SUMMARY_FILE, summary)
    write_csv_atomic(Path(model_dir) / contract.ASSIGNMENTS_FILE, assignments)


def copy_layers(source: Path, target: Path, layers: list[int]) -> None:
    for layer in layers:
        destination = layer_dir(target, layer)
        if destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(layer_dir(source, layer), destination)


def open_model(location: Path, work_dir: Path) -> Path:
    """A layer model directory: `location` itself, or the model.tar.gz in it, extracted."""
    location = Path(location)
    if location.is_dir() and (location / contract.ASSIGNMENTS_FILE).is_file():
        return location
    archives = [location] if location.is_file() else sorted(location.glob("*.tar.gz"))
    if len(archives) != 1:
        raise InvalidData(f"{location} holds neither a layer model directory nor exactly one "
                          f"model.tar.gz (found {[a.name for a in archives]})")
    target = Path(work_dir) / "model"
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archives[0], "r:*") as archive:
            archive.extractall(target, filter="data")
    except tarfile.TarError as error:
        raise InvalidData(f"{archives[0]} is not a readable tar archive: {error}") from None
    if not (target / contract.ASSIGNMENTS_FILE).is_file():
        raise InvalidData(f"{archives[0]} holds no {contract.ASSIGNMENTS_FILE}: pass the "
                          "model.tar.gz of a layer training job")
    return target


def read_mapping(location: Path) -> MappingDocument:
    """The mapping JSON at `location`: a file, or mapping.json / the only .json in a folder."""
    location = Path(location)
    if location.is_dir():
        preferred = location / contract.MAPPING_FILE
        candidates = [preferred] if preferred.is_file() else sorted(location.rglob("*.json"))
        if len(candidates) != 1:
            raise InvalidData(f"{location} must hold {contract.MAPPING_FILE} or exactly one "
                              f".json mapping (found {[c.name for c in candidates]})")
        location = candidates[0]
    try:
        return load_document(MappingDocument, location.read_bytes(), f"mapping {location}")
    except OSError as error:
        raise InvalidData(f"cannot read the mapping {location}: {error}") from None
    except SchemaError as error:
        raise InvalidData(str(error)) from None
