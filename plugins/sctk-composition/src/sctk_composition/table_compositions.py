"""Reading the compositions of a candidate table's 'formula' column, for filters that need them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sc_toolkit import N_ELEMENTS, Compositions, UserError


def formula_amounts(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Amounts matrix (n, 118) of ``table['formula']`` and a mask of the rows that parsed.

    Rows whose formula does not parse (including the empty formula of an undecodable sample) keep
    zero amounts and False in the mask, so that a filter can reject them instead of failing.
    """
    if "formula" not in table.columns:
        raise UserError("the table has no 'formula' column", hint="columns found: " + ", ".join(map(str, table.columns)))
    compositions, rejected = Compositions.parse(table["formula"].astype(str).tolist())
    parsed = np.ones(len(table), dtype=bool)
    parsed[[r.row for r in rejected]] = False
    amounts = np.zeros((len(table), N_ELEMENTS))
    amounts[parsed] = compositions.amounts
    return amounts, parsed
