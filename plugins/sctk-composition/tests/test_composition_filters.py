"""Filters on real SuperCon rows: contracts, SMACT validity on known cases, each filter's rules."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pandas as pd
import pydantic
import pytest

from sc_toolkit import Compositions, UserError
from sc_toolkit.testing import check_component_class, check_filter
from sctk_composition import Elements, Novel, SmactValid, Threshold, Unique, Values
from sctk_composition.smact_valid import integer_counts


@pytest.fixture(scope="module")
def table(supercon_slice) -> pd.DataFrame:
    """Real rows with the columns a run provides: formula, tc, composition_key, class."""
    out = supercon_slice.copy()
    out["composition_key"] = Compositions.from_formulas(out["formula"]).keys()
    out["class"] = np.where(out["formula"].str.contains("Cu") & out["formula"].str.contains("O"), "cuprate", "other")
    return out


def frame(*formulas: str) -> pd.DataFrame:
    return pd.DataFrame({"formula": list(formulas)})


@pytest.mark.parametrize(
    "component",
    [
        SmactValid(),
        Novel(),
        Unique(),
        Elements(must_contain=["O"], max_elements=5),
        Threshold(column="tc", gt=10),
        Values(column="class", allowed=["cuprate"]),
    ],
    ids=lambda c: c.name,
)
def test_filter_contract_on_real_rows(component, table):
    mask = check_filter(component, table, reference=table.head(500))
    assert 0 < mask.sum() < len(table)


def test_smact_scales_doped_formulas_to_integers():
    assert integer_counts(Compositions.from_formulas(["La1.85Sr0.15CuO4"]).amounts)[0][0, [56, 37, 28, 7]].tolist() == [
        37, 3, 20, 80,
    ]
    assert SmactValid().keep(frame("La1.85Sr0.15CuO4", "YBa2Cu3O7", "NaCl", "NaCl2")).tolist() == [
        True, True, True, False,
    ]


def test_smact_alloys_pass_only_with_include_alloys():
    alloys = frame("Mo0.39Ru0.61", "NbTi")
    assert SmactValid().keep(alloys).all()
    assert not SmactValid(include_alloys=False).keep(alloys).any()


def test_smact_pauling_test_and_bad_rows():
    # Se2Cl is charge neutral only with Cl (more electronegative) as a cation.
    assert SmactValid(use_pauling_test=False).keep(frame("Se2Cl")).tolist() == [True]
    assert SmactValid().keep(frame("Se2Cl")).tolist() == [False]
    assert SmactValid().keep(frame("", "not a formula", "Fe")).tolist() == [False, False, True]


def exact_integer_formula(formula: str) -> str:
    """``formula`` (element symbols and decimal amounts, no brackets) scaled exactly to the smallest
    integers, with Fraction arithmetic on the written text: the reference the filter must match."""
    amounts = {s: Fraction(a or 1) for s, a in re.findall(r"([A-Z][a-z]?)([0-9.]*)", formula)}
    scale = math.lcm(*(a.denominator for a in amounts.values()))
    counts = {s: int(a * scale) for s, a in amounts.items()}
    divisor = math.gcd(*counts.values())
    return "".join(f"{s}{n // divisor}" for s, n in counts.items())


def test_smact_agrees_with_smact_validity_on_real_formulas(table):
    smact_screening = pytest.importorskip("smact.screening")
    from sc_toolkit import SYMBOLS

    sample = table.sample(150, random_state=1).reset_index(drop=True)
    counts, code = integer_counts(Compositions.from_formulas(sample["formula"]).amounts)
    assert (code == 0).all()
    integer_formulas = ["".join(f"{SYMBOLS[c]}{row[c]}" for c in np.flatnonzero(row)) for row in counts]
    for settings in ({}, {"include_alloys": False}, {"use_pauling_test": False}):
        expected = [smact_screening.smact_validity(f, **settings) for f in integer_formulas]
        assert SmactValid(**settings).keep(sample).tolist() == expected


@pytest.fixture(scope="module")
def decoded_samples(supercon_slice) -> list[str]:
    """Formulas decoded from noisy encodings of real rows: 200 by scgan-onehot (3 decimals), 100 by
    element-fractions (2 decimals), as a generator's outputs are."""
    from sctk_composition import ElementFractions, ScganOnehot

    rng = np.random.default_rng(3)
    rows = supercon_slice["formula"].sample(300, random_state=2).tolist()
    onehot = ScganOnehot()
    X = onehot.encode(rows[:200])
    X = X + np.where(X > 0, rng.normal(0.0, 0.05, X.shape), 0.0)
    fractions = ElementFractions()
    F = fractions.encode(rows[200:])
    F = F * rng.uniform(0.9, 1.1, F.shape)
    formulas = onehot.decode(X).formulas + fractions.decode(F).formulas
    return [f for f in formulas if f]


