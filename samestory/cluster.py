"""Stories: group a stream of articles into story clusters, in one pass, over time.

Each new article, in date order, is compared with **candidate stories**: the
stories whose centroid is nearest to it among those active in the last
:attr:`ClusterConfig.search_days` (an exact search over an in-memory matrix,
so its cost follows the news volume of that window, not the size of the
store), the nearest few older stories (an on-disk archive), every story
seen in the last :attr:`ClusterConfig.recent_days` days, and stories of any
age sharing a rare name with it. For each candidate, the article is scored
against the story's latest members by the **story linker**: boosted trees
over the same-story scorer's features (embedding cosines, character TF-IDF,
shared names and numbers, shingle overlap, lengths, languages), how rare the
shared names are, and the gap in days (a linker may also take the scorer's
own 1-4 estimate; the shipped one does not). The linker is trained on the labelled story streams in
``../shared/data/stories`` (``bench/train_linker.py``), so "same story" means
what editors grouping a news stream mean: the same incident, not the same
topic. Its probability falls with the date gap the way those streams do;
this learned time profile replaces a hand-set Gaussian over days, which it
beats on both labelled streams (``bench/train_linker.py --gaussian``;
:attr:`ClusterConfig.recency_sigma_days` keeps the Gaussian as an option).

The article joins the story with the best link probability at or above
:attr:`ClusterConfig.threshold`, or starts a new story. When it also links
to a second story at or above :attr:`ClusterConfig.merge_threshold`, the two
stories have converged and are merged (the older one keeps its id).

The state (stories, memberships) lives in the :class:`~samestory.store.Store`;
:class:`StoryClusterer` keeps what it needs in memory and writes each batch
in one transaction. A story's id is the id of its first article, so ids do
not depend on how the input was split into runs.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import math
import os
import struct
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from .article import Article
from .dates import to_iso
from .dedup import DedupConfig
from .errors import SamestoryError
from .features import (EMBEDDING_PARTS, ArticleProfile, PairText, article_profiles, feature_names, profile_features_many,
                       shared_counts_flat)

LINKER_DIR = Path(__file__).resolve().parent / "models" / "linker"
#: The archive of stories out of the search window, in the store directory (see :class:`_StoryArchive`).
INDEX_FILE = "stories.usearch"
#: How far in the future (days after today) a date may be before it is distrusted.
FUTURE_SLACK_DAYS = 2
#: ``article_names`` keeps a name's articles only up to this many (the rare-name candidate search reads only
#: names at most :attr:`ClusterConfig.rare_name_df` articles carry; rows of a common name would never be read,
#: and writing them was half the cost of committing a batch at 100,000 articles).
NAME_POSTINGS_MAX = 50
#: Name rows the log holds before a run moves it into ``article_names`` without waiting for its end (~20,000
#: articles; the log is mirrored in memory).
NAME_LOG_ROWS = 200_000
#: Names whose ``article_names`` rows stay in memory once read (a run's articles share names; past this
#: many, the memory is cleared).
NAMES_READ_KEPT = 200_000
#: Stories whose member blocks (the first cut's arrays of their latest members, ~5 KB each) stay in memory.
BLOCK_CACHE_STORIES = 20_000
#: A compared story member that is a near-copy of the article by this rule (the near-copy engine's, on their
#: shingles), under titles at least COPY_TITLE_COSINE alike (character n-gram cosine), gives its story
#: probability 1 whatever the linker says (``StoryClusterer._copies``).
COPY_RULE = DedupConfig()
COPY_TITLE_COSINE = 0.8


class ClusterError(SamestoryError):
    """The clusterer cannot run (a missing linker model, a store from another embedder)."""


@dataclass(frozen=True)
class ClusterConfig:
    """How articles are grouped into stories. The defaults are the ones measured in the README."""

    #: Link probability at or above which an article joins a story.
    threshold: float = 0.5
    #: Link probability to two stories at or above which they are merged.
    merge_threshold: float = 0.9
    #: Stories taken by centroid similarity.
    candidates: int = 20
    #: Centroid similarity searches the stories with an article in this many days before the latest
    #: article seen; older stories are found through rare shared names and the archive.
    search_days: int = 90
    #: Stories taken by centroid similarity among those older than ``search_days`` (the archive).
    archive_candidates: int = 5
    #: Stories seen within this many days are candidates too (capped at ``candidates`` more).
    recent_days: int = 2
    #: A story's latest members compared with the article.
    members: int = 4
    #: Stories sharing a name with the article that at most this many articles carry
    #: (a victim, a street; not a city) are candidates too (capped at ``candidates`` more).
    rare_name_df: int = 20
    #: At most this many candidate members are scored by the linker: the ones closest to the article
    #: by embedding cosine plus shared names (a cheap first cut; the linker decides).
    compare: int = 8
    #: Article embedder (the linker model is trained for one).
    embedder: str = "static"
    #: A hand-set time profile instead of the learned one (Miranda et al. 2018): each member's link
    #: probability times a Gaussian of the days between it and the article, this many days wide. None: the
    #: linker's own day-gap feature is the time profile (the default; ``bench/train_linker.py --gaussian``
    #: compares the two).
    recency_sigma_days: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.rare_name_df <= NAME_POSTINGS_MAX:
            raise ValueError(f"rare_name_df must be between 0 and {NAME_POSTINGS_MAX} (the articles a store keeps "
                             f"per name), not {self.rare_name_df}")

    @classmethod
    def for_threshold(cls, threshold: float, embedder: str | None = None) -> "ClusterConfig":
        """The defaults with another join threshold (merging never asks less than joining) and embedder."""
        return cls(threshold=threshold, merge_threshold=max(threshold, cls.merge_threshold),
                   embedder=embedder or cls.embedder)


# --------------------------------------------------------------------------- linker


#: Arrays of :attr:`Linker.other` in the linker's ``.npz`` carry this prefix.
OTHER_PREFIX = "other_"


@dataclass
class Linker:
    """The trained story-link classifier (boosted trees, logistic output).

    ``other``: trees for pairs whose languages are known and not both English
    (the ``english`` feature 0). The labelled streams are English only; a
    linker trained on them alone joined over a third of the different-story pairs
    of other languages published the same day (SemEval-2022 task 8 pairs: its
    similarity features read high between any two texts of one language), so
    those pairs get trees trained on the streams plus SemEval pairs in other
    languages (``bench/train_linker.py``). English pairs, and pairs with a
    language unknown, keep ``trees``.
    """

    features: list[str]
    trees: "object"
    scorer_model: str
    card: dict
    other: "object | None" = None

    def probability(self, X: np.ndarray) -> np.ndarray:
        if self.other is None or not len(X):
            return 1.0 / (1.0 + np.exp(-self.trees.predict(X)))
        foreign = X[:, self.features.index("english")] == 0  # NaN (a language unknown) stays with the streams' trees
        if not foreign.any():
            return 1.0 / (1.0 + np.exp(-self.trees.predict(X)))
        score = np.empty(len(X), dtype=np.float64)
        score[foreign] = self.other.predict(X[foreign])
        if not foreign.all():
            score[~foreign] = self.trees.predict(X[~foreign])
        return 1.0 / (1.0 + np.exp(-score))

    @classmethod
    def load(cls, path: Path | str = LINKER_DIR / "linker.json") -> "Linker":
        from .scorer import FORMAT_VERSION, Trees

        path = Path(path)
        if not path.is_file():
            raise ClusterError(f"no story linker model at {path}; reinstall samestory or run bench/train_linker.py")
        card = json.loads(path.read_text(encoding="utf-8"))
        if card.get("format") != FORMAT_VERSION:
            raise ClusterError(f"{path}: model format {card.get('format')!r}, this samestory reads {FORMAT_VERSION}")
        with np.load(path.with_suffix(".npz"), allow_pickle=False) as data:
            trees = Trees(baseline=float(card["baseline"]), **{k: data[k] for k in Trees.ARRAYS})
            other = (Trees(baseline=float(card["other_baseline"]), **{k: data[OTHER_PREFIX + k] for k in Trees.ARRAYS})
                     if "other_baseline" in card else None)
        if other is not None and "english" not in card["features"]:
            raise ClusterError(f"{path}: trees for other languages need the 'english' feature, which it does not read")
        return cls(card["features"], trees, card["scorer_model"], card, other)

    def save(self, path: Path | str = LINKER_DIR / "linker.json") -> None:
        from .scorer import FORMAT_VERSION, Trees

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {k: getattr(self.trees, k) for k in Trees.ARRAYS}
        card = {"format": FORMAT_VERSION, "features": self.features, "scorer_model": self.scorer_model,
                "baseline": self.trees.baseline, **self.card}
        if self.other is not None:
            arrays.update({OTHER_PREFIX + k: getattr(self.other, k) for k in Trees.ARRAYS})
            card["other_baseline"] = self.other.baseline
        np.savez_compressed(path.with_suffix(".npz"), **arrays)
        path.write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")


def linker_path(embedder: str = "static") -> Path:
    """Where the shipped linker for clustering on ``embedder``'s vectors is (``bench/train_linker.py --embedder``)."""
    return LINKER_DIR / ("linker.json" if embedder == "static" else f"linker-{embedder}.json")


