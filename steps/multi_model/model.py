"""One segment's model as it lives in the model directory: the fitted preprocessor and the
XGBoost booster, saved together so serving applies exactly the transform training used.

    preprocessor.joblib   the ColumnTransformer fitted by the preprocess job (bytes copied)
    xgboost-model.json    the booster, cut at its best iteration
    metadata.json         segment, target, features, metrics, hyperparameters, versions
    serving.json          {"handler": "steps.multi_model.inference"} for steps.serve
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.compose import ColumnTransformer

from steps.common.errors import InvalidData
from steps.common.files import write_json_atomic
from steps.multi_model import contract
from steps.multi_model.features import (
    CompiledPreprocessor,
    Feature,
    coerce,
    compile_preprocessor,
    feature_names_out,
)


@dataclass
class SegmentModel:
    """A loaded segment model; `predict` takes raw feature columns, `predict_rows` a parsed
    request's rows (the serving path: no pandas or scikit-learn per call)."""

    preprocessor: ColumnTransformer
    booster: xgb.Booster
    features: list[Feature]
    metadata: dict[str, Any]
    compiled: CompiledPreprocessor

    @property
    def segment(self) -> str:
        return self.metadata["segment"]

    def matrix(self, x: pd.DataFrame) -> xgb.DMatrix:
        """Coerced features -> the preprocessor's output as a named DMatrix."""
        return to_dmatrix(self.preprocessor, x)

    def predict(self, frame: pd.DataFrame, source: str = "request") -> np.ndarray:
        """Check and coerce `frame`'s features (InvalidData), transform, predict."""
        x = coerce(frame, self.features, source)
        return self.booster.predict(self.matrix(x))

    def predict_rows(self, names: list[str], rows: Sequence[Sequence[Any]],
                     source: str = "request") -> np.ndarray:
        """`predict` for rows of cells under column `names`, with the same checks, messages
        and predictions; only a row `coerce` must check (or refuse) takes the pandas path."""
        coerced = self.compiled.read(names, rows)
        if coerced is None:
            return self.predict(pd.DataFrame(rows, columns=names, dtype=object), source)
        return self.booster.inplace_predict(self.compiled.transform(coerced))


def to_dmatrix(preprocessor: ColumnTransformer, x: pd.DataFrame,
               label: np.ndarray | None = None) -> xgb.DMatrix:
    values = preprocessor.transform(x)
    return xgb.DMatrix(np.asarray(values, dtype=np.float32), label=label,
                       feature_names=feature_names_out(preprocessor), missing=np.nan)


def load_preprocessor(path: Path) -> ColumnTransformer:
    """The preprocess job's joblib file (ours: only load model files you trust)."""
    if not path.is_file():
        raise InvalidData(f"{path} does not exist: the segment folder must hold the "
                          f"{contract.PREPROCESSOR_FILE} written by the preprocess job")
    preprocessor = joblib.load(path)
    if not isinstance(preprocessor, ColumnTransformer):
        raise InvalidData(f"{path} holds a {type(preprocessor).__name__}, not the "
                          f"ColumnTransformer the preprocess job writes")
    return preprocessor


def save(model_dir: Path, preprocessor_file: Path, booster: xgb.Booster,
         metadata: dict[str, Any]) -> list[str]:
    """Write the four files (each atomically); returns their names."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    temporary = model_dir / f".{contract.PREPROCESSOR_FILE}.tmp"
    shutil.copyfile(preprocessor_file, temporary)
    temporary.replace(model_dir / contract.PREPROCESSOR_FILE)
    temporary = model_dir / f".{contract.MODEL_FILE}.tmp.json"
    booster.save_model(str(temporary))
    temporary.replace(model_dir / contract.MODEL_FILE)
    files = [contract.PREPROCESSOR_FILE, contract.MODEL_FILE, contract.MODEL_METADATA,
             contract.HANDLER_FILE]
    write_json_atomic(model_dir / contract.MODEL_METADATA, {**metadata, "files": files})
    write_json_atomic(model_dir / contract.HANDLER_FILE, {"handler": contract.INFERENCE_HANDLER})
    return files


def load(model_dir: str | Path) -> SegmentModel:
    """The model saved in `model_dir` (an extracted model.tar.gz)."""
    model_dir = Path(model_dir)
    metadata_path = model_dir / contract.MODEL_METADATA
    missing = [name for name in (contract.MODEL_METADATA, contract.MODEL_FILE,
                                 contract.PREPROCESSOR_FILE) if not (model_dir / name).is_file()]
    if missing:
        raise InvalidData(f"{model_dir} lacks {', '.join(missing)}: pass the directory of an "
                          f"extracted model.tar.gz written by steps/multi_model/train.py")
    metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    booster = xgb.Booster()
    booster.load_model(str(model_dir / contract.MODEL_FILE))
    preprocessor = load_preprocessor(model_dir / contract.PREPROCESSOR_FILE)
    names = feature_names_out(preprocessor)
    if booster.feature_names is not None and list(booster.feature_names) != names:
        raise InvalidData(f"{model_dir}: the booster was trained on columns "
                          f"{booster.feature_names} but the preprocessor makes {names}: the "
                          f"files come from different training jobs; retrain the segment")
    features = [Feature.from_json(f) for f in metadata["features"]]
    return SegmentModel(preprocessor, booster, features, metadata,
                        compile_preprocessor(preprocessor, features))
