"""The ``samestory`` command line.

Each command streams its input, shows a progress bar on standard error when
that is a terminal, reports every failed file or record on its own line
(``samestory: error: FILE:LINE: what is wrong``) and keeps going. Exit status:
0 when everything was read, 1 when some input failed (the good rows are still
written), 2 for bad usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterator, List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from . import __version__
from .article import Article
from .errors import InputError, SamestoryError, UsageError
from .ingest import FORMATS, Limits, expand_paths, iter_input
from .ingest.source import MiB

app = typer.Typer(
    name="samestory",
    help=(
        "Find the news articles that tell the same story.\n\n"
        "Reads plain text, HTML, JSONL/JSON, CSV, Parquet, RSS/Atom and WARC (optionally .gz); "
        "writes JSONL, CSV or Parquet (chosen by the output file's ending).\n\n"
        "Example:  samestory clean articles/*.txt -o cleaned.jsonl"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

_err = Console(stderr=True, highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"samestory {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Find the news articles that tell the same story."""


class Reporter:
    """Progress bar and error lines for one command run, on standard error."""

    def __init__(self, paths: list[str], quiet: bool = False, what: str = "reading"):
        self.errors = 0
        self.items = 0
        self.quiet = quiet
        sizes = []
        for p in paths:
            try:
                sizes.append(Path(p).stat().st_size if p != "-" else 0)
            except OSError:
                sizes.append(0)
        self.total = sum(sizes) or None
        self._done_before = 0
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[items]} articles, {task.fields[errors]} errors"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=_err,
            transient=False,
            disable=quiet or not _err.is_terminal,
        )
        self._task = self._progress.add_task(what, total=self.total, items=0, errors=0)

    def __enter__(self) -> "Reporter":
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def file_done(self, size: int) -> None:
        self._done_before += size
        self._progress.update(self._task, completed=self._done_before)

    def position(self, raw: int) -> None:
        self._progress.update(self._task, completed=self._done_before + raw, items=self.items, errors=self.errors)

    def error(self, exc: InputError | str) -> None:
        self.errors += 1
        self._progress.console.print(f"samestory: error: {exc}", markup=False)

    def summary(self, written: int, out: str | None) -> None:
        if self.quiet:
            return
        where = out if out and out != "-" else "standard output"
        failed = f"; {self.errors} input error{'s' if self.errors != 1 else ''}" if self.errors else ""
        _err.print(f"samestory: wrote {written} row{'s' if written != 1 else ''} to {where}{failed}", markup=False)


def iter_articles(inputs: list[str], fmt: str, limits: Limits, reporter: Reporter) -> Iterator[Article]:
    """Articles of all inputs; errors go to the reporter, progress advances."""
    for path in inputs:
        size = 0
        try:
            size = Path(path).stat().st_size if path != "-" else 0
        except OSError:
            pass
        for item in iter_input(path, fmt, limits, on_position=reporter.position):
            if isinstance(item, InputError):
                reporter.error(item)
            else:
                reporter.items += 1
                yield item
        reporter.file_done(size)


_FORMAT_HELP = f"Input format: auto (decided from the content) or one of {', '.join(FORMATS)}."
_OUT_HELP = "Output file: .jsonl, .csv or .parquet; '-' (default) writes JSONL to standard output."
_MAX_HELP = "Largest single article, page, feed or record to read, in MiB; bigger ones are reported and skipped."


