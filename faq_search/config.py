"""Settings: one table of (name, environment variable, default, help), read once at the edge."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Mapping

# name, type, default, help — the README's configuration table mirrors this (tests check it).
SETTINGS = (
    ("FAQ_INDEX_DIR", str, "index", "Index directory written by build_index.py (the server follows its CURRENT pointer)."),
    ("FAQ_CORPUS_DIR", str, "corpus", "Knowledge-base directory that `make run` and `faq-search build` read."),
    ("FAQ_DATA_DIR", str, "data", "Writable directory for what the service records, outside the index: the query log (`queries.jsonl`) and the feedback store (`feedback.sqlite3`: votes and left questions)."),
    ("FAQ_MAX_QUERY_CHARS", int, 200, "Longest accepted query, in characters; longer gets 400 `query_too_long`."),
    ("FAQ_MAX_K", int, 50, "Largest number of results one search may ask for."),
    ("FAQ_MIN_SCORE", float, 0.1, "Lexical floor: articles matching less than this share (0–1) of the query's term weight are not candidates, whatever the reranker would make of them."),
    ("FAQ_RELOAD_INTERVAL", float, 1.0, "Seconds between checks of the index pointer for a newly published version."),
    ("FAQ_COMPLETIONS_WAIT", float, 120.0, "Seconds a server waits for the completion data `build_index.py` writes after publishing a version before building it itself; meanwhile the previous version's completions answer."),
    ("FAQ_QUERY_LOG", int, 1, "1 appends every search and article view, personal data redacted, to `<FAQ_DATA_DIR>/queries.jsonl`; 0 turns the query log off."),
    ("FAQ_SEARCH_CACHE", int, 2048, "Searches each gunicorn worker remembers per index version (the same query, k, category and tag answered from memory; logged and counted like any search); 0 turns the cache off."),
    ("FAQ_MAX_BODY_BYTES", int, 16384, "Largest accepted request body in bytes; larger gets 413 `too_large`."),
    ("FAQ_RATE_API", int, 120, "Requests per minute one client may make to /api/*, /admin/* and the search page's own searches (/?q=), per gunicorn worker (bursts up to the same number); 0 turns the limit off."),
    ("FAQ_RATE_FEEDBACK", int, 10, "Votes per minute one client may post (POST /api/feedback), per worker, on top of the /api/* limit (which /api/feedback/stats falls under alone); 0 turns it off."),
    ("FAQ_RATE_QUESTION", int, 10, "Questions per minute one client may leave for the editors (POST /api/question: stored, with a contact), per worker, on top of the /api/* limit; 0 turns it off."),
    ("FAQ_POPULAR_MIN_VOTES", int, 3, "\"Helpful\" votes an article needs, and more of them than \"not helpful\", to be listed among the popular questions ahead of corpus/popular.yml (one visitor's vote does not take over the search page)."),
    ("FAQ_PROXY_HOPS", int, 0, "Reverse proxies in front of gunicorn whose X-Forwarded-For is trusted to identify clients; 0 uses the socket address."),
    ("FAQ_ADMIN_TOKEN", str, "", "Bearer token (16+ characters) for /admin/reload and /admin/stats; unset, those endpoints do not exist."),
    ("PROMETHEUS_MULTIPROC_DIR", str, "", "Directory for the per-worker metric files behind /metrics; gunicorn.conf.py creates and removes a temporary one when unset."),
    ("HOST", str, "127.0.0.1", "Address gunicorn binds (`make run`, `faq-search serve`)."),
    ("PORT", int, 8000, "Port gunicorn binds."),
    ("WEB_CONCURRENCY", int, 2, "gunicorn worker processes (the index is loaded once, before they fork)."),
)


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
        return cls(**values)


assert {f.name for f in fields(Config)} == {s[0] for s in SETTINGS}
