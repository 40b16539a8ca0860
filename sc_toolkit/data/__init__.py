"""Datasets by name: public sources with sha256, a download cache, and local copies.

A :class:`Dataset` names its files (URL + sha256), licence and citation, and a loader that turns
the files into a clean :class:`LoadedTable`. Files are looked up, in order, in
``$SCTK_DATA_DIR/<folder>/`` (copies a user already has; the tests and CI point it at
``../shared/data``) and in the cache ``$SCTK_CACHE_DIR`` (default ``~/.cache/sc-toolkit``) where
``sctk data fetch`` downloads them. :func:`load` refuses a file whose sha256 is not the catalog's
(``load(name, allow_modified=True)`` accepts it and says so in the returned table).
"""

from .dataset import DataFile, Dataset, LoadedTable
from .store import (
    FileStatus,
    cache_dir,
    data_dir,
    fetch,
    file_sha256,
    load,
    locate,
    resolve,
    sha256_of,
    verify,
)

__all__ = [
    "DataFile",
    "Dataset",
    "FileStatus",
    "LoadedTable",
    "cache_dir",
    "data_dir",
    "fetch",
    "file_sha256",
    "load",
    "locate",
    "resolve",
    "sha256_of",
    "verify",
]
