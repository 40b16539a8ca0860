"""alpha2F moments and Tc against every reference value of docs/science.md (numpy and torch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sctk_crystal.eliashberg import (
    D_OMEGA_MEV,
    N_BINS,
    OMEGA_MEV,
    moments,
    spectrum_summary,
    tc_allen_dynes,
    tc_mcmillan,
)


def _spectrum(bins_mev, lambdas):
    """A spectrum with the given lambda contribution in each named bin."""
    a2f = np.zeros(N_BINS)
    for w, lam in zip(bins_mev, lambdas, strict=True):
        i = int(np.argmin(np.abs(OMEGA_MEV - w)))
        assert OMEGA_MEV[i] == pytest.approx(w)
        a2f[i] = lam * w / (2 * D_OMEGA_MEV)
    return a2f


SINGLE = _spectrum([20.25], [1.0])
DOUBLE = _spectrum([10.25, 60.25], [0.5, 0.5])


def test_grid():
    assert N_BINS == 51 and OMEGA_MEV[0] == 0.25 and OMEGA_MEV[-1] == 100.25 and D_OMEGA_MEV == 2.0


@pytest.mark.parametrize(
    ("a2f", "mu_star", "expected"),
    [
        (SINGLE, 0.10, (1.0, 235.0, 235.0, 16.37, 17.19)),
        (SINGLE, 0.09, (1.0, 235.0, 235.0, 17.15, 18.06)),
        (DOUBLE, 0.10, (1.0, 288.4, 501.5, 20.08, 21.67)),
    ],
)
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_science_md_values(a2f, mu_star, expected, backend):
    x = torch.tensor(a2f, dtype=torch.float64) if backend == "torch" else a2f
    summary = spectrum_summary(x, mu_star=mu_star)
    got = [float(summary[k]) for k in ("lambda", "omega_log", "omega_2", "tc_mcmillan", "tc_allen_dynes")]
    # to the digits science.md gives: omegas to 0.1 K, Tc to 0.01 K
    assert got[:3] == pytest.approx(expected[:3], abs=0.05)
    assert got[3:] == pytest.approx(expected[3:], abs=0.005)


def test_batch_matches_single_and_torch_matches_numpy():
    rng = np.random.default_rng(0)
    batch = np.stack([SINGLE, DOUBLE, rng.random(N_BINS) * 0.3, np.zeros(N_BINS)])
    lam, w_log, w_2 = moments(batch)
    for i, row in enumerate(batch):
        assert np.allclose([lam[i], w_log[i], w_2[i]], moments(row))
    torch_out = [t.numpy() for t in moments(torch.tensor(batch))]
    assert np.allclose(torch_out, [lam, w_log, w_2])
    tc = tc_allen_dynes(lam, w_log, w_2)
    assert np.allclose(tc_allen_dynes(*[torch.tensor(v) for v in (lam, w_log, w_2)]).numpy(), tc)
    assert tc.shape == (4,) and tc[3] == 0 and w_log[3] == 0  # empty spectrum: lambda 0, no Tc


def test_guard_gives_zero_tc_and_finite_gradients():
    mu_star = 0.10
    threshold = mu_star / (1 - 0.62 * mu_star)  # lambda where lambda = mu* (1 + 0.62 lambda)
    lam = torch.tensor([0.5 * threshold, threshold, 1.5 * threshold, 1.0], dtype=torch.float64, requires_grad=True)
    w_log = torch.full((4,), 200.0, dtype=torch.float64)
    tc = tc_allen_dynes(lam, w_log, 1.2 * w_log, mu_star=mu_star)
    assert tc[0] == 0 and tc[1] == 0 and tc[2] > 0
    tc.sum().backward()
    assert torch.isfinite(lam.grad).all() and lam.grad[0] == 0
    assert tc_mcmillan(np.array([0.05]), np.array([300.0]))[0] == 0


def test_gradients_through_moments_of_an_empty_spectrum_are_finite():
    a2f = torch.zeros(2, N_BINS, dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        a2f[1] = torch.tensor(SINGLE)
    summary = spectrum_summary(a2f)
    sum(v.sum() for v in summary.values()).backward()
    assert torch.isfinite(a2f.grad).all()
