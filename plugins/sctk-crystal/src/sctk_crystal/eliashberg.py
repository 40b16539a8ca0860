"""Moments of the Eliashberg spectral function alpha2F(omega) and the McMillan / Allen-Dynes Tc.

Every function takes numpy arrays or torch tensors (then it stays differentiable, for training
through the moments) with the spectrum on the last axis, so a batch of spectra is one call::

    a2f = np.zeros((2, N_BINS)); a2f[:, 10] = 5.0625        # lambda = 1 at 20.25 meV
    lam, w_log, w_2 = moments(a2f)                         # (2,), K, K
    tc = tc_allen_dynes(lam, w_log, w_2, mu_star=0.10)     # 17.19 K

Grid: BETE-NET's 51 bins, 0.25 to 100.25 meV in steps of 2 meV (``OMEGA_MEV``). With omega in meV
and k_B = 0.08617 meV/K:

- lambda    = 2 sum_i a2F_i / w_i dw
- omega_log = exp((2 / lambda) sum_i a2F_i ln(w_i) / w_i dw) / k_B    (K)
- omega_2   = sqrt((2 / lambda) sum_i a2F_i w_i dw) / k_B               (K)
- Tc_McMillan = omega_log / 1.2 exp(-1.04 (1 + lambda) / (lambda - mu* (1 + 0.62 lambda)))
- Tc_Allen-Dynes = f1 f2 Tc_McMillan with
  f1 = (1 + (lambda / (2.46 (1 + 3.8 mu*)))^(3/2))^(1/3) and
  f2 = 1 + lambda^2 (omega_2 / omega_log - 1) / (lambda^2 + (1.82 (1 + 6.3 mu*) omega_2 / omega_log)^2).

Tc is 0 where lambda <= mu* (1 + 0.62 lambda) (no superconductivity in the formula's range), and
omega_log = omega_2 = 0 where lambda <= 0. Masked branches never produce NaN gradients.
"""

from __future__ import annotations

import numpy as np

#: Bin centres of the alpha2F grid in meV (0.25, 2.25, ..., 100.25): 51 bins.
OMEGA_MEV = np.arange(0.25, 101.0, 2.0)
#: Bin width in meV.
D_OMEGA_MEV = 2.0
N_BINS = len(OMEGA_MEV)
#: Boltzmann constant in meV/K.
K_B_MEV = 0.08617


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _ops(x):
    """(exp, log, sqrt, where, grid) for numpy arrays or torch tensors like ``x``."""
    if _is_torch(x):
        import torch

        grid = torch.as_tensor(OMEGA_MEV, dtype=x.dtype, device=x.device)
        return torch.exp, torch.log, torch.sqrt, torch.where, grid
    return np.exp, np.log, np.sqrt, np.where, OMEGA_MEV


def moments(a2f):
    """(lambda, omega_log in K, omega_2 in K) of spectra ``a2f`` of shape (..., 51) on ``OMEGA_MEV``."""
    exp, log, sqrt, where, omega = _ops(a2f)
    if a2f.shape[-1] != N_BINS:
        raise ValueError(f"alpha2F needs {N_BINS} bins on the last axis, got shape {tuple(a2f.shape)}")
    weights = a2f / omega * D_OMEGA_MEV
    lam = 2.0 * weights.sum(-1)
    positive = lam > 0
    safe = where(positive, lam, 1.0 + 0.0 * lam)
    log_mean = (weights * log(omega)).sum(-1) * 2.0 / safe
    square_mean = (weights * omega**2).sum(-1) * 2.0 / safe
    omega_log = where(positive, exp(log_mean), 0.0 * lam) / K_B_MEV
    omega_2 = where(positive, sqrt(where(positive, square_mean, 1.0 + 0.0 * lam)), 0.0 * lam) / K_B_MEV
    return lam, omega_log, omega_2


def _superconducting(lam, mu_star):
    """Mask where the McMillan denominator lambda - mu* (1 + 0.62 lambda) is positive, and that
    denominator with 1 where it is not."""
    _, _, _, where, _ = _ops(lam)
    denominator = lam - mu_star * (1.0 + 0.62 * lam)
    ok = denominator > 0
    return ok, where(ok, denominator, 1.0 + 0.0 * lam)


def tc_mcmillan(lam, omega_log, mu_star: float = 0.10):
    """McMillan Tc (K) from lambda and omega_log (K); 0 where lambda <= mu* (1 + 0.62 lambda)."""
    exp, _, _, where, _ = _ops(lam)
    ok, denominator = _superconducting(lam, mu_star)
    tc = omega_log / 1.2 * exp(-1.04 * (1.0 + lam) / denominator)
    return where(ok, tc, 0.0 * tc)


def allen_dynes_factors(lam, omega_log, omega_2, mu_star: float = 0.10):
    """(f1, f2): Allen-Dynes strong-coupling and spectral-shape corrections (1 where omega_log = 0)."""
    _, _, _, where, _ = _ops(lam)
    f1 = (1.0 + (lam.clip(0.0) / (2.46 * (1.0 + 3.8 * mu_star))) ** 1.5) ** (1.0 / 3.0)
    has_log = omega_log > 0
    ratio = where(has_log, omega_2 / where(has_log, omega_log, 1.0 + 0.0 * lam), 1.0 + 0.0 * lam)
    f2 = 1.0 + lam**2 * (ratio - 1.0) / (lam**2 + (1.82 * (1.0 + 6.3 * mu_star) * ratio) ** 2)
    return f1, f2


def tc_allen_dynes(lam, omega_log, omega_2, mu_star: float = 0.10):
    """Allen-Dynes Tc (K) = f1 f2 Tc_McMillan; 0 where lambda <= mu* (1 + 0.62 lambda)."""
    f1, f2 = allen_dynes_factors(lam, omega_log, omega_2, mu_star)
    return f1 * f2 * tc_mcmillan(lam, omega_log, mu_star)


def spectrum_summary(a2f, mu_star: float = 0.10) -> dict:
    """Moments and both Tc of spectra ``a2f`` (..., 51): keys ``lambda``, ``omega_log``, ``omega_2``
    (K), ``tc_mcmillan``, ``tc_allen_dynes`` (K)."""
    lam, omega_log, omega_2 = moments(a2f)
    return {
        "lambda": lam,
        "omega_log": omega_log,
        "omega_2": omega_2,
        "tc_mcmillan": tc_mcmillan(lam, omega_log, mu_star),
        "tc_allen_dynes": tc_allen_dynes(lam, omega_log, omega_2, mu_star),
    }
