"""JSON API: search, articles, categories, tags, popular questions, feedback, left questions, /healthz."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import unicodedata
from typing import Callable
from urllib.parse import quote, unquote_to_bytes

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import NotFound

from ..completions import index_suggester, load_completions
from ..feedback import FeedbackStore
from ..index import changed_in_place, mapped_changed
from ..redact import redact
from ..search import QueryError, Searcher
from ..suggest import Suggester
from .errors import ApiError
from .payloads import SearchPayloads, related_of, search_body
from .schema import Field, json_body
from .observability import note_search, note_view
from .security import client_address

bp = Blueprint("api", __name__)
log = logging.getLogger(__name__)

MAX_CONTACT_CHARS = 100
MAX_SEND_ID_CHARS = 64
MAX_OFFSET = 999_999_999  # the most _int_arg reads (9 digits); past the total is an empty page


def live():
    return current_app.extensions["faq_live"]


def feedback_store() -> FeedbackStore:
    return current_app.extensions["faq_feedback"]


def suggester_for(app, s: Searcher) -> Suggester:
    """The Suggester of ``s``'s index version, once per version: the completion data the builder
    published beside it (memory-mapped, shared by the workers), else built here (pinyin for 100k
    articles takes ≈ 18 s; ≈ 4 s for a version that follows one whose completions are held). With none
    held yet it is got now (before gunicorn forks, normally); for a newly swapped-in version a
    background thread waits for the builder's data (written just after the version is published) and
    builds it only when none comes within FAQ_COMPLETIONS_WAIT seconds, while the previous version's
    completions keep answering."""
    held = app.extensions.setdefault("faq_suggesters", {"version": None, "suggester": None, "building": None,
                                                        "lock": threading.Lock()})
    if held["version"] == s.version:
        return held["suggester"]
    if held["suggester"] is None:
        try:
            sug = _published_suggester(s)
        except ValueError as e:
            log.warning("%s; building them here", e)
            sug = None
        held.update(version=s.version, suggester=sug or index_suggester(s.data, s.analyzer.normalize))
        return held["suggester"]
    with held["lock"]:
        if held["building"] != s.version:
            held["building"] = s.version
            wait = app.config["FAQ"].FAQ_COMPLETIONS_WAIT
            threading.Thread(target=_follow_suggester, args=(held, s, wait), name="suggester", daemon=True).start()
    return held["suggester"]


def _published_suggester(s: Searcher) -> Suggester | None:
    """The completion data published for ``s``'s version; None when there is none (yet)."""
    if s.data.path is None:
        return None
    return load_completions(s.data.path.parent.parent, s.version, s.analyzer.normalize)


def _follow_suggester(held: dict, s: Searcher, wait: float) -> None:
    deadline = time.monotonic() + wait
    try:
        sug = None
        while sug is None and held["building"] == s.version:
            try:
                sug = _published_suggester(s)
            except ValueError as e:
                log.warning("%s; building them here", e)
                break
            if sug is None:
                if time.monotonic() >= deadline:
                    log.info("no completion data for index version %s after %.0f s; building it here", s.version, wait)
                    break
                time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
        if sug is None and held["building"] == s.version:
            # From the version still answering: only the phrases it lacks are read (pinyin) afresh.
            sug = index_suggester(s.data, s.analyzer.normalize, previous=held["suggester"])
    except Exception:
        log.exception("suggestions for index version %s not built", s.version)
        return
    with held["lock"]:
        if sug is not None and held["building"] == s.version:  # not overtaken by a newer version meanwhile
            held.update(version=s.version, suggester=sug, building=None)


def payloads_for(app, s: Searcher) -> SearchPayloads:
    """The cached article parts of ``s``'s index version (only the newest version is kept)."""
    cached = app.extensions.get("faq_payloads")
    if cached is None or cached.version != s.version:
        cached = app.extensions["faq_payloads"] = SearchPayloads(
            s, max_searches=app.config["FAQ"].FAQ_SEARCH_CACHE)
    return cached


