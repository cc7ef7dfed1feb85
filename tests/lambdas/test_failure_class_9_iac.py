"""Regression test for issue 14's class 9, infrastructure policies: checkov passes on every
CloudFormation template under lambdas/ (offline), each skipped check is justified in the
template, tagging cannot admit someone else's endpoint, and S3 writes are write-once in IAM."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode

pytestmark = pytest.mark.integration

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"
TEMPLATES = sorted(p for p in LAMBDAS.glob("*.yaml") if "AWSTemplateFormatVersion"
                   in p.read_text(encoding="utf-8"))
# `make setup` installs checkov into its own virtualenv (it pins an older boto3).
CHECKOV = Path(os.environ.get("CHECKOV", Path(sys.prefix) / "checkov" / "bin" / "checkov"))


def statements(template: Path) -> list[dict]:
    document, problems = decode(str(template))
    assert not problems, problems
    found = []
    for resource in document["Resources"].values():
        for policy in resource.get("Properties", {}).get("Policies", []):
            found.extend(policy["PolicyDocument"]["Statement"])
    return found


def actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_there_are_templates_to_check():
    assert [p.name for p in TEMPLATES] == ["deploy_template.yaml", "template.yaml"]


class TestClass9InfrastructurePolicies:
    @pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
    def test_checkov_passes_offline(self, template):
        assert CHECKOV.is_file(), f"no checkov at {CHECKOV}: run `make setup` (or set CHECKOV)"
        result = subprocess.run(
            [str(CHECKOV), "-f", str(template), "--framework", "cloudformation", "--output",
             "json", "--quiet", "--skip-download", "--no-fail-on-crash"],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "BC_API_KEY": "", "CHECKOV_NO_UPDATE_CHECK": "true"})
        report = json.loads(result.stdout) if result.stdout.strip() else {}
        summary = report.get("summary", {})
        failed = [(c["check_id"], c["resource"]) for c in
                  report.get("results", {}).get("failed_checks", [])]
        assert failed == [] and summary.get("failed", 0) == 0, result.stderr[-2000:]
        assert summary.get("passed", 0) > 0

    @pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
    def test_every_skipped_check_says_why(self, template):
        document, _ = decode(str(template))
        skips = [(name, skip) for name, resource in document["Resources"].items()
                 for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])]
        assert skips
        for name, skip in skips:
            assert skip["id"].startswith("CKV_") and len(skip.get("comment", "")) >= 60, name

    def test_tagging_needs_creation_or_our_own_tag(self):
        tagging = [s for s in statements(LAMBDAS / "deploy_template.yaml")
                   if "sagemaker:AddTags" in actions(s)]
        assert {s["Sid"] for s in tagging} == {"TagWhatItCreates",
                                               "RememberPreviousConfigOfOurEndpoints"}
        for statement in tagging:
            condition = statement["Condition"]
            at_creation = condition.get("StringEquals", {}).get("sagemaker:TaggingAction")
            ours = condition.get("StringEquals", {}).get("aws:ResourceTag/deployed-by")
            assert at_creation or ours == "deploy-model", statement["Sid"]
            if at_creation:
                assert condition["StringEquals"]["aws:RequestTag/deployed-by"] == "deploy-model"
            else:
                assert condition["ForAllValues:StringEquals"]["aws:TagKeys"] == [
                    "deploy-model:previous-config"]

    @pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
    def test_every_s3_write_is_write_once(self, template):
        writes = [s for s in statements(template) if "s3:PutObject" in actions(s)]
        assert writes
        for statement in writes:
            assert statement["Condition"] == {"StringEquals": {"s3:if-none-match": "*"}}
