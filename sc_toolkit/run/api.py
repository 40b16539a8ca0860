"""The Python entry points to runs: :func:`run_recipe`, :func:`resume_run`, :func:`open_run` and
:class:`Run` (exported by :mod:`sc_toolkit`; the command line calls the same functions)::

    import sc_toolkit
    run = sc_toolkit.run_recipe("recipes/supercon_tc.toml", {"run.seed": 1}, quick=True)
    run.candidates            # accepted candidates, ranked (a DataFrame; None without screening)
    run.metrics["predictors"]  # hold-out metrics beside baselines
    run.predict(["YBa2Cu3O7", "MgB2"])
    same = sc_toolkit.open_run(run.path)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from ..components import Encoder, Generator
from ..errors import UserError
from ..plan import Plan, check_sources, make_plan
from ..recipe import apply_overrides, dumps_toml, override_keys, read_recipe, set_dotted
from ..registry import Registry, default_registry
from .directory import (ACCEPTED, BATCH_ROWS, CANDIDATES, GENERATOR, GENERATOR_TRAINING, INVOCATION,
                        RANKED_STRUCTURES, RECIPE, TRAINING, RunDir)
from .evaluate import evaluate_run, write_evaluation
from .predict import SavedPredictor, load_predictor, predict_materials
from .report import write_report
from .runner import RunResult, execute, start_run
from .screening import ScreenedRun

#: A recipe file, or the recipe itself as a mapping (the parsed TOML).
Recipe = str | Path | Mapping[str, Any]
#: Overrides as the command line gives them ("key=value" strings) or as a mapping of dotted keys.
Overrides = Sequence[str] | Mapping[str, Any] | None


def plan_recipe(recipe: Recipe, overrides: Overrides = None, *, quick: bool = False,
                registry: Registry | None = None) -> Plan:
    """Read (or copy, when given as a mapping), override and validate a recipe whole (RecipeError
    listing every problem); trains nothing. With ``quick``, the overrides win over the recipe's
    ``[quick].set`` and the components' quick values."""
    raw = copy.deepcopy(dict(recipe)) if isinstance(recipe, Mapping) else read_recipe(recipe)
    if isinstance(overrides, Mapping):
        for key, value in overrides.items():
            set_dotted(raw, key, value)
        keys = list(overrides)
    else:
        raw = apply_overrides(raw, list(overrides or []))
        keys = override_keys(list(overrides or []))
    source = "recipe given as a mapping" if isinstance(recipe, Mapping) else str(recipe)
    return make_plan(raw, registry or default_registry(), quick=quick, source=source, overrides=keys)


class Run:
    """A run directory and what it holds: candidates, metrics, saved models.

    Tables are read from the directory on first use (or handed over by :func:`run_recipe`)."""

    def __init__(self, run_dir: RunDir, *, registry: Registry | None = None, result: RunResult | None = None,
                 plan: Plan | None = None):
        self.run_dir = run_dir
        self.plan = plan
        self._registry = registry
        self._result = result

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    @property
    def path(self) -> Path:
        return self.run_dir.path

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = default_registry()
        return self._registry

    @property
    def finished(self) -> bool:
        return self.run_dir.is_finished

    @property
    def candidates(self) -> pd.DataFrame | None:
        """The accepted candidates, ranked (None when the recipe screens no candidates)."""
        if self._result is not None and self._result.accepted is not None:
            return self._result.accepted
        return self.run_dir.read_table(ACCEPTED)

    @property
    def all_candidates(self) -> pd.DataFrame | None:
        """Every candidate, with ``rejected_by`` naming the filter that rejected it ('' if accepted),
        as one table in memory (:meth:`candidate_batches` for a run of more than fit)."""
        if self._result is not None and self._result.candidates is not None:
            return self._result.candidates
        return self.run_dir.read_table(CANDIDATES)

    def candidate_batches(self, columns: list[str] | None = None, rows: int = BATCH_ROWS) -> Iterator[pd.DataFrame]:
        """Every candidate as DataFrames of at most ``rows`` rows, in the order screened, with only
        ``columns`` when given: memory bounded whatever the number of candidates."""
        return self.run_dir.table_batches(CANDIDATES, columns=columns, rows=rows)

    @property
    def structures(self) -> pd.DataFrame | None:
        """The relaxed, scored crystal structures of ``[structures]``, ranked, each with its
        ``structure_id`` (the CIF ``structures/<structure_id>.cif``); None without [structures]."""
        if self._result is not None and self._result.structures is not None:
            return self._result.structures
        return self.run_dir.read_table(RANKED_STRUCTURES)

    @property
    def metrics(self) -> dict[str, Any]:
        """Hold-out metrics beside baselines, filter counts, the generator evaluation."""
        return self._result.metrics if self._result is not None else self.run_dir.metrics

    @property
    def manifest(self) -> dict[str, Any]:
        """Versions, seed, device, git commit, per-step timings and row counts."""
        return self.run_dir.manifest

    @property
    def recipe(self) -> dict[str, Any]:
        """The resolved recipe: every parameter the run used."""
        return self.run_dir.recipe

    @property
    def training(self) -> pd.DataFrame | None:
        """The training table after the data filters."""
        return self.run_dir.read_table(TRAINING)

    @property
    def generator_training(self) -> pd.DataFrame | None:
        """The rows the run's generator learned from (None without a generator)."""
        return self.run_dir.read_table(GENERATOR_TRAINING)

    @property
    def generator(self) -> tuple[Generator, Encoder]:
        """The run's fitted generator and the encoder whose space it samples (decode with the encoder)."""
        if not self.run_dir.has_component(f"{GENERATOR}/generator"):
            raise UserError(f"{self.path} holds no saved generator", hint="give a run whose recipe has a [generator]")
        return (self.run_dir.load_component(f"{GENERATOR}/generator", "generator", self.registry),
                self.run_dir.load_component(f"{GENERATOR}/encoder", "encoder", self.registry))

    @property
    def predictor_names(self) -> list[str]:
        """Names of the predictors saved in the run."""
        return self.run_dir.predictor_names()

    def predictor(self, name: str) -> SavedPredictor:
        """The saved predictor ``name``: its fitted encoder and model (``.encoder``, ``.model``)."""
        return load_predictor(self.run_dir, name, self.registry)

    def predict(self, materials: Sequence[str] | pd.DataFrame, predictors: Sequence[str] | None = None) -> pd.DataFrame:
        """Predictions of the run's saved predictors for formulas (or a table with a 'formula' or
        'cif' column); a row that cannot be read gets its reason in 'error' and missing predictions."""
        table = materials if isinstance(materials, pd.DataFrame) else pd.DataFrame({"formula": list(materials)})
        return predict_materials(self.run_dir, table, self.registry, list(predictors) if predictors else None)

    def screen(self, candidates: str | Path | int, *, executor: str | None = None, batch_size: int | None = None,
               seed: int = 0) -> ScreenedRun:
        """Screen candidates as this run screened its own (its filters, predictors and ranking),
        streaming, into ``<run>/screens/<name>-<time>/``: a CSV or Parquet file of formulas (any size),
        or a number: that many fresh samples of the run's generator, drawn from ``seed``. ``executor``
        'local' or 'ray' and ``batch_size`` default to the run's recipe."""
        from .directory import RunDir
        from .screening import file_candidates, generated_candidates, screen_with_run

        size = batch_size or self.recipe.get("run", {}).get("batch_size", 50_000)
        if isinstance(candidates, int):
            source, name = generated_candidates(self.run_dir, self.registry, candidates, size, seed), "samples"
        else:
            source, name = file_candidates(Path(candidates), size), Path(candidates).stem
        output = RunDir.create(self.path / "screens", name)
        return screen_with_run(self.run_dir, source, self.registry, output, executor=executor, batch_size=size)

    def evaluate(self, n_samples: int = 100_000, *, save: bool = True, **options: Any) -> dict[str, Any]:
        """The generator papers' metrics on ``n_samples`` fresh samples of the run's generator
        (options as :func:`~sc_toolkit.run.evaluate.evaluate_generator`: seed, embedding, classifier, ...); stored with the run's
        metrics when ``save``."""
        result = evaluate_run(self.run_dir, self.registry, n_samples=n_samples, **options)
        if save:
            write_evaluation(self.run_dir, result)
        return result

    def report(self) -> Path:
        """(Re)write the run's self-contained report.html and return its path."""
        return write_report(self.run_dir)


