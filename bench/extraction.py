"""Article-body extraction benchmark: samestory's HTML ingest vs plain trafilatura.

Scores on the Zyte/ScrapingHub article-extraction-benchmark pages with the
benchmark's own metric, reimplemented here so our numbers compare with its
published table: word 4-gram shingles per page, per-page precision and recall,
averaged over pages, F1 of the two averages. A paired bootstrap over pages
says whether the difference between plain trafilatura and samestory is noise.

    .venv/bin/python bench/extraction.py [--data PATH] [--limit N] [--json]

The pages are read from the shared data directory at run time; they belong to
their publishers and are never copied into the repository.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import random
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Iterator

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "extraction" / "scrapinghub" / "pages.jsonl.gz"
BASELINE = "trafilatura"
SAMESTORY = "samestory"

TpFpFn = tuple[float, float, float]

# --- official scoring (scrapinghub/article-extraction-benchmark, evaluate.py) ---

_TOKEN_RE = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


def shingles(text: str | None, n: int = 4) -> Counter:
    """Word n-grams of ``text`` with counts; a text of fewer than n words is one shorter shingle."""
    tokens = _TOKEN_RE.findall(text or "")
    grams = (tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))
    return Counter(g for g in grams if g)


def shingle_match(gold: str | None, pred: str | None, n: int = 4) -> TpFpFn:
    """(tp, fp, fn) over shingle counts, normalised to sum 1 so long pages weigh no more."""
    true, found = shingles(gold, n), shingles(pred, n)
    tp = float(sum((true & found).values()))
    fp = float(sum((found - true).values()))
    fn = float(sum((true - found).values()))
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (tp, fp, fn)


def precision_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fp == 0:
        return 0.0
    return tp / (tp + fp)


def recall_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fn == 0:
        return 0.0
    return tp / (tp + fn)


def metrics(matches: Iterable[TpFpFn]) -> dict[str, float]:
    """Mean precision and recall over pages, and F1 of those means.

    As in the official script, a page with no predicted shingles (empty
    output) is left out of the precision mean and counts 0 in the recall mean;
    a page with no gold shingles is left out of the recall mean.
    """
    matches = list(matches)
    precisions = [precision_score(*m) for m in matches if m[0] + m[1] > 0]
    recalls = [recall_score(*m) for m in matches if m[0] + m[2] > 0]
    p = statistics.mean(precisions) if precisions else 0.0
    r = statistics.mean(recalls) if recalls else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1}


def bootstrap_f1_difference(a: list[TpFpFn], b: list[TpFpFn], rounds: int = 1000, seed: int = 0) -> dict[str, float]:
    """Paired bootstrap over pages of F1(b) - F1(a): observed value, 95% percentile interval."""
    rng = random.Random(seed)
    n = len(a)
    diffs = []
    for _ in range(rounds):
        idx = [rng.randrange(n) for _ in range(n)]
        diffs.append(metrics(b[i] for i in idx)["f1"] - metrics(a[i] for i in idx)["f1"])
    diffs.sort()
    return {
        "f1_diff": metrics(b)["f1"] - metrics(a)["f1"],
        "ci_low": diffs[int(0.025 * rounds)],
        "ci_high": diffs[min(rounds - 1, int(0.975 * rounds))],
        "rounds": rounds,
    }


# --- systems under test ------------------------------------------------------

Extractor = Callable[[str, str], str]


def _trafilatura(**options) -> Extractor:
    def run(html: str, url: str) -> str:
        import trafilatura

        return trafilatura.extract(html, url=url, **options) or ""

    return run


def _samestory(clean: Callable | None) -> Extractor:
    """The ingest path a user's HTML page takes, then the clean stage if present."""

    def run(html: str, url: str) -> str:
        from samestory.article import Article
        from samestory.ingest.html import fill_from_html

        article = fill_from_html(Article(html=html, url=url), html, url)
        if clean is not None:
            article = clean(article)
        return article.text or ""

    return run


def _clean_article() -> Callable | None:
    try:
        from samestory.clean import clean_article
    except ImportError:
        return None
    return clean_article