@lru_cache(maxsize=None)
def load_linker(embedder: str = "static") -> Linker:
    """The shipped linker for clustering on ``embedder``'s vectors."""
    path = linker_path(embedder)
    if embedder != "static" and not path.is_file():
        raise ClusterError(f"no story linker ships for the {embedder} embedder; train one with bench/train_linker.py "
                           f"--embedder {embedder} --out LINKER.json and pass Linker.load(LINKER.json) as linker=")
    return Linker.load(path)


#: Link features beyond the scorer's: its 1-4 estimate, the day gap, and how rare the shared names are.
LINK_EXTRA = ("scorer_overall", "day_gap", "names_idf_max", "names_idf_share", "names_shared")


def link_feature_names(embedder: str = "static") -> list[str]:
    """Every feature the linker can use, in column order."""
    return feature_names((embedder,)) + list(LINK_EXTRA)


# --------------------------------------------------------------------------- articles in memory


@dataclass
class StreamArticle:
    """One article as the clusterer sees it: key, day, and what pair features need."""

    key: int
    id: str
    day: int
    date_assumed: bool
    profile: ArticleProfile
    vectors: object  # samestory.embed.ArticleVectors


def _day_or_problem(date: str | None, today: dt.date | None = None) -> tuple[int | None, str | None]:
    """(day number, None) for a usable date; (None, why not) otherwise."""
    if date is None or not str(date).strip():
        return None, "no date"
    iso = to_iso(date)  # None also for years outside 1900-2099, which to_iso takes for parse accidents
    try:
        day = dt.date.fromisoformat((iso or str(date).strip())[:10])
    except ValueError:
        return None, "an unreadable date"
    today = today or dt.date.today()
    if day > today + dt.timedelta(days=FUTURE_SLACK_DAYS):
        return None, f"a date more than {FUTURE_SLACK_DAYS} days ahead"
    if iso is None:
        return None, "an unreadable date"
    return day.toordinal(), None


def article_day(date: str | None, today: dt.date | None = None) -> int | None:
    """The proleptic day number of an ISO date; None when unknown or implausibly in the future."""
    return _day_or_problem(date, today)[0]


def date_problem(date: str | None, today: dt.date | None = None) -> str | None:
    """Why a date is not used to place an article ("no date", "an unreadable date", "a date more than 2 days
    ahead"), so that it is placed by arrival; None when it is used."""
    return _day_or_problem(date, today)[1]


