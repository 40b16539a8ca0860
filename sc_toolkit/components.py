"""The component kinds (one table, :data:`COMPONENT_KINDS`) and their typed parameters.

Every component is a class with a kebab-case ``name`` used in recipes and a nested ``Params``
pydantic model whose unknown keys are errors. Components work from Python without a recipe::

    enc = ElementFractions(min_fraction=0.02)      # keyword parameters, validated
    X = enc.fit(compositions).encode(compositions)

Contracts (checked for plugin authors by :mod:`sc_toolkit.testing`):

- :class:`Encoder`: ``fit(materials) -> self``, ``encode(materials) -> array``, ``feature_labels()``;
  ``decode(array) -> Compositions`` when ``invertible`` (generators need one).
- :class:`Generator`: ``fit(X, y=None, *, run=None) -> self``,
  ``sample(n_samples, *, condition=None, random_state=None, run=None) -> array``.
- :class:`Predictor`: scikit-learn style ``fit(X, y) -> self`` (fitted state ends in ``_``),
  ``predict(X, return_std=False)``, ``predict_proba(X)`` for classifiers, ``get_params``/``set_params``.
- :class:`Filter`: ``fit(reference_table) -> self``, ``keep(table, *, run=None) -> bool mask``,
  ``columns()`` names what it reads from the table.
- :class:`StructureGenerator`: ``fit(structures, y=None, *, run=None) -> self``,
  ``generate(compositions, k=1, *, random_state=None, run=None) -> list[list[Structure]]``: up to
  ``k`` pymatgen structures per composition, best first, each of exactly that composition.
- :class:`Relaxer`: ``relax(structures, *, run=None) -> list[Relaxation]``: one outcome per
  structure (relaxed structure and energy per atom, or the reason it was rejected).

``save(directory)`` / ``load(directory)`` persist a fitted component as JSON plus the component's
own files (torch state dicts, loaded with ``weights_only=True``; never pickled objects).
"""

from __future__ import annotations

import inspect
import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from .errors import UserError
from .run.directory import COMPONENT_FILE

if TYPE_CHECKING:
    import pandas as pd

    from .chem import Compositions

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class Params(BaseModel):
    """Base of every component's parameters: unknown keys are rejected, values validated."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


def field_rows(model: type[BaseModel]) -> list[tuple[str, str, str, str]]:
    """(name, type, default, description) of each field of a pydantic model (component parameters,
    recipe sections), for ``sctk describe`` and the docs."""
    rows = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if getattr(annotation, "__args__", None) or not hasattr(annotation, "__name__"):
            type_name = str(annotation).replace("typing.", "")
        else:
            type_name = annotation.__name__
        default = "(required)" if info.is_required() else repr(info.get_default(call_default_factory=True))
        rows.append((name, type_name, default, info.description or ""))
    return rows


class Component(ABC):
    """Behaviour shared by all component kinds: parameters, citations, provenance, persistence."""

    kind: ClassVar[str]
    #: kebab-case name used in recipes.
    name: ClassVar[str]
    Params: ClassVar[type[Params]] = Params
    #: Importable modules the component needs at run time; ``list-plugins`` shows "needs X" when
    #: one is missing (checked without importing it).
    requires: ClassVar[tuple[str, ...]] = ()
    #: Parameter overrides applied by ``sctk run --quick`` (few epochs, small ensembles).
    quick: ClassVar[dict[str, Any]] = {}
    #: Valid parameters for a component whose Params have required fields (contract checks use them).
    example_params: ClassVar[dict[str, Any]] = {}

    def __init__(self, params: Params | dict[str, Any] | None = None, **overrides: Any):
        if isinstance(params, Params):
            params = params.model_dump()
        self.params = self.Params(**{**(params or {}), **overrides})

    def __repr__(self) -> str:
        changed = self.params.model_dump(exclude_defaults=True)
        inner = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({inner})"

    @classmethod
    def summary(cls) -> str:
        """First paragraph of the class docstring, on one line."""
        first = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0]
        return " ".join(first.split())

    @classmethod
    def parameters(cls) -> list[tuple[str, str, str, str]]:
        """(name, type, default, description) of each parameter, for ``sctk describe`` and the docs."""
        return field_rows(cls.Params)

    def citations(self) -> list[str]:
        """References a user should cite when this component contributes to a result."""
        return []

    def provenance(self) -> dict[str, Any]:
        """Library versions and settings that a figure made with this component depends on."""
        return {}

    def save(self, directory: str | Path) -> Path:
        """Write the header file (``COMPONENT_FILE``: kind, name, params) and the fitted state into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        header = {"kind": self.kind, "name": self.name, "params": self.params.model_dump(mode="json")}
        (directory / COMPONENT_FILE).write_text(json.dumps(header, indent=2) + "\n")
        self._save_state(directory)
        return directory

    @classmethod
    def load(cls, directory: str | Path):
        """Rebuild a component saved by :meth:`save`."""
        directory = Path(directory)
        header = json.loads((directory / COMPONENT_FILE).read_text())
        if header.get("name") != cls.name:
            raise UserError(
                f"{directory} holds a saved '{header.get('name')}', not a '{cls.name}'",
                hint="load it with the component class it was saved from",
            )
        component = cls(header["params"])
        component._load_state(directory)
        return component

    def _save_state(self, directory: Path) -> None:
        """Write the fitted state (override in components that learn something)."""

    def _load_state(self, directory: Path) -> None:
        """Read the fitted state written by :meth:`_save_state`."""


