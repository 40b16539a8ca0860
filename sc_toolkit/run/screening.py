"""The ``[candidates]``, ``[[filters]]`` and ``[rank]`` sections of a run: the candidates (generated
samples or a screened table) go through the filters in order, the predictions are added just before
the first filter that reads one, and the accepted rows are ranked.

A candidate table keeps every row: ``rejected_by`` names the step that rejected it ('' while it is
alive), and a rejected row keeps NaN predictions. ``counts`` is the metrics entry of the candidates
(``generation`` or ``screening``): rows in and kept per filter, and the number accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UserError
from ..plan import Plan
from ..recipe import CandidatesSection
from .context import RunContext
from .data_section import Datasets
from .directory import ACCEPTED, CANDIDATES, CANDIDATES_CSV, REJECTED_CANDIDATES, RunDir
from .predict import SavedPredictor, add_derived_columns
from .tables import ranked, read_formula_csv


def load_candidates(section: CandidatesSection, datasets: Datasets, run_dir: RunDir,
                    metrics: dict[str, Any]) -> pd.DataFrame:
    """The table that ``[candidates]`` names, every row alive; a CSV's unreadable rows are written to
    the run. The count goes to ``metrics["screening"]``."""
    if section.dataset:
        table = datasets.load(section.dataset).table
    else:
        table, rejected = read_formula_csv(Path(section.path), where="candidates.path")
        if len(rejected):
            run_dir.write_table(REJECTED_CANDIDATES, rejected)
    table = table.reset_index(drop=True)
    table["rejected_by"] = ""
    metrics["screening"] = {"candidates": len(table)}
    return table


def screen(table: pd.DataFrame, training: pd.DataFrame, plan: Plan, predictors: list[SavedPredictor],
           run: RunContext, counts: dict[str, Any]) -> None:
    """Filter ``table`` in place with the plan's filters (each fitted on ``training``), adding the
    ``predictors``' columns where the plan says. UserError when a filter reads a missing column."""
    filtered = counts.setdefault("filters", {})
    for i, step in enumerate(plan.filters):
        if i == plan.predict_before:
            predict(table, predictors)
        alive = (table["rejected_by"] == "").to_numpy()
        component = step.build().fit(training)
        missing = set(component.columns()) - set(table.columns)
        if missing:
            raise UserError(f"filter '{step.label}' reads {sorted(missing)}, which the candidates do not have",
                            where=step.where, hint="columns available: " + ", ".join(table.columns))
        rows = table.loc[alive, list(component.columns())].reset_index(drop=True)
        keep = np.asarray(component.keep(rows, run=run), dtype=bool)
        table.loc[np.flatnonzero(alive)[~keep], "rejected_by"] = step.label
        filtered[step.label] = {"in": int(alive.sum()), "kept": int(keep.sum())}
        run.manifest["provenance"][step.where] = component.provenance()
        run.log(f"filter {step.label}: kept {int(keep.sum())} of {int(alive.sum())}")
    if plan.predict_before == len(plan.filters):
        predict(table, predictors)
    counts["accepted"] = int((table["rejected_by"] == "").sum())


def predict(table: pd.DataFrame, predictors: list[SavedPredictor]) -> None:
    """Score the candidates no filter has rejected yet, then add the derived columns; rejected rows keep NaN."""
    alive = (table["rejected_by"] == "").to_numpy()
    for predictor in predictors:
        predictor.predict_into(table, alive)
    add_derived_columns(table, predictors)


def rank(table: pd.DataFrame, plan: Plan, run_dir: RunDir, counts: dict[str, Any]) -> pd.DataFrame:
    """The accepted candidates in the plan's order; the whole table and the accepted rows are written
    to the run. Rows the ranking's diversity rules skip are counted as a 'rank' filter."""
    passed = int((table["rejected_by"] == "").sum())
    accepted = ranked(table, plan)
    if len(accepted) < passed:
        counts["filters"]["rank"] = {"in": passed, "kept": len(accepted)}
        counts["accepted"] = len(accepted)
    run_dir.write_table(CANDIDATES, table)
    run_dir.write_table(CANDIDATES_CSV, table)
    run_dir.write_table(ACCEPTED, accepted)
    return accepted