def systems(clean: Callable | None, reference: bool) -> dict[str, Extractor]:
    found = {BASELINE: _trafilatura()}
    if reference:
        found["trafilatura favor_recall"] = _trafilatura(favor_recall=True)
        found["trafilatura favor_precision"] = _trafilatura(favor_precision=True)
        if clean is not None:
            found["samestory extract only"] = _samestory(None)
    found[SAMESTORY if clean else SAMESTORY + " (no clean)"] = _samestory(clean)
    return found


# --- running -----------------------------------------------------------------


def read_pages(path: Path, limit: int | None) -> Iterator[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if limit is not None and i >= limit:
                return
            yield json.loads(line)


def run_system(extract: Extractor, pages: list[dict]) -> dict:
    """Score one system; a page whose extraction raises counts as empty output."""
    try:  # untimed warm-up: imports and lazily loaded data would bill the first page
        extract(pages[0]["html"], pages[0]["url"])
    except Exception:  # noqa: BLE001
        pass
    matches, empty, errors, seconds = [], 0, 0, 0.0
    for page in pages:
        start = time.perf_counter()
        try:
            text = extract(page["html"], page["url"])
        except Exception:  # noqa: BLE001 - any failure is an empty extraction
            text, errors = "", errors + 1
        seconds += time.perf_counter() - start
        empty += not _TOKEN_RE.search(text or "")
        matches.append(shingle_match(page["gold_body"], text))
    return {
        **metrics(matches),
        "pages_per_s": len(pages) / seconds if seconds else 0.0,
        "empty": empty,
        "errors": errors,
        "matches": matches,
    }


def format_table(results: dict[str, dict], pages: int) -> str:
    width = max(len(name) for name in results) + 2
    lines = [f"{'system':<{width}}{'precision':>10}{'recall':>9}{'F1':>8}{'pages/s':>10}{'empty':>7}"]
    for name, r in results.items():
        lines.append(
            f"{name:<{width}}{r['precision']:>10.4f}{r['recall']:>9.4f}{r['f1']:>8.4f}"
            f"{r['pages_per_s']:>10.1f}{r['empty']:>4}/{pages}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="pages.jsonl.gz (url, html, gold_body)")
    parser.add_argument("--limit", type=int, help="score only the first N pages")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--no-reference", action="store_true", help="skip the favor_recall/favor_precision rows")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap rounds for the F1 difference")
    args = parser.parse_args(argv)

    if not args.data.exists():
        parser.error(f"no benchmark data at {args.data}")
    logging.disable(logging.CRITICAL)  # trafilatura warns on every page it discards
    sys.path.insert(0, str(REPO))
    pages = list(read_pages(args.data, args.limit))
    if not pages:
        parser.error(f"no pages read from {args.data}")
    clean = _clean_article()
    note = None if clean else "samestory.clean.clean_article not found: samestory row is extraction only, no clean step"

    results = {name: run_system(extract, pages) for name, extract in systems(clean, not args.no_reference).items()}
    samestory_name = next(name for name in results if name.startswith(SAMESTORY) and "extract only" not in name)
    diff = bootstrap_f1_difference(results[BASELINE]["matches"], results[samestory_name]["matches"], args.bootstrap)

    if args.json:
        out = {
            "data": str(args.data),
            "pages": len(pages),
            "note": note,
            "systems": {name: {k: v for k, v in r.items() if k != "matches"} for name, r in results.items()},
            "f1_difference": {"minuend": samestory_name, "subtrahend": BASELINE, **diff},
        }
        print(json.dumps(out, indent=2))
        return 0
    print(f"{len(pages)} pages from {args.data}")
    if note:
        print(f"note: {note}")
    print(format_table(results, len(pages)))
    print(
        f"F1({samestory_name}) - F1({BASELINE}) = {diff['f1_diff']:+.4f}, "
        f"paired bootstrap 95% CI [{diff['ci_low']:+.4f}, {diff['ci_high']:+.4f}] ({diff['rounds']} rounds)"
        + ("  -> within noise" if diff["ci_low"] <= 0 <= diff["ci_high"] else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
