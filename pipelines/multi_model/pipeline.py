"""Multi-model pipeline: one house-price model per segment (city) for a multi-model endpoint.

    PreprocessSegments -> Train<Seg> -> Evaluate<Seg> -> Check<Seg> -> Stage<Seg> -> Register<Seg>
                                      -> CheckAnySegment | NoSegmentPassed (after every Evaluate)

The list of segments is a definition-time kwarg (it shapes the graph): each segment gets its
own training, evaluation, quality condition, staging and registration steps, and segments run
in parallel. Every segment registers into its own model package group. Accepted artifacts are
staged under versioned names (`<segment>/v<N>.tar.gz`) in a staging prefix; nothing reaches
the live multi-model prefix before approval (that is `deploy-model`'s job).

Each segment's evaluation scores the naive predictor (the segment's training mean) on the same
test rows; a segment whose model does not beat it by MinImprovementOverBaseline (or whose R² is
below QualityThreshold, when that is not 0) is not registered, and its Check step shows the
outcome. Segments are independent models, so one weak segment does not stop the others; when
no segment passes, the execution ends in the NoSegmentPassed Fail step quoting the figures.
"""
from __future__ import annotations

from sagemaker.core.workflow.conditions import ConditionEquals, ConditionOr
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterString
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep

from pipelines import parameters as params
from pipelines.builder import PipelineBuilder, input_path, output_path
from pipelines.multi_model.sample_data import DEFAULT_CITIES, sample_csv
from pipelines.project_tags import get_pipeline_custom_tags  # noqa: F401  (template hook)
from steps.common.gate import GATE_FAILED_JSON_PATH, GATE_MESSAGE_JSON_PATH
from steps.common.model_quality import MODEL_QUALITY_REPORT
from steps.multi_model import contract

PIPELINE_DESCRIPTION = ("One XGBoost house-price model per segment (preprocessor + model in one "
                        "artifact), evaluated, staged under versioned names and registered per "
                        "segment for a multi-model endpoint.")
STAGED_MANIFEST = "staged.json"


def sample_data(uri: str, segments: list[str] | None = None, **_kwargs) -> bytes:
    """The local runner's sample-data hook: synthetic houses for the pipeline's segments."""
    return sample_csv(list(segments or DEFAULT_CITIES))


def get_pipeline(
    region: str | None = None,
    sagemaker_project_arn: str | None = None,
    role: str | None = None,
    default_bucket: str | None = None,
    model_package_group_name: str = "HousePrices",
    pipeline_name: str = "MultiModelPipeline",
    base_job_prefix: str = "multi-model",
    segments: list[str] | None = None,
    image_uri: str | None = None,
):
    """Build the per-segment pipeline (template-compatible signature)."""
    names = list(segments or DEFAULT_CITIES)
    ids = contract.segment_ids(names)  # ValueError naming clashing or unusable names
    for ident in ids.values():
        contract.model_package_group_name(model_package_group_name, ident)
    builder = PipelineBuilder.create(
        region=region, default_bucket=default_bucket, role=role, pipeline_name=pipeline_name,
        base_job_prefix=base_job_prefix, image_uri=image_uri, code_packages=("multi_model",))

    input_data = params.input_data_url(builder.sample_data_uri("houses.csv"))
    segment_column = ParameterString("SegmentColumn", default_value=contract.DEFAULT_SEGMENT_COLUMN)
    target_column = params.target_column(contract.DEFAULT_TARGET_COLUMN)
    ignore_columns = params.ignore_columns()
    processing_instance = params.processing_instance_type()
    training_instance = params.training_instance_type()
    approval_status = params.model_approval_status()
    gate = {"--min-improvement": params.min_improvement_over_baseline(),
            "--quality-threshold": params.quality_threshold()}

    preprocess = builder.processing_step(
        "PreprocessSegments", "multi_model/preprocess.py",
        inputs={"raw": input_data}, outputs=[contract.SEGMENTS_OUTPUT],
        arguments=["--input-dir", input_path("raw"),
                   "--output-dir", output_path(contract.SEGMENTS_OUTPUT),
                   "--segment-column", segment_column, "--target-column", target_column,
                   "--ignore-columns", ignore_columns,
                   "--segments", *contract.segments_arguments(names), "--seed", "42"],
        instance_type=processing_instance)
    segments_uri = preprocess.properties.ProcessingOutputConfig.Outputs[
        contract.SEGMENTS_OUTPUT].S3Output.S3Uri
    staging_uri = f"s3://{builder.bucket}/{pipeline_name}/staging"

    steps = [preprocess]
    verdicts = {}
    for name, ident in ids.items():
        segment_steps, verdicts[name] = _segment_steps(
            builder, ident, segments_uri, staging_uri, processing_instance, training_instance,
            approval_status, gate, model_package_group_name)
        steps.extend(segment_steps)
    return builder.build(
        parameters=[input_data, segment_column, target_column, ignore_columns, processing_instance,
                    training_instance, approval_status, *gate.values()],
        steps=[*steps, _any_segment_passed(verdicts)])


