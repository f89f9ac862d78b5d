"""Passages two articles share, as character offsets into each original text.

Reprinted wire copy is mostly verbatim with light edits: a changed byline, a
replaced word, an inserted sentence, paragraphs cut or moved. Like passim's
text-reuse alignment, we seed on word n-grams the two texts share, extend each
seed word by word across small gaps, and keep the longest non-overlapping
alignments. Words are compared in a folded form (see
:func:`samestory.normalize.for_matching`) so that typography does not break a
match, while offsets point into the texts as given, so a caller can show or
highlight the passage exactly as the publisher wrote it.

Time is roughly linear in the text lengths: n-grams are hashed, seeds already
inside an alignment are skipped, and n-grams repeated often (boilerplate) do
not seed at all.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass

from samestory.normalize import for_matching

__all__ = ["Passage", "shared_passages", "tokens"]

# Ideographs and kana: languages written without spaces, one token a character.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
# Apostrophes that join the parts of one word (it's, O'Brien, l'homme).
_APOSTROPHES = "'\u2018\u2019\u02bc"
# How many words must agree after a gap before the alignment resumes.
_ANCHOR = 2


@dataclass(frozen=True)
class Passage:
    """One shared passage: ``a_text[a_start:a_end]`` matches ``b_text[b_start:b_end]``.

    ``words`` is how many words the alignment matched (gaps excluded); it is
    not an interface field but lets callers weigh coverage without re-tokenising.
    """

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    text: str
    words: int = 0

    def as_dict(self) -> dict:
        """The fields of ``shared_passages`` in the ``compare`` output."""
        return {"a_start": self.a_start, "a_end": self.a_end,
                "b_start": self.b_start, "b_end": self.b_end, "text": self.text}


@functools.cache
def _word_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(marks, words with marks, words), built once.

    \\w does not cover combining marks (Hindi vowel signs, decomposed
    accents), which would split words, so texts holding marks get a pattern
    that joins them; the others take the simpler, faster one. Marks are ranges
    from the Basic Multilingual Plane only: astral characters in a class make
    scanning several times slower.
    """
    ranges: list[list[int]] = []
    for c in range(0x10000):
        if unicodedata.category(chr(c)) in ("Mn", "Mc", "Me"):
            if ranges and ranges[-1][1] == c - 1:
                ranges[-1][1] = c
            else:
                ranges.append([c, c])
    marks = "".join(re.escape(chr(lo)) + ("-" + re.escape(chr(hi)) if hi > lo else "") for lo, hi in ranges)
    plain = f"[^\\W{_CJK}]"
    with_marks = f"(?:{plain}|[{marks}])"
    return (re.compile(f"[{marks}]"),
            re.compile(f"{with_marks}+(?:[{_APOSTROPHES}]{with_marks}+)*|[{_CJK}]"),
            re.compile(f"{plain}+(?:[{_APOSTROPHES}]{plain}+)*|[{_CJK}]"))


@functools.lru_cache(maxsize=65536)
def _fold(word: str) -> str:
    """Matching form of one word; cached because news vocabulary repeats."""
    return for_matching(word).replace("\u02bc", "'")


