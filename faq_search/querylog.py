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

import gzip
import json
import math
import os
import re
import time
from pathlib import Path
from typing import Callable, Iterator

from .redact import redact

__all__ = ["QueryLog", "read_events", "log_files", "FILENAME", "FOLD_SECONDS"]

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

    def view(self, article_id: str, query: str | None = None, max_chars: int | None = None) -> None:
        """``query`` is redacted, then cut to ``max_chars``: cut first, a number straddling the cut would
        keep too few digits to be recognised (13 of a card's 19) and reach the file."""
        self._append({
            "ts": round(self._clock(), 3), "event": "view", "article_id": article_id,
            "query": redact(query)[:max_chars] if query else None,
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
    """Events of the log at ``path`` with ``ts >= since``; a missing file yields nothing, a ``.gz`` one
    (a rotated copy logrotate compressed) is read through gzip.

    Lines that are not JSON objects with a numeric ``ts`` (a torn last line, hand edits) are skipped.
    A line older than ``since`` is skipped by the ``{"ts":…,`` that opens it (as QueryLog writes it)
    without being parsed: a report of the last day reads a month of log in a fraction of the time.
    """
    try:
        f = gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        for raw in f:
            if since is not None and raw.startswith(b'{"ts":'):
                try:
                    if float(raw[6:raw.find(b",", 6)]) < since:
                        continue
                except ValueError:  # not as QueryLog writes it: parsed below
                    pass
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(event, dict) or not isinstance(event.get("ts"), (int, float)):
                continue
            if since is None or event["ts"] >= since:
                yield event


# logrotate's names for the log's older parts: queries.jsonl.1, queries.jsonl.2.gz, and with `dateext`
# queries.jsonl-20261124(.gz).
_ROTATED = re.compile(r"(\.\d+|-\d[\d_.-]*?)(\.gz)?")


def log_files(path: str | Path) -> list[tuple[float, Path]]:
    """The log at ``path`` and its rotated copies beside it (_ROTATED) as (first event's ts, file), in
    time order; files without an event are left out, one that cannot be read (not gzip, no permission)
    comes first with ts -inf. Sorted by their events, not their names, as rotations and hand renames
    number them differently. A copy both plain and .gz (logrotate caught compressing it) is read plain."""
    path = Path(path)
    try:
        names = {p.name for p in path.parent.iterdir()}
    except OSError:  # no directory
        return []
    files = []
    for name in names:
        if name != path.name:
            rotated = name.startswith(path.name) and _ROTATED.fullmatch(name[len(path.name):])
            if not rotated or rotated.group(2) and name[:-3] in names:
                continue
        if not (path.parent / name).is_file():
            continue
        try:
            first = next(read_events(path.parent / name), None)
        except (OSError, EOFError):  # read_events raises it again when the file is read
            first = {"ts": -math.inf}
        if first is not None:
            files.append((first["ts"], path.parent / name))
    return sorted(files)