def _any_segment_passed(verdicts: dict[str, tuple[JsonGet, JsonGet]]) -> ConditionStep:
    """Fail the execution only when no segment's model passed its gate (the passing ones are
    registered by their own branches); quote the first segment's figures."""
    first_name, (_, first_message) = next(iter(verdicts.items()))
    fail = FailStep(name="NoSegmentPassed", error_message=Join(on=" ", values=[
        f"No segment's model passed its quality gate, so none was registered ({len(verdicts)} "
        f"segment(s); each Evaluate step's evaluation.json says why). {first_name}:",
        first_message]))
    passed = [ConditionEquals(left=failed, right=0) for failed, _ in verdicts.values()]
    return ConditionStep(name="CheckAnySegment", conditions=[ConditionOr(conditions=passed)],
                         if_steps=[], else_steps=[fail])


def _segment_steps(builder: PipelineBuilder, ident: str, segments_uri, staging_uri: str,
                   processing_instance, training_instance, approval_status, gate: dict,
                   group_base: str) -> tuple[list, tuple[JsonGet, JsonGet]]:
    """Train, evaluate, check, stage and register one segment; also its gate's verdict
    (failed checks, message) for the pipeline-wide condition."""
    def name(action: str) -> str:
        return contract.segment_step_name(action, ident)

    segment_dir = Join(on="/", values=[segments_uri, contract.segment_prefix(ident)])
    train = builder.training_step(
        name("Train"), "multi_model/train.py", hyperparameters={"seed": 42},
        instance_type=training_instance, channels={contract.SEGMENT_CHANNEL: segment_dir},
        metric_definitions=contract.metric_definitions())
    model_data = train.properties.ModelArtifacts.S3ModelArtifacts

    report = PropertyFile(name=contract.evaluation_property_file(ident),
                          output_name=contract.EVALUATION_OUTPUT,
                          path=contract.EVALUATION_REPORT)
    evaluate = builder.processing_step(
        name("Evaluate"), "multi_model/evaluate.py",
        inputs={"model": model_data, "segment": segment_dir},
        outputs=[contract.EVALUATION_OUTPUT],
        arguments=["--model-dir", input_path("model"), "--segment-dir", input_path("segment"),
                   "--output-dir", output_path(contract.EVALUATION_OUTPUT),
                   # CreatePipeline takes only strings in job arguments: Float parameters as text
                   *[item for flag, parameter in gate.items()
                     for item in (flag, parameter.to_string())]],
        instance_type=processing_instance, property_files=[report])
    evaluation = (evaluate.properties.ProcessingOutputConfig
                  .Outputs[contract.EVALUATION_OUTPUT].S3Output.S3Uri)

    staged = PropertyFile(name="Staged" + contract.pascal_case(ident), output_name="manifest",
                          path=STAGED_MANIFEST)
    stage = builder.processing_step(
        name("Stage"), "multi_model/stage.py",
        inputs={"model": model_data},
        outputs={"staging": staging_uri,
                 "manifest": builder.output_uri(name("Stage"), "manifest")},
        arguments=["--model-dir", input_path("model"), "--segment-id", ident,
                   # a timestamp: CreateProcessingJob takes only strings in its arguments
                   "--execution-start", Join(on="", values=[ExecutionVariables.START_DATETIME]),
                   "--staging-uri", staging_uri,
                   "--output-dir", output_path("staging"),
                   "--manifest-dir", output_path("manifest")],
        instance_type=processing_instance, property_files=[staged])
    register = builder.register_step(
        name("Register"),
        model_data=JsonGet(step_name=stage.name, property_file=staged, json_path="artifact_uri"),
        model_package_group_name=contract.model_package_group_name(group_base, ident),
        approval_status=approval_status,
        evaluation_report_uri=Join(on="/", values=[evaluation, contract.EVALUATION_REPORT]),
        model_quality_uri=Join(on="/", values=[evaluation, MODEL_QUALITY_REPORT]),
        handler=contract.INFERENCE_HANDLER, description=PIPELINE_DESCRIPTION,
        customer_metadata={"Segment": ident}, content_types=("text/csv", "application/json"))
    failed = JsonGet(step_name=evaluate.name, property_file=report,
                     json_path=GATE_FAILED_JSON_PATH)
    message = JsonGet(step_name=evaluate.name, property_file=report,
                      json_path=GATE_MESSAGE_JSON_PATH)
    check = ConditionStep(name=name("Check"), conditions=[ConditionEquals(left=failed, right=0)],
                          if_steps=[stage, register], else_steps=[])
    return [train, evaluate, check], (failed, message)
