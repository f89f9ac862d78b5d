"""Pairs of articles to score: the rows ``samestory score-pairs`` reads.

A row holds ``pair_id`` and, for each side ``i`` of 1 and 2, ``title{i}``,
``text{i}`` (or ``html{i}``, extracted) and optionally ``lang{i}``,
``date{i}``, ``source{i}``, ``url{i}`` (``link{i}`` is read as the url, as
in the SemEval files). A side with a title but no text is scored on its
title. Each side goes through the same record rules as an
article row (:func:`~samestory.ingest.records.record_article`), so JSONL,
CSV and Parquet pair files fail the same way an article file does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..article import Article
from ..errors import InputError
from .records import RecordKind, record_article

_SIDE_FIELDS = ("title", "text", "html", "lang", "date", "source", "url")


@dataclass
class PairRecord:
    """One row of a pair file: its id, its two articles and where it was read."""

    pair_id: str
    a: Article
    b: Article
    origin: str


def pair_from_record(record: Any, source: str, location: str) -> PairRecord | InputError:
    """The row's :class:`PairRecord`, or the InputError saying what is wrong (naming the field)."""
    if not isinstance(record, Mapping):
        return InputError(source, f"expected an object with pair fields, got {type(record).__name__}", location)
    pair_id = record.get("pair_id")
    if pair_id is None or (isinstance(pair_id, float) and pair_id != pair_id):
        return InputError(source, "no 'pair_id'", location)
    if not isinstance(pair_id, (str, int)) or isinstance(pair_id, bool):
        return InputError(source, f"'pair_id' should be a string, got {type(pair_id).__name__}", location)
    sides = []
    for i in (1, 2):
        side = {f: record.get(f"{f}{i}") for f in _SIDE_FIELDS}
        if side["url"] is None:
            side["url"] = record.get(f"link{i}")
        side["id"] = f"{pair_id}/{i}"
        if not _has_text(side.get("text")) and not _has_text(side.get("html")) and _has_text(side.get("title")):
            side["text"] = side["title"]  # a failed scrape with only its headline: score the headline
        article = record_article({k: v for k, v in side.items() if v is not None}, source, location)
        if isinstance(article, InputError):
            message = article.message
            for f in _SIDE_FIELDS:  # name the pair file's own fields
                message = message.replace(f"'{f}'", f"'{f}{i}'")
            return InputError(source, f"article {i}: {message}", location)
        sides.append(article)
    return PairRecord(str(pair_id), sides[0], sides[1], f"{source}:{location}")


def _has_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


#: What a pair table's rows are.
PAIRS = RecordKind(pair_from_record, ("pair_id", "text1", "text2"))
