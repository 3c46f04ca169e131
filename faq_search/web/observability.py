"""What happened: one JSON log line per request, Prometheus metrics at /metrics, the query log.

Views report a search or an article view with ``note_search`` / ``note_view``; after the response is
built, one hook writes the request log line, updates the metrics and appends to the query log.

prometheus_client decides at import whether it runs multi-process (PROMETHEUS_MULTIPROC_DIR), so it
is imported only inside functions here: gunicorn.conf.py must prepare the directory first.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import MutableMapping

from flask import Flask, Response, current_app, g, request

from ..config import Config
from ..querylog import FILENAME, QueryLog
from .errors import ApiError

__all__ = ["init_app", "note_search", "note_view", "JsonFormatter", "configure_logging",
           "MetricsDir", "prepare_metrics_dir", "worker_exited"]

log = logging.getLogger("faq_search.requests")
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


# --- what views report ----------------------------------------------------------------------

def note_search(query: str, hits, index_version: str) -> None:
    """Record the search this request ran (``hits``: the Hits returned)."""
    g.faq_search = {
        "query": query, "results": len(hits), "top_id": hits[0].id if hits else None,
        "confident": bool(hits and hits[0].confident), "index_version": index_version,
    }


def note_view(article_id: str) -> None:
    """Record that this request opened an article; ``?q=`` says which search led there."""
    g.faq_view = article_id


# --- logging ------------------------------------------------------------------------------------

class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, pid, the record's ``data`` dict, exc."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage(),
            "pid": record.process,
        }
        out.update(getattr(record, "data", None) or {})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(stream=None, level: int = logging.INFO) -> None:
    """Send every log record to ``stream`` (stderr) as a JSON line. For entry points only."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


# --- metrics --------------------------------------------------------------------------------------

# Methods counted under their own name; any other is "other".
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"})


