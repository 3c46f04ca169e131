"""Security headers, templates without inline code, per-client rate limits, admin endpoints."""

import os
import re

import pytest

from faq_search.build import build_index
from tests.conftest import ROOT, TINY_ARTICLES, assert_error

TOKEN = "s3cret-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def secure_app(app_factory, shared_tiny_index):
    app = app_factory(shared_tiny_index)

    @app.get("/test/boom")
    def boom():
        raise RuntimeError("bug")

    return app


@pytest.mark.parametrize("url", ["/", "/?q=密码", "/api/search?q=密码", "/api/search", "/healthz", "/metrics",
                                 "/static/style.css", "/no/such/page", "/test/boom"])
def test_every_response_carries_the_security_headers(secure_app, url):
    r = secure_app.test_client().get(url)
    r.close()  # static files are streamed from an open file
    csp = r.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'" and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    # Other sites get no Referer from either; the search page's forms need our Origin (test_pages.py).
    assert r.headers["Referrer-Policy"] == ("same-origin" if url in ("/", "/?q=密码") else "no-referrer")
    assert r.headers["X-Frame-Options"] == "DENY"


def test_the_security_headers_are_added_without_failed_lookups_and_keep_a_views_own(secure_app, monkeypatch):
    from flask import Response
    from werkzeug.exceptions import BadRequestKeyError

    from faq_search.web.security import HEADERS

    # Headers.setdefault finds a header missing by raising and catching BadRequestKeyError (≈ 5 µs each):
    # five a response, a fifth of what /healthz costs.
    add_headers = next(f for f in secure_app.after_request_funcs[None] if f.__name__ == "_headers")
    response, own = Response("{}", mimetype="application/json"), Response("<p>", mimetype="text/html")
    own.headers["referrer-policy"] = "same-origin"  # in any case: header names are
    raised = []
    with secure_app.test_request_context("/healthz"):
        monkeypatch.setattr(BadRequestKeyError, "__init__", lambda self, *args, **kwargs: raised.append(args))
        response, own = add_headers(response), add_headers(own)
    assert raised == []
    assert list(response.headers)[-len(HEADERS):] == list(HEADERS.items())
    assert own.headers.getlist("Referrer-Policy") == ["same-origin"]
    assert [name for name, _value in own.headers][-4:] == [n for n in HEADERS if n != "Referrer-Policy"]


def test_templates_need_no_inline_script_or_style():
    # The CSP blocks inline code, so the page must work without any.
    templates = list((ROOT / "faq_search" / "web" / "templates").rglob("*.html"))
    assert templates
    for path in templates:
        html = path.read_text("utf-8")
        for tag in re.findall(r"<script\b[^>]*>", html, flags=re.I):
            assert re.search(r"\bsrc=", tag), f"{path.name}: inline <script>"
        assert not re.search(r"\son[a-z]+\s*=", html, flags=re.I), f"{path.name}: inline event handler"
        assert not re.search(r"\sstyle\s*=", html, flags=re.I), f"{path.name}: inline style attribute"
        assert not re.search(r"<style\b", html, flags=re.I), f"{path.name}: inline <style>"
        assert "javascript:" not in html.lower(), f"{path.name}: javascript: URL"


def test_the_page_loads_its_assets_from_this_site(secure_app):
    html = secure_app.test_client().get("/?q=忘记登录密码").get_data(as_text=True)
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        # Same-site paths or in-page fragments (the skip link), never another origin.
        assert (url.startswith("/") and not url.startswith("//")) or url.startswith("#"), url


# --- rate limits --------------------------------------------------------------------------------

def test_api_clients_past_the_limit_get_429_with_retry_after(app_factory, shared_tiny_index):
    client = app_factory(shared_tiny_index, FAQ_RATE_API=3).test_client()
    assert [client.get("/api/search?q=密码").status_code for _ in range(3)] == [200, 200, 200]
    r = client.get("/api/categories")
    assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 20
    # Another client has its own bucket; health checks and the page without a search are not limited.
    other = {"REMOTE_ADDR": "10.0.0.2"}
    assert client.get("/api/search?q=密码", environ_overrides=other).status_code == 200
    assert client.get("/").status_code == 200 and client.get("/agent").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_the_pages_own_searches_share_the_api_limit(app_factory, shared_tiny_index):
    # The page answers /?q= on the server (a search like /api/search): a script must not go round the limit.
    client = app_factory(shared_tiny_index, FAQ_RATE_API=3).test_client()
    assert [client.get(f"/?q=密码{i}").status_code for i in range(4)] == [200, 200, 200, 429]
    assert client.get("/").status_code == 200
    # However the name is spelled in the URL: the page reads the decoded arguments, and so does the limit.
    for url in ("/?%71=密码", "/?x=1&%71=密码", "/?q=%FF"):
        assert client.get(url).status_code == 429, url


