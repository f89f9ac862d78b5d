"""Command-line options several samestory commands share (the local ones and ``samestory spark``).

One definition each, so the same option reads and behaves the same everywhere.
"""

from __future__ import annotations

import typer

from .ingest import FORMATS
from .timeout import DEFAULT_SECONDS

_FORMAT_HELP = f"Input format: auto (decided from the content) or one of {', '.join(FORMATS)}."
_OUT_HELP = "Output file: .jsonl, .csv or .parquet; '-' (default) writes JSONL to standard output."
_MAX_HELP = "Largest single article, page, feed or record to read, in MiB; bigger ones are reported and skipped."
_TIMEOUT_HELP = ("Time limit in seconds for reading and extracting one document (a page, record or feed entry), "
                 "and again for cleaning it; a document over it is reported and skipped. 0: no limit.")
# Options several commands share (typer reads these as metadata; one object serves every command).
_INPUTS = typer.Argument(..., metavar="INPUT...", help="Files or directories to read; '-' reads standard input.")
_OUTPUT = typer.Option("-", "-o", "--output", metavar="OUT", help=_OUT_HELP)
_FORMAT = typer.Option("auto", "--format", "-f", help=_FORMAT_HELP)
_MAX_BYTES = typer.Option(20.0, "--max-bytes", metavar="MIB", help=_MAX_HELP)
_DOC_TIMEOUT = typer.Option(DEFAULT_SECONDS, "--doc-timeout", metavar="SECONDS", min=0.0, help=_TIMEOUT_HELP)
_QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar or summary line.")
_CLEAN_FIRST = typer.Option(True, "--clean/--no-clean", help="Clean the articles first (use --no-clean for output of 'samestory clean').")
_JACCARD = typer.Option(0.30, "--jaccard", min=0.01, max=1.0, help="Exact shingle Jaccard at or above which two articles are near-copies.")
_CONTAINMENT = typer.Option(0.80, "--containment", min=0.01, max=1.0, help="Share of the shorter article's shingles found in the longer one that makes it a cut-down copy.")
_THRESHOLD = typer.Option(0.5, "--threshold", min=0.01, max=0.99, help="Link probability at or above which an article joins a story (higher: more, smaller stories).")


def _embedder_name(value: str | None) -> str | None:
    from .embed import EMBEDDER_NAMES

    if value is not None and value not in EMBEDDER_NAMES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(EMBEDDER_NAMES)}")
    return value


_EMBEDDER = typer.Option(
    None, "--embedder", metavar="NAME", callback=_embedder_name,
    help="Article vectors the stories are made on: static (default; fast, English word vectors) or use (multilingual USE: "
         "links the same story across languages, about 55 articles/s on 2 cores). A store keeps the one it was made with.")
