"""Whatever the bytes, reading never raises: every item is an Article or an
InputError. For the tabular, feed and WARC readers the errors are also all
deliberate ones, never the catch-all "cannot read as ..." of a library
failing on input nobody foresaw."""

from __future__ import annotations

import gzip
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samestory.article import Article
from samestory.errors import InputError
from samestory.ingest import FORMATS, Limits, read_bytes

DATA = Path(__file__).resolve().parents[1] / "data"

ALL_FORMATS = ["auto", *FORMATS]
#: Readers whose every failure should be an error they raise on purpose.
CAREFUL = {"jsonl", "json", "csv", "parquet", "feed", "warc"}
NAMES = ["upload", "a.jsonl", "a.json", "a.csv", "a.parquet", "a.rss", "a.warc.gz", "a.html", "a.txt"]
SMALL = Limits(max_document_bytes=1_000_000, max_record_bytes=100_000)

SEEDS = {
    "jsonl": (DATA / "articles.jsonl").read_bytes(),
    "csv": (DATA / "articles.csv").read_bytes(),
    "rss": (DATA / "feed.rss").read_bytes(),
    "atom": (DATA / "feed.atom").read_bytes(),
    "warc": gzip.decompress((DATA / "pages.warc.gz").read_bytes()),
    "warc.gz": (DATA / "pages.warc.gz").read_bytes(),
    "parquet": (DATA / "articles.parquet").read_bytes(),
}
#: The reader each seed is meant for.
OWN_FORMAT = {"jsonl": "jsonl", "csv": "csv", "rss": "feed", "atom": "feed", "warc": "warc", "warc.gz": "warc", "parquet": "parquet"}
#: Fragments that push a parser down its rarer paths.
SPICE = [b"\x00", b"\r", b"\n", b'"', b"{", b"[", b"<", b"]]>", b'<!ENTITY a "x">', b"&a;", b"WARC/1.0\r\n",
         b"Content-Length: 99999\r\n", b"\x1f\x8b", b"\xff\xfe", b"\x93", b"PAR1"]

PROFILE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(data: bytes, name: str, fmt: str) -> None:
    items = list(read_bytes(data, name, format=fmt, limits=SMALL))
    for item in items:
        assert isinstance(item, (Article, InputError)), item
        if isinstance(item, InputError):
            assert item.source == name
            assert item.message and "\n" not in item.message, item
            assert not (fmt in CAREFUL and item.message.startswith("cannot read as")), item
        else:
            assert item.text.strip() and item.id


@PROFILE
@given(data=st.binary(max_size=3000), fmt=st.sampled_from(ALL_FORMATS), name=st.sampled_from(NAMES))
def test_arbitrary_bytes(data, fmt, name):
    check(data, name, fmt)


@PROFILE
@given(data=st.binary(max_size=2000), fmt=st.sampled_from(ALL_FORMATS), name=st.sampled_from(NAMES))
def test_arbitrary_gzipped_bytes(data, fmt, name):
    check(gzip.compress(data), name, fmt)


def mutate(data: bytes, rnd) -> bytes:
    """A few random edits anywhere in the file (positions uniform, not biased to the start)."""
    out = bytearray(data)
    for _ in range(rnd.randint(1, 6)):
        at = rnd.randint(0, len(out))
        op = rnd.choice(["flip", "delete", "insert", "truncate", "spice"])
        if op == "flip" and at < len(out):
            out[at] = rnd.randrange(256)
        elif op == "delete":
            del out[at : at + rnd.randint(1, 300)]
        elif op == "insert":
            out[at:at] = rnd.randbytes(rnd.randint(1, 40))
        elif op == "truncate":
            del out[at:]
        else:
            out[at:at] = rnd.choice(SPICE)
    return bytes(out)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(SEEDS)), own=st.booleans(), rnd=st.randoms(use_true_random=False))
def test_mutated_valid_files(kind, own, rnd):
    check(mutate(SEEDS[kind], rnd), f"a.{kind}", OWN_FORMAT[kind] if own else "auto")
