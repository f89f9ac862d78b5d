"""RSS and Atom feeds: one article an entry, parsed by feedparser.

Feeds come from strangers, so the XML is checked before feedparser sees it:
a document declaring entities (billion laughs, quadratic blowup), external
entities (XXE) or an external DTD is refused outright. feedparser is only
ever handed a stream of bytes: given a string (or bytes!) that names a URL or
a path it fetches or opens it.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import io
import re
import xml.sax
from typing import Any, Iterator

import feedparser

from ..article import Article
from ..dates import to_iso
from ..errors import InputError
from ..timeout import TimeLimitExceeded, run_with_time_limit
from .html import _host as _html_host
from .html import extract_html
from .source import InputFile, Limits

#: Elements whose start and end break the text into lines (paragraphs).
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table td th tr ul".split()
)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_EMAIL_AND_NAME = re.compile(r"\S+@\S+ ?\((?P<name>[^()]+)\)|(?P<name2>[^()<>@]+?) ?[(<]\S+@\S+[)>]")
_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FULL_PAGE = re.compile(r"<(?:html|body)[\s>]", re.I)


def read_feed(inp: InputFile, limits: Limits) -> Iterator[Article | InputError]:
    """Each entry of an RSS or Atom feed is an article (location ``entry N``)."""
    data = inp.read_document(limits.max_document_bytes)
    if not data.strip():
        raise InputError(inp.name, "empty file")
    check_safe_xml(data, inp.name)
    try:
        # A stream, never bytes or a string: feedparser opens those as a path or URL.
        # Not sanitized: the HTML is only turned into text here, never shown,
        # and sanitizing strips <html> and <body>, hiding full pages from trafilatura.
        parsed = run_with_time_limit(limits.max_seconds, feedparser.parse, io.BytesIO(data), sanitize_html=False, what="parsing the feed")
    except TimeLimitExceeded as exc:
        raise InputError(inp.name, str(exc)) from None
    except (ValueError, LookupError) as exc:  # feedparser chokes on some bogus encoding declarations
        reason = f"{type(exc).__name__}: {_bozo_reason(exc)}"
        raise InputError(inp.name, f"not a valid RSS or Atom feed ({reason})") from None
    entries = parsed.get("entries") or []
    if not entries:
        if parsed.get("bozo"):
            raise InputError(inp.name, f"not a valid RSS or Atom feed ({_bozo_reason(parsed.get('bozo_exception'))})")
        if not parsed.get("version"):
            raise InputError(inp.name, "not an RSS or Atom feed (no channel or feed element)")
        return  # a valid feed that is empty today
    feed = parsed.get("feed") or {}
    source = _plain(feed.get("title"), feed.get("title_detail")) or _host(feed.get("link"))
    for i, entry in enumerate(entries, 1):
        location = f"entry {i}"
        try:
            yield run_with_time_limit(limits.max_seconds, _entry_article, entry, source, feed.get("language"), inp.name, location)
        except InputError as exc:
            yield exc
        except TimeLimitExceeded as exc:
            yield InputError(inp.name, str(exc), location)
        except Exception as exc:  # a library failing on one odd value costs only this entry
            yield InputError(inp.name, f"cannot read the entry ({type(exc).__name__}: {_bozo_reason(exc)})", location)


def _entry_article(entry: Any, source: str | None, feed_lang: str | None, name: str, location: str) -> Article:
    """One feed entry as an Article; InputError when it carries no text."""
    title = " ".join(_plain(entry.get("title"), entry.get("title_detail")).split()) or None
    # The full content when there is some, else the summary.
    candidates = [*(entry.get("content") or []), entry.get("summary_detail") or {}]
    text, body = next(((t, c) for c in candidates if (t := _plain(c.get("value"), c))), ("", {}))
    if not text:
        what = f" {title!r}" if title else ""
        raise InputError(name, f"feed entry{what} has no text (no content or summary)", location)
    url = entry.get("link") or None
    article = Article(
        id=entry.get("id") or None,
        title=title,
        text=text,
        date=_entry_date(entry),
        source=source or _host(url),
        url=url,
        lang=_lang(body.get("language") or (entry.get("title_detail") or {}).get("language") or feed_lang),
        byline=_byline(entry.get("author")),
        origin=f"{name}:{location}",
    )
    article.ensure_id()
    return article


def _entry_date(entry: Any) -> str | None:
    """The entry's publication (else update) date; feedparser's parsed UTC time as a fallback.

    ``dict.get`` reads the keys as parsed: feedparser's own ``get`` maps a
    missing ``updated`` onto ``published`` (with a DeprecationWarning).
    """
    for key in ("published", "updated", "created"):
        iso = to_iso(dict.get(entry, key))
        if iso:
            return iso
        parsed = dict.get(entry, f"{key}_parsed")
        if parsed:
            return to_iso(_dt.datetime.fromtimestamp(calendar.timegm(parsed), _dt.timezone.utc))
    return None


def _byline(author: str | None) -> str | None:
    """The author's name from ``email (Name)``, ``Name (email)`` or ``Name <email>``.

    Parsed here because feedparser's own split cuts e-mail domains longer
    than four letters (``.media``, ``.example``) into the name.
    """
    raw = " ".join((author or "").split())
    m = _EMAIL_AND_NAME.fullmatch(raw)
    if m:
        return (m.group("name") or m.group("name2")).strip()
    return None if "@" in raw else raw or None


def _host(url: str | None) -> str | None:
    try:
        return _html_host(url)
    except ValueError:  # urlsplit refuses some malformed urls ("Invalid IPv6 URL")
        return None


def _lang(value: str | None) -> str | None:
    """ISO 639-1 from a language tag such as ``en-GB``."""
    code = (value or "").strip()[:2].lower()
    return code if len(code) == 2 and code.isalpha() else None


def _plain(value: str | None, detail: Any) -> str:
    """Plain text of a feed text construct, which may be HTML."""
    if not value or not value.strip():
        return ""
    if ((detail or {}).get("type") or "text/html") not in _HTML_TYPES:
        return value.strip()
    if _FULL_PAGE.search(value):  # a whole page: let trafilatura find the article
        try:
            found = extract_html(value)
        except ValueError:
            found = None
        if found and (found.get("text") or "").strip():
            return found["text"].strip()
    return html_to_text(value)


def html_to_text(html: str) -> str:
    """Text of an HTML fragment, one line a paragraph (block element or ``<br>``)."""
    import lxml.html
    from lxml import etree

    html = _NOT_XML_CHARS.sub("", html)  # lxml refuses control characters and lone surrogates
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return ""
    for junk in root.xpath(".//head | .//script | .//style | .//noscript | .//template"):
        junk.drop_tree()
    for el in root.iter():
        el.text = _squash(el.text)
        el.tail = _squash(el.tail)
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK_TAGS:
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
    lines = (line.strip() for line in root.text_content().split("\n"))
    return "\n".join(line for line in lines if line)


def _squash(text: str | None) -> str | None:
    """Source line breaks and indentation inside a paragraph are just spaces."""
    return re.sub(r"\s+", " ", text) if text else text


def _bozo_reason(exc: BaseException | None) -> str:
    if isinstance(exc, xml.sax.SAXParseException):
        return f"{exc.getMessage()} at line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
    return " ".join(str(exc).split())[:200] or type(exc).__name__


# --- safe XML -------------------------------------------------------------------

_BOMB = "unsafe XML: entity declarations are not allowed (possible XML bomb)"
_EXTERNAL = "unsafe XML: external DTDs and entities are not allowed"
_PROLOG_END = re.compile(rb"<[A-Za-z_]")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_EXTERNAL_DTD = re.compile(rb"<!DOCTYPE[^>\[]*\b(?:SYSTEM|PUBLIC)\b", re.I)


class _EndOfProlog(Exception):
    """Raised at the root element: declarations can only come before it."""


class _StopAtRoot(xml.sax.handler.ContentHandler):
    def startElement(self, name, attrs):  # noqa: N802 - SAX API
        raise _EndOfProlog

    def startElementNS(self, name, qname, attrs):  # noqa: N802 - SAX API
        raise _EndOfProlog


def check_safe_xml(data: bytes, source: str) -> None:
    """Raise InputError if the XML declares entities or refers to external DTDs or entities.

    defusedxml's expat parser reads the prolog and stops at the root element.
    Where expat cannot read the prolog (an unknown encoding, broken markup)
    feedparser falls back to its lenient parser, so the prolog's raw bytes are
    searched for the same declarations instead (NUL bytes dropped, so UTF-16
    is searched too).
    """
    from defusedxml import EntitiesForbidden, ExternalReferenceForbidden
    from defusedxml.expatreader import create_parser

    parser = create_parser(forbid_dtd=False, forbid_entities=True, forbid_external=True)
    parser.setContentHandler(_StopAtRoot())
    source_ = xml.sax.xmlreader.InputSource()
    source_.setByteStream(io.BytesIO(data))
    try:
        parser.parse(source_)
    except _EndOfProlog:
        return
    except EntitiesForbidden as exc:
        if exc.sysid or exc.pubid:
            target = exc.sysid or exc.pubid
            message = f"unsafe XML: external entities are not allowed (entity '{exc.name}' refers to {target!r}; possible XXE)"
            raise InputError(source, message) from None
        raise InputError(source, _BOMB) from None
    except ExternalReferenceForbidden as exc:
        raise InputError(source, f"{_EXTERNAL} (refers to {exc.sysid!r})") from None
    except Exception:  # expat cannot read it (broken markup, unknown encoding): search the bytes
        pass
    ascii_ish = data.replace(b"\x00", b"")
    end = _PROLOG_END.search(ascii_ish)
    prolog = ascii_ish[: end.start() if end else None]
    if _ENTITY_DECL.search(prolog):
        raise InputError(source, _BOMB)
    if _EXTERNAL_DTD.search(prolog):
        raise InputError(source, _EXTERNAL)
