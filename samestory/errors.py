"""Errors that samestory raises on purpose.

Every problem with user input becomes an :class:`InputError` that names the
input (file, and line or record where there is one) and what is wrong, so a
batch can report it on one line and carry on with the other records.
"""

from __future__ import annotations


def quoted(value: str, limit: int = 200) -> str:
    """A value (an article id, a name) for a message: quoted, and cut after ``limit`` characters with its length
    said, so a whole 100 MB line read as an id does not become a 100 MB message."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value):,} characters)"


class SamestoryError(Exception):
    """Base class of every error samestory raises deliberately."""


class InputError(SamestoryError):
    """One input (a file, or one record of it) could not be read.

    ``source`` names the file (or ``<stdin>``), ``location`` the line, row or
    record inside it when there is one, ``message`` what is wrong.
    """

    def __init__(self, source: str, message: str, location: str | None = None):
        self.source = str(source)
        self.message = message
        self.location = location
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}:{self.location}" if self.location else self.source
        return f"{where}: {self.message}"

    def __reduce__(self):  # keep pickling (multiprocessing, Spark) working
        return (type(self), (self.source, self.message, self.location))


class UsageError(SamestoryError):
    """The caller asked for something that cannot work (bad option, bad path)."""
