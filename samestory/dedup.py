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

import itertools
import json
import math
import os
from collections import deque
from functools import partial
from dataclasses import asdict, dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np

from .article import Article
from .errors import SamestoryError
from .fingerprint import (
    CONTAINMENT_MIN_SHINGLES,
    DEFAULT_CONFIG,
    FINGERPRINT_SCHEME,
    SCHEME_HISTORY,
    NEAR_COPY_CONTAINMENT,
    NEAR_COPY_JACCARD,
    Fingerprint,
    FingerprintConfig,
    _fingerprint_packed,
    _unpack,
    band_keys_many,
    edit_tolerant_overlap,
    estimate_jaccard,
    fingerprint,
    fingerprint_many,
    intersection_size,
)
from .parallel import map_batches
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
    #: A cut-down copy joins a group through a member that contains it (not its earliest article) only
    #: when it also shares this much of itself (containment) with the earliest article: see group_rows.
    member_overlap: float = 0.25
    #: A pair that fails the rule on shared shingles but shares at least half the thresholds' worth is judged
    #: again with isolated changed words forgiven (:func:`~samestory.fingerprint.edit_tolerant_overlap`).
    edit_tolerant: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.jaccard <= 1 or not 0 < self.containment <= 1:
            raise ValueError("jaccard and containment thresholds must be in (0, 1]")

    def passes(self, jaccard, containment, smaller):
        """The near-copy rule on a pair's shingle overlap; ``smaller``: the shingles of its smaller text. Numbers
        give a bool, arrays (many pairs at once) an array of them."""
        return (jaccard >= self.jaccard) | ((containment >= self.containment) & (smaller >= self.min_containment_shingles))


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
    na, nb = len(a.shingles), len(b.shingles)
    inter = intersection_size(a.shingles, b.shingles)
    j = inter / (na + nb - inter)
    c = inter / min(na, nb)
    near = bool(config.passes(j, c, min(na, nb)))
    if not near and config.edit_tolerant and (j >= config.jaccard / 2 or c >= config.containment / 2):
        # the same rule on counts that forgive isolated changed words (a copy with 2-5% of its words replaced)
        tolerant = edit_tolerant_overlap(a.shingles, a.positions, b.shingles, b.positions, config.fingerprint.shingle_words)
        near = bool(config.passes(*tolerant, min(na, nb)))
    return Verdict(j, c, near)


#: Hoeffding margin on a signature's Jaccard estimate: with ``num_perm`` slots
#: the estimate falls this far below the true Jaccard with probability under
#: 1e-6 (``sqrt(ln(1e6) / (2 * num_perm))``; 0.23 for 128 slots).
def _estimate_margin(num_perm: int, delta: float = 1e-6) -> float:
    return math.sqrt(math.log(1 / delta) / (2 * num_perm))


def may_be_near(est_jaccard: float, n_a: int, n_b: int, config: DedupConfig = DedupConfig()) -> bool:
    """False only when the signatures rule out a near-copy (or a contained copy) beyond reasonable doubt.

    The least Jaccard the rule can accept for sets of these sizes is
    ``jaccard``, or for a contained copy ``c * s / (l + (1 - c) * s)`` (``s``,
    ``l`` the smaller and larger size, ``c`` the containment threshold); a
    pair whose estimate is more than the Hoeffding margin below that is
    skipped without exact verification. A conservative pre-filter: exact
    verification still decides every pair it lets through.
    """
    small, large = min(n_a, n_b), max(n_a, n_b)
    if small == 0:
        return False
    need = config.jaccard
    if small >= config.min_containment_shingles:
        c = config.containment
        need = min(need, c * small / (large + (1 - c) * small))
    return est_jaccard >= need - _estimate_margin(config.fingerprint.num_perm)


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