class Encoder(Component):
    """Turns materials into numbers (and back, when ``invertible``)."""

    kind = "encoder"
    #: What it reads: "composition" (formulas) or "structure" (crystal structures).
    consumes: ClassVar[Literal["composition", "structure"]] = "composition"
    #: What it writes: "matrix" (2-D array) or "graph" (batched graphs).
    produces: ClassVar[Literal["matrix", "graph"]] = "matrix"
    invertible: ClassVar[bool] = False

    def fit(self, materials) -> Encoder:
        """Learn what the encoding needs from ``materials`` (nothing by default)."""
        return self

    @abstractmethod
    def encode(self, materials) -> np.ndarray:
        """Features of ``materials`` (rows in the same order)."""

    @abstractmethod
    def feature_labels(self) -> list[str]:
        """Name of each feature column (or each feature axis for matrix encodings)."""

    def decode(self, features: np.ndarray) -> Compositions:
        """Compositions of ``features``; rows that hold no element decode to an empty formula ''."""
        raise NotImplementedError(f"encoder '{self.name}' is not invertible")


class Generator(Component):
    """Learns a distribution of encoded materials and samples new ones."""

    kind = "generator"
    #: True when ``fit`` accepts labels ``y`` and ``sample`` a ``condition``.
    conditional: ClassVar[bool] = False

    @abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray | None = None, *, run=None) -> Generator:
        """Train on encoded materials ``X`` (and labels ``y`` when conditional)."""

    @abstractmethod
    def sample(
        self, n_samples: int, *, condition=None, random_state: int | None = None, run=None
    ) -> np.ndarray:
        """``n_samples`` encoded materials, in the encoder's space; ``condition`` is a label or an
        array of one label per sample (conditional generators only)."""


