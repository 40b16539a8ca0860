"""The composition-generator papers' metrics, as pure functions of what a run computed.

Each function takes arrays, tables and fitted components in memory and returns a JSON-able dict
with the figure, its definition (``DEFINITIONS``) and the settings it depends on. The orchestration
(sampling, loading a run's parts) lives in :mod:`sc_toolkit.run.evaluate`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..chem import Compositions, superconductor_class
from ..chem.matching import near_matched
from ..errors import UserError


@dataclass
class ScoringPredictor:
    """A fitted predictor as the evaluation uses it: its name, its recipe entry (target, threshold),
    a function from compositions to predictions, and, for a classifier, its hold-out rates."""

    name: str
    task: str
    predict: Any
    recipe: dict[str, Any] = field(default_factory=dict)
    rates: dict[str, Any] | None = None
    #: compositions -> predicted distance to the hull of known phases (formation-energy models with a hull)
    e_hull: Any = None


#: Largest predicted distance to the hull (eV/atom) at which a composition counts as stable in the
#: "stable, unique, novel" rate (the ``stable`` filter's default).
STABLE_E_HULL = 0.1
#: Novel distinct compositions whose hull distance is computed for that rate: a seeded sample of one
#: per 100 samples drawn, between 20 and 1,000 (each chemical system needs its own hull, and 100,000
#: samples hold tens of thousands of systems).
SUN_SAMPLE = (20, 1000)


def safe_provenance(component) -> dict[str, Any]:
    try:
        return component.provenance()
    except Exception as error:  # provenance is informative; never fail an evaluation on it
        return {"error": f"{type(error).__name__}: {error}"}


#: Version of the evaluation's definitions (bump when a definition changes).
EVALUATION_VERSION = 3
#: Largest difference of any atomic fraction for a generated composition to count as a near
#: recovery of a held-out one (same elements): 0.005 is 0.035 atoms of La1.85Sr0.15CuO4.
RECOVERY_TOLERANCE = 0.005

DEFINITIONS = {
    "stable_unique_novel": "distinct generated compositions that are novel (absent from SuperCon and from "
    "the training table) and predicted stable (distance to the hull of known phases <= 0.1 eV/atom by the "
    "run's formation-energy predictor) / decoded samples: MatterGen's 'stable, unique, novel' rate at the "
    "composition level",
    "decoded": "samples that decode to at least one element (encoder's decode: negative values "
    "clipped, fractions below min_fraction dropped) / all samples",
    "smact_valid": "samples whose decoded formula passes SMACT 4 smact_validity (charge neutrality "
    "with one oxidation state per element + Pauling electronegativity order), all-metal compositions "
    "passed untested (include_alloys=True, SMACT's default) / all samples; undecodable samples fail",
    "smact_valid_no_alloys": "as smact_valid but with include_alloys=False: all-metal compositions must "
    "also be charge neutral, so intermetallics mostly fail / all samples",
    "uniqueness": "distinct compositions (composition_key) among decoded samples / decoded samples",
    "uniqueness_by_n": "uniqueness among the first n decoded samples, for ScGAN's n = 5,000 (one class) and "
    "30,000 (all of SuperCon) and for all of them: repeats accumulate as n grows, so compare with a paper only at "
    "its own n",
    "novelty_training": "distinct generated compositions whose composition_key is not in the run's "
    "training table / distinct generated compositions",
    "novelty_supercon": "distinct generated compositions whose composition_key is in no row of "
    "SuperCon (any Tc, any class) / distinct generated compositions",
    "predicted_superconductor": "p = decoded samples the classifier predicts positive / decoded samples; "
    "rho = (p - fp) / (tp - fp) (Kim & Dordevic's Bayesian estimate of the true positive share) with "
    "tp = P(predicted positive | positive) and fp = P(predicted positive | negative) measured on the "
    "classifier's own hold-out split; rho is reported unclipped (outside [0, 1] it only says the "
    "estimate is dominated by the classifier's error rates)",
    "class_distribution": "share of decoded samples per superconductor class by element rules "
    "(sc_toolkit.chem.superconductor_class: 'scgan' = cuprate / iron-based / other, 'lim' adds 'both'); "
    "'training' is the same for the training table",
    "elements_per_composition": "number of elements per decoded sample (mean, median, max) beside the same for the "
    "training table: a generator that spreads small amounts over many elements passes SMACT more easily (more "
    "oxidation-state combinations) without being more chemical; single_element_share: samples that are one element "
    "(all samples of one element are one composition, whatever the amount, so they repeat)",
    "recovery": "Lim's rate of recovery: held-out known superconductors whose composition_key appears among "
    "the generated samples / held-out known superconductors. Held-out set: the rows with Tc > 0 of the run's "
    "generator hold-out ([generator] holdout; for a conditional generator those labelled with the sampled "
    "condition); without one, SuperCon rows with Tc > 0 whose class (scgan scheme) is one of the classes of "
    "the training table; in both cases only compositions absent from the training table. Grows with "
    "n_samples: compare with Lim's per-100k figures only at n_samples = 100000",
    "recovery_near": "as recovery, but a held-out composition counts as recovered when some generated composition "
    "holds the same elements with every atomic fraction within the tolerance of it (so YBa2Cu3O6.95 recovers "
    "YBa2Cu3O7): exact matches need the generator to hit SuperCon's written amounts to 4 decimals of the fractions",
    "recovery_training": "training compositions (distinct composition_key of the run's training table) "
    "that appear among the generated samples / training compositions; 'near' as for recovery_near. Measures "
    "how much of the training set the generator reproduces (the other reading of Lim's rate of recovery, "
    "whose slides state no hold-out); it rises as novelty falls",
    "known_share": "decoded samples, counted with repetition, whose composition_key is that of a SuperCon row with "
    "Tc > 0 (any class, in training or not) / decoded samples; 'near' counts a sample whose elements and atomic "
    "fractions (within the tolerance) match such a composition. The per-sample reading of Lim's 'rate of recovery "
    "/ 100k generation' (the column beside it, 'stable compound / 100k generation', is a per-sample rate); "
    "it is 1 minus a per-sample novelty, so it rises as novelty falls",
    "predicted_tc": "Tc predicted by the run's regression predictor for each decoded sample (predictions "
    "made once per distinct composition); summary over samples, histogram on fixed edges shared with "
    "the training Tc",
    "embedding": "2-D map of element-fraction vectors of a random subsample of distinct generated "
    "compositions and of training compositions, fitted jointly",
}


def classifier_rates(y_true, y_pred, positive=None) -> dict[str, Any]:
    """True- and false-positive rates of binary predictions, for ScGAN's correction.

    ``positive`` is the positive label (default: the largest label, as the runner's
    ``predict_proba[:, -1]`` does). tp_rate = P(pred positive | positive), fp_rate = P(pred positive
    | negative); None when a side has no rows. The runner should store this dict for each
    classification predictor under ``metrics["predictors"][name]["rates"]`` from its hold-out split.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if positive is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
        positive = labels[-1] if len(labels) else 1
    is_pos, said_pos = y_true == positive, y_pred == positive
    n_pos, n_neg = int(is_pos.sum()), int((~is_pos).sum())
    return {
        "tp_rate": float(said_pos[is_pos].mean()) if n_pos else None,
        "fp_rate": float(said_pos[~is_pos].mean()) if n_neg else None,
        "n_positive": n_pos,
        "n_negative": n_neg,
        "positive_label": positive.item() if hasattr(positive, "item") else positive,
    }


