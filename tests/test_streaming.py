"""Streaming screening: any batch size gives the candidate table, the counts per filter and the
ranking of one pass over all the candidates (today's in-memory screening); a space larger than the
memory it is screened in. The Ray executor, on a local Ray bound to 127.0.0.1 (started once for the
module): the same table, counts and ranking as the in-process executor, a batch whose worker fails or
dies is retried and counted once, and a recipe asking for Ray without Ray installed gets one line
saying what to do."""

import os
import sys
import tomllib
import tracemalloc
from importlib.util import find_spec
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sctk_composition.filters import Novel, Threshold, Unique

from sc_toolkit.errors import UserError
from sc_toolkit.recipe import RankSection, RunSection
from sc_toolkit.run.executors import LocalExecutor, RayExecutor, executor_for
from sc_toolkit.run.predict import Extras
from sc_toolkit.run.screening import space_candidates
from sc_toolkit.run.space import space_formulas
from sc_toolkit.run.streaming import BatchScreen, FilterStage, TableBatch, stream
from sc_toolkit.run.tables import formula_rows, ranked


class Score:
    """A stand-in predictor: a deterministic score per composition, with many ties."""

    name = "score"
    extras = Extras()

    def predict_into(self, table, rows):
        keys = table["composition_key"].astype(str)
        table["score_pred"] = np.nan
        table.loc[rows, "score_pred"] = keys[rows].map(lambda k: float(sum(map(ord, k)) % 23)).to_numpy()


def candidates(n=700, seed=0) -> pd.DataFrame:
    """Rows drawn with repeats from a small composition space (so 'unique' has work in every batch)."""
    space = list(space_formulas(["Y", "Ba", "Cu", "O", "Sr"], 3, 2, 4))
    formulas = np.random.default_rng(seed).choice(space, n)
    table, _ = formula_rows(pd.DataFrame({"formula": formulas}), Path("test"), where="test")
    table["n_elements"] = table["formula"].str.count("[A-Z]")
    table["rejected_by"] = ""
    return table


def job(predict_last: bool) -> BatchScreen:
    reference = formula_rows(pd.DataFrame({"formula": ["YBa2Cu3O7", "Sr1Cu1O2", "Y1O1"]}), Path("t"), where="t")[0]
    stages = [FilterStage("small", "threshold", "filters.0", Threshold(column="n_elements", le=3)),
              FilterStage("unique", "unique", "filters.1", Unique()),
              FilterStage("novel", "novel", "filters.2", Novel().fit(reference))]
    if not predict_last:
        stages.append(FilterStage("high", "threshold", "filters.3", Threshold(column="score_pred", ge=5.0)))
    return BatchScreen(stages, [Score()], predict_before=len(stages) if predict_last else 3)


def streamed(tmp_path, table, screen, rank, batch_size):
    folder = tmp_path / f"shards-{batch_size}"
    batches = (TableBatch(i, table.iloc[s:s + batch_size].reset_index(drop=True))
               for i, s in enumerate(range(0, len(table), batch_size)))
    screened = stream(screen, batches, LocalExecutor().map, shards_folder=folder, rank=rank)
    accepted = screened.finish(tmp_path / f"candidates-{batch_size}.csv")
    return pd.read_parquet(folder), accepted, screened.filters


RANKS = {
    "none": None,
    "both rules": RankSection(by="score_pred", max_per_element_set=2, min_distance=0.1),
    "per set, keep 6": RankSection(by="score_pred", max_per_element_set=2, keep=6),
    "distance, keep 6": RankSection(by="score_pred", min_distance=0.1, keep=6),
    "ascending, keep 6": RankSection(by="score_pred", descending=False, keep=6),
}


@pytest.mark.parametrize("predict_last", [False, True], ids=["predict before a filter", "predict after the filters"])
@pytest.mark.parametrize("rank", RANKS.values(), ids=RANKS.keys())
def test_batches_give_the_table_counts_and_ranking_of_one_pass(tmp_path, rank, predict_last):
    table, screen = candidates(), job(predict_last)
    whole, whole_accepted, whole_counts = streamed(tmp_path, table, screen, rank, batch_size=len(table))
    batched, accepted, counts = streamed(tmp_path, table, screen, rank, batch_size=37)
    assert counts == whole_counts and counts["unique"]["kept"] < counts["unique"]["in"]
    assert_frame_equal(accepted, whole_accepted)
    assert_frame_equal(batched, whole)
    assert (tmp_path / "candidates-37.csv").read_text() == (tmp_path / f"candidates-{len(table)}.csv").read_text()
    repeated = batched["rejected_by"] == "unique"
    assert batched.loc[repeated, "score_pred"].isna().all(), "a repeat rejected across batches keeps no prediction"

    one_pass = screen.screen(0, table.copy()).table  # the in-memory screening of everything at once
    if rank is None or rank.keep is None:
        expected = ranked(one_pass, SimpleNamespace(rank=rank))
        assert_frame_equal(accepted, expected)
        assert_frame_equal(batched, one_pass)
    else:
        unlimited = rank.model_copy(update={"keep": None})
        expected = ranked(one_pass, SimpleNamespace(rank=unlimited)).head(rank.keep)
        assert_frame_equal(accepted, expected)
        assert (batched["rejected_by"] == f"rank: below the top {rank.keep}").any()


