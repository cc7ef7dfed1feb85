"""Transform steps: the model a Model step created, served by its own handler, over every
input object; SplitType, BatchStrategy, MaxPayloadInMB, ContentType/Accept, AssembleWith and
DataProcessing (InputFilter, JoinSource, OutputFilter) as SageMaker applies them."""
from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

import pytest

from pipelines.api_shape_checks import check_request_shapes
from pipelines.local import InvalidDefinition, run_local_pipeline
from pipelines.local.store import local_store

from . import transform_handler
from .definitions import BUCKET, CODE_DIR

pytestmark = pytest.mark.integration

MODEL_URI = f"s3://{BUCKET}/models/scorer/model.tar.gz"
INPUT = f"s3://{BUCKET}/batch/input"
OUTPUT = f"s3://{BUCKET}/batch/output"
ROLE = "arn:aws:iam::123456789012:role/Role"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/scorer:1"


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _definition(content_type="text/csv", accept="text/csv", split="Line",
                strategy="MultiRecord", assemble="Line", processing=None, environment=None,
                **extra) -> dict:
    transform = {
        "ModelName": {"Get": "Steps.CreateScorer.ModelName"},
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                           "S3Uri": INPUT}},
                           "ContentType": content_type, "SplitType": split},
        "TransformOutput": {"S3OutputPath": OUTPUT, "Accept": accept,
                            "AssembleWith": assemble},
        "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
        "BatchStrategy": strategy, **extra}
    if processing:
        transform["DataProcessing"] = processing
    container = {"Image": IMAGE, "ModelDataUrl": MODEL_URI,
                 "Environment": environment or {"SERVE_HANDLER": transform_handler.__name__}}
    return {"Version": "2020-12-01", "Parameters": [], "Steps": [
        {"Name": "CreateScorer", "Type": "Model",
         "Arguments": {"ExecutionRoleArn": ROLE, "PrimaryContainer": container}},
        {"Name": "Score", "Type": "Transform", "Arguments": transform}]}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    store = local_store(tmp_path)
    store.write_bytes(MODEL_URI, _tar({"model.json": b'{"coef": 2}'}))
    transform_handler.calls.clear()
    return tmp_path


def _run(root: Path, inputs: dict[str, str], definition: dict):
    store = local_store(root)
    for name, text in inputs.items():
        store.write_bytes(f"{INPUT}/{name}", text.encode())
    return run_local_pipeline(definition, local_root=root, live=False)


def _out(root: Path, name: str) -> str:
    return local_store(root).read_bytes(f"{OUTPUT}/{name}.out").decode()


class TestRecordsAndBatches:
    def test_csv_lines_in_one_request_each_object_its_own_output(self, root):
        execution = _run(root, {"a.csv": "1,2\n3,4\n", "part/b.csv": "10,0\n"}, _definition())

        assert execution.status == "Succeeded", execution.failure_reason
        assert _out(root, "a.csv") == "6\n14\n"
        assert _out(root, "part/b.csv") == "20\n"
        assert transform_handler.calls == [2, 1]
        properties = execution.steps["Score"].properties
        assert properties["TransformJobStatus"] == "Completed"
        assert properties["ModelName"] == execution.steps["CreateScorer"].properties["ModelName"]

    def test_single_record_sends_one_request_per_record(self, root):
        execution = _run(root, {"a.csv": "1,2\n3,4\n5,6\n"},
                         _definition(strategy="SingleRecord"))
        assert execution.status == "Succeeded", execution.failure_reason
        assert transform_handler.calls == [1, 1, 1]
        assert _out(root, "a.csv") == "6\n14\n22\n"

    def test_max_payload_splits_multi_record_requests(self, root):
        row = ",".join(["1"] * 200_000)  # 400 kB a record: three fit in 1 MB
        execution = _run(root, {"big.csv": "\n".join([row] * 5) + "\n"},
                         _definition(MaxPayloadInMB=1))
        assert execution.status == "Succeeded", execution.failure_reason
        assert transform_handler.calls == [2, 2, 1]

    def test_split_none_sends_the_whole_object_and_assemble_none_concatenates(self, root):
        execution = _run(root, {"a.csv": "1,1\n2,2\n"},
                         _definition(split="None", assemble="None"))
        assert execution.status == "Succeeded", execution.failure_reason
        assert transform_handler.calls == [2]
        assert _out(root, "a.csv") == "4\n8"


