"""The HTML pages: the self-service search page (/) and the agents' console (/agent).

Both are plain HTML that JavaScript (static/*.js, no inline scripts, so a strict Content-Security-Policy
fits) turns into as-you-type search over the JSON API. The search page also works without JavaScript:
the form and the category links are answered here, on the server.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, current_app, render_template, request, url_for

from ..search import QueryError, Searcher
from . import render
from .api import live, popular_questions, visible
from .observability import note_search

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

# The knowledge-base articles the no-answer state is built from: the channel list with hours, and the
# article on reaching a person. Missing articles are simply left out.
CHANNELS_ARTICLE = "service-working-hours"
CONTACT_ARTICLE = "service-human-agent"
STATIC_MAX_AGE = 365 * 24 * 3600  # versioned URLs never change content


def _static_version(filename: str) -> str:
    versions = current_app.extensions.setdefault("faq_static_versions", {})
    if filename not in versions:
        path = Path(bp.static_folder) / filename
        versions[filename] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return versions[filename]


@bp.app_template_global()
def static_url(filename: str) -> str:
    """URL of a static file with ``?v=<hash of its content>``: cached for a year, replaced on change."""
    return url_for("pages.static", filename=filename, v=_static_version(filename))


@bp.after_app_request
def cache_static(response):
    # A 304 carries the headers too: the browser replaces its stored ones with them (RFC 9111 4.3.4).
    if request.endpoint == "pages.static" and response.status_code in (200, 304):
        filename = (request.view_args or {}).get("filename", "")
        try:
            current = _static_version(filename)
        except OSError:
            current = None
        if request.args.get("v") and request.args.get("v") == current:
            response.cache_control.no_cache = None  # set by send_file when it has no max-age
            response.cache_control.public = True
            response.cache_control.max_age = STATIC_MAX_AGE
            response.cache_control.immutable = True
        else:
            response.cache_control.no_cache = True  # revalidate (ETag) on every use
            response.cache_control.max_age = None
    return response


def _channels(s: Searcher | None) -> dict:
    a = s.get(CHANNELS_ARTICLE) if s else None
    contact = s.get(CONTACT_ARTICLE) if s else None
    return {
        "items": render.channel_items(a.answer) if a else [],
        "article": a,
        "contact": contact,
    }


def _page_context(s: Searcher | None) -> dict:
    return {
        "categories": s.categories if s else {},
        "channels": _channels(s),
        "own_name": (s.own_name if s else None) or "我们",
        "max_chars": current_app.config["FAQ"].FAQ_MAX_QUERY_CHARS,
        "render": render,
    }


@bp.get("/")
def index():
    s = live().get()
    limit = current_app.config["FAQ"].FAQ_MAX_QUERY_CHARS
    q = request.args.get("q", "").strip()
    if not visible(q):
        q = ""
    # Said, not cut: a cut question would be answered as if it were the whole one. The box keeps all of
    # it to shorten; the words are those the page says with JavaScript (common.js errorMessage).
    too_long = f"问题太长了，请精简到 {limit} 个字以内。" if len(q) > limit else None
    category = request.args.get("category") or None
    if s is not None and category not in s.categories:
        category = None
    hits, browse, error = [], [], None
    if s is None:
        error = "搜索服务暂时不可用，请稍后再试。"
    elif q and not too_long:
        try:
            hits = s.search(q, k=10, category=category)
        except QueryError:
            hits = s.search(q, k=10)
        note_search(q, hits, s.version)
    elif category and not q:
        browse = [a for a in s.articles if a.category == category]
    popular = popular_questions(s, 8) if s is not None and not q else []
    confident = bool(hits) and hits[0].confident
    other_product = s.other_product(q, hits) if s is not None and q and not too_long else None
    # 503 while no index serves: a balancer (deploy/nginx.conf) then tries another replica.
    return render_template(
        "index.html", q=q, hits=hits, confident=confident, other_product=other_product, category=category, error=error, popular=popular,
        too_long=too_long, browse=browse, related={h.id: _related(s, h.id) for h in hits}, **_page_context(s),
    ), 200 if s is not None else 503


def _related(s: Searcher, article_id: str) -> list:
    a = s.get(article_id)
    return [r for r in (s.get(rid) for rid in a.related) if r is not None] if a else []


@bp.get("/agent")
def agent():
    s = live().get()
    return (render_template("agent.html", error=None if s else "搜索服务暂时不可用，请稍后再试。", **_page_context(s)),
            200 if s is not None else 503)
