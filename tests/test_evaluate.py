"""evaluate_run on a tiny real run: every metric in range, with its definition; rho follows ScGAN's formula."""

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from sc_toolkit.chem import Compositions
from sc_toolkit.chem.matching import near_matched
from sc_toolkit.errors import UserError
from sc_toolkit.run.evaluate import evaluate_run, write_evaluation
from sc_toolkit.run.generation_metrics import DEFINITIONS, bayesian_fraction, classifier_rates, known_share, recovery, superconductors_of, training_recovery, uniqueness_by_n
from sc_toolkit.registry import default_registry

N = 1500

@pytest.fixture(scope="module")
def registry():
    return default_registry()


@pytest.fixture(scope="module")
def run_dir(small_main_run, tmp_path_factory):
    """A copy of the main recipe's tiny run (20 epochs: metrics need a generator, not a good one;
    a quarter of the cuprates held out), which these tests write evaluations into."""
    copy = tmp_path_factory.mktemp("runs") / small_main_run.name
    shutil.copytree(small_main_run, copy)
    return copy


@pytest.fixture(scope="module")
def result(run_dir, registry):
    return evaluate_run(run_dir, registry, n_samples=N, embedding="tsne", embedding_points=60)


pytestmark = pytest.mark.slow


def test_result_is_strict_json_with_settings(result):
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text) == result
    assert result["n_samples"] == N and result["seed"] == 8  # run seed 7 + 1
    assert result["generator"]["name"] == "wgan-gp" and result["encoder"]["name"] == "scgan-onehot"
    assert set(result["seconds"]) >= {"sample", "decode", "smact", "novelty", "embedding"}


def test_fractions_are_in_range_and_defined(result):
    m = result["metrics"]
    for name in ("decoded", "smact_valid", "smact_valid_no_alloys", "uniqueness", "novelty_training",
                 "novelty_supercon"):
        assert 0.0 <= m[name]["value"] <= 1.0, name
        assert m[name]["definition"] == DEFINITIONS[name]
        assert m[name]["count"] <= m[name]["total"]
    assert m["decoded"]["total"] == N and m["smact_valid"]["total"] == N
    assert m["uniqueness"]["total"] == m["decoded"]["count"]
    assert m["novelty_training"]["total"] == m["uniqueness"]["count"]
    # every training composition is in SuperCon, so novelty against SuperCon cannot be higher
    assert m["novelty_supercon"]["count"] <= m["novelty_training"]["count"]
    assert m["novelty_supercon"]["n_supercon_compositions"] > 15_000


def test_smact_both_ways_with_version(result):
    with_alloys, without = result["metrics"]["smact_valid"], result["metrics"]["smact_valid_no_alloys"]
    assert without["count"] <= with_alloys["count"]
    assert with_alloys["settings"]["include_alloys"] is True and without["settings"]["include_alloys"] is False
    assert with_alloys["settings"]["smact"].split(".")[0].isdigit()
    assert "oxidation_states" in with_alloys["settings"]


def test_rho_is_scgans_correction_with_hold_out_rates(result):
    m = result["metrics"]["predicted_superconductor"]
    assert m["available"] and m["predictor"] == "superconductor" and m["label"] == "tc > 0.0"
    assert "hold-out split" in m["rates_source"]  # the runner's hold-out rates
    assert m["rates"]["n_positive"] > 0 and m["rates"]["n_negative"] > 0
    tp, fp, p = m["tp_rate"], m["fp_rate"], m["value"]
    assert 0 <= tp <= 1 and 0 <= fp <= 1 and 0 <= p <= 1
    assert math.isclose(m["rho"], (p - fp) / (tp - fp))
    assert m["count"] == round(p * m["total"])


def test_rates_stored_by_the_runner_are_used(run_dir, registry, tmp_path):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    rates = {"tp_rate": 0.9, "fp_rate": 0.2, "n_positive": 10, "n_negative": 10, "positive_label": 1}
    metrics["predictors"]["superconductor"]["rates"] = rates
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "metrics.json").write_text(json.dumps(metrics))
    m = evaluate_run(copy, registry, n_samples=200, embedding="none")["metrics"]["predicted_superconductor"]
    assert "hold-out split" in m["rates_source"] and m["tp_rate"] == 0.9
    assert math.isclose(m["rho"], (m["value"] - 0.2) / 0.7)


