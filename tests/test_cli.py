"""End to end through the `sctk` command on real SuperCon data, and the CLI's error contract."""

import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sc_toolkit import Compositions

ROOT = Path(__file__).parents[1]
RECIPE = ROOT / "recipes" / "cuprate_gan.toml"
SCTK = str(Path(sys.executable).parent / "sctk")


def sctk(*args, cwd=ROOT, env=None, check=False) -> subprocess.CompletedProcess:
    result = subprocess.run([SCTK, *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env,
                            timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"sctk {' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result


def digest(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def quick_run(shipped_quick_run) -> Path:
    """`sctk run recipes/cuprate_gan.toml --quick` (shared with the other tests of its output)."""
    return shipped_quick_run(RECIPE.name)


@pytest.mark.slow
def test_quick_run_writes_a_complete_run_directory(quick_run):
    for name in ("recipe.toml", "resolved.toml", "manifest.json", "run.log", "metrics.json",
                 "training.parquet", "candidates.parquet", "candidates.csv", "accepted.csv",
                 "models/generator/generator/component.json", "models/predictors/tc/predictor/component.json",
                 "models/predictors/tc/feature_importances.csv"):
        assert (quick_run / name).exists(), name  # candidates.parquet: a folder of Parquet shards
    assert (quick_run / "recipe.toml").read_text() == RECIPE.read_text()
    manifest = json.loads((quick_run / "manifest.json").read_text())
    assert manifest["sc_toolkit"] and {"composition", "boosting", "generative"} <= set(manifest["plugins"])
    assert manifest["seed"] == 7 and manifest["quick"] is True and "git_commit" in manifest
    assert manifest["device"] == {"requested": "auto", "used": "cpu"} and manifest["finished"]
    steps = {s["step"]: s for s in manifest["steps"]}
    assert all(s["status"] == "done" and s["seconds"] >= 0 for s in steps.values())
    assert steps["load data"]["rows_out"] == 3000 and steps["rank"]["rows_out"] > 0
    smact = manifest["provenance"]["filters.3"]
    assert smact["smact"] and "oxidation_states_set" in json.dumps(smact)
    metrics = json.loads((quick_run / "metrics.json").read_text())
    report = metrics["predictors"]["tc"]
    assert {"model", "baseline_median", "baseline_mean"} <= set(report)
    assert report["model"]["mae"] < report["baseline_median"]["mae"]
    assert "composition groups" in report["split"]


@pytest.mark.slow
def test_summary_line_reads_the_evaluation(quick_run):
    from sc_toolkit.cli import _evaluation_line

    evaluation = json.loads((quick_run / "metrics.json").read_text())["evaluation"]
    line = _evaluation_line(evaluation["metrics"])
    unique = evaluation["metrics"]["uniqueness"]["value"]
    assert line.startswith("SMACT-valid ") and f"unique {unique:.1%}" in line
    n = evaluation["n_samples"]
    assert ("of the first 5,000" in line) == (n >= 5000)
    assert "rho " in line and "recovery exact / near: held-out " in line
    assert ", training " in line and ", known samples " in line
    held_out = evaluation["metrics"]["recovery"]["n_held_out"]
    training = evaluation["metrics"]["recovery_training"]["n_training_compositions"]
    assert f" of {held_out:,}, training " in line and f" of {training:,}, known samples " in line
    assert _evaluation_line({}) == ""


def test_long_formulas_wrap_in_the_candidates_table_instead_of_being_cut():
    from rich.console import Console

    from sc_toolkit.cli import _candidates_table

    formula = "Ba1.521Sr1.978Ca1.644Yb0.517Cu2.948Hg0.411Pb0.3O8.512"
    accepted = pd.DataFrame({"rank": [1, 2], "reduced_formula": [formula, "YBa2Cu3O7"], "tc_pred": [94.47, 90.1],
                             "tc_std": [7.69, 1.0], "superconductor_proba": [0.91, 0.95], "formula": [formula, "x"]})
    console = Console(width=80, record=True)
    console.print(_candidates_table(accepted, top=1))
    text = console.export_text()
    assert "top 1 of 2 accepted candidates" in text and "…" not in text and "YBa2Cu3O7" not in text
    cells = "".join(line.split("│")[2].strip() for line in text.splitlines() if line.count("│") > 2)
    assert cells == formula


@pytest.mark.slow
def test_accepted_candidates_are_novel_unique_valid_and_ranked(quick_run):
    from sc_toolkit.registry import default_registry

    accepted = pd.read_csv(quick_run / "accepted.csv")
    candidates = pd.read_parquet(quick_run / "candidates.parquet")
    training = pd.read_parquet(quick_run / "training.parquet")
    assert len(accepted) > 0 and len(candidates) == 2000
    assert (candidates["rejected_by"] == "").sum() == len(accepted)
    reasons = {r for r in set(candidates["rejected_by"]) - {""} if not r.startswith("rank: ")}  # diversity
    assert reasons <= {"decode: no element left", "elements", "unique", "novel", "smact-valid"}
    assert accepted["composition_key"].is_unique
    assert not set(accepted["composition_key"]) & set(training["composition_key"])
    smact = default_registry().get("filter", "smact-valid")()
    assert smact.keep(accepted[["formula"]]).all()
    assert np.all(np.diff(accepted["expected_tc"].to_numpy()) <= 0)  # the recipe ranks by expected Tc
    assert (accepted["tc_std"] >= 0).all() and (accepted["tc_lo"] <= accepted["tc_pred"]).all()
    element_sets = pd.Series([tuple(np.flatnonzero(row)) for row in Compositions.from_formulas(
        accepted["formula"].tolist()).fractions > 0])
    assert element_sets.value_counts().max() <= 3  # [rank] max_per_element_set
    assert {"in_domain", "e_form_pred", "e_hull_pred", "superconductor_proba"} <= set(accepted.columns)


#: Shipped recipes run end to end through the CLI elsewhere: cuprate_gan here (quick_run), supercon_tc
#: in test_screening.py, discover_structures in test_structures_run.py.
RUN_ELSEWHERE = {"cuprate_gan.toml", "supercon_tc.toml", "discover_structures.toml"}


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in sorted(RECIPE.parent.glob("*.toml")) if p.name not in RUN_ELSEWHERE],
                         ids=lambda p: p.name)
def test_every_other_shipped_recipe_runs_quick(path, shipped_quick_run):
    """Each shipped recipe runs end to end on its quick slice (one run per recipe, shared with the
    tests that check what it wrote)."""
    run_dir = shipped_quick_run(path.name)
    assert json.loads((run_dir / "manifest.json").read_text())["finished"]


@pytest.mark.slow
def test_second_run_never_touches_the_first(quick_run, tmp_path, sctk_here):
    first = tmp_path / quick_run.name
    shutil.copytree(quick_run, first)
    before = digest(first)
    code, _, err = sctk_here("run", RECIPE, "--quick", "--set", f'run.output_dir="{tmp_path}"',
                             "--set", "generator.params.epochs=1", "--set", "quick.n_samples=300",
                             "--set", "quick.rows=300")
    assert code == 0, err
    runs = sorted(tmp_path.iterdir())
    assert len(runs) == 2
    assert digest(first) == before


@pytest.mark.slow
def test_resume_refuses_finished_runs_and_other_directories(quick_run, tmp_path, sctk_here):
    code, _, err = sctk_here("resume", quick_run)
    assert code == 2 and "finished already" in err
    code, _, err = sctk_here("resume", tmp_path)
    assert code == 2 and "is not a run directory" in err


@pytest.mark.slow
def test_resolved_recipe_validates(quick_run):
    result = sctk("check", quick_run / "resolved.toml", check=True)
    assert "valid" in result.stdout
    resolved = tomllib.loads((quick_run / "resolved.toml").read_text())
    assert resolved["generator"]["params"]["epochs"] < 300  # --quick values are what ran


def test_check_prints_the_plan_and_trains_nothing(tmp_path):
    result = sctk("check", RECIPE, "--set", f'run.output_dir="{tmp_path}"', check=True)
    assert "train     wgan-gp" in result.stdout and "rank      by expected_tc" in result.stdout
    assert not any(tmp_path.iterdir())


def test_bad_recipe_exits_2_with_one_line_per_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(RECIPE.read_text().replace('use = "wgan-gp"', 'use = "wgan-pg"')
                   .replace("seed = 7", 'seed = "seven"'))
    result = sctk("run", bad)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert any("generator.use: no generator named 'wgan-pg' (hint: did you mean 'wgan-gp'?)" in x for x in lines)
    assert any("run.seed" in x for x in lines)
    assert all(x.startswith("error:") for x in lines) and "Traceback" not in result.stderr


def test_user_errors_are_one_line_with_a_hint():
    for args, expected in [(("run", "nope.toml"), "recipe file not found"),
                           (("describe", "wgan-gpp"), "did you mean 'wgan-gp'?"),
                           (("run", RECIPE, "--set", "generator"), "not key=value"),
                           (("run", RECIPE, "--runs-dir", "x"), "No such option: --runs-dir (hint: 'sctk run --help'"),
                           (("run",), "Missing argument 'recipe'"),
                           (("nosuchcommand",), "No such command 'nosuchcommand'")]:
        result = sctk(*args)
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback():
    result = sctk("--debug", "run", "nope.toml")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_data_commands_find_and_verify_the_local_copy(data_dir):
    listing = sctk("data", "list", check=True).stdout
    assert "supercon" in listing and str(data_dir) in listing
    verified = sctk("data", "verify", "supercon", check=True).stdout
    assert "ok supercon/Supercon_data_by_2018_Stanev.csv" in verified
    missing = sctk("data", "verify", "supercon", env={**__import__("os").environ, "SCTK_DATA_DIR": "/nonexistent",
                                                      "SCTK_CACHE_DIR": "/nonexistent"})
    assert missing.returncode == 2 and "missing" in missing.stdout and "sctk data fetch" in missing.stderr


def test_list_plugins_describe_and_version():
    listing = json.loads(sctk("list-plugins", "--json", check=True).stdout)
    names = {(c["kind"], c["name"]) for c in listing["components"]}
    assert ("generator", "wgan-gp") in names and ("filter", "smact-valid") in names
    assert all(c["status"] == "ok" for c in listing["components"]) and listing["failures"] == []
    described = sctk("describe", "wgan-gp", check=True).stdout
    for param in ("epochs", "critic_steps", "gp_weight", "optimizer", "device", "checkpoint_every"):
        assert param in described
    version = sctk("--version", check=True).stdout
    assert "sc-toolkit" in version and "plugin generative" in version
