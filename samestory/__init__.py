"""samestory: find the news articles that tell the same story."""

from .article import Article
from .errors import InputError, SamestoryError, UsageError

__version__ = "0.1.0"

__all__ = ["Article", "InputError", "SamestoryError", "UsageError", "__version__"]
