"""Content-gap report from the query log and the feedback store: `faq-search report --since 7d`.

What users ask most, what they ask that the knowledge base cannot answer with confidence (the articles
editors should write next), which queries readers found answered by another article than the one ranked
first (phrasings to add to it), which articles readers vote "not helpful", and click-through (article
views per search). Rendered as text, or as a self-contained HTML page with an inline SVG chart.
"""

from __future__ import annotations

import functools
import heapq
import html
import math
import re
import sqlite3
import unicodedata
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from .feedback import _merge_aliases, read_rows
from .querylog import FOLD_SECONDS

__all__ = ["Report", "parse_since", "build_report", "settled_searches", "read_feedback", "read_votes", "read_orphaned_votes", "feedback_error",
           "report_from_files", "render_text", "render_html"]

# The feedback store is written by the web app (faq_search/feedback.py); the report only reads it.
FEEDBACK_FILENAME = "feedback.sqlite3"

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


LONGEST_SINCE_DAYS = 3660  # ten years: older than the log of any service this reads


def parse_since(text: str) -> float:
    """'30m', '24h', '7d', '2w' → seconds; raises ValueError."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*", text or "")
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 24h, 7d, 2w)")
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds > LONGEST_SINCE_DAYS * _UNITS["d"]:  # 999999d reached before year 1: a traceback, not a report
        raise ValueError(f"too long a period: {text!r} (at most {LONGEST_SINCE_DAYS}d)")
    return seconds


def normalize_query(query: str) -> str:
    """Group spellings of one question: width, case, spaces and trailing punctuation do not matter."""
    q = unicodedata.normalize("NFKC", query).lower()
    return re.sub(r"\s+", " ", q).strip().rstrip("?!.。？！~～ ")


@dataclass
class Report:
    since: float
    until: float
    searches: int = 0  # the searches users settled on: as-you-type prefixes not counted (settled_searches)
    prefixes: int = 0  # as-you-type prefixes left out of every count
    unanswered: int = 0  # searches without a confident answer
    views: int = 0
    top_queries: list[tuple[str, int, int]] = field(default_factory=list)  # (query, searches, confident)
    top_unanswered: list[tuple[str, int, str | None]] = field(default_factory=list)  # (query, searches, best guess)
    not_helpful: list[tuple[str, int, int]] | None = None  # (article id, not helpful, helpful); None: no store
    # (query, article voted helpful, votes, article the query ranked first): the query is a phrasing to add
    new_phrasings: list[tuple[str, str, int, str]] = field(default_factory=list)
    periods: list[tuple[str, int, int]] = field(default_factory=list)  # (label, searches, unanswered)
    titles: dict[str, str] = field(default_factory=dict)  # article id → question
    # (stored id, helpful, not helpful) of votes, all time, under an id that is no article's and no former
    # id of one (a renamed article without `aliases`); None: no index or no feedback store to tell
    orphaned_votes: list[tuple[str, int, int]] | None = None
    log_files: list[Path] = field(default_factory=list)  # the query log and its rotated copies found
    log_start: float | None = None  # ts of their oldest event; None: no event, or not read from files
    unreadable: list[str] = field(default_factory=list)  # "file: error" of log files that could not be read

    @property
    def log_starts_late(self) -> bool:
        """The log begins well into the period (rotated copies deleted, or a new service): its first
        days look quiet when they were not read. Well: by an hour, or a tenth of the period."""
        return self.log_start is not None and self.log_start - self.since > max(3600.0, (self.until - self.since) / 10)

    @property
    def click_through(self) -> float | None:
        return self.views / self.searches if self.searches else None

    @property
    def unanswered_rate(self) -> float | None:
        return self.unanswered / self.searches if self.searches else None


def read_feedback(path: str | Path, since: float, aliases: dict[str, str] | None = None
                  ) -> list[tuple[str, int, int]] | None:
    """(article id, not helpful, helpful) per article since ``since``, most not-helpful first, the votes
    under a former id (``aliases``: former id → id) counted for the article; None when there is no
    feedback store. Read-only: the web app owns the file."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        rows = read_rows(
            # Every id, "not helpful" or not: a former id's "not helpful" votes join the article's helpful ones.
            path, "SELECT article_id, SUM(helpful = 0), SUM(helpful != 0) FROM feedback WHERE ts >= ? "
            "GROUP BY article_id ORDER BY 2 DESC, 3 ASC, 1",
            (since,),
        )
    except sqlite3.DatabaseError:  # no feedback table yet, or unreadable (feedback_error says why)
        return None
    rows = [(str(a), int(n), int(h)) for a, n, h in rows]
    if aliases:  # sorted as all_counts sorts its rows: most of the first count, fewest of the second
        rows = _merge_aliases(rows, aliases)
    return [r for r in rows if r[1] > 0]


