"""Predictions that say what they know: conformal intervals that cover, an applicability domain that
flags a foreign composition, Tc never negative, expected Tc, and a ranking that spreads its bets."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sc_toolkit
from sc_toolkit.run.calibration import ApplicabilityDomain, ConformalInterval
from sc_toolkit.run.tables import ranked

RECIPE = Path(__file__).parents[1] / "recipes" / "supercon_tc.toml"


def test_conformal_interval_covers_exchangeable_data_per_bin():
    rng = np.random.default_rng(0)
    n = 6000
    bins = rng.choice(["cuprate", "other"], n)
    noise = np.where(bins == "cuprate", 10.0, 1.0)  # one family far noisier than the other
    y_pred = rng.normal(30, 10, n)
    y_true = y_pred + rng.normal(0, 1, n) * noise
    cal, test = np.arange(n) < n // 2, np.arange(n) >= n // 2
    interval = ConformalInterval.calibrate(0.9, y_true[cal], y_pred[cal], None, bins[cal])
    low, high = interval.predict(y_pred[test], None, bins[test])
    covered = (y_true[test] >= low) & (y_true[test] <= high)
    assert abs(covered.mean() - 0.9) < 0.03
    for family in ("cuprate", "other"):  # Mondrian: each family gets the nominal coverage, not only the pool
        assert abs(covered[bins[test] == family].mean() - 0.9) < 0.04
    pooled = ConformalInterval.calibrate(0.9, y_true[cal], y_pred[cal], None, None)
    low, high = pooled.predict(y_pred[test], None, None)
    quiet = bins[test] == "other"
    assert ((y_true[test] >= low) & (y_true[test] <= high))[quiet].mean() > 0.99  # pooled: far too wide there


def test_interval_for_a_family_never_calibrated_falls_back_to_the_pool(tmp_path):
    rng = np.random.default_rng(1)
    residuals = rng.normal(0, 2, 500)
    interval = ConformalInterval.calibrate(0.8, residuals, np.zeros(500), None, np.array(["cuprate"] * 500))
    interval.save(tmp_path / "i.npz")
    loaded = ConformalInterval.load(tmp_path / "i.npz")
    low, high = loaded.predict(np.array([10.0, 10.0]), None, np.array(["cuprate", "iron-based"]))
    assert np.allclose(low, low[0]) and np.allclose(high, high[0]) and high[0] > 10 > low[0]


def test_domain_threshold_is_the_held_out_quantile(tmp_path):
    rng = np.random.default_rng(2)
    train, held_out = rng.normal(size=(800, 4)), rng.normal(size=(400, 4))
    domain = ApplicabilityDomain.calibrate(train, held_out, quantile=0.9)
    assert abs(domain.in_domain(domain.distance(held_out)).mean() - 0.9) < 0.01
    assert not domain.in_domain(domain.distance(np.full((1, 4), 8.0)))[0]
    domain.save(tmp_path / "d.npz")
    assert ApplicabilityDomain.load(tmp_path / "d.npz").threshold == domain.threshold


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_dir):
    overrides = {"run.output_dir": str(tmp_path_factory.mktemp("runs")), "quick.rows": 1500,
                 "predictors.0.interval": 0.9, "predictors.0.domain": True, "predictors.0.min_value": 0.0,
                 "predictors.0.expected": "superconductor"}
    return sc_toolkit.run_recipe(RECIPE, overrides, quick=True)


@pytest.mark.slow
def test_run_reports_calibration_checked_on_groups_it_did_not_calibrate_on(run):
    report = run.metrics["predictors"]["tc"]
    assert report["interval"]["level"] == 0.9 and 0.6 < report["interval"]["coverage_check"] <= 1.0
    assert report["interval"]["n_check"] > 0 and set(report["interval"]["coverage_check_by_family"]) <= {
        "cuprate", "iron-based", "other"}
    assert 0.8 < report["domain"]["in_domain_share_check"] <= 1.0 and report["domain"]["threshold"] > 0


@pytest.mark.slow
def test_predictions_carry_bounds_domain_and_expected_tc(run):
    table = run.predict(["YBa2Cu3O7", "MgB2", "XeF6", "He", "KCl"])
    assert {"tc_lo", "tc_hi", "tc_in_domain", "tc_domain_distance", "expected_tc", "in_domain"} <= set(table.columns)
    assert (table["tc_pred"] >= 0).all() and (table["tc_lo"] >= 0).all()
    assert (table["tc_lo"] <= table["tc_pred"]).all() and (table["tc_pred"] <= table["tc_hi"]).all()
    domain = dict(zip(table["formula"], table["in_domain"]))
    assert domain["YBa2Cu3O7"] and not domain["XeF6"] and not domain["He"]
    expected = table["superconductor_proba"] * table["tc_pred"]
    assert np.allclose(table["expected_tc"], expected)
    reopened = sc_toolkit.open_run(run.path).predict(["XeF6"])  # the calibration is saved with the run
    assert not reopened["in_domain"].iloc[0] and reopened["tc_hi"].iloc[0] >= reopened["tc_lo"].iloc[0]


def test_ranking_spreads_its_bets_and_says_whom_it_skipped():
    candidates = pd.DataFrame({
        "formula": ["YBa2Cu3O7", "YBa2Cu3O6.99", "YBa2Cu3O6.9", "La2CuO4", "La1.99CuO4", "MgB2"],
        "tc_pred": [95.0, 94.0, 93.0, 40.0, 39.0, 35.0],
        "rejected_by": [""] * 6,
    })

    class Rank:
        by, descending, top = "tc_pred", True, 10
        max_per_element_set, min_distance = 2, None

    plan = type("Plan", (), {"rank": Rank})()
    table = candidates.copy()
    kept = ranked(table, plan)
    assert kept["formula"].tolist() == ["YBa2Cu3O7", "YBa2Cu3O6.99", "La2CuO4", "La1.99CuO4", "MgB2"]
    assert table.loc[2, "rejected_by"] == "rank: more than 2 per element set"

    Rank.max_per_element_set, Rank.min_distance = None, 0.005
    table = candidates.copy()
    kept = ranked(table, plan)
    assert kept["formula"].tolist() == ["YBa2Cu3O7", "YBa2Cu3O6.9", "La2CuO4", "MgB2"]
    assert table["rejected_by"].str.startswith("rank: within 0.005").sum() == 2


def test_describe_documents_every_key_of_a_recipe_section():
    import subprocess
    import sys

    sctk = str(Path(sys.executable).parent / "sctk")
    result = subprocess.run([sctk, "describe", "predictors"], capture_output=True, text=True, timeout=120,
                            env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    for key in ("interval", "domain", "min_value", "expected", "negatives", "hull", "<name>_lo", "e_hull_pred"):
        assert key in result.stdout
    ranking = subprocess.run([sctk, "describe", "[rank]"], capture_output=True, text=True, timeout=120,
                             env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"})
    assert "max_per_element_set" in ranking.stdout and "min_distance" in ranking.stdout
