"""gunicorn's fork hooks and worker class, shared by gunicorn.conf.py (`make run`) and `faq-search serve`."""

from __future__ import annotations

import gc
import json
from http import HTTPStatus

from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.http import errors as gunicorn_errors
from gunicorn.workers.sync import SyncWorker

from .observability import JsonFormatter
from .security import HEADERS


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
    too large, malformed) in the API's JSON error shape instead of gunicorn's HTML page. Its limits stay:
    they keep a worker from reading unbounded input. It also refuses, as 501, the transfer codings
    gunicorn lets through without decoding them."""

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
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
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
        return str(exc)  # gunicorn's own words: which line, method, version or header it could not read