def bayesian_fraction(p: float, tp_rate: float, fp_rate: float) -> float | None:
    """ScGAN's estimate of the true positive share: rho = (p - fp) / (tp - fp); None if tp == fp."""
    if tp_rate is None or fp_rate is None or tp_rate == fp_rate:
        return None
    return (p - fp_rate) / (tp_rate - fp_rate)



def ratio(count: int, total: int, name: str) -> dict[str, Any]:
    return {"value": count / total if total else None, "count": int(count), "total": int(total),
            "definition": DEFINITIONS[name]}


def distinct(keys: np.ndarray, filled: np.ndarray):
    """Distinct keys of the filled rows (in first-seen order), the row of each one's first
    occurrence, and for every filled row the index of its distinct key."""
    filled_rows = np.flatnonzero(filled)
    if len(filled_rows) == 0:
        return np.array([], dtype=object), np.array([], dtype=int), np.array([], dtype=int)
    codes, uniques = pd.factorize(pd.Series(keys[filled_rows]), sort=False)
    _, first = np.unique(codes, return_index=True)  # codes number keys in first-seen order
    return np.asarray(uniques, dtype=object), filled_rows[first], codes


#: Sample counts at which ScGAN measured uniqueness (5,000 per class, 30,000 for all of SuperCon).
UNIQUENESS_AT = (5_000, 30_000)


