"""gunicorn's fork hooks and worker class, shared by gunicorn.conf.py (`make run`) and `faq-search serve`."""

from __future__ import annotations

import gc
import json
import logging
import signal
import time
from http import HTTPStatus

from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.http import errors as gunicorn_errors
from gunicorn.workers.sync import SyncWorker

from .observability import JsonFormatter
from .security import HEADERS

# The app's request log: a refused request writes its one record there too.
request_log = logging.getLogger("faq_search.requests")
# The route of a request refused before the app saw it (no URL rule could be matched).
REFUSED_ROUTE = "unreadable"


def _errors(*names: str) -> tuple[type, ...]:
    # By name: an older gunicorn we allow (setup.cfg) may lack some; its errors then keep its own page.
    return tuple(getattr(gunicorn_errors, n) for n in names if hasattr(gunicorn_errors, n))


class UnimplementedTransferCoding(Exception):
    """A Transfer-Encoding other than chunked alone. gunicorn refuses unknown codings (501) but accepts
    gzip, deflate, compress and identity, and then hands the app the coded bytes as the body."""

    def __init__(self, value: str):
        super().__init__(f"Unsupported transfer coding: {value!r} (only chunked is implemented)")


def unimplemented_coding(headers) -> str | None:
    """The Transfer-Encoding of ``headers`` (gunicorn's: upper-case names) unless it is chunked alone."""
    codings = [c.strip().lower() for name, value in headers if name == "TRANSFER-ENCODING" for c in value.split(",")]
    if codings and codings != ["chunked"]:
        return ", ".join(value for name, value in headers if name == "TRANSFER-ENCODING")
    return None


# What gunicorn refuses while reading a request, before the app sees it: (errors, status, code); first match.
UNREADABLE = (
    (_errors("LimitRequestLine"), 414, "request_line_too_long"),
    (_errors("LimitRequestHeaders"), 431, "headers_too_large"),
    (_errors("ExpectationFailed"), 417, "http_error"),
    (_errors("UnsupportedTransferCoding") + (UnimplementedTransferCoding,), 501, "http_error"),
    (_errors("InvalidRequestLine", "InvalidRequestMethod", "InvalidHTTPVersion", "InvalidHeader", "InvalidHeaderName",
             "ObsoleteFolding", "InvalidSchemeHeaders", "InvalidProxyLine"), 400, "bad_request"),
)

# What the error says, by gunicorn's exception: never the client's own bytes (gunicorn's words quote the
# request line or a header, which may hold a query with a phone number, or a token).
REFUSALS = {
    "InvalidRequestLine": "the request line cannot be read: it must be 'METHOD /path HTTP/1.1'",
    "InvalidRequestMethod": "the request method cannot be read",
    "InvalidHTTPVersion": "the HTTP version is not HTTP/1.0 or HTTP/1.1",
    "InvalidHeader": "a header cannot be read",
    "InvalidHeaderName": "a header name cannot be read",
    "ObsoleteFolding": "a header is continued on another line (obsolete line folding)",
    "InvalidSchemeHeaders": "the headers naming the scheme contradict each other",
    "InvalidProxyLine": "the PROXY protocol line cannot be read",
    "ExpectationFailed": "the only Expect supported is 100-continue",
    "UnsupportedTransferCoding": "the only transfer coding implemented is chunked, alone",
    "UnimplementedTransferCoding": "the only transfer coding implemented is chunked, alone",
}
# "GET /api/search?q=my phone HTTP/1.1": gunicorn reads "phone HTTP/1.1" as the version.
UNENCODED_SPACE = "the request line holds a space that is not percent-encoded: send a space in the URL as %20"


def pre_fork(server, worker) -> None:
    """In the master, before each fork. Moves what the preload built (index, articles, suggestions) out
    of the collector's reach: a collection in a worker would write to every tracked object's header and
    so copy the shared pages into the worker (≈ 100 MiB private per worker at 100k articles).
    Refcounting still works."""
    gc.collect()
    gc.freeze()


def post_fork(server, worker) -> None:
    """In each new worker: follow the index pointer in a thread, so a publish is loaded before a request
    needs it (a thread of the master does not survive the fork)."""
    from . import follow_index

    # Until the worker sets its own handlers, the master's are still in place and a SIGTERM sent then
    # (gunicorn stopping 2 ms after booting a worker) was only queued: the master waited out its 30 s
    # graceful timeout for that worker. Not yet serving, it may just end.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    follow_index(server.app.wsgi())


