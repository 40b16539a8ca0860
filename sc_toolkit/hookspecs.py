"""The hook specifications: what a plugin may implement. Their docstrings are the contract.

A plugin is a module (or object) found through the ``sc_toolkit`` entry-point group. It implements
any of these hooks with :data:`hookimpl`; each hook receives a ``register`` callable and calls it once
per component class (or dataset) it provides. The host owns the table, checks every registration,
and records a plugin that breaks a rule instead of failing the whole tool::

    from sc_toolkit import hookimpl

    @hookimpl
    def register_filters(register):
        register(MyFilter)
"""

from __future__ import annotations

import pluggy

PROJECT = "sc_toolkit"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_encoders(register):
    """Register :class:`~sc_toolkit.components.Encoder` subclasses: ``register(cls)`` per class."""


@hookspec
def register_generators(register):
    """Register :class:`~sc_toolkit.components.Generator` subclasses: ``register(cls)`` per class."""


@hookspec
def register_predictors(register):
    """Register :class:`~sc_toolkit.components.Predictor` subclasses: ``register(cls)`` per class."""


@hookspec
def register_filters(register):
    """Register :class:`~sc_toolkit.components.Filter` subclasses: ``register(cls)`` per class."""


@hookspec
def register_datasets(register):
    """Register :class:`~sc_toolkit.data.Dataset` descriptions: ``register(dataset)`` per dataset."""


#: Hook name -> component kind it registers.
COMPONENT_HOOKS = {
    "register_encoders": "encoder",
    "register_generators": "generator",
    "register_predictors": "predictor",
    "register_filters": "filter",
}
