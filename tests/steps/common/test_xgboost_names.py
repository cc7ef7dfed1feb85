"""Column names become feature names XGBoost accepts, unique, and unchanged where they can be."""
from __future__ import annotations

import numpy as np
import xgboost as xgb
from hypothesis import given
from hypothesis import strategies as st

from steps.common.xgboost_names import xgboost_feature_names


def test_forbidden_characters_are_swapped_and_names_stay_unique():
    names = ["size [m²]", "size (m²)", "age <18", "plain", "a[1]", "a(1)", "a(1) #2"]
    assert xgboost_feature_names(names) == [
        "size (m²) #2", "size (m²)", "age \u203918", "plain", "a(1) #3", "a(1)", "a(1) #2"]


@given(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=8, unique=True))
def test_any_unique_names_become_names_xgboost_takes(names):
    safe = xgboost_feature_names(names)
    assert len(set(safe)) == len(names)
    assert [s for s, n in zip(safe, names, strict=True) if not set(n) & set("[]<")] == [
        n for n in names if not set(n) & set("[]<")]
    xgb.DMatrix(np.zeros((1, len(names))), feature_names=safe)  # raises on a name it refuses
