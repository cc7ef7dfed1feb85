"""The fitted encoder (`learners.make_encoder`) as plain numpy arrays, for serving.

`ColumnTransformer.transform` spends about 2 ms on one row validating its input, dispatching
through joblib and building DataFrames; the arithmetic is a few array operations. This module
reads the fitted parameters once and repeats that arithmetic in the same order, dtype (float64)
and memory layout, so its output and the learners' predictions from it equal the scikit-learn
path's bit for bit (the tests compare them on generated rows): median imputation with missing
indicators, a StandardScaler view and a standardised Yeo-Johnson view of the numbers, then
one-hot columns for categoricals (infrequent categories share a column; an unseen one takes
that column, or none when there is none).

It relies on two attributes scikit-learn does not document (`PowerTransformer._scaler`, the
standardisation after the power transform; the one-hot layout of infrequent categories), both
present since scikit-learn 1.1; the lock pins the version and the tests pin the output.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import OneHotEncoder, PowerTransformer, StandardScaler

from steps.common.errors import InvalidData
from steps.stacked_ensemble.features import MISSING_CATEGORY

_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True, eq=False)
class Standardise:
    """A fitted StandardScaler's transform: subtract, then divide, in place."""

    mean: np.ndarray | None
    scale: np.ndarray | None

    @classmethod
    def of(cls, scaler: StandardScaler) -> Standardise:
        return cls(scaler.mean_ if scaler.with_mean else None,
                   scaler.scale_ if scaler.with_std else None)

    def apply(self, x: np.ndarray) -> np.ndarray:
        if self.mean is not None:
            x -= self.mean
        if self.scale is not None:
            x /= self.scale
        return x


