"""faq-search: Chinese FAQ search for a digital wallet's customer service.

``from faq_search import Searcher`` is the front door; nothing heavy runs at import.
"""

__version__ = "0.1.0"
__all__ = ["Searcher", "Hit", "__version__"]


def __getattr__(name):
    # Lazy, so `import faq_search` stays cheap (the CLI's --help, setup tools).
    if name in ("Searcher", "Hit"):
        from . import search

        return getattr(search, name)
    raise AttributeError(name)
