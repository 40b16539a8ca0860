"""Predictors saved in a run: load them and score tables of materials with them.

A run saves each trained predictor under ``models/predictors/<name>/{encoder,predictor}/`` (see
:class:`~sc_toolkit.run.directory.RunDir`). The same code scores candidates inside a run, serves
``sctk predict`` and :meth:`sc_toolkit.Run.predict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..chem import Compositions, parse_formula
from ..components import Encoder, Predictor
from ..errors import FormulaError, UserError
from ..registry import Registry
from .calibration import ApplicabilityDomain, ConformalInterval, families
from .directory import DOMAIN_FILE, EXTRAS_FILE, HULL_DIR, INTERVAL_FILE, PREDICTORS, RunDir
from .stability import ReferenceHull
from .tables import check_text_file, read_user_csv


def output_columns(name: str, task: str, supports_std: bool, *, interval: bool = False, domain: bool = False,
                   hull: bool = False, moments: bool = False) -> list[str]:
    """Columns a predictor called ``name`` adds to a table: its prediction, spread or probability,
    and, when calibrated, its interval bounds, applicability domain and hull distance; with
    ``moments`` (a regressor with ``predict_moments``), the :data:`MOMENT_COLUMNS` its Tc comes from,
    each with its ensemble spread."""
    if task == "classification":
        columns = [f"{name}_pred", f"{name}_proba"]
    else:
        columns = [f"{name}_pred"] + ([f"{name}_std"] if supports_std else [])
        columns += [f"{name}_lo", f"{name}_hi"] if interval else []
        columns += [HULL_COLUMN] if hull else []
        columns += [f"{name}_{m}{s}" for m in MOMENT_COLUMNS for s in ("", "_std")] if moments else []
    return columns + ([f"{name}_domain_distance", f"{name}_in_domain"] if domain else [])


#: Moments of the Eliashberg spectral function a Tc predictor with ``predict_moments`` (alpha2F
#: ensembles) reports beside Tc: the electron-phonon coupling lambda and omega_log (K). Its
#: ``predict_moments(X)`` returns a DataFrame with these columns and ``<column>_std``.
MOMENT_COLUMNS = ("lambda", "omega_log")


#: The distance to the convex hull of known phases, from a formation-energy predictor with a hull.
HULL_COLUMN = "e_hull_pred"
#: True where every predictor with an applicability domain judges the composition inside it.
IN_DOMAIN_COLUMN = "in_domain"


def expected_column(name: str) -> str:
    """The column of P(superconductor) x prediction for the regressor ``name`` with ``expected``."""
    return f"expected_{name}"


@dataclass
class Extras:
    """What a predictor knows about its own predictions, beside the model: a conformal interval, an
    applicability domain and a reference hull (each calibrated or built at training time), the
    smallest value its target can take (predictions and bounds are clipped there), and the
    classifier whose P(positive) x prediction is written as ``expected_<name>``."""

    interval: ConformalInterval | None = None
    domain: ApplicabilityDomain | None = None
    hull: ReferenceHull | None = None
    min_value: float | None = None
    expected: str | None = None


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
    """A fitted encoder + predictor pair, what it knows about itself (:class:`Extras`), and the
    name its outputs are prefixed with."""

    name: str
    encoder: Encoder
    model: Predictor
    extras: Extras = field(default_factory=Extras)

    @property
    def outputs(self) -> list[str]:
        return output_columns(self.name, self.model.task, self.model.supports_std,
                              interval=self.extras.interval is not None, domain=self.extras.domain is not None,
                              hull=self.extras.hull is not None, moments=self.has_moments)

    @property
    def has_moments(self) -> bool:
        """True for a regressor that also reports the spectral moments its Tc comes from."""
        return self.model.task == "regression" and hasattr(self.model, "predict_moments")

    def predict(self, table: pd.DataFrame) -> pd.DataFrame:
        """Output columns for every row of ``table`` (a DataFrame indexed like ``table``)."""
        columns = {c: np.full(len(table), np.nan) for c in self.outputs}
        if len(table):
            materials = materials_of(self.encoder, table)
            X = self.encoder.encode(materials)
            columns |= self._predictions(X, materials)
            if self.extras.domain is not None:
                distance = self.extras.domain.distance(X)
                columns[f"{self.name}_domain_distance"] = distance
                columns[f"{self.name}_in_domain"] = self.extras.domain.in_domain(distance)
        return pd.DataFrame(columns, index=table.index)

    def _predictions(self, X: np.ndarray, materials) -> dict[str, np.ndarray]:
        name, extras = self.name, self.extras
        if self.model.task == "classification":
            return {f"{name}_pred": np.asarray(self.model.predict(X), dtype=float),
                    f"{name}_proba": self.model.predict_proba(X)[:, -1]}
        std = None
        if self.model.supports_std:
            predicted, std = self.model.predict(X, return_std=True)
        else:
            predicted = self.model.predict(X)
        predicted = np.asarray(predicted, dtype=float)
        out = {f"{name}_pred": self._clip(predicted)} | ({f"{name}_std": std} if std is not None else {})
        if extras.interval is not None:
            compositions = _compositions_of(materials)
            bins = families(compositions) if extras.interval.bins is not None else None
            low, high = extras.interval.predict(predicted, std, bins)
            out |= {f"{name}_lo": self._clip(low), f"{name}_hi": self._clip(high)}
        if extras.hull is not None:
            out[HULL_COLUMN] = extras.hull.e_above_hull(_compositions_of(materials), out[f"{name}_pred"])
        if self.has_moments:
            moments = self.model.predict_moments(X)
            out |= {f"{name}_{m}{s}": moments[f"{m}{s}"].to_numpy(dtype=float)
                    for m in MOMENT_COLUMNS for s in ("", "_std")}
        return out

    def _clip(self, values: np.ndarray) -> np.ndarray:
        return values if self.extras.min_value is None else np.maximum(values, self.extras.min_value)

    def predict_into(self, table: pd.DataFrame, rows: np.ndarray) -> None:
        """Write the output columns into ``table`` for the rows where the boolean ``rows`` is True;
        the other rows stay missing. Class labels become nullable integers (``Int64``), so a label
        reads ``1`` beside a missing row, not ``1.0``; domain flags nullable booleans; the other
        outputs are floats."""
        scores = self.predict(table[rows])
        for column in self.outputs:
            flag = column == f"{self.name}_in_domain"
            table[column] = pd.Series(pd.NA if flag else np.nan, index=table.index, dtype="boolean" if flag else float)
            table.loc[rows, column] = scores[column].to_numpy()
        if self.model.task == "classification":
            table[f"{self.name}_pred"] = table[f"{self.name}_pred"].astype("Int64")


def add_derived_columns(table: pd.DataFrame, predictors: list[SavedPredictor]) -> None:
    """Columns made of several predictors' outputs: ``expected_<name>`` (the classifier's
    P(positive) x the regressor's prediction) and ``in_domain`` (every domain says inside)."""
    by_name = {p.name: p for p in predictors}
    for p in predictors:
        if p.extras.expected and p.extras.expected in by_name:
            table[expected_column(p.name)] = table[f"{p.extras.expected}_proba"] * table[f"{p.name}_pred"]
    flags = [f"{p.name}_in_domain" for p in predictors if p.extras.domain is not None]
    if flags:
        table[IN_DOMAIN_COLUMN] = table[flags].all(axis=1, skipna=False).astype("boolean")
        table.loc[table[flags].isna().any(axis=1), IN_DOMAIN_COLUMN] = pd.NA