def test_uniqueness_by_n_counts_first_occurrences_in_each_prefix():
    inverse = np.r_[np.arange(5_000), np.zeros(5_000, dtype=int)]  # 5,000 distinct, then 5,000 repeats
    assert uniqueness_by_n(inverse)["values"] == {"5000": 1.0, "10000": 0.5}


def test_known_share_counts_samples_with_repetition():
    supercon = pd.DataFrame({"formula": ["NbN", "MgB2", "CuO", "NbN"], "tc": [16.0, 39.0, 0.0, 15.0]})
    generated = Compositions.parse(["NbN", "Mg0.999B2.001", "CuO", "Fe"])[0]
    inverse = np.array([0, 0, 0, 1, 2, 3])  # NbN three times, then one sample of each other
    training = pd.DataFrame({"composition_key": generated[[0]].keys()})
    m = known_share(np.asarray(generated.keys(), dtype=object), generated.fractions, inverse,
                     superconductors_of(supercon), training)
    assert m["n_known_compositions"] == 2 and m["distinct_known"] == 1  # CuO has no Tc: not a known superconductor
    assert m["count"] == 3 and m["value"] == 0.5 and m["in_training"] == 0.5
    assert m["near"]["count"] == 4  # the MgB2 sample is within 0.005 of every fraction


def test_classifier_rates_and_bayesian_fraction():
    rates = classifier_rates([1, 1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 0, 1, 0, 0, 0, 0])
    assert rates["tp_rate"] == 0.75 and rates["fp_rate"] == 0.2 and rates["positive_label"] == 1
    assert rates["n_positive"] == 4 and rates["n_negative"] == 5
    assert math.isclose(bayesian_fraction(0.7, 0.9869, 0.1694), (0.7 - 0.1694) / (0.9869 - 0.1694))
    assert bayesian_fraction(0.5, 0.3, 0.3) is None
    assert classifier_rates([1, 1], [1, 0])["fp_rate"] is None


def test_classes_recovery_and_tc(result, run_dir):
    m = result["metrics"]
    for scheme in ("scgan", "lim"):
        assert math.isclose(sum(m["class_distribution"][scheme]["generated"].values()), 1.0)
    assert m["class_distribution"]["scgan"]["training"] == {"cuprate": 1.0}  # the recipe trains on cuprates
    assert set(m["class_distribution"]["lim"]["training"]) <= {"cuprate", "both"}
    rec = m["recovery"]
    held = pd.read_parquet(run_dir / "generator_holdout.parquet")
    learned = pd.read_parquet(run_dir / "generator_training.parquet")
    assert not set(held["composition_key"]) & set(learned["composition_key"])
    assert rec["available"] and rec["classes"] == ["cuprate"] and "hold-out" in rec["held_out_set"]
    assert rec["n_held_out"] == held.loc[held["tc"] > 0, "composition_key"].nunique() > 0
    assert 0.0 <= rec["value"] <= 1.0 and rec["count"] == round(rec["value"] * rec["n_held_out"])
    assert rec["count"] <= rec["near"]["count"] == round(rec["near"]["value"] * rec["n_held_out"])
    trained = m["recovery_training"]
    assert trained["n_training_compositions"] == learned["composition_key"].nunique()
    assert trained["count"] == round(trained["value"] * trained["n_training_compositions"]) <= trained["near"]["count"]
    by_n = m["uniqueness_by_n"]["values"]
    assert by_n == {str(m["decoded"]["count"]): m["uniqueness"]["value"]}  # fewer than 5,000 samples here
    known = m["known_share"]
    assert known["total"] == m["decoded"]["count"] and known["count"] == round(known["value"] * known["total"])
    assert known["count"] <= known["near"]["count"] and known["in_training"] <= known["value"]
    assert known["distinct_known"] <= known["count"]
    elements = m["elements_per_composition"]
    assert 1 <= elements["generated"]["mean"] <= elements["generated"]["max"]
    assert elements["training"]["mean"] >= 3  # cuprates: at least Cu, O and one more
    assert elements["training"]["single_element_share"] == 0.0 <= elements["generated"]["single_element_share"] <= 1
    tc = m["predicted_tc"]
    assert tc["available"] and tc["predictor"] == "tc"
    assert sum(tc["histogram"]["generated"]) == m["decoded"]["count"]
    assert sum(tc["histogram"]["training"]) == len(learned) and (learned["class"] == "cuprate").all()
    assert len(tc["histogram"]["edges"]) == len(tc["histogram"]["generated"]) + 1
    assert tc["summary"]["max"] >= tc["summary"]["median"]


