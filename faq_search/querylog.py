"""The query log: what users searched and which articles they opened, as JSON Lines.

One object per line in ``<FAQ_DATA_DIR>/queries.jsonl``::

    {"ts", "event": "search", "query", "results", "top_id", "confident", "index_version", "route"}
    {"ts", "event": "view", "article_id", "query"}

Nothing in it tells visitors apart (no address, session or cookie: no personal data); the page and
the console search as the user types, so one question typed is often several searches (FOLD_SECONDS).
Queries are redacted (faq_search.redact) before they are written. Each event is one ``write`` on a
file opened with O_APPEND, so the gunicorn workers can share the file without interleaving lines,
and the file is reopened per event, so rotating it (rename, then a new file) needs no signal.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable, Iterator

from .redact import redact

__all__ = ["QueryLog", "read_events", "FILENAME", "FOLD_SECONDS"]

FILENAME = "queries.jsonl"
# The page and the console search as the user types, and each search is logged: a search that a later
# one on the same route extends within this many seconds was typed on the way to it, and the report
# does not count it (faq_search.report.settled_searches). Here, not in report.py: the CLI's --help
# shows it without importing the report.
FOLD_SECONDS = 10.0


class QueryLog:
    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self._clock = clock

    def search(self, query: str, results: int, top_id: str | None, confident: bool,
               index_version: str | None, route: str) -> None:
        self._append({
            "ts": round(self._clock(), 3), "event": "search", "query": redact(query), "results": results,
            "top_id": top_id, "confident": confident, "index_version": index_version, "route": route,
        })

    def view(self, article_id: str, query: str | None = None) -> None:
        self._append({
            "ts": round(self._clock(), 3), "event": "view", "article_id": article_id,
            "query": redact(query) if query else None,
        })

    def _append(self, event: dict) -> None:
        """Raises OSError when the file cannot be written."""
        line = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        try:
            fd = os.open(self.path, flags, 0o640)
        except FileNotFoundError:  # the directory: made on first use, not checked per event
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, flags, 0o640)
        try:
            written = os.write(fd, line)
            if written < len(line):  # the disk filled up within the line
                _take_back(fd, written)
                raise OSError(f"short write, {written} of {len(line)} bytes (disk full?); the part written was removed")
        finally:
            os.close(fd)


def _take_back(fd: int, written: int) -> None:
    """Cut the last ``written`` bytes off the file: left there, the next event would be glued to them and
    lost with them. Not when another writer has appended since: that would cut its line."""
    end = os.lseek(fd, 0, os.SEEK_CUR)  # O_APPEND: the end of what this write added
    if os.fstat(fd).st_size == end:
        os.ftruncate(fd, end - written)


def read_events(path: str | Path, since: float | None = None) -> Iterator[dict]:
    """Events of the log at ``path`` with ``ts >= since``; a missing file yields nothing.

    Lines that are not JSON objects with a numeric ``ts`` (a torn last line, hand edits) are skipped.
    """
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        for raw in f:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(event, dict) or not isinstance(event.get("ts"), (int, float)):
                continue
            if since is None or event["ts"] >= since:
                yield event
