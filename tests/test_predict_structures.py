"""`sctk predict --cif` scores user structures with a structure model saved in a run; formulas given
to a run that also has structure models are scored by its composition models."""

import tarfile
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from sc_toolkit.plan import make_plan
from sc_toolkit.registry import default_registry
from sc_toolkit.run.runner import execute, start_run

ROOT = Path(__file__).parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def structure_run(tmp_path_factory, data_dir) -> Path:
    raw = tomllib.loads((ROOT / "recipes" / "alpha2f_jarvis.toml").read_text())
    raw["run"]["output_dir"] = str(tmp_path_factory.mktemp("runs"))
    raw["quick"]["rows"] = 40
    raw["predictors"].append({"name": "tc_composition", "use": "lightgbm", "target": "tc",  # a formula's Tc
                              "encoder": {"use": "magpie"}, "params": {"n_estimators": 20, "n_models": 1}})
    registry = default_registry()
    plan = make_plan(raw, registry, quick=True)
    directory = start_run(plan, "")
    execute(plan, registry, directory)
    return directory.path


def bete_net_cifs(data_dir: Path, folder: Path, n: int) -> list[Path]:
    """The first ``n`` BETE-NET structures written as CIF files into ``folder``."""
    with tarfile.open(data_dir / "bete_net" / "structures_cifs.tar.gz") as archive:
        members = [m for m in archive.getmembers() if m.isfile() and m.name.endswith(".cif")][:n]
        paths = []
        for i, member in enumerate(members):
            path = folder / f"s{i}.cif"
            path.write_bytes(archive.extractfile(member).read())
            paths.append(path)
    return paths


def test_predict_reads_cif_files_and_reports_unreadable_ones(structure_run, data_dir, tmp_path, sctk_here):
    paths = bete_net_cifs(data_dir, tmp_path, 2)
    broken = tmp_path / "broken.cif"
    broken.write_text("data_broken\n_cell_length_a 3.0\n")
    out = tmp_path / "out.csv"
    args = ["predict", structure_run, "--output", out]
    for path in [*paths, broken]:
        args += ["--cif", path]
    code, _, err = sctk_here(*args)
    assert code == 0, err
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table["source"]) == [str(p) for p in [*paths, broken]]
    good = table[table["error"] == ""]
    assert len(good) == 2 and (good["tc_pred"].astype(float) >= 0).all() and (good["tc_std"].astype(float) >= 0).all()
    assert table.iloc[2]["error"].startswith("unreadable CIF") and "2 of 3 rows predicted" in err


def test_alpha2f_predictions_carry_the_moments_their_tc_comes_from(structure_run, data_dir, tmp_path, sctk_here):
    from sctk_crystal.eliashberg import tc_mcmillan

    cifs = [a for p in bete_net_cifs(data_dir, tmp_path, 2) for a in ("--cif", p)]
    code, _, err = sctk_here("predict", structure_run, "--output", tmp_path / "out.csv", *cifs)
    assert code == 0, err
    table = pd.read_csv(tmp_path / "out.csv")
    for column in ("tc_lambda", "tc_lambda_std", "tc_omega_log", "tc_omega_log_std"):
        assert (table[column] >= 0).all(), column
    # the recipe's Tc is McMillan's (mu* = 0.085) of the same lambda and omega_log
    expected = tc_mcmillan(table["tc_lambda"].to_numpy(), table["tc_omega_log"].to_numpy(), 0.085)
    assert table["tc_pred"].to_numpy() == pytest.approx(expected, rel=1e-4)
    code, shown, err = sctk_here("predict", structure_run, *cifs)
    assert code == 0, err
    assert all(name in shown for name in ("lambda", "omega_log", "tc_pred")), shown


def test_formulas_get_the_composition_predictors_of_a_run_with_structure_predictors(structure_run, sctk_here,
                                                                                   tmp_path):
    code, _, err = sctk_here("predict", structure_run, "NbN", "MgB2", "--output", tmp_path / "out.csv")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "out.csv")
    assert list(table["formula"]) == ["NbN", "MgB2"] and table["tc_composition_pred"].notna().all()
    assert "tc_pred" not in table.columns  # the structure model is left out: no structure to read
    code, _, err = sctk_here("predict", structure_run, "NbN", "--predictor", "tc")
    assert code == 2 and "predictor 'tc' reads crystal structures" in err and "--cif" in err
