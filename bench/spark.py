"""samestory on Spark vs the local run: same rows, wall time, shuffle bytes, memory, and a cost model.

1. dedup at scale, for each ``--sizes`` n (default 10,000 and 100,000):
   ``scaled_corpus(n)`` (bench/planted.py: news-length articles recombined from
   the real stories data plus 20% planted near-copies) written as one JSONL
   file; the local pipeline (read, clean, ``dedup_batch`` with one
   fingerprinting process per core), as ``samestory dedup`` runs it, against
   :func:`samestory.spark.spark_dedup` on a fresh Spark session (``--master``,
   default local[2]). The rows must be identical. Reported for the Spark run:
   wall time and its stages; shuffle bytes written and read and bytes spilled,
   summed over the run's stages from Spark's status store (the stage data the
   web UI's ``/api/v1/applications/<app>/stages`` serves); the executor's peak
   memory from Spark's executor metrics (JVM heap, and the resident memory of
   the JVM and of its Python workers: ``spark.executor.processTreeMetrics``);
   the driver's (this process's) peak resident memory, sampled.
2. cluster: the GVA stream (../shared/data/stories/gva/articles.jsonl); local
   read, clean and ``cluster_articles`` against :func:`samestory.spark.spark_cluster`.
   Rows must be identical; the adjusted Rand index is printed too.
2b. cluster in time ranges (``--partitions 2,4,8``): each labelled stream
   (../shared/data/stories/gva and allsides) clustered by
   :func:`samestory.spark.spark_cluster` with ``partitions=0`` (the exact
   pass) and each N, with and without the merge step; adjusted Rand index and
   B-cubed F1 against the local one-pass stories, B-cubed F1 against the gold
   stories, wall time and stages.
3. score-pairs: the first ``--pairs`` SemEval 2022 task 8 pairs
   (../shared/data/semeval2022t8/pairs.jsonl) with ``--model``; local
   ``samestory score-pairs`` against :func:`samestory.spark.spark_score_pairs`.
   Rows must be identical.
4. Cost model, from the dedup sizes: Spark wall time fitted as t(n) = a + b*n
   (least squares over the sizes; exact for two); the projection to
   ``--project`` articles (default 1,000,000) on the same master; the marginal
   cost b * cores core-seconds an article, so b * cores * 10^6 / 3600
   core-hours per million articles, and that at ``--price`` per core-hour.
   It assumes the per-core pace of local[2] holds on a cluster's cores (the
   tasks are independent) and leaves out the driver-side steps that do not
   spread (listed with the figures).

Spark session start-up is timed apart. Prints the load average before, during
and after, since the figures depend on what else runs on the machine.

    .venv/bin/python bench/spark.py [--sizes 10000,100000] [--master local[2]] [--json out/bench-spark.json]
    .venv/bin/python bench/spark.py --skip-dedup --skip-cluster --skip-pairs --partitions 2,4,8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
SHARED = REPO.parent / "shared"
GVA = SHARED / "data" / "stories" / "gva" / "articles.jsonl"
PAIRS = SHARED / "data" / "semeval2022t8" / "pairs.jsonl"
MiB = 2**20


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


# --------------------------------------------------------------------------- measuring


class Sampler:
    """Peak resident memory of this process and the 1-minute load average, sampled every ``every`` seconds."""

    def __init__(self, every: float = 0.25):
        self.every = every
        self.peak_rss = 0
        self.loads: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        last_load = 0.0
        while not self._stop.is_set():
            try:
                with open("/proc/self/statm") as f:
                    self.peak_rss = max(self.peak_rss, int(f.read().split()[1]) * page)
            except OSError:
                pass
            if time.monotonic() - last_load >= 5:
                self.loads.append(os.getloadavg()[0])
                last_load = time.monotonic()
            self._stop.wait(self.every)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def spark_metrics(spark) -> dict:
    """What Spark's status store says about every stage run so far and about the executors' peak memory.

    The same data as the web UI's REST API (``/api/v1/applications/<app>/stages``
    and ``/executors``), read from the driver's store, so the UI can stay off.
    """
    sc = spark.sparkContext
    store = sc._jsc.sc().statusStore()
    gw = sc._gateway
    stages = store.stageList(None, False, False, gw.new_array(gw.jvm.double, 0), None)
    out = {"stages": 0, "tasks": 0, "shuffle_write_bytes": 0, "shuffle_read_bytes": 0, "spill_memory_bytes": 0,
           "spill_disk_bytes": 0, "input_bytes": 0, "executor_run_s": 0.0, "peak_execution_memory_bytes": 0}
    for i in range(stages.length()):
        s = stages.apply(i)
        out["stages"] += 1
        out["tasks"] += s.numCompleteTasks()
        out["shuffle_write_bytes"] += s.shuffleWriteBytes()
        out["shuffle_read_bytes"] += s.shuffleReadBytes()
        out["spill_memory_bytes"] += s.memoryBytesSpilled()
        out["spill_disk_bytes"] += s.diskBytesSpilled()
        out["input_bytes"] += s.inputBytes()
        out["executor_run_s"] += s.executorRunTime() / 1000
        out["peak_execution_memory_bytes"] = max(out["peak_execution_memory_bytes"], s.peakExecutionMemory())
    executors = store.executorList(True)
    for i in range(executors.length()):
        e = executors.apply(i)
        out["executor_storage_max_bytes"] = max(out.get("executor_storage_max_bytes", 0), int(e.maxMemory()))
        peak = e.peakMemoryMetrics()
        if peak.isDefined():
            m = peak.get()
            for key, name in (("jvm_heap", "JVMHeapMemory"), ("jvm_offheap", "JVMOffHeapMemory"),
                              ("jvm_rss", "ProcessTreeJVMRSSMemory"), ("python_workers_rss", "ProcessTreePythonRSSMemory")):
                out[f"executor_{key}_peak_bytes"] = max(out.get(f"executor_{key}_peak_bytes", 0), int(m.getMetricValue(name)))
    return out


def new_session(master: str, memory: str = "4g"):
    from samestory import spark as sp

    t = time.perf_counter()
    spark = sp.build_session(master, conf={
        "spark.driver.memory": memory,  # in local mode the driver JVM is the executor
        "spark.executor.processTreeMetrics.enabled": "true",  # the Python workers' memory, in the executor metrics
        "spark.executor.metrics.pollingInterval": "500ms",
    })
    return spark, time.perf_counter() - t


def _mib(n: float) -> str:
    return f"{n / MiB:,.0f} MiB"


# --------------------------------------------------------------------------- 1. dedup at scale


def bench_dedup(args, n: int, tmp: Path, out: dict) -> bool:
    from planted import scaled_corpus

    from samestory import spark as sp
    from samestory.dedup import dedup_batch

    print(f"\n1. dedup, scaled_corpus({n:,}, seed {args.seed}); components found on: {args.components}", flush=True)
    t = time.perf_counter()
    corpus = scaled_corpus(n, args.seed)
    path = tmp / f"corpus-{n}.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for a in corpus.articles:
            f.write(json.dumps({"id": a.id, "date": a.date, "text": a.text}) + "\n")
    size = path.stat().st_size
    del corpus
    print(f"  built in {time.perf_counter() - t:.0f} s: {size / MiB:,.0f} MiB of JSONL; {load()}", flush=True)
    rec: dict = {"n": n, "jsonl_mib": size / MiB}

    local = None
    if not args.no_local:
        t = time.perf_counter()
        articles = local_articles(str(path), detect_lang=False)
        t_read = time.perf_counter() - t
        local = [r.as_dict() for r in dedup_batch(articles, workers=None)]
        t_local = time.perf_counter() - t
        del articles
        rec.update(local_s=t_local, local_read_clean_s=t_read)
        print(f"  local (read + clean in 1 process {t_read:.1f} s, dedup_batch with {os.cpu_count()} fingerprint processes): "
              f"{t_local:.1f} s, {len(local) / t_local:,.0f} articles/s; {load()}", flush=True)

    spark, start_s = new_session(args.master, args.memory)
    print(f"  Spark session ({args.master}, {args.memory} heap) started in {start_s:.1f} s (not counted)", flush=True)
    stats = sp.SparkStats()
    try:
        with Sampler() as sampler:
            t = time.perf_counter()
            rows, errors = sp.spark_dedup(spark, [str(path)], stats=stats, components_on=args.components,
                                          progress=lambda m: print(f"    [{time.perf_counter() - t:6.1f}s] {m}", flush=True))
            t_spark = time.perf_counter() - t
        metrics = spark_metrics(spark)
    finally:
        sp.stop_session(spark)
    got = [r.as_dict() for r in rows]
    same = None if local is None else got == local
    cores = _cores(args.master)
    rec.update(spark_s=t_spark, spark_start_s=start_s, memory=args.memory, components_on=args.components, spark_stages=stats.seconds, candidate_pairs=stats.candidate_pairs,
               components=stats.components, largest_component=stats.largest_component, identical=same, errors=len(errors),
               driver_peak_rss_bytes=sampler.peak_rss, load_during=sampler.loads, load_after=os.getloadavg(), cores=cores, **metrics)
    print(f"  spark: {t_spark:.1f} s, {n / t_spark:,.0f} articles/s ({n / t_spark / cores:,.0f} per core); stages: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in stats.seconds.items()), flush=True)
    print(f"  shuffle written {_mib(metrics['shuffle_write_bytes'])}, read {_mib(metrics['shuffle_read_bytes'])} "
          f"({metrics['shuffle_write_bytes'] / n:,.0f} bytes an article); spilled {_mib(metrics['spill_disk_bytes'])} to disk; "
          f"{metrics['stages']} stages, {metrics['tasks']} tasks", flush=True)
    print(f"  peak memory: executor JVM heap {_mib(metrics.get('executor_jvm_heap_peak_bytes', 0))}, JVM resident "
          f"{_mib(metrics.get('executor_jvm_rss_peak_bytes', 0))}, Python workers resident "
          f"{_mib(metrics.get('executor_python_workers_rss_peak_bytes', 0))}; driver (this process) "
          f"{_mib(sampler.peak_rss)}", flush=True)
    loads = sampler.loads or [os.getloadavg()[0]]
    print(f"  candidate pairs {stats.candidate_pairs:,}, components {stats.components:,} (largest {stats.largest_component}); "
          f"rows identical to local: {same}; load average during {min(loads):.1f}-{max(loads):.1f}", flush=True)
    out.setdefault("dedup", []).append(rec)
    path.unlink()
    return same is not False


def _cores(master: str) -> int:
    import re

    m = re.fullmatch(r"local\[(\d+)\]", master)
    if m:
        return int(m.group(1))
    return os.cpu_count() or 1


# --------------------------------------------------------------------------- 2. cluster


def bench_cluster(args, out: dict) -> bool:
    from samestory import spark as sp
    from samestory.cluster import cluster_articles

    print(f"\n2. cluster: {GVA}", flush=True)
    t = time.perf_counter()
    articles = local_articles(str(GVA), detect_lang=True)
    local = cluster_articles(articles)
    t_local = time.perf_counter() - t
    n = len(local)
    print(f"  local (read, clean, cluster_articles): {t_local:.1f} s, {n / t_local:,.0f} articles/s; {load()}", flush=True)
    spark, start_s = new_session(args.master)
    stats = sp.SparkStats()
    try:
        t = time.perf_counter()
        rows, errors = sp.spark_cluster(spark, [str(GVA)], stats=stats,
                                        progress=lambda m: print(f"    [{time.perf_counter() - t:6.1f}s] {m}", flush=True))
        t_spark = time.perf_counter() - t
        metrics = spark_metrics(spark)
    finally:
        sp.stop_session(spark)
    same = rows == local
    score = ari([s for _, s in local], [s for _, s in rows]) if [i for i, _ in rows] == [i for i, _ in local] else float("nan")
    print(f"  spark ({args.master}): {t_spark:.1f} s, {n / t_spark:,.0f} articles/s; stages: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in stats.seconds.items())
          + f"; shuffle written {_mib(metrics['shuffle_write_bytes'])}", flush=True)
    print(f"  stories {len({s for _, s in rows}):,}; rows identical to local: {same} (ARI {score:.4f}); {load()}", flush=True)
    out["cluster"] = {"n": n, "local_s": t_local, "spark_s": t_spark, "spark_start_s": start_s, "spark_stages": stats.seconds,
                      "identical": same, "ari": score, "errors": len(errors), "load": os.getloadavg(), **metrics}
    return same


def bench_cluster_ranges(args, out: dict) -> bool:
    """``spark_cluster(partitions=N)`` against the one-pass ``samestory cluster`` on each labelled stream:
    agreement (adjusted Rand, B-cubed F1 against the one-pass stories), B-cubed F1 against the gold stories, and speed."""
    from train_linker import bcubed

    from samestory import spark as sp
    from samestory.cluster import cluster_articles

    parts = [int(x) for x in args.partitions.split(",") if x.strip()]
    same = True
    print(f"\n2b. cluster in time ranges (--partitions {args.partitions}, {args.warmup_days} warm-up days; merge off/on)", flush=True)
    spark, start_s = new_session(args.master)
    try:
        for name in ("gva", "allsides"):
            path = SHARED / "data" / "stories" / name / "articles.jsonl"
            gold = {r["id"]: r["gold_story"] for r in map(json.loads, open(path, encoding="utf-8"))}
            t = time.perf_counter()
            local = cluster_articles(local_articles(str(path), detect_lang=True))
            t_local = time.perf_counter() - t
            ids = [i for i, _ in local]
            one = [s for _, s in local]
            gold_f1 = bcubed(one, [gold[i] for i in ids])[2]
            print(f"  {name}: {len(ids):,} articles; local one pass {t_local:.1f} s ({len(ids) / t_local:,.0f} articles/s), "
                  f"{len(set(one)):,} stories, B-cubed F1 vs gold {gold_f1:.4f}; {load()}", flush=True)
            recs = [{"stream": name, "partitions": "local", "s": t_local, "f1_gold": gold_f1}]
            for n, merge in [(0, False)] + [(n, m) for n in parts for m in (False, True)]:
                stats = sp.SparkStats()
                t = time.perf_counter()
                rows, _ = sp.spark_cluster(spark, [str(path)], stats=stats, partitions=n, warmup_days=args.warmup_days, merge=merge)
                secs = time.perf_counter() - t
                got = dict(rows)
                mine = [got[i] for i in ids]
                if n == 0:  # the exact pass must give the local rows
                    same &= rows == local
                rec = {"stream": name, "partitions": n, "merge": merge, "s": secs, "stages": stats.seconds, "ari": ari(one, mine),
                       "f1_one_pass": bcubed(mine, one)[2], "f1_gold": bcubed(mine, [gold[i] for i in ids])[2],
                       "stories": len(set(mine)), "load": os.getloadavg()[0]}
                recs.append(rec)
                print(f"    partitions {n}{' + merge' if merge else ''}: {secs:.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in stats.seconds.items())}); "
                      f"ARI {rec['ari']:.4f}, B-cubed F1 vs one pass {rec['f1_one_pass']:.4f}, vs gold {rec['f1_gold']:.4f}; "
                      f"{rec['stories']:,} stories; {load()}", flush=True)
            out.setdefault("cluster_ranges", []).extend(recs)
    finally:
        sp.stop_session(spark)
    return same


# --------------------------------------------------------------------------- 3. score-pairs


def bench_pairs(args, tmp: Path, out: dict) -> bool:
    from typer.testing import CliRunner

    from samestory import spark as sp
    from samestory.cli import app
    from samestory.output import read_rows

    print(f"\n3. score-pairs: the first {args.pairs:,} pairs of {PAIRS}, model {args.model!r}", flush=True)
    path = tmp / "pairs.jsonl"
    with open(PAIRS, encoding="utf-8") as f, open(path, "w", encoding="utf-8") as g:
        for i, line in enumerate(f):
            if i >= args.pairs:
                break
            g.write(line)
    t = time.perf_counter()
    result = CliRunner().invoke(app, ["score-pairs", str(path), "-o", str(tmp / "local.jsonl"), "--model", args.model, "-q"])
    t_local = time.perf_counter() - t
    local = read_rows(tmp / "local.jsonl")
    n = len(local)
    print(f"  local samestory score-pairs: {t_local:.1f} s, {n / t_local:,.1f} pairs/s (exit {result.exit_code}); {load()}", flush=True)
    spark, start_s = new_session(args.master)
    stats = sp.SparkStats()
    try:
        t = time.perf_counter()
        rows, errors = sp.spark_score_pairs(spark, [str(path)], model=args.model, stats=stats,
                                            progress=lambda m: print(f"    [{time.perf_counter() - t:6.1f}s] {m}", flush=True))
        t_spark = time.perf_counter() - t
        metrics = spark_metrics(spark)
    finally:
        sp.stop_session(spark)
    same = json.loads(json.dumps(rows)) == local
    print(f"  spark ({args.master}): {t_spark:.1f} s, {n / t_spark:,.1f} pairs/s; stages: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in stats.seconds.items())
          + f"; shuffle written {_mib(metrics['shuffle_write_bytes'])}; rows identical to local: {same}; {load()}", flush=True)
    out["score_pairs"] = {"n": n, "model": args.model, "local_s": t_local, "spark_s": t_spark, "spark_start_s": start_s,
                          "identical": same, "errors": len(errors), "load": os.getloadavg(), **metrics}
    return same


# --------------------------------------------------------------------------- 4. cost model


def cost_model(args, out: dict) -> None:
    runs = out.get("dedup") or []
    if not runs:
        return
    import numpy as np

    ns = np.array([r["n"] for r in runs], dtype=float)
    ts = np.array([r["spark_s"] for r in runs], dtype=float)
    cores = runs[0]["cores"]
    if len(runs) >= 2:
        b, a = np.polyfit(ns, ts, 1)
    else:
        a, b = 0.0, ts[0] / ns[0]
    per_article = b * cores  # core-seconds an article, at the margin
    core_hours = per_article * 1e6 / 3600
    projected = a + b * args.project
    shuffle_per_article = [r["shuffle_write_bytes"] / r["n"] for r in runs]
    print(f"\n4. cost model (dedup on Spark {args.master}, fitted over {', '.join(f'{int(n):,}' for n in ns)} articles)", flush=True)
    print(f"  t(n) = {a:.1f} s + {b * 1e3:.3f} ms x n; marginal {1 / per_article:,.0f} articles per core-second "
          f"({per_article * 1e3:.2f} core-ms an article)", flush=True)
    print(f"  projected {args.project:,} articles on {args.master}: {projected:,.0f} s ({projected / 60:,.0f} min); "
          f"shuffle {max(shuffle_per_article) * args.project / 2**30:,.1f} GiB at {max(shuffle_per_article):,.0f} bytes an article", flush=True)
    print(f"  per million articles: {core_hours:.2f} core-hours = ${core_hours * args.price:.2f} at ${args.price}/core-hour; "
          f"on a 64-core cluster about {a + per_article * 1e6 / 64:,.0f} s if the tasks spread evenly", flush=True)
    out["cost_model"] = {"a_s": a, "b_s_per_article": b, "cores": cores, "core_s_per_article": per_article,
                         "articles_per_core_s": 1 / per_article, "core_hours_per_million": core_hours,
                         "price_per_core_hour": args.price, "cost_per_million": core_hours * args.price,
                         "project_n": args.project, "projected_s": projected, "shuffle_bytes_per_article": shuffle_per_article}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000", help="dedup corpus sizes, comma-separated")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--no-local", action="store_true", help="skip the local dedup runs (no equality check)")
    ap.add_argument("--components", default="auto", choices=("auto", "driver", "spark"),
                    help="where spark_dedup finds the connected components (auto: the driver up to DRIVER_PAIRS pairs)")
    ap.add_argument("--memory", default="4g", help="the Spark JVM's heap (spark.driver.memory; in local mode also the executor's)")
    ap.add_argument("--pairs", type=int, default=1000, help="SemEval pairs for the score-pairs check")
    ap.add_argument("--model", default="fast", help="scorer model for the score-pairs check")
    ap.add_argument("--project", type=int, default=1_000_000, help="project the dedup wall time to this many articles")
    ap.add_argument("--price", type=float, default=0.048, help="price of a core-hour (USD) for the cost model")
    ap.add_argument("--partitions", default="", help="cluster the labelled streams in this many time ranges each "
                    "(comma-separated, e.g. 2,4,8) and compare with the one-pass stories")
    ap.add_argument("--warmup-days", type=int, default=90, help="warm-up days of each time range (with --partitions)")
    ap.add_argument("--skip-dedup", action="store_true")
    ap.add_argument("--skip-cluster", action="store_true")
    ap.add_argument("--skip-pairs", action="store_true")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    out: dict = {"cores": os.cpu_count(), "master": args.master, "load_before": os.getloadavg(), "args": vars(args)}
    print(f"samestory on Spark vs local; {os.cpu_count()} cores; {args.master}; {load()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="samestory-bench-spark-"))
    ok = True
    try:
        if not args.skip_dedup:
            for n in [int(x) for x in args.sizes.split(",") if x.strip()]:
                ok &= bench_dedup(args, n, tmp, out)
            cost_model(args, out)
        if not args.skip_cluster:
            ok &= bench_cluster(args, out)
        if args.partitions:
            ok &= bench_cluster_ranges(args, out)
        if not args.skip_pairs:
            ok &= bench_pairs(args, tmp, out)
    finally:
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()
        out["load_after"] = os.getloadavg()
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(out, indent=1))
    print(f"\ndone; {'all rows identical' if ok else 'ROWS DIFFER'}; {load()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
