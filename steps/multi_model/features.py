"""A segment's features and its scikit-learn preprocessing model.

A feature is numeric when pandas reads its training column as numbers (booleans excluded),
categorical otherwise. The preprocessor is a ColumnTransformer: StandardScaler for numerics
(missing values stay missing; XGBoost handles them) and a one-hot encoder for categoricals.
Categorical values must be ones seen in training: `coerce` names the feature, the row and the
allowed values instead of letting an unknown category silently become all zeros.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from steps.common.errors import InvalidData

NUMERIC = "numeric"
CATEGORICAL = "categorical"
_SHOWN = 12  # names or values quoted in a message before "..."


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str
    categories: tuple[str, ...] = ()

    def to_json(self) -> dict:
        out: dict = {"name": self.name, "kind": self.kind}
        if self.kind == CATEGORICAL:
            out["categories"] = list(self.categories)
        return out

    @classmethod
    def from_json(cls, document: dict) -> Feature:
        return cls(document["name"], document["kind"], tuple(document.get("categories", ())))


def _listed(values: list | tuple) -> str:
    shown = ", ".join(map(str, values[:_SHOWN]))
    return shown + (", ..." if len(values) > _SHOWN else "")


def infer_kinds(frame: pd.DataFrame) -> dict[str, str]:
    """{column: numeric|categorical} from a training table's column types."""
    return {str(c): NUMERIC if pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c]) else CATEGORICAL
            for c in frame.columns}


def build_preprocessor(kinds: dict[str, str]) -> ColumnTransformer:
    """The unfitted ColumnTransformer for features of the given kinds (in that order)."""
    numeric = [n for n, k in kinds.items() if k == NUMERIC]
    categorical = [n for n, k in kinds.items() if k == CATEGORICAL]
    return ColumnTransformer(
        [("numeric", StandardScaler(), numeric),
         ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False,
                                       dtype=np.float64), categorical)],
        remainder="drop", verbose_feature_names_out=True)


def fit_preprocessor(features: pd.DataFrame) -> tuple[ColumnTransformer, list[Feature]]:
    """Fit on training features only; returns the transformer and the feature list."""
    kinds = infer_kinds(features)
    frame = coerce_training(features, kinds)
    preprocessor = build_preprocessor(kinds).fit(frame)
    return preprocessor, features_of(preprocessor, kinds)


def features_of(preprocessor: ColumnTransformer, kinds: dict[str, str]) -> list[Feature]:
    """The features in input order, categoricals with the categories the encoder learnt."""
    encoder = preprocessor.named_transformers_["categorical"]
    categorical = [n for n, k in kinds.items() if k == CATEGORICAL]
    learnt = dict(zip(categorical, getattr(encoder, "categories_", []), strict=False))
    return [Feature(name, kind, tuple(str(v) for v in learnt.get(name, ())))
            for name, kind in kinds.items()]


def coerce_training(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Training columns as the preprocessor sees them: floats, or strings (missing ones
    refused: a category must be a value)."""
    out = {}
    for name, kind in kinds.items():
        if kind == NUMERIC:
            out[name] = frame[name].to_numpy(dtype=float)
            continue
        column = frame[name]
        if column.isna().any():
            row = int(np.flatnonzero(column.isna().to_numpy())[0]) + 1
            raise InvalidData(f"categorical feature {name!r} is empty in row {row} of the "
                              f"training data; fill it (e.g. 'unknown') or drop the row")
        out[name] = column.astype(str).to_numpy(dtype=object)
    return pd.DataFrame(out, index=range(len(frame)))


def _numeric(column: pd.Series, name: str, source: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=float)
    values = column.astype(object)
    parsed = pd.to_numeric(values.map(lambda v: v.strip() if isinstance(v, str) else v),
                           errors="coerce")
    blank = values.map(lambda v: v is None or (isinstance(v, float) and np.isnan(v))
                       or (isinstance(v, str) and not v.strip()))
    bad = (parsed.isna() & ~blank) | values.map(lambda v: isinstance(v, bool))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InvalidData(f"{source}: feature {name!r} is numeric but row {row + 1} has "
                          f"{values.iloc[row]!r}; send a number (or nothing, for missing)")
    return parsed.to_numpy(dtype=float)


def _categorical(column: pd.Series, feature: Feature, source: str) -> np.ndarray:
    values = column.astype(object).to_numpy()
    text = np.array(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                     for v in values], dtype=object)
    allowed = set(feature.categories)
    for row, value in enumerate(text, start=1):
        if value not in allowed:
            shown = "missing" if value == "" else f"{value!r}"
            raise InvalidData(f"{source}: categorical feature {feature.name!r} is {shown} in "
                              f"row {row}; send one of {_listed(list(feature.categories))}")
    return text


def coerce(frame: pd.DataFrame, features: list[Feature], source: str) -> pd.DataFrame:
    """The model's features from `frame`, in order and kind; InvalidData names the first
    absent column, non-numeric value or unknown category. Other columns are not read."""
    absent = [f.name for f in features if f.name not in frame.columns]
    if absent:
        raise InvalidData(f"{source} lacks feature(s) {absent}; the model's features are "
                          f"{_listed([f.name for f in features])}")
    columns = {f.name: _numeric(frame[f.name], f.name, source) if f.kind == NUMERIC
               else _categorical(frame[f.name], f, source) for f in features}
    return pd.DataFrame(columns, index=range(len(frame)))


def feature_names_out(preprocessor: ColumnTransformer) -> list[str]:
    """The transformed columns' names ('numeric__square_feet', 'categorical__deck_yes')."""
    return [str(n) for n in preprocessor.get_feature_names_out()]


def csv_dtypes(features: list[Feature]) -> dict[str, type]:
    """read_csv dtypes that keep categorical values as written ('01' stays '01')."""
    return {f.name: str for f in features if f.kind == CATEGORICAL}
