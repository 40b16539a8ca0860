"""Property-based fuzzing of the user-facing parsers: the formula parser and the recipe loader.

Contract checked on generated input: no exception escapes but the project's own
(:class:`~sc_toolkit.errors.SctkError` subclasses, each one line), and every parsed amount is
finite, positive and at most :data:`~sc_toolkit.chem.formula.MAX_AMOUNT`. Each test is bounded
(``max_examples``, ``deadline``) to run in a few seconds.
"""

from __future__ import annotations

import copy
import math
import tempfile
import tomllib
from datetime import timedelta
from functools import cache
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sc_toolkit.chem import Compositions, parse_formula
from sc_toolkit.chem.elements import INDEX, SYMBOLS
from sc_toolkit.chem.formula import MAX_AMOUNT
from sc_toolkit.errors import FormulaError, SctkError, UserError
from sc_toolkit.recipe import apply_overrides, dumps_toml, read_recipe

RECIPES = Path(__file__).parents[1] / "recipes"
FAST = settings(max_examples=200, deadline=timedelta(seconds=1), suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=80, deadline=timedelta(seconds=5), suppress_health_check=[HealthCheck.too_slow])


def _check_one_line(error: SctkError) -> None:
    line = error.one_line()
    assert line and "\n" not in line and error.exit_code == 2


def _check_amounts(amounts: dict[str, float]) -> None:
    assert amounts
    for symbol, amount in amounts.items():
        assert symbol in INDEX
        assert math.isfinite(amount) and 0.0 < amount <= MAX_AMOUNT


# -- formulas --------------------------------------------------------------------------------

_odd_numbers = st.one_of(
    st.integers(0, 10**30).map(str),
    st.from_regex(r"[0-9]{1,400}(\.[0-9]{0,20})?", fullmatch=True),
    st.sampled_from(["0", ".5", "1.", "٣", "２", "²", "1e5", "-1", "+2", "0.0", "00"]),
)
_plain_numbers = st.one_of(
    st.just(""),
    st.integers(1, 12).map(str),
    st.decimals(0, 100, places=3, allow_nan=False, allow_infinity=False).map(str),
)
_odd_symbols = st.sampled_from(["D", "T", "X", "Xx", "CO", "ｃ", "Ｃu", "cu", " "])
_odd_brackets = st.sampled_from([("(", "]"), ("(", ""), ("", ")"), ("[", ")")])
_separators = st.sampled_from([" ", "-", "+", "=", "\t", "\u00a0", "\u3000", "x", "?", ",", "/"])


@st.composite
def _formula_like(draw, depth: int = 0) -> str:
    """Text close to real formulas: element symbols with amounts (huge ones sometimes), nested
    brackets with multipliers; now and then an odd symbol, digit, bracket or separator."""
    def odd() -> bool:
        return draw(st.integers(0, 9)) == 0

    parts = []
    for _ in range(draw(st.integers(1, 4))):
        if depth < 4 and draw(st.integers(0, 3)) == 0:
            opener, closer = draw(_odd_brackets) if odd() else draw(st.sampled_from([("(", ")"), ("[", "]")]))
            parts.append(opener + draw(_formula_like(depth + 1)) + closer)
        else:
            parts.append(draw(_odd_symbols) if odd() else draw(st.sampled_from(SYMBOLS)))
        parts.append(draw(_odd_numbers) if draw(st.integers(0, 4)) == 0 else draw(_plain_numbers))
        if odd():
            parts.append(draw(_separators))
    return "".join(parts)


_formulas = st.one_of(
    _formula_like(), _formula_like(), st.text(max_size=40), st.text(alphabet="CuOBa()[]0123456789.٣２ ", max_size=40)
)


@FAST
@given(_formulas)
def test_parse_formula_returns_finite_amounts_or_a_formula_error(text):
    try:
        amounts = parse_formula(text)
    except FormulaError as error:
        _check_one_line(error)
        assert len(error.one_line()) < 400
        return
    _check_amounts(amounts)


@FAST
@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary(max_size=10), st.lists(st.text(), max_size=2)))
def test_parse_formula_refuses_what_is_not_text(value):
    try:
        parse_formula(value)
    except FormulaError as error:
        _check_one_line(error)
    else:
        raise AssertionError(f"{value!r} parsed")


@FAST
@given(st.lists(st.one_of(_formulas, st.none(), st.floats()), max_size=8))
def test_compositions_parse_keeps_finite_rows_and_reports_the_rest(texts):
    compositions, rejected = Compositions.parse(texts)
    assert len(compositions) + len(rejected) == len(texts)
    assert np.isfinite(compositions.amounts).all() and (compositions.amounts >= 0).all()
    assert (compositions.amounts.sum(axis=1) > 0).all()
    assert len(compositions.keys()) == len(compositions)
    for bad in rejected:
        assert bad.reason and "\n" not in bad.reason
    try:
        again = Compositions.from_formulas(texts)
    except FormulaError as error:
        assert rejected
        _check_one_line(error)
    else:
        assert not rejected and np.array_equal(again.amounts, compositions.amounts)


