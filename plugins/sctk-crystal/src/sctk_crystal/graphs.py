"""``crystal-graph``: occupancy-aware periodic graphs of crystal structures (SODNet / BETE-NET style).

A structure becomes one ``torch_geometric.data.Data`` with

- ``x`` (n_sites, 100): occupancy-weighted one-hot of the species on each site (Z = 1..100), so a
  Cs0.5Rb0.5 site is half Cs, half Rb; with ``node_features="mass-weighted"`` each entry is also
  multiplied by the element's mass in amu (BETE-NET's node input). A linear layer on ``x`` is the
  occupancy-weighted sum of species embeddings.
- ``occupancy`` (n_sites,): total occupancy of each site (1 for ordered sites, < 1 with vacancies).
- ``pos`` (n_sites, 3): Cartesian coordinates in A.
- ``edge_index`` (2, n_edges): row 0 the neighbour j (message source), row 1 the centre i.
- ``edge_vec`` (n_edges, 3): r_j + lattice translation - r_i in A (for spherical harmonics).
- ``edge_attr`` (n_edges, n_basis): Gaussian radial basis of |edge_vec| on [0, cutoff] times a cosine
  envelope (0 at the cutoff) times occupancy_i x occupancy_j, so vacancies damp messages.

Neighbours: every periodic image within ``cutoff`` (pymatgen's vectorised ``get_neighbor_list``),
then per centre the ``max_neighbors`` nearest (those tied with the last one within 1e-3 A kept, as
SODNet does). Pairs closer than the sum of the two sites' atomic radii (largest radius among each
site's species) are dropped: with ``drop_overlaps="partial"`` (default) only when both sites are
partially occupied, which removes the alternative positions of split disordered sites that cannot
be occupied together; ``"all"`` drops every such pair as SODNet's code does; ``"none"`` keeps them.

``encode`` accepts a DataFrame with a ``cif`` column (CIF text), a list of CIF strings or a list of
pymatgen ``Structure``; a CIF that does not parse raises DataError naming its row.

Size limits, checked before the neighbour search so that an absurd structure costs nothing: a
structure is refused (DataError naming its row, and its identifier column when the table has
one) when its cell holds more than :data:`MAX_SITES` sites, a lattice edge is longer than
:data:`MAX_CELL_LENGTH` A, the cell is degenerate (volume not positive and finite), the neighbour
search's grid of ``cutoff``-sized boxes over the cell would exceed :data:`MAX_GRID_BOXES`, or the
expected number of neighbour pairs (sites x density x sphere volume) would exceed
:data:`MAX_PAIRS`. The largest real structures in the built-in datasets hold 552 sites
(SuperCon3D) and have edges up to 99 A (3DSC), well inside these limits.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

import numpy as np
from pydantic import Field

from sc_toolkit import SYMBOLS, DataError, Encoder, Params

#: Elements a node feature can hold: Z = 1..100.
N_NODE_ELEMENTS = 100

#: Most sites in one cell (the built-in datasets' largest structure has 552).
MAX_SITES = 2000
#: Longest lattice edge in A (the built-in datasets' longest is 99 A).
MAX_CELL_LENGTH = 500.0
#: Most ``cutoff``-sized boxes of the neighbour search's grid over the cell (about 40 bytes each).
MAX_GRID_BOXES = 2_000_000
#: Most neighbour pairs expected within ``cutoff`` (each pair carries ``n_basis`` floats).
MAX_PAIRS = 10_000_000

_ID_COLUMNS = ("cif_file", "jid", "material_id", "id", "name", "formula")


class CrystalGraphParams(Params):
    cutoff: float = Field(8.0, gt=0, description="neighbour radius in A")
    max_neighbors: int = Field(32, ge=1, description="nearest neighbours kept per site (ties kept)")
    n_basis: int = Field(32, ge=2, description="Gaussian radial basis functions on [0, cutoff]")
    node_features: Literal["one-hot", "mass-weighted"] = Field(
        "one-hot", description="occupancy-weighted one-hot, or one-hot x atomic mass (BETE-NET)"
    )
    drop_overlaps: Literal["partial", "all", "none"] = Field(
        "partial", description="drop pairs closer than the sum of atomic radii: between partial sites, all, none"
    )


class CrystalGraph(Encoder):
    """Occupancy-aware periodic crystal graphs (torch_geometric Data) for equivariant GNNs."""

    name = "crystal-graph"
    consumes = "structure"
    produces = "graph"
    requires = ("torch", "torch_geometric", "pymatgen")
    Params = CrystalGraphParams

    def citations(self) -> list[str]:
        return [
            "P. Chen et al., Learning Superconductivity from Ordered and Disordered Material Structures, "
            "NeurIPS 2024 Datasets and Benchmarks (occupancy-weighted nodes and edges).",
            "S. P. Ong et al., Python Materials Genomics (pymatgen), Comput. Mater. Sci. 68, 314 (2013).",
        ]

    def encode(self, materials) -> list:
        """One ``Data`` graph per material, in order (see the module docstring). Every structure is
        checked against the size limits before the first graph is built."""
        names = _row_names(materials)
        structures = structures_of(materials)
        for structure, where in zip(structures, names, strict=True):
            check_size(structure, self.params.cutoff, where=where)
        return [self._graph(structure) for structure in structures]

    def feature_labels(self) -> list[str]:
        """Element symbol of each column of a graph's node features ``x``."""
        return list(SYMBOLS[:N_NODE_ELEMENTS])

    def graph(self, structure, *, where: str | None = None):
        """The ``Data`` graph of one pymatgen ``Structure``; DataError (at ``where``, default the
        structure's formula) when it exceeds the size limits of the module docstring."""
        check_size(structure, self.params.cutoff, where=where)
        return self._graph(structure)

    def _graph(self, structure):
        import torch
        from torch_geometric.data import Data

        p = self.params
        x, occupancy, radius = _site_arrays(structure, p.node_features == "mass-weighted")
        centre, neighbour, image, distance = structure.get_neighbor_list(r=p.cutoff)
        centre, neighbour = centre.astype(np.int64), neighbour.astype(np.int64)
        keep = np.ones(len(centre), dtype=bool)
        if p.drop_overlaps != "none":
            keep = distance >= radius[centre] + radius[neighbour]
            if p.drop_overlaps == "partial":
                partial = occupancy < 1 - 1e-6
                keep |= ~(partial[centre] & partial[neighbour])
        centre, neighbour, image, distance = centre[keep], neighbour[keep], image[keep], distance[keep]
        keep = _nearest(centre, distance, p.max_neighbors)
        centre, neighbour, image, distance = centre[keep], neighbour[keep], image[keep], distance[keep]
        cart = structure.cart_coords
        edge_vec = cart[neighbour] + image @ structure.lattice.matrix - cart[centre]
        edge_attr = radial_basis(distance, p.cutoff, p.n_basis) * (occupancy[centre] * occupancy[neighbour])[:, None]
        return Data(
            x=torch.tensor(x, dtype=torch.float32),
            occupancy=torch.tensor(occupancy, dtype=torch.float32),
            pos=torch.tensor(cart, dtype=torch.float32),
            edge_index=torch.tensor(np.stack([neighbour, centre]), dtype=torch.long),
            edge_vec=torch.tensor(edge_vec, dtype=torch.float32),
            edge_attr=torch.tensor(edge_attr, dtype=torch.float32),
        )