# What the public is told while no version serves; the reason (paths included) goes to the log and
# /admin/stats, not to every client.
UNAVAILABLE = "no index version is being served; the operator is told why in the server log"
DAMAGED = "the served index version's files were written over while served; the operator is told in the server log"


def searcher() -> Searcher:
    s = live().get()
    if s is None:
        raise ApiError(503, "index_unavailable", UNAVAILABLE)
    return s


@bp.before_app_request
def reject_non_utf8_query():
    # Werkzeug silently replaces invalid bytes with U+FFFD; we refuse them instead. One decode of the
    # whole string: "&" is ASCII, so it is valid UTF-8 exactly when every parameter is.
    path = request.environ.get("PATH_INFO", "")
    if not path.isascii():  # the WSGI path holds the percent-decoded bytes, one character each
        try:
            path.encode("latin-1").decode("utf-8")
        except UnicodeError:
            raise ApiError(400, "invalid_encoding", "the path is not valid UTF-8") from None
    raw = request.query_string
    if raw.isascii() and b"%" not in raw:
        return
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", "the query string is not valid UTF-8") from None


@bp.before_app_request
def refuse_a_leading_double_slash():
    # Werkzeug's routing drops the slashes a path starts with, so //api/search answered as /api/search: one
    # resource under many URLs (and cache keys), and "//host/x" is what an open redirect is built from.
    # A 404 like "/api//search", not a redirect.
    if request.environ.get("PATH_INFO", "").startswith("//"):
        request.url_rule = None  # counted and logged as unmatched, as any unknown path
        raise NotFound()


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    # Looked for first: MultiDict.get finds a parameter missing by raising and catching an exception.
    raw = request.args.get(name) if name in request.args else None
    if raw is None:  # absent; an empty "k=" is a value, and not an integer
        return min(default, high)  # never more than the same request could ask for
    # ASCII digits only: int() would also take " 5", "+5", "1_0" and other scripts' digits.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise ApiError(400, f"invalid_{name}", f"'{name}' must be an integer from {low} to {high}")
    value = int(raw)
    if not low <= value <= high:
        raise ApiError(400, f"invalid_{name}", f"'{name}' must be an integer from {low} to {high}")
    return value


def visible(text: str) -> bool:
    """Whether ``text`` holds anything but spaces, control and format characters (zero-width space,
    BOM, direction marks): a query of those alone is blank."""
    return any(unicodedata.category(c)[0] not in "CZ" for c in text)


def query_arg() -> str:
    q = request.args.get("q", "").strip()
    if not visible(q):
        raise ApiError(400, "missing_query", "'q' is required and must not be blank")
    limit = current_app.config["FAQ"].FAQ_MAX_QUERY_CHARS
    if len(q) > limit:
        raise ApiError(400, "query_too_long", f"'q' is longer than {limit} characters")
    return q


def run_search(s: Searcher, q: str, k: int, category: str | None, tag: str | None = None):
    try:
        return s.search(q, k=k, category=category, tag=tag)
    except QueryError as e:
        raise ApiError(400, e.code, str(e)) from None


def named_arg(name: str, lookup: Callable[[str], str]) -> str | None:
    """What the one value of query parameter ``name`` names, read by ``lookup`` (``Searcher.category_named``:
    a category's id or name, normalised as search normalises text; ``Searcher.tag_named``: a tag, a synonym
    read as its canonical form); None when absent or empty. A search narrows to one category and one tag,
    and a second value silently dropped would answer another question than the one asked: 400
    ``invalid_<name>``, as for a value ``lookup`` does not know."""
    values = request.args.getlist(name)
    if len(values) > 1:
        raise ApiError(400, f"invalid_{name}", f"give one '{name}' (got {len(values)})")
    try:
        return lookup(values[0]) if values and values[0] else None
    except QueryError as e:
        raise ApiError(400, e.code, str(e)) from None