def run_recipe(recipe: Recipe, overrides: Overrides = None, *, quick: bool = False,
               registry: Registry | None = None, console: Console | None = None,
               on_start: Callable[[RunDir, Plan], None] | None = None, allow_modified_data: bool = False) -> Run:
    """Run a recipe (a TOML file, or its parsed mapping) in a new run directory and return the :class:`Run`.

    ``overrides``: "key=value" strings as ``--set`` takes them, or a mapping of dotted keys to values
    (``{"run.seed": 1}``). ``quick``: the same steps on a small slice. Progress goes to ``console``
    (default: standard error); ``on_start`` is called with the new run directory and the plan before
    the first step. A dataset file whose sha256 is not the catalog's stops the run, unless
    ``allow_modified_data`` (for data edited on purpose; recorded in the manifest)."""
    registry = registry or default_registry()
    plan = plan_recipe(recipe, overrides, quick=quick, registry=registry)
    check_sources(plan, registry, allow_modified=allow_modified_data,  # before a run directory exists
                  source=None if isinstance(recipe, Mapping) else str(recipe))
    invocation = {"overrides": _as_strings(overrides), "quick": quick, "allow_modified_data": allow_modified_data}
    text = dumps_toml(dict(recipe)) if isinstance(recipe, Mapping) else Path(recipe).read_text(encoding="utf-8")
    run_dir = start_run(plan, text, invocation)
    if on_start is not None:
        on_start(run_dir, plan)
    result = execute(plan, registry, run_dir, console=console, allow_modified_data=allow_modified_data)
    return Run(run_dir, registry=registry, result=result, plan=plan)


def resume_run(path: str | Path, *, registry: Registry | None = None, console: Console | None = None) -> Run:
    """Continue a run that stopped: finished steps are loaded, training resumes from its checkpoint."""
    run_dir = RunDir(path)
    if not run_dir.has(INVOCATION):
        raise UserError(f"{path} is not a run directory (no {INVOCATION})", hint="give a directory that `sctk run` created")
    if run_dir.is_finished:
        raise UserError(f"{path} finished already; resuming would change nothing", hint="start a new run with `sctk run`")
    registry = registry or default_registry()
    settings = run_dir.read_json(INVOCATION)
    plan = plan_recipe(run_dir.file(RECIPE), settings.get("overrides", []), quick=settings.get("quick", False),
                       registry=registry)
    result = execute(plan, registry, run_dir, console=console,
                     allow_modified_data=settings.get("allow_modified_data", False))
    return Run(run_dir, registry=registry, result=result, plan=plan)


def open_run(path: str | Path, *, registry: Registry | None = None) -> Run:
    """The run in ``path`` (a directory `sctk run` or :func:`run_recipe` created)."""
    return Run(RunDir.existing(path), registry=registry)


def _as_strings(overrides: Overrides) -> list[str]:
    """Overrides as `--set` strings, so that a resumed run replays them the same way."""
    if isinstance(overrides, Mapping):
        return [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
    return list(overrides or [])
