"""The ``stable`` filter: keep candidates predicted close to the convex hull of known phases."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from pydantic import Field

import sc_toolkit

from .filters import _numeric_column

#: Column the filter reads: predicted distance to the hull of known phases, eV/atom.
E_HULL_COLUMN = "e_hull_pred"


class Stable(sc_toolkit.Filter):
    """Keep rows whose predicted distance to the convex hull, ``e_hull_pred`` (eV/atom), is at most
    ``max_e_hull``; rows with a missing value (NaN) are rejected.

    ``e_hull_pred`` is the predicted formation energy minus the energy of the hull of known phases
    at that composition (``sc_toolkit.ReferenceHull``); negative values (predicted below the known
    hull) pass. The default, 0.1 eV/atom, is the usual tolerance for phases that can still be made
    (metastable within typical DFT and composition-model error; Sun et al., Sci. Adv. 2, e1600225
    (2016) put the 90th percentile of known inorganic metastability near 0.07 eV/atom).
    """

    name: ClassVar[str] = "stable"

    class Params(sc_toolkit.Params):
        max_e_hull: float = Field(
            0.1, description="largest predicted distance to the hull kept, eV/atom (e_hull_pred <= max_e_hull)"
        )

    def columns(self) -> tuple[str, ...]:
        return (E_HULL_COLUMN,)

    def keep(self, table: pd.DataFrame, *, run=None) -> np.ndarray:
        values = _numeric_column(table, E_HULL_COLUMN, self.name)
        with np.errstate(invalid="ignore"):
            return ~np.isnan(values) & (values <= self.params.max_e_hull)
