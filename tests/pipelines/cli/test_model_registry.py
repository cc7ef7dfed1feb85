"""`model-registry` against moto (SageMaker + S3) and against the local registry."""
from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from moto import mock_aws

from pipelines.cli.model_registry import main
from runtime.model_versions import scalar_metrics
from runtime.ports.model_registry import LocalModelRegistry, SageMakerModelRegistry
from runtime.ports.object_store import LocalObjectStore, S3ObjectStore

GROUP = "diabetes-ensemble"
BUCKET = "registry-test-bucket"
REGION = "us-east-1"
# version: (approval status, evaluation report or None for a missing report object)
VERSIONS = {
    1: ("Approved", {"regression_metrics": {"rmse": {"value": 56.1}, "mae": {"value": 44.0}}}),
    2: ("Rejected", {"regression_metrics": {"rmse": {"value": 60.0}, "mae": {"value": 47.5}}}),
    3: ("PendingManualApproval",
        {"regression_metrics": {"rmse": {"value": 54.2, "standard_deviation": 1.5},
                                "mae": {"value": 42.1}}}),
    4: ("PendingManualApproval", None),
}


def execution_arn(version: int) -> str:
    return f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/p/execution/exec-{version}"


def package_request(group: str, version: int, status: str) -> dict:
    return {
        "ModelPackageGroupName": group,
        "ModelApprovalStatus": status,
        "InferenceSpecification": {
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:1",
                            "ModelDataUrl": f"s3://{BUCKET}/models/{version}/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        "ModelMetrics": {"ModelQuality": {"Statistics": {
            "ContentType": "application/json",
            "S3Uri": f"s3://{BUCKET}/evaluation/{version}/evaluation.json"}}},
        "MetadataProperties": {"GeneratedBy": execution_arn(version)},
    }


def fill(registry, store, group: str = GROUP, versions: dict = VERSIONS) -> dict[int, str]:
    """Register the versions in order; return their ARNs."""
    registry.ensure_group(group)
    arns = {}
    for version, (status, report) in versions.items():
        arns[version] = registry.create_package(package_request(group, version, status))
        if report is not None:
            store.write_bytes(f"s3://{BUCKET}/evaluation/{version}/evaluation.json",
                              json.dumps(report).encode())
    return arns


@pytest.fixture(params=["aws", "local"])
def backend(request, tmp_path, monkeypatch):
    """(CLI options that select the backend, ARNs by version, registry, object store)."""
    if request.param == "local":
        registry = LocalModelRegistry(tmp_path)
        store = LocalObjectStore(tmp_path)
        arns = fill(registry, store)
        yield ["--local", str(tmp_path)], arns, registry, store
        return
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        registry = SageMakerModelRegistry(boto3.client("sagemaker", region_name=REGION))
        store = S3ObjectStore(s3)
        arns = fill(registry, store)
        yield ["--region", REGION], arns, registry, store


def run(capsys, backend, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, *backend[0]])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, backend, *argv: str):
    code, out, err = run(capsys, backend, *argv, "--json")
    assert (code, err) == (0, "")
    return json.loads(out)


def one_line_error(err: str) -> str:
    assert "Traceback" not in err
    assert err.count("\n") == 1
    return err.strip()