def uniqueness_by_n(inverse: np.ndarray) -> dict[str, Any]:
    """Uniqueness of the first n decoded samples (``inverse``: each one's distinct-key index, keys
    numbered in first-seen order) for n in UNIQUENESS_AT below the number of samples, and for all."""
    n_decoded = len(inverse)
    first_seen = np.unique(inverse, return_index=True)[1]
    values = {str(n): float((first_seen < n).sum() / n) for n in UNIQUENESS_AT if n < n_decoded}
    if n_decoded:
        values[str(n_decoded)] = float(len(first_seen) / n_decoded)
    return {"definition": DEFINITIONS["uniqueness_by_n"], "values": values}


def key_set(table: pd.DataFrame | None) -> set[str]:
    if table is None or len(table) == 0:
        return set()
    if "composition_key" in table.columns:
        return set(map(str, table["composition_key"].dropna()))
    return set(Compositions.parse(table["formula"].astype(str).tolist())[0].keys())


def smact_validity(smact_filter, compositions: Compositions, filled: np.ndarray) -> dict[str, Any]:
    """Validity with and without SMACT's all-metal shortcut, judged once per distinct formula by
    ``smact_filter`` (the registered ``smact-valid`` filter class, or None when it is not installed)."""
    out: dict[str, Any] = {}
    cls = smact_filter
    if cls is None:
        reason = "the smact-valid filter is not available (install the sctk-composition plugin)"
        for name in ("smact_valid", "smact_valid_no_alloys"):
            out[name] = {"value": None, "available": False, "reason": reason, "definition": DEFINITIONS[name]}
        return out
    formulas = np.asarray(compositions.formulas, dtype=object)
    codes, distinct = pd.factorize(pd.Series(formulas[filled]))
    table = pd.DataFrame({"formula": np.asarray(distinct, dtype=object)})
    n = len(formulas)
    # Without the all-metal shortcut SMACT accepts a subset of what it accepts with it, so the
    # second pass only judges the formulas the first one accepted.
    verdict = np.zeros(len(table), dtype=bool)
    judge = np.ones(len(table), dtype=bool)
    for name, alloys in (("smact_valid", True), ("smact_valid_no_alloys", False)):
        component = cls(include_alloys=alloys)
        if judge.any():
            verdict[judge] = np.asarray(component.keep(table[judge].reset_index(drop=True)), dtype=bool)
        verdict &= judge
        judge = verdict.copy()
        valid = int(verdict[codes].sum()) if len(codes) else 0
        out[name] = ratio(valid, n, name) | {
            "of_distinct_formulas": float(verdict.mean()) if len(verdict) else None,
            "settings": safe_provenance(component),
        }
    return out


def class_distribution(compositions: Compositions, training_comps: Compositions | None) -> dict[str, Any]:
    out: dict[str, Any] = {"definition": DEFINITIONS["class_distribution"]}
    for scheme in ("scgan", "lim"):
        out[scheme] = {"generated": shares(superconductor_class(compositions, scheme=scheme) if len(compositions) else [])}
        if training_comps is not None:
            out[scheme]["training"] = shares(superconductor_class(training_comps, scheme=scheme))
    return out


def elements_per_composition(compositions: Compositions, training_comps: Compositions | None) -> dict[str, Any]:
    def summary(counts: np.ndarray) -> dict[str, float] | None:
        if not len(counts):
            return None
        return {"mean": float(counts.mean()), "median": float(np.median(counts)), "max": int(counts.max()),
                "single_element_share": float((counts == 1).mean())}

    out = {"definition": DEFINITIONS["elements_per_composition"], "generated": summary(compositions.n_elements)}
    if training_comps is not None:
        out["training"] = summary(training_comps.n_elements)
    return out


def shares(labels) -> dict[str, float]:
    labels = pd.Series(np.asarray(labels, dtype=object))
    return {str(k): float(v) for k, v in labels.value_counts(normalize=True).sort_index().items()}


