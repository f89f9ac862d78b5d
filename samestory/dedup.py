"""Near-copy engine: exact and near-duplicate articles, grouped.

Pipeline: fingerprints (:mod:`samestory.fingerprint`) -> LSH band keys give
candidate pairs -> each candidate is verified on the exact shingle sets
(Jaccard, or containment for a cut-down copy), so every reported similarity
is exact -> taken earliest first, an article joins (union-find) the groups
whose earliest article it is a near-copy of -> each group's ``duplicate_of``
is that earliest article (by date, then input order).

Two ways to run it, with the same verification and grouping:

* :func:`dedup_batch`: everything in memory; candidates come from sorting
  each band's keys (numpy), which scales to millions of articles.
* :class:`NearCopyIndex`: incremental, over a :class:`~samestory.store.Store`;
  new articles are checked against everything stored, and articles can be
  removed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np

from .article import Article
from .errors import SamestoryError
from .fingerprint import (
    CONTAINMENT_MIN_SHINGLES,
    DEFAULT_CONFIG,
    NEAR_COPY_CONTAINMENT,
    NEAR_COPY_JACCARD,
    Fingerprint,
    FingerprintConfig,
    band_keys_many,
    containment,
    fingerprint,
    fingerprint_many,
    jaccard,
)
from .store import Store

_I64 = np.int64


@dataclass(frozen=True)
class DedupConfig:
    """When two articles are near-copies.

    A pair is a near-copy when the exact Jaccard of its shingle sets reaches
    ``jaccard``, or when the smaller set (at least ``min_containment_shingles``
    shingles, so a one-line text is not "contained" in everything) lies for
    ``containment`` or more in the larger: a cut-down copy. Defaults from
    ``bench/minhash_params.py``: planted copies of real news sit far above
    them, different outlets' reports of the same event far below.
    """

    fingerprint: FingerprintConfig = DEFAULT_CONFIG
    jaccard: float = NEAR_COPY_JACCARD
    containment: float = NEAR_COPY_CONTAINMENT
    min_containment_shingles: int = CONTAINMENT_MIN_SHINGLES
    #: LSH buckets with more members than this are linked as a chain, not all pairs.
    max_bucket: int = 50

    def __post_init__(self) -> None:
        if not 0 < self.jaccard <= 1 or not 0 < self.containment <= 1:
            raise ValueError("jaccard and containment thresholds must be in (0, 1]")


@dataclass(frozen=True)
class Verdict:
    """The exact similarity of one pair and whether it is a near-copy."""

    jaccard: float
    containment: float
    near: bool


def verify(a: Fingerprint, b: Fingerprint, config: DedupConfig = DedupConfig()) -> Verdict:
    """Exact similarity of two fingerprints and the near-copy decision."""
    if a.content_hash == b.content_hash and not a.empty:
        return Verdict(1.0, 1.0, True)
    if a.empty or b.empty:
        return Verdict(0.0, 0.0, False)
    j = jaccard(a.shingles, b.shingles)
    c = containment(a.shingles, b.shingles)
    contained = c >= config.containment and min(len(a.shingles), len(b.shingles)) >= config.min_containment_shingles
    return Verdict(j, c, j >= config.jaccard or contained)


@dataclass
class DedupRow:
    """One output row of ``samestory dedup`` (interface.md), plus the containment."""

    id: str
    group: str
    duplicate_of: str | None
    similarity: float | None
    containment: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


class UnionFind:
    """Disjoint sets over 0..n-1 (path halving, union by size)."""

    def __init__(self, n: int = 0):
        self.parent = list(range(n))
        self.size = [1] * n

    def add(self) -> int:
        self.parent.append(len(self.parent))
        self.size.append(1)
        return len(self.parent) - 1

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        return ra


def earliest_key(date: str | None, order: int) -> tuple:
    """Sort key of "earliest article": dated before undated, then by date, then input order."""
    return (date is None, date or "", order)


# --- batch -----------------------------------------------------------------------


def fingerprint_articles(
    articles: Iterable[Article],
    config: FingerprintConfig = DEFAULT_CONFIG,
    chunk: int = 2000,
) -> Iterator[tuple[Article, Fingerprint]]:
    """Articles with their fingerprints, computed in batches (rensa's batch API)."""
    buffer: list[Article] = []
    for article in articles:
        buffer.append(article)
        if len(buffer) >= chunk:
            yield from zip(buffer, fingerprint_many([_fingerprint_text(a) for a in buffer], config))
            buffer = []
    if buffer:
        yield from zip(buffer, fingerprint_many([_fingerprint_text(a) for a in buffer], config))


def _fingerprint_text(article: Article) -> str:
    """What is fingerprinted: the cleaned text (bylines, titles and boilerplate are not copy evidence)."""
    return article.text or ""


def dedup_batch(articles: Iterable[Article], config: DedupConfig = DedupConfig()) -> list[DedupRow]:
    """Near-copy groups of a batch of articles, in memory; one row per article, input order.

    Articles must have distinct ids (a repeated id raises: the rows could not
    be told apart).
    """
    ids: list[str] = []
    dates: list[str | None] = []
    fps: list[Fingerprint] = []
    seen: set[str] = set()
    for article, fp in fingerprint_articles(articles, config.fingerprint):
        aid = article.ensure_id()
        if aid in seen:
            raise SamestoryError(f"duplicate article id {aid!r} ({article.origin or 'input'}); ids must be unique in one run")
        seen.add(aid)
        ids.append(aid)
        dates.append(article.date)
        fps.append(fp)
    return group_rows(ids, dates, fps, candidate_pairs(fps, config), config)


def candidate_pairs(fps: Sequence[Fingerprint], config: DedupConfig = DedupConfig()) -> np.ndarray:
    """(k, 2) int64 index pairs (i < j) that share a content hash or an LSH band key.

    Exact copies are linked to the first article with the same content hash
    and only that first one enters LSH, so a story copied a thousand times
    costs a thousand pairs, not half a million. Buckets larger than
    ``max_bucket`` are linked as a chain of neighbours (members of one huge
    bucket are near-copies of each other in practice; verification decides).
    """
    n = len(fps)
    pairs: list[np.ndarray] = []
    first_of: dict[str, int] = {}
    unique: list[int] = []
    for i, fp in enumerate(fps):
        if fp.empty:
            continue
        j = first_of.setdefault(fp.content_hash, i)
        if j == i:
            unique.append(i)
        else:
            pairs.append(np.array([[j, i]], dtype=_I64))
    if unique:
        idx = np.asarray(unique, dtype=_I64)
        keys = band_keys_many([fps[i] for i in unique], config.fingerprint)
        for band in range(keys.shape[1]):
            pairs.extend(_bucket_pairs(keys[:, band], idx, config.max_bucket))
    if not pairs:
        return np.empty((0, 2), dtype=_I64)
    allp = np.concatenate(pairs)
    allp.sort(axis=1)
    code = np.unique(allp[:, 0] * max(n, 1) + allp[:, 1])
    return np.stack([code // max(n, 1), code % max(n, 1)], axis=1)


def _bucket_pairs(column: np.ndarray, idx: np.ndarray, max_bucket: int) -> list[np.ndarray]:
    order = np.argsort(column, kind="stable")
    col = column[order]
    members = idx[order]
    starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
    sizes = np.diff(np.r_[starts, len(col)])
    out: list[np.ndarray] = []
    two = starts[sizes == 2]
    if len(two):
        out.append(np.stack([members[two], members[two + 1]], axis=1))
    mid = (sizes > 2) & (sizes <= max_bucket)
    for m in np.unique(sizes[mid]).tolist():  # all buckets of one size at once
        first = starts[mid & (sizes == m)][:, None]
        a, b = np.triu_indices(m, k=1)
        out.append(np.stack([members[first + a].ravel(), members[first + b].ravel()], axis=1))
    for s, m in zip(starts[sizes > max_bucket], sizes[sizes > max_bucket]):
        group = members[s : s + m]  # chain of neighbours plus a star on the first
        out.append(np.stack([group[:-1], group[1:]], axis=1))
        out.append(np.stack([np.full(m - 1, group[0]), group[1:]], axis=1))
    return out


def group_rows(
    ids: Sequence[str],
    dates: Sequence[str | None],
    fps: Sequence[Fingerprint],
    pairs: np.ndarray,
    config: DedupConfig = DedupConfig(),
) -> list[DedupRow]:
    """Verify candidate pairs, join near-copies, and make one row per article.

    Articles are taken earliest first; each joins the groups of its earlier
    candidates whose earliest article it is itself a near-copy of (merging
    them when there are several). Copies of different stories that share
    only appended boilerplate (a footer, a newsletter box) verify against
    each other but not against the stories they copy, so they cannot chain
    groups together. The store-backed index applies the same rule as
    articles arrive, so both agree on input given in date order.
    """
    n = len(ids)
    order = sorted(range(n), key=lambda i: earliest_key(dates[i], i))
    rank = [0] * n
    for r, i in enumerate(order):
        rank[i] = r
    earlier: list[list[int]] = [[] for _ in range(n)]
    for i, j in pairs.tolist():
        if rank[i] < rank[j]:
            earlier[j].append(i)
        else:
            earlier[i].append(j)
    uf = UnionFind(n)
    rep = list(range(n))  # per root: the group's earliest article
    for i in order:
        tried: set[int] = set()
        for j in sorted(earlier[i], key=lambda j: rank[j]):
            root = uf.find(j)
            if root in tried or root == uf.find(i):
                continue
            tried.add(root)
            if verify(fps[i], fps[rep[root]], config).near:
                first = rep[root] if rank[rep[root]] < rank[rep[uf.find(i)]] else rep[uf.find(i)]
                rep[uf.union(i, j)] = first
    reps = [rep[uf.find(i)] for i in range(n)]
    return [_row(ids[i], ids[r], None if r == i else verify(fps[i], fps[r], config)) for i, r in enumerate(reps)]


def _row(article_id: str, rep_id: str, verdict: Verdict | None) -> DedupRow:
    """An article's row: alone (``verdict`` None, it is its group's earliest) or against that earliest article."""
    if verdict is None:
        return DedupRow(article_id, article_id, None, None, None)
    return DedupRow(article_id, rep_id, rep_id, round(verdict.jaccard, 4), round(verdict.containment, 4))


# --- incremental, over a store ------------------------------------------------------


class NearCopyIndex:
    """The near-copy index of a store: add articles, find their groups, remove them.

    Fingerprint signatures and LSH band keys live in the store; shingle sets
    are recomputed from the stored text when a candidate is verified, which
    keeps the store small (no shingle blobs) and the result exact.
    """

    def __init__(self, store: Store, config: DedupConfig = DedupConfig()):
        self.store = store
        self.config = config
        self._check_config()

    def _check_config(self) -> None:
        wanted = json.dumps(asdict(self.config.fingerprint), sort_keys=True)
        row = self.store.db.execute("SELECT value FROM meta WHERE key = 'fingerprint_config'").fetchone()
        if row is None:
            with self.store.transaction() as db:
                db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('fingerprint_config', ?)", (wanted,))
        elif row[0] != wanted:
            raise SamestoryError(
                f"{self.store.path}: the store's fingerprints were made with {row[0]}; "
                f"they cannot be compared with {wanted}. Use the store's settings or a new store."
            )

    # adding

    def add(self, articles: Iterable[Article], chunk: int = 500) -> Iterator[tuple[Article, int, bool]]:
        """Store and index articles; yield ``(article, seq, is_new)`` once each chunk is committed.

        Each chunk is one transaction: a crash loses at most the chunk in
        flight, and re-running the same input skips what is already stored.
        """
        buffer: list[tuple[Article, Fingerprint]] = []
        for pair in fingerprint_articles(articles, self.config.fingerprint, chunk=chunk):
            buffer.append(pair)
            if len(buffer) >= chunk:
                yield from self._commit(buffer)
                buffer = []
        if buffer:
            yield from self._commit(buffer)

    def _commit(self, items: list[tuple[Article, Fingerprint]]) -> list[tuple[Article, int, bool]]:
        done = []
        with self.store.transaction() as db:
            for article, fp in items:
                seq, new = self.store.add_article(article)
                if new:
                    db.execute(
                        "INSERT INTO fingerprints(seq, content_hash, n_shingles, signature) VALUES (?,?,?,?)",
                        (seq, fp.content_hash, len(fp.shingles), fp.signature.astype("<u4").tobytes()),
                    )
                    keys = self._keys(fp)
                    db.executemany("INSERT OR IGNORE INTO lsh_buckets(band_key, seq) VALUES (?, ?)", [(k, seq) for k in keys])
                    self._link(seq, fp, keys)
                done.append((article, seq, new))
        return done

    def _link(self, seq: int, fp: Fingerprint, keys: list[int], among: set[int] | None = None) -> None:
        """Join ``seq`` to every group it has a verified near-copy in (merging them)."""
        db = self.store.db
        hits: dict[int, int] = {}
        if not fp.empty:
            for (other,) in db.execute("SELECT seq FROM fingerprints WHERE content_hash = ? AND seq != ?", (fp.content_hash, seq)):
                hits[other] = 10**6  # exact copies first
            marks = ",".join("?" * len(keys))
            for other, n in db.execute(
                f"SELECT seq, COUNT(*) FROM lsh_buckets WHERE band_key IN ({marks}) AND seq != ? GROUP BY seq", (*keys, seq)
            ):
                hits[other] = hits.get(other, 0) + n
        if among is not None:
            hits = {s: n for s, n in hits.items() if s in among}
        joined: list[int] = []
        for grp in self._groups_of(hits):  # join groups whose earliest article this is a near-copy of (see group_rows)
            rep = self._rep(grp)
            v = verify(fp, self._fingerprint(rep), self.config)
            if v.near:
                a, b = sorted((seq, rep))
                db.execute("INSERT OR REPLACE INTO near_pairs(a, b, jaccard, containment) VALUES (?,?,?,?)", (a, b, v.jaccard, v.containment))
                joined.append(grp)
        target = min(joined) if joined else seq
        db.execute("INSERT OR REPLACE INTO near_groups(seq, grp) VALUES (?, ?)", (seq, target))
        for grp in joined:
            if grp != target:
                db.execute("UPDATE near_groups SET grp = ? WHERE grp = ?", (target, grp))

    def _keys(self, fp: Fingerprint) -> list[int]:
        """An article's band keys as stored (signed 64-bit)."""
        return [] if fp.empty else band_keys_many([fp], self.config.fingerprint).view(_I64)[0].tolist()

    def _rep(self, grp: int) -> int:
        """The earliest article of a group (by date, then arrival)."""
        members = self.store.db.execute("SELECT a.seq, a.date FROM near_groups g JOIN articles a ON a.seq = g.seq WHERE g.grp = ?", (grp,)).fetchall()
        return min(members, key=lambda m: earliest_key(m[1], m[0]))[0]

    def _groups_of(self, seqs: Iterable[int]) -> set[int]:
        """The near-copy groups the given articles belong to."""
        return {g for (g,) in self.store.rows_in("SELECT grp FROM near_groups WHERE seq IN ({})", seqs)}

    def _fingerprint(self, seq: int) -> Fingerprint:
        (article,) = self.store.articles([seq])
        # One text: rensa's single-item path (its threaded batch path costs more here).
        return fingerprint(_fingerprint_text(article), self.config.fingerprint)

    # reading

    def rows(self, seqs: Sequence[int] | None = None) -> list[DedupRow]:
        """Rows for the given articles (default: all), with their groups' earliest article."""
        db = self.store.db
        if seqs is None:
            seqs = [s for (s,) in db.execute("SELECT seq FROM articles ORDER BY seq")]
        grp_of = dict(self.store.rows_in("SELECT seq, grp FROM near_groups WHERE seq IN ({})", seqs))
        reps = {grp: self._rep(grp) for grp in set(grp_of.values())}
        ids = self.store.seq_ids(set(seqs) | set(reps.values()))
        out = []
        for s in seqs:
            r = reps.get(grp_of.get(s, s), s)
            out.append(_row(ids[s], ids[r], None if r == s else verify(self._fingerprint(s), self._fingerprint(r), self.config)))
        return out

    # removing

    def remove(self, article_id: str) -> bool:
        """Remove an article; its group is re-formed from the members left. False if unknown."""
        seq = self.store.article_seq(article_id)
        if seq is None:
            return False
        with self.store.transaction() as db:
            row = db.execute("SELECT grp FROM near_groups WHERE seq = ?", (seq,)).fetchone()
            members = [s for (s,) in db.execute("SELECT seq FROM near_groups WHERE grp = ? AND seq != ? ORDER BY seq", (row[0] if row else -1, seq))]
            fp = self._fingerprint(seq)
            if not fp.empty:
                db.executemany("DELETE FROM lsh_buckets WHERE band_key = ? AND seq = ?", [(k, seq) for k in self._keys(fp)])
            self.store.delete_article(seq)
            if members:
                marks = ",".join("?" * len(members))
                db.execute(f"DELETE FROM near_pairs WHERE a IN ({marks}) OR b IN ({marks})", (*members, *members))
                db.execute(f"UPDATE near_groups SET grp = seq WHERE seq IN ({marks})", members)
                done: set[int] = set()
                for m in members:
                    fp = self._fingerprint(m)
                    self._link(m, fp, self._keys(fp), among=done)
                    done.add(m)
        return True
