"""Feature kinds and the one encoding of features that training, evaluation and serving share.

A feature is numeric when pandas reads its training column as numbers (booleans excluded),
categorical otherwise. Categorical values are strings with missing ones as MISSING_CATEGORY,
so CatBoost (native categoricals) and the one-hot encoder see the same categories.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from steps.common.errors import InvalidData
from steps.common.numbers import numeric_column, shown

NUMERIC = "numeric"
CATEGORICAL = "categorical"
MISSING_CATEGORY = "<missing>"
# pandas.read_csv's default missing-value markers: serving reads a field as training read it.
MISSING_TOKENS = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                            "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None",
                            "n/a", "nan", "null"})


@dataclass(frozen=True)
class FeatureSpec:
    """The model's input columns in order, each with its kind."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]

    @property
    def numeric(self) -> list[str]:
        return [n for n, k in zip(self.names, self.kinds, strict=True) if k == NUMERIC]

    @property
    def categorical(self) -> list[str]:
        return [n for n, k in zip(self.names, self.kinds, strict=True) if k == CATEGORICAL]

    def to_json(self) -> list[dict[str, str]]:
        return [{"name": n, "kind": k} for n, k in zip(self.names, self.kinds, strict=True)]

    @classmethod
    def from_json(cls, features: list[dict[str, str]]) -> FeatureSpec:
        return cls(tuple(f["name"] for f in features), tuple(f["kind"] for f in features))

    def csv_dtypes(self) -> dict[str, type]:
        """read_csv dtypes that keep categorical values as written ('01' stays '01')."""
        return {name: str for name in self.categorical}


def infer_spec(frame: pd.DataFrame) -> FeatureSpec:
    """Kinds from the training table's column types."""
    kinds = tuple(
        NUMERIC if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(
            frame[c]) else CATEGORICAL
        for c in frame.columns)
    return FeatureSpec(tuple(str(c) for c in frame.columns), kinds)


def _numeric_column(column: pd.Series, name: str, source: str) -> np.ndarray:
    numbers, bad_row = numeric_column(column, MISSING_TOKENS)
    if bad_row is not None:
        raise InvalidData(
            f"{source}: feature {name!r} is numeric but row {bad_row + 1} has "
            f"{shown(column.iloc[bad_row])}; send a finite number or leave the field empty for "
            "a missing value")
    return numbers


def _categorical_column(column: pd.Series) -> np.ndarray:
    values = column.astype(object).to_numpy()
    missing = pd.isna(values) | np.array([isinstance(v, str) and v in MISSING_TOKENS
                                          for v in values], dtype=bool)
    out = np.array([str(v) for v in values], dtype=object)
    out[missing] = MISSING_CATEGORY
    return out


def coerce(frame: pd.DataFrame, spec: FeatureSpec, source: str) -> pd.DataFrame:
    """The features of `frame` in the model's order and kinds; raise InvalidData naming the
    first missing column or non-numeric value. `source` names the input in messages."""
    absent = [n for n in spec.names if n not in frame.columns]
    if absent:
        raise InvalidData(f"{source} lacks feature column(s) {absent}; expected "
                          f"{list(spec.names)}")
    columns = {}
    for name, kind in zip(spec.names, spec.kinds, strict=True):
        columns[name] = (_numeric_column(frame[name], name, source) if kind == NUMERIC
                         else _categorical_column(frame[name]))
    return pd.DataFrame(columns, index=range(len(frame)))


def split_target(table: pd.DataFrame, target: str,
                 source: str) -> tuple[pd.DataFrame, pd.Series]:
    """Features and target of a split; the target column must be there, and a feature."""
    if target not in table.columns:
        raise InvalidData(f"{source} has no target column {target!r}; columns found: "
                          f"{', '.join(map(str, table.columns))}")
    features = table.drop(columns=[target])
    if features.shape[1] == 0:
        raise InvalidData(f"{source} has only the target column {target!r}: no features")
    return features, table[target]
