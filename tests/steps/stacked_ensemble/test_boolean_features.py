"""A true/false column is a boolean feature (1/0): a request's `true`, `TRUE`, `True`, JSON true
and 1 predict alike (as text categories the file's own `true` was a category never seen and JSON
true was refused), the fast path reads them as the reference path does."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from steps.common import InvalidRequest
from steps.stacked_ensemble import ensemble, inference
from steps.stacked_ensemble.features import MISSING_TOKENS, coerce, infer_spec
from steps.stacked_ensemble.learners import LearnerSettings
from steps.stacked_ensemble.out_of_fold import fit_ensemble
from steps.stacked_ensemble.served_ensemble import ServedEnsemble
from steps.stacked_ensemble.task import Task
from tests.hostile_inputs import SLOW
from tests.steps.stacked_ensemble.test_served_ensemble import _csv_body, assert_same_outcome

SETTINGS = LearnerSettings(num_round=40, catboost_iterations=40)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> ServedEnsemble:
    """Spend rises by 5 for members; the CSV writes `true`/`false` with gaps, as exports do."""
    rng = np.random.default_rng(4)
    member = rng.random(300) < 0.5
    visits = rng.poisson(4, 300)
    text = pd.DataFrame({"member": np.where(member, "true", "false"), "visits": visits})
    text.loc[rng.choice(300, 15, replace=False), "member"] = ""
    frame = pd.read_csv(io.StringIO(text.to_csv(index=False)))  # as preprocessing reads it
    spec = infer_spec(frame)
    y = 5.0 * member + visits + rng.normal(0, 0.5, 300)
    trained = fit_ensemble(coerce(frame, spec, "t"), y, spec, Task("regression"), SETTINGS,
                           k_fold=3)
    folder = tmp_path_factory.mktemp("model")
    ensemble.save(folder, trained, {"target": "spend", **Task("regression").to_json(),
                                    "features": spec.to_json(),
                                    "hyperparameters": SETTINGS.to_json()})
    return inference.model_fn(str(folder))


def _predict(model, rows: list[dict]) -> np.ndarray:
    body = json.dumps({"instances": rows})
    return inference.predict_fn(inference.input_fn(body, "application/json"), model).values


def test_the_column_is_a_boolean_feature(model):
    assert model.spec.to_json() == [{"name": "member", "kind": "boolean"},
                                    {"name": "visits", "kind": "numeric"}]


def test_every_spelling_of_true_predicts_as_true(model):
    trues = _predict(model, [{"member": v, "visits": 4}
                             for v in ("true", "True", "TRUE", True, 1, " true")])
    falses = _predict(model, [{"member": v, "visits": 4} for v in ("false", False, 0)])
    # equal but for BLAS rounding: it sums rows of one batch in blocks, in different orders
    assert np.ptp(trues) < 1e-9 and np.ptp(falses) < 1e-9
    assert trues[0] - falses[0] > 3  # the members' 5


def test_a_cell_that_is_neither_is_refused_by_name(model):
    with pytest.raises(InvalidRequest, match=r"^request: feature 'member' is true/false but "
                                             r"row 2 has 'maybe'; send true or false"):
        _predict(model, [{"member": "true"}, {"member": "maybe"}])


cells = st.sampled_from(["true", "True", "TRUE", "false", "False", "FALSE", "1", "0", " true",
                         "maybe", "yes", "1.0", "2"]) | st.sampled_from(sorted(MISSING_TOKENS))
visits = st.sampled_from(["1", "4", "", "x"])


@SLOW
@given(rows=st.lists(st.tuples(cells, visits).map(list), min_size=1, max_size=6),
       bulk=st.booleans())
def test_generated_requests_with_booleans(model, rows, bulk):
    rows = rows * (200 // len(rows) + 1) if bulk else rows
    assert_same_outcome(_csv_body(rows, ["member", "visits"]), "text/csv", model)
    assert_same_outcome(json.dumps({"instances": rows}), "application/json", model)
