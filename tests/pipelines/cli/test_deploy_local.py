"""`deploy-model --local`: approved models answer real HTTP requests on 127.0.0.1.

The stacked ensemble is built once for this module by the real local pipeline run (one tuning
trial), approved through the registry port, deployed and invoked with CSV and JSON rows.
"""
from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipelines.cli import run_pipeline
from pipelines.cli.deploy_model import local_deployment, main, parse_arguments
from runtime.ports.model_registry import LocalModelRegistry
from runtime.ports.object_store import LocalObjectStore
from steps.serve import BackgroundServer
from steps.stacked_ensemble import inference
from tests.aws_deploy import model_archive

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
GROUP = "StackedEnsemblePackageGroup"
SAMPLE = "s3://sagemaker-us-east-1-000000000000/StackedEnsemblePipeline/sample-data/diabetes.csv"


@pytest.fixture(scope="module")
def ensemble_root(tmp_path_factory) -> Path:
    """A local root holding one registered, approved stacked ensemble."""
    root = tmp_path_factory.mktemp("deploy-local")
    code = run_pipeline.main([
        "--local", "-n", "pipelines.stacked_ensemble.pipeline", "--local-root", str(root),
        "--parameters", '{"MaxTuningJobs": 1, "MaxParallelTuningJobs": 1}'])
    assert code == 0
    registry = LocalModelRegistry(root)
    (package,) = registry.list_packages(GROUP)
    registry.update_approval(package["ModelPackageArn"], "Approved", "deploy-model tests")
    return root


def feature_rows(root: Path, count: int) -> tuple[str, list[list[str]]]:
    """(CSV with a header and `count` rows without the target, the rows)."""
    table = list(csv.reader(io.StringIO(LocalObjectStore(root).read_text(SAMPLE))))
    header, rows = table[0][:-1], [row[:-1] for row in table[1:count + 1]]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    return buffer.getvalue(), rows


def post(url: str, body: bytes, content_type: str, accept: str | None = None,
         target: str | None = None) -> tuple[int, str]:
    headers = {"Content-Type": content_type}
    if accept:
        headers["Accept"] = accept
    if target:
        headers["X-Amzn-SageMaker-Target-Model"] = target
    request = urllib.request.Request(f"{url}/invocations", body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _number(text: str) -> float | None:
    return float(text) if text else None  # an empty CSV field is a missing value


def expected_predictions(root: Path, csv_body: str) -> list[float]:
    """What the registered artifact predicts, loaded independently of the deployment."""
    package = LocalModelRegistry(root).list_packages(GROUP, "Approved")[0]
    uri = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    model_dir = root / "independent"
    with tarfile.open(LocalObjectStore(root).path_for(uri)) as archive:
        archive.extractall(model_dir, filter="data")
    model = inference.model_fn(str(model_dir))
    prediction = inference.predict_fn(inference.input_fn(csv_body.encode(), "text/csv"), model)
    return [float(v) for v in prediction.values]


class TestStackedEnsemble:
    def test_the_approved_ensemble_answers_csv_and_json_over_http(self, ensemble_root):
        deployment = local_deployment(parse_arguments(
            ["--group", GROUP, "--latest-approved", "--local"]), ensemble_root)
        body, rows = feature_rows(ensemble_root, 3)
        with BackgroundServer(deployment.app) as server:
            assert server.url.startswith("http://127.0.0.1:")
            with urllib.request.urlopen(f"{server.url}/ping", timeout=10) as ping:
                assert ping.status == 200
            status, text = post(server.url, body.encode(), "text/csv", accept="text/csv")
            header = body.splitlines()[0].split(",")
            instances = [{name: (_number(value) if name != "band" else value)
                          for name, value in zip(header, row, strict=True)}
                         for row in rows]
            json_status, json_text = post(server.url, json.dumps(
                {"instances": instances}).encode(), "application/json")
        assert status == 200
        served = [float(line) for line in text.split()]
        assert served == pytest.approx(expected_predictions(ensemble_root, body))
        assert all(0 < value < 400 for value in served)  # diabetes progression scores
        assert json_status == 200
        assert json.loads(json_text)["predictions"] == pytest.approx(served)
        assert deployment.summary["endpoint"] == GROUP

    def test_a_pending_version_is_refused(self, ensemble_root, capsys):
        registry = LocalModelRegistry(ensemble_root)
        approved = registry.list_packages(GROUP, "Approved")[0]
        request = {k: v for k, v in approved.items() if k not in (
            "ModelPackageVersion", "ModelPackageArn", "ModelPackageStatus", "CreationTime",
            "ApprovalDescription", "LastModifiedTime")}
        pending = registry.create_package({**request,
                                           "ModelApprovalStatus": "PendingManualApproval"})
        code = main([pending, "--local", "--local-root", str(ensemble_root)])
        assert code == 1
        assert "is PendingManualApproval, not Approved" in capsys.readouterr().err

    def test_the_command_serves_in_the_foreground_until_stopped(self, ensemble_root):
        process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli.deploy_model", "--group", GROUP, "--latest-approved",
             "--local", "--local-root", str(ensemble_root), "--port", "0"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            lines = []
            for line in process.stdout:
                lines.append(line)
                if line.startswith("}"):
                    break
            started = json.loads("".join(lines))
            body, _ = feature_rows(ensemble_root, 2)
            status, text = post(started["url"], body.encode(), "text/csv", accept="text/csv")
        finally:
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=30)
        assert started["url"].startswith("http://127.0.0.1:")
        assert (status, len(text.split())) == (200, 2)
        assert process.returncode == 0, err


