"""Tabular records: JSON Lines, JSON documents, CSV and Parquet.

Each reader only splits its format into records and says where each one is;
:func:`~samestory.ingest.fields.article_from_record` turns a record into an
Article, so every format accepts the same fields and fails the same way.
A bad record yields one InputError and reading goes on with the next.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from ..article import CORE_FIELDS, Article
from ..errors import InputError
from ..timeout import TimeLimitExceeded, run_with_time_limit
from .fields import article_from_record
from .source import InputFile, Limits, bom_encoding, decode_line, decode_text, human_size, iter_lines, mostly_utf8

#: Where a line ends: after LF, or after a CR not followed by LF (csv's newline="" rules).
_LINE_END = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")
#: Keys under which a JSON document commonly holds its list of records.
_LIST_KEYS = ("articles", "items", "records", "data")


@dataclass(frozen=True)
class RecordKind:
    """What the records of a table are: what each becomes, and the columns it needs.

    The readers below split a format into records; ``make(record, source,
    location)`` turns one into the item to yield (or the InputError saying
    why not), and a table whose header lacks every column of ``needs_any``
    is refused whole.
    """

    make: Callable[[Any, str, str], Any]
    needs_any: tuple[str, ...]


# --- JSON Lines and JSON ------------------------------------------------------


def read_jsonl(inp: InputFile, limits: Limits, kind: RecordKind | None = None) -> Iterator[Article | InputError]:
    """One JSON object a line (location ``line N``); blank lines are skipped."""
    kind = kind or ARTICLES
    for lineno, line in iter_lines(inp, limits.max_record_bytes):
        if isinstance(line, InputError):
            yield line
            continue
        text = decode_line(line)
        if lineno == 1:
            text = text.lstrip("\ufeff")
        if not text.strip():
            continue
        location = f"line {lineno}"
        try:
            record = _parse_json(text, inp.name, location)
        except InputError as exc:
            yield exc
            continue
        yield make_item(kind, record, inp.name, location, limits)


def read_json(inp: InputFile, limits: Limits, kind: RecordKind | None = None) -> Iterator[Article | InputError]:
    """A whole JSON document: a list of records (``record N``), one record, or
    an object holding the list under ``articles``, ``items``, ``records`` or ``data``."""
    kind = kind or ARTICLES
    data = inp.read_document(limits.max_document_bytes)
    text, _ = decode_text(data)
    if not text.strip():
        raise InputError(inp.name, "empty file")
    doc = _parse_json(text, inp.name, None)
    if isinstance(doc, dict) and not any(k in doc for k in kind.needs_any):
        doc = next((doc[k] for k in _LIST_KEYS if isinstance(doc.get(k), list)), doc)
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list):
        raise InputError(inp.name, f"expected a list of article objects or one object, got {_kind(doc)}")
    for i, record in enumerate(doc, 1):
        yield make_item(kind, record, inp.name, f"record {i}", limits)


def record_article(record: Any, source: str, location: str) -> Article | InputError:
    """The record's Article, or the InputError saying why it has none.

    A library failing on one odd value (say an impossible time zone in a
    date) costs only this record, not the rest of the file.
    """
    try:
        return article_from_record(record, source, location)
    except InputError as exc:
        return exc
    except Exception as exc:
        return InputError(source, f"cannot read the record ({type(exc).__name__}: {_brief(exc)})", location)


#: The records of article tables (every reader's default).
ARTICLES = RecordKind(record_article, ("text", "html"))


def make_item(kind: RecordKind, record: Any, source: str, location: str, limits: Limits) -> Any:
    """``kind.make`` of one record within the per-document time limit (an extracted ``html`` field can be slow)."""
    try:
        return run_with_time_limit(limits.max_seconds, kind.make, record, source, location)
    except TimeLimitExceeded as exc:
        return InputError(source, str(exc), location)


def _missing_columns(kind: RecordKind, names: list[str], where: str) -> str:
    wanted = " or ".join(repr(k) for k in kind.needs_any)
    shown = ", ".join(repr(n[:40]) for n in names[:12]) + (", ..." if len(names) > 12 else "")
    return f"no {wanted} column; {where}: {shown}"


def _parse_json(text: str, source: str, location: str | None) -> Any:
    """``json.loads`` with its failures as an InputError saying where the JSON breaks."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"column {exc.colno}" if exc.lineno == 1 else f"line {exc.lineno}, column {exc.colno}"
        raise InputError(source, f"malformed JSON: {exc.msg.removesuffix(' at')} ({where})", location) from None
    except RecursionError:
        raise InputError(source, "malformed JSON: nested too deeply", location) from None
    except ValueError as exc:  # e.g. an integer too long to convert
        raise InputError(source, f"malformed JSON: {str(exc)[:200]}", location) from None


