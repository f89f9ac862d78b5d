"""The story view: what a person reads of a story instead of a cluster id.

For the member articles of one story, :func:`story_view` gives

- ``headline``: the most representative title (the one closest to the
  story's centroid: the mean of its articles' sentence vectors);
- ``summary``: three extractive sentences, central (close to the centroid and
  said by many members) and non-redundant (maximal marginal relevance);
- ``timeline``: the articles in date order (date, source, title);
- ``sources`` and the named ``people``, ``places`` and ``organisations``;
- ``adds``: **what each source adds**: the sentences of an article that no
  other member says. Every sentence is embedded (multilingual USE) and
  aligned with the sentences of the other members and with their pairs of
  consecutive sentences (a fact one outlet says in one sentence another may
  spread over two); a sentence whose best cosine stays under
  :attr:`ViewConfig.said_elsewhere` is said only there;
- ``disagreements``: facts on which sources differ: sentences aligned across
  two sources (cosine at or above :attr:`ViewConfig.aligned`) that give
  different numbers or dates, or quote different words.

Views are cached in memory keyed by the story's member ids (a story that
gains an article gets a new view). Stories over
:attr:`ViewConfig.max_articles` articles are viewed through a sample: one
article a source first, earliest first, then the rest by date.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from .features import numbers
from .normalize import for_matching

#: The embedder sentences are aligned with (multilingual: stories cross languages).
SENTENCE_EMBEDDER = "use"


@dataclass(frozen=True)
class ViewConfig:
    """Thresholds of the story view; the defaults are calibrated in the README (section "Story view")."""

    #: A sentence whose best cosine to another member's sentence (or pair of sentences) reaches this is said elsewhere.
    said_elsewhere: float = 0.65
    #: Two sentences of different sources at or above this cosine (and each other's best match) tell the same fact.
    aligned: float = 0.6
    #: Sentences in the summary.
    summary_sentences: int = 3
    #: Relevance against novelty in the summary (maximal marginal relevance).
    mmr_lambda: float = 0.7
    #: Sentences shorter than this many words are neither summary nor "adds" material (subheads, credits).
    min_words: int = 6
    #: Articles analysed sentence by sentence (a larger story is viewed through a sample of them).
    max_articles: int = 12
    #: Sentences read of each article.
    max_sentences: int = 60


@dataclass
class Member:
    """One article of a story, as the view reads it."""

    id: str
    title: str | None = None
    text: str = ""
    date: str | None = None
    source: str | None = None
    url: str | None = None
    lang: str | None = None
    #: What to call the article where it has no source: its input file's name or byline, else its id.
    label: str | None = None
    sentences: list[tuple[int, int, str]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.label = self.source or self.label or self.id

    @classmethod
    def of(cls, article: Any) -> "Member":
        """A member from an :class:`~samestory.article.Article` or a mapping with the interface fields."""
        get = article.get if isinstance(article, dict) else (lambda k, d=None: getattr(article, k, d))
        from .stories import source_name

        extra = get("extra") or {}
        return cls(id=str(get("id") or ""), title=get("title"), text=get("text") or "", date=get("date"),
                   source=source_name(get("source"), get("url")), url=get("url"), lang=get("lang"),
                   label=_file_label(get("file") or extra.get("file")))


def _file_label(name: Any) -> str | None:
    """An input file's name without folders and extension ("north-korea-talks-outlet-a")."""
    if not name or not isinstance(name, str):
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.split(".", 1)[0] or None


# --------------------------------------------------------------------------- sentences

_END = re.compile(r"[.!?\u2026\u3002\uff01\uff1f\u061f\u06d4][\"'\u201d\u2019\u00bb)\]]*(?=\s)")
_ABBREVIATION = re.compile(
    r"(?:(?<![\w.])(?:[A-Z]\.){1,3}|(?<!\w)(?:Mr|Mrs|Ms|Dr|Gen|Lt|Col|Sgt|Capt|Cmdr|Adm|Rep|Sen|Gov|Prof|Rev|St|Jr|Sr|No|vs|"
    r"etc|Inc|Corp|Ltd|Co|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.|\u2026|\.\.\.)[\"'\u201d\u2019]?$")


