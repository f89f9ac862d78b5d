"""Pair features for the same-story scorer, beyond one embedding cosine.

Each feature answers a question an editor would ask of two articles: do
they read alike (character n-gram TF-IDF), name the same people, places and
organisations, give the same numbers, share passages (shingle Jaccard), were
they published close in time, and are they comparable at all (lengths,
languages)? Missing information is NaN, never a guess, so the learned
combiner can tell "unknown" from "different".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from .dates import to_iso
from .fingerprint import fingerprint_many, overlap, sorted_matches
from .normalize import for_matching

if TYPE_CHECKING:
    from .embed import EmbeddingCache

#: Hashing space of the character n-gram vectors (IDF table shipped for it).
CHAR_FEATURES = 2**18
#: The character n-gram vectors read this much of a text (~8,000 words; every SemEval training text is
#: shorter). The vectoriser holds each n-gram of a text as a string, about 250 bytes per character, so
#: without a cap one 20 MB page would need gigabytes; the words past it still count in every other feature.
CHAR_TEXT_LIMIT = 50_000
IDF_PATH = Path(__file__).resolve().parent / "models" / "scorer" / "char_idf.npz"

_CAP_RUN = re.compile(r"(?<![\w'’])(?:[A-ZÀ-ÖØ-ÞĀ-Ž][\w\-]*(?:[ \t]+(?:[A-ZÀ-ÖØ-ÞĀ-Ž][\w\-]*|de|del|la|van|von|der|al|bin|el))*)")
_NUMBER = re.compile(r"(?<![\w.,])\d[\d.,]*\d|(?<![\w.,])\d")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“”«»]\s+|\n\s*)$")


@dataclass
class PairText:
    """What the features need of one article: title, text, language, date."""

    title: str = ""
    text: str = ""
    lang: str | None = None
    date: str | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def full(self) -> str:
        return f"{self.title}\n{self.text}" if self.title else self.text


def names(text: str) -> set[str]:
    """Capitalised word runs not at a sentence start: people, places, organisations.

    A cheap, language-agnostic stand-in for NER that works for the Latin,
    Greek and Cyrillic scripts; scripts without case (Arabic, CJK) give an
    empty set, and the feature is then NaN.
    """
    out: set[str] = set()
    for m in _CAP_RUN.finditer(text):
        if _SENTENCE_START.search(text[max(0, m.start() - 3) : m.start()]) and " " not in m.group(0):
            continue  # a lone capitalised word opening a sentence is usually just a word
        name = for_matching(m.group(0))
        if len(name) > 2:
            out.add(name)
    return out


def numbers(text: str) -> set[str]:
    """Numbers as written, separators removed ("4,200" and "4200" agree); years included."""
    return {re.sub(r"[.,]", "", n) for n in _NUMBER.findall(text) if len(n) <= 15}


def set_overlap(a: set[str], b: set[str]) -> float:
    """Overlap coefficient |a∩b| / min(|a|, |b|); NaN when either set is empty."""
    if not a or not b:
        return math.nan
    return len(a & b) / min(len(a), len(b))


@lru_cache(maxsize=1)
def char_idf() -> np.ndarray:
    """The shipped IDF weights of hashed character 3-5-grams (fitted by bench/train_scorer.py)."""
    if not IDF_PATH.exists():
        raise FileNotFoundError(f"no IDF table shipped at {IDF_PATH}; reinstall samestory or run bench/train_scorer.py")
    with np.load(IDF_PATH, allow_pickle=False) as data:
        return data["idf"].astype(np.float32)


def char_vectors(texts: Sequence[str], idf: np.ndarray | None = None):
    """L2-normalised sublinear-TF(-IDF) hashed character 3-5-gram vectors (scipy sparse)."""
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.preprocessing import normalize

    hv = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=CHAR_FEATURES, alternate_sign=False, norm=None, lowercase=True)
    m = hv.transform([for_matching(t[:CHAR_TEXT_LIMIT]) for t in texts]).tocsr()
    m.data = 1.0 + np.log(m.data)
    if idf is not None:
        m = m.multiply(idf[None, :]).tocsr()
    return normalize(m)


def fit_char_idf(texts: Sequence[str]) -> np.ndarray:
    """Smoothed IDF over ``texts`` for the hashed character n-grams (float16 to ship)."""
    m = char_vectors(texts)
    df = np.bincount(m.indices, minlength=CHAR_FEATURES)
    n = len(texts)
    return (np.log((1 + n) / (1 + df)) + 1).astype(np.float16)


def date_gap_days(a: str | None, b: str | None) -> float:
    """Days between two ISO dates; NaN when either is unknown."""
    da, db = _day_number(a), _day_number(b)
    return math.nan if da is None or db is None else float(abs(da - db))


@lru_cache(maxsize=65536)
def _day_number(date: str | None) -> int | None:
    """The day number of a date as publishers write it (cached: clustering asks for the same few dates over and over)."""
    import datetime as dt

    iso = to_iso(date) if date else None
    if not iso:
        return None
    try:
        return dt.date.fromisoformat(iso[:10]).toordinal()
    except ValueError:
        return None


LEXICAL_FEATURES = (
    "char_cos", "title_char_cos", "shingle_jaccard", "shingle_containment",
    "names_overlap", "numbers_overlap", "title_names_overlap",
    "date_gap_days", "log_len_ratio", "min_len_log", "same_lang",
)


@dataclass(frozen=True, eq=False)
class ArticleProfile:
    """What the lexical features need of one article, computed once.

    An article is compared with many others (a pair file that repeats it, a
    story's candidates in clustering), so its character n-gram vectors,
    shingles, names and numbers are made once and each pair only intersects
    them. Vectors are sparse: sorted hashed n-gram ids and their weights.
    """

    char_ids: np.ndarray
    char_weights: np.ndarray
    title_ids: np.ndarray | None
    title_weights: np.ndarray | None
    shingles: np.ndarray
    names: frozenset[str]
    numbers: frozenset[str]
    title_names: frozenset[str] | None
    n_words: int
    lang: str | None
    date: str | None


def _sparse_rows(m) -> list[tuple[np.ndarray, np.ndarray]]:
    m.sort_indices()
    return [(m.indices[m.indptr[i]:m.indptr[i + 1]].copy(), m.data[m.indptr[i]:m.indptr[i + 1]].astype(np.float32))
            for i in range(m.shape[0])]


def article_profiles(articles: Sequence[PairText], idf: np.ndarray | None = None) -> list[ArticleProfile]:
    """Profiles of many articles, batched (one vectoriser pass, one fingerprint call)."""
    if not articles:
        return []
    if idf is None:
        idf = char_idf()
    docs = _sparse_rows(char_vectors([p.full for p in articles], idf))
    titles = _sparse_rows(char_vectors([p.title or "" for p in articles], idf))
    fps = fingerprint_many([p.text for p in articles])
    out = []
    for p, (di, dw), (ti, tw), fp in zip(articles, docs, titles, fps):
        has_title = bool(p.title)
        out.append(ArticleProfile(
            di, dw, ti if has_title else None, tw if has_title else None, fp.shingles,
            frozenset(names(p.full)), frozenset(numbers(p.full)), frozenset(names(p.title)) if has_title else None,
            len(p.text.split()), p.lang, to_iso(p.date) if p.date else None,
        ))
    return out


def sparse_dot(ids_a: np.ndarray, w_a: np.ndarray, ids_b: np.ndarray, w_b: np.ndarray) -> float:
    """Dot product of two sparse vectors given as sorted unique ids and weights."""
    ia, ib = sorted_matches(ids_a, ids_b)
    return float(np.dot(w_a[ia], w_b[ib]))


def profile_features(a: ArticleProfile, b: ArticleProfile) -> tuple[float, ...]:
    """The :data:`LEXICAL_FEATURES` of one pair of profiles (symmetric in a and b)."""
    both_titles = a.title_ids is not None and b.title_ids is not None
    shingle_jaccard, shingle_containment = overlap(a.shingles, b.shingles)
    return (
        sparse_dot(a.char_ids, a.char_weights, b.char_ids, b.char_weights),
        sparse_dot(a.title_ids, a.title_weights, b.title_ids, b.title_weights) if both_titles else math.nan,
        shingle_jaccard,
        shingle_containment,
        *_set_and_length_features(a, b),
    )


def _set_and_length_features(a: ArticleProfile, b: ArticleProfile) -> tuple[float, ...]:
    """The last seven :data:`LEXICAL_FEATURES` (names, numbers, title names, date gap, lengths, language)."""
    both_titles = a.title_ids is not None and b.title_ids is not None
    return (
        set_overlap(a.names, b.names),
        set_overlap(a.numbers, b.numbers),
        set_overlap(a.title_names, b.title_names) if both_titles else math.nan,
        date_gap_days(a.date, b.date),
        abs(math.log((a.n_words + 1) / (b.n_words + 1))),
        math.log(min(a.n_words, b.n_words) + 1),
        math.nan if not a.lang or not b.lang else float(a.lang == b.lang),
    )


def _shared_counts(ids: np.ndarray, rows: Sequence[np.ndarray]) -> np.ndarray:
    """How many of each row's sorted unique values are in ``ids`` (sorted unique): one search for all rows."""
    n = len(rows)
    sizes = np.fromiter((len(r) for r in rows), dtype=np.intp, count=n)
    if not len(ids) or not sizes.sum():
        return np.zeros(n, dtype=np.float64)
    theirs = np.concatenate(rows)
    pos = np.searchsorted(ids, theirs)
    pos[pos == len(ids)] = 0
    return np.bincount(np.repeat(np.arange(n), sizes), weights=(ids[pos] == theirs).astype(np.float64), minlength=n)


def _dense_dots(ids: np.ndarray, weights: np.ndarray, rows: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Dot products of one hashed n-gram vector with many: the vector laid out densely once (the ids are
    below :data:`CHAR_FEATURES`), then one gather for all rows, cheaper than searching each id."""
    n = len(rows)
    if not len(ids) or not n:
        return np.zeros(n, dtype=np.float64)
    dense = np.zeros(CHAR_FEATURES, dtype=np.float64)
    dense[ids] = weights
    sizes = np.fromiter((len(r[0]) for r in rows), dtype=np.intp, count=n)
    theirs = np.concatenate([r[0] for r in rows])
    vals = dense[theirs] * np.concatenate([r[1] for r in rows]).astype(np.float64)
    return np.bincount(np.repeat(np.arange(n), sizes), weights=vals, minlength=n)


def profile_features_many(a: ArticleProfile, others: Sequence[ArticleProfile]) -> np.ndarray:
    """:func:`profile_features` of ``a`` with each of ``others``: an (n, len(LEXICAL_FEATURES)) array.

    The same values (up to float rounding), with the vector and shingle
    intersections done for all of ``others`` in one pass: clustering scores
    an article against a dozen story members at a time.
    """
    n = len(others)
    out = np.full((n, len(LEXICAL_FEATURES)), np.nan, dtype=np.float64)
    if not n:
        return out
    out[:, 0] = _dense_dots(a.char_ids, a.char_weights, [(o.char_ids, o.char_weights) for o in others])
    titled = [i for i, o in enumerate(others) if o.title_ids is not None] if a.title_ids is not None else []
    if titled:
        out[titled, 1] = _dense_dots(a.title_ids, a.title_weights, [(others[i].title_ids, others[i].title_weights) for i in titled])
    inter = _shared_counts(a.shingles, [o.shingles for o in others])
    sizes = np.array([len(o.shingles) for o in others], dtype=np.float64)
    union = len(a.shingles) + sizes - inter
    smaller = np.minimum(len(a.shingles), sizes)
    out[:, 2] = np.divide(inter, union, out=np.zeros(n), where=union > 0)
    out[:, 3] = np.divide(inter, smaller, out=np.zeros(n), where=smaller > 0)
    out[:, 4:] = [_set_and_length_features(a, b) for b in others]
    return out


def lexical_features(pairs: Sequence[tuple[PairText, PairText]], idf: np.ndarray | None = None) -> np.ndarray:
    """(n, len(LEXICAL_FEATURES)) float32 features of many pairs; each distinct article is profiled once."""
    out = np.full((len(pairs), len(LEXICAL_FEATURES)), np.nan, dtype=np.float32)
    if not pairs:
        return out
    slot: dict[tuple, int] = {}
    distinct: list[PairText] = []
    index = []
    for pair in pairs:
        for p in pair:
            key = (p.title, p.text, p.lang, p.date)
            if key not in slot:
                slot[key] = len(distinct)
                distinct.append(p)
            index.append(slot[key])
    profiles = article_profiles(distinct, idf)
    for i in range(len(pairs)):
        out[i] = profile_features(profiles[index[2 * i]], profiles[index[2 * i + 1]])
    return out


#: Cosines taken per embedder (see :func:`samestory.embed.pair_similarities`).
EMBEDDING_PARTS = ("doc", "title", "lead", "body", "chunk_max", "chunk_match")


def embedding_feature_names(embedder: str) -> list[str]:
    return [f"{embedder}_{part}" for part in EMBEDDING_PARTS]


def feature_names(embedders: Sequence[str]) -> list[str]:
    """Column names of :func:`pair_features` for these embedders, in order."""
    return [n for e in embedders for n in embedding_feature_names(e)] + list(LEXICAL_FEATURES) + ["english"]


def embedding_features(pairs: Sequence[tuple[PairText, PairText]], embedder: str,
                       cache: "EmbeddingCache | None" = None,
                       progress: Callable[[int], None] | None = None) -> np.ndarray:
    """(n, len(EMBEDDING_PARTS)) cosines of each pair's vectors under one embedder.

    Each distinct article is embedded once (and not at all when ``cache``
    holds it). The title cosine is NaN unless both articles have a title:
    "no title" is not "different title".
    """
    from .embed import embed_articles, pair_similarities

    out = np.full((len(pairs), len(EMBEDDING_PARTS)), np.nan, dtype=np.float32)
    if not pairs:
        return out
    articles = [(p.title, p.text) for pair in pairs for p in pair]
    vectors = embed_articles(articles, embedder, cache=cache, progress=progress)
    for i, (a, b) in enumerate(pairs):
        sims = pair_similarities(vectors[2 * i], vectors[2 * i + 1])
        out[i] = [sims[part] for part in EMBEDDING_PARTS]
        if not (a.title and b.title):
            out[i, EMBEDDING_PARTS.index("title")] = math.nan
    return out


def pair_features(pairs: Sequence[tuple[PairText, PairText]], embedders: Sequence[str],
                  cache: "EmbeddingCache | None" = None, idf: np.ndarray | None = None,
                  progress: Callable[[int], None] | None = None) -> np.ndarray:
    """The scorer's feature matrix, columns as :func:`feature_names`.

    The one feature recipe used both to train the shipped models
    (``bench/train_scorer.py``) and to score at run time, so they cannot
    drift apart. ``progress`` is called with the number of articles embedded.
    """
    blocks = [embedding_features(pairs, e, cache, progress) for e in embedders]
    blocks.append(lexical_features(pairs, idf))
    english = [float(a.lang == "en" and b.lang == "en") if a.lang and b.lang else math.nan for a, b in pairs]
    blocks.append(np.asarray(english, dtype=np.float32).reshape(-1, 1))
    return np.hstack(blocks)