def _kind(value: Any) -> str:
    kinds = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


# --- CSV ----------------------------------------------------------------------


def read_csv(inp: InputFile, limits: Limits, kind: RecordKind | None = None) -> Iterator[Article | InputError]:
    """A header row naming the fields, then one article a row.

    The delimiter (comma, tab or semicolon) is the one that splits the header
    into the most columns. Errors name the physical ``line N`` where the row
    starts (the header is line 1), since a quoted cell may span several lines.
    Empty cells count as missing.
    """
    kind = kind or ARTICLES
    # The limit is process-wide: raise it if need be, never lower it under
    # other code; cells over our own limit are caught row by row below.
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_record_bytes))
    lines = _Lines(_text_lines(inp, limits))
    header_line = next((line for line in lines if line.strip()), None)
    if header_line is None:
        raise InputError(inp.name, "empty file")
    header_lineno = lines.lineno
    if lines.skipped:  # the header itself is over the record limit
        raise lines.skipped[0]
    reader = csv.reader(itertools.chain([header_line], lines), delimiter=_delimiter(header_line))
    try:
        header = next(reader)
    except csv.Error as exc:
        raise InputError(inp.name, f"malformed CSV header: {exc}", f"line {header_lineno}") from None
    names = [_column_name(h) for h in header]
    if not any(k in names for k in kind.needs_any):
        raise InputError(inp.name, _missing_columns(kind, names, "the header has"), f"line {header_lineno}")
    while True:
        location = f"line {lines.lineno + 1}"
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield InputError(inp.name, f"malformed CSV: {exc}", location)
            continue
        if lines.skipped:  # an overlong line was dropped from this row: the row is lost
            yield from lines.skipped
            lines.skipped.clear()
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            yield InputError(inp.name, f"row has {len(row)} fields but the header has {len(names)}", location)
            continue
        record = {name: (cell if cell != "" else None) for name, cell in zip(names, row) if name}
        oversized = _oversized_field(record, limits.max_record_bytes)
        yield InputError(inp.name, oversized, location) if oversized else make_item(kind, record, inp.name, location, limits)


class _Lines:
    """Decoded lines for ``csv.reader``, tracking the line number reached.

    A line over the record limit cannot be handed on; it becomes an empty line
    and its InputError waits in ``skipped`` for the caller to report.
    """

    def __init__(self, numbered: Iterable[tuple[int, str | InputError]]):
        self._numbered = iter(numbered)
        self.lineno = 0
        self.skipped: list[InputError] = []

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        self.lineno, line = next(self._numbered)
        if isinstance(line, InputError):
            self.skipped.append(line)
            return "\n"
        return line


def _text_lines(inp: InputFile, limits: Limits) -> Iterator[tuple[int, str | InputError]]:
    """``(line number, text)`` of a CSV file, decoding without ever failing.

    UTF-8 files are decoded line by line (a stray cp1252 line or cell still
    reads, and so does a file that is UTF-8 with cp1252 rows mixed in); a file
    whose first 64 KB hold no UTF-8 is read as cp1252 throughout, the usual
    encoding of spreadsheets saved on Windows. UTF-16 files (Excel's
    "Unicode text") cannot be split on bytes, so they are read whole.
    """
    head = inp.peek(65536)
    enc = bom_encoding(head)
    if enc in ("utf-16", "utf-32"):
        text = inp.read_document(limits.max_document_bytes).decode(enc, errors="replace")
        yield from enumerate(_LINE_END.split(text), 1)
        return
    decode = decode_line if _is_utf8(head) or mostly_utf8(head) else _decode_cp1252
    for lineno, line in iter_lines(inp, limits.max_record_bytes):
        if isinstance(line, InputError):
            yield lineno, line
            continue
        text = decode(line).lstrip("\ufeff") if lineno == 1 else decode(line)
        for part in _LINE_END.split(text) if "\r" in text else (text,):
            if part:  # old Mac files end lines with a lone CR; csv wants them split
                yield lineno, part


