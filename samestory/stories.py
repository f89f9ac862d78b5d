"""Story rows: what ``samestory stories`` writes for each story in a store.

One row a story: ``story`` (its id: the id of its first article), ``headline``,
``summary``, ``first_seen``, ``last_seen``, ``sources``, ``articles`` (ids in
date order) and ``size``. The headline is the title of the story's earliest
article that has one, the summary the lead of that article (its first
sentences, up to about 60 words); the story view issue refines both.
"""

from __future__ import annotations

from typing import Iterator
from urllib.parse import urlsplit

from .cluster import iso_day
from .embed import lead_text

SUMMARY_WORDS = 60


def source_name(source: str | None, url: str | None) -> str | None:
    """The outlet: the record's ``source``, else the host of its URL without ``www.``."""
    if source:
        return source
    if url:
        host = urlsplit(url).hostname or ""
        return host.removeprefix("www.") or None
    return None


def story_rows(store, *, min_size: int = 1) -> Iterator[dict]:
    """Rows of every live story in ``store``, oldest first."""
    db = store.db
    stories = db.execute(
        "SELECT story, id, first_day, last_day, size FROM stories WHERE merged_into IS NULL AND size >= ? "
        "ORDER BY first_day, story", (min_size,)).fetchall()
    for sid, story_id, first, last, size in stories:
        members = db.execute(
            "SELECT a.id, a.title, a.text, a.source, a.url FROM story_members m JOIN articles a ON a.seq = m.seq "
            "WHERE m.story = ? ORDER BY m.day, m.seq", (sid,)).fetchall()
        lead = next((m for m in members if m[1]), members[0] if members else None)
        sources = []
        for m in members:
            name = source_name(m[3], m[4])
            if name and name not in sources:
                sources.append(name)
        yield {
            "story": story_id,
            "headline": (lead[1] or "") if lead else "",
            "summary": lead_text(lead[2] or "", words=SUMMARY_WORDS) if lead else "",
            "first_seen": iso_day(first),
            "last_seen": iso_day(last),
            "sources": sources,
            "articles": [m[0] for m in members],
            "size": size,
        }
