"""The verdict on two articles: what ``samestory compare`` and ``samestory.compare`` report.

Gathers what the engines say of one pair: the near-copy verdict and exact
Jaccard (:mod:`samestory.dedup`) and the passages they share
(:mod:`samestory.align`). The same-story scorer adds its probability and
1-4 score here.
"""

from __future__ import annotations

from .align import shared_passages
from .article import Article
from .dedup import DedupConfig, verify
from .fingerprint import fingerprint_many


def compare_articles(a: Article, b: Article, config: DedupConfig = DedupConfig()) -> dict:
    """The interface's verdict fields for two (cleaned) articles."""
    fa, fb = fingerprint_many([a.text or "", b.text or ""], config.fingerprint)
    v = verify(fa, fb, config)
    return {
        "a": a.id,
        "b": b.id,
        "near_duplicate": v.near,
        "jaccard": round(v.jaccard, 4),
        "containment": round(v.containment, 4),
        "shared_passages": [p.as_dict() for p in shared_passages(a.text or "", b.text or "")],
    }
