"""Dataset store: data_dir / cache_dir, locate, fetch (file:// URLs, no network), verify, load."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from sc_toolkit.data import (
    DataFile,
    Dataset,
    LoadedTable,
    cache_dir,
    data_dir,
    fetch,
    load,
    locate,
    resolve,
    verify,
)
from sc_toolkit.errors import DataError, PluginError

CONTENT = {"a.csv": b"formula,tc\nMgB2,39\n", "sub/b.txt": b"hello\n"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A folder standing for the public server, reached through file:// URLs."""
    root = tmp_path / "server"
    for name, data in CONTENT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """Empty SCTK_DATA_DIR and SCTK_CACHE_DIR for one test."""
    data, cache = tmp_path / "data", tmp_path / "cache"
    monkeypatch.setenv("SCTK_DATA_DIR", str(data))
    monkeypatch.setenv("SCTK_CACHE_DIR", str(cache))
    return data, cache


def _loader(folder: Path) -> LoadedTable:
    return LoadedTable(pd.read_csv(folder / "a.csv"))


def _dataset(source: Path, *, sha: dict[str, str] | None = None, urls: dict[str, str] | None = None):
    sha = {name: _sha(data) for name, data in CONTENT.items()} | (sha or {})
    urls = {name: (source / name).as_uri() for name in CONTENT} | (urls or {})
    files = tuple(DataFile(name, urls[name], sha[name]) for name in CONTENT)
    return Dataset("toy", "toy_folder", files, "a toy", "CC0", "nobody", _loader)


def test_dirs_follow_environment(dirs, monkeypatch):
    data, cache = dirs
    assert data_dir() == data and cache_dir() == cache
    monkeypatch.delenv("SCTK_DATA_DIR")
    monkeypatch.delenv("SCTK_CACHE_DIR")
    assert data_dir() is None
    assert cache_dir() == Path.home() / ".cache" / "sc-toolkit"


def test_fetch_downloads_into_cache_with_progress(source, dirs):
    _, cache = dirs
    seen = []
    folder = fetch(_dataset(source), on_progress=lambda name, done, total: seen.append((name, done)))
    assert folder == cache / "toy_folder"
    for name, data in CONTENT.items():
        assert (folder / name).read_bytes() == data
    assert {name for name, _ in seen} == set(CONTENT)
    assert not list(folder.rglob("*.part"))
    assert locate(_dataset(source)) == folder


def test_fetch_sha_mismatch_raises_and_leaves_nothing(source, dirs):
    _, cache = dirs
    dataset = _dataset(source, sha={"a.csv": "0" * 64})
    with pytest.raises(DataError) as error:
        fetch(dataset)
    message = str(error.value)
    assert "sha256 mismatch" in message and "0" * 64 in message and _sha(CONTENT["a.csv"]) in message
    folder = cache / "toy_folder"
    assert not (folder / "a.csv").exists()
    assert not [p for p in folder.rglob("*") if p.is_file()]  # no temporary file left either


def test_fetch_skips_files_already_present_unless_forced(source, dirs):
    _, cache = dirs
    folder = cache / "toy_folder"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_bytes(CONTENT["a.csv"])
    seen = []
    fetch(_dataset(source), on_progress=lambda name, done, total: seen.append(name))
    assert set(seen) == {"sub/b.txt"}
    seen.clear()
    fetch(_dataset(source), force=True, on_progress=lambda name, done, total: seen.append(name))
    assert set(seen) == set(CONTENT)


def test_fetch_does_nothing_when_data_dir_holds_the_dataset(source, dirs):
    data, cache = dirs
    for name, payload in CONTENT.items():
        (data / "toy_folder" / name).parent.mkdir(parents=True, exist_ok=True)
        (data / "toy_folder" / name).write_bytes(payload)
    broken = _dataset(source, urls={name: "file:///nonexistent" for name in CONTENT})
    assert fetch(broken) == data / "toy_folder"
    assert not (cache / "toy_folder").exists()