#: Articles per fingerprinting batch (one rensa call, one task for a worker process).
FINGERPRINT_CHUNK = 2000
#: Below this many articles, fingerprinting stays in this process (starting workers costs more).
PARALLEL_MIN_ARTICLES = 8000


def fingerprint_articles(
    articles: Iterable[Article],
    config: FingerprintConfig = DEFAULT_CONFIG,
    chunk: int = FINGERPRINT_CHUNK,
    workers: int | None = 1,
) -> Iterator[tuple[Article, Fingerprint]]:
    """Articles with their fingerprints, in input order, computed in batches.

    ``workers`` > 1 (None: ``os.cpu_count()``) fingerprints the batches in
    that many worker processes once the input reaches
    :data:`PARALLEL_MIN_ARTICLES`; smaller inputs run here. Fingerprints are
    deterministic, so the result is the same either way. Workers are started
    with ``spawn`` (never ``fork``), so a calling script must be import-safe (``if __name__ == "__main__":``), as for any
    multiprocessing; if the workers fail, the rest runs here with a warning.
    """
    workers = (os.cpu_count() or 1) if workers is None else workers
    it = iter(articles)
    ahead: list[Article] = []
    if workers > 1:
        ahead = list(itertools.islice(it, PARALLEL_MIN_ARTICLES))
    if workers > 1 and len(ahead) >= PARALLEL_MIN_ARTICLES:
        yield from _fingerprint_parallel(itertools.chain(ahead, it), config, chunk, workers)
        return
    for batch in _batches(itertools.chain(ahead, it), chunk):
        yield from zip(batch, fingerprint_many([_fingerprint_text(a) for a in batch], config))


def _batches(articles: Iterable[Article], chunk: int) -> Iterator[list[Article]]:
    it = iter(articles)
    while batch := list(itertools.islice(it, chunk)):
        yield batch


def _fingerprint_parallel(
    articles: Iterable[Article], config: FingerprintConfig, chunk: int, workers: int
) -> Iterator[tuple[Article, Fingerprint]]:
    """Batches fingerprinted in ``workers`` processes (:func:`samestory.parallel.map_batches`), yielded in order."""
    sent: deque[list[Article]] = deque()

    def texts() -> Iterator[list[str]]:
        for batch in _batches(articles, chunk):
            sent.append(batch)
            yield [_fingerprint_text(a) for a in batch]

    for _, packed in map_batches(partial(_fingerprint_packed, config=config), texts(), workers, what="fingerprinting worker"):
        yield from zip(sent.popleft(), _unpack(packed))


def _fingerprint_text(article: Article) -> str:
    """What is fingerprinted: the cleaned text (bylines, titles and boilerplate are not copy evidence)."""
    return article.text or ""


