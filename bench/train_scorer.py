"""Train the same-story scorer's shipped models, and measure them honestly.

Reads the SemEval-2022 task 8 pairs (``../shared/data/semeval2022t8``:
``pairs.jsonl`` and ``pairs_truncated.jsonl``), cleans every article as
``samestory score-pairs`` does, computes the features of
:func:`samestory.features.pair_features` and, for each model of
:data:`samestory.scorer.MODEL_EMBEDDERS`:

1. **Leave-one-fold-out** (``fold`` keeps every article in one fold, and
   the hidden check is one more such fold): for each held-out fold, the
   character IDF table, the trees and the calibration map are fitted on the
   other folds only (the blend of the trees' estimate with the model's
   strongest cosines, :data:`samestory.scorer.BLEND_SIGNALS`, and the
   calibration from a nested leave-one-fold-out inside them), then the
   held-out fold is scored. Printed: Pearson r of
   ``overall`` with the annotators' Overall per fold and per language pair,
   against the trees alone (before the blend) and the best single signals,
   and the calibration of ``probability``
   (expected calibration error, Brier score, accuracy of ``same_story``).
2. **The shipped model**: trees fitted on all pairs, the blend fitted on
   their leave-one-fold-out estimates, the calibration map from the blended
   leave-one-fold-out predictions, written to
   ``samestory/models/scorer/NAME.{npz,json}`` (the JSON card holds the
   figures above) plus the IDF table ``char_idf.npz``.

Deterministic for a given ``--seed``. Article vectors are cached in
``out/bench-embeddings.sqlite`` (shared with ``bench/embeddings.py``), so a
rerun takes about a minute; the first run embeds ~4,500 articles with each
model (about 10 minutes on 2 cores).

    .venv/bin/python bench/train_scorer.py            # train, report, write the models
    .venv/bin/python bench/train_scorer.py --no-write # report only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr
from sklearn import __version__ as sklearn_version
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.isotonic import IsotonicRegression

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from samestory import embed as E  # noqa: E402
from samestory.article import Article  # noqa: E402
from samestory.clean import clean_article  # noqa: E402
from samestory.features import (  # noqa: E402
    IDF_PATH, PairText, embedding_features, feature_names, fit_char_idf, lexical_features,
)
from samestory.scorer import (  # noqa: E402
    BLEND_SIGNALS, MODEL_DIR, MODEL_EMBEDDERS, MODEL_NAMES, SAME_STORY_BELOW, Blend, ScorerModel, Trees,
    expected_calibration_error,
)

SHARED = REPO.parent / "shared"
DATA = SHARED / "data" / "semeval2022t8"
FILES = ("pairs.jsonl", "pairs_truncated.jsonl")
TREE_PARAMS = dict(max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20, l2_regularization=1.0)
#: A blend group with fewer training pairs than this keeps the trees' estimate.
MIN_BLEND_PAIRS = 50


def load_pairs(data: Path = DATA) -> list[dict]:
    rows = []
    for name in FILES:
        with open(data / name, encoding="utf-8") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


def data_digest(data: Path = DATA) -> str:
    h = hashlib.sha256()
    for name in FILES:
        h.update((data / name).read_bytes())
    return h.hexdigest()[:16]


def cleaned_pairs(rows: list[dict]) -> list[tuple[PairText, PairText]]:
    """Each side cleaned as ``score-pairs`` cleans it (the given language kept)."""
    memo: dict[tuple, PairText] = {}

    def side(row: dict, i: int) -> PairText:
        key = (row[f"title{i}"] or "", row[f"text{i}"] or "", row.get(f"lang{i}"))
        if key not in memo:
            a = clean_article(Article(title=key[0] or None, text=key[1], lang=key[2]))
            memo[key] = PairText(a.title or "", a.text or "", a.lang, row.get(f"date{i}"))
        return memo[key]

    return [(side(r, 1), side(r, 2)) for r in rows]


def embedding_blocks(pairs, embedders) -> dict[str, np.ndarray]:
    from embeddings import CACHE, SqliteVectors  # the embeddings bench's on-disk vector cache

    store = SqliteVectors(CACHE)
    out = {}
    for name in embedders:
        cache = E.EmbeddingCache(load=store.load, save=store.save)
        t0 = time.perf_counter()
        out[name] = embedding_features(pairs, name, cache)
        print(f"  {name}: embeddings in {time.perf_counter() - t0:.0f} s (cache hits {cache.hits}, misses {cache.misses})", file=sys.stderr)
    return out


def r(pred: np.ndarray, gold: np.ndarray) -> float:
    return float(pearsonr(pred, gold)[0]) if len(gold) > 2 and np.std(pred) > 0 else float("nan")


def fit_trees(X: np.ndarray, y: np.ndarray, seed: int) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(random_state=seed, **TREE_PARAMS).fit(X, y)


def fit_calibration(overall: np.ndarray, same: np.ndarray) -> IsotonicRegression:
    return IsotonicRegression(increasing=False, y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(overall, same)


def fit_blend(raw: np.ndarray, X: np.ndarray, features: list[str], y: np.ndarray,
              signals: dict[str, tuple[str, ...]]) -> Blend:
    """Least-squares weights of the trees' out-of-fold estimates ``raw`` and the ``signals`` cosines, per group."""
    masks = Blend.group_masks(X, features)
    kept, weights, intercept = {}, {}, {}
    for group, names in signals.items():
        m = masks[group]
        if m.sum() < MIN_BLEND_PAIRS:
            continue
        A = np.column_stack([np.ones(m.sum()), raw[m], np.nan_to_num(X[m][:, [features.index(n) for n in names]])])
        coef = np.linalg.lstsq(A, y[m], rcond=None)[0]
        kept[group], weights[group], intercept[group] = tuple(names), tuple(float(c) for c in coef[1:]), float(coef[0])
    return Blend(kept, weights, intercept)