class TestList:
    def test_newest_first_with_status_time_and_metrics(self, capsys, backend):
        rows = run_json(capsys, backend, "list", GROUP)
        assert [(r["version"], r["status"]) for r in rows] == [
            (4, "PendingManualApproval"), (3, "PendingManualApproval"), (2, "Rejected"),
            (1, "Approved")]
        assert [r["arn"] for r in rows] == [backend[1][v] for v in (4, 3, 2, 1)]
        assert rows[1]["metrics"] == {"rmse": 54.2, "mae": 42.1}
        assert rows[3]["metrics"] == {"rmse": 56.1, "mae": 44.0}
        assert rows[0]["metrics"] == {}
        assert rows[0]["metrics_problem"] == (
            f"no evaluation report at s3://{BUCKET}/evaluation/4/evaluation.json")
        created = [dt.datetime.fromisoformat(r["created"]) for r in rows]
        assert created == sorted(created, reverse=True)

    def test_status_filter_and_limit(self, capsys, backend):
        for options, versions in [
                (["--status", "Pending"], [4, 3]), (["--status", "Approved"], [1]),
                (["--status", "Rejected"], [2]), (["--limit", "2"], [4, 3]),
                (["--status", "Pending", "--limit", "1"], [4])]:
            rows = run_json(capsys, backend, "list", GROUP, *options)
            assert [r["version"] for r in rows] == versions, options

    def test_human_table(self, capsys, backend):
        code, out, err = run(capsys, backend, "list", GROUP)
        assert (code, err) == (0, "")
        lines = out.splitlines()
        row3 = next(line for line in lines if line.strip("│ ").startswith("3 "))
        assert "PendingManualApproval" in row3 and "54.2" in row3 and "42.1" in row3
        header = next(line for line in lines if "Version" in line)
        assert "rmse" in header and "mae" in header
        assert "version 4: no evaluation report at" in out

    def test_a_classification_table_shows_the_headline_figures_only(self, capsys, backend):
        _, _, registry, store = backend
        binary = {"binary_classification_metrics": {
            name: {"value": value, "standard_deviation": 0.01} for name, value in [
                ("recall", 0.9), ("precision", 0.8), ("accuracy", 0.85), ("f1", 0.84),
                ("accuracy_best_constant_classifier", 0.6), ("false_positive_rate", 0.1),
                ("auc", 0.93)]}}
        fill(registry, store, "churn-model", {1: ("PendingManualApproval", binary)})
        code, out, _ = run(capsys, backend, "list", "churn-model")
        assert code == 0
        header = next(line for line in out.splitlines() if "Version" in line)
        assert [cell.strip() for cell in header.split("┃")[4:-1]] == ["accuracy", "auc", "f1"]
        assert run_json(capsys, backend, "list", "churn-model")[0]["metrics"]["recall"] == 0.9

    def test_unknown_group_is_a_one_line_error(self, capsys, backend):
        code, out, err = run(capsys, backend, "list", "no-such-group")
        assert (code, out) == (2, "")
        assert "unknown model package group 'no-such-group'" in one_line_error(err)

    def test_limit_must_be_positive(self, capsys, backend):
        with pytest.raises(SystemExit) as exit_info:
            main(["list", GROUP, "--limit", "0", *backend[0]])
        assert exit_info.value.code == 2
        assert "must be a whole number of at least 1, got '0'" in capsys.readouterr().err


class TestDescribe:
    def test_by_group_version_and_by_arn(self, capsys, backend):
        by_name = run_json(capsys, backend, "describe", f"{GROUP}/3")
        by_arn = run_json(capsys, backend, "describe", backend[1][3])
        assert by_name == by_arn
        assert by_name["package"]["ModelPackageArn"] == backend[1][3]
        assert by_name["package"]["ModelPackageVersion"] == 3
        assert by_name["metrics"] == {"rmse": 54.2, "mae": 42.1}
        assert by_name["pipeline_execution"] == execution_arn(3)
        assert by_name["metrics_uri"] == f"s3://{BUCKET}/evaluation/3/evaluation.json"

    def test_human_output_shows_the_lineage_and_the_whole_package(self, capsys, backend):
        code, out, _ = run(capsys, backend, "describe", f"{GROUP}/3")
        assert code == 0
        assert "exec-3" in out and "54.2" in out
        assert '"InferenceSpecification"' in out

    @pytest.mark.parametrize("ident, message", [
        (f"{GROUP}/9", f"group '{GROUP}' has no version 9; its versions: 1, 2, 3, 4"),
        ("other-group/1", "unknown model package group 'other-group'"),
        ("diabetes", "'diabetes' is neither a model package ARN nor GROUP/VERSION"),
    ])
    def test_unknown_names(self, capsys, backend, ident, message):
        code, _, err = run(capsys, backend, "describe", ident)
        assert code == 2
        assert message in one_line_error(err)

    def test_unknown_arn(self, capsys, backend):
        arn = backend[1][1].rsplit("/", 1)[0] + "/99"
        code, _, err = run(capsys, backend, "describe", arn)
        assert code == 2
        assert f"unknown model package {arn!r}" in one_line_error(err)


MODEL_QUALITY = {"version": 0.0, "dataset": {"item_count": 66}, "regression_metrics": {
    "mae": {"value": 51.17, "standard_deviation": 4.18},
    "rmse": {"value": 60.45, "standard_deviation": 4.57},
    "r2": {"value": 0.3024, "standard_deviation": 0.1122}}}
