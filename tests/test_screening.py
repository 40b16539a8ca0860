"""Predictor-only recipes, reusing a trained predictor (from_run), screening a candidate file,
and `sctk predict` on user formulas."""

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def sctk(in_process_sctk):
    """`sctk(*args, check=True)`: the command line in this process (without starting Python and
    reading the datasets again for each command): its exit code, stdout and stderr."""

    def run(*args, check=True) -> subprocess.CompletedProcess:
        code, out, err = in_process_sctk(*args)
        if check and code:
            raise AssertionError(err)
        return subprocess.CompletedProcess(args, code, out, err)

    return run


@pytest.fixture(scope="module")
def tc_run(tmp_path_factory, data_dir, sctk) -> Path:
    out = tmp_path_factory.mktemp("tc_runs")
    sctk("run", ROOT / "recipes" / "supercon_tc.toml", "--quick", "--set", f'run.output_dir="{out}"',
         "--set", "quick.rows=800")
    [run_dir] = out.iterdir()
    return run_dir


@pytest.mark.slow
def test_predictor_only_recipe_reports_metrics_beside_baselines(tc_run):
    metrics = json.loads((tc_run / "metrics.json").read_text())["predictors"]
    assert set(metrics) == {"tc", "above_10k", "superconductor"}
    assert metrics["tc"]["model"]["mae"] < metrics["tc"]["baseline_median"]["mae"]
    above = metrics["above_10k"]
    assert above["label"] == "tc > 10.0" and 0 <= above["rates"]["fp_rate"] < above["rates"]["tp_rate"] <= 1
    assert above["model"]["roc_auc"] > above["baseline_majority"]["roc_auc"] == 0.5
    assert not (tc_run / "accepted.csv").exists()


@pytest.mark.slow
def test_sctk_predict_reports_bad_rows_and_predicts_the_rest(tc_run, tmp_path, sctk):
    inputs = tmp_path / "in.csv"
    pd.DataFrame({"formula": ["YBa2Cu3O7", "D0.9Pd1", "MgB2"], "note": ["a", "b", "c"]}).to_csv(inputs, index=False)
    out = tmp_path / "out.csv"
    result = sctk("predict", tc_run, "--input", inputs, "--output", out, "Nb3Sn")
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table["formula"]) == ["Nb3Sn", "YBa2Cu3O7", "D0.9Pd1", "MgB2"]
    bad = table[table["formula"] == "D0.9Pd1"].iloc[0]
    assert "unknown element 'D'" in bad["error"] and bad["tc_pred"] == ""
    good = table[table["error"] == ""]
    assert len(good) == 3 and (good[["tc_pred", "tc_std", "above_10k_proba", "superconductor_proba"]] != "").all().all()
    assert "row 2" in result.stderr and "3 of 4 rows predicted" in result.stderr
    shown = sctk("predict", tc_run, "Nb3Sn", "D0.9Pd1").stdout
    nb3sn = next(line for line in shown.splitlines() if "Nb3Sn" in line)
    labels = [cell.strip() for cell in nb3sn.split("│")[1:-1]][2:]
    assert labels.count("1") + labels.count("0") == 2, "class labels print as integers beside a NaN row"


def test_predict_on_a_directory_without_models_is_a_one_line_error(tmp_path, sctk):
    result = sctk("predict", tmp_path, "MgB2", check=False)
    assert result.returncode == 2 and "is not a run directory" in result.stderr
    missing = sctk("predict", tmp_path / "no_run", "--input", tmp_path / "no.csv", check=False)
    assert missing.returncode == 2 and "run directory not found" in missing.stderr


