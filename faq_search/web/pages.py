"""The self-service search page: server-rendered, works without JavaScript."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from ..search import QueryError
from .api import live
from .observability import note_search

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static", static_url_path="/static")


@bp.get("/")
def index():
    s = live().get()
    limit = current_app.config["FAQ"].FAQ_MAX_QUERY_CHARS
    q = request.args.get("q", "").strip()[:limit]
    category = request.args.get("category") or None
    hits, error = [], None
    if s is None:
        error = "搜索服务暂时不可用，请稍后再试。"
    elif q:
        try:
            hits = s.search(q, k=10, category=category)
        except QueryError:
            category = None
            hits = s.search(q, k=10)
        note_search(q, hits, s.version)
    categories = s.categories if s else {}
    return render_template("index.html", q=q, hits=hits, error=error, categories=categories, category=category)
