"""Story clustering cut into time ranges, and the merge that stitches the ranges' stories together.

``samestory cluster`` links articles in one date-ordered pass: each article is
scored against the stories the earlier ones made. That pass does not spread
over cores as it stands, so :func:`samestory.spark.spark_cluster` can instead
cut the date-ordered stream into contiguous time ranges of about equal size
(:func:`plan_ranges`) and cluster each range in its own task, with the same
:class:`~samestory.cluster.StoryClusterer` in a temporary store
(:func:`cluster_range`). Each range also clusters a **warm-up** tail of the
ranges before it (``warmup_days``, at least the linker's recent window), so
a story running across a cut is seen from both sides; :func:`stitch` then
ties the stories that share a warm-up article together (union-find), and the
story keeps the id it has in the earliest range, which is the id of its first
article as in the one-pass run. Optionally (:func:`relink`, ``--merge``) the
first article of every story a range started is then linked, on the driver,
against the older ranges' stories, for a story that resumes after a gap longer
than the warm-up.

Why the stories only *agree* with the one-pass run's: a range's clusterer
has not seen the stream before its warm-up, and the one-pass decisions depend
on that history even inside a range (the name statistics behind the
name-rarity features, and which members fill the linker's
``ClusterConfig.compare`` slots when older similar stories crowd the
candidates), not only at the cuts. Measured in the README.

:func:`relink` places articles in given stories through ``StoryClusterer``'s
``_choose`` / ``_new_story`` hooks, as ``bench/train_linker.py``'s gold-forced
pass does (tests/test_spark.py holds it).

Nothing here imports pyspark: the planning and the merge are plain functions,
tested without Spark; :mod:`samestory.spark` ships them to the tasks.
"""

from __future__ import annotations

import bisect
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .article import Article
from .cluster import ClusterConfig, StoryClusterer, article_day

#: Default warm-up: how many days before its range each range also clusters (never less than ``recent_days``):
#: the one pass's search window, so a range's first articles meet the stories a one-pass run would hold active
#: (7 days agreed with the one pass at adjusted Rand 0.85 on GVA in 4 ranges, 90 days at 0.91).
WARMUP_DAYS = ClusterConfig.search_days

#: Sort key of an article in the stream: (day, input order); undated articles last, as ``StoryClusterer.add`` places them.
SortKey = tuple


def sort_key(article: Article, order: int) -> SortKey:
    """Where ``StoryClusterer.add`` puts the article in its date-ordered pass (undated ones after all dated ones)."""
    day = article_day(article.date)
    return (day if day is not None else math.inf, order)


def plan_ranges(day_counts: Mapping[float, int], partitions: int) -> list[float]:
    """First days of ``partitions`` contiguous time ranges holding about as many articles each (cuts fall between days).

    ``day_counts``: articles per day (``math.inf`` for undated ones, which go
    to the last range). The first range starts at ``-inf``. Fewer ranges come
    back when there are fewer days than ``partitions``.
    """
    days = sorted(d for d in day_counts if d != math.inf)
    total = sum(day_counts.values())
    starts = [-math.inf]
    seen = 0
    for day in days:
        if len(starts) < partitions and seen >= total * len(starts) / partitions and seen > 0:
            starts.append(day)
        seen += day_counts[day]
    return starts


def owners(key: SortKey, starts: Sequence[float], warmup_days: int) -> list[int]:
    """The range that owns an article, then every later range whose warm-up tail holds it."""
    day = key[0]
    own = bisect.bisect_right(starts, day) - 1
    later = [j for j in range(own + 1, len(starts)) if day >= starts[j] - warmup_days]
    return [own, *later]


def cluster_range(items: Iterable[tuple[SortKey, Article]], config: ClusterConfig = ClusterConfig()) -> list[tuple[str, str]]:
    """One range's stories: ``(article id, story id)`` for ``(sort key, article)`` items.

    The articles go to a :class:`~samestory.cluster.StoryClusterer` over a
    temporary store in (day, input order) order, which analyses (embeds) them
    itself; no analysis worker process (a Spark task already has its core).
    """
    from .store import Store

    items = sorted(items, key=lambda it: it[0])
    with tempfile.TemporaryDirectory(prefix="samestory-range-") as tmp, Store(Path(tmp) / "store") as store:
        clusterer = StoryClusterer(store, config, cache_articles=max(20_000, len(items)))
        return clusterer.add([article for _, article in items], workers=0)


@dataclass
class RangeRow:
    """One article as one range clustered it."""

    range: int
    id: str
    story: str  # the story's id in that range
    owner: int  # the range the article belongs to (the others only warmed up with it)
    key: SortKey


class _UnionFind:
    """Story nodes ``(range, story id in that range)``; a joined story's root is its earliest node."""

    def __init__(self, rows: Sequence[RangeRow]):
        self.parent: dict[tuple[int, str], tuple[int, str]] = {}
        self.first: dict[tuple[int, str], SortKey] = {}
        for r in rows:
            node = (r.range, r.story)
            self.parent.setdefault(node, node)
            if r.range == r.owner:
                self.first[node] = min(self.first.get(node, r.key), r.key)
        for r in rows:  # a node made only of warm-up articles ranks by its range only
            self.first.setdefault((r.range, r.story), (math.inf, math.inf))

    def find(self, x):
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a, b):
        a, b = self.find(a), self.find(b)
        if a != b:
            if (b[0], self.first[b]) < (a[0], self.first[a]):
                a, b = b, a
            self.parent[b] = a
        return a


