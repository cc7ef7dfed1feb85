"""Processing job: score the trained ensemble on the held-out test split, against baselines.

Loads the model with the inference handler's model_fn (from model.tar.gz or an extracted model
directory) and writes, beside each other in the output folder, model_quality.json (the chosen
ensemble in SageMaker Model Monitor's format, steps/common/model_quality.py: what the registered
package carries as ModelQuality.Statistics), plots/*.png (steps/common/plots.py) and
contract.EVALUATION_REPORT, our own report:
- the chosen ensemble's metrics under contract.METRICS_SECTION[problem type] (each {"value",
  "standard_deviation"}, the deviation from a seeded bootstrap over test rows), plus every
  learner's and combiner's metrics;
- `baselines`: the naive predictor (the training split's mean, or its class shares) scored on
  the same test rows, and the best single learner;
- `relative`: the ensemble against them (loss ratios; R² or accuracy and AUC);
- `gate`: the quality gate's verdict (steps/common/tabular_gate.py), which the pipeline's
  condition reads (`gate.failed`) and its Fail step quotes (`gate.message`).
"""
from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from steps.common import metrics, plots
from steps.common.cli import StepArgumentParser, run_step
from steps.common.files import model_directory, read_csv_table, write_json_atomic
from steps.common.metrics import with_deviation
from steps.common.model_quality import (
    MODEL_QUALITY_REPORT,
    classification_report,
    regression_report,
)
from steps.common.tabular_gate import (
    GateSettings,
    absolute_check,
    baseline_check,
    member_check,
    verdict,
)
from steps.stacked_ensemble import contract, inference
from steps.stacked_ensemble.ensemble import Ensemble
from steps.stacked_ensemble.features import coerce, split_target

logger = logging.getLogger(__name__)
NAIVE = {contract.REGRESSION: "the training mean",
         contract.CLASSIFICATION: "the training class shares"}


def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="evaluate.py", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default="/opt/ml/processing/model",
                        help="a folder holding model.tar.gz, or an extracted model directory")
    parser.add_argument("--test-dir", default="/opt/ml/processing/test")
    parser.add_argument("--train-dir", default="/opt/ml/processing/train",
                        help="the training split: the naive baseline predicts its mean or "
                             "class shares")
    parser.add_argument("--output-dir", default="/opt/ml/processing/evaluation")
    parser.add_argument("--min-improvement", type=float, default=GateSettings.min_improvement,
                        help="MinImprovementOverBaseline")
    parser.add_argument("--best-learner-tolerance", type=float,
                        default=GateSettings.member_tolerance, help="BestLearnerTolerance")
    parser.add_argument("--quality-threshold", type=float,
                        default=GateSettings.absolute_threshold,
                        help="QualityThreshold (0: no absolute bar)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the bootstrap")
    return parser


def naive_predictions(model: Ensemble, y_train: np.ndarray, rows: int) -> np.ndarray:
    """What a model without features predicts for every row: the training mean (regression)
    or the training class shares (classification)."""
    if not model.task.is_classification:
        return np.full(rows, float(np.mean(y_train)))
    shares = np.bincount(y_train, minlength=len(model.task.classes)) / len(y_train)
    return np.tile(shares, (rows, 1))


def _auc(y: np.ndarray, proba: np.ndarray) -> float | None:
    """ROC AUC (one-vs-rest, macro for several classes); None when a class is absent."""
    if len(np.unique(y)) != proba.shape[1]:
        return None
    if proba.shape[1] == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    return float(roc_auc_score(y, proba, multi_class="ovr", average="macro"))


