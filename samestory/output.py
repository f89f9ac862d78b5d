"""Writing result rows as JSONL, CSV or Parquet, streaming.

Every command writes rows (dicts) through :func:`open_writer`; the file name's
ending picks the format (``-`` is JSONL on standard output). Files are written
to a temporary name and renamed at the end, so a failed run never leaves a
half-written output where a finished one is expected.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, TextIO

from .errors import UsageError

OUTPUT_FORMATS = ("jsonl", "csv", "parquet")


def output_format(path: str | os.PathLike[str] | None) -> str:
    """The format a path's ending asks for; ``-``/None mean JSONL."""
    if path is None or str(path) == "-":
        return "jsonl"
    name = str(path).lower()
    for ext, fmt in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl"), (".csv", "csv"), (".parquet", "parquet"), (".pq", "parquet")):
        if name.endswith(ext):
            return fmt
    raise UsageError(f"{path}: unknown output format; end the name in .jsonl, .csv or .parquet (or give - for JSONL on stdout)")


class RowWriter:
    """Base of the writers: ``write(row)`` then ``close()`` (or use ``with``)."""

    def __init__(self, path: str | os.PathLike[str] | None):
        self.path = None if path is None or str(path) == "-" else Path(path)
        self.count = 0
        self._tmp: Path | None = None
        self._done = False

    def _open_target(self, binary: bool) -> Any:
        if self.path is None:
            return sys.stdout.buffer if binary else sys.stdout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
        self._tmp = Path(tmp)
        return os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""}))

    def write(self, row: dict[str, Any]) -> None:
        raise NotImplementedError

    def write_all(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.write(row)

    def _finish(self) -> None:
        """Close the format's stream (subclasses)."""

    def close(self, ok: bool = True) -> None:
        """Finish the file; with ``ok=False`` (an aborted run) discard it."""
        if self._done:
            return
        self._done = True
        self._finish()
        if self._tmp is not None:
            if ok:
                os.replace(self._tmp, self.path)  # type: ignore[arg-type]
            else:
                self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "RowWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(ok=exc_type is None)


class JsonlWriter(RowWriter):
    """One JSON object a line, UTF-8, fields in the order given."""

    def __init__(self, path):
        super().__init__(path)
        self._out: TextIO = self._open_target(binary=False)

    def write(self, row):
        self._out.write(json.dumps(row, ensure_ascii=False, default=str))
        self._out.write("\n")
        self.count += 1

    def _finish(self):
        self._out.flush()
        if self.path is not None:
            self._out.close()


class _BufferedColumnsWriter(RowWriter):
    """Writers whose columns are fixed by the first rows (CSV, Parquet).

    Columns are the union of the keys of the first ``probe`` rows, in order;
    a key first seen later is dropped with one warning on stderr.
    """

    probe = 1000

    def __init__(self, path):
        super().__init__(path)
        self._pending: list[dict[str, Any]] = []
        self.columns: list[str] | None = None
        self._warned: set[str] = set()

    def write(self, row):
        self.count += 1
        if self.columns is None:
            self._pending.append(row)
            if len(self._pending) >= self.probe:
                self._start()
            return
        self._emit([row])

    def _start(self) -> None:
        cols: dict[str, None] = {}
        for row in self._pending:
            cols.update(dict.fromkeys(row))
        self.columns = list(cols)
        self._begin()
        rows, self._pending = self._pending, []
        if rows:
            self._emit(rows)

    def _check(self, row: dict[str, Any]) -> None:
        for key in row:
            if key not in self.columns and key not in self._warned:  # type: ignore[operator]
                self._warned.add(key)
                print(f"samestory: warning: field {key!r} first appears after row {self.probe}; not written to {self.path}", file=sys.stderr)

    def _finish(self):
        if self.columns is None:
            self._start()
        self._end()

    def _begin(self) -> None: ...
    def _emit(self, rows: list[dict[str, Any]]) -> None: ...
    def _end(self) -> None: ...


class CsvWriter(_BufferedColumnsWriter):
    """RFC 4180 CSV with a header; lists and objects are JSON in their cell."""

    def _begin(self):
        self._out = self._open_target(binary=False)
        self._csv = csv.writer(self._out)
        self._csv.writerow(self.columns)

    def _emit(self, rows):
        for row in rows:
            self._check(row)
            self._csv.writerow([_cell(row.get(c)) for c in self.columns])  # type: ignore[union-attr]

    def _end(self):
        self._out.flush()
        if self.path is not None:
            self._out.close()


class ParquetWriter(_BufferedColumnsWriter):
    """Parquet (zstd) with types inferred from the first rows; lists stay lists."""

    batch = 2000

    def _begin(self):
        import pyarrow as pa

        self._pa = pa
        fields = [pa.field(c, self._infer(c)) for c in self.columns]  # type: ignore[union-attr]
        self._schema = pa.schema(fields)
        self._buffer: list[dict[str, Any]] = []
        self._sink = self._open_target(binary=True)
        import pyarrow.parquet as pq

        self._writer = pq.ParquetWriter(self._sink, self._schema, compression="zstd")

    def _infer(self, column: str):
        """The column's type from the first rows; text when they disagree or are all null."""
        pa = self._pa
        try:
            t = pa.array([r.get(column) for r in self._pending]).type
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.string()
        return pa.string() if pa.types.is_null(t) else t

    def _emit(self, rows):
        for row in rows:
            self._check(row)
            self._buffer.append(row)
        if len(self._buffer) >= self.batch:
            self._flush()

    def _flush(self):
        if not self._buffer:
            return
        pa = self._pa
        columns = {f.name: self._column(f, [r.get(f.name) for r in self._buffer]) for f in self._schema}
        self._writer.write_table(pa.table(columns, schema=self._schema))
        self._buffer = []

    def _column(self, field, values):
        """Values as the column's type; ones that do not fit become text or null, with a warning."""
        pa = self._pa
        try:
            return pa.array(values, type=field.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            if field.name not in self._warned:
                self._warned.add(field.name)
                print(f"samestory: warning: field {field.name!r} changes type after the first rows; unfitting values written as {'text' if pa.types.is_string(field.type) else 'null'}", file=sys.stderr)
            if pa.types.is_string(field.type):
                return pa.array([None if v is None else str(_cell(v)) for v in values], type=field.type)
            fitted = []
            for v in values:
                try:
                    pa.array([v], type=field.type)
                    fitted.append(v)
                except (pa.ArrowInvalid, pa.ArrowTypeError):
                    fitted.append(None)
            return pa.array(fitted, type=field.type)

    def _end(self):
        self._flush()
        self._writer.close()
        if self.path is not None:
            self._sink.close()
        else:
            self._sink.flush()


def open_writer(path: str | os.PathLike[str] | None) -> RowWriter:
    """A writer for ``path`` (format from its ending; ``-``/None: JSONL to stdout)."""
    fmt = output_format(path)
    return {"jsonl": JsonlWriter, "csv": CsvWriter, "parquet": ParquetWriter}[fmt](path)


def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows of a JSONL, CSV or Parquet file written by samestory (tests, benches)."""
    fmt = output_format(path)
    if fmt == "jsonl":
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    if fmt == "csv":
        with open(path, encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


__all__ = ["OUTPUT_FORMATS", "open_writer", "output_format", "read_rows", "RowWriter"]
