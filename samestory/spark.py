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
they drop it. A path with a scheme (``hdfs://``, ``s3a://``, ``gs://``,
``abfs://``, ``file://``: :func:`is_uri`) is listed through Hadoop's FileSystem
and each file read by Spark (``binaryFiles``, one task per file), then parsed
by the same readers; output to such a path is written by Spark's DataFrame
writer (:func:`write_rows`: a directory of part files).

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
on the driver over the pair list (scipy, 16 bytes a pair) up to
:data:`DRIVER_PAIRS` pairs, and above that in DataFrames by the alternating
large-star / small-star algorithm (:func:`components_df`; no pair reaches the
driver), and each component's fingerprints are grouped in a Spark task that runs ``group_rows``
(which does the exact verification) on its members in input order. The rows
are identical to :func:`samestory.dedup.dedup_batch`'s.

**cluster**. Reading, cleaning (with language detection) and the article
embeddings (:func:`samestory.embed.embed_articles`, the static embedder the
story linker uses, in an Arrow UDF: ``mapInArrow``, :func:`embed_rdd`) run in
the tasks. Online story linking is one ordered pass (each article is scored
against the stories made by the articles before it), so by default it runs on
the driver: the articles and their vectors are collected, the vectors are put
in a :class:`~samestory.cluster.StoryClusterer`'s embedding cache, and
``StoryClusterer.add`` links the date-ordered stream in a temporary store,
exactly as ``samestory cluster`` does. With ``partitions=N`` the stream is cut
into N time ranges instead, each clustered by its own task (with a warm-up
tail of the ranges before it) and stitched together on the driver
(:mod:`samestory.spark_stories`): that scales, but the stories then only
agree with the one-pass run's.

**score-pairs**. The pair files are read in tasks like the articles; the pairs
are numbered in input order (``zipWithIndex``) and cut into the local
command's batches of ``--batch`` pairs; the batches are range-partitioned over
the cores and each task cleans and scores its batches with
:meth:`samestory.scorer.Scorer.score_many` (the shipped model and its
embedders load once per Python worker). Rows and error lines are the local
command's.

**Bad input**. Every unreadable file, row that does not parse, article that
cannot be cleaned or pair that cannot be scored, and repeated id, comes back
to the driver as an :class:`~samestory.errors.InputError` (file, location,
reason) in the order the local command reports it; the job never stops for
one. The command line prints them or writes them to ``--rejects``
(:func:`reject_row`).

**spark-submit**. ``spark-submit samestory/spark.py dedup|cluster|score-pairs ...``
and ``python -m samestory.spark ...`` run the ``samestory spark`` commands
(:func:`samestory.spark_cli.main`); ``--print-submit`` builds that command line.

Nothing is downloaded at run time: only the jars inside the pyspark wheel are
used. Workers need samestory installed (they import it); in local mode they
use this Python (``PYSPARK_PYTHON`` defaults to it).
"""

from __future__ import annotations

if __name__ == "__main__":  # spark-submit samestory/spark.py CMD ... or python -m samestory.spark CMD ...: the `samestory spark` commands
    import os as _os
    import sys as _sys

    if not __package__ and _sys.path and _os.path.abspath(_sys.path[0]) == _os.path.dirname(_os.path.abspath(__file__)):
        _sys.path.pop(0)  # run as a script: the package's own directory must not shadow top-level modules
    from samestory.spark_cli import main as _main

    _sys.exit(_main())

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

#: Plain JSONL files larger than this are read by several tasks (line-aligned byte ranges). It bounds
#: what one task holds (its articles, cleaned, and their fingerprints: a cached block of about 3x its
#: input), so an executor's memory does not grow with the input: 8 MiB runs 100,000 articles in a 1 GiB heap.
SPLIT_BYTES = 8 * 1024 * 1024
#: ... and never smaller than this when cut finer to give every core a task.
MIN_SPLIT_BYTES = 1024 * 1024
#: ``spark_dedup(components_on="auto")`` finds the components on the driver up to this many
#: candidate pairs (16 bytes each there), in Spark DataFrames above.
DRIVER_PAIRS = 20_000_000
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


def _cache_level():
    """How the read articles and their fingerprints are kept between stages: on the executors' local disks,
    streamed, never in the JVM heap. (Kept in memory, the cached blocks of a million articles ran a 2 GiB heap
    out of memory; on disk, the heap an executor needs does not grow with the input.)"""
    from pyspark import StorageLevel

    return StorageLevel.DISK_ONLY


def build_session(master: str | None = "local[*]", app_name: str = "samestory", *, shuffle_partitions: int | None = None,
                  progress_bar: bool = False, conf: dict | None = None):
    """A SparkSession for samestory: no web UI, quiet logging, this Python on the workers.

    ``master=None`` keeps the master Spark was given elsewhere (spark-submit's
    ``--master``, ``spark-defaults.conf``). ``conf`` settings win over these defaults.
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
    given = master
    if given is None:  # under spark-submit: the master it was given (a JVM system property its gateway reads)
        try:
            from pyspark import SparkConf, SparkContext

            SparkContext._ensure_initialized()  # connects to spark-submit's JVM, whose settings SparkConf then reads
            given = SparkConf().get("spark.master", "")
        except Exception:
            given = ""
    if shuffle_partitions is None:
        shuffle_partitions = max(2, 2 * (os.cpu_count() or 1)) if (given or "").startswith("local") else 200
    builder = SparkSession.builder.master(master) if master else SparkSession.builder
    builder = (
        builder.appName(app_name)
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


# --------------------------------------------------------------------------- any path Spark reads

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")  # scheme://... or Hadoop's qualified file:/...; not a drive letter (C:/)


def is_uri(path) -> bool:
    """A path with a scheme (``hdfs://``, ``s3a://``, ``gs://``, ``abfs://``, ``file://``...): read and written through
    Spark's Hadoop file systems, with the user's own Spark and Hadoop settings (credentials, endpoints). Plain paths
    are read by the tasks with Python file I/O, as before."""
    return bool(_URI.match(str(path)))


def _java_reason(exc: Exception) -> str:
    """The first line of a Java exception's message, without the Py4J wrapping."""
    java = getattr(exc, "java_exception", None)
    text = str(java.toString()) if java is not None else str(exc)
    return text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__


def list_inputs(spark, paths: list[str]) -> tuple[list[str], dict[str, str]]:
    """Input files: plain paths as given; each URI (a file, a directory, a glob) listed through its Hadoop
    FileSystem, a directory's files sorted and without hidden ones (names starting with ``.`` or ``_``, e.g.
    ``_SUCCESS``). Returns (files, {URI: reason} for those that cannot be listed: each stays in the file list,
    where its reading task reports it, in input order)."""
    sc = spark.sparkContext
    files: list[str] = []
    failed: dict[str, str] = {}
    for path in paths:
        if not is_uri(path):
            files.append(path)
            continue
        try:
            hpath = sc._jvm.org.apache.hadoop.fs.Path(path)
            fs = hpath.getFileSystem(sc._jsc.hadoopConfiguration())
            statuses = fs.globStatus(hpath)
        except Exception as exc:  # no such file system, no credentials, a malformed URI
            failed[path] = f"cannot list ({_java_reason(exc)})"
            files.append(path)
            continue
        if not statuses:
            failed[path] = "no such file"
            files.append(path)
            continue
        for status in statuses:
            if not status.isDirectory():
                files.append(status.getPath().toString())
                continue
            top = status.getPath().toString().rstrip("/") + "/"
            found, it = [], fs.listFiles(status.getPath(), True)
            while it.hasNext():
                name = it.next().getPath().toString()
                if not any(part.startswith((".", "_")) for part in name[len(top):].split("/")):
                    found.append(name)
            files += sorted(found)
    return files, failed


def _splits_rdd(sc, splits: list["Split"], failed: dict[str, str]):
    """``(split, bytes or None)``, one partition per split, in split order: a plain path's split is read by its task;
    a URI's file is read by Spark (``binaryFiles``: one task, the whole file in memory) and parsed by the task."""
    rdds, run = [], []

    def flush():
        if run:
            rdds.append(sc.parallelize([(sp, None) for sp in run], len(run)))
            run.clear()

    for split in splits:
        if is_uri(split.path) and split.path not in failed:
            flush()
            rdds.append(sc.binaryFiles(split.path, 1).map(lambda pb, sp=split: (sp, pb[1])))
        else:
            run.append(split)
    flush()
    if not rdds:
        return sc.parallelize([], 1)
    return rdds[0] if len(rdds) == 1 else sc.union(rdds)


def write_rows(spark, rows: list[dict], uri: str) -> None:
    """Rows written with Spark's DataFrame writer to a URI: a directory of part files (JSON lines, CSV with a header,
    or Parquet, from the name's ending; in row order), refused if it exists, as Spark jobs usually do."""
    import pyarrow as pa

    from .output import output_format

    fmt = output_format(uri)
    table = pa.Table.from_pylist(rows)
    for i, field in enumerate(table.schema):  # a column with no value at all has no type: write it as strings
        if pa.types.is_null(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.string()))
    writer = spark.createDataFrame(table if table.num_columns else [], None if table.num_columns else "x string").write
    writer = writer.mode("errorifexists")
    if fmt == "jsonl":
        writer.option("ignoreNullFields", "false").json(uri)
    elif fmt == "csv":
        writer.option("header", "true").csv(uri)
    else:
        writer.parquet(uri)


class SparkRowWriter:
    """A row writer (as :func:`samestory.output.open_writer`'s) for a URI: the rows are written by :func:`write_rows`
    when it closes, through the active Spark session, so the session must still run then."""

    def __init__(self, uri: str):
        from .output import output_format

        output_format(uri)  # a bad ending fails now, before Spark starts
        self.uri, self.rows, self.count = uri, [], 0

    def check(self, spark) -> None:
        """Refuse an output that exists now, before the job runs (Spark's writer would refuse it only at the end)."""
        sc = spark.sparkContext
        try:
            path = sc._jvm.org.apache.hadoop.fs.Path(self.uri)
            exists = path.getFileSystem(sc._jsc.hadoopConfiguration()).exists(path)
        except Exception as exc:  # no such file system, no credentials
            raise SamestoryError(f"{self.uri}: cannot write ({_java_reason(exc)})") from None
        if exists:
            raise SamestoryError(f"{self.uri}: cannot write (it already exists; Spark does not overwrite)")

    def write(self, row: dict) -> None:
        self.rows.append(row)
        self.count += 1

    def close(self, ok: bool = True) -> None:
        if ok:
            from pyspark.sql import SparkSession

            try:
                write_rows(SparkSession.getActiveSession(), self.rows, self.uri)
            except Exception as exc:
                raise SamestoryError(f"{self.uri}: cannot write ({_java_reason(exc)})") from None
        self.rows = []

    def __enter__(self) -> "SparkRowWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(ok=exc_type is None)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Split:
    """One reading task: a whole file, or a line-aligned byte range of a plain JSONL file."""

    index: int
    path: str
    start: int = 0
    end: int | None = None  # None: the whole file, read by samestory's detector and reader
    first_line: int = 1  # line number of the range's first line


def plan_splits(paths: Iterable[str], fmt: str = "auto", split_bytes: int | None = None, min_tasks: int = 1) -> list[Split]:
    """The reading tasks for some files: large plain JSONL files become several ranges.

    Ranges are at most :data:`SPLIT_BYTES` (or ``split_bytes``), and smaller
    (down to :data:`MIN_SPLIT_BYTES`) when that gives fewer than ``min_tasks``
    tasks, so a file of a few tens of MiB still keeps every core busy.
    """
    paths = list(paths)
    split_bytes = split_bytes or SPLIT_BYTES
    if min_tasks > 1:
        total = 0
        for path in paths:
            try:
                total += 0 if is_uri(path) else os.path.getsize(path)
            except OSError:
                pass
        split_bytes = min(split_bytes, max(MIN_SPLIT_BYTES, -(-total // min_tasks)))
    out: list[Split] = []
    for path in paths:
        ranges = None if is_uri(path) else _jsonl_ranges(path, fmt, split_bytes)
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


def read_split(split: Split, fmt: str, limits: Limits, kind=None, data: bytes | None = None, failed: str | None = None) -> Iterator:
    """Articles (or ``kind``'s rows, e.g. pairs) and errors of one split, named and numbered as the local readers name them.

    ``data``: the file's bytes, read by Spark (a URI); ``failed``: why the URI could not be listed.
    """
    from .ingest import iter_file, iter_input
    from .ingest.source import open_bytes

    if failed is not None:
        yield InputError(split.path, failed)
        return
    if data is not None:
        with open_bytes(data, split.path) as inp:
            yield from iter_file(inp, fmt, limits, kind)
        return
    if split.end is None:
        yield from iter_input(split.path, fmt, limits, kind=kind)
        return
    try:
        with open(split.path, "rb") as fh:
            fh.seek(split.start)
            data = fh.read(split.end - split.start)
    except OSError as exc:
        yield InputError(split.path, f"cannot read ({exc.strerror or exc})")
        return
    offset = split.first_line - 1
    with open_bytes(data, split.path) as inp:
        for item in iter_file(inp, "jsonl", limits, kind):
            if isinstance(item, InputError):
                yield InputError(item.source, item.message, _shift_location(item.location, offset))
            else:
                if item.origin and offset:
                    src, _, loc = item.origin.rpartition(":")
                    item.origin = f"{src}:{_shift_location(loc, offset)}" if src else item.origin
                yield item


_ORIGIN = re.compile(r"^(.*):((?:line|row|record|entry) \d+)$", re.S)


def origin_error(origin: str | None, message: str) -> InputError:
    """The InputError the local commands report for an article (or pair) read at ``origin`` ("FILE:line N"):
    the same text, with the file and the location apart (for the rejects file)."""
    m = _ORIGIN.match(origin or "")
    return InputError(m.group(1), message, m.group(2)) if m else InputError(origin or "?", message)


def reject_row(error: InputError | str) -> dict:
    """One row of a rejects file: ``file``, ``location`` (line, row, record or entry; empty for a whole file) and ``reason``."""
    if isinstance(error, InputError):
        return {"file": error.source, "location": error.location or "", "reason": error.message}
    return {"file": "", "location": "", "reason": str(error)}


def _read_clean_task(fmt: str, limits: Limits, clean_first: bool, detect_lang: bool, failed: dict[str, str]):
    """mapPartitions function: (split, bytes or None) -> ("a", order, Article) and ("e", order, InputError)."""

    def run(splits: Iterator[tuple[Split, bytes | None]]) -> Iterator[tuple]:
        from .clean import clean_article

        for split, data in splits:
            pos = 0
            for item in read_split(split, fmt, limits, data=data, failed=failed.get(split.path)):
                order = (split.index << 32) | pos
                pos += 1
                if isinstance(item, InputError):
                    yield ("e", order, item)
                    continue
                if not clean_first:
                    item.ensure_id()
                    yield ("a", order, item)
                    continue
                try:  # within --doc-timeout, as the local commands clean
                    cleaned = clean_article(item, detect_lang=detect_lang, max_seconds=limits.max_seconds)
                except SamestoryError as exc:
                    yield ("e", order, origin_error(item.origin, str(exc)))
                    continue
                cleaned.ensure_id()
                yield ("a", order, cleaned)

    return run


def read_articles_rdd(spark, paths: list[str], fmt: str = "auto", limits: Limits = DEFAULT_LIMITS, *,
                      clean_first: bool = True, detect_lang: bool = False, split_bytes: int | None = None,
                      progress: Progress | None = None):
    """Read and clean in Spark tasks: ``(RDD of (order, Article) with unique ids, [InputError in input order], cached RDD)``.

    Errors (unreadable files and rows, failed cleaning, repeated ids) are
    collected to the driver, in input order, as the local commands report them
    (``str(error)`` is the local command's error line).
    """

    sc = spark.sparkContext
    paths, failed = list_inputs(spark, paths)
    splits = plan_splits(paths, fmt, split_bytes, min_tasks=2 * sc.defaultParallelism)
    if progress:
        progress(f"reading {len(paths)} file{'s' if len(paths) != 1 else ''} in {len(splits)} task{'s' if len(splits) != 1 else ''}")
    items = _splits_rdd(sc, splits, failed).mapPartitions(_read_clean_task(fmt, limits, clean_first, detect_lang, failed))
    items.persist(_cache_level())
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
    messages = [err for _, err in sorted(errors + repeats, key=lambda oe: oe[0])]
    return articles, messages, items


def _repeat_errors(kv) -> list[tuple[int, InputError]]:
    aid, seen = kv
    seen = sorted(seen)
    first = seen[0][1]
    return [(order, origin_error(origin, f"duplicate id {aid!r} (first at {first}); skipped")) for order, origin in seen[1:]]


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


def components_df(pairs, max_rounds: int = 200):
    """Connected components of the candidate graph in DataFrames, never on the driver: ``(node, comp)``, comp the smallest node.

    The alternating algorithm of Kiveris et al. ("Connected Components in
    MapReduce and Beyond", SoCC 2014): *large-star* links every node's larger
    neighbours to the smallest node of its closed neighbourhood, *small-star*
    links a node and its smaller neighbours to the smallest of them; repeated
    until the edge set no longer changes, each component is a star around its
    smallest node. O(log n) rounds of joins and group-bys, each a shuffle of
    the edge list; each round's edges are checkpointed (``localCheckpoint``)
    so the plan stays small. ``pairs``: a DataFrame of ``(a, b)`` node pairs.
    """
    from pyspark.sql import functions as F

    def norm(df, x, y):
        return df.select(F.least(x, y).alias("u"), F.greatest(x, y).alias("v")).where(F.col("u") != F.col("v")).distinct()

    edges = norm(pairs, "a", "b").localCheckpoint()
    for _ in range(max_rounds):
        # large-star: for each node, its larger neighbours -> the smallest node of its closed neighbourhood
        both = edges.unionByName(edges.select(F.col("v").alias("u"), F.col("u").alias("v")))
        low = both.groupBy("u").agg(F.min("v").alias("m")).select("u", F.least("u", "m").alias("m"))
        large = norm(both.where(F.col("v") > F.col("u")).join(low, "u"), "v", "m")
        # small-star: for each node, itself and its smaller neighbours -> the smallest of them
        low = large.groupBy("v").agg(F.min("u").alias("m"))
        small = large.join(low, "v").select(F.col("u").alias("x"), F.col("m").alias("y"))
        small = norm(small.unionByName(low.select(F.col("v").alias("x"), F.col("m").alias("y"))), "x", "y").localCheckpoint()
        changed = not small.exceptAll(edges).isEmpty() or not edges.exceptAll(small).isEmpty()
        edges = small
        if not changed:
            break
    else:
        raise SamestoryError(f"connected components did not converge in {max_rounds} rounds")
    nodes = edges.select(F.col("v").alias("node"), F.col("u").alias("comp")).unionByName(
        edges.select(F.col("u").alias("node"), F.col("u").alias("comp")))
    return nodes.groupBy("node").agg(F.min("comp").alias("comp"))


def _group_component_pairs(config: DedupConfig):
    """flatMap over ``(comp, (members, pairs))`` (cogrouped): :func:`samestory.dedup.group_rows` on one component."""

    def run(kv) -> list[tuple[int, tuple]]:
        import numpy as np

        from .dedup import group_rows

        _, (members, pairs) = kv
        members = sorted(members, key=lambda m: m[0])
        orders = [m[0] for m in members]
        local = {o: i for i, o in enumerate(orders)}
        edges = np.array([[local[a], local[b]] for a, b in sorted(pairs)], dtype=np.int64).reshape(-1, 2)
        rows = group_rows([m[1] for m in members], [m[2] for m in members], [m[3] for m in members], edges, config)
        return [(o, _row_tuple(r)) for o, r in zip(orders, rows)]

    return run


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
                stats: SparkStats | None = None, components_on: str = "auto") -> tuple[list[DedupRow], list[InputError]]:
    """``samestory dedup`` on Spark: (rows in input order, errors in input order).

    ``components_on``: where the connected components of the candidate pairs
    are found: ``"driver"`` (the pair list collected, scipy; fastest while it
    fits), ``"spark"`` (:func:`components_df`, DataFrames only: the pair list
    never reaches the driver) or ``"auto"``: the driver up to
    :data:`DRIVER_PAIRS` pairs, Spark above. The rows are the same.
    """
    from pyspark import StorageLevel

    if components_on not in ("auto", "driver", "spark"):
        raise ValueError(f"components_on must be auto, driver or spark, not {components_on!r}")

    stats = stats if stats is not None else SparkStats()
    stats.seconds = {}
    t0 = time.perf_counter()
    articles, errors, items = read_articles_rdd(spark, paths, fmt, limits, clean_first=clean_first, detect_lang=False,
                                                split_bytes=split_bytes, progress=progress)
    fps = articles.mapPartitions(_fingerprint_task(config)).persist(_cache_level())
    stats.articles = fps.count()
    items.unpersist()
    stats.seconds["read, clean, fingerprint"] = time.perf_counter() - t0
    if progress:
        progress(f"{stats.articles} articles fingerprinted, {len(errors)} input errors; finding candidate pairs")
    t1 = time.perf_counter()
    pair_df = candidate_pairs_df(spark, fps, config)
    if components_on == "auto":
        pair_df = pair_df.persist(StorageLevel.MEMORY_AND_DISK)
        stats.candidate_pairs = pair_df.count()
        components_on = "driver" if stats.candidate_pairs <= DRIVER_PAIRS else "spark"
    if components_on == "spark":
        return _dedup_components_in_spark(spark, fps, pair_df, errors, config, stats, progress, t1)
    import numpy as np

    table = pair_df.toArrow()
    pair_df.unpersist()
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


def _dedup_components_in_spark(spark, fps, pair_df, errors, config: DedupConfig, stats: SparkStats,
                               progress: Progress | None, t1: float) -> tuple[list[DedupRow], list[InputError]]:
    """The rest of :func:`spark_dedup` with the components found by :func:`components_df` and every join in Spark."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    pair_df = pair_df.persist(StorageLevel.MEMORY_AND_DISK)
    stats.candidate_pairs = pair_df.count()
    comp = components_df(pair_df).persist(StorageLevel.MEMORY_AND_DISK)
    agg = comp.groupBy("comp").count().agg(F.count("*").alias("n"), F.max("count").alias("largest")).collect()[0]
    stats.components, stats.largest_component = int(agg["n"] or 0), int(agg["largest"] or 0)
    stats.seconds["candidate pairs, components"] = time.perf_counter() - t1
    if progress:
        progress(f"{stats.candidate_pairs} candidate pairs in {stats.components} components (largest {stats.largest_component}), "
                 "found in Spark; verifying and grouping")
    t2 = time.perf_counter()
    node_comp = comp.rdd.map(lambda r: (r[0], r[1]))
    members = fps.map(lambda r: (r[0], (r[1], r[2], r[3]))).leftOuterJoin(node_comp)  # (order, ((id, date, fp), comp or None))
    alone = members.filter(lambda kv: kv[1][1] is None).map(lambda kv: (kv[0], (kv[1][0][0], kv[1][0][0], None, None, None)))
    inside = members.filter(lambda kv: kv[1][1] is not None).map(lambda kv: (kv[1][1], (kv[0], *kv[1][0])))
    pairs = pair_df.join(comp.withColumnRenamed("node", "a"), "a").rdd.map(lambda r: (r["comp"], (r["a"], r["b"])))
    grouped = inside.cogroup(pairs).flatMap(_group_component_pairs(config))
    rows = sorted(alone.union(grouped).collect())
    stats.seconds["verify, group"] = time.perf_counter() - t2
    fps.unpersist()
    comp.unpersist()
    pair_df.unpersist()
    return [DedupRow(*r) for _, r in rows], errors


# --------------------------------------------------------------------------- cluster


_VEC_FIELDS = ("title", "lead", "chunks", "doc")


def _vectors_to_row(vec) -> tuple:
    """ArticleVectors as Arrow-friendly columns: float32 bytes (exact, unlike the store's float16 ``to_bytes``),
    the counts, and the embedder's own name (the linker's features compare it)."""
    import numpy as np

    return tuple(np.ascontiguousarray(getattr(vec, f), dtype=np.float32).tobytes() for f in _VEC_FIELDS) + (
        int(vec.chunks.shape[0]), int(vec.n_words), int(vec.chunks_total), vec.embedder)


def _vectors_from_row(row) -> object:
    """The ArticleVectors of :func:`_vectors_to_row`'s columns, bit for bit."""
    import numpy as np

    from .embed import ArticleVectors

    title, lead, chunks, doc, n_chunks, n_words, chunks_total, embedder = row
    title = np.frombuffer(title, dtype=np.float32)
    dim = title.shape[0]
    return ArticleVectors(embedder, title, np.frombuffer(lead, dtype=np.float32),
                          np.frombuffer(chunks, dtype=np.float32).reshape(n_chunks, dim), np.frombuffer(doc, dtype=np.float32),
                          n_words, chunks_total)


def _embed_batches(embedder_name: str):
    """mapInArrow: record batches of (order, title, text) -> (order, vector columns), with
    :func:`samestory.embed.embed_articles`; the embedder loads once per Python worker (cached in the process)."""

    def run(batches):
        import pyarrow as pa

        from .embed import embed_articles, get_embedder

        embedder = get_embedder(embedder_name)
        names = ["order", *_VEC_FIELDS, "n_chunks", "n_words", "chunks_total", "embedder"]
        types = [pa.binary()] * len(_VEC_FIELDS) + [pa.int64()] * 3 + [pa.string()]
        for batch in batches:
            cols = batch.to_pydict()
            vectors = embed_articles([(t or "", x or "") for t, x in zip(cols["title"], cols["text"])], embedder)
            rows = [_vectors_to_row(v) for v in vectors]
            yield pa.RecordBatch.from_arrays([pa.array(cols["order"], pa.int64())] + [
                pa.array([r[i] for r in rows], t) for i, t in enumerate(types)], names=names)

    return run


def embed_rdd(spark, articles, embedder_name: str):
    """The article vectors of ``(order, Article)`` rows, computed in an Arrow UDF (``mapInArrow``: Arrow record
    batches of ``spark.sql.execution.arrow.maxRecordsPerBatch`` articles, the embedder loaded once per Python worker):
    a DataFrame of ``order`` and the vectors' columns (see :func:`_vectors_from_row`)."""
    from pyspark.sql.types import BinaryType, LongType, StringType, StructField, StructType

    src = StructType([StructField("order", LongType(), False), StructField("title", StringType()), StructField("text", StringType())])
    out = StructType([StructField("order", LongType(), False)] + [StructField(f, BinaryType()) for f in _VEC_FIELDS]
                     + [StructField(f, LongType()) for f in ("n_chunks", "n_words", "chunks_total")] + [StructField("embedder", StringType())])
    df = spark.createDataFrame(articles.map(lambda oa: (oa[0], oa[1].title or "", oa[1].text or "")), src)
    return df.mapInArrow(_embed_batches(embedder_name), out)


#: ``spark_cluster(partitions=...)``: 0 links every article in one pass on the driver (the local command's rows).
EXACT = 0


def spark_cluster(spark, paths: list[str], fmt: str = "auto", limits: Limits = DEFAULT_LIMITS, config=None, *,
                  clean_first: bool = True, split_bytes: int | None = None, progress: Progress | None = None,
                  stats: SparkStats | None = None, partitions: int = EXACT, warmup_days: int | None = None,
                  merge: bool = False) -> tuple[list[tuple[str, str]], list[InputError]]:
    """``samestory cluster`` on Spark: (``(id, story)`` rows in input order, error lines in input order).

    ``partitions=0`` (:data:`EXACT`): the vectors are computed in an Arrow UDF
    and the date-ordered linking runs on the driver, so the rows are the local
    command's. ``partitions=N``: the stream is cut into N time ranges, each
    clustered in a task with a warm-up of ``warmup_days`` (default
    :data:`~samestory.spark_stories.WARMUP_DAYS`, never under the linker's
    recent window) and stitched together (:mod:`samestory.spark_stories`),
    then, with ``merge``, the ranges' new stories are linked against older
    ones on the driver: it scales, but the stories only agree with the one-pass
    run's (see the README's figures).
    """
    from collections import Counter

    from .cluster import ClusterConfig, placed_by_arrival_note

    config = config or ClusterConfig()
    if partitions < 0:
        raise ValueError("partitions must be 0 (one pass on the driver) or more")
    stats = stats if stats is not None else SparkStats()
    stats.seconds = {}
    t0 = time.perf_counter()
    articles, errors, items = read_articles_rdd(spark, paths, fmt, limits, clean_first=clean_first, detect_lang=True,
                                                split_bytes=split_bytes, progress=progress)
    if partitions:
        rows = _cluster_ranges(spark, articles, config, partitions, warmup_days, merge, stats, progress, t0, len(errors))
        items.unpersist()
        return rows, errors
    done = sorted(articles.collect(), key=lambda oa: oa[0])
    vectors = {r[0]: r[1:] for r in embed_rdd(spark, articles, config.embedder).collect()}
    items.unpersist()
    stats.articles = len(done)
    stats.seconds["read, clean, embed"] = time.perf_counter() - t0
    if progress:
        progress(f"{stats.articles} articles read, cleaned and embedded, {len(errors)} input errors; linking stories in date order")
    t1 = time.perf_counter()
    rows, placed = _link_on_driver([(a, _vectors_from_row(vectors[o])) for o, a in done], config)
    stats.seconds["link (driver)"] = time.perf_counter() - t1
    if progress and placed:
        progress("note: " + placed_by_arrival_note(Counter(placed.values()), len(done), list(placed)[:3]))
    return rows, errors


def _link_on_driver(done: list, config) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The one-pass linking of ``(Article, vectors)`` in input order, as ``samestory cluster`` runs it: its rows, and
    the articles it placed by arrival (``StoryClusterer.placed_by_arrival``)."""
    from .cluster import StoryClusterer
    from .embed import EmbeddingCache
    from .store import Store

    with tempfile.TemporaryDirectory(prefix="samestory-spark-cluster-") as tmp:
        with Store(Path(tmp) / "store") as store:
            clusterer = StoryClusterer(store, config, cache_articles=max(50_000, len(done)))
            for article, vec in done:
                clusterer.embeddings.put(EmbeddingCache.key(clusterer.embedder, article.title or "", article.text or ""), vec)
            rows = clusterer.add([a for a, _ in done])
            return rows, clusterer.placed_by_arrival


def _range_task(config):
    """mapPartitions over one time range's ``(range, (sort key, owner, Article))``: its stories, as RangeRow tuples."""

    def run(items):
        from .spark_stories import cluster_range

        items = list(items)
        if not items:
            return
        r = items[0][0]
        got = dict(cluster_range([(key, article) for _, (key, _, article) in items], config))
        for _, (key, owner, article) in items:
            yield (r, article.id, got[article.id], owner, key)

    return run


def _cluster_ranges(spark, articles, config, partitions: int, warmup_days: int | None, merge: bool, stats: SparkStats,
                    progress: Progress | None, t0: float, n_errors: int) -> list[tuple[str, str]]:
    """:func:`spark_cluster` cut into time ranges: plan, cluster each range in a task, stitch, merge."""
    import math
    from collections import Counter

    from .cluster import date_problem, placed_by_arrival_note
    from .spark_stories import WARMUP_DAYS, RangeRow, owners, plan_ranges, relink, sort_key, stitch

    warmup = max(config.recent_days, WARMUP_DAYS if warmup_days is None else warmup_days)
    keyed = articles.map(lambda oa: (sort_key(oa[1], oa[0]), oa[0], oa[1])).persist(_cache_level())
    # articles per day, and why the undated ones (day inf, placed by arrival) have no usable date
    counted = keyed.map(lambda k: (k[0][0], date_problem(k[2].date) if k[0][0] == math.inf else None)).countByValue()
    day_counts: Counter = Counter()
    for (day, _), count in counted.items():
        day_counts[day] += count
    starts = plan_ranges(day_counts, partitions)
    stats.articles = sum(day_counts.values())
    if progress:
        progress(f"{stats.articles} articles read and cleaned, {n_errors} input errors; clustering {len(starts)} time "
                 f"range{'s' if len(starts) != 1 else ''} with {warmup} warm-up days")
        reasons = {why: count for (_, why), count in counted.items() if why is not None}
        if reasons:
            progress("note: " + placed_by_arrival_note(reasons, stats.articles))
    n = len(starts)
    routed = keyed.flatMap(lambda k: [(r, (k[0], own[0], k[2])) for own in [owners(k[0], starts, warmup)] for r in own])
    raw = routed.partitionBy(n, lambda r: r).mapPartitions(_range_task(config)).collect()
    stats.seconds["read, clean, cluster ranges"] = time.perf_counter() - t0
    rows = [RangeRow(*r) for r in raw]
    order_of = {r.id: r.key[1] for r in rows if r.range == r.owner}  # the key ends in the input order
    t1 = time.perf_counter()
    if merge and n > 1:
        from .spark_stories import merge_articles

        wanted, heads = merge_articles(rows, config.members)
        wanted_b = spark.sparkContext.broadcast(wanted)
        chosen = {a.id: a for _, _, a in keyed.filter(lambda k: k[2].id in wanted_b.value).collect()}
        wanted_b.destroy()
        labels, linked = relink(rows, chosen, config)
        if progress:
            progress(f"merge: {len(heads)} new stories of later ranges linked against older ones, {linked} joined")
    else:
        labels = stitch(rows)
    keyed.unpersist()
    stats.seconds["stitch, merge (driver)"] = time.perf_counter() - t1
    return [(aid, labels[aid]) for aid in sorted(order_of, key=order_of.get)]


# --------------------------------------------------------------------------- score-pairs


def _read_pairs_task(fmt: str, limits: Limits, failed: dict[str, str]):
    """mapPartitions: (split, bytes or None) -> ("p", order, PairRecord) and ("e", order, InputError)."""

    def run(splits: Iterator[tuple[Split, bytes | None]]) -> Iterator[tuple]:
        from .ingest.pairs import PAIRS

        for split, data in splits:
            pos = 0
            for item in read_split(split, fmt, limits, PAIRS, data=data, failed=failed.get(split.path)):
                order = (split.index << 32) | pos
                pos += 1
                yield ("e" if isinstance(item, InputError) else "p", order, item)

    return run


def _score_task(model: str, clean_first: bool, batch: int, max_seconds: float | None = None):
    """mapPartitions over ``(batch number, (seq, order, PairRecord))`` sorted by seq: the local command's batches.

    Yields ``("r", order, row)`` and ``("e", key, InputError)``, where an error's
    key puts it where the local command reports it: when its batch is scored,
    i.e. after the batch's last pair (or after all input for the last, partial batch).
    """

    def run(items: Iterator[tuple]) -> Iterator[tuple]:
        import itertools

        from .clean import clean_article
        from .scorer import Scorer, unscorable
        from .verdict import pair_text

        scorer = None
        for _, group in itertools.groupby(items, key=lambda kv: kv[0]):
            records = [rec for _, rec in group]
            # the local command scores a full batch as soon as its last pair is read; the last, partial one after all input
            flushed_at = records[-1][1] if len(records) == batch else 1 << 62
            ready = []
            for k, (_, order, rec) in enumerate(records):
                try:
                    sides = [clean_article(x, max_seconds=max_seconds) if clean_first else x for x in (rec.a, rec.b)]
                except SamestoryError as exc:
                    yield ("e", (flushed_at, 1, k), origin_error(rec.origin, str(exc)))
                    continue
                pair = (pair_text(sides[0]), pair_text(sides[1]))
                reason = unscorable(*pair)
                if reason:
                    yield ("e", (flushed_at, 1, k), origin_error(rec.origin, f"pair {rec.pair_id!r}: {reason}"))
                    continue
                ready.append((order, rec.pair_id, pair))
            if not ready:
                continue
            if scorer is None:  # the shipped model and its embedders load once per Python worker (cached in the process)
                scorer = Scorer(model)
            for (order, pair_id, _), score in zip(ready, scorer.score_many([p for _, _, p in ready])):
                yield ("r", order, {"pair_id": pair_id, **score.as_dict()})

    return run


def spark_score_pairs(spark, paths: list[str], fmt: str = "auto", limits: Limits = DEFAULT_LIMITS, model: str = "accurate", *,
                      clean_first: bool = True, batch: int = 256, split_bytes: int | None = None,
                      progress: Progress | None = None, stats: SparkStats | None = None) -> tuple[list[dict], list[InputError]]:
    """``samestory score-pairs`` on Spark: (rows ``pair_id, same_story, probability, overall`` in input order, errors).

    The pair files are read in tasks (large JSONL files in line ranges); the
    pairs are numbered in input order and cut into the local command's
    batches of ``batch`` pairs (the embedders see the same batches, so even
    their float rounding matches); the batches are range-partitioned over the
    cores (a shuffle of the pair texts, small next to the scoring) and each
    task cleans and scores its batches with :meth:`samestory.scorer.Scorer.score_many`.
    Errors come back in the order the local command reports them.
    """

    from .scorer import load_model

    load_model(model)  # a missing or broken model fails here, on the driver, not in every task
    stats = stats if stats is not None else SparkStats()
    stats.seconds = {}
    t0 = time.perf_counter()
    sc = spark.sparkContext
    paths, failed = list_inputs(spark, paths)
    splits = plan_splits(paths, fmt, split_bytes, min_tasks=2 * sc.defaultParallelism)
    if progress:
        progress(f"reading {len(paths)} file{'s' if len(paths) != 1 else ''} in {len(splits)} task{'s' if len(splits) != 1 else ''}")
    items = _splits_rdd(sc, splits, failed).mapPartitions(_read_pairs_task(fmt, limits, failed))
    items.persist(_cache_level())
    read_errors = items.filter(lambda t: t[0] == "e").map(lambda t: ((t[1], 0, 0), t[2])).collect()
    # one partition per split, in split order: zipWithIndex numbers the pairs in input order
    pairs = items.filter(lambda t: t[0] == "p").map(lambda t: (t[1], t[2])).zipWithIndex()
    total = pairs.count()
    stats.articles = total
    stats.seconds["read"] = time.perf_counter() - t0
    n_batches = -(-total // batch)
    if progress:
        progress(f"{total} pairs read, {len(read_errors)} input errors; scoring in {n_batches} batch{'es' if n_batches != 1 else ''} "
                 f"of {batch} with the {model!r} model")
    t1 = time.perf_counter()
    results: list = []
    if total:
        parts = max(1, min(n_batches, max(2 * sc.defaultParallelism, -(-n_batches // 8))))
        keyed = pairs.map(lambda pr: (pr[1] // batch, (pr[1], pr[0][0], pr[0][1])))
        scored = (keyed.partitionBy(parts, lambda b: b * parts // n_batches)
                  .mapPartitions(lambda it: iter(sorted(it, key=lambda kv: kv[1][0])), preservesPartitioning=True)
                  .mapPartitions(_score_task(model, clean_first, batch, limits.max_seconds)))
        results = scored.collect()
    items.unpersist()
    stats.seconds["clean, score"] = time.perf_counter() - t1
    rows = [row for _, _, row in sorted((r for r in results if r[0] == "r"), key=lambda r: r[1])]
    errors = [err for _, err in sorted(read_errors + [(key, err) for kind, key, err in results if kind == "e"], key=lambda ke: ke[0])]
    return rows, errors


__all__ = [
    "SPLIT_BYTES",
    "SparkStats",
    "SparkRowWriter",
    "SparkUnavailable",
    "Split",
    "build_session",
    "candidate_pairs_df",
    "components",
    "components_df",
    "embed_rdd",
    "is_uri",
    "list_inputs",
    "plan_splits",
    "read_articles_rdd",
    "read_split",
    "reject_row",
    "origin_error",
    "spark_cluster",
    "spark_dedup",
    "spark_score_pairs",
    "spark_session",
    "stop_session",
    "write_rows",
]
