"""Pair tables for score-pairs: JSONL, CSV and Parquet rows, and errors that name the field."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from samestory.errors import InputError
from samestory.ingest import iter_input
from samestory.ingest.pairs import PAIRS, PairRecord, pair_from_record

ROW = {"pair_id": "p1", "title1": "Bridge reopens", "text1": "The bridge reopened on Thursday.",
       "title2": "Cars back on bridge", "text2": "Traffic is flowing again over the bridge.",
       "lang1": "en", "lang2": "en", "date1": "2024-03-14", "link2": "https://example.org/b"}


def _items(path, **kw):
    return list(iter_input(str(path), kind=PAIRS, **kw))


def test_a_row_becomes_two_articles():
    rec = pair_from_record(ROW, "pairs.jsonl", "line 1")
    assert isinstance(rec, PairRecord) and rec.pair_id == "p1" and rec.origin == "pairs.jsonl:line 1"
    assert (rec.a.title, rec.a.lang, rec.a.date) == ("Bridge reopens", "en", "2024-03-14")
    assert rec.b.text == "Traffic is flowing again over the bridge." and rec.b.url == "https://example.org/b"
    assert rec.b.date is None and rec.a.id == "p1/1"
    assert pair_from_record({**ROW, "pair_id": 7}, "f", "line 1").pair_id == "7"


def test_errors_name_the_pair_field():
    def message(record):
        out = pair_from_record(record, "pairs.jsonl", "line 3")
        assert isinstance(out, InputError)
        return str(out)

    assert message({**ROW, "text2": "", "title2": None}) == "pairs.jsonl:line 3: article 2: record has no 'text2' or 'html2' (or both are empty)"
    headline_only = pair_from_record({**ROW, "text2": "  "}, "pairs.jsonl", "line 3")
    assert headline_only.b.text == headline_only.b.title == "Cars back on bridge"
    assert message({**ROW, "date1": "yesterday-ish"}).endswith("article 1: field 'date1' is not a date: 'yesterday-ish'")
    assert message({**ROW, "title1": 5}).endswith("article 1: field 'title1' should be a string, got int")
    assert message({k: v for k, v in ROW.items() if k != "pair_id"}).endswith("no 'pair_id'")
    assert message([1, 2]).endswith("expected an object with pair fields, got list")


def test_jsonl_csv_and_parquet_pair_files(tmp_path):
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text(json.dumps(ROW) + "\n{oops\n" + json.dumps({**ROW, "pair_id": "p2"}) + "\n", encoding="utf-8")
    items = _items(jsonl)
    assert [type(i).__name__ for i in items] == ["PairRecord", "InputError", "PairRecord"]
    assert str(items[1]).startswith(f"{jsonl}:line 2: malformed JSON")

    csv = tmp_path / "pairs.csv"
    cols = list(ROW)
    csv.write_text(",".join(cols) + "\n" + ",".join(f'"{ROW[c]}"' for c in cols) + "\n", encoding="utf-8")
    (rec,) = _items(csv)
    assert rec.pair_id == "p1" and rec.a.date == "2024-03-14"

    parquet = tmp_path / "pairs.parquet"
    pq.write_table(pa.Table.from_pylist([ROW, {**ROW, "pair_id": "p2", "text1": None, "title1": None}]), parquet)
    ok, bad = _items(parquet)
    assert ok.pair_id == "p1" and str(bad).endswith("row 2: article 1: record has no 'text1' or 'html1' (or both are empty)")


def test_a_table_without_pair_columns_or_not_a_table_is_refused(tmp_path):
    articles = tmp_path / "articles.csv"
    articles.write_text("id,title\n1,Bridge\n", encoding="utf-8")
    (err,) = _items(articles)
    assert "no 'pair_id' or 'text1' or 'text2' column; the header has: 'id', 'title'" in str(err)
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>Just a page of text that is an article.</p></body></html>", encoding="utf-8")
    (err,) = _items(page)
    assert "reads as html, but rows of named fields are needed" in str(err)
