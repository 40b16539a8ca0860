"""Bad input never escapes as a traceback: names that would leave the run folder, user text that
looks like rich markup, --quick against explicit values, unreadable input files, and what `sctk
check` finds before a run starts. Each case: one line naming the problem, the right exit code."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from sc_toolkit import cli
from sc_toolkit.errors import DataError, RecipeError
from sc_toolkit.registry import default_registry
from sc_toolkit.run.api import plan_recipe
from sc_toolkit.run.predict import read_inputs

ROOT = Path(__file__).parents[1]
SUPERCON_TC = ROOT / "recipes" / "supercon_tc.toml"




def problems(recipe, overrides, quick=False) -> dict[str, str]:
    with pytest.raises(RecipeError) as error:
        plan_recipe(recipe, overrides, quick=quick, registry=default_registry())
    return {p.where: p.message for p in error.value.problems}


# -- names that become paths -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../../x", "/tmp/x", "a/b", "..", ".hidden", "a\nb", "a\u202eb", "x" * 65, "",
                                  "caf\u00e9", "a b"])
def test_a_run_name_that_is_not_one_safe_folder_name_is_refused(name):
    found = problems(SUPERCON_TC, {"run.name": name})
    assert list(found) == ["run.name"]
    assert "name" in found["run.name"]


def test_predictor_names_are_checked_too_and_all_problems_come_at_once():
    found = problems(SUPERCON_TC, {"run.name": "../x", "predictors.0.name": "../../../../pred_escape",
                                   "predictors.1.name": "a\u202eb"})
    assert set(found) == {"run.name", "predictors.0.name", "predictors.1.name"}


@pytest.mark.parametrize("name", ["supercon_tc", "run-2.b", "A1", "x" * 64])
def test_safe_names_pass(name):
    plan = plan_recipe(SUPERCON_TC, {"run.name": name, "predictors.0.name": name}, registry=default_registry())
    assert plan.run.name == name and plan.predictors[0].section.name == name


def test_a_bad_name_exits_2_with_one_line_per_problem(sctk_here, monkeypatch, capsys):
    code, _, err = sctk_here("check", SUPERCON_TC, "--set", 'run.name="../../x"')
    assert code == 2
    assert "run.name:" in err and "'/'" in err and "Traceback" not in err


# -- user text is never read as rich markup --------------------------------------------------------

def test_section_names_survive_in_error_lines(sctk_here, monkeypatch, capsys, tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[data]\ndataset = "supercon"\n[evaluate]\nn_samples = 10\n')
    code, _, err = sctk_here("check", recipe)
    assert code == 2
    assert "missing section [run]" in err and "add a [run] table" in err
    assert "has no [generator]" in err and "add a [generator]" in err


def test_a_dataset_name_that_looks_like_markup_is_printed_as_written(sctk_here, monkeypatch, capsys):
    code, _, err = sctk_here("check", SUPERCON_TC, "--set", 'data.dataset="[/x]"')
    assert code == 2
    assert "no dataset named '[/x]'" in err and "MarkupError" not in err


def test_markup_in_a_usage_error_is_printed_as_written(sctk_here, monkeypatch, capsys):
    code, _, err = sctk_here("check", SUPERCON_TC, "--bogus[/x]")
    assert code == 2
    assert "--bogus[/x]" in err


# -- --quick: the recipe as written first, explicit values win ------------------------------------

def test_quick_does_not_hide_a_bad_value():
    found = problems(SUPERCON_TC, ["predictors.0.params.n_models=-1"], quick=True)
    assert list(found) == ["predictors.0.params.n_models"]


def test_explicit_overrides_win_over_quick_values(tmp_path):
    plan = plan_recipe(SUPERCON_TC, ["predictors.0.params.n_models=4"], quick=True, registry=default_registry())
    params = plan.predictors[0].step.params
    assert params.n_models == 4
    assert params.n_estimators == 100  # the component's quick value for what was not set explicitly
    assert plan_recipe(SUPERCON_TC, {"predictors.0.params.n_models": 4}, quick=True,
                       registry=default_registry()).predictors[0].step.params.n_models == 4


def test_quick_set_beats_component_quick_values_and_loses_to_explicit_overrides(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text(SUPERCON_TC.read_text() + 'set = { "predictors.0.params.n_models" = 3, '
                      '"predictors.1.params.n_models" = 3 }\n')
    plan = plan_recipe(recipe, ["predictors.1.params.n_models=5"], quick=True, registry=default_registry())
    assert [p.step.params.n_models for p in plan.predictors[:2]] == [3, 5]
    written = plan_recipe(recipe, [], registry=default_registry())
    assert written.predictors[0].step.params.n_models == 5  # the recipe as written: no quick values


def test_a_bad_quick_set_value_is_a_problem_of_the_quick_slice(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text(SUPERCON_TC.read_text() + 'set = { "predictors.0.params.n_models" = -3 }\n')
    plan_recipe(recipe, [], registry=default_registry())  # valid as written
    assert list(problems(recipe, [], quick=True)) == ["predictors.0.params.n_models"]


# -- input files -------------------------------------------------------------------------------------

def _bad_files(folder: Path) -> dict[str, Path]:
    files = {"empty": b"", "binary": b"\x00\x01\x02formula\x00", "utf16": "formula\nMgB2\n".encode("utf-16"),
             "quotes": b'formula\n"MgB2\nNbTi\n', "latin1": "formula\nCu\u00e9O\n".encode("latin-1")}
    paths = {}
    for name, data in files.items():
        paths[name] = folder / f"{name}.csv"
        paths[name].write_bytes(data)
    paths["folder"] = folder
    paths["missing"] = folder / "missing.csv"
    return paths


@pytest.mark.parametrize("kind", ["empty", "binary", "utf16", "quotes", "latin1", "folder", "missing"])
def test_unreadable_csv_inputs_are_data_errors_naming_the_file(tmp_path, kind):
    path = _bad_files(tmp_path)[kind]
    with pytest.raises(DataError) as error:
        read_inputs([], path, [])
    assert str(path) in error.value.one_line() and error.value.hint


@pytest.mark.parametrize("kind", ["empty", "binary", "utf16", "quotes", "missing"])
def test_check_reports_an_unreadable_data_path(sctk_here, monkeypatch, capsys, tmp_path, kind):
    path = _bad_files(tmp_path)[kind]
    recipe = tmp_path / "r.toml"
    recipe.write_text(f'[run]\nname = "x"\n[data]\npath = "{path.name}"\n')
    monkeypatch.chdir(tmp_path)
    code, _, err = sctk_here("check", recipe)
    assert code == 2
    assert "data.path: " in err and path.name in err and "unexpected" not in err


def test_a_binary_cif_is_a_data_error_naming_the_file(tmp_path):
    cif = tmp_path / "x.cif"
    cif.write_bytes(bytes(range(256)))
    with pytest.raises(DataError, match="x.cif"):
        read_inputs([], None, [cif])


# -- sctk predict on a saved run -------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_run(tmp_path_factory, data_dir) -> Path:
    """A finished quick run with one saved predictor (tc)."""
    from sc_toolkit import run_recipe

    out = tmp_path_factory.mktemp("runs")
    return run_recipe(SUPERCON_TC, {"run.output_dir": str(out), "quick.rows": 300}, quick=True).path


def test_predict_prints_markup_like_formulas_as_written_and_keeps_the_valid_rows(sctk_here, small_run, monkeypatch, capsys):
    code, out, err = sctk_here("predict", small_run, "[/x]", "MgB2")
    assert code == 0, err
    assert "row 0: '[/x]'" in err and "(not predicted)" in err
    assert "MgB2" in out and "[/x]" in out


def test_predict_names_the_cif_file_of_an_unreadable_structure(sctk_here, small_run, monkeypatch, capsys, tmp_path):
    garbage, binary = tmp_path / "garbage.cif", tmp_path / "binary.cif"
    garbage.write_text("data_x\n")
    binary.write_bytes(bytes(range(256)))
    code, _, err = sctk_here("predict", small_run, "--cif", garbage, "MgB2")
    assert code == 0
    assert f"row 1: {garbage}: unreadable CIF" in err
    code, _, err = sctk_here("predict", small_run, "--cif", binary)
    assert code == 2
    assert f"--cif: {binary} is a binary file" in err


@pytest.mark.parametrize("target", ["missing/p.csv", ".", "x" * 300 + ".csv"])
def test_predict_output_that_cannot_be_written_exits_2_naming_it(sctk_here, small_run, monkeypatch, capsys, tmp_path, target):
    code, _, err = sctk_here("predict", small_run, "MgB2", "--output", tmp_path / target)
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "unexpected" not in err
    assert str(tmp_path) in err and "hint:" in err


# -- what check finds before a run ----------------------------------------------------------------

def test_check_finds_a_filter_on_a_column_the_data_file_lacks(sctk_here, monkeypatch, capsys, tmp_path):
    (tmp_path / "d.csv").write_text("formula,tc\nMgB2,39\n")
    recipe = tmp_path / "r.toml"
    recipe.write_text('[run]\nname = "x"\noutput_dir = "runs"\n[data]\npath = "d.csv"\n'
                      'filters = [{ use = "threshold", params = { column = "tcc", gt = 0 } }]\n')
    monkeypatch.chdir(tmp_path)
    for command in ("check", "run"):
        code, _, err = sctk_here(command, recipe)
        assert code == 2
        assert "reads column 'tcc'" in err and "did you mean 'tc'?" in err
    assert not (tmp_path / "runs").exists()  # no run folder for bad input


def test_check_finds_a_target_the_dataset_lacks(sctk_here, monkeypatch, capsys, data_dir):
    code, _, err = sctk_here("check", SUPERCON_TC, "--set", 'predictors.0.target="tcc"')
    assert code == 2
    assert "predictors.0.target" in err and "'tcc'" in err


def test_run_finds_a_missing_data_file_before_creating_a_run_folder(sctk_here, monkeypatch, capsys, tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[run]\nname = "x"\noutput_dir = "runs"\n[data]\npath = "nowhere.csv"\n')
    monkeypatch.chdir(tmp_path)
    code, _, err = sctk_here("run", recipe)
    assert code == 2 and "nowhere.csv" in err
    assert not (tmp_path / "runs").exists()


# -- plugins that failed ---------------------------------------------------------------------------

def test_version_lists_plugins_that_failed_to_load(sctk_here, monkeypatch, capsys):
    from sc_toolkit.registry import PluginFailure

    registry = default_registry()
    monkeypatch.setattr(registry, "failures", [*registry.failures, PluginFailure("broken[/x]", "ImportError: nope")])
    monkeypatch.setattr(cli, "_registry", lambda: registry)
    code, out, _ = sctk_here("--version")
    assert code == 0
    assert "plugin broken[/x] failed to load: ImportError: nope" in out


# -- warnings --------------------------------------------------------------------------------------

def test_warnings_raised_during_a_run_go_to_its_log(tmp_path, monkeypatch):
    from sc_toolkit.run.context import RunContext
    from sc_toolkit.run.directory import LOG, RunDir

    shown = []
    monkeypatch.setattr(warnings, "showwarning", lambda *args, **kwargs: shown.append(args[0]))
    previous = warnings.showwarning
    run = RunContext(RunDir(tmp_path), seed=0, quick=True)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("an old API", FutureWarning)
    run.close()
    assert "warning: FutureWarning: an old API" in (tmp_path / LOG).read_text()
    assert warnings.showwarning is previous and len(shown) == 1  # passed on to what was there before


def test_the_command_line_shows_warnings_only_with_debug(sctk_here, monkeypatch, capsys):
    shown = warnings.showwarning
    sctk_here("check", SUPERCON_TC)
    assert warnings.showwarning is cli._drop_warning
    monkeypatch.setattr(warnings, "showwarning", shown)
    sctk_here("--debug", "check", SUPERCON_TC)
    assert warnings.showwarning is shown
