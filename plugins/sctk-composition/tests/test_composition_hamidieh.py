"""The hamidieh encoder: Hamidieh's 81 composition statistics (number of elements + 8 properties x 10)."""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit.registry import default_registry
from sc_toolkit.testing import check_encoder
from sctk_composition.hamidieh import HamidiehStatistics


def test_contract_on_real_formulas(supercon_slice):
    X = check_encoder(HamidiehStatistics(), supercon_slice.head(300))
    assert X.shape == (300, 81) and np.isfinite(X).all()
    labels = HamidiehStatistics().feature_labels()
    assert labels[:3] == ["number_of_elements", "mean_atomic_mass", "wtd_mean_atomic_mass"]
    assert labels[-1] == "wtd_std_Valence" and len(set(labels)) == 81


def test_first_row_of_hamidieh_train_csv():
    """Ba0.2La1.8Cu1O4, the first row of the UCI table: the atomic-mass features of train.csv."""
    x = dict(zip(HamidiehStatistics().feature_labels(), HamidiehStatistics().encode(["Ba0.2La1.8Cu1O4"])[0]))
    expected = {
        "number_of_elements": 4, "mean_atomic_mass": 88.9444675, "wtd_mean_atomic_mass": 57.862692,
        "gmean_atomic_mass": 66.361592, "wtd_gmean_atomic_mass": 36.116594, "entropy_atomic_mass": 1.181795,
        "wtd_entropy_atomic_mass": 1.062396, "range_atomic_mass": 122.90607, "wtd_range_atomic_mass": 31.794921,
        "std_atomic_mass": 51.968828, "wtd_std_atomic_mass": 53.622535,
    }  # fmt: skip
    for key, value in expected.items():
        assert x[key] == pytest.approx(value, rel=1e-5), key


def test_definitions_on_a_binary():
    """Cu2O by hand: t = (Cu, O) masses, p = (2/3, 1/3)."""
    labels = HamidiehStatistics().feature_labels()
    x = dict(zip(labels, HamidiehStatistics().encode(["Cu2O"])[0]))
    t, p = np.array([63.546, 15.9994]), np.array([2 / 3, 1 / 3])
    w = t / t.sum()
    a = p * w / (p * w).sum()
    assert x["mean_atomic_mass"] == pytest.approx(t.mean(), rel=1e-4)
    assert x["wtd_mean_atomic_mass"] == pytest.approx((p * t).sum(), rel=1e-4)
    assert x["gmean_atomic_mass"] == pytest.approx(np.sqrt(t.prod()), rel=1e-4)
    assert x["wtd_gmean_atomic_mass"] == pytest.approx(np.prod(t**p), rel=1e-4)
    assert x["entropy_atomic_mass"] == pytest.approx(-(w * np.log(w)).sum(), rel=1e-4)
    assert x["wtd_entropy_atomic_mass"] == pytest.approx(-(a * np.log(a)).sum(), rel=1e-4)
    assert x["wtd_range_atomic_mass"] == pytest.approx(np.ptp(p * t), rel=1e-4)
    assert x["std_atomic_mass"] == pytest.approx(t.std(), rel=1e-4)
    assert x["wtd_std_atomic_mass"] == pytest.approx(np.sqrt((p * (t - (p * t).sum()) ** 2).sum()), rel=1e-4)


def test_single_element_and_zero_property_and_registry():
    labels = HamidiehStatistics().feature_labels()
    x = dict(zip(labels, HamidiehStatistics().encode(["Nb"])[0]))
    assert x["number_of_elements"] == 1 and x["range_atomic_mass"] == 0 and x["entropy_atomic_mass"] == 0
    assert x["std_atomic_mass"] == 0 and x["mean_atomic_mass"] == pytest.approx(x["wtd_gmean_atomic_mass"])
    he = dict(zip(labels, HamidiehStatistics().encode(["HeCu"])[0]))  # He has electron affinity 0
    assert he["gmean_ElectronAffinity"] == 0 and he["entropy_ElectronAffinity"] == 0
    assert default_registry().get("encoder", "hamidieh") is HamidiehStatistics
