"""The RBF kernel ridge learner: its leave-one-out choice, the many-rows fallback, and its
round trip through the model directory with a categorical column and missing values."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.pipeline import Pipeline

from steps.stacked_ensemble import kernel
from steps.stacked_ensemble.features import coerce, infer_spec
from steps.stacked_ensemble.learners import FILES, FittedLearners, LearnerSettings, fit_learners
from steps.stacked_ensemble.task import Task

SETTINGS = LearnerSettings(num_round=20, catboost_iterations=30)


def _smooth(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return x, np.sin(2 * x[:, 0]) + x[:, 1] ** 2 + rng.normal(0, 0.1, n) + 10.0


def _brute_force_loo(x: np.ndarray, y: np.ndarray, gamma: float, alpha: float) -> float:
    """Refit without each row in turn (the dual solve, no eigendecomposition)."""
    gram = rbf_kernel(x, gamma=gamma)
    centred = y - y.mean()  # the closed form centres with every row's mean, as here
    errors = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        dual = np.linalg.solve(gram[np.ix_(keep, keep)] + alpha * np.eye(len(y) - 1),
                               centred[keep])
        errors.append((gram[i, keep] @ dual - centred[i]) ** 2)
    return float(np.mean(errors))


def test_loo_choice_is_the_brute_force_leave_one_out_minimum():
    x, y = _smooth(40)
    gamma, alpha = kernel.loo_choice(x, y)
    scores = {(f / 3, a): _brute_force_loo(x, y, f / 3, a)
              for f in kernel.GAMMA_FACTORS for a in kernel.ALPHAS}
    assert (gamma, alpha) == pytest.approx(min(scores, key=scores.get))


def test_exact_fit_beats_the_mean_and_keeps_the_target_scale():
    x, y = _smooth(200)
    model = kernel.fit_kernel(x[:150], y[:150], seed=0)
    assert isinstance(model.regressor_, KernelRidge)
    assert model.regressor_.gamma * 3 in kernel.GAMMA_FACTORS
    rmse = np.sqrt(np.mean((model.predict(x[150:]) - y[150:]) ** 2))
    assert rmse < 0.5 * np.std(y[150:])


def test_many_rows_fall_back_to_a_seeded_nystroem_ridge(monkeypatch):
    monkeypatch.setattr(kernel, "EXACT_MAX_ROWS", 100)
    monkeypatch.setattr(kernel, "NYSTROEM_COMPONENTS", 50)
    x, y = _smooth(300)
    first = kernel.fit_kernel(x[:200], y[:200], seed=7)
    again = kernel.fit_kernel(x[:200], y[:200], seed=7)
    assert isinstance(first, Pipeline)
    assert first["features"].n_components == 50 and first["features"].random_state == 7
    # gamma comes from the exact leave-one-out choice on a seeded sample of 100 rows
    sample = np.random.default_rng(7).choice(200, 100, replace=False)
    assert first["features"].gamma == kernel.loo_choice(x[sample], y[sample])[0]
    np.testing.assert_array_equal(first.predict(x[200:]), again.predict(x[200:]))
    rmse = np.sqrt(np.mean((first.predict(x[200:]) - y[200:]) ** 2))
    assert rmse < 0.5 * np.std(y[200:])


@pytest.fixture
def mixed() -> tuple[pd.DataFrame, np.ndarray]:
    """A numeric signal, a categorical shift and gaps in both kinds of column."""
    rng = np.random.default_rng(1)
    n = 120
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                          "site": rng.choice(["north", "south", "east"], n)})
    y = np.sin(frame["a"].to_numpy()) * 3 + frame["site"].map(
        {"north": 0.0, "south": 2.0, "east": -2.0}).to_numpy() + rng.normal(0, 0.1, n)
    frame.loc[rng.choice(n, 10, replace=False), "b"] = np.nan
    frame.loc[rng.choice(n, 8, replace=False), "site"] = np.nan
    return frame, y


def test_kernel_saved_and_loaded_predicts_the_same(mixed, tmp_path):
    frame, y = mixed
    spec = infer_spec(frame)
    assert spec.categorical == ["site"]
    x = coerce(frame, spec, "train")
    task = Task("regression")
    fitted = fit_learners(x.iloc[:100], y[:100], spec, task, SETTINGS)
    files = fitted.save(tmp_path)
    assert files["kernel"] == FILES["kernel"] and (tmp_path / "kernel.joblib").is_file()
    loaded = FittedLearners.load(tmp_path, spec, task)
    assert isinstance(loaded.models["kernel"], TransformedTargetRegressor)
    before, after = fitted.predict(x.iloc[100:]), loaded.predict(x.iloc[100:])
    assert list(after) == ["catboost", "xgboost", "linear", "kernel"]
    assert np.isfinite(after["kernel"]).all()
    np.testing.assert_array_equal(before["kernel"], after["kernel"])
    # It uses the category: far better than predicting the mean.
    rmse = np.sqrt(np.mean((after["kernel"] - y[100:]) ** 2))
    assert rmse < 0.5 * np.std(y[100:])


def test_classification_has_no_kernel_learner(mixed, tmp_path):
    frame, y = mixed
    spec = infer_spec(frame)
    x = coerce(frame, spec, "train")
    task = Task.from_target("classification", pd.Series((y > np.median(y)).astype(int)))
    labels = task.encode(pd.Series((y > np.median(y)).astype(int)), "train")
    fitted = fit_learners(x, labels, spec, task, SETTINGS)
    assert set(fitted.models) == {"catboost", "xgboost", "linear"}
    assert "kernel" not in fitted.save(tmp_path)
    assert not (tmp_path / "kernel.joblib").exists()