class TestMultiModel:
    @pytest.fixture
    def segments_root(self, tmp_path) -> Path:
        """Two approved segment versions and a pending one in a local registry and store."""
        registry, store = LocalModelRegistry(tmp_path), LocalObjectStore(tmp_path)
        for segment, version, status in [("new-york", 3, "Approved"), ("chicago", 1, "Approved"),
                                         ("chicago", 2, "PendingManualApproval")]:
            uri = f"s3://bucket/MultiModelPipeline/staging/{segment}/v{version}.tar.gz"
            store.write_bytes(uri, model_archive({
                "serving.json": {"handler": "tests.pipelines.cli.echo_handler"},
                "model.json": {"segment": segment, "version": version}}))
            registry.create_package({
                "ModelPackageGroupName": f"HousePrices-{segment}", "ModelApprovalStatus": status,
                "InferenceSpecification": {"Containers": [{"Image": "img",
                                                           "ModelDataUrl": uri}]}})
        return tmp_path

    def test_published_versions_answer_by_target_model(self, segments_root):
        deployment = local_deployment(parse_arguments(
            ["--multi-model", "HousePrices", "--local"]), segments_root)
        live = segments_root / "bucket" / "MultiModelPipeline" / "live"
        assert sorted(p.relative_to(live).as_posix() for p in live.rglob("*.tar.gz")) == [
            "chicago/v1.tar.gz", "new-york/v3.tar.gz"]
        try:
            with BackgroundServer(deployment.app) as server:
                answers = {target: post(server.url, b"1,2\n3,4\n", "text/csv", target=target)
                           for target in ("new-york/v3.tar.gz", "chicago/v1.tar.gz",
                                          "chicago/v2.tar.gz")}
                no_target = post(server.url, b"1,2\n", "text/csv")
        finally:
            deployment.close()
        assert answers["new-york/v3.tar.gz"] == (200, json.dumps(
            {"segment": "new-york", "version": 3, "rows": 2}))
        assert json.loads(answers["chicago/v1.tar.gz"][1])["version"] == 1
        assert answers["chicago/v2.tar.gz"][0] == 404  # pending: never published
        assert no_target[0] == 400
        assert deployment.summary["target_models"] == ["chicago/v1.tar.gz", "new-york/v3.tar.gz"]


class TestLocalErrors:
    def test_a_root_without_a_registry(self, tmp_path, capsys):
        code = main([f"{GROUP}/1", "--local", "--local-root", str(tmp_path / "nothing")])
        err = capsys.readouterr().err
        assert code == 2
        assert err == (f"deploy-model: error: no local model registry under "
                       f"{(tmp_path / 'nothing').resolve()}: run a pipeline with `run-pipeline "
                       "--local` first, or pass --local-root\n")

    @pytest.mark.parametrize("argv", [["--delete", "E"], [f"{GROUP}/1", "--dry-run"]])
    def test_sagemaker_only_actions(self, tmp_path, capsys, argv):
        assert main([*argv, "--local", "--local-root", str(tmp_path)]) == 2
        assert "act on SageMaker endpoints" in capsys.readouterr().err