def recovery(distinct_keys: np.ndarray, distinct_fractions: np.ndarray, training: pd.DataFrame | None,
              training_comps: Compositions | None, superconductors: Compositions, n_samples: int,
              held_out_table: pd.DataFrame | None = None, label: str | None = None,
              condition: str | None = None) -> dict[str, Any]:
    """Recovery of the held-out superconductors: the run's generator hold-out when it has one
    (restricted to rows labelled ``condition`` for a conditional generator), else the SuperCon
    superconductors (``superconductors``: :func:`_superconductors`) of the training classes absent from
    the training table."""
    out: dict[str, Any] = {"definition": DEFINITIONS["recovery"], "n_samples": int(n_samples)}
    if training_comps is None:
        return out | {"value": None, "available": False, "reason": "the run has no training table"}
    training_keys = key_set(training)
    if held_out_table is not None:
        rows = held_out_table
        if "tc" in rows.columns:
            rows = rows[pd.to_numeric(rows["tc"], errors="coerce") > 0]
        if condition is not None and label in rows.columns:
            rows = rows[rows[label].astype(str) == condition]
        held_comps = Compositions.parse(rows["formula"].astype(str).tolist())[0]
        out |= {"held_out_set": "the run's generator hold-out ([generator] holdout)"
                + (f", rows labelled {condition}" if condition is not None and label in rows.columns else "")}
        wanted = np.ones(len(held_comps), dtype=bool)
        classes = sorted(set(superconductor_class(held_comps, scheme="scgan")))
    else:
        classes = sorted(set(superconductor_class(training_comps, scheme="scgan")))
        held_comps = superconductors
        out |= {"held_out_set": "SuperCon superconductors of the training classes absent from the training table"}
        wanted = np.isin(superconductor_class(held_comps, scheme="scgan"), classes)
    untrained = np.array([key not in training_keys for key in held_comps.keys()], dtype=bool)
    first_row = first_row_per_key(held_comps.keys(), wanted & untrained)
    out |= {"classes": classes, "n_held_out": len(first_row)}
    if not first_row:
        return out | {"value": None, "available": False,
                      "reason": "no superconductor of the training classes is held out of training: set "
                      "[generator] holdout (e.g. 0.1) to measure recovery"}
    recovered = sorted(set(first_row).intersection(map(str, distinct_keys)))
    near = near_matched(held_comps.fractions[list(first_row.values())], distinct_fractions, RECOVERY_TOLERANCE)
    return out | {"value": len(recovered) / len(first_row), "available": True, "count": len(recovered),
                  "recovered_examples": recovered[:20],
                  "near": {"value": float(near.mean()), "count": int(near.sum()), "tolerance": RECOVERY_TOLERANCE,
                           "definition": DEFINITIONS["recovery_near"]}}


def training_recovery(distinct_keys: np.ndarray, distinct_fractions: np.ndarray,
                       training_comps: Compositions | None, n_samples: int) -> dict[str, Any]:
    """Training compositions regenerated exactly (composition_key) and near (same elements, every
    fraction within RECOVERY_TOLERANCE) among the distinct generated compositions."""
    out: dict[str, Any] = {"definition": DEFINITIONS["recovery_training"], "n_samples": int(n_samples)}
    if training_comps is None:
        return out | {"value": None, "available": False, "reason": "the run has no training table"}
    first_row = first_row_per_key(training_comps.keys())
    recovered = set(first_row).intersection(map(str, distinct_keys))
    near = near_matched(training_comps.fractions[list(first_row.values())], distinct_fractions, RECOVERY_TOLERANCE)
    return out | {"value": len(recovered) / len(first_row), "available": True, "count": len(recovered),
                  "n_training_compositions": len(first_row),
                  "near": {"value": float(near.mean()), "count": int(near.sum()), "tolerance": RECOVERY_TOLERANCE}}


def superconductors_of(supercon: pd.DataFrame) -> Compositions:
    """The compositions of SuperCon's rows with Tc > 0 (rows that do not parse left out)."""
    known = supercon[pd.to_numeric(supercon["tc"], errors="coerce") > 0]
    return Compositions.parse(known["formula"].astype(str).tolist())[0]


def first_row_per_key(keys, wanted: np.ndarray | None = None) -> dict[str, int]:
    """Each distinct key (among the ``wanted`` rows) -> the row of its first occurrence."""
    first_row: dict[str, int] = {}
    for row, key in enumerate(keys):
        if wanted is None or wanted[row]:
            first_row.setdefault(key, row)
    return first_row


