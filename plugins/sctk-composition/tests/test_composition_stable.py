"""The ``stable`` filter: threshold on e_hull_pred, missing values rejected, registered by the plugin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pydantic
import pytest

import sc_toolkit
from sc_toolkit import UserError
from sc_toolkit.testing import check_filter
from sctk_composition import Stable


def test_keeps_rows_at_or_below_the_threshold_and_rejects_missing_values():
    table = pd.DataFrame({"e_hull_pred": [-0.2, 0.0, 0.1, 0.1000001, 0.5, np.nan]})
    assert check_filter(Stable(), table).tolist() == [True, True, True, False, False, False]
    assert Stable(max_e_hull=0.0).keep(table).tolist() == [True, True, False, False, False, False]
    assert Stable(max_e_hull=1.0).keep(table).tolist() == [True, True, True, True, True, False]


def test_reads_e_hull_pred_and_says_when_it_is_missing():
    assert Stable().columns() == ("e_hull_pred",)
    with pytest.raises(UserError, match="e_hull_pred"):
        Stable().keep(pd.DataFrame({"e_hull": [0.0]}))
    with pytest.raises(pydantic.ValidationError):
        Stable(max_e_hull="high")


def test_registered_as_a_filter():
    assert sc_toolkit.load_registry().get("filter", "stable") is Stable
