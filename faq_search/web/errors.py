"""One JSON error shape for every failure: {"error": {"code", "message"}}, but on the HTML pages."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from gunicorn.http.errors import NoMoreData
from werkzeug.exceptions import ClientDisconnected, HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}  # e.g. Retry-After on 429


def error_response(status: int, code: str, message: str):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


# Werkzeug's exception names → our stable codes.
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
               415: "unsupported_media_type", 429: "rate_limited"}


def api_error(e: ApiError):
    response = error_response(e.status, e.code, e.message)
    response.headers.update(e.headers)
    return response


def http_error(e: HTTPException):
    code = _HTTP_CODES.get(e.code or 500, "http_error")
    response = error_response(e.code or 500, code, _unreadable_body(e) if isinstance(e, ClientDisconnected)
                              else e.description or e.name)
    if e.code == 405 and e.valid_methods:
        response.headers["Allow"] = ", ".join(e.valid_methods)
    return response


def _unreadable_body(e: ClientDisconnected) -> str:
    """Which problem stopped the body being read: Werkzeug raises this from the server's own error (gunicorn's
    "Invalid chunk size: b'zz'" for a malformed chunked body), or with none when the body ended early."""
    cause = e.__context__
    if isinstance(cause, NoMoreData):  # gunicorn's words would be "No more data after: None"
        return "the request body ended before its last chunk (a chunked body ends with a chunk of size 0)"
    if cause is not None:
        return f"the request body cannot be read: {cause}"
    return "the request body ended before the length its Content-Length header announced"


def init_app(app: Flask) -> None:
    """JSON for every error; the HTML pages answer theirs themselves (faq_search.web.pages)."""
    app.register_error_handler(ApiError, api_error)
    app.register_error_handler(HTTPException, http_error)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "internal error; it has been logged")
