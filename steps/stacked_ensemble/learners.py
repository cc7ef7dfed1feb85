"""The base learners: CatBoost, XGBoost, a linear model and, for regression, RBF kernel ridge
(`kernel.py`).

CatBoost reads categoricals natively (target statistics), XGBoost too (its own categorical
splits; categories unseen in training and missing values go its learned missing-value way);
both read ordinal features as ranks and numeric ones as they are. The linear model and kernel
ridge read the shared encoder's output, fitted on the same training rows: numbers and ranks
imputed, then both standardised and Yeo-Johnson transformed (a log-like view of skewed columns
such as sales volumes or carats: on txhousing it took kernel ridge from 10,980 to 7,455 RMSE
and the chosen ensemble from 0.999 to 0.937 of the seed's blend), categoricals one-hot.

The boosters size themselves: without given rounds they train on all but a seeded
`early_stopping_fraction` of their rows and stop when that slice's loss has not improved for
`early_stopping_rounds` rounds (`num_round` and `catboost_iterations` are only caps); the
rounds they chose are kept (`FittedLearners.rounds`) so a refit on every row can be given a
number of rounds instead (see out_of_fold.refit_rounds).

With `target_transform=log` every learner fits log(target) and predicts exp(prediction), so
combiners, metrics and serving all see the target's own scale. Regression predictions are
clipped to the training target's range (on the fitted scale) before that: a linear model fed
an outlying row (diamonds has a 58.9 mm wide stone) otherwise predicted prices of 1e33.
Every learner predicts a value per row (regression) or a probability per class (classification).
"""
from __future__ import annotations

import json
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
from sklearn.model_selection import train_test_split
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import OneHotEncoder, PowerTransformer, StandardScaler

from steps.common.errors import InvalidData
from steps.common.files import write_json_atomic
from steps.common.xgboost_names import xgboost_feature_names
from steps.stacked_ensemble import contract
from steps.stacked_ensemble.features import MISSING_CATEGORY, FeatureSpec
from steps.stacked_ensemble.kernel import fit_kernel
from steps.stacked_ensemble.task import Task

THREADS = 2  # CatBoost's threads; jobs share small instances
# On a wide table each CatBoost split searches a random half of the features (its random
# subspace method, rsm): 1.9x faster at equal error on 300 numeric columns; on 64 pixel
# columns only 1.1x at +2% log loss, hence the bar (bench/catboost_wide_bench.py). A
# narrower table's splits search every feature.
CATBOOST_WIDE_FEATURES = 100
CATBOOST_WIDE_RSM = 0.5
# XGBoost's OpenMP threads spin while they wait: with 2 shared cores, 2 threads made 40 rounds
# on 300 rows take 10 s instead of 0.03 s (measured). One thread is as fast on these sizes.
XGBOOST_THREADS = 1
RIDGE_ALPHAS = tuple(np.logspace(-3, 3, 13))
FILES = {"catboost": "catboost.cbm", "xgboost": "xgboost.json", "linear": "linear.joblib",
         "kernel": "kernel.joblib"}
JOBLIB_LEARNERS = ("linear", "kernel")  # plain scikit-learn models
BOOSTERS = ("catboost", "xgboost")
ENCODER_FILE = "encoder.joblib"
FIT_FILE = "learners.json"  # what predicting needs besides the models: transform, range, rounds
# One-hot columns per categorical feature; rarer categories share one "infrequent" column.
MAX_CATEGORIES = 50
TARGET_TRANSFORMS = ("none", "log")
# The XGBoost model file carries its training categories under this attribute.
CATEGORIES_ATTRIBUTE = "categories"

LOGLOSS_MAX_HESSIAN = 0.25  # p (1 - p) at p = 1/2
Rounds = dict[str, int]  # booster name -> number of boosting rounds (trees)


