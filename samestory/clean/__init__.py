"""Clean: the article's real title, byline, date, language and story text.

:func:`clean_article` is the stage every pipeline runs after ingest. It keeps
every sentence of the story and drops page furniture (scrape dates, section
labels, teasers, bylines, "Read | ..." links, agency credits, headlines of
other stories), listing each dropped line and the reason in the record.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable, Iterator
from urllib.parse import urlsplit

from ..article import Article
from ..normalize import clean_line, for_matching, nfc
from ..timeout import run_with_time_limit
from .language import detect_language, normalise_code
from .scraped import Scraped, split_scraped

__all__ = ["clean_article", "clean_articles", "clean_title", "detect_language", "split_scraped", "Scraped"]

#: Words of the site-name part of page titles ("Columbus News, Weather & Sports").
_SITE_WORDS = {"news", "weather", "sports", "breaking", "headlines", "online", "newspaper", "tv", "radio", "channel"}
_SITE_SEPARATORS = re.compile(r"\s+(?:[|–—•·]|-{1,2}|::)\s+")


def clean_article(article: Article, *, detect_lang: bool = True, max_seconds: float | None = None) -> Article:
    """A cleaned copy of ``article`` (the input is not changed).

    Fields the input already had (title, date, byline, lang) are kept; the
    text only fills in those it lacks. ``max_seconds``: raise
    :class:`~samestory.timeout.TimeLimitExceeded` (a SamestoryError) when
    cleaning takes longer (None: no limit; the command line's --doc-timeout).
    """
    return run_with_time_limit(max_seconds, _clean, article, detect_lang, what="cleaning")


def _clean(article: Article, detect_lang: bool) -> Article:
    text = nfc(article.text or "")
    given_title = clean_title(nfc(article.title), article.url, article.source) if article.title else None
    found = split_scraped(text, given_title or None)
    title = given_title or found.title
    cleaned = replace(
        article,
        title=title or None,
        text="\n\n".join(found.lines),
        byline=article.byline or found.byline,
        date=article.date or found.date,
        removed=list(article.removed) + found.removed,
        removed_reasons=list(article.removed_reasons) + found.reasons,
        extra=dict(article.extra),
    )
    lang = normalise_code(article.lang)
    if lang is None and detect_lang:
        lang, _ = detect_language(((title or "") + "\n" + cleaned.text).strip())
    cleaned.lang = lang
    cleaned.ensure_id()
    return cleaned


def clean_articles(articles: Iterable[Article], *, detect_lang: bool = True, max_seconds: float | None = None) -> Iterator[Article]:
    """:func:`clean_article` over a stream."""
    for article in articles:
        yield clean_article(article, detect_lang=detect_lang, max_seconds=max_seconds)


def clean_title(title: str | None, url: str | None = None, source: str | None = None) -> str | None:
    """A headline without the site name pages append ("Headline - WSMV Channel 4").

    The trailing part goes only when it names the site (it matches the
    ``source`` or the url's host) or is a short site slogan ("Local News,
    Weather & Sports") after a headline of three words or more.
    """
    if not title:
        return None
    title = clean_line(title)
    parts = _SITE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    site_words = set()
    for name in (source, urlsplit(url).hostname if url else None):
        if name:
            site_words |= {w for w in re.split(r"[\W_]+", for_matching(name)) if len(w) > 2 and w not in ("www", "com", "org", "net")}
    while len(parts) > 1:
        tail = for_matching(parts[-1])
        tail_words = {w for w in re.split(r"[\W_]+", tail) if w}
        head = " - ".join(parts[:-1])
        names_site = bool(site_words & tail_words) or any(w in tail.replace(" ", "") for w in site_words)
        site_furniture = len(tail_words) <= 6 and bool(tail_words & _SITE_WORDS) and len(head.split()) >= 3
        if (names_site and len(head.split()) >= 2) or site_furniture:
            parts = parts[:-1]
            continue
        break
    kept = title[: _prefix_length(title, len(parts))]
    return kept or title


def _prefix_length(title: str, n_parts: int) -> int:
    """Length of ``title`` up to (not including) its ``n_parts``-th separator."""
    ends = [m.start() for m in _SITE_SEPARATORS.finditer(title)]
    return ends[n_parts - 1] if n_parts - 1 < len(ends) else len(title)
