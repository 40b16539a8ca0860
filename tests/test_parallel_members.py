"""Ensemble members as tasks on the run's executor (``sc_toolkit.map_tasks``): a LightGBM ensemble and
an alpha2F, a ``sodnet`` and an ``mlp`` ensemble trained as Ray tasks (a local Ray on 127.0.0.1, shared by the module) predict
exactly what they predict trained in this process for the same seed; a member whose task raises once
is run again with the same result; a run makes its executor once, for every step, and closes it
even when a step fails; outside a run, ``task_executor`` gives the pieces an executor; without Ray,
asking for it gives one line saying how to install it. In a run on Ray, the processes of a
data-parallel training (``processes`` = 2) start as Ray tasks and train to the loss curve of one
process; a process that fails there stops the training with its error."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from sc_toolkit import data_parallel, load_registry, map_tasks, superconductor_class, task_executor
from sc_toolkit.errors import StepError, UserError
from sc_toolkit.recipe import RunSection
from sc_toolkit.run.context import RunContext
from sc_toolkit.run.directory import LOG, RunDir
from sc_toolkit.run.executors import UV_RUN_ENV, RayExecutor, executor_for, require_ray

REGISTRY = load_registry()
LIGHTGBM = REGISTRY.get("predictor", "lightgbm")
#: Three members of 40 trees, one thread each: a second's training.
SMALL = dict(n_estimators=40, n_models=3, n_jobs=1, random_state=3)
#: SuperCon3D structures for the alpha2F members (the plugin's own tests use the same kind).
CIFS = ["671985.cif", "652507.cif", "53035.cif", "104763.cif", "82339.cif", "635423.cif"]


def run_on(tmp_path: Path, executor) -> RunContext:
    """A run whose executor is ``executor`` (a factory of the run)."""
    tmp_path.mkdir(exist_ok=True)
    return RunContext(RunDir(tmp_path), seed=0, quick=True, executor=executor, console=Console(file=io.StringIO()))


@pytest.fixture(scope="module")
def tc_table(supercon_slice):
    """Magpie features and Tc of 400 real SuperCon superconductors."""
    table = supercon_slice[supercon_slice["tc"] > 0].head(400).reset_index(drop=True)
    return REGISTRY.get("encoder", "magpie")().encode(table), table["tc"].to_numpy(dtype=float)


class FailsOnce(LIGHTGBM):
    """LightGBM whose member 1 raises the first time it is trained (a marker file remembers)."""

    markers: Path

    def _fit_member(self, member, data, run=None):
        marker = self.markers / f"member-{member.spawn_key[-1]}"
        if member.spawn_key[-1] == 1 and not marker.exists():
            marker.touch()
            raise RuntimeError("a worker's disk is full")
        return super()._fit_member(member, data, run)


def test_lightgbm_members_on_ray_are_the_local_members_and_a_failed_one_is_retried(local_ray, tc_table, tmp_path):
    X, y = tc_table
    here = run_on(tmp_path / "local", None)
    local = LIGHTGBM(**SMALL).fit(X, y, run=here)
    here.close()
    flaky = FailsOnce(**SMALL)
    flaky.markers = tmp_path
    run = run_on(tmp_path / "ray", lambda run: RayExecutor())
    flaky.fit(X, y, run=run)
    assert (tmp_path / "member-1").exists(), "the failure happened"
    mean, std = flaky.predict(X, return_std=True)
    expected_mean, expected_std = local.predict(X, return_std=True)
    assert np.array_equal(mean, expected_mean) and np.array_equal(std, expected_std)
    assert np.array_equal(flaky.feature_importances_, local.feature_importances_)
    assert "training lightgbm 3/3" in (tmp_path / "ray" / LOG).read_text()  # progress in the run's log
    run.close()
    assert local_ray.is_initialized(), "a Ray the executor did not start is left running"


@pytest.mark.slow  # about 20 s: two Ray workers import torch and e3nn
def test_alpha2f_and_sodnet_members_on_ray_are_the_local_members(local_ray, data_dir, tmp_path):
    torch = pytest.importorskip("torch")
    from sctk_crystal.graphs import CrystalGraph, structures_of

    from sc_toolkit.data import load

    table = load("supercon3d").table.set_index("cif_file").loc[CIFS].reset_index()
    graphs = CrystalGraph(cutoff=5.0, max_neighbors=12, n_basis=8).encode(structures_of(table))
    tiny = dict(layers=2, scalars=8, vectors=4, tensors=2, heads=2, radial_hidden=16, batch_size=4, device="cpu",
                epochs=2, n_models=2, patience_stages=(2, 2, 2), seed=1)
    ensemble = REGISTRY.get("predictor", "alpha2f-ensemble")
    sodnet = REGISTRY.get("predictor", "sodnet")
    sodnet_tiny = {k: v for k, v in tiny.items() if k not in ("radial_hidden", "patience_stages")}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as a Ray task of one CPU: the same sums in the same order
    try:
        local = ensemble(**tiny).fit(graphs, table["tc"].to_numpy())
        local_sodnet = sodnet(**sodnet_tiny).fit(graphs, table["tc"].to_numpy())
    finally:
        torch.set_num_threads(threads)
    run = run_on(tmp_path, lambda run: RayExecutor())
    on_ray = ensemble(**tiny).fit(graphs, table["tc"].to_numpy(), run=run)
    sodnet_on_ray = sodnet(**sodnet_tiny).fit(graphs, table["tc"].to_numpy(), run=run)
    run.close()
    assert np.array_equal(on_ray.predict_spectrum(graphs)[0], local.predict_spectrum(graphs)[0])
    assert [list(v) for v in on_ray.valid_rows_] == [list(v) for v in local.valid_rows_]
    assert on_ray.histories_ == local.histories_
    for a, b in zip(sodnet_on_ray.predict(graphs, return_std=True), local_sodnet.predict(graphs, return_std=True)):
        assert np.array_equal(a, b)
    assert sodnet_on_ray.histories_ == local_sodnet.histories_
    log = (tmp_path / LOG).read_text()
    assert "alpha2f member 0:" in log and "alpha2f member 1:" in log  # a line per member
    assert "sodnet member 0:" in log and "sodnet member 1:" in log


def test_data_parallel_processes_of_a_run_on_ray_start_as_ray_tasks(local_ray, supercon_slice, tmp_path):
    torch = pytest.importorskip("torch")
    wgan = REGISTRY.get("generator", "wgan-gp")
    table = supercon_slice[supercon_slice["tc"] > 0]
    formulas = table[superconductor_class(table) == "cuprate"]["formula"].iloc[:128].tolist()
    cuprates = REGISTRY.get("encoder", "scgan-onehot")().fit(formulas).encode(formulas)
    small = dict(epochs=3, batch_size=64, noise_dim=16, hidden=[32], output="adjusted-onehot", critic_steps=2,
                 device="cpu", seed=7)
    one = wgan(**small).fit(cuprates)
    run = run_on(tmp_path, lambda run: RayExecutor())
    two = wgan(**small, processes=2).fit(cuprates, run=run)
    assert "wgan-gp: 2 training processes, rank 0 here, the others started as Ray tasks" in (tmp_path / LOG).read_text()
    for column in one.history_[0]:  # the tolerance of the data-parallel tests: 1e-4 of a curve's scale
        a, b = (np.array([row[column] for row in model.history_]) for model in (one, two))
        assert np.abs(a - b).max() <= 1e-4 * np.abs(a).max(), column
    for a, b in zip(one.generator_.state_dict().values(), two.generator_.state_dict().values()):
        assert torch.allclose(a, b, rtol=0, atol=1e-4)
    run.close()


def fails_in_rank_1(X, y, run, shard):
    """A training whose rank 1 fails while rank 0 waits for it in a collective."""
    import torch

    if shard.rank == 1:
        raise RuntimeError("rank 1 ran out of memory")
    shard.average(torch.zeros(1))


def test_a_failed_ray_training_process_stops_the_training_with_its_error(local_ray, tmp_path):
    pytest.importorskip("torch")
    run = run_on(tmp_path, lambda run: RayExecutor())
    with pytest.raises(StepError, match="a training process failed: .*rank 1 ran out of memory"):
        data_parallel("test", fails_in_rank_1, None, None, run, 2, "cpu")
    run.close()


def test_mlp_members_on_ray_are_the_local_members(local_ray, tc_table, tmp_path):
    pytest.importorskip("torch")
    mlp = REGISTRY.get("predictor", "mlp")
    tiny = dict(n_models=2, epochs=3, hidden=[16], device="cpu")
    local = mlp(**tiny).fit(*tc_table)
    on_ray = mlp(**tiny).fit(*tc_table, run=run_on(tmp_path, lambda run: RayExecutor()))
    X = tc_table[0]
    for a, b in zip(local.predict(X, return_std=True), on_ray.predict(X, return_std=True)):
        assert np.array_equal(a, b)


class CountingExecutor:
    """Stands in for an executor: counts how often it is made and closed."""

    made = closed = 0

    def __init__(self, run):
        CountingExecutor.made += 1
        self.run = run

    def map_tasks(self, function, items, *, shared=None, cpus=1, gpus=0):
        return (function(item, shared, run=self.run) for item in items)

    def close(self):
        CountingExecutor.closed += 1

    def describe(self):
        return "counting"


def test_a_run_makes_its_executor_once_and_closes_it_when_a_step_fails(monkeypatch, data_dir, tmp_path):
    import sc_toolkit.run.runner as runner
    from sc_toolkit.run.api import plan_recipe

    def data(self):  # two components using the executor, then a failure
        for _ in range(2):
            assert list(map_tasks(self.run, lambda item, shared, run=None: item + shared, [1, 2], shared=10)) == [11, 12]
        raise RuntimeError("a step failed")

    monkeypatch.setattr(runner, "executor_for", lambda section, run: CountingExecutor(run))
    monkeypatch.setattr(runner.Runner, "data", data)
    plan = plan_recipe(Path(__file__).parents[1] / "recipes" / "cuprate_gan.toml", {"run.output_dir": str(tmp_path)},
                       quick=True)
    with pytest.raises(RuntimeError):
        runner.execute(plan, load_registry(), runner.start_run(plan, ""))
    assert (CountingExecutor.made, CountingExecutor.closed) == (1, 1)


def interpreter(item, shared, run=None):
    return sys.executable


def test_ray_workers_run_in_this_python_environment(local_ray, monkeypatch):
    """Under `uv run` (`uv run pytest`, `uv run sctk run ...`) Ray would ship a copy of the working
    directory to its workers and start each through `uv run` in a new environment made there (a
    minute a worker on 2 cores); sc-toolkit turns that off unless the user turns it on."""
    executor = RayExecutor()
    assert set(executor.map_tasks(interpreter, range(2))) == {sys.executable}
    executor.close()
    monkeypatch.delenv(UV_RUN_ENV, raising=False)
    require_ray()
    assert os.environ[UV_RUN_ENV] == "0"
    monkeypatch.setenv(UV_RUN_ENV, "1")
    require_ray()
    assert os.environ[UV_RUN_ENV] == "1", "the user's choice is kept"


def test_without_a_run_the_pieces_run_here_in_order():
    piece = lambda item, shared, run=None: (item, shared, run)  # noqa: E731
    assert list(map_tasks(None, piece, "ab", shared=1)) == [("a", 1, None), ("b", 1, None)]
    with task_executor("local") as tasks:  # outside a run (a benchmark's folds)
        assert list(map_tasks(tasks, piece, "ab", shared=1)) == [("a", 1, None), ("b", 1, None)]
        assert tasks.checkpoint_dir("x").is_dir()
    assert not tasks.folder.exists()
    with pytest.raises(UserError, match="unknown executor 'dask'"):
        with task_executor("dask"):
            pass


def test_a_run_asking_for_ray_without_ray_gets_one_line(monkeypatch, tc_table, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)
    run = run_on(tmp_path, lambda run: executor_for(RunSection(name="x", executor="ray"), run))
    with pytest.raises(UserError) as info:
        LIGHTGBM(**SMALL).fit(*tc_table, run=run)
    assert "needs Ray, which is not installed" in str(info.value) and "\n" not in str(info.value)
    assert 'pip install "sc-toolkit[ray]"' in info.value.hint
    run.close()