def _compositions_of(materials) -> Compositions:
    return materials if isinstance(materials, Compositions) else Compositions.from_formulas(materials["formula"].tolist())


def save_predictor(run_dir: RunDir, saved: SavedPredictor) -> None:
    """Save ``saved`` in ``run_dir`` under ``models/predictors/<name>/``: the encoder and model whole
    (see :meth:`RunDir.save_component`), their extras beside them, the model last (a predictor
    counts as saved once its model is)."""
    where, extras = f"{PREDICTORS}/{saved.name}", saved.extras
    run_dir.save_component(saved.encoder, f"{where}/encoder")
    folder = run_dir.subdir(where)
    run_dir.write_json(f"{where}/{EXTRAS_FILE}", {"min_value": extras.min_value, "expected": extras.expected})
    if extras.interval is not None:
        extras.interval.save(folder / INTERVAL_FILE)
    if extras.domain is not None:
        extras.domain.save(folder / DOMAIN_FILE)
    if extras.hull is not None:
        extras.hull.save(run_dir.subdir(where, HULL_DIR))
    run_dir.save_component(saved.model, f"{where}/predictor")


def _load_extras(run_dir: RunDir, where: str) -> Extras:
    settings = run_dir.read_json(f"{where}/{EXTRAS_FILE}")
    folder = run_dir.file(where)
    hull = ReferenceHull.load(folder / HULL_DIR) if (folder / HULL_DIR).is_dir() else None
    return Extras(
        interval=ConformalInterval.load(folder / INTERVAL_FILE) if (folder / INTERVAL_FILE).exists() else None,
        domain=ApplicabilityDomain.load(folder / DOMAIN_FILE) if (folder / DOMAIN_FILE).exists() else None,
        hull=hull,
        min_value=settings.get("min_value"), expected=settings.get("expected"))


