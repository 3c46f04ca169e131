"""Settings: one table of (name, environment variable, default, help), read once at the edge."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Mapping

# name, type, default, help — the README's configuration table mirrors this (tests check it).
SETTINGS = (
    ("FAQ_INDEX_DIR", str, "index", "Index directory written by build_index.py (the server follows its CURRENT pointer)."),
    ("FAQ_CORPUS_DIR", str, "corpus", "Knowledge-base directory that `make run` and `faq-search build` read."),
    ("FAQ_DATA_DIR", str, "data", "Writable directory for what the service records (`feedback.sqlite3`: votes and left questions), outside the index."),
    ("FAQ_MAX_QUERY_CHARS", int, 200, "Longest accepted query, in characters; longer gets 400 `query_too_long`."),
    ("FAQ_MAX_K", int, 50, "Largest number of results one search may ask for."),
    ("FAQ_MIN_SCORE", float, 0.1, "Results scoring below this (0–1) are not returned."),
    ("FAQ_RELOAD_INTERVAL", float, 1.0, "Seconds between checks of the index pointer for a newly published version."),
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