def check_size(structure, cutoff: float, *, where: str | None = None) -> None:
    """DataError when ``structure`` is too large or degenerate for a neighbour search within
    ``cutoff`` A (limits in the module docstring). Reads only the lattice and the site count."""
    where = where or f"structure {structure.composition.reduced_formula}"
    hint = "check the structure's cell (units are A); it cannot be turned into a graph"
    n_sites = len(structure)
    if n_sites > MAX_SITES:
        raise DataError(f"{n_sites} sites in the cell, more than {MAX_SITES}", where=where, hint=hint)
    lattice = structure.lattice
    matrix = np.asarray(lattice.matrix, dtype=float)
    lengths = np.asarray(lattice.abc, dtype=float)
    volume = abs(float(np.linalg.det(matrix))) if np.isfinite(matrix).all() else float("nan")
    if not (np.isfinite(volume) and volume > 1e-6):
        raise DataError(f"degenerate cell (volume {volume:g} A^3)", where=where, hint=hint)
    if lengths.max() > MAX_CELL_LENGTH:
        edges = ", ".join(f"{x:.4g}" for x in lengths)
        raise DataError(f"cell edges {edges} A: longer than {MAX_CELL_LENGTH:g} A", where=where, hint=hint)
    extent = np.abs(matrix).sum(axis=0)  # Cartesian bounding box of the cell
    boxes = float(np.prod(np.ceil(extent / cutoff) + 2))
    if boxes > MAX_GRID_BOXES:
        raise DataError(
            f"neighbour grid of {boxes:.3g} boxes for cutoff {cutoff:g} A, more than {MAX_GRID_BOXES:g}",
            where=where,
            hint="use a larger cutoff, or check the structure's cell",
        )
    pairs = n_sites * n_sites / volume * (4.0 / 3.0) * np.pi * cutoff**3
    if pairs > MAX_PAIRS:
        raise DataError(
            f"about {pairs:.3g} neighbour pairs within {cutoff:g} A, more than {MAX_PAIRS:g} "
            f"({n_sites} sites in {volume:.4g} A^3)",
            where=where,
            hint="use a smaller cutoff, or check the structure's cell",
        )


