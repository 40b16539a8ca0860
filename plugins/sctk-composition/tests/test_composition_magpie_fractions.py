"""The magpie encoder's ``append_fractions`` option: Magpie features, then element fractions H..Cm."""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit import UserError
from sc_toolkit.registry import default_registry
from sc_toolkit.testing import check_encoder
from sctk_composition import ElementFractions, Magpie


def test_append_fractions_is_magpie_then_element_fractions(supercon_slice):
    rows = supercon_slice.head(300)
    combined = check_encoder(Magpie(append_fractions=True), rows)
    assert combined.shape == (300, 132 + 96)
    assert np.array_equal(combined[:, :132], Magpie().encode(rows), equal_nan=True)
    assert np.array_equal(combined[:, 132:], ElementFractions(max_z=96).encode(rows))
    assert np.allclose(combined[:, 132:].sum(axis=1), 1.0)


def test_append_fractions_labels():
    labels = Magpie(append_fractions=True).feature_labels()
    assert labels[:132] == Magpie().feature_labels()
    assert labels[132:135] == ["frac_H", "frac_He", "frac_Li"]
    assert labels[-1] == "frac_Cm" and len(labels) == 228 and len(set(labels)) == 228


def test_append_fractions_values_and_default_off():
    X = Magpie(append_fractions=True).encode(["YBa2Cu3O7"])
    labels = Magpie(append_fractions=True).feature_labels()
    fractions = dict(zip(labels[132:], X[0, 132:]))
    assert fractions["frac_Y"] == pytest.approx(1 / 13) and fractions["frac_O"] == pytest.approx(7 / 13)
    assert Magpie().encode(["YBa2Cu3O7"]).shape == (1, 132)
    assert Magpie().provenance()["append_fractions"] is False


def test_append_fractions_rejects_elements_beyond_cm_and_is_registered():
    with pytest.raises(UserError, match="Bk"):
        Magpie(append_fractions=True).encode(["CuBk"])
    assert Magpie().encode(["CuBk"]).shape == (1, 132)  # Magpie alone covers all 118 elements
    encoder = default_registry().get("encoder", "magpie")(append_fractions=True)
    assert len(encoder.feature_labels()) == 228
