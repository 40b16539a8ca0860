"""sodnet: predictor contract on real graphs, rotation/reflection invariance, seeding, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit import UserError
from sc_toolkit.testing import check_predictor
from sctk_crystal.sodnet import SODNet


@pytest.fixture(scope="module")
def fitted(graphs, table, tiny):
    return SODNet(tiny, epochs=2, n_models=2, seed=3).fit(graphs, table["tc"].to_numpy())


def test_predictor_contract(graphs, table, tiny):
    check_predictor(SODNet(tiny, epochs=1, n_models=2), graphs, table["tc"].to_numpy())


def test_invariant_under_rotation_reflection_translation(fitted, structures, small_encoder):
    from pymatgen.core import Lattice, Structure
    from scipy.spatial.transform import Rotation

    rotation = Rotation.random(random_state=7).as_matrix() @ np.diag([1.0, 1.0, -1.0])  # improper
    moved = [
        Structure(Lattice(s.lattice.matrix @ rotation.T), s.species_and_occu, (s.frac_coords + 0.37) % 1.0)
        for s in structures
    ]
    before = np.log(fitted.predict(small_encoder.encode(structures)))
    after = np.log(fitted.predict(small_encoder.encode(moved)))
    assert np.abs(before - after).max() < 1e-4


def test_seed_fixes_the_model_and_std_is_the_member_spread(fitted, graphs, table, tiny):
    again = SODNet(tiny, epochs=2, n_models=2, seed=3).fit(graphs, table["tc"].to_numpy())
    assert np.array_equal(fitted.predict(graphs), again.predict(graphs))
    other = SODNet(tiny, epochs=2, n_models=2, seed=4).fit(graphs, table["tc"].to_numpy())
    assert not np.allclose(fitted.predict(graphs), other.predict(graphs))
    mean, std = fitted.predict(graphs, return_std=True)
    assert mean.shape == std.shape == (len(graphs),) and (std > 0).all()


def test_targets_and_single_member(graphs, tiny):
    y = np.linspace(1.0, 20.0, len(graphs))
    with pytest.raises(UserError, match="Tc > 0"):
        SODNet(tiny, epochs=1, n_models=1).fit(graphs, y - 5.0)
    single = SODNet(tiny, epochs=1, n_models=1, log_target=False).fit(graphs, y - 5.0)
    with pytest.raises(UserError, match="ensemble"):
        single.predict(graphs, return_std=True)
