"""The ``[generator]`` section of a run: the generator trained (or loaded back from a previous
attempt of this run, or continued from ``init_from``); it is sampled batch by batch by the screening
(:mod:`.screening`).

The generator learns from the training rows that pass its filters, less the composition groups
held out to measure recovery; both tables are written to the run, and the fitted encoder and
generator are saved whole as soon as they are trained.
"""

from __future__ import annotations

from dataclasses import dataclass
import pandas as pd

from ..chem import Compositions
from ..components import Component
from ..errors import UserError
from ..metrics import group_holdout
from ..plan import Plan
from ..registry import Registry
from .context import RunContext
from .directory import GENERATOR, GENERATOR_HOLDOUT, GENERATOR_TRAINING, HISTORY, RunDir
from .tables import select


@dataclass
class TrainedGenerator:
    """A fitted generator, its encoder, the rows it learned from and those held out of its training
    (None when the recipe holds none out)."""

    generator: Component
    encoder: Component
    training: pd.DataFrame | None
    holdout: pd.DataFrame | None


def trained_generator(plan: Plan, training: pd.DataFrame, registry: Registry, run: RunContext) -> TrainedGenerator:
    """The plan's generator fitted on ``training`` (the run's training table), or the one saved by a
    previous attempt of this run. UserError when the label column is missing."""
    run_dir, section = run.run_dir, plan.generator
    if run_dir.has_component(f"{GENERATOR}/generator"):
        run.log("generator loaded from a previous attempt of this run")
        return TrainedGenerator(run_dir.load_component(f"{GENERATOR}/generator", "generator", registry),
                                run_dir.load_component(f"{GENERATOR}/encoder", "encoder", registry),
                                run_dir.read_table(GENERATOR_TRAINING), run_dir.read_table(GENERATOR_HOLDOUT))
    training = select(training, plan.generator_filters, run=run)
    holdout = None
    if section.holdout:
        held = group_holdout(training["composition_key"].to_numpy(), section.holdout, plan.run.seed)
        holdout = training.loc[held].reset_index(drop=True)
        run_dir.write_table(GENERATOR_HOLDOUT, holdout)
        training = training.loc[~held].reset_index(drop=True)
        run.log(f"generator: {int(held.sum())} rows ({section.holdout:.0%} of composition groups) "
                f"held out of training to measure recovery")
    run_dir.write_table(GENERATOR_TRAINING, training)
    compositions = Compositions.from_formulas(training["formula"])
    if section.init_from:  # transfer learning: the saved encoder's space, the saved weights
        source = RunDir.resolve(section.init_from)
        encoder = source.load_component(f"{GENERATOR}/encoder", "encoder", registry)
        generator = source.load_component(f"{GENERATOR}/generator", "generator", registry)
        generator.params = plan.generator_step.params
        run.log(f"generator starts from {source.path / GENERATOR}")
    else:
        encoder = plan.generator_encoder.build().fit(compositions)
        generator = plan.generator_step.build()
    X = encoder.encode(compositions)
    y = None
    if section.label:
        if section.label not in training.columns:
            raise UserError(f"training data has no label column '{section.label}'",
                            where="generator.label", hint="columns: " + ", ".join(training.columns))
        y = training[section.label].astype(str).to_numpy()
    generator.fit(X, y, run=run)
    run_dir.save_component(encoder, f"{GENERATOR}/encoder")
    run_dir.save_component(generator, f"{GENERATOR}/generator")
    run.manifest["provenance"]["generator"] = generator.provenance()
    run.manifest["provenance"]["generator.encoder"] = encoder.provenance()
    if getattr(generator, "history_", None):
        run_dir.write_json(HISTORY, {"generator": generator.history_})
    return TrainedGenerator(generator, encoder, training, holdout)

