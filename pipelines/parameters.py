"""The pipeline parameters shared by every pipeline: one name, type and default each.

People start executions from the Studio UI, so every knob is a parameter with a working default
and the same name in every pipeline (see DESIGN.md).
"""
from __future__ import annotations

from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString

APPROVAL_STATUSES = ("PendingManualApproval", "Approved", "Rejected")
DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"


def input_data_url(default: str) -> ParameterString:
    return ParameterString("InputDataUrl", default_value=default)


def processing_instance_type(default: str = DEFAULT_INSTANCE_TYPE) -> ParameterString:
    return ParameterString("ProcessingInstanceType", default_value=default)


def processing_instance_count(default: int = 1) -> ParameterInteger:
    return ParameterInteger("ProcessingInstanceCount", default_value=default)


def training_instance_type(default: str = DEFAULT_INSTANCE_TYPE) -> ParameterString:
    return ParameterString("TrainingInstanceType", default_value=default)


def max_tuning_jobs(default: int) -> ParameterInteger:
    return ParameterInteger("MaxTuningJobs", default_value=default)


def max_parallel_tuning_jobs(default: int) -> ParameterInteger:
    return ParameterInteger("MaxParallelTuningJobs", default_value=default)


def model_approval_status(default: str = "PendingManualApproval") -> ParameterString:
    return ParameterString("ModelApprovalStatus", default_value=default,
                           enum_values=list(APPROVAL_STATUSES))


def quality_threshold(default: float = 0.0) -> ParameterFloat:
    """An absolute bar on the test metric; the tabular pipelines' gates read 0 as none."""
    return ParameterFloat("QualityThreshold", default_value=default)


def min_improvement_over_baseline(default: float = 0.1) -> ParameterFloat:
    """The model's test loss must be at most (1 - this) x the naive predictor's."""
    return ParameterFloat("MinImprovementOverBaseline", default_value=default)


def best_learner_tolerance(default: float = 0.05) -> ParameterFloat:
    """An ensemble may be this much worse than its best single learner (beyond noise)."""
    return ParameterFloat("BestLearnerTolerance", default_value=default)


def target_column(default: str) -> ParameterString:
    return ParameterString("TargetColumn", default_value=default)


def target_transform(default: str = "none") -> ParameterString:
    """'log' fits a skewed positive target on the log scale; metrics stay on its own scale."""
    return ParameterString("TargetTransform", default_value=default, enum_values=["none", "log"])


def ignore_columns(default: str = "") -> ParameterString:
    """Comma-separated columns that are not features (ids, leakage); empty: none."""
    return ParameterString("IgnoreColumns", default_value=default)
