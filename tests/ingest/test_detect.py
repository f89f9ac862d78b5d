"""Format detection reads the content first, the name second."""

from __future__ import annotations

import gzip

import pytest

from samestory.errors import InputError
from samestory.ingest.detect import detect_format
from samestory.ingest.source import open_bytes

CASES = [
    (b"PAR1\x15\x04", "x.bin", "parquet"),
    (b"WARC/1.0\r\nWARC-Type: warcinfo\r\n", "x", "warc"),
    (b'<?xml version="1.0"?><rss version="2.0"><channel>', "x.txt", "feed"),
    (b'<feed xmlns="http://www.w3.org/2005/Atom">', "x", "feed"),
    (b"<!DOCTYPE html><html><body><p>hi</p>", "x.txt", "html"),
    (b"<div class='a'><p>hi</p></div>", "page", "html"),
    (b'{"text": "a"}\n{"text": "b"}\n', "records.txt", "jsonl"),
    (b'[{"text": "a"}]', "x", "json"),
    (b"id,title,text\n1,a,b\n", "x.dat", "csv"),
    (b"Just an article.\nWith lines.", "x.html", "text"),
    (b"Headline\n\nBody text of the story.", "story", "text"),
]


@pytest.mark.parametrize("data,name,fmt", CASES)
def test_detect(data, name, fmt):
    with open_bytes(data, name) as inp:
        assert detect_format(inp) == fmt


def test_detect_through_gzip():
    with open_bytes(gzip.compress(b'{"text": "a"}\n'), "x.gz") as inp:
        assert detect_format(inp) == "jsonl"


@pytest.mark.parametrize("data,message", [(b"", "empty file"), (b"  \n\t", "only white space"), (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG image")])
def test_unreadable(data, message):
    with open_bytes(data, "bad.txt") as inp, pytest.raises(InputError, match=message):
        detect_format(inp)