def load_predictor(run_dir: RunDir, name: str, registry: Registry) -> SavedPredictor:
    """The predictor ``name`` saved in ``run_dir``; UserError naming the ones there if absent."""
    where = f"{PREDICTORS}/{name}"
    if not run_dir.has_component(f"{where}/predictor"):
        found = run_dir.predictor_names()
        raise UserError(f"{run_dir.path} holds no saved predictor '{name}'",
                        hint=f"saved predictors: {', '.join(found)}" if found else "is it a run directory of `sctk run`?")
    return SavedPredictor(name, run_dir.load_component(f"{where}/encoder", "encoder", registry),
                          run_dir.load_component(f"{where}/predictor", "predictor", registry),
                          _load_extras(run_dir, where))


def predictor_reads(run_dir: RunDir, name: str, registry: Registry) -> str:
    """'composition' or 'structure': what the predictor ``name`` saved in ``run_dir`` reads (its
    encoder's ``consumes``), without loading its model."""
    header = run_dir.component_header(f"{PREDICTORS}/{name}/encoder")
    return registry.get("encoder", header["name"]).consumes


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
    Class labels come as nullable integers (``Int64``), the other outputs as floats.

    Without ``names``, a table of formulas only (no 'cif' column) is predicted by the run's
    composition predictors, its structure predictors left out; a table with CIFs by all of them
    (composition predictors read the CIF's formula). A structure predictor named in ``names`` for a
    table without CIFs, or a run with structure predictors only, is a UserError asking for CIFs."""
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
    chosen = names or available
    if "cif" not in table.columns:
        reads_structures = [n for n in chosen if predictor_reads(run_dir, n, registry) == "structure"]
        if names and reads_structures:
            raise UserError(f"predictor '{reads_structures[0]}' reads crystal structures", hint="give --cif files")
        chosen = [n for n in chosen if n not in reads_structures]
        if not chosen:
            raise UserError(f"every predictor of {run_dir.path} reads crystal structures",
                            hint="give --cif files")
    loaded = []
    for name in chosen:
        predictor = load_predictor(run_dir, name, registry)
        predictor.predict_into(table, ok)
        loaded.append(predictor)
    add_derived_columns(table, loaded)
    return table


def _formula_problem(formula) -> str:
    try:
        parse_formula(str(formula))
    except FormulaError as error:
        return error.message
    return ""
