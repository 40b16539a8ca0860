"""Evaluate a run's generator the way the composition-generator papers do.

:func:`evaluate_generator` takes a fitted generator and encoder and what the run computed beside them
(:class:`EvaluationInputs`: the generator's training rows and hold-out, the run's predictors with
their hold-out rates, SuperCon from the run's registry), draws ``n_samples`` new compositions, decodes
them and measures (each figure comes with its definition and the settings it depends on; the pure
metric functions are in :mod:`sc_toolkit.run.generation_metrics`):

- ``decoded``: samples that decode to at least one element;
- ``smact_valid`` / ``smact_valid_no_alloys``: SMACT charge-neutrality + electronegativity validity
  (the registered ``smact-valid`` filter) with and without SMACT's all-metal shortcut, with the SMACT
  version and oxidation-state set (ScGAN, Lim, SuperDiff; see docs/science.md);
- ``uniqueness``: distinct compositions among the decoded samples (ScGAN, SuperDiff), and among the
  first 5,000 and 30,000 (``uniqueness_by_n``: ScGAN's sample counts; uniqueness falls as n grows);
- ``novelty_training`` / ``novelty_supercon``: distinct generated compositions absent from the
  run's training table / from every row of SuperCon;
- ``predicted_superconductor``: fraction a classification predictor of the run calls positive, and
  ScGAN's Bayesian correction ``rho = (p - fp) / (tp - fp)`` with that classifier's own hold-out
  true- and false-positive rates (unavailable without a classifier);
- ``class_distribution``: shares of cuprate / iron-based / other (ScGAN's classes) and Lim's four;
- ``recovery``: Lim's rate of recovery of known superconductors held out of training;
- ``recovery_training``: the same for the training compositions (Lim's slides state no hold-out,
  so their "known superconductors" may be these: the two readings side by side);
- ``known_share``: the samples that are known superconductors, a per-sample rate like the
  "stable compound / 100k generation" column beside Lim's recovery (the third reading);
- ``predicted_tc``: distribution of a regression predictor's Tc over the generated compositions;
- ``embedding``: a 2-D t-SNE (or PCA) map of generated and training element fractions.

Compositions are identified by ``composition_key`` (atomic fractions to 4 decimals) everywhere, as
the runner's ``novel`` and ``unique`` filters do.

The runner hands the inputs over in memory; ``sctk evaluate RUN_DIR`` reads them back from a finished
run with :func:`inputs_from_run`, and :func:`write_evaluation` stores the result with the run's metrics.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..chem import Compositions
from ..components import Encoder, Generator
from ..data import load
from ..errors import UserError
from ..registry import Registry
from ..runtime import RunLike, log
from . import generation_metrics as gm
from .directory import GENERATOR, GENERATOR_HOLDOUT, GENERATOR_TRAINING, METRICS, RunDir, jsonable
from .predict import SavedPredictor, load_predictor, predictor_task

#: Version of the evaluation's definitions (bump when a definition changes).
EVALUATION_VERSION = 3


@dataclass
class EvaluationInputs:
    """What the evaluation needs of a run, in memory.

    ``training``: the rows the generator learned from; ``holdout``: rows kept out of its training
    (None without ``[generator] holdout``); ``supercon``: SuperCon (formula, composition_key, tc);
    ``predictors``: the run's predictors; ``smact_filter``: the registered ``smact-valid`` filter class
    (None when not installed); ``seed``: the run's seed; ``condition``/``label``: the class a
    conditional generator samples and the training column holding classes."""

    generator: Generator
    encoder: Encoder
    training: pd.DataFrame | None
    holdout: pd.DataFrame | None
    supercon: pd.DataFrame
    predictors: list[gm.ScoringPredictor]
    smact_filter: type | None
    seed: int = 0
    condition: str | None = None
    label: str | None = None


def scoring_predictor(saved: SavedPredictor, recipe: dict[str, Any], rates: dict[str, Any] | None) -> gm.ScoringPredictor:
    """A saved predictor as the evaluation uses it (predictions for compositions; empty in, empty out)."""

    def predict(compositions: Compositions) -> np.ndarray:
        if not len(compositions):
            return np.zeros(0)
        return np.asarray(saved.model.predict(saved.encoder.encode(compositions)))

    hull = saved.extras.hull
    e_hull = None if hull is None else (lambda compositions: hull.e_above_hull(compositions, predict(compositions)))
    return gm.ScoringPredictor(saved.name, saved.model.task, predict, recipe, rates, e_hull)


def smact_filter_of(registry: Registry) -> type | None:
    """The registered ``smact-valid`` filter class, or None when no plugin provides it."""
    return registry.get("filter", "smact-valid") if ("filter", "smact-valid") in registry.components else None


def supercon_of(registry: Registry) -> pd.DataFrame:
    """SuperCon as registered in ``registry`` (the reference for novelty and recovery)."""
    return load(registry.dataset("supercon")).table


def inputs_from_run(run_dir: RunDir, registry: Registry, *, supercon: pd.DataFrame | None = None) -> EvaluationInputs:
    """The evaluation's inputs read back from a finished run (``sctk evaluate`` afterwards).
    UserError when the run has no saved generator."""
    if not run_dir.has_component(f"{GENERATOR}/generator"):
        raise UserError(f"{run_dir.path} holds no saved generator ({GENERATOR}/generator)",
                        hint="evaluate a run whose recipe has a [generator] section")
    recipe = run_dir.recipe
    entries = {p.get("name"): p for p in recipe.get("predictors", []) if isinstance(p, dict)}
    reports = run_dir.metrics.get("predictors", {})
    predictors = []
    saved = run_dir.predictor_names()
    for name in [n for n in entries if n in saved] + [n for n in saved if n not in entries]:  # the recipe's order
        rates = (reports.get(name) or {}).get("rates") if predictor_task(run_dir, name) == "classification" else None
        predictors.append(scoring_predictor(load_predictor(run_dir, name, registry), entries.get(name, {}), rates))
    generator_section = recipe.get("generator") or {}
    return EvaluationInputs(
        generator=run_dir.load_component(f"{GENERATOR}/generator", "generator", registry),
        encoder=run_dir.load_component(f"{GENERATOR}/encoder", "encoder", registry),
        training=run_dir.read_table(GENERATOR_TRAINING),
        holdout=run_dir.read_table(GENERATOR_HOLDOUT),
        supercon=supercon if supercon is not None else supercon_of(registry),
        predictors=predictors,
        smact_filter=smact_filter_of(registry),
        seed=int(recipe.get("run", {}).get("seed", 0)),
        condition=generator_section.get("condition"),
        label=generator_section.get("label"),
    )


def evaluate_run(run_dir: RunDir | str | Path, registry: Registry, *, supercon: pd.DataFrame | None = None,
                 **options: Any) -> dict[str, Any]:
    """:func:`evaluate_generator` on a finished run's saved generator (options as there; the
    classifier and regressor default to the recipe's ``[evaluate]`` choices)."""
    run_dir = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    chosen = run_dir.recipe.get("evaluate") or {}
    for key in ("classifier", "regressor"):
        if options.get(key) is None and chosen.get(key):
            options[key] = chosen[key]
    return evaluate_generator(inputs_from_run(run_dir, registry, supercon=supercon), **options)


