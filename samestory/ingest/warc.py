"""WARC (and ARC) web archives: each archived HTML page is one article.

warcio parses the records; only successful (2xx) HTML ``response`` records
and HTML ``resource`` records become articles, the rest of a crawl (requests,
metadata, images, redirects, revisits) is skipped without a word. The
archive's gzip, whether whole-file or one member a record, is undone by
:class:`~samestory.ingest.source.InputFile` before warcio sees the bytes.
"""

from __future__ import annotations

import gzip
import logging
import re
import zlib
from typing import Any, Iterator

from warcio.archiveiterator import ArchiveIterator

from ..article import Article
from ..dates import to_iso
from ..errors import InputError
from .html import _declared_charset, fill_from_html
from .source import InputFile, Limits, binary_reason, decode_text, human_size

# warcio logs each header it repairs; a damaged archive is reported as InputErrors instead.
logging.getLogger("warcio").setLevel(logging.ERROR)

_REST_UNREAD = "the rest of the file was not read"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_LATIN1_LABELS = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso-ir-100", "cp819", "ibm819"}
_CHARSET = re.compile(r"charset=[\"']?([A-Za-z0-9_.:\-]+)", re.I)
_LOOKS_LIKE_HTML = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)


def read_warc(inp: InputFile, limits: Limits) -> Iterator[Article | InputError]:
    """Articles of the HTML pages in an archive (location ``record N``, counting every record).

    A truncated or corrupt archive ends with one InputError naming the record
    where the data breaks; the records before it are still read.

    Bytes flipped inside a gzip member may still decompress, to garbage that
    only the member's checksum, read at its end, reveals. So each record is
    held back until the data after it has been read: when a checksum fails,
    the record read last (the one in the damaged member, in the usual archive
    of one gzip member a record) is reported instead of kept. In an archive
    gzipped whole, the records before it were unverified too, and kept.
    """
    stream = _StopAtDamage(inp.stream)
    records = _QuietArchiveIterator(stream)
    n = 0
    held: tuple[int, Any] | None = None  # (record number, its item or None): the record read last
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except Exception as exc:  # warcio's ArchiveLoadFailed, header parse errors and the like
            if held is not None and stream.bad_checksum:
                break  # the checksum failure explains it: reported for the held record below
            if held is not None and held[1] is not None:
                yield held[1]
            reason = stream.damage or f"{type(exc).__name__}: {_brief(exc)}"
            message = f"corrupt archive: cannot read the record ({reason}); {_REST_UNREAD}"
            yield InputError(inp.name, message, f"record {n + 1}")
            return
        if held is not None and held[1] is not None:  # the data after it read: it is whole
            yield held[1]
        held = None
        n += 1
        try:
            item = _record_item(record, inp.name, n, limits)
        except Exception as exc:  # a library failing on one odd page costs only this record
            item = InputError(inp.name, f"cannot read the page ({type(exc).__name__}: {_brief(exc)})", f"record {n}")
        if _cut_short(record, stream):
            reason = stream.damage or "the data ends before the record does"
            message = f"truncated archive: the record is incomplete ({reason}); {_REST_UNREAD}"
            yield InputError(inp.name, message, f"record {n}")
            return
        held = (n, item)
    if held is not None and stream.bad_checksum:
        message = f"corrupt archive: {stream.damage} at the end of this record's data, so it is damaged and was skipped; {_REST_UNREAD}"
        yield InputError(inp.name, message, f"record {held[0]}")
        return
    if held is not None and held[1] is not None:
        yield held[1]
    if stream.damage:
        yield InputError(inp.name, f"truncated archive: {stream.damage} after the last whole record", f"record {n + 1}")


class _QuietArchiveIterator(ArchiveIterator):
    def _consume_blanklines(self):
        """warcio 1.8.1's, without the warning it writes to standard error
        when a record's length is off (the records are still read)."""
        empty_size = 0
        first_line = True
        while True:
            line = self.reader.readline()
            if not line:
                return None, empty_size
            if not line.rstrip() or first_line:
                empty_size += len(line)
                self.err_count += bool(line.rstrip())
                first_line = False
                continue
            return line, empty_size