def test_feedback_has_a_stricter_limit_on_top(app_factory, shared_tiny_index):
    client = app_factory(shared_tiny_index, FAQ_RATE_API=100, FAQ_RATE_FEEDBACK=2).test_client()
    vote = {"article_id": "pw-login", "helpful": True}
    # Only posting a vote spends it: reading the counts or asking which methods are allowed does not.
    assert [client.get("/api/feedback/stats").status_code for _ in range(3)] == [200, 200, 200]
    assert [client.options("/api/feedback").status_code for _ in range(3)] == [204, 204, 204]
    statuses = [client.post("/api/feedback", json=vote).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert client.get("/api/search?q=密码").status_code == 200
    assert client.get("/api/feedback/stats").status_code == 200
    assert client.post("/api/question", json={"query": "能用美元付款吗"}).status_code == 201


def test_leaving_questions_has_its_own_limit_on_top(app_factory, shared_tiny_index):
    # Each question is stored for the editors, with a contact: a script must not fill their inbox.
    client = app_factory(shared_tiny_index, FAQ_RATE_API=100, FAQ_RATE_FEEDBACK=100, FAQ_RATE_QUESTION=2).test_client()
    statuses = [client.post("/api/question", json={"query": f"能用美元付款吗{i}"}).status_code for i in range(3)]
    assert statuses == [201, 201, 429]
    assert client.post("/api/feedback", json={"article_id": "pw-login", "helpful": True}).status_code == 201
    assert client.get("/api/search?q=密码").status_code == 200


def test_zero_turns_the_limits_off(app_factory, shared_tiny_index):
    client = app_factory(shared_tiny_index, FAQ_RATE_API=0).test_client()
    assert {client.get("/api/categories").status_code for _ in range(200)} == {200}


def test_forwarded_for_identifies_clients_only_behind_a_trusted_proxy(app_factory, shared_tiny_index):
    spoofed = [{"X-Forwarded-For": f"203.0.113.{i}"} for i in range(3)]
    direct = app_factory(shared_tiny_index, FAQ_RATE_API=1).test_client()
    assert [direct.get("/api/categories", headers=h).status_code for h in spoofed] == [200, 429, 429]
    proxied = app_factory(shared_tiny_index, FAQ_RATE_API=1, FAQ_PROXY_HOPS=1).test_client()
    assert [proxied.get("/api/categories", headers=h).status_code for h in spoofed] == [200, 200, 200]


def test_a_revalidated_static_file_keeps_its_cache_headers(secure_app):
    # A 304's headers replace the browser's stored ones: "immutable" must survive a reload.
    client = secure_app.test_client()
    with client.get("/static/common.js") as first:
        etag = first.headers["ETag"]
    url = re.search(r'src="(/static/common\.js\?v=[0-9a-f]{12})"', client.get("/").get_data(as_text=True)).group(1)
    with client.get(url, headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304
        assert set(again.headers["Cache-Control"].split(", ")) == {"public", "max-age=31536000", "immutable"}


# --- admin ----------------------------------------------------------------------------------------

def test_admin_endpoints_do_not_exist_without_a_token(app_factory, shared_tiny_index):
    client = app_factory(shared_tiny_index).test_client()
    assert_error(client.get("/admin/stats", headers=AUTH), 404, "not_found")
    assert_error(client.post("/admin/reload", headers=AUTH), 404, "not_found")


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong-token-but-long-enough"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer é\x01"},
])
def test_admin_endpoints_need_the_bearer_token(app_factory, shared_tiny_index, headers):
    client = app_factory(shared_tiny_index, FAQ_ADMIN_TOKEN=TOKEN).test_client()
    for r in (client.get("/admin/stats", headers=headers), client.post("/admin/reload", headers=headers)):
        assert_error(r, 401, "unauthorized")
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    # OPTIONS tells only the methods, as on every route: nothing to guard.
    for path, method in (("/admin/stats", "GET"), ("/admin/reload", "POST")):
        r = client.options(path, headers=headers)
        assert r.status_code == 204 and r.data == b"" and method in r.headers["Allow"]


def test_a_short_admin_token_is_refused_at_start(app_factory, shared_tiny_index):
    with pytest.raises(ValueError, match="FAQ_ADMIN_TOKEN"):
        app_factory(shared_tiny_index, FAQ_ADMIN_TOKEN="short")


