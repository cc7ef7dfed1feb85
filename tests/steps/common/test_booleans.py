"""True/false cells read as pandas reads a CSV's, plus JSON's booleans and 1/0."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from steps.common.booleans import boolean_feature, boolean_number, is_boolean_column
from steps.common.errors import InvalidData


def test_pandas_true_false_columns_are_boolean_and_others_are_not():
    frame = pd.read_csv(io.StringIO("a,b,c,d,e\ntrue,TRUE,yes,1,true\nfalse,False,no,0,maybe\n"
                                    ",True,no,1,false\n"))
    assert [is_boolean_column(frame[c]) for c in frame.columns] == [True, True, False, False,
                                                                    False]


@pytest.mark.parametrize("cell, number", [
    (True, 1.0), (np.False_, 0.0), ("true", 1.0), (" TRUE ", 1.0), ("True", 1.0), ("1", 1.0),
    ("false", 0.0), ("FALSE", 0.0), ("0", 0.0), ("yes", None), ("1.0", None), (1, 1.0),
    (0, 0.0), (2, None), (1.0, None),
])
def test_a_cell_is_true_false_or_neither(cell, number):
    assert boolean_number(cell) == number


def test_missing_cells_are_nan_and_the_first_other_cell_is_named():
    values = boolean_feature(["true", None, "", "NA", float("nan"), "False"], "member", "req",
                             frozenset({"", "NA"}))
    np.testing.assert_array_equal(values, [1.0, np.nan, np.nan, np.nan, np.nan, 0.0])
    with pytest.raises(InvalidData, match=r"^req: feature 'member' is true/false but row 2 has "
                                          r"'maybe'; send true or false, or leave the field empty "
                                          r"for a missing value$"):
        boolean_feature(["true", "maybe"], "member", "req")
