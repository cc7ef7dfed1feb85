"""`python -m steps.serve` as the container runs it: a real process, real HTTP, SIGTERM."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from steps.serve.cli import _parser

HANDLERS = Path(__file__).parent / "handlers"
REPO = Path(__file__).resolve().parents[3]


def model_dir(tmp_path: Path, handler_file: bool = True) -> Path:
    model = tmp_path / "model"
    model.mkdir()
    (model / "coefficients.json").write_text('{"intercept": 1.0, "coef": [2.0, 3.0]}')
    if handler_file:
        (model / "serving.json").write_text('{"handler": "linear_handler"}')
    return model


def serve(*args: str, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HANDLERS), str(REPO)]),
                   **env}
    return subprocess.Popen([sys.executable, "-m", "steps.serve", "--host", "127.0.0.1", *args],
                            env=environment, stderr=subprocess.PIPE, text=True, cwd=REPO)


def test_serves_until_sigterm_and_exits_cleanly(tmp_path):
    process = serve("--model-dir", str(model_dir(tmp_path)), "--port", "0", "--threads", "2")
    try:
        for line in process.stderr:
            match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
            if match:
                break
        else:
            pytest.fail("the server never reported its address")
        url = match[1]
        with urllib.request.urlopen(f"{url}/ping", timeout=30) as response:
            assert response.status == 200
        request = urllib.request.Request(f"{url}/invocations", data=b"1,1\n",
                                         headers={"Content-Type": "text/csv"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.read() == b"6.0\n"
    finally:
        process.send_signal(signal.SIGTERM)
        remaining = process.communicate(timeout=30)[1]
    assert process.returncode == 0
    assert "stopped" in remaining


@pytest.mark.parametrize("setup, args, message", [
    ("missing", [], "does not exist"),
    ("no-handler-file", [], "has no serving.json; pass --handler MODULE"),
    ("no-handler-file", ["--handler", "incomplete_handler"], "lacks predict_fn, output_fn"),
])
def test_startup_errors_are_one_line_and_exit_2(tmp_path, setup, args, message):
    path = tmp_path / "model" if setup == "missing" else model_dir(tmp_path, handler_file=False)
    process = serve("--model-dir", str(path), "--port", "0", *args)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("serve: error: ") and message in last


def test_environment_supplies_the_sagemaker_defaults(monkeypatch):
    monkeypatch.setenv("SAGEMAKER_BIND_TO_PORT", "9090")
    monkeypatch.setenv("SAGEMAKER_MAX_PAYLOAD_IN_MB", "2")
    monkeypatch.setenv("SAGEMAKER_MULTI_MODEL", "true")
    monkeypatch.setenv("SERVE_HANDLER", "steps.stacked_ensemble.inference")
    args = _parser().parse_args([])
    assert (args.model_dir, args.port, args.max_request_bytes, args.multi_model, args.handler) \
        == ("/opt/ml/model", 9090, 2 * 1024 * 1024, True, "steps.stacked_ensemble.inference")


def test_defaults_without_environment(monkeypatch):
    for name in ("SAGEMAKER_BIND_TO_PORT", "SAGEMAKER_MAX_PAYLOAD_IN_MB", "SAGEMAKER_MULTI_MODEL",
                 "SERVE_HANDLER", "SERVE_THREADS", "SERVE_MAX_REQUEST_BYTES"):
        monkeypatch.delenv(name, raising=False)
    args = _parser().parse_args([])
    assert (args.port, args.threads, args.max_request_bytes, args.multi_model, args.handler) \
        == (8080, 4, 6 * 1024 * 1024, False, None)


def test_multi_model_serves_a_directory(tmp_path):
    root = tmp_path / "models"
    root.mkdir()
    model = model_dir(root)
    process = serve("--model-dir", str(root), "--multi-model", "--port", "0")
    try:
        for line in process.stderr:
            if (match := re.search(r"on (http://127\.0\.0\.1:\d+)", line)):
                break
        request = urllib.request.Request(
            f"{match[1]}/invocations", data=json.dumps({"instances": [[0, 1]]}).encode(),
            headers={"Content-Type": "application/json",
                     "X-Amzn-SageMaker-Target-Model": f"{model.name}.tar.gz"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.loads(response.read()) == {"predictions": [4.0]}
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


@pytest.mark.parametrize("argv, message", [
    (["--port", "70000"], "--port: must be a whole number from 0 to 65535, got '70000'"),
    (["--threads", "0"], "--threads: must be a whole number from 1 to 1024, got '0'"),
])
def test_bad_options_are_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        _parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
