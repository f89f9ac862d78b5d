"""samestory on Apache Spark: the same stages, run by Spark, with the same answers.

Spark is an *executor* of samestory's own stage functions, not a second
implementation: every task calls the functions the local commands call
(:mod:`samestory.ingest`, :func:`samestory.clean.clean_article`,
:func:`samestory.fingerprint.fingerprint_many`, :func:`~samestory.fingerprint.band_keys_many`,
:func:`samestory.dedup.group_rows` with its :func:`~samestory.dedup.verify`,
:func:`samestory.embed.embed_articles`, :class:`samestory.cluster.StoryClusterer`),
so the rows cannot drift from ``samestory dedup`` / ``samestory cluster``.

**Reading** (both commands). The driver lists the input files and cuts plain
(uncompressed) JSONL files larger than :data:`SPLIT_BYTES` into line-aligned
byte ranges (one pass counting newlines, so every range knows its first line
number). Each file or range is one task: it reads its records with samestory's
own readers, cleans them, and reports bad rows with the file and line exactly
as the local commands do. Other formats (text, HTML, CSV, Parquet, feeds,
WARC, gzip) are one task per file. Input order is (file, range, position), the
order the local commands see, and a repeated id is dropped (and reported) as
they drop it.

**dedup**. Fingerprints and band keys are computed in the tasks (batches of
2,000, as the local run). Candidate pairs come from DataFrame group-bys in the
JVM: articles with the same content hash link to the first of them (only that
one enters LSH); the 64 band keys of each are exploded and grouped by (band,
key); a bucket of 2..``max_bucket`` members gives all its pairs, a larger one a
chain of neighbours plus a star on its first member: exactly
:func:`samestory.dedup.candidate_pairs`. The grouping rule
(:func:`samestory.dedup.group_rows`) is sequential (earliest article first), but
it only ever links articles through candidate pairs, so it runs independently
on each connected component of the candidate graph: the components are found
on the driver over the pair list (scipy, a few bytes per pair), and each
component's fingerprints are grouped in a Spark task that runs ``group_rows``
(which does the exact verification) on its members in input order. The rows
are identical to :func:`samestory.dedup.dedup_batch`'s.

**cluster**. Reading, cleaning (with language detection) and the article
embeddings (:func:`samestory.embed.embed_articles`, the static embedder the
story linker uses) run in the tasks. Online story linking is one ordered pass
(each article is scored against the stories made by the articles before it),
so it runs on the driver: the articles and their vectors are collected, the
vectors are put in a :class:`~samestory.cluster.StoryClusterer`'s embedding
cache, and ``StoryClusterer.add`` links the date-ordered stream in a temporary
store, exactly as ``samestory cluster`` does. What scales with Spark is the
reading, cleaning and embedding; the linking pass stays one process.

Nothing is downloaded at run time: only the jars inside the pyspark wheel are
used. Workers need samestory installed (they import it); in local mode they
use this Python (``PYSPARK_PYTHON`` defaults to it).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .article import Article
from .dedup import DedupConfig, DedupRow
from .errors import InputError, SamestoryError
from .ingest import DEFAULT_LIMITS, Limits

#: Plain JSONL files larger than this are read by several tasks (line-aligned byte ranges).
SPLIT_BYTES = 32 * 1024 * 1024
#: Articles per fingerprinting / embedding batch inside a task (what the local run uses).
BATCH = 2000

Progress = Callable[[str], None]


class SparkUnavailable(SamestoryError):
    """pyspark or Java is missing, or Spark did not start."""


# --------------------------------------------------------------------------- session


_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
logger.progress.name = org.apache.spark.ui.ConsoleProgressBar
logger.progress.level = info
"""