def _is_utf8(head: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return True
    except UnicodeDecodeError:
        return False


def _decode_cp1252(line: bytes) -> str:
    return line.decode("cp1252", errors="replace")


def _delimiter(header: str) -> str:
    """Comma, tab or semicolon: whichever splits the header into most columns (comma on ties)."""
    def columns(delimiter: str) -> int:
        try:
            return len(next(csv.reader([header], delimiter=delimiter), []))
        except csv.Error:
            return 0

    return max((",", "\t", ";"), key=columns)


def _column_name(name: str) -> str:
    """Header cells trimmed; the interface fields matched case-insensitively."""
    name = name.strip()
    return name.lower() if name.lower() in CORE_FIELDS else name


# --- Parquet ------------------------------------------------------------------


def read_parquet(inp: InputFile, limits: Limits, kind: RecordKind | None = None) -> Iterator[Article | InputError]:
    """Rows of a Parquet file (location ``row N``), read a batch at a time.

    A file on disk is read through its path (Parquet needs to seek); standard
    input, uploads and gzipped files are read into memory up to the
    document limit.
    """
    kind = kind or ARTICLES
    import pyarrow as pa
    import pyarrow.parquet as pq

    broken = (pa.ArrowException, OSError, ValueError, EOFError, IndexError)
    try:
        if inp.path is not None and not inp.compressed:
            pfile = pq.ParquetFile(inp.path)
        else:
            pfile = pq.ParquetFile(pa.BufferReader(inp.read_document(limits.max_document_bytes)))
        names = pfile.schema_arrow.names
    except broken as exc:
        raise InputError(inp.name, f"not a valid Parquet file ({_brief(exc)})") from None
    if not any(k in names for k in kind.needs_any):
        raise InputError(inp.name, _missing_columns(kind, names, "the columns are"))
    # One row group at a time: the groups are independent, so damage in one costs only its rows.
    row = 0
    for group in range(pfile.num_row_groups):
        try:
            group_rows = pfile.metadata.row_group(group).num_rows
            batches = pfile.iter_batches(batch_size=1024, row_groups=[group])
        except broken as exc:
            yield InputError(inp.name, f"corrupt Parquet metadata of row group {group + 1} ({_brief(exc)}); the rows after it were not read",
                             f"row {row + 1}")
            return
        end = row + group_rows
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except broken as exc:
                rows = f"rows {row + 1}-{end} were" if end > row + 1 else f"row {row + 1} was"
                message = f"corrupt Parquet data in row group {group + 1} ({_brief(exc)}); its {rows} skipped"
                yield InputError(inp.name, message, f"row {row + 1}")
                break
            for record in _batch_rows(batch):
                row += 1
                location = f"row {row}"
                if isinstance(record, Exception):
                    yield InputError(inp.name, f"cannot convert the row's values ({_brief(record)})", location)
                    continue
                oversized = _oversized_field(record, limits.max_record_bytes)
                if oversized:
                    yield InputError(inp.name, oversized, location)
                    continue
                yield make_item(kind, _decode_binary(record), inp.name, location, limits)
        row = max(row, end)  # the numbering goes on after a damaged group


def _batch_rows(batch: Any) -> list[dict[str, Any] | Exception]:
    """A batch's rows as dicts; row by row when a value will not convert
    (a timestamp beyond year 9999), so one such value costs only its row."""
    try:
        return batch.to_pylist()
    except (ValueError, OverflowError):
        pass
    rows: list[dict[str, Any] | Exception] = []
    for i in range(batch.num_rows):
        try:
            rows.extend(batch.slice(i, 1).to_pylist())
        except (ValueError, OverflowError) as exc:
            rows.append(exc)
    return rows


def _oversized_field(record: dict[str, Any], limit: int) -> str | None:
    """Why the row breaks the record size limit, if it does."""
    for key, value in record.items():
        if isinstance(value, (str, bytes)) and len(value) > limit:
            return f"row too large: field '{key}' holds {human_size(len(value))} (limit {human_size(limit)})"
    return None


def _decode_binary(record: dict[str, Any]) -> dict[str, Any]:
    """Text stored as binary (older writers do that) decoded for the interface fields."""
    for key in CORE_FIELDS:
        if isinstance(record.get(key), bytes):
            record[key] = decode_line(record[key])
    return record


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
