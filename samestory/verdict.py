"""The verdict on two articles: what ``samestory compare`` and ``samestory.compare`` report.

Gathers what the engines say of one pair: the same-story scorer's
probability and 1-4 score (:mod:`samestory.scorer`), the near-copy verdict
and exact Jaccard (:mod:`samestory.dedup`) and the passages they share
(:mod:`samestory.align`).
"""

from __future__ import annotations

from .align import shared_passages
from .article import Article
from .dedup import DedupConfig, verify
from .features import PairText
from .fingerprint import fingerprint_many
from .scorer import DEFAULT_MODEL, Scorer, ScorerError, unscorable


def pair_text(article: Article) -> PairText:
    """What the scorer reads of an article."""
    return PairText(article.title or "", article.text or "", article.lang, article.date)


def compare_articles(a: Article, b: Article, config: DedupConfig = DedupConfig(), *,
                     scorer: Scorer | None = None, model: str = DEFAULT_MODEL) -> dict:
    """The interface's verdict fields for two (cleaned) articles.

    ``same_story``, ``probability`` and ``overall`` come from ``scorer``
    (default: a :class:`~samestory.scorer.Scorer` with ``model``); pass one
    scorer to many calls so that its models and embedding cache are reused.
    Raises :class:`~samestory.scorer.ScorerError` when an article has neither
    title nor text.
    """
    pa, pb = pair_text(a), pair_text(b)
    reason = unscorable(pa, pb)
    if reason:
        raise ScorerError(f"cannot compare {a.origin or a.id or 'A'} with {b.origin or b.id or 'B'}: {reason}")
    score = (scorer or Scorer(model)).score(pa, pb)
    fa, fb = fingerprint_many([a.text or "", b.text or ""], config.fingerprint)
    v = verify(fa, fb, config)
    return {
        "a": a.id,
        "b": b.id,
        **score.as_dict(),
        "near_duplicate": v.near,
        "jaccard": round(v.jaccard, 4),
        "containment": round(v.containment, 4),
        "shared_passages": [p.as_dict() for p in shared_passages(a.text or "", b.text or "")],
    }
