"""Crystal structures in recipes and runs: the [structures] section's checks, the quick run of
recipes/discover_structures.toml (CIFs that read back to the table's formulas and scores, partial
occupancies kept, resume that does not redo the step) and `sctk structures`."""

from __future__ import annotations

import json
import tomllib
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sc_toolkit import Params, Relaxation, Relaxer, StructureGenerator, hookimpl
from sc_toolkit.errors import RecipeError
from sc_toolkit.plan import make_plan
from sc_toolkit.registry import load_registry
from sc_toolkit.run.directory import RANKED_STRUCTURES, STRUCTURES, STRUCTURES_DIR, RunDir
from sc_toolkit.run.structures import read_cif, to_cif

RECIPE = Path(__file__).parents[1] / "recipes" / "discover_structures.toml"


class VirtualCrystal(StructureGenerator):
    """Test double: one simple-cubic site holding every element of the composition at its atomic
    fraction (a disordered structure of exactly that composition), k copies with growing cells."""

    name = "virtual-crystal"

    def fit(self, structures, y=None, *, run=None):
        self.volume_ = float(np.mean([s.volume / s.composition.num_atoms for s in structures]))
        return self

    def generate(self, compositions, k=1, *, random_state=None, run=None):
        from pymatgen.core import Lattice, Structure

        from sc_toolkit import as_compositions

        out = []
        for amounts in as_compositions(compositions).as_dicts():
            total = sum(amounts.values())
            species = {element: amount / total for element, amount in amounts.items()}
            out.append([Structure(Lattice.cubic((self.volume_ * (1 + 0.1 * j)) ** (1 / 3)), [species], [[0, 0, 0]],
                                  properties={"source": f"virtual crystal {j}"}) for j in range(k)])
        return out

    def _save_state(self, directory):
        (directory / "state.json").write_text(json.dumps({"volume": self.volume_}))

    def _load_state(self, directory):
        self.volume_ = json.loads((directory / "state.json").read_text())["volume"]


class RejectsDisorder(Relaxer):
    """Test double: keeps ordered structures as they are (energy -1 eV/atom), rejects disordered ones."""

    name = "keep-ordered"

    def relax(self, structures, *, run=None):
        return [Relaxation(s, -1.0, 0) if s.is_ordered else Relaxation(rejected="disordered input")
                for s in structures]


def doubles_registry():
    plugin = types.SimpleNamespace(
        register_structure_generators=hookimpl(lambda register: register(VirtualCrystal)),
        register_relaxers=hookimpl(lambda register: register(RejectsDisorder)))
    return load_registry({"doubles": plugin})


def recipe(**structures) -> dict:
    raw = tomllib.loads(RECIPE.read_text())
    raw["structures"] |= structures
    return raw


def problems(raw: dict, registry=None) -> list[str]:
    with pytest.raises(RecipeError) as info:
        make_plan(raw, registry or doubles_registry())
    return [f"{p.where}: {p.message} ({p.hint})" for p in info.value.problems]


# -- the section's checks ---------------------------------------------------------------------------


def test_unknown_generator_names_the_closest():
    found = problems(recipe(generator={"use": "virtual-cristal"}))
    assert any(p.startswith("structures.generator.use: no structure-generator named 'virtual-cristal'")
               and "virtual-crystal" in p for p in found)


def test_structure_predictor_must_exist_and_read_structures():
    found = problems(recipe(generator={"use": "virtual-crystal"}, predictors=["a2ff", "tc"]))
    assert any(p.startswith("structures.predictors.0: no predictor named 'a2ff'") and "'a2f'" in p for p in found)
    assert any(p.startswith("structures.predictors.1: predictor 'tc' reads compositions") for p in found)


def test_datasets_must_hold_structures_and_exist():
    found = problems(recipe(generator={"use": "virtual-crystal"}, datasets=["supercon", "3dcs"]))
    assert any(p.startswith("structures.datasets.0: dataset 'supercon' holds compositions") for p in found)
    assert any(p.startswith("structures.datasets.1: no dataset named '3dcs'") and "3dsc" in p for p in found)


def test_unknown_key_and_rank_column():
    found = problems(recipe(generator={"use": "virtual-crystal"}, kk=3, rank_by="a2f_lambdaa"))
    assert any(p.startswith("structures.kk: unknown key 'kk'") for p in found)


def test_rank_column_must_be_provided():
    found = problems(recipe(generator={"use": "virtual-crystal"}, rank_by="a2f_lambdaa"))
    assert any(p.startswith("structures.rank_by: cannot rank structures by 'a2f_lambdaa'") for p in found)


def test_structure_predictors_do_not_score_compositions():
    plan = make_plan(recipe(generator={"use": "virtual-crystal"}, relaxer={"use": "keep-ordered"}),
                     doubles_registry())
    assert [p.section.name for p in plan.candidate_predictors] == ["tc"]
    assert plan.structures.rank_by == "a2f_pred"
    assert any(line.split(". ", 1)[1].startswith("relax     keep-ordered") for line in plan.describe())
