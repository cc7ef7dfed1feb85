"""The quality gate of the tabular pipelines: is the model good enough to register, on any data?

An absolute number ("RMSE at most 65") only means something for the table it was fitted to. The
gate compares the model with baselines scored on the same test rows instead:
- the naive predictor (training mean, or training class shares): the model's loss must be at
  most (1 - min_improvement) times the naive loss;
- its own best single member (ensembles only): the model's loss may exceed the best member's
  by more than `member_tolerance` only while the excess is within noise (two standard errors
  of the paired per-row difference), since on a few dozen test rows the member that happens to
  score best is partly luck;
- optionally an absolute bar on the headline metric (0 turns it off).
The evaluation step writes `verdict(...)` into its report; the pipeline's condition reads
`gate.failed` and its Fail step quotes `gate.message` (steps/common/gate.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from steps.common.errors import InvalidData
from steps.common.gate import Check, gate_section

NOISE_STANDARD_ERRORS = 2.0


@dataclass(frozen=True)
class GateSettings:
    """The gate's knobs, one pipeline parameter each."""

    min_improvement: float = 0.1     # MinImprovementOverBaseline
    member_tolerance: float = 0.05   # BestLearnerTolerance
    absolute_threshold: float = 0.0  # QualityThreshold; 0: no absolute bar

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_improvement < 1.0:
            raise InvalidData(f"MinImprovementOverBaseline must be in [0, 1), got "
                             f"{self.min_improvement}")
        if self.member_tolerance < 0.0:
            raise InvalidData(f"BestLearnerTolerance must not be negative, got "
                             f"{self.member_tolerance}")
        if not np.isfinite(self.absolute_threshold):
            raise InvalidData(f"QualityThreshold must be a finite number, got "
                             f"{self.absolute_threshold}")

    def to_json(self) -> dict[str, float]:
        return {"MinImprovementOverBaseline": self.min_improvement,
                "BestLearnerTolerance": self.member_tolerance,
                "QualityThreshold": self.absolute_threshold}


def _figure(value: float) -> str:
    """Four significant digits: enough to compare, short enough for a one-line message."""
    return f"{value:.4g}"


def baseline_check(loss_name: str, model_loss: float, naive_loss: float, naive_name: str,
                   min_improvement: float) -> Check:
    """The model's loss must be at most (1 - min_improvement) x the naive predictor's."""
    ratio = model_loss / naive_loss if naive_loss > 0 else (0.0 if model_loss == 0 else np.inf)
    bound = 1.0 - min_improvement
    passed = bool(ratio <= bound)
    text = (f"{loss_name} {_figure(model_loss)} is {_figure(ratio)} x the naive baseline's "
            f"{_figure(naive_loss)} ({naive_name}); needs at most {_figure(bound)} x "
            f"(MinImprovementOverBaseline {_figure(min_improvement)})")
    return Check("beats_naive_baseline", passed, text,
                 {"ratio": float(ratio), "bound": bound, "model": model_loss,
                  "baseline": naive_loss})


def member_check(loss_name: str, model_loss: float, member: str, member_loss: float,
                 row_difference: np.ndarray, tolerance: float) -> Check:
    """The model is not clearly worse than its best member: more than `tolerance` worse AND
    worse beyond noise (`row_difference`: model minus member, per test row). The message names
    the bound that decided, so a pass on noise is never mistaken for a pass on the tolerance."""
    ratio = model_loss / member_loss if member_loss > 0 else (1.0 if model_loss == 0 else np.inf)
    excess = float(np.mean(row_difference))
    noise = (NOISE_STANDARD_ERRORS * float(np.std(row_difference, ddof=1))
             / math.sqrt(len(row_difference)) if len(row_difference) > 1 else 0.0)
    within_tolerance = bool(ratio <= 1.0 + tolerance)
    passed = within_tolerance or excess <= noise
    tolerance_text = (f"the tolerance of {_figure(1.0 + tolerance)} x (BestLearnerTolerance "
                      f"{_figure(tolerance)})")
    noise_text = (f"test-set noise (mean per-row loss excess {_figure(excess)} "
                  f"{'<=' if excess <= noise else '>'} {NOISE_STANDARD_ERRORS:g} standard errors "
                  f"{_figure(noise)} over {len(row_difference)} test rows)")
    if within_tolerance:
        decision = f"within {tolerance_text}"
    elif passed:
        decision = f"beyond {tolerance_text} but within {noise_text}"
    else:
        decision = f"beyond {tolerance_text} and beyond {noise_text}"
    text = (f"{loss_name} {_figure(model_loss)} is {_figure(ratio)} x its best single learner's "
            f"({member}, {_figure(member_loss)}), {decision}")
    return Check("not_worse_than_best_learner", passed, text,
                 {"ratio": float(ratio), "bound": 1.0 + tolerance, "model": model_loss,
                  "best_learner": member, "best_learner_loss": member_loss,
                  "mean_row_excess": excess, "noise": noise,
                  "decided_by": "tolerance" if within_tolerance else "noise"})


def absolute_check(metric: str, value: float, threshold: float, lower_is_better: bool) -> Check:
    """An opt-in absolute bar on the headline metric; 0 means none."""
    if threshold == 0:
        return Check("absolute_threshold", True, "no absolute threshold (QualityThreshold 0)",
                     {"value": value, "threshold": None})
    passed = bool(value <= threshold if lower_is_better else value >= threshold)
    relation = "at most" if lower_is_better else "at least"
    text = (f"test {metric} {_figure(value)}; QualityThreshold needs {relation} "
            f"{_figure(threshold)}")
    return Check("absolute_threshold", passed, text, {"value": value, "threshold": threshold})


def verdict(checks: list[Check], settings: GateSettings) -> dict[str, Any]:
    """The gate's section of an evaluation report: the failed checks' reasons in one line (all
    of them, after "passed: ", when none failed)."""
    failed = [c for c in checks if not c.passed]
    message = ("passed: " if not failed else "") + "; ".join(c.text for c in failed or checks)
    return gate_section(checks, message, settings=settings.to_json())
