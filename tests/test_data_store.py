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


def test_resolve_by_name_uses_the_registry(monkeypatch):
    from sc_toolkit import registry
    from sc_toolkit.data import catalog

    loaded = registry.Registry(datasets={d.name: d for d in catalog.DATASETS})
    monkeypatch.setattr(registry, "default_registry", lambda: loaded)
    assert resolve("supercon") is catalog.SUPERCON
    with pytest.raises(PluginError, match="did you mean 'supercon'"):
        resolve("supercom")
