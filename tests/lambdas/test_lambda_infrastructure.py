"""The CloudFormation template (cfn-lint, least privilege, wiring) and the deployment zip."""
from __future__ import annotations

import hashlib
import importlib
import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import cfnlint.api
import pytest
from cfnlint.decode import decode

from lambdas import build_package

TEMPLATE = Path(build_package.REPO) / "lambdas" / "template.yaml"


@pytest.fixture(scope="module")
def template() -> dict:
    parsed, errors = decode(str(TEMPLATE))
    assert not errors, errors
    return parsed


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {name: r["Properties"] for name, r in template["Resources"].items() if r["Type"] == kind}


def role_statements(template: dict) -> list[dict]:
    (role,) = resources(template, "AWS::IAM::Role").values()
    return [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def needless_wildcards(statement: dict) -> list[str]:
    """Resources or actions with a wildcard that AWS does not require for what we do.

    A `*` is accepted only as the last character of an ARN whose service, region, account and
    path up to it are fixed (an object prefix, a pipeline's executions, a log group's streams);
    a bare `*`, a wildcard action, or a `*` inside an ARN's fixed fields is needless.
    """
    found = [a for a in as_list(statement["Action"]) if "*" in a]
    for resource in as_list(statement["Resource"]):
        if isinstance(resource, dict) and set(resource) == {"Fn::Sub"}:
            text = resource["Fn::Sub"]
        elif isinstance(resource, dict):
            continue  # Ref / GetAtt name one resource of this stack
        else:
            text = resource
        if "*" in text and (text == "*" or text.index("*") != len(text) - 1
                            or not re.match(r"^arn:[^*]+:[a-z0-9-]+:[^*:]*:[^*:]*:[^*]+\*$", text)):
            found.append(text)
    return found


class TestTemplate:
    def test_cfn_lint_passes(self):
        matches = cfnlint.api.lint_file(TEMPLATE)
        assert [f"{m.rule.id} {m.message}" for m in matches] == []

    def test_the_role_has_no_wildcard_aws_does_not_require(self, template):
        assert [w for s in role_statements(template) for w in needless_wildcards(s)] == []

    @pytest.mark.parametrize("statement", [
        {"Action": "s3:GetObject", "Resource": "*"},
        {"Action": "s3:*", "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::b/p*"}},
        {"Action": "sagemaker:SendPipelineExecutionStepSuccess",
         "Resource": {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:*:*:pipeline/*"}},
        {"Action": "s3:GetObject", "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::*/p/x"}},
    ])
    def test_the_wildcard_check_catches_needless_wildcards(self, statement):
        assert needless_wildcards(statement) != []

    def test_the_role_grants_exactly_what_the_function_does(self, template):
        grants = {(a, str(r)) for s in role_statements(template) for a in as_list(s["Action"])
                  for r in as_list(s["Resource"])}
        assert {a for a, _ in grants} == {
            "logs:CreateLogStream", "logs:PutLogEvents", "sqs:ReceiveMessage",
            "sqs:DeleteMessage", "sqs:GetQueueAttributes", "s3:GetObject", "s3:PutObject",
            "s3:ListBucket", "sagemaker:SendPipelineExecutionStepSuccess",
            "sagemaker:SendPipelineExecutionStepFailure"}
        writes = [r for a, r in grants if a == "s3:PutObject"]
        assert writes == ["{'Fn::Sub': 'arn:${AWS::Partition}:s3:::${MappingBucket}/"
                          "${OutputPrefix}*'}"]

    def test_queue_function_and_event_source_fit_together(self, template):
        (queue,) = (q for q in resources(template, "AWS::SQS::Queue").values()
                    if "RedrivePolicy" in q)
        (function,) = resources(template, "AWS::Lambda::Function").values()
        (mapping,) = resources(template, "AWS::Lambda::EventSourceMapping").values()
        assert queue["VisibilityTimeout"] > function["Timeout"]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert function["Environment"]["Variables"]["MAX_RECEIVE_COUNT"] \
            == queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}
        module, _, name = function["Handler"].rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))

    def test_the_powertools_layer_matches_the_runtime_and_the_pinned_version(self, template):
        (function,) = resources(template, "AWS::Lambda::Function").values()
        layer = template["Parameters"]["PowertoolsLayerArn"]["Default"]
        setup = (Path(build_package.REPO) / "setup.py").read_text()
        pinned = re.search(r"aws-lambda-powertools\[parser\]==([\d.]+)", setup)[1]
        assert layer == (f"/aws/service/powertools/python/{function['Architectures'][0]}/"
                         f"{function['Runtime']}/{pinned}")

    def test_the_queue_url_is_an_output(self, template):
        assert template["Outputs"]["MappingQueueUrl"]["Value"] == {"Ref": "MappingQueue"}


