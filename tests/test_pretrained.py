"""Pretrained models shipped with the package: `sctk predict supercon-tc FORMULA...` and `sctk predict
formation-energy FORMULA...` work right after install, with no data and no training; each model
records its settings, data and file sha256."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sc_toolkit.pretrained import altered_files, pretrained_names, pretrained_path, pretrained_record

SCTK = str(Path(sys.executable).parent / "sctk")
#: Shipped files stay small: a few MB per model.
MAX_BYTES = 5_000_000


def no_data(tmp_path) -> dict[str, str]:
    """The environment of a fresh install: no dataset folder, an empty cache."""
    return {**os.environ, "SCTK_DATA_DIR": str(tmp_path / "no-data"), "SCTK_CACHE_DIR": str(tmp_path / "cache")}


def test_the_tc_and_formation_energy_models_are_shipped():
    assert {"supercon-tc", "formation-energy"} <= set(pretrained_names())
    assert pretrained_path("no-such-model") is None and pretrained_path("../pretrained") is None


@pytest.mark.parametrize("name", pretrained_names())
def test_each_model_is_small_versioned_and_unaltered(name):
    path, record = pretrained_path(name), pretrained_record(name)
    assert altered_files(name) == []
    assert sum((path / f).stat().st_size for f in record["files"]) < MAX_BYTES
    assert set(record["files"]) == {str(p.relative_to(path)) for p in path.rglob("*")
                                    if p.is_file() and p.name != "pretrained.json" and "__pycache__" not in p.parts}
    assert f"benchmarks/build_pretrained.py {name}" in record["build"] and record["sc_toolkit"]
    digests = [d for dataset in record["data"].values() for d in dataset["files"].values()]
    assert digests and all(len(d) == 64 for d in digests)
    for metrics in record["metrics"].values():  # hold-out metrics beside a trivial baseline
        assert "model" in metrics and any(key.startswith("baseline") for key in metrics)


def test_predict_supercon_tc_right_after_install(tmp_path):
    """A fresh process, no dataset and an empty cache: the shipped models predict at once."""
    out = tmp_path / "predictions.csv"
    done = subprocess.run([SCTK, "predict", "supercon-tc", "YBa2Cu3O7", "MgB2", "--output", out], cwd=tmp_path,
                          env=no_data(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out, keep_default_na=False).set_index("formula")
    assert list(table.index) == ["YBa2Cu3O7", "MgB2"] and (table["error"] == "").all()
    assert (table["tc_lo"] <= table["tc_pred"]).all() and (table["tc_pred"] <= table["tc_hi"]).all()
    for column in ("above_10k_proba", "superconductor_proba"):
        assert table[column].between(0, 1).all()
    assert table.loc["YBa2Cu3O7", "tc_pred"] > table.loc["MgB2", "tc_pred"]  # a cuprate above MgB2


def test_predict_formation_energy_right_after_install(tmp_path):
    """A fresh process, no dataset and an empty cache: formation energy with its interval, and the
    distance to the hull of the known phases shipped with the model; the units are printed."""
    out = tmp_path / "predictions.csv"
    done = subprocess.run([SCTK, "predict", "formation-energy", "NbN", "MgB2", "YBa2Cu3O7", "--output", out],
                          cwd=tmp_path, env=no_data(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "eV/atom" in done.stderr
    table = pd.read_csv(out, keep_default_na=False).set_index("formula")
    assert list(table.index) == ["NbN", "MgB2", "YBa2Cu3O7"] and (table["error"] == "").all()
    assert (table["e_form_lo"] <= table["e_form_pred"]).all() and (table["e_form_pred"] <= table["e_form_hi"]).all()
    assert (table["e_form_std"] >= 0).all() and table["e_hull_pred"].map(math.isfinite).all()
    assert (table.loc[["NbN", "YBa2Cu3O7"], "e_form_pred"] < 0).all()  # a nitride and an oxide form from their elements


def test_the_shipped_hull_is_its_on_hull_phases_of_redistributable_data():
    """Only phases on the hull ship, of datasets whose copy may be redistributed and whose file
    sha256 the record gives."""
    from sc_toolkit import ReferenceHull, load_registry

    hulls = list(pretrained_path("formation-energy").rglob("hull.json"))
    assert len(hulls) == 1
    hull = ReferenceHull.load(hulls[0].parent)
    assert hull.on_hull_only and "mp-e-form" in hull.datasets
    assert all(load_registry().dataset(name).redistributable for name in hull.datasets)
    assert set(hull.datasets) <= {entry["name"] for entry in pretrained_record("formation-energy")["data"].values()}


def test_predict_formation_energy_in_the_terminal(sctk_here, tmp_path, monkeypatch):
    monkeypatch.setenv("SCTK_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.chdir(tmp_path)
    code, out, err = sctk_here("predict", "formation-energy", "NbN")
    assert code == 0, err
    row = next(line for line in out.splitlines() if "NbN" in line)
    assert any(math.isfinite(float(cell)) for cell in row.replace("│", " ").split()[1:])
    assert "eV/atom" in err


@pytest.mark.parametrize("name", pretrained_names())
def test_a_folder_of_that_name_is_read_as_the_run_directory_it_names(sctk_here, tmp_path, monkeypatch, name):
    (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path)
    code, _, err = sctk_here("predict", name, "MgB2")
    assert code == 2 and f"{name} is not a run directory" in err  # the folder, not the shipped model
