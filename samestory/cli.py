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
from typing import Callable, Iterator, List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from . import __version__
from .article import Article
from .cli_options import (
    _INPUTS, _OUTPUT, _FORMAT, _MAX_BYTES, _DOC_TIMEOUT, _QUIET, _CLEAN_FIRST, _JACCARD, _CONTAINMENT, _THRESHOLD, _EMBEDDER,
)
from .errors import InputError, SamestoryError, UsageError, quoted
from .ingest import FORMATS, Limits, expand_paths, iter_input
from .ingest.source import MiB
from .timeout import DEFAULT_SECONDS

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

    def __init__(self, paths: list[str], quiet: bool = False, what: str = "reading", unit: str = "articles"):
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
            TextColumn("{task.fields[items]} " + unit + ", {task.fields[errors]} errors"),
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

    def phase(self, what: str, total: int) -> Callable[[int], None]:
        """A second bar for work after reading (clustering): returns ``advance(n)``."""
        task = self._progress.add_task(what, total=total, items=0, errors=self.errors)
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            self._progress.update(task, completed=done[0], items=done[0], errors=self.errors)

        return advance

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




@app.command(
    epilog=(
        "Examples:\n\n"
        "  samestory clean ../shared/examples/*.txt -o cleaned.jsonl\n\n"
        "  samestory clean crawl.warc.gz feed.xml pages/ -o cleaned.parquet\n\n"
        "  zcat articles.jsonl.gz | samestory clean - > cleaned.jsonl"
    )
)
def clean(
    inputs: List[str] = _INPUTS,
    output: Optional[str] = _OUTPUT,
    format: str = _FORMAT,
    keep_html: bool = typer.Option(False, "--keep-html", help="Also write the raw 'html' field of articles that had one."),
    detect_lang: bool = typer.Option(True, "--lang/--no-lang", help="Detect the language of articles without a 'lang'."),
    max_mb: float = _MAX_BYTES,
    doc_timeout: float = _DOC_TIMEOUT,
    quiet: bool = _QUIET,
) -> None:
    """Extract each article's title, date, byline, language and main text, and strip boilerplate.

    Writes one cleaned article a row: id, title, text, date, source, url, lang,
    byline, removed (every dropped line, to audit) and removed_reasons, plus any
    other fields the input records had.
    """
    from .output import open_writer

    fmt = _check_format(format)
    limits = _limits(max_mb, doc_timeout)
    paths = _expand(inputs)
    with _writer(open_writer, output) as writer, Reporter(paths, quiet, "cleaning") as reporter:
        for cleaned in _cleaned(iter_articles(paths, fmt, limits, reporter), reporter, detect_lang=detect_lang, max_seconds=limits.max_seconds):
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
    inputs: List[str] = _INPUTS,
    output: Optional[str] = _OUTPUT,
    store: Optional[Path] = typer.Option(None, "--store", metavar="DIR", help="Keep the index in this store directory (created if new): new articles are checked against all stored ones."),
    jaccard: float = _JACCARD,
    containment: float = _CONTAINMENT,
    clean_first: bool = _CLEAN_FIRST,
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Processes for fingerprinting (default: one per core); 1 = one process. Inputs under 8,000 articles always run in one."),
    format: str = _FORMAT,
    max_mb: float = _MAX_BYTES,
    doc_timeout: float = _DOC_TIMEOUT,
    quiet: bool = _QUIET,
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
    limits = _limits(max_mb, doc_timeout)
    paths = _expand(inputs)
    with _writer(open_writer, output) as writer, Reporter(paths, quiet, "dedup") as reporter:
        articles = _unique_ids(_cleaned(iter_articles(paths, fmt, limits, reporter), reporter, clean_first, max_seconds=limits.max_seconds), reporter)
        if store is None:
            rows = dedup_batch(articles, config, workers=workers)
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


