"""The relative quality gate shared by the tabular pipelines' evaluation steps."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from steps.common.errors import InvalidData
from steps.common.gate import MAX_MESSAGE_CHARS
from steps.common.tabular_gate import (
    GateSettings,
    absolute_check,
    baseline_check,
    member_check,
    verdict,
)


class TestBaselineCheck:
    def test_a_clear_improvement_passes(self):
        check = baseline_check("rmse", 54.0, 76.0, "the training mean", 0.1)
        assert check.passed and check.figures["ratio"] == pytest.approx(54 / 76)

    def test_no_improvement_fails_quoting_both_figures(self):
        check = baseline_check("rmse", 75.0, 76.0, "the training mean", 0.1)
        assert not check.passed
        assert check.text == ("rmse 75 is 0.9868 x the naive baseline's 76 (the training mean); "
                              "needs at most 0.9 x (MinImprovementOverBaseline 0.1)")

    def test_the_bound_is_inclusive_and_scale_free(self):
        for scale in (1e-3, 1.0, 1e6):
            assert baseline_check("rmse", 0.9 * scale, scale, "mean", 0.1).passed

    def test_a_perfect_naive_baseline(self):
        assert baseline_check("rmse", 0.0, 0.0, "mean", 0.1).passed
        assert not baseline_check("rmse", 1.0, 0.0, "mean", 0.1).passed


class TestMemberCheck:
    def test_within_tolerance_passes(self):
        difference = np.full(50, 0.5)
        check = member_check("rmse", 10.2, "catboost", 10.0, difference, 0.05)
        assert check.passed and check.figures["decided_by"] == "tolerance"
        assert check.text.endswith("within the tolerance of 1.05 x (BestLearnerTolerance 0.05)")

    def test_clearly_worse_fails(self):
        rng = np.random.default_rng(0)
        difference = 5.0 + rng.normal(0, 1, 400)  # consistently worse on every row
        check = member_check("rmse", 12.0, "catboost", 10.0, difference, 0.05)
        assert not check.passed
        assert "1.2 x its best single learner's (catboost, 10), beyond the tolerance" in check.text
        assert "and beyond test-set noise (mean per-row loss excess 4.963 > 2 standard errors" in check.text

    def test_worse_but_within_noise_passes(self):
        rng = np.random.default_rng(0)
        difference = rng.normal(0.5, 20.0, 30)  # a few noisy rows: no evidence
        check = member_check("rmse", 12.0, "catboost", 10.0, difference, 0.05)
        assert check.passed is True and check.figures["noise"] > check.figures["mean_row_excess"]
        assert check.figures["decided_by"] == "noise"
        json.dumps(check.to_json())  # a numpy bool here failed a wine table's evaluation step
        assert "beyond the tolerance of 1.05 x (BestLearnerTolerance 0.05) but within test-set " \
               "noise" in check.text and "over 30 test rows" in check.text


def test_absolute_threshold_zero_is_off():
    assert absolute_check("rmse", 1e9, 0.0, lower_is_better=True).passed
    assert not absolute_check("rmse", 66.0, 65.0, lower_is_better=True).passed
    assert absolute_check("accuracy", 0.95, 0.9, lower_is_better=False).passed
    assert not absolute_check("accuracy", 0.85, 0.9, lower_is_better=False).passed


def test_verdict_counts_failures_and_quotes_only_them():
    good = baseline_check("rmse", 50.0, 76.0, "mean", 0.1)
    bad = absolute_check("rmse", 66.0, 65.0, lower_is_better=True)
    gate = verdict([good, bad], GateSettings(absolute_threshold=65.0))
    assert gate["passed"] is False and gate["failed"] == 1
    assert gate["message"] == "test rmse 66; QualityThreshold needs at most 65"
    assert gate["settings"]["QualityThreshold"] == 65.0
    passed = verdict([good], GateSettings())
    assert passed["passed"] is True and passed["message"].startswith("passed: rmse 50 is")


def test_the_message_fits_a_failure_reason():
    checks = [baseline_check("rmse" * 100, 75.0, 76.0, "x" * 500, 0.1)] * 3
    assert len(verdict(checks, GateSettings())["message"]) == MAX_MESSAGE_CHARS


@pytest.mark.parametrize("settings, message", [
    ({"min_improvement": 1.0}, "MinImprovementOverBaseline must be in [0, 1), got 1.0"),
    ({"member_tolerance": -0.1}, "BestLearnerTolerance must not be negative, got -0.1"),
    ({"absolute_threshold": float("nan")}, "QualityThreshold must be a finite number, got nan"),
])
def test_settings_refuse_nonsense(settings, message):
    with pytest.raises(InvalidData, match=re.escape(message)):
        GateSettings(**settings)