def dedup_batch(articles: Iterable[Article], config: DedupConfig = DedupConfig(), workers: int | None = None) -> list[DedupRow]:
    """Near-copy groups of a batch of articles, in memory; one row per article, input order.

    Articles must have distinct ids (a repeated id raises: the rows could not
    be told apart). ``workers``: processes for fingerprinting (default
    ``os.cpu_count()``; 1 runs everything here; inputs under
    :data:`PARALLEL_MIN_ARTICLES` always do). The rows are the same for any
    number of workers.
    """
    ids: list[str] = []
    dates: list[str | None] = []
    fps: list[Fingerprint] = []
    seen: set[str] = set()
    for article, fp in fingerprint_articles(articles, config.fingerprint, workers=workers):
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
    order = np.argsort(column)  # any order within a bucket (pairs are normalised after; a large bucket is sorted below)
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
        group = np.sort(members[s : s + m])  # chain of neighbours in input order plus a star on the first
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

    Articles are taken earliest first. An exact copy (same content hash as an
    earlier article) joins the group of the earliest article with that hash
    and nothing else; that earliest one stands for all of them, so it takes
    the candidates of every copy (``candidate_pairs`` puts only one of them
    in LSH, the store puts all of them: this is what makes the two agree).
    Any other article joins the groups of its earlier candidates whose
    earliest article it is itself a near-copy of, merging them when there
    are several. It also joins a group through a candidate member no smaller
    than itself that it is a near-copy of (a cut-down or edited copy of it)
    if it shares at least ``member_overlap`` of itself with the group's
    earliest article (two cut-downs of one story, one of them dated first; a
    page holding the text of many short stories does not pull them
    together, nor does a page of mostly boilerplate bridge the stories that
    carry it). When an article
    matches several groups it joins the one whose earliest article is most
    like it (Jaccard), and merges in the others only as :func:`_may_merge`
    allows. Copies of
    different stories that share only appended boilerplate (a footer, a
    newsletter box) verify against each other but not against the stories
    they copy, so they cannot chain groups together. The store-backed index
    applies the same rule as articles arrive, so both agree on input given in
    date order.
    """
    n = len(ids)
    order = sorted(range(n), key=lambda i: earliest_key(dates[i], i))
    rank = [0] * n
    for r, i in enumerate(order):
        rank[i] = r
    head = _exact_heads(fps, order)
    earlier: dict[int, set[int]] = {}  # per article: its candidates ranked before it
    for i, j in pairs.tolist():
        i, j = head[i], head[j]
        if i == j:
            continue
        if rank[i] > rank[j]:
            i, j = j, i
        earlier.setdefault(j, set()).add(i)
    uf = UnionFind(n)
    rep = list(range(n))  # per root: the group's earliest article
    for i in order:
        if head[i] != i:
            _join(uf, rep, rank, i, head[i])
            continue
        rep_checked: dict[int, bool | None] = {}  # roots whose earliest article i is not a near-copy of: may i join through a member?
        matched: dict[int, tuple[float, int, float]] = {}  # roots i may join -> _evidence against their earliest article
        for j in sorted(earlier.get(i, ()), key=rank.__getitem__):
            root = uf.find(j)  # no joins happen in this loop, so roots are stable
            if root in matched:
                continue
            r = rep[root]
            if root not in rep_checked:
                if _prefilter(fps[i], fps[r], config):
                    v = verify(fps[i], fps[r], config)
                    if v.near:
                        matched[root] = _evidence(fps[r], fps[i])
                        continue
                    rep_checked[root] = v.containment >= config.member_overlap
                else:
                    rep_checked[root] = None  # ruled out by the signatures; exact containment only if a member needs it
            if j == r or len(fps[j].shingles) < len(fps[i].shingles):
                continue
            if rep_checked[root] is None:
                rep_checked[root] = verify(fps[i], fps[r], config).containment >= config.member_overlap
            if rep_checked[root] and _prefilter(fps[i], fps[j], config) and verify(fps[i], fps[j], config).near:
                matched[root] = _evidence(fps[r], fps[i])
        if matched:
            first = _link_order(matched, lambda g: rank[rep[g]])
            primary = rep[first[0]]
            _join(uf, rep, rank, i, first[0])
            for g in first[1:]:
                if _may_merge(fps[rep[g]], fps[primary], matched[g][2], config):
                    _join(uf, rep, rank, i, g)
    reps = [rep[uf.find(i)] for i in range(n)]
    return [_row(ids[i], ids[r], None if r == i else verify(fps[i], fps[r], config)) for i, r in enumerate(reps)]


def _exact_heads(fps: Sequence[Fingerprint], order: Sequence[int]) -> list[int]:
    """Per article, the earliest article (first in ``order``) with its content hash; itself when it is the first or empty."""
    head = list(range(len(fps)))
    first: dict[str, int] = {}
    for i in order:
        if not fps[i].empty:
            head[i] = first.setdefault(fps[i].content_hash, i)
    return head


def _prefilter(a: Fingerprint, b: Fingerprint, config: DedupConfig) -> bool:
    """Whether the signatures leave room for a near-copy (see :func:`may_be_near`); exact copies always do."""
    if a.empty or b.empty:
        return False
    if a.content_hash == b.content_hash:
        return True
    return may_be_near(estimate_jaccard(a.signature, b.signature), len(a.shingles), len(b.shingles), config)


def _evidence(rep: Fingerprint, fp: Fingerprint) -> tuple[float, int, float]:
    """How strongly ``fp`` belongs with a group's earliest article: (Jaccard, shingles shared, share of that article shared)."""
    if rep.empty or fp.empty:
        return 0.0, 0, 0.0
    if rep.content_hash == fp.content_hash:
        return 1.0, len(rep.shingles), 1.0
    shared = intersection_size(rep.shingles, fp.shingles)
    return shared / (len(rep.shingles) + len(fp.shingles) - shared), shared, shared / len(rep.shingles)


