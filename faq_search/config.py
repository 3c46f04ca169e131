"""Settings: one table of (name, environment variable, default, help), read once at the edge."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Mapping

# The most results a page asks for: the agents' console lists 20 hits and asks for one more, to tell "the
# first 20" from "all 20" (static/agent.js); its popular list asks for 20, the search page for 10.
PAGES_K = 21

# name, type, default, help — the README's configuration table mirrors this (tests check it).
SETTINGS = (
    ("FAQ_INDEX_DIR", str, "index", "Index directory written by build_index.py (the server follows its CURRENT pointer)."),
    ("FAQ_CORPUS_DIR", str, "corpus", "Knowledge-base directory that `make run` and `faq-search build` read."),
    ("FAQ_DATA_DIR", str, "data", "Writable directory for what the service records, outside the index: the query log (`queries.jsonl`) and the feedback store (`feedback.sqlite3`: votes and left questions)."),
    ("FAQ_MAX_QUERY_CHARS", int, 200, "Longest accepted query, in characters (1 or more); longer gets 400 `query_too_long`."),
    ("FAQ_MAX_K", int, 50, "Largest number of results one search may ask for: 21 or more, what the pages ask for (the agents' console 21, the search page 10)."),
    ("FAQ_MIN_SCORE", float, 0.1, "Lexical floor: articles matching less than this share (from 0 to 1) of the query's term weight are not candidates, whatever the reranker would make of them."),
    ("FAQ_RELOAD_INTERVAL", float, 1.0, "Seconds (from 0 to 3600) between checks of the index pointer for a newly published version."),
    ("FAQ_COMPLETIONS_WAIT", float, 120.0, "Seconds (from 0 to 86400) a server waits for the completion data `build_index.py` writes after publishing a version before building it itself; meanwhile the previous version's completions answer."),
    ("FAQ_QUERY_LOG", int, 1, "0 or 1: 1 appends every search and article view, personal data redacted, to `<FAQ_DATA_DIR>/queries.jsonl`; 0 turns the query log off."),
    ("FAQ_SEARCH_CACHE", int, 2048, "Searches (0 or more) each gunicorn worker remembers per index version (the same query, k, category and tag answered from memory; logged and counted like any search); 0 turns the cache off."),
    ("FAQ_MAX_BODY_BYTES", int, 16384, "Largest accepted request body in bytes (4096 or more); larger gets 413 `too_large`."),
    ("FAQ_RATE_API", int, 120, "Requests per minute (0 or more) one client may make to /api/*, /admin/* and the search page's own searches (/?q=), per gunicorn worker (bursts up to the same number); 0 turns the limit off."),
    ("FAQ_RATE_FEEDBACK", int, 10, "Votes per minute (0 or more) one client may post (POST /api/feedback, or the page's form, POST /feedback), per worker, on top of the /api/* limit (which /api/feedback/stats falls under alone); 0 turns it off."),
    ("FAQ_RATE_QUESTION", int, 10, "Questions per minute (0 or more) one client may leave for the editors (POST /api/question or the page's form, POST /question: stored, with a contact), per worker, on top of the /api/* limit; 0 turns it off."),
    ("FAQ_POPULAR_MIN_VOTES", int, 3, "\"Helpful\" votes (1 or more) an article needs, and more of them than \"not helpful\", to be listed among the popular questions ahead of corpus/popular.yml (one visitor's vote does not take over the search page)."),
    ("FAQ_PROXY_HOPS", int, 0, "Reverse proxies (0 or more) in front of gunicorn whose X-Forwarded-For is trusted to identify clients; 0 uses the socket address."),
    ("FAQ_ADMIN_TOKEN", str, "", "Bearer token (16+ characters) for /admin/reload and /admin/stats; unset, those endpoints do not exist."),
    ("PROMETHEUS_MULTIPROC_DIR", str, "", "Directory for the per-worker metric files behind /metrics; gunicorn.conf.py creates and removes a temporary one when unset."),
    ("HOST", str, "127.0.0.1", "Address gunicorn binds (`make run`, `faq-search serve`)."),
    ("PORT", int, 8000, "Port gunicorn binds (from 1 to 65535)."),
    ("WEB_CONCURRENCY", int, 2, "gunicorn worker processes (1 or more; the index is loaded once, before they fork)."),
)

# Lowest and highest (None: no limit) value of each numeric setting, as its help says: outside it a setting
# would break every search or request (FAQ_MIN_SCORE=1.5 or nan: no results), so it is refused at start.
RANGES = {
    "FAQ_MAX_QUERY_CHARS": (1, None),
    "FAQ_MAX_K": (PAGES_K, None),
    "FAQ_MIN_SCORE": (0, 1),
    "FAQ_RELOAD_INTERVAL": (0, 3600),
    "FAQ_COMPLETIONS_WAIT": (0, 86400),
    "FAQ_QUERY_LOG": (0, 1),
    "FAQ_SEARCH_CACHE": (0, None),
    # Room for a left question of ~900 characters (what gunicorn's 8190-byte request line lets a search
    # through) and its contact, at 4 bytes a character.
    "FAQ_MAX_BODY_BYTES": (4096, None),
    "FAQ_RATE_API": (0, None),
    "FAQ_RATE_FEEDBACK": (0, None),
    "FAQ_RATE_QUESTION": (0, None),
    "FAQ_POPULAR_MIN_VOTES": (1, None),
    "FAQ_PROXY_HOPS": (0, None),
    "PORT": (1, 65535),
    "WEB_CONCURRENCY": (1, None),
}


def range_text(name: str) -> str:
    """The range of setting ``name`` as its help and its refusal say it: "1 or more", "from 0 to 1"."""
    low, high = RANGES[name]
    if high is None:
        return f"{low} or more"
    whole = next(kind for n, kind, _default, _help in SETTINGS if n == name) is int
    return f"{low} or {high}" if whole and high == low + 1 else f"from {low} to {high}"


@dataclass(frozen=True)
class Config:
    FAQ_INDEX_DIR: str
    FAQ_CORPUS_DIR: str
    FAQ_DATA_DIR: str
    FAQ_MAX_QUERY_CHARS: int
    FAQ_MAX_K: int
    FAQ_MIN_SCORE: float
    FAQ_RELOAD_INTERVAL: float
    FAQ_COMPLETIONS_WAIT: float
    FAQ_QUERY_LOG: int
    FAQ_SEARCH_CACHE: int
    FAQ_MAX_BODY_BYTES: int
    FAQ_RATE_API: int
    FAQ_RATE_FEEDBACK: int
    FAQ_RATE_QUESTION: int
    FAQ_POPULAR_MIN_VOTES: int
    FAQ_PROXY_HOPS: int
    FAQ_ADMIN_TOKEN: str
    PROMETHEUS_MULTIPROC_DIR: str
    HOST: str
    PORT: int
    WEB_CONCURRENCY: int

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object] | None = None) -> "Config":
        """Defaults overridden by ``mapping`` (os.environ or a test's dict); raises ValueError on bad values."""
        mapping = mapping or {}
        values = {}
        for name, kind, default, _help in SETTINGS:
            raw = mapping.get(name, default)
            try:
                values[name] = kind(raw)
            except (TypeError, ValueError):
                raise ValueError(f"setting {name}={raw!r} is not a valid {kind.__name__}") from None
            if name in RANGES:
                low, high = RANGES[name]
                if not (low <= values[name] and (high is None or values[name] <= high)):  # nan fails both
                    raise ValueError(f"setting {name}={raw!r} is out of range: must be {range_text(name)}")
        return cls(**values)


assert {f.name for f in fields(Config)} == {s[0] for s in SETTINGS} >= set(RANGES)
