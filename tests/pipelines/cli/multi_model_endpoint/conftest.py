"""Tiny real segment models for the endpoint tests: 3 cities x 120 houses taken through the
multi-model preprocess and train scripts, run as programs (as SageMaker runs them), once per
session; each model directory packed as SageMaker packs model.tar.gz."""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.multi_model.sample_data import sample_csv
from steps.multi_model import contract
from tests.model_archives import pack

SCRIPTS = Path(__file__).resolve().parents[4] / "steps" / "multi_model"
CITIES = {"New York": "new-york", "Chicago": "chicago", "Phoenix": "phoenix"}
HOUSES = 120
TARGET = "X-Amzn-SageMaker-Target-Model"
HOUSE = {"year_built": 2001, "square_feet": 2800, "num_bedrooms": 4, "num_bathrooms": 2.5,
         "lot_acres": 0.9, "garage_spaces": 2, "deck": "yes", "front_porch": "no"}


@dataclass(frozen=True)
class Trained:
    """The trained segments: model directories and their packed artifacts."""

    root: Path

    def model_dir(self, ident: str) -> Path:
        return self.root / "models" / ident

    def archive(self, ident: str) -> Path:
        return self.root / "archives" / ident / "model.tar.gz"


def _run(script: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    # One OpenMP thread: three jobs share two cores (19 s -> 7 s per job on a busy machine).
    environment = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.Popen([sys.executable, str(SCRIPTS / script), *args], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> None:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, f"{process.args}: {stderr}"


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Trained:
    root = tmp_path_factory.mktemp("trained")
    data = root / "houses.csv"
    data.write_bytes(sample_csv(list(CITIES), houses_per_city=HOUSES, seed=3))
    _finish(_run("preprocess.py", ["--input-dir", str(data), "--output-dir",
                                   str(root / "segments"), "--segments", ",".join(CITIES)]))
    result = Trained(root)
    jobs = [_run("train.py", ["--num_round", "40"],
                 {"SM_CHANNEL_SEGMENT": str(root / "segments" / ident),
                  "SM_MODEL_DIR": str(result.model_dir(ident)),
                  "SM_OUTPUT_DATA_DIR": str(root / "output" / ident)})
            for ident in CITIES.values()]
    for job in jobs:
        _finish(job)
    for ident in CITIES.values():
        pack(result.model_dir(ident), result.archive(ident))
    return result


def publish(trained: Trained, prefix: Path, names: dict[str, str]) -> Path:
    """Copy segment artifacts under `prefix` as {artifact name: segment id}."""
    for name, ident in names.items():
        target = prefix / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(trained.archive(ident).read_bytes())
    return prefix


def versions(count: int) -> dict[str, str]:
    """`count` artifact names over the three segments: chicago/v1, new-york/v1, phoenix/v1,
    chicago/v2, ... each the segment's one trained model."""
    idents = sorted(CITIES.values())
    return {contract.artifact_key(idents[i % 3], i // 3 + 1): idents[i % 3]
            for i in range(count)}


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """One request on loopback; returns the status and the JSON answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def invoke(port: int, target: str | None, houses: list[dict] | None = None,
           content_type: str = "application/json", body: bytes | None = None
           ) -> tuple[int, dict]:
    headers = {"Content-Type": content_type}
    if target is not None:
        headers[TARGET] = target
    if body is None:
        body = json.dumps({"instances": houses or [HOUSE]}).encode()
    return request(port, "POST", "/invocations", body, headers)
