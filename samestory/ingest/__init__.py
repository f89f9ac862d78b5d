"""Ingest: read articles from files of any supported format, streaming.

Formats: plain text (one article a file), HTML, JSONL / JSON, CSV, Parquet,
RSS/Atom feeds and WARC archives, each optionally gzipped. ``format="auto"``
picks the reader from the content (:mod:`samestory.ingest.detect`).

Errors are values here: :func:`iter_input` yields an
:class:`~samestory.errors.InputError` for each record or file that fails and
goes on with the rest, so one bad row never costs a batch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ..article import Article
from ..errors import InputError, UsageError
from .detect import FORMATS, detect_format
from .source import DEFAULT_LIMITS, InputFile, Limits, open_bytes, open_input

if TYPE_CHECKING:
    from .records import RecordKind

__all__ = [
    "FORMATS",
    "TABLE_FORMATS",
    "Limits",
    "DEFAULT_LIMITS",
    "detect_format",
    "expand_paths",
    "iter_input",
    "iter_file",
    "read_articles",
    "read_bytes",
]

Reader = Callable[[InputFile, Limits], Iterator["Article | InputError"]]


#: format -> (module, function) of its reader. Imported on first use: pyarrow,
#: warcio and trafilatura are slow to import, and a run that reads only JSONL
#: should not pay for them.
_READERS = {
    "text": ("text", "read_text"),
    "html": ("html", "read_html"),
    "jsonl": ("records", "read_jsonl"),
    "json": ("records", "read_json"),
    "csv": ("records", "read_csv"),
    "parquet": ("records", "read_parquet"),
    "feed": ("feeds", "read_feed"),
    "warc": ("warc", "read_warc"),
}


#: Formats of rows of named fields: what a :class:`~samestory.ingest.records.RecordKind` reads.
TABLE_FORMATS = ("jsonl", "json", "csv", "parquet")


def reader_for(fmt: str) -> Reader:
    """The reader function of one format."""
    import importlib

    module, function = _READERS[fmt]
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Paths as given, with directories replaced by the files under them (sorted, no dot-files)."""
    out: list[str] = []
    for p in paths:
        path = Path(p)
        if str(p) != "-" and path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not any(part.startswith(".") for part in rel.parts):
                    out.append(str(child))
        else:
            out.append(str(p))
    return out


def iter_file(
    inp: InputFile,
    format: str = "auto",
    limits: Limits = DEFAULT_LIMITS,
    kind: "RecordKind | None" = None,
) -> Iterator[Any]:
    """Articles and errors of one opened input, in input order.

    With ``kind``, the input must be a table (:data:`TABLE_FORMATS`) and its
    rows become what ``kind`` makes of them (e.g. the pairs of ``score-pairs``).
    """
    allowed = TABLE_FORMATS if kind is not None else FORMATS
    if format != "auto" and format not in allowed:
        raise UsageError(f"unknown format {format!r}; choose one of auto, {', '.join(allowed)}")
    fmt = format
    try:
        if fmt == "auto":
            fmt = detect_format(inp)
        if kind is None:
            yield from reader_for(fmt)(inp, limits)
        elif fmt not in TABLE_FORMATS:
            yield InputError(inp.name, f"reads as {fmt}, but rows of named fields are needed ({', '.join(TABLE_FORMATS)})")
        else:
            yield from reader_for(fmt)(inp, limits, kind)
    except InputError as exc:
        yield exc
    except RecursionError:
        yield InputError(inp.name, f"too deeply nested to read as {fmt}")
    except MemoryError:
        yield InputError(inp.name, f"out of memory reading as {fmt}; the input is too large")
    except Exception as exc:  # a library failing on input we did not foresee
        yield InputError(inp.name, f"cannot read as {fmt}: {type(exc).__name__}: {str(exc)[:200]}")


def iter_input(
    path: str | os.PathLike[str],
    format: str = "auto",
    limits: Limits = DEFAULT_LIMITS,
    on_position: Callable[[int], None] | None = None,
    kind: "RecordKind | None" = None,
) -> Iterator[Any]:
    """Articles and errors of one path (``-`` is standard input).

    ``on_position`` is called with the raw bytes consumed so far after each
    item, for progress bars. ``kind``: see :func:`iter_file`.
    """
    try:
        inp = open_input(path)
    except InputError as exc:
        yield exc
        return
    with inp:
        for item in iter_file(inp, format, limits, kind):
            if on_position is not None:
                on_position(inp.raw_position)
            yield item


def read_bytes(data: bytes, name: str = "<bytes>", format: str = "auto", limits: Limits = DEFAULT_LIMITS) -> Iterator[Article | InputError]:
    """Articles and errors of bytes in memory (an upload, a test)."""
    with open_bytes(data, name) as inp:
        yield from iter_file(inp, format, limits)


def read_articles(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    format: str = "auto",
    limits: Limits = DEFAULT_LIMITS,
    on_error: Callable[[InputError], None] | None = None,
) -> Iterator[Article]:
    """Articles from files or directories, streaming.

    With ``on_error`` each failing file or record is handed to it and reading
    goes on; without it the first failure raises its InputError.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for path in expand_paths(paths):
        for item in iter_input(path, format, limits):
            if isinstance(item, InputError):
                if on_error is None:
                    raise item
                on_error(item)
            else:
                yield item
