"""Predictors saved in a run directory: load them, and score a table of materials with them.

A run saves each trained predictor as ``models/predictors/<name>/{encoder,predictor}/`` (see
:meth:`sc_toolkit.components.Component.save`). The same code scores candidates inside a run,
loads a predictor into another recipe (``from_run``), and serves ``sctk predict``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .chem import Compositions
from .components import Encoder, Predictor
from .errors import UserError
from .registry import Registry

PREDICTORS_DIR = Path("models") / "predictors"


def resolve_run(text: str) -> Path:
    """A run directory from ``text``: the directory itself when it holds a finished run, else the
    latest finished run named ``<text>-<time>`` ("runs/pretrain_oqmd" -> the newest such run)."""
    path = Path(text)
    if _finished(path):
        return path
    runs = sorted(p for p in path.parent.glob(f"{path.name}-*") if _finished(p))
    if runs:
        return runs[-1]
    raise UserError(f"no finished run at '{text}' (nor any '{path.name}-<time>' beside it)",
                    hint="run the recipe that makes it first, or give the path of a run directory")


def _finished(path: Path) -> bool:
    manifest = path / "manifest.json"
    return manifest.is_file() and "finished" in json.loads(manifest.read_text())


def saved_component(directory: Path) -> tuple[str, str, dict]:
    """(kind, name, params) of the component saved in ``directory``."""
    header = json.loads((directory / "component.json").read_text())
    return header["kind"], header["name"], header["params"]


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


def load_predictor(run_dir: Path, name: str, registry: Registry) -> SavedPredictor:
    """The predictor ``name`` saved in ``run_dir``; UserError naming the ones there if absent."""
    directory = Path(run_dir) / PREDICTORS_DIR / name
    if not (directory / "predictor" / "component.json").is_file():
        found = saved_names(run_dir)
        raise UserError(f"{run_dir} holds no saved predictor '{name}'",
                        hint=f"saved predictors: {', '.join(found)}" if found else "is it a run directory of `sctk run`?")
    parts = {}
    for part, kind in (("encoder", "encoder"), ("predictor", "predictor")):
        _, component, _ = saved_component(directory / part)
        parts[part] = registry.get(kind, component).load(directory / part)
    return SavedPredictor(name, parts["encoder"], parts["predictor"])


def saved_names(run_dir: Path) -> list[str]:
    """Names of the predictors saved in ``run_dir``."""
    root = Path(run_dir) / PREDICTORS_DIR
    return sorted(p.name for p in root.iterdir() if (p / "predictor" / "component.json").is_file()) if root.is_dir() else []
