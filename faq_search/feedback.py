"""What users tell us: "was this answer helpful?" votes and questions left when nothing matched.

Stored in one SQLite file (standard library), ``<FAQ_DATA_DIR>/feedback.sqlite3``, shared by every
worker process. Each call opens and closes its own connection, so nothing crosses gunicorn's fork or
threads; WAL mode lets readers go on while a vote is written. Reads never create the file.
"""

from __future__ import annotations

import bisect
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

__all__ = ["Counts", "FeedbackStore", "FILENAME"]

FILENAME = "feedback.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback(
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, query TEXT NOT NULL, article_id TEXT NOT NULL, helpful INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_article ON feedback(article_id);
CREATE TABLE IF NOT EXISTS questions(
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, query TEXT NOT NULL, contact TEXT NOT NULL DEFAULT '');
"""


@dataclass(frozen=True)
class Counts:
    helpful: int = 0
    not_helpful: int = 0

    def to_dict(self) -> dict:
        return {"helpful": self.helpful, "not_helpful": self.not_helpful}


class FeedbackStore:
    """Votes and left questions in ``path``. Raises sqlite3.Error when the file is unusable."""

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time, timeout: float = 5.0):
        self.path = Path(path)
        self._clock = clock
        self._timeout = timeout
        self._ready = False  # schema created by this process

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=self._timeout)

    def _write(self, sql: str, params: tuple) -> int:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
            self._ready = True
        with closing(self._connect()) as db, db:
            return db.execute(sql, params).lastrowid

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        if not self.path.exists():
            return []
        with closing(self._connect()) as db:
            try:
                return db.execute(sql, params).fetchall()
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):  # created by a writer that has not finished yet
                    return []
                raise

    def add_vote(self, query: str, article_id: str, helpful: bool, aliases: Iterable[str] = ()) -> Counts:
        """Record one vote; returns the article's counts including it (and the votes under ``aliases``)."""
        self._write("INSERT INTO feedback(ts, query, article_id, helpful) VALUES (?, ?, ?, ?)",
                    (self._clock(), query, article_id, int(bool(helpful))))
        return self.counts(article_id, aliases)

    def counts(self, article_id: str, aliases: Iterable[str] = ()) -> Counts:
        """The votes of ``article_id`` and those stored under its former ids ``aliases``."""
        ids = list(dict.fromkeys((article_id, *aliases)))
        rows = self._read("SELECT COALESCE(SUM(helpful), 0), COUNT(*) FROM feedback "
                          f"WHERE article_id IN ({', '.join('?' * len(ids))})", tuple(ids))
        if not rows:
            return Counts()
        helpful, total = rows[0]
        return Counts(helpful, total - helpful)

    def all_counts(self, aliases: dict[str, str] | None = None) -> dict[str, Counts]:
        """Counts of every article that has votes, most helpful first (then fewest "not helpful").
        ``aliases`` (former id → current id): votes stored under a former id count for the current one."""
        rows = self._read(
            "SELECT article_id, SUM(helpful), COUNT(*) - SUM(helpful) FROM feedback "
            "GROUP BY article_id ORDER BY 2 DESC, 3 ASC, article_id"
        )
        if aliases:
            rows = _merge_aliases(rows, aliases)
        return {aid: Counts(h, n) for aid, h, n in rows}

    def add_question(self, query: str, contact: str = "") -> int:
        """Keep a question nobody answered (and how to reach the user, if given); returns its id."""
        return self._write("INSERT INTO questions(ts, query, contact) VALUES (?, ?, ?)", (self._clock(), query, contact))

    def questions(self, limit: int = 100) -> list[dict]:
        """The newest left questions first."""
        rows = self._read("SELECT id, ts, query, contact FROM questions ORDER BY id DESC LIMIT ?", (limit,))
        return [{"id": i, "ts": ts, "query": q, "contact": c} for i, ts, q, c in rows]


def _merge_aliases(rows: list[tuple], aliases: dict[str, str]) -> list[tuple]:
    """``rows`` (id, helpful, not helpful), sorted as all_counts sorts them, with the rows of former ids
    added to their current id's. Only the articles concerned move (a few among up to 100k rows):
    re-sorting every row cost about as much as the query."""
    moved: dict[str, list[int]] = {}
    for aid, h, n in rows:
        if aid in aliases:
            c = moved.setdefault(aliases[aid], [0, 0])
            c[0] += h
            c[1] += n
    if not moved:
        return rows
    kept = []
    for r in rows:
        if r[0] in moved:  # a current id that also has votes of its own
            moved[r[0]][0] += r[1]
            moved[r[0]][1] += r[2]
        elif r[0] not in aliases:
            kept.append(r)
    order = lambda r: (-r[1], r[2], r[0])  # noqa: E731 - the ORDER BY of all_counts
    for aid, (h, n) in moved.items():
        bisect.insort(kept, (aid, h, n), key=order)
    return kept
