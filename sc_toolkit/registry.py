"""Entry points -> a table of components (and datasets), surviving broken plugins.

Plugins are found through the ``sc_toolkit`` entry-point group; built-in plugins travel the same
road as third-party ones. ``SCTK_LOAD_PLUGINS`` (comma-separated entry-point names; empty for none)
restricts which are loaded. A plugin that fails to import (any exception, ``sys.exit`` included),
implements a misspelled hook, or registers an invalid component is recorded as a
:class:`PluginFailure` (shown by ``sctk list-plugins``) and the rest of the tool keeps working.

Two plugins may register components of the same kind and name: both are kept and listed, the bare
name is refused as ambiguous (a :class:`~sc_toolkit.errors.PluginError` naming both plugins), and
``plugin:name`` (e.g. ``composition:element-fractions``) picks one. ``plugin:name`` works wherever a
component is looked up by name: recipes' ``use``, :meth:`Registry.entry`, ``get`` and ``find``.

Importing this module and loading the registry imports no heavy library (torch, lightgbm, pymatgen):
plugins import those inside the methods that need them.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import inspect
import os
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .components import BASES, COMPONENT_KINDS, NAME_PATTERN, Component, Params
from .errors import PluginError, did_you_mean

ENTRY_POINT_GROUP = "sc_toolkit"
ENV_LOAD_PLUGINS = "SCTK_LOAD_PLUGINS"


@dataclass(frozen=True)
class ComponentEntry:
    """A registered component class and where it came from."""

    kind: str
    name: str
    cls: type[Component]
    plugin: str
    version: str

    @property
    def missing(self) -> list[str]:
        """Modules in ``cls.requires`` that cannot be imported here (found without importing)."""
        return [m for m in self.cls.requires if importlib.util.find_spec(m) is None]

    @property
    def status(self) -> str:
        missing = self.missing
        return "needs " + ", ".join(missing) if missing else "ok"


@dataclass(frozen=True)
class PluginFailure:
    """A plugin, or one registration of it, that was refused, and why."""

    plugin: str
    error: str


@dataclass
class Registry:
    """All registered components by (kind, name), datasets by name, and recorded failures."""

    #: (kind, name) -> the entry of each plugin that registers it, in load order (usually one).
    registered: dict[tuple[str, str], list[ComponentEntry]] = field(default_factory=dict)
    datasets: dict[str, Any] = field(default_factory=dict)
    dataset_plugins: dict[str, str] = field(default_factory=dict)
    plugins: dict[str, str] = field(default_factory=dict)
    failures: list[PluginFailure] = field(default_factory=list)

    @property
    def components(self) -> dict[tuple[str, str], ComponentEntry]:
        """(kind, name) -> entry, for the names a bare name resolves (those one plugin registers)."""
        return {key: found[0] for key, found in self.registered.items() if len(found) == 1}

    def entries(self, kind: str | None = None) -> list[ComponentEntry]:
        """Registered components (of one kind), sorted by kind, name, then plugin; a name that
        several plugins register appears once per plugin."""
        found = [e for entries in self.registered.values() for e in entries if kind is None or e.kind == kind]
        return sorted(found, key=lambda e: (e.kind, e.name, e.plugin))

    def names(self, kind: str) -> list[str]:
        """Distinct component names of ``kind``, sorted."""
        return sorted({name for (k, name) in self.registered if k == kind})

    def entry(self, kind: str, name: str) -> ComponentEntry:
        """The entry for ``name`` (or ``plugin:name``) of ``kind``. PluginError with a suggestion when
        there is none, and naming the plugins when a bare name is registered by several."""
        plugin, qualified, bare = name.rpartition(":")
        registered = self.registered.get((kind, bare), [])
        found = [e for e in registered if e.plugin == plugin] if qualified else registered
        if len(found) == 1:
            return found[0]
        if found:
            raise PluginError(
                f"{kind} '{bare}' is registered by {_listing([repr(e.plugin) for e in found], 'and')}",
                hint="write " + _listing([f"'{e.plugin}:{bare}'" for e in found], "or"),
            )
        if registered:
            raise PluginError(
                f"plugin '{plugin}' registers no {kind} named '{bare}'",
                hint="write " + _listing([f"'{e.plugin}:{bare}'" for e in registered], "or"),
            )
        other = [e.kind for e in self.find(name)]
        if other:
            hint = f"'{name}' is {_article(other[0])} {other[0]}, not a {kind}"
        else:
            hint = did_you_mean(bare, self.names(kind)) or "see `sctk list-plugins`"
        raise PluginError(f"no {kind} named '{name}'", hint=hint)

    def get(self, kind: str, name: str) -> type[Component]:
        """The component class for ``name`` (or ``plugin:name``) of ``kind``."""
        return self.entry(kind, name).cls

    def find(self, name: str) -> list[ComponentEntry]:
        """Entries of any kind called ``name`` (or ``plugin:name``: only that plugin's)."""
        plugin, qualified, bare = name.rpartition(":")
        return [e for e in self.entries() if e.name == bare and (not qualified or e.plugin == plugin)]

    def dataset(self, name: str):
        """The registered :class:`~sc_toolkit.data.Dataset` called ``name``."""
        try:
            return self.datasets[name]
        except KeyError:
            raise PluginError(
                f"no dataset named '{name}'",
                hint=did_you_mean(name, self.datasets) or "see `sctk data list`",
            ) from None


class _Loader:
    """Registers plugins one at a time so that each failure is pinned on its plugin."""

    def __init__(self) -> None:
        self.registry = Registry()
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)

    def add(self, plugin: ModuleType | object, name: str, version: str) -> None:
        try:
            self.manager.register(plugin, name=name)
            self._check_hook_names(plugin, name)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # a plugin's own fault (sys.exit included) must not stop the tool
            if self.manager.is_registered(plugin):
                self.manager.unregister(plugin)
            self.registry.failures.append(PluginFailure(name, _describe(error)))
            return
        self.registry.plugins[name] = version
        for kind in COMPONENT_KINDS:
            self._call(plugin, name, kind.hook, self._component_register(kind.name, name, version))
        self._call(plugin, name, "register_datasets", self._dataset_register(name))

    def _check_hook_names(self, plugin: object, name: str) -> None:
        """Refuse hooks that look like ours but match no specification (a misspelling)."""
        try:
            self.manager.check_pending()
        except pluggy.PluginValidationError as error:
            unknown = [a for a in dir(plugin) if a.startswith("register_") and not hasattr(hookspecs, a)]
            hint = "; ".join(
                f"'{u}' is no hook, {did_you_mean(u, hookspecs.COMPONENT_HOOKS | {'register_datasets': 0})}"
                for u in unknown
            )
            raise PluginError(str(error), hint=hint or None) from None

    def _call(self, plugin: object, plugin_name: str, hook_name: str, register) -> None:
        for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
            if impl.plugin is not plugin:
                continue
            try:
                impl.function(register=register)
            except KeyboardInterrupt:
                raise
            except BaseException as error:
                self.registry.failures.append(
                    PluginFailure(plugin_name, f"{hook_name} raised {_describe(error)}")
                )

    def _component_register(self, kind: str, plugin: str, version: str):
        def register(cls: Any) -> None:
            problem = _invalid_component(cls, kind)
            if problem is None:
                found = self.registry.registered.setdefault((kind, cls.name), [])
                if any(e.plugin == plugin for e in found):
                    problem = f"{kind} '{cls.name}' is registered twice by '{plugin}'; kept the first"
            if problem:
                self.registry.failures.append(PluginFailure(plugin, problem))
                return
            found.append(ComponentEntry(kind, cls.name, cls, plugin, version))

        return register

    def _dataset_register(self, plugin: str):
        def register(dataset: Any) -> None:
            name = getattr(dataset, "name", None)
            if not isinstance(name, str) or not name:
                self.registry.failures.append(PluginFailure(plugin, f"dataset {dataset!r} has no name"))
            elif name in self.registry.datasets:
                other = self.registry.dataset_plugins[name]
                self.registry.failures.append(
                    PluginFailure(plugin, f"dataset '{name}' is registered by both '{other}' and '{plugin}'")
                )
            else:
                self.registry.datasets[name] = dataset
                self.registry.dataset_plugins[name] = plugin

        return register


