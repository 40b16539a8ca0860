"""The ``[structures]`` section of a run, and the same work for ``sctk structures``: crystal
structures for candidate compositions, relaxed and scored.

1. The compositions: the first ``top`` ranked accepted candidates, or the formulas of ``path``.
2. The structure generator is fitted on the catalog's structure datasets (each CIF parsed, the ones
   that do not parse counted in the metrics) and saved in the run; it proposes up to ``k``
   structures per composition, most plausible first (``rank_in_composition``). A composition it
   cannot place gets one row saying so.
3. The relaxer relaxes each structure. A structure with partial occupancies that the relaxer
   turns down for them (an interatomic potential needs one atom per site) is kept as proposed:
   ``relaxed`` is False, ``relax_note`` says why, and it is scored and ranked on its unrelaxed CIF
   (the structure predictors read occupancies). Any other rejected relaxation (atoms too close, not
   converged, ...) keeps its reason in ``rejected`` and the proposed structure in its CIF, and is
   neither scored nor ranked.
4. A relaxer with a ``stability(relaxations, hull)`` method (CHGNet's) gives each relaxed structure
   ``e_form_chgnet`` and ``e_hull_chgnet`` (eV/atom; the latter against the reference hull of the
   run's first predictor that has one, else NaN) and ``stability_note`` (why a figure is missing).
5. Each structure is written as a CIF (``structures/<structure_id>.cif``, occupancies kept), and the
   structure predictors score the text of that very CIF: every figure on a row belongs to the
   structure in its file. An alpha2F predictor adds ``<name>_lambda`` and ``<name>_omega_log`` (K).
6. The table of every structure and the ranked structures are written to the run (see
   :class:`~sc_toolkit.run.directory.RunDir`); a resumed run whose table is written does not redo it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..chem import Compositions
from ..components import Relaxation, Relaxer, StructureGenerator
from ..errors import UserError
from ..plan import Plan
from ..runtime import RunLike, log, progress
from .data_section import Datasets
from .directory import RANKED_STRUCTURES, STRUCTURE_GENERATOR, STRUCTURES, STRUCTURES_DIR, RunDir
from .predict import SavedPredictor
from .structures import CatalogStructures, catalog_structures, describe, source_of, to_cif
from .tables import read_formula_csv

#: ``rejected`` of a composition the generator proposed no structure for.
NO_STRUCTURE = "no structure proposed"
#: ``rejected`` of a structure whose relaxation failed, before the relaxer's reason.
RELAX_REJECTED = "relaxation: "
#: ``relax_note`` of a structure scored on its unrelaxed CIF, before the relaxer's reason.
UNRELAXED = "scored unrelaxed: "
#: ``stability_note`` of a structure without a relaxed energy.
NOT_RELAXED = "not relaxed"
#: The stability columns a relaxer's ``stability`` method gives.
STABILITY = ("e_form_chgnet", "e_hull_chgnet", "stability_note")


@dataclass
class Proposal:
    """One proposed structure (or none, for a composition the generator could not place) and what
    became of it."""

    formula: str
    composition_rank: int
    rank_in_composition: int
    source: str
    structure: Any = None
    energy_per_atom: float = float("nan")
    relax_steps: int = 0
    relaxed: bool = False
    relax_note: str = ""
    rejected: str = ""
    stability: dict[str, Any] | None = None


def compositions_to_place(plan: Plan, accepted: pd.DataFrame | None, run: RunLike | None = None) -> pd.DataFrame:
    """Formulas (column 'formula') and 'composition_rank' of the compositions that get structures:
    the first ``top`` accepted candidates in their rank, or the rows of ``path`` in file order (a
    row whose formula does not parse is logged with its reason and skipped)."""
    section = plan.structures.section
    if section.path:
        table, rejected = read_formula_csv(Path(section.path), where="structures.path")
        for row in rejected.itertuples():
            log(run, f"structures.path: row {row.row} ({row.value!r}) skipped: {row.reason}")
        table = table[["formula"]]
    elif accepted is None or accepted.empty:
        table = pd.DataFrame({"formula": pd.Series([], dtype=str)})
    else:
        table = accepted.head(section.top)[["formula"]]
    return table.reset_index(drop=True).assign(composition_rank=lambda t: np.arange(1, len(t) + 1))


def dataset_tables(datasets: Datasets, names: list[str]) -> dict[str, tuple[pd.DataFrame, dict[str, str]]]:
    """Each structure dataset whole (its known structures are the generator's templates, also under
    --quick) and its files' sha256."""
    tables = {}
    for name in names:
        loaded = datasets.load(name)
        tables[name] = (loaded.table, loaded.files)
    return tables