def _tokenize(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Folded words and their (start, end) in ``text``, as parallel lists."""
    marks, with_marks, plain = _word_patterns()
    found = list((with_marks if marks.search(text) else plain).finditer(text))
    return [_fold(m.group()) for m in found], [m.span() for m in found]


def tokens(text: str) -> list[tuple[str, int, int]]:
    """The words of ``text`` as (folded word, start, end) with offsets into ``text``."""
    words, spans = _tokenize(text)
    return [(w, s, e) for w, (s, e) in zip(words, spans)]


def shared_passages(a_text: str, b_text: str, *, seed_words: int = 5, min_words: int = 8,
                    max_gap: int = 3, max_seed_freq: int = 5) -> list[Passage]:
    """Non-overlapping passages ``a_text`` and ``b_text`` share, sorted by ``a_start``.

    A passage is found from ``seed_words`` consecutive words both texts share,
    extended while the words keep matching, across gaps of up to ``max_gap``
    unmatched words on either side (a replaced or inserted word), and kept
    when it matches at least ``min_words`` words. N-grams occurring more than
    ``max_seed_freq`` times in either text do not seed, so repeated
    boilerplate cannot make the work quadratic.
    """
    if seed_words < 1 or min_words < 1 or max_gap < 0:
        raise ValueError("seed_words and min_words must be >= 1 and max_gap >= 0")
    wa, spans_a = _tokenize(a_text)
    wb, spans_b = _tokenize(b_text)
    if len(wa) < seed_words or len(wb) < seed_words:
        return []
    candidates = _align(wa, wb, seed_words, max_gap, max_seed_freq)
    out = []
    for pa, pb in _resolve(candidates, len(wa), len(wb), min_words):
        a0, a1 = spans_a[pa[0]][0], spans_a[pa[-1]][1]
        b0, b1 = spans_b[pb[0]][0], spans_b[pb[-1]][1]
        out.append(Passage(a0, a1, b0, b1, a_text[a0:a1], len(pa)))
    out.sort(key=lambda p: (p.a_start, p.b_start))
    return out


def _seeds(wa: list[str], wb: list[str], n: int, max_freq: int) -> list[int]:
    """Seeds as ``i * (len(wb) + 1) + j``, sorted: the n words at i in a hash
    like those at j in b.

    Ints sort and hash faster than pairs. N-grams are keyed by their hash
    (tuples do not cache theirs); most shared n-grams occur once in each text,
    and those pair up through set operations and one lookup each, without a
    loop over positions. The caller checks the words, which catches a hash
    collision.
    """
    width = len(wb) + 1
    ha = list(map(hash, zip(*(wa[k:] for k in range(n)))))
    hb = list(map(hash, zip(*(wb[k:] for k in range(n)))))
    ca, cb = Counter(ha), Counter(hb)
    rep_a = {h for h, c in ca.items() if c > 1}
    rep_b = {h for h, c in cb.items() if c > 1}
    shared = ca.keys() & cb.keys()
    once = shared - rep_a - rep_b
    last_a = dict(zip(ha, range(0, len(ha) * width, width)))
    last_b = dict(zip(hb, range(len(hb))))
    seeds = [last_a[h] + last_b[h] for h in once]
    repeated = {h for h in shared - once if ca[h] <= max_freq and cb[h] <= max_freq}
    if repeated:
        pos_a: dict[int, list[int]] = defaultdict(list)
        pos_b: dict[int, list[int]] = defaultdict(list)
        for i, h in enumerate(ha):
            if h in repeated:
                pos_a[h].append(i * width)
        for j, h in enumerate(hb):
            if h in repeated:
                pos_b[h].append(j)
        for h in repeated:
            seeds.extend(i + j for i in pos_a[h] for j in pos_b[h])
    seeds.sort()
    return seeds


def _align(wa: list[str], wb: list[str], n: int, max_gap: int,
           max_freq: int) -> list[tuple[list[int], list[int]]]:
    """Extend every seed not already inside an earlier alignment.

    A seed inside an alignment would only rediscover it; skipping those keeps
    the work proportional to the text, not to the number of seeds.
    """
    width = len(wb) + 1
    covered: set[int] = set()
    offsets = sorted(((x, y) for x in range(max_gap + 1) for y in range(max_gap + 1) if x or y),
                     key=lambda o: (o[0] + o[1], abs(o[0] - o[1]), o))
    found = []
    for code in _seeds(wa, wb, n, max_freq):
        if code in covered:
            continue
        i, j = divmod(code, width)
        if wa[i:i + n] != wb[j:j + n]:
            continue  # hash collision
        back_a, back_b = _extend(wa, wb, i, j, -1, offsets)
        fwd_a, fwd_b = _extend(wa, wb, i, j, 1, offsets)
        pa = back_a[::-1] + [i] + fwd_a
        pb = back_b[::-1] + [j] + fwd_b
        covered.update(x * width + y for x, y in zip(pa, pb))
        found.append((pa, pb))
    return found


def _extend(wa: list[str], wb: list[str], i: int, j: int, step: int,
            offsets: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Matched word positions beyond the matched pair (i, j), walking by ``step``.

    Greedy rather than a full local alignment: after a mismatch it skips the
    fewest words (at most the gap limit on each side) after which
    ``_ANCHOR`` words agree again, so one stray common word cannot drag the
    alignment into unrelated text.
    """
    na, nb = len(wa), len(wb)
    out_a: list[int] = []
    out_b: list[int] = []
    while True:
        ni, nj = i + step, j + step
        if 0 <= ni < na and 0 <= nj < nb and wa[ni] == wb[nj]:
            out_a.append(ni)
            out_b.append(nj)
            i, j = ni, nj
            continue
        for x, y in offsets:
            si, sj = ni + step * x, nj + step * y
            ei, ej = si + step * (_ANCHOR - 1), sj + step * (_ANCHOR - 1)
            if not (0 <= min(si, ei) and max(si, ei) < na and 0 <= min(sj, ej) and max(sj, ej) < nb):
                continue
            if all(wa[si + step * k] == wb[sj + step * k] for k in range(_ANCHOR)):
                i, j = si - step, sj - step  # the loop matches (si, sj) next
                break
        else:
            return out_a, out_b


def _resolve(candidates: list[tuple[list[int], list[int]]], na: int, nb: int,
             min_words: int) -> list[tuple[list[int], list[int]]]:
    """Longest alignments first; a later one keeps only its pieces clear of those taken.

    Alignments from different seeds can cross (a repeated sentence, a moved
    paragraph that also matches its old place); the passages reported must not
    overlap in either text.
    """
    used_a, used_b = bytearray(na), bytearray(nb)
    kept = []
    for pa, pb in sorted(candidates, key=lambda c: (-len(c[0]), c[0][0], c[1][0])):
        pieces = []
        start = None
        for k in range(len(pa)):
            free = not used_a[pa[k]] and not used_b[pb[k]]
            if free and start is not None and k > start:
                # the gap words between consecutive matches must be free too
                free = not any(used_a[pa[k - 1] + 1:pa[k]]) and not any(used_b[pb[k - 1] + 1:pb[k]])
                if not free:
                    pieces.append((start, k))
                    start = k
                    continue
            if free and start is None:
                start = k
            elif not free and start is not None:
                pieces.append((start, k))
                start = None
        if start is not None:
            pieces.append((start, len(pa)))
        for s, e in pieces:
            if e - s < min_words:
                continue
            a0, a1, b0, b1 = pa[s], pa[e - 1], pb[s], pb[e - 1]
            used_a[a0:a1 + 1] = b"\x01" * (a1 - a0 + 1)
            used_b[b0:b1 + 1] = b"\x01" * (b1 - b0 + 1)
            kept.append((pa[s:e], pb[s:e]))
    return kept