def _record_item(record: Any, name: str, n: int, limits: Limits) -> Article | InputError | None:
    """The article of an HTML page record, its InputError, or None for records that are not pages.

    Reads the record to its end either way, so the caller can tell whether
    it was whole.
    """
    location = f"record {n}"
    try:
        content_type = _page_content_type(record)
        if content_type is None:
            return None
        if int(record.length or 0) > limits.max_record_bytes:
            size = human_size(int(record.length))
            limit = human_size(limits.max_record_bytes)
            return InputError(name, f"record too large ({size}, limit {limit}); skipped", location)
        body = record.content_stream().read(limits.max_record_bytes + 1)
    except Exception as exc:  # a broken chunked or gzip HTTP body
        return InputError(name, f"cannot read the HTTP body ({type(exc).__name__}: {_brief(exc)})", location)
    finally:
        _drain(record)
    if (not content_type and not _LOOKS_LIKE_HTML.match(body[:4096])) or binary_reason(body[:65536]):
        return None  # not a page after all (a PDF or image served as text/html)
    if len(body) > limits.max_record_bytes:
        limit = human_size(limits.max_record_bytes)
        return InputError(name, f"page too large once decompressed (over {limit}); skipped", location)
    url = record.rec_headers.get_header("WARC-Target-URI") or None
    html, _ = decode_text(body, _web_charset(_charset(content_type) or _declared_charset(body)))
    capture = to_iso(record.rec_headers.get_header("WARC-Date"))
    article = Article(url=url, html=html, origin=f"{name}:{location}")
    article.extra["capture_date"] = capture
    try:
        fill_from_html(article, html, name, location, max_seconds=limits.max_seconds)
    except InputError as exc:
        return InputError(name, f"{exc.message} ({url})" if url else exc.message, location)
    article.date = article.date or capture
    article.ensure_id()
    return article


def _page_content_type(record: Any) -> str | None:
    """The Content-Type of a record archiving a page fetched with success: HTML,
    or "" when the type is not given (the body decides); None for other records."""
    if record.rec_type == "response":
        http = record.http_headers
        status = (http.get_statuscode() or "") if http is not None else ""
        if not (status.isdigit() and 200 <= int(status) < 300):
            return None
        content_type = http.get_header("Content-Type") or ""
    elif record.rec_type == "resource":
        content_type = record.rec_headers.get_header("Content-Type") or ""
    else:
        return None
    mime = content_type.split(";", 1)[0].strip().lower()
    return content_type if mime in _HTML_TYPES or not mime else None


def _charset(content_type: str) -> str | None:
    m = _CHARSET.search(content_type)
    return m.group(1) if m else None


def _web_charset(label: str | None) -> str | None:
    """The encoding a browser uses for a charset label: pages labelled
    ISO-8859-1 are read as windows-1252 (WHATWG), whose smart quotes they hold."""
    if label and label.lower().replace("_", "-") in _LATIN1_LABELS:
        return "cp1252"
    return label


def _drain(record: Any) -> None:
    """Read the rest of the record's block (nothing is kept)."""
    try:
        while record.raw_stream.read(65536):
            pass
    except Exception:  # the damage is noticed by _cut_short
        pass


def _cut_short(record: Any, stream: "_StopAtDamage") -> bool:
    """Whether the record's block ended before its Content-Length said."""
    remaining = getattr(record.raw_stream, "limit", None)
    if remaining is None:  # no Content-Length: only the damage itself tells
        return stream.damage is not None
    return remaining > 0


class _StopAtDamage:
    """``inp.stream`` for warcio: where the data breaks, it ends instead of raising.

    warcio reads ahead in blocks; if a gunzip error surfaced through it, the
    whole records already in its buffer would be lost with it. ``read1``
    returns what it has before it meets the damage, so nothing is lost, and
    the reason waits in ``damage`` for the reader to report.
    """

    def __init__(self, stream: Any):
        self._stream = stream
        self._pos = 0
        self.damage: str | None = None
        #: The damage is a failed checksum (or length) at the end of a gzip member: its data was delivered, and is wrong.
        self.bad_checksum = False

    def read(self, size: int = -1) -> bytes:
        if self.damage:
            return b""
        try:
            data = self._stream.read1(size if size and size > 0 else 65536)
        except EOFError:
            self.damage = "the compressed data ends early"
            return b""
        except (gzip.BadGzipFile, zlib.error) as exc:
            self.damage = f"corrupt gzip data: {exc}"
            self.bad_checksum = str(exc).startswith(("CRC check failed", "Incorrect length"))
            return b""
        except OSError as exc:
            self.damage = f"read error: {exc.strerror or exc}"
            return b""
        self._pos += len(data)
        return data

    def tell(self) -> int:
        return self._pos


def _brief(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
