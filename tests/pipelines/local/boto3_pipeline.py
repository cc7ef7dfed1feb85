"""A template-style module whose Lambda function and callback consumer are written for AWS:
plain boto3, module-level clients, no injected ports (the seed's Lambda shape).

Seed (Lambda step: writes rows to S3 with boto3) -> Map (Callback step: the consumer reads
the rows, writes a summary beside them, lists and tidies the prefix, and answers with
`SendPipelineExecutionStepSuccess`) -> Check (Condition on the callback's output) | TooFew.
"""
# ruff: noqa: E402  (the offline environment must be set before sagemaker is imported)
from __future__ import annotations

import json
import os

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")

import boto3
import sagemaker.core.telemetry.telemetry_logging as _telemetry
from sagemaker.core.lambda_helper import Lambda
from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.core.workflow.parameters import ParameterInteger, ParameterString
from sagemaker.mlops.workflow.callback_step import (
    CallbackOutput,
    CallbackOutputTypeEnum,
    CallbackStep,
)
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.lambda_step import LambdaOutput, LambdaStep
from sagemaker.mlops.workflow.pipeline import Pipeline

_telemetry._send_telemetry_request = lambda *args, **kwargs: None

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/summaries"
SEED_ARN = "arn:aws:lambda:us-east-1:123456789012:function:seed-rows"

# As in a deployed function: clients made once, at import, from the environment.
s3 = boto3.client("s3")
sagemaker_client = boto3.client("sagemaker")


def get_pipeline(region: str = "us-east-1", pipeline_name: str = "boto3-pipeline") -> Pipeline:
    bucket = ParameterString("Bucket", default_value="boto3-bucket")
    rows = ParameterInteger("Rows", default_value=5)
    minimum = ParameterInteger("MinimumRows", default_value=3)
    prefix = Join(on="/", values=["runs", ExecutionVariables.PIPELINE_EXECUTION_ID])
    seed = LambdaStep(
        name="Seed", lambda_func=Lambda(function_arn=SEED_ARN),
        inputs={"bucket": bucket, "prefix": prefix, "rows": rows.to_string()},
        outputs=[LambdaOutput("rows_uri")])
    summarise = CallbackStep(
        name="Map", sqs_queue_url=QUEUE_URL,
        inputs={"rows_uri": seed.properties.Outputs["rows_uri"], "bucket": bucket,
                "prefix": prefix},
        outputs=[CallbackOutput("summary_uri"),
                 CallbackOutput("row_count", CallbackOutputTypeEnum.Integer)])
    enough = ConditionGreaterThanOrEqualTo(
        left=summarise.properties.Outputs["row_count"], right=minimum)
    check = ConditionStep(name="Check", conditions=[enough], if_steps=[], else_steps=[
        FailStep(name="TooFew", error_message="fewer rows than MinimumRows")])
    return Pipeline(name=pipeline_name, parameters=[bucket, rows, minimum],
                    steps=[seed, summarise, check])


def seed_rows(event, context):
    """The Lambda function: write `rows` lines under the prefix, return their URI."""
    key = f"{event['prefix']}/rows.jsonl"
    body = "".join(json.dumps({"n": n}) + "\n" for n in range(int(event["rows"])))
    s3.put_object(Bucket=event["bucket"], Key=key, Body=body.encode())
    s3.put_object(Bucket=event["bucket"], Key=f"{event['prefix']}/scratch.tmp", Body=b"x")
    return {"rows_uri": f"s3://{event['bucket']}/{key}"}


def summarise_rows(event, context):
    """The callback consumer (an SQS-triggered Lambda): read, summarise, answer the step."""
    for record in event["Records"]:
        message = json.loads(record["body"])
        arguments = message["arguments"]
        bucket, _, key = arguments["rows_uri"][len("s3://"):].partition("/")
        size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
        lines = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
        summary_key = f"{arguments['prefix']}/summary.json"
        s3.put_object(Bucket=arguments["bucket"], Key=summary_key,
                      Body=json.dumps({"rows": len(lines), "bytes": size}).encode())
        listed = s3.list_objects_v2(Bucket=arguments["bucket"], Prefix=arguments["prefix"] + "/")
        for item in listed["Contents"]:
            if item["Key"].endswith(".tmp"):
                s3.delete_object(Bucket=arguments["bucket"], Key=item["Key"])
        sagemaker_client.send_pipeline_execution_step_success(
            CallbackToken=message["token"],
            OutputParameters=[{"Name": "summary_uri",
                               "Value": f"s3://{arguments['bucket']}/{summary_key}"},
                              {"Name": "row_count", "Value": str(len(lines))}])
    return {"batchItemFailures": []}


def summarise_with_a_queue(event, context):
    """A consumer that also calls a service the local run does not offer (SQS)."""
    boto3.client("sqs").send_message(QueueUrl=QUEUE_URL, MessageBody="again")
