"""The hook specifications: what a plugin may implement. Their docstrings are the contract.

A plugin is a module (or object) found through the ``sc_toolkit`` entry-point group. It implements
any of these hooks with :data:`hookimpl`; each hook receives a ``register`` callable and calls it once
per component class (or dataset) it provides. The host owns the table, checks every registration,
and records a plugin that breaks a rule instead of failing the whole tool::

    from sc_toolkit import hookimpl

    @hookimpl
    def register_filters(register):
        register(MyFilter)

Each kind in :data:`~sc_toolkit.components.COMPONENT_KINDS` has one hook, ``register_<kind>s``
(``register_encoders``, ``register_filters``, ...), built from that table; ``register_datasets``
registers datasets.
"""

from __future__ import annotations

import pluggy

from .components import COMPONENT_KINDS, ComponentKind

PROJECT = "sc_toolkit"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


def _component_hook(kind: ComponentKind):
    """The hook specification of one component kind (``register_<kind>s(register)``)."""

    def hook(register):
        pass

    base = kind.base
    hook.__name__ = hook.__qualname__ = kind.hook
    hook.__module__ = __name__
    hook.__doc__ = (
        f"Register :class:`~{base.__module__}.{base.__qualname__}` subclasses: ``register(cls)`` per class."
    )
    return hookspec(hook)


# One documented hook per kind of component.
for _kind in COMPONENT_KINDS:
    globals()[_kind.hook] = _component_hook(_kind)
del _kind


@hookspec
def register_datasets(register):
    """Register :class:`~sc_toolkit.data.Dataset` descriptions: ``register(dataset)`` per dataset."""


#: Hook name -> component kind it registers.
COMPONENT_HOOKS: dict[str, str] = {k.hook: k.name for k in COMPONENT_KINDS}
