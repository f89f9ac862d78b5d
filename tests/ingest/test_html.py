"""HTML ingest: story text without page furniture, metadata from the page,
any encoding, broken markup, and errors that name the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from samestory.article import Article
from samestory.errors import InputError
from samestory.ingest import iter_input, read_bytes
from samestory.ingest.html import fill_from_html

PAGES = Path(__file__).resolve().parents[1] / "data" / "html"


def only_article(items) -> Article:
    items = list(items)
    assert len(items) == 1, items
    assert isinstance(items[0], Article), items[0]
    return items[0]


def only_error(items) -> InputError:
    items = list(items)
    assert len(items) == 1, items
    assert isinstance(items[0], InputError), items[0]
    return items[0]


@pytest.fixture(scope="module")
def news() -> Article:
    return only_article(iter_input(PAGES / "news_article.html"))


def test_news_page_metadata(news):
    assert news.title == "Harbour Town Votes to Rebuild Its Storm-Damaged Pier"
    assert news.date == "2023-03-14"
    assert news.byline == "Maria Lindqvist"
    assert news.source == "The Coastal Ledger"
    assert news.url == "https://www.coastal-ledger.example/news/2023/03/14/harbour-pier-rebuild"
    assert news.id and news.html.startswith("<!DOCTYPE html>")


def test_news_page_text_is_the_story(news):
    assert news.text.startswith("The town council of Harbour Town voted seven to two")
    assert "outer third of the deck" in news.text
    assert news.text.rstrip().endswith("review the budget again in June.")


@pytest.mark.parametrize(
    "furniture",
    [
        "Subscribe to the Ledger today",  # nav
        "Sport",  # nav
        "Related stories",  # sidebar
        "Winter ferry timetable",  # sidebar link
        "Copyright 2023",  # footer
        "Privacy policy",  # footer
        "Contact the newsroom",  # footer
    ],
)
def test_news_page_text_has_no_furniture(news, furniture):
    assert furniture not in news.text


def test_read_bytes_same_as_file(news):
    data = (PAGES / "news_article.html").read_bytes()
    assert only_article(read_bytes(data, "upload.html")).text == news.text


def test_cp1252_page_without_charset_keeps_curly_quotes():
    data = (PAGES / "cp1252_quotes.html").read_bytes()
    assert b"\x93We have" in data and b"charset" not in data.lower()
    article = only_article(read_bytes(data, "bakery.html"))
    assert "\u201cWe have baked the same loaf every morning for twenty years,\u201d said the owner" in article.text
    assert "the loaf\u2019s crust" in article.text
    assert "\ufffd" not in article.text and "\u00e2\u20ac" not in article.text  # no replacement chars, no mojibake
    assert (article.title, article.date, article.byline) == ("Bakery Wins Regional Bread Prize", "2021-10-08", "Sofia Ricci")


def test_broken_html_still_extracts():
    article = only_article(iter_input(PAGES / "broken.html"))
    assert article.title == "Library Extends Opening Hours for Exam Season"
    assert (article.date, article.byline) == ("2022-05-02", "Tom Okafor")
    for sentence in (
        "The city library will stay open until midnight on weekdays",
        "before their exams.",
        "Volunteers from the university will staff the reading rooms",
        "roughly double the usual number in the late evening.",
        "Opening hours return to normal in June",
    ):
        assert sentence in article.text
    assert "Catalogue" not in article.text


def test_page_without_article_text_names_the_file():
    path = PAGES / "no_text.html"
    error = only_error(iter_input(path))
    assert error.source == str(path)
    assert "no extractable article text" in error.message
    assert str(error).startswith(f"{path}: ")


def test_page_without_article_text_from_bytes_names_the_upload():
    error = only_error(read_bytes((PAGES / "no_text.html").read_bytes(), "upload-7.html"))
    assert str(error).startswith("upload-7.html: HTML page has no extractable article text")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty file"),
        (b"<html><body></body></html>", "no extractable article text"),
    ],
)
def test_empty_pages_are_errors(data, message):
    error = only_error(read_bytes(data, "blank.html"))
    assert error.source == "blank.html" and message in error.message


def test_fill_from_html_keeps_fields_the_record_has():
    html = (PAGES / "news_article.html").read_text(encoding="utf-8")
    article = Article(title="Pier to be rebuilt", date="2023-03-15", source="Ledger wire", html=html)
    fill_from_html(article, html, "records.jsonl", "line 3")
    assert (article.title, article.date, article.source) == ("Pier to be rebuilt", "2023-03-15", "Ledger wire")
    assert article.byline == "Maria Lindqvist"
    assert "moor their boats along the pier" in article.text


def test_fill_from_html_error_names_file_and_record():
    with pytest.raises(InputError) as caught:
        fill_from_html(Article(), "<html><body><p>Home</p></body></html>", "records.jsonl", "line 3")
    assert str(caught.value).startswith("records.jsonl:line 3: HTML page has no extractable article text")
