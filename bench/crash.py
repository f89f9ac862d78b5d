"""Crash safety: kill -9 an ingest (``samestory cluster --store``) at random points, many times, then resume.

A stream of ``--n`` articles (default 20,000) made from the GVA news text in
``../shared/data/stories/gva`` (the real articles, then variants of them with
a random fifth of the sentences dropped, dated a few days later, so stories
repeat) is clustered into a store by the command line, in a subprocess that
is SIGKILLed after a random delay, ``--kills`` times (default 12). After
every kill the store must open, pass ``Store.integrity_check()`` and hold
only whole articles (every article row has its story membership, every
membership a live story, story sizes equal their member counts). A last,
unkilled run resumes to the end; its final state (article ids and the story
of each) must equal one uninterrupted run over a fresh store.

    .venv/bin/python bench/crash.py [--n 20000] [--kills 12] [--seed 1]

``tests/test_crash.py`` runs the same code on a small stream.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GVA = ROOT.parent / "shared" / "data" / "stories" / "gva" / "articles.jsonl"


def make_articles(n: int, path: Path, seed: int = 1, max_chars: int = 2000) -> Path:
    """Write ``n`` dated article records to ``path`` (JSONL): GVA articles, then variants of them."""
    import datetime as dt

    rng = random.Random(seed)
    base = [json.loads(line) for line in GVA.open(encoding="utf-8")]
    base = [r for r in base if r.get("text") and r.get("date")]
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            rec = base[i % len(base)]
            k = i // len(base)
            text = rec["text"][:max_chars]
            if k:
                sentences = re.split(r"(?<=[.!?])\s+", text)
                keep = [s for s in sentences if rng.random() > 0.2] or sentences[:1]
                text = " ".join(keep)
            day = dt.date.fromisoformat(rec["date"][:10]) + dt.timedelta(days=2 * k)
            out.write(json.dumps({"id": f"{rec['id']}-{k}", "title": rec.get("title"), "text": text,
                                  "date": day.isoformat(), "lang": "en", "source": rec.get("source")}) + "\n")
    return path


def ingest_cmd(store: Path, src: Path) -> list[str]:
    return [sys.executable, "-c", "from samestory.cli import main; main()", "cluster", "--no-clean", "--quiet", "--store", str(store), str(src), "-o", str(store) + ".out.csv"]


def check_store(store: Path) -> tuple[int, list[str]]:
    """(articles, problems): the store opens, passes its integrity check and holds only whole articles."""
    from samestory.store import Store

    with Store(store, create=False) as st:
        problems = list(st.integrity_check())
        db = st.db
        n = st.count()
        q = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        if (k := q("SELECT COUNT(*) FROM articles a LEFT JOIN story_members m ON m.seq = a.seq WHERE m.seq IS NULL")):
            problems.append(f"{k} articles without a story membership")
        if (k := q("SELECT COUNT(*) FROM story_members m LEFT JOIN stories s ON s.story = m.story "
                   "WHERE s.story IS NULL OR s.merged_into IS NOT NULL")):
            problems.append(f"{k} memberships in a missing or merged story")
        if (k := q("SELECT COUNT(*) FROM stories s WHERE s.merged_into IS NULL AND "
                   "s.size != (SELECT COUNT(*) FROM story_members m WHERE m.story = s.story)")):
            problems.append(f"{k} stories whose size is not their member count")
        if (k := q("SELECT COUNT(*) FROM stories s WHERE s.merged_into IS NULL AND s.size = 0")):
            problems.append(f"{k} empty live stories")
    return n, problems


def final_state(store: Path) -> dict[str, str]:
    """Article id -> id of its (live) story."""
    from samestory.store import Store

    with Store(store, create=False) as st:
        return dict(st.db.execute("SELECT a.id, s.id FROM articles a JOIN story_members m ON m.seq = a.seq "
                                  "JOIN stories s ON s.story = m.story"))


def run_once(store: Path, src: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(ingest_cmd(store, src), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def kill_and_resume(store: Path, src: Path, kills: int, span: float, seed: int = 1, start: float = 1.0,
                    log=lambda *a: None) -> dict:
    """Kill the ingest ``kills`` times after random delays in [start, start + span] s, checking the store each time; then finish."""
    rng = random.Random(seed)
    counts, problems = [], []
    for i in range(kills):
        proc = subprocess.Popen(ingest_cmd(store, src), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        delay = start + rng.random() * span
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.kill()  # SIGKILL
            proc.wait()
        if not (store / "samestory.sqlite").exists():
            counts.append(0)
            log(f"kill {i + 1}: after {delay:.1f} s, no store yet")
            continue
        n, found = check_store(store)
        counts.append(n)
        problems += [f"after kill {i + 1}: {p}" for p in found]
        log(f"kill {i + 1}: after {delay:.1f} s, {n} articles stored, {'sound' if not found else found}")
    t0 = time.perf_counter()
    subprocess.run(ingest_cmd(store, src), check=True, stdout=subprocess.DEVNULL)
    resume = time.perf_counter() - t0
    n, found = check_store(store)
    problems += [f"after resuming: {p}" for p in found]
    return {"counts": counts, "problems": problems, "final": n, "resume_s": resume}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--kills", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="samestory-crash-") as tmp:
        tmp = Path(tmp)
        src = make_articles(args.n, tmp / "in.jsonl", args.seed)
        ref = tmp / "ref.store"
        ref_s = run_once(ref, src)
        print(f"uninterrupted run: {args.n} articles in {ref_s:.1f} s ({args.n / ref_s:.0f} articles/s)", flush=True)
        want = final_state(ref)
        t0 = time.perf_counter()
        # each run is killed within twice its share of the uninterrupted time, so the kills spread over the whole ingest
        got = kill_and_resume(tmp / "killed.store", src, args.kills, span=2 * ref_s / args.kills, start=2.0, seed=args.seed,
                              log=lambda m: print(m, flush=True))
        total = time.perf_counter() - t0
        state = final_state(tmp / "killed.store")
        same_ids = set(state) == set(want)
        differ = sum(state.get(k) != v for k, v in want.items())
        print(f"{args.kills} kills (SIGKILL at random points), then a resume: {total:.1f} s in all, last resume {got['resume_s']:.1f} s")
        print(f"stored after each kill: {got['counts']}")
        print(f"problems found by the checks: {len(got['problems'])}" + "".join(f"\n  {p}" for p in got["problems"][:20]))
        print(f"final: {got['final']} articles; same article ids as the uninterrupted run: {same_ids}; "
              f"articles in a different story: {differ}")
        sys.exit(0 if not got["problems"] and same_ids and not differ else 1)


if __name__ == "__main__":
    main()
