"""What boilerplate lines of scraped news look like.

Each rule is a compiled pattern with the reason written into an article's
``removed_reasons``, so a user auditing a cleaned record sees why a line went.
Rules only fire on short, headline-like lines: a paragraph of the story that
happens to start with "Read" or "Share" is never dropped.
"""

from __future__ import annotations

import re

_I = re.I

#: (reason, pattern) pairs tried in order on every line.
BOILERPLATE: list[tuple[str, re.Pattern[str]]] = [
    ("related link", re.compile(
        r"^(?:also\s+read|read\s+also|read\s+more|read|more|related(?:\s+(?:news|stories|articles?))?|see\s+also|"
        r"also\s+see|watch|listen|must\s+read|don'?t\s+miss|trending|recommended|more\s+from\s+\w+|"
        r"you\s+may\s+also\s+like|also\s+on\s+\w+)\s*(?:[|:»>•·]|-{1,2}|–|—)\s*\S", _I)),
    ("agency credit", re.compile(
        r"^\(?\s*(?:with\s+(?:additional\s+)?inputs?\s+from\b[^)]*|with\s+agency\s+inputs?|inputs?\s+from\s+agencies"
        r"|(?:additional\s+)?reporting\s+by\b.*|editing\s+by\b.*|writing\s+by\b.*|compiled\s+by\b.*"
        r"|source\s*:\s*(?:agencies|\w+(?:\s+\w+)?)|agencies)\s*\)?\s*[.;]?$", _I)),
    ("tags", re.compile(r"^(?:tags?|topics?|filed\s+under|categories|category|keywords?|labels?)\s*[:|]", _I)),
    ("share buttons", re.compile(
        r"^(?:(?:share|tweet|email|e-mail|print|whatsapp|facebook|twitter|linkedin|pinterest|reddit|telegram|"
        r"copy\s+link|comments?|save|share\s+this(?:\s+(?:article|story|page))?|share\s+on\s+\w+)"
        r"(?:\s*[|/•·,]\s*|\s+|$))+$", _I)),
    ("social prompt", re.compile(
        r"^(?:please\s+)?(?:follow|like)\s+(?:and\s+like\s+)?us\b.*|^(?:click|tap)\s+here\b.*|"
        r"^(?:subscribe|sign\s+up)\b.*(?:newsletter|updates|alerts|channel|free)\b.*|"
        r"^(?:get|download)\s+(?:the|our)\s+\w+\s+app\b.*|^join\s+(?:us|our)\s+on\b.*", _I)),
    ("advertisement", re.compile(
        r"^(?:advertisement|advertising|sponsored(?:\s+content)?|ad|story\s+continues\s+(?:below|after)(?:\s+(?:this\s+)?(?:advertisement|ad))?|"
        r"continue\s+reading(?:\s+(?:below|the\s+main\s+story))?|skip\s+(?:ad|advertisement))\s*[.:]?$", _I)),
    ("copyright", re.compile(
        r"^(?:©|\(c\)|copyright\b).*|.*\ball\s+rights\s+reserved\b.*|"
        r"^this\s+material\s+may\s+not\s+be\s+(?:published|broadcast|rewritten|redistributed).*", _I)),
    ("cookie notice", re.compile(r".*\b(?:we\s+use\s+cookies|this\s+(?:web)?site\s+uses\s+cookies|accept\s+(?:all\s+)?cookies)\b.*", _I)),
    ("image credit", re.compile(
        r"^(?:(?:photo|image|picture|video|file\s+photo|graphic)s?\s*(?:credit)?\s*[:|]\s*.{0,80}"
        r"|\(?(?:photo|image)\s+(?:by|courtesy\s+of)\s+.{0,80}\)?"
        r"|.{0,80}\((?:ap|afp|reuters|getty(?:\s+images)?|epa|pti|ani|ians)\s+photo[^)]*\))$", _I)),
    # Pages a scraper got instead of the story (alert sign-ups, account
    # verification, paywalls, registration): whole sentences, but never news.
    ("site notice", re.compile(
        r"^(?:close\s+)?get\s+(?:e-?mail\s+)?(?:notifications|alerts)\s+(?:on|for|about)\s+.{1,80}(?:daily|weekly)?\W*$"
        r"|.*\byour\s+notification\s+has\s+been\s+saved\b.*|.*\bproblem\s+saving\s+your\s+notification\b.*"
        r"|^whenever\s+.{1,80}\s+posts\s+new\s+content\b.*|^e-?mail\s+notifications\s+are\s+only\s+sent\b.*"
        r"|.*\bwe\s+(?:have\s+|'ve\s+)?sent\s+(?:you\s+)?an?\s+(?:verification|confirmation|activation)\s+(?:e-?mail|link|message)\b.*"
        r"|^if\s+you\s+do\s+not\s+receive\s+the\s+(?:verification|confirmation|activation)\b.*"
        r"|.*\b(?:purchase|buy|start)\s+a\s+subscription\s+to\s+continue\s+reading\b.*"
        r"|.*\bread\s+the\s+maximum\s+number\s+of\s+(?:free\s+)?(?:stories|articles)\b.*"
        r"|.*\benjoyed\s+your\s+(?:free\s+)?preview\s+of\b.*"
        r"|^(?:have|need)\s+an?\s+(?:online\s+|digital\s+)?(?:subscription|account)\s*\?.*"
        r"|^already\s+(?:have\s+an\s+account|a\s+(?:print\s+)?subscriber)\s*\?.*"
        r"|^thank\s+you\s+for\s+(?:reading|registering|subscribing)\s*[.!]*$|^just\s+one\s+more\s+thing\W*$"
        r"|^sign\s+in\s+using\s+your\b.*|.*\bby\s+submitting\s+your\s+registration\s+information\b.*"
        r"|^click\s+here\s+to\s+return\s+to\s+the\s+page\b.*|^we\s+look\s+forward\s+to\s+seeing\s+you\s+on\b.*"
        r"|.*\b(?:you(?:'|’)re|you\s+are)\s+reading\s+is\s+premium\s+content\b.*|^subscribers\s+get\s+(?:total|full|unlimited)\s+access\b.*|^subscribe\s+now\s+for\s+(?:complete|full|unlimited)\b.*", _I)),
    # A video playlist: "2:53 Police discuss the arrest" (a running time, then a title).
    ("video playlist", re.compile(r"^\d{1,2}:\d{2}(?!\s*(?:[ap]\.?m\b|o'clock))\s+[^\d\s].{3,200}$", _I)),
    ("link", re.compile(r"^(?:https?://|www\.)\S+$|^\S+@\S+\.\w+$", _I)),
    ("navigation", re.compile(
        r"^(?:home|menu|close|search|log\s*in|sign\s*in|register|skip\s+to\s+(?:main\s+)?content|back\s+to\s+top|"
        r"next\s+(?:article|story|post)|previous\s+(?:article|story|post)|comments?\s*\(\d+\)|\d+\s+comments?|"
        r"loading(?:\.\.\.|…)?|updated|posted|published)\s*[.:]?$", _I)),
]