def test_embedding_is_tsne_of_generated_and_training(result):
    e = result["embedding"]
    assert e["method"] == "tsne" and "t-SNE" in e["description"]
    assert len(e["generated"]) == e["n_generated"] == 60 and len(e["training"]) == e["n_training"] == 60
    assert np.isfinite(np.asarray(e["generated"] + e["training"])).all()


def test_write_evaluation_keeps_other_keys(run_dir, result):
    before = json.loads((run_dir / "metrics.json").read_text())
    path = write_evaluation(run_dir, result)
    after = json.loads(path.read_text())
    assert after["evaluation"] == result
    assert {k: v for k, v in after.items() if k != "evaluation"} == {k: v for k, v in before.items() if k != "evaluation"}
    assert not list(run_dir.glob(".metrics.json.*.tmp"))


def test_pca_and_no_generator(run_dir, registry, tmp_path):
    pca = evaluate_run(run_dir, registry, n_samples=100, embedding="pca", seed=3)
    assert pca["embedding"]["method"] == "pca" and pca["seed"] == 3
    with pytest.raises(UserError, match="no saved generator"):
        evaluate_run(tmp_path, registry, n_samples=10)


def test_near_matched_needs_the_same_elements_and_close_fractions():
    held = Compositions.from_formulas(["YBa2Cu3O7", "La1.85Sr0.15CuO4", "MgB2", "NbN"]).fractions
    generated = Compositions.from_formulas(["YBa2Cu3O6.95", "La1.8Sr0.2CuO4", "MgB2", "Nb0.99N0.99Ti0.02"]).fractions
    assert near_matched(held, generated, 0.005).tolist() == [True, False, True, False]
    assert near_matched(held, generated, 0.0).tolist() == [False, False, True, False]
    assert near_matched(held, generated[:0], 0.005).tolist() == [False] * 4


def test_training_recovery_counts_each_training_composition_once():
    training = Compositions.from_formulas(["YBa2Cu3O7", "YBa2Cu3O7", "La1.85Sr0.15CuO4", "MgB2"])
    generated = Compositions.from_formulas(["YBa2Cu3O7", "La1.84Sr0.16CuO4", "NbN"])
    rec = training_recovery(generated.keys(), generated.fractions, training, 3)
    assert rec["n_training_compositions"] == 3 and rec["count"] == 1 and rec["near"]["count"] == 2
    assert math.isclose(rec["value"], 1 / 3)


def test_recovery_without_a_hold_out_uses_supercon_of_the_training_classes():
    supercon = pd.DataFrame({"formula": ["YBa2Cu3O7", "La1.85Sr0.15CuO4", "MgB2", "Bi2Sr2CaCu2O8"],
                             "tc": [92.0, 38.0, 39.0, 0.0]})
    training = pd.DataFrame({"formula": ["YBa2Cu3O7"]})
    training["composition_key"] = Compositions.from_formulas(training["formula"]).keys()
    generated = Compositions.from_formulas(["La1.85Sr0.15CuO4", "MgB2", "Bi2Sr2CaCu2O8"])
    rec = recovery(generated.keys(), generated.fractions, training,
                    Compositions.from_formulas(training["formula"]), superconductors_of(supercon), 3)
    # held out: the cuprate superconductor not trained on (not MgB2: another class; not Bi2212: Tc 0)
    assert rec["n_held_out"] == 1 and rec["count"] == 1 and rec["near"]["count"] == 1


def test_stable_unique_novel_rate_uses_the_runs_formation_energy_hull(result):
    sun = result["metrics"]["stable_unique_novel"]  # the main recipe's e_form predictor has a hull
    assert sun["available"] and sun["predictor"] == "e_form" and sun["definition"] == DEFINITIONS["stable_unique_novel"]
    assert 0 <= sun["count"] <= sun["n_novel_distinct"] <= result["metrics"]["novelty_supercon"]["count"]
    size = min(max(result["metrics"]["decoded"]["count"] // 100, 20), 1000)
    assert sun["n_judged"] == min(sun["n_novel_distinct"], size) and 0.0 <= sun["stable_share_of_novel"] <= 1.0
    assert abs(sun["value"] * result["metrics"]["decoded"]["count"] - sun["count"]) < 0.1
