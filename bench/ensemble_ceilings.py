"""What any combiner of a set of learners could reach, from their out-of-fold predictions.

A combiner's benchmark target (say, 0.97 x the seed's blend) is only worth chasing when the
learners leave room for it. Three bounds answer that without fitting a combiner honestly:
- the least-squares linear combination (with intercept, any signs) fitted IN-SAMPLE on the very
  rows it is scored on: no linear stacker of these predictions (mean, weighted, stack), fitted
  on other rows, does better in expectation, so a target above this bound needs other learners
  or a combiner whose weights vary from row to row;
- the per-row oracle: each row's best learner, the bound on any combiner that picks one learner
  per row (a gate); averaging can beat it where errors are independent;
- the per-row hull: each row's distance from its target to the range of the learners'
  predictions, the bound on any combiner whose output is a per-row weighted average of the
  learners (weights >= 0 summing to 1, chosen per row with hindsight).
The learners' error correlations say why: errors correlated near 1 leave little to average.
Next to the bounds, an honest figure: a non-negative linear stack (the `stack` combiner's
model) cross-fitted over the given folds, each fold combined by weights fitted on the others.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict


@dataclass(frozen=True)
class Ceilings:
    """RMSE bounds on combining `names`' predictions, and their errors' correlations."""

    names: tuple[str, ...]
    linear_in_sample: float
    weights: tuple[float, ...]
    intercept: float
    oracle: float
    hull: float
    stack_cross_fitted: float
    error_correlation: np.ndarray


def ceilings(y: np.ndarray, preds: dict[str, np.ndarray], folds: np.ndarray) -> Ceilings:
    """Bounds for regression predictions `preds` (learner -> one value per row of `y`);
    `folds` labels each row's fold for the cross-fitted stack."""
    names = tuple(preds)
    stacked = np.column_stack([np.asarray(preds[n], dtype=float) for n in names])
    linear = LinearRegression().fit(stacked, y)
    cross_fitted = cross_val_predict(LinearRegression(positive=True), stacked, y, groups=folds,
                                     cv=LeaveOneGroupOut())
    fitted = linear.predict(stacked)
    errors = stacked - y[:, None]
    return Ceilings(
        names=names,
        linear_in_sample=float(np.sqrt(np.mean((y - fitted) ** 2))),
        weights=tuple(float(w) for w in linear.coef_),
        intercept=float(linear.intercept_),
        oracle=float(np.sqrt(np.mean(np.min(errors ** 2, axis=1)))),
        hull=float(np.sqrt(np.mean((np.maximum(errors.min(axis=1), 0.0)
                                    + np.minimum(errors.max(axis=1), 0.0)) ** 2))),
        stack_cross_fitted=float(np.sqrt(np.mean((y - cross_fitted) ** 2))),
        error_correlation=np.corrcoef(errors, rowvar=False),
    )


def report(bounds: Ceilings, blend: float, best_single: float, blend_target: float,
           single_target: float) -> list[str]:
    """Lines that put the bounds next to the targets (RMSEs `blend`, `best_single`)."""
    def ratios(value: float) -> str:
        return f"{value:.4g} ({value / blend:.4f} x blend, {value / best_single:.4f} x best single)"

    weights = ", ".join(f"{n} {w:+.3f}" for n, w in zip(bounds.names, bounds.weights, strict=True))
    lines = [
        f"in-sample linear combination: {ratios(bounds.linear_in_sample)}; weights {weights}, "
        f"intercept {bounds.intercept:.4g}",
        f"per-row oracle (best learner per row): {ratios(bounds.oracle)}",
        f"per-row hull (best weighted average per row): {ratios(bounds.hull)}",
        f"non-negative linear stack, cross-fitted over the folds (no bound: a real estimate): "
        f"{ratios(bounds.stack_cross_fitted)}",
        _verdict("blend", bounds.linear_in_sample / blend, blend_target),
        _verdict("best single", bounds.linear_in_sample / best_single, single_target),
    ]
    return lines


def _verdict(baseline: str, bound: float, target: float) -> str:
    if bound <= target:
        return (f"target <= {target} x {baseline}: within reach of a linear combiner "
                f"(in-sample bound {bound:.4f})")
    return (f"target <= {target} x {baseline}: OUT OF REACH for any linear combiner of these "
            f"learners (in-sample bound {bound:.4f}); it needs a stronger or more diverse "
            f"learner")


def correlation_lines(bounds: Ceilings) -> list[str]:
    """The learners' error correlations as a table."""
    width = max(len(n) for n in bounds.names)
    lines = ["error correlations:",
             " " * (width + 2) + "  ".join(f"{n:>{width}}" for n in bounds.names)]
    for name, row in zip(bounds.names, bounds.error_correlation, strict=True):
        lines.append(f"  {name:<{width}}" + "  ".join(f"{v:>{width}.3f}" for v in row))
    return lines
