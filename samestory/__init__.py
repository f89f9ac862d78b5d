"""samestory: find the news articles that tell the same story.

The pipeline runs one way: ingest -> clean -> fingerprint/embed -> compare ->
cluster -> store -> serve. The Python API mirrors the CLI::

    import samestory
    for article in samestory.read_articles(["crawl.warc.gz", "feed.xml"], on_error=print):
        cleaned = samestory.clean_article(article)
        print(cleaned.title, cleaned.date, cleaned.lang)

    verdict = samestory.compare(article_a, article_b)   # near_duplicate, jaccard, shared_passages
"""

from importlib import metadata as _metadata

from .article import Article
from .clean import clean_article, clean_articles
from .errors import InputError, SamestoryError, UsageError
from .ingest import Limits, iter_input, read_articles, read_bytes
from .verdict import compare_articles as compare

try:  # one version, pyproject's
    __version__ = _metadata.version("samestory")
except _metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "Article",
    "InputError",
    "Limits",
    "SamestoryError",
    "UsageError",
    "__version__",
    "clean_article",
    "clean_articles",
    "compare",
    "iter_input",
    "read_articles",
    "read_bytes",
]
