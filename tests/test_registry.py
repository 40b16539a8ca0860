"""The registry survives broken plugins, names the plugin at fault, and imports nothing heavy."""

import importlib.metadata
import json
import os
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import numpy as np
import pytest

from sc_toolkit import Filter, Params, hookimpl
from sc_toolkit.errors import PluginError
from sc_toolkit.registry import load_registry

ROOT = Path(__file__).parents[1]


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


class OtherKeepAll(KeepAll):
    """Another plugin's filter called keep-all."""


def two_plugins_with_keep_all():
    return load_registry({
        "first": plugin(register_filters=lambda register: register(KeepAll)),
        "second": plugin(register_filters=lambda register: register(OtherKeepAll)),
    })


def test_a_name_two_plugins_register_is_refused_naming_both():
    registry = two_plugins_with_keep_all()
    assert not [f for f in registry.failures if "keep-all" in f.error]  # neither plugin is at fault
    for lookup in (registry.entry, registry.get):
        with pytest.raises(PluginError, match="'first' and 'second'") as info:
            lookup("filter", "keep-all")
        assert info.value.hint == "write 'first:keep-all' or 'second:keep-all'"
    assert ("filter", "keep-all") not in registry.components  # no bare name resolves it


def test_plugin_colon_name_picks_one_of_the_two():
    registry = two_plugins_with_keep_all()
    assert registry.get("filter", "first:keep-all") is KeepAll
    assert registry.get("filter", "second:keep-all") is OtherKeepAll
    assert [e.plugin for e in registry.find("keep-all")] == ["first", "second"]
    assert [e.cls for e in registry.find("second:keep-all")] == [OtherKeepAll]
    with pytest.raises(PluginError, match="plugin 'third' registers no filter named 'keep-all'") as info:
        registry.entry("filter", "third:keep-all")
    assert "'first:keep-all'" in info.value.hint
    # unambiguous names accept the qualified form too
    single = load_registry({"mine": plugin(register_filters=lambda register: register(KeepAll))})
    assert single.entry("filter", "mine:keep-all") is single.entry("filter", "keep-all")


def test_both_entries_are_listed():
    entries = [(e.kind, e.name, e.plugin) for e in two_plugins_with_keep_all().entries("filter")]
    assert ("filter", "keep-all", "first") in entries and ("filter", "keep-all", "second") in entries


def test_a_recipe_chooses_with_plugin_colon_name():
    from sc_toolkit.errors import RecipeError
    from sc_toolkit.plan import make_plan

    registry = two_plugins_with_keep_all()  # the built-in plugins load too
    recipe = tomllib.loads((ROOT / "recipes" / "cuprate_gan.toml").read_text())
    recipe["filters"].append({"use": "keep-all"})
    where = f"filters.{len(recipe['filters']) - 1}.use"
    with pytest.raises(RecipeError) as info:
        make_plan(recipe, registry)
    [problem] = [p for p in info.value.problems if p.where == where]
    assert "'first' and 'second'" in problem.message
    assert problem.hint == "write 'first:keep-all' or 'second:keep-all'"
    recipe["filters"][-1]["use"] = "second:keep-all"
    plan = make_plan(recipe, registry)
    assert plan.filters[-1].entry.cls is OtherKeepAll and plan.filters[-1].label == "keep-all"
    resolved = plan.resolved_recipe()
    assert resolved["filters"][-1]["use"] == "second:keep-all"
    assert make_plan(resolved, registry).filters[-1].entry.cls is OtherKeepAll  # the resolved recipe reruns


def test_the_same_plugin_registering_a_name_twice_is_recorded():
    def twice(register):
        register(KeepAll)
        register(OtherKeepAll)

    registry = load_registry({"twice": plugin(register_filters=twice)})
    assert registry.get("filter", "keep-all") is KeepAll
    assert any(f.plugin == "twice" and "registered twice" in f.error for f in registry.failures)


class Interrupt(BaseException):
    """Neither an Exception nor SystemExit (as a stray GeneratorExit or a library's own signal)."""


@pytest.mark.parametrize("raised", [SystemExit(3), Interrupt("stop")])
def test_a_hook_raising_base_exception_is_recorded(raised):
    def exits(register):
        raise raised

    registry = load_registry({
        "exits": plugin(register_filters=exits),
        "fine": plugin(register_filters=lambda register: register(KeepAll)),
    })
    assert registry.get("filter", "keep-all") is KeepAll
    [failure] = [f for f in registry.failures if f.plugin == "exits"]
    assert type(raised).__name__ in failure.error


def test_a_plugin_calling_sys_exit_at_import_is_recorded(tmp_path, monkeypatch):
    (tmp_path / "exiting_plugin.py").write_text("import sys\nsys.exit('cannot work here')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    exiting = importlib.metadata.EntryPoint(name="exiting", value="exiting_plugin", group="sc_toolkit")
    real = importlib.metadata.entry_points
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **kw: [*real(**kw), exiting])
    registry = load_registry()
    [failure] = [f for f in registry.failures if f.plugin == "exiting"]
    assert "SystemExit" in failure.error and "cannot work here" in failure.error
    assert ("filter", "novel") in registry.components  # the other plugins still load


def test_keyboard_interrupt_still_stops_loading():
    def interrupted(register):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_registry({"interrupted": plugin(register_filters=interrupted)})


def test_every_kind_has_a_documented_hook_and_a_base():
    from sc_toolkit import hookspecs
    from sc_toolkit.components import BASES, COMPONENT_KINDS, KINDS

    assert KINDS == tuple(BASES) == tuple(hookspecs.COMPONENT_HOOKS.values())
    for kind in COMPONENT_KINDS:
        hook = getattr(hookspecs, kind.hook)
        assert hook.__name__ == kind.hook and f"{kind.base.__name__}` subclasses" in hook.__doc__
        assert kind.base.kind == kind.name and BASES[kind.name] is kind.base


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


def test_list_plugins_survives_sys_exit_and_lists_both_duplicates(tmp_path):
    """End to end through entry points: one plugin exits at import, two register the same name."""
    site = tmp_path / "site"
    dist_info = site / "sctk_clash-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: sctk-clash\nVersion: 0.1.0\n")
    (dist_info / "entry_points.txt").write_text(
        "[sc_toolkit]\nalpha = clash_alpha\nbeta = clash_beta\nexiting = clash_exiting\n"
    )
    plugin_source = (
        "import numpy as np\nfrom sc_toolkit import Filter, hookimpl\n\n"
        "class KeepAll(Filter):\n    '''Keeps every row ({who}).'''\n    name = 'keep-all'\n\n"
        "    def keep(self, table, *, run=None):\n        return np.ones(len(table), dtype=bool)\n\n"
        "@hookimpl\ndef register_filters(register):\n    register(KeepAll)\n"
    )
    (site / "clash_alpha.py").write_text(plugin_source.format(who="alpha"))
    (site / "clash_beta.py").write_text(plugin_source.format(who="beta"))
    (site / "clash_exiting.py").write_text("import sys\nsys.exit(1)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)}
    sctk = str(Path(sys.executable).parent / "sctk")
    result = subprocess.run([sctk, "list-plugins", "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert {c["plugin"] for c in listing["components"] if c["name"] == "keep-all"} == {"alpha", "beta"}
    assert any(f["plugin"] == "exiting" and "SystemExit" in f["error"] for f in listing["failures"])
