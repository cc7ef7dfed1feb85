"""The base learners: CatBoost (native categoricals), XGBoost, a linear model and, for
regression, RBF kernel ridge (`kernel.py`).

XGBoost, the linear model and kernel ridge read the shared encoder's output (fitted on the same
training rows).
Every learner predicts a value per row (regression) or a probability per class (classification).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import xgboost as xgb
from catboost import CatBoostClassifier, CatBoostRegressor, Pool
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from steps.common.errors import InvalidData
from steps.stacked_ensemble import contract
from steps.stacked_ensemble.features import FeatureSpec
from steps.stacked_ensemble.kernel import fit_kernel
from steps.stacked_ensemble.task import Task

THREADS = 2  # CatBoost's threads; jobs share small instances
# XGBoost's OpenMP threads spin while they wait: with 2 shared cores, 2 threads made 40 rounds
# on 300 rows take 10 s instead of 0.03 s (measured). One thread is as fast on these sizes.
XGBOOST_THREADS = 1
RIDGE_ALPHAS = tuple(np.logspace(-3, 3, 13))
FILES = {"catboost": "catboost.cbm", "xgboost": "xgboost.json", "linear": "linear.joblib",
         "kernel": "kernel.joblib"}
JOBLIB_LEARNERS = ("linear", "kernel")  # plain scikit-learn models
ENCODER_FILE = "encoder.joblib"
# One-hot columns per categorical feature; rarer categories share one "infrequent" column.
MAX_CATEGORIES = 50


@dataclass(frozen=True)
class LearnerSettings:
    """Hyperparameters of the base learners (the seed's XGBoost names, CatBoost prefixed).

    Defaults are small, regularised boosters: on diabetes (3 x 5-fold CV) XGBoost at depth 3,
    eta 0.05, 300 rounds scored RMSE 59.99 and these 55.57; CatBoost at depth 6, 0.05, 500
    scored 58.83 and these 55.71. The tuning job searches around them.
    """

    max_depth: int = 2
    eta: float = 0.05
    num_round: int = 100
    objective: str | None = None
    subsample: float = 0.8
    min_child_weight: float = 5.0
    catboost_depth: int = 4
    catboost_learning_rate: float = 0.03
    catboost_iterations: int = 300
    seed: int = 42

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def xgboost_objective(settings: LearnerSettings, task: Task) -> str:
    """The configured objective, or the default for the task; probabilities for classification."""
    if not task.is_classification:
        objective = settings.objective or "reg:squarederror"
        if not objective.startswith("reg:"):
            raise InvalidData(f"objective {objective!r} is not a regression objective; use one "
                              f"of XGBoost's reg:* objectives, e.g. reg:squarederror")
        return objective
    expected = "binary:logistic" if len(task.classes) == 2 else "multi:softprob"
    if settings.objective not in (None, "", expected):
        raise InvalidData(f"objective {settings.objective!r} does not give class probabilities "
                          f"for {len(task.classes)} classes; use {expected} or leave it unset")
    return expected


def make_encoder(spec: FeatureSpec) -> ColumnTransformer:
    """Median-impute (with missing indicators) and scale numerics; one-hot categoricals,
    ignoring categories unseen in training. Fit it on training rows only."""
    numeric = Pipeline([
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
        ("scale", StandardScaler()),
    ])
    categorical = OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False,
                                max_categories=MAX_CATEGORIES, dtype=float)
    return ColumnTransformer(
        [("numeric", numeric, spec.numeric), ("categorical", categorical, spec.categorical)],
        sparse_threshold=0.0)


def _catboost_pool(x: pd.DataFrame, spec: FeatureSpec, y: np.ndarray | None = None) -> Pool:
    return Pool(x, label=y, cat_features=spec.categorical or None)


def _fit_catboost(x: pd.DataFrame, y: np.ndarray, spec: FeatureSpec, task: Task,
                  settings: LearnerSettings) -> CatBoostRegressor | CatBoostClassifier:
    common = {"depth": settings.catboost_depth,
              "learning_rate": settings.catboost_learning_rate,
              "iterations": settings.catboost_iterations, "random_seed": settings.seed,
              "thread_count": THREADS, "verbose": False, "allow_writing_files": False}
    if task.is_classification:
        loss = "Logloss" if len(task.classes) == 2 else "MultiClass"
        model = CatBoostClassifier(loss_function=loss, **common)
    else:
        model = CatBoostRegressor(loss_function="RMSE", **common)
    return model.fit(_catboost_pool(x, spec, y))


def _fit_xgboost(encoded: np.ndarray, y: np.ndarray, task: Task,
                 settings: LearnerSettings) -> xgb.Booster:
    params = {"max_depth": settings.max_depth, "eta": settings.eta,
              "subsample": settings.subsample, "min_child_weight": settings.min_child_weight,
              "objective": xgboost_objective(settings, task), "seed": settings.seed,
              "nthread": XGBOOST_THREADS, "tree_method": "hist"}
    if task.is_classification and len(task.classes) > 2:
        params["num_class"] = len(task.classes)
    return xgb.train(params, xgb.DMatrix(encoded, label=y), num_boost_round=settings.num_round)


def _fit_linear(encoded: np.ndarray, y: np.ndarray, task: Task,
                settings: LearnerSettings) -> RidgeCV | LogisticRegression:
    if task.is_classification:
        return LogisticRegression(C=1.0, max_iter=5000, random_state=settings.seed).fit(encoded, y)
    return RidgeCV(alphas=RIDGE_ALPHAS).fit(encoded, y)


def _as_proba(raw: np.ndarray, task: Task) -> np.ndarray:
    """XGBoost's binary output is P(class 1); make it one column per class."""
    if raw.ndim == 1:
        return np.column_stack([1.0 - raw, raw])
    return raw


@dataclass
class FittedLearners:
    """Every base learner plus the encoder they were trained with, fitted on the same rows."""

    spec: FeatureSpec
    task: Task
    encoder: ColumnTransformer
    models: dict[str, Any]

    def predict(self, x: pd.DataFrame) -> dict[str, np.ndarray]:
        """Predictions of every learner for coerced features `x`."""
        encoded = self.encoder.transform(x)
        out = {}
        for name in contract.LEARNERS[self.task.problem_type]:
            model = self.models[name]
            if name == "catboost":
                pool = _catboost_pool(x, self.spec)
                raw = (model.predict_proba(pool, thread_count=THREADS)
                       if self.task.is_classification
                       else model.predict(pool, thread_count=THREADS))
            elif name == "xgboost":
                raw = model.predict(xgb.DMatrix(encoded))
                raw = _as_proba(raw, self.task) if self.task.is_classification else raw
            else:
                raw = (model.predict_proba(encoded) if self.task.is_classification
                       else model.predict(encoded))
            out[name] = np.asarray(raw, dtype=float)
        return out

    def save(self, model_dir: Path) -> dict[str, str]:
        """Each learner in its native format, the encoder with joblib; returns name -> file."""
        model_dir = Path(model_dir)
        files = {name: FILES[name] for name in self.models}
        self.models["catboost"].save_model(str(model_dir / files["catboost"]), format="cbm")
        self.models["xgboost"].save_model(str(model_dir / files["xgboost"]))
        for name in JOBLIB_LEARNERS:
            if name in self.models:
                joblib.dump(self.models[name], model_dir / files[name])
        joblib.dump(self.encoder, model_dir / ENCODER_FILE)
        return {**files, "encoder": ENCODER_FILE}

    @classmethod
    def load(cls, model_dir: Path, spec: FeatureSpec, task: Task) -> FittedLearners:
        model_dir = Path(model_dir)
        catboost = CatBoostClassifier() if task.is_classification else CatBoostRegressor()
        catboost.load_model(str(model_dir / FILES["catboost"]), format="cbm")
        booster = xgb.Booster()
        booster.load_model(str(model_dir / FILES["xgboost"]))
        booster.set_param({"nthread": XGBOOST_THREADS})
        models = {"catboost": catboost, "xgboost": booster}
        for name in contract.LEARNERS[task.problem_type]:
            if name in JOBLIB_LEARNERS:
                models[name] = joblib.load(model_dir / FILES[name])
        return cls(spec, task, joblib.load(model_dir / ENCODER_FILE), models)


def fit_learners(x: pd.DataFrame, y: np.ndarray, spec: FeatureSpec, task: Task,
                 settings: LearnerSettings) -> FittedLearners:
    """Fit the encoder and every learner on the rows given, and nothing else."""
    encoder = make_encoder(spec)
    encoded = encoder.fit_transform(x)
    models = {
        "catboost": _fit_catboost(x, y, spec, task, settings),
        "xgboost": _fit_xgboost(encoded, y, task, settings),
        "linear": _fit_linear(encoded, y, task, settings),
    }
    if "kernel" in contract.LEARNERS[task.problem_type]:
        models["kernel"] = fit_kernel(encoded, y, settings.seed)
    return FittedLearners(spec, task, encoder, models)
