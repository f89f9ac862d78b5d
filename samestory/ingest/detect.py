"""Choosing a reader from the content of an input, not only its name.

The first 64 KB (after gunzip) decide; the file name only breaks ties, so a
feed saved as ``.txt`` or a WARC without its extension is still read right.
"""

from __future__ import annotations

import json
import re

from ..errors import InputError
from .source import InputFile, binary_reason, bom_encoding

FORMATS = ("text", "html", "jsonl", "json", "csv", "parquet", "feed", "warc")

_BY_SUFFIX = {
    ".txt": "text", ".text": "text", ".md": "text",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
    ".csv": "csv", ".tsv": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".rss": "feed", ".atom": "feed", ".xml": "feed", ".rdf": "feed",
    ".warc": "warc", ".arc": "warc",
}

_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:rdf|channel)[\s>]", re.I)
_HTML_START = re.compile(rb"^(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title|div|article|p|section|span|table|link|script|style|h[1-6])[\s>/]", re.I | re.S)
_CSV_HEADER_FIELDS = {b"id", b"title", b"text", b"html", b"url", b"date", b"source", b"lang"}


def suffix_format(name: str) -> str | None:
    """The format a file name suggests (``.gz`` ignored), if any."""
    lower = name.lower()
    if lower.endswith(".gz"):
        lower = lower[:-3]
    dot = lower.rfind(".")
    return _BY_SUFFIX.get(lower[dot:]) if dot >= 0 else None


def detect_format(inp: InputFile) -> str:
    """The reader for ``inp``: one of :data:`FORMATS`. Raises InputError for binary or empty input."""
    head = inp.peek(65536)
    if not head:
        raise InputError(inp.name, "empty file")
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith((b"WARC/", b"filedesc://")):
        return "warc"
    reason = binary_reason(head)
    if reason:
        raise InputError(inp.name, reason)
    enc = bom_encoding(head)
    if enc in ("utf-16", "utf-32"):
        sample = head.decode(enc, errors="ignore").encode("utf-8")
    else:
        sample = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    body = sample.lstrip()
    by_name = suffix_format(inp.name)
    if not body:
        raise InputError(inp.name, "file holds only white space")
    if body[:1] == b"<":
        if body[:5].lower() == b"<?xml" or by_name == "feed":
            if _FEED_ROOT.search(body[:4096]):
                return "feed"
            if re.search(rb"<html[\s>]", body[:4096], re.I):
                return "html"
            return "feed"
        if _FEED_ROOT.match(body[:64]):
            return "feed"
        if _HTML_START.match(body) or by_name == "html":
            return "html"
        if re.search(rb"<(?:html|body|p|div)[\s>]", body[:4096], re.I):
            return "html"
    if body[:1] == b"{":
        first = body.split(b"\n", 1)[0]
        if by_name == "json":
            return "json"
        if _is_json_object(first) or by_name == "jsonl":
            return "jsonl"
        return "json"
    if body[:1] == b"[" and by_name in (None, "json", "jsonl"):
        return "json"
    if by_name == "csv" or _looks_like_csv(body):
        return "csv"
    if by_name in ("jsonl", "json", "parquet", "warc", "feed"):
        # The name promises a structured format the content does not have;
        # let that reader say precisely what is wrong.
        return by_name
    return "text"


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _looks_like_csv(body: bytes) -> bool:
    """A header line of comma, tab or semicolon separated article field names."""
    first = body.split(b"\n", 1)[0].strip().lower()
    for sep in (b",", b"\t", b";"):
        names = {c.strip().strip(b'"') for c in first.split(sep)}
        if len(names) >= 2 and (b"text" in names or b"html" in names) and names & _CSV_HEADER_FIELDS:
            return True
    return False
