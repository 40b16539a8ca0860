"""Parsed dataset tables kept on disk, so that a process after the first reads them in about a second.

Parsing a dataset (e.g. OQMD's 341,636 formulas) takes minutes on a busy machine; its result depends
only on the bytes of the source files and on the code that reads them. :func:`load_with_cache`
stores a loader's :class:`LoadedTable` (``table`` and ``rejected``) as two Parquet files in
``$SCTK_CACHE_DIR/tables/<key>/``, where ``key`` is the sha256 of the dataset's name, the loader's
name, the sha256 of each source file, the sha256 of the loader's code (its module and the packages
``sc_toolkit.data`` and ``sc_toolkit.chem``) and the pandas and pyarrow versions. A change to any of
them reads the source files again.

A table is stored only when reading it back gives an identical table (values, dtypes, index), so
what a cached load returns is what the loader returns. The sha256 of both Parquet files is stored
beside them and checked on every read: a damaged or half-written entry is ignored and rewritten.
Only module-level loader functions are cached (a closure's code cannot be keyed). A cache folder
that cannot be written only costs parsing again next time.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import json
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .dataset import Dataset, LoadedTable

TABLES_FOLDER = "tables"
_PARTS = ("table", "rejected")
_CHECKSUMS = "sha256.json"


def load_with_cache(dataset: Dataset, folder: Path, hashes: dict[str, str], cache: Path) -> LoadedTable:
    """``dataset.loader(folder)``, read from ``cache/tables/`` when an identical load was stored
    there (``hashes``: source file name -> sha256 of the bytes), else computed and stored."""
    code = _loader_code_sha256(dataset.loader)
    if code is None:
        return dataset.loader(folder)
    entry = cache / TABLES_FOLDER / _key(dataset, hashes, code)
    stored = _read(entry)
    if stored is not None:
        return stored
    result = dataset.loader(folder)
    _write(entry, result)
    return result


def _key(dataset: Dataset, hashes: dict[str, str], code: str) -> str:
    identity = {
        "dataset": dataset.name,
        "loader": f"{dataset.loader.__module__}.{dataset.loader.__qualname__}",
        "loader_code": code,
        "files": dict(sorted(hashes.items())),
        "pandas": pd.__version__,
        "pyarrow": importlib.metadata.version("pyarrow"),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _loader_code_sha256(loader) -> str | None:
    """sha256 of the source of the loader's module and of sc_toolkit.data and sc_toolkit.chem; None
    for a loader that is not a module-level function (or whose source cannot be found)."""
    if not inspect.isfunction(loader) or loader.__qualname__ != loader.__name__:
        return None
    try:
        module_file = Path(inspect.getfile(loader)).resolve()
    except (TypeError, OSError):
        return None
    return _sources_sha256(module_file)


@lru_cache(maxsize=16)
def _sources_sha256(module_file: Path) -> str | None:
    package = Path(__file__).resolve().parent.parent
    files = sorted({module_file, *(package / "data").glob("*.py"), *(package / "chem").glob("*.py")})
    digest = hashlib.sha256()
    try:
        for path in files:
            digest.update(str(path.relative_to(package) if path.is_relative_to(package) else path.name).encode())
            digest.update(path.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(entry: Path) -> LoadedTable | None:
    """The stored table, or None when there is none or its files do not match their sha256."""
    try:
        expected = json.loads((entry / _CHECKSUMS).read_text())
        if not isinstance(expected, dict) or any(
            _file_sha256(entry / f"{part}.parquet") != expected.get(part) for part in _PARTS
        ):
            return None
        table, rejected = (pd.read_parquet(entry / f"{part}.parquet") for part in _PARTS)
    except (OSError, ValueError, ImportError):
        return None
    return LoadedTable(table, rejected)


def _write(entry: Path, result: LoadedTable) -> None:
    """Store ``result`` under ``entry`` if it reads back identical; otherwise store nothing."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=entry.parent, prefix=".part-"))
    except OSError:
        return
    try:
        checksums = {}
        for part in _PARTS:
            path = staging / f"{part}.parquet"
            frame = getattr(result, part)
            frame.to_parquet(path)
            pd.testing.assert_frame_equal(pd.read_parquet(path), frame, check_exact=True)
            checksums[part] = _file_sha256(path)
        (staging / _CHECKSUMS).write_text(json.dumps(checksums))
        shutil.rmtree(entry, ignore_errors=True)
        os.replace(staging, entry)
    except (OSError, ValueError, TypeError, ImportError, AssertionError):
        pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
