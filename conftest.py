"""Shared test set-up: real data from ``SCTK_DATA_DIR`` (default ``../shared/data``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

# Idle OpenMP threads (LightGBM, torch) sleep instead of spinning, as under `sctk` (cli.main): on a
# busy 2-core machine spinning threads make a 100-tree LightGBM fit take minutes instead of a second.
# Set before any test imports those libraries, so that in-process runs get it too.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Under pytest-xdist (pyproject's `-n auto`) each worker is one process per core: one OpenMP / torch
# thread each, so that two workers on two cores do not fight over them.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).parent
DEFAULT_DATA_DIR = ROOT.parent / "shared" / "data"
os.environ.setdefault("SCTK_DATA_DIR", str(DEFAULT_DATA_DIR))
DATA_DIR = Path(os.environ["SCTK_DATA_DIR"])


# -- running the suite on several cores (pytest-xdist) ------------------------------------------------

#: Test modules that start a local Ray (fixture local_ray): run one after the other in one worker.
RAY_MODULES = {"test_streaming.py", "test_parallel_members.py"}
#: The group of the module that makes a shipped recipe's quick run for its own tests (the other
#: recipes' quick runs make a group each).
QUICK_RUN_GROUPS = {"cuprate_gan.toml": "tests/test_cli.py", "discover_structures.toml": "tests/test_structures_run.py"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject's addopts): one worker per core for the whole suite (`uv run pytest`), and
    no workers when the command names the tests to run (`pytest tests/test_cli.py`), where starting
    them would cost more than it saves. None: xdist's own count."""
    return None if config.args_source == pytest.Config.ArgsSource.TESTPATHS else 0


