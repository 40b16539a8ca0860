"""Stability against the convex hull of known phases: a hand-checked Li-O hull, agreement with
pymatgen's PhaseDiagram, the combination of sources, reference tables, save/load and provenance."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import sc_toolkit
from sc_toolkit import Compositions, ReferenceHull, UserError, composition_key, parse_formula
from sc_toolkit.data import LoadedTable
from sc_toolkit.run import stability
from sc_toolkit.run.stability import combine_phases, reference_phases


def phases(rows: list[tuple[str, float, str]]) -> pd.DataFrame:
    """A reference table from (formula, e_form, source) rows."""
    formulas = [formula for formula, _, _ in rows]
    return pd.DataFrame(
        {
            "formula": formulas,
            "composition_key": Compositions.from_formulas(formulas).keys(),
            "e_form": [e for _, e, _ in rows],
            "source": [source for _, _, source in rows],
        }
    )


@pytest.fixture(scope="module")
def li_o() -> ReferenceHull:
    """Li2O at -2.0 and Li2O2 at -1.5 eV/atom: the hull runs Li (0) - Li2O - O (0), and Li2O2 lies
    on the Li2O-O tie-line (x_O = 1/2: -2 + 3 * (1/2 - 1/3) = -1.5)."""
    return ReferenceHull(phases([("Li2O", -2.0, "a"), ("Li2O2", -1.5, "a")]))


def test_hull_energy_by_hand(li_o):
    formulas = ["Li2O", "Li2O2", "Li3O2", "Li5O", "LiO2", "Li", "O2"]
    # x_O = 1/3, 1/2, 2/5, 1/6, 2/3, 0, 1: Li-Li2O slope -6, Li2O-O slope +3 per unit x_O
    expected = [-2.0, -1.5, -1.8, -1.0, -1.0, 0.0, 0.0]
    np.testing.assert_allclose(li_o.hull_energy(formulas), expected, atol=1e-12)


def test_distance_is_negative_below_the_known_hull_and_zero_on_it(li_o):
    compositions = Compositions.from_formulas(["Li2O", "Li2O", "Li3O2", "Li3O2", "Li"])
    e_form = np.array([-2.0, -2.3, -1.8, -1.7, 0.0])
    np.testing.assert_allclose(li_o.e_above_hull(compositions, e_form), [0.0, -0.3, 0.0, 0.1, 0.0], atol=1e-12)


def test_elements_absent_from_every_reference_enter_at_zero(li_o):
    # Li-Na-O: Li2O and Na, O at 0; LiNaO = 1/2 Li2O + 1/2 Na + ... -> -1.0
    np.testing.assert_allclose(li_o.hull_energy(["Na2O", "NaCl", "LiNaO"]), [0.0, 0.0, -1.0], atol=1e-12)


def test_missing_values_and_shape_errors(li_o):
    compositions = Compositions.from_matrix(np.zeros((1, sc_toolkit.N_ELEMENTS)))
    assert np.isnan(li_o.hull_energy(compositions)).all()
    assert np.isnan(li_o.e_above_hull(["Li2O"], np.array([np.nan]))).all()
    with pytest.raises(UserError, match="e_form"):
        li_o.e_above_hull(["Li2O", "Li"], np.array([0.0]))


@pytest.mark.parametrize("lp_rows", [0, 100])  # every system by its convex hull; by linear programmes
def test_agrees_with_pymatgen_phase_diagram(lp_rows, monkeypatch):
    from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
    from pymatgen.core import Composition

    rng = np.random.default_rng(0)
    elements = ["Li", "Fe", "P", "O"]
    formulas = sorted(
        {
            "".join(f"{el}{n}" for el, n in zip(elements, counts) if n)
            for counts in rng.integers(0, 4, size=(80, 4))
            if (counts > 0).sum() >= 2
        }
    )
    energies = rng.uniform(-2.5, 0.3, size=len(formulas))
    # formulas that reduce alike (LiFe, Li2Fe2) enter once, at the lowest energy, as in PhaseDiagram
    hull = ReferenceHull(phases([(f, e, "a") for f, e in zip(formulas, energies)]), combine="lowest")
    entries = [PDEntry(Composition(el), 0.0) for el in elements]
    entries += [PDEntry(Composition(f), e * Composition(f).num_atoms) for f, e in zip(formulas, energies)]
    diagram = PhaseDiagram(entries)
    queries = ["LiFePO4", "Li3PO4", "Fe2O3", "LiFeO2", "Li0.5Fe0.5P0.1O2", "FeP", "Li2Fe0.1P0.3O3.7"]
    expected = [diagram.get_hull_energy_per_atom(Composition(q)) for q in queries]
    monkeypatch.setattr(stability, "LP_ROWS_BEFORE_HULL", dict.fromkeys(range(2, 9), lp_rows))
    np.testing.assert_allclose(hull.hull_energy(queries), expected, atol=1e-9)


@pytest.fixture(scope="module")
def shipped_phases() -> tuple[pd.DataFrame, list[set[str]]]:
    """The MP phases shipped with the formation-energy model (those on the hull of their own
    system) and the elements of each."""
    from sc_toolkit.pretrained import pretrained_path

    (meta,) = pretrained_path("formation-energy").rglob("hull.json")
    table = ReferenceHull.load(meta.parent).phases
    return table, [set(re.findall("[A-Z][a-z]?", key)) for key in table["composition_key"]]


@pytest.mark.parametrize("system", [("Li", "Fe", "P", "O"), ("Y", "Ba", "Cu", "O"), ("Sr", "Ca", "Bi", "Cu", "O"),
                                    ("Ba", "Ca", "Cu", "Hg", "O"), ("La", "Sr", "Ni", "Cu", "O")])  # fmt: skip
def test_linear_programme_and_convex_hull_agree_with_phase_diagram(shipped_phases, system, monkeypatch):
    """On real systems of the shipped MP phases, the hull energy solved as a linear programme per
    composition (few compositions of a system) and read off the qhull facets (many) are the same,
    and the same as pymatgen's PhaseDiagram, at random compositions and at the phases themselves."""
    from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
    from pymatgen.core import Composition

    table, elements = shipped_phases
    members = table[[e <= set(system) for e in elements]]
    entries = [PDEntry(Composition(el), 0.0) for el in system]
    entries += [PDEntry(Composition(f), e * Composition(f).num_atoms) for f, e in zip(members["formula"], members["e_form"])]
    diagram = PhaseDiagram(entries)
    columns = [sc_toolkit.SYMBOLS.index(e) for e in system]
    weights = np.random.default_rng(len(members)).dirichlet(np.ones(len(system)), size=8)
    queries = Compositions.from_matrix(np.round(weights, 3) @ np.eye(sc_toolkit.N_ELEMENTS)[columns])
    queries = Compositions.from_formulas([*queries.formulas, *members["formula"].iloc[:12]])
    expected = [diagram.get_hull_energy_per_atom(Composition(f)) for f in queries.formulas]
    hull = ReferenceHull(table)
    monkeypatch.setattr(stability, "LP_ROWS_BEFORE_HULL", dict.fromkeys(range(2, 9), len(queries)))
    by_programme = hull.hull_energy(queries)  # every system: a programme per composition
    assert not hull._planes
    monkeypatch.setattr(stability, "LP_ROWS_BEFORE_HULL", {})
    by_facets = ReferenceHull(table).hull_energy(queries)  # every system: its convex hull
    assert len(members) >= 10 and np.isfinite(by_programme).all()
    np.testing.assert_allclose(by_programme, by_facets, atol=1e-9, rtol=0)
    np.testing.assert_allclose(by_programme, expected, atol=1e-9, rtol=0)