class Predictor(Component):
    """Predicts a property (regression) or a class (classification) from encoded materials."""

    kind = "predictor"
    #: Whether ``predict(X, return_std=True)`` gives a meaningful uncertainty.
    supports_std: ClassVar[bool] = False

    @property
    def task(self) -> Literal["regression", "classification"]:
        """'regression' or 'classification' (components with a ``task`` parameter report it)."""
        return getattr(self.params, "task", "regression")

    @abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray, *, groups: np.ndarray | None = None, run=None) -> Predictor:
        """Train on features ``X`` and targets ``y``; fitted attributes end in ``_``.

        ``groups`` gives each row a group label (the runner passes composition keys): a predictor
        that holds rows out of its own training (early stopping, out-of-bag validation) keeps each
        group whole on one side, so its validation never sees a composition it trained on.
        """

    @abstractmethod
    def predict(self, X: np.ndarray, return_std: bool = False):
        """Predictions (and their standard deviations when ``return_std``)."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, n_classes) (classifiers only)."""
        raise NotImplementedError(f"predictor '{self.name}' is not a classifier")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters as a dict (scikit-learn contract)."""
        return self.params.model_dump()

    def set_params(self, **params: Any) -> Predictor:
        """Replace parameters, validated (scikit-learn contract)."""
        self.params = self.Params(**{**self.params.model_dump(), **params})
        return self


class Filter(Component):
    """Keeps or rejects rows of a candidate table; the runner records which filter rejected a row."""

    kind = "filter"

    def columns(self) -> tuple[str, ...]:
        """Table columns this filter reads (the plan checks that an earlier step provides them)."""
        return ("formula",)

    def fit(self, reference: pd.DataFrame) -> Filter:
        """See the reference table (the training data of a run) before filtering; no-op by default."""
        return self

    @abstractmethod
    def keep(self, table: pd.DataFrame, *, run=None) -> np.ndarray:
        """Boolean mask, True for rows that pass."""


class StructureGenerator(Component):
    """Proposes crystal structures (lattice, sites, occupancies) for given compositions."""

    kind = "structure-generator"
    #: True when ``generate`` can be steered toward a target property (``target=`` keyword).
    steerable: ClassVar[bool] = False

    @abstractmethod
    def fit(self, structures, y: np.ndarray | None = None, *, run=None) -> StructureGenerator:
        """Learn from known structures (a sequence of pymatgen ``Structure``, ordered or with partial
        occupancies) and, when given, a property ``y`` per structure (Tc in K for steering)."""

    @abstractmethod
    def generate(self, compositions, k: int = 1, *, random_state: int | None = None, run=None) -> list[list]:
        """For each composition (formulas or :class:`~sc_toolkit.chem.Compositions`), up to ``k``
        pymatgen ``Structure`` objects, most plausible first. Every structure has exactly the requested
        composition (reduced; partial occupancies where the amounts are not integers); a composition the
        generator cannot place gets an empty list, never a structure of another formula."""


@dataclass(frozen=True)
class Relaxation:
    """Outcome of relaxing one structure: the relaxed structure and its energy per atom (eV), or
    ``rejected`` saying why there is none (atoms too close, not converged, disordered input, ...).
    ``disordered`` is True when the only reason is the input's partial occupancies (the structure
    itself is sound; the runner then scores it unrelaxed and says so)."""

    structure: Any = None
    energy_per_atom: float = float("nan")
    steps: int = 0
    rejected: str = ""
    disordered: bool = False

    @property
    def ok(self) -> bool:
        """True when the relaxation gave a structure."""
        return not self.rejected


class Relaxer(Component):
    """Relaxes crystal structures to a nearby energy minimum and reports their energies."""

    kind = "relaxer"

    @abstractmethod
    def relax(self, structures, *, run=None) -> list[Relaxation]:
        """One :class:`Relaxation` per structure, in order; a structure that cannot be relaxed gets a
        ``rejected`` reason instead of raising."""


@dataclass(frozen=True)
class ComponentKind:
    """One kind of component: its base class, and from it the name recipes and the registry use,
    the plugin hook that registers it and its heading in the docs."""

    base: type[Component]

    @property
    def name(self) -> str:
        """The kind's name, ``base.kind`` (e.g. 'encoder')."""
        return self.base.kind

    @property
    def hook(self) -> str:
        """The hook a plugin implements to register components of this kind, e.g. 'register_encoders'."""
        return "register_" + self.name.replace("-", "_") + "s"

    @property
    def title(self) -> str:
        """Plural heading, e.g. 'Encoders'."""
        return self.name.replace("-", " ").capitalize() + "s"


#: Every kind of component, in the order the docs and ``sctk list-plugins`` show them. The hook
#: specifications (:mod:`sc_toolkit.hookspecs`), the registry's checks and the generated docs all
#: derive from this table: a new kind is one entry here plus its base class above.
COMPONENT_KINDS: tuple[ComponentKind, ...] = (
    ComponentKind(Encoder),
    ComponentKind(Generator),
    ComponentKind(Predictor),
    ComponentKind(Filter),
    ComponentKind(StructureGenerator),
    ComponentKind(Relaxer),
)
#: Kind names, e.g. ("encoder", "generator", "predictor", "filter").
KINDS: tuple[str, ...] = tuple(k.name for k in COMPONENT_KINDS)
#: Kind name -> base class every registered component of that kind subclasses.
BASES: dict[str, type[Component]] = {k.name: k.base for k in COMPONENT_KINDS}