def sentence_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, sentence)`` of each sentence of ``text``; offsets are into ``text``.

    Cuts at sentence-final punctuation before white space and at line breaks,
    but not after an abbreviation or initials ("U.S. officials", "Gen. Milley")
    nor before a word in lower case ("if … the hostile").
    """
    spans: list[list[int]] = []
    for line in re.finditer(r"[^\n]+", text or ""):
        base, body = line.start(), line.group()
        start = 0
        cuts = [m.end() for m in _END.finditer(body)] + [len(body)]
        pieces = []
        for end in cuts:
            if end > start:
                pieces.append([base + start, base + end])
            start = end
        for s, e in pieces:
            seg = text[s:e]
            lead = len(seg) - len(seg.lstrip())
            s, e = s + lead, s + len(seg.rstrip())
            if e <= s:
                continue
            if spans and spans[-1][2] == line.start() and (
                    _ABBREVIATION.search(text[spans[-1][0]:spans[-1][1]]) or text[s].islower()):
                spans[-1][1] = e
            else:
                spans.append([s, e, line.start()])
    return [(s, e, " ".join(text[s:e].split())) for s, e, _ in spans]


def _words(sentence: str) -> int:
    return len(sentence.split())


def _is_prose(sentence: str, min_words: int) -> bool:
    """A real sentence: long enough and not a heading (headings lack end punctuation)."""
    return _words(sentence) >= min_words and bool(re.search(r"[.!?\u2026\u3002\"'\u201d\u2019)]$", sentence))


# --------------------------------------------------------------------------- embeddings

_EMBED_LOCK = threading.Lock()
_VECTORS: "OrderedDict[str, np.ndarray]" = OrderedDict()
_VECTOR_CACHE = 50_000


def embed_sentences(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of ``texts`` with the sentence embedder (cached by text; thread-safe)."""
    from .embed import get_embedder

    with _EMBED_LOCK:
        missing = list(dict.fromkeys(t for t in texts if t not in _VECTORS))
        if missing:
            vecs = get_embedder(SENTENCE_EMBEDDER).embed(missing)
            for t, v in zip(missing, vecs):
                _VECTORS[t] = v
            while len(_VECTORS) > _VECTOR_CACHE:
                _VECTORS.popitem(last=False)
        dim = get_embedder(SENTENCE_EMBEDDER).dim
        return np.array([_VECTORS[t] for t in texts], dtype=np.float32).reshape(len(texts), dim)


# --------------------------------------------------------------------------- names

_ORG_WORDS = {
    "department", "ministry", "agency", "council", "committee", "party", "university", "company", "inc", "corp",
    "news", "bank", "court", "army", "navy", "force", "forces", "police", "congress", "parliament", "government",
    "chiefs", "staff", "office", "commission", "association", "union", "institute", "group", "organization",
    "organisation", "service", "times", "post", "press", "reuters", "assembly", "senate", "house", "fund", "board",
    "federation", "club", "foundation", "agreement", "agreements", "treaty", "nations", "nato", "fbi", "cia", "ap", "afp", "bbc", "cnn", "kcna",
}
_TITLES = {"president", "general", "gen", "leader", "minister", "secretary", "mr", "mrs", "ms", "dr", "chairman",
           "senator", "governor", "mayor", "king", "queen", "prince", "pope", "judge", "chief", "officer",
           "spokesman", "spokeswoman", "official", "negotiator", "envoy", "ambassador", "director", "counterpart"}
_PLACE_BEFORE = re.compile(r"(?:\b(?:in|at|from|near|across|into|outside|inside|toward|towards|visit|visited)\s+(?:the\s+)?|\b(?:of|by|with|and)\s+the\s+)$", re.I)
#: Words that make a name a place whatever its context ("North Korea said ...").
_PLACE_WORDS = {"korea", "states", "america", "china", "russia", "japan", "india", "iran", "iraq", "israel", "syria",
                "ukraine", "france", "germany", "britain", "england", "europe", "africa", "asia", "kingdom", "republic",
                "city", "county", "province", "island", "islands", "emirates", "arabia", "valley", "river", "mountains"}
