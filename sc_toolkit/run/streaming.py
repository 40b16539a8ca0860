"""Screening in batches, in bounded memory: candidates are sampled (or read), decoded, filtered and
scored one batch at a time; each screened batch is written as a Parquet shard, the filter counts are
added up, and the ranking keeps only what it needs, so a run screens millions of candidates with the
memory of a few batches.

The work on one batch is :class:`BatchScreen` (a picklable object: the fitted filters, the
predictors, the generator and its encoder), run by an executor (:mod:`.executors`: in-process by
default, Ray tasks on request). The executor hands the results back in batch order, and everything
that depends on more than one batch happens here, in the process that drives the run:

* the filters whose verdict depends on earlier rows (``unique``: the first row of each composition
  wins) are applied across batches by :class:`FirstOccurrence`, which re-rejects a row whose
  composition an earlier batch already kept, and clears the predictions it was given;
* the counts per filter are derived from where each row stopped, after that correction, so they are
  exact whatever the batch size or executor;
* :class:`RunningRanking` keeps the accepted rows' sort keys and prunes those that can no longer
  reach the ranking (``[rank] keep``), then walks the survivors with the diversity rules.

Batch ``i`` of a generated run samples with the seed :func:`batch_seed` ``(seed, i)`` (the run's seed
itself for the first batch), so a run of at most ``batch_size`` samples draws exactly what a single
call would, and every executor draws the same samples for the same seed and batch size.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..components import Component, Filter
from ..errors import UserError
from ..recipe import RankSection
from .predict import SavedPredictor, add_derived_columns
from .tables import crowded, samples_table

#: Filters whose verdict on a row depends on the rows before it: registered name -> the column whose
#: first occurrence they keep. The executor sees one batch; these are completed across batches here.
ACROSS_BATCHES = {"unique": "composition_key"}
#: ``stopped_at`` of a row rejected before the first filter (a sample that decodes to nothing).
BEFORE_FILTERS = -1


def batch_seed(seed: int, index: int) -> int:
    """The sampling seed of batch ``index``: the run's seed for the first batch, then a seed derived
    from (seed, index) with :class:`numpy.random.SeedSequence`."""
    if index == 0:
        return seed
    return int(np.random.SeedSequence([seed % 2**32, index]).generate_state(1)[0])


@dataclass(frozen=True)
class SampleBatch:
    """Batch ``index`` of a generated run: ``n`` samples numbered from ``start``, drawn with ``seed``."""

    index: int
    start: int
    n: int
    seed: int


def sample_batches(n_samples: int, batch_size: int, seed: int) -> list[SampleBatch]:
    """The batches of ``n_samples`` generated candidates, ``batch_size`` at a time."""
    return [SampleBatch(i, start, min(batch_size, n_samples - start), batch_seed(seed, i))
            for i, start in enumerate(range(0, n_samples, batch_size))]


@dataclass(frozen=True)
class TableBatch:
    """Batch ``index`` of candidates read from a table (rows already parsed, ``rejected_by`` set)."""

    index: int
    table: pd.DataFrame


@dataclass
class FilterStage:
    """A filter of the plan, fitted on the training table: its label and the component."""

    label: str
    name: str
    where: str
    component: Filter


@dataclass
class BatchResult:
    """One screened batch: every row with ``rejected_by`` and the predictions of the rows that were
    alive when they were made; ``stopped_at`` is the index of the filter that rejected each row
    (``len(filters)`` for a row every filter kept, :data:`BEFORE_FILTERS` for one rejected before)."""

    index: int
    table: pd.DataFrame
    stopped_at: np.ndarray
    prediction_columns: list[str]


@dataclass
class BatchScreen:
    """Everything needed to screen one batch, picklable so that an executor can ship it to workers
    once: the fitted filters in order, the predictors (scoring just before filter ``predict_before``),
    and, for a generated run, the generator, its encoder and the condition it samples."""

    filters: list[FilterStage]
    predictors: list[SavedPredictor]
    predict_before: int
    generator: Component | None = None
    encoder: Component | None = None
    condition: Any = None

    def __call__(self, batch: SampleBatch | TableBatch, run=None) -> BatchResult:
        if isinstance(batch, SampleBatch):
            X = self.generator.sample(batch.n, condition=self.condition, random_state=batch.seed, run=run)
            table = samples_table(self.encoder.decode(X))
            table["sample"] += batch.start
        else:
            table = batch.table.reset_index(drop=True)
        return self.screen(batch.index, table, run)

    def screen(self, index: int, table: pd.DataFrame, run=None) -> BatchResult:
        """Filter ``table`` (rows with ``rejected_by`` '' are alive) and add the predictions."""
        stopped_at = np.where(table["rejected_by"].to_numpy() == "", len(self.filters), BEFORE_FILTERS)
        before = list(table.columns)
        for i, stage in enumerate(self.filters):
            alive = stopped_at == len(self.filters)
            if i == self.predict_before:
                self._predict(table, alive)
            missing = set(stage.component.columns()) - set(table.columns)
            if missing:
                raise UserError(f"filter '{stage.label}' reads {sorted(missing)}, which the candidates do not have",
                                where=stage.where, hint="columns available: " + ", ".join(table.columns))
            rows = table.loc[alive, list(stage.component.columns())].reset_index(drop=True)
            keep = np.asarray(stage.component.keep(rows, run=run), dtype=bool)
            stopped_at[np.flatnonzero(alive)[~keep]] = i
        if self.predict_before == len(self.filters):
            self._predict(table, stopped_at == len(self.filters))
        labels = np.array([s.label for s in self.filters] + [""], dtype=object)
        rejected = (stopped_at >= 0) & (stopped_at < len(self.filters))
        table.loc[rejected, "rejected_by"] = labels[stopped_at[rejected]]
        predicted = [c for c in table.columns if c not in before]
        return BatchResult(index, table, stopped_at, predicted)

    def _predict(self, table: pd.DataFrame, alive: np.ndarray) -> None:
        """Score the ``alive`` rows; the others keep missing values."""
        for predictor in self.predictors:
            predictor.predict_into(table, alive)
        add_derived_columns(table, self.predictors)


class KeySet:
    """A set of strings kept as 64-bit hashes (8 bytes a key) in sorted NumPy runs, merged as they
    grow (at most about log2(n) runs), so that millions of keys stay small and fast to look up."""

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []

    @staticmethod
    def hashes(values: Iterable[str]) -> np.ndarray:
        return pd.util.hash_array(np.asarray(values, dtype=object))

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        found = np.zeros(len(hashes), dtype=bool)
        for run in self._runs:
            at = np.minimum(np.searchsorted(run, hashes), len(run) - 1)
            found |= run[at] == hashes
        return found

    def add(self, hashes: np.ndarray) -> None:
        if len(hashes):
            self._runs.append(np.unique(hashes))
        while len(self._runs) > 1 and len(self._runs[-2]) <= 2 * len(self._runs[-1]):
            last = self._runs.pop()
            self._runs[-1] = np.union1d(self._runs[-1], last)


@dataclass
class FirstOccurrence:
    """Completes a ``unique``-like filter across batches: a row it kept within its batch is rejected
    after all when an earlier batch kept a row with the same ``column`` value; the predictions made
    after the filter are cleared for that row, as if it had never reached them."""

    position: int
    label: str
    column: str
    clear_predictions: bool
    seen: KeySet = field(default_factory=KeySet)

    def apply(self, result: BatchResult) -> None:
        passed = result.stopped_at > self.position
        hashes = KeySet.hashes(result.table[self.column].to_numpy()[passed])
        again = self.seen.contains(hashes)
        self.seen.add(hashes[~again])
        rows = np.flatnonzero(passed)[again]
        if not len(rows):
            return
        result.stopped_at[rows] = self.position
        rejected_by = result.table["rejected_by"].to_numpy(copy=True)
        rejected_by[rows] = self.label
        result.table["rejected_by"] = rejected_by
        if self.clear_predictions:
            mask = np.zeros(len(result.table), dtype=bool)
            mask[rows] = True
            for column in result.prediction_columns:
                result.table[column] = result.table[column].mask(mask)


class FilterCounts:
    """Rows in and kept per filter, added up batch by batch from where each row stopped."""

    def __init__(self, labels: list[str]):
        self.labels = labels
        self.into = np.zeros(len(labels), dtype=np.int64)
        self.kept = np.zeros(len(labels), dtype=np.int64)

    def add(self, stopped_at: np.ndarray) -> None:
        for i in range(len(self.labels)):
            self.into[i] += int((stopped_at >= i).sum())
            self.kept[i] += int((stopped_at > i).sum())

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {label: {"in": int(n), "kept": int(k)} for label, n, k in zip(self.labels, self.into, self.kept)}


#: File names of the shards in a candidate table's folder, in batch order.
SHARD = "part-{:06d}.parquet"


class CandidateShards:
    """A candidate table written as numbered Parquet shards in ``folder`` (read back as one table by
    :func:`pandas.read_parquet`), one per batch; every shard takes the first one's schema."""

    def __init__(self, folder: Path):
        if folder.exists():  # left by an interrupted attempt of this run
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        self.folder = folder
        self.starts: list[int] = []
        self.rows = 0
        self._schema = None

    def write(self, table: pd.DataFrame) -> None:
        self._write(len(self.starts), table)
        self.starts.append(self.rows)
        self.rows += len(table)

    def read(self, i: int) -> pd.DataFrame:
        import pyarrow.parquet as pq

        return pq.read_table(self.folder / SHARD.format(i)).to_pandas()

    def rewrite(self, i: int, table: pd.DataFrame) -> None:
        self._write(i, table)

    def _write(self, i: int, table: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrow = pa.Table.from_pandas(table, preserve_index=False)
        if self._schema is None:
            self._schema = arrow.schema
        elif arrow.schema != self._schema:
            try:
                arrow = arrow.cast(self._schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
                pass  # a column whose type changed between batches keeps its own type
        path = self.folder / SHARD.format(i)
        temporary = path.with_suffix(".tmp")
        pq.write_table(arrow, temporary)
        temporary.replace(path)


@dataclass
class RankOutcome:
    """The ranking: the global row numbers of the ranked candidates, best first, and the rank rule
    that skipped each other accepted row (sorted by row)."""

    order: np.ndarray
    skipped_rows: np.ndarray
    skipped_reasons: np.ndarray


class RunningRanking:
    """The ranking of ``[rank]`` over candidates that arrive batch by batch.

    It keeps each accepted row's number, formula and sort key (not the row). With ``keep`` and no
    ``min_distance`` it prunes as it goes, exactly: once ``keep`` rows are kept, a row sorted below
    the last of them stays below it whatever comes later (more rows only raise that bar, and the
    per-element-set rule only ever skips more), so it is set aside as 'below the top'. With
    ``min_distance`` a later candidate can crowd out a kept one and let a skipped one back in, so
    every accepted row is kept until the end (a few dozen bytes each). Ties keep the candidates'
    order, as a stable sort of the whole table would."""

    def __init__(self, rank: RankSection | None):
        self.rank = rank
        self.frame = pd.DataFrame({"row": np.empty(0, dtype=np.int64)})
        self._below: list[np.ndarray] = []
        self._prunes = rank is not None and rank.keep is not None and rank.min_distance is None

    def add(self, table: pd.DataFrame, start: int) -> None:
        accepted = (table["rejected_by"] == "").to_numpy()
        part = pd.DataFrame({"row": start + np.flatnonzero(accepted)})
        if self.rank:
            part["formula"] = table["formula"].to_numpy()[accepted]
            part["score"] = table[self.rank.by][accepted].reset_index(drop=True)
            if self.rank.max_per_element_set is not None and self.rank.min_distance is None:
                part["elements"] = _element_sets(part["formula"])
        self.frame = part if not len(self.frame) else pd.concat([self.frame, part], ignore_index=True)
        if self._prunes and len(self.frame) > 2 * self.rank.keep:
            ordered, reasons = self._walk()
            below = reasons == self._below_reason
            self._below.append(np.sort(ordered["row"].to_numpy()[below]))
            self.frame = self.frame[~self.frame["row"].isin(ordered["row"].to_numpy()[below])].reset_index(drop=True)

    def finish(self) -> RankOutcome:
        if not self.rank:
            return RankOutcome(self.frame["row"].to_numpy(), np.empty(0, dtype=np.int64), np.empty(0, dtype=object))
        ordered, reasons = self._walk()
        rows = ordered["row"].to_numpy()
        skipped = reasons != ""
        below = np.concatenate(self._below) if self._below else np.empty(0, dtype=np.int64)
        skipped_rows = np.concatenate([rows[skipped], below])
        skipped_reasons = np.concatenate([reasons[skipped], np.full(len(below), self._below_reason, dtype=object)])
        by_row = np.argsort(skipped_rows, kind="stable")
        return RankOutcome(rows[~skipped], skipped_rows[by_row], skipped_reasons[by_row])

    @property
    def _below_reason(self) -> str:
        return f"rank: below the top {self.rank.keep}"

    def _walk(self) -> tuple[pd.DataFrame, np.ndarray]:
        """The kept rows sorted as ``[rank]`` asks, and for each the rule that skips it ('' if kept)."""
        rank = self.rank
        ordered = self.frame.sort_values("score", ascending=not rank.descending, kind="mergesort",
                                         na_position="last").reset_index(drop=True)
        if rank.min_distance is not None:
            return ordered, crowded(ordered, rank.max_per_element_set, rank.min_distance, limit=rank.keep)
        reasons = np.full(len(ordered), "", dtype=object)
        if rank.max_per_element_set is not None:
            crowd = ordered.groupby("elements", sort=False).cumcount().to_numpy() >= rank.max_per_element_set
            reasons[crowd] = f"rank: more than {rank.max_per_element_set} per element set"
        kept = np.flatnonzero(reasons == "")
        if rank.keep is not None and len(kept) > rank.keep:
            reasons[kept[rank.keep]:] = self._below_reason
        return ordered, reasons


def _element_sets(formulas: pd.Series) -> np.ndarray:
    """Each formula's set of elements, as bytes (one bit per element)."""
    from ..chem import Compositions

    if not len(formulas):
        return np.empty(0, dtype=object)
    present = np.packbits(Compositions.from_formulas(formulas.astype(str).tolist()).fractions > 0, axis=1)
    return np.array([row.tobytes() for row in present], dtype=object)


class Screened:
    """Batches screened and written as shards, waiting for :meth:`finish`: the counts per filter,
    the rows screened, how many were alive before the first filter and after the last."""

    def __init__(self, shards: CandidateShards, ranking: RunningRanking, counts: FilterCounts, alive: int, passed: int):
        self.shards, self.ranking = shards, ranking
        self.filters = counts.as_dict()
        self.rows, self.alive, self.passed = shards.rows, alive, passed

    def finish(self, csv_path: Path | None) -> pd.DataFrame:
        """The ranked accepted rows, numbered from 1. One pass over the shards marks the rows the
        ranking skipped (``rejected_by`` = its rule), writes the CSV copy and gathers the ranked rows."""
        outcome = self.ranking.finish()
        order = np.argsort(outcome.order, kind="stable")
        ranked_rows = outcome.order[order]
        pieces, positions = [], []
        temporary = csv_path.with_name(csv_path.name + ".tmp") if csv_path else None
        for i, start in enumerate(self.shards.starts):
            table = self.shards.read(i)
            end = start + len(table)
            lo, hi = np.searchsorted(outcome.skipped_rows, [start, end])
            if hi > lo:
                table.loc[outcome.skipped_rows[lo:hi] - start, "rejected_by"] = outcome.skipped_reasons[lo:hi]
                self.shards.rewrite(i, table)
            lo, hi = np.searchsorted(ranked_rows, [start, end])
            pieces.append(table.loc[ranked_rows[lo:hi] - start])
            positions.append(order[lo:hi])
            if temporary:
                table.to_csv(temporary, index=False, mode="w" if i == 0 else "a", header=i == 0)
        if temporary:
            temporary.replace(csv_path)
        accepted = pd.concat(pieces, ignore_index=True)
        accepted = accepted.iloc[np.argsort(np.concatenate(positions), kind="stable")]
        accepted = accepted.drop(columns=["rejected_by"]).reset_index(drop=True)
        accepted.insert(0, "rank", np.arange(1, len(accepted) + 1))
        return accepted


def stream(job: BatchScreen, batches: Iterable[SampleBatch | TableBatch], run_batches: Callable,
           *, shards_folder: Path, rank: RankSection | None,
           progress: Callable[[int], None] | None = None) -> Screened:
    """Screen ``batches`` with ``job`` through ``run_batches`` (an executor's ``map``: results in
    batch order), completing the across-batch filters, adding up the counts, writing each batch as
    a shard of ``shards_folder`` and feeding the running ranking; ``progress`` gets the rows so far."""
    across = [FirstOccurrence(i, s.label, ACROSS_BATCHES[s.name], job.predict_before > i)
              for i, s in enumerate(job.filters) if s.name in ACROSS_BATCHES]
    counts = FilterCounts([s.label for s in job.filters])
    shards = CandidateShards(shards_folder)
    ranking = RunningRanking(rank)
    alive = passed = 0
    for result in run_batches(job, batches):
        result.stopped_at = np.array(result.stopped_at)  # writable (Ray hands back read-only arrays)
        for completion in across:
            completion.apply(result)
        counts.add(result.stopped_at)
        alive += int((result.stopped_at >= 0).sum())
        passed += int((result.stopped_at == len(job.filters)).sum())
        ranking.add(result.table, shards.rows)
        shards.write(result.table)
        if progress:
            progress(shards.rows)
    if not shards.starts:  # no batch at all: an empty table with the candidates' columns
        raise UserError("there are no candidates to screen", hint="give a candidate file with at least one row")
    return Screened(shards, ranking, counts, alive, passed)
