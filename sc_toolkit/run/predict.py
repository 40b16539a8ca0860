"""Predictors saved in a run: load them and score tables of materials with them.

A run saves each trained predictor under ``models/predictors/<name>/{encoder,predictor}/`` (see
:class:`~sc_toolkit.run.directory.RunDir`). The same code scores candidates inside a run, serves
``sctk predict`` and :meth:`sc_toolkit.Run.predict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..chem import Compositions, parse_formula
from ..components import Encoder, Predictor
from ..errors import FormulaError, UserError
from ..registry import Registry
from .directory import PREDICTORS, RunDir
from .tables import check_text_file, read_user_csv


def output_columns(name: str, task: str, supports_std: bool) -> list[str]:
    """Columns a predictor called ``name`` adds to a table."""
    if task == "classification":
        return [f"{name}_pred", f"{name}_proba"]
    return [f"{name}_pred"] + ([f"{name}_std"] if supports_std else [])


def materials_of(encoder: Encoder | type[Encoder], table: pd.DataFrame):
    """What ``encoder`` reads from ``table``: Compositions of its 'formula' column, or the table
    itself (with its 'cif' column) for structure encoders."""
    if encoder.consumes == "composition":
        return Compositions.from_formulas(table["formula"].tolist())
    if "cif" not in table.columns:
        raise UserError(f"encoder '{encoder.name}' reads crystal structures, but the table has no 'cif' column",
                        hint="give structures (CIF text in a 'cif' column, or --cif files)")
    return table.reset_index(drop=True)


def subset(materials, mask: np.ndarray):
    """Rows of ``mask`` from Compositions or a table."""
    if isinstance(materials, Compositions):
        return materials[mask]
    return materials[mask].reset_index(drop=True)


@dataclass
class SavedPredictor:
    """A fitted encoder + predictor pair and the name its outputs are prefixed with."""

    name: str
    encoder: Encoder
    model: Predictor

    @property
    def outputs(self) -> list[str]:
        return output_columns(self.name, self.model.task, self.model.supports_std)

    def predict(self, table: pd.DataFrame) -> pd.DataFrame:
        """Output columns for every row of ``table`` (a DataFrame indexed like ``table``)."""
        columns = {c: np.full(len(table), np.nan) for c in self.outputs}
        if len(table):
            X = self.encoder.encode(materials_of(self.encoder, table))
            if self.model.task == "classification":
                columns[f"{self.name}_pred"] = np.asarray(self.model.predict(X), dtype=float)
                columns[f"{self.name}_proba"] = self.model.predict_proba(X)[:, -1]
            elif self.model.supports_std:
                columns[f"{self.name}_pred"], columns[f"{self.name}_std"] = self.model.predict(X, return_std=True)
            else:
                columns[f"{self.name}_pred"] = self.model.predict(X)
        return pd.DataFrame(columns, index=table.index)

    def predict_into(self, table: pd.DataFrame, rows: np.ndarray) -> None:
        """Write the output columns into ``table`` for the rows where the boolean ``rows`` is True;
        the other rows stay missing. Class labels become nullable integers (``Int64``), so a label
        reads ``1`` beside a missing row, not ``1.0``; the other outputs are floats."""
        scores = self.predict(table[rows])
        for column in self.outputs:
            table[column] = np.nan
            table.loc[rows, column] = scores[column].to_numpy()
        if self.model.task == "classification":
            table[f"{self.name}_pred"] = table[f"{self.name}_pred"].astype("Int64")


def load_predictor(run_dir: RunDir, name: str, registry: Registry) -> SavedPredictor:
    """The predictor ``name`` saved in ``run_dir``; UserError naming the ones there if absent."""
    where = f"{PREDICTORS}/{name}"
    if not run_dir.has_component(f"{where}/predictor"):
        found = run_dir.predictor_names()
        raise UserError(f"{run_dir.path} holds no saved predictor '{name}'",
                        hint=f"saved predictors: {', '.join(found)}" if found else "is it a run directory of `sctk run`?")
    return SavedPredictor(name, run_dir.load_component(f"{where}/encoder", "encoder", registry),
                          run_dir.load_component(f"{where}/predictor", "predictor", registry))


def predictor_task(run_dir: RunDir, name: str) -> str:
    """'classification' or 'regression': the task of the predictor ``name`` saved in ``run_dir``."""
    return run_dir.component_header(f"{PREDICTORS}/{name}/predictor")["params"].get("task", "regression")


def read_inputs(formulas: list[str], input_file: Path | None, cif_files: list[Path]) -> pd.DataFrame:
    """One table of what to predict: formulas given on the command line, a CSV with a 'formula'
    (and optionally 'cif') column, and CIF files (their text in 'cif', their formula from the CIF)."""
    parts = []
    if formulas:
        parts.append(pd.DataFrame({"formula": formulas}))
    if input_file is not None:
        frame = read_user_csv(input_file, where="--input", dtype={"formula": str}, keep_default_na=False)
        if "formula" not in frame.columns and "cif" not in frame.columns:
            raise UserError(f"{input_file} has neither a 'formula' nor a 'cif' column",
                            hint="columns found: " + ", ".join(map(str, frame.columns)))
        parts.append(frame)
    if cif_files:
        parts.append(_read_cifs(cif_files))
    if not parts:
        raise UserError("nothing to predict", hint="give formulas, --input FILE.csv or --cif FILE.cif")
    return pd.concat(parts, ignore_index=True)


def _read_cifs(paths: list[Path]) -> pd.DataFrame:
    from pymatgen.core import Structure

    rows = []
    for path in paths:
        check_text_file(path, where="--cif", what="CIF", hint="give a CIF text file")
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UserError(f"{path} is not UTF-8 text", where="--cif", hint="give a CIF text file") from None
        try:
            formula = Structure.from_str(text, fmt="cif").composition.formula.replace(" ", "")
        except Exception as error:  # pymatgen raises many types for malformed CIFs
            formula, text = "", f"unreadable CIF: {error}"
        rows.append({"source": str(path), "formula": formula, "cif": text})
    return pd.DataFrame(rows)


def predict_materials(run_dir: RunDir, table: pd.DataFrame, registry: Registry,
                      names: list[str] | None = None) -> pd.DataFrame:
    """``table`` with each saved predictor's output columns and an 'error' column: rows whose
    formula (or CIF) cannot be read get the reason there and missing predictions; the rest are predicted.
    Class labels come as nullable integers (``Int64``), the other outputs as floats."""
    available = run_dir.predictor_names()
    if not available:
        raise UserError(f"{run_dir.path} holds no saved predictor",
                        hint="give a run directory of a recipe with [[predictors]]")
    for name in names or []:
        if name not in available:
            raise UserError(f"no predictor '{name}' in {run_dir.path}", hint="saved: " + ", ".join(available))
    table = table.reset_index(drop=True).copy()
    errors = np.array([_formula_problem(f) for f in table.get("formula", pd.Series([""] * len(table)))], dtype=object)
    if "cif" in table.columns:
        unreadable = table["cif"].astype(str).str.startswith("unreadable CIF")
        errors[unreadable.to_numpy()] = table.loc[unreadable, "cif"].to_numpy()
    table["error"] = errors
    ok = (table["error"] == "").to_numpy()
    for name in names or available:
        predictor = load_predictor(run_dir, name, registry)
        if predictor.encoder.consumes == "structure" and "cif" not in table.columns:
            raise UserError(f"predictor '{name}' reads crystal structures", hint="give --cif files")
        predictor.predict_into(table, ok)
    return table


def _formula_problem(formula) -> str:
    try:
        parse_formula(str(formula))
    except FormulaError as error:
        return error.message
    return ""
