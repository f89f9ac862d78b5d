"""Turning a user's record (a JSON object, CSV row or Parquet row) into an Article.

One function for every tabular reader, so JSONL, CSV and Parquet accept the
same fields (``shared/design/interface.md``) and fail the same way.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from ..article import Article
from ..dates import to_iso
from ..errors import InputError
from ..normalize import without_surrogates

_STRING_FIELDS = ("id", "title", "text", "html", "source", "url", "lang")


def article_from_record(record: Mapping[str, Any], source: str, location: str) -> Article:
    """Build an Article from one record; raise InputError when it has no content.

    A record needs a non-empty ``text`` or ``html``; with ``html`` only, the
    page is extracted (trafilatura) and the record's own fields win over the
    extracted ones. Unknown fields are kept in ``Article.extra``.
    """
    if not isinstance(record, Mapping):
        raise InputError(source, f"expected an object with article fields, got {_kind(record)}", location)
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in record.items():
        # Lone surrogates ("\ud800" escapes in JSON) cannot be written as UTF-8: replace them in
        # every key and string, not only the interface fields, or the writers and the store fail.
        key = without_surrogates(str(key))
        if _missing(value):
            value = None
        if key in _STRING_FIELDS:
            if isinstance(value, str):
                value = without_surrogates(value)
            elif value is not None:
                if isinstance(value, (int, float)) and key == "id":
                    value = str(value)
                else:
                    raise InputError(source, f"field '{key}' should be a string, got {_kind(value)}", location)
            values[key] = value
        elif key == "date":
            values["date"] = _no_surrogates(value)
        else:
            extra[key] = _no_surrogates(value)
    text = values.get("text") or ""
    html = values.get("html") or ""
    if not text.strip() and not html.strip():
        raise InputError(source, "record has no 'text' or 'html' (or both are empty)", location)
    date = values.get("date")
    iso = to_iso(date) if date is not None else None
    if date is not None and iso is None:
        raise InputError(source, f"field 'date' is not a date: {str(date)[:60]!r}", location)
    article = Article(
        id=values.get("id") or None,
        title=values.get("title"),
        text=text,
        html=html or None,
        date=iso,
        source=values.get("source"),
        url=values.get("url"),
        lang=(values.get("lang") or None),
        extra=extra,
        origin=f"{source}:{location}",
    )
    if not text.strip():
        from .html import fill_from_html

        fill_from_html(article, html, source, location)
    article.ensure_id()
    return article


def _no_surrogates(value: Any) -> Any:
    """``value`` with lone surrogates replaced in every string of it (lists and objects too)."""
    if isinstance(value, str):
        return without_surrogates(value)
    if isinstance(value, list):
        return [_no_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_no_surrogates(str(k)): _no_surrogates(v) for k, v in value.items()}
    return value


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
