"""Keys shared by the stacked-ensemble pipeline definition and its step scripts.

The definition's metric regexes, the evaluation report's JSON paths and the file names in the
model directory are defined once here; `pipelines.stacked_ensemble.pipeline` and the scripts
under `steps/stacked_ensemble/` both import this module, so they cannot drift apart.
"""
from __future__ import annotations

import re

REGRESSION = "regression"
CLASSIFICATION = "classification"
PROBLEM_TYPES = (REGRESSION, CLASSIFICATION)

# --- metric lines -------------------------------------------------------------------------
# Training prints one line per metric: "<split>-<metric>[-<subject>]:<value>;" e.g.
#   validation-rmse:54.210000;            (the chosen ensemble: the tuning objective)
#   validation-rmse-catboost:56.080000;   (one base learner)
#   oof-rmse-stack:54.700000;             (one combiner's out-of-fold score)
# The seed's regex "validation-rmse:(.*?);" matches only the first form.
METRIC_LINE = "{name}:{value:.6f};"

# (primary metric, direction) per problem type: the tuning objective and the condition.
OBJECTIVE_METRIC = {REGRESSION: "rmse", CLASSIFICATION: "logloss"}
QUALITY_METRIC = {REGRESSION: "rmse", CLASSIFICATION: "accuracy"}
# A quality metric is "better" when lower (rmse) or higher (accuracy).
LOWER_IS_BETTER = {"rmse": True, "mae": True, "logloss": True, "accuracy": False, "r2": False}


def metric_line_name(split: str, metric: str, subject: str | None = None) -> str:
    """'validation-rmse' or 'validation-rmse-catboost'."""
    return f"{split}-{metric}" + (f"-{subject}" if subject else "")


def metric_definition(split: str, metric: str, subject: str | None = None) -> dict[str, str]:
    """The SageMaker MetricDefinition that reads one metric line: Name 'validation:rmse'."""
    line = metric_line_name(split, metric, subject)
    name = f"{split}:{metric}" + (f"-{subject}" if subject else "")
    return {"Name": name, "Regex": re.escape(line) + r":(.*?);"}


def objective_metric_name(problem_type: str) -> str:
    return f"validation:{OBJECTIVE_METRIC[problem_type]}"


# --- learners and combiners ------------------------------------------------------------------
# linear = RidgeCV (regression) / logistic (classification); kernel = RBF kernel ridge, for
# regression only: no candidate fourth learner improved classification (measured).
LEARNERS = {
    REGRESSION: ("catboost", "xgboost", "linear", "kernel"),
    CLASSIFICATION: ("catboost", "xgboost", "linear"),
}
COMBINERS = {
    REGRESSION: ("mean", "weighted", "stack"),
    CLASSIFICATION: ("hard_vote", "soft_vote", "weighted", "stack"),
}
# Combiners the training job may choose. Hard voting is scored and reported but never chosen
# by log loss: its 0/1 "probabilities" give single rows huge losses, which inflate the standard
# error the choice rule tolerates and let it through (on wine: 0.175 log loss vs 0.054 for
# stacking).
CHOOSABLE_COMBINERS = {
    REGRESSION: COMBINERS[REGRESSION],
    CLASSIFICATION: ("soft_vote", "weighted", "stack"),
}

# --- model directory -------------------------------------------------------------------------
MODEL_METADATA = "metadata.json"     # features, learners, chosen combiner, metrics, versions, seed
# The model directory's layout version, in metadata.json: 2 added learners.json, native
# categoricals in XGBoost and early-stopped rounds. Serving refuses another layout by name.
MODEL_FORMAT = 2
FOLDS_FILE = "folds.json"            # the k-fold (train, oof) row indices used for OOF predictions
COMBINER_FILE = "combiner.json"      # chosen combiner name and its weights / meta-model

# --- evaluation report (PropertyFile) ----------------------------------------------------
EVALUATION_REPORT = "evaluation.json"
EVALUATION_PROPERTY_FILE = "EvaluationReport"
EVALUATION_OUTPUT = "evaluation"
METRICS_SECTION = {REGRESSION: "regression_metrics", CLASSIFICATION: "classification_metrics"}


def quality_json_path(problem_type: str) -> str:
    """JSON path of the chosen model's quality metric in evaluation.json."""
    return f"{METRICS_SECTION[problem_type]}.{QUALITY_METRIC[problem_type]}.value"


# Folds of the out-of-fold predictions: the pipeline's k_fold, and so the fewest training rows
# a class needs (preprocessing leaves rarer classes out, saying so, rather than fail training).
K_FOLD = 5

# --- processing outputs ----------------------------------------------------------------
SPLITS = ("train", "validation", "test")
DATA_FILE = "data.csv"               # every split is one CSV with a header row
CATEGORY_ORDERS_FILE = "category_orders.json"  # beside DATA_FILE: ordered categories' orders
DATE_COLUMNS_FILE = "date_columns.json"  # beside DATA_FILE: the date columns' formats, parts
DATA_REPORT = "data_report.json"     # what preprocessing dropped and why