def _invalid_component(cls: Any, kind: str) -> str | None:
    base = BASES[kind]
    label = getattr(cls, "__name__", repr(cls))
    if not (inspect.isclass(cls) and issubclass(cls, base)):
        return f"{label} is registered as a {kind} but is not a subclass of sc_toolkit.{base.__name__}"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        return f"{label} needs a kebab-case `name` such as 'my-{kind}', got {name!r}"
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        return f"{kind} '{name}' ({label}) leaves abstract methods unimplemented: {missing}"
    if not (inspect.isclass(cls.Params) and issubclass(cls.Params, Params)):
        return f"{kind} '{name}' ({label}).Params must subclass sc_toolkit.Params"
    return None


def _listing(items: list[str], conjunction: str) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _describe(error: BaseException) -> str:
    return error.one_line() if isinstance(error, PluginError) else f"{type(error).__name__}: {error}"


def _selected() -> set[str] | None:
    raw = os.environ.get(ENV_LOAD_PLUGINS)
    if raw is None:
        return None
    return {n.strip() for n in raw.split(",") if n.strip()}


def load_registry(extra_plugins: dict[str, object] | None = None) -> Registry:
    """Load the core's dataset catalog, every plugin of the ``sc_toolkit`` entry-point group (as
    restricted by ``SCTK_LOAD_PLUGINS``), then ``extra_plugins`` (name -> module or object)."""
    from . import __version__
    from .data import catalog  # the catalog imports pandas: loaded when a registry is, not on import

    loader = _Loader()
    loader.add(catalog, "sc-toolkit", __version__)
    entry_points = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    wanted = _selected()
    for entry_point in entry_points:
        if wanted is not None and entry_point.name not in wanted:
            continue
        version = entry_point.dist.version if entry_point.dist else "unknown"
        try:
            module = entry_point.load()
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # sys.exit at import included
            loader.registry.failures.append(
                PluginFailure(entry_point.name, f"could not be imported: {_describe(error)}")
            )
            continue
        loader.add(module, entry_point.name, version)
    for name, plugin in (extra_plugins or {}).items():
        loader.add(plugin, name, getattr(plugin, "__version__", "unknown"))
    return loader.registry


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The process-wide registry (loaded once)."""
    return load_registry()
