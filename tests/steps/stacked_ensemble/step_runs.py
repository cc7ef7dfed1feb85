"""Running step scripts as programs, the way SageMaker does, for the step tests."""
from __future__ import annotations

from pathlib import Path

from tests.script_runs import StepRun, run_program

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = REPO / "steps" / "stacked_ensemble"
# Small settings: the tests check behaviour, the benchmark checks quality.
FAST_HYPERPARAMETERS = ["--k_fold", "3", "--num_round", "40", "--catboost_iterations", "40",
                        "--catboost_depth", "4"]


def run_script(script: str, args: list[str], workdir: Path, env: dict | None = None) -> StepRun:
    """Run steps/stacked_ensemble/<script> as SageMaker would: a program with arguments."""
    return run_program(SCRIPTS / script, args, workdir, env)
