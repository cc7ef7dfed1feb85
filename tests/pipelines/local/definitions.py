"""Hand-written fixture definitions (2-5 steps), in the exact JSON shapes SDK v3 emits.

Code objects are uploaded by `upload_code` under s3://fixture-bucket/code/; the scripts live
in tests/local/code/.
"""
from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

from runtime.ports.object_store import ObjectStore

BUCKET = "fixture-bucket"
CODE = f"s3://{BUCKET}/code"
CODE_DIR = Path(__file__).parent / "code"
SOURCEDIR = f"{CODE}/sourcedir.tar.gz"
DATA = f"s3://{BUCKET}/raw/data.csv"
METRICS = [{"Name": "validation:rmse", "Regex": r"validation:rmse=([0-9.]+);"}]


def upload_code(store: ObjectStore) -> None:
    for script in CODE_DIR.glob("*.py"):
        store.write_bytes(f"{CODE}/{script.name}", script.read_bytes())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(CODE_DIR / "train.py", arcname="train.py")
    store.write_bytes(SOURCEDIR, buffer.getvalue())


def sample_rows(n: int = 20) -> bytes:
    return "".join(f"{x},{2 * x + (x % 3) * 0.1}\n" for x in range(1, n + 1)).encode()


def parameters(**extra: Any) -> list[dict[str, Any]]:
    declared = [{"Name": "InputDataUrl", "Type": "String", "DefaultValue": DATA},
                {"Name": "RmseThreshold", "Type": "Float", "DefaultValue": 1.0},
                {"Name": "LearningRate", "Type": "String", "DefaultValue": "0.01"},
                {"Name": "ModelApprovalStatus", "Type": "String",
                 "DefaultValue": "PendingManualApproval"},
                {"Name": "TrainingInstanceCount", "Type": "Integer", "DefaultValue": 1}]
    return declared + [{"Name": k, **v} for k, v in extra.items()]


def s3_input(name: str, uri: Any, local_path: str) -> dict[str, Any]:
    return {"InputName": name, "S3Input": {
        "S3Uri": uri, "LocalPath": local_path, "S3DataType": "S3Prefix", "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"}}


def processing(name: str, script: str, inputs: list[dict], outputs: dict[str, str],
               arguments: list[Any], **extra: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "Processing", "Arguments": {
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge",
                                                  "InstanceCount": 1, "VolumeSizeInGB": 30}},
        "AppSpecification": {"ImageUri": "local/sklearn:latest",
                             "ContainerEntrypoint": ["python3",
                                                     f"/opt/ml/processing/input/code/{script}"],
                             "ContainerArguments": arguments},
        "RoleArn": "arn:aws:iam::123456789012:role/Role",
        "ProcessingInputs": [*inputs, s3_input("code", f"{CODE}/{script}",
                                               "/opt/ml/processing/input/code")],
        "ProcessingOutputConfig": {"Outputs": [
            {"OutputName": out, "S3Output": {"S3Uri": uri, "LocalPath": f"/opt/ml/processing/{out}",
                                             "S3UploadMode": "EndOfJob"}}
            for out, uri in outputs.items()]}}, **extra}


def output_uri(step: str, output: str) -> dict[str, str]:
    return {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri"}


def channel(name: str, uri: Any) -> dict[str, Any]:
    return {"ChannelName": name, "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}},
        "InputMode": "File"}


def training_definition(hyperparameters: dict[str, Any], output_path: str) -> dict[str, Any]:
    """Shape (c): sagemaker_program + sagemaker_submit_directory, as a tuner emits it."""
    return {"AlgorithmSpecification": {"TrainingInputMode": "File",
                                       "TrainingImage": "local/sklearn:latest",
                                       "MetricDefinitions": METRICS},
            "RoleArn": "arn:aws:iam::123456789012:role/Role",
            "OutputDataConfig": {"S3OutputPath": output_path},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge",
                               "InstanceCount": {"Get": "Parameters.TrainingInstanceCount"},
                               "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "HyperParameters": {"sagemaker_program": '"train.py"',
                                "sagemaker_submit_directory": f'"{SOURCEDIR}"',
                                **hyperparameters},
            "InputDataConfig": [channel("train", output_uri("Preprocess", "train"))]}


def preprocess_step(**extra: Any) -> dict[str, Any]:
    return processing(
        "Preprocess", "preprocess.py",
        [s3_input("raw", {"Get": "Parameters.InputDataUrl"}, "/opt/ml/processing/input")],
        {"train": f"s3://{BUCKET}/preprocess/train",
         "validation": f"s3://{BUCKET}/preprocess/validation"},
        ["--input", "/opt/ml/processing/input", "--train", "/opt/ml/processing/train",
         "--validation", "/opt/ml/processing/validation",
         "--run-id", {"Get": "Execution.PipelineExecutionId"}], **extra)


