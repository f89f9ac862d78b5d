"""HTML pages: main text and metadata extracted with trafilatura.

trafilatura does the extraction (it is the best-measured open extractor);
this module only maps its result onto an Article and turns its failures into
InputErrors naming the page.
"""

from __future__ import annotations

import logging
from typing import Iterator
from urllib.parse import urlsplit

from ..article import Article
from ..dates import to_iso
from ..errors import InputError
from ..timeout import TimeLimitExceeded, run_with_time_limit
from .source import InputFile, Limits, decode_text

# trafilatura logs every page it finds no text in; the caller reports that.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)


def extract_html(html: str, url: str | None = None) -> dict | None:
    """trafilatura's extraction of one page as a plain dict, or None.

    Options chosen on bench/extraction.py (181 real pages, official metric),
    by broad choices only: no comments and keep tables (each helped in every
    setting tried); favor recall, because the clean stage drops leftover page
    furniture but cannot bring back lost story text; fast (no readability /
    jusText comparison), which scored no worse and is ~1.5x quicker; no
    deduplication, which is state shared across pages, so one article's text
    would depend on what was read before it.
    """
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            favor_recall=True,
            fast=True,
            deduplicate=False,
            # htmldate's extensive search reads a bare "2012" in page text as
            # 2012-01-01; only dates the page states count.
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except (ValueError, TypeError, RecursionError, MemoryError, AttributeError) as exc:
        raise ValueError(f"HTML could not be parsed ({type(exc).__name__})") from exc
    if doc is None:
        return None
    return doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)


def fill_from_html(article: Article, html: str, source: str, location: str | None = None, max_seconds: float | None = None) -> Article:
    """Fill an Article's empty fields from its page; raise InputError if no text
    or if extraction takes longer than ``max_seconds`` (None: no limit)."""
    try:
        found = run_with_time_limit(max_seconds, extract_html, html, article.url)
    except (ValueError, TimeLimitExceeded) as exc:
        raise InputError(source, str(exc), location) from None
    text = (found or {}).get("text") or ""
    if not text.strip():
        raise InputError(source, "HTML page has no extractable article text", location)
    if not _has_prose(text):
        raise InputError(source, "HTML page has no extractable article text (only short lines such as menu links)", location)
    article.text = text
    article.title = article.title or found.get("title") or None
    article.date = article.date or to_iso(found.get("date"))
    article.byline = article.byline or found.get("author") or None
    article.source = article.source or found.get("sitename") or found.get("hostname") or _host(article.url)
    article.url = article.url or found.get("url") or None
    article.lang = article.lang or found.get("language") or None
    return article


def read_html(inp: InputFile, limits: Limits) -> Iterator[Article | InputError]:
    """One HTML page, one article."""
    data = inp.read_document(limits.max_document_bytes)
    if not data.strip():
        raise InputError(inp.name, "empty file")
    html, _ = decode_text(data, _declared_charset(data))
    article = Article(html=html, origin=inp.name)
    fill_from_html(article, html, inp.name, max_seconds=limits.max_seconds)
    article.ensure_id()
    yield article


#: A line this long reads as prose, not a menu item or label; the character
#: bound covers scripts written without spaces.
_PROSE_WORDS = 6
_PROSE_CHARS = 40


def _has_prose(text: str) -> bool:
    """Whether any line reads like a sentence: recall-minded extraction of a
    page with no story returns its menu ("Home", "News"), which is no article."""
    return any(len(line.split()) >= _PROSE_WORDS or len(line.strip()) >= _PROSE_CHARS for line in text.splitlines())


def _declared_charset(data: bytes) -> str | None:
    """The charset a page declares in its first 2 KB (meta tag), if any."""
    import re

    m = re.search(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_\-]+)""", data[:4096], re.I)
    return m.group(1).decode("ascii") if m else None


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # "Invalid IPv6 URL" and other malformed urls
        return None
    return host[4:] if host.startswith("www.") else (host or None)