def blended_out_of_fold(raw: np.ndarray, X: np.ndarray, features: list[str], y: np.ndarray, folds: np.ndarray,
                        model: str) -> np.ndarray:
    """The out-of-fold estimates ``raw`` blended fold by fold, each with a blend fitted on the other folds (clipped
    to 1-4): what the calibration map is fitted on, so that it never sees a blend fitted on the pairs it maps."""
    out = np.zeros(len(y))
    for f in np.unique(folds):
        test = folds == f
        blend = fit_blend(raw[~test], X[~test], features, y[~test], BLEND_SIGNALS[model])
        out[test] = np.clip(blend.apply(raw[test], X[test], features), 1, 4)
    return out


def out_of_fold(X: np.ndarray, y: np.ndarray, folds: np.ndarray, seed: int) -> np.ndarray:
    pred = np.zeros(len(y))
    for f in np.unique(folds):
        test = folds == f
        pred[test] = fit_trees(X[~test], y[~test], seed).predict(X[test])
    return pred


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", default=",".join(MODEL_NAMES), help="comma-separated, from " + ", ".join(MODEL_NAMES))
    ap.add_argument("--no-write", action="store_true", help="report only; leave the shipped models as they are")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in MODEL_EMBEDDERS:
            ap.error(f"unknown model {m!r}")

    if not DATA.is_dir():
        print(f"no training data at {DATA}", file=sys.stderr)
        return 2
    t_start = time.perf_counter()
    rows = load_pairs()
    y = np.array([row["overall"] for row in rows], dtype=float)
    same = (y < SAME_STORY_BELOW).astype(float)
    folds = np.array([row["fold"] for row in rows])
    langs = np.array([f"{row['lang1']}-{row['lang2']}" for row in rows])
    print(f"samestory scorer training (bench/train_scorer.py): {len(rows)} pairs from {', '.join(FILES)}; "
          f"folds {dict(zip(*np.unique(folds, return_counts=True)))}; seed {args.seed}; scikit-learn {sklearn_version}")
    print(f"same story = annotators' mean Overall < {SAME_STORY_BELOW}: {int(same.sum())} of {len(y)} pairs ({same.mean():.1%})")
    pairs = cleaned_pairs(rows)
    print(f"cleaned {len({id(p) for pair in pairs for p in pair})} distinct articles", file=sys.stderr)

    embedders = sorted({e for m in models for e in MODEL_EMBEDDERS[m]})
    emb = embedding_blocks(pairs, embedders)
    english = np.array([float(a.lang == "en" and b.lang == "en") if a.lang and b.lang else np.nan for a, b in pairs],
                       dtype=np.float32)[:, None]
    texts = np.array([[a.full, b.full] for a, b in pairs], dtype=object)

    # Lexical features: the IDF table is fitted on the training side of each split (unsupervised,
    # but still not on the held-out articles), and on everything for the shipped model.
    lexical_by_fold = {}
    for f in np.unique(folds):
        idf = fit_char_idf(list(texts[folds != f].ravel())).astype(np.float32)
        lexical_by_fold[f] = lexical_features(pairs, idf)
    idf_all = fit_char_idf(list(texts.ravel()))
    lexical_all = lexical_features(pairs, idf_all.astype(np.float32))

    def matrix(model: str, lexical: np.ndarray) -> np.ndarray:
        return np.hstack([emb[e] for e in MODEL_EMBEDDERS[model]] + [lexical, english])

    report: dict = {"pairs": len(rows), "seed": args.seed, "data_sha256_16": data_digest(), "models": {}}
    groups = ["all"] + sorted(set(langs), key=lambda g: -np.sum(langs == g))
    singles = ["use_doc", "minilm_doc", "static_doc", "char_cos"]
    for model in models:
        names = feature_names(MODEL_EMBEDDERS[model])
        X_all = matrix(model, lexical_all)
        keep = ~np.all(np.isnan(X_all), axis=0)  # e.g. date gaps: the SemEval pairs carry no dates
        used = [n for n, k in zip(names, keep) if k]
        t0 = time.perf_counter()
        raw = np.zeros(len(y))  # the trees' estimates, before the blend
        pred = np.zeros(len(y))
        prob = np.zeros(len(y))
        for f in np.unique(folds):
            X = matrix(model, lexical_by_fold[f])[:, keep]
            test = folds == f
            inner = out_of_fold(X[~test], y[~test], folds[~test], args.seed)
            blend = fit_blend(inner, X[~test], used, y[~test], BLEND_SIGNALS[model])
            calib = fit_calibration(blended_out_of_fold(inner, X[~test], used, y[~test], folds[~test], model), same[~test])
            raw[test] = fit_trees(X[~test], y[~test], args.seed).predict(X[test])
            pred[test] = np.clip(blend.apply(raw[test], X[test], used), 1, 4)
            prob[test] = calib.predict(pred[test])
        trees_only = np.clip(raw, 1, 4)
        cv_seconds = time.perf_counter() - t0

        print(f"\n## model {model!r}: embedders {', '.join(MODEL_EMBEDDERS[model])}; {len(used)} features "
              f"(left out, no value in the data: {[n for n, k in zip(names, keep) if not k]})")
        print("leave-one-fold-out Pearson r of overall with the annotators' Overall "
              "(trees: before the blend; single signals: one cosine, sign flipped, on the same pairs)")
        header = f"{'pairs':>8} {'n':>5} {'scorer':>7} {'trees':>7} " + " ".join(f"{s:>10}" for s in singles if s in names)
        print(header)
        per_group, per_group_trees = {}, {}
        for g in groups:
            m = np.ones(len(y), bool) if g == "all" else langs == g
            per_group[g] = round(r(pred[m], y[m]), 4)
            per_group_trees[g] = round(r(trees_only[m], y[m]), 4)
            cells = " ".join(f"{-r(np.nan_to_num(X_all[m, names.index(s)]), y[m]):10.3f}" for s in singles if s in names)
            print(f"{g:>8} {m.sum():5d} {per_group[g]:7.3f} {per_group_trees[g]:7.3f} {cells}")
        non_en = langs != "en-en"
        per_group["non-English"] = round(r(pred[non_en], y[non_en]), 4)
        per_group_trees["non-English"] = round(r(trees_only[non_en], y[non_en]), 4)
        per_fold = {int(f): round(r(pred[folds == f], y[folds == f]), 4) for f in np.unique(folds)}
        ece = expected_calibration_error(prob, same)
        brier = float(np.mean((prob - same) ** 2))
        accuracy = float(np.mean((prob >= 0.5) == (same == 1)))
        print(f"non-English {per_group['non-English']:.3f} (trees alone {per_group_trees['non-English']:.3f}); "
              f"per held-out fold {per_fold}")
        print(f"probability (held-out, calibrated on the other folds): ECE {ece:.4f} (10 bins), Brier {brier:.4f}, "
              f"same_story accuracy {accuracy:.3f} (base rate {max(same.mean(), 1 - same.mean()):.3f})")
        print(f"cross-validation took {cv_seconds:.0f} s")

        # The shipped model: trees on all pairs, calibration from the out-of-fold predictions.
        X = X_all[:, keep]
        final = fit_trees(X, y, args.seed)
        trees = Trees.from_sklearn(final)
        gap = float(np.max(np.abs(trees.predict(X) - final.predict(X))))
        assert gap < 1e-9, f"exported trees disagree with scikit-learn by {gap}"
        blend = fit_blend(raw, X, used, y, BLEND_SIGNALS[model])
        for g in blend.signals:
            terms = " ".join(f"{w:+.3f} {n}" for w, n in zip(blend.weights[g], ("trees",) + blend.signals[g]))
            print(f"blend, {g} pairs: overall = {blend.intercept[g]:.3f} {terms}")
        calib = fit_calibration(pred, same)
        figures = {
            "pearson_overall_cv": per_group, "pearson_overall_cv_trees_alone": per_group_trees, "pearson_per_fold": per_fold,
            "ece_cv": round(ece, 4), "brier_cv": round(brier, 4), "same_story_accuracy_cv": round(accuracy, 4),
        }
        report["models"][model] = figures
        if not args.no_write:
            card = {
                "trained_by": "bench/train_scorer.py", "seed": args.seed,
                "training_data": {"files": [f"semeval2022t8/{n}" for n in FILES], "pairs": len(rows),
                                  "sha256_16": report["data_sha256_16"]},
                "target": "SemEval-2022 task 8 Overall (1 = same story, 4 = unrelated)",
                "probability": f"isotonic P(annotators' mean Overall < {SAME_STORY_BELOW}) given the predicted overall",
                "trees": {"library": f"scikit-learn {sklearn_version} HistGradientBoostingRegressor", **TREE_PARAMS,
                          "n_trees": len(trees.roots), "n_nodes": len(trees.leaf)},
                "blend_fitted_on": "the trees' leave-one-fold-out estimates (least squares per group of pairs)",
                "figures_leave_one_fold_out": figures,
                "python": platform.python_version(),
            }
            model_obj = ScorerModel(model, MODEL_EMBEDDERS[model], used, trees,
                                    calib.X_thresholds_.astype(np.float64), calib.y_thresholds_.astype(np.float64), card,
                                    blend)
            npz, meta = model_obj.save(MODEL_DIR)
            print(f"wrote {npz.relative_to(REPO)} ({npz.stat().st_size / 1024:.0f} KB) and {meta.relative_to(REPO)}")
    if not args.no_write:
        shipped = None
        if IDF_PATH.is_file():
            with np.load(IDF_PATH, allow_pickle=False) as data:
                shipped = data["idf"]
        if shipped is not None and shipped.dtype == idf_all.dtype and np.array_equal(shipped, idf_all):
            # left as it is: a rewrite would change the file's bytes (zip timestamps), and the story clusterer's
            # stored profiles and linker were made with it
            print(f"{IDF_PATH.relative_to(REPO)} unchanged (same weights)")
        else:
            np.savez_compressed(IDF_PATH, idf=idf_all)
            print(f"wrote {IDF_PATH.relative_to(REPO)} ({IDF_PATH.stat().st_size / 1024:.0f} KB)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