def _log4j2_file() -> str:
    """A log4j2 config (errors only, plus the console progress bar) in a private temporary conf directory."""
    conf = Path(tempfile.gettempdir()) / f"samestory-spark-conf-{os.getuid() if hasattr(os, 'getuid') else 0}"
    conf.mkdir(exist_ok=True)
    path = conf / "log4j2.properties"
    if not path.is_file() or path.read_text() != _LOG4J2:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(_LOG4J2)
        os.replace(tmp, path)
    return str(path)


def build_session(master: str = "local[*]", app_name: str = "samestory", *, shuffle_partitions: int | None = None,
                  progress_bar: bool = False, conf: dict | None = None):
    """A SparkSession for samestory: no web UI, quiet logging, this Python on the workers.

    Raises :class:`SparkUnavailable` with the reason when pyspark or Java is missing.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable("pyspark is not installed; install it with: pip install 'samestory[spark]'") from None
    if not os.environ.get("JAVA_HOME") and not _which("java"):
        raise SparkUnavailable("Java is not installed (Spark needs a Java 17+ runtime; e.g. apt-get install openjdk-17-jre-headless)")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    log_file = _log4j2_file()
    log = f"-Dlog4j2.configurationFile=file:{log_file}"
    if "SPARK_CONF_DIR" not in os.environ:  # the driver JVM reads log4j2.properties from the conf directory on its class path
        os.environ["SPARK_CONF_DIR"] = str(Path(log_file).parent)
    if shuffle_partitions is None:
        shuffle_partitions = max(2, 2 * (os.cpu_count() or 1)) if master.startswith("local") else 200
    builder = (
        SparkSession.builder.master(master).appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "true" if progress_bar else "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", str(shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.extraJavaOptions", log)
        .config("spark.executor.extraJavaOptions", log)
        .config("spark.python.worker.reuse", "true")
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: say why in one line
        raise SparkUnavailable(f"Spark did not start ({type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ''})") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def stop_session(spark) -> None:
    """Stop Spark and the JVM it started, so no Java process outlives the caller."""
    from pyspark import SparkContext

    try:
        spark.stop()
    finally:
        gateway = SparkContext._gateway
        proc = getattr(gateway, "proc", None) if gateway is not None else None
        if gateway is not None:
            try:
                gateway.shutdown()
            except Exception:
                pass
        if proc is not None:
            try:
                proc.stdin.close()  # the JVM exits when its standard input closes
                proc.wait(timeout=20)
            except Exception:
                proc.kill()
                proc.wait()
        SparkContext._gateway = None
        SparkContext._jvm = None


@contextmanager
def spark_session(master: str = "local[*]", **kwargs):
    spark = build_session(master, **kwargs)
    try:
        yield spark
    finally:
        stop_session(spark)


def _which(name: str) -> str | None:
    import shutil

    return shutil.which(name)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Split:
    """One reading task: a whole file, or a line-aligned byte range of a plain JSONL file."""

    index: int
    path: str
    start: int = 0
    end: int | None = None  # None: the whole file, read by samestory's detector and reader
    first_line: int = 1  # line number of the range's first line


def plan_splits(paths: Iterable[str], fmt: str = "auto", split_bytes: int | None = None) -> list[Split]:
    """The reading tasks for some files: large plain JSONL files become several ranges."""
    split_bytes = split_bytes or SPLIT_BYTES
    out: list[Split] = []
    for path in paths:
        ranges = _jsonl_ranges(path, fmt, split_bytes)
        if ranges is None:
            out.append(Split(len(out), path))
        else:
            for start, end, line in ranges:
                out.append(Split(len(out), path, start, end, line))
    return out


def _jsonl_ranges(path: str, fmt: str, split_bytes: int) -> list[tuple[int, int, int]] | None:
    """Line-aligned ranges ``(start, end, first line)`` of a large plain JSONL file; None to read it whole."""
    from .ingest import iter_file  # noqa: F401  (the readers must import here as in the tasks)
    from .ingest.detect import detect_format
    from .ingest.source import open_input

    try:
        size = os.path.getsize(path)
    except OSError:
        return None
    if size <= split_bytes or fmt not in ("auto", "jsonl"):
        return None
    try:
        with open_input(path) as inp:
            if inp.compressed or (fmt == "auto" and detect_format(inp) != "jsonl"):
                return None
    except (InputError, OSError):
        return None
    ranges = []
    start, line = 0, 1
    with open(path, "rb") as fh:
        pos, lines_before = 0, 0
        cut = split_bytes
        block = 1 << 20
        while True:
            data = fh.read(block)
            if not data:
                break
            while cut < pos + len(data):
                nl = data.find(b"\n", cut - pos)
                if nl < 0:
                    break
                end = pos + nl + 1
                lines_upto = lines_before + data.count(b"\n", 0, nl + 1)
                ranges.append((start, end, line))
                start, line = end, lines_upto + 1
                cut = end + split_bytes
            lines_before += data.count(b"\n")
            pos += len(data)
    if start < size:
        ranges.append((start, size, line))
    return ranges if len(ranges) > 1 else None


_LINE = re.compile(r"^line (\d+)$")


def _shift_location(location: str | None, offset: int) -> str | None:
    m = _LINE.match(location or "")
    return f"line {int(m.group(1)) + offset}" if m else location


def read_split(split: Split, fmt: str, limits: Limits) -> Iterator[Article | InputError]:
    """Articles and errors of one split, named and numbered as the local readers name them."""
    from .ingest import iter_input, read_bytes

    if split.end is None:
        yield from iter_input(split.path, fmt, limits)
        return
    try:
        with open(split.path, "rb") as fh:
            fh.seek(split.start)
            data = fh.read(split.end - split.start)
    except OSError as exc:
        yield InputError(split.path, f"cannot read ({exc.strerror or exc})")
        return
    offset = split.first_line - 1
    for item in read_bytes(data, split.path, "jsonl", limits):
        if isinstance(item, InputError):
            yield InputError(item.source, item.message, _shift_location(item.location, offset))
        else:
            if item.origin and offset:
                src, _, loc = item.origin.rpartition(":")
                item.origin = f"{src}:{_shift_location(loc, offset)}" if src else item.origin
            yield item


def _read_clean_task(fmt: str, limits: Limits, clean_first: bool, detect_lang: bool):
    """mapPartitions function: splits -> ("a", order, Article) and ("e", order, message)."""

    def run(splits: Iterator[Split]) -> Iterator[tuple]:
        from .clean import clean_article

        for split in splits:
            pos = 0
            for item in read_split(split, fmt, limits):
                order = (split.index << 32) | pos
                pos += 1
                if isinstance(item, InputError):
                    yield ("e", order, str(item))
                    continue
                if not clean_first:
                    item.ensure_id()
                    yield ("a", order, item)
                    continue
                try:
                    cleaned = clean_article(item, detect_lang=detect_lang)
                except SamestoryError as exc:
                    yield ("e", order, str(InputError(item.origin or "?", str(exc))))
                    continue
                cleaned.ensure_id()
                yield ("a", order, cleaned)

    return run


def read_articles_rdd(spark, paths: list[str], fmt: str = "auto", limits: Limits = DEFAULT_LIMITS, *,
                      clean_first: bool = True, detect_lang: bool = False, split_bytes: int | None = None,
                      progress: Progress | None = None):
    """Read and clean in Spark tasks: ``(RDD of (order, Article) with unique ids, [error lines in input order])``.

    Errors (unreadable files and rows, failed cleaning, repeated ids) are
    collected to the driver, in input order, as the local commands report them.
    """
    from pyspark import StorageLevel

    splits = plan_splits(paths, fmt, split_bytes)
    if progress:
        progress(f"reading {len(paths)} file{'s' if len(paths) != 1 else ''} in {len(splits)} task{'s' if len(splits) != 1 else ''}")
    sc = spark.sparkContext
    items = sc.parallelize(splits, max(1, len(splits))).mapPartitions(_read_clean_task(fmt, limits, clean_first, detect_lang))
    items.persist(StorageLevel.MEMORY_AND_DISK)
    errors = items.filter(lambda t: t[0] == "e").map(lambda t: (t[1], t[2])).collect()
    articles = items.filter(lambda t: t[0] == "a").map(lambda t: (t[1], t[2]))
    # a repeated id: the first in input order stays, the later ones are reported and dropped (as _unique_ids does)
    repeats = (
        articles.map(lambda oa: (oa[1].id, (oa[0], oa[1].origin or "?")))
        .groupByKey()
        .filter(lambda kv: len(kv[1]) > 1)
        .flatMap(_repeat_errors)
        .collect()
    )
    drop = {order for order, _ in repeats}
    if drop:
        dropped = sc.broadcast(drop)
        articles = articles.filter(lambda oa: oa[0] not in dropped.value)
    messages = [msg for _, msg in sorted(errors + repeats)]
    return articles, messages, items


def _repeat_errors(kv) -> list[tuple[int, str]]:
    aid, seen = kv
    seen = sorted(seen)
    first = seen[0][1]
    return [(order, str(InputError(origin, f"duplicate id {aid!r} (first at {first}); skipped"))) for order, origin in seen[1:]]


# --------------------------------------------------------------------------- dedup


def _fingerprint_task(config: DedupConfig):
    """mapPartitions: (order, Article) -> (order, id, date, Fingerprint, band keys as signed int64 list or None)."""

    def run(rows: Iterator[tuple[int, Article]]) -> Iterator[tuple]:
        import itertools

        from .dedup import _fingerprint_text
        from .fingerprint import band_keys_many, fingerprint_many

        os.environ.setdefault("RAYON_NUM_THREADS", "1")  # one Spark task per core already
        it = iter(rows)
        while batch := list(itertools.islice(it, BATCH)):
            fps = fingerprint_many([_fingerprint_text(a) for _, a in batch], config.fingerprint)
            full = [i for i, fp in enumerate(fps) if not fp.empty]
            keys = band_keys_many([fps[i] for i in full], config.fingerprint).view("int64") if full else None
            key_of = {i: keys[k].tolist() for k, i in enumerate(full)}
            for i, ((order, article), fp) in enumerate(zip(batch, fps)):
                yield (order, article.id, article.date, fp, key_of.get(i))

    return run


def candidate_pairs_df(spark, fps_rdd, config: DedupConfig = DedupConfig()):
    """Candidate pairs ``(a, b)`` (input orders, a < b) as a DataFrame: :func:`samestory.dedup.candidate_pairs` in the JVM."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, LongType, StringType, StructField, StructType

    schema = StructType([StructField("o", LongType(), False), StructField("h", StringType(), False),
                         StructField("k", ArrayType(LongType(), False), False)])
    arts = spark.createDataFrame(fps_rdd.filter(lambda r: r[4] is not None).map(lambda r: (r[0], r[3].content_hash, r[4])), schema)
    first = arts.groupBy("h").agg(F.min("o").alias("f"))
    tagged = arts.join(first, "h")
    exact = tagged.where(F.col("o") != F.col("f")).select(F.col("f").alias("a"), F.col("o").alias("b"))
    keys = tagged.where(F.col("o") == F.col("f")).select("o", F.posexplode("k").alias("band", "key"))
    buckets = keys.groupBy("band", "key").agg(F.sort_array(F.collect_list("o")).alias("m")).where(F.size("m") >= 2)
    buckets = buckets.select("m", F.size("m").alias("n"))
    small = (buckets.where(F.col("n") <= config.max_bucket)
             .select("m", "n", F.posexplode("m").alias("p", "a"))
             .select("a", F.explode(F.slice("m", F.col("p") + 2, F.col("n"))).alias("b")))
    big = buckets.where(F.col("n") > config.max_bucket).select("m", F.posexplode("m").alias("p", "x")).where(F.col("p") >= 1)
    chain = big.select(F.col("m")[F.col("p") - 1].alias("a"), F.col("x").alias("b"))
    star = big.select(F.col("m")[0].alias("a"), F.col("x").alias("b"))
    pairs = exact.unionByName(small).unionByName(chain).unionByName(star)
    return pairs.select(F.least("a", "b").alias("a"), F.greatest("a", "b").alias("b")).distinct()


