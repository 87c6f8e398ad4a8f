"""`python -m bench scale`: the issue's scale figures again, each way checked for its rows."""

import pytest

from bench import scale


def test_each_way_writes_every_entry_and_line_and_is_timed(db_kind, fresh_url, tmp_path):
    result = scale.scale_bench(fresh_url, entries=40, rounds=1, orm=True, workdir=tmp_path)
    assert result["rows"] == 120 and result["db"] == db_kind
    assert set(result["seconds"]) == {"bare", "keys", "journal", "core", "orm"}
    assert all(len(s) == 1 and s[0] > 0 for s in result["seconds"].values())
    assert result["issue"]["bare"] == ((1.0, 1.0) if db_kind == "sqlite" else (3.9, 3.9))


def test_a_way_that_loses_a_row_is_refused(tmp_path, monkeypatch):
    real = scale.rows
    monkeypatch.setattr(scale, "rows", lambda *a: (lambda h, l: (h, l[:-1]))(*real(*a)))
    with pytest.raises(RuntimeError, match="bare: .* expected"):
        scale.one("bare", None, tmp_path, 10)


def test_without_a_workdir_its_temporary_folder_is_removed(tmp_path, monkeypatch):
    """Run without --workdir, the SQLite files of each way (152 MB at the issue's 100,000
    entries) were left behind in a `pledger-scale-*` folder of the system's temporary folder."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = scale.scale_bench(None, entries=10, rounds=1)
    assert result["rows"] == 30
    assert list(tmp_path.iterdir()) == []