def placed_by_arrival_note(reasons: Mapping[str, int], total: int, examples: Sequence[str] = ()) -> str:
    """What ``cluster`` (local or on Spark) says of the articles it placed by arrival instead of by their date:
    how many of ``total``, ``reasons`` counted (:func:`date_problem`), a few ``examples`` of their ids."""
    from .errors import quoted

    n = sum(reasons.values())
    why = ", ".join(f"{k} with {reason}" for reason, k in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    shown = ", ".join(quoted(i) for i in examples) + (", ..." if n > len(examples) else "")
    return (f"{n} of {total} articles were placed where they arrived, on the latest day seen, not by their date ({why}); "
            f"a store marks them date_assumed" + (f": {shown}" if examples else ""))


def iso_day(day: int) -> str:
    return dt.date.fromordinal(int(day)).isoformat()


# --------------------------------------------------------------------------- stories in memory


@dataclass
class _Story:
    sid: int
    id: str
    first_day: int
    last_day: int
    members: list[tuple[int, int]] | None  # (day, article key), kept sorted; None until read from the store
    vec_sum: np.ndarray
    _centroid: np.ndarray | None = field(default=None, repr=False)

    @property
    def centroid(self) -> np.ndarray:
        """The unit mean vector, computed once per change (candidate search reads it for every recent story)."""
        if self._centroid is None:
            n = float(np.linalg.norm(self.vec_sum))
            self._centroid = self.vec_sum / n if n else self.vec_sum
        return self._centroid

    def add(self, members: Sequence[tuple[int, int]], vec_sum: np.ndarray) -> None:
        for member in members:
            bisect.insort(self.members, member)
        self.vec_sum = self.vec_sum + vec_sum
        self._centroid = None

    def latest(self, m: int) -> list[int]:
        return [key for _, key in self.members[-m:]]


@dataclass(frozen=True)
class _MemberBlock:
    """What the first cut reads of a story's latest members, as arrays: their keys, document vectors, name
    counts and name hashes laid end to end. An article's candidate stories are ~40 blocks concatenated,
    instead of ~150 members fetched one by one (a third of the linking time before)."""

    keys: np.ndarray
    docs: np.ndarray
    n_names: np.ndarray  # names per member (float64)
    name_ids: np.ndarray  # the members' sorted name hashes, end to end
    name_lens: np.ndarray  # name hashes per member


class _CentroidIndex:
    """Nearest story centroids, searched exactly over the stories it holds (the active ones).

    A matrix of unit centroids: an upsert writes a row, a search is one
    matrix-vector product. Exact, so the candidates do not depend on the order
    stories came in (a store resumed after a crash, or a stream fed in ten
    runs, finds what one run finds), and with stories leaving it once they
    fall out of :attr:`ClusterConfig.search_days` its size follows the news
    volume of that window, not the size of the store. (An approximate graph
    index, usearch HNSW, was used before: its inserts alone cost ~1 ms an
    article, and its answers depended on insertion order.)
    """

    def __init__(self, dim: int):
        self._vecs = np.zeros((256, dim), dtype=np.float32)
        self._keys = np.full(256, -1, dtype=np.int64)
        self._row: dict[int, int] = {}
        self._used = 0
        # products prepared for a run of upcoming articles (:meth:`prepare`)
        self._slot: dict[bytes, int] = {}  # a prepared vector's bytes -> its row of _pre
        self._pre = np.zeros((0, 0), dtype=np.float32)  # (prepared vectors, _pre_used) cosines
        self._pre_used = 0  # rows that existed when prepared (later rows are computed when searched)
        self._changed: set[int] = set()  # rows written since

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, sid: int) -> bool:
        return sid in self._row

    def upsert(self, sid: int, vec: np.ndarray) -> None:
        row = self._row.get(sid)
        if row is None:
            if self._used == len(self._keys):
                self._make_room()
            row = self._row[sid] = self._used
            self._keys[row] = sid
            self._used += 1
        elif row < self._pre_used:
            self._changed.add(row)
        self._vecs[row] = vec

    def remove(self, sid: int) -> None:
        row = self._row.pop(sid, None)
        if row is not None:
            self._keys[row] = -1
            self._vecs[row] = 0.0

    def _make_room(self) -> None:
        """Drop the rows of removed stories (keeping order), and double the matrix if still full."""
        keep = np.flatnonzero(self._keys[:self._used] >= 0)
        size = len(self._keys) * (2 if len(keep) > len(self._keys) // 2 else 1)
        vecs, keys = np.zeros((size, self._vecs.shape[1]), dtype=np.float32), np.full(size, -1, dtype=np.int64)
        vecs[:len(keep)], keys[:len(keep)] = self._vecs[keep], self._keys[keep]
        self._vecs, self._keys, self._used = vecs, keys, len(keep)
        self._row = {int(sid): row for row, sid in enumerate(keys[:len(keep)])}
        self._slot = {}  # rows moved: the prepared products no longer line up

    def prepare(self, vecs: np.ndarray) -> None:
        """Compute the cosines of the next articles' vectors with every row now, in one matrix product.

        A search for one of them then reads its row of products and computes
        only the rows written or added since. Per article, a matrix-vector
        product reads the whole matrix from memory (a few MB once the loop's
        other work has pushed it out of cache); a matrix product reads it once
        for the lot. The values are the same up to float rounding.
        """
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        self._pre = vecs @ self._vecs[:self._used].T
        self._pre_used = self._used
        self._slot = {v.tobytes(): i for i, v in enumerate(vecs)}
        self._changed = set()

    def search(self, vec: np.ndarray) -> np.ndarray:
        """Cosines of ``vec`` with every row, for :meth:`nearest` and :meth:`similarities` to share: from
        :meth:`prepare` when it was prepared, else one matrix-vector product."""
        vec = vec.astype(np.float32)
        slot = self._slot.get(vec.tobytes()) if self._slot else None
        if slot is None:
            return self._vecs[:self._used] @ vec
        sims = np.empty(self._used, dtype=np.float32)
        sims[:self._pre_used] = self._pre[slot]
        if self._used > self._pre_used:
            sims[self._pre_used:] = self._vecs[self._pre_used:self._used] @ vec
        if self._changed:
            rows = np.fromiter(self._changed, dtype=np.intp, count=len(self._changed))
            sims[rows] = self._vecs[rows] @ vec
        return sims

    def similarities(self, sids: Sequence[int], vec: np.ndarray, sims: np.ndarray | None = None) -> np.ndarray | None:
        """Cosines of the given stories' centroids with ``vec`` (``sims``: its :meth:`search`, if made);
        None unless all are held."""
        rows = np.fromiter(map(self._row.get, sids, itertools.repeat(-1)), dtype=np.intp, count=len(sids))
        if len(rows) and rows.min() < 0:
            return None
        return (self.search(vec) if sims is None else sims)[rows]

    def nearest(self, vec: np.ndarray, k: int, sims: np.ndarray | None = None) -> list[int]:
        """The ``k`` story keys of highest cosine, ties by key (``sims``: the :meth:`search` of ``vec``, if made)."""
        k = min(k, len(self._row))
        if k <= 0:
            return []
        sims = (self.search(vec) if sims is None else sims).copy()
        keys = self._keys[:self._used]
        sims[keys < 0] = -np.inf
        top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        top = top[np.lexsort((keys[top], -sims[top]))]
        return [int(key) for key in keys[top]]


class _ByLastDay:
    """Live story keys filed by their latest day: "stories seen in the last days" without a query (the
    stories table's index answered it, but fetching a few hundred rows an article cost more than the rest
    of the candidate search)."""

    def __init__(self):
        self._days: list[int] = []  # sorted
        self._keys: dict[int, set[int]] = {}
        self._day_of: dict[int, int] = {}
        self._sorted: dict[int, list[int]] = {}  # a day's keys in order, made when first asked for

    def file(self, sid: int, day: int) -> None:
        old = self._day_of.get(sid)
        if old == day:
            return
        if old is not None:
            self._drop(sid, old)
        self._day_of[sid] = day
        keys = self._keys.get(day)
        if keys is None:
            keys = self._keys[day] = set()
            bisect.insort(self._days, day)
        keys.add(sid)
        self._sorted.pop(day, None)

    def remove(self, sid: int) -> None:
        old = self._day_of.pop(sid, None)
        if old is not None:
            self._drop(sid, old)

    def _drop(self, sid: int, day: int) -> None:
        keys = self._keys[day]
        keys.discard(sid)
        self._sorted.pop(day, None)
        if not keys:
            del self._keys[day]
            del self._days[bisect.bisect_left(self._days, day)]

    def between(self, first: float, end: float = math.inf) -> list[int]:
        """Keys of the stories whose latest day is in ``[first, end)``, by (latest day, key)."""
        days = self._days[bisect.bisect_left(self._days, first):bisect.bisect_left(self._days, end)]
        out: list[int] = []
        for d in days:
            keys = self._sorted.get(d)
            if keys is None:
                keys = self._sorted[d] = sorted(self._keys[d])
            out += keys
        return out


#: Up to this many stories the archive is searched exactly (a matrix, ~0.1 ms), past it approximately (HNSW).
EXACT_ARCHIVE_STORIES = 10_000


class _StoryArchive:
    """Stories out of the search window, in an on-disk usearch index (``DIR/stories.usearch``).

    A story enters once, when it leaves :class:`_CentroidIndex` (no new
    article for ``search_days``), and leaves if it comes back, so its inserts
    cost little; searching it finds an old story a late follow-up resembles
    without scanning every story ever made. Derived data: saved beside a
    stamp of the store state after each run and rebuilt from the database
    when missing, stale (a crash) or damaged.
    """

    def __init__(self, dim: int):
        from usearch.index import Index

        self.index = Index(ndim=dim, metric="cos", dtype="f32")
        self._dim = dim
        self._exact: _CentroidIndex | None = _CentroidIndex(dim)  # the same vectors, while few
        self._prepared = np.zeros((0, dim), dtype=np.float32)  # the vectors of the last :meth:`prepare`

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, sid: int) -> bool:
        return sid in self.index

    def add(self, sid: int, vec: np.ndarray) -> None:
        if sid not in self.index:
            self.index.add(sid, vec.astype(np.float32), threads=1)
            if self._exact is not None:
                self._exact.upsert(sid, vec)

    def remove(self, sid: int) -> None:
        if sid in self.index:
            self.index.remove(sid)
            if self._exact is not None:
                self._exact.remove(sid)

    def prepare(self, vecs: np.ndarray) -> None:
        """:meth:`_CentroidIndex.prepare` of the exact search, for the next articles."""
        self._prepared = vecs
        if self._exact is not None:
            self._exact.prepare(vecs)

    def nearest(self, vec: np.ndarray, k: int) -> list[int]:
        """Exact while small, so the answer depends only on which stories are archived (a rebuilt archive
        answers as the saved one did); HNSW past :data:`EXACT_ARCHIVE_STORIES`."""
        if len(self.index) == 0 or k <= 0:
            return []
        if len(self.index) <= EXACT_ARCHIVE_STORIES:
            if self._exact is None:  # back under the bound: the matrix again, from the index's own vectors
                self._exact = _CentroidIndex(self._dim)
                keys = np.asarray(self.index.keys, dtype=np.int64)
                for sid, v in zip(keys.tolist(), self.index.get(keys)):
                    self._exact.upsert(sid, v)
                self._exact.prepare(self._prepared)
            return self._exact.nearest(vec, k)
        self._exact = None
        matches = self.index.search(vec.astype(np.float32), min(k, len(self.index)), threads=1)
        return [int(key) for key in matches.keys]

    def save(self, path: Path, stamp: str) -> None:
        """Write the index and, beside it, the store state it reflects (written last: a crash in between
        leaves a stale stamp, and the index is rebuilt from the database next time)."""
        tmp = path.with_name(path.name + ".tmp")
        self.index.save(str(tmp))
        os.replace(tmp, path)
        stamp_path = path.with_name(path.name + ".stamp")
        stamp_path.with_name(stamp_path.name + ".tmp").write_text(stamp, encoding="utf-8")
        os.replace(stamp_path.with_name(stamp_path.name + ".tmp"), stamp_path)

    def load(self, path: Path, stamp: str, expected: int) -> bool:
        """Load a saved index if it reflects exactly this store state; False (and nothing loaded) otherwise."""
        stamp_path = path.with_name(path.name + ".stamp")
        try:
            if stamp_path.read_text(encoding="utf-8") != stamp:
                return False
            self.index.load(str(path))
        except (OSError, ValueError, RuntimeError):
            self.index.reset()
            return False
        if len(self.index) != expected:
            self.index.reset()
            return False
        self._exact = None  # made again from the loaded vectors on the first search
        return True


#: Articles whose centroid cosines are computed in one matrix product (the rows written since are computed
#: per article, so a longer run of articles computes more of those again).
PREPARE_ARTICLES = 100

#: From this many articles on, :meth:`StoryClusterer.add` analyses them in a worker process (starting one costs ~2 s).
PARALLEL_MIN_ARTICLES = 2000


def _pair_text(article: Article) -> PairText:
    return PairText(article.title or "", article.text or "", article.lang, None)


def analyse_texts(texts: Sequence[PairText], embedder, cache=None) -> list[tuple[ArticleProfile, object]]:
    """What linking needs of each article, computed once: its lexical profile and its vectors."""
    from .embed import embed_articles

    vectors = embed_articles([(t.title, t.text) for t in texts], embedder, cache=cache)
    return list(zip(article_profiles(texts), vectors))


_ANALYSIS_HEADER = struct.Struct("<4sIIIII")  # magic, scheme, profile bytes, names, name hashes, dimension


@lru_cache(maxsize=1)
def _analysis_scheme() -> int:
    """Changes with the shipped IDF table and the shingle scheme: profiles stored under others are analysed
    again, not reused."""
    from .features import char_idf
    from .fingerprint import FINGERPRINT_SCHEME

    return zlib.crc32(char_idf().tobytes() + FINGERPRINT_SCHEME.to_bytes(4, "little")) ^ 1


