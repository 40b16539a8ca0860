"""The registry survives broken plugins, names the plugin at fault, and imports nothing heavy."""

import subprocess
import sys
import types

import numpy as np
import pytest

from sc_toolkit import Filter, Params, hookimpl
from sc_toolkit.errors import PluginError
from sc_toolkit.registry import load_registry


class KeepAll(Filter):
    """Keeps every row."""

    name = "keep-all"

    def keep(self, table, *, run=None):
        return np.ones(len(table), dtype=bool)


def plugin(**hooks) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


def test_components_register_through_hooks():
    registry = load_registry({"mine": plugin(register_filters=lambda register: register(KeepAll))})
    entry = registry.entry("filter", "keep-all")
    assert entry.cls is KeepAll and entry.plugin == "mine" and entry.status == "ok"


def test_plugin_whose_hook_raises_is_recorded_and_others_still_load():
    def broken(register):
        raise RuntimeError("boom")

    registry = load_registry({
        "broken": plugin(register_filters=broken),
        "fine": plugin(register_filters=lambda register: register(KeepAll)),
    })
    assert ("filter", "keep-all") in registry.components
    assert any(f.plugin == "broken" and "boom" in f.error for f in registry.failures)


def test_duplicate_names_name_both_plugins():
    hook = plugin(register_filters=lambda register: register(KeepAll))
    registry = load_registry({"first": hook, "second": plugin(register_filters=lambda register: register(KeepAll))})
    [failure] = [f for f in registry.failures if "keep-all" in f.error]
    assert failure.plugin == "second" and "'first'" in failure.error and "'second'" in failure.error
    assert registry.entry("filter", "keep-all").plugin == "first"


def test_misspelled_hook_is_refused_with_a_suggestion():
    registry = load_registry({"typo": plugin(register_filter=lambda register: register(KeepAll))})
    [failure] = [f for f in registry.failures if f.plugin == "typo"]
    assert "register_filter" in failure.error and "register_filters" in failure.error
    assert ("filter", "keep-all") not in registry.components


def test_invalid_components_are_refused():
    class NotAFilter:
        name = "not-a-filter"

    class Abstract(Filter):
        """Forgets keep()."""

        name = "abstract"

    class BadName(KeepAll):
        """Bad name."""

        name = "Bad_Name"

    def register_all(register):
        for cls in (NotAFilter, Abstract, BadName):
            register(cls)

    registry = load_registry({"bad": plugin(register_filters=register_all)})
    errors = " | ".join(f.error for f in registry.failures if f.plugin == "bad")
    assert "not a subclass of sc_toolkit.Filter" in errors
    assert "abstract methods unimplemented: keep" in errors
    assert "kebab-case" in errors


def test_unknown_component_suggests_the_closest_name():
    registry = load_registry({"mine": plugin(register_filters=lambda register: register(KeepAll))})
    with pytest.raises(PluginError, match="no filter named 'keep-al'") as info:
        registry.get("filter", "keep-al")
    assert "keep-all" in info.value.hint


def test_load_plugins_env_restricts_entry_points(monkeypatch):
    monkeypatch.setenv("SCTK_LOAD_PLUGINS", "composition")
    registry = load_registry()
    assert set(registry.plugins) == {"sc-toolkit", "composition"}  # the core's datasets always load
    monkeypatch.setenv("SCTK_LOAD_PLUGINS", "")
    assert set(load_registry().plugins) == {"sc-toolkit"}


def test_built_in_plugins_load_cleanly():
    registry = load_registry()
    assert not registry.failures, registry.failures
    for kind, name in [("encoder", "element-fractions"), ("encoder", "magpie"), ("generator", "wgan-gp"),
                       ("predictor", "lightgbm"), ("filter", "smact-valid"), ("filter", "novel"),
                       ("filter", "unique"), ("filter", "elements"), ("filter", "threshold")]:
        assert (kind, name) in registry.components, (kind, name)
    assert "supercon" in registry.datasets


def test_loading_the_registry_imports_no_heavy_library():
    code = (
        "import sys; from sc_toolkit.registry import load_registry; r = load_registry(); "
        "heavy = [m for m in ('torch', 'lightgbm', 'xgboost', 'pymatgen', 'smact', 'matminer', 'sklearn') "
        "if m in sys.modules]; print(heavy); assert not heavy, heavy; assert r.components"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_params_reject_unknown_keys():
    class WithParams(KeepAll):
        """With a parameter."""

        name = "with-params"

        class Params(Params):
            level: int = 1

    assert WithParams(level=2).params.level == 2
    with pytest.raises(Exception, match="levl"):
        WithParams(levl=2)
