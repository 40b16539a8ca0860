"""The ``[candidates]``, ``[[filters]]`` and ``[rank]`` sections of a run: the candidates (generated
samples or a screened table) go through the filters in order, the predictions are added just before
the first filter that reads one, and the accepted rows are ranked.

The work is streamed (:mod:`.streaming`): ``[run] batch_size`` candidates at a time are sampled (or
read), decoded, filtered and scored by the executor ``[run] executor`` names (:mod:`.executors`),
and written as Parquet shards; memory holds a few batches whatever the number of candidates.

A candidate table keeps every row: ``rejected_by`` names the step that rejected it ('' while it is
alive, 'rank: ...' for a row the ranking's rules skipped), and a rejected row keeps NaN predictions.
``counts`` is the metrics entry of the candidates (``generation`` or ``screening``): rows in and kept
per filter, and the number accepted.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import UserError
from ..plan import Plan
from ..recipe import CandidatesSection
from .context import RunContext
from .data_section import Datasets
from .directory import ACCEPTED, CANDIDATES, CANDIDATES_CSV, REJECTED_CANDIDATES, RunDir
from .executors import executor_for
from .generator_section import TrainedGenerator
from .predict import SavedPredictor
from .streaming import BatchScreen, FilterStage, SampleBatch, Screened, TableBatch, sample_batches, stream
from .tables import formula_chunks, formula_rows

#: Seconds between two progress lines in the run log.
PROGRESS_EVERY = 30.0


@dataclass
class Candidates:
    """The candidates of a run, batch by batch: a trained generator's samples, or the rows of a
    table (``rejected`` collects the rows of a candidate file whose formula does not parse)."""

    batches: Iterable[SampleBatch | TableBatch]
    generated: TrainedGenerator | None = None
    rejected: list[pd.DataFrame] = field(default_factory=list)


def sampled_candidates(plan: Plan, trained: TrainedGenerator, metrics: dict[str, Any]) -> Candidates:
    """The plan's samples (the --quick number under --quick) in batches of ``[run] batch_size``;
    ``metrics["generation"]`` gets their number."""
    n = plan.quick.n_samples if plan.quick else plan.generator.n_samples
    metrics["generation"] = {"n_samples": n}
    return Candidates(sample_batches(n, plan.run.batch_size, plan.run.seed), generated=trained)


def load_candidates(section: CandidatesSection, datasets: Datasets, batch_size: int,
                    metrics: dict[str, Any]) -> Candidates:
    """The table that ``[candidates]`` names, every row alive, in batches; a CSV or Parquet file is
    read a batch at a time (DataError here for a file that cannot be read at all)."""
    metrics["screening"] = {"candidates": 0}
    if section.dataset:
        table = datasets.load(section.dataset).table.reset_index(drop=True)
        chunks = ((table.iloc[s:s + batch_size].reset_index(drop=True), None)
                  for s in range(0, max(len(table), 1), batch_size))
    else:
        chunks = formula_chunks(Path(section.path), batch_size, where="candidates.path")
    candidates = Candidates([])
    candidates.batches = _table_batches(chunks, candidates.rejected)
    return candidates


def file_candidates(path: Path, batch_size: int, *, where: str = "--input") -> Candidates:
    """The formulas of a CSV or Parquet file, in batches (``sctk screen --input``)."""
    candidates = Candidates([])
    candidates.batches = _table_batches(formula_chunks(path, batch_size, where=where), candidates.rejected)
    return candidates


def _table_batches(chunks, rejected: list[pd.DataFrame]) -> Iterator[TableBatch]:
    for i, (table, bad) in enumerate(chunks):
        if bad is not None and len(bad):
            rejected.append(bad)
        table = table.copy()
        table["rejected_by"] = ""
        yield TableBatch(i, table)


def screening_job(plan: Plan, training: pd.DataFrame, predictors: list[SavedPredictor], run: RunContext | None,
                  generated: TrainedGenerator | None = None) -> BatchScreen:
    """What each batch needs: the plan's filters fitted on ``training``, the predictors, the generator."""
    stages = []
    for step in plan.filters:
        component = step.build().fit(training)
        stages.append(FilterStage(step.label, step.entry.name, step.where, component))
        if run is not None:
            run.manifest["provenance"][step.where] = component.provenance()
    job = BatchScreen(stages, predictors, plan.predict_before)
    if generated is not None:
        job.generator, job.encoder, job.condition = generated.generator, generated.encoder, plan.generator.condition
    return job


def screen(candidates: Candidates, training: pd.DataFrame, plan: Plan, predictors: list[SavedPredictor],
           run: RunContext, counts: dict[str, Any]) -> Screened:
    """Screen every batch of ``candidates`` with the plan's filters (each fitted on ``training``) and
    ``predictors``, on the plan's executor, into shards of the run; ``counts`` gets the decoded (or
    read) rows, the rows in and kept per filter and the number accepted. UserError when a filter
    reads a missing column."""
    job = screening_job(plan, training, predictors, run, candidates.generated)
    executor = run.executor  # the run's, closed when the run ends
    run.log(f"screening {plan.run.batch_size:,} candidates a batch {executor.describe()}")
    screened = stream(job, candidates.batches, executor.map, rank=plan.rank,
                      shards_folder=_partial(run.run_dir, CANDIDATES), progress=_progress(run))
    if candidates.rejected:
        run.run_dir.write_table(REJECTED_CANDIDATES, pd.concat(candidates.rejected, ignore_index=True))
    if candidates.generated is not None:
        counts["decoded"] = screened.alive
    else:
        counts["candidates"] = screened.rows
    counts["filters"] = dict(screened.filters)
    for label, c in screened.filters.items():
        run.log(f"filter {label}: kept {c['kept']} of {c['in']}")
    counts["accepted"] = screened.passed
    return screened


