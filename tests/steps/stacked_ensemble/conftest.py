"""Fixtures for the step scripts: small data sets written once, scripts run as programs."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from tests.steps.stacked_ensemble.step_runs import FAST_HYPERPARAMETERS, StepRun, run_script


def with_category_and_gaps(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Add a string column and missing values (features only), plus an all-empty column."""
    rng = np.random.default_rng(seed)
    frame = frame.copy()
    frame["site"] = rng.choice(["north", "south", "east"], len(frame))
    frame.loc[rng.choice(len(frame), 15, replace=False), frame.columns[2]] = np.nan
    frame.loc[rng.choice(len(frame), 10, replace=False), "site"] = np.nan
    frame["notes"] = np.nan
    return frame


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    diabetes = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    with_category_and_gaps(diabetes, 1).to_csv(folder / "diabetes.csv", index=False)
    cancer = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "diagnosis"})
    with_category_and_gaps(cancer, 2).to_csv(folder / "cancer.csv", index=False)
    return folder


@dataclass
class Trained:
    """One problem type taken through preprocess, train and evaluate."""

    problem_type: str
    target: str
    workdir: Path
    preprocess: StepRun
    train: StepRun
    evaluate: StepRun

    @property
    def splits(self) -> Path:
        return self.workdir / "splits"

    @property
    def model_dir(self) -> Path:
        return self.workdir / "model"

    @property
    def output_data_dir(self) -> Path:
        return self.workdir / "output-data"

    @property
    def evaluation_dir(self) -> Path:
        return self.workdir / "evaluation"


def _train_pipeline(workdir: Path, data: Path, target: str, problem_type: str) -> Trained:
    pre = run_script("preprocess.py", ["--input-dir", str(data), "--output-dir",
                                       str(workdir / "splits"), "--target-column", target,
                                       "--problem-type", problem_type], workdir)
    assert pre.returncode == 0, pre.stderr
    env = {"SM_CHANNEL_TRAIN": str(workdir / "splits" / "train"),
           "SM_CHANNEL_VALIDATION": str(workdir / "splits" / "validation"),
           "SM_MODEL_DIR": str(workdir / "model"),
           "SM_OUTPUT_DATA_DIR": str(workdir / "output-data")}
    # JSON-quoted values and SageMaker's own arguments, as a tuning job passes them.
    train = run_script("train.py", ["--problem_type", f'"{problem_type}"', "--target_column",
                                    target, *FAST_HYPERPARAMETERS, "--sagemaker_program",
                                    "train.py", "--_tuning_objective_metric", "validation:x"],
                       workdir, env)
    assert train.returncode == 0, train.stderr
    evaluate = run_script("evaluate.py", ["--model-dir", str(workdir / "model"), "--test-dir",
                                          str(workdir / "splits" / "test"), "--train-dir",
                                          str(workdir / "splits" / "train"), "--output-dir",
                                          str(workdir / "evaluation")], workdir)
    assert evaluate.returncode == 0, evaluate.stderr
    return Trained(problem_type, target, workdir, pre, train, evaluate)


@pytest.fixture(scope="session")
def regression(tmp_path_factory, data_dir) -> Trained:
    return _train_pipeline(tmp_path_factory.mktemp("regression"), data_dir / "diabetes.csv",
                           "progression", "regression")


@pytest.fixture(scope="session")
def classification(tmp_path_factory, data_dir) -> Trained:
    return _train_pipeline(tmp_path_factory.mktemp("classification"), data_dir / "cancer.csv",
                           "diagnosis", "classification")