def known_share(distinct_keys: np.ndarray, distinct_fractions: np.ndarray, inverse: np.ndarray,
                 superconductors: Compositions, training: pd.DataFrame | None) -> dict[str, Any]:
    """Share of decoded samples (``inverse``: each one's distinct composition) that are known
    superconductors (``superconductors``: :func:`_superconductors`), exactly and near; also split by
    whether the matched composition is in the run's training table."""
    first_row = first_row_per_key(superconductors.keys())
    keys = list(map(str, distinct_keys))
    exact = np.fromiter((k in first_row for k in keys), dtype=bool, count=len(keys))
    training_keys = key_set(training)
    in_training = np.fromiter((k in training_keys for k in keys), dtype=bool, count=len(keys))
    near = near_matched(distinct_fractions, superconductors.fractions[list(first_row.values())], RECOVERY_TOLERANCE)
    per_sample = lambda hit: int(hit[inverse].sum())  # noqa: E731
    n = len(inverse)
    return {"definition": DEFINITIONS["known_share"], "n_known_compositions": len(first_row),
            "value": per_sample(exact) / n if n else None, "count": per_sample(exact), "total": n,
            "in_training": per_sample(exact & in_training) / n if n else None,
            "distinct_known": int(exact.sum()),
            "near": {"value": per_sample(near) / n if n else None, "count": per_sample(near),
                     "tolerance": RECOVERY_TOLERANCE}}


def predicted_superconductor(classifier: ScoringPredictor | None, unique_compositions: Compositions,
                             inverse: np.ndarray, n_decoded: int) -> dict[str, Any]:
    """Share of decoded samples the classifier calls positive, and ScGAN's corrected fraction rho
    with the classifier's own hold-out rates (``classifier.rates``)."""
    out: dict[str, Any] = {"definition": DEFINITIONS["predicted_superconductor"]}
    if classifier is None:
        return out | {"value": None, "rho": None, "available": False,
                      "reason": "the run has no classification predictor (add one, e.g. target tc with a "
                      "threshold, to estimate the superconducting fraction)"}
    info = {"name": classifier.name, "recipe": classifier.recipe}
    predicted = classifier.predict(unique_compositions)
    rates = classifier.rates if classifier.rates and classifier.rates.get("tp_rate") is not None else None
    source = ("the classifier's hold-out split in the run" if rates
              else "unavailable: the run recorded no hold-out rates for this classifier")
    positive = rates.get("positive_label", 1) if rates else 1
    said = (np.asarray(predicted) == positive)[inverse] if len(inverse) else np.zeros(0, bool)
    p = float(said.mean()) if len(said) else None
    rho = bayesian_fraction(p, rates.get("tp_rate"), rates.get("fp_rate")) if rates and p is not None else None
    recipe = info["recipe"]
    label = (f"{recipe.get('target')} > {recipe.get('threshold')}" if recipe.get("threshold") is not None
             else str(recipe.get("target", "")))
    return out | {
        "predictor": info["name"], "label": label, "value": p, "count": int(said.sum()), "total": int(n_decoded),
        "tp_rate": rates.get("tp_rate") if rates else None, "fp_rate": rates.get("fp_rate") if rates else None,
        "rates": rates, "rates_source": source, "rho": rho,
        "available": rho is not None,
        **({} if rho is not None else {"reason": "the classifier's hold-out rates are unknown or tp == fp"}),
    }


def predicted_tc(regressor: ScoringPredictor | None, unique_compositions: Compositions, inverse: np.ndarray,
                 training: pd.DataFrame | None) -> dict[str, Any]:
    """Distribution of the regressor's predictions over the decoded samples, beside the training Tc."""
    out: dict[str, Any] = {"definition": DEFINITIONS["predicted_tc"]}
    if regressor is None:
        return out | {"available": False, "reason": "the run has no regression predictor"}
    info = {"name": regressor.name, "recipe": regressor.recipe}
    predicted = regressor.predict(unique_compositions)
    values = np.asarray(predicted, dtype=float)[inverse] if len(inverse) else np.zeros(0)
    target = info["recipe"].get("target", "tc")
    train_values = (pd.to_numeric(training[target], errors="coerce").dropna().to_numpy()
                    if training is not None and target in training.columns else np.zeros(0))
    finite = values[np.isfinite(values)]
    top = max([float(np.max(finite)) if len(finite) else 0.0, float(np.max(train_values)) if len(train_values) else 0.0, 1.0])
    low = min([float(np.min(finite)) if len(finite) else 0.0, 0.0])
    edges = np.linspace(low, math.ceil(top / 5.0) * 5.0, 41)
    return out | {
        "available": True, "predictor": info["name"], "target": target,
        "summary": summary(finite), "training_summary": summary(train_values),
        "histogram": {"edges": edges.round(4).tolist(),
                      "generated": np.histogram(finite, edges)[0].tolist(),
                      "training": np.histogram(train_values, edges)[0].tolist()},
    }


