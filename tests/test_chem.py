"""Formula parsing, reduction and composition keys, on real SuperCon strings."""

import numpy as np
import pytest

from sc_toolkit.chem import Compositions, composition_key, parse_formula, reduced_formula
from sc_toolkit.errors import FormulaError


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("YBa2Cu3O7", {"Y": 1, "Ba": 2, "Cu": 3, "O": 7}),
        ("Ba0.4K0.6Fe2As2", {"Ba": 0.4, "K": 0.6, "Fe": 2, "As": 2}),
        ("Ba(Fe0.9Co0.1)2As2", {"Ba": 1, "Fe": 1.8, "Co": 0.2, "As": 2}),
        ("Ca0.4Ba1.25La1.25Cu3O6.98", {"Ca": 0.4, "Ba": 1.25, "La": 1.25, "Cu": 3, "O": 6.98}),
        ("[Cu(NH3)4]2", {"Cu": 2, "N": 8, "H": 24}),
        ("Mo.5Re.5", {"Mo": 0.5, "Re": 0.5}),
    ],
)
def test_parse_formula(formula, expected):
    assert parse_formula(formula) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("formula", "reason"),
    [
        ("D0.9Pd1", "unknown element 'D'"),
        ("Eu1.45Pr0.05Ce0.5Sr2Cu2Nb1O10=z", "unexpected character '='"),
        ("Sm1Ba-1Cu3O6.94", "unexpected character '-'"),
        ("Ba2(CuO", "unclosed '('"),
        ("Ba2CuO)", "unbalanced ')'"),
        ("2Cu", "follows no element"),
        ("", "empty formula"),
    ],
)
def test_parse_errors_say_why(formula, reason):
    with pytest.raises(FormulaError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_formula(formula)


def test_deuterium_hint_names_the_isotope():
    with pytest.raises(FormulaError) as info:
        parse_formula("D0.9Pd1")
    assert "isotope" in info.value.hint


def test_parsing_and_reduction_match_pymatgen_on_real_supercon(supercon_raw_table):
    from pymatgen.core import Composition

    names = supercon_raw_table["name"].head(3000)
    compositions, _ = Compositions.parse(names)
    integer = np.all(np.abs(compositions.amounts - np.round(compositions.amounts)) < 1e-9, axis=1)
    assert integer.sum() > 300
    for formula, amounts, reduced in zip(compositions.formulas, compositions.as_dicts(),
                                         compositions.reduced_formulas()):
        theirs = Composition(formula)
        assert amounts == pytest.approx(theirs.get_el_amt_dict())
        assert parse_formula(reduced) == pytest.approx(theirs.reduced_composition.get_el_amt_dict())


def test_parse_reports_bad_rows_without_altering_good_ones(supercon_raw_table):
    names = supercon_raw_table["name"]
    compositions, rejected = Compositions.parse(names)
    assert len(compositions) + len(rejected) == len(names)
    assert all(names.iloc[r.row] == r.formula for r in rejected)
    assert set(compositions.formulas) <= set(names)
    assert {r.formula for r in rejected} >= {"D0.9Pd1", "Hg0.3Pb0.7Sr1.75La0.25Cu1O4+2"}


def test_composition_key_ignores_formula_units():
    assert composition_key(parse_formula("YBa2Cu3O7")) == composition_key(parse_formula("Y2Ba4Cu6O14"))
    assert composition_key(parse_formula("YBa2Cu3O7")) != composition_key(parse_formula("YBa2Cu3O6.95"))
    assert reduced_formula("Y2Ba4Cu6O14") == "Ba2YCu3O7"


def test_compositions_indexing_keeps_keys_aligned():
    c = Compositions.from_formulas(["MgB2", "NbTi", "Nb3Sn"])
    sub = c[np.array([False, True, True])]
    assert sub.formulas == ["NbTi", "Nb3Sn"]
    assert list(sub.keys()) == [composition_key({"Ti": 1, "Nb": 1}), composition_key({"Nb": 3, "Sn": 1})]
    assert np.allclose(sub.fractions.sum(axis=1), 1)
