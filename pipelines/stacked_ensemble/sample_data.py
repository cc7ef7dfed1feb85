"""Bundled sample data for the stacked ensemble: scikit-learn's diabetes and breast cancer sets.

Real tables have string columns and gaps, so the sample gets one categorical column derived
from the data and a few missing values; the pipeline handles both end to end.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes

from steps.stacked_ensemble.contract import CLASSIFICATION, PROBLEM_TYPES, REGRESSION

TARGET_COLUMN = "target"
_MISSING_SHARE = 0.02


def sample_frame(problem_type: str = REGRESSION, seed: int = 7) -> pd.DataFrame:
    """Features, one string column, ~2% missing feature values, and `target` last."""
    if problem_type not in PROBLEM_TYPES:
        raise ValueError(f"problem_type {problem_type!r} is not one of {', '.join(PROBLEM_TYPES)}")
    loader = load_diabetes if problem_type == REGRESSION else load_breast_cancer
    data = loader(as_frame=True)
    frame = data.frame.rename(columns={data.target.name: TARGET_COLUMN})
    features = frame.drop(columns=[TARGET_COLUMN])
    if problem_type == REGRESSION:
        # BMI band: a real categorical signal in the diabetes data.
        bands = pd.qcut(features["bmi"], 3, labels=["low", "mid", "high"]).astype(str)
    else:
        bands = pd.qcut(features["mean radius"], 3, labels=["small", "medium", "large"]).astype(str)
    rng = np.random.default_rng(seed)
    mask = rng.random(features.shape) < _MISSING_SHARE
    features = features.mask(mask)
    features.insert(0, "band", bands)
    features[TARGET_COLUMN] = frame[TARGET_COLUMN]
    return features


def sample_csv(problem_type: str = REGRESSION) -> bytes:
    return sample_frame(problem_type).to_csv(index=False).encode()


__all__ = ["CLASSIFICATION", "REGRESSION", "TARGET_COLUMN", "sample_csv", "sample_frame"]
