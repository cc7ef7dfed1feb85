"""What is predicted: the problem type and, for classification, the class labels in order."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steps.common.errors import InvalidData
from steps.stacked_ensemble import contract


def _label_key(value: Any) -> Any:
    """Labels compare by number when they are numbers ('1' == 1 == 1.0), else by text."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(value) if math.isnan(number) else number


@dataclass(frozen=True)
class Task:
    problem_type: str
    classes: tuple[Any, ...] = ()

    @property
    def is_classification(self) -> bool:
        return self.problem_type == contract.CLASSIFICATION

    @classmethod
    def from_target(cls, problem_type: str, target: pd.Series) -> Task:
        """The task for a training target; classes sorted, as plain Python values."""
        if problem_type == contract.REGRESSION:
            return cls(problem_type)
        classes = sorted(pd.unique(target.dropna()).tolist(), key=_label_key)
        classes = [c.item() if isinstance(c, np.generic) else c for c in classes]
        if len(classes) < 2:
            raise InvalidData(f"classification needs at least 2 classes in the target; found "
                              f"{classes}")
        return cls(problem_type, tuple(classes))

    def encode(self, target: pd.Series, source: str) -> np.ndarray:
        """Regression: float values. Classification: class indices; unknown labels are errors."""
        if not self.is_classification:
            values = pd.to_numeric(target, errors="coerce")
            if values.isna().any():
                position = int(np.flatnonzero(values.isna().to_numpy())[0])
                raise InvalidData(f"{source}: the regression target must be numeric; row "
                                  f"{position + 1} has {target.tolist()[position]!r}")
            return values.to_numpy(dtype=float)
        index = {_label_key(c): i for i, c in enumerate(self.classes)}
        labels = target.tolist()
        codes = [index.get(_label_key(v), -1) for v in labels]
        if -1 in codes:
            position = codes.index(-1)
            raise InvalidData(f"{source}: label {labels[position]!r} (row {position + 1}) is "
                              f"not one of the training classes {list(self.classes)}")
        return np.asarray(codes, dtype=int)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"problem_type": self.problem_type}
        if self.is_classification:
            document["classes"] = list(self.classes)
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Task:
        return cls(document["problem_type"], tuple(document.get("classes", ())))
