"""Same-story scorer: speed of the shipped models, and their quality on pairs they never saw.

Speed (pairs per second on this machine, 2 cores): English pairs from the
SemEval-2022 task 8 files, each article cleaned and scored as
``samestory score-pairs`` does. *Cold*: a new scorer, nothing cached, every
article embedded (model loading timed apart). *Warm*: the same pairs again,
every article vector cached (as with a store, or an article met before).

Quality (``--pairs FILE``, in the SemEval pair format with ``overall``): the
Pearson r of each model's ``overall`` with the gold Overall, per language
pair, and the calibration of ``probability`` (expected calibration error).
Use it on pairs the models were not trained on (the leave-one-fold-out
figures of ``bench/train_scorer.py`` are the ones for the training data).

    .venv/bin/python bench/scorer.py                       # speed
    .venv/bin/python bench/scorer.py --pairs held_out.jsonl # + quality on a held-out file
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from samestory.article import Article  # noqa: E402
from samestory.clean import clean_article  # noqa: E402
from samestory.scorer import MODEL_NAMES, SAME_STORY_BELOW, Scorer, expected_calibration_error, load_model  # noqa: E402
from samestory.verdict import pair_text  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "semeval2022t8"


def read_pairs(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def to_pairs(rows: list[dict]):
    """Clean each side as score-pairs does."""
    def side(r, i):
        return pair_text(clean_article(Article(title=r.get(f"title{i}") or None, text=r.get(f"text{i}") or "",
                                               lang=r.get(f"lang{i}"), date=r.get(f"date{i}"))))
    return [(side(r, 1), side(r, 2)) for r in rows]


def speed(rows: list[dict], model: str) -> dict:
    t0 = time.perf_counter()
    scorer = Scorer(model)
    scorer.score(*to_pairs(rows[:1])[0])  # load every embedder (timed as start-up)
    scorer.cache = type(scorer.cache)(max_items=100_000)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scorer.score_many(to_pairs(rows))
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    scorer.score_many(to_pairs(rows))
    warm = time.perf_counter() - t0
    return {"model": model, "pairs": len(rows), "load_s": round(load_s, 2),
            "cold_pairs_per_s": round(len(rows) / cold, 1), "warm_pairs_per_s": round(len(rows) / warm, 1)}


def quality(rows: list[dict], model: str) -> dict:
    pairs = to_pairs(rows)
    scores = Scorer(model).score_many(pairs)
    overall = np.array([s.overall for s in scores])
    prob = np.array([s.probability for s in scores])
    gold = np.array([r["overall"] for r in rows], dtype=float)
    langs = np.array([f"{r['lang1']}-{r['lang2']}" for r in rows])
    out = {"all": round(float(pearsonr(overall, gold)[0]), 4)}
    for g in sorted(set(langs), key=lambda g: -np.sum(langs == g)):
        m = langs == g
        if m.sum() > 2:
            out[f"{g} ({m.sum()})"] = round(float(pearsonr(overall[m], gold[m])[0]), 4)
    out["ece"] = round(expected_calibration_error(prob, (gold < SAME_STORY_BELOW).astype(float)), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=Path, help="held-out pairs (SemEval format, with overall) to measure quality on")
    ap.add_argument("--n", type=int, default=150, help="English pairs timed (default 150)")
    ap.add_argument("--models", default=",".join(MODEL_NAMES))
    args = ap.parse_args(argv)
    models = [m for m in args.models.split(",") if m]

    print(f"samestory scorer bench: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start "
          "(speeds assume an otherwise idle machine)")
    if args.pairs:
        rows = read_pairs(args.pairs)
        print(f"\nquality on {args.pairs} ({len(rows)} pairs): Pearson r of overall with gold Overall; ECE of probability")
        for m in models:
            print(f"  {m:9s} {quality(rows, m)}")

    rows = [r for r in read_pairs(DATA / "pairs.jsonl") if r["lang1"] == r["lang2"] == "en"][: args.n]
    words = np.mean([len((r["text1"] or "").split()) + len((r["text2"] or "").split()) for r in rows]) / 2
    print(f"\nspeed: {len(rows)} English SemEval pairs ({len({r['text1'] for r in rows} | {r['text2'] for r in rows})} "
          f"distinct articles, mean {words:.0f} words), cleaned and scored")
    print(f"  {'model':9s} {'embedders':22s} {'start-up s':>10} {'cold pairs/s':>12} {'warm pairs/s':>12}")
    for m in models:
        s = speed(rows, m)
        print(f"  {m:9s} {'+'.join(load_model(m).embedders):22s} {s['load_s']:10.1f} {s['cold_pairs_per_s']:12.1f} {s['warm_pairs_per_s']:12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
