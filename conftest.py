"""Shared test set-up: real data from ``SCTK_DATA_DIR`` (default ``../shared/data``)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

# Idle OpenMP threads (LightGBM, torch) sleep instead of spinning, as under `sctk` (cli.main): on a
# busy 2-core machine spinning threads make a 100-tree LightGBM fit take minutes instead of a second.
# Set before any test imports those libraries, so that in-process runs get it too.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).parent
DEFAULT_DATA_DIR = ROOT.parent / "shared" / "data"
os.environ.setdefault("SCTK_DATA_DIR", str(DEFAULT_DATA_DIR))
DATA_DIR = Path(os.environ["SCTK_DATA_DIR"])


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
    from sc_toolkit.run.executors import LOOPBACK_ONLY

    os.environ.setdefault(LOOPBACK_ONLY, "0")  # before Ray is imported
    ray = pytest.importorskip("ray")
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
def shipped_quick_run(tmp_path_factory, data_dir):
    """``shipped_quick_run(name)``: the run directory of `sctk run recipes/NAME --quick`, run once per
    test process however many tests ask for it (it is shared: copy it before changing anything).
    A run that fails fails each test that asks for it, with the command's output."""
    runs: dict[str, Path] = {}

    def run(name: str) -> Path:
        if name not in runs:
            out = tmp_path_factory.mktemp(f"quick-{Path(name).stem}")
            code, stdout, stderr = sctk_in_process("run", RECIPES / name, "--quick", "--set", f'run.output_dir="{out}"')
            assert code == 0, f"sctk run {name} --quick exited {code}:\n{stdout[-1500:]}\n{stderr[-1500:]}"
            [runs[name]] = out.iterdir()
        return runs[name]

    return run


@pytest.fixture(scope="session")
def small_main_run(tmp_path_factory, data_dir) -> Path:
    """The main recipe (cuprate_gan) on a tiny slice: 400 training rows, a 20-epoch generator (with a
    quarter of the cuprates held out for the recovery metrics), 300 samples; its evaluation step
    without the embedding. Shared by the tests of evaluation, report and warm start: copy it before
    changing anything."""
    import sc_toolkit

    overrides = {"run.output_dir": str(tmp_path_factory.mktemp("small-main")), "quick.rows": 400,
                 "quick.n_samples": 300, "generator.params.epochs": 20, "generator.holdout": 0.25,
                 "evaluate.embedding": "none"}
    return sc_toolkit.run_recipe(RECIPES / "cuprate_gan.toml", overrides, quick=True).path