def encode_analysis(profile: ArticleProfile, vectors) -> bytes:
    """An article's analysis as stored in ``link_profiles`` (~9 KB: float16 weights and vectors).

    The clusterer only ever links with decoded analyses, fresh or stored
    (:func:`decode_analysis` of this is a fixed point), so a member read back
    from the store scores exactly as it did when it was analysed. A head
    before the rest holds what the first cut of candidate members reads (the
    decoded document vector, the name count and name hashes), so that
    :func:`decode_head` gets it without decompressing the profile.
    """
    return _encode(profile, vectors)[0]


def _encode(profile: ArticleProfile, vectors) -> tuple[bytes, tuple[ArticleProfile, object]]:
    """:func:`encode_analysis` and, decoded once on the way, what :func:`decode_analysis` gives of it."""
    from .embed import ArticleVectors

    p, v = profile.to_bytes(), vectors.to_bytes()
    decoded = (ArticleProfile.from_bytes(p), ArticleVectors.from_bytes(v))
    doc = decoded[1].doc.astype("<f4")
    ids = profile.name_ids.astype("<u8")
    head = _ANALYSIS_HEADER.pack(b"SSA2", _analysis_scheme(), len(p), len(profile.names), len(ids), len(doc))
    return b"".join((head, doc.tobytes(), ids.tobytes(), p, v)), decoded


def _analysis_parts(data: bytes) -> tuple[int, int, int, int] | None:
    """(profile bytes, names, name hashes, dimension) of the head, whose arrays follow the header; None when the
    bytes were made under another scheme or format (then the text is analysed again)."""
    if len(data) < _ANALYSIS_HEADER.size:
        return None
    magic, scheme, n_profile, n_names, n_ids, dim = _ANALYSIS_HEADER.unpack_from(data)
    if magic != b"SSA2" or scheme != _analysis_scheme():
        return None
    return n_profile, n_names, n_ids, dim


def decode_analysis(data: bytes) -> tuple[ArticleProfile, object] | None:
    """:func:`encode_analysis` read back; None when made under another scheme (then the text is analysed again)."""
    from .embed import ArticleVectors

    parts = _analysis_parts(data)
    if parts is None:
        return None
    n_profile, _, n_ids, dim = parts
    start = _ANALYSIS_HEADER.size + 4 * dim + 8 * n_ids
    return ArticleProfile.from_bytes(data[start:start + n_profile]), ArticleVectors.from_bytes(data[start + n_profile:])


def decode_head(data: bytes) -> tuple[np.ndarray, int, np.ndarray] | None:
    """The head of :func:`encode_analysis`: (document vector, name count, sorted name hashes), equal to the
    decoded analysis's ``vectors.doc``, ``len(profile.names)`` and ``profile.name_ids``; None as in
    :func:`decode_analysis`."""
    parts = _analysis_parts(data)
    if parts is None:
        return None
    _, n_names, n_ids, dim = parts
    start = _ANALYSIS_HEADER.size
    doc = np.frombuffer(data, dtype="<f4", count=dim, offset=start).astype(np.float32)
    ids = np.frombuffer(data, dtype="<u8", count=n_ids, offset=start + 4 * dim).astype(np.uint64)
    return doc, n_names, ids


def analyse_encoded(texts: Sequence[PairText], embedder, cache=None) -> list[tuple[bytes, tuple[ArticleProfile, object]]]:
    """:func:`analyse_texts`, each result as its :func:`encode_analysis` bytes (what is stored) and those
    bytes decoded (what is linked with), so a fresh article and a stored one are the same to the linker.
    Decoding is done here, in the analysis worker when there is one, not in the linking loop."""
    out = []
    for profile, vectors in analyse_texts(texts, embedder, cache):
        data, decoded = _encode(profile, vectors)
        _ = (decoded[0].name_ids, decoded[1].body)  # cached on the objects: computed here, not in the linking loop
        out.append((data, decoded))
    return out


def _head(art: "StreamArticle") -> tuple[np.ndarray, int, np.ndarray]:
    """What :func:`decode_head` reads from a stored analysis, of an article in memory."""
    return art.vectors.doc, len(art.profile.names), art.profile.name_ids


def _analyse_in_worker(texts: list[PairText], embedder: str) -> list[tuple[bytes, tuple[ArticleProfile, object]]]:
    from .embed import get_embedder

    return analyse_encoded(texts, get_embedder(embedder))


