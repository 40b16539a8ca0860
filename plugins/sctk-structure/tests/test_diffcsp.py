"""diffcsp: structure-generator contract on real SuperCon3D crystals, invariances of the CSPNet
denoiser, periodicity of the wrapped-normal score, Tc guidance (scale 0 = unguided)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sc_toolkit import UserError
from sc_toolkit.testing import check_structure_generator

#: Tiny, fast settings: a network trained for a second and a short diffusion.
TINY = {"hidden": 16, "layers": 2, "n_frequencies": 4, "timesteps": 10, "epochs": 2, "batch_size": 4, "device": "cpu",
        "seed": 0}  # fmt: skip
#: SuperCon3D CIFs: 5 ordered (MgB2 among them), 1 disordered (skipped by fit).
CIF_FILES = ["671985.cif", "652507.cif", "53035.cif", "104763.cif", "412573.cif", "82339.cif"]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def crystals(data_dir):
    from pymatgen.core import Structure

    from sc_toolkit.data import load

    table = load("supercon3d").table.set_index("cif_file").loc[CIF_FILES]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        structures = [Structure.from_str(cif, fmt="cif") for cif in table["cif"]]
    return structures, table["tc"].to_numpy()


@pytest.fixture(scope="module")
def fitted(crystals):
    from sctk_structure.diffcsp.model import DiffCSP

    structures, tc = crystals
    return DiffCSP(TINY).fit(structures, tc)


def test_structure_generator_contract(crystals):
    from sctk_structure.diffcsp.model import DiffCSP

    structures, _ = crystals
    generator = DiffCSP(TINY)
    out = check_structure_generator(generator, structures, ["MgB2", "NbSe2", "La3Ni2O7"], k=2)
    assert generator.skipped_["disordered"] == sum(not s.is_ordered for s in structures) >= 1
    assert any(out), "a few seconds of training still give structures (degenerate lattices are dropped)"


def test_composition_without_small_integer_formula_gets_no_structure(fitted):
    assert fitted.generate(["MoC0.013"], k=2, random_state=1) == [[]]
    assert len(fitted.generate(["MgB2"], k=1, random_state=1)[0]) == 1


def _batch_of(structure, permutation=None, shift=0.0):
    import torch

    from sctk_structure.diffcsp.cells import structure_arrays
    from sctk_structure.diffcsp.cspnet import CrystalBatch

    species, coords, lattice = structure_arrays(structure)
    if permutation is not None:
        species, coords = species[permutation], coords[permutation]
    coords = np.mod(coords + shift, 1.0)
    return CrystalBatch.of(torch.tensor(species), torch.tensor(coords, dtype=torch.float32),
                           torch.tensor(lattice[None] / 4.0, dtype=torch.float32), torch.tensor([len(species)]))  # fmt: skip


def test_denoiser_permutation_equivariant_and_translation_consistent(fitted, crystals):
    import torch

    structure = crystals[0][4]  # Sn4Ir, 20 atoms of two elements
    net = fitted.denoiser_
    t = torch.tensor([3])
    with torch.no_grad():
        eps, score = net(_batch_of(structure), t)
        permutation = np.random.default_rng(0).permutation(len(structure))
        eps_p, score_p = net(_batch_of(structure, permutation), t)
        eps_s, score_s = net(_batch_of(structure, shift=np.array([0.37, -0.81, 0.5])), t)
    assert torch.allclose(eps, eps_p, atol=1e-5) and torch.allclose(score[permutation], score_p, atol=1e-5)
    assert torch.allclose(eps, eps_s, atol=1e-4) and torch.allclose(score, score_s, atol=1e-4)


def test_denoiser_lattice_output_rotates_with_the_lattice(fitted, crystals):
    import torch
    from scipy.spatial.transform import Rotation

    batch = _batch_of(crystals[0][0])
    rotation = torch.tensor(Rotation.random(random_state=3).as_matrix() @ np.diag([1.0, 1.0, -1.0]), dtype=torch.float32)
    with torch.no_grad():
        eps, score = fitted.denoiser_(batch, torch.tensor([5]))
        eps_r, score_r = fitted.denoiser_(batch.replace(lattices=batch.lattices @ rotation.T), torch.tensor([5]))
    assert torch.allclose(eps @ rotation.T, eps_r, atol=1e-5) and torch.allclose(score, score_r, atol=1e-5)


def test_wrapped_normal_score_is_periodic_and_odd():
    import torch

    from sctk_structure.diffcsp.wrapped_normal import score_norm, wrapped_normal_score

    x = torch.linspace(-0.49, 0.49, 41)
    sigma = torch.full_like(x, 0.3)
    for k in (-2.0, 1.0, 3.0):
        assert torch.allclose(wrapped_normal_score(x + k, sigma), wrapped_normal_score(x, sigma), atol=1e-4)
    assert torch.allclose(wrapped_normal_score(-x, sigma), -wrapped_normal_score(x, sigma), atol=1e-5)
    small = torch.full_like(x, 0.01)
    assert torch.allclose(wrapped_normal_score(x * 0.01, small), -x * 0.01 / 0.01**2, rtol=1e-3, atol=1e-2)
    norms = score_norm(torch.tensor([0.01, 0.1]))
    assert torch.allclose(norms, 1 / torch.tensor([0.01, 0.1]) ** 2, rtol=1e-2)  # 1/sigma^2 while sigma << 1


def test_guidance_scale_zero_equals_unguided_and_guidance_changes_samples(fitted):
    unguided = fitted.generate(["MgB2", "NbSe2"], k=2, random_state=4)
    fitted.params.guidance_scale = 0.0
    scale_zero = fitted.generate(["MgB2", "NbSe2"], k=2, random_state=4, target=80.0)
    fitted.params.guidance_scale = 5.0
    try:
        guided = fitted.generate(["MgB2", "NbSe2"], k=2, random_state=4, target=80.0)
    finally:
        fitted.params.guidance_scale = 0.0
    flat = lambda out: np.concatenate([s.frac_coords.ravel() for found in out for s in found])  # noqa: E731
    assert np.array_equal(flat(unguided), flat(scale_zero))
    assert not np.allclose(flat(unguided), flat(guided))


def test_steering_needs_the_tc_guide(crystals):
    from sctk_structure.diffcsp.model import DiffCSP

    generator = DiffCSP(TINY, epochs=1, guidance_scale=1.0).fit(crystals[0])
    with pytest.raises(UserError, match="Tc guide"):
        generator.generate(["MgB2"], target=30.0)