@pytest.mark.slow
def test_screening_recipe_reuses_a_trained_predictor(tc_run, tmp_path, sctk):
    candidates = tmp_path / "candidates.csv"
    pd.DataFrame({"formula": ["YBa2Cu3O7", "MgB2", "NaCl", "Bi2Sr2CaCu2O8", "not a formula"]}).to_csv(
        candidates, index=False)
    recipe = tmp_path / "screen.toml"
    recipe.write_text(f"""
[run]
name = "screen"
output_dir = "{tmp_path / 'runs'}"

[data]
dataset = "supercon"

[candidates]
path = "{candidates}"

[[predictors]]
name = "tc"
from_run = "{tc_run}"

[[predictors]]
name = "above_10k"
from_run = "{tc_run}"

[[filters]]
use = "smact-valid"

[[filters]]
use = "threshold"
params = {{ column = "tc_pred", ge = 20.0 }}

[rank]
by = "tc_pred"
""")
    assert "load      predictor 'tc' (lightgbm on magpie)" in sctk("check", recipe).stdout
    sctk("run", recipe, "--quick")
    [run_dir] = (tmp_path / "runs").iterdir()
    accepted = pd.read_csv(run_dir / "accepted.csv")
    assert set(accepted["formula"]) <= {"YBa2Cu3O7", "Bi2Sr2CaCu2O8", "MgB2"} and len(accepted) >= 1
    candidates_out = pd.read_parquet(run_dir / "candidates.parquet").set_index("formula")
    assert candidates_out.loc["NaCl", "rejected_by"] in ("smact-valid", "threshold")
    assert (accepted["tc_pred"] >= 20).all()
    labels = candidates_out["above_10k_pred"]  # 0/1 as nullable integers, in both files
    assert labels.dtype == "Int64" and set(labels.dropna()) <= {0, 1}
    assert pd.read_csv(run_dir / "accepted.csv", dtype=str)["above_10k_pred"].isin(["0", "1"]).all()
    rejected = pd.read_csv(run_dir / "rejected_candidates.csv")
    assert list(rejected["value"]) == ["not a formula"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["predictors"]["tc"]["from_run"] == str(tc_run)
    assert metrics["screening"]["candidates"] == 4


@pytest.mark.slow
def test_sctk_screen_streams_a_file_or_a_composition_space_through_a_finished_run(tc_run, tmp_path, sctk):
    formulas = ["YBa2Cu3O7", "MgB2", "not a formula", "Nb3Sn", "YBa2Cu3O7"] * 30
    pd.DataFrame({"formula": formulas, "note": range(len(formulas))}).to_parquet(tmp_path / "in.parquet")
    pd.DataFrame({"formula": formulas}).to_csv(tmp_path / "in.csv", index=False)
    outputs = {}
    for name in ("in.parquet", "in.csv"):
        result = sctk("screen", tc_run, "--input", tmp_path / name, "--batch-size", 7)
        outputs[name] = Path(result.stdout.split("screened into:")[1].split()[0])
        assert "screened 120" in result.stdout
    screened = {name: pd.read_parquet(path / "candidates.parquet") for name, path in outputs.items()}
    assert len(screened["in.parquet"]) == 120 and list(screened["in.parquet"]["note"][:3]) == [0, 1, 3]
    pd.testing.assert_series_equal(screened["in.parquet"]["tc_pred"], screened["in.csv"]["tc_pred"])
    rejected = pd.read_csv(outputs["in.csv"] / "rejected_candidates.csv")
    assert list(rejected["row"]) == list(range(2, 150, 5)) and (rejected["value"] == "not a formula").all()
    metrics = json.loads((outputs["in.csv"] / "metrics.json").read_text())
    assert metrics["screening"]["candidates"] == 120 and metrics["executor"] == "local"

    space = sctk("screen", tc_run, "--elements", "Mg,B,Nb", "--max-amount", "3", "--min-elements", "2")
    assert "at most 54 compositions" in space.stderr
    [output] = [p for p in (tc_run / "screens").iterdir() if p.name.startswith("space-MgBNb")]
    table = pd.read_parquet(output / "candidates.parquet")
    assert len(table) == table["composition_key"].nunique() == 46 and "Mg1B2" in set(table["formula"])
    bad = sctk("screen", tc_run, "--elements", "Mg,Xx", check=False)
    assert bad.returncode == 2 and "Xx is not a list of element symbols" in bad.stderr