def evaluate_generator(
    inputs: EvaluationInputs,
    *,
    n_samples: int = 100_000,
    seed: int | None = None,
    run: RunLike | None = None,
    embedding: str = "tsne",
    embedding_points: int = 500,
    classifier: str | None = None,
    regressor: str | None = None,
    condition: str | None = None,
) -> dict[str, Any]:
    """Sample ``n_samples`` compositions from ``inputs.generator`` and measure them.

    ``seed`` defaults to the run's seed + 1 (so the samples differ from those the run screened);
    ``run`` is a RunLike for progress and log lines (None: silent). ``embedding`` is "tsne"
    (scikit-learn, on ``embedding_points`` generated + as many training points), "pca" or "none".
    ``classifier`` / ``regressor`` name the predictors to use (default: the first of each task).
    ``condition`` is the class a conditional generator samples (default: ``inputs.condition``), so one
    trained generator is evaluated class by class. Returns a JSON-able dict.
    """
    if n_samples <= 0:
        raise UserError(f"n_samples must be positive, got {n_samples}")
    if seed is None:
        seed = inputs.seed + 1
    if condition is None:
        condition = inputs.condition
    seconds: dict[str, float] = {}

    @contextmanager
    def clock(name: str):
        start = time.perf_counter()
        yield
        seconds[name] = round(time.perf_counter() - start, 3)

    log(run, f"evaluate: sampling {n_samples} compositions (seed {seed})")
    with clock("sample"):
        X = inputs.generator.sample(n_samples, condition=condition, random_state=seed, run=run)
    with clock("decode"):
        compositions = inputs.encoder.decode(X)
        filled = compositions.n_elements > 0
        keys = np.full(n_samples, "", dtype=object)
        keys[filled] = compositions[filled].keys()
    n_decoded = int(filled.sum())
    distinct_keys, first_index, inverse = gm.distinct(keys, filled)
    training, supercon = inputs.training, inputs.supercon

    metrics: dict[str, Any] = {"decoded": gm.ratio(n_decoded, n_samples, "decoded")}
    with clock("smact"):
        metrics.update(gm.smact_validity(inputs.smact_filter, compositions, filled))
    metrics["uniqueness"] = gm.ratio(len(distinct_keys), n_decoded, "uniqueness")
    metrics["uniqueness_by_n"] = gm.uniqueness_by_n(inverse)
    with clock("novelty"):
        training_keys, supercon_keys = gm.key_set(training), gm.key_set(supercon)
        novel_training = np.array([k not in training_keys for k in distinct_keys], dtype=bool)
        novel_supercon = np.array([k not in supercon_keys for k in distinct_keys], dtype=bool)
        metrics["novelty_training"] = gm.ratio(int(novel_training.sum()), len(distinct_keys), "novelty_training")
        metrics["novelty_training"]["n_training_compositions"] = len(training_keys)
        metrics["novelty_supercon"] = gm.ratio(int(novel_supercon.sum()), len(distinct_keys), "novelty_supercon")
        metrics["novelty_supercon"]["n_supercon_compositions"] = len(supercon_keys)
        novel = novel_training & novel_supercon

    distinct_fractions = compositions.fractions[first_index]
    training_comps = None
    if training is not None and "formula" in training.columns and len(training):
        training_comps = Compositions.parse(training["formula"].astype(str).tolist())[0]
    with clock("classes"):
        metrics["class_distribution"] = gm.class_distribution(compositions[filled], training_comps)
        metrics["elements_per_composition"] = gm.elements_per_composition(compositions[filled], training_comps)
    with clock("recovery"):
        superconductors = gm.superconductors_of(supercon)
        metrics["recovery"] = gm.recovery(distinct_keys, distinct_fractions, training, training_comps,
                                          superconductors, n_samples, inputs.holdout, inputs.label, condition)
        metrics["recovery_training"] = gm.training_recovery(distinct_keys, distinct_fractions, training_comps, n_samples)
        metrics["known_share"] = gm.known_share(distinct_keys, distinct_fractions, inverse, superconductors, training)

    unique_compositions = compositions[first_index] if len(first_index) else compositions[filled]
    with clock("predicted superconductor"):
        metrics["predicted_superconductor"] = gm.predicted_superconductor(
            _pick(inputs.predictors, "classification", classifier), unique_compositions, inverse, n_decoded)
    with clock("predicted tc"):
        metrics["predicted_tc"] = gm.predicted_tc(
            _pick(inputs.predictors, "regression", regressor), unique_compositions, inverse, training)

    with clock("stability"):
        with_hull = next((p for p in inputs.predictors if p.e_hull is not None), None)
        metrics["stable_unique_novel"] = gm.stable_unique_novel(
            with_hull, compositions[first_index], novel, n_decoded, seed)

    embedding_result = None
    if embedding != "none":
        with clock("embedding"):
            embedding_result = gm.embedding(distinct_fractions, training_comps, embedding, embedding_points, seed)

    result = {
        "version": EVALUATION_VERSION,
        "n_samples": int(n_samples),
        "seed": int(seed),
        "condition": condition,
        "generator": {"name": inputs.generator.name, "provenance": gm.safe_provenance(inputs.generator)},
        "encoder": {"name": inputs.encoder.name, "provenance": gm.safe_provenance(inputs.encoder)},
        "metrics": metrics,
        "embedding": embedding_result,
        "examples": [compositions.formulas[i] for i in first_index[:20]],
        "seconds": seconds,
    }
    log(run, "evaluate: " + ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items()))
    return jsonable(result)


def _pick(predictors: list[gm.ScoringPredictor], task: str, wanted: str | None) -> gm.ScoringPredictor | None:
    """The predictor called ``wanted`` of ``task`` (default: the first of that task); UserError when
    a named one is not there."""
    found = next((p for p in predictors if p.task == task and wanted in (None, p.name)), None)
    if found is None and wanted is not None:
        names = [p.name for p in predictors if p.task == task]
        raise UserError(f"no {task} predictor named '{wanted}' in the run",
                        hint="saved: " + ", ".join(names) if names else f"the run has no {task} predictor")
    return found


def write_evaluation(run_dir: RunDir | str | Path, result: dict[str, Any]) -> Path:
    """Store ``result`` in the run's metrics under "evaluation", keeping every other key."""
    run_dir = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    metrics = run_dir.metrics
    metrics["evaluation"] = result
    return run_dir.write_json(METRICS, metrics)
