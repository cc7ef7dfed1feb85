"""The trained ensemble as it lives in the model directory: save once, load for serving and
evaluation, predict with every learner and every combiner in one call."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steps.common.errors import InvalidData
from steps.common.files import write_json_atomic
from steps.stacked_ensemble import combiners, contract
from steps.stacked_ensemble.features import FeatureSpec
from steps.stacked_ensemble.learners import FittedLearners
from steps.stacked_ensemble.out_of_fold import TrainedEnsemble
from steps.stacked_ensemble.task import Task

# The serve module picks a model's handler from this file (steps/serve/handler.py).
SERVING_FILE = "serving.json"
HANDLER_MODULE = "steps.stacked_ensemble.inference"


@dataclass
class Ensemble:
    spec: FeatureSpec
    task: Task
    learners: FittedLearners
    combiner_params: dict[str, dict[str, Any]]
    chosen: str
    metadata: dict[str, Any]

    def predict_all(self, x: pd.DataFrame) -> tuple[dict[str, np.ndarray],
                                                    dict[str, np.ndarray]]:
        """Predictions of every learner and every combiner for coerced features `x`."""
        learner_preds = self.learners.predict(x)
        combined = {name: combiners.apply(name, params, learner_preds, self.task)
                    for name, params in self.combiner_params.items()}
        return learner_preds, combined

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """The chosen combiner's values (regression) or class probabilities (classification)."""
        learner_preds = self.learners.predict(x)
        return combiners.apply(self.chosen, self.combiner_params[self.chosen], learner_preds,
                               self.task)


def save(model_dir: Path, trained: TrainedEnsemble, metadata: dict[str, Any]) -> None:
    """Learners, encoder, combiners, folds, metadata and the serving handler's name, each file
    written atomically."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    files = trained.learners.save(model_dir)
    write_json_atomic(model_dir / contract.COMBINER_FILE,
                      {"chosen": trained.chosen, "combiners": trained.combiner_params})
    write_json_atomic(model_dir / contract.FOLDS_FILE, {
        "k_fold": len(trained.folds),
        "rows": int(sum(len(f.oof) for f in trained.folds)),
        "folds": [{"train": f.train.tolist(), "oof": f.oof.tolist()} for f in trained.folds],
    })
    write_json_atomic(model_dir / SERVING_FILE, {"handler": HANDLER_MODULE})
    write_json_atomic(model_dir / contract.MODEL_METADATA,
                      {**metadata, "files": files, "model_format": contract.MODEL_FORMAT})


def load(model_dir: Path) -> Ensemble:
    """The ensemble saved in `model_dir` (an extracted model.tar.gz)."""
    model_dir = Path(model_dir)
    metadata_path = model_dir / contract.MODEL_METADATA
    if not metadata_path.is_file():
        raise InvalidData(f"{model_dir} holds no {contract.MODEL_METADATA}: pass the directory "
                          f"of an extracted model.tar.gz written by the training job")
    metadata = json.loads(metadata_path.read_text())
    found = metadata.get("model_format", 1)
    if found != contract.MODEL_FORMAT:
        raise InvalidData(f"{model_dir} holds a model in format {found}, written by another "
                          f"version of the training job; this code reads format "
                          f"{contract.MODEL_FORMAT}: retrain it, or serve it with the image it "
                          "was trained with")
    combiner_file = json.loads((model_dir / contract.COMBINER_FILE).read_text())
    spec = FeatureSpec.from_json(metadata["features"])
    task = Task.from_json(metadata)
    learners = FittedLearners.load(model_dir, spec, task)
    return Ensemble(spec, task, learners, combiner_file["combiners"], combiner_file["chosen"],
                    metadata)