class TestDataProcessing:
    def test_csv_input_filter_join_and_output_filter(self, root):
        processing = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,3]"}
        execution = _run(root, {"a.csv": "id-1,1,2\nid-2,3,4\n"},
                         _definition(processing=processing))
        assert execution.status == "Succeeded", execution.failure_reason
        assert _out(root, "a.csv") == "id-1,6\nid-2,14\n"

    def test_json_lines_joined_under_sagemaker_output(self, root):
        processing = {"InputFilter": "$.features", "JoinSource": "Input",
                      "OutputFilter": "$['id','SageMakerOutput']"}
        lines = [{"id": "a", "features": [1, 2], "note": "x"},
                 {"id": "b", "features": [5], "note": "y"}]
        execution = _run(root, {"a.jsonl": "\n".join(json.dumps(x) for x in lines)},
                         _definition("application/jsonlines", "application/jsonlines",
                                     processing=processing))
        assert execution.status == "Succeeded", execution.failure_reason
        assert [json.loads(x) for x in _out(root, "a.jsonl").splitlines()] == [
            {"id": "a", "SageMakerOutput": {"score": 6}},
            {"id": "b", "SageMakerOutput": {"score": 10}}]

    def test_output_filter_alone_picks_from_the_prediction(self, root):
        execution = _run(root, {"a.jsonl": '[1, 2]\n'},
                         _definition("application/json", "application/json",
                                     processing={"OutputFilter": "$.score"}))
        assert execution.status == "Succeeded", execution.failure_reason
        assert _out(root, "a.jsonl") == "6\n"

    def test_a_filter_that_does_not_apply_names_the_object_and_the_filter(self, root):
        execution = _run(root, {"a.csv": "1,2\n"},
                         _definition(processing={"InputFilter": "$.features"}))
        assert execution.status == "Failed"
        assert execution.steps["Score"].failure_reason.startswith(
            "a.csv: filter '$.features' does not apply to the record [\"1\", \"2\"]")


class TestModels:
    def test_a_template_style_inference_script(self, root):
        store = local_store(root)
        code = f"s3://{BUCKET}/code/inference/sourcedir.tar.gz"
        store.write_bytes(code, _tar({"inference.py": (CODE_DIR / "inference.py").read_bytes()}))
        environment = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": code}
        execution = _run(root, {"values.csv": "1\n2.5\n"}, _definition(environment=environment))
        assert execution.status == "Succeeded", execution.failure_reason
        assert _out(root, "values.csv") == "2\n5\n"

    def test_the_handlers_failure_fails_the_step_with_its_traceback(self, root):
        execution = _run(root, {"a.jsonl": "[]\n"}, _definition("application/json"))
        record = execution.steps["Score"]
        assert record.failure_reason == ("a.jsonl: the model's predict_fn raised ValueError: a "
                                         "row without features")
        assert "Traceback" in Path(record.log_path).read_text()

    def test_a_model_without_a_handler_is_named(self, root):
        execution = _run(root, {"a.csv": "1\n"}, _definition(environment={"X": "1"}))
        reason = execution.steps["Score"].failure_reason
        assert reason.startswith("model pipelines-CreateScorer-")
        assert "has no serving.json" in reason
        assert "a built-in algorithm's, does not run locally" in reason

    def test_a_manifest_input_is_refused_at_load_naming_the_field(self, root):
        definition = _definition()
        source = definition["Steps"][1]["Arguments"]["TransformInput"]["DataSource"]
        source["S3DataSource"]["S3DataType"] = "ManifestFile"
        with pytest.raises(InvalidDefinition, match=re.escape(
                "step 'Score' (Transform): TransformInput.DataSource.S3DataSource.S3DataType "
                "'ManifestFile' is not run locally (S3Prefix is)")):
            _run(root, {"a.csv": "1\n"}, definition)
        assert not (root / "executions").exists()

    def test_a_value_known_only_at_run_time_is_refused_before_the_step_runs(self, root):
        definition = _definition(split={"Get": "Parameters.Split"})
        definition["Parameters"] = [{"Name": "Split", "Type": "String",
                                     "DefaultValue": "RecordIO"}]
        execution = _run(root, {"a.csv": "1\n"}, definition)
        assert execution.steps["Score"].failure_reason == (
            "TransformInput.SplitType 'RecordIO' is not run locally (Line and None are)")
        assert transform_handler.calls == []


def test_the_fixture_is_a_valid_create_transform_job_request():
    processing = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,3]"}
    assert check_request_shapes(_definition(processing=processing, MaxPayloadInMB=1)) == []