def yeo_johnson(x: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """scipy.stats.yeojohnson(x[:, i], lambdas[i]) for every column at once: the same
    expressions on the same elements (each ufunc gives an element the same result wherever
    it sits in an array)."""
    out = np.zeros_like(x)
    lam = np.broadcast_to(lambdas, x.shape)
    positive = x >= 0
    log_columns = np.abs(lambdas) < _EPS          # lambda 0: log1p(x)
    two_columns = ~(np.abs(lambdas - 2) > _EPS)   # lambda 2: -log1p(-x)
    rows = positive & ~log_columns
    power = lam[rows]
    out[rows] = np.expm1(power * np.log1p(x[rows])) / power
    rows = positive & log_columns
    out[rows] = np.log1p(x[rows])
    rows = ~positive & ~two_columns
    power = 2 - lam[rows]
    out[rows] = -np.expm1(power * np.log1p(-x[rows])) / power
    rows = ~positive & two_columns
    out[rows] = -np.log1p(-x[rows])
    return out


@dataclass(frozen=True, eq=False)
class NumericViews:
    """The numeric pipeline: impute (with indicators), then [standardised, Yeo-Johnson]."""

    statistics: np.ndarray
    indicated: np.ndarray        # positions of the numbers with a missing indicator
    scale: Standardise
    lambdas: np.ndarray
    power_scale: Standardise | None

    def transform(self, numbers: np.ndarray) -> np.ndarray:
        missing = np.isnan(numbers)
        imputed = np.where(missing, self.statistics, numbers)
        block = np.hstack([imputed, missing[:, self.indicated]])
        scaled = self.scale.apply(block.copy())
        power = yeo_johnson(block, self.lambdas)
        if self.power_scale is not None:
            power = self.power_scale.apply(power)
        return np.hstack([scaled, power])


@dataclass(frozen=True, eq=False)
class OneHot:
    """Per categorical feature: category -> output column, and the column of the infrequent
    categories (where unseen ones go) or None."""

    columns: tuple[dict[str, int], ...]
    unknown: tuple[int | None, ...]
    width: int

    def transform(self, categories: np.ndarray) -> np.ndarray:
        out = np.zeros((len(categories), self.width))
        for feature, (columns, unknown) in enumerate(zip(self.columns, self.unknown,
                                                         strict=True)):
            for row, value in enumerate(categories[:, feature]):
                column = columns.get(value, unknown)
                if column is not None:
                    out[row, column] = 1.0
        return out


@dataclass(frozen=True, eq=False)
class CompiledEncoder:
    """`encoder.transform(x)` for a coerced batch given as arrays: `numbers` (rows x
    spec.numbers, float64, NaN missing) and `categories` (rows x spec.categorical, strings)."""

    width: int
    numeric: NumericViews | None
    numeric_out: slice
    one_hot: OneHot | None
    categorical_out: slice

    order: str = "C"  # the memory layout of the scikit-learn transform's output

    def transform(self, numbers: np.ndarray, categories: np.ndarray) -> np.ndarray:
        out = np.empty((len(numbers), self.width), order=self.order)
        if self.numeric is not None:
            out[:, self.numeric_out] = self.numeric.transform(numbers)
        if self.one_hot is not None:
            out[:, self.categorical_out] = self.one_hot.transform(categories)
        return out


def _unsupported(part: object) -> InvalidData:
    return InvalidData(f"the model's encoder holds a {type(part).__name__} where "
                       "learners.make_encoder puts another step: the model comes from another "
                       "version of the training job; retrain it")


def _numeric(pipeline: Pipeline) -> NumericViews:
    impute, views = pipeline.named_steps.get("impute"), pipeline.named_steps.get("views")
    if not isinstance(impute, SimpleImputer) or not isinstance(views, FeatureUnion):
        raise _unsupported(pipeline)
    parts = dict(views.transformer_list)
    scale, power = parts.get("scale"), parts.get("power")
    if not isinstance(scale, StandardScaler) or not isinstance(power, PowerTransformer) \
            or power.method != "yeo-johnson" or list(parts) != ["scale", "power"]:
        raise _unsupported(views)
    indicated = (impute.indicator_.features_ if impute.add_indicator
                 else np.zeros(0, dtype=int))
    return NumericViews(np.asarray(impute.statistics_, dtype=np.float64),
                        np.asarray(indicated, dtype=int), Standardise.of(scale),
                        np.asarray(power.lambdas_, dtype=np.float64),
                        Standardise.of(power._scaler) if power.standardize else None)


def _one_hot(encoder: OneHotEncoder, start: int) -> OneHot:
    if encoder.drop is not None or encoder.handle_unknown != "infrequent_if_exist":
        raise _unsupported(encoder)
    infrequent = getattr(encoder, "infrequent_categories_", [None] * len(encoder.categories_))
    columns, unknown = [], []
    for categories, rare in zip(encoder.categories_, infrequent, strict=True):
        rare_set = set() if rare is None else {str(c) for c in rare}
        frequent = [str(c) for c in categories if str(c) not in rare_set]
        mapping = {c: start + i for i, c in enumerate(frequent)}
        start += len(frequent)
        rare_column = None
        if rare_set:
            rare_column = start
            mapping.update(dict.fromkeys(rare_set, rare_column))
            start += 1
        columns.append(mapping)
        unknown.append(rare_column)
    return OneHot(tuple(columns), tuple(unknown), start)


def _output_order(encoder: ColumnTransformer) -> str:
    """"F" or "C": the layout of `encoder.transform`'s output, seen on two rows of missing
    values. numpy's hstack keeps column-major when every part is (numbers alone), else it is
    row-major; the learners' BLAS sums a row's products in an order that depends on the layout,
    so the same values in the other layout can predict differently in the last bit (seen on a
    date feature's large values through the linear learner)."""
    probe = {column: ([np.nan] * 2 if name == "numeric" else [MISSING_CATEGORY] * 2)
             for name, _, columns in encoder.transformers_ if name != "remainder"
             for column in columns}
    output = encoder.transform(pd.DataFrame(probe, columns=list(encoder.feature_names_in_)))
    return "F" if output.flags.f_contiguous and not output.flags.c_contiguous else "C"


def compile_encoder(encoder: ColumnTransformer) -> CompiledEncoder:
    """The fitted `make_encoder` transformer's arithmetic and output layout; InvalidData for
    another layout of steps."""
    numeric, numeric_out = None, slice(0, 0)
    one_hot, categorical_out = None, slice(0, 0)
    width = 0
    for name, part, _ in encoder.transformers_:
        out = encoder.output_indices_[name]
        width = max(width, out.stop)
        if out.stop == out.start:
            continue
        if name == "numeric" and isinstance(part, Pipeline):
            numeric, numeric_out = _numeric(part), out
        elif name == "categorical" and isinstance(part, OneHotEncoder):
            one_hot, categorical_out = _one_hot(part, 0), out
        else:
            raise _unsupported(part)
    if one_hot is not None and one_hot.width != categorical_out.stop - categorical_out.start:
        raise _unsupported(encoder.named_transformers_["categorical"])
    return CompiledEncoder(width, numeric, numeric_out, one_hot, categorical_out,
                           _output_order(encoder))
