"""Story rows: what ``samestory stories`` writes for each story in a store.

One row a story: ``story`` (its id: the id of its first article), ``headline``,
``summary``, ``first_seen``, ``last_seen``, ``sources``, ``articles`` (ids in
date order) and ``size``. The headline is the title of the story's earliest
article that has one, the summary the lead of that article (its first
sentences, up to about 60 words); ``view=True`` takes both from the story
view instead (:mod:`samestory.storyview`).
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


def story_rows(store, *, min_size: int = 1, view: bool = False) -> Iterator[dict]:
    """Rows of every live story in ``store``, oldest first.

    With ``view=True`` the headline and summary come from the story view
    (:mod:`samestory.storyview`: the most representative title and three
    central sentences) for stories of two or more articles; that embeds every
    sentence, so it costs about a second a story.
    """
    db = store.db
    stories = db.execute(
        "SELECT story, id, first_day, last_day, size FROM stories WHERE merged_into IS NULL AND size >= ? "
        "ORDER BY first_day, story", (min_size,)).fetchall()
    for row in stories:
        yield story_row(db, *row, view=view)


def story_row(db, sid: int, story_id: str, first: int, last: int, size: int, *, view: bool = False) -> dict:
    """The row of one story (its ``stories`` table fields given)."""
    members = db.execute(
        "SELECT a.id, a.title, a.text, a.source, a.url, a.date, a.lang FROM story_members m JOIN articles a ON a.seq = m.seq "
        "WHERE m.story = ? ORDER BY m.day, m.seq", (sid,)).fetchall()
    lead = next((m for m in members if m[1]), members[0] if members else None)
    sources = []
    for m in members:
        name = source_name(m[3], m[4])
        if name and name not in sources:
            sources.append(name)
    headline = (lead[1] or "") if lead else ""
    summary = lead_text(lead[2] or "", words=SUMMARY_WORDS) if lead else ""
    if view and len(members) > 1:
        from .storyview import Member, cached_view

        v = cached_view([Member(id=m[0], title=m[1], text=m[2] or "", source=source_name(m[3], m[4]), url=m[4],
                                date=m[5], lang=m[6]) for m in members])
        headline = v["headline"] or headline
        summary = " ".join(x["text"] for x in v["summary"]) or summary
    return {
        "story": story_id,
        "headline": headline,
        "summary": summary,
        "first_seen": iso_day(first),
        "last_seen": iso_day(last),
        "sources": sources,
        "articles": [m[0] for m in members],
        "size": size,
    }
