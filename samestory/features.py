"""Pair features for the same-story scorer, beyond one embedding cosine.

Each feature answers a question an editor would ask of two articles: do
they read alike (character n-gram TF-IDF), name the same people, places and
organisations, give the same numbers, share passages (shingle Jaccard), were
they published close in time, and are they comparable at all (lengths,
languages)? Missing information is NaN, never a guess, so the learned
combiner can tell "unknown" from "different".
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
import threading
import zlib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from .dates import to_iso
from .fingerprint import overlap, shingles_many, sorted_matches
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


def _word_gram_ids(word: str, n_features: int) -> np.ndarray:
    """Hashed ids of the character 3-5-grams of one space-padded word, exactly as scikit-learn's
    ``HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), alternate_sign=False)`` makes them
    (a word shorter than n counts once, as its whole padded self; MurmurHash3 of the UTF-8 bytes, seed 0)."""
    from sklearn.utils import murmurhash3_32

    padded = f" {word} "
    grams = []
    for n in (3, 4, 5):
        grams.append(padded[:n])
        offset = 0
        while offset + n < len(padded):
            offset += 1
            grams.append(padded[offset:offset + n])
        if offset == 0:
            break
    hashes = [murmurhash3_32(g.encode("utf-8"), 0) for g in grams]
    return np.array([(2**31 - 1 - (n_features - 1)) % n_features if h == -2**31 else abs(h) % n_features for h in hashes],
                    dtype=np.int32)


#: Words whose n-gram ids :func:`hashed_char_counts` keeps between calls (a stream's vocabulary
#: settles, so most words of a new batch were seen before); about 60 MB when full, then emptied.
WORD_CACHE_WORDS = 300_000
_WORD_GRAM_IDS: dict[int, dict[str, np.ndarray]] = {}


def hashed_char_counts(texts: Sequence[str], n_features: int = CHAR_FEATURES):
    """Counts of hashed character 3-5-grams within words (float64 CSR, sorted ids): the matrix scikit-learn's
    ``HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=n_features, alternate_sign=False,
    norm=None, lowercase=True)`` gives, made per distinct word instead of per n-gram (news repeats its
    words, so each word is hashed once: 2-5 times faster; a test holds them equal)."""
    from collections import Counter

    import scipy.sparse as sp

    ids_of = _WORD_GRAM_IDS.setdefault(n_features, {})
    if len(ids_of) > WORD_CACHE_WORDS:
        ids_of.clear()
    indptr, indices, values = [0], [np.zeros(0, dtype=np.int32)], [np.zeros(0, dtype=np.float64)]
    for text in texts:
        counts = Counter(text.lower().split())
        if counts:
            parts = []
            for word in counts:
                ids = ids_of.get(word)
                if ids is None:
                    ids = ids_of[word] = _word_gram_ids(word, n_features)
                parts.append(ids)
            ids = np.concatenate(parts)
            weight = np.repeat(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)), [len(p) for p in parts])
            unique, inverse = np.unique(ids, return_inverse=True)
            indices.append(unique)
            values.append(np.bincount(inverse, weights=weight, minlength=len(unique)))
        indptr.append(indptr[-1] + (len(indices[-1]) if counts else 0))
    return sp.csr_matrix((np.concatenate(values), np.concatenate(indices), np.asarray(indptr, dtype=np.int64)),
                         shape=(len(texts), n_features))


def char_vectors(texts: Sequence[str], idf: np.ndarray | None = None):
    """L2-normalised sublinear-TF(-IDF) hashed character 3-5-gram vectors (scipy sparse)."""
    from sklearn.preprocessing import normalize

    m = hashed_char_counts([for_matching(t[:CHAR_TEXT_LIMIT]) for t in texts])
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

    @cached_property
    def name_ids(self) -> np.ndarray:
        """The names as sorted unique 64-bit hashes (stable across processes), for counting shared names
        with many articles at once (:func:`shared_name_counts`)."""
        return np.unique(np.array([int.from_bytes(hashlib.blake2b(n.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
                                   for n in self.names], dtype=np.uint64))

    # Bytes (see :meth:`to_bytes`): b"SSP1", a header of counts, the n-gram weights as float16 and the
    # shingles, then zlib of the sorted n-gram ids as deltas and of the names, numbers, title names,
    # language and date as text (the part that compresses). About 8 KB for a 450-word article (~20 KB
    # as float32 arrays in memory).
    _MAGIC = b"SSP1"
    _HEADER = struct.Struct("<4sIIIIIB")  # magic, chars, title chars (or 2**32-1: no title), shingles, words, text bytes, has date

    def to_bytes(self) -> bytes:
        """Compact serialisation (float16 weights) for a store; ``from_bytes(to_bytes(p))`` is a fixed point."""
        no_title = self.title_ids is None
        title_ids = np.zeros(0, np.int32) if no_title else self.title_ids
        title_weights = np.zeros(0, np.float32) if no_title else self.title_weights
        text = "\x1e".join(["\x1f".join(sorted(self.names)), "\x1f".join(sorted(self.numbers)),
                             "" if self.title_names is None else "\x1f".join(sorted(self.title_names)),
                             self.lang or "", self.date or ""]).encode("utf-8", "surrogatepass")
        packed = zlib.compress(b"".join((np.diff(self.char_ids, prepend=0).astype("<u4").tobytes(),
                                         np.diff(title_ids, prepend=0).astype("<u4").tobytes(), text)), 1)
        head = self._HEADER.pack(self._MAGIC, len(self.char_ids), 2**32 - 1 if no_title else len(title_ids),
                                 len(self.shingles), self.n_words, len(text), int(self.date is not None))
        return b"".join((head, self.char_weights.astype("<f2").tobytes(), title_weights.astype("<f2").tobytes(),
                         self.shingles.astype("<u8").tobytes(), packed))

    @classmethod
    def from_bytes(cls, data: bytes) -> "ArticleProfile":
        magic, n_char, n_title, n_shingles, n_words, n_text, has_date = cls._HEADER.unpack_from(data)
        if magic != cls._MAGIC:
            raise ValueError("not a serialised ArticleProfile (bad magic)")
        no_title = n_title == 2**32 - 1
        n_title = 0 if no_title else n_title
        raw = cls._HEADER.size + 2 * n_char + 2 * n_title + 8 * n_shingles
        body = data[:raw] + zlib.decompress(data[raw:])
        sizes = (cls._HEADER.size, 2 * n_char, 2 * n_title, 8 * n_shingles, 4 * n_char, 4 * n_title, n_text)
        if len(body) != sum(sizes):
            raise ValueError(f"serialised ArticleProfile: {len(body)} bytes, expected {sum(sizes)}")
        parts, pos = [], 0
        for size in sizes:
            parts.append(body[pos:pos + size])
            pos += size
        _, weights, title_weights, shingles, ids, title_ids, text = parts
        ids = np.cumsum(np.frombuffer(ids, "<u4"), dtype=np.int64).astype(np.int32)
        title_ids = np.cumsum(np.frombuffer(title_ids, "<u4"), dtype=np.int64).astype(np.int32)
        weights = np.frombuffer(weights, "<f2").astype(np.float32)
        title_weights = np.frombuffer(title_weights, "<f2").astype(np.float32)
        names_, numbers_, title_names, lang, date = text.decode("utf-8", "surrogatepass").split("\x1e")

        def items(joined: str) -> frozenset[str]:
            return frozenset(joined.split("\x1f")) if joined else frozenset()

        return cls(ids, weights, None if no_title else title_ids, None if no_title else title_weights,
                   np.frombuffer(shingles, "<u8").astype(np.uint64), items(names_), items(numbers_),
                   None if no_title else items(title_names), n_words, lang or None, date if has_date else None)


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
    shingles = shingles_many([p.text for p in articles])
    out = []
    for p, (di, dw), (ti, tw), sh in zip(articles, docs, titles, shingles):
        has_title = bool(p.title)
        out.append(ArticleProfile(
            di, dw, ti if has_title else None, tw if has_title else None, sh,
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
    sizes = np.fromiter((len(r) for r in rows), dtype=np.intp, count=len(rows))
    return shared_counts_flat(ids, np.concatenate(rows) if len(rows) else ids[:0], sizes)


def shared_counts_flat(ids: np.ndarray, theirs: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """:func:`_shared_counts` of rows given laid end to end (``theirs``, row lengths ``sizes``): callers that
    keep rows concatenated (the clusterer's per-story member blocks) skip the per-row concatenation."""
    n = len(sizes)
    if not len(ids) or not len(theirs):
        return np.zeros(n, dtype=np.float64)
    pos = np.searchsorted(ids, theirs)
    pos[pos == len(ids)] = 0
    return np.bincount(np.repeat(np.arange(n), sizes), weights=(ids[pos] == theirs).astype(np.float64), minlength=n)


def shared_name_counts(a: ArticleProfile, others: Sequence[ArticleProfile]) -> np.ndarray:
    """How many names ``a`` shares with each of ``others`` (one search for all of them)."""
    return _shared_counts(a.name_ids, [o.name_ids for o in others])


def _dense_dots(ids: np.ndarray, weights: np.ndarray, rows: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Dot products of one hashed n-gram vector with many: the vector laid out densely once (the ids are
    below :data:`CHAR_FEATURES`), then one gather for all rows, cheaper than searching each id."""
    n = len(rows)
    if not len(ids) or not n:
        return np.zeros(n, dtype=np.float64)
    dense = getattr(_scratch, "dense", None)
    if dense is None:
        dense = _scratch.dense = np.zeros(CHAR_FEATURES, dtype=np.float64)
    dense[ids] = weights
    try:
        sizes = np.fromiter((len(r[0]) for r in rows), dtype=np.intp, count=n)
        theirs = np.concatenate([r[0] for r in rows])
        vals = dense[theirs] * np.concatenate([r[1] for r in rows]).astype(np.float64)
    finally:
        dense[ids] = 0.0  # zero again for the next call (cheaper than a fresh 2 MB array each time)
    return np.bincount(np.repeat(np.arange(n), sizes), weights=vals, minlength=n)


#: per-thread scratch space (the service scores pairs from several threads)
_scratch = threading.local()


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
