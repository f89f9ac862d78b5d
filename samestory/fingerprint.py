"""Fingerprints for the near-copy engine: shingles, MinHash signatures, LSH band keys.

An article's fingerprint has three parts:

* ``content_hash``: 16-byte BLAKE2b of its normalised word sequence. Equal
  hashes mean exact copies up to case, punctuation, quotes, dashes, spacing
  and Unicode compatibility forms.
* ``shingles``: the sorted, unique 64-bit hashes of its word 5-grams that
  stay inside one paragraph (blank-line separated; a paragraph under 5 words
  joins its neighbours). Windows across paragraph breaks would change when
  paragraphs are dropped or reordered, so they are not shingles: a copy
  keeping any 40% of the paragraphs is still wholly contained in its source.
  Exact Jaccard and containment are computed on these when a pair is verified.
* ``signature``: a MinHash signature of the shingles (rensa's R-MinHash,
  ``num_perm`` 32-bit slots), cut into ``bands`` x ``rows`` for LSH. Two
  articles become candidates when any band key matches; the probability of
  that is ``1 - (1 - s**rows)**bands`` for Jaccard ``s``.

Everything is deterministic across processes, platforms and runs: words are
hashed with BLAKE2b (never Python's salted ``hash()``), k-gram windows are
combined with fixed-width numpy arithmetic, and the MinHash seed is fixed in
:class:`FingerprintConfig`. The defaults come from ``bench/minhash_params.py``
(planted near-copies of real news vs. unrelated and same-story pairs).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from rensa import RMinHash

from .normalize import _CONTROL, _INVISIBLE, _QUOTES, _WORD

__all__ = [
    "CONTAINMENT_MIN_SHINGLES",
    "DEFAULT_CONFIG",
    "FINGERPRINT_SCHEME",
    "Fingerprint",
    "FingerprintConfig",
    "NEAR_COPY_CONTAINMENT",
    "NEAR_COPY_JACCARD",
    "band_keys_many",
    "candidate_probability",
    "containment",
    "content_hash",
    "estimate_jaccard",
    "fingerprint",
    "fingerprint_many",
    "jaccard",
    "lsh_threshold",
    "normalize_for_shingles",
    "paragraph_words",
    "shingle_hashes",
    "signatures",
]

_U64 = np.uint64
#: Multiplier of the polynomial that combines the word hashes of one window
#: (odd, so multiplication is a bijection mod 2**64).
_POLY = _U64(0x9E3779B97F4A7C15)
#: Seed of the band-key combination; the band index is mixed in after it.
_BAND_SEED = _U64(0x5A17E5A17E5A17E5)
_EMPTY = np.empty(0, dtype=np.uint64)


#: The fingerprint scheme this version makes. Bumped whenever the same text
#: and config would give other shingles or signatures, so that a store
#: holding fingerprints of another scheme is refused, not silently mixed.
FINGERPRINT_SCHEME = 2
SCHEME_HISTORY = {
    1: "word shingles running across paragraph breaks (samestory before the scheme was recorded)",
    2: "word shingles within paragraphs (blank-line separated; paragraphs under k words join their neighbours)",
}


@dataclass(frozen=True)
class FingerprintConfig:
    """How fingerprints are made. Fingerprints only compare under the same config.

    The defaults (5-word shingles; 128 slots as 64 bands of 2 rows) come from
    ``bench/minhash_params.py`` on 3,625 real articles and 6,000 planted
    near-copies (re-run for scheme 2): a pair at the verification threshold,
    Jaccard 0.30, becomes a candidate with probability 0.998 (measured on
    planted copies the rule accepts: 99.95%, cut-down copies 99.91%), while
    real pairs that fail the rule collide in about 1 of 13,600 pairs (482 of
    6.6 million).
    """

    shingle_words: int = 5
    num_perm: int = 128
    bands: int = 64
    rows: int = 2
    seed: int = 1
    #: How words and shingles are made (:data:`FINGERPRINT_SCHEME`); recorded with a store's fingerprints.
    scheme: int = 2

    def __post_init__(self) -> None:
        if self.scheme != FINGERPRINT_SCHEME:
            raise ValueError(
                f"fingerprint scheme {self.scheme!r} is not made by this samestory (it makes scheme {FINGERPRINT_SCHEME}: "
                f"{SCHEME_HISTORY[FINGERPRINT_SCHEME]})"
            )
        for name in ("shingle_words", "num_perm", "bands", "rows"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.bands * self.rows != self.num_perm:
            raise ValueError(
                f"bands * rows must equal num_perm: {self.bands} * {self.rows} != {self.num_perm}"
            )
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must be an integer in [0, 2**64), got {self.seed!r}")

    @property
    def threshold(self) -> float:
        """The Jaccard at which the LSH S-curve is steepest (about 50% recall)."""
        return lsh_threshold(self.bands, self.rows)


DEFAULT_CONFIG = FingerprintConfig()

# Verification of LSH candidates, from bench/minhash_params.py: a pair is a
# near-copy when its exact Jaccard >= NEAR_COPY_JACCARD (keeps 99% of planted
# byline/insert/delete/reorder/5%-word/boilerplate copies), or when the
# smaller text has >= CONTAINMENT_MIN_SHINGLES shingles and containment >=
# NEAR_COPY_CONTAINMENT (a cut-down copy keeping 40-60% of the paragraphs).
# Different outlets' reports of one event stay below both (AllSides p99
# Jaccard 0.15; GVA same-incident p95 0.11, its top 1% being duplicate pages).
# With shingles inside paragraphs a plain cut-down is contained whole (the
# study's strictest containment keeping 99% of them is 0.95); 0.8 leaves room
# for a cut-down that was also edited (a new byline, words changed).
NEAR_COPY_JACCARD = 0.30
NEAR_COPY_CONTAINMENT = 0.80
CONTAINMENT_MIN_SHINGLES = 20


# --- words and shingles ----------------------------------------------------


# The folding of samestory.normalize (words(nfc(text))) restricted to what
# changes the words, in fewer passes: tests check the two agree.
_DROP = re.compile(f"{_INVISIBLE.pattern}|{_CONTROL.pattern}")
_FOLD = tuple((chr(code), repl) for code, repl in _QUOTES.items())


def normalize_for_shingles(text: str) -> list[str]:
    """The words that shingles are made of: ``samestory.normalize.words(nfc(text))``.

    Case-folded NFKC words with curly quotes and dashes folded to ASCII,
    punctuation and whitespace dropped, and zero-width/control characters
    removed first (so ``wo\u200brd`` is one word). Apostrophes inside a word
    are kept: ``don't`` and ``don\u2019t`` are the same word. This is the
    reference definition; fingerprints get the same words, split into
    paragraphs, by a faster path (:func:`paragraph_words`; tests check both
    agree).
    """
    if not text:
        return []
    text = _DROP.sub("", text)
    if text.isascii():  # NFKC-invariant; casefold is lower; only ` needs folding
        if "`" in text:
            text = text.replace("`", "'")
        return _WORD.findall(text.lower())
    for char, repl in _FOLD:
        if char in text:
            text = text.replace(char, repl)
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


# Fast path for ASCII text (most English news once curly quotes and dashes
# are folded): bytes.lower + one bytes.translate leave word characters, the
# apostrophe, space and newline; apostrophes not between two word characters
# become spaces; then blank lines split paragraphs and bytes.split the words.
_ASCII_KEEP = {ord(c) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'\n"}
_ASCII_DELETE = bytes(c for c in range(128) if _CONTROL.match(chr(c)))
_ASCII_TABLE = bytes(c if c in _ASCII_KEEP or c >= 128 else (ord("'") if c == ord("`") else ord(" ")) for c in range(256))
_ASCII_APOS = re.compile(rb"'(?:(?<=[^0-9a-z_]')|(?<=^')|(?![0-9a-z_]))")
_BLANK_LINE = re.compile(rb"\n[ \n]*\n")
# Characters common in English news whose folded form is ASCII: replaced
# before the ASCII test so such texts take the fast path (same words).
_PRE_FOLD = (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\u2014", "-"), ("\u2013", "-"),
             ("\u00a0", " "), ("\u2026", "..."), ("\u2028", "\n"), ("\u2029", "\n\n"))
# General path: NFKC + casefold, then non-ASCII characters that are not word
# characters become spaces, then the ASCII byte table as above; every byte
# >= 0x80 left belongs to a word character (same words as normalize_for_shingles).
_NON_ASCII_NON_WORD = re.compile(r"[^\x00-\x7f\w]+")
_UTF8_APOS = re.compile(rb"'(?:(?<=[^0-9a-z_\x80-\xff]')|(?<=^')|(?![0-9a-z_\x80-\xff]))")


def paragraph_words(text: str) -> list[list[bytes]]:
    """The words of ``text`` (UTF-8 bytes, as :func:`normalize_for_shingles`) grouped by paragraph.

    A paragraph break is a blank line: two line breaks with nothing but
    whitespace or punctuation between them. Single line breaks are spaces.
    Paragraphs without words are dropped.
    """
    if not text:
        return []
    if not text.isascii():
        for char, repl in _PRE_FOLD:
            if char in text:
                text = text.replace(char, repl)
    if text.isascii():
        data = text.encode("ascii").lower().translate(_ASCII_TABLE, _ASCII_DELETE)
        if b"'" in data:
            data = _ASCII_APOS.sub(b" ", data)
    else:
        text = _DROP.sub("", text)
        for char, repl in _FOLD:
            if char in text:
                text = text.replace(char, repl)
        text = unicodedata.normalize("NFKC", text).casefold()
        # non-ASCII characters that are not word characters become spaces here; ASCII ones in the byte table below
        text = _NON_ASCII_NON_WORD.sub(" ", text)
        data = text.encode("utf-8", "surrogatepass").translate(_ASCII_TABLE, _ASCII_DELETE)
        if b"'" in data:
            data = _UTF8_APOS.sub(b" ", data)
    paras = [p.split() for p in _BLANK_LINE.split(data)]
    return [p for p in paras if p]


# Word -> stable 64-bit hash. News vocabulary is small, so a cache turns the
# per-word BLAKE2b into one dict look-up; it is cleared when it grows too big.
_WORD_CACHE: dict[bytes, int] = {}
_WORD_CACHE_MAX = 1 << 20


def _hash_word(word: bytes) -> int:
    digest = hashlib.blake2b(word, digest_size=8, person=b"samestory.word1").digest()
    return int.from_bytes(digest, "little")


def _word_hashes(ws: list[bytes]) -> np.ndarray:
    cache = _WORD_CACHE
    missing = set(ws).difference(cache)
    if missing:
        if len(cache) + len(missing) > _WORD_CACHE_MAX:
            cache.clear()
            missing = set(ws)
        for w in missing:
            cache[w] = _hash_word(w)
    try:
        return np.fromiter(map(cache.__getitem__, ws), dtype=np.uint64, count=len(ws))
    except KeyError:  # another thread cleared the cache meanwhile
        local = {w: _hash_word(w) for w in set(ws)}
        return np.fromiter(map(local.__getitem__, ws), dtype=np.uint64, count=len(ws))


def _mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, elementwise (uint64 arithmetic wraps)."""
    z = z ^ (z >> _U64(30))
    z = z * _U64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> _U64(27))
    z = z * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