def read_votes(path: str | Path, since: float, aliases: dict[str, str] | None = None) -> list[tuple[str, str, int]]:
    """(query, article id, helpful votes) since ``since``, for every query and article voted helpful,
    a former id's votes (``aliases``) counted for the article; [] when there is no feedback store."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        rows = read_rows(path, "SELECT query, article_id, COUNT(*) FROM feedback WHERE ts >= ? AND helpful != 0 "
                         "GROUP BY query, article_id", (since,))
    except sqlite3.DatabaseError:
        return []
    votes, aliases = Counter(), aliases or {}
    for q, a, n in rows:
        votes[(str(q), aliases.get(a, str(a)))] += int(n)
    return [(q, a, n) for (q, a), n in votes.items()]


def read_orphaned_votes(path: str | Path, known: set[str]) -> list[tuple[str, int, int]] | None:
    """(article id, helpful, not helpful) of every stored id not in ``known`` (the index's ids and
    former ids), most votes first; None when there is no feedback store."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        rows = read_rows(path, "SELECT article_id, SUM(helpful != 0), SUM(helpful = 0) FROM feedback GROUP BY article_id")
    except sqlite3.DatabaseError:
        return None
    return sorted(((str(a), int(h), int(n)) for a, h, n in rows if a not in known), key=lambda r: (-r[1] - r[2], r[0]))


def feedback_error(path: str | Path) -> str | None:
    """SQLite's error reading the feedback store at ``path`` (a corrupt file, one this user may not
    read), which the read_* functions take for no store; None when it reads, or holds no votes yet."""
    try:
        read_rows(path, "SELECT COUNT(*) FROM feedback")
    except sqlite3.OperationalError as e:
        return None if "no such table" in str(e) or not Path(path).exists() else str(e)
    except sqlite3.DatabaseError as e:
        return str(e)
    return None


def _period_label(ts: float, weekly: bool) -> str:
    d = datetime.fromtimestamp(ts)
    if weekly:
        year, week, _ = d.isocalendar()
        return f"{year}-W{week:02d}"
    return d.strftime("%Y-%m-%d")


class _Folder:
    """settled_searches over a stream: searches (tuples of ts, route, normalized query, …) fed in time
    order, those settled on passed to ``settled`` in time order once ``window`` seconds went by without
    a search extending them. It holds the last ``window`` seconds of searches, not the log."""

    def __init__(self, window: float, settled: Callable[[tuple], None]):
        self.window, self.settled, self.prefixes = window, settled, 0
        self.recent: deque[list] = deque()  # [search, folded] of the window, in time order
        self.waiting: dict[tuple, list[list]] = {}  # (route, query) → its entries not folded, oldest first

    def add(self, s: tuple) -> None:
        ts, route, q = s[0], s[1], s[2]
        if self.recent and ts - self.recent[0][0][0] > self.window:
            self.expire(ts)
        waiting = self.waiting
        if len(waiting) >= len(q):  # a dict look-up per prefix: no scan of a busy window's searches
            extended = [(route, q[:end]) for end in range(1, len(q))]
        else:  # a quiet window: fewer searches than prefixes
            extended = [k for k in waiting if k[0] == route and len(k[1]) < len(q) and q.startswith(k[1])]
        for key in extended:
            for entry in waiting.pop(key, ()):
                entry[1] = True
                self.prefixes += 1
        entry = [s, False]
        waiting.setdefault((route, q), []).append(entry)
        self.recent.append(entry)

    def expire(self, ts: float = math.inf) -> None:
        """Settle the searches more than ``window`` seconds before ``ts`` (all of them by default)."""
        while self.recent and ts - self.recent[0][0][0] > self.window:
            s, folded = self.recent.popleft()
            if not folded:  # still waiting, the oldest of its query's
                held = self.waiting[(s[1], s[2])]
                held.pop(0)
                if not held:
                    del self.waiting[(s[1], s[2])]
                self.settled(s)