_PERSON_BEFORE = re.compile(r"(?:\b(?:" + "|".join(sorted(_TITLES)) + r")\.?,?\s+)$", re.I)
_SAY_AFTER = re.compile(r"^\s*(?:,\s*)?(?:said|says|stated|added|told|wrote|hoped|reaffirmed|announced|\(\d+\)|,\s*\d+,)", re.I)
_UPPER = "A-ZÀ-ÖØ-ÞĀ-Ž"
_CAP_NAME = re.compile(rf"(?<![\w'’])[{_UPPER}][\w\-]*(?:[ \t]+(?:[{_UPPER}][\w\-]*|(?:de|del|la|van|von|der|al|bin|el|of)(?=[ \t]+[{_UPPER}])))*")
_SENTENCE_OPENING = re.compile(r"(?:^|[.!?:;\"“”«»]\s+|\n\s*)$")
#: Words that open a sentence in capitals and are no part of the name after them ("But Kim ...", "In April").
_OPENERS = {"a", "an", "the", "but", "in", "on", "at", "it", "and", "or", "however", "according", "as", "if", "when",
            "while", "after", "before", "last", "this", "that", "for", "from", "with", "by", "to", "of", "since", "meanwhile",
            "also", "then", "so", "yet", "his", "her", "their", "our", "its", "we", "he", "she", "they", "read"}
_DEMONYM = re.compile(r"(?:ean|ian|ese|ish|ican|ani|ean|i)$")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CALENDAR = set(_MONTHS) | set(_WEEKDAYS)


def _name_mentions(text: str) -> Iterable[tuple[str, int, int]]:
    """``(name, start, end)`` of the capitalised word runs of ``text`` that look like names."""
    for hit in _CAP_NAME.finditer(text):
        start, name = hit.start(), hit.group(0)
        opening = bool(_SENTENCE_OPENING.search(text[max(0, start - 3):start]))
        words = name.split()
        while opening and words and words[0].lower() in _OPENERS:
            start += len(words[0]) + (len(name) - len(name.lstrip()))
            name = name[len(words[0]):].lstrip()
            start = hit.end() - len(name)
            words = words[1:]
        if not words or (opening and len(words) == 1 and start == hit.start()):
            continue  # a lone capitalised word opening a sentence is usually just a word
        if len(name) <= 2 or for_matching(name) in _CALENDAR or words[-1].lower() in _OPENERS:
            continue
        yield name, start, hit.end()


def story_names(members: Sequence[Member], limit: int = 15) -> dict[str, list[dict]]:
    """People, places and organisations the members name, most-cited first.

    Names are capitalised word runs not opening a sentence (the stand-in for
    NER of :func:`samestory.features.names`, read from the article texts, not
    their title-cased headlines), sorted into kinds by their words and
    context: an organisation's name holds a word such as "Department" or is an
    acronym; a person is named after a title ("President", "General") or
    before "said", or has two or more words; a place comes after "in", "at",
    "from". An adjective of nationality ("North Korean officials") is left out.
    """
    found: dict[str, dict] = {}
    for m in members:
        text = m.text or ""
        seen_here: set[str] = set()
        for name, start, end in _name_mentions(text):
            key = for_matching(name)
            if re.search(r"\w-[A-ZÀ-ÖØ-ÞĀ-Ž]", name):
                continue  # "US-South Korea": two names joined as an adjective
            entry = found.setdefault(key, {"name": name, "mentions": 0, "articles": 0, "person": 0, "title": 0,
                                           "place": 0, "adjective": 0})
            entry["mentions"] += 1
            if key not in seen_here:
                seen_here.add(key)
                entry["articles"] += 1
            before, after = text[max(0, start - 40):start], text[end:end + 20]
            if _PERSON_BEFORE.search(before):
                entry["title"] += 1
            elif _SAY_AFTER.search(after):
                entry["person"] += 1
            elif _PLACE_BEFORE.search(before):
                entry["place"] += 1
            if _DEMONYM.search(key) and re.match(r"\s+[a-z]", after) and not _SAY_AFTER.search(after):
                entry["adjective"] += 1
    people_last = {}
    for key, e in found.items():
        words = key.split()
        if words[0] in _TITLES and len(words) > 1:
            e["title"] += 1
        if len(words) >= 2 and e["title"] + e["person"] > 0 and not _PLACE_WORDS & set(words):
            people_last.setdefault(words[-1], key)
    out: dict[str, list[dict]] = {"people": [], "places": [], "organisations": []}
    for key, e in sorted(found.items(), key=lambda kv: (-kv[1]["articles"], -kv[1]["mentions"], kv[0])):
        words = key.split()
        if len(words) == 1 and key in people_last and people_last[key] != key:
            continue  # "Milley" after "General Mark Milley": the same person
        if e["adjective"] * 2 >= e["mentions"]:
            continue
        if any(w.strip(".") in _ORG_WORDS for w in words) or re.fullmatch(r"[A-Z]{2,6}", e["name"]):
            kind = "organisations"
        elif e["title"]:
            kind = "people"
        elif _PLACE_WORDS & set(words) or e["place"] > e["person"]:
            kind = "places"
        elif e["person"] or len(words) >= 2:
            kind = "people"
        else:
            continue
        if len(out[kind]) < limit:
            out[kind].append({"name": e["name"], "articles": e["articles"], "mentions": e["mentions"]})
    return out


