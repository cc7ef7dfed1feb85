"""Regression tests for issue 14's classes 1, 6, 7 and 8 at the command line: one exit-code
convention for every CLI (0 success, 1 failed or refused for a reason of state, 2 bad usage or
input, one line on stderr), and missing AWS set-up named with its fix."""
from __future__ import annotations

import json

import pytest

from pipelines.cli import (
    deploy_model,
    get_pipeline_definition,
    mapping_review,
    model_registry,
    multi_model_endpoint,
    multi_model_policy,
    run_pipeline,
    validate_pipelines,
)
from runtime.ports.model_registry import LocalModelRegistry

pytestmark = pytest.mark.integration

MODULE = "pipelines.stacked_ensemble.pipeline"
PROPOSAL = "s3://b/run/MapLayer1/layer-1/proposal.json"


def one_line_error(capsys, prefix: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(prefix), err
    return err


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """No AWS credentials anywhere botocore looks (environment, files, metadata)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def no_region(no_credentials, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)


class TestClass1PathologicalStructure:
    @pytest.mark.parametrize("option, value", [
        ("--kwargs", "[" * 100_000 + "]" * 100_000),
        ("--kwargs", "{[1]: 2}"),
        ("--kwargs", "{1: 2}"),
        ("--tags", '{"a": ' * 100 + "1" + "}" * 100),
        ("--parameters", "(" * 1_000 + ")" * 1_000),
    ])
    def test_run_pipeline_refuses_in_one_line_with_exit_2(self, capsys, option, value):
        assert run_pipeline.main(["-n", MODULE, option, value]) == 2
        err = one_line_error(capsys, f"run-pipeline: error: {option}")
        assert len(err) <= 330

    def test_get_pipeline_definition_refuses_deep_kwargs(self, capsys):
        assert get_pipeline_definition.main(["-n", MODULE, "--offline", "--kwargs",
                                             "[" * 5_000 + "]" * 5_000]) == 2
        one_line_error(capsys, "get-pipeline-definition: error: --kwargs is nested deeper "
                               "than 64 levels")


class TestClass6ExitCodes:
    def test_run_pipeline_local_list_is_0_and_an_unknown_module_is_2(self, capsys, tmp_path):
        assert run_pipeline.main(["--local", "--list", "--local-root", str(tmp_path)]) == 0
        assert run_pipeline.main(["-n", "pipelines.no_such.pipeline", "--local"]) == 2
        one_line_error(capsys, "run-pipeline: error:")

    def test_get_pipeline_definition_0_then_2(self, capsys, tmp_path):
        assert get_pipeline_definition.main(["-n", MODULE, "--offline", "-f",
                                             str(tmp_path / "d.json")]) == 0
        assert json.loads((tmp_path / "d.json").read_text())["Steps"]
        assert get_pipeline_definition.main(["-n", "pipelines.no_such.pipeline"]) == 2

    def test_get_pipeline_definition_kwargs_that_do_not_fit_are_2(self, capsys):
        assert get_pipeline_definition.main(["-n", MODULE, "--offline", "--kwargs",
                                             '{"colour": "blue"}']) == 2
        one_line_error(capsys, f"get-pipeline-definition: error: --kwargs do not fit {MODULE}"
                               ".get_pipeline:")

    def test_validate_pipelines_unknown_module_is_2(self, capsys):
        assert validate_pipelines.main(["pipelines.no_such.pipeline"]) == 2
        one_line_error(capsys, "validate-pipelines: error:")

    def test_mapping_review_bad_input_2_and_state_1(self, capsys, tmp_path):
        assert mapping_review.main(["show", PROPOSAL, "--local", str(tmp_path / "nowhere")]) == 2
        one_line_error(capsys, "mapping-review: error: --local")
        assert mapping_review.main(["show", PROPOSAL, "--local", str(tmp_path)]) == 2
        one_line_error(capsys, f"mapping-review: error: no proposal at {PROPOSAL}")
        proposal = tmp_path / "b" / "run" / "MapLayer1" / "layer-1" / "proposal.json"
        proposal.parent.mkdir(parents=True)
        proposal.write_text('{"schema_version": 1}')  # not what the Lambda writes: state
        assert mapping_review.main(["show", PROPOSAL, "--local", str(tmp_path)]) == 1
        one_line_error(capsys, "mapping-review: refused: proposal")

    def test_model_registry_and_deploy_nothing_approved_is_1(self, capsys, tmp_path):
        LocalModelRegistry(tmp_path).ensure_group("Group", "test group")
        assert model_registry.main(["latest-approved", "Group", "--local", str(tmp_path)]) == 1
        one_line_error(capsys, "model-registry: refused:")
        assert deploy_model.main(["--group", "Group", "--latest-approved", "--local",
                            "--local-root", str(tmp_path)]) == 1
        one_line_error(capsys, "deploy-model: refused:")

    def test_model_registry_and_deploy_bad_input_is_2(self, capsys, tmp_path):
        assert model_registry.main(["list", "Group", "--local", str(tmp_path / "nowhere")]) == 2
        one_line_error(capsys, "model-registry: error:")
        assert deploy_model.main(["--group", "G", "--latest-approved", "--local", "--local-root",
                            str(tmp_path / "nowhere")]) == 2
        one_line_error(capsys, "deploy-model: error:")

    def test_multi_model_tools(self, capsys, tmp_path):
        arn = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/houses"
        assert multi_model_policy.main(["--endpoint-arn", arn, "--segments", "Chicago"]) == 0
        with pytest.raises(SystemExit) as usage:
            multi_model_policy.main(["--endpoint-arn", "not-an-arn", "--segments", "Chicago"])
        assert usage.value.code == 2
        with pytest.raises(SystemExit) as usage:
            multi_model_endpoint.main([str(tmp_path), "--max-models", "0"])
        assert usage.value.code == 2


class TestClass7MissingAwsSetUp:
    @pytest.mark.parametrize("main, argv, prog, fix", [
        (get_pipeline_definition.main, ["-n", MODULE], "get-pipeline-definition", "--offline"),
        (run_pipeline.main, ["-n", MODULE, "--role-arn", "arn:aws:iam::111122223333:role/r"],
         "run-pipeline", "--local"),
        (model_registry.main, ["list", "Group", "--region", "us-east-1"], "model-registry", "--local"),
        (deploy_model.main, ["--group", "G", "--latest-approved", "--region", "us-east-1",
                       "--role-arn", "arn:aws:iam::111122223333:role/r"], "deploy-model",
         "--local"),
        (mapping_review.main, ["show", PROPOSAL, "--region", "us-east-1"], "mapping-review",
         "--local ROOT"),
    ])
    def test_no_credentials_is_one_line_with_the_fix_and_exit_2(self, no_credentials, capsys,
                                                                main, argv, prog, fix):
        assert main(argv) == 2
        err = one_line_error(capsys, f"{prog}: error: no usable AWS credentials")
        assert "aws configure" in err and fix in err

    @pytest.mark.parametrize("main, argv, prog", [
        (model_registry.main, ["list", "Group"], "model-registry"),
        (deploy_model.main, ["--group", "G", "--latest-approved", "--role-arn",
                       "arn:aws:iam::111122223333:role/r"], "deploy-model"),
        (mapping_review.main, ["show", PROPOSAL], "mapping-review"),
    ])
    def test_no_region_is_one_line_with_the_fix_and_exit_2(self, no_region, capsys, main, argv,
                                                           prog):
        assert main(argv) == 2
        err = one_line_error(capsys, f"{prog}: error: no AWS region")
        assert "--region" in err


class TestClass8NonFiniteParameters:
    @pytest.mark.parametrize("value", ['"nan"', '"inf"', '"-Infinity"', "1e999", "NaN"])
    def test_run_pipeline_local_refuses_before_anything_runs(self, capsys, tmp_path, value):
        root = tmp_path / "local"
        assert run_pipeline.main(["-n", MODULE, "--local", "--local-root", str(root),
                                  "--parameters", f'{{"QualityThreshold": {value}}}']) == 2
        one_line_error(capsys, "run-pipeline: error: parameter QualityThreshold must be a "
                               "finite number")
        assert not (root / "jobs").exists() and not (root / "executions").exists()
