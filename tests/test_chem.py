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


@pytest.mark.parametrize(
    ("formula", "reason"),
    [
        ("Cu" + "9" * 400, r"exceeds 1e\+06"),  # float() of it is inf
        ("(Cu" + "9" * 400 + ")0", r"exceeds 1e\+06"),  # inf * 0 would be NaN
        ("Cu" + "9" * 400 + "O", r"\(400 digits\)"),  # the message stays short
        ("Cu1000000.5O", "amount 1000000.5 at position 3 exceeds"),
        ("(Cu1000)2000", r"amount of Cu exceeds 1e\+06"),  # only too large once multiplied out
        ("[(Cu100)100]101", "amount of Cu exceeds"),
        ("Cu٣O", r"non-ASCII digit '٣' \(ARABIC-INDIC DIGIT THREE\) at position 3"),
        ("Cu２O", r"non-ASCII digit '２' \(FULLWIDTH DIGIT TWO\)"),
        ("MgB²", r"non-ASCII digit '²' \(SUPERSCRIPT TWO\)"),
        ("ＭgB2", r"unexpected character 'Ｍ' \(FULLWIDTH LATIN CAPITAL LETTER M\)"),
    ],
)
def test_absurd_amounts_and_non_ascii_digits_are_refused(formula, reason):
    with pytest.raises(FormulaError, match=reason) as info:
        parse_formula(formula)
    assert "\n" not in info.value.one_line() and len(info.value.one_line()) < 300


def test_largest_amount_is_accepted_and_stays_finite():
    assert parse_formula("Cu1000000") == {"Cu": 1e6}
    assert parse_formula("(Cu1000)1000") == {"Cu": 1e6}
    assert parse_formula("Cu0.0000000001O") == pytest.approx({"Cu": 1e-10, "O": 1.0})


def test_non_text_formula_is_refused_with_its_type():
    with pytest.raises(FormulaError, match="must be text, got float"):
        parse_formula(float("nan"))
    compositions, rejected = Compositions.parse(["MgB2", None, "Cu" + "9" * 400])
    assert compositions.formulas == ["MgB2"] and [r.row for r in rejected] == [1, 2]
    assert np.isfinite(compositions.amounts).all()


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"Cu": float("nan")}, "amount of Cu is nan"),
        ({"Cu": float("inf")}, "amount of Cu is inf"),
        ({"Cu": -1.0}, "amount of Cu is -1.0"),
        ({"Cu": 2e6}, r"amount of Cu is 2000000.0, not in \[0, 1e\+06\]"),
        ({"Xx": 1.0}, "unknown element 'Xx'"),
    ],
)
def test_from_amounts_refuses_non_finite_or_negative_amounts(row, reason):
    with pytest.raises(FormulaError, match=f"row 1: {reason}"):
        Compositions.from_amounts([{"Mg": 1.0}, row])