# --------------------------------------------------------------------------- facts

_QUOTE = re.compile(r"[\"\u201c\u201e\u00ab]([^\"\u201c\u201d\u201e\u00ab\u00bb]{12,}?)[\"\u201d\u00bb]")


def sentence_facts(sentence: str) -> dict[str, set[str]]:
    """The checkable facts of a sentence: numbers, calendar words (months, weekdays) and quoted words."""
    low = for_matching(sentence)
    return {
        "number": numbers(sentence),
        "date": {w for w in re.findall(r"\w+", low) if w in _CALENDAR},
        "quote": {" ".join(q.split()) for q in _QUOTE.findall(sentence)},
    }


# --------------------------------------------------------------------------- the view


def _sample(members: Sequence[Member], n: int) -> list[Member]:
    """At most ``n`` members: one a source first (earliest first), then the rest, by date."""
    if len(members) <= n:
        return list(members)
    picked, seen = [], set()
    for m in members:
        if m.source not in seen:
            seen.add(m.source)
            picked.append(m)
    picked = picked[:n]
    for m in members:
        if len(picked) >= n:
            break
        if m not in picked:
            picked.append(m)
    order = {id(m): i for i, m in enumerate(members)}
    return sorted(picked, key=lambda m: order[id(m)])


def _sentence_dict(m: Member, span: tuple[int, int, str], **more) -> dict:
    return {"article": m.id, "source": m.label, "start": span[0], "end": span[1], "text": span[2], **more}


def story_view(members: Iterable[Any], config: ViewConfig = ViewConfig()) -> dict:
    """The view of one story from its member articles (in date order; Articles, Members or dicts)."""
    members = [m if isinstance(m, Member) else Member.of(m) for m in members]
    members = [m for m in members if m.title or m.text]
    timeline = [{"id": m.id, "date": m.date, "source": m.label, "title": m.title, "url": m.url, "lang": m.lang}
                for m in members]
    sources = list(dict.fromkeys(m.source for m in members if m.source))
    view: dict[str, Any] = {
        "headline": "", "headline_article": None, "summary": [], "timeline": timeline, "sources": sources,
        "names": {"people": [], "places": [], "organisations": []}, "adds": [], "disagreements": [],
        "analysed_articles": 0, "config": {"said_elsewhere": config.said_elsewhere, "aligned": config.aligned},
    }
    if not members:
        return view
    view["names"] = story_names(members)
    used = _sample(members, config.max_articles)
    view["analysed_articles"] = len(used)
    for m in used:
        m.sentences = sentence_spans(m.text)[:config.max_sentences]

    # One embedding call for every sentence, pair of consecutive sentences and title.
    texts: list[str] = []
    owner: list[int] = []          # article index of each sentence
    windows: list[int] = []        # article index of each window
    for i, m in enumerate(used):
        texts.extend(s for _, _, s in m.sentences)
        owner.extend([i] * len(m.sentences))
    n_sent = len(texts)
    for i, m in enumerate(used):
        for a, b in zip(m.sentences, m.sentences[1:]):
            texts.append(f"{a[2]} {b[2]}")
            windows.append(i)
    titled = [i for i, m in enumerate(used) if m.title]
    texts.extend(used[i].title for i in titled)
    vecs = embed_sentences(texts)
    S, W, T = vecs[:n_sent], vecs[n_sent:n_sent + len(windows)], vecs[n_sent + len(windows):]
    owner_a, window_a = np.array(owner, dtype=int), np.array(windows, dtype=int)
    spans = [(used[i], s) for i, m in enumerate(used) for s in m.sentences]

    # The centroid: each article's mean sentence vector, articles weighted alike.
    art_means = [S[owner_a == i].mean(axis=0) for i in range(len(used)) if (owner_a == i).any()]
    centroid = np.mean(art_means, axis=0) if art_means else (T.mean(axis=0) if len(T) else None)
    if centroid is not None:
        centroid = centroid / (np.linalg.norm(centroid) or 1.0)

    # Headline: the title nearest the centroid (ties: the earliest).
    if titled and centroid is not None:
        scores = T @ centroid
        best = titled[int(np.argmax(scores))]
        view["headline"], view["headline_article"] = used[best].title, used[best].id
    else:
        first = next((m for m in members if m.title), members[0])
        view["headline"], view["headline_article"] = first.title or "", first.id

    if n_sent == 0:
        return view
    sims = S @ S.T
    other = owner_a[:, None] != owner_a[None, :]
    best_other = np.where(other, sims, -1.0).max(axis=1) if len(used) > 1 else np.full(n_sent, -1.0)
    if len(windows):
        wsims = S @ W.T
        best_other = np.maximum(best_other, np.where(owner_a[:, None] != window_a[None, :], wsims, -1.0).max(axis=1))

    # Summary: centrality (near the centroid) plus support (said by other members), then MMR.
    prose = np.array([_is_prose(s, config.min_words) for _, (_, _, s) in spans])
    if not prose.any():
        prose = np.array([_words(s) >= 3 for _, (_, _, s) in spans])
    support = np.zeros(n_sent)
    if len(used) > 1:
        for j in range(len(used)):
            cols = owner_a == j
            support += np.where(owner_a != j, sims[:, cols].max(axis=1), 0.0) if cols.any() else 0.0
        support /= len(used) - 1
    position = np.concatenate([np.arange((owner_a == i).sum()) for i in range(len(used))])
    relevance = S @ centroid + 0.5 * support - 0.01 * np.minimum(position, 10)
    chosen: list[int] = []
    candidates = [k for k in range(n_sent) if prose[k]]
    while candidates and len(chosen) < config.summary_sentences:
        redundancy = sims[np.ix_(candidates, chosen)].max(axis=1) if chosen else np.zeros(len(candidates))
        mmr = config.mmr_lambda * relevance[candidates] - (1 - config.mmr_lambda) * redundancy
        k = candidates[int(np.argmax(mmr))]
        chosen.append(k)
        candidates = [c for c in candidates if c != k and sims[c, k] < 0.9]
    view["summary"] = [_sentence_dict(spans[k][0], spans[k][1], score=round(float(relevance[k]), 3)) for k in chosen]

    # What each source adds: its sentences no other member says.
    if len(used) > 1:
        for i, m in enumerate(used):
            rows = [k for k in np.flatnonzero(owner_a == i)
                    if best_other[k] < config.said_elsewhere and _is_prose(spans[k][1][2], config.min_words)]
            view["adds"].append({
                "article": m.id, "source": m.label, "title": m.title, "date": m.date,
                "sentences": [_sentence_dict(m, spans[k][1], best_match=round(float(best_other[k]), 3)) for k in rows],
            })
        view["disagreements"] = _disagreements(used, spans, owner_a, sims, config)
    return view