class StoryClusterer:
    """Online story clustering over a store: :meth:`add` articles, read stories back.

    >>> with Store("news.store") as store:                       # doctest: +SKIP
    ...     clusterer = StoryClusterer(store)
    ...     assignments = clusterer.add(cleaned_articles)         # [(article id, story id), ...]
    """

    def __init__(self, store, config: ClusterConfig = ClusterConfig(), linker: Linker | None = None,
                 cache_articles: int = 20_000):
        from .embed import EmbeddingCache, get_embedder
        from .scorer import load_model

        self.store = store
        self.config = config
        self.linker = linker or load_linker(config.embedder)
        self.scorer = load_model(self.linker.scorer_model)
        all_names = link_feature_names(config.embedder)
        # the scorer's estimate is a linker input only if the linker was trained with it (the gold-forced
        # training pass, whose linker lists every feature, always computes it)
        self._uses_scorer = "scorer_overall" in self.linker.features
        scorer_names = feature_names((config.embedder,))
        unknown = [f for f in self.linker.features if f not in all_names]
        unknown += [f for f in self.scorer.features if self._uses_scorer and f not in scorer_names]
        if unknown:  # checked before the store is stamped with the embedder
            raise ClusterError(f"the story linker was trained for another embedder than {config.embedder!r} (it reads "
                               f"{', '.join(unknown[:3])}); train one for it with bench/train_linker.py --embedder "
                               f"{config.embedder} --out LINKER.json and pass Linker.load(LINKER.json) as linker=, "
                               f"or keep the default embedder")
        self._linker_cols = [all_names.index(f) for f in self.linker.features]
        self._copy_cols = [all_names.index(f) for f in ("shingle_jaccard", "shingle_containment", "title_char_cos")]
        self._scorer_cols = [scorer_names.index(f) for f in self.scorer.features] if self._uses_scorer else []
        self.embedder = get_embedder(config.embedder)
        self._check_store_embedder()
        self.embeddings = EmbeddingCache(max_items=cache_articles)
        self._cache_articles = cache_articles
        #: Articles of the last :meth:`add` placed by arrival, not by their date: id -> why (see :func:`date_problem`).
        self.placed_by_arrival: dict[str, str] = {}
        self._empty()
        self._load()

    def _empty(self) -> None:
        """What the clusterer holds in memory, before :meth:`_load` reads the store into it."""
        self._articles: OrderedDict[int, StreamArticle] = OrderedDict()
        self._stories: dict[int, _Story] = {}
        self._blocks: OrderedDict[int, _MemberBlock] = OrderedDict()
        self._story_of: dict[int, int] = {}  # article key -> story, for the stories whose members were read
        self._n_clustered = 0  # articles in stories (the document count of the name IDFs)
        self._index = _CentroidIndex(self.embedder.dim)
        self._archive = _StoryArchive(self.embedder.dim)
        self._by_last_day = _ByLastDay()
        self._last_day: int | None = None
        self._name_df: dict[str, int] = {}
        self._new_df: dict[str, int] = {}  # counted in this batch, not yet written
        self._name_log: dict[str, list[int]] = {}  # the articles of each name in ``name_log`` (not yet in article_names)
        self._name_log_rows = 0
        self._new_names: list[tuple[str, int]] = []  # (name, article) rows of this batch, not yet written
        self._names_read: dict[str, list[int]] = {}  # article_names rows read since the log last moved into it

    # --- persistence ------------------------------------------------------------

    def _check_store_embedder(self) -> None:
        made_with = _embedder_meta(self.store)
        if made_with is None:
            with self.store.transaction() as db:
                db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('cluster_embedder', ?)", (self.embedder.name,))
        elif made_with != self.embedder.name:
            raise ClusterError(f"{self.store.path}: its stories were made with the {made_with} embedder, "
                               f"not {self.embedder.name}; use a new store or the same embedder")

    @property
    def index_path(self) -> Path:
        """The on-disk archive index (derived data: rebuilt from the database when stale)."""
        return self.store.path / INDEX_FILE

    def _stamp(self) -> str:
        members, top = self.store.db.execute(
            "SELECT (SELECT COUNT(*) FROM story_members), (SELECT COALESCE(MAX(story), 0) FROM stories)").fetchone()
        return f"{self.embedder.name}:{members}:{top}:{self.config.search_days}"

    def _load(self) -> None:
        """Read the live stories (not their members: :meth:`_with_members` reads those of a story when it is
        first compared with or joined, so opening a store does not grow with the articles it holds)."""
        db = self.store.db
        self._data_version = db.execute("PRAGMA data_version").fetchone()[0]  # before reading: a later commit shows
        for sid, sid_text, first, last, vec in db.execute(
                "SELECT story, id, first_day, last_day, vec_sum FROM stories WHERE merged_into IS NULL ORDER BY story"):
            self._stories[sid] = _Story(sid, sid_text, first, last, None, np.frombuffer(vec, dtype=np.float32).copy())
            self._by_last_day.file(sid, last)
            self._last_day = last if self._last_day is None else max(self._last_day, last)
        self._n_clustered = db.execute("SELECT COUNT(*) FROM story_members").fetchone()[0]
        old = []
        for story in self._stories.values():  # the active ones, as a run that never stopped would hold them
            if not self._index_story(story, archive=False):
                old.append(story)
        if not self._archive.load(self.index_path, self._stamp(), len(old)):
            for story in old:
                self._archive.add(story.sid, story.centroid)
        self._name_df = dict(db.execute("SELECT name, df FROM name_df"))
        for name, seq in db.execute("SELECT name, seq FROM name_log ORDER BY rowid"):
            self._name_log.setdefault(name, []).append(seq)
            self._name_log_rows += 1

    def _sync(self) -> None:
        """Read the store again if another connection committed to it since this clusterer read it: another
        process clustering into the same store, ``samestory remove``, a second service. Writing from the stale
        memory would undo what the other wrote (sizes, centroids) or fail on stories it never saw. Called at the
        start of each write transaction, where no other writer can commit until it ends."""
        if self.store.db.execute("PRAGMA data_version").fetchone()[0] != self._data_version:
            self._reload()

    def _with_members(self, story: _Story) -> _Story:
        """The story with its members read from the store, if not yet (a merge moves the memberships of the
        story merged away in its own transaction, so a live story's rows are all its members)."""
        if story.members is None:
            story.members = [(day, seq) for day, seq in self.store.db.execute(
                "SELECT day, seq FROM story_members WHERE story = ? ORDER BY day, seq", (story.sid,))]
            for _, seq in story.members:
                self._story_of[seq] = story.sid
        return story

    def _stories_of(self, seqs: Sequence[int]) -> dict[int, int]:
        """The live story of each of these clustered articles (from memory, else from the store)."""
        out = {seq: self._story_of[seq] for seq in seqs if seq in self._story_of}
        unread = [seq for seq in seqs if seq not in out]
        if unread:
            read = {seq: self._live(sid) for seq, sid in self.store.rows_in(
                "SELECT seq, story FROM story_members WHERE seq IN ({})", unread)}
            self._story_of.update(read)  # kept true by merges (they read the members of both stories)
            out.update(read)
        return {seq: sid if sid in self._stories else self._live(sid) for seq, sid in out.items()}

    def _live(self, sid: int) -> int:
        """Follow merges to the story a (possibly merged-away) story lives on in."""
        while sid not in self._stories:
            row = self.store.db.execute("SELECT merged_into FROM stories WHERE story = ?", (sid,)).fetchone()
            if row is None or row[0] is None:
                raise ClusterError(f"{self.store.path}: story {sid} is missing; run an integrity check")
            sid = row[0]
        return sid

    # --- articles ---------------------------------------------------------------

    def _prepare(self, items: Sequence[tuple[int, Article, int, bool]]) -> list[StreamArticle]:
        return [self._placed(seq, day, assumed, done) for (seq, _, day, assumed), done
                in zip(items, self._analyse([a for _, a, _, _ in items]))]

    def _analyse(self, articles: Sequence[Article]) -> list[tuple[str, bytes, tuple]]:
        """Analyses of many articles in one batch (the vectoriser and embedder cost per call): ``(id, bytes, decoded)``."""
        texts = [_pair_text(a) for a in articles]
        return [(a.id, *done) for a, done in zip(articles, analyse_encoded(texts, self.embedder, self.embeddings))]

    def _analysed_batches(self, batches: list[list[Article]], workers: int | None) -> Iterator[list[tuple]]:
        """:meth:`_analyse` of each batch, in order; in a worker process that runs ahead of the linking
        when there is a spare core and enough articles (the analysis is independent per article, the linking is not)."""
        if workers is None:
            workers = 1 if (os.cpu_count() or 1) > 1 else 0
        if workers < 1 or sum(map(len, batches)) < PARALLEL_MIN_ARTICLES:
            yield from (self._analyse(b) for b in batches)
            return
        from .parallel import map_batches

        texts = ([_pair_text(a) for a in b] for b in batches)
        # the first batch is analysed here while the worker starts (importing and loading models takes longer
        # than analysing a batch; linking would otherwise wait for both)
        work = map_batches(partial(_analyse_in_worker, embedder=self.config.embedder), texts, workers,
                           local=lambda t: analyse_encoded(t, self.embedder, self.embeddings), what="article analysis worker",
                           local_first=1)
        for b, (_, analysed) in zip(batches, work):
            yield [(a.id, *done) for a, done in zip(b, analysed)]

    @staticmethod
    def _placed(seq: int, day: int, assumed: bool, done: tuple[str, bytes, tuple]) -> StreamArticle:
        from dataclasses import replace

        article_id, _, (profile, vectors) = done
        placed = replace(profile, date=iso_day(day))
        if "name_ids" in vars(profile):  # keep what the analysis worker cached (replace makes a new object)
            vars(placed)["name_ids"] = profile.name_ids
        return StreamArticle(seq, article_id, day, assumed, placed, vectors)

    def _member(self, key: int) -> StreamArticle:
        """A story member's analysis: from memory, else as stored (``link_profiles``), else analysed again."""
        art = self._articles.get(key)
        if art is not None:
            self._articles.move_to_end(key)
            return art
        day, assumed, article_id, data = self.store.db.execute(
            "SELECT m.day, m.date_assumed, a.id, p.data FROM story_members m JOIN articles a ON a.seq = m.seq "
            "LEFT JOIN link_profiles p ON p.seq = m.seq WHERE m.seq = ?", (key,)).fetchone()
        decoded = decode_analysis(data) if data is not None else None
        if decoded is None:  # a store from before link_profiles, or analysed under another IDF table
            (article,) = self.store.articles([key])
            ((_, data, decoded),) = self._analyse([article])
            if self.store.db.in_transaction:
                self.store.db.execute("INSERT OR REPLACE INTO link_profiles(seq, data) VALUES (?, ?)", (key, data))
        art = self._placed(key, day, bool(assumed), (article_id, data, decoded))
        self._remember(art)
        return art

    def _remember(self, art: StreamArticle) -> None:
        self._articles[art.key] = art
        while len(self._articles) > self._cache_articles:
            self._articles.popitem(last=False)

    # --- scoring ----------------------------------------------------------------

    def candidates(self, art: StreamArticle) -> list[int]:
        """Story keys to compare the article with: nearest centroids, then recent stories."""
        cfg = self.config
        sims = self._index.search(art.vectors.doc)
        near = self._index.nearest(art.vectors.doc, cfg.candidates, sims) + self._archive.nearest(art.vectors.doc, cfg.archive_candidates)
        recent = self._recent(art.day)
        if len(recent) > cfg.candidates:
            sims = self._index.similarities(recent, art.vectors.doc, sims)
            if sims is None:  # an article older than the search window: some recent stories are archived
                sims = np.stack([self._stories[s].centroid for s in recent]) @ art.vectors.doc
            recent = [recent[i] for i in np.argsort(-sims, kind="stable")[:cfg.candidates]]
        return list(dict.fromkeys(near + recent + self._name_candidates(art)))

    def _name_candidates(self, art: StreamArticle) -> list[int]:
        """Stories whose articles share the article's rare names, most shared names first."""
        rare = [n for n in art.profile.names if 0 < self._name_df.get(n, 0) <= self.config.rare_name_df]
        if not rare:
            return []
        unread = [n for n in rare if n not in self._names_read]
        if unread:  # article_names changes only when the log moves into it: what was read stays true until then
            if len(self._names_read) > NAMES_READ_KEPT:
                self._names_read.clear()
            read: dict[str, list[int]] = {name: [] for name in unread}
            for name, seq in self.store.rows_in("SELECT name, seq FROM article_names WHERE name IN ({})", unread):
                read[name].append(seq)
            self._names_read.update(read)
        votes: dict[int, int] = {}
        seqs: list[int] = []
        for name in rare:
            seqs += self._names_read[name]
            seqs += self._name_log.get(name, ())
        story_of = self._stories_of(list(dict.fromkeys(seqs)))
        for seq in seqs:
            sid = story_of.get(seq)
            if sid is not None:
                votes[sid] = votes.get(sid, 0) + 1
        return sorted(votes, key=lambda s: (-votes[s], s))[:self.config.candidates]

    def _recent(self, day: int) -> list[int]:
        """Stories with an article within ``recent_days`` of ``day`` (by latest day, then key)."""
        days = self.config.recent_days
        recent = self._by_last_day.between(day - days)
        if self._last_day is not None and day + days >= self._last_day:
            return recent  # no story starts after the latest day seen (the usual case: news in date order)
        return [sid for sid in recent if self._stories[sid].first_day <= day + days]

    def link_features(self, art: StreamArticle, others: Sequence[StreamArticle]) -> np.ndarray:
        """The linker's feature rows for the article against each of ``others``.

        Pair features only: story-level ones (size, centroid similarity, days to the story's span) were
        tried and made the result depend on arrival order (a run of older news meets half-built stories).
        """
        from .embed import pair_similarities_many

        n = len(others)
        n_emb = len(EMBEDDING_PARTS)
        n_scorer = len(feature_names((self.config.embedder,)))
        X = np.full((n, n_scorer + len(LINK_EXTRA)), np.nan, dtype=np.float64)
        n_docs = max(self._n_clustered, 1)
        idfs: dict[str, float] = {}  # the names' IDFs, for this article's rows only (counts change after it)
        X[:, :n_emb] = pair_similarities_many(art.vectors, [o.vectors for o in others])
        X[:, n_emb:n_scorer - 1] = profile_features_many(art.profile, [o.profile for o in others])
        for i, other in enumerate(others):
            if art.profile.title_ids is None or other.profile.title_ids is None:
                X[i, 1] = math.nan
            a_lang, o_lang = art.profile.lang, other.profile.lang
            X[i, n_scorer - 1] = float(a_lang == "en" and o_lang == "en") if a_lang and o_lang else math.nan
            X[i, n_scorer + 1] = abs(art.day - other.day)
            X[i, n_scorer + 2:n_scorer + 5] = self._name_rarity(art.profile.names, other.profile.names, n_docs, idfs)
        if n and self._uses_scorer:
            X[:, n_scorer] = self.scorer.overall(X[:, :n_scorer][:, self._scorer_cols])
        return X

    def _name_rarity(self, a: frozenset[str], b: frozenset[str], n_docs: int,
                     idfs: dict[str, float]) -> tuple[float, float, float]:
        """How rare the names the two articles share are, by their document frequency in the stream so far:
        the highest IDF of a shared name, the shared names' share of the smaller article's IDF mass, and their count.
        ``idfs`` memoises IDFs across one article's rows."""
        if not a or not b:
            return (math.nan, math.nan, math.nan)

        def idf(name: str) -> float:
            value = idfs.get(name)
            if value is None:
                value = idfs[name] = math.log((n_docs + 1) / (self._name_df.get(name, 0) + 1))
            return value

        shared = a & b
        smaller = a if len(a) <= len(b) else b
        mass = sum(idf(x) for x in smaller)
        top = max((idf(x) for x in shared), default=0.0)
        return (top, sum(idf(x) for x in shared) / mass if mass else 0.0, float(len(shared)))

    def _count_names(self, names: frozenset[str]) -> None:
        """Count the names in memory now; :meth:`_write_names` writes a batch's counts at its end."""
        for name in names:
            self._name_df[name] = self._name_df.get(name, 0) + 1
            self._new_df[name] = self._new_df.get(name, 0) + 1

    def _write_names(self) -> None:
        """The batch's name counts, one row per distinct name, and its new rows of the name log (inside the
        batch's transaction)."""
        if self._new_df:
            self.store.db.executemany(
                "INSERT INTO name_df(name, df) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET df = df + excluded.df",
                sorted(self._new_df.items()))
            self._new_df.clear()
        if self._new_names:
            self.store.db.executemany("INSERT INTO name_log(name, seq) VALUES (?, ?)", self._new_names)
            self._new_names.clear()

    def _merge_name_log(self) -> None:
        """Move the name log into ``article_names`` in one pass sorted by name (a page of the index is written
        once for the run, not once per batch), in a transaction of its own (a crash keeps the log). At the end
        of each run, and within one once the log holds :data:`NAME_LOG_ROWS` rows."""
        if self._name_log:
            with self.store.transaction() as db:
                db.execute("INSERT OR IGNORE INTO article_names(name, seq) SELECT name, seq FROM name_log ORDER BY name, seq")
                db.execute("DELETE FROM name_log")
            self._name_log.clear()
            self._name_log_rows = 0
            self._names_read.clear()

    def candidate_members(self, art: StreamArticle, sids: Sequence[int]) -> tuple[list[int], list[StreamArticle]]:
        """The story members the linker scores for the article, with their stories.

        Each candidate story's latest :attr:`ClusterConfig.members` members;
        past :attr:`ClusterConfig.compare` of them, the ones closest to the
        article by embedding cosine plus the share of names they have in common.
        """
        blocks = [self._block(sid) for sid in sids]
        counts = [len(b.keys) for b in blocks]
        keys = np.concatenate([b.keys for b in blocks]) if blocks else np.zeros(0, np.int64)
        if len(keys) > self.config.compare:
            names = np.concatenate([b.n_names for b in blocks])
            shared = 0.5 * shared_counts_flat(art.profile.name_ids, np.concatenate([b.name_ids for b in blocks]),
                                              np.concatenate([b.name_lens for b in blocks]))
            cheap = np.concatenate([b.docs for b in blocks]) @ art.vectors.doc + shared / np.maximum(
                1.0, np.minimum(float(len(art.profile.names)), names))
            keep = np.sort(np.argsort(-cheap, kind="stable")[:self.config.compare])
        else:
            keep = np.arange(len(keys))
        owner = np.repeat(np.asarray(sids, dtype=np.int64), counts)
        return [int(owner[i]) for i in keep], [self._member(int(keys[i])) for i in keep]

    def _block(self, sid: int) -> _MemberBlock:
        """The story's member block, from a cache of the :data:`BLOCK_CACHE_STORIES` last used (a story's
        block is dropped when an article joins it)."""
        block = self._blocks.get(sid)
        if block is not None:
            self._blocks.move_to_end(sid)
            return block
        keys = self._with_members(self._stories[sid]).latest(self.config.members)
        heads = {key: _head(self._articles[key]) for key in keys if key in self._articles}
        missing = [key for key in keys if key not in heads]
        if missing:  # members not in memory: the head of their stored analysis, without decoding the rest
            for key, data in self.store.rows_in("SELECT seq, data FROM link_profiles WHERE seq IN ({})", missing):
                head = decode_head(data)
                if head is not None:
                    heads[key] = head
            for key in missing:
                if key not in heads:  # not stored, or under another scheme: analysed again
                    heads[key] = _head(self._member(key))
        rows = [heads[key] for key in keys]
        block = _MemberBlock(
            np.array(keys, dtype=np.int64),
            np.stack([r[0] for r in rows]) if rows else np.zeros((0, self.embedder.dim), np.float32),
            np.array([r[1] for r in rows], dtype=np.float64),
            np.concatenate([r[2] for r in rows]) if rows else np.zeros(0, np.uint64),
            np.array([len(r[2]) for r in rows], dtype=np.intp))
        self._blocks[sid] = block
        if len(self._blocks) > BLOCK_CACHE_STORIES:
            self._blocks.popitem(last=False)
        return block

    def link_probabilities(self, art: StreamArticle, sids: Sequence[int]) -> dict[int, float]:
        """Best link probability of the article to each story (over its scored members)."""
        owners, others = self.candidate_members(art, sids)
        if not others:
            return {}
        X = self.link_features(art, others)
        prob = self.linker.probability(X[:, self._linker_cols])
        sigma = self.config.recency_sigma_days
        if sigma:
            gaps = np.array([art.day - o.day for o in others], dtype=np.float64)
            prob = prob * np.exp(-0.5 * (gaps / sigma) ** 2)
        prob[self._copies(art, others, X)] = 1.0
        best: dict[int, float] = {}
        for sid, p in zip(owners, prob):
            best[sid] = max(best.get(sid, 0.0), float(p))
        return best

    def _copies(self, art: StreamArticle, others: Sequence[StreamArticle], X: np.ndarray) -> np.ndarray:
        """Which of ``others`` are copies of the article: near-copies by the near-copy engine's rule on their
        shingles, under titles at least :data:`COPY_TITLE_COSINE` alike (a side without a title does not count
        against it). A copy joins its story whatever the linker says. The linker learned from streams whose only
        identical texts weeks apart were template pages (a sign-in form, a paywall) collected for different
        incidents, so it let verbatim copies drift apart with the gap (14 of 100 GVA articles copied 400 days
        later started new stories; in a store of one story, every copy 30 days later did). The titles tell
        those template pages apart."""
        jaccard, containment, title_cos = (X[:, col] for col in self._copy_cols)
        smaller = np.minimum(len(art.profile.shingles), np.fromiter((len(o.profile.shingles) for o in others), np.int64))
        return COPY_RULE.passes(jaccard, containment, smaller) & ~(title_cos < COPY_TITLE_COSINE)  # NaN: untitled

    # --- the stream -------------------------------------------------------------

    def add(self, articles: Iterable[Article], *, batch: int = 500,
            progress: Callable[[int], None] | None = None, workers: int | None = None) -> list[tuple[str, str]]:
        """Cluster cleaned articles; return ``(article id, story id)`` for each, in input order.

        Articles are processed in date order (ties in input order). One
        without a usable date (missing, unparseable, or more than two days in
        the future) is placed by arrival: on the latest day seen so far, and
        marked ``date_assumed``; after the call :attr:`placed_by_arrival` maps the
        ids of this call's articles placed so to why (:func:`date_problem`), for
        the caller to say so. An article already in the store keeps its
        story (ingest is idempotent). Each ``batch`` of articles is one
        transaction: a crash loses at most the batch being written, never
        an earlier one, and a rerun resumes where it stopped. ``workers``:
        processes that analyse (profile and embed) articles ahead of the
        linking, from :data:`PARALLEL_MIN_ARTICLES` articles on (default: one
        when the machine has a second core; 0 analyses here). The result is
        the same either way.
        """
        given = list(articles)
        order = [article.ensure_id() for article in given]
        self.placed_by_arrival = {}
        self._sync()
        # already clustered (a rerun, or one resuming after a crash): their stories, without analysing them again
        results: dict[str, str] = self._stored_stories(order)
        pending, placed = [], {}
        for pos, article in enumerate(given):
            if article.id not in results:
                day, problem = _day_or_problem(article.date)
                if problem is not None:
                    placed.setdefault(article.id, problem)
                pending.append(((day if day is not None else math.inf, pos), article, day))
        pending.sort(key=lambda x: x[0])
        if progress is not None and len(pending) < len(given):
            progress(len(given) - len(pending))
        chunks = [pending[start:start + batch] for start in range(0, len(pending), batch)]
        with threadpool_limits(1, "blas"):  # one-vector products: a second BLAS thread only waits on the analysis worker
            self._link_batches(chunks, workers, results, progress)
        if pending:
            self._archive.save(self.index_path, self._stamp())
        self._merge_name_log()
        self.placed_by_arrival = placed
        return [(aid, results[aid]) for aid in order]

    def _link_batches(self, chunks: list[list[tuple]], workers: int | None, results: dict[str, str],
                      progress: Callable[[int], None] | None) -> None:
        for chunk, analysed in zip(chunks, self._analysed_batches([[a for _, a, _ in c] for c in chunks], workers)):
            try:
                with self.store.transaction():
                    self._sync()
                    for i, ((_, article, day), done) in enumerate(zip(chunk, analysed)):
                        if i % PREPARE_ARTICLES == 0:
                            self._prepare_search([d[2][1].doc for d in analysed[i:i + PREPARE_ARTICLES]])
                        results[article.id] = self._add_one(article, day, done)
                    self._write_names()
            except BaseException:
                self._reload()  # the batch was rolled back: forget what it did in memory too
                raise
            if self._name_log_rows > NAME_LOG_ROWS:  # a long run: the log is held in memory too
                self._merge_name_log()
            if progress is not None:
                progress(len(chunk))

    def _prepare_search(self, docs: list[np.ndarray]) -> None:
        """Centroid cosines of the next articles, in one matrix product per index (see :meth:`_CentroidIndex.prepare`)."""
        vecs = np.stack(docs).astype(np.float32) if docs else np.zeros((0, self.embedder.dim), np.float32)
        self._index.prepare(vecs)
        self._archive.prepare(vecs)

    def _stored_stories(self, ids: Sequence[str]) -> dict[str, str]:
        """Story ids of those of ``ids`` already clustered in the store."""
        out = {}
        for article_id, sid in self.store.rows_in(
                "SELECT a.id, m.story FROM articles a JOIN story_members m ON m.seq = a.seq WHERE a.id IN ({})", set(ids)):
            out[article_id] = self._stories[self._live(sid)].id
        return out

    def _reload(self) -> None:
        self._empty()
        try:
            self._load()
        except Exception:  # the store itself is gone or broken: the caller's error says why
            pass

    def _add_one(self, article: Article, day: int | None, done: tuple) -> str:
        seq, is_new = self.store.add_article(article)
        if not is_new:
            stored = self._stories_of([seq]).get(seq)
            if stored is not None:
                return self._stories[stored].id
        assumed = day is None
        if assumed:
            day = self._last_day if self._last_day is not None else dt.date.today().toordinal()
        if self._last_day is None or day > self._last_day:
            previous, self._last_day = self._last_day, day
            self._expire(previous)
        art = self._placed(seq, day, assumed, done)
        sid = self._choose(art)
        latest_before = set(self._with_members(self._stories[sid]).latest(self.config.members))
        self._join(sid, art)
        if art.key in self._drop_old_profiles(self._stories[sid], latest_before | {art.key}):
            self.store.db.execute("INSERT OR REPLACE INTO link_profiles(seq, data) VALUES (?, ?)", (art.key, done[1]))
            self._remember(art)  # (an article older than its story's latest members is never compared with)
        self._count_names(art.profile.names)
        for name in art.profile.names:
            if self._name_df[name] <= NAME_POSTINGS_MAX:
                self._new_names.append((name, art.key))
                self._name_log.setdefault(name, []).append(art.key)
                self._name_log_rows += 1
        return self._stories[sid].id

    def _choose(self, art: StreamArticle) -> int:
        """The story the article joins (merging converged candidates), or a new one."""
        probs = self.link_probabilities(art, self.candidates(art))
        ranked = sorted(probs.items(), key=lambda kv: (-kv[1], kv[0]))
        if not ranked or ranked[0][1] < self.config.threshold:
            return self._new_story(art)
        sid = ranked[0][0]
        for other, p in ranked[1:]:
            if p >= self.config.merge_threshold:
                sid = self._merge(sid, other)
        return sid

    def _new_story(self, art: StreamArticle) -> int:
        cur = self.store.db.execute(
            "INSERT INTO stories(id, first_day, last_day, size, vec_sum) VALUES (?, ?, ?, 0, ?)",
            (art.id, art.day, art.day, np.zeros(self.embedder.dim, np.float32).tobytes()))
        sid = int(cur.lastrowid)
        self._stories[sid] = _Story(sid, art.id, art.day, art.day, [], np.zeros(self.embedder.dim, np.float32))
        self._by_last_day.file(sid, art.day)
        return sid

    def _join(self, sid: int, art: StreamArticle) -> None:
        story = self._with_members(self._stories[sid])
        story.add([(art.day, art.key)], art.vectors.doc.astype(np.float32))
        self._n_clustered += 1
        self._blocks.pop(sid, None)
        story.first_day = min(story.first_day, art.day)
        story.last_day = max(story.last_day, art.day)
        self._story_of[art.key] = sid
        self.store.db.execute("INSERT INTO story_members(seq, story, day, date_assumed) VALUES (?, ?, ?, ?)",
                              (art.key, sid, art.day, int(art.date_assumed)))
        self._save_story(story)

    def _merge(self, keep: int, gone: int) -> int:
        """Merge story ``gone`` into ``keep``; the one first seen earlier keeps its id and key."""
        a, b = self._with_members(self._stories[keep]), self._with_members(self._stories[gone])
        if (b.first_day, b.sid) < (a.first_day, a.sid):
            a, b = b, a
        latest_before = set(a.latest(self.config.members)) | set(b.latest(self.config.members))
        a.add(b.members, b.vec_sum)
        self._blocks.pop(a.sid, None)
        self._blocks.pop(b.sid, None)
        self._drop_old_profiles(a, latest_before)
        a.first_day, a.last_day = min(a.first_day, b.first_day), max(a.last_day, b.last_day)
        for _, key in b.members:
            self._story_of[key] = a.sid
        self.store.db.execute("UPDATE story_members SET story = ? WHERE story = ?", (a.sid, b.sid))
        self.store.db.execute("UPDATE stories SET merged_into = ?, size = 0 WHERE story = ?", (a.sid, b.sid))
        del self._stories[b.sid]
        self._by_last_day.remove(b.sid)
        self._index.remove(b.sid)
        self._archive.remove(b.sid)
        self._save_story(a)
        return a.sid

    def _drop_old_profiles(self, story: _Story, latest_before: set[int]) -> set[int]:
        """Delete the stored analyses of members no longer among the story's latest (never compared again),
        and forget them in memory (left to the LRU, they crowded out members still compared, which were then
        read back and decoded again); return the latest members."""
        latest = set(story.latest(self.config.members))
        gone = latest_before - latest
        if gone:
            self.store.db.executemany("DELETE FROM link_profiles WHERE seq = ?", [(key,) for key in gone])
            for key in gone:
                self._articles.pop(key, None)
        return latest

    def _save_story(self, story: _Story) -> None:
        """Write the story's row and move its centroid in the index (inside the batch's transaction; only after a
        join or a merge, which read the story's members)."""
        self.store.db.execute(
            "UPDATE stories SET first_day = ?, last_day = ?, size = ?, vec_sum = ? WHERE story = ?",
            (story.first_day, story.last_day, len(story.members), story.vec_sum.astype(np.float32).tobytes(), story.sid))
        self._by_last_day.file(story.sid, story.last_day)
        self._index_story(story)

    def _index_story(self, story: _Story, archive: bool = True) -> bool:
        """Put the story's centroid in the search index if it is active (an article within ``search_days``
        of the latest day seen); in the archive otherwise. True when active."""
        if self._last_day is None or story.last_day >= self._last_day - self.config.search_days:
            self._archive.remove(story.sid)
            self._index.upsert(story.sid, story.centroid)
            return True
        self._index.remove(story.sid)
        if archive:
            self._archive.add(story.sid, story.centroid)
        return False

    def _expire(self, previous_last_day: int | None) -> None:
        """Move the stories whose latest article the new latest day put more than ``search_days`` back from
        the search index to the archive (a story is indexed only while inside the window, so these are the
        ones whose latest day lies between the old cutoff and the new)."""
        old = -math.inf if previous_last_day is None else previous_last_day - self.config.search_days
        for sid in self._by_last_day.between(old, self._last_day - self.config.search_days):
            if sid in self._index:
                self._index_story(self._stories[sid])

    # --- removing ---------------------------------------------------------------

    def remove(self, article_ids: Iterable[str]) -> list[str]:
        """Remove articles from the store and from their stories; return the ids removed (unknown ids are skipped).

        Each story loses the article's vector from its centroid, its size and
        its days shrink to the members left, and the article's names no longer
        count towards name rarity; a story left without members is deleted
        (with the stories once merged into it). A story keeps its id when its
        first article goes. The article's near-copy fingerprints and group go
        too (:meth:`samestory.dedup.NearCopyIndex.remove`). All in one
        transaction: a failure or a crash removes none of them.
        """
        from .dedup import NearCopyIndex

        removed: list[str] = []
        try:
            with self.store.transaction() as db:
                self._sync()
                near: NearCopyIndex | None = None
                touched: set[int] = set()
                for article_id in dict.fromkeys(article_ids):
                    seq = self.store.article_seq(article_id)
                    if seq is None:
                        continue
                    sid = self._stories_of([seq]).get(seq)
                    if sid is not None:
                        self._leave(sid, self._member(seq))
                        touched.add(sid)
                    if db.execute("SELECT 1 FROM fingerprints WHERE seq = ?", (seq,)).fetchone():
                        near = near or NearCopyIndex.for_store(self.store)
                        near.remove(article_id)
                    else:
                        self.store.delete_article(seq)
                    removed.append(article_id)
                for sid in touched:
                    self._settle(sid)
                self._write_names()
        except BaseException:
            self._reload()  # rolled back: forget what it did in memory too
            raise
        if removed:
            self._archive.save(self.index_path, self._stamp())
        return removed

    def _leave(self, sid: int, art: StreamArticle) -> None:
        """Take the article out of its story in memory and out of the story tables (its article row stays)."""
        story = self._with_members(self._stories[sid])
        story.members.remove((art.day, art.key))
        story.vec_sum = story.vec_sum - art.vectors.doc.astype(np.float32)
        story._centroid = None
        self._blocks.pop(sid, None)
        self._story_of.pop(art.key, None)
        self._articles.pop(art.key, None)
        self._n_clustered -= 1
        for name in art.profile.names:
            self._name_df[name] = self._name_df.get(name, 0) - 1
            self._new_df[name] = self._new_df.get(name, 0) - 1
            if art.key in self._name_log.get(name, ()):
                self._name_log[name].remove(art.key)
                self._name_log_rows -= 1
        self._new_names = [row for row in self._new_names if row[1] != art.key]
        self._names_read.clear()
        self.store.db.executemany("DELETE FROM article_names WHERE name = ? AND seq = ?",
                                  [(name, art.key) for name in art.profile.names])
        self.store.db.execute("DELETE FROM story_members WHERE seq = ?", (art.key,))

    def _settle(self, sid: int) -> None:
        """Write a story that lost members: its new days, size and centroid; deleted when none are left."""
        story = self._stories[sid]
        if story.members:
            story.first_day, story.last_day = story.members[0][0], story.members[-1][0]  # kept sorted by day
            self._save_story(story)
            return
        self.store.db.execute(
            "WITH RECURSIVE gone(story) AS (SELECT ? UNION SELECT s.story FROM stories s JOIN gone g ON s.merged_into = g.story) "
            "DELETE FROM stories WHERE story IN gone", (sid,))
        del self._stories[sid]
        self._by_last_day.remove(sid)
        self._index.remove(sid)
        self._archive.remove(sid)

    # --- reading ----------------------------------------------------------------

    def story_count(self) -> int:
        return len(self._stories)

    def active_story_count(self) -> int:
        """Stories with an article in the last ``search_days`` (the ones every article is compared with by
        centroid; what the cost of an article follows)."""
        return len(self._index)


