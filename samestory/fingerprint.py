"""Fingerprints for the near-copy engine: shingles, MinHash signatures, LSH band keys.

An article's fingerprint has three parts:

* ``content_hash``: 16-byte BLAKE2b of its normalised word sequence. Equal
  hashes mean exact copies up to case, punctuation, quotes, dashes, spacing
  and Unicode compatibility forms.
* ``shingles``: the sorted, unique 64-bit hashes of its word 5-grams. Exact
  Jaccard and containment are computed on these when a pair is verified.
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


@dataclass(frozen=True)
class FingerprintConfig:
    """How fingerprints are made. Fingerprints only compare under the same config.

    The defaults (5-word shingles; 128 slots as 64 bands of 2 rows) come from
    ``bench/minhash_params.py`` on 3,625 real articles and 4,000 planted
    near-copies: a pair at the verification threshold, Jaccard 0.30, becomes
    a candidate with probability 0.998 (measured on planted copies the rule
    accepts: 99.9%, cut-down copies 99.8%), while real pairs that fail the
    rule collide in about 1 of 19,000 pairs (352 of 6.6 million).
    """

    shingle_words: int = 5
    num_perm: int = 128
    bands: int = 64
    rows: int = 2
    seed: int = 1

    def __post_init__(self) -> None:
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
# Jaccard 0.13; GVA same-incident p95 0.10, its top 1% being duplicate pages).
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
    are kept: ``don't`` and ``don\u2019t`` are the same word. Computed in
    fewer passes than ``words(nfc(text))`` (about 2x faster), same result.
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


# Word -> stable 64-bit hash. News vocabulary is small, so a cache turns the
# per-word BLAKE2b into one dict look-up; it is cleared when it grows too big.
_WORD_CACHE: dict[str, int] = {}
_WORD_CACHE_MAX = 1 << 20


def _hash_word(word: str) -> int:
    digest = hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8, person=b"samestory.word1").digest()
    return int.from_bytes(digest, "little")


def _word_hashes(ws: list[str]) -> np.ndarray:
    cache = _WORD_CACHE
    try:
        return np.fromiter(map(cache.__getitem__, ws), dtype=np.uint64, count=len(ws))
    except KeyError:
        pass
    if len(cache) > _WORD_CACHE_MAX:
        cache.clear()
    local = {w: cache.get(w) for w in set(ws)}  # immune to another thread clearing the cache
    for w, h in local.items():
        if h is None:
            local[w] = cache[w] = _hash_word(w)
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


def _shingles_of_words(ws: list[str], k: int) -> np.ndarray:
    if not ws:
        return _EMPTY
    h = _window_hashes(_word_hashes(ws), k)
    h.sort()  # sort + mask: several times faster than np.unique on ~500 values
    keep = np.empty(len(h), dtype=bool)
    keep[:1] = True
    np.not_equal(h[1:], h[:-1], out=keep[1:])
    return h[keep]


def shingle_hashes(text: str, k: int = 5) -> np.ndarray:
    """Sorted unique uint64 hashes of the word ``k``-grams of ``text``.

    A text of fewer than ``k`` words gives one shingle of all its words; a
    text without words gives an empty array. Hashes are the same on every
    run and machine (BLAKE2b per word, polynomial combination mod 2**64,
    SplitMix64 finaliser).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return _shingles_of_words(normalize_for_shingles(text), k)


def _content_hash_of_words(ws: list[str]) -> str:
    return hashlib.blake2b(" ".join(ws).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def content_hash(text: str) -> str:
    """Exact-copy key: 32 hex digits of BLAKE2b over the normalised word sequence."""
    return _content_hash_of_words(normalize_for_shingles(text))


# --- exact set similarity ----------------------------------------------------


def _intersection_size(a: np.ndarray, b: np.ndarray) -> int:
    if len(a) == 0 or len(b) == 0:
        return 0
    return len(np.intersect1d(a, b, assume_unique=True))


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
    ws = normalize_for_shingles(text)
    shingles = _shingles_of_words(ws, config.shingle_words)
    # One row through rensa's flat-buffer API: a different path from
    # fingerprint_many's, which tests check gives the same signature.
    offsets = np.array([0, len(shingles)], dtype=np.uint64)
    matrix = RMinHash.digest_matrix_from_flat_token_hashes(shingles, offsets, config.num_perm, config.seed)
    signature = np.array(matrix.to_rows()[0], dtype=np.uint32)
    return Fingerprint(_content_hash_of_words(ws), shingles, signature)


def signatures(shingle_sets: Sequence[np.ndarray], config: FingerprintConfig = DEFAULT_CONFIG) -> np.ndarray:
    """(n, num_perm) uint32 MinHash signatures of many shingle arrays in one rensa call.

    rensa's prehashed batch API (``digest_matrix_from_token_hash_sets``) takes
    the uint64 arrays as they are and spreads large batches over threads; the
    flat-buffer variant gives the same matrix and no faster overall
    (``bench/minhash_params.py``), since copying rows out dominates both.
    """
    n = len(shingle_sets)
    if n == 0:
        return np.empty((0, config.num_perm), dtype=np.uint32)
    matrix = RMinHash.digest_matrix_from_token_hash_sets(list(shingle_sets), config.num_perm, config.seed)
    return np.array(matrix.to_rows(), dtype=np.uint32).reshape(n, config.num_perm)


def fingerprint_many(texts: Sequence[str], config: FingerprintConfig = DEFAULT_CONFIG) -> list[Fingerprint]:
    """Fingerprints of many texts; signatures come from one batched rensa call.

    Gives exactly ``[fingerprint(t, config) for t in texts]``, faster.
    """
    k = config.shingle_words
    hashes: list[str] = []
    shingle_sets: list[np.ndarray] = []
    for text in texts:
        ws = normalize_for_shingles(text)
        hashes.append(_content_hash_of_words(ws))
        shingle_sets.append(_shingles_of_words(ws, k))
    sigs = signatures(shingle_sets, config)
    return [Fingerprint(h, s, sigs[i]) for i, (h, s) in enumerate(zip(hashes, shingle_sets))]


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

