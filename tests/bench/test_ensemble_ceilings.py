"""The combiner ceilings of bench/ensemble_ceilings.py, on hand-made predictions whose bounds
are known."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))  # bench runs as scripts
from ensemble_ceilings import ceilings, report  # noqa: E402


def _rmse(y, pred):
    return float(np.sqrt(np.mean((y - pred) ** 2)))


def _folds(n, k=5):
    return np.arange(n) % k


def test_linear_bound_recovers_an_exact_combination():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500), rng.normal(size=500)
    y = 2.0 * a - 0.5 * b + 3.0
    bounds = ceilings(y, {"a": a, "b": b}, _folds(500))
    assert bounds.linear_in_sample == pytest.approx(0.0, abs=1e-9)
    assert bounds.weights == pytest.approx((2.0, -0.5))
    assert bounds.intercept == pytest.approx(3.0)


def test_cross_fitted_stack_is_an_honest_figure_above_the_in_sample_bound():
    rng = np.random.default_rng(4)
    y = rng.normal(50, 10, 600)
    preds = {"a": y + rng.normal(0, 4, 600), "b": y + rng.normal(0, 4, 600)}
    bounds = ceilings(y, preds, _folds(600))
    # two equally good independent learners: the stack averages them (and shrinks towards
    # the mean), fitted on other folds it does worse than the bound fitted on the rows scored
    mean = _rmse(y, (preds["a"] + preds["b"]) / 2)
    assert bounds.linear_in_sample < bounds.stack_cross_fitted < mean


def test_bounds_are_below_every_learner_and_the_hull_below_both():
    rng = np.random.default_rng(1)
    y = rng.normal(100, 20, 400)
    preds = {"good": y + rng.normal(0, 5, 400), "noisy": y + rng.normal(0, 15, 400),
             "biased": y + 8 + rng.normal(0, 5, 400)}
    bounds = ceilings(y, preds, _folds(400))
    best_single = min(_rmse(y, p) for p in preds.values())
    assert bounds.linear_in_sample < best_single and bounds.oracle < best_single
    assert bounds.hull < min(bounds.oracle, bounds.linear_in_sample)
    errors = np.column_stack([p - y for p in preds.values()])
    assert bounds.oracle == pytest.approx(np.sqrt(np.mean(np.min(errors ** 2, axis=1))))
    straddled = (errors.min(axis=1) <= 0) & (errors.max(axis=1) >= 0)
    outside = np.where(straddled, 0.0, np.min(np.abs(errors), axis=1))
    assert bounds.hull == pytest.approx(np.sqrt(np.mean(outside ** 2)))
    assert bounds.error_correlation.shape == (3, 3)
    np.testing.assert_allclose(np.diag(bounds.error_correlation), 1.0)
    assert abs(bounds.error_correlation[0, 1]) < 0.2  # independent noise


def test_a_learner_with_the_same_errors_adds_nothing():
    rng = np.random.default_rng(2)
    y = rng.normal(0, 10, 300)
    error = rng.normal(0, 3, 300)
    bounds = ceilings(y, {"one": y + error, "two": y + 1.0 + error}, _folds(300))
    assert bounds.error_correlation[0, 1] == pytest.approx(1.0)
    assert bounds.linear_in_sample == pytest.approx(
        ceilings(y, {"one": y + error}, _folds(300)).linear_in_sample)


def test_report_says_whether_the_targets_are_within_the_linear_bound():
    rng = np.random.default_rng(3)
    y = rng.normal(0, 10, 300)
    bounds = ceilings(y, {"one": y + rng.normal(0, 3, 300), "two": y + rng.normal(0, 3, 300)},
                      _folds(300))
    bound = bounds.linear_in_sample
    missed = report(bounds, blend=bound, best_single=bound / 0.95, blend_target=0.97,
                    single_target=0.99)
    assert missed[4].startswith("target <= 0.97 x blend: OUT OF REACH")
    assert missed[5] == ("target <= 0.99 x best single: within reach of a linear combiner "
                         "(in-sample bound 0.9500)")
    reached = report(bounds, blend=bound / 0.96, best_single=bound / 0.95, blend_target=0.97,
                     single_target=0.99)
    assert reached[4] == ("target <= 0.97 x blend: within reach of a linear combiner "
                          "(in-sample bound 0.9600)")
    assert missed[0].startswith(f"in-sample linear combination: {bound:.4g} (1.0000 x blend")
