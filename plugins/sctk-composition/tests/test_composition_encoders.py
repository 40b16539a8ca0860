"""Encoders on real SuperCon formulas: contracts, element-fraction round trips, Magpie vs matminer."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sc_toolkit import Compositions, UserError
from sc_toolkit.testing import check_encoder
from sctk_composition import ElementFractions, Magpie


@pytest.fixture(scope="module")
def compositions(supercon_slice) -> Compositions:
    return Compositions.from_formulas(supercon_slice["formula"])


def test_element_fractions_contract_on_real_formulas(supercon_slice):
    X = check_encoder(ElementFractions(max_z=118, min_fraction=0.0, decimals=4), supercon_slice)
    assert X.shape == (len(supercon_slice), 118)
    assert np.allclose(X.sum(axis=1), 1.0)


def test_element_fractions_round_trip_with_defaults(compositions):
    encoder = ElementFractions()
    fractions = compositions.fractions
    ordinary = (fractions[:, 96:] == 0).all(axis=1) & ((fractions == 0) | (fractions >= 0.01)).all(axis=1)
    real = compositions[ordinary]
    decoded = encoder.decode(encoder.encode(real))
    error = np.abs(decoded.fractions - real.fractions).max(axis=1)
    assert error.max() < 1.5e-3 and np.mean(error < 5e-4) > 0.98


@pytest.mark.parametrize(
    ("formula", "decoded"),
    [
        ("YBa2Cu3O7", "Ba2YCu3O7"),
        ("La1.85Sr0.15CuO4", "Sr0.15La1.85CuO4"),
        ("Al2O3", "Al2O3"),
        ("Ba8Si46", "Ba4Si23"),
        ("MgB2", "MgB2"),
    ],
)
def test_element_fractions_decodes_readable_formulas(formula, decoded):
    encoder = ElementFractions()
    assert encoder.decode(encoder.encode([formula])).formulas == [decoded]


def test_element_fractions_amount_step_snaps_noisy_rows_onto_the_grid():
    encoder = ElementFractions(amount_step=0.05)
    exact = encoder.encode(["YBa2Cu3O7", "La1.85Sr0.15CuO4", "Bi2Sr2CaCu2O8.2"])
    assert encoder.decode(exact).formulas == ["Ba2YCu3O7", "Sr0.15La1.85CuO4", "Sr2CaCu2Bi2O8.2"]
    noisy = exact * (1 + np.random.default_rng(0).normal(0, 0.005, exact.shape))
    assert encoder.decode(noisy[:1]).formulas == ["Ba2YCu3O7"]
    amounts = encoder.decode(noisy).amounts
    assert np.allclose(amounts / 0.05, np.round(amounts / 0.05))  # every amount a multiple of the step
    assert ElementFractions().decode(noisy[:1]).formulas != ["Ba2YCu3O7"]  # 2 decimals keep the noise


def test_element_fractions_decode_cleans_generated_rows():
    encoder = ElementFractions()
    row = np.zeros(96)
    row[[28, 7]] = [0.5, 0.5]  # Cu, O
    row[0] = 0.004  # H below min_fraction
    row[1] = -0.2  # negative He
    empty = np.full(96, -0.1)
    decoded = encoder.decode(np.stack([row, empty]))
    assert decoded.formulas == ["CuO", ""]
    assert decoded.amounts[1].sum() == 0


def test_element_fractions_rejects_elements_beyond_max_z():
    with pytest.raises(UserError, match="CfB6"):
        ElementFractions().encode(["MgB2", "CfB6"])


def test_element_fractions_decode_checks_width():
    with pytest.raises(UserError, match="96"):
        ElementFractions().decode(np.zeros((2, 10)))


@pytest.mark.parametrize(("impute_nan", "n_rows"), [(True, 1000), (False, 200)])
def test_magpie_equals_matminer_on_real_formulas(compositions, impute_nan, n_rows):
    pytest.importorskip("matminer")
    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Composition

    sample = compositions[np.arange(n_rows)]
    encoder = Magpie(impute_nan=impute_nan)
    ours = encoder.encode(sample)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = ElementProperty.from_preset("magpie", impute_nan=impute_nan)
        theirs = np.array([reference.featurize(Composition(d)) for d in sample.as_dicts()], dtype=float)
    assert encoder.feature_labels() == reference.feature_labels()
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    assert np.allclose(ours, theirs, rtol=1e-6, atol=1e-9, equal_nan=True)


def test_magpie_nan_handling_for_elements_without_data():
    from sctk_composition.magpie import element_table

    missing = np.isnan(element_table(False)).any(axis=1)
    symbol_row = int(np.flatnonzero(missing)[-1])
    formula = [f"Cu{Compositions.from_matrix(np.eye(118)[[symbol_row]]).formulas[0]}"]
    assert np.isnan(Magpie(impute_nan=False).encode(formula)).any()
    assert np.isfinite(Magpie(impute_nan=True).encode(formula)).all()


def test_magpie_contract_and_provenance(supercon_slice):
    encoder = Magpie()
    X = check_encoder(encoder, supercon_slice.head(300))
    assert X.shape == (300, 132)
    assert set(encoder.provenance()) >= {"matminer", "impute_nan"}
