"""JSON API: /api/search, /api/articles/<id>, /api/categories, /healthz."""

from __future__ import annotations

import time
from urllib.parse import unquote_to_bytes

from flask import Blueprint, current_app, request

from ..search import QueryError, Searcher
from .errors import ApiError
from .observability import note_search, note_view

bp = Blueprint("api", __name__)


def live():
    return current_app.extensions["faq_live"]


def searcher() -> Searcher:
    s = live().get()
    if s is None:
        raise ApiError(503, "index_unavailable", live().error or "no index is loaded")
    return s


@bp.before_app_request
def reject_non_utf8_query():
    # Werkzeug silently replaces invalid bytes with U+FFFD; we refuse them instead.
    for part in request.query_string.split(b"&"):
        try:
            unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "invalid_encoding", "the query string is not valid UTF-8") from None


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"invalid_{name}", f"'{name}' must be an integer from {low} to {high}") from None
    if not low <= value <= high:
        raise ApiError(400, f"invalid_{name}", f"'{name}' must be an integer from {low} to {high}")
    return value


def query_arg() -> str:
    q = request.args.get("q", "")
    if not q.strip():
        raise ApiError(400, "missing_query", "'q' is required and must not be blank")
    limit = current_app.config["FAQ"].FAQ_MAX_QUERY_CHARS
    if len(q) > limit:
        raise ApiError(400, "query_too_long", f"'q' is longer than {limit} characters")
    return q.strip()


def run_search(s: Searcher, q: str, k: int, category: str | None):
    try:
        return s.search(q, k=k, category=category)
    except QueryError as e:
        raise ApiError(400, e.code, str(e)) from None


@bp.get("/api/search")
def search():
    t0 = time.perf_counter()
    s = searcher()
    q = query_arg()
    k = _int_arg("k", 10, 1, current_app.config["FAQ"].FAQ_MAX_K)
    category = request.args.get("category") or None
    hits = run_search(s, q, k, category)
    note_search(q, hits, s.version)
    return {
        "query": q,
        "results": [h.to_dict() for h in hits],
        "took_ms": round((time.perf_counter() - t0) * 1000, 2),
        "index_version": s.version,
    }


@bp.get("/api/articles/<article_id>")
def article(article_id: str):
    s = searcher()
    a = s.get(article_id)
    if a is None:
        raise ApiError(404, "article_not_found", f"no article with id '{article_id}'")
    note_view(article_id)
    body = a.to_dict()
    body.pop("source", None)
    body["related"] = [
        {"id": r.id, "question": r.question, "category": r.category}
        for r in (s.get(rid) for rid in a.related) if r is not None
    ]
    body["index_version"] = s.version
    return body


@bp.get("/api/categories")
def categories():
    s = searcher()
    counts = s.category_counts()
    return {
        "categories": [{"id": cid, "name": name, "count": counts.get(cid, 0)} for cid, name in s.categories.items()],
        "index_version": s.version,
    }


@bp.get("/healthz")
def healthz():
    s = live().get()
    if s is None:
        return {"status": "unavailable", "reason": live().error, "index_version": None, "articles": 0}, 503
    return {"status": "ok", "index_version": s.version, "articles": len(s)}
