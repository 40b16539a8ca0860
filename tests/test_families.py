"""Superconductor families from element rules (sc_toolkit.chem.families)."""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit.chem import Compositions
from sc_toolkit.chem.families import SCHEMES, superconductor_class
from sc_toolkit.errors import UserError

KNOWN = {
    "YBa2Cu3O7": "cuprate",
    "La1.85Sr0.15CuO4": "cuprate",
    "LaFeAsO0.9F0.1": "iron-based",
    "Ba(Fe0.9Co0.1)2As2": "iron-based",
    "FeSe": "iron-based",
    "FeTe0.5Se0.5": "iron-based",
    "LaFePO": "iron-based",
    "MgB2": "other",
    "Nb3Sn": "other",
    "LaNiAsO": "other",  # nickel pnictide: the iron rule needs Fe
    "Fe2O3": "other",  # Fe without a pnictogen or chalcogen
    "CuS": "other",  # Cu without O
}


def test_known_formulas():
    formulas = list(KNOWN)
    assert superconductor_class(formulas).tolist() == [KNOWN[f] for f in formulas]


def test_accepts_compositions_and_tables():
    import pandas as pd

    comps = Compositions.from_formulas(["YBa2Cu3O7", "MgB2"])
    expected = ["cuprate", "other"]
    assert superconductor_class(comps).tolist() == expected
    assert superconductor_class(pd.DataFrame({"formula": ["YBa2Cu3O7", "MgB2"]})).tolist() == expected


def test_both_rules_depend_on_scheme():
    intergrowth = ["Sr2CuO2Fe2As2"]  # Cu-O planes and Fe-As layers
    assert superconductor_class(intergrowth, scheme="scgan").tolist() == ["cuprate"]
    assert superconductor_class(intergrowth, scheme="lim").tolist() == ["both"]


def test_lim_both_is_cu_and_fe_in_either_family():
    # real SuperCon formulas: an Fe-substituted cuprate and a Cu-substituted iron pnictide
    formulas = ["Y1Ba2Cu2.98Fe0.02O7", "Ba1Fe1.856Cu0.088As2", "Cu1Fe2"]
    assert superconductor_class(formulas, scheme="scgan").tolist() == ["cuprate", "iron-based", "other"]
    assert superconductor_class(formulas, scheme="lim").tolist() == ["both", "both", "other"]


def test_lim_equals_scgan_except_both():
    formulas = list(KNOWN) + ["Sr2CuO2Fe2As2", "Ba1Fe1.856Cu0.088As2"]
    scgan = superconductor_class(formulas, scheme="scgan")
    lim = superconductor_class(formulas, scheme="lim")
    assert np.array_equal(lim[lim != "both"], scgan[lim != "both"])
    assert set(scgan[lim == "both"]) == {"cuprate", "iron-based"}
    assert set(lim) <= set(SCHEMES["lim"]) and set(scgan) <= set(SCHEMES["scgan"])


def test_empty_batch():
    assert superconductor_class(Compositions.from_formulas([])).shape == (0,)


def test_unknown_scheme_suggests():
    with pytest.raises(UserError, match="did you mean 'lim'"):
        superconductor_class(["MgB2"], scheme="Lim")
