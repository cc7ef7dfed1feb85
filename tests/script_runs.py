"""Running a step script as a program, the way a SageMaker job does, for the step tests."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class StepRun:
    returncode: int
    stdout: str
    stderr: str
    failure_file: Path

    @property
    def failure(self) -> str | None:
        return self.failure_file.read_text() if self.failure_file.exists() else None


def run_program(script: Path, args: list[str], workdir: Path, env: dict | None = None,
                timeout: float = 300) -> StepRun:
    """Run `script` with its own failure file; SageMaker variables come only from `env`."""
    workdir.mkdir(parents=True, exist_ok=True)
    failure = workdir / "failure"
    failure.unlink(missing_ok=True)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    environment = {**inherited, "SM_FAILURE_FILE": str(failure), "HF_HUB_OFFLINE": "1",
                   **(env or {})}
    done = subprocess.run([sys.executable, str(script), *args], cwd=workdir, env=environment,
                          capture_output=True, text=True, timeout=timeout)
    return StepRun(done.returncode, done.stdout, done.stderr, failure)
