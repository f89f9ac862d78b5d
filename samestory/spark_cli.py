"""``samestory spark dedup|cluster``: the local commands' rows, computed on Apache Spark.

pyspark is imported only when a command runs, so ``samestory --help`` stays fast.
Errors, exit status and output are those of the local commands: each bad
input row on its own line of standard error (file and line), exit 1 when some
input failed (the good rows still written), 2 for bad usage.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import List, Optional

import typer

from .cli_options import _CLEAN_FIRST, _CONTAINMENT, _FORMAT, _JACCARD, _MAX_BYTES, _OUTPUT, _THRESHOLD

spark_app = typer.Typer(
    name="spark",
    help=(
        "Run dedup or cluster on Apache Spark (pyspark; Java 17+), with the same rows as the local commands.\n\n"
        "Example:  samestory spark dedup articles.jsonl -o groups.csv --master local[4]"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

_MASTER_HELP = "Spark master URL: local[*] (default: all cores of this machine), local[N], spark://HOST:PORT, yarn, ..."
_INPUT_HELP = "Files or directories to read (every Spark worker must see the same paths, e.g. a shared file system)."
_SPARK_INPUTS = typer.Argument(..., metavar="INPUT...", help=_INPUT_HELP)
_MASTER = typer.Option("local[*]", "--master", help=_MASTER_HELP)
_SPARK_QUIET = typer.Option(False, "--quiet", "-q", help="No progress lines or summary line.")


class _Say:
    """Stage lines on standard error ("samestory spark: ..."), with the time since the start."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"samestory spark: [{time.perf_counter() - self.t0:6.1f}s] {message}", file=sys.stderr, flush=True)


def _start(master: str, quiet: bool, say: _Say):
    """The active SparkSession (reused, not stopped: a test's, a notebook's) or a new one."""
    from .spark import SparkUnavailable, build_session

    try:
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
    except ImportError:
        active = None
    if active is not None:
        return active, False
    say(f"starting Spark ({master})")
    try:
        return build_session(master, progress_bar=not quiet and sys.stderr.isatty()), True
    except SparkUnavailable as exc:
        print(f"samestory: error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None


def _inputs(inputs: list[str]) -> list[str]:
    from .cli import _expand

    if "-" in inputs:
        raise typer.BadParameter("standard input cannot be read by Spark workers; give files or directories", param_hint="INPUT")
    paths = _expand(inputs)
    missing = [p for p in paths if not Path(p).exists()]
    if missing and len(missing) == len(paths):
        raise typer.BadParameter(f"{missing[0]}: no such file", param_hint="INPUT")
    return paths


@spark_app.command(
    epilog=(
        "Examples:\n\n"
        "  samestory spark dedup articles.jsonl -o groups.csv\n\n"
        "  samestory spark dedup crawl/ -o groups.parquet --master spark://head:7077"
    )
)
def dedup(
    inputs: List[str] = _SPARK_INPUTS,
    output: Optional[str] = _OUTPUT,
    master: str = _MASTER,
    jaccard: float = _JACCARD,
    containment: float = _CONTAINMENT,
    clean_first: bool = _CLEAN_FIRST,
    format: str = _FORMAT,
    max_mb: float = _MAX_BYTES,
    quiet: bool = _SPARK_QUIET,
) -> None:
    """Near-copy groups on Spark: the rows of 'samestory dedup' (id, group, duplicate_of, similarity, containment).

    Reading, cleaning, fingerprints, LSH candidate pairs and the exact
    verification and grouping (per connected component of the candidate
    pairs) run in Spark tasks; the rows are those of the local command.
    """
    from .dedup import DedupConfig
    from .spark import spark_dedup

    config = DedupConfig(jaccard=jaccard, containment=containment)
    _run(inputs, output, master, format, max_mb, quiet,
         lambda spark, paths, fmt, limits, say: spark_dedup(spark, paths, fmt, limits, config, clean_first=clean_first, progress=say),
         lambda row: row.as_dict())


@spark_app.command(
    epilog=(
        "Examples:\n\n"
        "  samestory spark cluster articles.jsonl -o stories.csv\n\n"
        "  samestory spark cluster archive/ -o stories.parquet --master local[8]"
    )
)
def cluster(
    inputs: List[str] = _SPARK_INPUTS,
    output: Optional[str] = _OUTPUT,
    master: str = _MASTER,
    threshold: float = _THRESHOLD,
    clean_first: bool = _CLEAN_FIRST,
    format: str = _FORMAT,
    max_mb: float = _MAX_BYTES,
    quiet: bool = _SPARK_QUIET,
) -> None:
    """Story clusters on Spark: the rows of 'samestory cluster' (id, story).

    Reading, cleaning and the article embeddings run in Spark tasks; the
    one-pass story linking, which must see the articles in date order, runs on
    the driver. The rows are those of the local command.
    """
    from .cluster import ClusterConfig
    from .spark import spark_cluster

    config = ClusterConfig.for_threshold(threshold)
    _run(inputs, output, master, format, max_mb, quiet,
         lambda spark, paths, fmt, limits, say: spark_cluster(spark, paths, fmt, limits, config, clean_first=clean_first, progress=say),
         lambda pair: {"id": pair[0], "story": pair[1]})


def _run(inputs: list[str], output: str | None, master: str, format: str, max_mb: float, quiet: bool,
         job, to_row) -> None:
    """What both commands do around their job: check the options, run ``job`` on a Spark session
    (stopped after if this command started it), report the failed rows, write the rows, exit 0 or 1."""
    from .cli import Reporter, _check_format, _limits, _writer
    from .errors import SamestoryError
    from .output import open_writer

    fmt = _check_format(format)
    limits = _limits(max_mb)
    paths = _inputs(inputs)
    say = _Say(quiet)
    with _writer(open_writer, output) as writer:
        reporter = Reporter(paths, True)
        spark, owned = _start(master, quiet, say)
        try:
            rows, errors = job(spark, paths, fmt, limits, say)
        except SamestoryError as exc:  # a store or clusterer that cannot run
            reporter.error(str(exc))
            raise typer.Exit(1) from None
        finally:
            if owned:
                from .spark import stop_session

                stop_session(spark)
        for message in errors:
            reporter.error(message)
        for row in rows:
            writer.write(to_row(row))
    reporter.quiet = quiet
    reporter.summary(writer.count, output)
    raise typer.Exit(1 if reporter.errors else 0)
