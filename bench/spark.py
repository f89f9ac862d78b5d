"""samestory on Spark vs the local run: same rows, and articles per second.

1. dedup: ``scaled_corpus(n)`` (bench/planted.py: news-length articles recombined
   from the real stories data plus 20% planted near-copies) written as one
   JSONL file; the local pipeline (read, clean, ``dedup_batch`` with one
   fingerprinting process per core), as ``samestory dedup`` runs it, against
   :func:`samestory.spark.spark_dedup` on the same file. The rows must be
   identical.
2. cluster: the GVA stream (../shared/data/stories/gva/articles.jsonl); local
   read, clean and ``cluster_articles`` against :func:`samestory.spark.spark_cluster`.
   The rows must be identical (adjusted Rand index printed too).

Spark start-up is timed apart. Prints the load average before and after, since
the figures depend on what else runs on the machine.

    .venv/bin/python bench/spark.py [--n 20000] [--master local[2]]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
GVA = REPO.parent / "shared" / "data" / "stories" / "gva" / "articles.jsonl"


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def local_articles(path: str, detect_lang: bool):
    from samestory.clean import clean_article
    from samestory.errors import SamestoryError
    from samestory.ingest import iter_input

    seen = set()
    out = []
    for item in iter_input(path):
        if isinstance(item, Exception):
            continue
        try:
            a = clean_article(item, detect_lang=detect_lang)
        except SamestoryError:
            continue
        if a.ensure_id() in seen:
            continue
        seen.add(a.id)
        out.append(a)
    return out


def ari(a: list, b: list) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(a, b))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20_000, help="articles in the dedup corpus")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--skip-dedup", action="store_true")
    ap.add_argument("--skip-cluster", action="store_true")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    from samestory import spark as sp

    out: dict = {"cores": os.cpu_count(), "master": args.master, "load_before": os.getloadavg()}
    print(f"samestory on Spark vs local; {os.cpu_count()} cores; {args.master}; {load()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="samestory-bench-spark-"))
    t = time.perf_counter()
    spark = sp.build_session(args.master, conf={"spark.driver.memory": "4g"})
    out["spark_start_s"] = time.perf_counter() - t
    print(f"Spark session started in {out['spark_start_s']:.1f} s (not counted below)", flush=True)
    ok = True
    try:
        if not args.skip_dedup:
            ok &= bench_dedup(args, spark, tmp, out)
        if not args.skip_cluster:
            ok &= bench_cluster(args, spark, out)
    finally:
        sp.stop_session(spark)
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()
    out["load_after"] = os.getloadavg()
    print(f"done; {load()}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0 if ok else 1


def bench_dedup(args, spark, tmp: Path, out: dict) -> bool:
    from planted import scaled_corpus

    from samestory import spark as sp
    from samestory.dedup import dedup_batch

    print(f"\n1. dedup: scaled_corpus({args.n:,}, seed {args.seed})", flush=True)
    corpus = scaled_corpus(args.n, args.seed)
    path = tmp / "corpus.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for a in corpus.articles:
            f.write(json.dumps({"id": a.id, "date": a.date, "text": a.text}) + "\n")
    size = path.stat().st_size
    del corpus
    print(f"  {size / 2**20:,.0f} MiB of JSONL; {load()}", flush=True)

    t = time.perf_counter()
    articles = local_articles(str(path), detect_lang=False)
    t_read = time.perf_counter() - t
    local = dedup_batch(articles, workers=None)
    t_local = time.perf_counter() - t
    n = len(local)
    del articles
    print(f"  local (read + clean in 1 process {t_read:.1f} s, dedup_batch with {os.cpu_count()} fingerprint processes): "
          f"{t_local:.1f} s, {n / t_local:,.0f} articles/s; {load()}", flush=True)

    stats = sp.SparkStats()
    t = time.perf_counter()
    rows, errors = sp.spark_dedup(spark, [str(path)], progress=lambda m: print(f"    [{time.perf_counter() - t:6.1f}s] {m}", flush=True), stats=stats)
    t_spark = time.perf_counter() - t
    same = [r.as_dict() for r in rows] == [r.as_dict() for r in local]
    print(f"  spark ({args.master}): {t_spark:.1f} s, {n / t_spark:,.0f} articles/s; stages: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in stats.seconds.items()), flush=True)
    print(f"  candidate pairs {stats.candidate_pairs:,}, components {stats.components:,} (largest {stats.largest_component}); "
          f"rows identical to local: {same}; {load()}", flush=True)
    out["dedup"] = {"n": n, "jsonl_mib": size / 2**20, "local_s": t_local, "local_read_clean_s": t_read, "spark_s": t_spark,
                    "spark_stages": stats.seconds, "candidate_pairs": stats.candidate_pairs, "components": stats.components,
                    "largest_component": stats.largest_component, "identical": same, "errors": len(errors), "load": os.getloadavg()}
    return same


def bench_cluster(args, spark, out: dict) -> bool:
    from samestory import spark as sp
    from samestory.cluster import cluster_articles

    print(f"\n2. cluster: {GVA}", flush=True)
    t = time.perf_counter()
    articles = local_articles(str(GVA), detect_lang=True)
    local = cluster_articles(articles)
    t_local = time.perf_counter() - t
    n = len(local)
    print(f"  local (read, clean, cluster_articles): {t_local:.1f} s, {n / t_local:,.0f} articles/s; {load()}", flush=True)
    stats = sp.SparkStats()
    t = time.perf_counter()
    rows, errors = sp.spark_cluster(spark, [str(GVA)], progress=lambda m: print(f"    [{time.perf_counter() - t:6.1f}s] {m}", flush=True), stats=stats)
    t_spark = time.perf_counter() - t
    same = rows == local
    score = ari([s for _, s in local], [s for _, s in rows]) if [i for i, _ in rows] == [i for i, _ in local] else float("nan")
    print(f"  spark ({args.master}): {t_spark:.1f} s, {n / t_spark:,.0f} articles/s; stages: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in stats.seconds.items()), flush=True)
    print(f"  stories {len({s for _, s in rows}):,}; rows identical to local: {same} (ARI {score:.4f}); {load()}", flush=True)
    out["cluster"] = {"n": n, "local_s": t_local, "spark_s": t_spark, "spark_stages": stats.seconds, "identical": same, "ari": score,
                      "errors": len(errors), "load": os.getloadavg()}
    return same


if __name__ == "__main__":
    sys.exit(main())