def fit_structure_generator(generator: StructureGenerator, catalog: CatalogStructures, *,
                            run: RunLike | None = None) -> StructureGenerator:
    """``generator`` fitted on the catalog's structures (with their Tc when it can be steered)."""
    if not catalog.structures:
        raise UserError("no structure to fit the structure generator on", where="structures.datasets",
                        hint="check the datasets with `sctk data verify`")
    sources = ", ".join(f"{name}: {c['structures']}" for name, c in catalog.counts().items())
    log(run, f"structure generator {generator.name}: fitting on {len(catalog.structures)} structures ({sources})")
    y = catalog.y if generator.steerable else None
    return generator.fit(catalog.structures, y, run=run)


def propose(generator: StructureGenerator, places: pd.DataFrame, k: int, *, relaxer: Relaxer | None = None,
            hull=None, seed: int = 0, run: RunLike | None = None) -> list[Proposal]:
    """Up to ``k`` structures for each formula of ``places`` (columns formula, composition_rank),
    relaxed by ``relaxer`` when given (with their stability against ``hull`` when the relaxer has a
    ``stability`` method); one row for a composition that gets none."""
    formulas = places["formula"].tolist()
    proposals: list[Proposal] = []
    generated = generator.generate(Compositions.from_formulas(formulas), k=k, random_state=seed, run=run) \
        if formulas else []
    for formula, rank, structures in zip(formulas, places["composition_rank"], generated, strict=True):
        if not structures:
            proposals.append(Proposal(formula, int(rank), 0, generator.name, rejected=NO_STRUCTURE))
        for j, structure in enumerate(structures):
            proposals.append(Proposal(formula, int(rank), j + 1, source_of(structure, generator.name), structure))
    if relaxer is not None:
        relax(proposals, relaxer, run=run)
        if hasattr(relaxer, "stability"):
            add_stability(proposals, relaxer, hull, run=run)
    return proposals


def relax(proposals: list[Proposal], relaxer: Relaxer, *, run: RunLike | None = None) -> None:
    """Relax every proposed structure in place, one composition at a time (so progress shows)."""
    by_composition: dict[int, list[Proposal]] = {}
    for p in proposals:
        if p.structure is not None:
            by_composition.setdefault(p.composition_rank, []).append(p)
    with progress(run, f"relax ({relaxer.name})", total=sum(map(len, by_composition.values()))) as task:
        for group in by_composition.values():
            for p, outcome in zip(group, relaxer.relax([p.structure for p in group], run=run), strict=True):
                p.relax_steps = outcome.steps
                if outcome.ok:
                    p.structure, p.energy_per_atom, p.relaxed = outcome.structure, outcome.energy_per_atom, True
                elif outcome.disordered and not p.structure.is_ordered:
                    p.relax_note = UNRELAXED + outcome.rejected
                else:
                    p.rejected = RELAX_REJECTED + outcome.rejected
            task.advance(len(group))


def add_stability(proposals: list[Proposal], relaxer: Relaxer, hull=None, *, run: RunLike | None = None) -> None:
    """Each proposal's :data:`STABILITY` columns from ``relaxer.stability`` (relaxed structures; the
    others get NaN and :data:`NOT_RELAXED`)."""
    relaxed = [p for p in proposals if p.relaxed]
    for p in proposals:
        p.stability = {"e_form_chgnet": np.nan, "e_hull_chgnet": np.nan, "stability_note": NOT_RELAXED}
    if not relaxed:
        return
    against = "the run's reference hull" if hull is not None else "no hull (formation energies only)"
    log(run, f"structures: stability of {len(relaxed)} relaxed structures ({relaxer.name}), against {against}")
    outcomes = [Relaxation(structure=p.structure, energy_per_atom=p.energy_per_atom, steps=p.relax_steps)
                for p in relaxed]
    table = relaxer.stability(outcomes, hull)
    for p, row in zip(relaxed, table[list(STABILITY)].to_dict("records"), strict=True):
        p.stability = row


