"""Every place that runs our code runs the Python the tests run on: the Lambdas' runtime, the
image, CodeBuild. A template on another version would deploy code no test has run."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml
from cfnlint.decode import decode

REPO = Path(__file__).resolve().parents[2]
TESTED = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_the_lambda_runtimes_are_the_tested_python():
    runtimes = set()
    for template in ("template.yaml", "deploy_template.yaml"):
        document, problems = decode(str(REPO / "lambdas" / template))
        assert not problems, problems
        runtimes |= {resource["Properties"]["Runtime"]
                     for resource in document["Resources"].values()
                     if resource["Type"] == "AWS::Lambda::Function"}
    assert runtimes == {f"python{TESTED}"}


def test_the_image_and_codebuild_run_the_tested_python():
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    assert re.search(rf"^ARG PYTHON_VERSION={re.escape(TESTED)}$", dockerfile, re.M)
    buildspec = yaml.safe_load((REPO / "codebuild-buildspec.yml").read_text())
    assert str(buildspec["phases"]["install"]["runtime-versions"]["python"]) == TESTED