def _link_order(matched: dict, earliest_rank) -> list:
    """Groups an article matched: the one whose earliest article is most like it first (Jaccard, then shared text, then the earliest)."""
    return sorted(matched, key=lambda g: (-matched[g][0], -matched[g][1], earliest_rank(g)))


def _may_merge(rep: Fingerprint, primary: Fingerprint, rep_covered: float, config: DedupConfig) -> bool:
    """Whether an article that joins the group of ``primary`` may also merge in the group of ``rep``.

    When the two earliest articles are near-copies themselves, or when the
    article holds the other group's earliest article nearly whole (it is a
    fuller version of both, as a story is of two cut-downs of it) and the two
    earliest articles share a passage (``member_overlap``). Otherwise a copy
    of one story carrying a footer that a copy of another story, or a page
    of nothing but that footer, also carries would merge the stories.
    """
    v = verify(rep, primary, config)
    if v.near:
        return True
    return rep_covered >= config.containment and len(rep.shingles) >= config.min_containment_shingles and v.containment >= config.member_overlap


def _join(uf: UnionFind, rep: list[int], rank: list[int], i: int, j: int) -> None:
    a, b = rep[uf.find(i)], rep[uf.find(j)]
    rep[uf.union(i, j)] = a if rank[a] < rank[b] else b


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
        #: Exact verifications the signature pre-filter saved (for the bench).
        self.skipped = 0
        self._check_config()

    def _check_config(self) -> None:
        wanted = json.dumps(asdict(self.config.fingerprint), sort_keys=True)
        row = self.store.db.execute("SELECT value FROM meta WHERE key = 'fingerprint_config'").fetchone()
        if row is None:
            with self.store.transaction() as db:
                db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('fingerprint_config', ?)", (wanted,))
            return
        if row[0] == wanted:
            return
        try:
            stored = json.loads(row[0])
            scheme = stored.get("scheme", 1) if isinstance(stored, dict) else None
        except ValueError:
            scheme = None
        if scheme is not None and scheme != FINGERPRINT_SCHEME:
            made = SCHEME_HISTORY.get(scheme, "unknown to this samestory: written by a newer version?")
            raise SamestoryError(
                f"{self.store.path}: the store's fingerprints were made by fingerprint scheme {scheme} ({made}); "
                f"this samestory makes scheme {FINGERPRINT_SCHEME} ({SCHEME_HISTORY[FINGERPRINT_SCHEME]}), and the two "
                "cannot be compared. Index the articles into a new store (nothing in this one was changed)."
            )
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
                if not new and db.execute("SELECT 1 FROM fingerprints WHERE seq = ?", (seq,)).fetchone() is None:
                    new = True  # stored by another stage (clustering), never indexed here: index it now
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
        if not fp.empty and self._link_exact(seq, fp, among):
            return
        hits = self._bucket_mates(seq, keys) if not fp.empty else set()
        if among is not None:
            hits &= among
        grp_of = dict(self.store.rows_in("SELECT seq, grp FROM near_groups WHERE seq IN ({})", hits))
        by_group: dict[int, list[int]] = {}
        for other in sorted(hits):
            if other in grp_of:
                by_group.setdefault(grp_of[other], []).append(other)
        reps = {grp: self._rep_keyed(grp) for grp in by_group}
        sigs = self._signatures(set(hits) | {r for r, _ in reps.values()})
        cache: dict[int, Fingerprint] = {}

        def fp_of(other: int) -> Fingerprint:
            if other not in cache:
                cache[other] = self._fingerprint(other)
            return cache[other]

        matched: dict[int, tuple[float, int, float]] = {}  # groups this article may join (see group_rows) -> _evidence
        pairs: dict[int, tuple[int, Verdict]] = {}
        for grp, members in sorted(by_group.items()):
            rep = reps[grp][0]
            v = None
            if rep not in sigs or self._prefilter(fp, sigs[rep]):
                v = verify(fp, fp_of(rep), self.config)
            else:
                self.skipped += 1
            if v is not None and v.near:
                matched[grp] = _evidence(fp_of(rep), fp)
                pairs[grp] = (rep, v)
                continue
            # or, a near-copy of a candidate member no smaller than it that shares a passage with the earliest article
            others = [m for m in members if m != rep and m in sigs and sigs[m][1] >= len(fp.shingles)]
            if not others:
                continue
            if v is None:
                v = verify(fp, fp_of(rep), self.config)
            if v.containment < self.config.member_overlap:
                continue
            for m in others:
                if not self._prefilter(fp, sigs[m]):
                    self.skipped += 1
                    continue
                vm = verify(fp, fp_of(m), self.config)
                if vm.near:
                    matched[grp] = _evidence(fp_of(rep), fp)
                    pairs[grp] = (m, vm)
                    break
        joined: list[int] = []
        if matched:
            order = _link_order(matched, lambda g: reps[g][1])
            primary = fp_of(reps[order[0]][0])
            joined = [order[0]] + [g for g in order[1:] if _may_merge(fp_of(reps[g][0]), primary, matched[g][2], self.config)]
        for grp in joined:
            other, v = pairs[grp]
            a, b = sorted((seq, other))
            db.execute("INSERT OR REPLACE INTO near_pairs(a, b, jaccard, containment) VALUES (?,?,?,?)", (a, b, v.jaccard, v.containment))
        target = min(joined) if joined else seq
        db.execute("INSERT OR REPLACE INTO near_groups(seq, grp) VALUES (?, ?)", (seq, target))
        for grp in joined:
            if grp != target:
                db.execute("UPDATE near_groups SET grp = ? WHERE grp = ?", (target, grp))

    def _bucket_mates(self, seq: int, keys: list[int]) -> set[int]:
        """Stored articles sharing an LSH key with ``seq``, linked as :func:`candidate_pairs` links a bucket's members.

        All members of a bucket of up to ``max_bucket`` articles; of a larger
        one (a boilerplate paragraph thousands of pages carry), the first
        member and the one stored just before ``seq``, its neighbours in the
        batch's chain. Without that, time per article would grow with the
        store.
        """
        if not keys:
            return set()
        members: dict[int, list[int]] = {}
        for key, other in self.store.db.execute(f"SELECT band_key, seq FROM lsh_buckets WHERE band_key IN ({','.join('?' * len(keys))})", keys):
            members.setdefault(key, []).append(other)
        mates: set[int] = set()
        for bucket in members.values():
            if len(bucket) <= self.config.max_bucket:
                mates.update(bucket)
            else:
                earlier = [m for m in bucket if m < seq]
                mates.update((min(bucket), max(earlier)) if earlier else ())
        mates.discard(seq)
        return mates

    def _link_exact(self, seq: int, fp: Fingerprint, among: set[int] | None) -> bool:
        """An exact copy joins the group of the earliest stored article with its content hash (as group_rows); False if there is none."""
        twins = [s for (s,) in self.store.db.execute("SELECT seq FROM fingerprints WHERE content_hash = ? AND seq != ?", (fp.content_hash, seq))]
        if among is not None:
            twins = [s for s in twins if s in among]
        if not twins:
            return False
        dated = self.store.rows_in("SELECT seq, date FROM articles WHERE seq IN ({})", twins)
        first = min(dated, key=lambda r: earliest_key(r[1], r[0]))[0]
        (grp,) = self.store.db.execute("SELECT grp FROM near_groups WHERE seq = ?", (first,)).fetchone()
        a, b = sorted((seq, first))
        self.store.db.execute("INSERT OR REPLACE INTO near_pairs(a, b, jaccard, containment) VALUES (?,?,?,?)", (a, b, 1.0, 1.0))
        self.store.db.execute("INSERT OR REPLACE INTO near_groups(seq, grp) VALUES (?, ?)", (seq, grp))
        return True

    def _signatures(self, seqs: Iterable[int]) -> dict[int, tuple[str, int, np.ndarray]]:
        """Stored (content hash, shingle count, signature) of articles."""
        return {
            s: (h, n, np.frombuffer(sig, dtype="<u4"))
            for s, h, n, sig in self.store.rows_in("SELECT seq, content_hash, n_shingles, signature FROM fingerprints WHERE seq IN ({})", seqs)
        }

    def _prefilter(self, fp: Fingerprint, stored: tuple[str, int, np.ndarray]) -> bool:
        """Whether a stored article may be a near-copy of ``fp``, judged from signatures (see :func:`may_be_near`)."""
        h, n, sig = stored
        if fp.empty or n == 0:
            return False
        if h == fp.content_hash:
            return True
        return may_be_near(estimate_jaccard(fp.signature, sig), len(fp.shingles), n, self.config)

    def _keys(self, fp: Fingerprint) -> list[int]:
        """An article's band keys as stored (signed 64-bit)."""
        return [] if fp.empty else band_keys_many([fp], self.config.fingerprint).view(_I64)[0].tolist()

    def _rep(self, grp: int) -> int:
        """The earliest article of a group (by date, then arrival)."""
        return self._rep_keyed(grp)[0]

    def _rep_keyed(self, grp: int) -> tuple[int, tuple]:
        """The earliest article of a group and its :func:`earliest_key`."""
        members = self.store.db.execute("SELECT a.seq, a.date FROM near_groups g JOIN articles a ON a.seq = g.seq WHERE g.grp = ?", (grp,)).fetchall()
        seq, date = min(members, key=lambda m: earliest_key(m[1], m[0]))
        return seq, earliest_key(date, seq)

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

    @classmethod
    def for_store(cls, store: Store) -> "NearCopyIndex":
        """The index with the fingerprint settings the store's fingerprints were made with (default thresholds)."""
        row = store.db.execute("SELECT value FROM meta WHERE key = 'fingerprint_config'").fetchone()
        if row is None:
            return cls(store)
        try:
            fingerprint = FingerprintConfig(**json.loads(row[0]))
        except (TypeError, ValueError):
            return cls(store)  # the constructor says what is wrong with it
        return cls(store, DedupConfig(fingerprint=fingerprint))

    def remove(self, article_id: str) -> bool:
        """Remove an article; its group is re-formed from the members left. False if unknown.

        An article in a story is refused (:class:`SamestoryError`): remove it with
        :meth:`samestory.cluster.StoryClusterer.remove`, which also takes it out of its story
        (size, centroid, name counts) and then calls this.
        """
        seq = self.store.article_seq(article_id)
        if seq is None:
            return False
        if self.store.db.execute("SELECT 1 FROM story_members WHERE seq = ?", (seq,)).fetchone():
            raise SamestoryError(f"{self.store.path}: article {article_id} belongs to a story; remove it with "
                                 "StoryClusterer.remove or `samestory remove`, which also update its story")
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
