"""What users tell us: "was this answer helpful?" votes and questions left when nothing matched.

Stored in one SQLite file (standard library), ``<FAQ_DATA_DIR>/feedback.sqlite3``, shared by every
worker process. Each call opens and closes its own connection, so nothing crosses gunicorn's fork or
threads; WAL mode lets readers go on while a vote is written. Reads never create the file.

A client counts once per article: its first vote is a row of ``feedback`` (what every count reads),
later ones are kept in ``repeat_votes``. Clients are told apart by ``voters``: a keyed hash of the
article id and the client's address, never the address, and not the same for two articles.
"""

from __future__ import annotations

import bisect
import hmac
import logging
import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

__all__ = ["Counts", "FeedbackStore", "FILENAME", "QUESTION_SEND_SECONDS", "read_rows"]

FILENAME = "feedback.sqlite3"
# How long a left question's send id is remembered: the search page sends a question it got no answer for
# again by itself (every 30 s while the server is down, or once the browser is back online) with the same id.
QUESTION_SEND_SECONDS = 24 * 3600

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback(
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, query TEXT NOT NULL, article_id TEXT NOT NULL, helpful INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_article ON feedback(article_id);
CREATE TABLE IF NOT EXISTS questions(
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, query TEXT NOT NULL, contact TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS question_sends(
    send_id TEXT PRIMARY KEY, ts REAL NOT NULL, question_id INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS repeat_votes(
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, query TEXT NOT NULL, article_id TEXT NOT NULL, helpful INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS voters(token BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS voter_key(id INTEGER PRIMARY KEY CHECK (id = 1), key BLOB NOT NULL);
INSERT OR IGNORE INTO voter_key VALUES (1, randomblob(32));
"""
# Each article's totals, kept by triggers as votes are added, removed or edited (an operator deleting
# spam with sqlite3): the search page lists the most helpful articles on every visit, and summing 100k
# votes took ≈ 170 ms. A store written before them gets them, filled from its votes, from its first
# writer: in one write transaction, so no vote falls between (totals are empty only while votes are;
# a removed article's row stays, at zero). Until then reads sum the votes.
_TOTALS = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS vote_totals(
    article_id TEXT PRIMARY KEY, helpful INTEGER NOT NULL, not_helpful INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO vote_totals SELECT article_id, SUM(helpful), COUNT(*) - SUM(helpful) FROM feedback
    WHERE NOT EXISTS (SELECT 1 FROM vote_totals) GROUP BY article_id;
CREATE TRIGGER IF NOT EXISTS vote_added AFTER INSERT ON feedback BEGIN
    INSERT INTO vote_totals VALUES (NEW.article_id, NEW.helpful, 1 - NEW.helpful) ON CONFLICT(article_id)
    DO UPDATE SET helpful = helpful + NEW.helpful, not_helpful = not_helpful + 1 - NEW.helpful;
END;
CREATE TRIGGER IF NOT EXISTS vote_removed AFTER DELETE ON feedback BEGIN
    UPDATE vote_totals SET helpful = helpful - OLD.helpful, not_helpful = not_helpful - 1 + OLD.helpful
    WHERE article_id = OLD.article_id;
END;
CREATE TRIGGER IF NOT EXISTS vote_changed AFTER UPDATE OF article_id, helpful ON feedback BEGIN
    UPDATE vote_totals SET helpful = helpful - OLD.helpful, not_helpful = not_helpful - 1 + OLD.helpful
    WHERE article_id = OLD.article_id;
    INSERT INTO vote_totals VALUES (NEW.article_id, NEW.helpful, 1 - NEW.helpful) ON CONFLICT(article_id)
    DO UPDATE SET helpful = helpful + NEW.helpful, not_helpful = not_helpful + 1 - NEW.helpful;
END;
COMMIT;
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
        self._ready = False  # the schema is there (see _setup)

    def _connect(self) -> sqlite3.Connection:
        # mode=rw: connecting never creates the file. A store removed while serving would come back
        # empty, without its schema and with the umask's mode (contacts readable by all).
        return sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=rw", uri=True, timeout=self._timeout)

    def _setup(self) -> None:
        """Create the directory, the file (0o640) and the schema: once per process, before its first write."""
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(self.path)
            deadline = time.monotonic() + self._timeout
            while True:
                try:
                    with closing(self._connect()) as db:
                        db.execute("PRAGMA journal_mode=WAL")
                        db.executescript(_SCHEMA)
                        db.executescript(_TOTALS)
                    break
                except sqlite3.OperationalError as e:
                    # Workers setting up a new store at once (the first votes after a start): switching it to
                    # WAL takes it whole, and SQLite says "locked" at once instead of waiting (1 in 18 of 20 at once).
                    if "locked" not in str(e) or time.monotonic() >= deadline:
                        raise
                    time.sleep(0.01)
            self._ready = True

    def _transaction(self, work: Callable[[sqlite3.Connection], object]):
        """``work(db)``'s result, in one write transaction. A store removed or moved away since this
        process set it up (an operator archiving it, its directory cleared) is created again, as at
        the first vote, rather than every later write failing until a restart."""
        self._setup()
        try:
            with closing(self._connect()) as db, db:
                return work(db)
        except sqlite3.OperationalError as e:
            if self.path.exists() and "no such table" not in str(e):
                raise
        log.warning("feedback store %s is gone: creating it again", self.path)
        self._ready = False
        self._setup()
        with closing(self._connect()) as db, db:
            return work(db)

    def _write(self, sql: str, params: tuple) -> int:
        return self._transaction(lambda db: db.execute(sql, params).lastrowid)

    def _read(self, sql: str, params: tuple = (), fallback: str | None = None) -> list[tuple]:
        """``sql``'s rows; when a table it reads is missing, ``fallback``'s (same parameters), else none."""
        if not self.path.exists():
            return []
        try:
            return self._rows(sql, params)
        except sqlite3.OperationalError as e:
            if "no such table" not in str(e):
                raise
            if fallback is None:  # created by a writer that has not finished yet
                return []
            return self._read(fallback, params)

    def _rows(self, sql: str, params: tuple) -> list[tuple]:
        try:
            # Read-write where it can: the last connection to close folds the -wal into the file.
            with closing(self._connect()) as db:
                return db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                raise
        return read_rows(self.path, sql, params, self._timeout)  # a directory it may not write (read-only disk)

    def add_vote(self, query: str, article_id: str, helpful: bool, aliases: Iterable[str] = (),
                 client: str | None = None) -> tuple[Counts, bool]:
        """Record one vote: the article's counts (with the votes under ``aliases``), and whether this vote
        is among them. ``client`` (its address) counts once per article, under a former id too; a
        repeat is kept, not counted. Without one (a script, an import) every vote counts."""
        row = (self._clock(), query, article_id, int(bool(helpful)))

        def vote(db: sqlite3.Connection) -> bool:
            counted = client is None or self._first_vote(db, client, (article_id, *aliases))
            table = "feedback" if counted else "repeat_votes"
            db.execute(f"INSERT INTO {table}(ts, query, article_id, helpful) VALUES (?, ?, ?, ?)", row)
            return counted

        counted = self._transaction(vote)
        return self.counts(article_id, aliases), counted

    def _first_vote(self, db: sqlite3.Connection, client: str, ids: tuple[str, ...]) -> bool:
        """Whether ``client`` votes for the article (``ids``: its id, then former ids) for the first
        time; it is remembered as having voted. Part of the caller's transaction."""
        # Read per vote, not once per process: a store created again has a new key, and a worker
        # hashing with the old one would count a client's second vote.
        key = db.execute("SELECT key FROM voter_key").fetchone()[0]
        tokens = [hmac.digest(key, f"{aid}\n{client}".encode("utf-8", "surrogateescape"), "sha256")[:16]
                  for aid in dict.fromkeys(ids)]
        # Written first: the write lock is taken here, so a parallel vote of the same client waits for
        # this transaction and then finds its token.
        if db.execute("INSERT OR IGNORE INTO voters VALUES (?)", tokens[:1]).rowcount == 0:
            return False
        former = tokens[1:]
        return not former or db.execute(
            f"SELECT 1 FROM voters WHERE token IN ({', '.join('?' * len(former))})", former).fetchone() is None

    def _totals(self, where: str = "", params: tuple = ()) -> list[tuple]:
        """(id, helpful, not helpful) of the ids with votes (``where``: a condition on article_id),
        most helpful first, then fewest "not helpful"."""
        return self._read(
            f"SELECT article_id, helpful, not_helpful FROM vote_totals WHERE helpful + not_helpful > 0 "
            f"{where and 'AND ' + where} ORDER BY 2 DESC, 3 ASC, article_id", params,
            fallback="SELECT article_id, SUM(helpful), COUNT(*) - SUM(helpful) FROM feedback "
                     f"{where and 'WHERE ' + where} GROUP BY article_id ORDER BY 2 DESC, 3 ASC, article_id")

    def counts(self, article_id: str, aliases: Iterable[str] = ()) -> Counts:
        """The votes of ``article_id`` and those stored under its former ids ``aliases``."""
        ids = tuple(dict.fromkeys((article_id, *aliases)))
        rows = self._totals(f"article_id IN ({', '.join('?' * len(ids))})", ids)
        return Counts(sum(r[1] for r in rows), sum(r[2] for r in rows))

    def all_counts(self, aliases: dict[str, str] | None = None) -> dict[str, Counts]:
        """Counts of every article that has votes, most helpful first (then fewest "not helpful").
        ``aliases`` (former id → current id): votes stored under a former id count for the current one."""
        rows = self._totals()
        if aliases:
            rows = _merge_aliases(rows, aliases)
        return {aid: Counts(h, n) for aid, h, n in rows}

    def add_question(self, query: str, contact: str = "", send_id: str = "") -> int:
        """Keep a question nobody answered (and how to reach the user, if given); returns its id. A
        ``send_id`` (the page's, one per question) seen in the last QUESTION_SEND_SECONDS stores nothing
        and returns the question stored with it: a send taken whose answer was lost is not kept twice."""
        if not send_id:
            return self._write("INSERT INTO questions(ts, query, contact) VALUES (?, ?, ?)",
                               (self._clock(), query, contact))

        def once(db: sqlite3.Connection) -> int:
            now = self._clock()
            # A write first: the write lock is taken here, so the same question sent again in parallel
            # (another worker) waits for this transaction and then finds its id.
            db.execute("DELETE FROM question_sends WHERE ts < ?", (now - QUESTION_SEND_SECONDS,))
            stored = db.execute("SELECT question_id FROM question_sends WHERE send_id = ?", (send_id,)).fetchone()
            if stored:
                return stored[0]
            question_id = db.execute("INSERT INTO questions(ts, query, contact) VALUES (?, ?, ?)",
                                     (now, query, contact)).lastrowid
            db.execute("INSERT INTO question_sends VALUES (?, ?, ?)", (send_id, now, question_id))
            return question_id

        return self._transaction(once)

    def questions(self, limit: int = 100) -> list[dict]:
        """The newest left questions first."""
        rows = self._read("SELECT id, ts, query, contact FROM questions ORDER BY id DESC LIMIT ?", (limit,))
        return [{"id": i, "ts": ts, "query": q, "contact": c} for i, ts, q, c in rows]


def read_rows(path: str | Path, sql: str, params: tuple = (), timeout: float = 5.0) -> list[tuple]:
    """``sql``'s rows from the store at ``path``, opened read-only: never creates nor writes a file.
    A WAL store is opened read-only only where its -shm file exists or can be created, and the last
    connection to close removes it: a reader that may not write the directory (a group member reading
    the 0o640 store, a read-only disk) gets "attempt to write a readonly database". Without a -wal file
    every vote is in the main file, so it is then read as immutable (no locks: a writer that checkpoints
    meanwhile may make it miss a vote or fail, "database disk image is malformed")."""
    uri = Path(path).absolute().as_uri()
    try:
        with closing(sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout)) as db:
            return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError as e:
        if "readonly" not in str(e) and "unable to open" not in str(e) or _size(Path(f"{path}-wal")):
            raise
    with closing(sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=timeout)) as db:
        return db.execute(sql, params).fetchall()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0o640 whatever the umask, unless it exists (an operator's mode stays).
    It holds contacts and the voter key; SQLite gives its -wal and -shm files the same mode. Created
    at most 0o640 then set to it, so it is never readable by others, not even for a moment."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o640)
    finally:
        os.close(fd)


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