def rank(screened: Screened, plan: Plan, run_dir: RunDir, counts: dict[str, Any]) -> pd.DataFrame:
    """The accepted candidates in the plan's order; the whole table (Parquet shards and a CSV copy)
    and the accepted rows are written to the run. Rows the ranking's rules skip are counted as a
    'rank' filter."""
    accepted = finish(screened, run_dir, CANDIDATES, CANDIDATES_CSV)
    if len(accepted) < screened.passed:
        counts["filters"]["rank"] = {"in": screened.passed, "kept": len(accepted)}
        counts["accepted"] = len(accepted)
    run_dir.write_table(ACCEPTED, accepted)
    return accepted


def finish(screened: Screened, run_dir: RunDir, table_name: str, csv_name: str | None) -> pd.DataFrame:
    """Rank ``screened``, write its CSV copy, then move its shards into place as ``table_name``."""
    accepted = screened.finish(run_dir / csv_name if csv_name else None)
    target = run_dir / table_name
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    screened.shards.folder.rename(target)
    return accepted


def _partial(run_dir: RunDir, name: str) -> Path:
    """Where the shards of ``name`` are written until the table is whole."""
    return run_dir / f"{name}.partial"


def _progress(run: RunContext):
    started = last = time.monotonic()

    def report(rows: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY:
            last = now
            run.log(f"screened {rows:,} candidates ({rows / (now - started):,.0f} rows/s)")

    return report


def space_candidates(formulas: Iterator[str], batch_size: int) -> Candidates:
    """Enumerated formulas (:mod:`.space`) as candidates, in batches."""
    from .space import space_chunks

    chunks = (formula_rows(frame, Path("composition space"), where="--elements")
              for frame in space_chunks(formulas, batch_size))
    candidates = Candidates([])
    candidates.batches = _table_batches(chunks, candidates.rejected)
    return candidates


def generated_candidates(run_dir: RunDir, registry, n_samples: int, batch_size: int, seed: int) -> Candidates:
    """``n_samples`` fresh samples of the run's saved generator, in batches (the first drawn with ``seed``)."""
    from .directory import GENERATOR

    if not run_dir.has_component(f"{GENERATOR}/generator"):
        raise UserError(f"{run_dir.path} holds no saved generator", hint="give a run whose recipe has a [generator]")
    generated = TrainedGenerator(run_dir.load_component(f"{GENERATOR}/generator", "generator", registry),
                                 run_dir.load_component(f"{GENERATOR}/encoder", "encoder", registry), None, None)
    return Candidates(sample_batches(n_samples, batch_size, seed), generated=generated)


@dataclass
class ScreenedRun:
    """What screening a finished run's candidates produced: where, the counts, the ranking."""

    output: RunDir
    counts: dict[str, Any]
    accepted: pd.DataFrame


def screen_with_run(run_dir: RunDir, candidates: Candidates, registry, output: RunDir, *,
                    executor: str | None = None, batch_size: int | None = None, run=None) -> ScreenedRun:
    """Screen ``candidates`` as the finished run ``run_dir`` screened its own: its filters (fitted on
    its training table), its saved predictors and its ``[rank]``, on ``executor`` (default: the run's),
    streaming. ``output`` gets the candidate table (Parquet shards, no CSV copy), ``accepted.csv``,
    the unreadable rows and ``metrics.json`` (counts, seconds, rows per second)."""
    from .api import plan_recipe
    from .directory import INVOCATION, METRICS, RECIPE, TRAINING
    from .predict import load_predictor

    settings = run_dir.read_json(INVOCATION)
    plan = plan_recipe(run_dir.file(RECIPE), settings.get("overrides", []), quick=settings.get("quick", False),
                       registry=registry)
    chosen_settings = {k: v for k, v in {"executor": executor, "batch_size": batch_size}.items() if v}
    settings_run = plan.run.model_copy(update=chosen_settings)
    training = run_dir.read_table(TRAINING)
    if training is None:
        raise UserError(f"{run_dir.path} has no {TRAINING}", hint="give a run directory of a finished `sctk run`")
    predictors = [load_predictor(run_dir, p.section.name, registry) for p in plan.candidate_predictors]
    job = screening_job(plan, training, predictors, None, candidates.generated)
    chosen = executor_for(settings_run, run)
    started = time.monotonic()
    try:
        screened = stream(job, candidates.batches, chosen.map, rank=plan.rank,
                          shards_folder=_partial(output, CANDIDATES))
    finally:
        chosen.close()
    accepted = finish(screened, output, CANDIDATES, None)
    seconds = time.monotonic() - started
    if candidates.rejected:
        output.write_table(REJECTED_CANDIDATES, pd.concat(candidates.rejected, ignore_index=True))
    counts = {"candidates": screened.rows, "filters": dict(screened.filters), "accepted": len(accepted)}
    if len(accepted) < screened.passed:
        counts["filters"]["rank"] = {"in": screened.passed, "kept": len(accepted)}
    output.write_table(ACCEPTED, accepted)
    output.write_json(METRICS, {"screening": counts, "run": str(run_dir.path), "executor": chosen.name,
                                "batch_size": settings_run.batch_size, "seconds": round(seconds, 2),
                                "rows_per_s": round(screened.rows / seconds, 1) if seconds else None})
    return ScreenedRun(output, counts, accepted)