def settled_searches(searches: list[tuple[float, str | None, str, dict]], window: float = FOLD_SECONDS
                     ) -> tuple[list[tuple[float, str | None, str, dict]], int]:
    """The (ts, route, normalized query, event) searches users settled on, in time order, and how many
    were left out: a search is left out when a later one on the same route, at most ``window`` seconds
    after it, extends its query (starts with it, and is longer). The page and the console search as
    the user types, so 我的账户被冻结了 typed by IME is also logged as 我的, 我的账户, 我的账户被, 我的账户被冻结:
    those are the keystrokes, not four more questions. The log has no notion of a visitor (no personal
    data), so two visitors' searches that happen to extend one another within the window fold too."""
    settled: list = []
    folder = _Folder(window, settled.append)
    for s in sorted(searches, key=lambda s: s[0]):  # the workers append in about, not exactly, time order
        folder.add(s)
    folder.expire()
    return settled, folder.prefixes


# build_report puts the searches back in time order within this many seconds of the newest one read
# (the workers append in about, not exactly, time order), holding only those in memory. A search
# logged later than that (a clock stepped back) is counted where it is read, folding nothing.
REORDER_SECONDS = 60.0


@functools.lru_cache(maxsize=1 << 12)  # a busy log repeats its queries: normalised once each
def _normalized(query: str) -> str:
    return normalize_query(query)


