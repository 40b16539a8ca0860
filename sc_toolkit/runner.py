"""Execute a :class:`~sc_toolkit.plan.Plan`: load, train, sample, filter, predict, rank, record.

Every step is timed and counted in the manifest; fitted components are saved under ``models/`` as
soon as they are trained, so that ``sctk resume RUN_DIR`` loads them instead of training again
(and a generator continues from its last checkpoint).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .chem import Compositions, reduced_formula
from .components import Component
from .errors import DataError, SctkError, StepError, UserError
from .evaluate import classifier_rates, evaluate_run
from .report import write_report
from .metrics import classification_report, group_holdout, regression_report
from .plan import Plan, PredictorPlan, Step
from .recipe import dumps_toml
from .registry import Registry
from .run import GENERATOR_HOLDOUT, GENERATOR_TRAINING, RunContext, base_manifest, device_used, new_run_dir
from .saved import PREDICTORS_DIR, load_predictor, materials_of, resolve_run, subset

REJECTED_EMPTY = "decode: no element left"


@dataclass
class RunResult:
    """Where a run is and what it produced."""

    directory: Path
    candidates: pd.DataFrame | None
    accepted: pd.DataFrame | None
    metrics: dict[str, Any]


def start_run(plan: Plan, recipe_text: str) -> Path:
    """A new run directory holding the recipe as given and the resolved recipe."""
    directory = new_run_dir(plan.run.output_dir, plan.run.name)
    (directory / "recipe.toml").write_text(recipe_text)
    (directory / "resolved.toml").write_text(dumps_toml(plan.resolved_recipe()))
    return directory


def execute(plan: Plan, registry: Registry, directory: Path, *, console=None) -> RunResult:
    """Run ``plan`` in ``directory`` (new, or one being resumed)."""
    run = RunContext(directory, seed=plan.run.seed, quick=plan.quick is not None, console=console)
    try:
        return _Runner(plan, registry, run).execute()
    finally:
        run.close()


class _Runner:
    def __init__(self, plan: Plan, registry: Registry, run: RunContext):
        self.plan, self.registry, self.run = plan, registry, run
        self.metrics: dict[str, Any] = _read_json(run.directory / "metrics.json")
        previous = _read_json(run.directory / "manifest.json")
        run.manifest = base_manifest(registry.plugins, plan.run.seed, run.quick)
        run.manifest["components"] = {s.where: _component_record(s) for s in _all_steps(plan)}
        run.manifest["provenance"] = previous.get("provenance", {})
        run.manifest["attempts"] = previous.get("attempts", 0) + 1
        run.steps = previous.get("steps", [])  # a resumed run keeps the record of earlier attempts
        run.log("plan:\n  " + "\n  ".join(plan.describe()))

    def execute(self) -> RunResult:
        training = self.step("load data", self.load_training)
        for predictor in self.plan.predictors:
            self.step(f"fit {predictor.section.name}", lambda p=predictor: self.fit_predictor(p, training))
        candidates = accepted = None
        if self.plan.generator_step:
            generator, encoder = self.step("train generator", lambda: self.fit_generator(training))
            candidates = self.step("sample", lambda: self.sample(generator, encoder))
        elif self.plan.candidates:
            candidates = self.step("load candidates", self.load_candidates)
        if candidates is not None:
            self.step("filter and predict", lambda: self.screen(candidates, training))
            accepted = self.step("rank", lambda: self.rank(candidates))
        if self.plan.evaluate:
            self.step("evaluate", self.evaluate)
        self.run.manifest["device"] = {"requested": self.plan.run.device, "used": device_used()}
        self.run.manifest["finished"] = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        self.run.write_json("metrics.json", self.metrics)
        self.run.write_manifest()
        self.step("report", lambda: write_report(self.run.directory))
        return RunResult(self.run.directory, candidates, accepted, self.metrics)

    def evaluate(self) -> None:
        settings = self.plan.evaluate
        self.run.write_json("metrics.json", self.metrics)
        self.metrics["evaluation"] = evaluate_run(
            self.run.directory, n_samples=self.plan.evaluation_samples, registry=self.registry, run=self.run,
            embedding=settings.embedding, classifier=settings.classifier, regressor=settings.regressor)

    def step(self, name: str, action):
        with self.run.step(name) as record:
            try:
                result = action()
            except SctkError:
                raise
            except KeyboardInterrupt:
                raise
            except Exception as error:
                raise StepError(
                    f"step '{name}' failed: {type(error).__name__}: {error}",
                    where=str(self.run.directory),
                    hint=f"rerun with --debug for the traceback; `sctk resume {self.run.directory}` "
                    "keeps what is already computed",
                ) from error
            if isinstance(result, pd.DataFrame):
                record["rows_out"] = len(result)
            return result

    # -- data ---------------------------------------------------------------------------------

    def load_training(self) -> pd.DataFrame:
        path = self.run.directory / "training.parquet"
        if path.exists():
            self.run.log("training table loaded from a previous attempt of this run")
            return pd.read_parquet(path)
        table, rejected = self._read_source()
        if len(rejected):
            rejected.to_csv(self.run.directory / "rejected_rows.csv", index=False)
            self.run.log(f"{len(rejected)} source rows reported and skipped: see rejected_rows.csv")
        counts = {"source_rows": len(table) + len(rejected), "rejected_rows": len(rejected)}
        table = self.select(table, self.plan.data_filters, counts)
        if self.plan.quick and len(table) > self.plan.quick.rows:
            table = table.sample(self.plan.quick.rows, random_state=self.plan.run.seed).reset_index(drop=True)
            counts["quick sample"] = len(table)
        if table.empty:
            raise UserError("no training rows left after the data filters", where="data.filters",
                            hint="loosen the data filters")
        counts["training_rows"] = len(table)
        self.metrics["data"] = counts
        table.to_parquet(path)
        return table

    def select(self, table: pd.DataFrame, filters: list[Step], counts: dict | None = None) -> pd.DataFrame:
        """Rows of ``table`` that pass every filter (training-data selection)."""
        for step in filters:
            component = step.build()
            missing = set(component.columns()) - set(table.columns)
            if missing:
                raise UserError(
                    f"filter '{step.label}' reads {sorted(missing)}, which the data does not have",
                    where=step.where, hint="columns available: " + ", ".join(table.columns),
                )
            keep = np.asarray(component.fit(table).keep(table, run=self.run), dtype=bool)
            if counts is not None:
                counts[f"after {step.label}"] = int(keep.sum())
            table = table[keep].reset_index(drop=True)
        return table

    def _read_source(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        from .data import load

        if self.plan.data.dataset:
            dataset = self.registry.dataset(self.plan.data.dataset)
            loaded = load(dataset)
            self.run.manifest["provenance"]["dataset"] = {
                "name": dataset.name, "files": {f.name: f.sha256 for f in dataset.files},
                "licence": dataset.licence, "citation": dataset.citation,
            }
            return loaded.table, loaded.rejected
        return read_formula_csv(Path(self.plan.data.path))

    # -- predictors ---------------------------------------------------------------------------

    def fit_predictor(self, p: PredictorPlan, training: pd.DataFrame) -> None:
        name = p.section.name
        model_dir = self.run.model_dir(f"predictors/{name}")
        if (model_dir / "predictor" / "component.json").exists():
            self.run.log(f"predictor {name} loaded from a previous attempt of this run")
            return
        if p.section.from_run:
            self.copy_predictor(p, model_dir)
            return
        targets = p.section.targets
        scored = p.section.score_on or (targets[0] if len(targets) == 1 else None)
        for column in targets + ([scored] if scored else []):
            if column not in training.columns:
                raise UserError(f"training data has no column '{column}'", where=f"predictors.{name}",
                                hint="columns available: " + ", ".join(training.columns))
        table = self.select(training.dropna(subset=targets), p.filters).reset_index(drop=True)
        materials = materials_of(p.encoder.entry.cls, table)
        y = table[targets[0]].to_numpy() if len(targets) == 1 else table[targets].to_numpy()
        truth = None if scored is None else table[scored].to_numpy()
        if p.section.threshold is not None:
            y = truth = (y > p.section.threshold).astype(int)
        groups = table["composition_key"].to_numpy()
        test = group_holdout(groups, p.section.holdout, self.plan.run.seed)
        report: dict[str, Any] = {"n_train": int((~test).sum()), "n_test": int(test.sum()),
                                  "split": f"{p.section.holdout:.0%} of composition groups held out "
                                           f"(seed {self.plan.run.seed})", "target": p.section.target,
                                  "scored_on": scored}
        if p.section.threshold is not None:
            report["label"] = f"{p.section.target} > {p.section.threshold}"
        if scored is None:
            report["note"] = "no hold-out metric: the target has several columns; set score_on"
        elif test.any() and (~test).any():
            train_materials, test_materials = subset(materials, ~test), subset(materials, test)
            encoder = p.encoder.build().fit(train_materials)
            model = p.step.build().fit(encoder.encode(train_materials), y[~test], groups=groups[~test], run=self.run)
            X_test = encoder.encode(test_materials)
            if p.task == "classification":
                proba = model.predict_proba(X_test)
                positive = proba[:, -1] if proba.shape[1] == 2 else None
                labels = model.predict(X_test)
                report |= classification_report(y[~test], y[test], labels, positive)
                report["rates"] = classifier_rates(y[test], labels)  # for ScGAN's corrected fraction rho
            else:
                report |= regression_report(truth[~test], truth[test], model.predict(X_test))
        encoder = p.encoder.build().fit(materials)
        model = p.step.build().fit(encoder.encode(materials), y, groups=groups, run=self.run)
        encoder.save(model_dir / "encoder")
        model.save(model_dir / "predictor")
        self._importances(model, encoder, model_dir)
        report["provenance"] = {"encoder": encoder.provenance(), "predictor": model.provenance()}
        self.run.manifest["provenance"][f"predictors.{name}"] = report["provenance"]
        self.metrics.setdefault("predictors", {})[name] = report
        self.run.write_json("metrics.json", self.metrics)

    def copy_predictor(self, p: PredictorPlan, model_dir: Path) -> None:
        """Bring a trained predictor (and its hold-out metrics) from another run into this one."""
        source = resolve_run(p.section.from_run)
        shutil.copytree(source / PREDICTORS_DIR / p.section.name, model_dir)
        report = _read_json(source / "metrics.json").get("predictors", {}).get(p.section.name, {})
        self.metrics.setdefault("predictors", {})[p.section.name] = report | {"from_run": str(source)}
        self.run.manifest["provenance"][f"predictors.{p.section.name}"] = report.get("provenance", {})
        self.run.log(f"predictor {p.section.name} copied from {source}")

    def _importances(self, model: Component, encoder: Component, model_dir: Path) -> None:
        importances = getattr(model, "feature_importances_", None)
        if importances is None:
            return
        labels = encoder.feature_labels()
        frame = pd.DataFrame({"feature": labels[: len(importances)], "importance": importances})
        frame.sort_values("importance", ascending=False).to_csv(model_dir / "feature_importances.csv", index=False)

    # -- generator ----------------------------------------------------------------------------

    def fit_generator(self, training: pd.DataFrame):
        plan = self.plan
        model_dir = self.run.model_dir("generator")
        encoder_cls, generator_cls = plan.generator_encoder.entry.cls, plan.generator_step.entry.cls
        if (model_dir / "generator" / "component.json").exists():
            self.run.log("generator loaded from a previous attempt of this run")
            return generator_cls.load(model_dir / "generator"), encoder_cls.load(model_dir / "encoder")
        training = self.select(training, plan.generator_filters)
        if plan.generator.holdout:
            held = group_holdout(training["composition_key"].to_numpy(), plan.generator.holdout, plan.run.seed)
            training.loc[held].to_parquet(self.run.directory / GENERATOR_HOLDOUT)
            training = training.loc[~held]
            self.run.log(f"generator: {int(held.sum())} rows ({plan.generator.holdout:.0%} of composition groups) "
                         f"held out of training to measure recovery")
        training.to_parquet(self.run.directory / GENERATOR_TRAINING)
        compositions = Compositions.from_formulas(training["formula"])
        if plan.generator.init_from:  # transfer learning: the saved encoder's space, the saved weights
            source = resolve_run(plan.generator.init_from) / "models" / "generator"
            encoder = encoder_cls.load(source / "encoder")
            generator = generator_cls.load(source / "generator")
            generator.params = plan.generator_step.params
            self.run.log(f"generator starts from {source}")
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
        encoder.save(model_dir / "encoder")
        generator.save(model_dir / "generator")
        self.run.manifest["provenance"]["generator"] = generator.provenance()
        self.run.manifest["provenance"]["generator.encoder"] = encoder.provenance()
        if getattr(generator, "history_", None):
            self.run.write_json("history.json", {"generator": generator.history_})
        return generator, encoder

    def sample(self, generator, encoder) -> pd.DataFrame:
        n = self.plan.quick.n_samples if self.plan.quick else self.plan.generator.n_samples
        X = generator.sample(n, condition=self.plan.generator.condition, random_state=self.plan.run.seed,
                             run=self.run)
        compositions = encoder.decode(X)
        n_elements = compositions.n_elements
        empty = n_elements == 0
        keys = np.full(len(compositions), "", dtype=object)
        reduced = np.full(len(compositions), "", dtype=object)
        filled = compositions[~empty]
        keys[~empty] = filled.keys()
        reduced[~empty] = filled.reduced_formulas()
        table = pd.DataFrame({
            "sample": np.arange(len(compositions)),
            "formula": compositions.formulas,
            "reduced_formula": reduced,
            "composition_key": keys,
            "n_elements": n_elements,
            "rejected_by": np.where(empty, REJECTED_EMPTY, ""),
        })
        self.metrics["generation"] = {"n_samples": n, "decoded": int((~empty).sum())}
        return table

    # -- screening ----------------------------------------------------------------------------

    def load_candidates(self) -> pd.DataFrame:
        source = self.plan.candidates
        if source.dataset:
            from .data import load

            table = load(self.registry.dataset(source.dataset)).table
        else:
            table, rejected = read_formula_csv(Path(source.path), where="candidates.path")
            if len(rejected):
                rejected.to_csv(self.run.directory / "rejected_candidates.csv", index=False)
        table = table.reset_index(drop=True)
        table["rejected_by"] = ""
        self.metrics["screening"] = {"candidates": len(table)}
        return table

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
            load_predictor(self.run.directory, p.section.name, self.registry).predict_into(table, alive)

    def rank(self, table: pd.DataFrame) -> pd.DataFrame:
        accepted = table[table["rejected_by"] == ""]
        if self.plan.rank:
            accepted = accepted.sort_values(self.plan.rank.by, ascending=not self.plan.rank.descending,
                                            kind="mergesort", na_position="last")
        accepted = accepted.drop(columns=["rejected_by"]).reset_index(drop=True)
        accepted.insert(0, "rank", np.arange(1, len(accepted) + 1))
        table.to_parquet(self.run.directory / "candidates.parquet")
        table.to_csv(self.run.directory / "candidates.csv", index=False)
        accepted.to_csv(self.run.directory / "accepted.csv", index=False)
        return accepted


def read_formula_csv(path: Path, *, where: str = "data.path") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A user CSV with a 'formula' column: rows whose formula parses, plus the rejected rows."""
    if not path.is_file():
        raise DataError(f"data file not found: {path}", where=where, hint="give an existing CSV file")
    frame = pd.read_csv(path)
    if "formula" not in frame.columns:
        raise DataError(f"{path} has no 'formula' column", where=where,
                        hint="columns found: " + ", ".join(map(str, frame.columns)))
    compositions, rejected = Compositions.parse(frame["formula"].astype(str))
    bad = np.zeros(len(frame), dtype=bool)
    bad[[r.row for r in rejected]] = True
    table = frame[~bad].reset_index(drop=True)
    table["reduced_formula"] = [reduced_formula(d) for d in compositions.as_dicts()]
    table["composition_key"] = compositions.keys()
    rejected_frame = pd.DataFrame({"row": [r.row for r in rejected], "value": [r.formula for r in rejected],
                                   "reason": [r.reason for r in rejected]})
    return table, rejected_frame


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


def _read_json(path: Path) -> dict[str, Any]:
    import json

    return json.loads(path.read_text()) if path.exists() else {}
