"""Tabular readers (JSONL, JSON, CSV, Parquet): exact fields, and bad records
that cost one error line each while the good records around them come out."""

from __future__ import annotations

import codecs
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from samestory.article import Article, content_id
from samestory.errors import InputError
from samestory.ingest import Limits, iter_input, read_bytes

from _support import read_clean_fixture, split

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "bad"

BRIDGE_URL = "https://www.portaldercourier.example/news/2024/03/14/alder-bay-bridge-reopens"



def errors_at(errors: list[InputError]) -> list[tuple[str | None, str]]:
    return [(e.location, e.message) for e in errors]


def rows(articles: list[Article]) -> list[dict]:
    return [a.to_row(keep_html=True, cleaned=False) for a in articles]


@pytest.fixture(scope="module")
def jsonl_articles() -> list[Article]:
    return read_clean_fixture("articles.jsonl")


# --- JSON Lines -----------------------------------------------------------------


def test_jsonl_reads_every_field(jsonl_articles):
    bridge = jsonl_articles[0]
    assert bridge.id == "pac-2024-0314-bridge"
    assert bridge.title == "Alder Bay bridge reopens to traffic after six months of repairs"
    assert bridge.date == "2024-03-14T08:30:00+00:00"
    assert bridge.source == "Port Alder Courier"
    assert bridge.url == BRIDGE_URL
    assert bridge.lang == "en"
    assert bridge.extra == {"section": "transport"}
    assert bridge.origin == f"{DATA / 'articles.jsonl'}:line 1"
    assert bridge.text.startswith("The Alder Bay bridge reopened to cars and buses on Thursday morning")
    assert bridge.text.count("\n\n") == 3  # paragraphs kept as written
    assert "\u201cWe asked a lot of commuters to be patient" in bridge.text


def test_jsonl_all_records_in_order(jsonl_articles):
    assert [a.title for a in jsonl_articles] == [
        "Alder Bay bridge reopens to traffic after six months of repairs",
        "Library network to open on Sundays from next month",
        "Hailstorm damages apple orchards across the Velden valley",
        "Stadtrat genehmigt neue Straßenbahnlinie zum Flughafen",
        "Summer ferry timetable adds late sailings",
    ]
    assert [a.date for a in jsonl_articles[:4]] == ["2024-03-14T08:30:00+00:00", "2024-03-15", "2024-05-02T17:45:00+02:00", "2024-06-11"]
    assert [a.lang for a in jsonl_articles[:4]] == ["en", "en", "en", "de"]


def test_jsonl_record_without_id_gets_a_stable_content_id(jsonl_articles):
    hail = jsonl_articles[2]
    assert hail.id == content_id(hail.url, hail.title, hail.text)
    again, _ = split(iter_input(DATA / "articles.jsonl"))
    assert again[2].id == hail.id


def test_jsonl_html_only_record_is_extracted(jsonl_articles):
    ferry = jsonl_articles[4]
    assert ferry.title == "Summer ferry timetable adds late sailings"
    assert ferry.url == "https://www.portaldercourier.example/news/2024/06/20/ferry-timetable"
    assert "until midnight on Fridays and Saturdays" in ferry.text
    assert "Copyright" not in ferry.text and "Home" not in ferry.text
    assert ferry.html.startswith("<html>")


def test_malformed_jsonl_one_error_a_bad_line_and_the_rest_still_read():
    path = BAD / "malformed.jsonl"
    articles, errors = split(iter_input(path))
    assert [a.id for a in articles] == ["pac-0701", "pac-0707"]
    assert errors_at(errors) == [
        ("line 2", "malformed JSON: Expecting ',' delimiter (column 61)"),
        ("line 4", "expected an object with article fields, got a list"),
        ("line 5", "record has no 'text' or 'html' (or both are empty)"),
        ("line 6", "field 'title' should be a string, got int"),
        ("line 7", "field 'date' is not a date: 'next Saturday'"),
    ]
    assert str(errors[0]) == f"{path}:line 2: malformed JSON: Expecting ',' delimiter (column 61)"
    assert articles[1].origin == f"{path}:line 8"