class TestPackage:
    def test_two_builds_are_byte_identical(self, tmp_path):
        first, second = tmp_path / "a.zip", tmp_path / "b.zip"
        assert build_package.main(["--output", str(first)]) == 0
        assert build_package.main(["--output", str(second)]) == 0
        assert first.read_bytes() == second.read_bytes()

    def test_entries_are_sorted_with_fixed_times_and_modes(self):
        data = build_package.build_zip(build_package.package_files())
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert {(i.date_time, i.external_attr >> 16) for i in infos} == {
            ((1980, 1, 1, 0, 0, 0), 0o100644)}
        assert "lambdas/mapping_callback/handler.py" in names
        assert "steps/sequential_topics/mapping_schema.py" in names
        assert not [n for n in names if n.split("/")[0] in ("boto3", "botocore", "pydantic",
                                                             "aws_lambda_powertools")]
        assert "lambdas/build_package.py" not in names

    def test_the_zip_alone_provides_every_first_party_module(self, tmp_path):
        data = build_package.build_zip(build_package.package_files())
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(tmp_path)
        probe = (
            "import sys; sys.path.insert(0, sys.argv[1]);"
            "import lambdas.mapping_callback.handler;"
            "ours = {n: m.__file__ for n, m in sys.modules.items()"
            " if n.split('.')[0] in ('lambdas', 'pipelines', 'runtime', 'steps')};"
            "outside = [f for f in ours.values() if not f.startswith(sys.argv[1])];"
            "assert not outside, outside;"
            "assert 'sagemaker' not in sys.modules;"
            "print(len(ours))")
        # No AWS settings at all: importing the handler must not create a client.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
        result = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert int(result.stdout) >= 10

    def test_the_printed_digest_is_the_zip_digest(self, tmp_path, capsys):
        output = tmp_path / "out" / "mapping-callback.zip"
        build_package.main(["--output", str(output)])
        digest = hashlib.sha256(output.read_bytes()).hexdigest()
        assert capsys.readouterr().out.splitlines() == [
            f"{output}  sha256={digest}",
            f"suggested CodeKey: lambdas/mapping-callback-{digest[:16]}.zip"]


class TestPackagingRule:
    def test_a_handler_that_reaches_pipelines_is_refused_naming_the_import(self, tmp_path):
        from lambdas import packaging

        for folder, text in {"lambdas": "", "lambdas/bad": "",
                             "runtime": "", "pipelines": ""}.items():
            (tmp_path / folder).mkdir(parents=True, exist_ok=True)
            (tmp_path / folder / "__init__.py").write_text(text)
        (tmp_path / "runtime" / "helper.py").write_text("import pipelines.builder\n")
        (tmp_path / "pipelines" / "builder.py").write_text("")
        (tmp_path / "lambdas" / "bad" / "handler.py").write_text("from runtime import helper\n")
        with pytest.raises(ValueError, match=r"lambdas.bad.handler reaches pipelines: a Lambda "
                                             r"may not import pipelines/"):
            packaging.package_files("bad", tmp_path)

    def test_the_zip_is_the_handler_and_what_it_imports(self):
        names = set(build_package.package_files())
        assert "runtime/topic_mapping/mapping_update.py" in names
        assert not [n for n in names if n.startswith(("pipelines/", "runtime/deployment/"))]
