"""Plain-text files: one article a file, as scraped.

The reader only decodes; finding the title, byline and date among the
scraped lines is the clean stage's job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..article import Article
from ..errors import InputError
from .source import InputFile, Limits, binary_reason, decode_text


def read_text(inp: InputFile, limits: Limits) -> Iterator[Article | InputError]:
    """The whole file is one article's text."""
    data = inp.read_document(limits.max_document_bytes)
    if not data.strip():
        raise InputError(inp.name, "empty file" if not data else "file holds only white space")
    reason = binary_reason(data[:65536])
    if reason:
        raise InputError(inp.name, reason)
    text, _ = decode_text(data)
    if not text.strip():
        raise InputError(inp.name, "file holds only white space")
    article = Article(text=text, origin=inp.name)
    if inp.path is not None:
        article.extra["file"] = Path(inp.name).name
    article.ensure_id()
    yield article
