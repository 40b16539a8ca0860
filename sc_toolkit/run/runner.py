"""Execute a :class:`~sc_toolkit.plan.Plan`: :class:`Runner` runs one method per recipe section
(data, predictors, generator, screening, evaluate, structures, report) and keeps what they computed in memory.

The work of each section is in the module beside it: :mod:`.data_section`, :mod:`.predictor_section`,
:mod:`.generator_section`, :mod:`.screening`, :mod:`.structure_section`; the generator papers' metrics in :mod:`.evaluate`.
Data flows in memory from one section to the next: the fitted predictors, their hold-out rates, the
generator's training rows and the reference datasets reach the screening and the evaluation as
objects. The run directory (:class:`RunDir`) is the record: every step is timed and counted in the
manifest, and fitted components are saved whole as soon as they are trained, so that
``sctk resume RUN_DIR`` loads them instead of training again (and a generator continues from its last
checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd

from ..errors import SctkError, StepError, os_problem
from ..plan import Plan, Step
from ..recipe import dumps_toml
from ..registry import Registry
from .context import RunContext, base_manifest, device_used
from .data_section import Datasets, training_table
from .directory import INVOCATION, METRICS, RECIPE, RESOLVED, RunDir
from .evaluate import EvaluationInputs, evaluate_generator, scoring_predictor, smact_filter_of, supercon_of
from .executors import executor_for
from .generator_section import TrainedGenerator, trained_generator
from .predict import SavedPredictor
from .predictor_section import fitted_predictor
from .report import write_report
from .screening import Candidates, load_candidates, rank, sampled_candidates, screen
from .structure_section import run_structures


@dataclass
class RunResult:
    """Where a run is and what it produced."""

    run_dir: RunDir
    candidates: pd.DataFrame | None
    accepted: pd.DataFrame | None
    metrics: dict[str, Any]
    structures: pd.DataFrame | None = None


def start_run(plan: Plan, recipe_text: str, invocation: dict[str, Any] | None = None) -> RunDir:
    """A new run directory holding the recipe as given, the resolved recipe and the invocation
    (the overrides and flags that `sctk resume` replays; default: none, and the plan's --quick)."""
    run_dir = RunDir.create(plan.run.output_dir, plan.run.name)
    run_dir.write_text(RECIPE, recipe_text)
    run_dir.write_text(RESOLVED, dumps_toml(plan.resolved_recipe()))
    run_dir.write_json(INVOCATION, invocation or {"overrides": [], "quick": plan.quick is not None})
    return run_dir


def execute(plan: Plan, registry: Registry, run_dir: RunDir, *, console=None,
            allow_modified_data: bool = False) -> RunResult:
    """Run ``plan`` in ``run_dir`` (new, or one being resumed). A dataset file whose sha256 is not
    the catalog's stops the run unless ``allow_modified_data`` (recorded in the manifest)."""
    run = RunContext(run_dir, seed=plan.run.seed, quick=plan.quick is not None, console=console,
                     executor=partial(executor_for, plan.run))  # one for the whole run, closed with it
    try:
        return Runner(plan, registry, run, allow_modified_data=allow_modified_data).execute()
    finally:
        run.close()


class Runner:
    """Runs the sections of a plan in order and keeps what they computed in memory."""

    def __init__(self, plan: Plan, registry: Registry, run: RunContext, *, allow_modified_data: bool = False):
        self.plan, self.registry, self.run = plan, registry, run
        self.datasets = Datasets.of(plan, registry, allow_modified_data)
        self.run_dir = run.run_dir
        previous = self.run_dir.manifest
        self.metrics: dict[str, Any] = self.run_dir.metrics  # a resumed run keeps what it measured
        self.fitted: dict[str, SavedPredictor] = {}
        run.manifest = base_manifest(registry.plugins, plan.run.seed, run.quick, registry.failures)
        run.manifest["components"] = {s.where: _component_record(s) for s in _all_steps(plan)}
        run.manifest["provenance"] = previous.get("provenance", {})
        run.manifest["attempts"] = previous.get("attempts", 0) + 1
        run.manifest["allow_modified_data"] = allow_modified_data
        run.steps = previous.get("steps", [])  # a resumed run keeps the record of earlier attempts
        run.log("plan:\n  " + "\n  ".join(plan.describe()))

    def execute(self) -> RunResult:
        training = self.data()
        self.predictors(training)
        candidates = accepted = generated = None  # the whole candidate table stays on disk (Run.all_candidates)
        if self.plan.generator_step:
            generated = self.generator(training)
            accepted = self.screening(self.sample(generated), training)
        elif self.plan.candidates:
            accepted = self.screening(self.candidates(), training)
        if self.plan.evaluate and generated is not None:
            self.step("evaluate", lambda: self.evaluate(generated))
        structures = self.structures(accepted) if self.plan.structures else None
        self.run.manifest["device"] = {"requested": self.plan.run.device, "used": device_used()}
        self.run.manifest["finished"] = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        self.run_dir.write_json(METRICS, self.metrics)
        self.run.write_manifest()
        self.step("report", lambda: write_report(self.run_dir))
        return RunResult(self.run_dir, candidates, accepted, self.metrics, structures)

    def step(self, name: str, action):
        """Run ``action`` as the step ``name``: timed, counted, and an unexpected error becomes a
        StepError that says how to resume."""
        with self.run.step(name) as record:
            try:
                result = action()
            except (SctkError, KeyboardInterrupt):
                raise
            except OSError as error:  # disk full, permissions: name the file
                message, hint = os_problem(error)
                raise StepError(f"step '{name}' failed: {message}", where=str(self.run_dir.path),
                                hint=f"{hint}, then `sctk resume {self.run_dir.path}` keeps what is already computed",
                                ) from error
            except Exception as error:
                raise StepError(
                    f"step '{name}' failed: {type(error).__name__}: {error}",
                    where=str(self.run_dir.path),
                    hint=f"rerun with --debug for the traceback; `sctk resume {self.run_dir.path}` "
                    "keeps what is already computed",
                ) from error
            if isinstance(result, pd.DataFrame):
                record["rows_out"] = len(result)
            return result

    # -- [data] -----------------------------------------------------------------------------------

    def data(self) -> pd.DataFrame:
        return self.step("load data", lambda: training_table(self.plan, self.datasets, self.run, self.metrics))

    # -- [[predictors]] ---------------------------------------------------------------------------

    def predictors(self, training: pd.DataFrame) -> None:
        for p in self.plan.predictors:
            fit = partial(fitted_predictor, p, training, self.datasets, self.run, self.metrics)
            self.fitted[p.section.name] = self.step(f"fit {p.section.name}", fit)

    # -- [generator] and [candidates] -------------------------------------------------------------

    def generator(self, training: pd.DataFrame) -> TrainedGenerator:
        return self.step("train generator", lambda: trained_generator(self.plan, training, self.registry, self.run))

    def sample(self, generated: TrainedGenerator) -> Candidates:
        return sampled_candidates(self.plan, generated, self.metrics)  # drawn batch by batch while screening

    def candidates(self) -> Candidates:
        return self.step("load candidates", lambda: load_candidates(self.plan.candidates, self.datasets,
                                                                    self.plan.run.batch_size, self.metrics))

    # -- [[filters]] and [rank] -------------------------------------------------------------------

    def screening(self, candidates: Candidates, training: pd.DataFrame) -> pd.DataFrame:
        """Sample (or read), filter and predict the candidates batch by batch, then rank the accepted
        ones; both tables are written to the run."""
        counts = self.metrics["generation" if self.plan.generator_step else "screening"]
        predictors = [self.fitted[p.section.name] for p in self.plan.candidate_predictors]
        screened = self.step("filter and predict",
                             lambda: screen(candidates, training, self.plan, predictors, self.run, counts))
        return self.step("rank", lambda: rank(screened, self.plan, self.run_dir, counts))

    # -- [structures] -----------------------------------------------------------------------------

    def structures(self, accepted: pd.DataFrame | None) -> pd.DataFrame:
        """Structures for the best accepted candidates (or the section's formulas): proposed, relaxed,
        scored, written to the run as CIFs and tables; the ranked ones are returned."""
        work = partial(run_structures, self.plan, accepted, self.datasets, self.registry, self.fitted, self.run,
                       self.metrics)
        return self.step("structures", work)

    # -- [evaluate] -------------------------------------------------------------------------------

    def evaluate(self, generated: TrainedGenerator) -> None:
        """The generator papers' metrics on fresh samples, from what this run holds in memory."""
        settings = self.plan.evaluate
        recipe_entries = {p.section.name: {"target": p.section.target, "threshold": p.section.threshold}
                          for p in self.plan.predictors}
        reports = self.metrics.get("predictors", {})
        predictors = [scoring_predictor(self.fitted[name], recipe_entries[name], (reports.get(name) or {}).get("rates"))
                      for name in (p.section.name for p in self.plan.candidate_predictors)]
        inputs = EvaluationInputs(
            generator=generated.generator, encoder=generated.encoder, training=generated.training,
            holdout=generated.holdout, supercon=supercon_of(self.registry), predictors=predictors,
            smact_filter=smact_filter_of(self.registry), seed=self.plan.run.seed,
            condition=self.plan.generator.condition, label=self.plan.generator.label)
        self.metrics["evaluation"] = evaluate_generator(
            inputs, n_samples=self.plan.evaluation_samples, run=self.run, embedding=settings.embedding,
            classifier=settings.classifier, regressor=settings.regressor)


def _all_steps(plan: Plan) -> list[Step]:
    steps = list(plan.data_filters)
    if plan.generator_step:
        steps += [plan.generator_encoder, plan.generator_step]
    for p in plan.predictors:
        steps += [p.encoder, p.step]
    steps += list(plan.filters)
    if plan.structures:
        steps += [plan.structures.generator] + ([plan.structures.relaxer] if plan.structures.relaxer else [])
    return steps


def _component_record(step: Step) -> dict[str, Any]:
    return {"name": step.entry.name, "plugin": step.entry.plugin, "version": step.entry.version,
            "params": step.params.model_dump(mode="json")}


__all__ = ["RunResult", "Runner", "execute", "start_run"]
