"""Same-story scorer study (first version): does a learned combination beat one cosine?

Reads the SemEval-2022 task 8 pairs from ``../shared/data/semeval2022t8``,
computes per pair the embedding similarities (multilingual USE and MiniLM,
via :mod:`samestory.embed`, vectors cached in ``out/bench-embeddings.sqlite``)
and the lexical features of :mod:`samestory.features`, then fits a gradient
boosted regressor on the 1-4 ``overall`` score and reports leave-one-fold-out
Pearson correlations per language pair, against the best single signal.

It writes no model yet: the runtime scorer (artifact, calibration, CLI) is
the next step of the scorer issue. Development figures only.

    .venv/bin/python bench/train_scorer.py [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr
from sklearn.ensemble import HistGradientBoostingRegressor

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from samestory import embed as E  # noqa: E402
from samestory.features import LEXICAL_FEATURES, PairText, fit_char_idf, lexical_features  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "semeval2022t8"
EMBED_PARTS = ("doc", "title", "lead", "body", "chunk_max", "chunk_match")


def load_pairs() -> list[dict]:
    rows = []
    for name in ("pairs.jsonl", "pairs_truncated.jsonl"):
        with open(DATA / name, encoding="utf-8") as f:
            rows += [json.loads(line) for line in f]
    return rows


def embedding_features(rows: list[dict], name: str) -> np.ndarray:
    """(n, len(EMBED_PARTS)) cosines under one embedder, vectors cached on disk."""
    from embeddings import CACHE, SqliteVectors  # the embeddings bench's cache

    store = SqliteVectors(CACHE)
    embedder = E.get_embedder(name)
    cache = E.EmbeddingCache(load=store.load, save=store.save)
    articles = sorted({(r[f"title{i}"] or "", r[f"text{i}"] or "") for r in rows for i in (1, 2)})
    t0 = time.perf_counter()
    vecs = dict(zip(articles, E.embed_articles(articles, embedder, cache=cache)))
    print(f"  {name}: {len(articles)} articles in {time.perf_counter() - t0:.0f} s (cache hits {cache.hits})", file=sys.stderr)
    out = np.full((len(rows), len(EMBED_PARTS)), np.nan, dtype=np.float32)
    for i, r in enumerate(rows):
        a = (r["title1"] or "", r["text1"] or "")
        b = (r["title2"] or "", r["text2"] or "")
        sims = E.pair_similarities(vecs[a], vecs[b])
        out[i] = [sims[p] if (p != "title" or (a[0] and b[0])) else np.nan for p in EMBED_PARTS]
    return out


def r(pred: np.ndarray, gold: np.ndarray) -> float:
    return float(pearsonr(pred, gold)[0]) if len(gold) > 2 else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    rows = load_pairs()
    y = np.array([row["overall"] for row in rows], dtype=float)
    folds = np.array([row["fold"] for row in rows])
    langs = np.array([f"{row['lang1']}-{row['lang2']}" for row in rows])
    pairs = [(PairText(row["title1"] or "", row["text1"] or "", row["lang1"]), PairText(row["title2"] or "", row["text2"] or "", row["lang2"])) for row in rows]

    blocks, names = [], []
    for emb in ("use", "minilm"):
        blocks.append(embedding_features(rows, emb))
        names += [f"{emb}_{p}" for p in EMBED_PARTS]
    # IDF from all texts: unsupervised (no labels), the same for every fold.
    idf = fit_char_idf([p.full for pair in pairs for p in pair]).astype(np.float32)
    blocks.append(lexical_features(pairs, idf))
    names += list(LEXICAL_FEATURES)
    en = np.array([lg == "en-en" for lg in langs], dtype=np.float32)[:, None]
    X = np.hstack(blocks + [en])
    names.append("english")
    known = ~np.all(np.isnan(X), axis=0)  # e.g. date gaps: SemEval pairs carry no dates
    print("features without any value here (left out):", [n for n, k in zip(names, known) if not k])
    X, names = X[:, known], [n for n, k in zip(names, known) if k]

    pred = np.zeros(len(y))
    for fold in np.unique(folds):
        train, test = folds != fold, folds == fold
        model = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20, l2_regularization=1.0, random_state=args.seed)
        model.fit(X[train], y[train])
        pred[test] = model.predict(X[test])

    groups = ["all"] + sorted(set(langs), key=lambda g: -np.sum(langs == g))
    best_single = names.index("use_doc")
    print("leave-one-fold-out Pearson r with gold overall (learned model predicts overall; single cosine sign-flipped)")
    print(f"{'pairs':>10} {'n':>5} {'learned':>8} {'use_doc':>8} {'minilm_doc':>10} {'char_cos':>8}")
    for g in groups:
        m = np.ones(len(y), bool) if g == "all" else langs == g
        print(f"{g:>10} {m.sum():5d} {r(pred[m], y[m]):8.3f} {-r(X[m, best_single], y[m]):8.3f} "
              f"{-r(X[m, names.index('minilm_doc')], y[m]):10.3f} {-r(np.nan_to_num(X[m, names.index('char_cos')]), y[m]):8.3f}")
    per_fold = {int(f): round(r(pred[folds == f], y[folds == f]), 3) for f in np.unique(folds)}
    print("per held-out fold (all languages):", per_fold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
