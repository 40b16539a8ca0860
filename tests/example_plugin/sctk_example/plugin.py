"""Registers the ``max-atoms`` filter with sc-toolkit through the ``sc_toolkit`` entry point."""

from pydantic import Field

from sc_toolkit import Filter, Params, hookimpl
from sc_toolkit import Compositions


class MaxAtoms(Filter):
    """Keeps compositions whose formula holds at most ``limit`` atoms."""

    name = "max-atoms"

    class Params(Params):
        limit: float = Field(20.0, gt=0, description="largest number of atoms in the formula")

    def keep(self, table, *, run=None):
        amounts = Compositions.from_formulas(table["formula"]).amounts
        return amounts.sum(axis=1) <= self.params.limit


@hookimpl
def register_filters(register):
    register(MaxAtoms)