def _window_hashes(word_hashes: np.ndarray, k: int) -> np.ndarray:
    """One hash per window of ``k`` consecutive word hashes (unsorted, may repeat)."""
    n = len(word_hashes)
    if n == 0:
        return _EMPTY
    k = min(k, n)
    m = n - k + 1
    h = word_hashes[:m].copy()
    for j in range(1, k):
        h *= _POLY
        h += word_hashes[j : j + m]
    return _mix64(h)


class _Shingled:
    """Shingles of a batch of texts: one flat sorted-unique-per-text array and offsets."""

    __slots__ = ("content_hashes", "flat", "offsets")

    def __init__(self, content_hashes: list[str], flat: np.ndarray, offsets: np.ndarray):
        self.content_hashes = content_hashes
        self.flat = flat
        self.offsets = offsets

    def shingles(self, i: int) -> np.ndarray:
        return self.flat[self.offsets[i] : self.offsets[i + 1]]


def _shingle_texts(texts: Sequence[str], k: int) -> _Shingled:
    """Content hashes and shingles of many texts, windows hashed for all of them at once.

    Shingles are the ``k``-word windows that do not cross a paragraph break.
    A paragraph of fewer than ``k`` words is no unit of its own: windows run
    across its breaks into its neighbours (so a one-line byline or "Advertisement"
    is shingled with the text next to it, as before). A text of fewer than
    ``k`` words has one shingle of all its words.
    """
    words: list[bytes] = []
    ends = [0]  # word offset of each text's end
    breaks: list[int] = []  # word offsets where windows must not run across: text starts and paragraph breaks
    content: list[str] = []
    short: list[int] = []
    join = b" ".join
    for t, text in enumerate(texts):
        paras = paragraph_words(text)
        start = len(words)
        breaks.append(start)
        prev = 0
        for p in paras:
            n = len(p)
            if prev >= k and n >= k:
                breaks.append(len(words))
            words.extend(p)
            prev = n
        n_words = len(words) - start
        ends.append(len(words))
        if 0 < n_words < k:
            short.append(t)
        content.append(hashlib.blake2b(join(words[start:]), digest_size=16).hexdigest())
    n_texts = len(texts)
    wh = _word_hashes(words)
    n = len(wh)
    ends_a = np.asarray(ends, dtype=np.int64)
    if n >= k:
        h = _window_hashes(wh, k)  # window i covers words i .. i+k-1
        mark = np.zeros(n + 1, dtype=np.int32)
        mark[np.asarray(breaks, dtype=np.int64)] = 1
        mark[n] = 1
        cum = np.cumsum(mark)
        m = len(h)
        valid = cum[k - 1 : k - 1 + m] == cum[:m]  # no break at words i+1 .. i+k-1
        starts = np.flatnonzero(valid)
        hv = h[valid]
        cut = np.searchsorted(starts, ends_a)  # per text: its windows are hv[cut[t]:cut[t+1]]
    else:
        hv = _EMPTY
        cut = np.zeros(n_texts + 1, dtype=np.int64)
    for t in range(n_texts):
        a, b = cut[t], cut[t + 1]
        if b - a > 1:
            hv[a:b].sort()  # in place, per text
    keep = np.ones(len(hv), dtype=bool)
    if len(hv) > 1:
        np.not_equal(hv[1:], hv[:-1], out=keep[1:])
        keep[cut[:-1][cut[:-1] < len(hv)]] = True
    flat = hv[keep]
    csum = np.zeros(len(hv) + 1, dtype=np.int64)
    np.cumsum(keep, out=csum[1:])
    offsets = csum[cut]
    if short:  # texts shorter than k words: one shingle of all of them, put in their (empty) slot
        parts = [flat[offsets[t] : offsets[t + 1]] for t in range(n_texts)]
        for t in short:
            parts[t] = _window_hashes(wh[ends[t] : ends[t + 1]], k)
        lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=n_texts)
        offsets = np.zeros(n_texts + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.concatenate(parts) if parts else _EMPTY
    return _Shingled(content, flat, offsets)


def shingle_hashes(text: str, k: int = 5) -> np.ndarray:
    """Sorted unique uint64 hashes of the word ``k``-grams of ``text`` that do not cross a paragraph break.

    Paragraphs are separated by blank lines; one of fewer than ``k`` words
    joins its neighbours. A text of fewer than ``k`` words gives one shingle
    of all its words; a text without words gives an empty array. Hashes are
    the same on every run and machine (BLAKE2b per word, polynomial
    combination mod 2**64, SplitMix64 finaliser).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return _shingle_texts([text], k).shingles(0).copy()


def content_hash(text: str) -> str:
    """Exact-copy key: 32 hex digits of BLAKE2b over the normalised word sequence (paragraphs do not matter)."""
    return _shingle_texts([text], 1).content_hashes[0]


# --- exact set similarity ----------------------------------------------------


def sorted_matches(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(ia, ib)`` of the values two sorted unique arrays share (``a[ia] == b[ib]``), in increasing order.

    A binary search of the shorter array's values in the longer one: no
    concatenation or sort, several times faster than ``np.intersect1d`` on
    the arrays compared here (shingles, sparse n-gram vectors).
    """
    if len(a) == 0 or len(b) == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    swap = len(a) < len(b)
    small, large = (a, b) if swap else (b, a)
    pos = np.searchsorted(large, small)
    pos[pos == len(large)] = 0
    hit = large[pos] == small
    in_small = np.flatnonzero(hit)
    in_large = pos[hit]
    return (in_small, in_large) if swap else (in_large, in_small)


def _intersection_size(a: np.ndarray, b: np.ndarray) -> int:
    return len(sorted_matches(a, b)[0])


def overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``(jaccard(a, b), containment(a, b))`` from one intersection."""
    inter = _intersection_size(a, b)
    union = len(a) + len(b) - inter
    smaller = min(len(a), len(b))
    return (inter / union if union else 0.0), (inter / smaller if smaller else 0.0)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard |a∩b| / |a∪b| of two sorted unique shingle arrays (0.0 if both are empty)."""
    inter = _intersection_size(a, b)
    union = len(a) + len(b) - inter
    return inter / union if union else 0.0


def containment(a: np.ndarray, b: np.ndarray) -> float:
    """|a∩b| / min(|a|, |b|): how much of the smaller text is in the larger one.

    A cut-down copy (a story with its later paragraphs dropped) has low
    Jaccard with its source but containment near 1. 0.0 if either is empty.
    """
    smaller = min(len(a), len(b))
    return _intersection_size(a, b) / smaller if smaller else 0.0


# --- LSH arithmetic ------------------------------------------------------------


def candidate_probability(s: float, bands: int, rows: int) -> float:
    """Chance that a pair with Jaccard ``s`` shares at least one band: 1 - (1 - s^r)^b."""
    return 1.0 - (1.0 - s**rows) ** bands


def lsh_threshold(bands: int, rows: int) -> float:
    """The usual (1/b)^(1/r) approximation of where the S-curve crosses about 1/2."""
    return (1.0 / bands) ** (1.0 / rows)


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Jaccard estimated from two signatures: the fraction of equal slots."""
    if len(sig_a) != len(sig_b):
        raise ValueError(f"signatures differ in length: {len(sig_a)} != {len(sig_b)}")
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a) if len(sig_a) else 0.0


def _band_keys_matrix(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64 keys: each band's slots combined, with the band index mixed in."""
    n = signatures.shape[0]
    sig = signatures.reshape(n, bands, rows).astype(np.uint64)
    h = np.broadcast_to(_mix64(_BAND_SEED + np.arange(bands, dtype=np.uint64)), (n, bands)).copy()
    for j in range(rows):
        h *= _POLY
        h += sig[:, :, j]
    return _mix64(h)


# --- fingerprints --------------------------------------------------------------


@dataclass(eq=False)
class Fingerprint:
    """One article's fingerprint; compare only fingerprints made with the same config."""

    content_hash: str
    #: Sorted unique uint64 shingle hashes.
    shingles: np.ndarray
    #: uint32 MinHash signature, ``num_perm`` slots (all 0xFFFFFFFF for an empty text).
    signature: np.ndarray

    @property
    def empty(self) -> bool:
        """True for a text with no words."""
        return len(self.shingles) == 0

    def band_keys(self, config: FingerprintConfig = DEFAULT_CONFIG) -> list[int]:
        """One stable unsigned 64-bit key per band (band index included); none for an empty text.

        Two fingerprints are LSH candidates when they share a key at the same
        position; since the band index is mixed in, keys of different bands
        never collide by construction, so all keys can share one table.
        """
        if len(self.signature) != config.num_perm:
            raise ValueError(
                f"signature has {len(self.signature)} slots but the config has num_perm={config.num_perm}"
            )
        if self.empty:
            return []
        return _band_keys_matrix(self.signature[None, :], config.bands, config.rows)[0].tolist()

    def jaccard(self, other: Fingerprint) -> float:
        """Exact Jaccard of the two shingle sets."""
        return jaccard(self.shingles, other.shingles)

    def containment(self, other: Fingerprint) -> float:
        """Exact containment of the smaller shingle set in the larger."""
        return containment(self.shingles, other.shingles)

    def estimate_jaccard(self, other: Fingerprint) -> float:
        """Jaccard estimated from the signatures (fraction of equal slots)."""
        if self.empty or other.empty:
            return 0.0
        return estimate_jaccard(self.signature, other.signature)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fingerprint):
            return NotImplemented
        return (
            self.content_hash == other.content_hash
            and np.array_equal(self.shingles, other.shingles)
            and np.array_equal(self.signature, other.signature)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside

    def __repr__(self) -> str:
        return (
            f"Fingerprint(content_hash={self.content_hash!r}, shingles=<{len(self.shingles)}>, "
            f"signature=<{len(self.signature)} x {self.signature.dtype}>)"
        )


def fingerprint(text: str, config: FingerprintConfig = DEFAULT_CONFIG) -> Fingerprint:
    """The fingerprint of one text (same result as :func:`fingerprint_many` on it)."""
    return fingerprint_many([text], config)[0]


def signatures(shingle_sets: Sequence[np.ndarray], config: FingerprintConfig = DEFAULT_CONFIG) -> np.ndarray:
    """(n, num_perm) uint32 MinHash signatures of many shingle arrays in one rensa call.

    rensa's prehashed batch API (``digest_matrix_from_token_hash_sets``) takes
    the uint64 arrays as they are and spreads large batches over threads;
    :func:`fingerprint_many` uses the flat-buffer variant, which gives the
    same matrix (tests check it).
    """
    n = len(shingle_sets)
    if n == 0:
        return np.empty((0, config.num_perm), dtype=np.uint32)
    matrix = RMinHash.digest_matrix_from_token_hash_sets(list(shingle_sets), config.num_perm, config.seed)
    return np.array(matrix.to_rows(), dtype=np.uint32).reshape(n, config.num_perm)


def fingerprint_many(texts: Sequence[str], config: FingerprintConfig = DEFAULT_CONFIG) -> list[Fingerprint]:
    """Fingerprints of many texts: windows hashed for all texts at once, signatures in one rensa call.

    Gives exactly ``[fingerprint(t, config) for t in texts]``; faster the more
    texts per call (``samestory.dedup`` passes 2,000 at a time).
    """
    return _unpack(_fingerprint_packed(texts, config))


def _fingerprint_packed(texts: Sequence[str], config: FingerprintConfig) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Fingerprints of many texts as (content hashes, flat shingles, offsets, signature matrix): cheap to pickle."""
    n = len(texts)
    if n == 0:
        return [], _EMPTY, np.zeros(1, dtype=np.int64), np.empty((0, config.num_perm), dtype=np.uint32)
    sh = _shingle_texts(texts, config.shingle_words)
    matrix = RMinHash.digest_matrix_from_flat_token_hashes(sh.flat, sh.offsets.astype(np.uint64), config.num_perm, config.seed)
    sigs = np.array(matrix.to_rows(), dtype=np.uint32).reshape(n, config.num_perm)
    return sh.content_hashes, sh.flat, sh.offsets, sigs


def _unpack(packed: tuple[list[str], np.ndarray, np.ndarray, np.ndarray]) -> list[Fingerprint]:
    hashes, flat, offsets, sigs = packed
    bounds = offsets.tolist()
    return [Fingerprint(h, flat[bounds[i] : bounds[i + 1]], sigs[i]) for i, h in enumerate(hashes)]


def band_keys_many(fingerprints: Sequence[Fingerprint], config: FingerprintConfig = DEFAULT_CONFIG) -> np.ndarray:
    """(n, bands) uint64 band keys for many fingerprints at once (rows of empty texts are 0 and should be skipped)."""
    if not fingerprints:
        return np.empty((0, config.bands), dtype=np.uint64)
    sigs = np.stack([f.signature for f in fingerprints])
    if sigs.shape[1] != config.num_perm:
        raise ValueError(f"signatures have {sigs.shape[1]} slots but the config has num_perm={config.num_perm}")
    keys = _band_keys_matrix(sigs, config.bands, config.rows)
    keys[[f.empty for f in fingerprints]] = 0
    return keys