def test_admin_stats_describe_this_worker(app_factory, shared_tiny_index):
    import os

    client = app_factory(shared_tiny_index, FAQ_ADMIN_TOKEN=TOKEN).test_client()
    client.get("/api/search?q=密码")
    body = client.get("/admin/stats", headers=AUTH).get_json()
    assert body["pid"] == os.getpid()
    assert body["articles"] == 4 and body["index_version"] and body["index_error"] is None
    assert body["rate_limit_buckets"]["api"] >= 1
    assert body["query_log"]["bytes"] > 0


def test_admin_reload_swaps_now_and_force_retries_a_repaired_version(app_factory, make_corpus, tmp_path, tiny_analyzer):
    out = tmp_path / "ix"
    build_index(make_corpus(), out, analyzer=tiny_analyzer)
    # A long interval: only the admin reload makes this app look at the pointer again.
    client = app_factory(out, FAQ_ADMIN_TOKEN=TOKEN, interval=3600).test_client()
    v1 = client.get("/healthz").get_json()["index_version"]
    assert client.post("/admin/reload", headers=AUTH).get_json()["reloaded"] is False

    extra = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心兑换。"}
    v2 = build_index(make_corpus({**TINY_ARTICLES, "password/points.md": extra}, name="v2"), out, analyzer=tiny_analyzer)
    vocab = v2.path / "vocab.json"
    good = vocab.read_bytes()
    vocab.write_bytes(good[: len(good) // 2])  # truncated
    body = client.post("/admin/reload", headers=AUTH).get_json()
    assert body["reloaded"] is False and body["index_version"] == v1 and "checksum" in body["index_error"]

    vocab.write_bytes(good)  # repaired in place
    assert client.post("/admin/reload", headers=AUTH).get_json()["reloaded"] is False  # already refused once
    body = client.post("/admin/reload", headers=AUTH, json={"force": True}).get_json()
    assert body["reloaded"] is True and body["index_version"] == v2.version and body["articles"] == 5


def test_admin_reload_of_the_version_served_loads_nothing_and_says_so(app_factory, make_corpus, tmp_path,
                                                                     tiny_analyzer, monkeypatch):
    from faq_search import live as live_module

    out = tmp_path / "ix"
    v1 = build_index(make_corpus(), out, analyzer=tiny_analyzer).version
    app = app_factory(out, FAQ_ADMIN_TOKEN=TOKEN, interval=3600)
    client, live = app.test_client(), app.extensions["faq_live"]
    served = live.get()
    loads = []
    real_load = live_module.Searcher.load
    monkeypatch.setattr(live_module.Searcher, "load", lambda *a, **kw: loads.append(kw.get("version")) or real_load(*a, **kw))
    # Forced, CURRENT naming the version served: nothing was refused, nothing to retry.
    body = client.post("/admin/reload", headers=AUTH, json={"force": True}).get_json()
    assert body["reloaded"] is False and body["index_version"] == v1 and body["index_error"] is None
    assert loads == [] and live.current is served

    # A refused publish, then CURRENT pointed back at the version served: no longer stale, and not loaded again.
    extra = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心兑换。"}
    v2 = build_index(make_corpus({**TINY_ARTICLES, "password/points.md": extra}, name="v2"), out, analyzer=tiny_analyzer)
    (v2.path / "vocab.json").write_text("{}", "utf-8")
    assert client.post("/admin/reload", headers=AUTH).get_json()["reloaded"] is False
    assert client.get("/healthz").get_json()["refused_version"] == v2.version
    assert "faq_index_stale 1.0" in client.get("/metrics").get_data(as_text=True)
    (out / "CURRENT").write_text(v1 + "\n")
    for force in (False, True):
        body = client.post("/admin/reload", headers=AUTH, json={"force": force}).get_json()
        assert body["reloaded"] is False and body["index_version"] == v1 and body["index_error"] is None, force
    assert loads == [v2.version] and live.current is served
    assert client.get("/healthz").get_json() == {"status": "ok", "index_version": v1, "articles": 4}
    assert "faq_index_stale 0.0" in client.get("/metrics").get_data(as_text=True)


def test_a_forced_reload_loads_in_the_background_and_answers_at_once(app_factory, make_corpus, tmp_path,
                                                                     tiny_analyzer, monkeypatch):
    # It loaded the repaired version inside the request: seconds at 100k entries, the worker answering nothing else.
    import threading

    from faq_search import live as live_module
    from tests.test_live import EXTRA, wait_for_version

    out = tmp_path / "ix"
    v1 = build_index(make_corpus(), out, analyzer=tiny_analyzer).version
    app = app_factory(out, FAQ_ADMIN_TOKEN=TOKEN, interval=3600, background=True)
    client, live = app.test_client(), app.extensions["faq_live"]
    v2 = build_index(make_corpus({**TINY_ARTICLES, "password/points.md": EXTRA}, name="v2"), out, analyzer=tiny_analyzer)
    vocab = v2.path / "vocab.json"
    good = vocab.read_bytes()
    vocab.write_bytes(good[: len(good) // 2])
    assert client.post("/admin/reload", headers=AUTH).status_code == 202  # the first try, refused in its thread
    with live._lock:  # the load's thread is done
        assert live.loading is None and live.current.version == v1
    assert client.get("/healthz").get_json()["refused_version"] == v2.version

    vocab.write_bytes(good)  # repaired
    release, loading = threading.Event(), threading.Event()
    real_load = live_module.Searcher.load

    def slow_load(*args, **kwargs):  # a big index: loading and warming take seconds
        loading.set()
        release.wait(10)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(live_module.Searcher, "load", slow_load)
    answered = []
    admin = threading.Thread(target=lambda: answered.append(
        client.post("/admin/reload", headers=AUTH, json={"force": True})))
    try:
        admin.start()
        admin.join(5)
        assert not admin.is_alive(), "the request waited for the load"
        r = answered[0]
        body = r.get_json()
        assert r.status_code == 202 and body["loading"] == v2.version and body["reloaded"] is False
        assert body["index_version"] == v1 and loading.wait(5)
        # Meanwhile v1 answers, and a second reload, forced or not, says the same without a second load.
        assert client.get("/api/search?q=积分兑换").get_json()["index_version"] == v1
        for force in (False, True):
            again = client.post("/admin/reload", headers=AUTH, json={"force": force})
            assert again.status_code == 202 and again.get_json()["loading"] == v2.version
        assert client.get("/admin/stats", headers=AUTH).get_json()["loading"] == v2.version
    finally:
        release.set()
    assert wait_for_version(live, v2.version)
    stats = client.get("/admin/stats", headers=AUTH).get_json()
    assert stats["loading"] is None and stats["index_error"] is None and stats["articles"] == 5
    assert client.get("/healthz").get_json() == {"status": "ok", "index_version": v2.version, "articles": 5}
    # Served now: a forced reload has nothing to load and says so at once.
    r = client.post("/admin/reload", headers=AUTH, json={"force": True})
    assert r.status_code == 200 and r.get_json()["loading"] is None and r.get_json()["reloaded"] is False


def test_a_forced_reload_reaches_every_worker_once(app_factory, make_corpus, tmp_path, tiny_analyzer, monkeypatch):
    # Only the worker that answered it retried: the others kept skipping the repaired version until a restart.
    from faq_search import live as live_module
    from tests.test_live import EXTRA

    out = tmp_path / "ix"
    v1 = build_index(make_corpus(), out, analyzer=tiny_analyzer).version
    # Two workers of one server: two processes following one index directory.
    answering, other = (app_factory(out, FAQ_ADMIN_TOKEN=TOKEN).test_client() for _ in range(2))
    v2 = build_index(make_corpus({**TINY_ARTICLES, "password/points.md": EXTRA}, name="v2"), out, analyzer=tiny_analyzer)
    vocab = v2.path / "vocab.json"
    good = vocab.read_bytes()
    vocab.write_bytes(good[: len(good) // 2])
    for worker in (answering, other):
        assert worker.get("/healthz").get_json()["refused_version"] == v2.version
    loads = []
    real_load = live_module.Searcher.load
    monkeypatch.setattr(live_module.Searcher, "load", lambda *a, **kw: loads.append(kw.get("version")) or real_load(*a, **kw))

    # Forced while still broken: each worker tries once more, then skips it again.
    body = answering.post("/admin/reload", headers=AUTH, json={"force": True}).get_json()
    assert body["every_worker"] is True and body["index_version"] == v1
    for _ in range(3):
        assert other.get("/healthz").get_json()["refused_version"] == v2.version
    assert loads == [v2.version, v2.version]

    vocab.write_bytes(good)  # repaired in place
    assert other.get("/healthz").get_json()["refused_version"] == v2.version  # unasked, still skipped
    body = answering.post("/admin/reload", headers=AUTH, json={"force": True}).get_json()
    assert body["reloaded"] is True and body["index_version"] == v2.version and body["every_worker"] is True
    assert other.get("/healthz").get_json() == {"status": "ok", "index_version": v2.version, "articles": 5}
    assert loads == [v2.version] * 4
    # Not forced: nothing recorded, and the version served is not loaded again.
    body = answering.post("/admin/reload", headers=AUTH).get_json()
    assert body["every_worker"] is None and body["reloaded"] is False
    assert other.get("/healthz").get_json()["index_version"] == v2.version and loads == [v2.version] * 4


def test_a_forced_reload_in_an_unwritable_index_directory_is_an_error_naming_it(
        app_factory, make_corpus, tmp_path, tiny_analyzer, caplog):
    # A replica whose index directory only receives shipped versions: the request answered 200 (or 202) with
    # "every_worker": false, which a script or `curl -f` took for a retry by every worker.
    from tests.conftest import read_only_directory
    from tests.test_live import EXTRA

    out = tmp_path / "ix"
    build_index(make_corpus(), out, analyzer=tiny_analyzer)
    client = app_factory(out, FAQ_ADMIN_TOKEN=TOKEN).test_client()
    v2 = build_index(make_corpus({**TINY_ARTICLES, "password/points.md": EXTRA}, name="v2"), out, analyzer=tiny_analyzer)
    vocab = v2.path / "vocab.json"
    good = vocab.read_bytes()
    vocab.write_bytes(good[: len(good) // 2])
    assert client.get("/healthz").get_json()["refused_version"] == v2.version
    vocab.write_bytes(good)
    with read_only_directory(out):
        r = client.post("/admin/reload", headers=AUTH, json={"force": True})
        message = assert_error(r, 503, "index_not_writable")["error"]["message"]
        assert message.startswith(f"cannot write the index directory {out}: "), message
        assert "only this worker (pid " in message and "ship the repaired version under a new name" in message, message
        assert f"cannot ask the other workers to retry index version {v2.version}" in caplog.text
        # The worker answering retried all the same; with the version served, a forced reload is refused alike.
        assert client.get("/healthz").get_json() == {"status": "ok", "index_version": v2.version, "articles": 5}
        r = client.post("/admin/reload", headers=AUTH, json={"force": True})
        assert f"only this worker (pid {os.getpid()}) serves {v2.version}" in assert_error(r, 503, "index_not_writable")[
            "error"]["message"]
        assert client.post("/admin/reload", headers=AUTH).status_code == 200  # not forced: nothing to write


def test_a_forced_reload_of_a_version_still_broken_keeps_the_previous_one(app_factory, make_corpus, tmp_path,
                                                                            tiny_analyzer):
    from tests.test_live import EXTRA

    out = tmp_path / "ix"
    v1 = build_index(make_corpus(), out, analyzer=tiny_analyzer).version
    app = app_factory(out, FAQ_ADMIN_TOKEN=TOKEN, interval=3600, background=True)
    client, live = app.test_client(), app.extensions["faq_live"]
    v2 = build_index(make_corpus({**TINY_ARTICLES, "password/points.md": EXTRA}, name="v2"), out, analyzer=tiny_analyzer)
    (v2.path / "vocab.json").write_text("{}", "utf-8")
    for force in (False, True):
        r = client.post("/admin/reload", headers=AUTH, json={"force": force})
        assert r.status_code == 202 and r.get_json()["loading"] == v2.version, force
        with live._lock:  # the load's thread is done
            pass
        stats = client.get("/admin/stats", headers=AUTH).get_json()
        assert stats["index_version"] == v1 and stats["loading"] is None, force
        error = stats["index_error"]
        assert f"index version {v2.version} refused" in error and "checksum mismatch" in error, force
        health = client.get("/healthz").get_json()
        assert health["status"] == "stale" and health["refused_version"] == v2.version, force
    r = client.post("/admin/reload", headers=AUTH)  # refused already, not forced: nothing to load
    assert r.status_code == 200 and r.get_json()["loading"] is None


@pytest.mark.parametrize("kwargs, status, code", [
    ({"json": {"force": "yes"}}, 400, "invalid_body"),
    ({"json": {"forse": True}}, 400, "invalid_body"),
    ({"json": [True]}, 400, "invalid_body"),
    ({"data": "force=1", "content_type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    ({"data": "{", "content_type": "application/json"}, 400, "invalid_json"),
    ({"data": b"{" + b" " * 20_000 + b"}", "content_type": "application/json"}, 413, "too_large"),
])
def test_admin_reload_validates_its_body(app_factory, shared_tiny_index, kwargs, status, code):
    client = app_factory(shared_tiny_index, FAQ_ADMIN_TOKEN=TOKEN).test_client()
    assert_error(client.post("/admin/reload", headers=AUTH, **kwargs), status, code)
