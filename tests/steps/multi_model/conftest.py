"""Fixtures for the multi-model step scripts: 3 cities x 200 houses taken through preprocess,
train and evaluate once per session (the scripts run as programs, as SageMaker runs them)."""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.multi_model.sample_data import sample_csv
from steps.multi_model import evaluate, train
from tests.model_archives import pack
from tests.script_runs import StepRun, run_program

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = REPO / "steps" / "multi_model"
CITIES = ["New York", "Chicago", "San Diego"]
IDS = {"New York": "new-york", "Chicago": "chicago", "San Diego": "san-diego"}
HOUSES = 200
PROGRAM_SEGMENT = "new-york"  # its jobs run as programs


def run_script(script: str, args: list[str], workdir: Path, env: dict | None = None) -> StepRun:
    """Run steps/multi_model/<script> as a program with its own failure file."""
    return run_program(SCRIPTS / script, args, workdir, env)


def train_env(segment_dir: Path, model_dir: Path, output_dir: Path) -> dict[str, str]:
    return {"SM_CHANNEL_SEGMENT": str(segment_dir), "SM_MODEL_DIR": str(model_dir),
            "SM_OUTPUT_DATA_DIR": str(output_dir)}


@dataclass
class Run:
    root: Path
    data: Path
    preprocess: StepRun
    train: dict[str, StepRun]
    evaluate: dict[str, StepRun]

    @property
    def segments(self) -> Path:
        return self.root / "segments"

    def segment_dir(self, ident: str) -> Path:
        return self.segments / ident

    def model_dir(self, ident: str) -> Path:
        return self.root / "models" / ident

    def output_data_dir(self, ident: str) -> Path:
        return self.root / "output-data" / ident

    def evaluation_dir(self, ident: str) -> Path:
        return self.root / "evaluation" / ident


@pytest.fixture(scope="session")
def houses_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("houses") / "houses.csv"
    path.write_bytes(sample_csv(CITIES, houses_per_city=HOUSES, seed=7))
    return path


def train_in_process(run: Run, ident: str, argv: list[str]) -> str:
    """train.py's run() in this process (faster than a program); returns what it printed."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        train.run(train.parse_args(["--segment-dir", str(run.segment_dir(ident)),
                                    "--model-dir", str(run.model_dir(ident)),
                                    "--output-data-dir", str(run.output_data_dir(ident)),
                                    *argv]))
    return stdout.getvalue()


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory, houses_csv) -> Run:
    """Preprocess, then per segment train and evaluate. New York's jobs run as programs, as
    SageMaker runs them; the other segments' in this process."""
    root = tmp_path_factory.mktemp("run")
    pre = run_script("preprocess.py", ["--input-dir", str(houses_csv), "--output-dir",
                                       str(root / "segments"), "--segments",
                                       ",".join(CITIES), "--seed", "11"], root)
    assert pre.returncode == 0, pre.stderr
    run = Run(root, houses_csv, pre, {}, {})
    # JSON-quoted values and SageMaker's own arguments, as a training job passes them.
    hyperparameters = ["--num_round", '"60"', "--eta", "0.3", "--sagemaker_program",
                       "steps/multi_model/train.py"]
    for ident in IDS.values():
        archive = root / "artifacts" / ident / "model.tar.gz"
        evaluate_args = ["--model-dir", str(archive.parent), "--segment-dir",
                         str(run.segment_dir(ident)), "--output-dir",
                         str(run.evaluation_dir(ident))]
        if ident == PROGRAM_SEGMENT:
            run.train[ident] = run_script("train.py", hyperparameters, root / "train" / ident,
                                          train_env(run.segment_dir(ident), run.model_dir(ident),
                                                    run.output_data_dir(ident)))
            assert run.train[ident].returncode == 0, run.train[ident].stderr
            pack(run.model_dir(ident), archive)
            run.evaluate[ident] = run_script("evaluate.py", evaluate_args,
                                             root / "evaluate" / ident)
            assert run.evaluate[ident].returncode == 0, run.evaluate[ident].stderr
        else:
            printed = train_in_process(run, ident, hyperparameters)
            run.train[ident] = StepRun(0, printed, "", root / "no-failure")
            pack(run.model_dir(ident), archive)
            evaluate.run(evaluate.build_parser().parse_args(evaluate_args))
    return run
