"""Opening inputs: files, gzip, standard input, size limits and text decoding.

Readers never see a path: they get an :class:`InputFile`, a buffered binary
stream that is already gunzipped when the bytes say so, counts the raw bytes
read (for progress bars) and turns I/O and decompression failures into
:class:`~samestory.errors.InputError` naming the file.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import re
import sys
import unicodedata
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from ..errors import InputError
from ..timeout import DEFAULT_SECONDS

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Size limits that keep one bad input from exhausting memory.

    ``max_document_bytes`` bounds a whole-file article (text, HTML page, feed,
    JSON document); ``max_record_bytes`` bounds one JSONL line, CSV row, WARC
    record or Parquet cell. ``max_seconds`` bounds the time one document
    takes to read and extract (one record, page or feed entry; parsing a
    whole feed); None or 0 for no limit (see :mod:`samestory.timeout`).
    """

    max_document_bytes: int = 20 * MiB
    max_record_bytes: int = 20 * MiB
    max_seconds: float | None = DEFAULT_SECONDS


DEFAULT_LIMITS = Limits()


class _CountingReader(io.RawIOBase):
    """Wraps a raw binary file and counts the bytes read from it."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


class _Read1Raw(io.RawIOBase):
    """Raw view of a GzipFile that hands over each decompressed chunk at once.

    A BufferedReader straight over GzipFile loses the bytes it already
    decompressed when the stream then turns out truncated; reading with
    ``read1`` delivers them first, so records before the damage survive.
    """

    def __init__(self, stream: gzip.GzipFile):
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


class InputFile:
    """One opened input, decompressed if gzip, with the name used in errors."""

    def __init__(self, name: str, raw: BinaryIO, size: int | None, path: Path | None = None):
        self.name = name
        self.path = path
        #: Size of the raw (possibly compressed) file, when known: progress total.
        self.size = size
        self._counter = _CountingReader(raw)
        buffered = io.BufferedReader(self._counter, buffer_size=256 * 1024)
        head = buffered.peek(2)[:2]
        self.compressed = head == b"\x1f\x8b"
        if self.compressed:
            stream: BinaryIO = io.BufferedReader(
                _Read1Raw(gzip.GzipFile(fileobj=buffered, mode="rb")), buffer_size=256 * 1024  # type: ignore[arg-type]
            )
        else:
            stream = buffered
        self.stream = stream

    @property
    def raw_position(self) -> int:
        """Raw bytes consumed so far (compressed bytes for .gz): progress."""
        return self._counter.count

    def peek(self, n: int = 65536) -> bytes:
        """The first bytes of the (decompressed) content, without consuming them."""
        with self.guard():
            data = self.stream.peek(n)  # type: ignore[attr-defined]
            if len(data) >= n:
                return data[:n]
            # peek may return less than asked although more is there.
            return self.stream.peek(n)[:n] if data else data  # type: ignore[attr-defined]

    def read_document(self, limit: int) -> bytes:
        """Read the whole (decompressed) content, refusing more than ``limit`` bytes.

        A plain file whose size is known to be over the limit is refused before reading.
        """
        oversized = self.size is not None and not self.compressed and self.size > limit
        if not oversized:
            with self.guard():
                data = self.stream.read(limit + 1)
        if oversized or len(data) > limit:
            raise InputError(
                self.name,
                f"too large: over {_human(limit)} for one document "
                f"(raise the limit with --max-bytes if this is really one article)",
            )
        return data

    @contextmanager
    def guard(self, location: str | None = None) -> Iterator[None]:
        """Turn read and decompression failures into an InputError for this file."""
        try:
            yield
        except InputError:
            raise
        except EOFError:
            raise InputError(self.name, "truncated: the compressed data ends early", location) from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise InputError(self.name, f"corrupt gzip data ({exc})", location) from None
        except OSError as exc:
            raise InputError(self.name, f"cannot read ({exc.strerror or exc})", location) from None

    def close(self) -> None:
        try:
            self.stream.close()
        except Exception:  # closing a broken gzip stream may raise again
            pass

    def __enter__(self) -> "InputFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_input(path: str | os.PathLike[str]) -> InputFile:
    """Open a path (``-`` for standard input) as an :class:`InputFile`."""
    if str(path) == "-":
        return InputFile("<stdin>", sys.stdin.buffer, None)
    p = Path(path)
    name = str(path)
    if p.is_dir():
        raise InputError(name, "is a directory (give the files in it, or use a glob)")
    try:
        raw = open(p, "rb")  # noqa: SIM115 - closed by InputFile.close
        size = os.fstat(raw.fileno()).st_size
    except FileNotFoundError:
        raise InputError(name, "no such file") from None
    except PermissionError:
        raise InputError(name, "permission denied") from None
    except OSError as exc:
        raise InputError(name, f"cannot open ({exc.strerror or exc})") from None
    try:
        return InputFile(name, raw, size, p)
    except (OSError, EOFError, zlib.error) as exc:
        raw.close()
        raise InputError(name, f"cannot read ({exc})") from None


def open_bytes(data: bytes, name: str = "<bytes>") -> InputFile:
    """An :class:`InputFile` over bytes in memory (uploads, tests)."""
    return InputFile(name, io.BytesIO(data), len(data))


# --- text decoding -----------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

#: Encodings charset detection may name for Western text; cp1252 decodes all
#: of them the way the web means them (smart quotes, dashes, euro sign).
_WESTERN = {"cp1252", "latin_1", "iso8859_15", "iso8859_1", "windows-1252", "mac_roman", "ascii", "cp850", "cp437"}

_BINARY_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (unzip it first)"),
    (b"\x7fELF", "an executable"),
    (b"BZh", "bzip2 data (decompress it first)"),
    (b"\xfd7zXZ", "xz data (decompress it first)"),
    (b"\x28\xb5\x2f\xfd", "zstd data (decompress it first)"),
)


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark announces, if any."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return enc
    return None


def binary_reason(sample: bytes) -> str | None:
    """Why ``sample`` looks like binary rather than text, or None if it is text."""
    if not sample:
        return None
    for magic, what in _BINARY_MAGIC:
        if sample.startswith(magic):
            return f"binary content: looks like {what}"
    if bom_encoding(sample) in ("utf-16", "utf-32"):
        return None
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32 or b == 127)
    nuls = sample.count(b"\x00")
    if nuls and not (nuls * 256 <= len(sample) and controls - nuls <= 2):
        # Stray NULs (at most 1 byte in 256) in text free of other control bytes (a scraper's or exporter's bug)
        # are text: the line or record holding them fails alone, or the cleaner drops them.
        return "binary content (NUL bytes); not text, HTML, JSON, CSV, a feed or WARC"
    if controls > max(8, len(sample) // 20):
        return "binary content (control bytes); not text, HTML, JSON, CSV, a feed or WARC"
    return None


def decode_text(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode bytes of unknown encoding; return ``(text, encoding used)``.

    Order: byte-order mark, the declared charset, strict UTF-8, UTF-8 mixed
    with cp1252, then charset detection, preferring cp1252 for Western
    guesses (the commonest undeclared encoding of scraped news), and cp1252
    with replacement last.

    A declaration is a claim, checked against the bytes: valid UTF-8 with
    non-ASCII characters is read as UTF-8 whatever single-byte charset the
    page declares (a lying ``iso-8859-1`` would turn every accent into two
    characters), and UTF-16 or UTF-32 declared for bytes without a NUL (so
    written in an ASCII-compatible encoding) is ignored. Text that is mostly
    UTF-8 with some cp1252 pasted in (see :func:`decode_mixed`) keeps both.
    """
    enc = bom_encoding(data)
    if enc:
        return data.decode(enc, errors="replace"), enc
    if declared:
        try:
            name = codecs.lookup(declared).name
        except LookupError:
            name = None
        if name in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be") and b"\x00" not in data[:4096]:
            name = None
        if name and name != "utf-8" and _MULTIBYTE_UTF8.search(data):
            try:
                return data.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                pass
        if name:
            try:
                return data.decode(name), name
            except UnicodeDecodeError:
                pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if mostly_utf8(data):
        return decode_mixed(data), "utf-8+cp1252"
    guess = _guess_encoding(data)
    if guess and guess not in _WESTERN:
        try:
            text = data.decode(guess)
            # Latin-script guesses (cp1250, iso8859_2...) are usually cp1252
            # misread on short samples; trust only guesses of another script.
            if _mostly_non_latin(text):
                return text, guess
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _guess_encoding(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    best = from_bytes(data[: 256 * 1024]).best()
    return best.encoding if best is not None else None


def _mostly_non_latin(text: str) -> bool:
    letters = [c for c in text[:20000] if c.isalpha() and ord(c) > 127]
    if not letters:
        return False
    latin = sum(unicodedata.name(c, "").startswith("LATIN") for c in letters)
    return latin < 0.5 * len(letters)


def decode_line(line: bytes) -> str:
    """Decode one record line: UTF-8, its invalid bytes read as cp1252 (never fails)."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return decode_mixed(line)


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start:exc.end].decode("cp1252", errors="replace"), exc.end


codecs.register_error("samestory-cp1252", _cp1252_fallback)


def decode_mixed(data: bytes) -> str:
    """UTF-8 where the bytes are valid UTF-8, cp1252 where they are not (a paragraph pasted from
    a Windows document into a UTF-8 page, a cp1252 row in a UTF-8 export)."""
    return data.decode("utf-8", errors="samestory-cp1252")


#: A valid UTF-8 sequence of two bytes or more (no overlongs, no surrogates).
_MULTIBYTE_UTF8 = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def mostly_utf8(data: bytes) -> bool:
    """Whether bytes that are not valid UTF-8 still hold enough UTF-8 sequences to be UTF-8 with some
    other bytes mixed in, rather than a single-byte encoding (where valid UTF-8 pairs are accidents)."""
    sample = data[: 1024 * 1024]
    sequences = _MULTIBYTE_UTF8.findall(sample)
    if len(sequences) < 2:
        return False
    high = len(sample.translate(None, _ASCII))  # the bytes left once ASCII is deleted
    invalid = high - sum(map(len, sequences))
    return len(sequences) * 8 >= invalid


_ASCII = bytes(range(128))


def _human(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)  # pragma: no cover


human_size = _human


def iter_lines(inp: InputFile, limit: int) -> Iterator[tuple[int, bytes | InputError]]:
    """Yield ``(line number, bytes)`` of a line-oriented file, memory bounded.

    A line longer than ``limit`` is skipped to its end without being held in
    memory and yields an :class:`InputError` in place of its bytes, so one
    monster line costs one error, not the run.
    """
    lineno = 0
    stream = inp.stream
    while True:
        lineno += 1
        with inp.guard(f"line {lineno}"):
            line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            skipped = len(line)
            with inp.guard(f"line {lineno}"):
                while True:
                    chunk = stream.readline(MiB)
                    skipped += len(chunk)
                    if not chunk or chunk.endswith(b"\n"):
                        break
            yield lineno, InputError(
                inp.name,
                f"line too long ({_human(skipped)}, limit {_human(limit)}); skipped",
                f"line {lineno}",
            )
            continue
        yield lineno, line
