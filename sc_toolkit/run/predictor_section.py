"""The ``[[predictors]]`` section of a run: each predictor is trained here, copied from another run
(``from_run``), or loaded back from a previous attempt of this run.

A predictor learns from its own table: the training rows (or its own ``dataset``) that have a
target, through its filters, plus its ``negatives`` with target 0. It is saved whole in the run as
soon as it is trained; its hold-out report goes to the metrics, its provenance to the manifest.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..components import Component
from ..errors import UserError
from ..plan import PredictorPlan
from .context import RunContext
from .data_section import Datasets
from .directory import FEATURE_IMPORTANCES, METRICS, PREDICTORS, RunDir
from .predict import SavedPredictor, load_predictor, save_predictor
from .stability import ReferenceHull
from .tables import select
from .training import train, training_data


def fitted_predictor(p: PredictorPlan, training: pd.DataFrame, datasets: Datasets, run: RunContext,
                     metrics: dict[str, Any]) -> SavedPredictor:
    """The predictor ``p`` fitted, from a previous attempt of this run, from ``from_run`` or trained
    now on ``training`` (the run's training table)."""
    name = p.section.name
    if run.run_dir.has_component(f"{PREDICTORS}/{name}/predictor"):
        run.log(f"predictor {name} loaded from a previous attempt of this run")
    elif p.section.from_run:
        copy_predictor(p, run, metrics)
    else:
        return train_predictor(p, training, datasets, run, metrics)
    return load_predictor(run.run_dir, name, datasets.registry)


def train_predictor(p: PredictorPlan, training: pd.DataFrame, datasets: Datasets, run: RunContext,
                    metrics: dict[str, Any]) -> SavedPredictor:
    """Fit ``p`` (see :func:`sc_toolkit.run.training.train`) and save it whole in the run, with its
    hull and its feature importances; its report goes to ``metrics["predictors"]``."""
    name = p.section.name
    saved, report = train(p, training_data(p, predictor_table(p, training, datasets, run)), run.seed, run)
    if p.section.hull:
        saved.extras.hull = ReferenceHull.from_datasets(datasets.registry, p.section.hull)
        report["hull"] = saved.extras.hull.provenance()
        run.log(f"predictor {name}: hull of {len(saved.extras.hull.phases)} known phases")
    save_predictor(run.run_dir, saved)
    _write_importances(run.run_dir, saved.model, saved.encoder, name)
    report["provenance"] = {"encoder": saved.encoder.provenance(), "predictor": saved.model.provenance()}
    if saved.extras.hull is not None:  # the hull's source, recorded in the manifest
        report["provenance"]["hull"] = report["hull"]
    run.manifest["provenance"][f"predictors.{name}"] = report["provenance"]
    metrics.setdefault("predictors", {})[name] = report
    run.run_dir.write_json(METRICS, metrics)
    return saved


def predictor_table(p: PredictorPlan, training: pd.DataFrame, datasets: Datasets, run: RunContext) -> pd.DataFrame:
    """The rows ``p`` learns from: ``training`` (or its own ``dataset``) with a target, through its
    filters, plus its ``negatives`` with target 0; 'source' names where each came from. UserError
    when a target column is missing."""
    name, targets = p.section.name, p.section.targets
    table = training if p.section.dataset is None else datasets.rows(p.section.dataset)
    scored = [p.section.score_on] if p.section.score_on else []
    for column in targets + scored:
        if column not in table.columns:
            raise UserError(f"training data has no column '{column}'", where=f"predictors.{name}",
                            hint="columns available: " + ", ".join(table.columns))
    table = select(table.dropna(subset=targets), p.filters, run=run)
    if p.section.rows is not None and len(table) > p.section.rows:
        run.log(f"predictor {name}: a seeded sample of {p.section.rows} of its {len(table)} rows (rows)")
        table = table.sample(p.section.rows, random_state=run.seed)
    table = table.assign(source=p.section.dataset or "data")
    if p.section.negatives:
        negatives = datasets.rows(p.section.negatives)
        negatives = negatives.assign(**{column: 0.0 for column in targets + scored}, source=p.section.negatives)
        table = pd.concat([table, negatives[[c for c in table.columns if c in negatives.columns]]],
                          ignore_index=True)
        run.log(f"predictor {name}: {len(negatives)} rows of '{p.section.negatives}' added with target 0")
    return table.reset_index(drop=True)


def copy_predictor(p: PredictorPlan, run: RunContext, metrics: dict[str, Any]) -> None:
    """Bring a trained predictor (and its hold-out metrics) from ``from_run`` into this run."""
    name = p.section.name
    source = RunDir.resolve(p.section.from_run)
    run.run_dir.copy_predictor(source, name)
    report = source.metrics.get("predictors", {}).get(name, {})
    metrics.setdefault("predictors", {})[name] = report | {"from_run": str(source.path)}
    run.manifest["provenance"][f"predictors.{name}"] = report.get("provenance", {})
    run.log(f"predictor {name} copied from {source.path}")


def _write_importances(run_dir: RunDir, model: Component, encoder: Component, name: str) -> None:
    """The model's feature importances by encoder feature, largest first (nothing for a model without them)."""
    importances = getattr(model, "feature_importances_", None)
    if importances is None:
        return
    labels = encoder.feature_labels()
    frame = pd.DataFrame({"feature": labels[: len(importances)], "importance": importances})
    frame = frame.sort_values("importance", ascending=False)
    run_dir.write_table(f"{PREDICTORS}/{name}/{FEATURE_IMPORTANCES}", frame)
