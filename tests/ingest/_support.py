"""Helpers the reader tests share."""

from __future__ import annotations

from pathlib import Path

from samestory.article import Article
from samestory.errors import InputError
from samestory.ingest import iter_input

DATA = Path(__file__).resolve().parents[1] / "data"


def split(items) -> tuple[list[Article], list[InputError]]:
    """Articles and errors of a reader's output, checking nothing else came out."""
    items = list(items)
    assert all(isinstance(i, (Article, InputError)) for i in items), items
    return [i for i in items if isinstance(i, Article)], [i for i in items if isinstance(i, InputError)]


def read_clean_fixture(name: str) -> list[Article]:
    """The articles of a fixture file that must read without a single error."""
    articles, errors = split(iter_input(DATA / name))
    assert errors == []
    return articles