def summary(values: np.ndarray) -> dict[str, Any]:
    if len(values) == 0:
        return {"n": 0}
    q = np.quantile(values, [0.1, 0.5, 0.9])
    return {"n": int(len(values)), "mean": float(values.mean()), "p10": float(q[0]), "median": float(q[1]),
            "p90": float(q[2]), "max": float(values.max())}


def embedding(generated: np.ndarray, training_comps: Compositions | None, method: str, points: int,
               seed: int) -> dict[str, Any] | None:
    rng = np.random.default_rng(seed)
    train = np.zeros((0, generated.shape[1])) if training_comps is None else training_comps.fractions
    gen = generated[rng.permutation(len(generated))[:points]]
    train = train[rng.permutation(len(train))[:points]]
    X = np.vstack([gen, train])
    if len(X) < 3:
        return None
    keep = X.std(axis=0) > 0  # elements that occur somewhere
    X = X[:, keep]
    start = time.perf_counter()
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, (len(X) - 1) / 3.0))
        coords = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                      max_iter=500).fit_transform(X)
        description = (f"t-SNE (scikit-learn, perplexity {perplexity:g}, PCA init, 500 iterations, "
                       f"seed {seed}) of element fractions")
    elif method == "pca":
        centred = X - X.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        coords = centred @ vt[:2].T
        description = "PCA (first two principal components) of element fractions"
    else:
        raise UserError(f"unknown embedding method '{method}'", hint="use 'tsne', 'pca' or 'none'")
    coords = np.asarray(coords, dtype=float).round(3)
    return {
        "method": method, "description": description, "definition": DEFINITIONS["embedding"],
        "n_generated": int(len(gen)), "n_training": int(len(train)),
        "generated": coords[: len(gen)].tolist(), "training": coords[len(gen):].tolist(),
        "seconds": round(time.perf_counter() - start, 3),
    }


def stable_unique_novel(model: ScoringPredictor | None, unique_compositions: Compositions, novel: np.ndarray,
                        n_decoded: int, seed: int = 0) -> dict[str, Any]:
    """The composition-level "stable, unique, novel" rate (``DEFINITIONS``). The stable share is
    measured on a seeded sample of novel distinct compositions (``SUN_SAMPLE``) and scaled to
    all of them (``count`` is then an estimate, with its binomial standard error in ``stderr``); a
    composition no hull can judge (NaN) counts as not stable. Unavailable without a formation-energy
    predictor with a hull."""
    out: dict[str, Any] = {"definition": DEFINITIONS["stable_unique_novel"], "e_hull_max": STABLE_E_HULL}
    if model is None:
        return out | {"value": None, "available": False,
                      "reason": "the run has no formation-energy predictor with a hull (add one with hull = [...])"}
    novel_rows = np.flatnonzero(novel)
    size = int(np.clip(n_decoded // 100, *SUN_SAMPLE))
    sample = np.random.default_rng(seed).permutation(novel_rows)[:size]
    e_hull = np.asarray(model.e_hull(unique_compositions[np.sort(sample)]), dtype=float) if len(sample) else np.zeros(0)
    stable_share = float((e_hull <= STABLE_E_HULL).mean()) if len(e_hull) else 0.0
    count = stable_share * len(novel_rows)
    stderr = np.sqrt(stable_share * (1 - stable_share) / len(sample)) * len(novel_rows) if len(sample) else 0.0
    return out | {"predictor": model.name, "available": True, "value": count / n_decoded if n_decoded else None,
                  "count": round(count, 1), "stderr": round(float(stderr), 1), "total": int(n_decoded),
                  "n_novel_distinct": int(len(novel_rows)), "n_judged": int(len(sample)),
                  "stable_share_of_novel": stable_share}
