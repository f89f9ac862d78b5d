"""Story clustering: agreement across run splits, speed and growth to 100,000 articles, and held-out quality.

1. **Split agreement**: the GVA stream (``../shared/data/stories/gva``)
   clustered in one run, and again in ten runs into one store (ten
   consecutive parts of the date-sorted input; then ten random parts, so
   later runs bring earlier dates). Agreement of the labelings: B-cubed F1
   and adjusted Rand index.
2. **Speed and scale**: a stream of ``--n`` articles (default 100,000) made
   from real news text (GVA, AllSides and SemEval articles: each a real
   article with a random fifth of its sentences dropped and the rest lightly
   reordered, so stories repeat the way wire copy does, spread over two years
   in date order) goes into one store in runs of 10,000. Printed per run:
   articles/s, CPU time per article of the main process (the linking loop)
   and of the analysis worker, the time to open the clusterer (it reads every
   stored story, not their members), the stories and the active ones (an article in the last
   ``search_days``: what each article is compared with), the store directory's size once closed (database and vector index),
   bytes per article and peak RSS, so the growth of time per article with
   store size shows.
3. **Copies join**: the GVA stream clustered, then verbatim copies of 100 of
   its articles (with text), dated 0, 30, 90 and 400 days after their
   originals, added to a copy of that store: how many join their original's
   story (a near-copy of a compared member joins whatever the linker says;
   without that rule, copies drifted apart with time).
4. **Held-out quality** (``--stream FILE``, JSONL with ``gold_story``): B-cubed
   precision, recall and F1 of the shipped linker, one pass in date order.
   (The figures on the streams in ``shared/`` come from ``bench/train_linker.py``,
   which never scores a half it trained on.)

    .venv/bin/python bench/cluster.py [--n 100000] [--stream held_out.jsonl] [--skip-split] [--skip-copies]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from sklearn.metrics import adjusted_rand_score  # noqa: E402

from samestory.article import Article  # noqa: E402
from samestory.cluster import StoryClusterer, article_day, iso_day  # noqa: E402
from samestory.embed import sentences  # noqa: E402
from samestory.store import Store  # noqa: E402
from train_linker import bcubed, load_stream  # noqa: E402

SHARED = REPO.parent / "shared" / "data"


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _children_cpu() -> float:
    """CPU seconds of this process's exited children (the analysis worker of each run)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def split_agreement(arts: list[Article]) -> None:
    order = sorted(arts, key=lambda a: (article_day(a.date) or 0))
    with tempfile.TemporaryDirectory() as tmp:
        with Store(Path(tmp) / "one") as store:
            t0 = time.perf_counter()
            one = dict(StoryClusterer(store).add(order))
            secs = time.perf_counter() - t0
        print(f"  one run: {len(set(one.values()))} stories from {len(arts)} articles ({len(arts) / secs:.0f} articles/s)")
        for label, parts in (("ten consecutive runs", [order[len(order) * k // 10:len(order) * (k + 1) // 10] for k in range(10)]),
                             ("ten random runs", _random_parts(order, 10))):
            with Store(Path(tmp) / label.replace(" ", "-")) as store:
                ten: dict[str, str] = {}
                for part in parts:
                    ten.update(StoryClusterer(store).add(part))
            ids = [a.id for a in order]
            _, _, f = bcubed([ten[i] for i in ids], [one[i] for i in ids])
            ari = adjusted_rand_score([one[i] for i in ids], [ten[i] for i in ids])
            print(f"  {label}: {len(set(ten.values()))} stories; agreement with one run: B-cubed F1 {f:.4f}, ARI {ari:.4f}")


def _random_parts(items: list, k: int) -> list[list]:
    rng = random.Random(7)
    shuffled = items[:]
    rng.shuffle(shuffled)
    return [shuffled[i::k] for i in range(k)]


def news_texts() -> list[tuple[str, str]]:
    out = []
    for name in ("gva", "allsides"):
        for line in open(SHARED / "stories" / name / "articles.jsonl", encoding="utf-8"):
            r = json.loads(line)
            out.append((r.get("title") or "", r.get("text") or ""))
    for name in ("pairs.jsonl", "pairs_truncated.jsonl"):
        for line in open(SHARED / "semeval2022t8" / name, encoding="utf-8"):
            r = json.loads(line)
            for i in (1, 2):
                if r[f"lang{i}"] == "en":
                    out.append((r[f"title{i}"] or "", r[f"text{i}"] or ""))
    return [t for t in dict.fromkeys(out) if len(t[1].split()) >= 40]


def synthetic_stream(n: int, seed: int = 7) -> list[Article]:
    """n articles over two years, date-sorted: real articles with sentences dropped and lightly reordered."""
    rng = random.Random(seed)
    bases = news_texts()
    start = dt.date(2022, 1, 1).toordinal()
    out = []
    for i in range(n):
        title, text = bases[rng.randrange(len(bases))]
        sents = sentences(text)
        kept = [s for s in sents if rng.random() > 0.2] or sents[:1]
        if len(kept) > 3 and rng.random() < 0.5:
            j = rng.randrange(1, len(kept) - 1)
            kept[j], kept[j + 1] = kept[j + 1], kept[j]
        day = dt.date.fromordinal(start + i * 730 // n).isoformat()
        out.append(Article(id=f"syn{i}", title=title, text=" ".join(kept), date=day, lang="en"))
    return out


def scale(n: int, run: int = 10_000) -> None:
    t_make = time.perf_counter()
    arts = synthetic_stream(n)
    print(f"  made {n:,} articles in {time.perf_counter() - t_make:.0f} s; {len(news_texts()):,} distinct real texts underneath")
    print(f"  {'stored before':>13} {'run':>6} {'articles/s':>10} {'ms/article':>10} {'main cpu ms':>11} {'worker cpu ms':>13} {'open s':>6} "
          f"{'stories':>8} {'active':>7} {'store MiB':>9} {'B/article':>9} {'peak RSS MiB':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store"
        total_secs = 0.0
        for start in range(0, n, run):
            part = arts[start:start + run]
            t0, cpu0, kids0 = time.perf_counter(), time.process_time(), _children_cpu()
            with Store(path) as store:
                c = StoryClusterer(store)
                opened = time.perf_counter() - t0  # reading the stored stories: grows with the store
                c.add(part)
            # closed: the last WAL checkpoint is timed too, and the size is the directory's (database and vector index)
            secs = time.perf_counter() - t0
            main_ms = 1000 * (time.process_time() - cpu0) / len(part)  # the linking loop (and opening the store)
            worker_ms = 1000 * (_children_cpu() - kids0) / len(part)  # the analysis worker, counted once it has exited
            total_secs += secs
            size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
            print(f"  {start:>13,} {len(part):>6,} {len(part) / secs:>10.0f} {1000 * secs / len(part):>10.2f} {main_ms:>11.2f} {worker_ms:>13.2f} {opened:>6.2f} "
                  f"{c.story_count():>8,} {c.active_story_count():>7,} {size / 2**20:>9.1f} {size / (start + len(part)):>9,.0f} {rss_mib():>12,.0f}", flush=True)
        print(f"  overall: {n / total_secs:.0f} articles/s (opening and closing the store and loading its stories included)")


def copies_join(arts: list[Article], n: int = 100, gaps: tuple[int, ...] = (0, 30, 90, 400)) -> None:
    order = sorted(arts, key=lambda a: (article_day(a.date) or 0))
    picks = random.Random(7).sample([a for a in order if a.text.strip() and article_day(a.date)], n)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        with Store(base) as store:
            StoryClusterer(store).add(order)
        for gap in gaps:
            path = Path(tmp) / f"gap{gap}"
            shutil.copytree(base, path)
            copies = [replace(a, id=f"{a.id}#copy", date=iso_day(article_day(a.date) + gap)) for a in picks]
            with Store(path) as store:
                clusterer = StoryClusterer(store)
                clusterer.add(copies)
                # all stored now: adding them again gives the stories as they are after the run (merges included)
                got = dict(clusterer.add(copies + picks))
            joined = sum(got[c.id] == got[a.id] for c, a in zip(copies, picks))
            print(f"  copies {gap:>3} days later: {joined} of {n} joined their original's story")


def held_out(path: Path) -> None:
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    from samestory.clean import clean_article

    arts = [clean_article(Article(id=r["id"], title=r.get("title"), text=r.get("text") or "", date=r.get("date"),
                                  source=r.get("source"), url=r.get("url"), lang=r.get("lang")), detect_lang=False)
            for r in rows]
    gold = {r["id"]: r["gold_story"] for r in rows}
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "s") as store:
        labels = dict(StoryClusterer(store).add(arts))
    p, r, f = bcubed([labels[a.id] for a in arts], [gold[a.id] for a in arts])
    print(f"  {path}: {len(arts)} articles, B-cubed P {p:.4f} R {r:.4f} F1 {f:.4f}; "
          f"{len(set(labels.values()))} stories, gold {len(set(gold.values()))}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="articles for the speed and scale run (0: skip)")
    ap.add_argument("--stream", type=Path, help="a held-out labelled stream to measure quality on")
    ap.add_argument("--skip-split", action="store_true")
    ap.add_argument("--skip-copies", action="store_true")
    args = ap.parse_args(argv)
    print(f"samestory clustering bench: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    if args.stream:
        print("\nheld-out quality")
        held_out(args.stream)
    if not args.skip_split:
        print("\n1. split agreement on the GVA stream (shipped linker)")
        split_agreement(load_stream("gva")[0])
    if args.n:
        print(f"\n2. speed and scale: {args.n:,} articles in runs of 10,000 into one store")
        scale(args.n)
    if not args.skip_copies:
        print("\n3. verbatim copies of 100 GVA articles, some days after their originals")
        copies_join(load_stream("gva")[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
