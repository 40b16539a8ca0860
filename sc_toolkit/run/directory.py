"""RunDir: the one owner of a run directory's file names, and of every write and read in it.

Layout of a run directory (never overwritten; ``sctk resume`` continues one in place)::

    recipe.toml          the recipe as given
    resolved.toml        every parameter filled in: `sctk run resolved.toml` reruns it
    invocation.json      the --set overrides and --quick flag (what `sctk resume` replays)
    manifest.json        versions, seed, device, git commit, per-step timings and row counts
    run.log              what happened, with times
    metrics.json         hold-out metrics beside baselines, filter counts, evaluation
    models/              fitted components (component.json + state files), each saved whole or not at all
    checkpoints/         training checkpoints (resume from here)
    rejected_rows.csv    source rows reported and skipped while loading the data
    rejected_candidates.csv   candidate rows reported and skipped while loading a candidate file
    training.parquet     the training table after data filters
    generator_training.parquet   the rows the generator learned from
    generator_holdout.parquet    rows kept out of its training ([generator] holdout) for recovery
    history.json         per-epoch generator losses
    candidates.parquet   every candidate with `rejected_by` (also .csv): a folder of Parquet shards, one
                         per screened batch, that pandas.read_parquet reads as one table
    accepted.csv         accepted candidates, ranked
    structures/          one CIF per proposed structure, <structure_id>.cif (partial occupancies kept)
    structures.csv       every proposed structure: source, relaxation (or why rejected), scores
    ranked_structures.csv   the relaxed, scored structures, ranked
    report.html          self-contained report with plots

Every write is atomic (a temporary file in the same folder, then a rename), so a run stopped at any
moment holds whole files only. A saved component is written into a temporary folder that is renamed
into place when all of it is on disk, so ``resume`` never trusts a half-written model.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tomllib
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserError

if TYPE_CHECKING:
    import pandas as pd

    from ..components import Component
    from ..registry import Registry

RECIPE = "recipe.toml"
RESOLVED = "resolved.toml"
INVOCATION = "invocation.json"
MANIFEST = "manifest.json"
LOG = "run.log"
METRICS = "metrics.json"
REJECTED_ROWS = "rejected_rows.csv"
REJECTED_CANDIDATES = "rejected_candidates.csv"
TRAINING = "training.parquet"
GENERATOR_TRAINING = "generator_training.parquet"
GENERATOR_HOLDOUT = "generator_holdout.parquet"
HISTORY = "history.json"
CANDIDATES = "candidates.parquet"
#: Rows per DataFrame of :meth:`RunDir.table_batches`.
BATCH_ROWS = 100_000
CANDIDATES_CSV = "candidates.csv"
ACCEPTED = "accepted.csv"
STRUCTURES_DIR = "structures"
STRUCTURES = "structures.csv"
RANKED_STRUCTURES = "ranked_structures.csv"
REPORT = "report.html"
#: Beside a saved predictor: its settings (min_value, expected), conformal calibration, domain, hull.
EXTRAS_FILE = "extras.json"
INTERVAL_FILE = "interval.npz"
DOMAIN_FILE = "domain.npz"
HULL_DIR = "hull"
#: Beside a saved tree model: its features by importance.
FEATURE_IMPORTANCES = "feature_importances.csv"
#: The header every saved component carries: kind, name and params (see ``Component.save``).
COMPONENT_FILE = "component.json"

MODELS = "models"
PREDICTORS = f"{MODELS}/predictors"
GENERATOR = f"{MODELS}/generator"
STRUCTURE_GENERATOR = f"{MODELS}/structure_generator"
CHECKPOINTS = "checkpoints"


class RunDir:
    """A run directory: its files by name, atomic writes, tolerant reads, saved components."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __str__(self) -> str:
        return str(self.path)

    def __fspath__(self) -> str:
        return str(self.path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    # -- creating and finding runs --------------------------------------------------------------

    @classmethod
    def create(cls, output_dir: str | Path, name: str) -> RunDir:
        """A new ``<output_dir>/<name>-<UTC time>`` (with a -2, -3 ... suffix if taken); never reuses one.
        UserError (run.output_dir) when the folder cannot be created or written."""
        output_dir = Path(output_dir)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
            for attempt in range(1, 1000):
                candidate = output_dir / (f"{name}-{stamp}" + (f"-{attempt}" if attempt > 1 else ""))
                try:
                    candidate.mkdir()
                    return cls(candidate)
                except FileExistsError:
                    continue
        except OSError as error:  # read-only, not a folder, disk full
            raise UserError(f"cannot create a run directory in {output_dir}: {error.strerror or error}",
                            where="run.output_dir",
                            hint="choose a writable folder, e.g. --set run.output_dir='\"runs\"'") from None
        raise UserError(f"could not create a new run directory in {output_dir}")

    @classmethod
    def resolve(cls, text: str | Path) -> RunDir:
        """A finished run from ``text``: the directory itself, else the latest finished run named
        ``<text>-<time>`` ("runs/pretrain_oqmd" -> the newest such run). UserError when there is none."""
        path = Path(text)
        if cls(path).is_finished:
            return cls(path)
        runs = sorted(p for p in path.parent.glob(f"{path.name}-*") if cls(p).is_finished)
        if runs:
            return cls(runs[-1])
        raise UserError(f"no finished run at '{text}' (nor any '{path.name}-<time>' beside it)",
                        hint="run the recipe that makes it first, or give the path of a run directory")

    @classmethod
    def existing(cls, path: str | Path) -> RunDir:
        """``path`` as a run directory of `sctk run`; UserError when it is not one."""
        run_dir = cls(path)
        if not run_dir.path.is_dir():
            raise UserError(f"run directory not found: {path}", hint="give a directory that `sctk run` created")
        if not (run_dir.has(MANIFEST) or run_dir.has(INVOCATION)):
            raise UserError(f"{path} is not a run directory (no {MANIFEST})",
                            hint="give a directory that `sctk run` created")
        return run_dir

    # -- state ------------------------------------------------------------------------------------

    @property
    def is_finished(self) -> bool:
        """True when the run's manifest records that it finished."""
        return "finished" in self.read_json(MANIFEST)

    def has(self, name: str) -> bool:
        return (self.path / name).exists()

    def file(self, name: str) -> Path:
        """The path of the run file ``name`` (one of this module's names)."""
        return self.path / name

    def subdir(self, *parts: str) -> Path:
        """A folder inside the run, created if missing (checkpoints, models)."""
        path = self.path.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def checkpoint_dir(self, component: str) -> Path:
        return self.subdir(CHECKPOINTS, component)

    # -- writes (all atomic) ----------------------------------------------------------------------

    def _atomic(self, name: str, write: Callable[[Path], Any]) -> Path:
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            write(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def write_text(self, name: str, text: str) -> Path:
        return self._atomic(name, lambda p: p.write_text(text, encoding="utf-8"))

    def write_json(self, name: str, data: Any) -> Path:
        """``data`` as JSON; numpy values become plain ones, NaN and infinities become null."""
        text = json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n"
        return self.write_text(name, text)

    def write_table(self, name: str, table: pd.DataFrame) -> Path:
        """A table as Parquet or CSV, by the name's suffix."""
        if name.endswith(".parquet"):
            return self._atomic(name, lambda p: table.to_parquet(p))
        return self._atomic(name, lambda p: table.to_csv(p, index=False))

    # -- reads (tolerant: a missing or unreadable file reads as empty) ---------------------------

    def read_json(self, name: str) -> dict[str, Any]:
        try:
            return json.loads((self.path / name).read_text())
        except (OSError, ValueError):
            return {}

    def read_toml(self, name: str) -> dict[str, Any]:
        try:
            return tomllib.loads((self.path / name).read_text())
        except (OSError, ValueError):
            return {}

    def read_table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        """A Parquet or CSV table of the run (only ``columns``, when given), or None when it is
        missing or unreadable. The whole table is in memory: see :meth:`table_batches` for one that
        may not fit."""
        import pandas as pd

        path = self.path / name
        if not path.exists():
            return None
        try:
            if name.endswith(".parquet"):
                return pd.read_parquet(path, columns=columns)
            return pd.read_csv(path, usecols=columns)
        except (OSError, ValueError):
            return None

    def table_batches(self, name: str, columns: list[str] | None = None, rows: int = BATCH_ROWS):
        """The Parquet table ``name`` (a file, or a folder of shards such as ``candidates.parquet``)
        as DataFrames of at most ``rows`` rows, in order, reading only ``columns`` when given: memory
        bounded whatever the table's size. Nothing when it is missing; ValueError when ``columns``
        names one it lacks."""
        import pyarrow.dataset as ds

        path = self.path / name
        if not path.exists():
            return
        for batch in ds.dataset(path, format="parquet").to_batches(columns=columns, batch_size=rows):
            yield batch.to_pandas()

    @property
    def manifest(self) -> dict[str, Any]:
        return self.read_json(MANIFEST)

    @property
    def metrics(self) -> dict[str, Any]:
        return self.read_json(METRICS)

    @property
    def recipe(self) -> dict[str, Any]:
        """The resolved recipe of the run (the recipe as given when it has none)."""
        return self.read_toml(RESOLVED) or self.read_toml(RECIPE)

    # -- saved components -------------------------------------------------------------------------

    def has_component(self, where: str) -> bool:
        """True when a whole component is saved at ``where`` (e.g. "models/generator/generator")."""
        return (self.path / where / COMPONENT_FILE).is_file()

    def save_component(self, component: Component, where: str) -> Path:
        """Save ``component`` at ``where``, whole or not at all: it is written into a temporary
        folder that replaces ``where`` only once every file is on disk."""
        target = self.path / where
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            component.save(tmp)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target

    def component_header(self, where: str) -> dict[str, Any]:
        """The header (kind, name, params) of the component saved at ``where``; OSError/ValueError
        when there is none."""
        return json.loads((self.path / where / COMPONENT_FILE).read_text())

    def load_component(self, where: str, kind: str, registry: Registry) -> Component:
        """The component saved at ``where``, rebuilt with the registered class it was saved from."""
        header = self.component_header(where)
        return registry.get(kind, header["name"]).load(self.path / where)

    def predictor_names(self) -> list[str]:
        """Names of the predictors saved whole in this run."""
        root = self.path / PREDICTORS
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if self.has_component(f"{PREDICTORS}/{p.name}/predictor"))

    def copy_predictor(self, source: RunDir, name: str) -> None:
        """Bring the predictor ``name`` saved in ``source`` into this run (whole or not at all)."""
        target = self.path / PREDICTORS / name
        tmp = target.with_name(f".{name}.{os.getpid()}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source.path / PREDICTORS / name, tmp)
        os.replace(tmp, target)


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy values become Python ones, paths strings, NaN and infinities None."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value
