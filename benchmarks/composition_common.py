"""Shared pieces of the composition benchmarks: data, features, grouped folds, and a model search
that never sees the test fold.

``tuned_ensemble`` is the honest part. For each outer fold it takes the fold's *training* rows only,
holds out a share of their composition groups as an inner validation set, and on that set picks

- the number of boosting rounds of each LightGBM and XGBoost configuration of the grid, read off
  one long fit per configuration at checkpoints;
- k of a kNN on element fractions;
- non-negative blend weights (step 0.1, summing to 1) of all of these members.

It then refits the chosen models on all of the fold's training rows and predicts the test fold.
The test fold's targets are used only to score. Predictors come from the sctk registry
(``lightgbm``, ``xgboost``, ``knn``) with ``n_models=1`` (no bootstrap) and ``n_jobs=1``.

``fold_results`` runs the outer folds one after the other (``--executor local``, the default) or as
Ray tasks of one CPU each (``--executor ray [--workers N]``), with the same results in the same order.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import os
import platform
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import GroupKFold

from sc_toolkit import group_holdout, load_dataset, load_registry, map_tasks

REGISTRY = load_registry()
FEATURE_SETS = ("fractions", "magpie", "magpie+fractions", "magpie+fractions+hamidieh", "magpie+fractions+valence",
                "magpie+fractions+hamidieh+valence")


def load_table(name: str):
    """The registered dataset ``name`` as a table (``uci-superconductivity`` or ``supercon``)."""
    return load_dataset(REGISTRY.dataset(name)).table.reset_index(drop=True)


def features(table, kind: str) -> np.ndarray:
    """Composition features of ``table`` (formula column): element fractions H..Cm, the 132 Magpie
    features, both (the ``magpie`` encoder with ``append_fractions=True``), optionally followed by
    Hamidieh's 81 statistics (the ``hamidieh`` encoder) and/or the 3 nominal site valences (the
    ``site-valence`` encoder)."""
    if kind == "fractions":
        return REGISTRY.get("encoder", "element-fractions")().encode(table)
    if kind == "magpie":
        return REGISTRY.get("encoder", "magpie")(impute_nan=True).encode(table)
    if kind == "magpie+fractions":
        return REGISTRY.get("encoder", "magpie")(impute_nan=True, append_fractions=True).encode(table)
    if kind.endswith("+valence") and kind in FEATURE_SETS:
        valence = REGISTRY.get("encoder", "site-valence")().encode(table)
        return np.concatenate([features(table, kind.removesuffix("+valence")), valence], axis=1)
    if kind == "magpie+fractions+hamidieh":
        hamidieh = REGISTRY.get("encoder", "hamidieh")().encode(table)
        return np.concatenate([features(table, "magpie+fractions"), hamidieh], axis=1)
    raise ValueError(f"unknown feature set {kind!r}; one of {FEATURE_SETS}")


def grouped_folds(groups: np.ndarray, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """sklearn's GroupKFold (deterministic, no seed: groups are dealt to folds by size), so no
    composition key is on both sides of a split."""
    return list(GroupKFold(n_splits=n_folds).split(np.zeros(len(groups)), groups=groups))


def outer_folds(groups: np.ndarray, n_folds: int, max_folds: int | None = None,
                only: str | None = None) -> list[tuple[int, tuple[np.ndarray, np.ndarray]]]:
    """(index, (train, test)) of the outer folds to run: the first ``max_folds``, or those listed in
    ``only`` ("0,1,2"), so that disjoint parts can run as separate processes."""
    folds = list(enumerate(grouped_folds(groups, n_folds)))[:max_folds]
    if only:
        wanted = {int(f) for f in only.split(",")}
        folds = [(i, f) for i, f in folds if i in wanted]
    return folds


def add_executor_arguments(parser) -> None:
    """``--executor`` and ``--workers`` (see :func:`fold_results`)."""
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="outer folds one after the other here (local) or as Ray tasks of one CPU each on a "
                        "local Ray (127.0.0.1), or on RAY_ADDRESS's cluster (ray)")
    parser.add_argument("--workers", type=int, default=None, help="CPUs of the local Ray (default: all)")


def fold_results(tasks, folds, X: np.ndarray, y: np.ndarray, groups: np.ndarray, *, task: str, search,
                 seed: int, knn_X: np.ndarray):
    """:func:`tuned_ensemble` of each outer fold of ``folds`` (as :func:`outer_folds` gives them), in
    order, as tasks of ``tasks`` (``sc_toolkit.task_executor``); the data is shipped to Ray once.
    Every model in a fold uses one thread, so a fold is a task of one CPU."""
    data = (X, y, groups, knn_X, task, search, seed)
    return map_tasks(tasks, _fold, [fold for _, fold in folds], shared=data, cpus=1)


def _fold(fold: tuple[np.ndarray, np.ndarray], data: tuple, run=None) -> FoldResult:
    train, test = fold
    X, y, groups, knn_X, task, search, seed = data
    return tuned_ensemble(X, y, groups, train, test, task=task, search=search, seed=seed, knn_X=knn_X)


def save_part(path, y: np.ndarray, groups: np.ndarray, oof: dict[str, np.ndarray]) -> None:
    """Out-of-fold predictions (NaN outside the folds run) of one part, for :func:`load_parts`."""
    np.savez(path, y=y, groups=groups, **{k.replace(" ", "_"): v for k, v in oof.items()})


def load_parts(paths) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(targets, groups, out-of-fold predictions per model) of parts saved over disjoint folds."""
    parts = [np.load(path) for path in paths]
    y = parts[0]["y"]
    oof: dict[str, np.ndarray] = {}
    for part in parts:
        for name in part.files:
            if name not in ("y", "groups"):
                done = ~np.isnan(part[name])
                oof.setdefault(name.replace("_", " "), np.full(len(y), np.nan))[done] = part[name][done]
    return y, parts[0]["groups"], oof


