"""Fault injection: Ctrl-C during training and during a save, a full disk or a permission error
while saving, a read-only output folder, a modified dataset. Each case checks the exit code, the
one-line message, and that nothing already computed is lost or trusted wrongly."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sc_toolkit.registry import default_registry
from sc_toolkit.run.directory import LOG, MANIFEST, PREDICTORS, RunDir

ROOT = Path(__file__).parents[1]
SUPERCON_TC = ROOT / "recipes" / "supercon_tc.toml"
SCTK = str(Path(sys.executable).parent / "sctk")
QUICK = ["--quick", "--set", "quick.rows=300"]

#: Two small predictors on 300 SuperCon rows: the first is saved before the second can fail.
SMALL_RECIPE = """
[run]
name = "faults"
[data]
dataset = "supercon"
[[predictors]]
name = "tc"
use = "lightgbm"
encoder = { use = "magpie" }
[[predictors]]
name = "above_10k"
use = "lightgbm"
threshold = 10.0
encoder = { use = "magpie" }
params = { task = "classification" }
[quick]
rows = 300
"""




def digest(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def only_run(output_dir: Path) -> RunDir:
    [path] = output_dir.iterdir()
    return RunDir(path)


def assert_nothing_half_written(run_dir: RunDir) -> None:
    leftovers = [p for p in run_dir.path.rglob("*") if p.name.endswith((".partial", ".tmp"))]
    assert not leftovers, leftovers


# -- Ctrl-C during training ------------------------------------------------------------------------

def test_ctrl_c_during_training_exits_130_keeps_what_was_fitted_and_resume_finishes(sctk_here, 
        tmp_path, data_dir, monkeypatch, capsys):
    out = tmp_path / "runs"
    process = subprocess.Popen(
        [SCTK, "run", SUPERCON_TC, *QUICK, "--set", f'run.output_dir="{out}"'], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
    deadline = time.monotonic() + 120
    log = None
    while time.monotonic() < deadline and process.poll() is None:
        logs = list(out.glob(f"*/{LOG}"))
        if logs and "start fit above_10k" in logs[0].read_text():
            log = logs[0]
            break
        time.sleep(0.05)
    assert log is not None, process.communicate()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    run_dir = RunDir(log.parent)

    assert process.returncode == 130
    assert f"interrupted; the run directory {run_dir.path} keeps what was computed" in err
    assert f"`sctk resume {run_dir.path}`" in err
    assert "failed: KeyboardInterrupt" in log.read_text()
    assert not run_dir.is_finished
    assert_nothing_half_written(run_dir)
    finished = [name for name in ("tc", "above_10k", "superconductor") if f"end fit {name}: done" in log.read_text()]
    assert "tc" in finished
    for name in ("tc", "above_10k", "superconductor"):  # saved whole exactly when its step ended
        assert run_dir.has_component(f"{PREDICTORS}/{name}/predictor") == (name in finished)
    kept = digest(run_dir.path / PREDICTORS / "tc")

    code, _, err = sctk_here("resume", run_dir.path)
    assert code == 0, err
    assert run_dir.is_finished
    assert digest(run_dir.path / PREDICTORS / "tc") == kept
    assert "predictor tc loaded from a previous attempt" in log.read_text()


# -- a save that fails midway ----------------------------------------------------------------------

def failing_save(cls, fault: BaseException):
    """A ``_save_state`` that saves the first model whole and fails the second midway."""
    real = cls._save_state
    calls = []

    def save(self, directory: Path) -> None:
        calls.append(directory)
        if len(calls) == 1:
            return real(self, directory)
        (directory / "member-000.txt").write_text("half a mod")
        raise fault

    return save


FAULTS = {
    "disk full": (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "models/member-000.txt"), 1,
                  "No space left on device: models/member-000.txt"),
    "permission": (PermissionError(errno.EACCES, os.strerror(errno.EACCES), "models/member-000.txt"), 1,
                   "Permission denied: models/member-000.txt"),
    "ctrl-c": (KeyboardInterrupt(), 130, "interrupted; the run directory"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_save_that_fails_midway_leaves_nothing_resume_trusts(sctk_here, fault, tmp_path, data_dir, monkeypatch, capsys):
    error, exit_code, message = FAULTS[fault]
    recipe = tmp_path / "small.toml"
    recipe.write_text(SMALL_RECIPE)
    out = tmp_path / "runs"
    lightgbm = default_registry().get("predictor", "lightgbm")
    with monkeypatch.context() as patch:
        patch.setattr(lightgbm, "_save_state", failing_save(lightgbm, error))
        code, _, err = sctk_here("run", recipe, "--quick", "--set", f'run.output_dir="{out}"')
    run_dir = only_run(out)

    assert code == exit_code
    assert message in err and f"sctk resume {run_dir.path}" in err
    assert "unexpected" not in err and err.strip().splitlines()[-1].startswith(("error: ", "interrupted"))
    assert run_dir.has_component(f"{PREDICTORS}/tc/predictor")
    assert not run_dir.has_component(f"{PREDICTORS}/above_10k/predictor")
    assert run_dir.predictor_names() == ["tc"]
    assert_nothing_half_written(run_dir)
    kept = digest(run_dir.path / PREDICTORS / "tc")

    code, _, err = sctk_here("resume", run_dir.path)
    assert code == 0, err
    assert digest(run_dir.path / PREDICTORS / "tc") == kept
    assert run_dir.predictor_names() == ["above_10k", "tc"]
    code, out_text, err = sctk_here("predict", run_dir.path, "MgB2", "--output", tmp_path / "p.csv")
    assert code == 0, err
    assert "1 of 1 rows predicted" in err
    assert "above_10k_proba" in (tmp_path / "p.csv").read_text()


# -- a read-only output folder ---------------------------------------------------------------------

def test_a_read_only_output_folder_exits_2_before_any_step(sctk_here, tmp_path, data_dir, monkeypatch, capsys):
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    mkdir = Path.mkdir

    def refuse(self, *args, **kwargs):  # chmod does not stop root, so the refusal is patched in
        if self == read_only or read_only in self.parents:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    code, _, err = sctk_here("run", SUPERCON_TC, *QUICK, "--set", f'run.output_dir="{read_only}/runs"')
    assert code == 2
    assert f"run.output_dir: cannot create a run directory in {read_only}/runs: Permission denied" in err
    assert "hint: choose a writable folder" in err
    assert not list(read_only.iterdir())


# -- a modified dataset ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def modified_data(tmp_path_factory, data_dir) -> tuple[Path, str]:
    """A copy of the SuperCon folder with one Tc digit changed; (data folder, the file's sha256)."""
    root = tmp_path_factory.mktemp("data")
    shutil.copytree(data_dir / "supercon_stanev2018", root / "supercon_stanev2018")
    # the recipe's negatives (wide-gap-insulators) are read from JARVIS beside SuperCon
    (root / "jarvis_dft_3d").symlink_to(data_dir / "jarvis_dft_3d")
    path = root / "supercon_stanev2018" / "Supercon_data_by_2018_Stanev.csv"
    data = bytearray(path.read_bytes())
    at = data.index(b"\n", 1000) - 1  # the last character of a line: a digit of its Tc
    data[at] = ord("7") if data[at] != ord("7") else ord("3")
    path.write_bytes(bytes(data))
    return root, hashlib.sha256(bytes(data)).hexdigest()


def test_a_modified_dataset_stops_the_run_unless_allowed_and_is_recorded(sctk_here, 
        modified_data, tmp_path, monkeypatch, capsys):
    root, actual = modified_data
    monkeypatch.setenv("SCTK_DATA_DIR", str(root))
    monkeypatch.setenv("SCTK_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "runs"
    args = ["run", SUPERCON_TC, *QUICK, "--set", f'run.output_dir="{out}"']

    code, _, err = sctk_here(*args)
    assert code == 2
    assert "Supercon_data_by_2018_Stanev.csv was modified" in err and "--allow-modified-data" in err
    assert not out.exists()  # refused before a run directory was created

    code, _, err = sctk_here(*args, "--allow-modified-data")
    assert code == 0, err
    manifest = json.loads((only_run(out).path / MANIFEST).read_text())
    dataset = manifest["provenance"]["dataset"]
    assert manifest["allow_modified_data"] is True
    assert dataset["modified"] == ["Supercon_data_by_2018_Stanev.csv"]
    assert dataset["files"]["Supercon_data_by_2018_Stanev.csv"] == actual
    assert manifest["plugin_failures"] == []
