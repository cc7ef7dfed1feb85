"""Evaluation plots, drawn where the data is: PNG files beside the evaluation report.

Every evaluation step writes its plots to `<output>/plots/` (PLOTS_DIR), so they travel with the
report to S3, the execution page and MLflow. matplotlib runs headless (Agg); each file is
written atomically. The figures are the usual ones for the problem type: predicted against
actual and residuals (regression); ROC, precision-recall, confusion matrix and calibration
(classification); bars with error bars to compare models.
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
import numpy as np  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import precision_recall_curve, roc_curve  # noqa: E402

from steps.common.atomic import write_bytes_atomic  # noqa: E402

PLOTS_DIR = "plots"
DPI = 100
_SIZE = (6.0, 4.5)


def save(figure: plt.Figure, path: Path) -> Path:
    """Write `figure` as a PNG at `path` (atomically) and close it."""
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    write_bytes_atomic(path, buffer.getvalue())
    return path


def predicted_vs_actual(y: np.ndarray, pred: np.ndarray, path: Path, title: str) -> Path:
    """Each test row's prediction against its target, with the line of perfect predictions."""
    figure, axes = plt.subplots(figsize=_SIZE)
    axes.scatter(y, pred, s=12, alpha=0.6)
    low, high = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    axes.plot([low, high], [low, high], color="black", linewidth=1, label="perfect")
    axes.set(xlabel="actual", ylabel="predicted", title=title)
    axes.legend(loc="upper left")
    return save(figure, path)


def residuals(y: np.ndarray, pred: np.ndarray, path: Path, title: str) -> Path:
    """Residuals (actual - predicted) against the prediction, and their distribution."""
    figure, (scatter, histogram) = plt.subplots(1, 2, figsize=(10.0, 4.0))
    error = y - pred
    scatter.scatter(pred, error, s=12, alpha=0.6)
    scatter.axhline(0.0, color="black", linewidth=1)
    scatter.set(xlabel="predicted", ylabel="actual - predicted", title=title)
    histogram.hist(error, bins=min(30, max(5, len(error) // 5)))
    histogram.set(xlabel="actual - predicted", ylabel="rows", title="residual distribution")
    return save(figure, path)


def metric_bars(figures: Mapping[str, tuple[float, float | None]], path: Path, metric: str,
                title: str, highlight: Sequence[str] = ()) -> Path:
    """One bar per model with its bootstrap standard deviation; `highlight` bars stand out."""
    names = list(figures)
    values = [figures[n][0] for n in names]
    errors = [figures[n][1] or 0.0 for n in names]
    colours = ["tab:orange" if n in highlight else "tab:blue" for n in names]
    figure, axes = plt.subplots(figsize=(max(6.0, 0.9 * len(names) + 2.0), 4.5))
    axes.bar(names, values, yerr=errors, color=colours, capsize=4)
    axes.set(ylabel=f"test {metric}", title=title)
    axes.tick_params(axis="x", labelrotation=30)
    return save(figure, path)


def weights(weights_by_name: Mapping[str, float], path: Path, title: str) -> Path:
    """A combiner's weight (or coefficient) per member."""
    figure, axes = plt.subplots(figsize=_SIZE)
    axes.bar(list(weights_by_name), list(weights_by_name.values()), color="tab:green")
    axes.axhline(0.0, color="black", linewidth=1)
    axes.set(ylabel="weight", title=title)
    return save(figure, path)


def classification_plots(y: np.ndarray, proba: np.ndarray, labels: Sequence[object],
                         directory: Path, title: str) -> list[Path]:
    """ROC, precision-recall (one-vs-rest per class beyond two), confusion matrix and
    calibration of class probabilities `proba` against class indices `y`."""
    names = [str(label) for label in labels]
    shown = [1] if len(names) == 2 else list(range(len(names)))
    roc_figure, roc_axes = plt.subplots(figsize=_SIZE)
    pr_figure, pr_axes = plt.subplots(figsize=_SIZE)
    for k in shown:
        truth = (y == k).astype(int)
        if truth.min() == truth.max():
            continue  # the class is absent (or alone) in the test rows: no curve
        fpr, tpr, _ = roc_curve(truth, proba[:, k])
        roc_axes.plot(fpr, tpr, label=f"class {names[k]}")
        precision, recall, _ = precision_recall_curve(truth, proba[:, k])
        pr_axes.plot(recall, precision, label=f"class {names[k]}")
    roc_axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    roc_axes.set(xlabel="false positive rate", ylabel="true positive rate",
                 title=f"{title}: ROC")
    roc_axes.legend(loc="lower right")
    pr_axes.set(xlabel="recall", ylabel="precision", title=f"{title}: precision-recall")
    pr_axes.legend(loc="lower left")
    paths = [save(roc_figure, directory / "roc.png"),
             save(pr_figure, directory / "precision_recall.png"),
             confusion(y, np.argmax(proba, axis=1), names, directory / "confusion_matrix.png",
                       title)]
    paths.append(calibration(y, proba, shown, names, directory / "calibration.png", title))
    return paths


def confusion(y: np.ndarray, predicted: np.ndarray, names: Sequence[str], path: Path,
              title: str) -> Path:
    """Counts of actual (rows) against predicted (columns) classes."""
    counts = np.zeros((len(names), len(names)), dtype=int)
    np.add.at(counts, (y, predicted), 1)
    figure, axes = plt.subplots(figsize=_SIZE)
    image = axes.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=axes)
    axes.set_xticks(range(len(names)), names, rotation=30)
    axes.set_yticks(range(len(names)), names)
    for (row, column), count in np.ndenumerate(counts):
        axes.text(column, row, str(count), ha="center", va="center",
                  color="white" if count > counts.max() / 2 else "black")
    axes.set(xlabel="predicted", ylabel="actual", title=f"{title}: confusion matrix")
    return save(figure, path)


def calibration(y: np.ndarray, proba: np.ndarray, shown: Sequence[int], names: Sequence[str],
                path: Path, title: str) -> Path:
    """Observed frequency against predicted probability, per shown class (reliability)."""
    figure, axes = plt.subplots(figsize=_SIZE)
    bins = max(3, min(10, len(y) // 10))
    for k in shown:
        observed, predicted = calibration_curve((y == k).astype(int), proba[:, k], n_bins=bins)
        axes.plot(predicted, observed, marker="o", label=f"class {names[k]}")
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    axes.set(xlabel="predicted probability", ylabel="observed frequency",
             title=f"{title}: calibration")
    axes.legend(loc="upper left")
    return save(figure, path)