_MODEL_HELP = (
    "Scorer model: accurate (default; multilingual USE + MiniLM + static embeddings), "
    "balanced (USE + static: ~3x faster cold, a little weaker in English) or fast (static only: "
    "hundreds of pairs a second, English-centred). Figures in the README."
)


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
    model: str = typer.Option("accurate", "--model", "-m", help=_MODEL_HELP),
    clean_first: bool = typer.Option(True, "--clean/--no-clean", help="Clean both articles first."),
    format: str = _FORMAT,
    max_mb: float = _MAX_BYTES,
    doc_timeout: float = _DOC_TIMEOUT,
) -> None:
    """Compare two articles: same story or not, near-copy or not, and the passages they share.

    same_story and probability (0..1, calibrated) say whether the two report
    the same event however worded; overall is the 1-4 scale of news-similarity
    research (1 = same story, 4 = unrelated). near_duplicate and jaccard say
    whether one is a copy of the other; the shared passages are character
    offsets into each cleaned text (a_start, a_end, b_start, b_end) with the
    shared text.
    """
    from .scorer import ScorerError
    from .verdict import compare_articles

    fmt = _check_format(format)
    _check_model(model)
    limits = _limits(max_mb, doc_timeout)
    read = [_one_article(path, fmt, clean_first, limits) for path in (a, b)]
    pair = [article for article, _ in read]
    try:
        verdict = compare_articles(*pair, model=model)
    except ScorerError as exc:
        _err.print(f"samestory: error: {exc}", markup=False)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(verdict, ensure_ascii=False))
    else:
        _print_verdict(verdict, pair)
    # Some record of A or B failed (reported above): the verdict stands, the exit status says so.
    raise typer.Exit(1 if any(failed for _, failed in read) else 0)


@app.command(
    "score-pairs",
    epilog=(
        "Examples:\n\n"
        "  samestory score-pairs pairs.jsonl -o scores.csv\n\n"
        "  samestory score-pairs pairs.parquet --model fast -o scores.parquet\n\n"
        "Input rows: pair_id, title1, text1, title2, text2, and optionally lang1, lang2, "
        "date1, date2 (html1/html2 are extracted when a text is missing)."
    ),
)
def score_pairs(
    pairs_file: str = typer.Argument(..., metavar="PAIRS", help="JSONL, JSON, CSV or Parquet file of pairs; '-' reads standard input."),
    output: Optional[str] = _OUTPUT,
    model: str = typer.Option("accurate", "--model", "-m", help=_MODEL_HELP),
    clean_first: bool = typer.Option(True, "--clean/--no-clean", help="Clean both articles of each pair first (as the models were trained)."),
    batch: int = typer.Option(256, "--batch", min=1, max=100_000, help="Pairs scored together (embedding calls are batched)."),
    format: str = typer.Option("auto", "--format", "-f", help="Input format: auto, jsonl, json, csv or parquet."),
    max_mb: float = typer.Option(20.0, "--max-bytes", metavar="MIB", help="Largest single row to read, in MiB."),
    doc_timeout: float = _DOC_TIMEOUT,
    quiet: bool = _QUIET,
) -> None:
    """Score many pairs of articles: is each pair the same story?

    Writes one row per pair, in input order: pair_id, probability (calibrated
    chance that annotators would call it the same story), overall (1-4: 1 =
    same story, 4 = unrelated) and same_story. An article met in several pairs
    is embedded once. A bad row is reported (file, line, reason) and skipped.
    """
    from .ingest import TABLE_FORMATS
    from .ingest.pairs import PAIRS
    from .output import open_writer
    from .scorer import Scorer

    if format != "auto" and format not in TABLE_FORMATS:
        raise typer.BadParameter(f"{format!r} is not a pair format; choose auto or one of {', '.join(TABLE_FORMATS)}", param_hint="--format")
    _check_model(model)
    limits = _limits(max_mb, doc_timeout)
    scorer = Scorer(model)
    with _writer(open_writer, output) as writer, Reporter([pairs_file], quiet, "scoring", unit="pairs") as reporter:
        pending: list = []
        for item in iter_input(pairs_file, format, limits, on_position=reporter.position, kind=PAIRS):
            if isinstance(item, InputError):
                reporter.error(item)
                continue
            reporter.items += 1
            pending.append(item)
            if len(pending) >= batch:
                _score_batch(scorer, pending, writer, reporter, clean_first, limits.max_seconds)
                pending = []
        _score_batch(scorer, pending, writer, reporter, clean_first, limits.max_seconds)
    reporter.summary(writer.count, output)
    raise typer.Exit(1 if reporter.errors else 0)