def test_a_system_gets_its_hull_once_its_programmes_are_spent(shipped_phases, monkeypatch):
    table, _ = shipped_phases
    queries = ["YBa2Cu3O7", "Y2BaCuO5", "YBa2Cu4O8", "Y0.5Ba1.5Cu3O6.5", "YBaCu2O5"]
    monkeypatch.setattr(stability, "LP_ROWS_BEFORE_HULL", {4: 3})
    hull = ReferenceHull(table)
    first = hull.hull_energy(queries[:2])  # 2 of 3 programmes
    assert not hull._planes
    rest = hull.hull_energy(queries[2:])  # 3 more: over the budget, the Y-Ba-Cu-O hull is built
    assert len(hull._planes) == 1
    monkeypatch.setattr(stability, "LP_ROWS_BEFORE_HULL", {})
    np.testing.assert_allclose(np.concatenate([first, rest]), ReferenceHull(table).hull_energy(queries), atol=1e-9,
                               rtol=0)


def test_only_the_phases_on_the_hull_give_the_same_hull(tmp_path):
    """A shipped hull keeps only its on-hull phases: fewer rows, the same hull energy everywhere
    (a random Li-Fe-P-O table and its subsystems), recorded in its provenance and kept on reload."""
    rng = np.random.default_rng(1)
    elements = ["Li", "Fe", "P", "O"]
    formulas = sorted({"".join(f"{el}{n}" for el, n in zip(elements, counts) if n)
                       for counts in rng.integers(0, 4, size=(120, 4)) if (counts > 0).sum() >= 2})
    full = ReferenceHull(phases([(f, e, "a") for f, e in zip(formulas, rng.uniform(-2.5, 0.3, len(formulas)))]))
    pruned = full.only_on_hull()
    assert 0 < len(pruned.phases) < len(full.phases)
    columns = [sc_toolkit.SYMBOLS.index(e) for e in elements]
    queries = Compositions.from_matrix(rng.dirichlet(np.ones(4), size=200) @ np.eye(sc_toolkit.N_ELEMENTS)[columns])
    np.testing.assert_allclose(pruned.hull_energy(queries), full.hull_energy(queries), atol=1e-9)
    np.testing.assert_allclose(pruned.hull_energy(formulas), full.hull_energy(formulas), atol=1e-9)
    assert pruned.provenance()["rows_per_source"] == full.provenance()["rows_per_source"]
    assert pruned.provenance()["phases_kept"] != full.provenance()["phases_kept"]
    pruned.save(tmp_path / "hull")
    assert ReferenceHull.load(tmp_path / "hull").provenance() == pruned.provenance()


