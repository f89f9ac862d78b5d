"""Fingerprints for the near-copy engine: shingles, MinHash signatures, LSH band keys.

An article's fingerprint has four parts:

* ``content_hash``: 16-byte BLAKE2b of its normalised word sequence (of its words' hashes, in order). Equal
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
* ``paragraphs``: a MinHash of the article's paragraphs (``paragraph_bands``
  slots, one LSH key each). A cut-down copy of a long article has a shingle
  Jaccard far below the signature's threshold, but it keeps whole
  paragraphs, so it shares a slot with probability ``1 - (1 - p)**slots``
  for ``p`` the share of the source's paragraphs it kept.

Everything is deterministic across processes, platforms and runs: words are
hashed from their bytes with fixed-width numpy arithmetic (never Python's
salted ``hash()``), k-gram windows likewise, and the MinHash seed is fixed in
:class:`FingerprintConfig`. The defaults come from ``bench/minhash_params.py``
(planted near-copies of real news vs. unrelated and same-story pairs).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple, Sequence

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
    "PARAGRAPH_MIN_WORDS",
    "band_keys_many",
    "candidate_probability",
    "containment",
    "content_hash",
    "edit_tolerant_overlap",
    "estimate_jaccard",
    "fingerprint",
    "fingerprint_many",
    "intersection_size",
    "jaccard",
    "lsh_threshold",
    "normalize_for_shingles",
    "paragraph_minhash",
    "paragraph_words",
    "shingle_hashes",
    "signatures",
    "word_hashes",
]

_U64 = np.uint64
#: Multiplier of the polynomial that combines the word hashes of one window
#: (odd, so multiplication is a bijection mod 2**64).
_POLY = _U64(0x9E3779B97F4A7C15)
#: Seed of the band-key combination; the band index is mixed in after it.
_BAND_SEED = _U64(0x5A17E5A17E5A17E5)
#: Seed of the paragraph MinHash (:func:`paragraph_minhash`) and of its LSH keys.
_PARA_SEED = _U64(0x9A7A9A7A9A7A9A7A)
_EMPTY = np.empty(0, dtype=np.uint64)


#: The fingerprint scheme this version makes. Bumped whenever the same text
#: and config would give other shingles or signatures, so that a store
#: holding fingerprints of another scheme is refused, not silently mixed.
FINGERPRINT_SCHEME = 3
SCHEME_HISTORY = {
    1: "word shingles running across paragraph breaks (samestory before the scheme was recorded)",
    2: "word shingles within paragraphs (blank-line separated; paragraphs under k words join their neighbours)",
    3: "as 2, words hashed from their bytes in numpy (not BLAKE2b), and a MinHash of the paragraphs for containment candidates",
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
    #: Containment candidates: a MinHash of the article's paragraphs, this many slots, one LSH key each
    #: (see :func:`paragraph_minhash`). 0: none.
    paragraph_bands: int = 8
    #: How words and shingles are made (:data:`FINGERPRINT_SCHEME`); recorded with a store's fingerprints.
    scheme: int = 3

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
        if not isinstance(self.paragraph_bands, int) or self.paragraph_bands < 0:
            raise ValueError(f"paragraph_bands must be a non-negative integer, got {self.paragraph_bands!r}")

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
# The minimum for containment is 10 shingles (14 words): a one-paragraph
# cut-down of a short story is a copy (planted ones of 10-19 shingles were
# missed at 20), while a line or two ("Police are investigating.") stays
# below it and is not "contained" in every page that carries it.
NEAR_COPY_JACCARD = 0.30
NEAR_COPY_CONTAINMENT = 0.80
CONTAINMENT_MIN_SHINGLES = 10
#: Paragraphs shorter than this stay out of an article's paragraph MinHash (unless all of its paragraphs are).
PARAGRAPH_MIN_WORDS = 12


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
    text = _fold(unicodedata.normalize("NFKC", _fold(text)))  # again after NFKC, which makes some (a fullwidth `)
    return _WORD.findall(text.casefold())


def _fold(text: str) -> str:
    for char, repl in _FOLD:
        if char in text:
            text = text.replace(char, repl)
    return text


# Fast path for ASCII text (most English news once curly quotes and dashes
# are folded): bytes.lower + one bytes.translate leave word characters, the
# apostrophe, space and newline; apostrophes not between two word characters
# become spaces; then blank lines split paragraphs and bytes.split the words.
_ASCII_KEEP = {ord(c) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'\n"}
_ASCII_DELETE = bytes(c for c in range(128) if _CONTROL.match(chr(c)))
_ASCII_TABLE = bytes(c if c in _ASCII_KEEP or c >= 128 else (ord("'") if c == ord("`") else ord(" ")) for c in range(256))
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


def _normalized_bytes(text: str) -> bytes:
    """``text`` folded as :func:`normalize_for_shingles` folds it, as bytes: word characters, apostrophes, spaces, line breaks.

    ASCII word characters stay, every byte >= 0x80 left belongs to a word
    character (UTF-8), any other character is a space; line breaks stay so
    that paragraphs can be found. Apostrophes are all still there: whether
    one joins two words is decided after (see :func:`paragraph_words`).
    """
    if not text:
        return b""
    if not text.isascii():
        for char, repl in _PRE_FOLD:
            if char in text:
                text = text.replace(char, repl)
    if text.isascii():
        return text.encode("ascii").lower().translate(_ASCII_TABLE, _ASCII_DELETE)
    text = _DROP.sub("", text)
    for char, repl in _FOLD:
        if char in text:
            text = text.replace(char, repl)
    text = unicodedata.normalize("NFKC", text).casefold()
    # non-ASCII characters that are not word characters become spaces here; ASCII ones in the byte table
    text = _NON_ASCII_NON_WORD.sub(" ", text)
    return text.encode("utf-8", "surrogatepass").translate(_ASCII_TABLE, _ASCII_DELETE)


def paragraph_words(text: str) -> list[list[bytes]]:
    """The words of ``text`` (UTF-8 bytes, as :func:`normalize_for_shingles`) grouped by paragraph.

    A paragraph break is a blank line: two line breaks with nothing but
    whitespace or punctuation between them. Single line breaks are spaces.
    Paragraphs without words are dropped. The per-text reference of the
    batched path fingerprints take (:func:`_shingle_texts`; tests check both
    agree).
    """
    data = _normalized_bytes(text)
    if b"'" in data:
        data = _UTF8_APOS.sub(b" ", data)
    paras = [p.split() for p in _BLANK_LINE.split(data)]
    return [p for p in paras if p]


#: Mixed into a word's hash with its length before the SplitMix64 finaliser.
_WORD_LEN_MIX = _U64(0xD6E8FEB86659FD93)
#: _LOW_BYTES[i]: the low ``i`` bytes of a uint64 (i = 0..8).
_LOW_BYTES = np.array([(1 << (8 * i)) - 1 for i in range(9)], dtype=np.uint64)


def _word_hash_of(buf: bytes, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Hashes of the words ``buf[s:s + l]``: their bytes read as little-endian uint64 chunks of 8, combined.

    ``buf`` must have 8 bytes after its last word (any value: they are
    masked off). A word of up to 8 bytes is its one chunk, exactly; longer
    words combine their chunks as k-gram windows combine word hashes
    (multiply by :data:`_POLY`, add); the length is mixed in and the
    SplitMix64 finaliser spreads the bits.
    """
    if len(starts) == 0:
        return _EMPTY
    # every byte offset read as the start of a little-endian uint64 (overlapping, unaligned view)
    chunks = np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
    lens64 = lens.astype(np.int64)
    h = chunks[starts] & _LOW_BYTES[np.minimum(lens64, 8)]
    sel = np.flatnonzero(lens64 > 8)
    j = 8
    while len(sel):  # words longer than 8 bytes: the next chunk of each
        rest = lens64[sel] - j
        h[sel] = h[sel] * _POLY + (chunks[starts[sel] + j] & _LOW_BYTES[np.minimum(rest, 8)])
        j += 8
        sel = sel[rest > 8]
    h ^= lens64.astype(np.uint64) * _WORD_LEN_MIX
    return _mix64(h)


