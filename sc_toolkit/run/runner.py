"""Execute a :class:`~sc_toolkit.plan.Plan`, one method per recipe section: data, predictors,
generator, screening, evaluate, report.

Data flows in memory from one section to the next: the fitted predictors, their hold-out rates, the
generator's training rows and the reference datasets reach the screening and the evaluation as
objects. The run directory (:class:`RunDir`) is the record: every step is timed and counted in the
manifest, and fitted components are saved whole as soon as they are trained, so that
``sctk resume RUN_DIR`` loads them instead of training again (and a generator continues from its last
checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..chem import Compositions
from ..components import Component
from ..data import load
from ..errors import SctkError, StepError, UserError, os_problem
from ..metrics import group_holdout
from ..plan import Plan, PredictorPlan, Step
from ..recipe import dumps_toml
from ..registry import Registry
from .context import RunContext, base_manifest, device_used
from .directory import (
    ACCEPTED,
    CANDIDATES,
    CANDIDATES_CSV,
    GENERATOR,
    GENERATOR_HOLDOUT,
    GENERATOR_TRAINING,
    HISTORY,
    INVOCATION,
    METRICS,
    PREDICTORS,
    RECIPE,
    REJECTED_CANDIDATES,
    REJECTED_ROWS,
    RESOLVED,
    TRAINING,
    RunDir,
)
from .evaluate import EvaluationInputs, evaluate_generator, scoring_predictor, smact_filter_of, supercon_of
from .predict import SavedPredictor, add_derived_columns, load_predictor, save_predictor
from .report import write_report
from .stability import ReferenceHull
from .training import train, training_data
from .tables import ranked, read_formula_csv, samples_table, select


@dataclass
class RunResult:
    """Where a run is and what it produced."""

    run_dir: RunDir
    candidates: pd.DataFrame | None
    accepted: pd.DataFrame | None
    metrics: dict[str, Any]


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
    run = RunContext(run_dir, seed=plan.run.seed, quick=plan.quick is not None, console=console)
    try:
        return Runner(plan, registry, run, allow_modified_data=allow_modified_data).execute()
    finally:
        run.close()


class Runner:
    """Runs the sections of a plan in order and keeps what they computed in memory."""

    def __init__(self, plan: Plan, registry: Registry, run: RunContext, *, allow_modified_data: bool = False):
        self.plan, self.registry, self.run = plan, registry, run
        self.allow_modified_data = allow_modified_data
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
        candidates = accepted = None
        generated = None
        if self.plan.generator_step:
            generated = self.generator(training)
            candidates = self.step("sample", lambda: self.sample(*generated[:2]))
        elif self.plan.candidates:
            candidates = self.step("load candidates", self.load_candidates)
        if candidates is not None:
            accepted = self.screening(candidates, training)
        if self.plan.evaluate and generated is not None:
            self.step("evaluate", lambda: self.evaluate(*generated))
        self.run.manifest["device"] = {"requested": self.plan.run.device, "used": device_used()}
        self.run.manifest["finished"] = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        self.run_dir.write_json(METRICS, self.metrics)
        self.run.write_manifest()
        self.step("report", lambda: write_report(self.run_dir))
        return RunResult(self.run_dir, candidates, accepted, self.metrics)

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
        return self.step("load data", self.load_training)

    def load_training(self) -> pd.DataFrame:
        previous = self.run_dir.read_table(TRAINING)
        if previous is not None:
            self.run.log("training table loaded from a previous attempt of this run")
            return previous
        table, rejected = self._read_source()
        if len(rejected):
            self.run_dir.write_table(REJECTED_ROWS, rejected)
            self.run.log(f"{len(rejected)} source rows reported and skipped: see {REJECTED_ROWS}")
        counts = {"source_rows": len(table) + len(rejected), "rejected_rows": len(rejected)}
        table = select(table, self.plan.data_filters, run=self.run, counts=counts)
        if self.plan.quick and len(table) > self.plan.quick.rows:
            table = table.sample(self.plan.quick.rows, random_state=self.plan.run.seed).reset_index(drop=True)
            counts["quick sample"] = len(table)
        if table.empty:
            raise UserError("no training rows left after the data filters", where="data.filters",
                            hint="loosen the data filters")
        counts["training_rows"] = len(table)
        self.metrics["data"] = counts
        self.run_dir.write_table(TRAINING, table)
        return table

    def _read_source(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        if self.plan.data.dataset:
            dataset = self.registry.dataset(self.plan.data.dataset)
            loaded = load(dataset, allow_modified=self.allow_modified_data)
            self.run.manifest["provenance"]["dataset"] = {
                "name": dataset.name, "files": loaded.files, "modified": list(loaded.modified),
                "folder": str(loaded.folder), "licence": dataset.licence, "citation": dataset.citation,
            }
            if loaded.modified:
                self.run.log(f"dataset {dataset.name}: modified files used on purpose: {', '.join(loaded.modified)}")
            return loaded.table, loaded.rejected
        return read_formula_csv(Path(self.plan.data.path))

    # -- [[predictors]] ---------------------------------------------------------------------------

    def predictors(self, training: pd.DataFrame) -> None:
        for predictor in self.plan.predictors:
            self.step(f"fit {predictor.section.name}", lambda p=predictor: self.fit_predictor(p, training))

    def fit_predictor(self, p: PredictorPlan, training: pd.DataFrame) -> None:
        name = p.section.name
        where = f"{PREDICTORS}/{name}"
        if self.run_dir.has_component(f"{where}/predictor"):
            self.run.log(f"predictor {name} loaded from a previous attempt of this run")
        elif p.section.from_run:
            self.copy_predictor(p)
        else:
            self.fitted[name] = self.train_predictor(p, training)
            return
        self.fitted[name] = load_predictor(self.run_dir, name, self.registry)

    def train_predictor(self, p: PredictorPlan, training: pd.DataFrame) -> SavedPredictor:
        """Fit ``p`` (see :func:`sc_toolkit.run.training.train`) and save it whole in the run."""
        saved, report = train(p, training_data(p, self.predictor_table(p, training)), self.plan.run.seed, self.run)
        if p.section.hull:
            saved.extras.hull = ReferenceHull.from_datasets(self.registry, p.section.hull)
            report["hull"] = saved.extras.hull.provenance()
            self.run.log(f"predictor {p.section.name}: hull of {len(saved.extras.hull.phases)} known phases")
        save_predictor(self.run_dir, saved)
        self._importances(saved.model, saved.encoder, p.section.name)
        report["provenance"] = {"encoder": saved.encoder.provenance(), "predictor": saved.model.provenance()}
        if saved.extras.hull is not None:  # the hull's source, recorded in the manifest
            report["provenance"]["hull"] = report["hull"]
        self.run.manifest["provenance"][f"predictors.{p.section.name}"] = report["provenance"]
        self.metrics.setdefault("predictors", {})[p.section.name] = report
        self.run_dir.write_json(METRICS, self.metrics)
        return saved

    def predictor_table(self, p: PredictorPlan, training: pd.DataFrame) -> pd.DataFrame:
        """The rows ``p`` learns from: the training table (or its own ``dataset``) with a target,
        through its filters, plus its ``negatives`` with target 0; 'source' names where each came from."""
        name, targets = p.section.name, p.section.targets
        table = training if p.section.dataset is None else self._dataset_rows(p.section.dataset)
        scored = [p.section.score_on] if p.section.score_on else []
        for column in targets + scored:
            if column not in table.columns:
                raise UserError(f"training data has no column '{column}'", where=f"predictors.{name}",
                                hint="columns available: " + ", ".join(table.columns))
        table = select(table.dropna(subset=targets), p.filters, run=self.run)
        table = table.assign(source=p.section.dataset or "data")
        if p.section.negatives:
            negatives = self._dataset_rows(p.section.negatives)
            negatives = negatives.assign(**{column: 0.0 for column in targets + scored}, source=p.section.negatives)
            table = pd.concat([table, negatives[[c for c in table.columns if c in negatives.columns]]],
                              ignore_index=True)
            self.run.log(f"predictor {name}: {len(negatives)} rows of '{p.section.negatives}' added with target 0")
        return table.reset_index(drop=True)

    def _dataset_rows(self, name: str) -> pd.DataFrame:
        """A registered dataset's rows for a predictor (the --quick slice of it under --quick)."""
        table = load(self.registry.dataset(name), allow_modified=self.allow_modified_data).table
        if self.plan.quick and len(table) > self.plan.quick.rows:
            table = table.sample(self.plan.quick.rows, random_state=self.plan.run.seed)
        return table.reset_index(drop=True)

    def copy_predictor(self, p: PredictorPlan) -> None:
        """Bring a trained predictor (and its hold-out metrics) from another run into this one."""
        source = RunDir.resolve(p.section.from_run)
        self.run_dir.copy_predictor(source, p.section.name)
        report = source.metrics.get("predictors", {}).get(p.section.name, {})
        self.metrics.setdefault("predictors", {})[p.section.name] = report | {"from_run": str(source.path)}
        self.run.manifest["provenance"][f"predictors.{p.section.name}"] = report.get("provenance", {})
        self.run.log(f"predictor {p.section.name} copied from {source.path}")

    def _importances(self, model: Component, encoder: Component, name: str) -> None:
        importances = getattr(model, "feature_importances_", None)
        if importances is None:
            return
        labels = encoder.feature_labels()
        frame = pd.DataFrame({"feature": labels[: len(importances)], "importance": importances})
        self.run_dir.write_table(f"{PREDICTORS}/{name}/feature_importances.csv",
                                 frame.sort_values("importance", ascending=False))

    # -- [generator] ------------------------------------------------------------------------------

    def generator(self, training: pd.DataFrame):
        """(generator, encoder, the rows it learned from, the rows held out of its training)."""
        return self.step("train generator", lambda: self.fit_generator(training))

    def fit_generator(self, training: pd.DataFrame):
        plan = self.plan
        if self.run_dir.has_component(f"{GENERATOR}/generator"):
            self.run.log("generator loaded from a previous attempt of this run")
            return (self.run_dir.load_component(f"{GENERATOR}/generator", "generator", self.registry),
                    self.run_dir.load_component(f"{GENERATOR}/encoder", "encoder", self.registry),
                    self.run_dir.read_table(GENERATOR_TRAINING), self.run_dir.read_table(GENERATOR_HOLDOUT))
        training = select(training, plan.generator_filters, run=self.run)
        holdout = None
        if plan.generator.holdout:
            held = group_holdout(training["composition_key"].to_numpy(), plan.generator.holdout, plan.run.seed)
            holdout = training.loc[held].reset_index(drop=True)
            self.run_dir.write_table(GENERATOR_HOLDOUT, holdout)
            training = training.loc[~held].reset_index(drop=True)
            self.run.log(f"generator: {int(held.sum())} rows ({plan.generator.holdout:.0%} of composition groups) "
                         f"held out of training to measure recovery")
        self.run_dir.write_table(GENERATOR_TRAINING, training)
        compositions = Compositions.from_formulas(training["formula"])
        if plan.generator.init_from:  # transfer learning: the saved encoder's space, the saved weights
            source = RunDir.resolve(plan.generator.init_from)
            encoder = source.load_component(f"{GENERATOR}/encoder", "encoder", self.registry)
            generator = source.load_component(f"{GENERATOR}/generator", "generator", self.registry)
            generator.params = plan.generator_step.params
            self.run.log(f"generator starts from {source.path / GENERATOR}")
        else:
            encoder = plan.generator_encoder.build().fit(compositions)
            generator = plan.generator_step.build()
        X = encoder.encode(compositions)
        y = None
        if plan.generator.label:
            if plan.generator.label not in training.columns:
                raise UserError(f"training data has no label column '{plan.generator.label}'",
                                where="generator.label", hint="columns: " + ", ".join(training.columns))
            y = training[plan.generator.label].astype(str).to_numpy()
        generator.fit(X, y, run=self.run)
        self.run_dir.save_component(encoder, f"{GENERATOR}/encoder")
        self.run_dir.save_component(generator, f"{GENERATOR}/generator")
        self.run.manifest["provenance"]["generator"] = generator.provenance()
        self.run.manifest["provenance"]["generator.encoder"] = encoder.provenance()
        if getattr(generator, "history_", None):
            self.run_dir.write_json(HISTORY, {"generator": generator.history_})
        return generator, encoder, training, holdout

    def sample(self, generator, encoder) -> pd.DataFrame:
        n = self.plan.quick.n_samples if self.plan.quick else self.plan.generator.n_samples
        X = generator.sample(n, condition=self.plan.generator.condition, random_state=self.plan.run.seed,
                             run=self.run)
        table = samples_table(encoder.decode(X))
        self.metrics["generation"] = {"n_samples": n, "decoded": int((table["rejected_by"] == "").sum())}
        return table

    def load_candidates(self) -> pd.DataFrame:
        source = self.plan.candidates
        if source.dataset:
            table = load(self.registry.dataset(source.dataset), allow_modified=self.allow_modified_data).table
        else:
            table, rejected = read_formula_csv(Path(source.path), where="candidates.path")
            if len(rejected):
                self.run_dir.write_table(REJECTED_CANDIDATES, rejected)
        table = table.reset_index(drop=True)
        table["rejected_by"] = ""
        self.metrics["screening"] = {"candidates": len(table)}
        return table

    # -- [[filters]] and [rank] -------------------------------------------------------------------

    def screening(self, candidates: pd.DataFrame, training: pd.DataFrame) -> pd.DataFrame:
        """Filter and predict the candidates in place, then rank the accepted ones; both tables are
        written to the run."""
        self.step("filter and predict", lambda: self.screen(candidates, training))
        return self.step("rank", lambda: self.rank(candidates))

    def screen(self, table: pd.DataFrame, training: pd.DataFrame) -> None:
        counts = self.screening_metrics().setdefault("filters", {})
        for i, step in enumerate(self.plan.filters):
            if i == self.plan.predict_before:
                self.predict(table)
            alive = (table["rejected_by"] == "").to_numpy()
            component = step.build().fit(training)
            missing = set(component.columns()) - set(table.columns)
            if missing:
                raise UserError(f"filter '{step.label}' reads {sorted(missing)}, which the candidates do not have",
                                where=step.where, hint="columns available: " + ", ".join(table.columns))
            rows = table.loc[alive, list(component.columns())].reset_index(drop=True)
            keep = np.asarray(component.keep(rows, run=self.run), dtype=bool)
            table.loc[np.flatnonzero(alive)[~keep], "rejected_by"] = step.label
            counts[step.label] = {"in": int(alive.sum()), "kept": int(keep.sum())}
            self.run.manifest["provenance"][step.where] = component.provenance()
            self.run.log(f"filter {step.label}: kept {int(keep.sum())} of {int(alive.sum())}")
        if self.plan.predict_before == len(self.plan.filters):
            self.predict(table)
        self.screening_metrics()["accepted"] = int((table["rejected_by"] == "").sum())

    def screening_metrics(self) -> dict[str, Any]:
        return self.metrics["generation" if self.plan.generator_step else "screening"]

    def predict(self, table: pd.DataFrame) -> None:
        """Score the candidates no filter has rejected yet; rejected rows keep NaN."""
        alive = (table["rejected_by"] == "").to_numpy()
        for p in self.plan.predictors:
            self.fitted[p.section.name].predict_into(table, alive)
        add_derived_columns(table, [self.fitted[p.section.name] for p in self.plan.predictors])

    def rank(self, table: pd.DataFrame) -> pd.DataFrame:
        passed = int((table["rejected_by"] == "").sum())
        accepted = ranked(table, self.plan)
        if len(accepted) < passed:  # the ranking's diversity rules skipped some
            self.screening_metrics()["filters"]["rank"] = {"in": passed, "kept": len(accepted)}
            self.screening_metrics()["accepted"] = len(accepted)
        self.run_dir.write_table(CANDIDATES, table)
        self.run_dir.write_table(CANDIDATES_CSV, table)
        self.run_dir.write_table(ACCEPTED, accepted)
        return accepted

    # -- [evaluate] -------------------------------------------------------------------------------

    def evaluate(self, generator, encoder, training: pd.DataFrame | None, holdout: pd.DataFrame | None) -> None:
        """The generator papers' metrics on fresh samples, from what this run holds in memory."""
        settings = self.plan.evaluate
        recipe_entries = {p.section.name: {"target": p.section.target, "threshold": p.section.threshold}
                          for p in self.plan.predictors}
        reports = self.metrics.get("predictors", {})
        predictors = [scoring_predictor(saved, recipe_entries[name], (reports.get(name) or {}).get("rates"))
                      for name, saved in self.fitted.items()]
        inputs = EvaluationInputs(
            generator=generator, encoder=encoder, training=training, holdout=holdout,
            supercon=supercon_of(self.registry), predictors=predictors,
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
    return steps + list(plan.filters)


def _component_record(step: Step) -> dict[str, Any]:
    return {"name": step.entry.name, "plugin": step.entry.plugin, "version": step.entry.version,
            "params": step.params.model_dump(mode="json")}


__all__ = ["RunResult", "Runner", "execute", "start_run"]