def test_decoded_formulas_are_exactly_their_grid_amounts(supercon_slice):
    """A decoder rounds once onto its grid and writes those amounts: parsing the formula gives them back."""
    from sctk_composition import ElementFractions, LimMatrix, ScganOnehot

    rows = supercon_slice["formula"].head(200).tolist()
    rng = np.random.default_rng(4)
    for encoder, places in ((ScganOnehot(), 3), (LimMatrix(decimals=4), 4), (ElementFractions(), 2),
                            (ElementFractions(amount_step=0.05), 2)):
        X = encoder.encode(rows)
        decoded = encoder.decode(X + np.where(X > 0, rng.normal(0.0, 0.05, X.shape), 0.0))
        assert np.array_equal(np.round(decoded.amounts, places), decoded.amounts)
        filled = [i for i, f in enumerate(decoded.formulas) if f]
        parsed = Compositions.from_formulas([decoded.formulas[i] for i in filled]).amounts
        assert np.allclose(parsed, decoded.amounts[filled], rtol=0, atol=1e-12)


def test_smact_judges_exactly_the_written_formula(decoded_samples):
    """Accepted iff smact_validity accepts the exact integer scaling of the written formula."""
    smact_screening = pytest.importorskip("smact.screening")
    assert len(decoded_samples) > 250
    assert any(re.search(r"\.[0-9]{3}", f) for f in decoded_samples)  # 3-decimal amounts are judged as such
    for settings in ({}, {"include_alloys": False}):
        kept = SmactValid(**settings).keep(frame(*decoded_samples)).tolist()
        expected = [smact_screening.smact_validity(exact_integer_formula(f), **settings) for f in decoded_samples]
        assert kept == expected


def test_smact_rejects_what_it_cannot_judge_exactly_and_says_why():
    component = SmactValid(max_decimals=3, max_count=10_000)
    formulas = frame("NaCl", "Na0.0001Cl", "Na10Cl10.001", "not a formula", "La1.85Sr0.15CuO4")
    assert component.keep(formulas).tolist() == [True, False, False, False, True]
    assert component.provenance()["unjudged"] == {
        "formula does not parse": 1,
        "amounts finer than max_decimals decimal places": 1,
        "integer formula has an amount above max_count": 1,
    }


def test_smact_provenance_names_version_and_settings():
    provenance = SmactValid(oxidation_states_set="icsd16").provenance()
    assert provenance["oxidation_states_set"] == "icsd16" and "smact" in provenance
    assert {"use_pauling_test", "include_alloys", "max_decimals", "max_count", "integer_scaling"} <= set(provenance)


def test_novel_uses_reference_keys_or_formulas(table):
    reference = table.head(100)
    assert not Novel().fit(reference).keep(table.head(100)).any()
    assert Novel().fit(reference).keep(table.iloc[100:]).mean() > 0.9
    from_formulas = Novel().fit(reference[["formula"]]).keep(table)
    assert np.array_equal(from_formulas, Novel().fit(reference).keep(table))
    with pytest.raises(UserError):
        Novel().keep(table)


def test_novel_keeps_reference_after_save_and_load(table, tmp_path):
    fitted = Novel().fit(table.head(50))
    loaded = Novel.load(fitted.save(tmp_path / "novel"))
    assert np.array_equal(loaded.keep(table), fitted.keep(table))


def test_unique_keeps_first_of_each_composition():
    keys = Compositions.from_formulas(["YBa2Cu3O7", "MgB2", "Y2Ba4Cu6O14", "MgB2"]).keys()
    assert Unique().keep(pd.DataFrame({"composition_key": keys})).tolist() == [True, True, False, False]


def test_elements_rules():
    rows = frame("YBa2Cu3O7", "MgB2", "LaFeAsO", "Nb3Sn", "")
    assert Elements(must_contain=["Cu", "O"]).keep(rows).tolist() == [True, False, False, False, False]
    assert Elements(must_contain_any=["Fe", "Sn"]).keep(rows).tolist() == [False, False, True, True, False]
    assert Elements(must_not_contain=["O"]).keep(rows).tolist() == [False, True, False, True, False]
    assert Elements(min_elements=3, max_elements=4).keep(rows).tolist() == [True, False, True, False, False]


