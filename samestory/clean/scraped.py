"""Finding the story in scraped article text.

Scraped text is a page read top to bottom: a date from the site's header, the
headline, section labels, a teaser, the byline, then the story, then "Read |"
links, credits and the headlines of other stories. :func:`split_scraped`
walks those zones and returns the story's lines plus every dropped line with
its reason. It never rewrites a sentence of the story: lines are kept or
dropped whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..dates import find_dates, is_date_only
from ..normalize import clean_line, for_matching, words
from .patterns import END_MARKERS, boilerplate_reason, byline_name

_TERMINAL = re.compile(r"[.!?;][\"'”’»)\]]*$|[\"”’»]$")
_ELLIPSIS = re.compile(r"(?:\.\.\.|…)\s*$")
_TOKEN = re.compile(r"\w+(?:['’]\w+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’»)]*\s+(?=[\"'“‘«(]?[A-Z0-9])")


@dataclass
class Scraped:
    """What :func:`split_scraped` found in one text."""

    lines: list[str] = field(default_factory=list)
    title: str | None = None
    byline: str | None = None
    date: str | None = None
    removed: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def drop(self, line: str, reason: str) -> None:
        self.removed.append(line)
        self.reasons.append(reason)


def n_words(line: str) -> int:
    return len(line.split())


def is_prose(line: str) -> bool:
    """A line that reads as story text: a sentence, not a label or headline."""
    n = n_words(line)
    if n >= 30:
        return True
    return n >= 8 and bool(_TERMINAL.search(line)) and not _ELLIPSIS.search(line)


def is_headline(line: str) -> bool:
    """Short, unpunctuated at the end: a headline, subheading or label."""
    n = n_words(line)
    if not 1 <= n <= 30 or len(line) > 250:
        return False
    if _TERMINAL.search(line) and not line.endswith(("?", "!", "'", "’", "”", '"')):
        return False
    return not _ELLIPSIS.search(line) and not line.endswith((",", ":"))


def is_title_case(line: str) -> bool:
    """Most words capitalised, as headlines of other stories usually are."""
    ws = [w for w in re.findall(r"[^\W\d_][\w'’-]*", line) if len(w) > 3]
    return len(ws) >= 2 and sum(w[0].isupper() for w in ws) >= 0.7 * len(ws)


def first_sentences(paragraph: str, n: int = 2) -> str:
    return " ".join(_SENTENCE_END.split(paragraph)[:n])


def is_teaser(candidate: str, paragraph: str, title: str | None = None) -> bool:
    """``candidate`` repeats the start of ``paragraph``: a truncated lead or standfirst.

    Either it is cut off with an ellipsis and is a prefix of the paragraph,
    or 70%+ of its words are in the paragraph's first two sentences and every
    name and number it holds is in the paragraph (or the title): a standfirst
    that adds a fact of its own ("in Estill Springs") is story text, kept.
    """
    cand = for_matching(_ELLIPSIS.sub("", candidate))
    para = for_matching(paragraph)
    if _ELLIPSIS.search(candidate) and len(cand) >= 20 and para.startswith(cand.rstrip(" .,;:")):
        return True
    cw = words(candidate)
    if len(cw) < 6:
        return False
    lead = set(words(first_sentences(paragraph)))
    if sum(w in lead for w in cw) < 0.7 * len(cw):
        return False
    known = set(words(paragraph)) | set(words(title or ""))
    return all(name in known for name in _names(candidate))


def _names(line: str) -> list[str]:
    """Capitalised words (after the first) and numbers: the facts of a line."""
    tokens = _TOKEN.findall(line)
    return [words(t)[0] for t in tokens[1:] if (t[0].isupper() or t[0].isdigit()) and words(t)]


def split_scraped(text: str, title: str | None = None) -> Scraped:
    """Split scraped article text into story lines and dropped lines.

    ``title``, when the input already knows it (a record's field, HTML
    metadata), is not searched for; copies of it at the top are dropped.
    """
    out = Scraped(title=title)
    lines = [clean_line(line) for line in text.split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return out
    body_start = _read_header(lines, out)
    body = lines[body_start:]
    body_end = _find_tail(body)
    kept: list[str] = []
    for line in body[:body_end]:
        reason = boilerplate_reason(line)
        if reason is None and is_date_only(line):
            reason = "date line"
        if reason is None and kept and for_matching(line) == for_matching(kept[-1]):
            reason = "repeated line"
        if reason:
            out.drop(line, reason)
        else:
            kept.append(line)
    tail = body[body_end:]
    for line in tail:
        out.drop(line, boilerplate_reason(line) or "headline of another story (after the end of this one)")
    out.lines = kept
    return out


def _read_header(lines: list[str], out: Scraped) -> int:
    """Consume the lines before the story; return the index where the story starts."""
    i = 0
    known_title = for_matching(out.title) if out.title else None
    title_found = out.title is not None
    while i < len(lines):
        line = lines[i]
        folded = for_matching(line)
        if known_title and folded.startswith(known_title) and not is_prose(line[len(out.title or ""):]):
            _take_dates(line[len(out.title or ""):], out)
            out.drop(line, "title repeated")
            i += 1
            continue
        date_only = is_date_only(line)
        if date_only:
            if title_found:
                out.date = out.date or date_only
                out.drop(line, "date line")
            else:
                out.drop(line, "date line above the headline (the page's or scrape date, not the article's)")
            i += 1
            continue
        name = byline_name(line)
        if name:
            out.byline = out.byline or name
            _take_dates(line, out)
            out.drop(line, "byline")
            i += 1
            continue
        reason = boilerplate_reason(line)
        if reason:
            out.drop(line, reason)
            i += 1
            continue
        if not title_found:
            if is_headline(line) and n_words(line) >= 2:
                out.title = line
                title_found = True
                out.drop(line, "headline (moved to title)")
                i += 1
                continue
            if not is_prose(line):
                out.drop(line, "label above the headline")
                i += 1
                continue
            title_found = True  # the text starts with its story; no headline in it
        nxt = _next_paragraph(lines, i + 1)
        if nxt is not None and is_teaser(line, nxt, out.title):
            out.drop(line, "teaser repeating the first paragraph")
            i += 1
            continue
        if is_prose(line):
            return i
        if is_headline(line) and n_words(line) <= 5 and nxt is not None:
            out.drop(line, "section or tag label")
            i += 1
            continue
        return i  # a standfirst that says something of its own: keep it
    return i


def _next_paragraph(lines: list[str], start: int) -> str | None:
    for line in lines[start:start + 8]:
        if is_prose(line) and not byline_name(line) and boilerplate_reason(line) is None:
            return line
    return None


def _take_dates(line: str, out: Scraped) -> None:
    dates = find_dates(line)
    if dates and not out.date:
        out.date = dates[0][2]


def _find_tail(body: list[str]) -> int:
    """Index where the story ends: after its last paragraph, before the page's leftovers.

    Lines after the last prose paragraph are dropped when they are
    boilerplate, or headlines that follow an end marker ("Read | ...",
    "(With inputs from agencies)") or are title-cased like other stories'
    headlines. A final line of the story that lost its full stop is kept.
    """
    last_prose = max((k for k, line in enumerate(body) if is_prose(line) and boilerplate_reason(line) is None), default=-1)
    reasons = [boilerplate_reason(line) for line in body]
    marker_before = []
    seen = False
    for k in range(len(body)):
        marker_before.append(seen)
        if k > last_prose and reasons[k] in END_MARKERS:
            seen = True
    end = len(body)
    for k in range(len(body) - 1, last_prose, -1):
        line = body[k]
        if reasons[k] or (is_headline(line) and (marker_before[k] or is_title_case(line))):
            end = k
        else:
            break
    return end
