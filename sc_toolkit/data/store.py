"""Where dataset files live, how they are downloaded and checked, and loading them by name.

A dataset's files are looked up, in order, in ``$SCTK_DATA_DIR/<folder>/`` and in the cache
``$SCTK_CACHE_DIR/<folder>/`` (default ``~/.cache/sc-toolkit``). Every function takes a
:class:`Dataset` or the name of a registered one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from .dataset import DataFile, Dataset, LoadedTable

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


def resolve(dataset: Dataset | str) -> Dataset:
    """The dataset itself, or the registered dataset of that name."""
    if isinstance(dataset, Dataset):
        return dataset
    from ..registry import default_registry

    return default_registry().dataset(dataset)


def _folders(dataset: Dataset) -> list[Path]:
    folders = [cache_dir() / dataset.folder]
    root = data_dir()
    if root is not None:
        folders.insert(0, root / dataset.folder)
    return folders


def _complete(folder: Path, dataset: Dataset) -> bool:
    return all((folder / f.name).is_file() for f in dataset.files)


def locate(dataset: Dataset | str) -> Path:
    """The first folder (``$SCTK_DATA_DIR/<folder>``, then the cache) that holds every file of the
    dataset; DataError when none does. Files are not hashed here (see :func:`verify`)."""
    dataset = resolve(dataset)
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
    dataset: Dataset | str, *, force: bool = False, on_progress: ProgressCallback | None = None
) -> Path:
    """Download the dataset's missing files into the cache; return the folder that holds them all.

    Nothing is downloaded when ``$SCTK_DATA_DIR`` already holds every file (unless ``force``).
    A file already in the cache is skipped (``force`` downloads it again). Each download goes to a
    temporary file next to its target, is checked against its sha256 and only then renamed into
    place: a mismatch deletes the temporary file and raises DataError naming both hashes. Files with
    no public URL (built from upstream files, see the catalog) are reported together in one
    DataError after the others were downloaded.
    """
    dataset = resolve(dataset)
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


def verify(dataset: Dataset | str) -> list[FileStatus]:
    """Hash each file of the dataset where it is first found (``$SCTK_DATA_DIR``, then the cache)."""
    dataset = resolve(dataset)
    statuses = []
    for file in dataset.files:
        path = next((f / file.name for f in _folders(dataset) if (f / file.name).is_file()), None)
        if path is None:
            statuses.append(FileStatus(file.name, "missing", None, file.sha256, None))
            continue
        actual = sha256_of(path)
        status = "ok" if actual == file.sha256 else "sha256 mismatch"
        statuses.append(FileStatus(file.name, status, path, file.sha256, actual))
    return statuses


_loaded: dict[tuple, LoadedTable] = {}


def load(dataset: Dataset | str) -> LoadedTable:
    """The dataset's clean table, from the folder :func:`locate` finds.

    The result is kept in memory for the rest of the process (keyed by dataset, folder and the
    files' sizes and modification times); each call returns a copy that the caller may change.
    """
    dataset = resolve(dataset)
    folder = locate(dataset)
    stats = [(folder / f.name).stat() for f in dataset.files]
    key = (dataset.name, str(folder), tuple((s.st_size, s.st_mtime_ns) for s in stats))
    if key not in _loaded:
        _loaded[key] = dataset.loader(folder)
    result = _loaded[key]
    return LoadedTable(result.table.copy(), result.rejected.copy())