def test_elements_validates_symbols():
    with pytest.raises(pydantic.ValidationError, match="did you mean 'Cu'"):
        Elements(must_contain=["cu"])
    with pytest.raises(pydantic.ValidationError, match="exceeds"):
        Elements(min_elements=4, max_elements=2)


def test_threshold_bounds_and_nan():
    rows = pd.DataFrame({"tc": [5.0, 10.0, 30.0, np.nan]})
    assert Threshold(gt=10).keep(rows).tolist() == [False, False, True, False]
    assert Threshold(ge=10, le=30).keep(rows).tolist() == [False, True, True, False]
    assert Threshold(lt=10).keep(rows).tolist() == [True, False, False, False]
    assert Threshold(column="tc_pred", gt=1).columns() == ("tc_pred",)


def test_threshold_validation_and_bad_columns():
    for bad in ({"gt": 1, "ge": 2}, {"lt": 1, "le": 2}, {"gt": 5, "lt": 5}, {"ge": 6, "le": 5}):
        with pytest.raises(pydantic.ValidationError):
            Threshold(**bad)
    with pytest.raises(pydantic.ValidationError, match="at least one bound"):
        Threshold(column="tc")
    with pytest.raises(UserError, match="did you mean 'tc'"):
        Threshold(column="tcc", gt=1).keep(pd.DataFrame({"tc": [1.0]}))
    with pytest.raises(UserError, match="numbers"):
        Threshold(gt=1).keep(pd.DataFrame({"tc": ["high"]}))


@pytest.mark.parametrize("cls", [Threshold, Values])
def test_strict_filters_declare_example_params(cls):
    check_component_class(cls)
    assert cls(cls.example_params).params.model_dump(exclude_defaults=True)


def test_values_allowed_or_excluded(table):
    rows = pd.DataFrame({"class": ["cuprate", "pnictide", None, "cuprate"]})
    assert Values(allowed=["cuprate"]).keep(rows).tolist() == [True, False, False, True]
    assert Values(excluded=["cuprate"]).keep(rows).tolist() == [False, True, True, False]
    for bad in ({"allowed": ["a"], "excluded": ["b"]}, {}):
        with pytest.raises(pydantic.ValidationError, match="exactly one of 'allowed' or 'excluded'"):
            Values(column="class", **bad)
    cuprates = Values(allowed=["cuprate"]).keep(table)
    assert set(table.loc[cuprates, "class"]) == {"cuprate"}


def test_plugin_import_loads_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys, sctk_composition.plugin; "
        "print([m for m in ('smact', 'pymatgen', 'matminer', 'scipy') if m in sys.modules])"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_both_neutrality_searches_agree_on_real_formulas(supercon_slice):
    """The set search and the bit search give the same answer on ~2,000 real formulas and ~650
    many-element ones (three real formulas written as one), with SMACT's default states."""
    from sctk_composition.smact_valid import _met_in_the_middle, _oxidation_data, _zero_reachable

    states_of = _oxidation_data("default").states
    formulas = supercon_slice["formula"].tolist()
    formulas += [a + b + c for a, b, c in zip(formulas[0::3], formulas[1::3], formulas[2::3])]
    counts, code = integer_counts(Compositions.from_formulas(formulas).amounts)
    answers = []
    for row in counts[code == 0]:
        columns = np.flatnonzero(row)
        states = [states_of[c] for c in columns]
        if len(columns) < 2 or not all(states) or np.prod([len(s) for s in states]) > 10**8:
            continue
        n = [int(row[c]) for c in columns]
        split = len(n) // 2
        answers.append((_met_in_the_middle(n, states, split), _zero_reachable(n, states), len(n)))
    assert len(answers) > 2000 and sum(k >= 8 for *_, k in answers) > 300
    assert any(a for a, *_ in answers) and not all(a for a, *_ in answers)
    assert [a for a, *_ in answers] == [b for _, b, _ in answers]


def test_many_element_formulas_are_judged_without_enumerating_combinations():
    """45 elements (as an under-trained generator writes): about 4**45 combinations, judged at once."""
    from sctk_composition.smact_valid import _can_be_neutral, _oxidation_data, _zero_reachable

    states_of = _oxidation_data("default").states
    columns = [c for c in range(86) if len(states_of[c]) >= 2][:45]
    rng = np.random.default_rng(0)
    for _ in range(5):
        n = [int(x) for x in rng.integers(1, 4000, len(columns))]
        states = [states_of[c] for c in columns]
        assert _can_be_neutral(n, states) == _zero_reachable(n, states)