EVALUATION = {
    "regression_metrics": MODEL_QUALITY["regression_metrics"],
    "chosen_combiner": "stack",
    "relative": {"rmse_ratio_to_naive": 0.834, "r2": 0.3024},
    "baselines": {"naive": {"predicts": "the training mean",
                            "rmse": {"value": 72.49, "standard_deviation": 4.14}},
                  "best_learner": {"name": "linear",
                                   "rmse": {"value": 60.96, "standard_deviation": 4.23}}},
    "gate": {"passed": True, "message": "passed: rmse 60.45 is 0.834 x the naive baseline's"}}


class TestDescribeModelQuality:
    """A version registered as the pipelines do now: SageMaker's model-quality file as
    ModelQuality.Statistics, our evaluation report in the customer metadata."""

    @pytest.fixture
    def version(self, backend) -> str:
        _, _, registry, store = backend
        prefix = f"s3://{BUCKET}/evaluation/5"
        store.write_bytes(f"{prefix}/model_quality.json", json.dumps(MODEL_QUALITY).encode())
        store.write_bytes(f"{prefix}/evaluation.json", json.dumps(EVALUATION).encode())
        request = package_request(GROUP, 5, "PendingManualApproval")
        request["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] = (
            f"{prefix}/model_quality.json")
        request["CustomerMetadataProperties"] = {"EvaluationReport": f"{prefix}/evaluation.json"}
        registry.create_package(request)
        return f"{GROUP}/5"

    def test_json_has_every_figure_with_its_deviation_and_the_headline(self, capsys, backend,
                                                                        version):
        result = run_json(capsys, backend, "describe", version)
        assert result["metrics"] == {"mae": 51.17, "rmse": 60.45, "r2": 0.3024}
        assert result["model_quality"] == [
            {"section": "regression_metrics", "name": "mae", "value": 51.17,
             "standard_deviation": 4.18},
            {"section": "regression_metrics", "name": "rmse", "value": 60.45,
             "standard_deviation": 4.57},
            {"section": "regression_metrics", "name": "r2", "value": 0.3024,
             "standard_deviation": 0.1122}]
        assert result["evaluation_report_uri"] == f"s3://{BUCKET}/evaluation/5/evaluation.json"
        assert [(row["figure"], row["value"], row["standard_deviation"])
                for row in result["headline"]] == [
            ("gate", "passed", None), ("chosen combiner", "stack", None),
            ("rmse_ratio_to_naive", 0.834, None), ("r2", 0.3024, None),
            ("naive baseline rmse", 72.49, 4.14),
            ("best_learner baseline (linear) rmse", 60.96, 4.23)]
        assert result["gate_message"] == EVALUATION["gate"]["message"]

    def test_table_rows_read_figure_value_and_deviation(self, capsys, backend, version):
        code, out, err = run(capsys, backend, "describe", version)
        assert (code, err) == (0, "")
        cells = {tuple(cell.strip() for cell in line.split("│")[1:-1])
                 for line in out.splitlines() if line.count("│") == 4}
        assert {("regression_metrics rmse", "60.45", "4.57"),
                ("regression_metrics r2", "0.3024", "0.1122"),
                ("gate", "passed", ""), ("chosen combiner", "stack", ""),
                ("rmse_ratio_to_naive", "0.834", ""),
                ("naive baseline rmse", "72.49", "4.14")} <= cells
        assert "gate: passed: rmse 60.45 is 0.834 x the naive baseline's" in out

    def test_a_missing_evaluation_report_is_named_and_the_quality_still_shown(
            self, capsys, backend, version):
        report = f"s3://{BUCKET}/evaluation/5/evaluation.json"
        backend[3].write_bytes(report, b"not json")
        result = run_json(capsys, backend, "describe", version)
        assert result["evaluation_report_problem"].startswith(
            f"evaluation report {report} is unreadable")
        assert result["headline"] == [] and len(result["model_quality"]) == 3