def word_hashes(words: Sequence[bytes]) -> np.ndarray:
    """The stable 64-bit hash of each word, as fingerprints compute it (a reference for tests and tools)."""
    lens = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    starts = np.cumsum(lens) - lens
    return _word_hash_of(b"".join(words) + bytes(8), starts, lens)


def _mix64(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """SplitMix64's finaliser, elementwise (uint64 arithmetic wraps); ``out=z`` works in place."""
    if out is None:
        z = np.array(z, dtype=np.uint64)
    elif out is not z:
        np.copyto(out, z)
        z = out
    t = z >> _U64(30)
    z ^= t
    z *= _U64(0xBF58476D1CE4E5B9)
    np.right_shift(z, _U64(27), out=t)
    z ^= t
    z *= _U64(0x94D049BB133111EB)
    np.right_shift(z, _U64(31), out=t)
    z ^= t
    return z


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

    __slots__ = ("content_hashes", "flat", "offsets", "paragraphs", "windows", "window_offsets")

    def __init__(self, content_hashes: list[str], flat: np.ndarray, offsets: np.ndarray, paragraphs: np.ndarray,
                 windows: np.ndarray | None = None, window_offsets: np.ndarray | None = None):
        self.content_hashes = content_hashes
        self.flat = flat
        self.offsets = offsets
        #: (n_texts, m) uint64 paragraph MinHash (:func:`paragraph_minhash`); a row of zeros for a text without words.
        self.paragraphs = paragraphs
        #: (when asked for) the low 32 bits of every text's window hashes in text order, repeats included, text
        #: ``i``'s at ``windows[window_offsets[i]:window_offsets[i + 1]]`` (see :func:`shingle_positions`)
        self.windows = windows
        self.window_offsets = window_offsets

    def shingles(self, i: int) -> np.ndarray:
        return self.flat[self.offsets[i] : self.offsets[i + 1]]


class _Words(NamedTuple):
    """The words of a batch of texts, all in one stream: what :func:`_batch_words` finds."""

    #: uint64 hash of each word, texts one after another.
    hashes: np.ndarray
    #: (n_texts + 1) word offsets: text t's words are hashes[text_start[t]:text_start[t + 1]].
    text_start: np.ndarray
    #: Word offsets where a paragraph starts (a text's first word, or the first after a blank line), ascending.
    para_start: np.ndarray
    #: Per entry of para_start: whether it is the first paragraph of its text.
    text_first: np.ndarray


def _batch_words(texts: Sequence[str]) -> _Words:
    """Words of many texts at once, in numpy over their folded bytes (one buffer, no Python object per word).

    The same words as :func:`paragraph_words` (tests check it): an apostrophe
    stays only between two word characters; a word is a run of word bytes
    and such apostrophes; a paragraph break is a gap holding two or more
    line breaks. Words are hashed by :func:`_word_hash_of`.
    """
    datas = [_normalized_bytes(t) for t in texts]
    n_texts = len(datas)
    byte_start = np.zeros(n_texts + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, datas), dtype=np.int64, count=n_texts) + 2, out=byte_start[1:])  # texts joined by a blank line
    buf = b"\n\n".join(datas) + bytes(8)
    a = np.frombuffer(buf, dtype=np.uint8)[:-8]
    apos = a == 39
    word = (a != 32) & (a != 10) & ~apos
    tok = word
    if apos.any():
        tok = word.copy()
        tok[1:-1] |= apos[1:-1] & word[:-2] & word[2:]  # an apostrophe between two word bytes joins them
    edge = np.diff(tok.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edge == 1)
    ends = np.flatnonzero(edge == -1)
    nw = len(starts)
    text_start = np.searchsorted(starts, byte_start)
    text_start[-1] = nw
    new_text = np.zeros(nw + 1, dtype=bool)
    new_text[text_start] = True
    new_text = new_text[:nw]
    if nw == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _Words(_EMPTY, text_start, empty, empty.astype(bool))
    newlines = np.cumsum(a == 10, dtype=np.int32)
    is_start = new_text.copy()
    is_start[1:] |= newlines[starts[1:] - 1] - newlines[ends[:-1] - 1] >= 2  # a blank line between the two words
    para_start = np.flatnonzero(is_start)
    return _Words(_word_hash_of(buf, starts, ends - starts), text_start, para_start, new_text[para_start])


