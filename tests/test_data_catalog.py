"""The built-in dataset catalog: registration, provenance fields, and the real files' sha256."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sc_toolkit.data import catalog, sha256_of, verify

NAMES = [
    "supercon",
    "supercon-nims-raw",
    "uci-superconductivity",
    "oqmd",
    "mp-e-form",
    "jarvis-dft-3d",
    "3dsc",
    "supercon3d",
    "jarvis-supercon",
    "bete-net",
    "wide-gap-insulators",
]
RAW_URL = re.compile(r"^https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+$")


def test_hook_registers_every_dataset():
    registered = []
    catalog.register_datasets(register=registered.append)
    assert [d.name for d in registered] == NAMES
    assert len({d.folder for d in registered}) == len(NAMES)


def test_registry_accepts_the_catalog():
    from sc_toolkit.registry import _Loader

    loader = _Loader()
    loader.add(catalog, "catalog-under-test", "0")
    assert loader.registry.failures == []
    assert list(loader.registry.datasets) == NAMES


@pytest.mark.parametrize("dataset", catalog.DATASETS, ids=lambda d: d.name)
def test_dataset_fields(dataset):
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", dataset.name)  # kebab-case; '3dsc' starts with a digit
    assert dataset.licence and dataset.citation and dataset.description
    assert dataset.kind in ("composition", "structure")
    for file in dataset.files:
        assert re.fullmatch(r"[0-9a-f]{64}", file.sha256), file.name
        assert file.url == "" or RAW_URL.match(file.url), file.url


def test_unlicensed_sources_are_not_redistributable():
    closed = {d.name for d in catalog.DATASETS if not d.redistributable}
    unlicensed_mirrors = {"supercon-nims-raw", "uci-superconductivity", "jarvis-dft-3d", "jarvis-supercon"}
    assert closed == unlicensed_mirrors | {"supercon3d", "wide-gap-insulators"}  # the last built on jarvis-dft-3d


def test_derived_datasets_reuse_their_sources_files():
    """A dataset in :data:`catalog.DATA_ROOT` names files of other datasets, with their URL and sha256."""
    derived = [d for d in catalog.DATASETS if d.folder == catalog.DATA_ROOT]
    assert [d.name for d in derived] == ["wide-gap-insulators"]
    sources = {(d.folder, f.name): f for d in catalog.DATASETS if d.folder != catalog.DATA_ROOT for f in d.files}
    for file in derived[0].files:
        folder, name = file.name.split("/", 1)
        assert sources[folder, name].url == file.url and sources[folder, name].sha256 == file.sha256


def test_every_file_in_data_dir_matches_its_sha256(data_dir: Path):
    for dataset in catalog.DATASETS:
        for status in verify(dataset):
            assert status.status == "ok", f"{dataset.name}/{status.name}: {status.status}"
            assert status.path == data_dir / dataset.folder / status.name


def test_every_real_file_is_catalogued(data_dir: Path):
    """Nothing in a catalogued folder escapes the catalog (PROVENANCE.md aside)."""
    for dataset in catalog.DATASETS:
        if dataset.folder == catalog.DATA_ROOT:
            continue  # its files are its sources' (test_derived_datasets_reuse_their_sources_files)
        folder = data_dir / dataset.folder
        on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
        assert on_disk - {"PROVENANCE.md"} == {f.name for f in dataset.files}, dataset.name


def test_catalog_sha256_matches_provenance(data_dir: Path):
    for dataset in catalog.DATASETS:
        for file in dataset.files:
            folder = file.name.split("/")[0] if dataset.folder == catalog.DATA_ROOT else dataset.folder
            assert file.sha256 in (data_dir / folder / "PROVENANCE.md").read_text(), f"{dataset.name}/{file.name}"


def test_sha256_of_reads_in_chunks(tmp_path: Path):
    import hashlib

    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (3 << 20))
    assert sha256_of(path) == hashlib.sha256(b"x" * (3 << 20)).hexdigest()
