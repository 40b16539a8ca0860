"""The on-disk cache of parsed dataset tables: a cached load is the loader's own result, keyed by
the source files' sha256 and the loader's code, and a damaged entry is never used."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sc_toolkit.data import LoadedTable, locate, resolve
from sc_toolkit.data.dataset import Dataset
from sc_toolkit.data.store import file_sha256
from sc_toolkit.data.table_cache import TABLES_FOLDER, load_with_cache

CALLS: list[Path] = []


def counting_loader(folder: Path) -> LoadedTable:
    """A module-level loader (cacheable) that records each call."""
    CALLS.append(folder)
    table = pd.DataFrame({"formula": ["MgB2", "NaN"], "tc": [39.0, float("nan")], "n": [1, 2]})
    return LoadedTable(table, pd.DataFrame({"row": [3], "value": ["Oz"], "reason": ["unparseable formula"]}))


def _toy(loader=counting_loader) -> Dataset:
    return Dataset("toy", "toy_folder", (), "a toy", "CC0", "nobody", loader)


def _assert_same(a: LoadedTable, b: LoadedTable) -> None:
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    pd.testing.assert_frame_equal(a.rejected, b.rejected, check_exact=True)


@pytest.mark.parametrize("name", ["supercon", "jarvis-supercon"])
def test_cached_load_equals_the_loader_on_real_data(name, data_dir, tmp_path):
    dataset = resolve(name)
    folder = locate(dataset)
    hashes = {f.name: file_sha256(folder / f.name) for f in dataset.files}
    direct = dataset.loader(folder)
    assert len(direct.rejected) or name != "supercon"  # bad rows are reported, also from the cache
    stored = load_with_cache(dataset, folder, hashes, tmp_path)
    _assert_same(stored, direct)
    assert len(list((tmp_path / TABLES_FOLDER).iterdir())) == 1
    _assert_same(load_with_cache(dataset, folder, hashes, tmp_path), direct)


def test_loader_runs_once_per_content_of_the_source_files(tmp_path):
    CALLS.clear()
    first = load_with_cache(_toy(), tmp_path, {"a.csv": "1" * 64}, tmp_path)
    again = load_with_cache(_toy(), tmp_path, {"a.csv": "1" * 64}, tmp_path)
    assert len(CALLS) == 1
    _assert_same(again, first)
    load_with_cache(_toy(), tmp_path, {"a.csv": "2" * 64}, tmp_path)  # the file changed
    assert len(CALLS) == 2


def test_a_damaged_entry_is_ignored_and_rewritten(tmp_path):
    CALLS.clear()
    expected = load_with_cache(_toy(), tmp_path, {}, tmp_path)
    (entry,) = (tmp_path / TABLES_FOLDER).iterdir()
    data = (entry / "table.parquet").read_bytes()
    (entry / "table.parquet").write_bytes(data[:-40] + bytes(40))
    _assert_same(load_with_cache(_toy(), tmp_path, {}, tmp_path), expected)
    assert len(CALLS) == 2
    _assert_same(load_with_cache(_toy(), tmp_path, {}, tmp_path), expected)
    assert len(CALLS) == 2


def test_only_tables_that_read_back_identical_and_module_level_loaders_are_stored(tmp_path):
    def closure(folder: Path) -> LoadedTable:
        return LoadedTable(pd.DataFrame({"formula": ["MgB2"]}))

    load_with_cache(_toy(closure), tmp_path, {}, tmp_path)
    assert not (tmp_path / TABLES_FOLDER).exists()
    result = load_with_cache(_toy(unstorable_loader), tmp_path, {}, tmp_path)
    _assert_same(result, unstorable_loader(tmp_path))
    assert not any((tmp_path / TABLES_FOLDER).iterdir())


def unstorable_loader(folder: Path) -> LoadedTable:
    """A table Parquet cannot hold: one column of text and integers."""
    return LoadedTable(pd.DataFrame({"value": ["1", 1]}))