def test_a_space_larger_than_the_memory_it_is_screened_in(tmp_path):
    known = formula_rows(pd.DataFrame({"formula": ["Y1Ba2Cu3O4", "Hg1Ba2Cu1O4"]}), Path("t"), where="t")[0]
    screen = BatchScreen([FilterStage("novel", "novel", "filters.0", Novel().fit(known))], [], predict_before=1)
    elements = ["Y", "Ba", "Cu", "O", "Sr", "Ca", "La", "Hg"]
    stream(screen, space_candidates(space_formulas(elements[:3], 2), 1_000).batches, LocalExecutor().map,
           shards_folder=tmp_path / "warm-up", rank=None).finish(None)  # the lazy imports and element tables
    tracemalloc.start()
    screened = stream(screen, space_candidates(space_formulas(elements, 4, 1, 4), 1_000).batches,
                      LocalExecutor().map, shards_folder=tmp_path / "shards",
                      rank=RankSection(by="composition_key", keep=10))
    accepted = screened.finish(None)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    table = pd.read_parquet(tmp_path / "shards")
    assert screened.rows == len(table) > 15_000 and len(accepted) == 10
    assert peak < table.memory_usage(deep=True).sum() / 2, "the screening held the whole table in memory"
    assert screened.filters["novel"] == {"in": len(table), "kept": len(table) - 2}
    assert list(accepted["composition_key"]) == sorted(table["composition_key"], reverse=True)[:10]


# -- the Ray executor ------------------------------------------------------------------------------

RECIPE = Path(__file__).parents[1] / "recipes" / "cuprate_gan.toml"
RANK = RankSection(by="score_pred", max_per_element_set=2, min_distance=0.1)


class FailsOnce:
    """A screening job whose batch 1 raises once and whose batch 2 kills its worker once."""

    def __init__(self, screen, markers: Path):
        self.screen, self.markers = screen, markers

    def __call__(self, batch, run=None):
        marker = self.markers / f"batch-{batch.index}"
        if batch.index in (1, 2) and not marker.exists():
            marker.touch()
            if batch.index == 1:
                raise RuntimeError("a worker's disk is full")
            os._exit(1)
        return self.screen(batch, run)

    @property
    def filters(self):
        return self.screen.filters

    @property
    def predict_before(self):
        return self.screen.predict_before


def on_executor(tmp_path, name, screen, run_batches, batch_size=50):
    table = candidates()
    batches = [TableBatch(i, table.iloc[s:s + batch_size].reset_index(drop=True))
               for i, s in enumerate(range(0, len(table), batch_size))]
    result = stream(screen, batches, run_batches, shards_folder=tmp_path / name, rank=RANK)
    accepted = result.finish(None)
    return pd.read_parquet(tmp_path / name), accepted, result.filters


def test_ray_tasks_give_what_the_local_executor_gives_and_retry_a_failed_batch(local_ray, tmp_path):
    screen = job(predict_last=True)
    expected = on_executor(tmp_path, "local", screen, LocalExecutor().map)
    executor = RayExecutor()
    flaky = FailsOnce(screen, tmp_path)
    table, accepted, counts = on_executor(tmp_path, "ray", flaky, executor.map)
    assert (tmp_path / "batch-1").exists() and (tmp_path / "batch-2").exists(), "both failures happened"
    assert counts == expected[2]
    assert_frame_equal(accepted, expected[1])
    assert_frame_equal(table, expected[0])  # every row once: none lost, none twice
    executor.close()
    assert local_ray.is_initialized(), "a Ray the executor did not start is left running"


@pytest.mark.slow
def test_quick_recipe_on_ray_matches_the_local_executor(local_ray, tmp_path, data_dir):
    from sc_toolkit import run_recipe

    raw = tomllib.loads(RECIPE.read_text())
    small = {"quick.n_samples": 600, "quick.rows": 500, "generator.params.epochs": 2, "run.batch_size": 150}
    runs = {}
    for executor in ("local", "ray"):
        settings = small | {"run.executor": executor, "run.output_dir": str(tmp_path / executor)}
        runs[executor] = run_recipe(raw, settings, quick=True)
    local, ray = runs["local"], runs["ray"]
    assert "as Ray tasks on the Ray cluster (2 CPUs)" in (ray.path / "run.log").read_text()
    assert_frame_equal(ray.candidates, local.candidates)
    assert_frame_equal(ray.all_candidates, local.all_candidates)
    assert ray.metrics["generation"] == local.metrics["generation"]
    assert len(local.all_candidates) == 600 and local.all_candidates["rejected_by"].nunique() > 1
    batches = list(local.candidate_batches(["formula", "rejected_by"], rows=100))  # shards of 150 rows
    assert max(map(len, batches)) <= 100 and list(batches[0].columns) == ["formula", "rejected_by"]
    assert_frame_equal(pd.concat(batches, ignore_index=True), local.all_candidates[["formula", "rejected_by"]])


def test_a_recipe_asking_for_ray_without_ray_gets_one_line(monkeypatch):
    import sc_toolkit.plan
    from sc_toolkit.errors import RecipeError
    from sc_toolkit.registry import default_registry

    monkeypatch.setattr(sc_toolkit.plan, "find_spec", lambda name: None if name == "ray" else find_spec(name))
    raw = tomllib.loads(RECIPE.read_text())
    raw["run"]["executor"] = "ray"
    with pytest.raises(RecipeError) as checked:  # at `sctk check`, before any training
        sc_toolkit.plan.make_plan(raw, default_registry())
    [problem] = [p for p in checked.value.problems if p.where == "run.executor"]
    assert 'pip install "sc-toolkit[ray]"' in problem.hint

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(UserError) as info:
        executor_for(RunSection(name="x", executor="ray"))
    error = info.value
    assert "needs Ray, which is not installed" in str(error) and "\n" not in str(error)
    assert 'pip install "sc-toolkit[ray]"' in error.hint and error.where == "run.executor"
