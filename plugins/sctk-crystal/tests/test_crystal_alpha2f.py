"""alpha2f-ensemble: spectra / moments / Tc training, non-negative spectra, moments consistent with
eliashberg, save/load, and the tempered early stopping schedule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sc_toolkit import UserError
from sc_toolkit.testing import check_predictor
from sctk_crystal._nets import TemperedStopper
from sctk_crystal.alpha2f import Alpha2FEnsemble
from sctk_crystal.eliashberg import N_BINS, spectrum_summary


@pytest.fixture(scope="module")
def quick(tiny):
    return {**tiny, "epochs": 2, "n_models": 2, "patience_stages": (2, 2, 2), "seed": 1}


def test_contract_trained_on_tc(graphs, table, quick):
    check_predictor(Alpha2FEnsemble(quick), graphs, table["tc"].to_numpy())


def test_moments_training_and_outputs(graphs, quick):
    moments = pd.DataFrame({"lambda": np.linspace(0.3, 1.5, len(graphs)), "omega_log": np.linspace(150, 400, len(graphs))})
    model = Alpha2FEnsemble(quick).fit(graphs, moments)
    assert model.mode_ == "moments"
    mean, std = model.predict_spectrum(graphs)
    assert mean.shape == std.shape == (len(graphs), N_BINS) and (mean >= 0).all()
    table = model.predict_moments(graphs)
    summary = spectrum_summary(mean, model.params.mu_star)
    for key, value in summary.items():
        assert np.allclose(table[key], value) and (table[f"{key}_std"] >= 0).all()
    tc, tc_std = model.predict(graphs, return_std=True)
    assert np.allclose(tc, summary["tc_allen_dynes"]) and np.allclose(tc_std, table["tc_allen_dynes_std"])


def test_spectrum_training_and_bad_targets(graphs, quick, tmp_path):
    rng = np.random.default_rng(0)
    spectra = rng.random((len(graphs), N_BINS)) * 0.2
    model = Alpha2FEnsemble(quick, n_models=1).fit(graphs, spectra)
    assert model.mode_ == "spectrum"
    loaded = Alpha2FEnsemble.load(model.save(tmp_path / "a2f"))
    assert np.allclose(loaded.predict_spectrum(graphs)[0], model.predict_spectrum(graphs)[0])
    with pytest.raises(UserError, match="do not fit"):
        Alpha2FEnsemble(quick).fit(graphs, spectra[:, :7])
    with pytest.raises(UserError, match="NaN"):
        Alpha2FEnsemble(quick).fit(graphs, np.full(len(graphs), np.nan))


def test_tempered_stopping_follows_the_bump():
    stopper = TemperedStopper((2, 3, 2))
    # descent, stall (stage 1 ends), climb over the bump, second descent (stage 3), stall -> stop
    losses = [5, 4, 4.5, 4.6, 4.8, 5.0, 4.9, 4.7, 4.5, 3.0, 3.5, 3.6]
    kept, stops = [], []
    for epoch, loss in enumerate(losses):
        keep, stop = stopper.update(loss)
        kept += [epoch] if keep else []
        stops += [epoch] if stop else []
    assert kept[:2] == [0, 1] and 9 in kept and not set(kept) & {2, 3, 4, 5, 6, 7}
    assert stops == [11] and stopper.stage == 3


def test_log_loss_and_mcmillan_output(graphs, table, quick):
    import torch

    from sctk_crystal.alpha2f import _loss_space

    moments = np.array([[0.5, 200.0], [-0.04, 0.0]])
    for mode, values in (("moments", moments), ("tc", np.array([[3.0], [0.0]]))):
        as_numpy = _loss_space(values, mode, "log")
        assert np.allclose(as_numpy, _loss_space(torch.tensor(values), mode, "log").numpy())
        assert np.isfinite(as_numpy).all() and _loss_space(values, mode, "mse") is values
    assert np.allclose(_loss_space(moments, "moments", "log")[0], np.log([0.51, 201.0]))
    model = Alpha2FEnsemble(quick, loss="log", tc_formula="mcmillan", mu_star=0.085).fit(graphs, table["tc"].to_numpy())
    table_ = model.predict_moments(graphs)
    tc, tc_std = model.predict(graphs, return_std=True)
    assert np.allclose(tc, table_["tc_mcmillan"]) and np.allclose(tc_std, table_["tc_mcmillan_std"])
    assert np.isfinite(model.histories_[0]["best_valid"])
