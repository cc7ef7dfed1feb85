"""The ensemble as the inference handler serves it: `Ensemble.predict`'s values, without the
per-call costs that are not prediction.

Per call, `Ensemble.predict` builds DataFrames for the encoder, XGBoost and CatBoost, parses
XGBoost's category list from JSON, runs scikit-learn's validation and joblib dispatch, and
starts CatBoost's two threads: about 9 ms for one row. Here:
- the encoder is compiled to numpy once (compiled_encoder: the same float64 arithmetic);
- XGBoost predicts in place on a float32 matrix holding each categorical value's code, which
  is what its DMatrix held (it stores features as float32, a pandas categorical as its codes);
- CatBoost predicts on a float32 matrix, or an object matrix when there are categoricals (it
  reads numbers as float32 and hashes category strings, whatever the container), on one thread;
- the linear model and kernel ridge run their own predict on the compiled encoder's output;
- the chosen combiner is applied as Ensemble.predict applies it.
The predictions equal the reference path's bit for bit (tests compare them on the sample data
and on generated rows). The model is warmed at load (one prediction), so the boosters' first
call costs no request anything.

Two kinds of extreme value made the reference path fail with a 500 (XGBoost or scikit-learn
refusing an infinity); here they are a 400 naming the row: a number beyond float32's range
(the boosters would read it as infinity), and a row whose encoder output overflows (a value so
far outside the training range that the Yeo-Johnson view of it is infinite).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from steps.common.errors import InvalidRequest
from steps.stacked_ensemble import combiners
from steps.stacked_ensemble.compiled_encoder import CompiledEncoder, compile_encoder
from steps.stacked_ensemble.ensemble import Ensemble
from steps.stacked_ensemble.features import CATEGORICAL
from steps.stacked_ensemble.learners import CATEGORIES_ATTRIBUTE
from steps.stacked_ensemble.request_features import FeatureArrays, FeatureReader

# One request is a few rows and the endpoint serves requests side by side: CatBoost's threads
# cost more to start than they save (a 10,000-row batch took 4.0 ms on 2 threads and 1.6 ms on
# one, measured); XGBoost is loaded with one thread too (learners.XGBOOST_THREADS), and so is
# BLAS, for the process (OpenBLAS's threads made a 10,000-row logistic regression take 20 ms
# instead of 0.3 ms on 2 shared cores, measured).
SERVING_THREADS = 1
# The boosters read features as float32: a larger number would reach them as infinity.
LARGEST_NUMBER = float(np.finfo(np.float32).max)


@dataclass(eq=False)
class ServedEnsemble(Ensemble):
    """An Ensemble (evaluation still uses its predict and predict_all) plus the serving path:
    `serve(features)` for FeatureArrays a FeatureReader (`reader`) made."""

    reader: FeatureReader
    encoder: CompiledEncoder
    xgboost_codes: tuple[tuple[int, dict[str, float]], ...]  # (column, category -> code)
    numbers_at: np.ndarray       # the columns of spec.names that spec.numbers fill
    categories_at: np.ndarray    # the columns of spec.names that spec.categorical fill

    @classmethod
    def of(cls, ensemble: Ensemble) -> ServedEnsemble:
        """The serving path of a loaded ensemble, warmed by one prediction; BLAS runs on one
        thread in this process from here on."""
        spec = ensemble.spec
        booster = ensemble.learners.models["xgboost"]
        categories = json.loads(booster.attr(CATEGORIES_ATTRIBUTE))
        columns = {name: i for i, name in enumerate(spec.names)}
        codes = tuple((columns[name], {c: float(code) for code, c in enumerate(known)})
                      for name, known in categories.items())
        kinds = np.asarray(spec.kinds)
        served = cls(**{f.name: getattr(ensemble, f.name) for f in fields(Ensemble)},
                     reader=FeatureReader(spec),
                     encoder=compile_encoder(ensemble.learners.encoder),
                     xgboost_codes=codes,
                     numbers_at=np.flatnonzero(kinds != CATEGORICAL),
                     categories_at=np.flatnonzero(kinds == CATEGORICAL))
        threadpool_limits(limits=SERVING_THREADS, user_api="blas")  # for the process
        served.serve(served.reader.cells([[None] * len(spec.inputs)]))
        return served

    def _xgboost_matrix(self, features: FeatureArrays) -> np.ndarray:
        matrix = np.empty((len(features), len(self.spec.names)), dtype=np.float32)
        matrix[:, self.numbers_at] = features.numbers
        for (column, codes), values in zip(self.xgboost_codes, features.categories.T,
                                           strict=True):
            matrix[:, column] = [codes.get(v, np.nan) for v in values]
        return matrix

    def _catboost_matrix(self, features: FeatureArrays) -> np.ndarray:
        if not len(self.categories_at):  # column-major: CatBoost's own layout (3x faster)
            return np.asfortranarray(features.numbers, dtype=np.float32)
        matrix = np.empty((len(features), len(self.spec.names)), dtype=object)
        matrix[:, self.numbers_at] = features.numbers
        matrix[:, self.categories_at] = features.categories
        return matrix

    def _check_range(self, features: FeatureArrays) -> None:
        too_large = np.abs(features.numbers) > LARGEST_NUMBER
        if too_large.any():
            row, column = np.argwhere(too_large)[0]
            raise InvalidRequest(
                f"request: feature {self.spec.numbers[column]!r} has "
                f"{float(features.numbers[row, column])!r} in row {row + 1}, beyond the "
                f"{LARGEST_NUMBER:.7g} the boosters read (32-bit floats); send a smaller number")

    def learner_predictions(self, features: FeatureArrays) -> dict[str, np.ndarray]:
        """What `self.learners.predict` returns for the same rows."""
        models, classification = self.learners.models, self.task.is_classification
        self._check_range(features)
        with np.errstate(over="ignore", invalid="ignore"):  # refused just below
            encoded = self.encoder.transform(features.numbers, features.categories)
        overflowed = ~np.isfinite(encoded).all(axis=1)
        if overflowed.any():
            raise InvalidRequest(
                f"request: row {int(np.argmax(overflowed)) + 1} has a number so far outside "
                "the training data's range that the model's feature transform overflows; send "
                "values nearer the training data's")
        raw: dict[str, Any] = {}
        catboost = self._catboost_matrix(features)
        raw["catboost"] = (models["catboost"].predict_proba(catboost, thread_count=SERVING_THREADS)
                           if classification else
                           models["catboost"].predict(catboost, thread_count=SERVING_THREADS))
        raw["xgboost"] = models["xgboost"].inplace_predict(self._xgboost_matrix(features))
        for name in ("linear", "kernel"):
            if name in models:
                raw[name] = (models[name].predict_proba(encoded) if classification
                             else models[name].predict(encoded))
        return {name: self.learners.finish(name, raw[name]) for name in raw}

    def serve(self, features: FeatureArrays) -> np.ndarray:
        """The chosen combiner's values (regression) or class probabilities (classification),
        equal to `self.predict` on the same rows."""
        return combiners.apply(self.chosen, self.combiner_params[self.chosen],
                               self.learner_predictions(features), self.task)
