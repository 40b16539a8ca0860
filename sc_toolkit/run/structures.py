"""Crystal structures as a run and ``sctk structures`` handle them: CIF text in and out (partial
occupancies kept), the catalog's structure datasets as pymatgen structures (parsed once, then read
from the user cache), a one-line description of a structure, and its picture.

pymatgen reads and writes the CIFs (``CifWriter`` writes each site's species with its occupancy);
ase + matplotlib draw the pictures (``ase.visualize.plot.plot_atoms``).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import warnings
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

import numpy as np
import pandas as pd

from ..data import cache_dir

#: Folder of the user cache holding the parsed structures of each dataset (by its files' sha256).
CACHE_FOLDER = "structures"


def to_cif(structure) -> str:
    """CIF text of a pymatgen structure, every site's species with its occupancy (so a disordered
    structure stays disordered), coordinates as pymatgen writes them."""
    from pymatgen.io.cif import CifWriter

    return str(CifWriter(structure))


def read_cif(text: str):
    """The pymatgen structure of CIF text (occupancies up to 1.05 accepted, as the encoders do);
    ValueError saying why when it does not parse."""
    from pymatgen.io.cif import CifParser

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parser = CifParser(StringIO(text), occupancy_tolerance=1.05, check_cif=False)
            return parser.parse_structures(primitive=False, on_error="raise")[0]
    except Exception as error:  # pymatgen raises many kinds for a bad CIF
        raise ValueError(f"CIF does not parse ({type(error).__name__}: {error})") from None


def describe(structure) -> dict[str, Any]:
    """What a table shows of a structure: its space group (symbol and number, '' when spglib finds
    none), sites, volume per atom (A^3, occupancies counted) and whether every site is fully occupied
    by one element."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    try:
        analyzer = SpacegroupAnalyzer(structure, symprec=0.1)
        space_group = f"{analyzer.get_space_group_symbol()} ({analyzer.get_space_group_number()})"
    except Exception:  # spglib gives up on some disordered or distorted cells
        space_group = ""
    return {"space_group": space_group, "n_sites": len(structure),
            "volume_per_atom": structure.volume / structure.composition.num_atoms,
            "ordered": bool(structure.is_ordered)}


@dataclass
class CatalogStructures:
    """The structures of registered datasets, in order, with their Tc (NaN where none) and the
    dataset each came from; ``unreadable`` counts, per dataset, the CIFs that did not parse (reported,
    never silently dropped)."""

    structures: list = field(default_factory=list)
    tc: list[float] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    unreadable: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def y(self) -> np.ndarray:
        return np.asarray(self.tc, dtype=float)

    def counts(self) -> dict[str, dict[str, int]]:
        """Per dataset: structures read and CIFs that did not parse."""
        return {name: {"structures": self.source.count(name), "unreadable": info["count"]}
                for name, info in self.unreadable.items()}


def catalog_structures(tables: dict[str, tuple[pd.DataFrame, dict[str, str]]]) -> CatalogStructures:
    """Parse the ``cif`` column of each dataset's table (name -> (table, its files' sha256)).

    A whole dataset's parsed structures are cached in ``<user cache>/structures/`` under the sha256 of
    its files, so a dataset is parsed once per machine (3DSC's 10,904 CIFs take minutes); a sample of a
    table (``--quick``) is cut from the cached whole by ``cif`` text."""
    out = CatalogStructures()
    for name, (table, files) in tables.items():
        parsed = _parsed_dataset(name, files, table)
        bad = [i for i, s in enumerate(parsed["structures"]) if isinstance(s, str)]
        for i, structure in enumerate(parsed["structures"]):
            if not isinstance(structure, str):
                out.structures.append(structure)
                out.tc.append(float(parsed["tc"][i]))
                out.source.append(name)
        out.unreadable[name] = {"count": len(bad), "first": parsed["structures"][bad[0]] if bad else ""}
    return out


def _parsed_dataset(name: str, files: dict[str, str], table: pd.DataFrame) -> dict[str, list]:
    """{'structures': a Structure or the reason it did not parse, per row; 'tc': per row} of ``table``,
    from the cache of the whole dataset when it is there (and ``table`` is a part of it)."""
    digest = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()[:16]
    path = cache_dir() / CACHE_FOLDER / f"{name}-{digest}.pkl"
    cached: dict[str, Any] | None = None
    if path.is_file():
        try:
            cached = pickle.loads(path.read_bytes())
        except Exception:  # a cache from another pymatgen, or a half-written file: parse again
            cached = None
    tc = table["tc"].to_numpy(dtype=float) if "tc" in table.columns else np.full(len(table), np.nan)
    if cached is not None and set(table["cif"]) <= cached.keys():
        return {"structures": [cached[text] for text in table["cif"]], "tc": list(tc)}
    structures = []
    for text in table["cif"]:
        try:
            structures.append(read_cif(text))
        except ValueError as error:
            structures.append(str(error))
    if files:  # only a whole registered dataset is cached
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # processes that parse at once never share one
        tmp.write_bytes(pickle.dumps(dict(zip(table["cif"], structures))))
        tmp.replace(path)
    return {"structures": structures, "tc": list(tc)}


def source_of(structure, default: str) -> str:
    """Where a generated structure comes from (its template or generator), as the generator put it in
    ``structure.properties`` ('source', 'template' or 'prototype'), else ``default``."""
    properties = getattr(structure, "properties", None) or {}
    for key in ("source", "template", "prototype"):
        if properties.get(key):
            return str(properties[key])
    return default


def picture_svg(structure, *, size: float = 2.4) -> str:
    """An inline ``<svg>`` element drawing ``structure`` (its cell and atoms, seen slightly off the c
    axis) with ase's ``plot_atoms`` and matplotlib, with no reference to anything outside it (no
    namespace URL, metadata, clip path or script). A site of partial occupancy is drawn as its majority element (a picture
    cannot show a mixture); the CIF keeps the occupancies."""
    import re

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ase import Atoms
    from ase.visualize.plot import plot_atoms

    symbols = [max(site.species.items(), key=lambda item: item[1])[0].symbol for site in structure]
    atoms = Atoms(symbols=symbols, positions=structure.cart_coords, cell=structure.lattice.matrix, pbc=True)
    figure, axes = plt.subplots(figsize=(size, size))
    buffer = StringIO()
    try:
        with matplotlib.rc_context({"svg.hashsalt": "sctk", "svg.fonttype": "none"}):
            plot_atoms(atoms, axes, rotation="10x,-10y,0z", radii=0.5)
            axes.set_axis_off()
            figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    finally:
        plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>|<clipPath.*?</clipPath>", "", text, flags=re.S)
    return re.sub(r'\s+(xmlns(:\w+)?|clip-path)="[^"]*"', "", text)
