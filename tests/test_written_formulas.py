"""Written = validated: every formula a generator recipe accepts passes SMACT on its exact integer
scaling, the formula as written in accepted.csv (no rounding between the filter and the file)."""

from __future__ import annotations

import json
import math
import re
import tomllib
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

RECIPES = Path(__file__).parents[1] / "recipes"
RECIPE_TABLES = {path.name: tomllib.loads(path.read_text(encoding="utf-8")) for path in sorted(RECIPES.glob("*.toml"))}
#: Every shipped recipe that samples a generator and screens its samples with smact-valid.
GENERATOR_RECIPES = [
    name for name, recipe in RECIPE_TABLES.items()
    if "generator" in recipe and any(f.get("use") == "smact-valid" for f in recipe.get("filters", []))
]


def exact_integer_formula(formula: str) -> str:
    """``formula`` (element symbols and decimal amounts, no brackets) scaled exactly to the smallest
    integers with Fraction arithmetic on the written text."""
    amounts = {s: Fraction(a or 1) for s, a in re.findall(r"([A-Z][a-z]?)([0-9.]*)", formula)}
    scale = math.lcm(*(a.denominator for a in amounts.values()))
    counts = {s: int(a * scale) for s, a in amounts.items()}
    divisor = math.gcd(*counts.values())
    return "".join(f"{s}{n // divisor}" for s, n in counts.items())


def test_every_generator_recipe_is_checked():
    assert {"cuprate_gan.toml", "cuprate_vae.toml", "cuprate_diffusion.toml", "lim_conditional_gan.toml",
            "cuprate_wgan_fractions.toml"} <= set(GENERATOR_RECIPES)


@pytest.mark.slow
@pytest.mark.parametrize("name", GENERATOR_RECIPES)
def test_accepted_formulas_pass_smact_as_written(name, shipped_quick_run):
    smact_validity = pytest.importorskip("smact.screening").smact_validity
    run_dir = shipped_quick_run(name)  # the recipe's --quick run, shared with test_cli
    screened = json.loads((run_dir / "metrics.json").read_text())["generation"]["filters"]["smact-valid"]
    assert screened["in"] > 0
    accepted = pd.read_csv(run_dir / "accepted.csv", keep_default_na=False)
    written = pd.read_parquet(run_dir / "candidates.parquet")
    assert len(accepted) <= screened["kept"]  # [rank] may skip crowded candidates
    assert sorted(accepted["formula"]) == sorted(written.loc[written["rejected_by"] == "", "formula"])
    failed = [f for f in accepted["formula"] if not smact_validity(exact_integer_formula(f))]
    assert not failed, f"{len(failed)} of {len(accepted)} accepted formulas fail SMACT as written: {failed[:5]}"
