"""A snapshot's columnar copy found after the database is restored under another name or path (issues 13 and 19):
the copies' folder is keyed by the database's settings, so a restored database has a new, empty folder. A copy kept
under another folder is used when it verifies against this database (the snapshot's record ids), and is otherwise
ignored: the records are then read from the database. Each test compares with the database's own read."""

import pyarrow as pa
import pytest

from fupin.exchange import cache, linkage

from .test_linkage import dibao  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings, tmp_path):
    """Each test its own data folder: no copy another test left."""
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def db_reads(monkeypatch):
    """The reads of department records from the database, call by call."""
    calls: list[list] = []
    fetch = linkage.fetch_arrow

    def watch(sql, params, **kw):
        if "snapshot_id IN" in sql:
            calls.append(list(params))
        return fetch(sql, params, **kw)

    monkeypatch.setattr(linkage, "fetch_arrow", watch)
    return calls


def _restored_elsewhere():
    """The database's folder as a restore to another path leaves it: under another database's key."""
    here = cache.folder()
    other = here.parent / "0123456789ab"
    here.rename(other)
    return other


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by("record_id")


def test_a_copy_kept_under_the_old_path_is_used_and_kept(dibao, db_reads):  # noqa: F811
    snap, _ = dibao
    name = next(cache.folder().glob("snapshot-*.parquet")).name
    from_db = linkage.load_records([snap.pk])  # an id: always the database's read
    assert db_reads == [[snap.pk]]
    _restored_elsewhere()
    assert not (cache.folder() / name).exists()

    table = linkage.load_records([snap])
    assert db_reads == [[snap.pk]]  # not read from the database again
    assert _sorted(table).equals(_sorted(from_db))
    assert (cache.folder() / name).exists()  # kept in this database's folder for the next run


def test_no_copy_anywhere_reads_the_database(dibao, db_reads):  # noqa: F811
    snap, _ = dibao
    for path in cache.folder().glob("snapshot-*.parquet"):
        path.unlink()
    table = linkage.load_records([snap])
    assert db_reads == [[snap.pk]]
    assert table.num_rows == 9


def test_a_copy_that_does_not_verify_is_not_used(dibao, db_reads):  # noqa: F811
    snap, _ = dibao
    from_db = linkage.load_records([snap.pk])
    other = _restored_elsewhere()
    path = next(other.glob("snapshot-*.parquet"))
    # another database's snapshot under the same name: the same rows and row count, other record ids
    kept = cache._read(path)
    ids = kept.column("record_id")
    kept = kept.set_column(kept.column_names.index("record_id"), "record_id",
                           pa.array([i + 1000 for i in ids.to_pylist()], pa.int64()))
    cache._write(path, kept)

    table = linkage.load_records([snap])
    assert db_reads == [[snap.pk], [snap.pk]]  # read from the database
    assert _sorted(table).equals(_sorted(from_db))
    assert not (cache.folder() / path.name).exists()  # and the copy not taken over


def test_the_linkage_decodes_only_its_columns_of_a_copy_found_elsewhere(dibao, db_reads, monkeypatch):  # noqa: F811
    snap, _ = dibao
    name = next(cache.folder().glob("snapshot-*.parquet")).name
    whole = cache._read(cache.folder() / name)
    from_db = linkage.load_records([snap.pk])
    _restored_elsewhere()
    decoded: list = []
    read_table = cache.pq.read_table

    def watched(source, columns=None, **kw):
        decoded.append(columns)
        return read_table(source, columns=columns, **kw)

    monkeypatch.setattr(cache.pq, "read_table", watched)
    table = linkage.load_records([snap])
    assert db_reads == [[snap.pk]]  # the copy was used, not the database
    assert _sorted(table).equals(_sorted(from_db))
    assert len(decoded) == 1 and decoded[0] is not None
    assert "data" in whole.column_names and "data" not in decoded[0]  # the records' JSON never decoded
    assert {"record_id", "snapshot_id", "name", "id_clean"} <= set(decoded[0])
    kept = cache._read(cache.folder() / name)  # the copy taken over whole, every column
    assert kept.column_names == whole.column_names and kept.num_rows == whole.num_rows
