"""Running step scripts as programs, the way SageMaker does, for the step tests."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "steps" / "stacked_ensemble"
# Small settings: the tests check behaviour, the benchmark checks quality.
FAST_HYPERPARAMETERS = ["--k_fold", "3", "--num_round", "40", "--catboost_iterations", "40",
                        "--catboost_depth", "4"]


@dataclass
class StepRun:
    returncode: int
    stdout: str
    stderr: str
    failure_file: Path

    @property
    def failure(self) -> str | None:
        return self.failure_file.read_text() if self.failure_file.exists() else None


def run_script(script: str, args: list[str], workdir: Path, env: dict | None = None) -> StepRun:
    """Run steps/stacked_ensemble/<script> as SageMaker would: a program with arguments."""
    failure = workdir / "failure"
    environment = {**os.environ, "SM_FAILURE_FILE": str(failure), "HF_HUB_OFFLINE": "1",
                   **(env or {})}
    completed = subprocess.run([sys.executable, str(SCRIPTS / script), *args], cwd=workdir,
                               env=environment, capture_output=True, text=True, timeout=300)
    return StepRun(completed.returncode, completed.stdout, completed.stderr, failure)
