"""Planted near-copies of real news, shared by the near-copy benchmarks.

One implementation of the edits syndication makes to a story (new byline or
dateline, an inserted sentence, a deleted paragraph, reordered or swapped
paragraphs, words replaced, a cut-down copy, boilerplate appended), used by

* ``bench/minhash_params.py``: :func:`plant`, a fixed number of copies per
  edit type, to measure the similarity of planted pairs;
* ``bench/dedup.py``: :func:`planted_corpus` (real articles plus planted
  copies, with gold groups) and :func:`scaled_corpus` (100,000+ news-length
  articles recombined from the real text, then planted copies) for quality,
  speed and memory.

The real articles are read from the shared data directory at run time; they
belong to their publishers and are never copied into the repository. Nothing
here writes them anywhere.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date as _date, timedelta
from pathlib import Path
from typing import Callable, NamedTuple

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data" / "stories"
DEFAULT_SOURCES = {"gva": SHARED / "gva" / "articles.jsonl", "allsides": SHARED / "allsides" / "articles.jsonl"}

# --- data ------------------------------------------------------------------------


@dataclass
class Doc:
    id: str
    corpus: str
    story: str
    source: str
    text: str
    date: str | None = None

    @property
    def gold_story(self) -> str:
        """The data set's own story id (``story`` is prefixed with the corpus to keep ids apart)."""
        return self.story.split(":", 1)[1]