def build_report(events: Iterable[dict], since: float, until: float, feedback: list | None = None,
                 titles: dict[str, str] | None = None, top: int = 10, votes: list | None = None,
                 phrasings: dict[str, set[str]] | None = None, fold_seconds: float = FOLD_SECONDS,
                 aliases: dict[str, str] | None = None) -> Report:
    """Aggregate query-log events (see faq_search.querylog) with ``since <= ts <= until``, searches
    typed on the way to a later one left out (settled_searches; ``fold_seconds`` 0: none); ``votes``
    (read_votes) with the article each query ranked first in the log give the phrasings to add, less
    those an article already has (``phrasings``: article id → its phrasings, normalize_query'd). A search
    logged before a rename ranked the article first under its former id (``aliases``: former id → id).

    ``events`` are read once, as they come (REORDER_SECONDS): memory grows with the distinct queries,
    not with the log."""
    aliases = aliases or {}
    report = Report(since=since, until=until, not_helpful=feedback[:top] if feedback is not None else None,
                    titles=titles or {})
    weekly = until - since > 62 * 86400  # keep the chart readable
    asked, answered = Counter(), Counter()  # query → searches, and those answered with confidence
    guesses: Counter = Counter()  # (query, article ranked first) of searches without a confident answer
    voted = {normalize_query(query) for query, _, _ in votes or ()}
    firsts: dict[str, Counter] = defaultdict(Counter)  # voted query → articles ranked first
    per_period: dict[str, list[int]] = {}
    t = since
    while t <= until:  # every period appears, quiet ones too
        per_period.setdefault(_period_label(t, weekly), [0, 0])
        t += 86400
    per_period.setdefault(_period_label(until, weekly), [0, 0])
    labels: dict[int, str] = {}  # per quarter hour: every zone's offset, so its midnight, is a multiple of it

    def count(s: tuple) -> None:
        ts, _, q, top_id, confident = s
        if top_id is not None:
            top_id = aliases.get(top_id, top_id)
            if q in voted:
                firsts[q][top_id] += 1
        report.searches += 1
        asked[q] += 1
        quarter = int(ts // 900)
        label = labels.get(quarter) or labels.setdefault(quarter, _period_label(ts, weekly))
        period = per_period.setdefault(label, [0, 0])
        period[0] += 1
        if confident:
            answered[q] += 1
        else:
            report.unanswered += 1
            period[1] += 1
            if top_id:
                guesses[(q, top_id)] += 1

    folder = _Folder(fold_seconds, count) if fold_seconds > 0 else None
    settle = folder.add if folder else count
    pending: list[tuple] = []  # heap of (ts, order read, search) within REORDER_SECONDS of the newest
    newest = released = -math.inf
    for order, e in enumerate(events):
        ts = e.get("ts")
        if not isinstance(ts, (int, float)) or not since <= ts <= until:
            continue
        if e.get("event") == "view":
            report.views += 1
            continue
        if e.get("event") != "search" or not isinstance(e.get("query"), str):
            continue
        q = _normalized(e["query"])
        if not q:
            continue
        route, top_id = e.get("route"), e.get("top_id")
        s = (ts, route if isinstance(route, str) else None, q, top_id if isinstance(top_id, str) else None,
             e.get("confident") is True)
        if ts < released:  # later than any reordering: counted as read
            count(s)
            continue
        heapq.heappush(pending, (ts, order, s))
        newest = max(newest, ts)
        while pending[0][0] < newest - REORDER_SECONDS:
            released = pending[0][0]
            settle(heapq.heappop(pending)[2])
    while pending:
        settle(heapq.heappop(pending)[2])
    if folder:
        folder.expire()
        report.prefixes = folder.prefixes

    report.top_queries = [(q, n, answered[q]) for q, n in _most_common(asked.items(), top)]
    gaps = _most_common(((q, n - answered[q]) for q, n in asked.items() if n > answered[q]), top)
    best: dict[str, tuple[str | None, int]] = dict.fromkeys((q for q, _ in gaps), (None, 0))
    for (q, a), n in guesses.items():  # the first of the most guessed, as Counter.most_common(1) picks
        if q in best and n > best[q][1]:
            best[q] = (a, n)
    report.top_unanswered = [(q, n, best[q][0]) for q, n in gaps]
    report.periods = [(label, s, u) for label, (s, u) in sorted(per_period.items())]
    # A reader who searched q and voted another article than q's first helpful says q asks for that
    # article: the search would rank it first with q among its phrasings.
    helped = Counter()
    for query, article_id, n in votes or ():
        q = normalize_query(query)
        first = firsts[q].most_common(1)[0][0] if firsts.get(q) else None
        if first is not None and first != article_id and q not in (phrasings or {}).get(article_id, ()):
            helped[(q, article_id)] += n
    report.new_phrasings = [(q, a, n, firsts[q].most_common(1)[0][0])
                            for (q, a), n in _most_common(helped.items(), top)]
    return report


def report_from_files(data_dir: str | Path, index_dir: str | Path | None, since: float, until: float,
                      top: int = 10, fold_seconds: float = FOLD_SECONDS) -> Report:
    """The report over ``<data_dir>/queries.jsonl`` with its rotated copies (querylog.log_files) and the
    feedback store beside it; article titles come from the published index in ``index_dir`` when there
    is one (ids alone otherwise)."""
    from .index import IndexError_, load_index
    from .querylog import FILENAME, log_files, read_events

    titles, phrasings, known, aliases = {}, None, None, {}
    if index_dir is not None:
        try:
            data = load_index(index_dir, verify=False)
            articles = data.articles
            titles = {a.id: a.question for a in articles}
            phrasings = {a.id: {normalize_query(p) for p in a.questions} for a in articles}
            known, aliases = set(titles) | set(data.aliases), data.aliases
        except IndexError_:
            pass
    data_dir = Path(data_dir)
    files = log_files(data_dir / FILENAME)
    # The newest files back to one that starts before the period: the older ones end before it.
    older = [i for i, (first, _) in enumerate(files) if first < since - REORDER_SECONDS and first > -math.inf]
    unreadable: list[str] = []

    def events():
        for i, (first, path) in enumerate(files):
            if older and i < older[-1] and first > -math.inf:
                continue
            try:
                yield from read_events(path, since)
            except (OSError, EOFError) as e:  # a copy cut short, or being compressed: the rest still counts
                unreadable.append(f"{path}: {e}")

    report = build_report(events(), since, until,
                          feedback=read_feedback(data_dir / FEEDBACK_FILENAME, since, aliases), titles=titles, top=top,
                          votes=read_votes(data_dir / FEEDBACK_FILENAME, since, aliases), phrasings=phrasings,
                          fold_seconds=fold_seconds, aliases=aliases)
    report.log_files = [path for _, path in files]
    report.log_start = min((first for first, _ in files if first > -math.inf), default=None)
    report.unreadable = unreadable
    if known is not None:  # without the index every id would look orphaned
        report.orphaned_votes = read_orphaned_votes(data_dir / FEEDBACK_FILENAME, known)
    return report


def _most_common(counts: Iterable[tuple], n: int) -> list[tuple]:
    """The ``n`` (key, count) pairs of most counts; ties by key."""
    return heapq.nsmallest(n, counts, key=lambda kv: (-kv[1], kv[0]))  # sorted()[:n] without sorting them all


ORPHANED_HINT = "an article renamed without its old id? add `aliases: [old-id]` to the article it became"


# --- text -----------------------------------------------------------------------------------------

def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


# The report stays readable at 120 columns: one long query (200 characters) once made every row ~400 wide.
QUERY_CELLS, LINE_CELLS = 32, 120


def _printable(text: str) -> str:
    """``text`` with control characters shown as �: a query may hold ESC, which would drive the terminal."""
    return "".join("\ufffd" if unicodedata.category(ch) == "Cc" else ch for ch in text)


def _clip(text: str, cells: int) -> str:
    """``text`` in at most ``cells`` terminal cells (CJK characters take two), cut with … when longer;
    control characters shown as � (_printable)."""
    text = _printable(text)
    if _width(text) <= cells:
        return text
    out, used = "", 1  # the … takes one
    for ch in text:
        used += _width(ch)
        if used > cells:
            break
        out += ch
    return out + "…"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _when(ts: float) -> str:
    """Local time with its zone, as the CLI shows times: 2026-11-18 08:26 UTC+8 (a report run by cron in
    UTC and one from a shell in CST label the same moment differently; the days of the chart are local)."""
    from .cli import _format_time

    return _format_time(datetime.fromtimestamp(ts).astimezone().isoformat())


def _late_note(r: Report) -> str:
    return (f"note: the query log starts {_when(r.log_start)}, after the start of the period: nothing is counted "
            f"before it (rotated copies deleted, or a new log)")


def render_text(r: Report) -> str:
    out = [
        f"faq-search report {_when(r.since)} → {_when(r.until)}",
        f"searches {r.searches}{f' (and {r.prefixes} typed on the way to one, not counted)' if r.prefixes else ''}"
        f" · without a confident answer {r.unanswered} ({_pct(r.unanswered_rate)})"
        f" · article views {r.views} · click-through {_pct(r.click_through)}",
        *([_late_note(r)] if r.log_starts_late else []),
        "",
        "Top queries (searches, answered with confidence)",
    ]
    width = min(QUERY_CELLS, max([_width(q) for q, *_ in r.top_queries + r.top_unanswered + r.new_phrasings] + [10]))

    def query(q: str) -> str:
        return _pad(_clip(q, width), width)

    def titled(before: str, article_id: str, after: str = "") -> str:
        """``before`` + the article's title + ``after``, the title cut to keep the line within LINE_CELLS."""
        room = LINE_CELLS - _width(before) - _width(after)
        title = _clip(r.titles.get(article_id, ""), room) if room >= 8 else ""
        return f"{before}{title}{after}".rstrip()

    out += [f"{i:>3}. {query(q)}  {n:>6}  {c / n:>6.0%}" for i, (q, n, c) in enumerate(r.top_queries, 1)]
    out += ["     (no searches)"] if not r.top_queries else []
    out += ["", "Top queries without a confident answer: write these articles next (searches, best guess)"]
    out += [f"{i:>3}. {query(q)}  {n:>6}  {guess or '–'}" for i, (q, n, guess) in enumerate(r.top_unanswered, 1)]
    out += ["     (none)"] if not r.top_unanswered else []
    out += ["", "Answered by another article than the first: add each query to that article's similar questions",
            "(helpful votes, ranked first)"]
    out += [titled(f"{i:>3}. {query(q)}  → {a}  ", a, f"  {n:>3}  {first}")
            for i, (q, a, n, first) in enumerate(r.new_phrasings, 1)]
    out += ["     (none)"] if not r.new_phrasings else []
    out += ["", 'Articles with the most "not helpful" votes (not helpful, helpful)']
    if r.not_helpful is None:
        out.append("     (no feedback store)")
    else:
        out += [titled(f"{i:>3}. {n:>5} {h:>5}  {a}  ", a) for i, (a, n, h) in enumerate(r.not_helpful, 1)]
        out += ["     (none)"] if not r.not_helpful else []
    out += ["", "Votes for no article, all time (helpful, not helpful):", ORPHANED_HINT]
    if r.orphaned_votes is None:
        out.append("     (no index or no feedback store to compare)")
    else:
        # Every one (the API takes votes for known ids only: these come from renamed or removed articles).
        out += [f"{i:>3}. {h:>5} {n:>5}  {_clip(a, LINE_CELLS - 18)}" for i, (a, h, n) in enumerate(r.orphaned_votes, 1)]
        out += ["     (none)"] if not r.orphaned_votes else []
    return "\n".join(out) + "\n"


# --- HTML -----------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, "Noto Sans CJK SC", "PingFang SC", sans-serif; color: #1f2933; max-width: 960px;
       margin: 0 auto; padding: 24px 16px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 24px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e4e7eb; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.kpi { display: flex; gap: 24px; flex-wrap: wrap; }
.kpi div { background: #f5f7fa; border-radius: 8px; padding: 8px 16px; }
.kpi b { display: block; font-size: 1.4rem; }
svg text { font-size: 11px; fill: #52606d; }
"""


def _chart(periods: list[tuple[str, int, int]]) -> str:
    """Stacked bars: searches per period, the part without a confident answer in orange."""
    if not periods:
        return ""
    w, h, left, bottom, top_pad = 900, 260, 40, 40, 10
    peak = max([s for _, s, _ in periods] + [1])
    step = (w - left) / len(periods)
    bar = max(2.0, step * 0.7)
    scale = (h - bottom - top_pad) / peak
    e = html.escape
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" role="img" '
             f'aria-label="searches per period, without a confident answer highlighted">']
    parts.append(f'<line x1="{left}" y1="{h - bottom}" x2="{w}" y2="{h - bottom}" stroke="#9aa5b1"/>')
    parts.append(f'<text x="{left - 6}" y="{top_pad + 8}" text-anchor="end">{peak}</text>')
    parts.append(f'<text x="{left - 6}" y="{h - bottom}" text-anchor="end">0</text>')
    every = max(1, len(periods) // 12)  # at most ~12 labels
    for i, (label, searches, unanswered) in enumerate(periods):
        x = left + i * step + (step - bar) / 2
        answered_h, missed_h = (searches - unanswered) * scale, unanswered * scale
        y_missed = h - bottom - missed_h
        parts.append(f'<rect x="{x:.1f}" y="{y_missed:.1f}" width="{bar:.1f}" height="{missed_h:.1f}" fill="#e8590c">'
                     f'<title>{e(label)}: {unanswered} without a confident answer</title></rect>')
        parts.append(f'<rect x="{x:.1f}" y="{y_missed - answered_h:.1f}" width="{bar:.1f}" height="{answered_h:.1f}" '
                     f'fill="#3e7cb1"><title>{e(label)}: {searches} searches</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{h - bottom + 16}" text-anchor="middle">{e(label[5:] if len(label) == 10 else label)}</text>')
    parts.append(f'<rect x="{left}" y="{h - 14}" width="10" height="10" fill="#3e7cb1"/>'
                 f'<text x="{left + 14}" y="{h - 5}">answered with confidence</text>'
                 f'<rect x="{left + 170}" y="{h - 14}" width="10" height="10" fill="#e8590c"/>'
                 f'<text x="{left + 184}" y="{h - 5}">without a confident answer</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(r: Report) -> str:
    """One self-contained page: CSS in a <style> element, the chart as inline SVG, no scripts."""
    def e(text: str) -> str:  # control characters as the text report shows them
        return html.escape(_printable(text))

    def rows(items, cells):
        return "".join("<tr>" + "".join(cells(*item)) + "</tr>" for item in items) or \
            '<tr><td colspan="4">none</td></tr>'

    top = rows(r.top_queries, lambda q, n, c: (f"<td>{e(q)}</td>", f'<td class="n">{n}</td>', f'<td class="n">{c / n:.0%}</td>'))
    gaps = rows(r.top_unanswered, lambda q, n, g: (f"<td>{e(q)}</td>", f'<td class="n">{n}</td>',
                                                   f"<td>{e(r.titles.get(g, g) if g else '–')}</td>"))
    add = rows(r.new_phrasings, lambda q, a, n, first: (f"<td>{e(q)}</td>", f"<td>{e(a)} {e(r.titles.get(a, ''))}</td>",
                                                        f'<td class="n">{n}</td>', f"<td>{e(first)}</td>"))
    if r.not_helpful is None:
        votes = '<tr><td colspan="4">no feedback store</td></tr>'
    else:
        votes = rows(r.not_helpful, lambda a, n, h: (f"<td>{e(a)}</td>", f"<td>{e(r.titles.get(a, ''))}</td>",
                                                     f'<td class="n">{n}</td>', f'<td class="n">{h}</td>'))
    if r.orphaned_votes is None:
        orphaned = '<tr><td colspan="3">no index or no feedback store to compare</td></tr>'
    else:
        orphaned = rows(r.orphaned_votes, lambda a, h, n: (f"<td>{e(a)}</td>", f'<td class="n">{h}</td>',
                                                           f'<td class="n">{n}</td>'))
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>faq-search report {e(_when(r.since))} – {e(_when(r.until))}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>易钱包帮助中心 · search report</h1>
<p>{e(_when(r.since))} → {e(_when(r.until))}</p>
{f"<p><strong>{e(_late_note(r))}</strong></p>" if r.log_starts_late else ""}
<div class="kpi">
<div><b>{r.searches}</b>searches{f" ({r.prefixes} typed on the way to one, not counted)" if r.prefixes else ""}</div>
<div><b>{_pct(r.unanswered_rate)}</b>without a confident answer</div>
<div><b>{r.views}</b>article views</div>
<div><b>{_pct(r.click_through)}</b>click-through</div>
</div>
<h2>Searches per {"week" if r.periods and "-W" in r.periods[0][0] else "day"}</h2>
{_chart(r.periods)}
<h2>Top queries</h2>
<table><tr><th>query</th><th class="n">searches</th><th class="n">answered</th></tr>{top}</table>
<h2>Without a confident answer: write these next</h2>
<table><tr><th>query</th><th class="n">searches</th><th>best guess</th></tr>{gaps}</table>
<h2>Answered by another article than the first: phrasings to add</h2>
<table><tr><th>query</th><th>article voted helpful</th><th class="n">votes</th><th>ranked first</th></tr>{add}</table>
<h2>Most “not helpful” votes</h2>
<table><tr><th>article</th><th>question</th><th class="n">not helpful</th><th class="n">helpful</th></tr>{votes}</table>
<h2>Votes for no article (all time)</h2>
<p>{e(ORPHANED_HINT)}</p>
<table><tr><th>stored id</th><th class="n">helpful</th><th class="n">not helpful</th></tr>{orphaned}</table>
</body>
</html>
"""
