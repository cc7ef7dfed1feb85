"""The model-quality statistics SageMaker documents, as JSON Schemas to validate ours against.

Transcribed from the SageMaker Developer Guide, "Model quality metrics" (Model Monitor):
the regression, binary classification and multiclass examples list every key a model-quality
statistics file holds for that problem type; each scalar is {"value", "standard_deviation"}
where the deviation may be the string "NaN"; the confusion matrix maps actual label ->
predicted label -> count; the curves are parallel lists of rates. Every documented key is
required, so a misspelt or missing one fails.
"""
from __future__ import annotations

NUMBER_OR_NAN = {"oneOf": [{"type": "number"}, {"const": "NaN"}]}
SCALAR = {"type": "object", "required": ["value", "standard_deviation"],
          "properties": {"value": NUMBER_OR_NAN, "standard_deviation": NUMBER_OR_NAN},
          "additionalProperties": False}
RATES = {"type": "array", "minItems": 1, "items": {"type": "number", "minimum": 0, "maximum": 1}}
CONFUSION_MATRIX = {"type": "object", "minProperties": 2, "additionalProperties": {
    "type": "object", "minProperties": 2,
    "additionalProperties": {"type": "integer", "minimum": 0}}}

REGRESSION = ("mae", "mse", "rmse", "r2")
BINARY = ("recall", "precision", "accuracy", "recall_best_constant_classifier",
          "precision_best_constant_classifier", "accuracy_best_constant_classifier",
          "true_positive_rate", "true_negative_rate", "false_positive_rate",
          "false_negative_rate", "auc", "f0_5", "f1", "f2", "f0_5_best_constant_classifier",
          "f1_best_constant_classifier", "f2_best_constant_classifier")
MULTICLASS = ("accuracy", "weighted_recall", "weighted_precision", "weighted_f0_5",
              "weighted_f1", "weighted_f2", "accuracy_best_constant_classifier",
              "weighted_recall_best_constant_classifier",
              "weighted_precision_best_constant_classifier",
              "weighted_f0_5_best_constant_classifier", "weighted_f1_best_constant_classifier",
              "weighted_f2_best_constant_classifier")


def _section(scalars: tuple[str, ...], extra: dict) -> dict:
    properties = {name: SCALAR for name in scalars} | extra
    return {"type": "object", "required": list(properties), "properties": properties,
            "additionalProperties": False}


def _document(section: str, body: dict) -> dict:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "required": [section], "properties": {section: body}}


SCHEMAS = {
    "regression": _document("regression_metrics", _section(REGRESSION, {})),
    "binary": _document("binary_classification_metrics", _section(BINARY, {
        "confusion_matrix": CONFUSION_MATRIX,
        "receiver_operating_characteristic_curve": {
            "type": "object", "required": ["false_positive_rates", "true_positive_rates"],
            "properties": {"false_positive_rates": RATES, "true_positive_rates": RATES},
            "additionalProperties": False},
        "precision_recall_curve": {
            "type": "object", "required": ["precisions", "recalls"],
            "properties": {"precisions": RATES, "recalls": RATES},
            "additionalProperties": False}})),
    "multiclass": _document("multiclass_classification_metrics", _section(MULTICLASS, {
        "confusion_matrix": CONFUSION_MATRIX})),
}