def versions(names: tuple[str, ...] = ("sc-toolkit", "lightgbm", "xgboost", "scikit-learn", "numpy", "matminer")) -> str:
    """Python and the versions of the named distributions that are installed."""
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return f"python {platform.python_version()}, " + ", ".join(found)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --------------------------------------------------------------------------------------------------
# Search grids. Rounds are read off one fit at every checkpoint up to the configuration's maximum.


@dataclass
class Grid:
    lightgbm: list[dict] = field(default_factory=list)
    xgboost: list[dict] = field(default_factory=list)
    mlp: dict | None = None  # parameters of the one `mlp` blend member, if any
    knn_k: tuple[int, ...] = (3, 5, 10)
    checkpoint: int = 100
    inner_fraction: float = 0.15


GRIDS = ("quick", "small", "slow", "slow+mlp", "long", "log", "wide")
#: The `mlp` member of grid slow+mlp: the configuration screened on UCI outer folds 0-1 (3 networks
#: there; 2 here for time), fixed epochs, so nothing is chosen on the inner hold-out but its weight.
MLP_MEMBER = dict(hidden=[512, 256, 128], dropout=0.1, epochs=100, batch_size=128, learning_rate=2e-3,
                  weight_decay=1e-4, n_models=2, device="cpu")


def grid(name: str, task: str) -> Grid:
    """``quick``: a smoke run; ``small``: one LightGBM, one XGBoost, kNN, 2-4 min per fold on two
    loaded cores; ``slow`` (both scripts' default): ``small`` with LightGBM at learning rate 0.03, up
    to 1,000 rounds for classification (``small`` chose 100-150 rounds at 0.1) and 2,000 for
    regression (UCI pooled RMSE 9.08 -> 9.03 K; 2-4 min per fold at load 4-8); ``slow+mlp``: ``slow``
    plus the ``mlp`` predictor (a feed-forward network ensemble, ``MLP_MEMBER``) as a fourth blend
    member (about 5 more minutes per fold); ``long``: the same as ``small`` with round caps 1500 /
    1000 instead of 800 / 500 (the inner choice hit 500 XGBoost rounds in 8 of 10 UCI folds);
    ``log``: adds a LightGBM on ln(1 + Tc) for regression (about twice as slow; no gain on the two
    UCI folds it was run on); ``wide``: adds bigger trees and log target (several times slower, not
    run)."""
    if name == "quick":
        return Grid(
            lightgbm=[dict(num_leaves=31, min_child_samples=10, learning_rate=0.1, colsample=0.5, n_estimators=300)],
            xgboost=[dict(max_depth=6, learning_rate=0.1, colsample=0.5, n_estimators=200)],
            knn_k=(5,),
            checkpoint=50,
        )
    lgb = dict(num_leaves=63, min_child_samples=5, learning_rate=0.1, colsample=0.5, n_estimators=800)
    xgb = dict(max_depth=7, learning_rate=0.1, colsample=0.5, n_estimators=500)
    if name == "small":
        return Grid(lightgbm=[lgb], xgboost=[xgb], knn_k=(3, 5, 10), checkpoint=50)
    if name in ("slow", "slow+mlp"):
        rounds = 2000 if task == "regression" else 1000
        return Grid(lightgbm=[{**lgb, "learning_rate": 0.03, "n_estimators": rounds}], xgboost=[xgb],
                    mlp=MLP_MEMBER if name == "slow+mlp" else None, knn_k=(3, 5, 10), checkpoint=50)
    if name == "long":  # small with higher round caps: the inner choice often hit small's caps
        return Grid(lightgbm=[{**lgb, "n_estimators": 1500}], xgboost=[{**xgb, "n_estimators": 1000}],
                    knn_k=(3, 5, 10), checkpoint=50)
    if name == "log":
        lightgbm = [lgb, {**lgb, "log_target": True}] if task == "regression" else [lgb]
        return Grid(lightgbm=lightgbm, xgboost=[xgb], knn_k=(3, 5, 10), checkpoint=50)
    if name != "wide":
        raise ValueError(f"unknown grid {name!r}; one of {GRIDS}")
    lightgbm = [lgb, {**lgb, "num_leaves": 127, "learning_rate": 0.05, "n_estimators": 1500}]
    if task == "regression":
        lightgbm.append({**lgb, "log_target": True})
    return Grid(lightgbm=lightgbm, xgboost=[xgb, {**xgb, "max_depth": 9}], knn_k=(3, 5, 10), checkpoint=50)