def test_jsonl_line_over_the_record_limit_is_skipped():
    short = json.dumps({"id": "a", "text": "Short item."})
    long = json.dumps({"id": "b", "text": "x" * 5000})
    data = f"{short}\n{long}\n{short.replace('a', 'c', 1)}\n".encode()
    articles, errors = split(read_bytes(data, "big.jsonl", limits=Limits(max_record_bytes=1000)))
    assert [a.id for a in articles] == ["a", "c"]
    assert [e.location for e in errors] == ["line 2"]
    assert errors[0].message.startswith("line too long")


def test_jsonl_bom_crlf_and_a_cp1252_line():
    data = (
        codecs.BOM_UTF8
        + b'{"id": "1", "text": "Caf\xc3\xa9 opens."}\r\n'
        + b'{"id": "2", "text": "\x93Quoted\x94 caf\xe9."}\r\n'
    )
    articles, errors = split(read_bytes(data, "mixed.jsonl"))
    assert errors == []
    assert [a.text for a in articles] == ["Café opens.", "\u201cQuoted\u201d café."]


def test_jsonl_deeply_nested_line_costs_only_that_line():
    data = b"[" * 200_000 + b"\n" + json.dumps({"id": "ok", "text": "Fine."}).encode() + b"\n"
    articles, errors = split(read_bytes(data, "deep.jsonl", format="jsonl"))
    assert [a.id for a in articles] == ["ok"]
    assert errors_at(errors) == [("line 1", "malformed JSON: nested too deeply")]


# --- JSON documents ---------------------------------------------------------------


def test_json_list_of_records():
    docs = [{"id": "1", "title": "One", "text": "First."}, {"id": "2", "text": ""}, {"id": "3", "text": "Third."}]
    articles, errors = split(read_bytes(json.dumps(docs).encode(), "list.json"))
    assert [a.id for a in articles] == ["1", "3"]
    assert errors_at(errors) == [("record 2", "record has no 'text' or 'html' (or both are empty)")]
    assert articles[1].origin == "list.json:record 3"


@pytest.mark.parametrize("key", ["articles", "items", "records", "data"])
def test_json_object_holding_the_list(key):
    doc = {"generated": "2024-07-01", key: [{"id": "1", "text": "First."}, {"id": "2", "text": "Second."}]}
    articles, errors = split(read_bytes(json.dumps(doc).encode(), "wrapped.json"))
    assert errors == [] and [a.id for a in articles] == ["1", "2"]


def test_json_single_object_is_one_article():
    doc = {"id": "solo", "title": "Solo", "text": "Just one.", "date": "2024-07-01"}
    articles, errors = split(read_bytes(json.dumps(doc, indent=2).encode(), "one.json"))
    assert errors == [] and [(a.id, a.date) for a in articles] == [("solo", "2024-07-01")]


def test_json_malformed_document_names_line_and_column():
    data = b'[\n  {"id": "1", "text": "ok"},\n  {"id": "2" "text": "broken"}\n]\n'
    _, errors = split(read_bytes(data, "broken.json"))
    assert [str(e) for e in errors] == ["broken.json: malformed JSON: Expecting ',' delimiter (line 3, column 14)"]


def test_json_scalar_document():
    _, errors = split(read_bytes(b'"just a string"', "scalar.json", format="json"))
    assert [e.message for e in errors] == ["expected a list of article objects or one object, got a string"]


# --- CSV --------------------------------------------------------------------------