def _disagreements(used: list[Member], spans, owner_a: np.ndarray, sims: np.ndarray, config: ViewConfig) -> list[dict]:
    """Aligned sentences of two sources (mutual best matches) that give different numbers, dates or quotes."""
    out: list[dict] = []
    seen: set[tuple] = set()
    n = len(owner_a)
    for k in range(n):
        mask = (owner_a != owner_a[k])
        if not mask.any():
            continue
        row = np.where(mask, sims[k], -1.0)
        j = int(np.argmax(row))
        if row[j] < config.aligned or k > j:
            continue
        back = np.where(owner_a == owner_a[k], sims[j], -1.0)
        if int(np.argmax(back)) != k:
            continue
        (ma, sa), (mb, sb) = spans[k], spans[j]
        if ma.source and ma.source == mb.source:
            continue
        fa, fb = sentence_facts(sa[2]), sentence_facts(sb[2])
        for kind in ("number", "date", "quote"):
            a_only, b_only = fa[kind] - fb[kind], fb[kind] - fa[kind]
            if kind == "quote":
                # a quote one side has and the other words differently: only when both quote
                if not (fa[kind] and fb[kind]) or _quotes_agree(fa[kind], fb[kind]):
                    continue
            elif not (a_only and b_only):
                continue
            key = (kind, tuple(sorted(a_only)), tuple(sorted(b_only)))
            if key in seen:
                continue
            seen.add(key)
            out.append({
                "kind": kind, "similarity": round(float(sims[k, j]), 3),
                "a": _sentence_dict(ma, sa, values=sorted(a_only)),
                "b": _sentence_dict(mb, sb, values=sorted(b_only)),
            })
    return out


def _quotes_agree(a: set[str], b: set[str]) -> bool:
    fa, fb = {for_matching(q) for q in a}, {for_matching(q) for q in b}
    return any(x in y or y in x for x in fa for y in fb)