class TestApproval:
    def status_of(self, backend, version: int) -> tuple[str, str]:
        package = backend[2].describe_package(backend[1][version])
        return package["ModelApprovalStatus"], package.get("ApprovalDescription", "")

    def test_approve_a_newer_version_moves_latest_approved(self, capsys, backend):
        result = run_json(capsys, backend, "approve", f"{GROUP}/3", "--description", "rmse ok")
        assert result == {"arn": backend[1][3], "group": GROUP, "version": 3,
                          "status": "Approved", "previous_status": "PendingManualApproval",
                          "description": "rmse ok", "latest_approved": backend[1][3]}
        assert self.status_of(backend, 3) == ("Approved", "rmse ok")
        code, out, _ = run(capsys, backend, "latest-approved", GROUP)
        assert (code, out) == (0, backend[1][3] + "\n")

    def test_approving_an_approved_version_needs_force(self, capsys, backend):
        code, _, err = run(capsys, backend, "approve", f"{GROUP}/1", "--description", "again")
        assert code == 1
        assert one_line_error(err) == (f"model-registry: refused: {GROUP}/1 is already "
                                       "approved; pass --force to approve it again")
        assert self.status_of(backend, 1) == ("Approved", "")
        code, out, _ = run(capsys, backend, "approve", f"{GROUP}/1", "--description", "again",
                           "--force")
        assert code == 0 and f"approved {GROUP}/1 (was Approved)" in out
        assert self.status_of(backend, 1) == ("Approved", "again")

    def test_approving_an_older_version_than_the_newest_approved_needs_force(self, capsys,
                                                                             backend):
        assert run(capsys, backend, "approve", backend[1][3], "--description", "ok")[0] == 0
        code, _, err = run(capsys, backend, "approve", f"{GROUP}/2", "--description", "x")
        assert code == 1
        assert f"{GROUP}/2 is older than {GROUP}/3, the newest approved version" in \
            one_line_error(err)
        assert self.status_of(backend, 2) == ("Rejected", "")
        result = run_json(capsys, backend, "approve", f"{GROUP}/2", "--description", "x",
                          "--force")
        assert result["latest_approved"] == backend[1][3]

    def test_reject_rolls_latest_approved_back(self, capsys, backend):
        run(capsys, backend, "approve", f"{GROUP}/3", "--description", "ok")
        code, out, _ = run(capsys, backend, "reject", f"{GROUP}/3", "--description", "drift")
        assert code == 0
        assert out.strip() == (f"rejected {GROUP}/3 (was Approved); latest approved: "
                               f"{GROUP}/1")
        assert self.status_of(backend, 3) == ("Rejected", "drift")
        assert run_json(capsys, backend, "latest-approved", GROUP) == {
            "arn": backend[1][1], "group": GROUP, "version": 1}

    def test_description_is_required_and_not_blank(self, capsys, backend):
        with pytest.raises(SystemExit) as exit_info:
            main(["reject", f"{GROUP}/3", *backend[0]])
        assert exit_info.value.code == 2
        assert "--description" in capsys.readouterr().err
        code, _, err = run(capsys, backend, "reject", f"{GROUP}/3", "--description", "  ")
        assert code == 2
        assert "--description must be 1 to 1024 characters" in one_line_error(err)
        assert self.status_of(backend, 3) == ("PendingManualApproval", "")

    def test_latest_approved_without_approved_versions(self, capsys, backend):
        run(capsys, backend, "reject", f"{GROUP}/1", "--description", "bad")
        code, out, err = run(capsys, backend, "latest-approved", GROUP)
        assert (code, out) == (1, "")
        assert f"group '{GROUP}' has no approved version" in one_line_error(err)

    def test_latest_approved_of_an_unknown_group(self, capsys, backend):
        code, _, err = run(capsys, backend, "latest-approved", "nope")
        assert code == 2
        assert "unknown model package group 'nope'" in one_line_error(err)


def test_local_root_without_a_registry(capsys, tmp_path):
    assert main(["list", GROUP, "--local", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"no local model registry under {tmp_path.resolve()}" in one_line_error(err)


def test_no_region_is_a_user_error(capsys, monkeypatch, tmp_path):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert main(["latest-approved", GROUP]) == 2
    assert "no AWS region: pass --region or set AWS_REGION" in one_line_error(
        capsys.readouterr().err)


def test_scalar_metrics_reads_only_metric_sections():
    report = {"regression_metrics": {"rmse": {"value": 1.5}, "n": 10, "flag": True,
                                     "curve": {"points": [1, 2]}},
              "classification_metrics": {"rmse": {"value": 2}, "accuracy": {"value": 0.9}},
              "metadata": {"rows": {"value": 442}}}
    assert scalar_metrics(report) == {"regression_metrics.rmse": 1.5, "n": 10.0,
                                      "classification_metrics.rmse": 2.0, "accuracy": 0.9}
    assert scalar_metrics(["not", "a", "dict"]) == {}