def test_csv_matches_the_jsonl_records(jsonl_articles):
    path = DATA / "articles.csv"
    articles, errors = split(iter_input(path))
    assert errors == []
    expected = rows(jsonl_articles[:3])
    expected[2]["section"] = None  # an empty cell is a missing value, kept as a column
    assert rows(articles) == expected
    # Quoted cells span lines: each row is located at the line it starts on.
    assert [a.origin for a in articles] == [f"{path}:line 2", f"{path}:line 9", f"{path}:line 14"]


def test_csv_rows_with_the_wrong_number_of_fields():
    path = BAD / "ragged.csv"
    articles, errors = split(iter_input(path))
    assert [a.id for a in articles] == ["vg-901", "vg-904"]
    assert errors_at(errors) == [
        ("line 3", "row has 5 fields but the header has 4"),
        ("line 4", "row has 2 fields but the header has 4"),
        ("line 9", "row has 3 fields but the header has 4"),  # an unclosed quote swallows the rest
    ]
    assert str(errors[0]).startswith(f"{path}:line 3: ")


def test_csv_without_text_or_html_column_is_one_error():
    path = BAD / "missing_column.csv"
    _, errors = split(iter_input(path))
    assert [str(e) for e in errors] == [
        f"{path}:line 1: no 'text' or 'html' column; the header has: 'id', 'title', 'body', 'published'"
    ]


def test_csv_cp1252_semicolons():
    articles, errors = split(iter_input(BAD / "cp1252.csv"))
    assert errors == []
    assert [a.title for a in articles] == ["Café am Hafen schließt nach 40 Jahren", "Neue Fahrräder für die Stadtverwaltung"]
    assert articles[0].text == (
        "Das Café \u201eMeeresblick\u201c am Hafen schließt Ende August. "
        "\u201eWir hören auf, solange es noch Spaß macht\u201c, sagte Inhaberin Renée Vogt."
    )
    assert "Dienstfahrräder angeschafft \u2013 für Wege" in articles[1].text
    assert [(a.source, a.date) for a in articles] == [("Rundschau Alder", "2024-08-02"), ("Rundschau Alder", "2024-08-05")]


def test_csv_utf8_file_with_a_stray_cp1252_line_far_down():
    filler = "".join(f"f{i},Filler {i},Filler text number {i}.\n" for i in range(3000)).encode()
    assert len(filler) > 65536
    data = b"id,title,text\n" + filler + b"late,Late,\x93Smart quotes\x94 from an old system.\n"
    articles, errors = split(read_bytes(data, "mixed.csv"))
    assert errors == [] and len(articles) == 3001
    assert articles[-1].text == "\u201cSmart quotes\u201d from an old system."


def test_csv_tabs_case_insensitive_header_and_bom():
    data = codecs.BOM_UTF8 + "ID\tTitle\tText\tDate\nt1\tTabbed\tA tab separated row.\t2024-07-01\n".encode()
    articles, errors = split(read_bytes(data, "export.tsv"))
    assert errors == []
    assert [(a.id, a.title, a.text, a.date) for a in articles] == [("t1", "Tabbed", "A tab separated row.", "2024-07-01")]


def test_csv_utf16_excel_unicode_text():
    data = "title\ttext\nÜberblick\tEin Text aus Excel.\n".encode("utf-16")
    articles, errors = split(read_bytes(data, "excel.csv", format="csv"))
    assert errors == [] and [(a.title, a.text) for a in articles] == [("Überblick", "Ein Text aus Excel.")]


def test_csv_old_mac_line_ends():
    data = b"id,text\rm1,First row.\rm2,Second row.\r"
    articles, errors = split(read_bytes(data, "mac.csv"))
    assert errors == [] and [a.text for a in articles] == ["First row.", "Second row."]