@bp.get("/api/search")
def search():
    t0 = time.perf_counter()
    s = searcher()
    q = query_arg()
    k = _int_arg("k", 10, 1, current_app.config["FAQ"].FAQ_MAX_K)
    category, tag = named_arg("category", s.category_named), named_arg("tag", s.tag_named)
    payloads = payloads_for(current_app, s)
    hits, results = payloads.search((q, k, category, tag), lambda: run_search(s, q, k, category, tag))
    note_search(q, hits, s.version)
    # Encoded here, not by jsonify: the articles' parts come pre-encoded (faq_search.web.payloads).
    other = s.other_product(q, hits)
    return Response(search_body(payloads, q, results, t0, other, s.whom_to_ask(other)), mimetype="application/json")


@bp.get("/api/suggest")
def suggest():
    t0 = time.perf_counter()
    s = searcher()
    q = query_arg()
    k = _int_arg("k", 8, 1, 8)
    sug = suggester_for(current_app, s).suggest(q, k=k, category=named_arg("category", s.category_named))
    return {
        "query": q,
        "suggestions": [x.to_dict() for x in sug],
        "took_ms": round((time.perf_counter() - t0) * 1000, 2),
        "index_version": s.version,
    }


@bp.get("/api/articles")
def articles():
    """Browse: the questions of a category and/or tag, in corpus order, ``limit`` from ``offset`` on."""
    s = searcher()
    category, tag = named_arg("category", s.category_named), named_arg("tag", s.tag_named)
    limit = _int_arg("limit", 100, 1, 1000)
    offset = _int_arg("offset", 0, 0, MAX_OFFSET)  # pages past the first: offset += limit while < total
    chosen = [a for a in s.articles if (not category or a.category == category) and (not tag or tag in a.tags)]
    return {
        "articles": [{"id": a.id, "question": a.question, "category": a.category, "tags": list(a.tags), "updated": a.updated}
                     for a in chosen[offset:offset + limit]],
        "total": len(chosen),
        "index_version": s.version,
    }


@bp.get("/api/articles/<article_id>")
def article(article_id: str):
    s = searcher()
    current = s.resolve(article_id)
    if current is None:
        raise ApiError(404, "article_not_found", f"no article with id '{article_id}'")
    if current != article_id:
        return moved(article_id, current, s.version)
    a = s.get(current)
    note_view(article_id)
    body = a.to_dict()
    body.pop("source", None)
    body["related"] = related_of(s, a.id)
    body["feedback"] = vote_counts(a.id, a.aliases)
    body["index_version"] = s.version
    return body


def moved(old: str, current: str, version: str) -> Response:
    """301 from a former id (renamed article) to the current one's address, the query string kept
    (its q is the view's). The Location is a path: never built from the Host header."""
    location = url_for("api.article", article_id=current)
    if request.query_string:  # as sent; bytes outside ASCII (sent unescaped) escaped for the header
        location += "?" + quote(request.query_string, safe="!#$%&'()*+,/:;=?@[]~")
    response = jsonify(moved_from=old, id=current, location=location, index_version=version)
    response.status_code = 301
    response.headers["Location"] = location
    # A renamed id may be given back to a new article: browsers keep a 301 without an expiry forever.
    response.cache_control.max_age = 3600
    return response


def vote_counts(article_id: str, aliases=()) -> dict | None:
    """The article's votes (those under its former ids too); None (the article still shows) when the
    store cannot be read."""
    try:
        return feedback_store().counts(article_id, aliases).to_dict()
    except sqlite3.Error as e:
        log.warning("feedback store unreadable: %s", e)
        return None


@bp.get("/api/categories")
def categories():
    s = searcher()
    return {"categories": s.category_list(), "index_version": s.version}


