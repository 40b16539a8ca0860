"""Where dataset files live, how they are downloaded and checked, and loading them by name.

A dataset's files are looked up, in order, in ``$SCTK_DATA_DIR/<folder>/`` and in the cache
``$SCTK_CACHE_DIR/<folder>/`` (default ``~/.cache/sc-toolkit``). Every function takes a
:class:`Dataset`, or a name: a built-in dataset's, or any registered one's when the caller passes
``registry=`` (see :func:`resolve`).

:func:`load` checks each file's sha256 against the catalog the first time it reads the file and
refuses a modified copy unless told otherwise; the hashes are remembered in
``$SCTK_CACHE_DIR/verified.json`` by path, size and modification time, so later reads hash nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, did_you_mean
from .catalog import DATASETS
from .dataset import DataFile, Dataset, LoadedTable
from .table_cache import load_with_cache

ENV_DATA_DIR = "SCTK_DATA_DIR"
ENV_CACHE_DIR = "SCTK_CACHE_DIR"

#: ``on_progress(file_name, bytes_done, bytes_total)``; ``bytes_total`` is None when unknown.
ProgressCallback = Callable[[str, int, "int | None"], None]

_CHUNK = 1 << 20


def data_dir() -> Path | None:
    """``$SCTK_DATA_DIR`` (a folder of already-downloaded datasets), or None when unset."""
    value = os.environ.get(ENV_DATA_DIR)
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """``$SCTK_CACHE_DIR``, default ``~/.cache/sc-toolkit``: where :func:`fetch` downloads to."""
    value = os.environ.get(ENV_CACHE_DIR)
    return Path(value).expanduser() if value else Path.home() / ".cache" / "sc-toolkit"


def resolve(dataset: Dataset | str, registry=None) -> Dataset:
    """The dataset itself, or the dataset of that name.

    A name is looked up with ``registry.dataset(name)`` when a registry is given (any object with
    that method, e.g. :func:`sc_toolkit.load_registry`'s; it raises for an unknown name), else among
    the built-in datasets of :mod:`sc_toolkit.data.catalog`: a dataset a plugin registers is found by
    name only through its registry (or passed as the :class:`Dataset` itself). DataError for an
    unknown built-in name.
    """
    if isinstance(dataset, Dataset):
        return dataset
    if registry is not None:
        return registry.dataset(dataset)
    for candidate in DATASETS:
        if candidate.name == dataset:
            return candidate
    names = [d.name for d in DATASETS]
    raise DataError(
        f"no built-in dataset named {dataset!r}",
        hint=did_you_mean(str(dataset), names)
        or "for a dataset a plugin registers, pass registry=sc_toolkit.load_registry()",
    )


def _folders(dataset: Dataset) -> list[Path]:
    folders = [cache_dir() / dataset.folder]
    root = data_dir()
    if root is not None:
        folders.insert(0, root / dataset.folder)
    return folders


def _complete(folder: Path, dataset: Dataset) -> bool:
    return all((folder / f.name).is_file() for f in dataset.files)


def locate(dataset: Dataset | str, *, registry=None) -> Path:
    """The first folder (``$SCTK_DATA_DIR/<folder>``, then the cache) that holds every file of the
    dataset; DataError when none does. Files are not hashed here (see :func:`verify`)."""
    dataset = resolve(dataset, registry)
    for folder in _folders(dataset):
        if _complete(folder, dataset):
            return folder
    raise DataError(
        f"dataset '{dataset.name}' is not available offline",
        hint=(
            f"run `sctk data fetch {dataset.name}`, or set {ENV_DATA_DIR} to a folder that holds "
            f"{dataset.folder}/<files>"
        ),
    )


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(
    dataset: Dataset | str,
    *,
    force: bool = False,
    on_progress: ProgressCallback | None = None,
    registry=None,
) -> Path:
    """Download the dataset's missing files into the cache; return the folder that holds them all.

    Nothing is downloaded when ``$SCTK_DATA_DIR`` already holds every file (unless ``force``).
    A file already in the cache is skipped (``force`` downloads it again). Each download goes to a
    temporary file next to its target, is checked against its sha256 and only then renamed into
    place: a mismatch deletes the temporary file and raises DataError naming both hashes. Files with
    no public URL (built from upstream files, see the catalog) are reported together in one
    DataError after the others were downloaded.
    """
    dataset = resolve(dataset, registry)
    root = data_dir()
    if not force and root is not None and _complete(root / dataset.folder, dataset):
        return root / dataset.folder
    folder = cache_dir() / dataset.folder
    no_url = []
    for file in dataset.files:
        target = folder / file.name
        if target.is_file() and not force:
            continue
        if not file.url:
            no_url.append(file.name)
            continue
        _download(dataset, file, target, on_progress)
    if no_url:
        raise DataError(
            f"dataset '{dataset.name}': no public download for {', '.join(no_url)}",
            hint=(
                "these files are built from upstream sources (the dataset's description says how); "
                f"copy them into {folder} or into {ENV_DATA_DIR}/{dataset.folder}"
            ),
        )
    return folder


def _download(dataset: Dataset, file: DataFile, target: Path, on_progress: ProgressCallback | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    temporary = Path(temporary)
    digest = hashlib.sha256()
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(file.url) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length else None
            done = 0
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if on_progress is not None:
                    on_progress(file.name, done, total)
    except (urllib.error.URLError, OSError) as error:
        temporary.unlink(missing_ok=True)
        raise DataError(
            f"could not download {file.name} of dataset '{dataset.name}': {error}",
            where=file.url,
            hint="check the network connection, or copy the file in by hand",
        ) from None
    actual = digest.hexdigest()
    if actual != file.sha256:
        temporary.unlink()
        raise DataError(
            f"sha256 mismatch for {file.name} of dataset '{dataset.name}': "
            f"expected {file.sha256}, got {actual}",
            where=file.url,
            hint="the download was corrupted or the source changed; try again, and report it if it persists",
        )
    os.replace(temporary, target)


@dataclass(frozen=True)
class FileStatus:
    """One file of a dataset: ``status`` is 'ok', 'missing' or 'sha256 mismatch'; ``path`` is where
    it was found (None when missing); ``actual`` its sha256 (None when missing)."""

    name: str
    status: str
    path: Path | None
    expected: str
    actual: str | None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def verify(dataset: Dataset | str, *, registry=None) -> list[FileStatus]:
    """Hash each file of the dataset where it is first found (``$SCTK_DATA_DIR``, then the cache).

    Every file is hashed again (the remembered hashes of :func:`load` are not trusted here, but
    are updated with the results).
    """
    dataset = resolve(dataset, registry)
    statuses = []
    for file in dataset.files:
        path = next((f / file.name for f in _folders(dataset) if (f / file.name).is_file()), None)
        if path is None:
            statuses.append(FileStatus(file.name, "missing", None, file.sha256, None))
            continue
        actual = _hash_and_remember(path)
        status = "ok" if actual == file.sha256 else "sha256 mismatch"
        statuses.append(FileStatus(file.name, status, path, file.sha256, actual))
    return statuses


_loaded: dict[tuple, LoadedTable] = {}

MODIFIED_HINT = "`sctk data verify {name}`; or pass --allow-modified-data if you edited it on purpose"


def load(dataset: Dataset | str, *, allow_modified: bool = False, registry=None) -> LoadedTable:
    """The dataset's clean table, from the folder :func:`locate` finds, its files checked.

    Each file's sha256 is compared with the catalog's. A file is hashed only the first time it is
    seen: the hash is remembered in ``$SCTK_CACHE_DIR/verified.json`` (see :func:`file_sha256`)
    under its absolute path, size and modification time, so a later read, in this process or
    another, hashes it again only once it has changed.

    A file whose sha256 differs from the catalog's raises DataError naming the file, both hashes
    and the hint "`sctk data verify NAME`; or pass --allow-modified-data if you edited it on
    purpose". With ``allow_modified=True`` the table is loaded anyway and the returned
    :class:`LoadedTable` lists the file in ``modified``.

    The returned table carries the provenance to record: ``folder`` (where the files were read),
    ``files`` (file name -> actual sha256, for every file of the dataset) and ``modified`` (names
    of the files whose sha256 is not the catalog's; empty unless ``allow_modified``).

    The table is kept in memory for the rest of the process (keyed by dataset, folder and the
    files' sizes and modification times), and on disk for later processes in
    ``$SCTK_CACHE_DIR/tables/`` (keyed by the files' sha256 and the loader's code; see
    :mod:`sc_toolkit.data.table_cache`); each call returns a copy that the caller may change.
    ``registry`` resolves a name as in :func:`resolve`.
    """
    dataset = resolve(dataset, registry)
    folder = locate(dataset)
    hashes: dict[str, str] = {}
    modified: list[str] = []
    for file in dataset.files:
        path = folder / file.name
        actual = file_sha256(path)
        hashes[file.name] = actual
        if actual == file.sha256:
            continue
        if not allow_modified:
            raise DataError(
                f"dataset '{dataset.name}': {file.name} was modified "
                f"(sha256 {actual}, catalog {file.sha256})",
                where=str(path),
                hint=MODIFIED_HINT.format(name=dataset.name),
            )
        modified.append(file.name)
    stats = [(folder / f.name).stat() for f in dataset.files]
    key = (dataset.name, str(folder), tuple((s.st_size, s.st_mtime_ns) for s in stats))
    if key not in _loaded:
        _loaded[key] = load_with_cache(dataset, folder, hashes, cache_dir())
    result = _loaded[key]
    return LoadedTable(
        result.table.copy(),
        result.rejected.copy(),
        folder=folder,
        files=hashes,
        modified=tuple(modified),
    )


# -- remembered hashes ---------------------------------------------------------------------------

VERIFIED_FILE = "verified.json"
_remembered: dict[str, dict] = {}


def _verified_path() -> Path:
    return cache_dir() / VERIFIED_FILE


def _read_remembered() -> dict[str, dict]:
    try:
        data = json.loads(_verified_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _identity(path: Path) -> tuple[str, dict]:
    stat = path.stat()
    return str(path.resolve()), {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def file_sha256(path: Path) -> str:
    """The sha256 of ``path``, hashed only when its (absolute path, size, modification time) is not
    already remembered in this process or in ``$SCTK_CACHE_DIR/verified.json``."""
    name, identity = _identity(path)
    for entry in (_remembered.get(name), _read_remembered().get(name)):
        if _matches(entry, identity):
            _remembered[name] = entry
            return entry["sha256"]
    return _hash_and_remember(path)


def _matches(entry, identity: dict) -> bool:
    return (
        isinstance(entry, dict)
        and all(entry.get(k) == v for k, v in identity.items())
        and isinstance(entry.get("sha256"), str)
        and len(entry["sha256"]) == 64
    )


def _hash_and_remember(path: Path) -> str:
    """Hash ``path`` and remember the result (in this process, and in verified.json when the cache
    folder is writable; a cache that cannot be written only costs hashing again later)."""
    name, identity = _identity(path)
    actual = sha256_of(path)
    entry = {**identity, "sha256": actual}
    _remembered[name] = entry
    target = _verified_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        data = _read_remembered()
        data[name] = entry
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".verified.", suffix=".part")
        with os.fdopen(handle, "w") as out:
            json.dump(data, out, indent=0, sort_keys=True)
        os.replace(temporary, target)
    except OSError:
        pass
    return actual
