"""``samestory spark dedup|cluster|score-pairs``: the local commands' rows, computed on Apache Spark.

pyspark is imported only when a command runs, so ``samestory --help`` stays fast.
Errors, exit status and output are those of the local commands: each bad
input row on its own line of standard error (file and line), exit 1 when some
input failed (the good rows still written), 2 for bad usage. ``--rejects FILE``
writes the bad rows to a side output instead (file, location, reason).

The same commands run under ``spark-submit`` (``spark-submit samestory/spark.py
dedup ...`` or ``python -m samestory.spark dedup ...``): :func:`main` is the
entry point, and ``--print-submit`` / ``--submit`` build that command line.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer

from .cli_options import _CLEAN_FIRST, _CONTAINMENT, _DOC_TIMEOUT, _EMBEDDER, _FORMAT, _JACCARD, _MAX_BYTES, _OUTPUT, _THRESHOLD

spark_app = typer.Typer(
    name="spark",
    help=(
        "Run dedup, cluster or score-pairs on Apache Spark (pyspark; Java 17+), with the same rows as the local commands.\n\n"
        "Example:  samestory spark dedup articles.jsonl -o groups.csv --master local[4]\n\n"
        "Under spark-submit:  samestory spark dedup ... --print-submit  prints the spark-submit command line."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

_MASTER_HELP = ("Spark master URL: local[*] (default: all cores of this machine), local[N], spark://HOST:PORT, yarn, k8s://...; "
                "under spark-submit, spark-submit's own --master is used unless this is given.")
_INPUT_HELP = ("Files or directories to read (every Spark worker must see the same paths, e.g. a shared file system), or URIs "
               "Spark reads (hdfs://, s3a://, gs://, abfs://, file://: files, directories or globs; with your own Spark settings). "
               "An -o or --rejects URI is written by Spark as a directory of part files.")
_SPARK_INPUTS = typer.Argument(..., metavar="INPUT...", help=_INPUT_HELP)
_MASTER = typer.Option(None, "--master", show_default="local[*]", help=_MASTER_HELP)
_SPARK_QUIET = typer.Option(False, "--quiet", "-q", help="No progress lines or summary line.")
_REJECTS = typer.Option(
    None, "--rejects", metavar="FILE",
    help=("Side output for the input that failed (unreadable files, rows that do not parse, articles that cannot be cleaned or "
          "scored, repeated ids): one row each with file, location (line, row, record or entry) and reason; .jsonl, .csv or .parquet. "
          "Standard error then gets only their count. The job never stops for a bad row; the exit status is still 1."))
_CONF = typer.Option(None, "--conf", metavar="KEY=VALUE", help="A Spark setting (repeatable), e.g. --conf spark.executor.memory=4g.")
_PRINT_SUBMIT = typer.Option(False, "--print-submit", help="Print the spark-submit command line that runs this command, and exit.")
_SUBMIT = typer.Option(False, "--submit", help="Run this command through spark-submit (pyspark's own, or $SPARK_HOME's) instead of in this process.")
_ENV_ARCHIVE = typer.Option(
    None, "--env-archive", metavar="TAR.GZ",
    help=("With --submit/--print-submit: a packed Python environment with samestory installed (venv-pack or conda-pack), "
          "shipped to the executors with --archives; without it the executors run this Python (samestory installed at the same path)."))


class _Say:
    """Stage lines on standard error ("samestory spark: ..."), with the time since the start."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"samestory spark: [{time.perf_counter() - self.t0:6.1f}s] {message}", file=sys.stderr, flush=True)


def _under_spark_submit() -> bool:
    """True when spark-submit started this Python (its JVM is already running, with spark-submit's settings)."""
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT"))


def _confs(conf: list[str] | None) -> dict[str, str]:
    out = {}
    for item in conf or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--conf")
        out[key.strip()] = value
    return out