@bp.get("/api/tags")
def tags():
    s = searcher()
    counts = s.tag_counts(named_arg("category", s.category_named))
    return {"tags": [{"name": t, "count": n} for t, n in counts.items()], "index_version": s.version}


def popular_questions(s: Searcher, k: int) -> list[dict]:
    """The ``k`` articles users voted "helpful" most (with at least FAQ_POPULAR_MIN_VOTES such votes,
    outnumbering the "not helpful" ones), then the corpus's curated popular.yml list."""
    try:
        voted = feedback_store().all_counts(s.aliases)
    except sqlite3.Error as e:
        log.warning("feedback store unreadable: %s", e)
        voted = {}
    out, seen = [], set()
    least = max(1, current_app.config["FAQ"].FAQ_POPULAR_MIN_VOTES)
    candidates = ([(aid, "votes") for aid, c in voted.items() if c.helpful >= least and c.helpful > c.not_helpful]
                  + [(aid, "curated") for aid in s.popular])
    for aid, source in candidates:
        a = s.get(aid)
        if a is None or aid in seen:
            continue
        seen.add(aid)
        out.append({"id": a.id, "question": a.question, "category": a.category,
                    "helpful": voted[aid].helpful if aid in voted else 0, "source": source})
        if len(out) == k:
            break
    return out


@bp.get("/api/popular")
def popular():
    s = searcher()
    k = _int_arg("k", 8, 1, current_app.config["FAQ"].FAQ_MAX_K)
    return {"questions": popular_questions(s, k), "index_version": s.version}


def feedback_schema() -> dict[str, Field]:
    limit = current_app.config["FAQ"].FAQ_MAX_QUERY_CHARS
    return {
        "query": Field(str, required=False, default="", max_length=limit, strip=True),
        "article_id": Field(str, max_length=128),
        "helpful": Field(bool),
    }


def question_schema() -> dict[str, Field]:
    limit = current_app.config["FAQ"].FAQ_MAX_QUERY_CHARS
    return {"query": Field(str, max_length=limit, strip=True),
            "contact": Field(str, required=False, default="", max_length=MAX_CONTACT_CHARS, strip=True),
            # The search page's id for this question, the same when it sends it again: stored once.
            "send_id": Field(str, required=False, default="", max_length=MAX_SEND_ID_CHARS, strip=True)}


def _stored(write):
    try:
        return write()
    except (sqlite3.Error, OSError) as e:
        log.error("feedback store write failed: %s", e)
        raise ApiError(503, "storage_unavailable", "feedback cannot be stored right now; please try again later") from None


@bp.post("/api/feedback")
def add_feedback():
    """Body {query, article_id, helpful}; 201 with the article's counts, a repeated vote too (not counted)."""
    current, counts, counted = record_vote(json_body(feedback_schema()))
    return {"article_id": current, "feedback": counts.to_dict(), "counted": counted}, 201


def record_vote(body: dict):
    """Store the vote ``body`` (feedback_schema's fields, checked) from this client: (the article's current
    id, its counts, whether this vote counted). Raises ApiError: 404 ``article_not_found``, 503. The JSON
    endpoint and the page's form (faq_search.web.pages) both vote through here."""
    s = searcher()
    query, article_id, helpful = body["query"], body["article_id"], body["helpful"]
    # A page opened before a rename votes with the former id: counted for the article it became.
    current = s.resolve(article_id)
    if current is None:
        raise ApiError(404, "article_not_found", f"no article with id '{article_id}'")
    aliases = s.get(current).aliases
    # The vote's query is kept like the query log keeps it: personal data redacted first.
    counts, counted = _stored(lambda: feedback_store().add_vote(redact(query), current, helpful, aliases,
                                                                client_address()))
    return current, counts, counted


@bp.get("/api/feedback/stats")
def feedback_stats():
    s = searcher()
    try:
        voted = feedback_store().all_counts(s.aliases)
    except sqlite3.Error as e:
        raise ApiError(503, "storage_unavailable", f"feedback cannot be read: {e}") from None
    return {
        "articles": [{"id": aid, "question": a.question if (a := s.get(aid)) else None, **c.to_dict()} for aid, c in voted.items()],
        "index_version": s.version,
    }


