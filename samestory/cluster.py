"""Stories: group a stream of articles into story clusters, in one pass, over time.

Each new article, in date order, is compared with **candidate stories**: the
stories whose centroid is nearest to it (a usearch vector index over story
centroids), plus every story seen in the last :attr:`ClusterConfig.recent_days`
days. For each candidate, the article is scored against the story's latest
members by the **story linker**: boosted trees over the same-story scorer's
features (embedding cosines, character TF-IDF, shared names and numbers,
shingle overlap, lengths, languages), the scorer's own 1-4 estimate, and the
gap in days. The linker is trained on the labelled story streams in
``../shared/data/stories`` (``bench/train_linker.py``), so "same story" means
what editors grouping a news stream mean: the same incident, not the same
topic. Its probability falls with the date gap the way those streams do;
this learned time profile replaces a hand-set Gaussian over days (see the
bench for the comparison).

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
import json
import math
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from .article import Article
from .dates import to_iso
from .errors import SamestoryError
from .features import EMBEDDING_PARTS, ArticleProfile, PairText, article_profiles, feature_names, profile_features_many

LINKER_DIR = Path(__file__).resolve().parent / "models" / "linker"
#: The vector index of story centroids, in the store directory.
INDEX_FILE = "stories.usearch"
#: How far in the future (days after today) a date may be before it is distrusted.
FUTURE_SLACK_DAYS = 2


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

    @classmethod
    def for_threshold(cls, threshold: float) -> "ClusterConfig":
        """The defaults with another join threshold (merging never asks less than joining)."""
        return cls(threshold=threshold, merge_threshold=max(threshold, cls.merge_threshold))


# --------------------------------------------------------------------------- linker


@dataclass
class Linker:
    """The trained story-link classifier (boosted trees, logistic output)."""

    features: list[str]
    trees: "object"
    scorer_model: str
    card: dict

    def probability(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.trees.predict(X)))

    @classmethod
    def load(cls, path: Path = LINKER_DIR / "linker.json") -> "Linker":
        from .scorer import FORMAT_VERSION, Trees

        if not path.is_file():
            raise ClusterError(f"no story linker model at {path}; reinstall samestory or run bench/train_linker.py")
        card = json.loads(path.read_text(encoding="utf-8"))
        if card.get("format") != FORMAT_VERSION:
            raise ClusterError(f"{path}: model format {card.get('format')!r}, this samestory reads {FORMAT_VERSION}")
        with np.load(path.with_suffix(".npz"), allow_pickle=False) as data:
            trees = Trees(baseline=float(card["baseline"]), **{k: data[k] for k in Trees.ARRAYS})
        return cls(card["features"], trees, card["scorer_model"], card)

    def save(self, path: Path = LINKER_DIR / "linker.json") -> None:
        from .scorer import FORMAT_VERSION, Trees

        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path.with_suffix(".npz"), **{k: getattr(self.trees, k) for k in Trees.ARRAYS})
        card = {"format": FORMAT_VERSION, "features": self.features, "scorer_model": self.scorer_model,
                "baseline": self.trees.baseline, **self.card}
        path.write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")


@lru_cache(maxsize=1)
def load_linker() -> Linker:
    return Linker.load()


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
    text: PairText
    profile: ArticleProfile
    vectors: object  # samestory.embed.ArticleVectors


def article_day(date: str | None, today: dt.date | None = None) -> int | None:
    """The proleptic day number of an ISO date; None when unknown or implausibly in the future."""
    iso = to_iso(date) if date else None
    if not iso:
        return None
    try:
        day = dt.date.fromisoformat(iso[:10])
    except ValueError:
        return None
    if day > (today or dt.date.today()) + dt.timedelta(days=FUTURE_SLACK_DAYS):
        return None
    return day.toordinal()


def iso_day(day: int) -> str:
    return dt.date.fromordinal(int(day)).isoformat()


# --------------------------------------------------------------------------- stories in memory


@dataclass
class _Story:
    sid: int
    id: str
    first_day: int
    last_day: int
    members: list[tuple[int, int]]  # (day, article key), kept sorted
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


#: Up to this many live stories the centroid index is searched exactly (brute force), past it approximately (HNSW).
EXACT_SEARCH_STORIES = 10_000


class _CentroidIndex:
    """Nearest story centroids: usearch (cosine) over live stories, kept in step with them."""

    def __init__(self, dim: int):
        from usearch.index import Index

        self.index = Index(ndim=dim, metric="cos", dtype="f32")

    def upsert(self, sid: int, vec: np.ndarray) -> None:
        if sid in self.index:
            self.index.remove(sid)
        self.index.add(sid, vec.astype(np.float32))

    def remove(self, sid: int) -> None:
        if sid in self.index:
            self.index.remove(sid)

    def nearest(self, vec: np.ndarray, k: int) -> list[int]:
        if len(self.index) == 0:
            return []
        # Exact search while it is cheap (under ~0.5 ms): the answer then does not depend on the order the
        # graph was built in, so a store resumed after a crash (index rebuilt) finds the same candidates.
        matches = self.index.search(vec.astype(np.float32), min(k, len(self.index)), exact=len(self.index) <= EXACT_SEARCH_STORIES)
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
        return True


#: From this many articles on, :meth:`StoryClusterer.add` analyses them in a worker process (starting one costs ~2 s).
PARALLEL_MIN_ARTICLES = 2000


def _pair_text(article: Article) -> PairText:
    return PairText(article.title or "", article.text or "", article.lang, None)


def analyse_texts(texts: Sequence[PairText], embedder, cache=None) -> list[tuple[ArticleProfile, object]]:
    """What linking needs of each article, computed once: its lexical profile and its vectors."""
    from .embed import embed_articles

    vectors = embed_articles([(t.title, t.text) for t in texts], embedder, cache=cache)
    return list(zip(article_profiles(texts), vectors))


def _analyse_in_worker(texts: list[PairText], embedder: str) -> list[tuple[ArticleProfile, object]]:
    from .embed import get_embedder

    return analyse_texts(texts, get_embedder(embedder))


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
        self.linker = linker or load_linker()
        self.scorer = load_model(self.linker.scorer_model)
        self.embedder = get_embedder(config.embedder)
        self._check_store_embedder()
        self.embeddings = EmbeddingCache(max_items=cache_articles)
        all_names = link_feature_names(config.embedder)
        self._linker_cols = [all_names.index(f) for f in self.linker.features]
        scorer_names = feature_names((config.embedder,))
        self._scorer_cols = [scorer_names.index(f) for f in self.scorer.features]
        self._articles: OrderedDict[int, StreamArticle] = OrderedDict()
        self._cache_articles = cache_articles
        self._stories: dict[int, _Story] = {}
        self._story_of: dict[int, int] = {}
        self._index = _CentroidIndex(self.embedder.dim)
        self._last_day: int | None = None
        self._name_df: dict[str, int] = {}
        self._load()

    # --- persistence ------------------------------------------------------------

    def _check_store_embedder(self) -> None:
        row = self.store.db.execute("SELECT value FROM meta WHERE key = 'cluster_embedder'").fetchone()
        if row is None:
            with self.store.transaction() as db:
                db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('cluster_embedder', ?)", (self.embedder.name,))
        elif row[0] != self.embedder.name:
            raise ClusterError(f"{self.store.path}: its stories were made with the {row[0]} embedder, "
                               f"not {self.embedder.name}; use a new store or the same embedder")

    @property
    def index_path(self) -> Path:
        """The on-disk vector index of story centroids (derived data: rebuilt from the database when stale)."""
        return self.store.path / INDEX_FILE

    def _stamp(self) -> str:
        members, top = self.store.db.execute(
            "SELECT (SELECT COUNT(*) FROM story_members), (SELECT COALESCE(MAX(story), 0) FROM stories)").fetchone()
        return f"{self.embedder.name}:{members}:{top}"

    def _load(self) -> None:
        db = self.store.db
        for sid, sid_text, first, last, vec in db.execute(
                "SELECT story, id, first_day, last_day, vec_sum FROM stories WHERE merged_into IS NULL"):
            self._stories[sid] = _Story(sid, sid_text, first, last, [], np.frombuffer(vec, dtype=np.float32).copy())
        if not self._index.load(self.index_path, self._stamp(), len(self._stories)):
            for sid, story in self._stories.items():
                self._index.upsert(sid, story.centroid)
        for seq, sid, day in db.execute("SELECT seq, story, day FROM story_members ORDER BY seq"):
            sid = self._live(sid)
            bisect.insort(self._stories[sid].members, (day, seq))
            self._story_of[seq] = sid
            self._last_day = day if self._last_day is None else max(self._last_day, day)
        self._name_df = dict(db.execute("SELECT name, df FROM name_df"))

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

    def _analyse(self, articles: Sequence[Article]) -> list[tuple[str, PairText, ArticleProfile, object]]:
        """Profiles and vectors of many articles in one batch (the vectoriser and embedder cost per call)."""
        texts = [_pair_text(a) for a in articles]
        return [(a.id, t, p, v) for a, t, (p, v) in zip(articles, texts, analyse_texts(texts, self.embedder, self.embeddings))]

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
        work = map_batches(partial(_analyse_in_worker, embedder=self.config.embedder), texts, workers,
                           local=lambda t: analyse_texts(t, self.embedder, self.embeddings), what="article analysis worker")
        for b, (t, done) in zip(batches, work):
            yield [(a.id, text, p, v) for a, text, (p, v) in zip(b, t, done)]

    @staticmethod
    def _placed(seq: int, day: int, assumed: bool, done: tuple) -> StreamArticle:
        from dataclasses import replace

        article_id, text, profile, vectors = done
        date = iso_day(day)
        return StreamArticle(seq, article_id, day, assumed, replace(text, date=date), replace(profile, date=date), vectors)

    def _member(self, key: int) -> StreamArticle:
        art = self._articles.get(key)
        if art is not None:
            self._articles.move_to_end(key)
            return art
        row = self.store.db.execute("SELECT day, date_assumed FROM story_members WHERE seq = ?", (key,)).fetchone()
        (article,) = self.store.articles([key])
        art = self._prepare([(key, article, row[0], bool(row[1]))])[0]
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
        near = self._index.nearest(art.vectors.doc, cfg.candidates)
        recent = self._recent_from_store(art.day)
        if len(recent) > cfg.candidates:
            sims = np.stack([self._stories[s].centroid for s in recent]) @ art.vectors.doc
            recent = [recent[i] for i in np.argsort(-sims)[:cfg.candidates]]
        return list(dict.fromkeys(near + recent + self._name_candidates(art)))

    def _name_candidates(self, art: StreamArticle) -> list[int]:
        """Stories whose articles share the article's rare names, most shared names first."""
        rare = [n for n in art.profile.names if 0 < self._name_df.get(n, 0) <= self.config.rare_name_df]
        if not rare:
            return []
        votes: dict[int, int] = {}
        for (seq,) in self.store.rows_in("SELECT seq FROM article_names WHERE name IN ({})", rare):
            sid = self._story_of.get(seq)
            if sid is not None:
                sid = sid if sid in self._stories else self._live(sid)
                votes[sid] = votes.get(sid, 0) + 1
        return sorted(votes, key=lambda s: (-votes[s], s))[:self.config.candidates]

    def _recent_from_store(self, day: int) -> list[int]:
        rows = self.store.db.execute(
            "SELECT story FROM stories WHERE merged_into IS NULL AND last_day >= ? AND first_day <= ?",
            (day - self.config.recent_days, day + self.config.recent_days))
        return [self._live(r[0]) for r in rows if r[0] in self._stories]

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
        n_docs = max(len(self._story_of), 1)
        X[:, :n_emb] = pair_similarities_many(art.vectors, [o.vectors for o in others])
        X[:, n_emb:n_scorer - 1] = profile_features_many(art.profile, [o.profile for o in others])
        for i, other in enumerate(others):
            if not (art.text.title and other.text.title):
                X[i, 1] = math.nan
            X[i, n_scorer - 1] = float(art.text.lang == "en" and other.text.lang == "en") if art.text.lang and other.text.lang else math.nan
            X[i, n_scorer + 1] = abs(art.day - other.day)
            X[i, n_scorer + 2:n_scorer + 5] = self._name_rarity(art.profile.names, other.profile.names, n_docs)
        if n:
            X[:, n_scorer] = self.scorer.overall(X[:, :n_scorer][:, self._scorer_cols])
        return X

    def _name_rarity(self, a: frozenset[str], b: frozenset[str], n_docs: int) -> tuple[float, float, float]:
        """How rare the names the two articles share are, by their document frequency in the stream so far:
        the highest IDF of a shared name, the shared names' share of the smaller article's IDF mass, and their count."""
        if not a or not b:
            return (math.nan, math.nan, math.nan)

        def idf(name: str) -> float:
            return math.log((n_docs + 1) / (self._name_df.get(name, 0) + 1))

        shared = a & b
        smaller = a if len(a) <= len(b) else b
        mass = sum(idf(x) for x in smaller)
        top = max((idf(x) for x in shared), default=0.0)
        return (top, sum(idf(x) for x in shared) / mass if mass else 0.0, float(len(shared)))

    def _count_names(self, names: frozenset[str]) -> None:
        for name in names:
            self._name_df[name] = self._name_df.get(name, 0) + 1
        if names:
            self.store.db.executemany(
                "INSERT INTO name_df(name, df) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET df = df + 1",
                [(name,) for name in names])

    def candidate_members(self, art: StreamArticle, sids: Sequence[int]) -> tuple[list[int], list[StreamArticle]]:
        """The story members the linker scores for the article, with their stories.

        Each candidate story's latest :attr:`ClusterConfig.members` members;
        past :attr:`ClusterConfig.compare` of them, the ones closest to the
        article by embedding cosine plus the share of names they have in common.
        """
        owners, others = [], []
        for sid in sids:
            for key in self._stories[sid].latest(self.config.members):
                owners.append(sid)
                others.append(self._member(key))
        if len(others) > self.config.compare:
            names = art.profile.names
            cheap = np.stack([o.vectors.doc for o in others]) @ art.vectors.doc + np.array(
                [0.5 * len(names & o.profile.names) / max(1, min(len(names), len(o.profile.names))) for o in others])
            keep = np.sort(np.argsort(-cheap, kind="stable")[:self.config.compare])
            owners = [owners[i] for i in keep]
            others = [others[i] for i in keep]
        return owners, others

    def link_probabilities(self, art: StreamArticle, sids: Sequence[int]) -> dict[int, float]:
        """Best link probability of the article to each story (over its scored members)."""
        owners, others = self.candidate_members(art, sids)
        if not others:
            return {}
        prob = self.linker.probability(self.link_features(art, others)[:, self._linker_cols])
        best: dict[int, float] = {}
        for sid, p in zip(owners, prob):
            best[sid] = max(best.get(sid, 0.0), float(p))
        return best

    # --- the stream -------------------------------------------------------------

    def add(self, articles: Iterable[Article], *, batch: int = 500,
            progress: Callable[[int], None] | None = None, workers: int | None = None) -> list[tuple[str, str]]:
        """Cluster cleaned articles; return ``(article id, story id)`` for each, in input order.

        Articles are processed in date order (ties in input order). One
        without a usable date (missing, unparseable, or more than two days in
        the future) is placed by arrival: on the latest day seen so far, and
        marked ``date_assumed``. An article already in the store keeps its
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
        # already clustered (a rerun, or one resuming after a crash): their stories, without analysing them again
        results: dict[str, str] = self._stored_stories(order)
        pending = []
        for pos, article in enumerate(given):
            if article.id not in results:
                day = article_day(article.date)
                pending.append(((day if day is not None else math.inf, pos), article, day))
        pending.sort(key=lambda x: x[0])
        if progress is not None and len(pending) < len(given):
            progress(len(given) - len(pending))
        chunks = [pending[start:start + batch] for start in range(0, len(pending), batch)]
        for chunk, analysed in zip(chunks, self._analysed_batches([[a for _, a, _ in c] for c in chunks], workers)):
            try:
                with self.store.transaction():
                    for (_, article, day), done in zip(chunk, analysed):
                        results[article.id] = self._add_one(article, day, done)
            except BaseException:
                self._reload()  # the batch was rolled back: forget what it did in memory too
                raise
            if progress is not None:
                progress(len(chunk))
        if pending:
            self._index.save(self.index_path, self._stamp())
        return [(aid, results[aid]) for aid in order]

    def _stored_stories(self, ids: Sequence[str]) -> dict[str, str]:
        """Story ids of those of ``ids`` already clustered in the store."""
        out = {}
        for article_id, sid in self.store.rows_in(
                "SELECT a.id, m.story FROM articles a JOIN story_members m ON m.seq = a.seq WHERE a.id IN ({})", set(ids)):
            out[article_id] = self._stories[self._live(sid)].id
        return out

    def _reload(self) -> None:
        self._articles.clear()
        self._stories.clear()
        self._story_of.clear()
        self._index = _CentroidIndex(self.embedder.dim)
        self._last_day = None
        self._name_df = {}
        try:
            self._load()
        except Exception:  # the store itself is gone or broken: the caller's error says why
            pass

    def _add_one(self, article: Article, day: int | None, done: tuple) -> str:
        seq, is_new = self.store.add_article(article)
        if not is_new and seq in self._story_of:
            return self._stories[self._live(self._story_of[seq])].id
        assumed = day is None
        if assumed:
            day = self._last_day if self._last_day is not None else dt.date.today().toordinal()
        self._last_day = day if self._last_day is None else max(self._last_day, day)
        art = self._placed(seq, day, assumed, done)
        sid = self._choose(art)
        self._join(sid, art)
        self._count_names(art.profile.names)
        self.store.db.executemany("INSERT OR IGNORE INTO article_names(name, seq) VALUES (?, ?)",
                                  [(name, art.key) for name in art.profile.names])
        self._remember(art)
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
        return sid

    def _join(self, sid: int, art: StreamArticle) -> None:
        story = self._stories[sid]
        story.add([(art.day, art.key)], art.vectors.doc.astype(np.float32))
        story.first_day = min(story.first_day, art.day)
        story.last_day = max(story.last_day, art.day)
        self._story_of[art.key] = sid
        self.store.db.execute("INSERT INTO story_members(seq, story, day, date_assumed) VALUES (?, ?, ?, ?)",
                              (art.key, sid, art.day, int(art.date_assumed)))
        self._save_story(story)

    def _merge(self, keep: int, gone: int) -> int:
        """Merge story ``gone`` into ``keep``; the one first seen earlier keeps its id and key."""
        a, b = self._stories[keep], self._stories[gone]
        if (b.first_day, b.sid) < (a.first_day, a.sid):
            a, b = b, a
        a.add(b.members, b.vec_sum)
        a.first_day, a.last_day = min(a.first_day, b.first_day), max(a.last_day, b.last_day)
        for _, key in b.members:
            self._story_of[key] = a.sid
        self.store.db.execute("UPDATE story_members SET story = ? WHERE story = ?", (a.sid, b.sid))
        self.store.db.execute("UPDATE stories SET merged_into = ?, size = 0 WHERE story = ?", (a.sid, b.sid))
        del self._stories[b.sid]
        self._index.remove(b.sid)
        self._save_story(a)
        return a.sid

    def _save_story(self, story: _Story) -> None:
        """Write the story's row and move its centroid in the index (inside the batch's transaction)."""
        self.store.db.execute(
            "UPDATE stories SET first_day = ?, last_day = ?, size = ?, vec_sum = ? WHERE story = ?",
            (story.first_day, story.last_day, len(story.members), story.vec_sum.astype(np.float32).tobytes(), story.sid))
        self._index.upsert(story.sid, story.centroid)

    # --- reading ----------------------------------------------------------------

    def story_count(self) -> int:
        return len(self._stories)


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


__all__ = [
    "ClusterConfig",
    "ClusterError",
    "Linker",
    "StoryClusterer",
    "article_day",
    "analyse_texts",
    "cluster_articles",
    "link_feature_names",
    "load_linker",
]