def xdist_group_of(nodeid: str) -> str:
    """The group of tests that one xdist worker runs together: the test's module, so that module
    fixtures are made once; one group for the modules that start Ray (one Ray at a time); a test
    parametrized by a shipped recipe (`[cuprate_vae.toml]`) with the other tests of that recipe's
    quick run (shipped_quick_run), so that they do not wait for each other's run."""
    module = nodeid.split("::")[0]
    if module.rsplit("/", 1)[-1] in RAY_MODULES:
        return "ray"
    recipe = re.fullmatch(r".*\[([\w-]+\.toml)\]", nodeid)
    if recipe and (RECIPES / recipe[1]).is_file():
        return QUICK_RUN_GROUPS.get(recipe[1], recipe[1])
    return module


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup` (pyproject's addopts) by xdist_group_of: each group whole to one worker, in the
    order of the collection. (xdist 3.8's own loadgroup reads the groups from test ids, which it can
    no longer extend under pytest 9.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group_of(nodeid)

    config.option.loadscopereorder = False  # keep the collection's order (pytest_collection_modifyitems)
    return ByGroup(config, log)


def pytest_collection_modifyitems(config, items):
    """Under xdist: the groups (xdist_group_of) holding end-to-end (`slow`) tests first, then the Ray
    modules, then the rest, so that no long group is left for the end while the other worker idles
    (the fast groups fill the end)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        slow = {xdist_group_of(item.nodeid) for item in items if item.get_closest_marker("slow")} - {"ray"}

        def order(item) -> int:
            group = xdist_group_of(item.nodeid)
            return 0 if group in slow else 1 if group == "ray" else 2

        items.sort(key=order)


def made_once(tmp_path_factory, name: str, make) -> Path:
    """The folder ``name`` that ``make(folder)`` fills, made once per test run: the first of this run's
    processes (pytest-xdist workers, or pytest alone) to ask makes it, the others wait for it and
    share it (copy it before changing anything). A ``make`` that fails raises in the process that
    ran it, and the next process to ask tries again."""
    import shutil

    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the folder of this run that holds every worker's own
    folder, done = root / name, root / f"{name}.done"
    with FileLock(root / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed try left
            folder.mkdir()
            make(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of real datasets; tests that need it are skipped when it is absent."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"no real data at {DATA_DIR}: set SCTK_DATA_DIR")
    return DATA_DIR


@pytest.fixture(scope="module")
def local_ray(request):
    """A local Ray with 2 CPUs that listens on 127.0.0.1 only, for the tests of one module, which
    its workers unpickle by value (they cannot import the tests); shut down after the module."""
    from sc_toolkit.errors import UserError
    from sc_toolkit.run.executors import LOOPBACK_ONLY, require_ray

    os.environ.setdefault(LOOPBACK_ONLY, "0")  # before Ray is imported
    try:
        ray = require_ray()  # as sctk imports it: the workers in this environment
    except UserError as missing:
        pytest.skip(str(missing))
    import cloudpickle  # installed with Ray

    cloudpickle.register_pickle_by_value(request.module)
    ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False)
    assert ray.util.get_node_ip_address() == "127.0.0.1"
    yield ray
    ray.shutdown()
    cloudpickle.unregister_pickle_by_value(request.module)


@pytest.fixture(scope="session")
def supercon_raw_table(data_dir: Path) -> pd.DataFrame:
    """Stanev 2018 SuperCon table as shipped (columns name, Tc)."""
    return pd.read_csv(data_dir / "supercon_stanev2018" / "Supercon_data_by_2018_Stanev.csv")


@pytest.fixture(scope="session")
def supercon_slice(supercon_raw_table: pd.DataFrame) -> pd.DataFrame:
    """2,000 real SuperCon rows (seeded sample) whose formulas parse, with columns formula, tc."""
    from sc_toolkit.chem import Compositions

    sample = supercon_raw_table.sample(2000, random_state=0)
    _, rejected = Compositions.parse(sample["name"])
    bad = {r.row for r in rejected}
    keep = [i not in bad for i in range(len(sample))]
    return sample[keep].rename(columns={"name": "formula", "Tc": "tc"}).reset_index(drop=True)


@pytest.fixture
def sctk_here(monkeypatch, capsys):
    """Run `sctk ARGS` in this process (so that writers can be patched): returns a function giving
    (exit code, stdout, stderr)."""
    import sys
    import warnings

    from sc_toolkit import cli

    def run(*args) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["sctk", *map(str, args)])
        monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main replaces it
        with pytest.raises(SystemExit) as stop:
            cli.main()
        captured = capsys.readouterr()
        return stop.value.code, captured.out, captured.err

    return run


RECIPES = ROOT / "recipes"


def sctk_in_process(*args) -> tuple[int, str, str]:
    """Run `sctk ARGS` in this process, sharing its loaded datasets: (exit code, stdout, stderr)."""
    import contextlib
    import io
    import sys
    import warnings

    from sc_toolkit import cli

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        patch.setattr(sys, "argv", ["sctk", *map(str, args)])
        patch.setattr(warnings, "showwarning", warnings.showwarning)  # main replaces it
        try:
            cli.main()
        except SystemExit as stop:
            code = stop.code
        else:
            code = 0
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="session")
def in_process_sctk():
    """sctk_in_process, for fixtures of any scope: ``in_process_sctk(*args)`` gives (exit code, stdout,
    stderr) of `sctk ARGS` run in this process."""
    return sctk_in_process


@pytest.fixture(scope="session")
def shipped_quick_run(tmp_path_factory, data_dir):
    """``shipped_quick_run(name)``: the run directory of `sctk run recipes/NAME --quick`, run once per
    test run however many tests (in however many xdist workers) ask for it (it is shared: copy it
    before changing anything).
    A run that fails fails each test that asks for it, with the command's output."""

    def make(name: str, out: Path) -> None:
        code, stdout, stderr = sctk_in_process("run", RECIPES / name, "--quick", "--set", f'run.output_dir="{out}"')
        assert code == 0, f"sctk run {name} --quick exited {code}:\n{stdout[-1500:]}\n{stderr[-1500:]}"

    def run(name: str) -> Path:
        out = made_once(tmp_path_factory, f"quick-{Path(name).stem}", lambda folder: make(name, folder))
        [run_dir] = out.iterdir()
        return run_dir

    return run


@pytest.fixture(scope="session")
def small_main_run(tmp_path_factory, data_dir) -> Path:
    """The main recipe (cuprate_gan) on a tiny slice: 400 training rows, a 20-epoch generator (with a
    quarter of the cuprates held out for the recovery metrics), 300 samples; its evaluation step
    without the embedding. Shared by the tests of evaluation, report and warm start: copy it before
    changing anything. Made once per test run (made_once)."""
    import sc_toolkit

    overrides = {"quick.rows": 400, "quick.n_samples": 300, "generator.params.epochs": 20, "generator.holdout": 0.25,
                 "evaluate.embedding": "none"}

    def make(out: Path) -> None:
        sc_toolkit.run_recipe(RECIPES / "cuprate_gan.toml", overrides | {"run.output_dir": str(out)}, quick=True)

    [run_dir] = made_once(tmp_path_factory, "small-main", make).iterdir()
    return run_dir