def _paragraph_seeds(m: int, seed: int) -> np.ndarray:
    """One seed per paragraph MinHash slot, from the config's seed."""
    start = seed * int(_POLY) + int(_PARA_SEED)
    return _mix64(np.array([(start + i) % 2**64 for i in range(m)], dtype=np.uint64))


def paragraph_minhash(segment_hashes: np.ndarray, text_of: np.ndarray, n_texts: int, m: int, seed: int) -> np.ndarray:
    """(n_texts, m) MinHash of each text's set of paragraphs; zeros for a text without any.

    ``segment_hashes``: one hash per paragraph (the run of words that
    shingle windows stay within), ``text_of``: its text, ascending. A cut-down copy keeps whole
    paragraphs, so its paragraphs are a subset of its source's and one slot
    agrees with probability (paragraphs kept) / (paragraphs of the source),
    however little text they hold: LSH on these slots finds cut-downs whose
    shingle Jaccard is far below the signature's threshold.
    """
    out = np.zeros((n_texts, m), dtype=np.uint64)
    if m == 0 or len(segment_hashes) == 0:
        return out
    values = _mix64(segment_hashes[:, None] ^ _paragraph_seeds(m, seed)[None, :])
    firsts = np.flatnonzero(np.r_[True, text_of[1:] != text_of[:-1]])
    out[text_of[firsts]] = np.minimum.reduceat(values, firsts, axis=0)
    return out


