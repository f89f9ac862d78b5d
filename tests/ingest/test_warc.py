"""WARC archives: HTML pages become articles, the rest of a crawl is skipped,
and damaged archives give one error naming the record while the records
before the damage are still read."""

from __future__ import annotations

import gzip
import importlib.util
import io
import re
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from samestory.article import Article
from samestory.ingest import Limits, iter_input, read_bytes

from _support import read_clean_fixture, split

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "bad"

BRIDGE_URL = "https://www.portaldercourier.example/news/2024/03/14/alder-bay-bridge-reopens"
LIBRARY_URL = "https://veldengazette.example/local/library-sunday-hours"
HAIL_URL = "https://veldengazette.example/region/hailstorm-orchards"



def page(title: str, paragraphs: int = 4) -> bytes:
    body = "".join(
        f"<p>Paragraph {i} of the report on {title.lower()}: the harbour board met on Tuesday and agreed the plan after a long debate.</p>"
        for i in range(paragraphs)
    )
    return f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article></body></html>".encode()


def warc(*records: tuple[str, str, bytes, str | None], gz: bool = False) -> bytes:
    """A WARC of (type, uri, payload, HTTP status or None) records."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gz)
    for rec_type, uri, payload, status in records:
        http = StatusAndHeaders(status, [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1") if status else None
        record = writer.create_warc_record(
            uri, rec_type, payload=io.BytesIO(payload), http_headers=http,
            warc_headers_dict={"WARC-Date": "2024-07-01T10:00:00Z"},
            warc_content_type=None if status else "text/html",
        )
        writer.write_record(record)
    return out.getvalue()


@pytest.fixture(scope="module")
def pages() -> list[Article]:
    return read_clean_fixture("pages.warc.gz")


def test_only_the_html_pages_become_articles(pages):
    # Records 1-10: warcinfo, request, page, metadata, page, image, 404, redirect, resource page, revisit.
    assert [a.origin for a in pages] == [f"{DATA / 'pages.warc.gz'}:record {n}" for n in (3, 5, 9)]
    assert [a.url for a in pages] == [BRIDGE_URL, LIBRARY_URL, HAIL_URL]


def test_page_fields(pages):
    bridge = pages[0]
    assert bridge.title == "Alder Bay bridge reopens to traffic after six months of repairs"
    assert bridge.date == "2024-03-14"  # the page's own date, not the capture's
    assert bridge.extra == {"capture_date": "2024-03-14T09:12:45+00:00"}
    assert bridge.source == "Port Alder Courier"
    assert bridge.byline == "Jonas Vik"
    assert "six months after engineers closed it" in bridge.text  # gzip Content-Encoding undone
    assert "Most read" not in bridge.text and "All rights reserved" not in bridge.text
    assert bridge.html.startswith("<!DOCTYPE html>")
    assert len(bridge.id) == 16


def test_charsets_from_http_header_and_meta_tag(pages):
    library, hail = pages[1], pages[2]
    assert "Head librarian Renée Brenner" in library.text and "café" in library.text  # ISO-8859-1 in the HTTP header
    assert "\u201cIt came out of nowhere,\u201d said orchard owner Ingrid Salo" in hail.text  # windows-1252 in a meta tag


def test_capture_date_when_the_page_has_no_date(pages):
    hail = pages[2]
    assert hail.date == "2024-05-03T08:00:01+00:00"
    assert hail.extra["capture_date"] == "2024-05-03T08:00:01+00:00"


def test_capture_date_when_the_page_only_mentions_a_year(pages):
    assert pages[1].date == "2024-03-16T11:02:07+00:00"


def test_uncompressed_and_whole_file_gzip_read_the_same(pages):
    plain = gzip.decompress((DATA / "pages.warc.gz").read_bytes())
    for data in (plain, gzip.compress(plain)):
        articles, errors = split(read_bytes(data, "crawl.warc"))
        assert errors == []
        assert [(a.url, a.title, a.text) for a in articles] == [(a.url, a.title, a.text) for a in pages]


def test_fixture_is_what_make_warc_builds():
    spec = importlib.util.spec_from_file_location("make_warc", DATA / "make_warc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.build() == (DATA / "pages.warc.gz").read_bytes()


# --- damaged archives -------------------------------------------------------------------


def test_truncated_archive_keeps_the_records_before_the_break():
    plain = gzip.decompress((DATA / "pages.warc.gz").read_bytes())
    starts = [m.start() for m in re.finditer(rb"WARC/1\.[01]\r\n", plain)]
    assert len(starts) == 10
    cut = plain[: starts[4] + 700]  # inside record 5, the library page
    articles, errors = split(read_bytes(cut, "cut.warc"))
    assert [a.url for a in articles] == [BRIDGE_URL]
    assert [e.location for e in errors] == ["record 5"]
    assert str(errors[0]).startswith("cut.warc:record 5: truncated archive: the record is incomplete")


def test_truncated_gzip_archive_keeps_the_records_before_the_break():
    path = BAD / "truncated.warc.gz"
    articles, errors = split(iter_input(path))
    assert [a.url for a in articles] == [BRIDGE_URL]
    assert [str(e) for e in errors] == [
        f"{path}:record 5: truncated archive: the record is incomplete (the compressed data ends early); "
        "the rest of the file was not read"
    ]


def test_truncated_gzip_archive_is_one_error_naming_the_file():
    path = BAD / "truncated.warc.gz"
    _, errors = split(iter_input(path, format="warc"))
    assert len(errors) == 1 and errors[0].source == str(path)
    assert "truncated" in errors[0].message


def test_garbage_between_records_stops_with_one_error():
    data = warc(("response", "https://a.example/one", page("Tram depot"), "200 OK"))
    data += b"\r\nthis is not a WARC record at all\r\n\r\n" + warc(("response", "https://a.example/two", page("Bus lane"), "200 OK"))
    articles, errors = split(read_bytes(data, "mixed.warc"))
    assert [a.url for a in articles] == ["https://a.example/one"]
    assert [e.location for e in errors] == ["record 2"]
    assert errors[0].message.startswith("corrupt archive: cannot read the record")


def test_record_over_the_limit_is_skipped_and_reading_goes_on():
    data = warc(
        ("response", "https://a.example/big", page("Harbour budget", paragraphs=40), "200 OK"),
        ("response", "https://a.example/small", page("Ferry times"), "200 OK"),
        gz=True,
    )
    articles, errors = split(read_bytes(data, "crawl.warc.gz", limits=Limits(max_record_bytes=3000)))
    assert [a.url for a in articles] == ["https://a.example/small"]
    assert [e.location for e in errors] == ["record 1"]
    assert errors[0].message.startswith("record too large")


def test_page_without_text_names_record_and_url():
    empty = b"<html><head><title>Gallery</title></head><body><img src='a.jpg'></body></html>"
    data = warc(
        ("response", "https://a.example/gallery", empty, "200 OK"),
        ("resource", "https://a.example/story", page("Pier lights"), None),
    )
    articles, errors = split(read_bytes(data, "crawl.warc"))
    assert [a.url for a in articles] == ["https://a.example/story"]
    assert [str(e) for e in errors] == [
        "crawl.warc:record 1: HTML page has no extractable article text (https://a.example/gallery)"
    ]


def test_non_html_and_failed_responses_are_skipped_silently():
    data = warc(
        ("request", "https://a.example/x", b"GET /x HTTP/1.1\r\nHost: a.example\r\n\r\n", None),
        ("response", "https://a.example/missing", page("Not found"), "404 Not Found"),
        ("response", "https://a.example/error", page("Oops"), "500 Internal Server Error"),
        ("metadata", "https://a.example/x", b"outlink: https://a.example/y\r\n", None),
    )
    assert list(read_bytes(data, "crawl.warc")) == []


def test_wrong_content_length_prints_nothing(capfd):
    data = warc(("response", "https://a.example/one", page("Tram depot"), "200 OK"))
    data = data.replace(b"\r\n\r\n<html>", b"\r\n\r\n<html>  ", 1)  # two bytes more than Content-Length says
    list(read_bytes(data, "off.warc"))
    assert capfd.readouterr().err == ""


def test_latin1_label_is_read_as_windows_1252_like_browsers_do():
    html = page("Quay market").replace(b"agreed the plan", b"agreed the \x93new\x94 plan")
    out = io.BytesIO()
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=ISO-8859-1")], protocol="HTTP/1.1")
    writer = WARCWriter(out, gzip=False)
    writer.write_record(writer.create_warc_record("https://a.example/quay", "response", payload=io.BytesIO(html), http_headers=http))
    articles, errors = split(read_bytes(out.getvalue(), "quay.warc"))
    assert errors == [] and "agreed the \u201cnew\u201d plan" in articles[0].text
