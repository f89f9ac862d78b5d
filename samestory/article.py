"""The Article record that every stage of samestory reads and writes.

Field names follow ``shared/design/interface.md``: ``id``, ``title``, ``text``,
``html``, ``date``, ``source``, ``url``, ``lang``; cleaning adds ``byline`` and
``removed``. Fields a user's record carries beyond these are kept in ``extra``
and written back out, so labels such as a gold story id survive the pipeline.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

#: The interface fields, in output order.
CORE_FIELDS = ("id", "title", "text", "html", "date", "source", "url", "lang")
#: Fields the clean stage adds.
CLEAN_FIELDS = ("byline", "removed", "removed_reasons")


@dataclass
class Article:
    """One news article as it moves through the pipeline."""

    id: str | None = None
    title: str | None = None
    text: str = ""
    html: str | None = None
    date: str | None = None
    source: str | None = None
    url: str | None = None
    lang: str | None = None
    byline: str | None = None
    #: Lines the cleaner dropped, verbatim, so a user can audit them.
    removed: list[str] = field(default_factory=list)
    #: Why each line of ``removed`` was dropped (same length and order).
    removed_reasons: list[str] = field(default_factory=list)
    #: Any other fields of the input record, passed through untouched.
    extra: dict[str, Any] = field(default_factory=dict)
    #: Where the article came from ("file.jsonl:line 17"); not written out.
    origin: str | None = None

    def ensure_id(self) -> str:
        """Give the article a stable id derived from its content if it has none.

        The id hashes the url (when given) and the raw content, so the same
        input always gets the same id, whichever run or machine reads it.
        """
        if not self.id:
            self.id = content_id(self.url, self.title, self.text or self.html or "")
        return self.id

    def to_row(self, *, keep_html: bool = False, cleaned: bool = True) -> dict[str, Any]:
        """A flat dict for JSONL/CSV/Parquet output (interface field order)."""
        row: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "date": self.date,
            "source": self.source,
            "url": self.url,
            "lang": self.lang,
        }
        if keep_html:
            row["html"] = self.html
        if cleaned:
            row["byline"] = self.byline
            row["removed"] = list(self.removed)
            row["removed_reasons"] = list(self.removed_reasons)
        for key, value in self.extra.items():
            if key not in row:
                row[key] = value
        return row


def content_id(url: str | None, title: str | None, body: str) -> str:
    """A 16-hex-digit id from an article's url, title and raw body."""
    h = hashlib.blake2b(digest_size=8)
    for part in (url or "", title or "", body or ""):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()