def _start(master: str | None, quiet: bool, say: _Say, conf: dict | None = None):
    """The active SparkSession (reused, not stopped: a test's, a notebook's) or a new one."""
    from .spark import SparkUnavailable, build_session

    try:
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
    except ImportError:
        active = None
    if active is not None:
        return active, False
    if master is None and not _under_spark_submit():
        master = "local[*]"
    say(f"starting Spark ({master or 'master from spark-submit'})")
    try:
        return build_session(master, progress_bar=not quiet and sys.stderr.isatty(), conf=conf), True
    except SparkUnavailable as exc:
        print(f"samestory: error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None


def _inputs(inputs: list[str]) -> list[str]:
    from .cli import _expand
    from .spark import is_uri

    if "-" in inputs:
        raise typer.BadParameter("standard input cannot be read by Spark workers; give files or directories", param_hint="INPUT")
    paths = _expand(inputs)  # a URI (hdfs://, s3a://, file://...) is kept as given: Spark lists it
    missing = [p for p in paths if not is_uri(p) and not Path(p).exists()]
    if missing and len(missing) == len(paths):
        raise typer.BadParameter(f"{missing[0]}: no such file", param_hint="INPUT")
    return paths


@spark_app.command(
    epilog=(
        "Examples:\n\n"
        "  samestory spark dedup articles.jsonl -o groups.csv\n\n"
        "  samestory spark dedup crawl/ -o groups.parquet --master spark://head:7077 --rejects bad-rows.csv\n\n"
        "  samestory spark dedup crawl/ -o groups.parquet --master yarn --print-submit"
    )
)
def dedup(
    ctx: typer.Context,
    inputs: List[str] = _SPARK_INPUTS,
    output: Optional[str] = _OUTPUT,
    master: Optional[str] = _MASTER,
    jaccard: float = _JACCARD,
    containment: float = _CONTAINMENT,
    clean_first: bool = _CLEAN_FIRST,
    format: str = _FORMAT,
    max_mb: float = _MAX_BYTES,
    doc_timeout: float = _DOC_TIMEOUT,
    rejects: Optional[str] = _REJECTS,
    conf: Optional[List[str]] = _CONF,
    quiet: bool = _SPARK_QUIET,
    print_submit: bool = _PRINT_SUBMIT,
    submit: bool = _SUBMIT,
    env_archive: Optional[str] = _ENV_ARCHIVE,
) -> None:
    """Near-copy groups on Spark: the rows of 'samestory dedup' (id, group, duplicate_of, similarity, containment).

    Reading, cleaning, fingerprints, LSH candidate pairs and the exact
    verification and grouping (per connected component of the candidate
    pairs) run in Spark tasks; the rows are those of the local command.
    """
    from .dedup import DedupConfig
    from .spark import spark_dedup

    _maybe_submit(ctx, master, conf, print_submit, submit, env_archive)
    config = DedupConfig(jaccard=jaccard, containment=containment)
    _run(inputs, output, master, format, max_mb, doc_timeout, quiet, rejects, conf,
         lambda spark, paths, fmt, limits, say: spark_dedup(spark, paths, fmt, limits, config, clean_first=clean_first, progress=say),
         lambda row: row.as_dict())


@spark_app.command(
    epilog=(
        "Examples:\n\n"
        "  samestory spark cluster articles.jsonl -o stories.csv\n\n"
        "  samestory spark cluster archive/ -o stories.parquet --master local[8]\n\n"
        "  samestory spark cluster archive/ -o stories.parquet --partitions 64 --master yarn   # scales out; stories agree, not equal"
    )
)
def cluster(
    ctx: typer.Context,
    inputs: List[str] = _SPARK_INPUTS,
    output: Optional[str] = _OUTPUT,
    master: Optional[str] = _MASTER,
    threshold: float = _THRESHOLD,
    embedder: Optional[str] = _EMBEDDER,
    clean_first: bool = _CLEAN_FIRST,
    format: str = _FORMAT,
    max_mb: float = _MAX_BYTES,
    doc_timeout: float = _DOC_TIMEOUT,
    partitions: int = typer.Option(
        0, "--partitions", min=0, max=100_000, metavar="N",
        help=("0 (default): link the stories in one date-ordered pass on the driver: the rows of 'samestory cluster', but that "
              "pass does not scale out. N: cut the date-ordered stream into N time ranges of about equal size, cluster each in "
              "a Spark task (with a warm-up, see --warmup-days) and stitch the ranges' stories together: it scales, but the "
              "stories only agree with the one-pass ones (adjusted Rand 0.85-1.00 on the labelled streams, about the same quality "
              "against their gold stories; see the README).")),
    warmup_days: int = typer.Option(
        90, "--warmup-days", min=0, max=3650, metavar="DAYS",
        help="With --partitions: each range also clusters this many days before it (never fewer than the linker's recent "
             "window), so stories crossing a cut are seen from both sides and tied together. The default is the one-pass "
             "search window (90 days of active stories)."),
    merge: bool = typer.Option(
        False, "--merge/--no-merge",
        help="With --partitions: also link the first article of every story a range started against the older ranges' "
             "stories, on the driver (closer to the one-pass stories; its cost grows with the number of stories)."),
    rejects: Optional[str] = _REJECTS,
    conf: Optional[List[str]] = _CONF,
    quiet: bool = _SPARK_QUIET,
    print_submit: bool = _PRINT_SUBMIT,
    submit: bool = _SUBMIT,
    env_archive: Optional[str] = _ENV_ARCHIVE,
) -> None:
    """Story clusters on Spark: the rows of 'samestory cluster' (id, story).

    Reading, cleaning and the article embeddings (an Arrow UDF) run in Spark
    tasks. By default the one-pass story linking, which must see the articles
    in date order, runs on the driver and the rows are those of the local
    command; with --partitions N it runs in N time-range tasks instead.
    """
    from .cluster import ClusterConfig
    from .spark import spark_cluster

    _maybe_submit(ctx, master, conf, print_submit, submit, env_archive)
    config = ClusterConfig.for_threshold(threshold, embedder)
    _run(inputs, output, master, format, max_mb, doc_timeout, quiet, rejects, conf,
         lambda spark, paths, fmt, limits, say: spark_cluster(spark, paths, fmt, limits, config, clean_first=clean_first, progress=say,
                                                              partitions=partitions, warmup_days=warmup_days, merge=merge),
         lambda pair: {"id": pair[0], "story": pair[1]})


@spark_app.command(
    "score-pairs",
    epilog=(
        "Examples:\n\n"
        "  samestory spark score-pairs pairs.jsonl -o scores.csv\n\n"
        "  samestory spark score-pairs pairs/ --model fast -o scores.parquet --master spark://head:7077 --rejects bad-pairs.jsonl\n\n"
        "Input rows: pair_id, title1, text1, title2, text2, and optionally lang1, lang2, "
        "date1, date2 (html1/html2 are extracted when a text is missing)."
    ),
)
def score_pairs(
    ctx: typer.Context,
    inputs: List[str] = typer.Argument(..., metavar="PAIRS...", help="JSONL, JSON, CSV or Parquet files of pairs, or directories of them "
                                       "(every Spark worker must see the same paths)."),
    output: Optional[str] = _OUTPUT,
    master: Optional[str] = _MASTER,
    model: str = typer.Option("accurate", "--model", "-m", help="Scorer model: accurate (default), balanced or fast, as in 'samestory score-pairs'."),
    clean_first: bool = typer.Option(True, "--clean/--no-clean", help="Clean both articles of each pair first (as the models were trained)."),
    batch: int = typer.Option(256, "--batch", min=1, max=100_000, help="Pairs scored together (the local command's batches, so the same rows)."),
    format: str = typer.Option("auto", "--format", "-f", help="Input format: auto, jsonl, json, csv or parquet."),
    max_mb: float = typer.Option(20.0, "--max-bytes", metavar="MIB", help="Largest single row to read, in MiB."),
    doc_timeout: float = _DOC_TIMEOUT,
    rejects: Optional[str] = _REJECTS,
    conf: Optional[List[str]] = _CONF,
    quiet: bool = _SPARK_QUIET,
    print_submit: bool = _PRINT_SUBMIT,
    submit: bool = _SUBMIT,
    env_archive: Optional[str] = _ENV_ARCHIVE,
) -> None:
    """Score pairs of articles on Spark: the rows of 'samestory score-pairs' (pair_id, same_story, probability, overall).

    The pair files are read in tasks, the pairs cut into the local command's
    batches in input order, and the batches cleaned and scored in Spark tasks
    (the shipped model loads once per executor Python worker). Rows in input
    order, as the local command writes them.
    """
    from .cli import _check_model
    from .ingest import TABLE_FORMATS
    from .spark import spark_score_pairs

    if format != "auto" and format not in TABLE_FORMATS:
        raise typer.BadParameter(f"{format!r} is not a pair format; choose auto or one of {', '.join(TABLE_FORMATS)}", param_hint="--format")
    _check_model(model)
    _maybe_submit(ctx, master, conf, print_submit, submit, env_archive)
    _run(inputs, output, master, format, max_mb, doc_timeout, quiet, rejects, conf,
         lambda spark, paths, fmt, limits, say: spark_score_pairs(spark, paths, fmt, limits, model, clean_first=clean_first,
                                                                  batch=batch, progress=say),
         lambda row: row, check_format=False)


def _run(inputs: list[str], output: str | None, master: str | None, format: str, max_mb: float, doc_timeout: float, quiet: bool,
         rejects: str | None, conf: list[str] | None, job, to_row, check_format: bool = True) -> None:
    """What every command does around its job: check the options, run ``job`` on a Spark session
    (stopped after if this command started it), report the failed rows (or write them to ``rejects``),
    write the rows, exit 0 or 1."""
    from .cli import Reporter, _check_format, _limits
    from .errors import SamestoryError
    from .spark import reject_row

    fmt = _check_format(format) if check_format else format
    limits = _limits(max_mb, doc_timeout)  # --doc-timeout: for reading and for cleaning each document, in the tasks
    settings = _confs(conf)
    paths = _inputs(inputs)
    say = _Say(quiet)
    spark, owned = None, False
    reporter = Reporter(paths, True)
    try:
        # a URI output (hdfs://, s3a://, file://...) is written by Spark when the writer closes, so Spark stops after
        with _out_writer(output) as writer:
            side = _side_writer(rejects, output)
            done = False
            try:
                spark, owned = _start(master, quiet, say, settings)
                for out in (writer, side):
                    if hasattr(out, "check"):  # a URI output: refused now if it exists, not after the job
                        out.check(spark)
                try:
                    rows, errors = job(spark, paths, fmt, limits, say)
                except SamestoryError as exc:  # a store, clusterer or model that cannot run
                    reporter.error(str(exc))
                    raise typer.Exit(1) from None
                except Exception as exc:  # Spark itself failed (a lost executor, out of memory, ...): one line, not a Java trace
                    print(f"samestory: error: the Spark job failed: {_brief(exc)}", file=sys.stderr)
                    raise typer.Exit(1) from None
                for error in errors:
                    if side is not None:
                        reporter.errors += 1
                        side.write(reject_row(error))
                    else:
                        reporter.error(error)
                done = True
            finally:
                if side is not None:
                    side.close(ok=done)  # a job that did not run leaves no rejects file behind
            for row in rows:
                writer.write(to_row(row))
    except SamestoryError as exc:  # a URI output or rejects file that Spark could not write
        print(f"samestory: error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    finally:
        if owned:
            from .spark import stop_session

            try:
                stop_session(spark)
            except Exception:  # a JVM that already died
                pass
    if side is not None and reporter.errors:
        print(f"samestory: {reporter.errors} input error{'s' if reporter.errors != 1 else ''} written to {rejects}", file=sys.stderr)
    reporter.quiet = quiet
    reporter.summary(writer.count, output)
    raise typer.Exit(1 if reporter.errors else 0)


def _brief(exc: Exception) -> str:
    """A Spark or Py4J failure in one line: its type and the first line naming a cause (OutOfMemoryError, ...)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    cause = next((line for line in lines if "Error" in line or "Exception" in line), lines[0] if lines else "")
    hint = "; give Spark more memory (--conf spark.driver.memory=8g, spark.executor.memory=8g)" if "OutOfMemory" in str(exc) else ""
    return f"{type(exc).__name__}: {cause[:300]}{hint}"


def _out_writer(output: str | None):
    """The output's writer: samestory's file writers for a plain path or ``-``; for a URI, a
    :class:`~samestory.spark.SparkRowWriter` (Spark's DataFrame writer: a directory of part files)."""
    from .cli import _writer
    from .output import open_writer
    from .spark import SparkRowWriter, is_uri

    return _writer(SparkRowWriter if output and is_uri(output) else open_writer, output)


def _side_writer(rejects: str | None, output: str | None):
    """The rejects file's writer (opened before Spark starts, so a bad path fails at once), or None."""
    if rejects is None:
        return None
    if rejects == "-":
        raise typer.BadParameter("give a file (the rows go to -o)", param_hint="--rejects")
    if output and output != "-" and (rejects == output or Path(rejects).resolve() == Path(output).resolve()):
        raise typer.BadParameter("the rejects file must not be the output file", param_hint="--rejects")
    try:
        return _out_writer(rejects)
    except typer.BadParameter as exc:
        raise typer.BadParameter(exc.message, param_hint="--rejects") from None


# --------------------------------------------------------------------------- spark-submit

#: Options that shape the spark-submit command line, not the job; dropped from the job's own arguments.
_SUBMIT_PARAMS = ("master", "conf", "print_submit", "submit", "env_archive")


def spark_submit_executable() -> str:
    """The spark-submit to use: ``$SPARK_HOME/bin/spark-submit`` when SPARK_HOME is set, else the one inside the
    pyspark package (which finds its own jars; the copy pip puts in the environment's ``bin`` needs ``python3`` to be
    this Python)."""
    home = os.environ.get("SPARK_HOME")
    if home:
        return str(Path(home) / "bin" / "spark-submit")
    try:
        import pyspark

        return str(Path(pyspark.__file__).parent / "bin" / "spark-submit")
    except ImportError:
        return "spark-submit"


def submit_command(command: str, job_args: list[str], *, master: str | None = None, conf: dict | None = None,
                   env_archive: str | None = None, python: str | None = None, spark_submit: str | None = None) -> list[str]:
    """The spark-submit argv that runs ``samestory spark COMMAND JOB_ARGS...``.

    The application is this installation's ``samestory/spark.py`` (runnable as a
    script). Executors run ``python`` (default: this Python, so samestory must be
    installed at the same path on every worker), or, with ``env_archive``, the
    Python inside that packed environment (venv-pack / conda-pack .tar.gz with
    samestory installed), unpacked by Spark as ``./samestory-env`` in each
    executor's directory. samestory cannot be shipped with ``--py-files`` alone:
    it has compiled dependencies and its models are files inside the package.
    """
    from . import spark as sp

    argv = [spark_submit or spark_submit_executable(), "--master", master or "local[*]", "--name", f"samestory-{command}"]
    settings = dict(conf or {})
    if env_archive:
        argv += ["--archives", f"{env_archive}#samestory-env"]
        settings.setdefault("spark.pyspark.python", "./samestory-env/bin/python")
        settings.setdefault("spark.pyspark.driver.python", python or sys.executable)
    else:
        settings.setdefault("spark.pyspark.python", python or sys.executable)
        settings.setdefault("spark.pyspark.driver.python", python or sys.executable)
    settings.setdefault("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{sp._log4j2_file()}")  # errors only
    for key in sorted(settings):
        argv += ["--conf", f"{key}={settings[key]}"]
    argv.append(str(Path(sp.__file__).resolve()))
    return argv + [command, *job_args]


def _job_args(ctx: typer.Context) -> list[str]:
    """This command's arguments as given, less the spark-submit ones: what the submitted job is run with."""
    out: list[str] = []
    positional: list[str] = []
    for param in ctx.command.params:
        name = param.name
        if name in _SUBMIT_PARAMS or name not in ctx.params:
            continue
        value = ctx.params[name]
        if param.param_type_name == "argument":
            positional += [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
            continue
        if value == param.default or value is None:
            continue
        if getattr(param, "is_flag", False):
            if value:
                out.append(param.opts[0])
            elif param.secondary_opts:
                out.append(param.secondary_opts[0])
        elif isinstance(value, (list, tuple)):
            for v in value:
                out += [param.opts[0], str(v)]
        else:
            out += [param.opts[0], str(value)]
    return positional + out


def _maybe_submit(ctx: typer.Context, master: str | None, conf: list[str] | None, print_submit: bool, submit: bool, env_archive: str | None) -> None:
    """--print-submit: print the spark-submit line and exit 0; --submit: run it and exit with its status."""
    if not (print_submit or submit):
        return
    if env_archive and not Path(env_archive).is_file() and "://" not in env_archive:
        raise typer.BadParameter(f"{env_archive}: no such file", param_hint="--env-archive")
    argv = submit_command(ctx.command.name, _job_args(ctx), master=master, conf=_confs(conf), env_archive=env_archive)
    if print_submit:
        typer.echo(shlex.join(argv))
        raise typer.Exit(0)
    import subprocess

    if not ctx.params.get("quiet"):
        print(f"samestory spark: {shlex.join(argv)}", file=sys.stderr, flush=True)
    try:
        code = subprocess.call(argv)
    except OSError as exc:
        print(f"samestory: error: cannot run {argv[0]} ({exc.strerror or exc})", file=sys.stderr)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m samestory.spark`` and ``spark-submit samestory/spark.py``: the ``samestory spark`` commands."""
    try:
        spark_app(args=argv, prog_name="samestory spark")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        print("samestory: interrupted", file=sys.stderr)
        return 130
    return 0