def _score_batch(scorer, records: list, writer, reporter: Reporter, clean_first: bool, max_seconds: float | None = None) -> None:
    """Clean, score and write one batch of pair records; a pair that fails is reported alone."""
    from .clean import clean_article
    from .scorer import unscorable
    from .verdict import pair_text

    ready = []
    for rec in records:
        try:
            sides = [clean_article(x, max_seconds=max_seconds) if clean_first else x for x in (rec.a, rec.b)]
        except SamestoryError as exc:
            reporter.error(InputError(rec.origin, str(exc)))
            continue
        pair = (pair_text(sides[0]), pair_text(sides[1]))
        reason = unscorable(*pair)
        if reason:
            reporter.error(InputError(rec.origin, f"pair {rec.pair_id!r}: {reason}"))
            continue
        ready.append((rec.pair_id, pair))
    if not ready:
        return
    scores = scorer.score_many([pair for _, pair in ready])
    for (pair_id, _), score in zip(ready, scores):
        writer.write({"pair_id": pair_id, **score.as_dict()})


def _check_model(model: str) -> None:
    from .scorer import MODEL_NAMES

    if model not in MODEL_NAMES:
        raise typer.BadParameter(f"{model!r} is not a scorer model; choose one of {', '.join(MODEL_NAMES)}", param_hint="--model")


@app.command(
    epilog=(
        "Examples:\n\n"
        "  samestory cluster articles.jsonl -o stories.csv\n\n"
        "  samestory cluster --store news.store monday.jsonl -o monday.jsonl\n\n"
        "  samestory cluster --store news.store tuesday.warc.gz   (joins Monday's stories)\n\n"
        "  samestory cluster --embedder use --store world.store feeds/   (stories across languages)\n\n"
        "  samestory stories --store news.store -o stories.jsonl"
    )
)
def cluster(
    inputs: List[str] = _INPUTS,
    output: Optional[str] = _OUTPUT,
    store: Optional[Path] = typer.Option(None, "--store", metavar="DIR", help="Keep the stories in this store directory (created if new): later runs add to them. Without it, a temporary store is used."),
    threshold: float = _THRESHOLD,
    clean_first: bool = _CLEAN_FIRST,
    format: str = _FORMAT,
    max_mb: float = _MAX_BYTES,
    doc_timeout: float = _DOC_TIMEOUT,
    workers: Optional[int] = typer.Option(None, "--workers", min=0, help="Processes that analyse articles ahead of the linking (default: one if there is a second core); 0 = none. Inputs under 2,000 articles use none. Same stories either way."),
    embedder: Optional[str] = _EMBEDDER,
    quiet: bool = _QUIET,
) -> None:
    """Group articles into stories: the same event, told by many outlets, across its days.

    Articles are taken in date order (ones without a usable date, or dated
    more than two days ahead, where they arrive: a note on standard error says
    which) and each joins the story it most probably belongs to, or starts one.
    Writes one row per article: id and story (the id of the story's first
    article). With --store the stories persist and later runs join them.
    """
    from collections import Counter

    from .cluster import ClusterConfig, ClusterError, StoryClusterer, placed_by_arrival_note, store_embedder
    from .output import open_writer
    from .store import Store, StoreError

    fmt = _check_format(format)
    limits = _limits(max_mb, doc_timeout)
    paths = _expand(inputs)
    import tempfile

    with _writer(open_writer, output) as writer, Reporter(paths, quiet, "reading") as reporter:
        articles = list(_unique_ids(_cleaned(iter_articles(paths, fmt, limits, reporter), reporter, clean_first, detect_lang=True,
                                              max_seconds=limits.max_seconds), reporter))
        try:
            with tempfile.TemporaryDirectory(prefix="samestory-cluster-") as tmp:
                with Store(store if store is not None else Path(tmp) / "store") as st:
                    config = ClusterConfig.for_threshold(threshold, embedder or store_embedder(st))
                    clusterer = StoryClusterer(st, config)
                    rows = clusterer.add(articles, workers=workers, progress=reporter.phase("clustering", len(articles)))
        except (StoreError, ClusterError) as exc:
            reporter.error(str(exc))
            raise typer.Exit(1) from None
        for article_id, story in rows:
            writer.write({"id": article_id, "story": story})
    if clusterer.placed_by_arrival and not quiet:
        placed = clusterer.placed_by_arrival
        _err.print(f"samestory: note: {placed_by_arrival_note(Counter(placed.values()), len(articles), list(placed)[:3])}",
                   markup=False)
    other = sum(1 for a in articles if a.lang and a.lang != "en")
    if config.embedder == "static" and not quiet and other >= max(10, 0.3 * len(articles)):
        _err.print(f"samestory: note: {other} of {len(articles)} articles are not in English; the default vectors "
                   "are English, so a story told in two languages stays two stories: --embedder use links them "
                   "(about 55 articles/s)", markup=False)
    reporter.summary(writer.count, output)
    raise typer.Exit(1 if reporter.errors else 0)