def relative_figures(is_classification: bool, y: np.ndarray, ensemble: np.ndarray,
                     ensemble_scores: dict, naive_scores: dict) -> dict[str, Any]:
    """The ensemble's test figures next to the naive predictor's."""
    loss = contract.OBJECTIVE_METRIC[contract.CLASSIFICATION if is_classification
                                     else contract.REGRESSION]
    figures: dict[str, Any] = {
        f"{loss}_ratio_to_naive": ensemble_scores[loss]["value"] / naive_scores[loss]["value"]
        if naive_scores[loss]["value"] > 0 else None}
    if is_classification:
        figures.update({"accuracy": ensemble_scores["accuracy"]["value"],
                        "naive_accuracy": naive_scores["accuracy"]["value"],
                        "auc": _auc(y, ensemble), "naive_auc": 0.5})
    else:
        figures["r2"] = ensemble_scores["r2"]["value"]
    return figures


def quality_gate(model: Ensemble, y: np.ndarray, chosen: np.ndarray, naive: np.ndarray,
                 learner_preds: dict[str, np.ndarray], settings: GateSettings) -> dict[str, Any]:
    """The gate's verdict for the chosen ensemble on these test rows."""
    task = model.task
    loss = contract.OBJECTIVE_METRIC[task.problem_type]
    loss_of = metrics.metric_functions(task.is_classification)[loss]
    model_loss = loss_of(y, chosen)
    best = min(learner_preds, key=lambda name: loss_of(y, learner_preds[name]))
    difference = (metrics.row_losses(task.is_classification, y, chosen)
                  - metrics.row_losses(task.is_classification, y, learner_preds[best]))
    headline = contract.QUALITY_METRIC[task.problem_type]
    checks = [
        baseline_check(loss, model_loss, loss_of(y, naive), NAIVE[task.problem_type],
                       settings.min_improvement),
        member_check(loss, model_loss, best, loss_of(y, learner_preds[best]), difference,
                     settings.member_tolerance),
        absolute_check(headline, metrics.metric_functions(task.is_classification)[headline](
            y, chosen), settings.absolute_threshold, contract.LOWER_IS_BETTER[headline]),
    ]
    return verdict(checks, settings)


@dataclass(frozen=True)
class TestPredictions:
    """What the model and the naive predictor say about the test rows."""

    y: np.ndarray                       # targets (class indices for classification)
    naive: np.ndarray
    learners: dict[str, np.ndarray]
    combiners: dict[str, np.ndarray]


def predict_test_split(model: Ensemble, test_dir: Path, train_dir: Path) -> TestPredictions:
    """Every learner's, combiner's and the naive predictor's predictions for the test split."""
    task = model.task
    target = model.metadata["target"]
    dtypes = model.spec.csv_dtypes()
    features, test_target = split_target(read_csv_table(test_dir, dtype=dtypes), target,
                                         "test split")
    x = coerce(features, model.spec, "test split")
    y = task.encode(test_target, "test split")
    _, train_target = split_target(read_csv_table(train_dir, dtype=dtypes), target,
                                   "training split")
    naive = naive_predictions(model, task.encode(train_target, "training split"), len(y))
    learner_preds, combined = model.predict_all(x)
    return TestPredictions(y, naive, learner_preds, combined)


def evaluate(model: Ensemble, test_dir: Path, train_dir: Path, settings: GateSettings,
             seed: int) -> dict[str, Any]:
    """The evaluation report for the test split in `test_dir`."""
    return report_for(model, predict_test_split(model, test_dir, train_dir), settings, seed)


def report_for(model: Ensemble, predictions: TestPredictions, settings: GateSettings,
               seed: int) -> dict[str, Any]:
    """The evaluation report (our own layout) of these test predictions."""
    task = model.task
    y, naive = predictions.y, predictions.naive
    learner_preds, combined = predictions.learners, predictions.combiners

    def scored(pred: np.ndarray) -> dict[str, dict[str, float]]:
        return with_deviation(metrics.metric_functions(task.is_classification), y, pred, seed)

    report: dict[str, Any] = {
        "problem_type": task.problem_type,
        "chosen_combiner": model.chosen,
        "rows": len(y),
        "learners": {n: scored(p) for n, p in learner_preds.items()},
        "combiners": {n: scored(p) for n, p in combined.items()},
    }
    chosen_scores = report["combiners"][model.chosen]
    naive_scores = scored(naive)
    loss = contract.OBJECTIVE_METRIC[task.problem_type]
    best = min(report["learners"], key=lambda n: report["learners"][n][loss]["value"])
    report[contract.METRICS_SECTION[task.problem_type]] = chosen_scores
    report["baselines"] = {
        "naive": {"predicts": NAIVE[task.problem_type], **naive_scores},
        "best_learner": {"name": best, **report["learners"][best]},
    }
    report["relative"] = relative_figures(task.is_classification, y, combined[model.chosen],
                                          chosen_scores, naive_scores)
    report["gate"] = quality_gate(model, y, combined[model.chosen], naive, learner_preds,
                                  settings)
    return report