def train_step(**hyperparameters: Any) -> dict[str, Any]:
    hps = {"learning_rate": {"Get": "Parameters.LearningRate"}, **hyperparameters}
    return {"Name": "Train", "Type": "Training",
            "Arguments": training_definition(hps, f"s3://{BUCKET}/train")}


def evaluate_step(model_uri: Any, offset: float = 0.0) -> dict[str, Any]:
    return processing(
        "Evaluate", "evaluate.py", [s3_input("model", model_uri, "/opt/ml/processing/model")],
        {"evaluation": f"s3://{BUCKET}/evaluate/evaluation"},
        ["--model", "/opt/ml/processing/model", "--output", "/opt/ml/processing/evaluation",
         "--rmse-offset", str(offset)],
        PropertyFiles=[{"PropertyFileName": "EvaluationReport", "OutputName": "evaluation",
                        "FilePath": "evaluation.json"}])


def register_step(model_uri: Any) -> dict[str, Any]:
    return {"Name": "Register", "Type": "RegisterModel", "Arguments": {
        "ModelPackageGroupName": "fixture-models",
        "ModelMetrics": {"ModelQuality": {"Statistics": {
            "ContentType": "application/json",
            "S3Uri": {"Std:Join": {"On": "/", "Values": [output_uri("Evaluate", "evaluation"),
                                                         "evaluation.json"]}}}}},
        "InferenceSpecification": {"Containers": [{"Image": "local/sklearn:latest",
                                                   "ModelDataUrl": model_uri}],
                                   "SupportedContentTypes": ["text/csv"],
                                   "SupportedResponseMIMETypes": ["text/csv"]},
        "ModelApprovalStatus": {"Get": "Parameters.ModelApprovalStatus"}}}


def fail_step() -> dict[str, Any]:
    return {"Name": "RmseTooHigh", "Type": "Fail", "Arguments": {"ErrorMessage": {"Std:Join": {
        "On": " ", "Values": ["rmse above", {"Get": "Parameters.RmseThreshold"}]}}}}


def rmse_condition(if_steps: list, else_steps: list) -> dict[str, Any]:
    report = {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"}
    rmse = {"Std:JsonGet": {"PropertyFile": report, "Path": "regression_metrics.rmse.value"}}
    return {"Name": "CheckRmse", "Type": "Condition", "Arguments": {
        "Conditions": [{"Type": "LessThanOrEqualTo", "LeftValue": rmse,
                        "RightValue": {"Get": "Parameters.RmseThreshold"}}],
        "IfSteps": if_steps, "ElseSteps": else_steps}}


def chain_definition() -> dict[str, Any]:
    """Preprocess -> Train -> Evaluate(PropertyFile) -> CheckRmse -> Register | Fail."""
    model = {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    return {"Version": "2020-12-01", "Parameters": parameters(), "Steps": [
        preprocess_step(), train_step(), evaluate_step(model),
        rmse_condition([register_step(model)], [fail_step()])]}


def tuning_definition(strategy: str, max_jobs: int = 4) -> dict[str, Any]:
    """Preprocess -> Tune (categorical + logarithmic ranges) -> Register the top model."""
    definition = training_definition({"depth": "3"}, f"s3://{BUCKET}/tuning")
    definition["StaticHyperParameters"] = definition.pop("HyperParameters")
    tune = {"Name": "Tune", "Type": "Tuning", "Arguments": {
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "ResourceLimits": {"MaxParallelTrainingJobs": 2, "MaxNumberOfTrainingJobs": max_jobs},
            "HyperParameterTuningJobObjective": {"Type": "Minimize",
                                                 "MetricName": "validation:rmse"},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "learning_rate", "MinValue": "0.0001",
                                               "MaxValue": "1.0", "ScalingType": "Logarithmic"}],
                "CategoricalParameterRanges": [{"Name": "kind", "Values": ["good", "bad"]}]},
            "TrainingJobEarlyStoppingType": "Off"},
        "TrainingJobDefinition": definition}}
    top_model = {"Std:Join": {"On": "/", "Values": [
        "s3:/", BUCKET, "tuning", {"Get": "Steps.Tune.TrainingJobSummaries[0].TrainingJobName"},
        "output/model.tar.gz"]}}
    register = register_step(top_model)
    register["Arguments"].pop("ModelMetrics")
    return {"Version": "2020-12-01", "Parameters": parameters(),
            "Steps": [preprocess_step(), tune, register]}
