"""A template-style pipeline module written with plain SageMaker SDK v3 calls (no builder).

Like a SageMaker Projects template it builds its own PipelineSession and uploads its code
while `definition()` runs: ScriptProcessor code (shape a) and ModelTrainer source code with
the SDK's sm_drivers (shape b). Chain: Preprocess -> Train -> Evaluate (PropertyFile) ->
CheckRmse -> Register | RmseTooHigh.
"""
# ruff: noqa: E402  (the offline environment must be set before sagemaker is imported)
from __future__ import annotations

import os

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")

import boto3
import sagemaker.core.telemetry.telemetry_logging as _telemetry
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.parameter import CategoricalParameter, ContinuousParameter
from sagemaker.core.processing import ScriptProcessor
from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig, SourceCode
from sagemaker.core.workflow.conditions import ConditionLessThanOrEqualTo
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.pipeline_definition_config import PipelineDefinitionConfig
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep, TuningStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer
from sagemaker.train.tuner import HyperparameterTuner

_telemetry._send_telemetry_request = lambda *args, **kwargs: None

CODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "code")
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def get_pipeline(region: str, role: str | None = None, default_bucket: str | None = None,
                 model_package_group_name: str = "template-models",
                 pipeline_name: str = "template-pipeline") -> Pipeline:
    bucket = default_bucket or "template-bucket"
    role = role or "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
    session = PipelineSession(boto_session=boto3.Session(region_name=region),
                              default_bucket=bucket)
    session._default_bucket = bucket  # default_bucket() would probe S3 otherwise

    input_data = ParameterString("InputDataUrl", default_value=f"s3://{bucket}/raw/data.csv")
    threshold = ParameterFloat("RmseThreshold", default_value=1.0)
    approval = ParameterString("ModelApprovalStatus", default_value="PendingManualApproval")

    def processor(name: str) -> ScriptProcessor:
        return ScriptProcessor(image_uri=IMAGE, command=["python3"], role=role,
                               instance_type="ml.m5.xlarge", instance_count=1,
                               base_job_name=name, sagemaker_session=session)

    def output(name: str, prefix: str) -> ProcessingOutput:
        return ProcessingOutput(output_name=name, s3_output=ProcessingS3Output(
            s3_uri=f"s3://{bucket}/{prefix}/{name}", local_path=f"/opt/ml/processing/{name}",
            s3_upload_mode="EndOfJob"))

    def s3_input(name: str, source, destination: str) -> ProcessingInput:
        return ProcessingInput(input_name=name, s3_input=ProcessingS3Input(
            s3_uri=source, local_path=destination, s3_data_type="S3Prefix",
            s3_input_mode="File"))

    preprocess = ProcessingStep(name="Preprocess", step_args=processor("preprocess").run(
        code=os.path.join(CODE_DIR, "preprocess.py"),
        inputs=[s3_input("raw", input_data, "/opt/ml/processing/input")],
        outputs=[output("train", "preprocess"), output("validation", "preprocess")],
        arguments=["--input", "/opt/ml/processing/input", "--train", "/opt/ml/processing/train",
                   "--validation", "/opt/ml/processing/validation",
                   "--run-id", ExecutionVariables.PIPELINE_EXECUTION_ID]))
    train_uri = preprocess.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri

    trainer = ModelTrainer(
        training_image=IMAGE, role=role, base_job_name="train", sagemaker_session=session,
        source_code=SourceCode(source_dir=CODE_DIR, entry_script="train.py"),
        compute=Compute(instance_type="ml.m5.xlarge", instance_count=1),
        hyperparameters={"learning_rate": 0.01, "kind": "good"},
        output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/train"))
    train = TrainingStep(name="Train", step_args=trainer.train(
        input_data_config=[InputData(channel_name="train", data_source=train_uri)]))
    model_uri = train.properties.ModelArtifacts.S3ModelArtifacts

    report = PropertyFile(name="EvaluationReport", output_name="evaluation",
                          path="evaluation.json")
    evaluate = ProcessingStep(name="Evaluate", property_files=[report],
                              step_args=processor("evaluate").run(
        code=os.path.join(CODE_DIR, "evaluate.py"),
        inputs=[s3_input("model", model_uri, "/opt/ml/processing/model")],
        outputs=[output("evaluation", "evaluate")],
        arguments=["--model", "/opt/ml/processing/model",
                   "--output", "/opt/ml/processing/evaluation"]))
    evaluation_uri = Join(on="/", values=[
        evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
        "evaluation.json"])

    builder = ModelBuilder(s3_model_data_url=model_uri, image_uri=IMAGE, role_arn=role,
                           sagemaker_session=session)
    register = ModelStep(name="Register", step_args=builder.register(
        model_package_group_name=model_package_group_name, approval_status=approval,
        content_types=["text/csv"], response_types=["text/csv"],
        inference_instances=["ml.m5.large"], transform_instances=["ml.m5.large"],
        model_metrics=ModelMetrics(model_statistics=MetricsSource(
            s3_uri=evaluation_uri, content_type="application/json"))))
    rmse = JsonGet(step_name=evaluate.name, property_file=report,
                   json_path="regression_metrics.rmse.value")
    too_high = FailStep(name="RmseTooHigh",
                        error_message=Join(on=" ", values=["rmse above", threshold]))
    check = ConditionStep(name="CheckRmse",
                          conditions=[ConditionLessThanOrEqualTo(left=rmse, right=threshold)],
                          if_steps=[register], else_steps=[too_high])
    return Pipeline(name=pipeline_name, parameters=[input_data, threshold, approval],
                    steps=[preprocess, train, evaluate, check], sagemaker_session=session,
                    pipeline_definition_config=PipelineDefinitionConfig(
                        use_custom_job_prefix=False))


def get_tuning_pipeline(region: str, strategy: str = "Bayesian",
                        default_bucket: str | None = None) -> Pipeline:
    """Preprocess -> Tune (a HyperparameterTuner over a source-code ModelTrainer, the
    sagemaker_program / sagemaker_submit_directory shape) -> Register the top model."""
    bucket = default_bucket or "template-bucket"
    role = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
    session = PipelineSession(boto_session=boto3.Session(region_name=region),
                              default_bucket=bucket)
    session._default_bucket = bucket
    input_data = ParameterString("InputDataUrl", default_value=f"s3://{bucket}/raw/data.csv")
    preprocess = ProcessingStep(name="Preprocess", step_args=ScriptProcessor(
        image_uri=IMAGE, command=["python3"], role=role, instance_type="ml.m5.xlarge",
        instance_count=1, base_job_name="preprocess", sagemaker_session=session).run(
        code=os.path.join(CODE_DIR, "preprocess.py"),
        inputs=[ProcessingInput(input_name="raw", s3_input=ProcessingS3Input(
            s3_uri=input_data, local_path="/opt/ml/processing/input", s3_data_type="S3Prefix",
            s3_input_mode="File"))],
        outputs=[ProcessingOutput(output_name=name, s3_output=ProcessingS3Output(
            s3_uri=f"s3://{bucket}/preprocess/{name}", local_path=f"/opt/ml/processing/{name}",
            s3_upload_mode="EndOfJob")) for name in ("train", "validation")],
        arguments=["--input", "/opt/ml/processing/input", "--train", "/opt/ml/processing/train",
                   "--validation", "/opt/ml/processing/validation"]))
    trainer = ModelTrainer(
        training_image=IMAGE, role=role, base_job_name="tuning", sagemaker_session=session,
        source_code=SourceCode(source_dir=CODE_DIR, entry_script="train.py"),
        compute=Compute(instance_type="ml.m5.xlarge", instance_count=1),
        hyperparameters={"depth": 3},
        output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/tuning"))
    tuner = HyperparameterTuner(
        model_trainer=trainer, objective_metric_name="validation:rmse",
        objective_type="Minimize", strategy=strategy, max_jobs=4, max_parallel_jobs=2,
        metric_definitions=[{"Name": "validation:rmse",
                             "Regex": r"validation:rmse=([0-9.]+);"}],
        hyperparameter_ranges={
            "learning_rate": ContinuousParameter(0.0001, 1.0, scaling_type="Logarithmic"),
            "kind": CategoricalParameter(["good", "bad"])})
    train_uri = preprocess.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri
    tune = TuningStep(name="Tune", step_args=tuner.tune(
        inputs=[InputData(channel_name="train", data_source=train_uri)]))
    builder = ModelBuilder(
        s3_model_data_url=tune.get_top_model_s3_uri(top_k=0, s3_bucket=bucket, prefix="tuning"),
        image_uri=IMAGE, role_arn=role, sagemaker_session=session)
    register = ModelStep(name="Register", step_args=builder.register(
        model_package_group_name="tuned-models", content_types=["text/csv"],
        response_types=["text/csv"], inference_instances=["ml.m5.large"],
        transform_instances=["ml.m5.large"]))
    return Pipeline(name="tuning-pipeline", parameters=[input_data],
                    steps=[preprocess, tune, register], sagemaker_session=session,
                    pipeline_definition_config=PipelineDefinitionConfig(
                        use_custom_job_prefix=False))