@app.command(
    epilog=(
        "Examples:\n\n"
        "  samestory clean ../shared/examples/*.txt -o cleaned.jsonl\n\n"
        "  samestory clean crawl.warc.gz feed.xml pages/ -o cleaned.parquet\n\n"
        "  zcat articles.jsonl.gz | samestory clean - > cleaned.jsonl"
    )
)
def clean(
    inputs: List[str] = typer.Argument(..., metavar="INPUT...", help="Files or directories to read; '-' reads standard input."),
    output: Optional[str] = typer.Option("-", "-o", "--output", metavar="OUT", help=_OUT_HELP),
    format: str = typer.Option("auto", "--format", "-f", help=_FORMAT_HELP),
    keep_html: bool = typer.Option(False, "--keep-html", help="Also write the raw 'html' field of articles that had one."),
    detect_lang: bool = typer.Option(True, "--lang/--no-lang", help="Detect the language of articles without a 'lang'."),
    max_mb: float = typer.Option(20.0, "--max-bytes", metavar="MIB", help=_MAX_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary line."),
) -> None:
    """Extract each article's title, date, byline, language and main text, and strip boilerplate.

    Writes one cleaned article a row: id, title, text, date, source, url, lang,
    byline, removed (every dropped line, to audit) and removed_reasons, plus any
    other fields the input records had.
    """
    from .output import open_writer

    fmt = _check_format(format)
    limits = _limits(max_mb)
    paths = _expand(inputs)
    with _writer(open_writer, output) as writer, Reporter(paths, quiet, "cleaning") as reporter:
        for cleaned in _cleaned(iter_articles(paths, fmt, limits, reporter), reporter, detect_lang=detect_lang):
            writer.write(cleaned.to_row(keep_html=keep_html))
    reporter.summary(writer.count, output)
    raise typer.Exit(1 if reporter.errors else 0)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  samestory dedup articles.jsonl -o groups.csv\n\n"
        "  samestory dedup --store news.store monday.jsonl -o monday-groups.jsonl\n\n"
        "  samestory dedup --store news.store tuesday.warc.gz   (checked against Monday's too)"
    )
)
def dedup(
    inputs: List[str] = typer.Argument(..., metavar="INPUT...", help="Files or directories to read; '-' reads standard input."),
    output: Optional[str] = typer.Option("-", "-o", "--output", metavar="OUT", help=_OUT_HELP),
    store: Optional[Path] = typer.Option(None, "--store", metavar="DIR", help="Keep the index in this store directory (created if new): new articles are checked against all stored ones."),
    jaccard: float = typer.Option(0.30, "--jaccard", min=0.01, max=1.0, help="Exact shingle Jaccard at or above which two articles are near-copies."),
    containment: float = typer.Option(0.80, "--containment", min=0.01, max=1.0, help="Share of the shorter article's shingles found in the longer one that makes it a cut-down copy."),
    clean_first: bool = typer.Option(True, "--clean/--no-clean", help="Clean the articles first (use --no-clean for output of 'samestory clean')."),
    format: str = typer.Option("auto", "--format", "-f", help=_FORMAT_HELP),
    max_mb: float = typer.Option(20.0, "--max-bytes", metavar="MIB", help=_MAX_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary line."),
) -> None:
    """Find exact and near-duplicate copies and group them.

    Writes one row per article: id, group (shared by copies of each other),
    duplicate_of (the group's earliest article; empty for that one),
    similarity (exact shingle Jaccard with it) and containment.
    """
    from .dedup import DedupConfig, NearCopyIndex, dedup_batch
    from .output import open_writer
    from .store import Store, StoreError

    config = DedupConfig(jaccard=jaccard, containment=containment)
    fmt = _check_format(format)
    limits = _limits(max_mb)
    paths = _expand(inputs)
    with _writer(open_writer, output) as writer, Reporter(paths, quiet, "dedup") as reporter:
        articles = _unique_ids(_cleaned(iter_articles(paths, fmt, limits, reporter), reporter, clean_first), reporter)
        if store is None:
            rows = dedup_batch(articles, config)
        else:
            try:
                with Store(store) as st:
                    index = NearCopyIndex(st, config)
                    seqs = [seq for _, seq, _ in index.add(articles)]
                    rows = index.rows(seqs)
            except (StoreError, SamestoryError) as exc:
                reporter.error(str(exc))
                raise typer.Exit(1) from None
        for row in rows:
            writer.write(row.as_dict())
    reporter.summary(writer.count, output)
    raise typer.Exit(1 if reporter.errors else 0)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  samestory compare ../shared/examples/north-korea-talks-outlet-a.txt ../shared/examples/north-korea-talks-outlet-b.txt\n\n"
        "  samestory compare wire.html local-copy.html --json"
    )
)
def compare(
    a: str = typer.Argument(..., metavar="A", help="A file holding one article (any input format)."),
    b: str = typer.Argument(..., metavar="B", help="A file holding one article (any input format)."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as one JSON object."),
    clean_first: bool = typer.Option(True, "--clean/--no-clean", help="Clean both articles first."),
    format: str = typer.Option("auto", "--format", "-f", help=_FORMAT_HELP),
) -> None:
    """Compare two articles: near-copy or not, exact Jaccard, and the passages they share.

    The passages are character offsets into each cleaned text (a_start, a_end,
    b_start, b_end) with the shared text.
    """
    from .verdict import compare_articles

    fmt = _check_format(format)
    pair = [_one_article(path, fmt, clean_first) for path in (a, b)]
    verdict = compare_articles(*pair)
    if as_json:
        typer.echo(json.dumps(verdict, ensure_ascii=False))
        return
    _print_verdict(verdict, pair)


def _one_article(path: str, fmt: str, clean_first: bool) -> Article:
    from .clean import clean_article

    items = list(iter_input(path, fmt))
    articles = [i for i in items if isinstance(i, Article)]
    for item in items:
        if isinstance(item, InputError):
            _err.print(f"samestory: error: {item}", markup=False)
    if len(articles) != 1:
        what = "no article" if not articles else f"{len(articles)} articles"
        _err.print(f"samestory: error: {path}: holds {what}; compare takes one article a file", markup=False)
        raise typer.Exit(1 if not articles else 2)
    return clean_article(articles[0]) if clean_first else articles[0]


def _print_verdict(verdict: dict, pair: list[Article]) -> None:
    out = Console(highlight=False, soft_wrap=True)
    for label, art in zip("AB", pair):
        out.print(f"{label}: {art.title or '(no title)'}  [{art.date or 'no date'}, {len(art.text.split())} words]", markup=False)
    near = "yes" if verdict["near_duplicate"] else "no"
    out.print(f"near-duplicate: {near}   jaccard {verdict['jaccard']:.3f}   containment {verdict['containment']:.3f}", markup=False)
    passages = verdict["shared_passages"]
    out.print(f"shared passages: {len(passages)}", markup=False)
    for p in passages:
        text = " ".join(p["text"].split())
        text = text if len(text) <= 160 else text[:157] + "..."
        out.print(f"  A[{p['a_start']}:{p['a_end']}] B[{p['b_start']}:{p['b_end']}]  {text}", markup=False)


def _cleaned(articles: Iterator[Article], reporter: Reporter, enabled: bool = True, detect_lang: bool = False) -> Iterator[Article]:
    """The clean stage over a stream; a record that fails is reported and skipped."""
    from .clean import clean_article

    for article in articles:
        if not enabled:
            article.ensure_id()
            yield article
            continue
        try:
            yield clean_article(article, detect_lang=detect_lang)
        except SamestoryError as exc:
            reporter.error(InputError(article.origin or "?", str(exc)))


def _unique_ids(articles: Iterator[Article], reporter: Reporter) -> Iterator[Article]:
    """Drop (and report) articles whose id was already seen in this run."""
    seen: dict[str, str] = {}
    for article in articles:
        aid = article.ensure_id()
        if aid in seen:
            reporter.error(InputError(article.origin or "?", f"duplicate id {aid!r} (first at {seen[aid]}); skipped"))
            continue
        seen[aid] = article.origin or "?"
        yield article


def _check_format(fmt: str) -> str:
    if fmt != "auto" and fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not a format; choose auto or one of {', '.join(FORMATS)}", param_hint="--format")
    return fmt


def _limits(max_mb: float) -> Limits:
    if max_mb <= 0:
        raise typer.BadParameter("must be above 0", param_hint="--max-bytes")
    n = int(max_mb * MiB)
    return Limits(max_document_bytes=n, max_record_bytes=n)


def _expand(inputs: list[str]) -> list[str]:
    paths = expand_paths(inputs)
    if not paths:
        raise typer.BadParameter("no input files (the directories given are empty)", param_hint="INPUT")
    return paths


def _writer(open_writer, output):
    try:
        return open_writer(output)
    except UsageError as exc:
        raise typer.BadParameter(str(exc), param_hint="-o") from None
    except OSError as exc:
        raise typer.BadParameter(f"{output}: cannot write ({exc.strerror or exc})", param_hint="-o") from None


def main() -> None:
    """Entry point of the ``samestory`` script."""
    try:
        app()
    except KeyboardInterrupt:
        _err.print("samestory: interrupted", markup=False)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()