def test_fetch_names_files_without_public_url_after_downloading_the_rest(source, dirs):
    _, cache = dirs
    with pytest.raises(DataError, match=r"no public download for sub/b\.txt"):
        fetch(_dataset(source, urls={"sub/b.txt": ""}))
    assert (cache / "toy_folder" / "a.csv").is_file()


def test_fetch_unreachable_url_is_a_data_error(source, dirs):
    _, cache = dirs
    missing = (source / "gone.csv").as_uri()
    with pytest.raises(DataError, match="could not download a.csv"):
        fetch(_dataset(source, urls={"a.csv": missing}))
    assert not [p for p in (cache / "toy_folder").rglob("*") if p.is_file()]


def test_locate_error_names_the_fix(source, dirs):
    with pytest.raises(DataError) as error:
        locate(_dataset(source))
    assert error.value.message == "dataset 'toy' is not available offline"
    assert error.value.hint == (
        "run `sctk data fetch toy`, or set SCTK_DATA_DIR to a folder that holds toy_folder/<files>"
    )


def test_locate_prefers_data_dir_and_needs_every_file(source, dirs):
    data, cache = dirs
    fetch(_dataset(source))
    (data / "toy_folder").mkdir(parents=True)
    (data / "toy_folder" / "a.csv").write_bytes(CONTENT["a.csv"])  # incomplete: b.txt missing
    assert locate(_dataset(source)) == cache / "toy_folder"
    (data / "toy_folder" / "sub").mkdir()
    (data / "toy_folder" / "sub" / "b.txt").write_bytes(CONTENT["sub/b.txt"])
    assert locate(_dataset(source)) == data / "toy_folder"


def test_verify_reports_ok_missing_and_mismatch(source, dirs):
    _, cache = dirs
    dataset = _dataset(source)
    assert [s.status for s in verify(dataset)] == ["missing", "missing"]
    fetch(dataset)
    (cache / "toy_folder" / "sub" / "b.txt").write_bytes(b"tampered\n")
    ok, bad = verify(dataset)
    assert (ok.name, ok.status, ok.path, ok.ok) == ("a.csv", "ok", cache / "toy_folder" / "a.csv", True)
    assert (bad.status, bad.actual) == ("sha256 mismatch", _sha(b"tampered\n"))
    assert bad.expected == _sha(CONTENT["sub/b.txt"])
    assert not bad.ok


def test_load_caches_and_returns_copies(source, dirs):
    import dataclasses

    calls = []

    def counting_loader(folder: Path) -> LoadedTable:
        calls.append(folder)
        return _loader(folder)

    dataset = dataclasses.replace(_dataset(source), loader=counting_loader)
    fetch(dataset)
    first = load(dataset)
    first.table.loc[0, "tc"] = -1
    second = load(dataset)
    assert len(calls) == 1
    assert second.table.loc[0, "tc"] == 39


def test_resolve_by_name_uses_the_given_registry_else_the_catalog():
    from sc_toolkit.data import catalog

    class Registry:
        def __init__(self):
            self.asked = []

        def dataset(self, name):
            self.asked.append(name)
            return catalog.OQMD

    registry = Registry()
    assert resolve("anything", registry) is catalog.OQMD and registry.asked == ["anything"]
    assert resolve("supercon") is catalog.SUPERCON
    assert resolve(catalog.MP_E_FORM) is catalog.MP_E_FORM
    with pytest.raises(DataError, match="no built-in dataset named 'supercom'") as error:
        resolve("supercom")
    assert error.value.hint == "did you mean 'supercon'?"


def test_resolve_through_a_loaded_registry_names_unknown_datasets():
    from sc_toolkit.registry import load_registry

    registry = load_registry()
    assert resolve("supercon", registry).name == "supercon"
    with pytest.raises(PluginError, match="did you mean 'supercon'"):
        resolve("supercom", registry)