def components(pairs) -> dict[int, int]:
    """Connected components of a pair list (``(k, 2)`` int64 array of input orders): member -> smallest member."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(pairs) == 0:
        return {}
    nodes, inv = np.unique(pairs.ravel(), return_inverse=True)
    inv = inv.reshape(-1, 2)
    n = len(nodes)
    graph = coo_matrix((np.ones(len(inv), dtype=np.int8), (inv[:, 0], inv[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    smallest = np.full(label.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, label, nodes)
    return dict(zip(nodes.tolist(), smallest[label].tolist()))


def _group_component(config: DedupConfig):
    def run(kv) -> list[tuple[int, tuple]]:
        import numpy as np

        from .dedup import group_rows

        _, members = kv
        members = sorted(members, key=lambda m: m[0])
        orders = [m[0] for m in members]
        local = {o: i for i, o in enumerate(orders)}
        pairs = np.array([[local[a], local[b]] for m in members for a, b in m[4]], dtype=np.int64).reshape(-1, 2)
        rows = group_rows([m[1] for m in members], [m[2] for m in members], [m[3] for m in members], pairs, config)
        return [(o, _row_tuple(r)) for o, r in zip(orders, rows)]

    return run


def _row_tuple(row: DedupRow) -> tuple:
    return (row.id, row.group, row.duplicate_of, row.similarity, row.containment)


@dataclass
class SparkStats:
    """What a Spark run did (for the progress lines and the bench)."""

    articles: int = 0
    candidate_pairs: int = 0
    components: int = 0
    largest_component: int = 0
    seconds: dict | None = None


def spark_dedup(spark, paths: list[str], fmt: str = "auto", limits: Limits = DEFAULT_LIMITS, config: DedupConfig = DedupConfig(),
                *, clean_first: bool = True, split_bytes: int | None = None, progress: Progress | None = None,
                stats: SparkStats | None = None) -> tuple[list[DedupRow], list[str]]:
    """``samestory dedup`` on Spark: (rows in input order, error lines in input order)."""
    from pyspark import StorageLevel

    stats = stats if stats is not None else SparkStats()
    stats.seconds = {}
    t0 = time.perf_counter()
    articles, errors, items = read_articles_rdd(spark, paths, fmt, limits, clean_first=clean_first, detect_lang=False,
                                                split_bytes=split_bytes, progress=progress)
    fps = articles.mapPartitions(_fingerprint_task(config)).persist(StorageLevel.MEMORY_AND_DISK)
    stats.articles = fps.count()
    items.unpersist()
    stats.seconds["read, clean, fingerprint"] = time.perf_counter() - t0
    if progress:
        progress(f"{stats.articles} articles fingerprinted, {len(errors)} input errors; finding candidate pairs")
    t1 = time.perf_counter()
    pair_df = candidate_pairs_df(spark, fps, config)
    import numpy as np

    table = pair_df.toArrow()
    pairs = np.stack([table.column("a").to_numpy(), table.column("b").to_numpy()], axis=1).astype(np.int64).reshape(-1, 2)
    stats.candidate_pairs = len(pairs)
    comp = components(pairs)
    stats.seconds["candidate pairs, components"] = time.perf_counter() - t1
    sizes: dict[int, int] = {}
    for c in comp.values():
        sizes[c] = sizes.get(c, 0) + 1
    stats.components = len(sizes)
    stats.largest_component = max(sizes.values(), default=0)
    if progress:
        progress(f"{stats.candidate_pairs} candidate pairs in {stats.components} components (largest {stats.largest_component}); "
                 "verifying and grouping")
    t2 = time.perf_counter()
    sc = spark.sparkContext
    comp_b = sc.broadcast(comp)
    pairs_by_first: dict[int, list] = {}
    for a, b in pairs.tolist():
        pairs_by_first.setdefault(a, []).append((a, b))
    pairs_b = sc.broadcast(pairs_by_first)

    def keyed(r):
        c = comp_b.value.get(r[0])
        if c is None:
            return [(None, (r[0], (r[1], r[1], None, None, None)))]
        return [(c, (r[0], r[1], r[2], r[3], pairs_b.value.get(r[0], [])))]

    tagged = fps.flatMap(keyed)
    alone = tagged.filter(lambda kv: kv[0] is None).map(lambda kv: kv[1])
    grouped = tagged.filter(lambda kv: kv[0] is not None).groupByKey().flatMap(_group_component(config))
    rows = sorted(alone.union(grouped).collect())
    stats.seconds["verify, group"] = time.perf_counter() - t2
    fps.unpersist()
    comp_b.destroy()
    pairs_b.destroy()
    return [DedupRow(*r) for _, r in rows], errors


# --------------------------------------------------------------------------- cluster


def _embed_task(embedder_name: str):
    """mapPartitions: (order, Article) -> (order, Article, cache key, ArticleVectors)."""

    def run(rows: Iterator[tuple[int, Article]]) -> Iterator[tuple]:
        import itertools

        from .embed import EmbeddingCache, embed_articles, get_embedder

        embedder = get_embedder(embedder_name)
        it = iter(rows)
        while batch := list(itertools.islice(it, 500)):
            items = [(a.title or "", a.text or "") for _, a in batch]
            vectors = embed_articles(items, embedder)
            for (order, article), (title, text), vec in zip(batch, items, vectors):
                yield (order, article, EmbeddingCache.key(embedder, title, text), vec)

    return run


def spark_cluster(spark, paths: list[str], fmt: str = "auto", limits: Limits = DEFAULT_LIMITS, config=None, *,
                  clean_first: bool = True, split_bytes: int | None = None, progress: Progress | None = None,
                  stats: SparkStats | None = None) -> tuple[list[tuple[str, str]], list[str]]:
    """``samestory cluster`` on Spark: (``(id, story)`` rows in input order, error lines in input order)."""
    from .cluster import ClusterConfig, StoryClusterer
    from .store import Store

    config = config or ClusterConfig()
    stats = stats if stats is not None else SparkStats()
    stats.seconds = {}
    t0 = time.perf_counter()
    articles, errors, items = read_articles_rdd(spark, paths, fmt, limits, clean_first=clean_first, detect_lang=True,
                                                split_bytes=split_bytes, progress=progress)
    done = sorted(articles.mapPartitions(_embed_task(config.embedder)).collect(), key=lambda r: r[0])
    items.unpersist()
    stats.articles = len(done)
    stats.seconds["read, clean, embed"] = time.perf_counter() - t0
    if progress:
        progress(f"{stats.articles} articles read, cleaned and embedded, {len(errors)} input errors; linking stories in date order")
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="samestory-spark-cluster-") as tmp:
        with Store(Path(tmp) / "store") as store:
            clusterer = StoryClusterer(store, config, cache_articles=max(50_000, len(done)))
            for _, _, key, vec in done:
                clusterer.embeddings.put(key, vec)
            rows = clusterer.add([a for _, a, _, _ in done])
    stats.seconds["link (driver)"] = time.perf_counter() - t1
    return rows, errors


__all__ = [
    "SPLIT_BYTES",
    "SparkStats",
    "SparkUnavailable",
    "Split",
    "build_session",
    "candidate_pairs_df",
    "components",
    "plan_splits",
    "read_articles_rdd",
    "read_split",
    "spark_cluster",
    "spark_dedup",
    "spark_session",
    "stop_session",
]
