"""Contract, seeding, log-target, persistence and sanity tests of the sctk-boosting predictors on
element fractions of real SuperCon rows (the ``supercon_slice`` fixture of the root conftest)."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pydantic
import pytest

from sc_toolkit import Compositions, UserError
from sc_toolkit.testing import check_predictor
from sctk_boosting import KNNPredictor, LightGBMPredictor, MLPPredictor, XGBoostPredictor

#: n_jobs=1: OpenMP threads oversubscribe a busy 2-core machine and slow down by orders of magnitude.
SMALL = {"n_estimators": 50, "n_models": 2, "n_jobs": 1}
#: Each predictor with settings small enough for a 2-core test machine.
SMALL_MLP = {"epochs": 8, "hidden": [32, 16], "n_models": 2, "device": "cpu"}
PREDICTORS = [(LightGBMPredictor, SMALL), (XGBoostPredictor, SMALL), (KNNPredictor, {"n_jobs": 1}),
              (MLPPredictor, SMALL_MLP)]
NAMES = [cls.name for cls, _ in PREDICTORS]
BOOSTED = [LightGBMPredictor, XGBoostPredictor]
N_CONTRACT = 600


@pytest.fixture(scope="module")
def supercon(supercon_slice):
    """(element fractions, Tc in K, composition keys) of the 2,000-row SuperCon slice."""
    compositions = Compositions.from_formulas(supercon_slice["formula"])
    return compositions.fractions, supercon_slice["tc"].to_numpy(dtype=float), compositions.keys()


def _grouped_split(keys: np.ndarray, test_size: float = 0.25):
    """Train / test row indices with no composition key on both sides."""
    from sklearn.model_selection import GroupShuffleSplit

    split = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=0)
    return next(split.split(keys, groups=keys))


@pytest.mark.parametrize("cls, small", PREDICTORS, ids=NAMES)
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_contract(cls, small, task, supercon):
    X, tc, _ = supercon
    y = tc if task == "regression" else tc > 10
    check_predictor(cls(task=task, **small), X[:N_CONTRACT], y[:N_CONTRACT])


@pytest.mark.parametrize("cls", BOOSTED, ids=lambda c: c.name)
def test_log_target_contract(cls, supercon):
    X, tc, _ = supercon
    check_predictor(cls(log_target=True, **SMALL), X[:N_CONTRACT], tc[:N_CONTRACT])


@pytest.mark.parametrize("cls", BOOSTED, ids=lambda c: c.name)
def test_same_seed_same_predictions(cls, supercon):
    X, tc, _ = supercon
    X, tc = X[:N_CONTRACT], tc[:N_CONTRACT]
    a_mean, a_std = cls(random_state=7, **SMALL).fit(X, tc).predict(X, return_std=True)
    b_mean, b_std = cls(random_state=7, **SMALL).fit(X, tc).predict(X, return_std=True)
    c_mean = cls(random_state=8, **SMALL).fit(X, tc).predict(X)
    assert np.array_equal(a_mean, b_mean) and np.array_equal(a_std, b_std)
    assert not np.allclose(a_mean, c_mean), "another random_state should change the bootstrap"


@pytest.mark.parametrize("cls", BOOSTED, ids=lambda c: c.name)
def test_log_target_predicts_in_the_original_unit(cls, supercon):
    X, tc, _ = supercon
    X, tc = X[:N_CONTRACT], tc[:N_CONTRACT]
    model = cls(log_target=True, n_estimators=50, n_models=1, n_jobs=1).fit(X, tc)
    raw = model._predict_member(model.models_[0], X)  # the booster's output, in ln(1 + K)
    assert np.allclose(model.predict(X), np.expm1(raw))
    assert np.corrcoef(model.predict(X), tc)[0, 1] > 0.8, "training-set fit in K"
    with pytest.raises(UserError, match="log_target"):
        cls(log_target=True).fit(X, np.full(len(X), -2.0))
    with pytest.raises(pydantic.ValidationError, match="regression only"):
        cls(task="classification", log_target=True)


@pytest.mark.parametrize("cls", BOOSTED, ids=lambda c: c.name)
def test_ensemble_std_and_importances(cls, supercon):
    X, tc, _ = supercon
    X, tc = X[:N_CONTRACT], tc[:N_CONTRACT]
    model = cls(**SMALL).fit(X, tc)
    _, std = model.predict(X, return_std=True)
    assert len(model.models_) == 2 and np.all(std >= 0) and std.max() > 0
    assert model.feature_importances_.shape == (X.shape[1],)
    assert np.all(model.feature_importances_ >= 0) and np.isclose(model.feature_importances_.sum(), 1)
    _, single_std = cls(n_estimators=50, n_models=1, n_jobs=1).fit(X, tc).predict(X, return_std=True)
    assert np.all(single_std == 0), "one model has no spread"


@pytest.mark.parametrize("cls, small", PREDICTORS, ids=NAMES)
def test_classifier_roundtrip_keeps_everything(cls, small, supercon, tmp_path):
    X, tc, _ = supercon
    X, labels = X[:N_CONTRACT], tc[:N_CONTRACT] > 10
    model = cls(task="classification", **small).fit(X, labels)
    loaded = cls.load(model.save(tmp_path / "model"))
    assert {p.suffix for p in (tmp_path / "model").iterdir()} <= {".json", ".txt", ".npy", ".npz"}, "no pickles"
    assert loaded.classes_.tolist() == [False, True]
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    for a, b in zip(loaded.predict(X, return_std=True), model.predict(X, return_std=True)):
        assert np.array_equal(a, b)
    if hasattr(model, "feature_importances_"):
        assert np.array_equal(loaded.feature_importances_, model.feature_importances_)


@pytest.mark.parametrize("cls, small", PREDICTORS, ids=NAMES)
def test_classifier_tc_above_10k_beats_majority_on_grouped_holdout(cls, small, supercon):
    X, tc, keys = supercon
    train, test = _grouped_split(keys)
    labels = tc > 10
    model = cls(task="classification", **small).fit(X[train], labels[train])
    accuracy = np.mean(model.predict(X[test]) == labels[test])
    majority = max(labels[test].mean(), 1 - labels[test].mean())
    assert accuracy > majority, (accuracy, majority)


def test_lightgbm_beats_median_baseline_on_grouped_holdout(supercon):
    """LightGBM on element fractions, rows split so that no composition is on both sides."""
    X, tc, keys = supercon
    train, test = _grouped_split(keys)
    assert not set(keys[train]) & set(keys[test])
    prediction = LightGBMPredictor(**LightGBMPredictor.quick, n_jobs=1).fit(X[train], tc[train]).predict(X[test])
    mae = np.mean(np.abs(prediction - tc[test]))
    baseline = np.mean(np.abs(np.median(tc[train]) - tc[test]))
    assert mae < baseline, (mae, baseline)


def test_multiclass_and_string_labels(supercon):
    X, tc, _ = supercon
    X, tc = X[:N_CONTRACT], tc[:N_CONTRACT]
    labels = np.where(tc == 0, "none", np.where(tc > 10, "high", "low"))
    for cls, small in PREDICTORS:
        model = cls(task="classification", **small).fit(X, labels)
        assert model.classes_.tolist() == ["high", "low", "none"]
        assert model.predict_proba(X).shape == (len(X), 3)
        assert set(model.predict(X)) <= {"high", "low", "none"}


def test_knn_std_is_the_spread_of_the_neighbours():
    X = np.array([[0.0], [1.0], [2.0], [10.0]])
    y = np.array([1.0, 3.0, 5.0, 100.0])
    mean, std = KNNPredictor(n_neighbors=3, weights="uniform").fit(X, y).predict(np.array([[1.0]]), return_std=True)
    assert np.allclose(mean, 3.0) and np.allclose(std, np.std([1.0, 3.0, 5.0]))


def test_bad_input_is_a_user_error(supercon):
    X, tc, _ = supercon
    X, tc = X[:100], tc[:100]
    for cls, small in PREDICTORS:
        with pytest.raises(UserError, match="not fitted"):
            cls().predict(X)
        with pytest.raises(UserError, match="two classes"):
            cls(task="classification").fit(X, np.ones(len(X), dtype=bool))
        model = cls(**small).fit(X, tc)
        with pytest.raises(UserError, match="columns"):
            model.predict(X[:, :5])
    with pytest.raises(UserError, match="NaN"):
        KNNPredictor().fit(np.where(X > 0, X, np.nan), tc)


def test_boosters_accept_nan_features(supercon):
    X, tc, _ = supercon
    X = np.where(X[:N_CONTRACT] > 0, X[:N_CONTRACT], np.nan)
    for cls in BOOSTED:
        assert np.all(np.isfinite(cls(**SMALL).fit(X, tc[:N_CONTRACT]).predict(X)))


class _RecordingRun:
    """Just enough of a run to count progress steps."""

    seed, quick = 0, False

    def __init__(self):
        self.steps: dict[str, int] = {}

    @contextmanager
    def progress(self, description, total):
        run = self

        class Task:
            def advance(self, n=1, **values):
                run.steps[description] = run.steps.get(description, 0) + n

        yield Task()


@pytest.mark.parametrize("cls", BOOSTED, ids=lambda c: c.name)
def test_progress_advances_once_per_member(cls, supercon):
    X, tc, _ = supercon
    run = _RecordingRun()
    cls(n_estimators=10, n_models=3, n_jobs=1).fit(X[:200], tc[:200], run=run)
    assert run.steps == {f"training {cls.name}": 3}


def test_mlp_seeding_std_and_progress(supercon):
    X, tc, _ = supercon
    X, tc = X[:N_CONTRACT], tc[:N_CONTRACT]
    run = _RecordingRun()
    a_mean, a_std = MLPPredictor(random_state=3, **SMALL_MLP).fit(X, tc, run=run).predict(X, return_std=True)
    b_mean, b_std = MLPPredictor(random_state=3, **SMALL_MLP).fit(X, tc).predict(X, return_std=True)
    c_mean = MLPPredictor(random_state=4, **SMALL_MLP).fit(X, tc).predict(X)
    assert np.array_equal(a_mean, b_mean) and np.array_equal(a_std, b_std)
    assert not np.allclose(a_mean, c_mean) and a_std.max() > 0, "members from different seeds differ"
    assert run.steps == {"training mlp 1/2": 8, "training mlp 2/2": 8}
    baseline = np.mean(np.abs(np.median(tc) - tc))
    assert np.mean(np.abs(a_mean - tc)) < baseline, "it learns, in K (the target's scaling is undone)"


def test_mlp_stays_in_the_training_range_far_outside_it(supercon, tmp_path):
    X, tc, _ = supercon
    X, tc = X[:N_CONTRACT], tc[:N_CONTRACT]
    model = MLPPredictor(**SMALL_MLP).fit(X, tc)
    far = X[:20].copy()
    far[:, np.argmin((X > 0).sum(axis=0) + (X.max(axis=0) == 0) * len(X))] = 1e3  # a rare column, far out
    for predictor in (model, MLPPredictor.load(model.save(tmp_path / "mlp"))):
        prediction = predictor.predict(far)
        assert tc.min() <= prediction.min() and prediction.max() <= tc.max()
        assert np.array_equal(prediction, predictor.predict(np.clip(far, X.min(axis=0), X.max(axis=0))))


@pytest.mark.parametrize("cls", [LightGBMPredictor, XGBoostPredictor, KNNPredictor, MLPPredictor],
                         ids=lambda c: c.name)
def test_citations_and_provenance(cls):
    predictor = cls()
    assert predictor.citations() and all(isinstance(c, str) for c in predictor.citations())
    assert all(isinstance(v, str) and v for v in predictor.provenance().values())