def _shingle_texts(texts: Sequence[str], k: int, paragraph_bands: int = 0, seed: int = 0, windows: bool = False) -> _Shingled:
    """Content hashes and shingles of many texts, windows hashed for all of them at once.

    Shingles are the ``k``-word windows that do not cross a paragraph break.
    A paragraph of fewer than ``k`` words is no unit of its own: windows run
    across its breaks into its neighbours (so a one-line byline or "Advertisement"
    is shingled with the text next to it, as before). A text of fewer than
    ``k`` words has one shingle of all its words. With ``paragraph_bands``,
    also the :func:`paragraph_minhash` of each text's paragraphs (a paragraph
    hashed as the sum of its windows' hashes; a short text is one paragraph,
    its one shingle).
    """
    n_texts = len(texts)
    wh, ends_a, para_start, text_first = _batch_words(texts)
    n = len(wh)
    # a window may not cross the start of a text, nor a paragraph break between two paragraphs of k+ words
    plen = np.diff(np.append(para_start, n))
    barrier = text_first.copy()
    barrier[1:] |= (plen[:-1] >= k) & (plen[1:] >= k)
    content = [hashlib.blake2b(wh[ends_a[t] : ends_a[t + 1]], digest_size=16).hexdigest() for t in range(n_texts)]
    counts = np.diff(ends_a)
    short = np.flatnonzero((counts > 0) & (counts < k)).tolist()
    if n >= k:
        h = _window_hashes(wh, k)  # window i covers words i .. i+k-1
        mark = np.zeros(n + 1, dtype=np.int32)
        mark[para_start[barrier]] = 1
        mark[n] = 1
        cum = np.cumsum(mark)
        m = len(h)
        valid = cum[k - 1 : k - 1 + m] == cum[:m]  # no break at words i+1 .. i+k-1
        starts = np.flatnonzero(valid)
        hv = h[valid]
        cut = np.searchsorted(starts, ends_a)  # per text: its windows are hv[cut[t]:cut[t+1]]
        seg = cum[starts]  # windows of one paragraph are consecutive and share this
        seg_first = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]]) if len(seg) else np.zeros(0, dtype=np.int64)
        seg_hash = np.add.reduceat(hv, seg_first) if len(seg_first) else _EMPTY
        seg_text = np.searchsorted(cut, seg_first, side="right") - 1
        # one-line paragraphs ("Please enable JavaScript to watch this video", a copyright line) are shared by
        # unrelated pages: a text's paragraph MinHash takes its paragraphs of PARAGRAPH_MIN_WORDS+ words, all if none is
        long = np.diff(np.append(seg_first, len(hv))) >= PARAGRAPH_MIN_WORDS - k + 1
        use = long | (np.bincount(seg_text[long], minlength=n_texts)[seg_text] == 0)
        seg_hash, seg_text = seg_hash[use], seg_text[use]
    else:
        hv = _EMPTY
        cut = np.zeros(n_texts + 1, dtype=np.int64)
        seg_hash, seg_text = _EMPTY, np.zeros(0, dtype=np.int64)
    paragraphs = paragraph_minhash(seg_hash, seg_text, n_texts, paragraph_bands, seed)
    win = hv.astype(np.uint32) if windows else None  # in text order: taken before the sort (one cast for the batch)
    win_cut = cut
    bounds = cut.tolist()
    for t in range(n_texts):
        a, b = bounds[t], bounds[t + 1]
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
        win_parts = [win[cut[t] : cut[t + 1]] for t in range(n_texts)] if win is not None else None
        for t in short:
            parts[t] = _window_hashes(wh[ends_a[t] : ends_a[t + 1]], k)
            paragraphs[t] = paragraph_minhash(parts[t], np.zeros(1, dtype=np.int64), 1, paragraph_bands, seed)[0]
            if win_parts is not None:
                win_parts[t] = parts[t].astype(np.uint32)
        lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=n_texts)
        offsets = np.zeros(n_texts + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.concatenate(parts) if parts else _EMPTY
        if win_parts is not None:
            win_cut = np.zeros(n_texts + 1, dtype=np.int64)
            np.cumsum([len(w) for w in win_parts], out=win_cut[1:])
            win = np.concatenate(win_parts) if win_parts else np.zeros(0, dtype=np.uint32)
    return _Shingled(content, flat, offsets, paragraphs, win, win_cut if win is not None else None)


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


def intersection_size(a: np.ndarray, b: np.ndarray) -> int:
    """How many values two sorted unique arrays share: one concatenation, one sort (faster than np.intersect1d or a search here)."""
    if len(a) == 0 or len(b) == 0:
        return 0
    both = np.concatenate((a, b))
    both.sort()
    return int(np.count_nonzero(both[1:] == both[:-1]))


def overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``(jaccard(a, b), containment(a, b))`` from one intersection."""
    inter = intersection_size(a, b)
    union = len(a) + len(b) - inter
    smaller = min(len(a), len(b))
    return (inter / union if union else 0.0), (inter / smaller if smaller else 0.0)


#: An edit-tolerant overlap bridges a run of at most this many missing shingles between two shared ones, per
#: shingle word: one changed, inserted or deleted word breaks ``k`` consecutive windows (``k - 1`` for a deletion).
EDIT_GAP_PER_WORD = 1


def shingle_positions(shingles: np.ndarray, windows: np.ndarray | None) -> np.ndarray | None:
    """Each shingle's first window in text order, found from the text's windows (low 32 bits of their hashes;
    two shingles of one text agreeing in those bits, about 1 text in 50,000, share a position)."""
    if windows is None:
        return None
    if not len(shingles):
        return np.zeros(0, dtype=np.uint32)
    values, first = np.unique(windows, return_index=True)
    at = np.minimum(np.searchsorted(values, shingles.astype(np.uint32)), len(values) - 1)
    return first[at].astype(np.uint32)


def _bridged(positions: np.ndarray, shared: np.ndarray, gap: int) -> int:
    """How many unshared shingles lie in a run of at most ``gap`` unshared windows between two shared ones."""
    if len(shared) < 2 or len(shared) == len(positions):
        return 0
    mask = np.zeros(len(positions), dtype=bool)
    mask[shared] = True
    hit = np.sort(positions[mask].astype(np.int64))
    miss = positions[~mask].astype(np.int64)
    after = np.searchsorted(hit, miss)
    inside = (after > 0) & (after < len(hit))
    after = after[inside]
    return int(np.count_nonzero(hit[after] - hit[after - 1] - 1 <= gap))


def edit_tolerant_overlap(
    a: np.ndarray, a_pos: np.ndarray | None, b: np.ndarray, b_pos: np.ndarray | None, k: int
) -> tuple[float, float]:
    """``(jaccard, containment)`` counting a shingle as shared when it only sits in the gap a changed word leaves.

    One word replaced (inserted, deleted) in a copy breaks the ``k`` windows
    that hold it, so a 5-word shingle set loses about a fifth of its overlap
    for 4% of words changed, while the text is 96% the same word for word.
    Here a run of at most ``k`` windows missing from the other text between
    two windows found in it (positions from :attr:`Fingerprint.positions`)
    counts as found, on each side; Jaccard is taken on the mean of the two
    sides' counts, containment on the smaller set's. Two changes closer than
    ``k`` words, or an inserted sentence, are not bridged. Without positions
    this is the plain :func:`overlap`.
    """
    ia, ib = sorted_matches(a, b)
    inter = len(ia)
    na, nb = len(a), len(b)
    if not na or not nb:
        return 0.0, 0.0
    gap = EDIT_GAP_PER_WORD * k
    ba = _bridged(a_pos, ia, gap) if a_pos is not None and len(a_pos) == na else 0
    bb = _bridged(b_pos, ib, gap) if b_pos is not None and len(b_pos) == nb else 0
    shared = inter + (ba + bb) / 2
    return shared / (na + nb - shared), (inter + (ba if na < nb else bb if nb < na else max(ba, bb))) / min(na, nb)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard |a∩b| / |a∪b| of two sorted unique shingle arrays (0.0 if both are empty)."""
    inter = intersection_size(a, b)
    union = len(a) + len(b) - inter
    return inter / union if union else 0.0


def containment(a: np.ndarray, b: np.ndarray) -> float:
    """|a∩b| / min(|a|, |b|): how much of the smaller text is in the larger one.

    A cut-down copy (a story with its later paragraphs dropped) has low
    Jaccard with its source but containment near 1. 0.0 if either is empty.
    """
    smaller = min(len(a), len(b))
    return intersection_size(a, b) / smaller if smaller else 0.0


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


def _band_keys_matrix(signatures: np.ndarray, paragraphs: np.ndarray, config: FingerprintConfig) -> np.ndarray:
    """(n, bands + paragraph_bands) uint64 keys: each band's slots combined, then each paragraph slot, the column mixed in."""
    n = signatures.shape[0]
    bands, rows = config.bands, config.rows
    if signatures.shape[1] != config.num_perm:
        raise ValueError(f"signatures have {signatures.shape[1]} slots but the config has num_perm={config.num_perm}")
    if paragraphs.shape != (n, config.paragraph_bands):
        raise ValueError(f"paragraph MinHash has {paragraphs.shape[1]} slots but the config has paragraph_bands={config.paragraph_bands}")
    sig = signatures.reshape(n, bands, rows)
    out = np.empty((n, bands + config.paragraph_bands), dtype=np.uint64)
    h = out[:, :bands]
    h[:] = sig[:, :, 0]
    h += _mix64(_BAND_SEED + np.arange(bands, dtype=np.uint64)) * _POLY
    for j in range(1, rows):
        h *= _POLY
        h += sig[:, :, j]
    _mix64(h, out=h)
    para = out[:, bands:]
    np.bitwise_xor(paragraphs, _mix64(_PARA_SEED + np.arange(bands, bands + config.paragraph_bands, dtype=np.uint64)), out=para)
    _mix64(para, out=para)
    return out


# --- fingerprints --------------------------------------------------------------


@dataclass(eq=False)
class Fingerprint:
    """One article's fingerprint; compare only fingerprints made with the same config."""

    content_hash: str
    #: Sorted unique uint64 shingle hashes.
    shingles: np.ndarray
    #: uint32 MinHash signature, ``num_perm`` slots (all 0xFFFFFFFF for an empty text).
    signature: np.ndarray
    #: uint64 MinHash of the paragraphs, ``paragraph_bands`` slots (:func:`paragraph_minhash`; zeros for an empty text).
    paragraphs: np.ndarray
    #: The low 32 bits of the text's window hashes in text order, repeats included (None: not known); what
    #: :attr:`positions` are found from. Not part of a store's fingerprints (made again from the text).
    windows: np.ndarray | None = None

    @cached_property
    def positions(self) -> np.ndarray | None:
        """uint32 per shingle: the index of its first window in the text's windows, in text order (None
        without :attr:`windows`: :func:`edit_tolerant_overlap` then counts shared shingles only). Made on
        first use: only pairs near the thresholds need it."""
        return shingle_positions(self.shingles, self.windows)

    @property
    def empty(self) -> bool:
        """True for a text with no words."""
        return len(self.shingles) == 0

    def band_keys(self, config: FingerprintConfig = DEFAULT_CONFIG) -> list[int]:
        """One stable unsigned 64-bit key per band and per paragraph slot (column mixed in); none for an empty text.

        Two fingerprints are LSH candidates when they share a key at the same
        position; since the column is mixed in, keys of different columns
        never collide by construction, so all keys can share one table.
        """
        keys = band_keys_many([self], config)[0]
        return [] if self.empty else keys.tolist()

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
            and np.array_equal(self.paragraphs, other.paragraphs)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside

    def __repr__(self) -> str:
        return (
            f"Fingerprint(content_hash={self.content_hash!r}, shingles=<{len(self.shingles)}>, "
            f"signature=<{len(self.signature)} x {self.signature.dtype}>, paragraphs=<{len(self.paragraphs)}>)"
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


def shingles_many(texts: Sequence[str], config: FingerprintConfig = DEFAULT_CONFIG) -> list[np.ndarray]:
    """The shingles of :func:`fingerprint_many`'s fingerprints, without their signatures (the scorer's and the
    clusterer's shingle features need only these)."""
    if not texts:
        return []
    sh = _shingle_texts(texts, config.shingle_words)
    bounds = sh.offsets.tolist()
    return [sh.flat[bounds[i]:bounds[i + 1]] for i in range(len(texts))]


def fingerprint_many(texts: Sequence[str], config: FingerprintConfig = DEFAULT_CONFIG) -> list[Fingerprint]:
    """Fingerprints of many texts: windows hashed for all texts at once, signatures in one rensa call.

    Gives exactly ``[fingerprint(t, config) for t in texts]``; faster the more
    texts per call (``samestory.dedup`` passes 2,000 at a time).
    """
    return _unpack(_fingerprint_packed(texts, config))


_Packed = tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _fingerprint_packed(texts: Sequence[str], config: FingerprintConfig) -> _Packed:
    """Fingerprints of many texts as (content hashes, flat shingles, offsets, signature matrix, paragraph matrix,
    flat windows, their offsets): cheap to pickle."""
    n = len(texts)
    if n == 0:
        return ([], _EMPTY, np.zeros(1, dtype=np.int64), np.empty((0, config.num_perm), dtype=np.uint32),
                np.empty((0, config.paragraph_bands), dtype=np.uint64), np.zeros(0, dtype=np.uint32), np.zeros(1, dtype=np.int64))
    sh = _shingle_texts(texts, config.shingle_words, config.paragraph_bands, config.seed, windows=True)
    matrix = RMinHash.digest_matrix_from_flat_token_hashes(sh.flat, sh.offsets.astype(np.uint64), config.num_perm, config.seed)
    sigs = np.array(matrix.to_rows(), dtype=np.uint32).reshape(n, config.num_perm)
    return sh.content_hashes, sh.flat, sh.offsets, sigs, sh.paragraphs, sh.windows, sh.window_offsets


def _unpack(packed: _Packed) -> list[Fingerprint]:
    hashes, flat, offsets, sigs, paras, win, win_offsets = packed
    bounds, win_bounds = offsets.tolist(), win_offsets.tolist()
    return [Fingerprint(h, flat[bounds[i] : bounds[i + 1]], sigs[i], paras[i], win[win_bounds[i] : win_bounds[i + 1]])
            for i, h in enumerate(hashes)]


def band_keys_many(fingerprints: Sequence[Fingerprint], config: FingerprintConfig = DEFAULT_CONFIG) -> np.ndarray:
    """(n, bands + paragraph_bands) uint64 LSH keys for many fingerprints at once (rows of empty texts are 0 and should be skipped).

    The first ``bands`` columns are the signature's bands (near-copies by
    Jaccard), the rest the paragraph MinHash's slots (cut-down copies, see
    :func:`paragraph_minhash`).
    """
    width = config.bands + config.paragraph_bands
    if not fingerprints:
        return np.empty((0, width), dtype=np.uint64)
    keys = _band_keys_matrix(np.stack([f.signature for f in fingerprints]), np.stack([f.paragraphs for f in fingerprints]), config)
    keys[[f.empty for f in fingerprints]] = 0
    return keys