def _row_names(materials) -> list[str]:
    """'row i' for each material, with its identifier when the table has an identifier column."""
    n = len(materials)
    column = next((c for c in _ID_COLUMNS if hasattr(materials, "columns") and c in materials.columns), None)
    if column is None:
        return [f"row {i}" for i in range(n)]
    return [f"row {i} ({column} {value})" for i, value in enumerate(materials[column].tolist())]


def radial_basis(distance: np.ndarray, cutoff: float, n_basis: int) -> np.ndarray:
    """Gaussians centred on ``linspace(0, cutoff, n_basis)`` (width = spacing) times the cosine
    envelope 0.5 (cos(pi d / cutoff) + 1), shape (n_edges, n_basis)."""
    centres = np.linspace(0.0, cutoff, n_basis)
    width = centres[1] - centres[0]
    gaussians = np.exp(-(((distance[:, None] - centres[None, :]) / width) ** 2))
    envelope = 0.5 * (np.cos(np.pi * np.clip(distance / cutoff, 0.0, 1.0)) + 1.0)
    return gaussians * envelope[:, None]


def _nearest(centre: np.ndarray, distance: np.ndarray, k: int) -> np.ndarray:
    """Mask of the ``k`` nearest neighbours of each centre, plus those within 1e-3 A of the k-th."""
    order = np.lexsort((distance, centre))
    sorted_centre, sorted_distance = centre[order], distance[order]
    starts = np.searchsorted(sorted_centre, sorted_centre, side="left")
    rank = np.arange(len(order)) - starts
    counts = np.bincount(sorted_centre, minlength=centre.max() + 1 if len(centre) else 0)
    kth = np.full(counts.shape, np.inf)
    has_k = counts >= k
    first = np.searchsorted(sorted_centre, np.nonzero(has_k)[0], side="left")
    kth[has_k] = sorted_distance[first + k - 1]
    keep_sorted = (rank < k) | (sorted_distance <= kth[sorted_centre] + 1e-3)
    keep = np.empty(len(order), dtype=bool)
    keep[order] = keep_sorted
    return keep


@cache
def _element_tables() -> tuple[np.ndarray, np.ndarray]:
    """(atomic radius in A, 0 where pymatgen has none; atomic mass in amu) for Z = 1..100."""
    from pymatgen.core import Element

    radii, masses = np.zeros(N_NODE_ELEMENTS), np.zeros(N_NODE_ELEMENTS)
    for z in range(1, N_NODE_ELEMENTS + 1):
        element = Element.from_Z(z)
        radii[z - 1] = float(element.atomic_radius or 0.0)
        masses[z - 1] = float(element.atomic_mass)
    return radii, masses


def _site_arrays(structure, mass_weighted: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node features, total occupancy and largest atomic radius of each site."""
    radii, masses = _element_tables()
    x = np.zeros((len(structure), N_NODE_ELEMENTS))
    for i, site in enumerate(structure):
        for species, amount in site.species.items():
            z = getattr(species, "Z", None)
            if z is None or not 1 <= z <= N_NODE_ELEMENTS:
                raise DataError(f"site {i} holds {species}, not an element with Z <= {N_NODE_ELEMENTS}")
            x[i, z - 1] += amount
    occupancy = x.sum(axis=1)
    radius = np.where(x > 0, radii[None, :], 0.0).max(axis=1)
    if mass_weighted:
        x = x * masses[None, :]
    return x, occupancy, radius


def structures_of(materials) -> list:
    """pymatgen Structures of a DataFrame with a ``cif`` column, CIF strings, or Structures."""
    import warnings
    from io import StringIO

    from pymatgen.core import Structure
    from pymatgen.io.cif import CifParser

    if hasattr(materials, "columns"):
        if "cif" not in materials.columns:
            raise DataError(
                "structure encoders need a 'cif' column of CIF text",
                hint="load a structure dataset (supercon3d, 3dsc, jarvis-supercon, bete-net)",
            )
        materials = materials["cif"].tolist()
    structures = []
    for row, item in enumerate(materials):
        if isinstance(item, Structure):
            structures.append(item)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parser = CifParser(StringIO(item), occupancy_tolerance=1.05, check_cif=False)
                structures.append(parser.parse_structures(primitive=False, on_error="raise")[0])
        except Exception as error:  # pymatgen raises many kinds for a bad CIF
            raise DataError(f"row {row}: CIF does not parse ({type(error).__name__}: {error})") from None
    return structures