@app.command(epilog="Example:\n\n  samestory stories --store news.store -o stories.csv")
def stories(
    store: Path = typer.Option(..., "--store", metavar="DIR", help="The store that 'samestory cluster --store DIR' filled."),
    output: Optional[str] = _OUTPUT,
    min_size: int = typer.Option(1, "--min-size", min=1, help="Only stories with at least this many articles."),
) -> None:
    """List the stories of a store: one row a story.

    story, headline, summary, first_seen, last_seen, sources (list), articles
    (ids, in date order) and size, oldest story first.
    """
    from .output import open_writer
    from .store import Store, StoreError
    from .stories import story_rows

    try:
        with Store(store, create=False) as st, _writer(open_writer, output) as writer:
            for row in story_rows(st, min_size=min_size):
                writer.write(row)
    except StoreError as exc:
        _err.print(f"samestory: error: {exc}", markup=False)
        raise typer.Exit(1) from None


@app.command(epilog="Example:\n\n  samestory story --store news.store STORY_ID\n\n  samestory story --store news.store --all --min-size 2")
def story(
    story_id: Optional[str] = typer.Argument(None, metavar="STORY", help="The story's id (its first article's id, as 'stories' lists it)."),
    store: Path = typer.Option(..., "--store", metavar="DIR", help="The store that 'samestory cluster --store DIR' filled."),
    all_stories: bool = typer.Option(False, "--all", help="Print the view of every story (with --min-size)."),
    min_size: int = typer.Option(2, "--min-size", min=1, help="With --all: only stories with at least this many articles."),
    as_json: bool = typer.Option(False, "--json", help="Print each view as one JSON object a line."),
) -> None:
    """Print a story's view: headline, summary, timeline, sources, names, what each source adds, where sources differ."""
    from .store import Store, StoreError
    from .storyview import format_view, view_of_story

    if not story_id and not all_stories:
        raise typer.BadParameter("give a STORY id or --all", param_hint="STORY")
    try:
        with Store(store, create=False) as st:
            ids = [story_id] if story_id else [r[0] for r in st.db.execute(
                "SELECT id FROM stories WHERE merged_into IS NULL AND size >= ? ORDER BY first_day, story", (min_size,))]
            for sid in ids:
                view = view_of_story(st, sid)
                if view is None:
                    _err.print(f"samestory: error: {store}: no story {sid!r}", markup=False)
                    raise typer.Exit(1)
                typer.echo(json.dumps(view, ensure_ascii=False) if as_json else format_view(view) + "\n")
    except StoreError as exc:
        _err.print(f"samestory: error: {exc}", markup=False)
        raise typer.Exit(1) from None


