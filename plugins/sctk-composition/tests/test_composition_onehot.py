"""ScGAN's and Lim's adjusted one-hot encoders on real SuperCon formulas: contracts, the values of
the papers' examples, round trips, and decoding of generated (noisy) arrays."""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit import Compositions, UserError
from sc_toolkit.chem.elements import INDEX
from sc_toolkit.testing import check_encoder
from sctk_composition import LimMatrix, ScganOnehot

#: A SuperCon formula (Stanev 2018, row 1); Lim's slide shows its weights 0.4, 0.625, 1, 0.997.
EXAMPLE = "Ca0.4Ba1.25La1.25Cu3O6.98"


@pytest.fixture(scope="module")
def compositions(supercon_slice) -> Compositions:
    """The slice's compositions made of H..Pu only (both encoders' elements; drops e.g. Am0.01Si2Th1)."""
    all_ = Compositions.from_formulas(supercon_slice["formula"])
    return all_[(all_.amounts[:, 94:] == 0).all(axis=1)]


@pytest.mark.parametrize(("cls", "shape"), [(ScganOnehot, (96, 8)), (LimMatrix, (2, 94, 11))])
def test_contract_on_real_formulas(cls, shape, compositions):
    X = check_encoder(cls(), compositions)
    assert X.shape == (len(compositions), *shape) and len(compositions) > 1900
    assert len(cls().feature_labels()) == int(np.prod(shape))


def test_scgan_places_amounts_at_the_nearest_integer_row():
    X = ScganOnehot().encode([EXAMPLE, "Nb1.5Sn2.5", "Ba8Si46"])
    example = {s: X[0, INDEX[s]] for s in ("Ca", "Ba", "Cu", "O", "H")}
    assert example["Ca"].tolist() == [0, 0.4, 0, 0, 0, 0, 0, 0]
    assert example["Ba"].tolist() == [0, 1.25, 0, 0, 0, 0, 0, 0]  # nearest integer to 1.25 is 1
    assert example["Cu"].tolist() == [0, 0, 0, 1.0, 0, 0, 0, 0]
    assert np.argmax(example["O"]) == 7 and example["O"][7] == pytest.approx(6.98 / 7)
    assert example["H"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0]  # absent: a 1 in row 0
    assert X[1, INDEX["Nb"], 2] == 0.75 and X[1, INDEX["Sn"], 3] == pytest.approx(2.5 / 3)  # halves up
    assert X[2, INDEX["Si"], 7] == pytest.approx(46 / 7)  # beyond 7: row 7, value above 1
    assert (np.count_nonzero(X, axis=2) == 1).all()


def test_lim_matches_the_slide_example():
    X = LimMatrix().encode([EXAMPLE])[0]
    onehot, weight = X
    expected = {"Ca": (1, 0.4), "Ba": (2, 0.625), "La": (2, 0.625), "Cu": (3, 1.0), "O": (7, 6.98 / 7)}
    for symbol, (row, value) in expected.items():
        assert np.flatnonzero(onehot[INDEX[symbol]]).tolist() == [row]
        assert np.flatnonzero(weight[INDEX[symbol]]).tolist() == [row]
        assert weight[INDEX[symbol], row] == pytest.approx(value)
    absent = [i for i in range(94) if i not in {INDEX[s] for s in expected}]
    assert (onehot[absent, 0] == 1).all() and (weight[absent, 0] == 1).all()
    assert onehot.sum() == 94 and np.count_nonzero(weight) == 94


@pytest.mark.parametrize("cls", [ScganOnehot, LimMatrix])
def test_round_trip_gives_the_amounts_back(cls, compositions):
    encoder = cls()
    decoded = encoder.decode(encoder.encode(compositions))
    assert np.abs(decoded.amounts - compositions.amounts).max() <= 5e-4 + 1e-12  # rounded to 3 decimals
    exact = cls(decimals=6).decode(encoder.encode(compositions))
    assert np.allclose(exact.amounts, compositions.amounts, atol=1e-6)
    assert cls().decode(encoder.encode(["Ba8Si46"])).formulas == ["Ba8Si46"]


@pytest.mark.parametrize("cls", [ScganOnehot, LimMatrix])
def test_decode_generated_arrays(cls):
    encoder = cls()
    rng = np.random.default_rng(0)
    shape = encoder.encode(["MgB2"]).shape[1:]
    noise = rng.normal(0.0, 0.05, size=(4, *shape))
    noise[(slice(None), *([0] * (len(shape) - 2)), slice(None), 0)] += 1.0  # mostly "absent"
    clean = encoder.encode(["YBa2Cu3O7"])[0]
    noise[0] = clean + rng.normal(0.0, 0.01, size=shape)
    decoded = encoder.decode(noise.reshape(4, -1))  # flattened, as a generator returns them
    ybco = decoded.as_dicts()[0]
    assert set(ybco) == {"Y", "Ba", "Cu", "O"} and abs(ybco["O"] - 7) < 0.2
    assert (decoded.amounts >= 0).all() and len(decoded) == 4
    with pytest.raises(UserError, match="decodes arrays of shape"):
        encoder.decode(np.zeros((2, 7)))


@pytest.mark.parametrize(("cls", "formula"), [(ScganOnehot, "Bk1Pt2"), (LimMatrix, "Am1Pt2")])
def test_elements_beyond_the_list_are_refused(cls, formula):
    with pytest.raises(UserError, match="beyond the"):
        cls().encode([formula])
