"""Crystal structures in recipes and runs: the [structures] section's checks, the quick run of
recipes/discover_structures.toml from generated compositions (CIFs that read back to the table's
formulas and scores, partial occupancies kept and scored unrelaxed, CHGNet formation energies of the
relaxed ones, resume that does not redo the step) and `sctk structures`."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sc_toolkit.errors import RecipeError
from sc_toolkit.plan import make_plan
from sc_toolkit.registry import default_registry
from sc_toolkit.run.directory import RANKED_STRUCTURES, STRUCTURES, STRUCTURES_DIR, RunDir
from sc_toolkit.run.structures import read_cif, to_cif

RECIPE = Path(__file__).parents[1] / "recipes" / "discover_structures.toml"


def recipe(**structures) -> dict:
    raw = tomllib.loads(RECIPE.read_text())
    raw["structures"] |= structures
    return raw


def problems(raw: dict) -> list[str]:
    with pytest.raises(RecipeError) as info:
        make_plan(raw, default_registry())
    return [f"{p.where}: {p.message} ({p.hint})" for p in info.value.problems]


# -- the section's checks ---------------------------------------------------------------------------


def test_unknown_generator_and_relaxer_name_the_closest():
    found = problems(recipe(generator={"use": "protoype"}, relaxer={"use": "chgnett"}))
    assert any(p.startswith("structures.generator.use: no structure-generator named 'protoype'")
               and "'prototype'" in p for p in found)
    assert any(p.startswith("structures.relaxer.use: no relaxer named 'chgnett'") and "'chgnet'" in p for p in found)


def test_structure_predictor_must_exist_and_read_structures():
    found = problems(recipe(predictors=["a2ff", "tc"]))
    assert any(p.startswith("structures.predictors.0: no predictor named 'a2ff'") and "'a2f'" in p for p in found)
    assert any(p.startswith("structures.predictors.1: predictor 'tc' reads compositions") for p in found)


def test_datasets_must_hold_structures_and_exist():
    found = problems(recipe(datasets=["supercon", "3dcs"]))
    assert any(p.startswith("structures.datasets.0: dataset 'supercon' holds compositions") for p in found)
    assert any(p.startswith("structures.datasets.1: no dataset named '3dcs'") and "3dsc" in p for p in found)


def test_unknown_key_and_rank_column():
    assert any(p.startswith("structures.kk: unknown key 'kk'") and "'k'" in p for p in problems(recipe(kk=3)))
    found = problems(recipe(rank_by="a2f_lambdaa"))
    assert any(p.startswith("structures.rank_by: cannot rank structures by 'a2f_lambdaa'") and "'a2f_lambda'" in p
               for p in found)


def test_structures_need_compositions():
    raw = recipe()
    raw.pop("generator")
    raw.pop("filters")
    raw.pop("rank")
    assert any(p.startswith("structures: structures are proposed for the ranked candidates") for p in problems(raw))


def test_structure_predictors_do_not_score_compositions():
    plan = make_plan(recipe(), default_registry())
    assert [p.section.name for p in plan.candidate_predictors] == ["tc"]
    assert plan.structures.rank_by == "tc_sodnet_pred"
    assert any(line.split(". ", 1)[1].startswith("relax     chgnet") for line in plan.describe())


def test_the_candidates_csv_replaces_the_generated_compositions(tmp_path):
    from sc_toolkit.run.structure_section import compositions_to_place

    plan = make_plan(recipe(path=str(RECIPE.parent / "structure_candidates.csv")), default_registry())
    places = compositions_to_place(plan, pd.DataFrame({"formula": ["NbN"]}))
    assert len(places) == 49 and places["formula"].iloc[0] != "NbN"
    assert list(places["composition_rank"]) == list(range(1, 50))


# -- the quick run of recipes/discover_structures.toml ----------------------------------------------


@pytest.fixture(scope="module")
def quick_run(shipped_quick_run) -> Path:
    """The recipe's quick run (real VAE, filters, prototype, chgnet, sodnet and alpha2F: 2 generated
    compositions, 1 structure each; about a minute on 2 cores), shared with test_written_formulas."""
    return shipped_quick_run(RECIPE.name)


def composition_of(structure) -> dict[str, float]:
    amounts = structure.composition.fractional_composition.get_el_amt_dict()
    return {element: round(amount, 6) for element, amount in amounts.items()}


@pytest.mark.slow
def test_cifs_read_back_to_the_table_formulas_and_scores(quick_run):
    from pymatgen.core import Composition

    from sc_toolkit.run.predict import load_predictor

    table = pd.read_csv(quick_run / STRUCTURES, keep_default_na=False, na_values=[""])
    ranked = pd.read_csv(quick_run / RANKED_STRUCTURES)
    accepted = pd.read_csv(quick_run / "accepted.csv")
    assert list(table["formula"].unique()) == list(accepted["formula"].head(2))  # the generated ones, as written
    assert len(table) and len(ranked) and set(ranked["structure_id"]) <= set(table["structure_id"])
    assert (table["rejected"].fillna("") != "").sum() + len(ranked) == len(table)  # none dropped silently
    files = {p.stem: p.read_text() for p in (quick_run / STRUCTURES_DIR).glob("*.cif")}
    assert set(files) == set(table.loc[table["n_sites"].notna(), "structure_id"])
    for _, row in table[table["n_sites"].notna()].iterrows():
        wanted = {e: round(a, 6) for e, a in Composition(row["formula"]).fractional_composition.get_el_amt_dict().items()}
        assert composition_of(read_cif(files[row["structure_id"]])) == pytest.approx(wanted, abs=1e-3)
    again = pd.DataFrame({"formula": ranked["formula"], "cif": [files[i] for i in ranked["structure_id"]]})
    for name in ("a2f", "tc_sodnet"):
        scores = load_predictor(RunDir(quick_run), name, default_registry()).predict(again)
        assert np.allclose(scores[f"{name}_pred"], ranked[f"{name}_pred"], rtol=1e-4)
    assert {"a2f_lambda", "a2f_omega_log", "energy_per_atom", "space_group"} <= set(ranked.columns)
    assert ranked["tc_sodnet_pred"].is_monotonic_decreasing
    # relaxed, or kept with partial occupancies and scored on that unrelaxed CIF, saying so
    unrelaxed = ranked[~ranked["relaxed"].astype(bool)]
    assert (~unrelaxed["ordered"].astype(bool)).all()
    assert unrelaxed["relax_note"].fillna("").astype(str).str.contains("partial occupancies").all()
    relaxed = table[table["relaxed"].astype(bool)]
    assert relaxed["energy_per_atom"].notna().all() and {"e_form_chgnet", "e_hull_chgnet"} <= set(table.columns)
    assert (relaxed["e_form_chgnet"].notna() | (relaxed["stability_note"].fillna("") != "")).all()
    assert table.loc[table["n_sites"].notna(), "source"].str.fullmatch(r".+ \(\d+\)").all()  # template, space group
    report = (quick_run / "report.html").read_text()
    assert '<section id="structures">' in report and report.count("<svg") >= min(len(ranked), 6)


def test_partial_occupancies_survive_the_cif():
    from pymatgen.core import Lattice, Structure

    doped = Structure(Lattice.tetragonal(3.78, 13.2), [{"La": 0.925, "Sr": 0.075}, "Cu", {"O": 0.96}],
                      [[0, 0, 0.36], [0, 0, 0], [0, 0.5, 0]])
    back = read_cif(to_cif(doped))
    occupancies = sorted(round(amount, 6) for site in back for amount in site.species.values())
    assert not back.is_ordered and {0.075, 0.925, 0.96} <= set(occupancies)
    assert composition_of(back) == pytest.approx(composition_of(doped))


@pytest.mark.slow
def test_resume_does_not_redo_the_structure_step(quick_run, tmp_path):
    from sc_toolkit.run.api import resume_run

    copy = tmp_path / quick_run.name
    shutil.copytree(quick_run, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest.pop("finished")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    before = {p.name: p.stat().st_mtime_ns for p in [copy / STRUCTURES, *(copy / STRUCTURES_DIR).iterdir()]}
    resume_run(copy)
    log = (copy / "run.log").read_text()
    assert "structures loaded from a previous attempt of this run" in log
    assert {p.name: p.stat().st_mtime_ns for p in [copy / STRUCTURES, *(copy / STRUCTURES_DIR).iterdir()]} == before
    assert json.loads((copy / "manifest.json").read_text())["finished"]


@pytest.mark.slow
def test_structures_command_on_a_rock_salt_formula(sctk_here, tmp_path, data_dir):
    code, out, err = sctk_here("structures", "NbN", "-k", "2", "--dataset", "supercon3d", "--out", tmp_path / "cifs")
    assert code == 0, err
    first = read_cif((tmp_path / "cifs" / "NbN-1.cif").read_text())
    assert composition_of(first) == {"Nb": 0.5, "N": 0.5}
    assert "Fm-3m (225)" in out and "NbN-1.cif" in out
    code, _, err = sctk_here("structures", "NbN", "--dataset", "supercon3d", "--out", tmp_path / "cifs")
    assert code == 2 and "exists already" in err  # never overwrites
