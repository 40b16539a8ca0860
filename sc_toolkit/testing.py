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

from .chem import SYMBOLS, as_compositions
from .components import (
    NAME_PATTERN,
    Component,
    Encoder,
    Filter,
    Generator,
    Params,
    Predictor,
    Relaxation,
    Relaxer,
    StructureGenerator,
)


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


def _reduced_fractions(composition) -> dict[str, float]:
    """Element -> atomic fraction of a pymatgen Composition (occupancies included)."""
    total = composition.num_atoms
    return {el.symbol: amount / total for el, amount in composition.items()}


def check_structure_generator(
    generator: StructureGenerator, structures, compositions, *, k: int = 3, atol: float = 1e-3
) -> list[list]:
    """fit returns self; generate gives one list per composition with at most ``k`` pymatgen
    structures, each of exactly the requested composition (atomic fractions within ``atol``);
    a seed fixes the output; save/load keeps it. Returns the generated structures."""
    from pymatgen.core import Structure

    check_component_class(type(generator))
    assert generator.fit(structures) is generator, "fit must return self"
    wanted = as_compositions(compositions)
    out = generator.generate(compositions, k=k, random_state=5)
    assert len(out) == len(wanted), "generate must give one list of structures per composition"
    for formula, fractions, found in zip(wanted.formulas, wanted.fractions, out):
        assert len(found) <= k, f"{formula}: {len(found)} structures for k={k}"
        target = {s: f for s, f in zip(SYMBOLS, fractions) if f > 0}
        for structure in found:
            assert isinstance(structure, Structure), "structures must be pymatgen Structure objects"
            got = _reduced_fractions(structure.composition)
            assert set(got) == set(target) and all(abs(got[e] - target[e]) <= atol for e in target), (
                f"{formula}: a generated structure has composition {structure.composition.formula}"
            )
    again = generator.generate(compositions, k=k, random_state=5)
    assert _same_structures(out, again), "the same random_state must give the same structures"
    assert _same_structures(out, _roundtrip(generator).generate(compositions, k=k, random_state=5)), (
        "save/load changed the generated structures"
    )
    return out


def _same_structures(a: list[list], b: list[list], tol: float = 1e-4) -> bool:
    if [len(x) for x in a] != [len(x) for x in b]:
        return False
    for xs, ys in zip(a, b):
        for x, y in zip(xs, ys):
            if len(x) != len(y) or not np.allclose(x.lattice.matrix, y.lattice.matrix, atol=tol):
                return False
            if not np.allclose(x.frac_coords, y.frac_coords, atol=tol) or x.composition != y.composition:
                return False
    return True


def check_relaxer(relaxer: Relaxer, structures) -> list[Relaxation]:
    """relax gives one :class:`Relaxation` per structure, in order; an accepted one has a structure
    of the same composition and a finite energy per atom, a rejected one a reason. Returns them."""
    check_component_class(type(relaxer))
    outcomes = relaxer.relax(structures)
    assert len(outcomes) == len(structures), "relax must give one Relaxation per structure"
    for before, outcome in zip(structures, outcomes):
        assert isinstance(outcome, Relaxation), "relax must return Relaxation objects"
        if outcome.ok:
            assert outcome.structure.composition.reduced_formula == before.composition.reduced_formula, (
                "relaxation changed the composition"
            )
            assert np.isfinite(outcome.energy_per_atom), "an accepted relaxation needs a finite energy"
        else:
            assert outcome.rejected.strip(), "a rejected relaxation needs a reason"
            assert not (outcome.disordered and before.is_ordered), "disordered=True for an ordered structure"
    return outcomes