def test_csv_field_over_the_record_limit_costs_its_row():
    many_lines = b"y" * 99 + (b"\n" + b"y" * 99) * 30  # 3 KB cell, no line over the limit
    data = b'id,text\nsmall,"Short."\nbig,"' + many_lines + b'"\nlong,"' + b"z" * 3000 + b'"\nafter,"Still read."\n'
    articles, errors = split(read_bytes(data, "big.csv", limits=Limits(max_record_bytes=1000)))
    assert [a.id for a in articles] == ["small", "after"]
    assert errors_at(errors) == [
        ("line 3", "row too large: field 'text' holds 3.0 KiB (limit 1000 bytes)"),
        ("line 34", "line too long (2.9 KiB, limit 1000 bytes); skipped"),
    ]


# --- Parquet -------------------------------------------------------------------------


def test_parquet_matches_the_jsonl_records(jsonl_articles):
    path = DATA / "articles.parquet"
    articles, errors = split(iter_input(path))
    assert errors == []
    expected = rows(jsonl_articles)
    for row in expected:
        row.setdefault("section", None)  # a null cell is a missing value, kept as a column
    assert rows(articles) == expected
    assert [a.origin for a in articles] == [f"{path}:row {i}" for i in range(1, 6)]


def test_parquet_from_memory_and_gzipped():
    data = (DATA / "articles.parquet").read_bytes()
    for blob in (data, gzip.compress(data)):
        articles, errors = split(read_bytes(blob, "<upload>"))
        assert errors == [] and [a.id for a in articles][:2] == ["pac-2024-0314-bridge", "vg-77120"]


def test_parquet_truncated(tmp_path):
    path = tmp_path / "cut.parquet"
    data = (DATA / "articles.parquet").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _, errors = split(iter_input(path))
    assert len(errors) == 1 and errors[0].location is None
    assert errors[0].message.startswith("not a valid Parquet file (")


def test_parquet_without_text_column(tmp_path):
    path = tmp_path / "no_text.parquet"
    pq.write_table(pa.table({"id": ["1"], "body": ["Words."]}), path)
    _, errors = split(iter_input(path))
    assert [e.message for e in errors] == ["no 'text' or 'html' column; the columns are: 'id', 'body'"]


def test_parquet_typed_columns_and_a_bad_row(tmp_path):
    import datetime as dt

    path = tmp_path / "typed.parquet"
    table = pa.table(
        {
            "id": pa.array([101, 102, 103], pa.int64()),
            "text": pa.array(["One.", None, "Three."]),
            "date": pa.array([dt.datetime(2024, 7, 1, 9, 30, tzinfo=dt.timezone.utc)] * 3, pa.timestamp("us", tz="UTC")),
            "title": pa.array([b"Binary title", b"x", b"y"], pa.binary()),
        }
    )
    pq.write_table(table, path)
    articles, errors = split(iter_input(path))
    assert [(a.id, a.title, a.date) for a in articles] == [
        ("101", "Binary title", "2024-07-01T09:30:00+00:00"),
        ("103", "y", "2024-07-01T09:30:00+00:00"),
    ]
    assert errors_at(errors) == [("row 2", "record has no 'text' or 'html' (or both are empty)")]


def test_parquet_cell_over_the_record_limit(tmp_path):
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["z" * 5000, "Small."]}), path)
    articles, errors = split(iter_input(path, limits=Limits(max_record_bytes=1000)))
    assert [a.id for a in articles] == ["b"]
    assert errors[0].location == "row 1" and errors[0].message.startswith("row too large: field 'text'")


def test_parquet_value_python_cannot_hold_costs_only_its_row(tmp_path):
    path = tmp_path / "far_future.parquet"
    millis = [1_720_000_000_000, 400_000_000_000_000, 1_720_000_000_000]  # the middle one is in the year 14645
    pq.write_table(pa.table({"text": ["One.", "Two.", "Three."], "date": pa.array(millis, pa.timestamp("ms"))}), path)
    articles, errors = split(iter_input(path))
    assert [(a.text, a.date) for a in articles] == [("One.", "2024-07-03T09:46:40"), ("Three.", "2024-07-03T09:46:40")]
    assert errors_at(errors) == [("row 2", "cannot convert the row's values (date value out of range)")]