@dataclass(frozen=True)
class LearnerSettings:
    """Hyperparameters of the base learners (the seed's XGBoost names, CatBoost prefixed).

    `num_round` and `catboost_iterations` are caps: early stopping picks the rounds.
    `min_child_weight` counts rows: XGBoost weighs a row by its loss's second derivative, 1 for
    squared error but at most 1/4 for log loss, so classification passes XGBoost a quarter of
    it (at the full 20, XGBoost's log loss on breast cancer was 0.205; at a quarter, 0.115).
    """

    max_depth: int = 4
    eta: float = 0.1
    num_round: int = 2000
    objective: str | None = None
    subsample: float = 0.8
    min_child_weight: float = 20.0
    catboost_depth: int = 4
    catboost_learning_rate: float = 0.1
    catboost_iterations: int = 2000
    early_stopping_rounds: int = 50
    early_stopping_fraction: float = 0.15
    target_transform: str = "none"
    seed: int = 42

    def __post_init__(self) -> None:
        if self.target_transform not in TARGET_TRANSFORMS:
            raise InvalidData(f"target_transform {self.target_transform!r} is not one of "
                              f"{', '.join(TARGET_TRANSFORMS)}")
        if not 0 < self.early_stopping_fraction < 1:
            raise InvalidData(f"early_stopping_fraction must be between 0 and 1, got "
                              f"{self.early_stopping_fraction}")
        for name in ("num_round", "catboost_iterations", "early_stopping_rounds"):
            if getattr(self, name) < 1:
                raise InvalidData(f"{name} must be at least 1, got {getattr(self, name)}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_target_transform(settings: LearnerSettings, task: Task, y: np.ndarray) -> None:
    """Refuse a log transform of a classification target or of values <= 0."""
    if settings.target_transform != "log":
        return
    if task.is_classification:
        raise InvalidData("target_transform=log is for regression targets; use "
                          "target_transform=none for classification")
    bad = y <= 0
    if bad.any():
        raise InvalidData(f"target_transform=log needs a positive target, but {int(bad.sum())} "
                          f"training value(s) are <= 0 (smallest {float(y.min()):g}); use "
                          f"target_transform=none")


def _forward(y: np.ndarray, transform: str) -> np.ndarray:
    return np.log(y) if transform == "log" else y


def _inverse(pred: np.ndarray, transform: str) -> np.ndarray:
    return np.exp(pred) if transform == "log" else pred


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
    """Median-impute (with missing indicators) numbers and ranks, then keep each both
    standardised and Yeo-Johnson transformed; one-hot categoricals, ignoring categories
    unseen in training. Fit it on training rows only."""
    numeric = Pipeline([
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
        ("views", FeatureUnion([("scale", StandardScaler()),
                                ("power", PowerTransformer(method="yeo-johnson"))])),
    ])
    categorical = OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False,
                                max_categories=MAX_CATEGORIES, dtype=float)
    return ColumnTransformer(
        [("numeric", numeric, spec.numbers), ("categorical", categorical, spec.categorical)],
        sparse_threshold=0.0)