def test_lowest_rule_keeps_the_lowest_energy_and_names_its_source():
    table = phases([("Li2O", -2.0, "mp"), ("NaCl", -2.1, "mp"), ("Li2O", -2.1, "oqmd"), ("NaCl", -2.1, "oqmd"),
                    ("KCl", -2.2, "oqmd")])  # fmt: skip
    lowest = combine_phases(table, "lowest").set_index("formula")
    assert lowest["source"].to_dict() == {"Li2O": "oqmd", "NaCl": "mp", "KCl": "oqmd"}  # a tie goes to the first
    assert lowest.loc["Li2O", "e_form"] == -2.1
    first = combine_phases(table, "first").set_index("formula")
    assert first["source"].to_dict() == {"Li2O": "mp", "NaCl": "mp", "KCl": "oqmd"}
    hull = ReferenceHull(table, combine="lowest")
    assert hull.provenance()["rows_per_source"] == {"mp": 2, "oqmd": 3}
    assert hull.provenance()["hull_phases_per_source"] == {"mp": 1, "oqmd": 2}
    np.testing.assert_allclose(hull.hull_energy(["Li2O"]), [-2.1])
    np.testing.assert_allclose(ReferenceHull(table).hull_energy(["Li2O"]), [-2.0])  # "first" by default
    with pytest.raises(UserError, match="combination rule"):
        ReferenceHull(table, combine="mean")


def test_save_load_round_trip(tmp_path, li_o):
    li_o.save(tmp_path / "hull")
    assert sorted(p.name for p in (tmp_path / "hull").iterdir()) == ["hull.json", "phases.parquet"]
    loaded = ReferenceHull.load(tmp_path / "hull")
    pd.testing.assert_frame_equal(loaded.phases, li_o.phases)
    assert loaded.provenance() == li_o.provenance()
    np.testing.assert_array_equal(loaded.hull_energy(["Li3O2", "LiO2"]), li_o.hull_energy(["Li3O2", "LiO2"]))


def test_provenance_names_rule_datasets_and_versions(li_o):
    provenance = li_o.provenance()
    assert provenance["combination"] == "first"
    assert provenance["datasets"] == ["a"]
    assert provenance["n_phases"] == 2
    assert {"pymatgen", "scipy"} <= set(provenance)


class _Registry:
    def dataset(self, name):
        return name


def test_reference_phases_reads_each_formation_energy_column(monkeypatch):
    def table(rows, column):
        formulas = [f for f, _ in rows]
        return pd.DataFrame({"reduced_formula": formulas, "composition_key": [composition_key(parse_formula(f)) for f in formulas],
                             column: [e for _, e in rows]})  # fmt: skip

    tables = {
        "mp-e-form": table([("Li2O", -2.0), ("Li", 0.01), ("Li4O2", -1.9)], "formation_energy"),
        "oqmd": table([("Li2O", -2.1), ("NaCl", np.nan)], "formation_enthalpy"),
    }
    monkeypatch.setattr(stability, "load", lambda name: LoadedTable(tables[name], pd.DataFrame()))
    result = reference_phases(_Registry(), ["mp-e-form", "oqmd"])
    assert list(result.columns) == ["formula", "composition_key", "e_form", "source"]
    # the elemental row and the missing energy are left out; Li4O2 is Li2O, lowest per source kept
    assert result[["formula", "e_form", "source"]].values.tolist() == [["Li2O", -2.0, "mp-e-form"],
                                                                        ["Li2O", -2.1, "oqmd"]]  # fmt: skip
    with pytest.raises(UserError, match="formation-energy"):
        reference_phases(_Registry(), ["supercon"])
    with pytest.raises(UserError, match="twice"):
        reference_phases(_Registry(), ["oqmd", "oqmd"])


def test_import_stays_cheap():
    import subprocess
    import sys

    code = "import sc_toolkit.run.stability, sys; print('pymatgen' in sys.modules, 'scipy.spatial' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split() == [
        "False", "False"]  # fmt: skip