@app.command(epilog=(
    "Examples:\n\n"
    "  samestory remove --store news.store 3f2a9c0d1e2b4a5c 77d01c9e4b2a6f10\n\n"
    "  samestory remove --store news.store --ids takedowns.txt"
))
def remove(
    article_ids: Optional[List[str]] = typer.Argument(None, metavar="ID...", help="Ids of the articles to remove."),
    store: Path = typer.Option(..., "--store", metavar="DIR", help="The store to remove them from (filled by 'cluster --store', 'dedup --store' or 'serve')."),
    ids_file: Optional[str] = typer.Option(None, "--ids", metavar="FILE", help="Also the ids in this file, one a line ('-': standard input)."),
) -> None:
    """Remove articles from a store: from its stories and near-copy groups too.

    A story loses the article from its size, centroid, days and name counts,
    and is deleted when no article is left (a story keeps its id when its
    first article goes); a near-copy group is re-formed from the members
    left. All the given ids go in one transaction, or none. An id not in the
    store is reported on standard error and skipped (exit status 1). A
    'serve' running on the store reads it again before its next write.
    """
    from .cluster import ClusterError, remove_articles
    from .store import Store, StoreError

    ids = list(article_ids or [])
    if ids_file is not None:
        try:
            text = sys.stdin.read() if ids_file == "-" else Path(ids_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise typer.BadParameter(f"{ids_file}: cannot read it ({exc})", param_hint="--ids") from None
        ids += [line.strip() for line in text.splitlines() if line.strip()]
    if not ids:
        raise typer.BadParameter("give article ids, or --ids FILE", param_hint="ID...")
    try:
        with Store(store, create=False) as st:
            removed = set(remove_articles(st, ids))
    except (StoreError, ClusterError, SamestoryError) as exc:
        _err.print(f"samestory: error: {exc}", markup=False)
        raise typer.Exit(1) from None
    unknown = [i for i in dict.fromkeys(ids) if i not in removed]
    for article_id in unknown:
        _err.print(f"samestory: error: {store}: no article {quoted(article_id)}", markup=False)
    _err.print(f"samestory: removed {len(removed)} article{'s' if len(removed) != 1 else ''} from {store}", markup=False)
    raise typer.Exit(1 if unknown else 0)


@app.command(epilog=(
    "Examples:\n\n"
    "  samestory serve --store news.store             (then open http://127.0.0.1:8000/)\n\n"
    "  SAMESTORY_TOKEN=secret samestory serve --store news.store --port 8080"
))
def serve(
    store: Path = typer.Option(..., "--store", metavar="DIR", help="The store to serve (created when new; POST /api/articles fills it)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1: this machine only)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    token: Optional[str] = typer.Option(None, "--token", envvar="SAMESTORY_TOKEN", help="API token the writing endpoints need (Authorization: Bearer TOKEN); default: $SAMESTORY_TOKEN, else none."),
    max_mb: float = typer.Option(20.0, "--max-body", metavar="MIB", help="Largest request body accepted, in MiB."),
    doc_timeout: float = _DOC_TIMEOUT,
) -> None:
    """Serve the HTTP API (JSON under /api/, docs at /docs) and the web page (at /) over a store."""
    from .serve import run
    from .store import StoreError

    if max_mb <= 0:
        raise typer.BadParameter("must be above 0", param_hint="--max-body")
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        _err.print(f"samestory: warning: listening on {host} without an API token: anyone who reaches it can add articles", markup=False)
    _err.print(f"samestory: serving {store} at http://{'[' + host + ']' if ':' in host else host}:{port}/ (API docs at /docs)", markup=False)
    try:
        run(store, host=host, port=port, token=token or None, max_body_bytes=int(max_mb * MiB), doc_timeout=doc_timeout or None)
    except StoreError as exc:
        _err.print(f"samestory: error: {exc}", markup=False)
        raise typer.Exit(1) from None


def _one_article(path: str, fmt: str, clean_first: bool, limits: Limits) -> tuple[Article, bool]:
    """The one article of ``path`` (cleaned) and whether some record of the file failed (reported here)."""
    from .clean import clean_article

    items = list(iter_input(path, fmt, limits))
    articles = [i for i in items if isinstance(i, Article)]
    errors = [i for i in items if isinstance(i, InputError)]
    for item in errors:
        _err.print(f"samestory: error: {item}", markup=False)
    if len(articles) != 1:
        what = "no article" if not articles else f"{len(articles)} articles"
        _err.print(f"samestory: error: {path}: holds {what}; compare takes one article a file", markup=False)
        raise typer.Exit(1 if not articles else 2)
    if not clean_first:
        return articles[0], bool(errors)
    try:
        return clean_article(articles[0], max_seconds=limits.max_seconds), bool(errors)
    except SamestoryError as exc:
        _err.print(f"samestory: error: {articles[0].origin or path}: {exc}", markup=False)
        raise typer.Exit(1) from None


def _print_verdict(verdict: dict, pair: list[Article]) -> None:
    out = Console(highlight=False, soft_wrap=True)
    for label, art in zip("AB", pair):
        out.print(f"{label}: {art.title or '(no title)'}  [{art.date or 'no date'}, {len(art.text.split())} words]", markup=False)
    same = "yes" if verdict["same_story"] else "no"
    out.print(f"same story: {same}   probability {verdict['probability']:.2f}   overall {verdict['overall']:.2f} "
              "(1 = same story ... 4 = unrelated)", markup=False)
    near = "yes" if verdict["near_duplicate"] else "no"
    out.print(f"near-duplicate: {near}   jaccard {verdict['jaccard']:.3f}   containment {verdict['containment']:.3f}", markup=False)
    passages = verdict["shared_passages"]
    out.print(f"shared passages: {len(passages)}", markup=False)
    for p in passages:
        text = " ".join(p["text"].split())
        text = text if len(text) <= 160 else text[:157] + "..."
        out.print(f"  A[{p['a_start']}:{p['a_end']}] B[{p['b_start']}:{p['b_end']}]  {text}", markup=False)


def _cleaned(articles: Iterator[Article], reporter: Reporter, enabled: bool = True, detect_lang: bool = False,
             max_seconds: float | None = None) -> Iterator[Article]:
    """The clean stage over a stream; a record that fails is reported and skipped."""
    from .clean import clean_article

    for article in articles:
        if not enabled:
            article.ensure_id()
            yield article
            continue
        try:
            yield clean_article(article, detect_lang=detect_lang, max_seconds=max_seconds)
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


def _limits(max_mb: float, doc_timeout: float | None = DEFAULT_SECONDS) -> Limits:
    if max_mb <= 0:
        raise typer.BadParameter("must be above 0", param_hint="--max-bytes")
    if doc_timeout is not None and doc_timeout < 0:
        raise typer.BadParameter("must be 0 (no limit) or above", param_hint="--doc-timeout")
    n = int(max_mb * MiB)
    return Limits(max_document_bytes=n, max_record_bytes=n, max_seconds=doc_timeout or None)


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


from .spark_cli import spark_app; app.add_typer(spark_app, name="spark")  # noqa: E402


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