def structure_table(proposals: list[Proposal]) -> pd.DataFrame:
    """One row per proposal: formula, composition_rank, structure_id, rank_in_composition, source,
    space_group, n_sites, volume_per_atom, ordered, relaxed, energy_per_atom, relax_steps,
    relax_note, rejected, the :data:`STABILITY` columns when the relaxer gave them, and 'cif' (the
    CIF text of the structure, '' for none)."""
    rows = []
    for p in proposals:
        reduced = Compositions.from_formulas([p.formula]).reduced_formulas()[0]
        row = {"formula": p.formula, "reduced_formula": reduced, "composition_rank": p.composition_rank,
               "structure_id": f"{p.composition_rank:03d}-{reduced}-{p.rank_in_composition}",
               "rank_in_composition": p.rank_in_composition, "source": p.source}
        if p.structure is not None:
            row |= describe(p.structure)
        row |= {"relaxed": p.relaxed, "energy_per_atom": p.energy_per_atom, "relax_steps": p.relax_steps,
                "relax_note": p.relax_note, "rejected": p.rejected} | (p.stability or {})
        row["cif"] = to_cif(p.structure) if p.structure is not None else ""
        rows.append(row)
    stability = list(STABILITY) if any(p.stability for p in proposals) else []
    columns = ["formula", "reduced_formula", "composition_rank", "structure_id", "rank_in_composition", "source",
               "space_group", "n_sites", "volume_per_atom", "ordered", "relaxed", "energy_per_atom", "relax_steps",
               "relax_note", "rejected", *stability, "cif"]
    return pd.DataFrame(rows, columns=columns)


def score(table: pd.DataFrame, predictors: list[SavedPredictor], *, run: RunLike | None = None) -> None:
    """Add each predictor's columns for the rows with a structure and no rejection, computed on
    their 'cif' text; an alpha2F predictor (one with ``predict_moments``) also adds '<name>_lambda' and
    '<name>_omega_log' with their ensemble spreads."""
    alive = ((table["rejected"] == "") & (table["cif"] != "")).to_numpy()
    for predictor in predictors:
        log(run, f"structures: scoring {int(alive.sum())} with {predictor.name}")
        predictor.predict_into(table, alive)


def ranked_structures(table: pd.DataFrame, by: str | None, descending: bool) -> pd.DataFrame:
    """The scored, unrejected structures sorted by ``by`` (NaN last), with 'rank' from 1."""
    alive = table[(table["rejected"] == "") & (table["cif"] != "")]
    if by is not None:
        alive = alive.sort_values(by, ascending=not descending, na_position="last", kind="stable")
    return alive.reset_index(drop=True).assign(rank=lambda t: np.arange(1, len(t) + 1))


def write_cifs(table: pd.DataFrame, folder: Path) -> None:
    """Each row's CIF text as ``folder/<structure_id>.cif``."""
    folder.mkdir(parents=True, exist_ok=True)
    for structure_id, text in zip(table["structure_id"], table["cif"]):
        if text:
            (folder / f"{structure_id}.cif").write_text(text, encoding="utf-8")


def run_structures(plan: Plan, accepted: pd.DataFrame | None, datasets: Datasets, registry, predictors: dict,
                   run, metrics: dict[str, Any]) -> pd.DataFrame:
    """The ``[structures]`` step of a run: the ranked structures (every structure is in the run's
    structures table); a run whose table is written already reads it back instead."""
    run_dir: RunDir = run.run_dir
    if run_dir.has(STRUCTURES):
        run.log("structures loaded from a previous attempt of this run")
        return run_dir.read_table(RANKED_STRUCTURES)
    structures = plan.structures
    places = compositions_to_place(plan, accepted, run)
    generator = _fitted_generator(structures, datasets, registry, run, metrics)
    relaxer = structures.relaxer.build() if structures.relaxer else None
    hull = next((p.extras.hull for p in predictors.values() if p.extras.hull is not None), None)
    proposals = propose(generator, places, structures.section.k, relaxer=relaxer, hull=hull, seed=plan.run.seed,
                        run=run)
    table = structure_table(proposals)
    write_cifs(table, run_dir.file(STRUCTURES_DIR))
    score(table, [predictors[name] for name in structures.predictors], run=run)
    ranked = ranked_structures(table, structures.rank_by, structures.section.descending)
    counts = metrics.setdefault("structures", {})
    counts |= {"compositions": len(places), "structures": int((table["cif"] != "").sum()),
               "no_structure": int((table["rejected"] == NO_STRUCTURE).sum()),
               "relaxed": int(table["relaxed"].sum()), "scored_unrelaxed": int((table["relax_note"] != "").sum()),
               "ranked": len(ranked),
               "rejected": table.loc[table["rejected"] != "", "rejected"].value_counts().to_dict()}
    run.manifest["provenance"]["structures"] = {"generator": generator.provenance(),
                                                "relaxer": relaxer.provenance() if relaxer else None}
    run_dir.write_table(RANKED_STRUCTURES, ranked.drop(columns="cif"))
    run_dir.write_table(STRUCTURES, table.drop(columns="cif"))  # written last: the step's mark of completion
    run.log(f"structures: {counts['structures']} for {len(places)} compositions, {counts['relaxed']} relaxed, "
            f"{counts['scored_unrelaxed']} scored unrelaxed (partial occupancies), {len(ranked)} ranked")
    return ranked.drop(columns="cif")


