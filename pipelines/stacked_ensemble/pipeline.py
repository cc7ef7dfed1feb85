"""Stacked ensemble pipeline: CatBoost, XGBoost, a linear model (and, for regression, RBF kernel
ridge) trained in ONE job, combined.

    Preprocess -> TuneEnsemble -> EvaluateEnsemble -> CheckQuality -> RegisterEnsemble | QualityTooLow

One training job reads the data once, trains every base learner with k-fold out-of-fold
predictions, fits the combiners (averaging, voting, stacking on out-of-fold predictions only)
and keeps the best; one tuning job searches both boosters' hyperparameters for the whole
ensemble. The problem type is a definition-time kwarg: it fixes the tuning objective, its
direction and the quality condition's comparison.

The quality gate is relative (steps/common/tabular_gate.py): the evaluation scores the naive
predictor and every single learner on the same test rows, and the ensemble is registered when
it beats the naive predictor by MinImprovementOverBaseline and is not clearly worse than its
best learner (BestLearnerTolerance); QualityThreshold adds an absolute bar (0: none).
"""
from __future__ import annotations

from sagemaker.core.parameter import ContinuousParameter, IntegerParameter
from sagemaker.core.workflow.conditions import ConditionEquals
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep

from pipelines import parameters as params
from pipelines.builder import PipelineBuilder, input_path, output_path
from pipelines.project_tags import get_pipeline_custom_tags  # noqa: F401  (template hook)
from pipelines.stacked_ensemble.sample_data import TARGET_COLUMN, sample_csv
from steps.common.gate import GATE_FAILED_JSON_PATH, GATE_MESSAGE_JSON_PATH
from steps.common.model_quality import MODEL_QUALITY_REPORT
from steps.stacked_ensemble import contract

PIPELINE_DESCRIPTION = ("Stacked ensemble: CatBoost, XGBoost, a linear model and (regression) "
                        "kernel ridge trained in one job, blended or stacked, tuned as a whole, "
                        "evaluated and registered.")
INFERENCE_HANDLER = "steps.stacked_ensemble.inference"
SAMPLE_FILE = {contract.REGRESSION: "diabetes.csv", contract.CLASSIFICATION: "breast-cancer.csv"}

# Fixed hyperparameters of every trial; the tuned ones are in `tuning_ranges`. num_round and
# catboost_iterations are caps: each booster stops early on a slice of each fold's training rows
# and the refit's rounds follow from the folds' (metadata.json: boosting_rounds).
STATIC_HYPERPARAMETERS = {"k_fold": contract.K_FOLD, "seed": 42, "num_round": 2000,
                          "catboost_iterations": 2000, "early_stopping_rounds": 50,
                          "subsample": 0.8, "min_child_weight": 20}


def tuning_ranges() -> dict:
    """Two hyperparameters of each booster, searched together for the whole ensemble. Early
    stopping sizes the rounds, so the ranges trade tree shape against learning rate around the
    learners' defaults (depth 4, 0.1), which suit diabetes (442 rows) and diamonds (54k rows)
    alike. CatBoost's learning rate starts at 0.08 to bound the time: on diamonds (50k rows)
    the pair of trials with one at CatBoost depth 6 and 0.056 took 180 s against 81 s for a
    pair at 0.1-0.17 (alone, CatBoost at 0.05 was 2% better than at 0.1 there)."""
    return {
        "eta": ContinuousParameter(0.05, 0.2, scaling_type="Logarithmic"),
        "max_depth": IntegerParameter(3, 6),
        "catboost_learning_rate": ContinuousParameter(0.08, 0.2, scaling_type="Logarithmic"),
        "catboost_depth": IntegerParameter(4, 6),
    }


def metric_definitions(problem_type: str) -> list[dict[str, str]]:
    """The objective, then every learner's and combiner's validation metric."""
    metric = contract.OBJECTIVE_METRIC[problem_type]
    subjects = [None, *contract.LEARNERS[problem_type], *contract.COMBINERS[problem_type]]
    definitions = [contract.metric_definition("validation", metric, s) for s in subjects]
    if problem_type == contract.CLASSIFICATION:
        definitions.append(contract.metric_definition("validation", "accuracy"))
    return definitions


def sample_data(uri: str, problem_type: str = contract.REGRESSION, **_kwargs) -> bytes:
    """The local runner's sample-data hook: the bundled data set for this problem type."""
    return sample_csv(problem_type)


