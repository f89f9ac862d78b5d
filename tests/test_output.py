"""JSONL, CSV and Parquet writers: same rows back, atomic files."""

from __future__ import annotations

import json

import pytest

from samestory.errors import UsageError
from samestory.output import open_writer, output_format, read_rows

ROWS = [
    {"id": "a1", "title": "Héllo “world”", "removed": ["x", "y"], "n": 1},
    {"id": "a2", "title": None, "removed": [], "n": 2},
]


@pytest.mark.parametrize("ext", ["jsonl", "csv", "parquet"])
def test_round_trip(tmp_path, ext):
    path = tmp_path / f"out.{ext}"
    with open_writer(path) as w:
        w.write_all(ROWS)
    assert w.count == 2
    back = read_rows(path)
    assert [r["id"] for r in back] == ["a1", "a2"]
    assert back[0]["title"] == "Héllo “world”"
    removed = back[0]["removed"]
    assert (json.loads(removed) if ext == "csv" else list(removed)) == ["x", "y"]
    assert not list(tmp_path.glob(".*.part"))


def test_failed_run_leaves_no_file(tmp_path):
    path = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError):
        with open_writer(path) as w:
            w.write(ROWS[0])
            raise RuntimeError("boom")
    assert not path.exists()
    assert not list(tmp_path.iterdir())


def test_empty_output_still_written(tmp_path):
    for ext in ("jsonl", "csv", "parquet"):
        path = tmp_path / f"empty.{ext}"
        with open_writer(path):
            pass
        assert path.exists()


def test_parquet_type_change_is_kept_as_text(tmp_path, capsys):
    path = tmp_path / "mixed.parquet"
    with open_writer(path) as w:
        w.write({"id": "1", "gold": "s1"})
        w.write({"id": "2", "gold": 7})
    assert [r["gold"] for r in read_rows(path)] == ["s1", "7"]


def test_late_new_field_warns(tmp_path, capsys):
    path = tmp_path / "late.csv"
    with open_writer(path) as w:
        w.probe = 1
        w.write({"id": "1"})
        w.write({"id": "2", "extra": "x"})
    assert "extra" in capsys.readouterr().err
    assert read_rows(path) == [{"id": "1"}, {"id": "2"}]


def test_unknown_extension():
    with pytest.raises(UsageError, match="end the name in .jsonl, .csv or .parquet"):
        output_format("out.xlsx")
    assert output_format("-") == "jsonl"
