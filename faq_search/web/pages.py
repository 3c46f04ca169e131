"""The HTML pages: the self-service search page (/) and the agents' console (/agent), and what the search
page's forms post without JavaScript (a vote: POST /feedback; a question: POST /question).

Both are plain HTML that JavaScript (static/*.js, no inline scripts, so a strict Content-Security-Policy
fits) turns into as-you-type search over the JSON API. The search page also works without JavaScript:
the form and the category links are answered here, on the server, and so are their errors (a rate
limit, a URL that is not UTF-8): as the page, saying what happened, not as the API's JSON. Its votes and
questions are plain forms too, checked and stored as the API's are, answered with a page.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.security import safe_join

from ..search import QueryError, Searcher
from . import errors, render
from .api import (feedback_schema, live, popular_questions, question_schema, record_question, record_vote,
                  suggester_for, visible)
from .errors import ApiError
from .observability import note_search
from .schema import FORM_TYPES, form_body
from .security import FORM_PAGE_REFERRER_POLICY, check_same_origin

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

# The knowledge-base articles the no-answer state is built from: the channel list with hours, and the
# article on reaching a person. Missing articles are simply left out.
CHANNELS_ARTICLE = "service-working-hours"
CONTACT_ARTICLE = "service-human-agent"
# The search page's list of a category's articles, and the console's of a category's or tag's, load this
# many at a time (/api/articles' limit and offset); 更多 (or j at the console's end) loads the next ones.
# Without JavaScript the search page lists them all.
SEARCH_PAGE_SIZE = 100
AGENT_PAGE_SIZE = 200
STATIC_MAX_AGE = 365 * 24 * 3600  # versioned URLs never change content
UNAVAILABLE = "搜索服务暂时不可用，请稍后再试。"


def _static_version(filename: str) -> str:
    # Keyed by the file served (safe_join, as send_static_file finds it), not by the URL's spelling:
    # /static/./style.css and /static/x/../style.css are style.css too, and one entry each grew without bound.
    path = safe_join(bp.static_folder, filename)
    if path is None:
        raise FileNotFoundError(filename)
    versions = current_app.extensions.setdefault("faq_static_versions", {})
    if path not in versions:
        versions[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    return versions[path]


@bp.app_template_global()
def static_url(filename: str) -> str:
    """URL of a static file with ``?v=<hash of its content>``: cached for a year, replaced on change."""
    return url_for("pages.static", filename=filename, v=_static_version(filename))


@bp.app_template_global()
def max_units(chars: int) -> int:
    """A field's maxlength for a limit of ``chars`` characters as the server counts them: maxlength counts
    UTF-16 units, two for a character outside the BMP (an emoji, 𠮷), so any ``chars`` characters fit.
    Longer text without JavaScript is said to be too long by the server; common.js (keepWithinChars) cuts it at ``chars``."""
    return 2 * chars


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
        "sites": s.data.scope.sites if s else (),  # our own hosts, linked where answers write them bare
        "contacts": _contacts(s),
    }


def _contacts(s: Searcher | None) -> tuple[str, ...]:
    # Our phone numbers and e-mail addresses, those of the channels article, linked where answers write them.
    a = s.get(CHANNELS_ARTICLE) if s else None
    return render.own_contacts(a.answer) if a else ()


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
    category = _category(s)
    hits, browse, guesses = [], [], []
    if s is not None and q and not too_long:
        try:
            hits = s.search(q, k=10, category=category)
        except QueryError:
            hits = s.search(q, k=10)
        note_search(q, hits, s.version)
        if not (hits and hits[0].confident):
            # 你是不是想问: what search.js lists from /api/suggest (its 8) when no answer is confident.
            guesses = suggester_for(current_app, s).suggest(q, k=8, category=category)
    elif s is not None and category and not q:
        browse = [a for a in s.articles if a.category == category]
    # 503 while no index serves: a balancer (deploy/nginx.conf) then tries another replica.
    return (_index_page(s, q, category, None if s else UNAVAILABLE, hits, browse, too_long, guesses),
            200 if s is not None else 503)


def _category(s: Searcher | None) -> str | None:
    """The category the page is narrowed to: by its id or its name (密码, 轉賬), as the API reads it; one
    that names none is ignored (a stale link), not an error."""
    category = request.args.get("category") or None
    if s is None or category is None:
        return category
    try:
        return s.category_named(category)
    except QueryError:
        return None


def _index_page(s: Searcher | None, q: str, category: str | None, error: str | None, hits=(), browse=(),
                too_long: str | None = None, guesses=()) -> str:
    popular = popular_questions(s, 8) if s is not None and not q else []
    confident = bool(hits) and hits[0].confident
    other_product = s.other_product(q, hits) if s is not None and q and not too_long and not error else None
    # As the page's script decides (search.js showResults): one character with anything found is too
    # little to say there is no answer; a lone letter may begin pinyin; typed Latin letters with guesses
    # are half-typed pinyin, the guesses their answer.
    pinyin = bool(guesses) and any(c.isascii() and c.isalpha() for c in q)
    no_answer = (bool(q) and not confident and not error and not too_long and not pinyin
                 and (len(q) >= 2 or not (hits or guesses or (len(q) == 1 and q.isascii() and q.isalpha()))))
    # Short of an answer, the status line says what is listed for screen readers, not on screen (the
    # headings below show it), in the script's words: no empty line's gap above them either.
    told = None
    if q and not confident and not error and not too_long:
        listed = [f"你是不是想问：{len(guesses)} 个问题" if guesses else "", f"{len(hits)} 个可能相关的问题" if hits else ""]
        told = "没有找到匹配的答案" if no_answer else "；".join(filter(None, listed))
    return render_template(
        "index.html", q=q, hits=hits, confident=confident, no_answer=no_answer, other_product=other_product,
        other_product_ask=s.whom_to_ask(other_product) if s is not None else None, category=category,
        error=error, popular=popular, guesses=guesses, told=told,
        too_long=too_long, browse=browse, page_size=SEARCH_PAGE_SIZE, related={h.id: _related(s, h.id) for h in hits},
        **_page_context(s),
    )


def _related(s: Searcher, article_id: str) -> list:
    a = s.get(article_id)
    return [r for r in (s.get(rid) for rid in a.related) if r is not None] if a else []


@bp.get("/agent")
def agent():
    s = live().get()
    return _agent_page(s, None if s else UNAVAILABLE), 200 if s is not None else 503


def _agent_page(s: Searcher | None, error: str | None) -> str:
    return render_template("agent.html", error=error, page_size=AGENT_PAGE_SIZE, **_page_context(s))


# The pages' own errors, raised before their view runs (rate limit, encoding): the page with the message,
# in the words the scripts use (common.js errorMessage), and the same status. Static files keep JSON.
PAGES = {"pages.index", "pages.agent"}
FORMS = {"pages.vote", "pages.ask"}
# The pages holding a form that posts (a vote, a question), errors included: the search page and what a
# posted form gets. The console's only form is a GET.
FORM_PAGES = {"pages.index", *FORMS}


@bp.after_request
def _form_page_referrer_policy(response):
    # So that browsers without Sec-Fetch-Site send these forms with our Origin (security.check_same_origin).
    if request.endpoint in FORM_PAGES:
        response.headers["Referrer-Policy"] = FORM_PAGE_REFERRER_POLICY
    return response


@bp.errorhandler(ApiError)
def _api_error(e: ApiError):
    if request.endpoint in FORMS:
        return _form_error_page(e.status, e.code, e.message, e.headers)
    if request.endpoint not in PAGES:
        return errors.api_error(e)
    return _error_page(e.status, e.code, e.headers)


@bp.errorhandler(HTTPException)
def _http_error(e: HTTPException):
    if request.endpoint in FORMS:
        return _form_error_page(e.code or 500, None, "", {})
    if request.endpoint not in PAGES:
        return errors.http_error(e)
    return _error_page(e.code or 500, None, {})


def _error_page(status: int, code: str | None, headers: dict[str, str]):
    retry = headers.get("Retry-After")
    if status == 429:
        message = f"请求太频繁，请 {retry} 秒后再试。" if retry else "请求太频繁，请稍候再试。"
    elif code == "invalid_encoding":
        message = "网址里有无法识别的字符（不是 UTF-8），请重新输入你的问题。"
    else:
        message = UNAVAILABLE
    s = live().get()
    if request.endpoint == "pages.agent":
        body = _agent_page(s, message)
    else:  # the question stays in the box, to send again, unless it is what could not be read
        q, category = "", None
        try:
            if code != "invalid_encoding":
                q, category = request.args.get("q", "").strip(), _category(s)
        except UnicodeDecodeError:  # raw bytes that are not UTF-8, refused by the rate limit first
            pass
        body = _index_page(s, q if visible(q) else "", category, message)
    return body, status, headers


# --- the search page's forms, without JavaScript ------------------------------------------------------
# search.js sends votes and questions to the JSON API; without it the same forms post here. The same
# checks (api.feedback_schema and record_vote, api.question_schema and record_question) and rate limits
# (security.LIMITED) apply; a form, unlike JSON, can be posted by any site's page: check_same_origin.


@bp.post("/feedback")
def vote():
    check_same_origin()
    body = form_body(feedback_schema())
    record_vote(body)
    back = _search_url(body["query"], _category(live().get()), body["article_id"])
    if body["helpful"]:
        return _sent_page("感谢你的反馈！", "", back, "返回答案")
    # As the script does under an answer voted 没有: the channels, and the question to leave, filled in.
    return _sent_page("感谢反馈", "很抱歉这个回答没有帮到你：可以联系下面的客服，或留下你的问题。", back, "返回答案",
                      ask=(body["query"], "", None))


@bp.post("/question")
def ask():
    check_same_origin()
    body = form_body(question_schema())
    record_question(body)
    return _sent_page("已收到你的问题", "已收到，谢谢！我们会尽快补充这个问题的答案。",
                      _search_url(body["query"], _category(live().get())), "返回搜索")


@bp.get("/feedback")
@bp.get("/question")
def form_address():
    # The address bar shows where a form was posted: opened again (Enter, a bookmark), it leads home.
    return redirect("/", 303)


def _search_url(q: str, category: str | None = None, article_id: str | None = None) -> str:
    """The results page a form was posted from: the question, the category chip left on (the form's
    action carries it: the API's schema takes no such field), and the answer voted on, by its anchor."""
    if not visible(q):
        return "/"
    url = "/?q=" + quote(q) + ("&category=" + quote(category) if category else "")
    return url + ("#answer-" + quote(article_id) if article_id else "")


def _sent_page(title: str, message: str, back: str, back_label: str, failed: bool = False,
               ask: tuple[str, str, tuple[str, str] | None] | None = None) -> str:
    """The page a posted form gets; ``ask`` (question, contact, (field, problem) or None) shows the form to
    leave a question, filled in."""
    query, contact, problem = ask or ("", "", None)
    s = live().get()
    return render_template("sent.html", title=title, message=message, back=back, back_label=back_label, failed=failed,
                           offer_ask=ask is not None, ask_query=query, ask_contact=contact, problem=problem,
                           category=_category(s), **_page_context(s))


# The API's messages name the field and limit a form field broke ("'contact' is longer than 100 characters").
_LONGER = re.compile(r"'(query|contact)' is longer than (\d+)")
_FIELD_NAMES = {"query": "问题", "contact": "联系方式"}
_ARTICLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")  # as corpus.py's


def _form_error_page(status: int, code: str | None, message: str, headers: dict[str, str]):
    """What a refused form gets: the reason in the words the script uses (search.js), and the way back; a
    question refused for its text comes back in its form, the field at fault marked."""
    try:
        form = request.form if request.mimetype in FORM_TYPES else {}
        query, contact = form.get("query", "").strip(), form.get("contact", "").strip()
    except HTTPException:  # the body could not be read (too large): nothing of it to show again
        form, query, contact = {}, "", ""
    problem = None
    if status == 429:
        retry = headers.get("Retry-After")
        said = f"请求太频繁，请 {retry} 秒后再试。" if retry else "请求太频繁，请稍候再试。"
    elif code == "article_not_found":
        said = "这篇文章已更新或下线，请重新搜索。"
    elif code == "cross_origin":
        said = "这个表单只接受从本站页面提交，请回到帮助中心再试一次。"
    elif status == 413:
        said = "提交的内容太长了，请精简后再试。"
    elif code == "missing_query":
        said = "请先用文字写下你的问题。"
        problem = ("query", said)
    elif status in (400, 415):
        said = "提交的内容有误，请检查后再试。"
        if longer := _LONGER.search(message):
            said = f"{_FIELD_NAMES[longer[1]]}太长了，请精简到 {longer[2]} 个字以内。"
            problem = (longer[1], said)
    else:
        said = "提交失败，请稍后再试。"
    asking = request.endpoint == "pages.ask"
    # A question comes back in its form, to correct or send again; not one another site's page made up.
    ask = (query, contact, problem) if asking and code != "cross_origin" else None
    back_label = "返回搜索" if asking or code == "article_not_found" else "返回答案"
    voted = None if asking or code == "article_not_found" else form.get("article_id")
    # Only an id an article could have: it is put in the link as given.
    back = _search_url(query, _category(live().get()), voted if voted and _ARTICLE_ID.match(voted) else None)
    body = _sent_page("没有提交成功", said, back, back_label, failed=True, ask=ask)
    return body, status, headers