def cluster_articles(articles: Iterable[Article], store_dir=None, config: ClusterConfig = ClusterConfig(),
                     progress: Callable[[int], None] | None = None, workers: int | None = None) -> list[tuple[str, str]]:
    """Batch mode: cluster articles in a temporary store (or ``store_dir``); ``(article id, story id)`` rows."""
    import tempfile

    from .store import Store

    if store_dir is not None:
        with Store(store_dir) as store:
            return StoryClusterer(store, config).add(articles, progress=progress, workers=workers)
    with tempfile.TemporaryDirectory(prefix="samestory-cluster-") as tmp:
        with Store(Path(tmp) / "store") as store:
            return StoryClusterer(store, config).add(articles, progress=progress, workers=workers)


def _embedder_meta(store) -> str | None:
    """The name of the vectors a store's stories were made with (the embedder's ``name``), as recorded."""
    row = store.db.execute("SELECT value FROM meta WHERE key = 'cluster_embedder'").fetchone()
    return row[0] if row else None


def store_embedder(store) -> str | None:
    """The embedder (as :func:`~samestory.embed.get_embedder` names it) a store's stories were made with; None for
    a store without stories. A clusterer opened on the store must use it (:class:`ClusterConfig` ``embedder``)."""
    from .embed import embedder_key

    made_with = _embedder_meta(store)
    if made_with is None:
        return None
    key = embedder_key(made_with)
    if key is None:
        raise ClusterError(f"{store.path}: its stories were made with the {made_with} embedder, which this samestory "
                           "does not have")
    return key


def remove_articles(store, article_ids: Iterable[str], linker: Linker | None = None) -> list[str]:
    """Remove articles from a store, whatever filled it; return the ids removed (unknown ids are skipped).

    In a store with stories, :meth:`StoryClusterer.remove` (the stories lose them too; ``linker``: the one
    the stories were made with, when not the shipped one); else only from the near-copy index. One transaction.
    """
    from .dedup import NearCopyIndex

    ids = list(dict.fromkeys(article_ids))
    embedder = store_embedder(store)
    if embedder is not None:
        return StoryClusterer(store, ClusterConfig(embedder=embedder), linker=linker).remove(ids)
    removed = []
    with store.transaction():
        near = NearCopyIndex.for_store(store)
        for article_id in ids:
            if near.remove(article_id):
                removed.append(article_id)
    return removed


__all__ = [
    "ClusterConfig",
    "ClusterError",
    "Linker",
    "StoryClusterer",
    "article_day",
    "analyse_texts",
    "date_problem",
    "placed_by_arrival_note",
    "cluster_articles",
    "link_feature_names",
    "linker_path",
    "load_linker",
    "remove_articles",
    "store_embedder",
]

