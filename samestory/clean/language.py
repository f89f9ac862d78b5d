"""Language identification with py3langid, whose model ships in the package.

No downloads, deterministic, about a millisecond a text. Texts too short or
too mixed to call return None rather than a guess.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Below this normalised probability the language is reported as unknown.
MIN_PROBABILITY = 0.6
#: Letters needed before guessing at all.
MIN_LETTERS = 20
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


def detect_language(text: str, max_chars: int = 4000) -> tuple[str | None, float]:
    """``(ISO 639-1 code or None, probability)`` for ``text``."""
    sample = text[:max_chars]
    if len(_LETTER.findall(sample)) < MIN_LETTERS:
        return None, 0.0
    lang, prob = _identifier().classify(sample)
    prob = float(prob)
    if prob < MIN_PROBABILITY or lang in ("zxx", "und"):
        return None, prob
    return lang, prob


def normalise_code(code: str | None) -> str | None:
    """``"EN-us"`` -> ``"en"``; None for empty or unusable codes."""
    if not code:
        return None
    base = re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]
    return base if re.fullmatch(r"[a-z]{2,3}", base) else None
