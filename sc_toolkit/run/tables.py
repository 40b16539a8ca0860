"""The tables a run passes between its sections: user CSVs of formulas, rows selected by filters,
decoded samples, the ranked accepted candidates. Pure functions of tables and components."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..chem import Compositions, reduced_formula
from ..errors import DataError, UserError
from ..plan import Plan, Step
from ..runtime import RunLike

#: ``rejected_by`` of a sample that decodes to no element.
REJECTED_EMPTY = "decode: no element left"


def read_formula_csv(path: Path, *, where: str = "data.path") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A user CSV with a 'formula' column: rows whose formula parses, plus the rejected rows
    (row, value, reason)."""
    if not path.is_file():
        raise DataError(f"data file not found: {path}", where=where, hint="give an existing CSV file")
    frame = pd.read_csv(path)
    if "formula" not in frame.columns:
        raise DataError(f"{path} has no 'formula' column", where=where,
                        hint="columns found: " + ", ".join(map(str, frame.columns)))
    compositions, rejected = Compositions.parse(frame["formula"].astype(str))
    bad = np.zeros(len(frame), dtype=bool)
    bad[[r.row for r in rejected]] = True
    table = frame[~bad].reset_index(drop=True)
    table["reduced_formula"] = [reduced_formula(d) for d in compositions.as_dicts()]
    table["composition_key"] = compositions.keys()
    rejected_frame = pd.DataFrame({"row": [r.row for r in rejected], "value": [r.formula for r in rejected],
                                   "reason": [r.reason for r in rejected]})
    return table, rejected_frame


def select(table: pd.DataFrame, filters: list[Step], *, run: RunLike | None = None,
           counts: dict[str, Any] | None = None) -> pd.DataFrame:
    """Rows of ``table`` that pass every filter (training-data selection); ``counts`` gets the
    rows left after each filter."""
    for step in filters:
        component = step.build()
        missing = set(component.columns()) - set(table.columns)
        if missing:
            raise UserError(f"filter '{step.label}' reads {sorted(missing)}, which the data does not have",
                            where=step.where, hint="columns available: " + ", ".join(table.columns))
        keep = np.asarray(component.fit(table).keep(table, run=run), dtype=bool)
        if counts is not None:
            counts[f"after {step.label}"] = int(keep.sum())
        table = table[keep].reset_index(drop=True)
    return table


def samples_table(compositions: Compositions) -> pd.DataFrame:
    """Decoded samples as candidate rows: formula, reduced formula, composition key, element count;
    a sample with no element left is rejected by ``REJECTED_EMPTY``."""
    n_elements = compositions.n_elements
    empty = n_elements == 0
    keys = np.full(len(compositions), "", dtype=object)
    reduced = np.full(len(compositions), "", dtype=object)
    filled = compositions[~empty]
    keys[~empty] = filled.keys()
    reduced[~empty] = filled.reduced_formulas()
    return pd.DataFrame({
        "sample": np.arange(len(compositions)),
        "formula": compositions.formulas,
        "reduced_formula": reduced,
        "composition_key": keys,
        "n_elements": n_elements,
        "rejected_by": np.where(empty, REJECTED_EMPTY, ""),
    })


def ranked(candidates: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """The accepted candidates (``rejected_by`` empty), sorted as ``[rank]`` asks, numbered from 1."""
    accepted = candidates[candidates["rejected_by"] == ""]
    if plan.rank:
        accepted = accepted.sort_values(plan.rank.by, ascending=not plan.rank.descending,
                                        kind="mergesort", na_position="last")
    accepted = accepted.drop(columns=["rejected_by"]).reset_index(drop=True)
    accepted.insert(0, "rank", np.arange(1, len(accepted) + 1))
    return accepted