class Metrics:
    """This app's metrics, in a registry of its own (tests build many apps in one process)."""

    def __init__(self, multiproc_dir: str):
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.multiproc_dir = multiproc_dir
        self.registry = CollectorRegistry()
        self.requests = Counter("faq_http_requests", "HTTP requests by route, method and status.",
                                ("route", "method", "status"), registry=self.registry)
        self.latency = Histogram("faq_http_request_duration_seconds", "Time to answer, by route.",
                                 ("route",), buckets=LATENCY_BUCKETS, registry=self.registry)
        self.searches = Counter("faq_searches", "Searches by route and outcome: confident (an answer), "
                                "unsure (only maybe-related hits) or none (no hit).",
                                ("route", "outcome"), registry=self.registry)
        self._index_gauges = None
        self._state_gauges = None
        self._version: str | None = None
        self._index_lock = threading.Lock()  # a swap's thread, the follower's and a scrape may report at once
        self._children: dict[tuple, tuple] = {}  # labels → (request counter, latency histogram)
        self._failing = False  # the last update failed: logged once, not at every request

    def request_done(self, route: str, method: str, status: int, latency: float, outcome: str | None = None) -> None:
        """Count one answered request, its latency and the search's ``outcome`` if it ran one (labelled
        children looked up once per label set). A failure is logged, never raised: the answer matters more."""
        if method not in HTTP_METHODS:  # a client may send any token as a method: one series for all of them
            method = "other"
        try:
            key = (route, method, status)
            children = self._children.get(key)
            if children is None:  # label sets are bounded: routes, methods, statuses
                children = self._children[key] = (self._child(self.requests, route, method, str(status)),
                                                  self._child(self.latency, route))
            children[0].inc()
            children[1].observe(latency)
            if outcome is not None:
                self._child(self.searches, route, outcome).inc()
        except Exception as e:  # noqa: BLE001 - bookkeeping must never fail a request
            self._failed(e)
        else:
            self._failing = False

    def _failed(self, e: Exception) -> None:
        if not self._failing:
            self._failing = True
            logging.getLogger(__name__).error("metrics not recorded: %s", e, exc_info=e)

    def _child(self, metric, *labels):
        """``metric.labels(*labels)``. A child's first value opens this process's file for its kind
        (counter_<pid>.db…): when the directory has gone (a cleaner of /tmp), it is made again first."""
        try:
            return metric.labels(*labels)
        except FileNotFoundError:
            self.ensure_dir()
            return metric.labels(*labels)

    def ensure_dir(self) -> None:
        """Make the metrics directory again if it was removed while serving (the counts in it are lost)."""
        if self.multiproc_dir and not os.path.isdir(self.multiproc_dir):
            Path(self.multiproc_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
            logging.getLogger(__name__).warning(
                "metrics directory %s was removed; made again (the counts it held are lost)", self.multiproc_dir)

    def index_served(self, searcher) -> None:
        """Update the index gauges when this process serves a new version: told by the LiveSearcher at each
        swap and when a forked worker starts serving (before any request), and at each scrape."""
        with self._index_lock:
            self._index_served(searcher)

    def _index_served(self, searcher) -> None:
        version = searcher.version if searcher else None
        if version == self._version:
            return
        if self._index_gauges is None:
            # Created on first use, in the worker: an unlabelled gauge made in the preloading master
            # would leave a file for the master's pid in the metrics directory.
            from prometheus_client import Gauge

            self.ensure_dir()  # the unlabelled gauge opens its file now
            self._index_gauges = (
                Gauge("faq_index_info", "1 for the index version this worker serves, 0 for earlier ones.",
                      ("version",), multiprocess_mode="liveall", registry=self.registry),
                Gauge("faq_index_articles", "Articles in the index version served most recently.",
                      multiprocess_mode="livemostrecent", registry=self.registry),
            )
        info, articles = self._index_gauges
        if self._version is not None:
            # Gone from /metrics: one series a version a worker grew without end under build --watch.
            # Workers' files keep what was set last, so 0, which exposition leaves out.
            self._child(info, self._version).set(0)
            info.remove(self._version)
        if searcher is not None:
            self._child(info, version).set(1)
            articles.set(len(searcher))
        self._version = version

    def index_state(self, state: str) -> None:
        """faq_index_stale and faq_index_damaged: 1 while the served version is so, as /healthz says
        (``state`` 'ok', 'stale' or 'damaged'), set at each scrape: an alert need not probe /healthz."""
        with self._index_lock:
            if self._state_gauges is None:  # in a worker, like the index gauges
                from prometheus_client import Gauge

                self.ensure_dir()
                # The scraped worker's word: it looked last (another one's file keeps what it saw before).
                self._state_gauges = (
                    Gauge("faq_index_stale", "1 while the published index version was refused (or the pointer "
                          "names none) and an older one serves, else 0.", multiprocess_mode="livemostrecent",
                          registry=self.registry),
                    Gauge("faq_index_damaged", "1 while the served version's files were written over in place "
                          "(searches crash the workers: restart), else 0.", multiprocess_mode="livemostrecent",
                          registry=self.registry),
                )
            stale, damaged = self._state_gauges
            stale.set(state == "stale")
            damaged.set(state == "damaged")

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        if not self.multiproc_dir:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        self.ensure_dir()
        registry = CollectorRegistry()  # sums every worker's files and the exited workers' totals
        registry.register(_WithoutFormerVersions(MultiProcessCollector(None, path=self.multiproc_dir)))
        with _exited_lock(self.multiproc_dir, fcntl.LOCK_SH, wait=5.0):  # not while the master folds a worker in
            return generate_latest(registry), CONTENT_TYPE_LATEST


class _WithoutFormerVersions:
    """A collector's metrics less the versions a worker served before (faq_index_info 0): their files
    cannot forget them, so they are left out here."""

    def __init__(self, collector):
        self.collector = collector

    def collect(self):
        for metric in self.collector.collect():
            if metric.name == "faq_index_info":
                metric.samples = [s for s in metric.samples if s.value != 0]
            yield metric


class MetricsDir:
    """The directory of per-process metric files, prepared in the gunicorn master before the app loads."""

    def __init__(self, path: Path, owned: bool):
        self.path, self.owned = path, owned
        self.pid = os.getpid()
        if owned:
            # Also when gunicorn exits without calling on_exit (a failed start: port in use, the app fails
            # to load).
            atexit.register(self._cleanup_at_exit)

    def cleanup(self) -> None:
        if self.owned:
            shutil.rmtree(self.path, ignore_errors=True)

    def _cleanup_at_exit(self) -> None:
        if os.getpid() == self.pid:  # gunicorn's forked workers run atexit too: only the master removes it
            self.cleanup()


# What this process prepared, by path: gunicorn runs gunicorn.conf.py again on HUP.
_prepared: dict[str, MetricsDir] = {}


def prepare_metrics_dir(environ: MutableMapping[str, str]) -> MetricsDir:
    """Use $PROMETHEUS_MULTIPROC_DIR, emptied (old files would add stale counts), or create a
    temporary directory, export it, and remove it at exit. Call before anything imports prometheus_client.
    Called again (a reload re-reads the settings), it returns the same directory with its files: they
    are this server's counts."""
    given = environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given and given in _prepared:
        return _prepared[given]
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for f in path.glob("*.db"):
            f.unlink()
        prepared = MetricsDir(path, owned=False)
    else:
        path = Path(tempfile.mkdtemp(prefix="faq-search-metrics-"))
        environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
        prepared = MetricsDir(path, owned=True)
    _prepared[environ["PROMETHEUS_MULTIPROC_DIR"]] = prepared
    return prepared


def worker_exited(pid: int, path: str) -> None:
    """gunicorn child_exit hook: drop the dead worker's live gauges, and add its counters and histograms
    to the exited workers' totals (EXITED) instead of leaving its files: a scrape reads every file, so
    each worker ever replaced (a timeout, a HUP, --max-requests) made every later scrape slower and the
    directory larger, without end. A failure is logged; the files then stay and still count."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, path)
    try:
        with _exited_lock(path, fcntl.LOCK_EX):
            for kind in ("counter", "histogram"):
                _fold_into_exited(Path(path) / f"{kind}_{pid}.db", Path(path) / f"{kind}_{EXITED}.db")
    except OSError as e:
        logging.getLogger(__name__).error("metrics of exited worker %s not folded into the totals: %s", pid, e)


# The name the exited workers' totals take in place of a pid (counter_exited.db): one file per kind.
EXITED = "exited"


def _exited_lock(path: str, how: int, wait: float = 1.0):
    """An flock on the metrics directory's lock file: shared while a scrape reads the files, exclusive
    while the master moves an exited worker's counts, which a scrape would otherwise count twice or
    not at all: a counter going down reads as a reset, and rate() as a burst of every request so far.
    Waits up to ``wait`` seconds, then raises BlockingIOError: the master, which must go on replacing
    workers, never blocks behind a scrape that hangs."""
    fd = os.open(os.path.join(path, f"{EXITED}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    lock = open(fd, "rb")
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, how | fcntl.LOCK_NB)
            return lock  # closing it (the with block) releases the lock
        except BlockingIOError:
            if time.monotonic() >= deadline:
                lock.close()
                raise
            time.sleep(0.005)


def _fold_into_exited(dead: Path, totals: Path) -> None:
    """Add the values of ``dead`` to ``totals`` (a new file renamed over it: a failure leaves both as
    they were), then remove ``dead``."""
    from prometheus_client.mmap_dict import MmapedDict

    if not dead.exists():  # a worker that died before counting anything
        return
    summed: dict[str, float] = {}
    for source in (totals, dead):
        if source.exists():
            for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(source)):
                summed[key] = summed.get(key, 0.0) + value
    tmp = totals.with_name(totals.name + ".tmp")  # not *.db: no scrape reads it
    tmp.unlink(missing_ok=True)
    out = MmapedDict(str(tmp))
    try:
        for key, value in summed.items():
            out.write_value(key, value, 0.0)
    finally:
        out.close()
    os.replace(tmp, totals)
    dead.unlink()


# --- the app hooks --------------------------------------------------------------------------------

def init_app(app: Flask, settings: Config) -> None:
    metrics = Metrics(settings.PROMETHEUS_MULTIPROC_DIR)
    querylog = QueryLog(Path(settings.FAQ_DATA_DIR) / FILENAME) if settings.FAQ_QUERY_LOG else None
    app.extensions["faq_metrics"] = metrics
    app.extensions["faq_querylog"] = querylog
    # Not told now: in gunicorn's preloading master a gauge would leave a file under the master's pid.
    app.extensions["faq_live"].subscribe(metrics.index_served)

    @app.before_request
    def _start():
        g.faq_t0 = time.perf_counter()

    @app.after_request
    def _record(response: Response) -> Response:
        latency = time.perf_counter() - g.get("faq_t0", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "unmatched"  # bounded label values
        searched, viewed = g.get("faq_search"), g.get("faq_view")
        if request.method == "HEAD":  # run as a GET, but nobody reads the answer: no search, no view
            searched = viewed = None
        ok = response.status_code == 200
        served = current_app.extensions["faq_live"].current
        outcome = None
        if searched and ok:
            outcome = "confident" if searched["confident"] else "unsure" if searched["results"] else "none"
        metrics.request_done(route, request.method, response.status_code, latency, outcome)
        if querylog is not None and ok:
            _write_query_log(querylog, route, searched, viewed)
        log.info("request", extra={"data": {
            "method": request.method, "route": route, "status": response.status_code,
            "latency_ms": round(latency * 1000, 2),
            "results": searched["results"] if searched else None,
            "confident": searched["confident"] if searched else None,
            "index_version": searched["index_version"] if searched else served.version if served else None,
        }})
        return response

    @app.get("/metrics")
    def metrics_endpoint():
        from .api import served_index_state  # the blueprint's module imports this one

        try:
            served = current_app.extensions["faq_live"].current
            metrics.index_served(served)
            if served is not None:
                metrics.index_state(served_index_state(served))
            body, content_type = metrics.exposition()
        except (OSError, ValueError) as e:  # ValueError: prometheus_client's word for a missing directory
            logging.getLogger(__name__).error("metrics not read: %s", e)
            raise ApiError(503, "metrics_unavailable", "metrics cannot be read right now; see the server log") from None
        return Response(body, content_type=content_type)


def _write_query_log(querylog: QueryLog, route: str, searched: dict | None, viewed: str | None) -> None:
    try:
        if searched:
            querylog.search(searched["query"], searched["results"], searched["top_id"], searched["confident"],
                            searched["index_version"], route)
        if viewed:
            querylog.view(viewed, request.args.get("q") or None, current_app.config["FAQ"].FAQ_MAX_QUERY_CHARS)
    except OSError as e:
        # The answer matters more than the log line; say so once per failure.
        logging.getLogger(__name__).error("query log not written: %s", e)
