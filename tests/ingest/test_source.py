"""Opening inputs: gzip, limits, binary detection, decoding, bounded lines."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samestory.errors import InputError
from samestory.ingest.source import binary_reason, decode_text, iter_lines, open_bytes, open_input


def test_gzip_is_transparent(tmp_path):
    path = tmp_path / "a.txt.gz"
    path.write_bytes(gzip.compress(b"hello\nworld\n"))
    with open_input(path) as inp:
        assert inp.compressed
        assert inp.read_document(100) == b"hello\nworld\n"
        assert inp.raw_position == path.stat().st_size


def test_truncated_gzip_is_an_input_error(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"text": "x"}\n' * 1000)[:-30])
    with open_input(path) as inp, pytest.raises(InputError, match=r"cut.jsonl.gz: truncated"):
        inp.read_document(10**7)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="nope.txt: no such file"):
        open_input(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="is a directory"):
        open_input(tmp_path)


def test_document_limit_names_the_file():
    with open_bytes(b"x" * 101, "big.txt") as inp, pytest.raises(InputError, match=r"^big.txt: too large: over 100 bytes"):
        inp.read_document(100)


def test_binary_reasons():
    assert "PDF" in binary_reason(b"%PDF-1.7 ...")
    assert "NUL" in binary_reason(b"abc\x00def")
    assert binary_reason("plain “text”".encode()) is None
    assert binary_reason("\ufeffhi".encode("utf-16")) is None


def test_decoding_cp1252_and_bom():
    text = "“Café” – déjà vu"
    assert decode_text(text.encode("cp1252")) == (text, "cp1252")
    assert decode_text(text.encode("utf-8")) == (text, "utf-8")
    assert decode_text(text.encode("utf-16"))[0] == text
    assert decode_text("Привет, как дела? Это новости дня.".encode("cp1251"))[0] == "Привет, как дела? Это новости дня."


def test_long_line_is_skipped_not_held():
    data = b'{"a":1}\n' + b"x" * 5000 + b"\n" + b'{"b":2}\n'
    with open_bytes(data, "f.jsonl") as inp:
        items = list(iter_lines(inp, 1000))
    assert items[0] == (1, b'{"a":1}\n')
    assert isinstance(items[1][1], InputError) and str(items[1][1]).startswith("f.jsonl:line 2: line too long")
    assert items[2] == (3, b'{"b":2}\n')


@given(st.binary(max_size=2000))
def test_decode_never_fails(data):
    text, enc = decode_text(data)
    assert isinstance(text, str) and enc