# -- recipes ---------------------------------------------------------------------------------


@cache
def _registry():
    from sc_toolkit import load_registry

    return load_registry()


@cache
def _shipped() -> dict:
    return tomllib.loads((RECIPES / "cuprate_gan.toml").read_text())


def _read_bytes(data: bytes) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "recipe.toml"
        path.write_bytes(data)
        return read_recipe(path)


_toml_scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12),
)
_toml_values = st.recursive(
    _toml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)
_keys = st.sampled_from(
    ["run", "data", "generator", "predictors", "candidates", "filters", "rank", "evaluate", "quick", "extra"]
)
_recipe_dicts = st.dictionaries(
    _keys, st.one_of(_toml_values, st.dictionaries(st.text(max_size=10), _toml_values, max_size=4)), max_size=6
)


@FAST
@given(st.binary(max_size=300))
def test_read_recipe_on_arbitrary_bytes(data):
    try:
        recipe = _read_bytes(data)
    except UserError as error:
        _check_one_line(error)
    else:
        assert isinstance(recipe, dict)


@FAST
@given(st.text(max_size=200), st.sampled_from(["utf-8", "utf-16", "utf-16-le", "latin-1", "utf-8-sig"]))
def test_read_recipe_on_arbitrary_text_in_any_encoding(text, encoding):
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return
    try:
        _read_bytes(data)
    except UserError as error:
        _check_one_line(error)


def _leaf_paths(node, prefix=()) -> list[tuple]:
    """Dotted paths (as tuples) of every value in a parsed recipe, tables and lists included."""
    paths = [prefix] if prefix else []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        paths += _leaf_paths(value, (*prefix, str(key)))
    return paths


@cache
def _recipe_paths() -> list[tuple]:
    return sorted(_leaf_paths(_shipped()))


_dotted = st.one_of(
    st.deferred(lambda: st.sampled_from(_recipe_paths())).map(".".join),
    st.lists(
        st.one_of(
            st.sampled_from(["run", "data", "generator", "predictors", "params", "name", "use", "0", "1", "9", "²",
                             "encoder", "filters", "quick", "set", "seed", "n_samples", "epochs", ""]),
            st.text(max_size=6),
        ),
        min_size=1,
        max_size=5,
    ).map(".".join),
)
_override_values = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["1", "0", "-1", "1e400", "nan", "inf", "-inf", "[1,", '"x"', "[[[[1]]]]", "{a=1}", "", "true",
                     '"supercon"', '"lightgbm"', '"magpie"', "[]", "{}", '"tc"', "0.5", "1e9", "9" * 30]),
)
_overrides = st.lists(
    st.one_of(st.tuples(_dotted, _override_values).map("=".join), st.text(max_size=20)),
    max_size=4,
)


@st.composite
def _mutated_recipe(draw) -> dict:
    """A shipped recipe with a few values replaced, deleted or added."""
    path = draw(st.sampled_from(sorted(RECIPES.glob("*.toml"))))
    recipe = tomllib.loads(path.read_text())
    for _ in range(draw(st.integers(1, 3))):
        paths = _leaf_paths(recipe)
        if not paths:
            break
        *parents, last = draw(st.sampled_from(paths))
        node = recipe
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key = int(last) if isinstance(node, list) else last
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            node[key] = draw(_toml_values)
        elif action == "delete":
            del node[key]
        elif isinstance(node, dict):
            node[draw(st.text(max_size=8))] = draw(_toml_values)
    return recipe


_plain_values = st.recursive(
    st.one_of(st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.booleans(), st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


@FAST
@given(
    st.dictionaries(
        st.text(max_size=8),
        st.one_of(
            _plain_values,
            st.dictionaries(st.text(max_size=8), _plain_values, max_size=3),
            st.lists(st.dictionaries(st.text(max_size=8), _plain_values, max_size=3), max_size=2),
        ),
        max_size=4,
    )
)
def test_dumps_toml_round_trips(data):
    """What the run directory's resolved.toml holds reads back as the same recipe."""
    assert tomllib.loads(dumps_toml(data)) == data


@SLOW
@given(_overrides, st.booleans())
def test_overrides_then_plan_raise_only_project_errors(overrides, quick):
    from sc_toolkit.plan import make_plan

    recipe = copy.deepcopy(_shipped())
    try:
        changed = apply_overrides(recipe, overrides)
        make_plan(changed, _registry(), quick=quick, source="fuzz.toml")
    except SctkError as error:
        _check_one_line(error)
    assert recipe == _shipped()  # overrides never change the recipe they are applied to


@SLOW
@given(st.one_of(_mutated_recipe(), _recipe_dicts), st.booleans())
def test_generated_recipe_text_raises_only_project_errors(raw, quick):
    from sc_toolkit.plan import make_plan

    try:
        text = dumps_toml(raw)
    except (UserError, TypeError, ValueError):
        return  # not writable as TOML (None, NaN keys...): not a recipe anyone can write
    try:
        recipe = _read_bytes(text.encode())
        make_plan(recipe, _registry(), quick=quick, source="fuzz.toml")
    except SctkError as error:
        _check_one_line(error)
