"""stage.py: copies the accepted artifact to a new versioned name and records where."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from steps.multi_model import stage

pytestmark = pytest.mark.integration

SCRIPT = Path(stage.__file__)


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          env={"SM_FAILURE_FILE": str(tmp_path / "failure"), "PATH": ""},
                          timeout=60)


def test_stages_under_a_version_from_the_execution_start(tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "model.tar.gz").write_bytes(b"artifact")
    result = _run(tmp_path, "--model-dir", str(model_dir), "--segment-id", "new-york",
                  "--execution-start", "2026-11-23T07:20:01.123Z",
                  "--staging-uri", "s3://bucket/MultiModel/staging/",
                  "--output-dir", str(tmp_path / "out"), "--manifest-dir", str(tmp_path / "m"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "new-york" / "v20261123072001.tar.gz").read_bytes() == b"artifact"
    assert json.loads((tmp_path / "m" / "staged.json").read_text()) == {
        "segment_id": "new-york", "version": 20261123072001,
        "artifact_uri": "s3://bucket/MultiModel/staging/new-york/v20261123072001.tar.gz"}


@pytest.mark.parametrize("args, message", [
    (["--segment-id", "New York", "--execution-start", "2026-11-23T07:20:01Z"],
     "--segment-id 'New York' is not a segment id like 'new-york'"),
    (["--segment-id", "ny", "--execution-start", "yesterday"],
     "--execution-start 'yesterday' is not an ISO date-time"),
    (["--segment-id", "ny", "--execution-start", "2026-11-23T07:20:01Z"],
     "holds no model.tar.gz"),
])
def test_bad_input_fails_with_one_line(tmp_path, args, message):
    result = _run(tmp_path, "--model-dir", str(tmp_path), "--staging-uri", "s3://b/s",
                  "--output-dir", str(tmp_path / "o"), "--manifest-dir", str(tmp_path / "m"),
                  *args)
    assert result.returncode == 1
    assert message in result.stderr.strip().splitlines()[-1]
    assert message in (tmp_path / "failure").read_text()
