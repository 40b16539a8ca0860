"""The site-valence encoder: nominal Cu and Fe valence by charge balance, and Presland's cuprate dome."""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit.registry import default_registry
from sc_toolkit.testing import check_encoder
from sctk_composition.site_valence import SiteValence


def test_contract_on_real_formulas(supercon_slice):
    X = check_encoder(SiteValence(), supercon_slice)
    has_cu_and_o = supercon_slice["formula"].str.contains("Cu") & supercon_slice["formula"].str.contains("O")
    cuprate_valence = X[np.isfinite(X[:, 0]), 0]
    assert len(cuprate_valence) > 0.3 * has_cu_and_o.sum()
    assert 2.0 <= np.median(cuprate_valence) <= 2.4, "most SuperCon cuprates are hole doped"
    assert np.isfinite(X[:, 1]).sum() == len(cuprate_valence)


@pytest.mark.parametrize(
    ("formula", "cu", "fe"),
    [
        ("La1.85Sr0.15CuO4", 2.15, np.nan),
        ("Nd1.85Ce0.15CuO4", 1.85, np.nan),  # electron doped: Ce4+
        ("YBa2Cu3O7", 7 / 3, np.nan),
        ("Y2Ba4Cu6O14", 7 / 3, np.nan),  # the written scale does not matter
        ("KFe2As2", np.nan, 2.5),
        ("Rb0.8Fe2Se2", np.nan, 1.6),
        ("MgB2", np.nan, np.nan),
        ("Cu", np.nan, np.nan),  # Cu without O is no cuprate
    ],
)
def test_valences_by_hand(formula, cu, fe):
    valence_cu, dome, valence_fe = SiteValence().encode([formula])[0]
    np.testing.assert_allclose([valence_cu, valence_fe], [cu, fe], rtol=1e-9)
    if np.isfinite(cu):
        assert dome == pytest.approx(1 - 82.6 * (cu - 2 - 0.16) ** 2)
    else:
        assert np.isnan(dome)


def test_magpie_appends_the_same_columns_last():
    formulas = ["La1.85Sr0.15CuO4", "KFe2As2", "Nb3Sn"]
    magpie = default_registry().get("encoder", "magpie")
    plain = magpie(append_fractions=True).encode(formulas)
    extended = magpie(append_fractions=True, append_site_valence=True)
    X = extended.encode(formulas)
    assert X.shape == (3, plain.shape[1] + 3) and len(extended.feature_labels()) == X.shape[1]
    np.testing.assert_array_equal(X[:, : plain.shape[1]], plain)
    np.testing.assert_array_equal(X[:, -3:], SiteValence().encode(formulas))
    assert extended.feature_labels()[-3:] == ["valence_Cu", "cuprate_dome", "valence_Fe"]
    assert extended.provenance()["append_site_valence"] is True