@bp.post("/api/question")
def leave_question():
    """Body {query, contact?, send_id?}: a question the knowledge base did not answer; 201, the same
    send_id again (within feedback.QUESTION_SEND_SECONDS) too, stored once."""
    record_question(json_body(question_schema()))
    return {"status": "received"}, 201


def record_question(body: dict) -> None:
    """Store the question ``body`` (question_schema's fields, checked) for the editors. Raises ApiError: 400
    ``missing_query`` (blank, or no word in it), 503. The JSON endpoint and the page's form both use it."""
    query, contact, send_id = body["query"], body["contact"], body["send_id"]
    if not visible(query):
        raise ApiError(400, "missing_query", "'query' must not be blank")
    # The editors read these: ？？？ or 😀 alone asks nothing they could answer or write an article for.
    if not any(unicodedata.category(c)[0] in "LN" for c in query):
        raise ApiError(400, "missing_query", "'query' holds no word (punctuation and emoji alone ask nothing)")
    # The contact is given on purpose so we can answer; the question itself is redacted.
    _stored(lambda: feedback_store().add_question(redact(query), contact, send_id))


DAMAGE_CHECK_SECONDS = 1.0  # a probe a second at most stats the files: /healthz stays the trivial endpoint


def _changed_in_place(s: Searcher, telling: bool = True) -> tuple[str | None, bool]:
    """changed_in_place for the served version, then for the completion files this process maps (its
    or, until they come, the previous version's), looked at most every DAMAGE_CHECK_SECONDS (≈ 40–60
    stats for the index's files and 25–50 for the completions', 0.1–0.4 ms at 100k articles: as much
    again as a health check), and whether this process has said it before (``telling``: it says it now)."""
    checks = current_app.extensions.setdefault("faq_damage_checks", {})  # version → [when, changed, said]
    now = time.monotonic()
    check = checks.get(s.version)
    if check is None or now - check[0] >= DAMAGE_CHECK_SECONDS:
        suggester = current_app.extensions.get("faq_suggesters", {}).get("suggester")
        changed = changed_in_place(s.data) or (mapped_changed(suggester.mapped) if suggester is not None else None)
        check = checks[s.version] = [now, changed, bool(check and check[2])]
    said = check[2]
    if telling:
        check[2] = said or check[1] is not None
    return check[1], said


def served_index_state(s: Searcher) -> str:
    """'damaged', 'stale' or 'ok': what /healthz says of the served version ``s`` (for /metrics; it logs nothing)."""
    if _changed_in_place(s, telling=False)[0]:
        return "damaged"
    return "stale" if live().refused or live().pointer_error else "ok"


@bp.get("/healthz")
def healthz():
    s = live().get()
    if s is None:
        return {"status": "unavailable", "reason": UNAVAILABLE, "index_version": None, "articles": 0}, 503
    changed, said = _changed_in_place(s)
    if changed:  # searches now kill the workers (SIGBUS) while this answers: the balancer must see it
        if not said:  # once a version, not at every probe
            log.error("index version %s was written over while served (%s changed size since it was loaded): "
                      "searches crash the workers; restart the server, which refuses a corrupt version; ship "
                      "versions as new directories, never into the served one", s.version, changed)
        return {"status": "damaged", "reason": DAMAGED, "index_version": s.version, "articles": len(s)}, 503
    refused, pointer = live().refused, live().pointer_error
    if refused or pointer:  # still serving (200), but not what was published: the operator's check should see it
        body = {"status": "stale", "index_version": s.version, "articles": len(s), "refused_version": refused}
        return {**body, "reason": pointer} if pointer else body
    return {"status": "ok", "index_version": s.version, "articles": len(s)}