def _tied(rows: Sequence[RangeRow]) -> _UnionFind:
    """The nodes, with every warm-up article's story in a later range tied to its story in its own range."""
    uf = _UnionFind(rows)
    home = {r.id: (r.owner, r.story) for r in rows if r.range == r.owner}
    for r in rows:
        if r.range != r.owner and r.id in home:
            uf.union((r.range, r.story), home[r.id])
    return uf


def stitch(rows: Iterable[RangeRow]) -> dict[str, str]:
    """Every article's story id across ranges: stories that share an article are one (union-find).

    An article clustered by its own range and, as warm-up, by later ones ties
    its story in each of them to its story in its own range. A joined story
    takes the id it has in its earliest range (ties: the story whose first
    article comes first), i.e. the id of its first article, as in one pass.
    """
    rows = list(rows)
    uf = _tied(rows)
    return {r.id: uf.find((r.range, r.story))[1] for r in rows if r.range == r.owner}


def merge_articles(rows: Sequence[RangeRow], members: int = ClusterConfig.members) -> tuple[set[str], set[str]]:
    """What :func:`relink` needs: (the ids of the articles it reads, the heads among them).

    A head is the first article of a story a range started (not tied to an
    earlier range by a warm-up article); each story of each range is
    represented by its latest ``members`` articles.
    """
    uf = _tied(rows)
    by_node: dict[tuple[int, str], list[tuple[SortKey, str]]] = {}
    for r in rows:
        if r.range == r.owner:
            by_node.setdefault((r.range, r.story), []).append((r.key, r.id))
    wanted, heads = set(), set()
    for node, items in by_node.items():
        items.sort()
        wanted.update(aid for _, aid in items[-members:])
        if node[0] > 0 and uf.find(node) == node:
            heads.add(items[0][1])
    return wanted | heads, heads


class _HistoryClusterer(StoryClusterer):
    """The merge step's clusterer: places each article in the story it is told to (as ``bench/train_linker.py``'s
    gold-forced pass does), except a range's new stories' first articles, which it first links against the stories of
    the ranges before (:func:`relink`)."""

    def __init__(self, store, config: ClusterConfig, uf: _UnionFind, node_of: dict[str, tuple[int, str]],
                 heads: set[str]):
        super().__init__(store, config, cache_articles=max(20_000, len(node_of)))
        self.uf, self.node_of, self.heads = uf, node_of, heads
        self.sid_of: dict[tuple[int, str], int] = {}
        self.root_of_sid: dict[int, tuple[int, str]] = {}
        self.linked = 0

    def _choose(self, art) -> int:
        node = self.node_of[art.id]
        if art.id in self.heads:
            probs = self.link_probabilities(art, self.candidates(art))
            earlier = sorted(((p, sid) for sid, p in probs.items()
                              if self.uf.find(self.root_of_sid[sid])[0] < node[0]), key=lambda ps: (-ps[0], ps[1]))
            for k, (p, sid) in enumerate(earlier):
                if p >= (self.config.threshold if k == 0 else self.config.merge_threshold):
                    self.uf.union(node, self.root_of_sid[sid])
                    self.linked += 1
        root = self.uf.find(node)
        sid = self.sid_of.get(root)
        if sid is None or sid not in self._stories:
            sid = self.sid_of[root] = self._new_story(art)
            self.root_of_sid[sid] = root
        return sid


def relink(rows: Sequence[RangeRow], articles: Mapping[str, Article],
           config: ClusterConfig = ClusterConfig()) -> tuple[dict[str, str], int]:
    """:func:`stitch`, plus the merge step: a story a range started may continue one older than its warm-up.

    In one pass such an article would have met the old story among its
    candidates (nearest centroids, shared rare names). So the first article of
    every story a range started (its *head*) is linked, through a
    :class:`~samestory.cluster.StoryClusterer` on the driver, against the
    stories of the ranges before it, each represented by its latest
    ``config.members`` articles of each range (what the linker compares);
    a link at ``config.threshold`` joins the two stories. ``articles`` must
    hold :func:`merge_articles`' ids. Returns (article id -> story id, links made).
    """
    from .store import Store

    rows = list(rows)
    uf = _tied(rows)
    wanted, heads = merge_articles(rows, config.members)
    home = [r for r in rows if r.range == r.owner]
    node_of = {r.id: (r.range, r.story) for r in home if r.id in wanted}
    key_of = {r.id: r.key for r in home}
    order = sorted(wanted, key=lambda aid: key_of[aid])
    linked = 0
    if heads:
        with tempfile.TemporaryDirectory(prefix="samestory-merge-") as tmp, Store(Path(tmp) / "store") as store:
            clusterer = _HistoryClusterer(store, config, uf, node_of, heads)
            clusterer.add([articles[aid] for aid in order], workers=0)
            linked = clusterer.linked
    return {r.id: uf.find((r.range, r.story))[1] for r in home}, linked


__all__ = ["WARMUP_DAYS", "RangeRow", "cluster_range", "merge_articles", "owners", "plan_ranges", "relink", "sort_key", "stitch"]