def test_data_package_imports_no_registry():
    """The registry imports the catalog; nothing in sc_toolkit.data imports the registry back."""
    import ast

    import sc_toolkit.data

    for path in Path(sc_toolkit.data.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not any("registry" in name for name in names), f"{path.name} imports {names}"


# -- the sha256 check on load ------------------------------------------------------------------

STANEV = "Supercon_data_by_2018_Stanev.csv"


@pytest.fixture
def supercon_copy(data_dir: Path, tmp_path: Path, monkeypatch) -> Path:
    """A writable copy of the real Stanev SuperCon dataset as SCTK_DATA_DIR, and an empty cache."""
    import shutil

    from sc_toolkit.data import catalog

    folder = tmp_path / "data" / catalog.SUPERCON.folder
    folder.mkdir(parents=True)
    for file in catalog.SUPERCON.files:
        shutil.copyfile(data_dir / catalog.SUPERCON.folder / file.name, folder / file.name)
    monkeypatch.setenv("SCTK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SCTK_CACHE_DIR", str(tmp_path / "cache"))
    return folder


def _change_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    position = data.rindex(b"1")  # a digit of a Tc value: the table still parses
    data[position] = ord("2")
    path.write_bytes(bytes(data))


@pytest.fixture
def hash_calls(monkeypatch) -> list[Path]:
    """Every path the store hashes, through a patched sha256_of."""
    from sc_toolkit.data import store

    calls: list[Path] = []
    real = store.sha256_of

    def counting(path: Path) -> str:
        calls.append(Path(path))
        return real(path)

    monkeypatch.setattr(store, "sha256_of", counting)
    return calls


def test_load_reports_the_files_hashes(supercon_copy):
    from sc_toolkit.data import catalog

    loaded = load("supercon")
    assert loaded.folder == supercon_copy and loaded.modified == ()
    assert loaded.files == {f.name: f.sha256 for f in catalog.SUPERCON.files}


def test_a_modified_dataset_file_is_refused_unless_allowed(supercon_copy):
    _change_one_byte(supercon_copy / STANEV)
    with pytest.raises(DataError) as info:
        load("supercon")
    error = info.value
    assert error.where == str(supercon_copy / STANEV) and STANEV in error.message
    assert error.hint == (
        "`sctk data verify supercon`; or pass --allow-modified-data if you edited it on purpose"
    )
    assert error.exit_code == 2 and "\n" not in error.one_line()
    loaded = load("supercon", allow_modified=True)
    assert loaded.modified == (STANEV,)
    assert loaded.files[STANEV] == _sha((supercon_copy / STANEV).read_bytes())
    assert len(loaded.table) > 10_000


def test_hashes_are_remembered_by_path_size_and_mtime(supercon_copy, hash_calls):
    import os

    from sc_toolkit.data import store

    load("supercon")
    assert sorted(p.name for p in hash_calls) == sorted(f.name for f in store.resolve("supercon").files)
    hash_calls.clear()
    load("supercon")
    assert hash_calls == []  # same process
    store._remembered.clear()
    store._loaded.clear()
    assert load("supercon").modified == ()
    assert hash_calls == []  # a new process reads verified.json
    assert (store.cache_dir() / "verified.json").is_file()
    stat = (supercon_copy / STANEV).stat()
    os.utime(supercon_copy / STANEV, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    load("supercon")
    assert [p.name for p in hash_calls] == [STANEV]  # touched: hashed again


def test_an_edit_after_a_good_read_is_still_caught(supercon_copy):
    load("supercon")
    _change_one_byte(supercon_copy / STANEV)
    with pytest.raises(DataError, match="was modified"):
        load("supercon")


def test_a_corrupt_or_unwritable_hash_cache_only_costs_hashing(supercon_copy, hash_calls, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "verified.json").write_text("{not json")
    assert load("supercon").modified == ()
    assert len(hash_calls) == 2
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("SCTK_CACHE_DIR", str(blocked))  # no folder can be made there
    (supercon_copy / STANEV).touch()
    assert load("supercon").modified == ()
    assert len(hash_calls) == 3