# --------------------------------------------------------------------------- stores and caching

_VIEWS: "OrderedDict[tuple, dict]" = OrderedDict()
_VIEWS_LOCK = threading.Lock()
VIEW_CACHE = 256


def story_members(store, story_id: str) -> list[Member] | None:
    """The members of a live story of ``store`` (by the story's id), in date order; None when there is no such story."""
    db = store.db
    row = db.execute("SELECT story, merged_into FROM stories WHERE id = ?", (story_id,)).fetchone()
    if row is None:
        return None
    sid = row[0]
    for _ in range(1000):  # follow merges to the story that lives on
        if row[1] is None:
            break
        sid = row[1]
        row = db.execute("SELECT story, merged_into FROM stories WHERE story = ?", (sid,)).fetchone()
    rows = db.execute(
        "SELECT a.id, a.title, a.text, a.date, a.source, a.url, a.lang, m.day, a.extra, a.byline FROM story_members m "
        "JOIN articles a ON a.seq = m.seq WHERE m.story = ? ORDER BY m.day, m.seq", (sid,)).fetchall()
    from .cluster import iso_day
    from .stories import source_name

    out = []
    for r in rows:
        try:
            extra = json.loads(r[8]) if r[8] else {}
        except ValueError:
            extra = {}
        out.append(Member(id=r[0], title=r[1], text=r[2] or "", date=r[3] or iso_day(r[7]), source=source_name(r[4], r[5]),
                          url=r[5], lang=r[6], label=_file_label(extra.get("file") if isinstance(extra, dict) else None) or r[9]))
    return out


def cached_view(members: Sequence[Member], config: ViewConfig = ViewConfig()) -> dict:
    """:func:`story_view`, remembered by the member ids (and config) for the life of the process."""
    key = (tuple(m.id for m in members), config)
    with _VIEWS_LOCK:
        if key in _VIEWS:
            _VIEWS.move_to_end(key)
            return _VIEWS[key]
    view = story_view(members, config)
    with _VIEWS_LOCK:
        _VIEWS[key] = view
        while len(_VIEWS) > VIEW_CACHE:
            _VIEWS.popitem(last=False)
    return view


def view_of_story(store, story_id: str, config: ViewConfig = ViewConfig()) -> dict | None:
    """The view of story ``story_id`` of ``store``, with its id; None when there is no such story."""
    members = story_members(store, story_id)
    if members is None:
        return None
    return {"story": story_id, "size": len(members), **cached_view(members, config)}


def format_view(view: dict, width: int = 100) -> str:
    """The view as plain text for a terminal."""
    import textwrap

    def wrap(text: str, indent: str = "  ") -> str:
        return textwrap.fill(text, width, initial_indent=indent, subsequent_indent=indent + "  ")

    lines = [view.get("headline") or "(no headline)", "=" * min(width, len(view.get("headline") or "x" * 14)), ""]
    lines.append("Summary")
    lines += [wrap(f"- {s['text']}  [{s['source'] or s['article']}]") for s in view["summary"]] or ["  (no text)"]
    lines += ["", "Timeline"]
    lines += [f"  {t['date'] or '(no date)':<12} {t['source'] or '?':<24} {t['title'] or '(no title)'}" for t in view["timeline"]]
    lines += ["", "Sources: " + (", ".join(view["sources"]) or "(unknown)")]
    for kind in ("people", "places", "organisations"):
        if view["names"].get(kind):
            lines.append(f"{kind.capitalize()}: " + ", ".join(n["name"] for n in view["names"][kind]))
    if view["adds"]:
        lines += ["", "What each source adds"]
        for add in view["adds"]:
            lines.append(f"  {add['source'] or add['article']}: {len(add['sentences'])} sentence(s) no other article says")
            lines += [wrap(f"+ {s['text']}", "    ") for s in add["sentences"]]
    if view["disagreements"]:
        lines += ["", "Where sources differ"]
        for d in view["disagreements"]:
            lines.append(f"  {d['kind']}: {d['a']['source']} says {', '.join(d['a']['values'])}; "
                         f"{d['b']['source']} says {', '.join(d['b']['values'])}")
            lines += [wrap(f"{d['a']['source']}: {d['a']['text']}", "    "), wrap(f"{d['b']['source']}: {d['b']['text']}", "    ")]
    return "\n".join(lines)


__all__ = ["Member", "ViewConfig", "cached_view", "format_view", "sentence_spans", "story_members", "story_view", "view_of_story"]
