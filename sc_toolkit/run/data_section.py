"""The ``[data]`` section of a run, and how every section of a run reads a registered dataset.

The training table comes from a registered dataset or a CSV file of formulas; the source rows that
cannot be read are reported in the run and skipped, the data filters select the rest, and --quick
keeps a seeded sample of them. The table is written to the run, so that a resumed run reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..data import LoadedTable, load
from ..errors import UserError
from ..plan import Plan
from ..registry import Registry
from .context import RunContext
from .directory import REJECTED_ROWS, TRAINING
from .tables import read_formula_csv, select


@dataclass(frozen=True)
class Datasets:
    """Registered datasets as a run reads them: each file is checked against its catalog sha256
    unless ``allow_modified`` (:func:`sc_toolkit.data.load`); ``quick_rows`` (under --quick) bounds
    the rows that :meth:`rows` returns, a sample drawn with ``seed``."""

    registry: Registry
    allow_modified: bool
    quick_rows: int | None
    seed: int

    @classmethod
    def of(cls, plan: Plan, registry: Registry, allow_modified: bool) -> Datasets:
        return cls(registry, allow_modified, plan.quick.rows if plan.quick else None, plan.run.seed)

    def load(self, name: str) -> LoadedTable:
        """The dataset ``name`` whole."""
        return load(self.registry.dataset(name), allow_modified=self.allow_modified)

    def rows(self, name: str) -> pd.DataFrame:
        """The rows of the dataset ``name`` that a predictor learns from: the --quick slice under --quick."""
        table = self.load(name).table
        if self.quick_rows is not None and len(table) > self.quick_rows:
            table = table.sample(self.quick_rows, random_state=self.seed)
        return table.reset_index(drop=True)


def training_table(plan: Plan, datasets: Datasets, run: RunContext, metrics: dict[str, Any]) -> pd.DataFrame:
    """The rows the predictors and the generator learn from, written to the run; a resumed run
    reads back the table of its previous attempt. The row counts of each selection go to
    ``metrics["data"]``; UserError when the data filters leave no row."""
    previous = run.run_dir.read_table(TRAINING)
    if previous is not None:
        run.log("training table loaded from a previous attempt of this run")
        return previous
    table, rejected = _read_source(plan, datasets, run)
    if len(rejected):
        run.run_dir.write_table(REJECTED_ROWS, rejected)
        run.log(f"{len(rejected)} source rows reported and skipped: see {REJECTED_ROWS}")
    counts = {"source_rows": len(table) + len(rejected), "rejected_rows": len(rejected)}
    table = select(table, plan.data_filters, run=run, counts=counts)
    if plan.quick and len(table) > plan.quick.rows:
        table = table.sample(plan.quick.rows, random_state=plan.run.seed).reset_index(drop=True)
        counts["quick sample"] = len(table)
    if table.empty:
        raise UserError("no training rows left after the data filters", where="data.filters",
                        hint="loosen the data filters")
    counts["training_rows"] = len(table)
    metrics["data"] = counts
    run.run_dir.write_table(TRAINING, table)
    return table


def _read_source(plan: Plan, datasets: Datasets, run: RunContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The source table and its rejected rows; a dataset's files, licence and citation go to the manifest."""
    if not plan.data.dataset:
        return read_formula_csv(Path(plan.data.path))
    dataset = datasets.registry.dataset(plan.data.dataset)
    loaded = datasets.load(plan.data.dataset)
    run.manifest["provenance"]["dataset"] = {
        "name": dataset.name, "files": loaded.files, "modified": list(loaded.modified),
        "folder": str(loaded.folder), "licence": dataset.licence, "citation": dataset.citation,
    }
    if loaded.modified:
        run.log(f"dataset {dataset.name}: modified files used on purpose: {', '.join(loaded.modified)}")
    return loaded.table, loaded.rejected
