"""Predictions for user materials with the predictors saved in a run (``sctk predict``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .chem import parse_formula
from .errors import FormulaError, UserError
from .registry import Registry
from .saved import load_predictor, saved_names


def read_inputs(formulas: list[str], input_file: Path | None, cif_files: list[Path]) -> pd.DataFrame:
    """One table of what to predict: formulas given on the command line, a CSV with a 'formula'
    (and optionally 'cif') column, and CIF files (their text in 'cif', their formula from the CIF)."""
    parts = []
    if formulas:
        parts.append(pd.DataFrame({"formula": formulas}))
    if input_file is not None:
        if not input_file.is_file():
            raise UserError(f"input file not found: {input_file}", hint="give a CSV with a 'formula' column")
        frame = pd.read_csv(input_file, dtype={"formula": str}, keep_default_na=False)
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
        if not path.is_file():
            raise UserError(f"CIF file not found: {path}", hint="check the path")
        text = path.read_text()
        try:
            formula = Structure.from_str(text, fmt="cif").composition.formula.replace(" ", "")
        except Exception as error:  # pymatgen raises many types for malformed CIFs
            formula, text = "", f"unreadable CIF: {error}"
        rows.append({"source": str(path), "formula": formula, "cif": text})
    return pd.DataFrame(rows)


def predict_materials(run_dir: Path, table: pd.DataFrame, registry: Registry,
                      names: list[str] | None = None) -> pd.DataFrame:
    """``table`` with each saved predictor's output columns and an 'error' column: rows whose
    formula (or CIF) cannot be read get the reason there and missing predictions; the rest are predicted.
    Class labels come as nullable integers (``Int64``), the other outputs as floats."""
    available = saved_names(run_dir)
    if not available:
        raise UserError(f"{run_dir} holds no saved predictor", hint="give a run directory of a recipe with [[predictors]]")
    for name in names or []:
        if name not in available:
            raise UserError(f"no predictor '{name}' in {run_dir}", hint="saved: " + ", ".join(available))
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