#: Lines after which the story is over (wire credits, "Read | ..." blocks).
END_MARKERS = {"related link", "agency credit", "tags", "share buttons", "social prompt", "copyright"}

#: "By Jane Doe", "Written By Jane Doe | City | Updated On:", "Author: Jane Doe".
BYLINE = re.compile(
    r"^(?:(?:written|posted|reported|story|text|words|compiled|edited)\s+by|by|author(?:s)?\s*[:|-]|reporter\s*[:|-])"
    r"\s*[:\-]?\s*(?P<name>[^,|•·\n]+?)"
    r"(?=\s*(?:[,|•·]|\s[-–—]\s|\s+(?:in|at|on|for|updated|published|posted|last\s+updated)\b|$))",
    _I,
)

_NOT_NAMES = re.compile(
    r"^(?:the|a|an|this|that|then|now|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"far|all|most|early|late|next|last|contrast|comparison|law|default|way|far|now|then|noon)\b",
    _I,
)


def boilerplate_reason(line: str) -> str | None:
    """The reason ``line`` is boilerplate, or None when it may be story text."""
    if len(line) > 400:
        return None
    for reason, pattern in BOILERPLATE:
        if pattern.match(line):
            if reason in ("copyright", "cookie notice", "site notice") or _headline_sized(line):
                return reason
    return None


def byline_name(line: str) -> str | None:
    """The author name(s) of a byline line, or None if the line is not a byline."""
    if len(line) > 300:
        return None
    m = BYLINE.match(line)
    if not m:
        return None
    name = m.group("name").strip(" .:;-–—")
    words = name.split()
    if not 1 <= len(words) <= 8 or _NOT_NAMES.match(name) or any(ch.isdigit() for ch in name):
        return None
    # Names are capitalised words joined by "and", "&", commas, "de", "van"...
    capitalised = [w for w in words if w[:1].isupper()]
    if len(capitalised) < max(1, (len(words) + 1) // 2):
        return None
    if line.rstrip().endswith(".") and len(line.split()) > 10:
        return None  # a sentence starting with "By ..."
    return name


def _headline_sized(line: str) -> bool:
    return len(line.split()) <= 30 and not re.search(r"[.!?][\"”’')]?\s+[A-Z]", line)
