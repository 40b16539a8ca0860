"""What a dataset is: files with checksums, terms of use, and a loader to a clean table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset: its name inside the dataset folder, public URL and sha256."""

    name: str
    url: str
    sha256: str


@dataclass
class LoadedTable:
    """A clean table and the source rows that were reported and skipped.

    ``rejected`` has the columns ``row`` (position in the source file), ``value`` (the raw text)
    and ``reason``; nothing in ``table`` is silently altered from the source.

    Filled in by :func:`sc_toolkit.data.load` (empty when a loader is called directly): ``folder``,
    where the files were read; ``files``, each file name -> the sha256 of the bytes read; and
    ``modified``, the names of the files whose sha256 differs from the catalog's (only ever
    non-empty when ``load(..., allow_modified=True)`` accepted them).
    """

    table: pd.DataFrame
    rejected: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"row": [], "value": [], "reason": []})
    )
    folder: Path | None = None
    files: dict[str, str] = field(default_factory=dict)
    modified: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dataset:
    """A public dataset, downloadable into the cache or read from ``$SCTK_DATA_DIR/<folder>``.

    ``loader(folder)`` reads the files in ``folder`` and returns a :class:`LoadedTable`.
    Composition datasets give at least ``formula``, ``reduced_formula`` and ``composition_key``.
    ``redistributable`` is False where the licence is missing or forbids it: sc-toolkit then
    downloads for the user but never ships a copy.
    """

    name: str
    folder: str
    files: tuple[DataFile, ...]
    description: str
    licence: str
    citation: str
    loader: Callable[[Path], LoadedTable]
    kind: str = "composition"
    redistributable: bool = True