# --------------------------------------------------------------------------------------------------


def _score(task: str, y: np.ndarray, pred: np.ndarray) -> float:
    """Lower is better: RMSE for regression, log loss of P(positive) for classification."""
    if task == "regression":
        return float(np.sqrt(np.mean((pred - y) ** 2)))
    p = np.clip(pred, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _staged(family: str, model, X: np.ndarray, rounds: int, log_target: bool, task: str) -> np.ndarray:
    """Prediction of the single booster in ``model`` using its first ``rounds`` trees."""
    booster = model.models_[0]
    if family == "lightgbm":
        out = booster.predict(X, num_iteration=rounds, num_threads=1)
    else:
        import xgboost

        out = booster.predict(xgboost.DMatrix(X, nthread=1), iteration_range=(0, rounds))
    if task == "regression" and log_target:
        out = np.expm1(out)
    return out


def _predict(model, X: np.ndarray, task: str) -> np.ndarray:
    return model.predict(X) if task == "regression" else model.predict_proba(X)[:, 1]


def _make(family: str, task: str, config: dict, seed: int):
    config = dict(config)
    if task != "regression":
        config.pop("log_target", None)
    return REGISTRY.get("predictor", family)(task=task, n_models=1, n_jobs=1, random_state=seed, **config)


def member_name(family: str, config: dict, configs: list[dict]) -> str:
    """Blend-member name: the family, plus what sets this configuration apart from the first."""
    extra = [f"{k}={v}" for k, v in config.items() if k != "n_estimators" and configs[0].get(k) != v]
    return " ".join([family, *extra])


@dataclass
class FoldResult:
    predictions: dict[str, np.ndarray]  # per blend member and 'ensemble': regression values or P(positive)
    chosen: dict[str, str]


def tuned_ensemble(
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    *,
    task: str,
    search: Grid,
    seed: int,
    knn_X: np.ndarray,
) -> FoldResult:
    """Choose on an inner grouped hold-out of ``train``, refit on ``train``, predict ``test``.

    Every boosting configuration of the grid is a blend member (with its own best number of
    rounds), and so is the kNN (its best k); the blend weights are chosen on the inner hold-out too.
    Every member is refitted on ``train`` (for the per-member figures). The network member sees NaN
    features (a site valence where the site is absent) as 0."""
    target = y.astype(float)
    inner_val = group_holdout(groups[train], search.inner_fraction, seed)
    fit_rows, val_rows = train[~inner_val], train[inner_val]
    y_val = target[val_rows]
    val_pred, chosen, members = {}, {}, {}

    for family, configs in (("lightgbm", search.lightgbm), ("xgboost", search.xgboost)):
        for config in configs:
            name = member_name(family, config, configs)
            model = _make(family, task, config, seed).fit(X[fit_rows], target[fit_rows])
            log_target = bool(config.get("log_target", False)) and task == "regression"
            best = None
            for rounds in range(search.checkpoint, config["n_estimators"] + 1, search.checkpoint):
                pred = _staged(family, model, X[val_rows], rounds, log_target, task)
                score = _score(task, y_val, pred)
                if best is None or score < best[0]:
                    best = (score, rounds, pred)
            score, rounds, val_pred[name] = best
            members[name] = (family, {**config, "n_estimators": rounds})
            chosen[name] = f"{rounds} rounds (inner {score:.3f})"

    X_net = np.nan_to_num(X, nan=0.0) if search.mlp else None
    if search.mlp:
        import torch

        torch.set_num_threads(1)  # one thread per model, as the trees' n_jobs=1
        model = REGISTRY.get("predictor", "mlp")(task=task, random_state=seed, **search.mlp).fit(
            X_net[fit_rows], target[fit_rows])
        val_pred["mlp"] = _predict(model, X_net[val_rows], task)
        members["mlp"] = ("mlp", search.mlp)
        chosen["mlp"] = f"{search.mlp['epochs']} epochs (inner {_score(task, y_val, val_pred['mlp']):.3f})"

    best = None
    for k in search.knn_k:
        model = REGISTRY.get("predictor", "knn")(task=task, n_neighbors=k, n_jobs=1).fit(
            knn_X[fit_rows], target[fit_rows] if task == "regression" else y[fit_rows]
        )
        pred = _predict(model, knn_X[val_rows], task)
        score = _score(task, y_val, pred)
        if best is None or score < best[0]:
            best = (score, k, pred)
    score, knn_k, val_pred["knn"] = best
    members["knn"] = ("knn", {"n_neighbors": knn_k})
    chosen["knn"] = f"k={knn_k} (inner {score:.3f})"

    names = list(val_pred)
    best = None
    steps = np.round(np.arange(0, 1.0001, 0.1), 1)
    for weights in itertools.product(steps, repeat=len(names)):
        if abs(sum(weights) - 1) > 1e-9:
            continue
        pred = sum(w * val_pred[f] for w, f in zip(weights, names))
        score = _score(task, y_val, pred)
        if best is None or score < best[0]:
            best = (score, weights)
    score, weights = best
    chosen["weights"] = ", ".join(f"{f} {w:.1f}" for f, w in zip(names, weights)) + f" (inner {score:.3f})"

    predictions = {}
    for name, (family, config) in members.items():
        if family == "knn":
            model = REGISTRY.get("predictor", "knn")(task=task, n_jobs=1, **config).fit(
                knn_X[train], target[train] if task == "regression" else y[train]
            )
            predictions[name] = _predict(model, knn_X[test], task)
        elif family == "mlp":
            model = REGISTRY.get("predictor", "mlp")(task=task, random_state=seed, **config).fit(
                X_net[train], target[train])
            predictions[name] = _predict(model, X_net[test], task)
        else:
            model = _make(family, task, config, seed).fit(X[train], target[train])
            predictions[name] = _predict(model, X[test], task)
    predictions["ensemble"] = sum(w * predictions[f] for w, f in zip(weights, names))
    return FoldResult(predictions, chosen)