def stopping_split(y: np.ndarray, task: Task, settings: LearnerSettings
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(rows the boosters fit, rows that stop them): a seeded slice of `early_stopping_fraction`,
    stratified by class where every class can be split."""
    rows = np.arange(len(y))
    stratify = None
    if task.is_classification:
        counts = np.bincount(y)
        counts = counts[counts > 0]
        if counts.min() >= 2 and settings.early_stopping_fraction * len(y) >= len(counts):
            stratify = y
    fit_rows, stop_rows = train_test_split(rows, test_size=settings.early_stopping_fraction,
                                           random_state=settings.seed, stratify=stratify)
    return np.sort(fit_rows), np.sort(stop_rows)


# ---- CatBoost ------------------------------------------------------------------------------

def catboost_rsm(features: int) -> float:
    """The share of the features each CatBoost split searches (see CATBOOST_WIDE_RSM)."""
    return CATBOOST_WIDE_RSM if features > CATBOOST_WIDE_FEATURES else 1.0


def _catboost_pool(x: pd.DataFrame, spec: FeatureSpec, y: np.ndarray | None = None) -> Pool:
    return Pool(x, label=y, cat_features=spec.categorical or None)


def fit_catboost(x: pd.DataFrame, y: np.ndarray, spec: FeatureSpec, task: Task,
                 settings: LearnerSettings, rounds: int | None,
                 stop: tuple[pd.DataFrame, np.ndarray] | None
                 ) -> CatBoostRegressor | CatBoostClassifier:
    """CatBoost on the features as they are (categoricals native), `rounds` exactly or
    stopped early on `stop` (bench/catboost_wide_bench.py times it alone)."""
    common = {"depth": settings.catboost_depth,
              "learning_rate": settings.catboost_learning_rate,
              "iterations": rounds or settings.catboost_iterations, "random_seed": settings.seed,
              "rsm": catboost_rsm(len(spec.names)), "thread_count": THREADS, "verbose": False,
              "allow_writing_files": False}
    if task.is_classification:
        loss = "Logloss" if len(task.classes) == 2 else "MultiClass"
        model = CatBoostClassifier(loss_function=loss, **common)
    else:
        model = CatBoostRegressor(loss_function="RMSE", **common)
    if stop is None:
        return model.fit(_catboost_pool(x, spec, y))
    return model.fit(_catboost_pool(x, spec, y), eval_set=_catboost_pool(stop[0], spec, stop[1]),
                     early_stopping_rounds=settings.early_stopping_rounds, use_best_model=True)


# ---- XGBoost -------------------------------------------------------------------------------

def xgboost_categories(x: pd.DataFrame, spec: FeatureSpec) -> dict[str, list[str]]:
    """Each categorical feature's known categories: the values seen in training rows."""
    return {name: sorted(set(x[name]) - {MISSING_CATEGORY}) for name in spec.categorical}


def xgboost_frame(x: pd.DataFrame, spec: FeatureSpec,
                  categories: dict[str, list[str]]) -> pd.DataFrame:
    """Coerced features as XGBoost reads them: numbers and ranks as floats, categoricals as
    pandas Categoricals of the training categories (unseen and missing values are NaN), named
    as XGBoost accepts (xgboost_names)."""
    columns: dict[str, Any] = {}
    for name in spec.names:
        if name in categories:
            codes = pd.Index(categories[name]).get_indexer(x[name].to_numpy())
            columns[name] = pd.Categorical.from_codes(codes, categories=categories[name])
        else:
            columns[name] = x[name].to_numpy(dtype=float)
    frame = pd.DataFrame(columns, index=range(len(x)))
    return frame.set_axis(xgboost_feature_names(list(frame.columns)), axis=1)


def _dmatrix(x: pd.DataFrame, spec: FeatureSpec, categories: dict[str, list[str]],
             y: np.ndarray | None = None) -> xgb.DMatrix:
    return xgb.DMatrix(xgboost_frame(x, spec, categories), label=y, enable_categorical=True,
                       nthread=XGBOOST_THREADS)


def _fit_xgboost(x: pd.DataFrame, y: np.ndarray, spec: FeatureSpec, task: Task,
                 settings: LearnerSettings, rounds: int | None,
                 stop: tuple[pd.DataFrame, np.ndarray] | None) -> xgb.Booster:
    categories = xgboost_categories(x, spec)
    hessian = LOGLOSS_MAX_HESSIAN if task.is_classification else 1.0
    params = {"max_depth": settings.max_depth, "eta": settings.eta,
              "subsample": settings.subsample,
              "min_child_weight": settings.min_child_weight * hessian,
              "objective": xgboost_objective(settings, task), "seed": settings.seed,
              "nthread": XGBOOST_THREADS, "tree_method": "hist"}
    if task.is_classification and len(task.classes) > 2:
        params["num_class"] = len(task.classes)
    train = _dmatrix(x, spec, categories, y)
    if stop is None:
        booster = xgb.train(params, train, num_boost_round=rounds or settings.num_round)
    else:
        booster = xgb.train(params, train, num_boost_round=settings.num_round,
                            evals=[(_dmatrix(stop[0], spec, categories, stop[1]), "stop")],
                            early_stopping_rounds=settings.early_stopping_rounds,
                            verbose_eval=False)
        booster = booster[:booster.best_iteration + 1]
    booster.set_attr(**{CATEGORIES_ATTRIBUTE: json.dumps(categories)})
    return booster


# ---- linear --------------------------------------------------------------------------------

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
    """Every base learner plus the encoder they were trained with, fitted on the same rows;
    `rounds` are the boosters' numbers of trees; regression predictions are clipped to
    `target_range` (the training target's, on the fitted scale), then `target_transform` is
    undone."""

    spec: FeatureSpec
    task: Task
    encoder: ColumnTransformer
    models: dict[str, Any]
    rounds: Rounds
    target_transform: str = "none"
    target_range: tuple[float, float] = (-np.inf, np.inf)

    def predict(self, x: pd.DataFrame) -> dict[str, np.ndarray]:
        """Predictions of every learner for coerced features `x`, on the target's scale."""
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
                categories = json.loads(model.attr(CATEGORIES_ATTRIBUTE))
                raw = model.predict(_dmatrix(x, self.spec, categories))
            else:
                raw = (model.predict_proba(encoded) if self.task.is_classification
                       else model.predict(encoded))
            out[name] = self.finish(name, raw)
        return out

    def finish(self, name: str, raw: np.ndarray) -> np.ndarray:
        """Learner `name`'s raw output as predict returns it: float64 class probabilities, or
        values clipped to the training range with the target transform undone."""
        if name == "xgboost" and self.task.is_classification:
            raw = _as_proba(raw, self.task)
        raw = np.asarray(raw, dtype=float)
        return raw if self.task.is_classification else _inverse(
            np.clip(raw, *self.target_range), self.target_transform)

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
        write_json_atomic(model_dir / FIT_FILE, {
            "target_transform": self.target_transform, "rounds": self.rounds,
            "target_range": [float(v) for v in self.target_range]})
        return {**files, "encoder": ENCODER_FILE, "fit": FIT_FILE}

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
        fit = json.loads((model_dir / FIT_FILE).read_text())
        return cls(spec, task, joblib.load(model_dir / ENCODER_FILE), models, fit["rounds"],
                   fit["target_transform"], tuple(fit["target_range"]))


def fit_learners(x: pd.DataFrame, y: np.ndarray, spec: FeatureSpec, task: Task,
                 settings: LearnerSettings, rounds: Rounds | None = None) -> FittedLearners:
    """Fit the encoder and every learner on the rows given, and nothing else. Without
    `rounds` the boosters stop early on a slice of these rows (stopping_split); with them,
    they train on every row for exactly that many rounds."""
    target = y if task.is_classification else _forward(y, settings.target_transform)
    encoder = make_encoder(spec)
    encoded = encoder.fit_transform(x)
    if rounds is None:
        fit_rows, stop_rows = stopping_split(y, task, settings)
        boost_x, boost_y = x.iloc[fit_rows], target[fit_rows]
        stop = (x.iloc[stop_rows], target[stop_rows])
    else:
        boost_x, boost_y, stop = x, target, None
    rounds = rounds or {}
    models = {
        "catboost": fit_catboost(boost_x, boost_y, spec, task, settings,
                                  rounds.get("catboost"), stop),
        "xgboost": _fit_xgboost(boost_x, boost_y, spec, task, settings,
                                rounds.get("xgboost"), stop),
        "linear": _fit_linear(encoded, target, task, settings),
    }
    if "kernel" in contract.LEARNERS[task.problem_type]:
        models["kernel"] = fit_kernel(encoded, target, settings.seed)
    chosen = {"catboost": models["catboost"].tree_count_,
              "xgboost": models["xgboost"].num_boosted_rounds()}
    if task.is_classification:
        return FittedLearners(spec, task, encoder, models, chosen)
    return FittedLearners(spec, task, encoder, models, chosen, settings.target_transform,
                          (float(target.min()), float(target.max())))