def get_pipeline(
    region: str | None = None,
    sagemaker_project_arn: str | None = None,
    role: str | None = None,
    default_bucket: str | None = None,
    model_package_group_name: str = "StackedEnsemblePackageGroup",
    pipeline_name: str = "StackedEnsemblePipeline",
    base_job_prefix: str = "stacked-ensemble",
    problem_type: str = contract.REGRESSION,
    image_uri: str | None = None,
    max_tuning_jobs: int = 4,
    max_parallel_tuning_jobs: int = 2,
):
    """Build the stacked-ensemble pipeline (template-compatible signature)."""
    if problem_type not in contract.PROBLEM_TYPES:
        raise ValueError(f"problem_type {problem_type!r} is not one of "
                         f"{', '.join(contract.PROBLEM_TYPES)}; pass it with --kwargs")
    builder = PipelineBuilder.create(
        region=region, default_bucket=default_bucket, role=role, pipeline_name=pipeline_name,
        base_job_prefix=base_job_prefix, image_uri=image_uri,
        code_packages=("stacked_ensemble",))

    # ---- parameters (Studio UI knobs) -------------------------------------------------------
    input_data = params.input_data_url(builder.sample_data_uri(SAMPLE_FILE[problem_type]))
    target_column = params.target_column(TARGET_COLUMN)
    ignore_columns = params.ignore_columns()
    transform = params.target_transform()
    processing_instance = params.processing_instance_type()
    training_instance = params.training_instance_type()
    max_jobs = params.max_tuning_jobs(max_tuning_jobs)
    max_parallel = params.max_parallel_tuning_jobs(max_parallel_tuning_jobs)
    approval_status = params.model_approval_status()
    min_improvement = params.min_improvement_over_baseline()
    learner_tolerance = params.best_learner_tolerance()
    threshold = params.quality_threshold()

    # ---- 1. preprocess ------------------------------------------------------------------------
    preprocess = builder.processing_step(
        "PreprocessData", "stacked_ensemble/preprocess.py",
        inputs={"raw": input_data},
        outputs=[*contract.SPLITS, "report"],
        arguments=["--input-dir", input_path("raw"), "--output-dir", output_path(""),
                   "--target-column", target_column, "--ignore-columns", ignore_columns,
                   "--target-transform", transform, "--problem-type", problem_type,
                   "--seed", "42"],
        instance_type=processing_instance)
    split_uri = {split: preprocess.properties.ProcessingOutputConfig.Outputs[split].S3Output.S3Uri
                 for split in contract.SPLITS}

    # ---- 2. tune the whole ensemble ------------------------------------------------------
    objective = contract.objective_metric_name(problem_type)
    tune = builder.tuning_step(
        "TuneEnsemble", "stacked_ensemble/train.py",
        static_hyperparameters={**STATIC_HYPERPARAMETERS, "problem_type": problem_type,
                                "target_column": target_column, "target_transform": transform},
        instance_type=training_instance,
        channels={"train": split_uri["train"], "validation": split_uri["validation"]},
        objective_metric=objective, objective_type="Minimize", ranges=tuning_ranges(),
        metric_definitions=metric_definitions(problem_type),
        max_jobs=max_jobs, max_parallel_jobs=max_parallel)
    best_model = builder.top_model_uri(tune)

    # ---- 3. evaluate on the held-out test split, against baselines and the gate --------
    report = PropertyFile(name=contract.EVALUATION_PROPERTY_FILE,
                          output_name=contract.EVALUATION_OUTPUT,
                          path=contract.EVALUATION_REPORT)
    evaluate = builder.processing_step(
        "EvaluateEnsemble", "stacked_ensemble/evaluate.py",
        inputs={"model": best_model, "test": split_uri["test"], "train": split_uri["train"]},
        outputs=[contract.EVALUATION_OUTPUT],
        arguments=["--model-dir", input_path("model"), "--test-dir", input_path("test"),
                   "--train-dir", input_path("train"),
                   "--output-dir", output_path(contract.EVALUATION_OUTPUT),
                   # CreatePipeline takes only strings in job arguments: Float parameters as text
                   "--min-improvement", min_improvement.to_string(),
                   "--best-learner-tolerance", learner_tolerance.to_string(),
                   "--quality-threshold", threshold.to_string()],
        instance_type=processing_instance, property_files=[report])
    evaluation = (evaluate.properties.ProcessingOutputConfig
                  .Outputs[contract.EVALUATION_OUTPUT].S3Output.S3Uri)

    # ---- 4. register if the gate passed, else fail quoting its figures -------------------
    register = builder.register_step(
        "RegisterEnsemble", model_data=best_model,
        model_package_group_name=model_package_group_name, approval_status=approval_status,
        evaluation_report_uri=Join(on="/", values=[evaluation, contract.EVALUATION_REPORT]),
        model_quality_uri=Join(on="/", values=[evaluation, MODEL_QUALITY_REPORT]),
        handler=INFERENCE_HANDLER,
        description=PIPELINE_DESCRIPTION, customer_metadata={"ProblemType": problem_type})
    failed_checks = JsonGet(step_name=evaluate.name, property_file=report,
                            json_path=GATE_FAILED_JSON_PATH)
    too_low = FailStep(name="QualityTooLow", error_message=Join(on=" ", values=[
        "The model was not registered:",
        JsonGet(step_name=evaluate.name, property_file=report, json_path=GATE_MESSAGE_JSON_PATH)]))
    check = ConditionStep(name="CheckQuality",
                          conditions=[ConditionEquals(left=failed_checks, right=0)],
                          if_steps=[register], else_steps=[too_low])

    return builder.build(
        parameters=[input_data, target_column, ignore_columns, transform, processing_instance,
                    training_instance, max_jobs, max_parallel, approval_status, min_improvement,
                    learner_tolerance, threshold],
        steps=[preprocess, tune, evaluate, check])