def load(sources: dict[str, Path]) -> list[Doc]:
    docs = []
    for corpus, path in sources.items():
        with open(path, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                docs.append(Doc(r["id"], corpus, f"{corpus}:{r['gold_story']}", r.get("source") or r.get("url") or "", r["text"], r.get("date")))
    return docs


def real_articles(sources: dict[str, Path] | None = None) -> list[Doc]:
    """The labelled real articles (GVA, then AllSides): id, text, date, gold story (``corpus:gold_story``)."""
    return load(sources or DEFAULT_SOURCES)


def paragraphs(text: str) -> list[str]:
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if len(paras) < 3:
        paras = [p.strip() for p in text.split("\n") if p.strip()]
    return paras


# --- planted edits ---------------------------------------------------------------

_FIRST = ["Jane", "Marcus", "Priya", "Tom", "Elena", "David", "Aisha", "Kevin", "Laura", "Sam"]
_LAST = ["Whitfield", "Ortega", "Nakamura", "Brennan", "Kowalski", "Adeyemi", "Larsen", "Castillo", "Hughes", "Moreau"]
_OUTLETS = ["The Daily Courier", "Channel 7 News", "Metro Herald", "Valley Tribune", "News Wire Service", "The Evening Post"]
_MONTHS = ["January", "March", "May", "July", "September", "November"]
# Invented boilerplate of the kinds pages carry after a story.
BOILERPLATE = [
    "Copyright 2016 {outlet}. All rights reserved. This material may not be published, broadcast, rewritten or redistributed without permission.",
    "Sign up for our morning newsletter to get the day's top headlines delivered to your inbox. By signing up you agree to our terms of use and privacy policy. You can unsubscribe at any time.",
    "Comments on this story are moderated. Please keep your comments civil and on topic; comments that include personal attacks, profanity or links to other sites will be removed. Read our community guidelines before posting.",
    "Follow us on Facebook and Twitter for breaking news alerts. Have a news tip? Email our newsroom or call the tip line any time, day or night.",
    "Download our free app for iPhone and Android to get breaking news, weather alerts and live video wherever you are.",
    "This story has been updated to correct the spelling of a name. An earlier version misidentified the neighborhood where the incident took place.",
]


def _byline(rng: random.Random) -> str:
    return (
        f"By {rng.choice(_FIRST)} {rng.choice(_LAST)}, {rng.choice(_OUTLETS)} | "
        f"Posted {rng.choice(_MONTHS)} {rng.randint(1, 28)}, {rng.randint(2013, 2021)} {rng.randint(1, 12)}:{rng.randint(0, 59):02d} PM"
    )


def edit_byline(paras, rng, ctx):
    """New byline/dateline line on top; the original first line goes if it is short (a byline or kicker)."""
    first, *rest = paras[0].split("\n", 1)
    if len(first.split()) <= 20:
        head = rest[0] if rest else None
        out = ([head] if head else []) + paras[1:]
    else:
        out = list(paras)
    return [_byline(rng)] + out


def edit_insert_sentence(paras, rng, ctx):
    """One sentence from an unrelated article inserted as its own paragraph."""
    out = list(paras)
    out.insert(rng.randint(1, len(out)), ctx["sentence"](rng))
    return out


def _words(para: str) -> int:
    return len(para.split())


def edit_delete_paragraph(paras, rng, ctx):
    """One paragraph dropped: one holding at most a third of the words (the shortest if none does).

    Deleting the paragraph that holds most of a story (pages whose text is
    one long paragraph and two short lines) leaves a stub that is no copy of it.
    """
    out = list(paras)
    total = sum(map(_words, out))
    small = [i for i, p in enumerate(out) if _words(p) <= total / 3]
    del out[rng.choice(small) if small else min(range(len(out)), key=lambda i: _words(out[i]))]
    return out


def edit_reorder(paras, rng, ctx):
    """All paragraphs shuffled (the worst case of reordering)."""
    out = list(paras)
    while out == paras:
        rng.shuffle(out)
    return out


def edit_swap_two(paras, rng, ctx):
    out = list(paras)
    i, j = rng.sample(range(len(out)), 2)
    out[i], out[j] = out[j], out[i]
    return out


def _replace_words(paras, rng, ctx, frac):
    tokens = [p.split(" ") for p in paras]
    positions = [(i, j) for i, t in enumerate(tokens) for j in range(len(t))]
    for i, j in rng.sample(positions, max(1, round(frac * len(positions)))):
        tokens[i][j] = ctx["word"](rng)
    return [" ".join(t) for t in tokens]


def edit_replace_5pct(paras, rng, ctx):
    """5% of the words (spread at random) replaced by other words."""
    return _replace_words(paras, rng, ctx, 0.05)


def _cut_to(paras, order, rng):
    """Whole paragraphs, taken in ``order``, until 40-60% of the words are kept; returned in text order.

    A share of the words, not of the paragraphs: a page whose text is one
    long paragraph and a few short lines would otherwise be "cut down" to a
    line or two, which no reader would call a copy of it.
    """
    target = rng.uniform(0.4, 0.6) * sum(map(_words, paras))
    kept, words = [], 0
    for i in order:
        if words >= target:
            break
        kept.append(i)
        words += _words(paras[i])
    return [paras[i] for i in sorted(kept)]


def edit_cutdown_top(paras, rng, ctx):
    """A cut-down copy: the first paragraphs, 40-60% of the words (editors cut from the bottom)."""
    return _cut_to(paras, range(len(paras)), rng)


def edit_cutdown_any(paras, rng, ctx):
    """A cut-down copy keeping random whole paragraphs, 40-60% of the words, in order."""
    return _cut_to(paras, rng.sample(range(len(paras)), len(paras)), rng)


def edit_boilerplate(paras, rng, ctx):
    """One to three unrelated boilerplate blocks appended."""
    blocks = rng.sample(BOILERPLATE, rng.randint(1, 3))
    return list(paras) + [b.format(outlet=rng.choice(_OUTLETS)) for b in blocks]


def edit_mixed(paras, rng, ctx):
    """A typical syndicated copy: new byline, 2% words changed, a paragraph dropped, boilerplate appended."""
    out = edit_byline(paras, rng, ctx)
    out = _replace_words(out, rng, ctx, 0.02)
    if len(out) > 3:
        out = edit_delete_paragraph(out, rng, ctx)
    return edit_boilerplate(out, rng, ctx)


EDITS: dict[str, Callable] = {
    "byline": edit_byline,
    "insert_sentence": edit_insert_sentence,
    "delete_paragraph": edit_delete_paragraph,
    "swap_two_paragraphs": edit_swap_two,
    "reorder_all": edit_reorder,
    "replace_5pct_words": edit_replace_5pct,
    "cutdown_top_40_60": edit_cutdown_top,
    "cutdown_any_40_60": edit_cutdown_any,
    "boilerplate": edit_boilerplate,
    "mixed": edit_mixed,
}
CUTDOWNS = {"cutdown_top_40_60", "cutdown_any_40_60"}


def plant(docs: list[Doc], per_edit: int, seed: int) -> list[tuple[str, int, str]]:
    """(edit, index of the original in docs, edited text) for each planted copy."""
    rng = random.Random(seed)
    eligible = [i for i, d in enumerate(docs) if len(paragraphs(d.text)) >= 3 and len(d.text.split()) >= 80]
    sentences = [s for d in rng.sample(docs, 300) for s in re.split(r"(?<=[.!?])\s+", d.text) if 10 <= len(s.split()) <= 30]
    vocab = [w for d in rng.sample(docs, 300) for w in d.text.split() if w.isalpha()]
    ctx = {"sentence": lambda r: r.choice(sentences), "word": lambda r: r.choice(vocab)}
    out = []
    for edit, fn in EDITS.items():
        for i in rng.sample(eligible, min(per_edit, len(eligible))):
            paras = paragraphs(docs[i].text)
            out.append((edit, i, "\n\n".join(fn(paras, rng, ctx))))
    return out


# --- corpora with gold groups ----------------------------------------------------------

# Invented local-angle sentences a regional outlet adds to a wire story.
_TOWNS = ["Millbrook", "Cedar Falls", "Port Alder", "Greenville", "Oak Ridge", "Fairview", "Riverton", "Lakeside"]
_LOCAL = [
    "{town} police asked anyone with information to call the department's tip line at 555-{num:04d}.",
    "Residents of {town} said they had not heard of anything like it happening in their neighborhood before.",
    "{outlet} has asked the {town} mayor's office for comment and will update this story when it responds.",
    "A spokesperson for the {town} school district said classes would go ahead as planned on {day}.",
    "Officials in {town} said a community meeting on the matter is planned for {day} evening at the public library.",
    "Check back with {outlet} for updates on this developing story from the {town} area.",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _local_sentence(rng: random.Random) -> str:
    return rng.choice(_LOCAL).format(town=rng.choice(_TOWNS), outlet=rng.choice(_OUTLETS), day=rng.choice(_DAYS), num=rng.randint(0, 9999))


def edit_insert_local(paras, rng, ctx):
    """One local-angle sentence inserted as its own paragraph: invented, or a sentence of an unrelated article."""
    out = list(paras)
    sentence = _local_sentence(rng) if rng.random() < 0.5 else ctx["sentence"](rng)
    out.insert(rng.randint(1, len(out)), sentence)
    return out


def edit_replace_2_5pct(paras, rng, ctx):
    """2-5% of the words (spread at random) replaced by other words."""
    return _replace_words(paras, rng, ctx, rng.uniform(0.02, 0.05))


#: The edits of :func:`planted_corpus`; each copy gets one, uniformly at random.
CORPUS_EDITS: dict[str, Callable] = {
    "byline": edit_byline,
    "insert_local_sentence": edit_insert_local,
    "delete_paragraph": edit_delete_paragraph,
    "swap_two_paragraphs": edit_swap_two,
    "reorder_all": edit_reorder,
    "replace_2_5pct_words": edit_replace_2_5pct,
    "cutdown_top_40_60": edit_cutdown_top,
    "cutdown_any_40_60": edit_cutdown_any,
    "boilerplate": edit_boilerplate,
    "mixed_2_3": None,  # 2-3 of the edits above, see edit_mixed_random
}
# The order the parts of a mixed edit are applied in: cuts first, boilerplate last.
_MIX_ORDER = [
    "cutdown_top_40_60", "cutdown_any_40_60", "delete_paragraph", "reorder_all", "swap_two_paragraphs",
    "insert_local_sentence", "replace_2_5pct_words", "byline", "boilerplate",
]


def edit_mixed_random(paras, rng, ctx) -> tuple[list[str], str]:
    """2-3 distinct edits (never both cut-downs), applied cuts first and boilerplate last; returns (paras, label)."""
    while True:
        parts = rng.sample(_MIX_ORDER, rng.randint(2, 3))
        if not set(parts) >= CUTDOWNS:
            break
    parts.sort(key=_MIX_ORDER.index)
    out = list(paras)
    for name in parts:
        if len(out) < 3 and name in ("delete_paragraph", "reorder_all", "swap_two_paragraphs", "cutdown_top_40_60", "cutdown_any_40_60"):
            continue  # too little left to cut or reorder; the other parts still apply
        out = CORPUS_EDITS[name](out, rng, ctx)
    return out, "+".join(parts)


@dataclass
class PlantedArticle:
    """One article of a planted corpus."""

    id: str
    text: str
    date: str | None
    #: Gold near-copy group: the base article's id (copies share their base's group).
    group: str
    #: Gold story of the base (``corpus:gold_story``, or the synthetic base's own id).
    story: str
    #: None for a base article; the edit type of a planted copy.
    edit: str | None = None
    #: For a mixed copy, its parts ("byline+boilerplate").
    detail: str | None = None
    #: The base article's id, for a copy.
    base: str | None = None


class Corpus(NamedTuple):
    articles: list[PlantedArticle]
    #: Gold group per article (same order as ``articles``).
    groups: list[str]
    stats: dict


def _shift_date(d: str | None, days: int) -> str | None:
    """The date ``days`` later; keeps a time part ('2021-05-01T10:00:00-07:00') as it is."""
    if not d or len(d) < 10:
        return d
    try:
        day = _date.fromisoformat(d[:10]) + timedelta(days=days)
    except ValueError:
        return d
    return day.isoformat() + d[10:]


def _eligible(text: str) -> bool:
    paras = paragraphs(text)
    return len(paras) >= 3 and len(set(paras)) >= 3 and len(text.split()) >= 80


def _edit_context(texts: list[str], rng: random.Random) -> dict:
    sample = rng.sample(texts, min(300, len(texts)))
    sentences = [s for t in sample for s in re.split(r"(?<=[.!?])\s+", t) if 10 <= len(s.split()) <= 30]
    vocab = [w for t in rng.sample(texts, min(300, len(texts))) for w in t.split() if w.isalpha()]
    return {"sentence": lambda r: r.choice(sentences), "word": lambda r: r.choice(vocab)}


def _plant_copies(bases: list[PlantedArticle], n_copies: int, rng: random.Random) -> list[PlantedArticle]:
    """``n_copies`` planted copies: random eligible bases get 1-3 copies each, each with a random edit type."""
    ctx = _edit_context([b.text for b in bases], rng)
    eligible = [b for b in bases if _eligible(b.text)]
    rng.shuffle(eligible)
    names = list(CORPUS_EDITS)
    copies: list[PlantedArticle] = []
    for base in eligible:
        if len(copies) >= n_copies:
            break
        paras = paragraphs(base.text)
        for k in range(min(rng.randint(1, 3), n_copies - len(copies))):
            edit = rng.choice(names)
            detail = None
            if edit == "mixed_2_3":
                out, detail = edit_mixed_random(paras, rng, ctx)
            else:
                out = CORPUS_EDITS[edit](paras, rng, ctx)
            copies.append(
                PlantedArticle(
                    id=f"{base.id}~c{k + 1}", text="\n\n".join(out), date=_shift_date(base.date, rng.randint(0, 3)),
                    group=base.group, story=base.story, edit=edit, detail=detail, base=base.id,
                )
            )
    return copies


def _stream_order(articles: list[PlantedArticle], rng: random.Random) -> list[PlantedArticle]:
    """Shuffled, then by day (a copy of the same day may come before its base, as in a real stream)."""
    out = list(articles)
    rng.shuffle(out)
    out.sort(key=lambda a: (a.date or "")[:10])
    return out


def planted_corpus(docs: list[Doc], copy_rate: float = 0.2, seed: int = 7) -> Corpus:
    """Real articles plus planted near-copies of a random subset of them, in stream (date) order.

    ``copy_rate`` is the share of the returned corpus that is planted copies
    (exact unless there are too few eligible bases: 3+ distinct paragraphs
    and 80+ words). Each chosen base gets 1-3 copies, each with one edit type
    of :data:`CORPUS_EDITS` drawn uniformly and a date 0-3 days after the
    base's. Gold group of a base: its own id; copies share their base's.
    Deterministic by ``seed``.
    """
    if not 0 <= copy_rate < 1:
        raise ValueError("copy_rate must be in [0, 1)")
    rng = random.Random(seed)
    bases = [PlantedArticle(d.id, d.text, d.date, group=d.id, story=d.story) for d in docs]
    n_copies = round(copy_rate / (1 - copy_rate) * len(bases))
    copies = _plant_copies(bases, n_copies, rng)
    articles = _stream_order(bases + copies, rng)
    stats = {
        "bases": len(bases), "copies": len(copies), "bases_copied": len({c.base for c in copies}),
        "copies_per_edit": dict(Counter(c.edit for c in copies)),
    }
    return Corpus(articles, [a.group for a in articles], stats)


# --- a scaled corpus recombined from the real text ------------------------------------

_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[\"'\u201c\u2018(]?[A-Z0-9])")
_TOKEN = re.compile(r"^(\W*)(.*?)(\W*)$")
#: Share of a reused sentence's words replaced to make a new variant of it.
VARIANT_RATE = 0.25
#: No exact sentence appears in more than this many articles of a scaled corpus (its planted copies aside).
MAX_SENTENCE_REUSE = 3


def _shape(core: str) -> str | None:
    if not core:
        return None
    c = core[0]
    if c.isdigit():
        return "num"
    if c.isupper():
        return "cap"
    if c.islower() and core.replace("'", "").replace("-", "").isalpha():
        return "low"
    return None


class _SentencePool:
    """The real articles' sentences, and new variants of them.

    A variant replaces about a quarter of a sentence's words (names, numbers,
    ordinary words; never the first) each by a word that follows the
    (possibly already replaced) previous word somewhere in the real text,
    with the same shape (capitalised, lower case, number). It reads like news
    and shares few 5-word shingles with the sentence it came from.
    """

    def __init__(self, texts: list[str]):
        seen: set[str] = set()
        self.sentences: list[list[tuple[str, str, str, str | None]]] = []
        successors: dict[tuple[str, str], list[str]] = {}
        for text in texts:
            for para in paragraphs(text):
                for s in _SENT_SPLIT.split(" ".join(para.split())):
                    words = s.split(" ")
                    if not 6 <= len(words) <= 50 or s in seen:
                        continue
                    seen.add(s)
                    toks = []
                    for w in words:
                        pre, core, post = _TOKEN.match(w).groups()
                        toks.append((pre, core, post, _shape(core)))
                    self.sentences.append(toks)
                    for (_, a, _, _), (_, b, _, shape_b) in zip(toks, toks[1:]):
                        if shape_b:
                            successors.setdefault((a.lower(), shape_b), []).append(b)
        self.successors = successors

    def text(self, k: int) -> str:
        return " ".join(pre + core + post for pre, core, post, _ in self.sentences[k])

    def variant(self, k: int, rng: random.Random) -> str:
        toks = self.sentences[k]
        cores = [t[1] for t in toks]
        n = len(toks)
        m = max(1, round(VARIANT_RATE * (n - 1)))
        for i in sorted(rng.sample(range(1, n), min(m, n - 1))):
            shape = toks[i][3]
            if shape is None:
                continue
            options = self.successors.get((cores[i - 1].lower(), shape))
            if options:
                cores[i] = rng.choice(options)
        return " ".join(pre + c + post for (pre, _, post, _), c in zip(toks, cores))


def _recombined_bases(pool: _SentencePool, n: int, rng: random.Random, day0: _date, days: int) -> tuple[list[PlantedArticle], dict]:
    """``n`` new base articles of 10-40 sentences in paragraphs of 1-3 sentences.

    Sentences are dealt from shuffled decks of the whole pool, so each real
    sentence is spread evenly over the bases and two bases almost never draw
    the same one; its first use is verbatim, later uses are variants. An
    exact sentence used MAX_SENTENCE_REUSE times is not used again (a new
    variant is drawn instead).
    """
    n_pool = len(pool.sentences)
    deck: list[int] = []
    uses: Counter = Counter()
    verbatim_used = bytearray(n_pool)
    skipped = 0
    bases = []
    n_sent = []
    for b in range(n):
        want = rng.randint(10, 40)
        sentences: list[str] = []
        while len(sentences) < want:
            if not deck:
                deck = list(range(n_pool))
                rng.shuffle(deck)
            k = deck.pop()
            if not verbatim_used[k]:
                verbatim_used[k] = 1
                s = pool.text(k)
            else:
                s = pool.variant(k, rng)
            if uses[s] >= MAX_SENTENCE_REUSE or s in sentences:
                skipped += 1
                continue
            uses[s] += 1
            sentences.append(s)
        paras = []
        i = 0
        while i < len(sentences):
            step = rng.choice((1, 2, 2, 3))
            paras.append(" ".join(sentences[i : i + step]))
            i += step
        bid = f"syn{b:07d}"
        date = (day0 + timedelta(days=rng.randrange(days))).isoformat()
        bases.append(PlantedArticle(bid, "\n\n".join(paras), date, group=bid, story=bid))
        n_sent.append(want)
    reuse = Counter(uses.values())
    stats = {
        "pool_sentences": n_pool,
        "sentence_slots": sum(n_sent),
        "uses_per_pool_sentence": sum(n_sent) / n_pool,
        "distinct_sentences": len(uses),
        "max_exact_sentence_reuse": max(uses.values()) if uses else 0,
        "exact_sentence_reuse_histogram": {str(k): v for k, v in sorted(reuse.items())},
        "draws_skipped_for_reuse_cap": skipped,
        "sentences_per_base": [min(n_sent), max(n_sent)] if n_sent else [0, 0],
    }
    return bases, stats


def scaled_corpus(n: int = 100_000, seed: int = 7, copy_rate: float = 0.2, docs: list[Doc] | None = None) -> Corpus:
    """``n`` news-length articles made from the real text: recombined bases plus planted copies.

    ``round(copy_rate * n)`` planted copies (1-3 per chosen base, the edits of
    :func:`planted_corpus`), the rest new base articles of 10-40 real
    sentences (see :func:`_recombined_bases`), dated over two years; in stream
    order. Gold group of a base: its own id. Deterministic by ``seed``.
    """
    rng = random.Random(seed)
    docs = docs if docs is not None else real_articles()
    pool = _SentencePool([d.text for d in docs])
    n_copies = round(copy_rate * n)
    bases, stats = _recombined_bases(pool, n - n_copies, rng, _date(2015, 1, 1), 730)
    copies = _plant_copies(bases, n_copies, rng)
    articles = _stream_order(bases + copies, rng)
    words = [len(a.text.split()) for a in articles]
    words.sort()
    stats.update({
        "articles": len(articles), "bases": len(bases), "copies": len(copies), "bases_copied": len({c.base for c in copies}),
        "copies_per_edit": dict(Counter(c.edit for c in copies)),
        "words_p10_p50_p90": [words[len(words) // 10], words[len(words) // 2], words[9 * len(words) // 10]] if words else [],
        "mean_words": sum(words) / len(words) if words else 0.0,
    })
    return Corpus(articles, [a.group for a in articles], stats)


__all__ = [
    "BOILERPLATE", "CORPUS_EDITS", "CUTDOWNS", "Corpus", "DEFAULT_SOURCES", "Doc", "EDITS", "PlantedArticle",
    "load", "paragraphs", "plant", "planted_corpus", "real_articles", "scaled_corpus",
]