def _fitted_generator(structures, datasets: Datasets, registry, run, metrics: dict[str, Any]) -> StructureGenerator:
    """The structure generator saved by a previous attempt of this run, else fitted now and saved."""
    run_dir: RunDir = run.run_dir
    if run_dir.has_component(STRUCTURE_GENERATOR):
        run.log("structure generator loaded from a previous attempt of this run")
        return run_dir.load_component(STRUCTURE_GENERATOR, "structure-generator", registry)
    catalog = catalog_structures(dataset_tables(datasets, structures.section.datasets))
    metrics.setdefault("structures", {})["datasets"] = catalog.counts()
    for name, info in catalog.unreadable.items():
        if info["count"]:
            run.log(f"structures: {info['count']} CIFs of {name} do not parse and are left out; the first: {info['first']}")
    generator = fit_structure_generator(structures.generator.build(), catalog, run=run)
    run_dir.save_component(generator, STRUCTURE_GENERATOR)
    return generator


# -- `sctk structures FORMULA ...` ----------------------------------------------------------------

#: Folder of the user cache holding fitted structure generators (by name, parameters and data).
GENERATOR_CACHE = "structure-generators"


def catalog_generator(registry, name: str, datasets: list[str], *, run: RunLike | None = None) -> StructureGenerator:
    """The structure generator ``name`` (default parameters) fitted on the registered ``datasets``;
    a fitted one is kept in ``<user cache>/structure-generators/`` under its name, parameters and the
    sha256 of the datasets' files, so it is fitted once per machine."""
    import hashlib
    import json
    import os
    import shutil

    from ..data import cache_dir, load

    entry = registry.entry("structure-generator", name)
    generator = entry.cls()
    loaded = {n: load(registry.dataset(n)) for n in datasets}
    identity = [entry.name, generator.params.model_dump(mode="json"), {n: t.files for n, t in loaded.items()}]
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    folder = cache_dir() / GENERATOR_CACHE / f"{entry.name}-{key}"
    if folder.is_dir():
        log(run, f"structure generator {entry.name} read from {folder}")
        return entry.cls.load(folder)
    catalog = catalog_structures({n: (t.table, t.files) for n, t in loaded.items()})
    generator = fit_structure_generator(generator, catalog, run=run)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    generator.save(tmp)
    os.replace(tmp, folder)
    return generator


def available_structure_datasets(registry) -> tuple[list[str], list[str]]:
    """The registered structure datasets found on this machine, and those that are not."""
    from ..data import locate
    from ..errors import DataError

    found, missing = [], []
    for name in sorted(n for n, d in registry.datasets.items() if d.kind == "structure"):
        try:
            locate(registry.dataset(name))
            found.append(name)
        except DataError:
            missing.append(name)
    return found, missing


def structures_for(formulas: list[str], generator: StructureGenerator, k: int, out: Path, *,
                   relaxer: Relaxer | None = None, seed: int = 0, run: RunLike | None = None) -> pd.DataFrame:
    """Up to ``k`` structures per formula written to ``out`` as ``<reduced formula>-<j>.cif``, and
    their table (as :func:`structure_table`, with 'file' instead of the CIF text). UserError for a
    formula that does not parse or a CIF that exists already."""
    places = pd.DataFrame({"formula": formulas, "composition_rank": np.arange(1, len(formulas) + 1)})
    Compositions.from_formulas(formulas)  # FormulaError naming a bad formula, before any work
    table = structure_table(propose(generator, places, k, relaxer=relaxer, seed=seed, run=run))
    table["file"] = [f"{r}-{j}.cif" if text else "" for r, j, text
                     in zip(table["reduced_formula"], table["rank_in_composition"], table["cif"])]
    taken = [f for f in table["file"] if f and (out / f).exists()]
    if taken:
        raise UserError(f"{out / taken[0]} exists already", where="--out", hint="choose another --out folder")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in zip(table["file"], table["cif"]):
        if text:
            (out / name).write_text(text, encoding="utf-8")
    return table.drop(columns=["cif", "structure_id", "composition_rank"])
