"""Contract checks that plugin authors run against their components (with pytest or plainly).

Each ``check_*`` function exercises the contract of one component kind on data the caller supplies
and raises AssertionError naming the broken rule::

    from sc_toolkit.testing import check_encoder
    def test_my_encoder(compositions):
        check_encoder(MyEncoder(), compositions)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pydantic

from .chem import as_compositions
from .components import NAME_PATTERN, Component, Encoder, Filter, Generator, Params, Predictor


def check_component_class(cls: type[Component]) -> None:
    """Name, parameters (``example_params`` valid, unknown keys rejected) and quick overrides."""
    assert isinstance(cls.name, str) and NAME_PATTERN.match(cls.name), f"bad name {cls.name!r}"
    assert issubclass(cls.Params, Params), "Params must subclass sc_toolkit.Params"
    instance = cls(cls.example_params)
    try:
        cls(cls.example_params, definitely_not_a_parameter=1)
    except pydantic.ValidationError:
        pass
    else:
        raise AssertionError(f"{cls.name}: unknown parameter was accepted")
    cls(instance.params.model_dump() | cls.quick)  # quick overrides are valid parameters
    assert cls.summary(), f"{cls.name}: the class needs a docstring (its first line is the summary)"


def _roundtrip(component: Component) -> Component:
    with tempfile.TemporaryDirectory() as tmp:
        component.save(Path(tmp) / "c")
        return type(component).load(Path(tmp) / "c")


def check_encoder(encoder: Encoder, materials, *, atol: float = 1e-3) -> np.ndarray:
    """fit returns self; encode is deterministic with one row per material and one label per
    feature; decode(encode(x)) gives back x's compositions (invertible encoders); save/load keeps
    the encoding. Returns the encoded features."""
    check_component_class(type(encoder))
    assert encoder.fit(materials) is encoder, "fit must return self"
    X = encoder.encode(materials)
    assert len(X) == len(materials), "encode must give one row (or graph) per material"
    assert _same(X, encoder.encode(materials)), "encode is not deterministic"
    if encoder.produces == "matrix" and X.ndim == 2:
        assert X.shape[1] == len(encoder.feature_labels()), "one feature label per column"
    if encoder.invertible:
        original = as_compositions(materials)
        decoded = encoder.decode(X)
        assert len(decoded) == len(original), "decode must give one composition per row"
        assert np.allclose(decoded.fractions, original.fractions, atol=atol), "decode(encode(x)) != x"
    assert _same(_roundtrip(encoder).encode(materials), X), "save/load changed encode"
    return X


def _same(a, b) -> bool:
    """Equal encodings: arrays element-wise (NaN equal to NaN), graph lists attribute by attribute."""
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        keys = x.keys() if callable(getattr(x, "keys", None)) else vars(x)
        for key in keys:
            u, v = x[key], y[key]
            if hasattr(u, "shape"):
                if not np.array_equal(np.asarray(u), np.asarray(v), equal_nan=True):
                    return False
            elif u != v:
                return False
    return True


def check_generator(generator: Generator, X: np.ndarray, y: np.ndarray | None = None) -> None:
    """fit returns self; samples have the training rows' shape; a seed fixes the samples;
    save/load keeps them; conditional generators honour a condition."""
    check_component_class(type(generator))
    assert generator.fit(X, y) is generator, "fit must return self"
    condition = None if y is None else y[0]
    a = generator.sample(7, condition=condition, random_state=3)
    b = generator.sample(7, condition=condition, random_state=3)
    assert a.shape == (7, *X.shape[1:]), f"sample shape {a.shape} != (7, {X.shape[1:]})"
    assert np.allclose(a, b), "the same random_state must give the same samples"
    c = _roundtrip(generator).sample(7, condition=condition, random_state=3)
    assert np.allclose(a, c, atol=1e-5), "save/load changed the samples"


def check_predictor(predictor: Predictor, X: np.ndarray, y: np.ndarray) -> None:
    """scikit-learn contract: fit returns self, fitted attributes end in '_', predictions have one
    value per row, std is non-negative, probabilities sum to 1, params round-trip, save/load keeps
    predictions. Fits with ``groups`` (two rows per group), which every predictor must accept."""
    check_component_class(type(predictor))
    groups = np.arange(len(X)) // 2
    assert predictor.fit(X, y, groups=groups) is predictor, "fit must return self"
    assert any(k.endswith("_") and not k.startswith("_") for k in vars(predictor)), (
        "fitted state must live in attributes ending in '_'"
    )
    prediction = predictor.predict(X)
    assert np.shape(prediction) == (len(X),), "predict must give one value per row"
    if predictor.supports_std:
        mean, std = predictor.predict(X, return_std=True)
        assert np.allclose(mean, prediction) and np.all(std >= 0), "return_std: (same mean, std >= 0)"
    if predictor.task == "classification":
        proba = predictor.predict_proba(X)
        assert proba.shape[0] == len(X) and np.allclose(proba.sum(axis=1), 1), "rows of predict_proba sum to 1"
    params = predictor.get_params()
    assert predictor.set_params(**params) is predictor and predictor.get_params() == params
    assert np.allclose(_roundtrip(predictor).predict(X), prediction), "save/load changed predictions"


def check_filter(filter_: Filter, table, reference=None) -> np.ndarray:
    """keep gives one boolean per row, reads only the columns it declares and leaves the table
    unchanged. Returns the mask."""
    check_component_class(type(filter_))
    missing = set(filter_.columns()) - set(table.columns)
    assert not missing, f"table lacks the declared columns {sorted(missing)}"
    before = table.copy()
    assert filter_.fit(reference if reference is not None else table) is filter_, "fit must return self"
    mask = np.asarray(filter_.keep(table[list(filter_.columns())]))
    assert mask.dtype == bool and mask.shape == (len(table),), "keep must return one bool per row"
    assert table.equals(before), "keep must not modify the table"
    return mask