def model_quality(model: Ensemble, predictions: TestPredictions, seed: int) -> dict[str, Any]:
    """The chosen ensemble's figures in SageMaker Model Monitor's format (the registry's)."""
    chosen = predictions.combiners[model.chosen]
    if model.task.is_classification:
        return classification_report(predictions.y, chosen, model.task.classes, seed)
    return regression_report(predictions.y, chosen, seed)


def draw_plots(model: Ensemble, predictions: TestPredictions, report: dict[str, Any],
               directory: Path) -> list[Path]:
    """The chosen ensemble on the test rows, every member's and combiner's test loss, and the
    chosen combiner's weights."""
    task, chosen = model.task, model.chosen
    y, pred = predictions.y, predictions.combiners[chosen]
    title = f"{chosen} ensemble, {len(y)} test rows"
    if task.is_classification:
        paths = plots.classification_plots(y, pred, task.classes, directory, title)
    else:
        paths = [plots.predicted_vs_actual(y, pred, directory / "predicted_vs_actual.png", title),
                 plots.residuals(y, pred, directory / "residuals.png", title)]
    loss = contract.OBJECTIVE_METRIC[task.problem_type]
    members = {**report["learners"], **report["combiners"],
               "naive": report["baselines"]["naive"]}
    paths.append(plots.metric_bars(
        {name: (scores[loss]["value"], scores[loss]["standard_deviation"])
         for name, scores in members.items()}, directory / "members.png", loss,
        f"test {loss} of every learner and combiner (chosen: {chosen})", highlight=(chosen,)))
    params = model.combiner_params[chosen]
    learners = contract.LEARNERS[task.problem_type]
    member_weights = params.get("weights") or params.get("coefficients")
    if member_weights is not None and np.ndim(member_weights) == 1:
        paths.append(plots.weights(dict(zip(learners, member_weights, strict=True)),
                                   directory / "combiner_weights.png",
                                   f"{chosen}: weight of each learner"))
    return paths


def run(args: Any) -> dict[str, Any]:
    settings = GateSettings(args.min_improvement, args.best_learner_tolerance,
                            args.quality_threshold)
    output = Path(args.output_dir)
    with tempfile.TemporaryDirectory() as scratch:
        location = model_directory(Path(args.model_dir), Path(scratch), contract.MODEL_METADATA)
        model = inference.model_fn(str(location))
        predictions = predict_test_split(model, Path(args.test_dir), Path(args.train_dir))
    report = report_for(model, predictions, settings, args.seed)
    write_json_atomic(output / MODEL_QUALITY_REPORT, model_quality(model, predictions, args.seed))
    draw_plots(model, predictions, report, output / plots.PLOTS_DIR)
    write_json_atomic(output / contract.EVALUATION_REPORT, report)
    section = report[contract.METRICS_SECTION[report["problem_type"]]]
    logger.info("test metrics of %s on %d rows: %s", report["chosen_combiner"], report["rows"],
                {name: round(m["value"], 6) for name, m in section.items()})
    logger.info("quality gate %s: %s", "passed" if report["gate"]["passed"] else "FAILED",
                report["gate"]["message"])
    return report


def main(argv: list[str] | None = None) -> int:
    return run_step(run, build_parser().parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