class JsonLogger(Logger):
    """gunicorn's logger, writing its own lines (starting, booting a worker, a worker timing out) as the
    app's JSON records. Handlers set by a --log-config or logconfig_dict keep their format."""

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            if getattr(handler, "_gunicorn", False):  # the ones gunicorn made for errorlog (stderr)
                handler.setFormatter(JsonFormatter())


class JsonErrorWorker(SyncWorker):
    """gunicorn's sync worker, answering the requests gunicorn refuses itself (request line or headers
    too large, malformed) in the API's JSON error shape instead of gunicorn's HTML page, and logging and
    counting them as the app does its requests. Its limits stay: they keep a worker from reading
    unbounded input. It also refuses, as 501, the transfer codings gunicorn lets through without
    decoding them."""

    started = 0.0

    @classmethod
    def check_config(cls, cfg, log):
        # gunicorn runs a class named *SyncWorker as its threaded worker when threads > 1 and any other class as
        # it is, so --threads was ignored without a word: refused at start instead (gunicorn prints it, exit 1).
        if cfg.threads > 1:
            raise RuntimeError(f"threads = {cfg.threads}: {cls.__module__}.{cls.__name__} is gunicorn's sync worker "
                               "and serves one request at a time per process; run more processes instead "
                               "(WEB_CONCURRENCY or --workers), behind a buffering proxy (docs/operations.md)")

    def handle(self, listener, client, addr):
        self.started = time.perf_counter()  # a refusal's latency runs from here: nothing was read before
        return super().handle(listener, client, addr)

    def handle_request(self, listener, req, client, addr):
        coding = unimplemented_coding(req.headers)
        if coding is not None:  # answered by handle_error, as gunicorn's own 501, before the body is read
            raise UnimplementedTransferCoding(coding)
        return super().handle_request(listener, req, client, addr)

    def handle_error(self, req, client, addr, exc):
        found = next(((status, code) for errors, status, code in UNREADABLE if isinstance(exc, errors)), None)
        if found is None:  # a crash outside the app (Flask answers its own) or TLS/proxy settings we do not use
            return super().handle_error(req, client, addr, exc)
        status, code = found
        self.record(req, status, code, exc)
        body = json.dumps({"error": {"code": code, "message": self.refusal(exc, code)}}, ensure_ascii=False,
                          separators=(",", ":")).encode()  # as compact as the app's
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Connection: close",
                "Content-Type: application/json", f"Content-Length: {len(body)}",
                *(f"{name}: {value}" for name, value in HEADERS.items())]
        try:
            util.write_nonblock(client, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        except Exception:  # noqa: BLE001 - the client may be gone; the connection is closed next anyway
            self.log.debug("Failed to send error message.")

    def refusal(self, exc, code: str) -> str:
        if code == "request_line_too_long":
            return (f"the request line is longer than {self.cfg.limit_request_line} bytes "
                    "(a percent-encoded Chinese character takes 9)")
        if code == "headers_too_large":
            return (f"a header is longer than {self.cfg.limit_request_field_size} bytes, or there are more "
                    f"than {self.cfg.limit_request_fields} headers")
        if isinstance(getattr(exc, "version", None), str) and " " in exc.version:
            return UNENCODED_SPACE
        return REFUSALS.get(type(exc).__name__, "the request cannot be read")

    def record(self, req, status: int, code: str, exc) -> None:
        """The refused request's one log record and count, as the app writes them (observability.py)
        under the route "unreadable"; no text of the request: it may hold the query."""
        latency = time.perf_counter() - self.started
        method = req.method if req is not None else None  # None: the request line was not read
        extensions = getattr(self.wsgi, "extensions", {})
        if (metrics := extensions.get("faq_metrics")) is not None:
            metrics.request_done(REFUSED_ROUTE, method or "", status, latency)  # counted as method "other"
        served = extensions["faq_live"].current if "faq_live" in extensions else None
        request_log.info("request", extra={"data": {
            "method": method, "route": REFUSED_ROUTE, "status": status, "latency_ms": round(latency * 1000, 2),
            "results": None, "confident": None, "index_version": served.version if served else None,
            "error": code, "refused": type(exc).__name__,
        }})
