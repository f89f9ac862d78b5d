"""Unicode normalisation: NFC for the text we keep, a folded form for matching.

Cleaned text keeps what the publisher wrote (curly quotes, dashes, accents)
in NFC. Comparisons (teaser detection here, shingles and fingerprints later)
use :func:`for_matching`, which folds case, compatibility forms, quotes and
dashes so that typographic differences between copies do not count.
"""

from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u200a": " ", "\u202f": " ",
    # Turkish dotted capital I: casefold makes it "i" plus a combining dot,
    # which splits words ("İstanbul" -> "i", "stanbul").
    "\u0130": "i",
})
# Zero-width and bidi control characters that scrapes carry along invisibly.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_WORD = re.compile(r"\w+(?:['\u2019]\w+)*", re.UNICODE)


def nfc(text: str) -> str:
    """NFC text with line endings unified and invisible/control characters removed.

    Surrogates that a bad decode may leave are replaced, so the result always
    encodes to UTF-8.
    """
    if not text:
        return ""
    text = without_surrogates(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    return unicodedata.normalize("NFC", text)


def without_surrogates(text: str) -> str:
    """``text`` with lone surrogates (from JSON escapes or bad decodes) replaced, so it encodes to UTF-8."""
    return text.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(text) else text


def clean_line(line: str) -> str:
    """One line with runs of spaces (including no-break spaces) folded to one."""
    return _SPACES.sub(" ", line).strip()


def for_matching(text: str) -> str:
    """Case-folded NFKC text with ASCII quotes and dashes and single spaces.

    Quotes and dashes are made ASCII after NFKC too: NFKC turns some compatibility forms into characters the
    table maps (a fullwidth grave accent into a backtick), and the result must be its own matching form."""
    text = unicodedata.normalize("NFKC", text.translate(_QUOTES)).translate(_QUOTES)
    return _SPACES.sub(" ", text.casefold()).strip()


def words(text: str) -> list[str]:
    """The words of ``text`` in matching form (for overlap tests)."""
    return _WORD.findall(for_matching(text))


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True
