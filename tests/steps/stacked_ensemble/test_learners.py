"""The base learners on users' tables: early-stopped boosters, categorical and ordinal
features, unseen and missing values, and the log target transform."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from steps.common.errors import InvalidData
from steps.stacked_ensemble import combiners, ensemble, inference
from steps.stacked_ensemble.features import (
    CATEGORICAL,
    NUMERIC,
    ORDINAL,
    FeatureSpec,
    coerce,
    infer_spec,
)
from steps.stacked_ensemble.learners import (
    CATBOOST_WIDE_FEATURES,
    CATBOOST_WIDE_RSM,
    CATEGORIES_ATTRIBUTE,
    FittedLearners,
    LearnerSettings,
    fit_learners,
)
from steps.stacked_ensemble.out_of_fold import fit_ensemble
from steps.stacked_ensemble.task import Task

REGRESSION = Task("regression")
CAP = 1000
GRADES = ["low", "medium", "high", "top"]  # an order that is not alphabetical


def _shops(n: int, seed: int = 0, noise: float = 0.1) -> tuple[pd.DataFrame, np.ndarray]:
    """A numeric signal, a categorical shift, an ordered grade, gaps in every kind."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "size": rng.gamma(2.0, 1.0, n),
        "site": rng.choice(["north", "south", "east"], n),
        "grade": pd.Categorical(rng.choice(GRADES, n), categories=GRADES, ordered=True),
    })
    shift = frame["site"].map({"north": 0.0, "south": 1.0, "east": -1.0}).to_numpy()
    rank = frame["grade"].cat.codes.to_numpy()
    y = np.exp(1.0 + 0.5 * np.log(frame["size"].to_numpy()) + 0.3 * shift + 0.25 * rank
               + rng.normal(0, noise, n))
    frame.loc[rng.choice(n, n // 20, replace=False), "size"] = np.nan
    frame.loc[rng.choice(n, n // 20, replace=False), "site"] = np.nan
    frame.loc[rng.choice(n, n // 20, replace=False), "grade"] = np.nan
    return frame, y


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


class TestFeatureKinds:
    def test_ordered_categorical_keeps_its_order(self):
        frame, _ = _shops(50)
        spec = infer_spec(frame)
        assert spec.kinds == (NUMERIC, CATEGORICAL, ORDINAL)
        assert spec.orders == {"grade": tuple(GRADES)}
        assert spec.numbers == ["size", "grade"] and spec.categorical == ["site"]
        x = coerce(frame, spec, "train")
        expected = frame["grade"].cat.codes.replace(-1, np.nan).to_numpy(dtype=float)
        np.testing.assert_array_equal(x["grade"].to_numpy(), expected)
        assert FeatureSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec

    def test_ordinal_values_as_text_unknown_and_missing(self):
        spec = FeatureSpec(("grade",), (ORDINAL,), {"grade": tuple(GRADES)})
        text = pd.DataFrame({"grade": ["top", "low", "gold", None, "", "medium"]})
        assert coerce(text, spec, "request")["grade"].tolist()[:2] == [3.0, 0.0]
        assert np.isnan(coerce(text, spec, "request")["grade"].to_numpy()[2:5]).all()

    def test_a_csv_carries_no_order(self, tmp_path):
        frame, _ = _shops(50)
        frame.to_csv(tmp_path / "shops.csv", index=False)
        spec = infer_spec(pd.read_csv(tmp_path / "shops.csv"))
        assert spec.kinds == (NUMERIC, CATEGORICAL, CATEGORICAL) and spec.orders == {}


class TestEarlyStopping:
    def test_rounds_stop_well_below_the_cap_and_grow_with_the_problem(self):
        settings = LearnerSettings(num_round=CAP, catboost_iterations=CAP)
        easy, y_easy = _shops(300, noise=0.3)
        hard_x = np.random.default_rng(1).normal(size=(4000, 4))
        hard = pd.DataFrame(hard_x, columns=list("abcd"))
        y_hard = (np.sin(2 * hard_x[:, 0]) * hard_x[:, 1] + np.abs(hard_x[:, 2]) * hard_x[:, 3]
                  + np.random.default_rng(2).normal(0, 0.05, 4000))
        rounds = {}
        for name, frame, y in (("easy", easy, y_easy), ("hard", hard, y_hard)):
            spec = infer_spec(frame)
            rounds[name] = fit_learners(coerce(frame, spec, "t"), y, spec, REGRESSION,
                                        settings).rounds
        for booster in ("catboost", "xgboost"):
            assert rounds["easy"][booster] < CAP / 4
            assert rounds["hard"][booster] > 2 * rounds["easy"][booster]

    def test_given_rounds_are_trained_exactly(self):
        frame, y = _shops(200)
        spec = infer_spec(frame)
        fitted = fit_learners(coerce(frame, spec, "t"), y, spec, REGRESSION, LearnerSettings(),
                              rounds={"catboost": 17, "xgboost": 23})
        assert fitted.rounds == {"catboost": 17, "xgboost": 23}
        assert fitted.models["xgboost"].num_boosted_rounds() == 23

    def test_the_stopping_slice_never_holds_out_of_fold_rows(self):
        """Each fold's boosters are reproduced from that fold's training rows alone, so their
        stopping slice came from those rows."""
        frame, y = _shops(240)
        spec = infer_spec(frame)
        x = coerce(frame, spec, "t")
        settings = LearnerSettings(num_round=300, catboost_iterations=300)
        trained = fit_ensemble(x, y, spec, REGRESSION, settings, k_fold=3)
        fold = trained.folds[2]
        again = fit_learners(x.iloc[fold.train], y[fold.train], spec, REGRESSION, settings)
        assert again.rounds == trained.fold_rounds[2]
        np.testing.assert_allclose(again.predict(x.iloc[fold.oof])["xgboost"],
                                   trained.oof_predictions["xgboost"][fold.oof], rtol=1e-6)


@pytest.fixture(scope="module")
def fitted() -> tuple[FittedLearners, pd.DataFrame, np.ndarray]:
    frame, y = _shops(400)
    spec = infer_spec(frame)
    return fit_learners(coerce(frame, spec, "t"), y, spec, REGRESSION,
                        LearnerSettings(num_round=200, catboost_iterations=200)), frame, y


class TestCategoricals:
    def test_xgboost_keeps_the_training_categories(self, fitted):
        learners, _, _ = fitted
        categories = json.loads(learners.models["xgboost"].attr(CATEGORIES_ATTRIBUTE))
        assert categories == {"site": ["east", "north", "south"]}

    def test_unseen_and_missing_values_predict(self, fitted):
        learners, _, _ = fitted
        rows = pd.DataFrame({"size": [1.0, 1.0, 1.0, np.nan],
                             "site": ["south", "mars", None, "north"],
                             "grade": ["high", "high", "high", "platinum"]})
        x = coerce(rows, learners.spec, "request")
        preds = learners.predict(x)
        for name, values in preds.items():
            assert np.isfinite(values).all(), name
        # XGBoost sends an unseen category where it sends a missing one.
        assert preds["xgboost"][1] == pytest.approx(preds["xgboost"][2])

    def test_the_categories_and_the_order_are_learned(self, fitted):
        learners, _, _ = fitted
        rows = pd.DataFrame({"size": [1.0] * 5, "site": ["east", "south", "north", "north",
                                                         "north"],
                             "grade": ["medium", "medium", "low", "medium", "top"]})
        preds = learners.predict(coerce(rows, learners.spec, "request"))
        for name in ("catboost", "xgboost", "linear", "kernel"):
            east, south, low, medium, top = preds[name]
            assert east < south, name
            assert low < medium < top, name


class TestLogTransform:
    def test_predictions_and_scores_are_on_the_target_scale(self, tmp_path):
        frame, y = _shops(600)
        y = 1000.0 * y  # prices
        spec = infer_spec(frame)
        x = coerce(frame, spec, "t")
        settings = LearnerSettings(num_round=300, catboost_iterations=300,
                                   target_transform="log")
        trained = fit_ensemble(x.iloc[:500], y[:500], spec, REGRESSION, settings, k_fold=3)
        preds = trained.learners.predict(x.iloc[500:])
        for name, values in preds.items():
            assert 0.5 < np.mean(values) / np.mean(y[500:]) < 2.0, name
            assert _rmse(values, y[500:]) < 0.6 * np.std(y[500:]), name
        oof = trained.oof_predictions["catboost"]
        assert trained.oof_scores["catboost"]["rmse"] == pytest.approx(_rmse(oof, y[:500]))
        assert trained.oof_scores["catboost"]["rmse"] > 100  # not a log-scale error
        ensemble.save(tmp_path, trained, {"target": "price", **REGRESSION.to_json(),
                                          "features": spec.to_json(),
                                          "hyperparameters": settings.to_json()})
        served = inference.model_fn(str(tmp_path))
        assert served.learners.target_transform == "log"
        body = frame.iloc[500:].to_csv(index=False)
        got = inference.predict_fn(inference.input_fn(body, "text/csv"), served).values
        expected = combiners.apply(trained.chosen, trained.combiner_params[trained.chosen],
                                   preds, REGRESSION)
        np.testing.assert_allclose(got, expected, rtol=1e-9)

    def test_an_outlying_row_stays_in_the_training_range(self):
        frame, y = _shops(300)
        spec = infer_spec(frame)
        settings = LearnerSettings(num_round=100, catboost_iterations=100,
                                   target_transform="log")
        learners = fit_learners(coerce(frame, spec, "t"), y, spec, REGRESSION, settings)
        outlier = pd.DataFrame({"size": [1e6], "site": ["north"], "grade": ["top"]})
        for name, values in learners.predict(coerce(outlier, spec, "request")).items():
            assert y.min() <= values[0] <= y.max() * (1 + 1e-9), name

    def test_non_positive_targets_are_refused(self):
        frame = pd.DataFrame({"a": np.arange(40.0)})
        spec = infer_spec(frame)
        y = np.arange(40.0) + 1.0
        y[[3, 7]] = [0.0, -2.0]
        with pytest.raises(InvalidData) as error:
            fit_ensemble(coerce(frame, spec, "t"), y, spec, REGRESSION,
                         LearnerSettings(target_transform="log"), k_fold=2)
        assert str(error.value) == ("target_transform=log needs a positive target, but 2 "
                                    "training value(s) are <= 0 (smallest -2); use "
                                    "target_transform=none")

    def test_log_is_for_regression_and_names_are_checked(self):
        task = Task("classification", (0, 1))
        frame = pd.DataFrame({"a": np.arange(40.0)})
        spec = infer_spec(frame)
        with pytest.raises(InvalidData, match="^target_transform=log is for regression targets; "
                                              "use target_transform=none for classification$"):
            fit_ensemble(coerce(frame, spec, "t"), np.arange(40) % 2, spec, task,
                         LearnerSettings(target_transform="log"), k_fold=2)
        with pytest.raises(InvalidData, match=r"^target_transform 'sqrt' is not one of none, log$"):
            LearnerSettings(target_transform="sqrt")


def _tree_param(booster, name: str) -> float:
    config = json.loads(booster.save_config())
    return float(config["learner"]["gradient_booster"]["tree_train_param"][name])


def test_min_child_weight_counts_rows_for_every_loss():
    """A row weighs 1 under squared error and at most 1/4 under log loss in XGBoost's
    min_child_weight, so classification gets a quarter of the setting."""
    frame, y = _shops(200)
    spec = infer_spec(frame)
    x = coerce(frame, spec, "t")
    settings = LearnerSettings(num_round=20, catboost_iterations=20, min_child_weight=20)
    regression = fit_learners(x, y, spec, REGRESSION, settings)
    labels = (y > np.median(y)).astype(int)
    classification = fit_learners(x, labels, spec, Task("classification", (0, 1)), settings)
    assert _tree_param(regression.models["xgboost"], "min_child_weight") == 20
    assert _tree_param(classification.models["xgboost"], "min_child_weight") == 5


def test_names_xgboost_refuses_train_and_serve(tmp_path):
    """`size [m²]` and `age <18` are column names users have; XGBoost refuses them as feature
    names, which stopped every training job."""
    frame, y = _shops(300)
    frame = frame.rename(columns={"size": "size [m²]", "site": "site <region>"})
    spec = infer_spec(frame)
    x = coerce(frame, spec, "t")
    settings = LearnerSettings(num_round=100, catboost_iterations=100)
    trained = fit_ensemble(x.iloc[:250], y[:250], spec, REGRESSION, settings, k_fold=3)
    assert trained.learners.models["xgboost"].feature_names == [
        "size (m²)", "site \u2039region>", "grade"]
    ensemble.save(tmp_path, trained, {"target": "y", **REGRESSION.to_json(),
                                      "features": spec.to_json(),
                                      "hyperparameters": settings.to_json()})
    served = inference.model_fn(str(tmp_path))
    body = frame.iloc[250:].to_csv(index=False)
    got = inference.predict_fn(inference.input_fn(body, "text/csv"), served).values
    expected = combiners.apply(trained.chosen, trained.combiner_params[trained.chosen],
                               trained.learners.predict(x.iloc[250:]), REGRESSION)
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert _rmse(got, y[250:]) < 0.6 * np.std(y[250:])


@pytest.mark.parametrize("columns, rsm", [(CATBOOST_WIDE_FEATURES, 1.0),
                                          (CATBOOST_WIDE_FEATURES + 1, CATBOOST_WIDE_RSM)])
def test_catboost_searches_half_the_features_of_a_wide_table(columns, rsm):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, columns)),
                         columns=[f"c{i}" for i in range(columns)])
    y = frame["c0"].to_numpy() * 3 + rng.normal(scale=0.1, size=120)
    spec = infer_spec(frame)
    fitted = fit_learners(coerce(frame, spec, "t"), y, spec, REGRESSION,
                          LearnerSettings(num_round=50, catboost_iterations=50))
    assert fitted.models["catboost"].get_params()["rsm"] == rsm
    assert _rmse(fitted.models["catboost"].predict(frame), y) < 0.5 * np.std(y)
