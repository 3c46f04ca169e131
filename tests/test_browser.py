"""The search page and the agents' console in a real browser: Debian's chromium, headless, driven by
Playwright for Python, against real gunicorn on a free port. `make test` installs chromium when missing."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from faq_search.build import build_index
from tests.conftest import REAL_CORPUS, ROOT, TINY_ARTICLES, article_text, write_corpus

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
# What the operations side will send; the pages must work under it unchanged.
STRICT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
              "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
MARKUP_ARTICLE = dict(
    id="app-markup-test", question="标签<b>加粗</b>会显示吗？", category="app", tags=["页面测试"],
    similar=["页面标记测试一下"], aliases=["app-markup-old"],
    answer="答案里有 <script>window.__pwned = 1</script> 和 <img src=x onerror=\"window.__pwned = 2\"> 两段标记。\n\n"
           "**重要提示**：请在[安全中心](https://help.yiqianbao.com/security)操作，别点[这里](javascript:window.__pwned=4)。",
)

if not Path(CHROMIUM).exists():
    # `make test` installs chromium first and sets FAQ_REQUIRE_BROWSER, so CI fails rather than skips.
    message = f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium fonts-noto-cjk)"
    if os.environ.get("FAQ_REQUIRE_BROWSER"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: pip install -e '.[test]'")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def serving(index: Path, tmp: Path, **env):
    """gunicorn serving ``index`` (its feedback data and log in ``tmp``) on a free port: yields its URL."""
    port = _free_port()
    env = {**os.environ, "FAQ_INDEX_DIR": str(index), "FAQ_DATA_DIR": str(tmp / "data"),
           "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "2", **env}
    log = open(tmp / "gunicorn.log", "w+")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "server:app"],
                            cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not _healthy(base):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.seek(0)
            pytest.fail("gunicorn did not start:\n" + log.read())
        time.sleep(0.1)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, real_analyzer):
    """The shipped knowledge base plus an article made of markup, served by gunicorn (2 workers)."""
    tmp = tmp_path_factory.mktemp("browser")
    corpus = tmp / "corpus"
    shutil.copytree(REAL_CORPUS, corpus)
    (corpus / "articles" / "app" / "markup-test.md").write_text(article_text(MARKUP_ARTICLE), "utf-8")
    build_index(corpus, tmp / "index", analyzer=real_analyzer)
    with serving(tmp / "index", tmp) as base:
        yield {"url": base, "db": tmp / "data" / "feedback.sqlite3"}


@pytest.fixture
def live_site(tmp_path, tiny_analyzer):
    """The tiny knowledge base served by gunicorn, which follows its index directory (every 0.2 s here), and
    publish(articles, categories=None): that corpus built and published there as an editor does, once served."""
    index = tmp_path / "index"
    corpora = itertools.count()

    def build(articles, categories=None):
        build_index(write_corpus(tmp_path / f"corpus{next(corpora)}", articles, categories), index, analyzer=tiny_analyzer)
        return (index / "CURRENT").read_text("utf-8").strip()

    def publish(articles, categories=None):
        version = build(articles, categories)
        deadline = time.monotonic() + 30
        served = lambda: json.load(urllib.request.urlopen(base + "/healthz", timeout=5))["index_version"]  # noqa: E731
        while not all(served() == version for _ in range(8)):  # eight in a row: both workers have switched
            assert time.monotonic() < deadline, f"{version} not served within 30 s"
            time.sleep(0.1)

    build(TINY_ARTICLES)
    with serving(index, tmp_path, FAQ_RELOAD_INTERVAL="0.2") as base:
        yield base, publish


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Page:
    """A Playwright page that fails the test on any JavaScript error or CSP violation."""

    def __init__(self, page, base: str):
        self.page, self.base, self.errors = page, base, []
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.set_default_timeout(10_000)
        # Serve the pages with the strict policy, as production will (the policy of the document is
        # what counts; API calls and static files are left alone, so nothing is in flight at teardown).
        def with_csp(route):
            response = route.fetch()
            headers = {**response.headers, "content-security-policy": STRICT_CSP}
            route.fulfill(response=response, headers=headers)

        page.route(re.compile("^" + re.escape(base) + r"/(agent)?(\?.*)?$"), with_csp)
        page.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation',"
                             " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")

    def __getattr__(self, name):
        return getattr(self.page, name)

    def open(self, path: str = "/"):
        self.response = self.page.goto(self.base + path)
        return self

    def type_query(self, text: str, selector: str = "#q", delay: int = 30):
        """Type like a person, then wait until the page shows what was typed."""
        self.page.click(selector)
        self.page.fill(selector, "")
        self.page.keyboard.type(text, delay=delay)
        self.page.wait_for_function(
            "sel => { const q = document.querySelector(sel).value.trim(); return document.getElementById('main').dataset.query === q; }",
            arg=selector)

    def hit_ids(self) -> list[str]:
        return self.page.eval_on_selector_all("#hits > li", "els => els.map(e => e.dataset.id)")

    def let_timers_run(self, ms: int):
        """Wait ``ms`` by the page's own clock: a timer the page set before, due sooner (a debounce), has
        run when this returns, however late a loaded machine runs it (timers run in order of when due)."""
        self.page.evaluate("ms => new Promise(done => setTimeout(done, ms))", ms)

    def check_clean(self):
        violations = self.page.evaluate("window.__csp")
        assert violations == [], violations
        # Only a test that takes the browser offline meets this, and a request still failing after its
        # last check (a keystroke's suggestions) may log it later than forget_failed_loads ran.
        errors = [e for e in self.errors if "ERR_INTERNET_DISCONNECTED" not in e]
        assert errors == [], errors


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    p = Page(context.new_page(), site["url"])
    yield p
    p.check_clean()
    context.close()


def wait_for_hits(p: Page, first: str | None = None):
    if first:
        p.wait_for_function("id => { const li = document.querySelector('#hits > li'); return li && li.dataset.id === id; }", arg=first)
    else:
        p.wait_for_selector("#hits > li")


def test_typing_shows_answers_fast_best_one_open(page, site):
    page.open("/")
    # The strict policy is in force (the pages must work under it): eval is refused.
    assert page.response.headers["content-security-policy"] == STRICT_CSP
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.append(s); }")
    page.wait_for_function("() => window.__csp.length > 0")  # an inline script is refused …
    assert page.evaluate("window.__inline") is None
    page.errors.clear()  # … and reported; that one was ours
    page.evaluate("window.__csp.length = 0")
    assert page.is_visible("#popular") and page.locator("#popular-list li").count() == 8
    latencies = []
    for query, expected in [("忘记登录密码了怎么办", "password-forgot-login-password"), ("提现多久到账", "topup-withdraw-withdraw-arrival"),
                            ("钱转错人了咋办", "transfer-wrong-recipient"), ("支付密码忘了", "password-forgot-payment-password"),
                            ("退款多久到", "refund-arrival-time")]:
        page.evaluate("delete document.getElementById('main').dataset.latencyMs")
        page.type_query(query)
        wait_for_hits(page, expected)
        page.wait_for_function("() => document.getElementById('main').dataset.latencyMs !== undefined")
        latencies.append(int(page.get_attribute("#main", "data-latency-ms")))
        first = page.locator("#hits > li").first
        assert first.locator("details").get_attribute("open") is not None  # best answer expanded
        others = page.locator("#hits > li")
        assert all(others.nth(i).locator("details").get_attribute("open") is None for i in range(1, others.count()))
        assert first.locator(".hit-question mark").count() > 0  # matched words highlighted
        assert page.is_hidden("#popular") and page.is_hidden("#no-answer")
    print(f"\nkeystroke → results rendered, ms: {latencies} (median {statistics.median(latencies)})")
    # ~150 ms is the target on this machine (60 ms of it debounce); allow for a loaded CI runner.
    assert statistics.median(latencies) < 300, latencies
    assert page.url.endswith("/?q=%E9%80%80%E6%AC%BE%E5%A4%9A%E4%B9%85%E5%88%B0")  # shareable URL


def test_answer_shows_related_articles_and_others_expand(page):
    page.open("/")
    page.type_query("忘记登录密码")
    wait_for_hits(page, "password-forgot-login-password")
    related = page.locator("#hits > li").first.locator(".related-list a")
    assert "忘记支付密码怎么办？" in related.all_inner_texts()
    second = page.locator("#hits > li").nth(1)
    second.locator("summary").click()
    assert second.locator("details").get_attribute("open") is not None
    related.filter(has_text="忘记支付密码怎么办？").focus()
    page.keyboard.press("Enter")  # a related article opens in place
    wait_for_hits(page, "password-forgot-payment-password")
    assert page.input_value("#q") == "忘记支付密码怎么办？"
    # The link is gone with the answer it was in: the focus goes to the new answer, not <body>.
    page.wait_for_function("() => document.activeElement.id === 'hit-0'")
    # Its name tells the question from the category (not 忘记支付密码怎么办？密码).
    sync_api.expect(page.locator("#hit-0")).to_have_accessible_name(re.compile(r"^忘记支付密码怎么办？\s*，分类：\s*密码$"))


def test_back_returns_to_the_previous_search(page):
    page.open("/")
    page.click("#popular-list a[data-question='提现多久到账？']")
    wait_for_hits(page, "topup-withdraw-withdraw-arrival")
    related = page.locator("#hits > li").first.locator(".related-list a").first
    related_question = related.inner_text()
    related.click()
    page.wait_for_function("q => document.querySelector('#hits > li .hit-question')?.textContent === q", arg=related_question)
    page.go_back()
    wait_for_hits(page, "topup-withdraw-withdraw-arrival")
    assert page.input_value("#q") == "提现多久到账？"
    page.go_forward()
    page.wait_for_function("q => document.getElementById('q').value === q", arg=related_question)
    page.type_query("忘记登录密码")  # typing makes one entry, however many keys
    page.type_query("忘记登录密码了怎么办")
    wait_for_hits(page, "password-forgot-login-password")
    page.go_back()
    page.wait_for_function("q => document.getElementById('q').value === q", arg=related_question)
    page.go_back()
    page.go_back()
    page.wait_for_selector("#popular:not([hidden])")
    assert page.input_value("#q") == "" and page.url == page.base + "/"


def test_enter_on_what_typing_shows_keeps_it_for_back(page):
    # Enter on answers typing brought commits them, as on the console: the next question typed is an entry
    # of its own, and Back returns to the one Enter was pressed on, not past it to the page before.
    page.open("/")
    page.type_query("提现多久到账")
    wait_for_hits(page, "topup-withdraw-withdraw-arrival")
    page.keyboard.press("Enter")
    page.type_query("转账限额")
    wait_for_hits(page, "transfer-limits")
    page.go_back()
    wait_for_hits(page, "topup-withdraw-withdraw-arrival")
    assert page.input_value("#q") == "提现多久到账"
    page.go_forward()
    wait_for_hits(page, "transfer-limits")
    assert page.input_value("#q") == "转账限额"


def test_agent_related_article_is_in_the_url(page):
    page.open("/agent?q=" + urllib.request.quote("钱转错人了咋办"))
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId === 'transfer-wrong-recipient'")
    page.focus("#agent-detail a[data-article='transfer-to-friend']")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId === 'transfer-to-friend'")
    assert "article=transfer-to-friend" in page.url
    # The link was replaced with the pane: the focus goes to the article's heading, not <body>; an article
    # opened outside a search has no 为什么匹配, and shows nothing (no "null") in its place.
    assert page.evaluate("document.activeElement.className") == "detail-question"
    assert page.evaluate("[...document.getElementById('agent-detail').childNodes].filter(n => n.nodeType === 3).length") == 0
    page.reload()
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId === 'transfer-to-friend'")
    assert page.input_value("#aq") == "钱转错人了咋办"
    page.go_back()
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId === 'transfer-wrong-recipient'")
    # A search committed with Enter is an entry of its own (typing is not): Back shows it again with the
    # article chosen in it, then the console as opened, then the page before.
    page.open("/")
    page.open("/agent")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")
    page.type_query("提现", selector="#aq")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'agent-results'")
    page.keyboard.press("ArrowDown")
    second = page.inner_text("#agent-item-1 code")
    page.type_query("账户被冻结", selector="#aq")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'agent-results'")
    page.go_back()
    page.wait_for_function("id => document.getElementById('main').dataset.query === '提现' && "
                           "document.querySelector('#agent-detail').dataset.articleId === id", arg=second)
    assert page.input_value("#aq") == "提现" and page.get_attribute("#agent-item-1", "aria-selected") == "true"
    page.go_forward()
    page.wait_for_function("() => document.getElementById('main').dataset.query === '账户被冻结'")
    page.go_back()
    page.go_back()
    page.wait_for_function("() => document.getElementById('agent-list-label').textContent === '热门问题'")
    assert page.input_value("#aq") == "" and page.url == page.base + "/agent"
    page.go_back()
    page.wait_for_selector("#popular:not([hidden])")
    # A link naming a category or tag the index no longer has says so, shows them all, and loses it.
    page.open("/agent?tag=nosuch&category=nosuch")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")
    assert page.inner_text(".agent-link-notice") == "链接中的分类「nosuch」和标签「nosuch」已不存在（帮助内容已更新），现显示全部分类、全部标签的文章。"
    assert page.url == page.base + "/agent"
    assert page.evaluate("['acategory', 'atag'].map(id => document.getElementById(id).selectedOptions[0]?.textContent)") == ["全部分类", "全部标签"]
    page.open("/agent?q=%E5%AF%86%E7%A0%81&category=password&tag=nosuch")
    page.wait_for_function("() => document.getElementById('main').dataset.filters === 'password|'")
    assert page.inner_text(".agent-link-notice") == "链接中的标签「nosuch」已不存在（帮助内容已更新），现显示全部标签的文章。"
    assert page.url == page.base + "/agent?q=%E5%AF%86%E7%A0%81&category=password"
    page.type_query("密码找回", selector="#aq")  # said once: gone with the next search
    assert page.is_hidden(".agent-link-notice")
    # A stale bookmark: an id no longer in the knowledge base is said to be missing, not the service down.
    page.open("/agent?article=nope")
    page.wait_for_selector("#agent-detail .notice")
    assert page.inner_text("#agent-detail .notice") == "无法读取文章 nope：没有这篇文章，它可能已被删除或改名。"
    # Nor any other error the pages' requests can get (docs/api.md): each has its own words.
    for code in ("missing_query", "unknown_category", "unknown_tag"):
        told = page.evaluate("c => FAQ.errorMessage(new FAQ.ApiError(400, c, 'developer text'), 200)", code)
        assert "暂时不可用" not in told and "developer" not in told, (code, told)
    forget_failed_loads(page)


def test_agent_j_and_k_from_a_related_article_go_on_from_the_list(page):
    # Reading the 4th hit, the agent opens a related article, then j for the next hit: the list went back
    # to its first one, and it still named the 4th as its active option while no option was selected.
    page.open("/agent?q=" + urllib.request.quote("支付密码"))
    page.wait_for_function("() => document.querySelectorAll('#agent-results [role=option]').length > 5 && "
                           "document.querySelector('#agent-detail').dataset.articleId")
    listed = page.locator("#agent-results code").all_inner_texts()
    page.locator("#agent-results").focus()
    for _ in range(3):
        page.keyboard.press("j")
    page.wait_for_function("id => document.querySelector('#agent-detail').dataset.articleId === id", arg=listed[3])
    for key, shown in (("j", 4), ("k", 2)):
        related = page.locator("#agent-detail .related-list a").first.get_attribute("data-article")
        page.click(f"#agent-detail a[data-article='{related}']")
        page.wait_for_function("id => document.querySelector('#agent-detail').dataset.articleId === id", arg=related)
        assert page.locator("#agent-results [aria-selected=true]").count() == 0
        assert page.get_attribute("#agent-results", "aria-activedescendant") is None
        page.keyboard.press(key)
        page.wait_for_function("id => document.querySelector('#agent-detail').dataset.articleId === id", arg=listed[shown])
        assert page.get_attribute(f"#agent-item-{shown}", "aria-selected") == "true", key
        if key == "j":
            page.keyboard.press("k")  # the related article was opened from the 4th again
            page.wait_for_function("id => document.querySelector('#agent-detail').dataset.articleId === id", arg=listed[3])


def test_script_query_and_markup_article_are_shown_as_text(page):
    page.open("/")
    query = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=3>"
    page.type_query(query, delay=5)
    page.wait_for_selector("#no-answer:not([hidden])")
    assert page.input_value("#ask-form textarea") == query
    assert page.title().startswith(query)
    page.type_query("页面标记测试一下")
    wait_for_hits(page, "app-markup-test")
    first = page.locator("#hits > li").first
    assert first.locator(".hit-question").inner_text() == "标签<b>加粗</b>会显示吗？"
    assert "<script>window.__pwned = 1</script>" in first.locator(".answer").inner_text()
    assert first.locator("b, img, script").count() == 0
    # Its Markdown: bold, a link to a web page opening apart; a javascript: one stays text.
    assert first.locator(".answer strong").inner_text() == "重要提示"
    link = first.locator(".answer a")
    assert link.count() == 1 and link.inner_text() == "安全中心"
    assert (link.get_attribute("href"), link.get_attribute("rel")) == ("https://help.yiqianbao.com/security", "noopener noreferrer")
    assert "别点[这里](javascript:window.__pwned=4)。" in first.locator(".answer").inner_text()
    # The agents' console copies it as text to paste into a chat: no ** nor [](…), the address set apart by
    # spaces (a ")" or 。 against it would be taken into the link).
    assert page.evaluate("FAQ.plainAnswer(`**注意**：见[帮助](https://a.cn/h)。\\n[x](javascript:alert(1))`)") == \
        "注意：见帮助 https://a.cn/h 。\n[x](javascript:alert(1))"
    # The server-rendered page (before and without JavaScript) escapes too.
    page.open("/?q=" + urllib.request.quote(query))
    page.wait_for_load_state("networkidle")
    page.open("/?q=" + urllib.request.quote("页面标记测试一下"))
    wait_for_hits(page, "app-markup-test")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("script").count() == 2  # common.js and search.js, nothing else


def test_category_chips_narrow_results(page):
    page.open("/")
    page.type_query("怎么办")
    wait_for_hits(page)
    categories = set(page.locator("#hits .hit-category").all_inner_texts())
    assert len(categories) > 1
    page.click(".hero-title")  # leaving the box closes the suggestions that cover the chips
    assert page.is_hidden("#suggestions")
    page.click('.chip[data-category="password"]')
    page.wait_for_function("() => [...document.querySelectorAll('#hits .hit-category')].every(e => e.textContent === '密码')"
                           " && document.querySelectorAll('#hits > li').length > 0")
    assert page.get_attribute('.chip[data-category="password"]', "aria-current") == "true"
    assert "category=password" in page.url
    page.click('.chip[data-category=""]')
    page.wait_for_function("() => new Set([...document.querySelectorAll('#hits .hit-category')].map(e => e.textContent)).size > 1")
    # A chip with nothing typed lists that category's questions: a page at a time (4 here, as the server
    # could pass; 100 by default), the total told, 更多 appending the next page and focusing its first one.
    page.fill("#q", "")
    page.keyboard.press("Escape")
    page.click(".hero-title")
    every = page.evaluate("fetch('/api/articles?category=service').then(r => r.json()).then(b => b.articles.map(a => a.question))")
    assert len(every) == 10  # pages of 4, 4 and 2
    page.evaluate("document.getElementById('main').dataset.pageSize = '4'")
    page.click('.chip[data-category="service"]')
    page.wait_for_selector("#browse:not([hidden])")
    assert page.inner_text("#browse-title") == "联系客服 显示 1–4，共 10 篇" and page.inner_text("#browse-more") == "更多（还有 6 篇）"
    assert page.text_content("#status") == "联系客服：显示 1–4，共 10 篇" and page.title() == "联系客服 - 易钱包帮助中心"
    assert page.is_hidden("#results")
    assert page.locator("#browse-list a").all_inner_texts() == every[:4]
    fourth = page.locator("#browse-list li").nth(3)
    assert (fourth.get_attribute("aria-posinset"), fourth.get_attribute("aria-setsize")) == ("4", "10")
    # The next page failing: said under the list, which stays, and 更多 stays to try again.
    next_page = re.compile(r".*/api/articles\?.*offset=4.*")
    page.route(next_page, lambda route: route.fulfill(
        status=503, content_type="application/json", body='{"error": {"code": "unavailable", "message": "index unavailable"}}'))
    page.click("#browse-more")
    page.wait_for_selector("#status.status-error:not(.visually-hidden)")
    assert page.text_content("#status") == "搜索服务暂时不可用，请稍后再试。"
    assert page.locator("#browse-list a").all_inner_texts() == every[:4] and page.inner_text("#browse-more") == "更多（还有 6 篇）"
    page.unroute(next_page)
    forget_failed_loads(page)
    page.focus("#browse-more")  # the retry
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#browse-list li').length === 8")
    assert page.evaluate("document.activeElement.textContent") == every[4]
    assert page.text_content("#status") == "已加载第 5–8 篇，共 10 篇" and page.inner_text("#browse-title") == "联系客服 显示 1–8，共 10 篇"
    assert page.locator("#browse-list a").all_inner_texts() == every[:8]
    assert page.get_attribute("#status", "class").split() == ["status", "visually-hidden"]  # the error no longer shown
    page.click("#browse-more")  # the last page: the button goes, the focus to its first article
    page.wait_for_function("() => document.querySelectorAll('#browse-list li').length === 10")
    assert page.is_hidden("#browse-more") and page.evaluate("document.activeElement.textContent") == every[8]
    assert page.inner_text("#browse-title") == "联系客服 共 10 篇" and page.locator("#browse-list a").all_inner_texts() == every
    assert page.locator("#browse-list li").first.get_attribute("aria-setsize") == "10"


def test_question_links_leave_the_category_filter(page):
    # Browsing a category keeps it; a related article in another category is answered, not "no answer".
    page.open("/?category=app")
    page.click("#browse-list a[data-question='换了新手机，易钱包里的钱和记录还在吗？']")
    wait_for_hits(page, "app-new-phone-data")
    assert "category=app" in page.url
    page.locator("#hits > li").first.locator(".related-list a", has_text="换新手机或新设备登录需要怎么验证？").click()
    wait_for_hits(page, "account-new-device-login")
    assert "category=" not in page.url and page.is_hidden("#no-answer")
    assert page.get_attribute('.chip[data-category=""]', "aria-current") == "true"
    assert page.get_attribute('.chip[data-category="app"]', "aria-current") is None
    page.go_back()  # the filtered answer before it, chip and all
    wait_for_hits(page, "app-new-phone-data")
    assert page.get_attribute('.chip[data-category="app"]', "aria-current") == "true"
    # The no-answer box's link to the contact article, with a chip active.
    page.type_query("推荐一部好看的电影")
    page.wait_for_selector("#no-answer:not([hidden])")
    page.click("#no-answer .channel-more a")
    wait_for_hits(page, "service-human-agent")
    assert page.get_attribute('.chip[data-category=""]', "aria-current") == "true" and "category=" not in page.url


def test_chip_links_carry_the_current_query(page):
    page.open("/?q=" + urllib.request.quote("冻结"))
    wait_for_hits(page)
    page.type_query("提现要几天")
    href = page.get_attribute('.chip[data-category="password"]', "href")
    assert href == "/?" + urllib.parse.urlencode({"q": "提现要几天", "category": "password"})
    assert page.get_attribute('.chip[data-category=""]', "href") == "/?" + urllib.parse.urlencode({"q": "提现要几天"})


def _paste_past_the_limit(page, path: str, box: str, text: str, hint: str) -> int:
    """Open ``path``, paste ``text`` repeated as many times as the server's limit (in characters) into
    ``box``, see it kept up to the limit and element ``hint`` say so; the limit."""
    page.open(path)
    limit = int(page.get_attribute("#main", "data-max-chars"))
    page.focus(box)
    page.keyboard.insert_text(text * limit)  # as a paste does
    assert page.input_value(box) == (text * limit)[:limit]
    page.wait_for_function("id => document.getElementById(id).textContent.includes('上限')", arg=hint)
    return limit


def test_a_question_over_the_limit_is_not_cut_silently(page):
    limit = _paste_past_the_limit(page, "/", "#q", "提现", "length-hint")
    assert page.is_visible("#length-hint") and str(limit) in page.inner_text("#length-hint")
    page.keyboard.press("Backspace")
    page.wait_for_function("() => document.getElementById('length-hint').textContent === ''")
    assert page.is_hidden("#length-hint")
    # A longer one in the URL is not cut to the limit and answered: the page says it is too long.
    page.open("/?q=" + urllib.request.quote("提现" * limit))
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#status") == f"问题太长了，请精简到 {limit} 个字以内。"
    assert len(page.input_value("#q")) == 2 * limit and page.inner_text("#length-hint") == ""
    assert page.locator("#hits > li").count() == 0 and page.is_hidden("#no-answer")
    forget_failed_loads(page)
    page.open("/agent")
    page.focus("#aq")
    page.keyboard.insert_text("提现" * limit)
    page.wait_for_function("n => document.getElementById('agent-toast').textContent.includes(n + ' 字上限')", arg=limit)


def test_no_answer_shows_channels_and_takes_the_question(page, site):
    page.open("/")
    page.type_query("推荐一部好看的电影")
    page.wait_for_selector("#no-answer:not([hidden])")
    box = page.locator("#no-answer").inner_text()
    for channel in ("App 在线客服", "400-660-8888", "support@yiqianbao.com", "官网在线客服"):
        assert channel in box
    assert page.get_attribute("#no-answer a[href^='tel:']", "href") == "tel:4006608888"
    # A field left empty, or one the API refuses (a contact past its limit, maxlength removed), is marked
    # invalid, described by its message in the page's language, and focused; the mark goes once it is right.
    question, contact = page.locator("#ask-form textarea"), page.locator("#ask-form input[name=contact]")

    def marked(field, message: str | None):
        described = field.get_attribute("aria-describedby")
        if message is None:
            assert field.get_attribute("aria-invalid") is None and described is None
        else:
            assert field.get_attribute("aria-invalid") == "true" and page.inner_text("#" + described) == message
            assert field.evaluate("e => e === document.activeElement")
            sync_api.expect(field).to_have_accessible_description(message)

    question.fill(" ")
    page.click("#ask-form button[type=submit]")
    marked(question, "请先写下你的问题。")
    marked(contact, None)
    page.keyboard.type("推荐一部好看的电影")
    marked(question, None)
    assert page.is_hidden("#ask-query-error")
    contact.evaluate("e => e.removeAttribute('maxlength')")
    contact.fill("x" * 101)
    page.click("#ask-form button[type=submit]")
    page.wait_for_selector("#ask-form input[name=contact][aria-invalid]")
    marked(contact, "联系方式太长了，请精简到 100 个字以内。")
    assert page.inner_text("#ask-form .ask-result") == ""
    forget_failed_loads(page)
    contact.press("Backspace")  # 100 now: within the limit the API named
    marked(contact, None)
    page.fill("#ask-form input[name=contact]", "user@example.com")
    # A failure looks like one: an alert (the polite region silent meanwhile, not to say it twice), an icon
    # and words, in the error colour (≥ 4.5:1), not the thank-you's green; the focus back on the button.
    failing = re.compile(r".*/api/question$")
    page.route(failing, lambda route: route.fulfill(
        status=503, content_type="application/json", body='{"error": {"code": "unavailable", "message": "store unavailable"}}'))
    page.click("#ask-form button[type=submit]")
    failed = page.locator("#ask-form .ask-result [role=alert]")
    failed.wait_for()
    assert failed.evaluate("e => e.lastChild.textContent") == "提交失败，请稍后再试。"
    assert failed.locator(".failure-icon[aria-hidden=true]").is_visible()
    assert page.get_attribute("#ask-form .ask-result", "aria-live") == "off"
    assert failed.evaluate("e => getComputedStyle(e).color !== getComputedStyle(e.parentElement).color")
    low = [r for r in page.eval_on_selector_all(".failure, .failure-icon", CONTRAST_JS) if r[1] < 4.5]
    assert not low, low
    assert page.evaluate("document.activeElement.type") == "submit"
    page.unroute(failing)
    forget_failed_loads(page)
    page.click("#ask-form button[type=submit]")
    page.wait_for_selector("#ask-form.ask-sent")
    assert "已收到" in page.inner_text("#ask-form .ask-result") and failed.count() == 0
    assert page.get_attribute("#ask-form .ask-result", "aria-live") == "polite"
    with sqlite3.connect(site["db"]) as db:
        rows = db.execute("SELECT query, contact FROM questions").fetchall()
    assert ("推荐一部好看的电影", "user@example.com") in rows


def test_a_question_with_no_word_in_it_is_marked_as_without_javascript(page):
    # ？？？ passed the script's check and the server refused it: 提交的内容有误 under the button, the field unmarked,
    # where the page without JavaScript marks the field and says what is missing.
    page.open("/")
    page.type_query("推荐一部好看的电影")
    page.wait_for_selector("#no-answer:not([hidden])")
    question = page.locator("#ask-form textarea")
    question.fill("？？？")
    page.click("#ask-form button[type=submit]")
    page.wait_for_selector("#ask-form textarea[aria-invalid=true]")
    sync_api.expect(question).to_have_accessible_description("请先用文字写下你的问题。")
    assert question.evaluate("e => e === document.activeElement") and page.inner_text("#ask-form .ask-result") == ""
    forget_failed_loads(page)  # the refused post's 400


def test_a_question_about_another_product_says_so_and_lists_related(page):
    page.open("/")
    page.type_query("支付宝客服电话")
    page.wait_for_selector("#no-answer:not([hidden])")
    assert page.inner_text("#no-answer-hint").startswith("这个问题看起来是关于「支付宝」的：这里只能解答易钱包的问题")
    assert page.locator("#hits .hit").count() > 0 and page.is_visible("#maybe-title")
    # The bank's business (scope.yml's ask) sends the visitor to the bank, not to "办信用卡's customer service".
    page.type_query("办信用卡要带什么材料")
    page.wait_for_function("() => document.querySelector('#no-answer-hint').textContent.includes('这类问题请咨询发卡银行')")
    assert "「办信用卡」" in page.inner_text("#no-answer-hint") and "官方客服" not in page.inner_text("#no-answer-hint")
    page.type_query("推荐一部好看的电影")
    page.wait_for_function("() => document.querySelector('#no-answer-hint').textContent.startsWith('换个说法试试')")
    # The agents' console says why the best hit is not the answer.
    page.open("/agent")
    page.type_query("支付宝客服电话", selector="#aq")
    page.wait_for_function("() => (document.querySelector('#agent-detail .badge')?.textContent || '') === '问的是支付宝'")
    page.type_query("办信用卡要带什么材料", selector="#aq")
    page.wait_for_function("() => (document.querySelector('#agent-detail .badge')?.title || '').includes('这类问题请客户咨询发卡银行')")
    # Otherwise the verdict is the no-answer model's, told apart from the score (not "below the threshold").
    page.type_query("今天天气怎么样", selector="#aq")
    page.wait_for_function("() => (document.querySelector('#agent-detail .badge')?.textContent || '') === '不确定'")
    assert "无答案模型" in page.get_attribute("#agent-detail .badge", "title")
    # Not only on hover: a button shows the same words as text.
    page.get_by_role("button", name="判断说明").click()
    assert page.get_by_text(page.get_attribute("#agent-detail .badge", "title")).is_visible()
    assert "阈值" not in page.inner_text("#agent-detail")
    page.type_query("钱转错人了咋办", selector="#aq")
    page.wait_for_function("() => (document.querySelector('#agent-detail .badge')?.textContent || '') === '可信'")


def test_feedback_is_stored_and_counted(page, site):
    page.open("/")
    page.type_query("提现多久到账")
    wait_for_hits(page, "topup-withdraw-withdraw-arrival")
    box = page.locator("#hits > li").first.locator(".feedback")
    assert box.inner_text().startswith("这个回答有帮助吗？")
    box.get_by_role("button", name="有", exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#hits .feedback-done")
    assert "感谢" in box.inner_text()
    assert box.get_by_role("button", name="没有").is_disabled()
    # The pressed button is disabled now: the focus is on what the vote got, not <body>.
    assert page.evaluate("document.activeElement.className") == "feedback-result"
    with sqlite3.connect(site["db"]) as db:
        rows = db.execute("SELECT query, article_id, helpful FROM feedback").fetchall()
    assert ("提现多久到账", "topup-withdraw-withdraw-arrival", 1) in rows
    counts = page.evaluate("fetch('/api/articles/topup-withdraw-withdraw-arrival').then(r => r.json()).then(b => b.feedback)")
    assert counts["helpful"] >= 1


def test_contact_link_after_no_leads_to_visible_channels(page):
    page.open("/")
    page.type_query("今天天气怎么样")
    page.wait_for_selector("#no-answer:not([hidden])")
    first = page.locator("#hits > li").first
    first.locator("summary").click()
    first.get_by_role("button", name="没有").click()
    assert first.get_by_role("link", name="留下你的问题").get_attribute("href") == "#ask-form"  # shown above
    first.get_by_role("link", name="联系客服").click()
    target = page.evaluate("location.hash")
    assert page.locator(target).get_by_text("400-660-8888").is_visible()


def test_an_answer_voted_unhelpful_offers_to_leave_the_question(page, site):
    page.open("/")
    page.type_query("忘记支付密码了怎么弄")
    wait_for_hits(page, "password-forgot-payment-password")
    assert page.is_hidden("#no-answer") and page.is_hidden("#ask-form")
    first = page.locator("#hits > li").first
    first.get_by_role("button", name="没有").click()
    form = first.locator("#ask-form")  # under that answer, filled in
    form.wait_for()
    assert form.is_visible() and page.input_value("#ask-form textarea") == "忘记支付密码了怎么弄"
    page.click("#ask-form button[type=submit]")
    page.wait_for_selector("#ask-form.ask-sent")
    with sqlite3.connect(site["db"]) as db:
        assert ("忘记支付密码了怎么弄", "") in db.execute("SELECT query, contact FROM questions").fetchall()
    page.type_query("推荐一部好看的电影")  # the next no-answer box has its form back
    page.wait_for_selector("#no-answer:not([hidden]) #ask-form:not(.ask-sent)")
    assert page.input_value("#ask-form textarea") == "推荐一部好看的电影"


def test_one_vote_per_article_from_a_browser(page, site):
    page.open("/")
    page.type_query("退款多久到")
    wait_for_hits(page, "refund-arrival-time")
    page.locator("#hits > li").first.get_by_role("button", name="有", exact=True).click()
    page.wait_for_selector("#hits .feedback-done")
    for _ in range(2):  # searching again, then reloading
        page.type_query("退款多久到账")
        wait_for_hits(page, "refund-arrival-time")
        box = page.locator("#hits > li").first.locator(".feedback")
        assert box.get_by_role("button", name="有", exact=True).is_disabled()
        assert box.get_by_role("button", name="有", exact=True).get_attribute("aria-pressed") == "true"
        assert "已反馈过" in box.inner_text()
        page.reload()
    with sqlite3.connect(site["db"]) as db:
        assert db.execute("SELECT COUNT(*) FROM feedback WHERE article_id = 'refund-arrival-time'").fetchone()[0] == 1
    # A vote this browser gave before the article was renamed (under a former id) still counts.
    page.evaluate("localStorage.setItem('faq-votes', JSON.stringify({'app-markup-old': false}))")
    page.type_query("页面标记测试一下")
    wait_for_hits(page, "app-markup-test")
    box = page.locator("#hits > li").first.locator(".feedback")
    assert box.get_by_role("button", name="没有", exact=True).get_attribute("aria-pressed") == "true"
    assert box.get_by_role("button", name="有", exact=True).is_disabled() and "已反馈过" in box.inner_text()
    # An article removed since the page showed it: said so, and not offered again (retrying cannot help).
    page.route(re.compile(r".*/api/feedback$"), lambda route: route.fulfill(
        status=404, content_type="application/json",
        body='{"error": {"code": "article_not_found", "message": "no article with that id"}}'))
    page.type_query("退款到哪里了")
    page.wait_for_selector("#hits > li")
    box = page.locator("#hits > li").first.locator(".feedback")
    box.get_by_role("button", name="有", exact=True).click()
    page.wait_for_function("() => document.querySelector('#hits .feedback-result').textContent !== ''")
    assert box.locator(".feedback-result").inner_text() == "这篇文章已更新或下线，请重新搜索。"
    assert box.get_by_role("button", name="有", exact=True).is_disabled()
    # Any other failure is said as one (an alert, an icon, red), as the leave-a-question form's; the vote can be given again.
    page.route(re.compile(r".*/api/feedback$"), lambda route: route.fulfill(
        status=503, content_type="application/json", body='{"error": {"code": "unavailable", "message": "store unavailable"}}'))
    page.type_query("账户被冻结了")
    wait_for_hits(page)
    box = page.locator("#hits > li").first.locator(".feedback")
    box.get_by_role("button", name="有", exact=True).click()
    box.locator(".feedback-result .failure[role=alert]").wait_for()
    assert box.locator(".failure").evaluate("e => e.lastChild.textContent") == "提交失败，请稍后再试。"
    assert box.locator(".failure-icon").is_visible() and box.get_by_role("button", name="有", exact=True).is_enabled()
    page.unroute(re.compile(r".*/api/feedback$"))
    page.context.set_offline(True)  # the vote is kept, said not sent yet, and sent once back online
    box.get_by_role("button", name="有", exact=True).click()
    box.locator(".failure", has_text="反馈还没有发出：本机网络已断开，恢复联网后会自动发送。").wait_for()
    assert box.get_by_role("button", name="有", exact=True).get_attribute("aria-pressed") == "true"
    page.context.set_offline(False)
    box.locator(".feedback-result", has_text="反馈已发送，谢谢！").wait_for()
    forget_failed_loads(page)


def test_a_vote_that_did_not_reach_the_server_is_sent_again_by_itself(page, site):
    # The server down as the visitor votes: the vote was said as 无法连接搜索服务器…请稍后再试 (a search's words,
    # for a vote) and dropped, the buttons offered again for the visitor to notice and press later.
    question = "提现什么时候能到账呀"
    page.open("/")
    page.type_query(question)
    wait_for_hits(page)
    first = page.hit_ids()[0]
    refused = []
    until = time.monotonic() + 4  # the first send and the first one again (2 s later) refused; the next (5 s later) taken
    page.route(re.compile(r".*/api/feedback$"), lambda route: (refused.append(1), route.abort("connectionrefused"))
               if time.monotonic() < until else route.fallback())
    page.evaluate("() => { window.__alerts = []; new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach((n) =>"
                  " n.nodeType === 1 && [n, ...n.querySelectorAll('*')].forEach((e) => e.getAttribute('role') === 'alert' &&"
                  " window.__alerts.push(e.textContent))))).observe(document.getElementById('hits'), {childList: true, subtree: true}); }")
    box = page.locator("#hits > li").first.locator(".feedback")
    box.get_by_role("button", name="没有", exact=True).click()
    unsent = "反馈还没有发出：暂时连不上服务器，会自动重新发送。"
    box.locator(".failure[role=alert]", has_text=unsent).wait_for()
    assert box.get_by_role("button", name="没有", exact=True).get_attribute("aria-pressed") == "true"
    assert box.get_by_role("button", name="有", exact=True).is_disabled() and "无法连接" not in box.inner_text()
    # The same answer shown again meanwhile (a search retyped) says the vote on its way, not buttons to press again.
    page.type_query(question + "？")
    wait_for_hits(page, first)
    box = page.locator("#hits > li").first.locator(".feedback")
    assert unsent in box.inner_text() and box.get_by_role("button", name="有", exact=True).is_disabled()
    box.locator(".feedback-result", has_text="反馈已发送，谢谢！").wait_for(timeout=15_000)
    assert len(refused) >= 2 and page.evaluate("window.__alerts") == ["!" + unsent, "!" + unsent]  # once per box
    with sqlite3.connect(site["db"]) as db:
        sent = db.execute("SELECT article_id, helpful FROM feedback WHERE query = ? UNION ALL "
                          "SELECT article_id, helpful FROM repeat_votes WHERE query = ?", (question, question)).fetchall()
    assert sent == [(first, 0)]
    assert page.evaluate("JSON.parse(localStorage.getItem('faq-votes'))")[first] is False
    forget_failed_loads(page)


def test_a_question_that_did_not_reach_the_server_is_sent_again_once(page, site):
    # The server unreachable as the visitor leaves a question: it said 无法连接搜索服务器…请稍后再试 (a search's
    # words), the question left in the form for the visitor to send again, or not. The first send here reaches
    # the server, its answer lost: sent again, it must not be stored twice.
    page.open("/")
    page.type_query("推荐一部好看的电影")
    page.wait_for_selector("#no-answer:not([hidden])")
    question = "能不能推荐几部好看的纪录片"
    page.fill("#ask-form textarea", question)
    page.fill("#ask-form input[name=contact]", "doc@example.com")
    sends = []

    def unreachable(route):
        sends.append(route.request.post_data_json)
        if len(sends) == 1:
            route.fetch()  # taken and stored, the answer lost on its way back
        if len(sends) <= 2:  # the first send and the first one again (2 s later); the next (5 s later) passes
            route.abort("connectionrefused")
        else:
            route.fallback()

    page.route(re.compile(r".*/api/question$"), unreachable)
    page.evaluate("() => { window.__alerts = []; new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach((n) =>"
                  " n.nodeType === 1 && [n, ...n.querySelectorAll('*')].forEach((e) => e.getAttribute('role') === 'alert' &&"
                  " window.__alerts.push(e.textContent))))).observe(document.getElementById('ask-form'), {childList: true, subtree: true}); }")
    page.click("#ask-form button[type=submit]")
    unsent = "问题还没有发出：暂时连不上服务器，会自动重新发送。"
    page.locator("#ask-form .ask-result .failure[role=alert]", has_text=unsent).wait_for()
    assert "无法连接" not in page.inner_text("#ask-form") and page.is_disabled("#ask-form textarea")
    # Another search with no answer meanwhile leaves the question on its way in the form, not its own.
    page.type_query("推荐一部好看的小说")
    assert page.input_value("#ask-form textarea") == question and unsent in page.inner_text("#ask-form .ask-result")
    page.locator("#ask-form.ask-sent .ask-result", has_text="已收到").wait_for(timeout=15_000)
    assert len(sends) == 3 and len({s["send_id"] for s in sends}) == 1 and sends[0]["send_id"]
    assert page.evaluate("window.__alerts") == ["!" + unsent]  # said once
    with sqlite3.connect(site["db"]) as db:
        stored = db.execute("SELECT contact FROM questions WHERE query = ?", (question,)).fetchall()
    assert stored == [("doc@example.com",)]
    forget_failed_loads(page)


# WCAG contrast of an element's text against the first background behind it (a colour, or the worst stop of
# a gradient); with `prop` (outlineColor, borderTopColor) that colour of it instead, against what is behind
# the element. A colour that is not opaque, or an outline or border not drawn, scores 0.
CONTRAST_JS = """(els, prop) => els.map(el => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
                                      .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const painted = (e) => getComputedStyle(e).backgroundColor !== 'rgba(0, 0, 0, 0)' || getComputedStyle(e).backgroundImage !== 'none';
  let bg = prop ? el.parentElement : el;
  while (bg && !painted(bg)) bg = bg.parentElement;
  const style = getComputedStyle(bg || document.body);
  const backs = (style.backgroundImage.match(/rgba?\\([^)]*\\)/g) || []).concat(style.backgroundColor).map(rgb).filter(c => c.length < 4 || c[3] > 0);
  const fg = rgb(getComputedStyle(el)[prop || 'color']);
  const ratio = Math.min(...backs.map(c => [lum(fg), lum(c)]).map(([a, b]) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)));
  const drawn = !prop || getComputedStyle(el)[prop.replace('Color', 'Style')] !== 'none';
  return [el.className || el.id, !drawn || (fg.length > 3 && fg[3] < 1) ? 0 : Math.round(ratio * 100) / 100];
})"""


def focus_rings(p: Page, selectors: list[str], ring: str = ":focus-visible") -> list:
    """The contrast of each one's focus ring, focused as from the keyboard (drawn by `ring`)."""
    rings = []
    for selector in selectors:
        p.focus(selector)
        drawn = p.eval_on_selector_all(ring, CONTRAST_JS, "outlineColor")
        assert len(drawn) == 1, selector
        rings += drawn
    return rings


def test_text_contrast_meets_wcag_aa(page):
    ratios = []
    page.open("/")
    ratios += page.eval_on_selector_all(".question-category, .search-button", CONTRAST_JS)
    # Focus rings, ≥ 3:1: on the orange header (the box's is the field's), the page, the dark footer.
    rings = focus_rings(page, [".brand", ".search-button", ".chip", "#popular-list a", ".site-footer a"])
    rings += focus_rings(page, ["#q"], ring=".search-field:focus-within")
    # High contrast mode drops shadows and backgrounds: the box keeps an edge and its ring.
    page.emulate_media(forced_colors="active")
    page.focus("#q")
    edge = page.evaluate("(s => [s.borderTopStyle, s.outlineStyle])(getComputedStyle(document.querySelector('.search-field')))")
    assert edge == ["solid", "solid"], edge
    page.emulate_media(forced_colors="none", reduced_motion="reduce")  # the chevron turns at once too
    page.keyboard.type("提现")  # a search: a hit's summary to look at
    wait_for_hits(page)
    assert page.evaluate("getComputedStyle(document.querySelector('.hit-summary'), '::after').transitionDuration") == "0s"
    page.type_query("提现多久到账")
    wait_for_hits(page, "topup-withdraw-withdraw-arrival")
    page.locator("#hits > li").first.get_by_role("button", name="有", exact=True).click()
    page.wait_for_selector("#hits .feedback-done")
    ratios += page.eval_on_selector_all("#status, .feedback-result", CONTRAST_JS)
    page.type_query("推荐一部好看的电影")
    page.wait_for_selector("#no-answer:not([hidden])")
    ratios += page.eval_on_selector_all(".primary-button, .hit-matched", CONTRAST_JS)
    # Edges of what takes input, ≥ 3:1 (a vote button; the form's fields).
    rings += page.eval_on_selector_all(".feedback-button, #ask-form textarea", CONTRAST_JS, "borderTopColor")
    assert page.evaluate("getComputedStyle(document.querySelector('.channel-more a')).textDecorationLine") == "underline"
    page.type_query("提现多久到账")  # its second hit matched 取现: highlighted in 匹配到
    page.wait_for_selector(".hit-matched mark", state="attached")
    ratios += page.eval_on_selector_all(".hit-matched mark", CONTRAST_JS)
    # The completion Enter picks and the current chip: an edge ≥ 3:1; in forced colours, the selection's.
    page.type_query("mima")
    page.wait_for_selector("#suggestions:not([hidden]) [role=option]")
    page.keyboard.press("ArrowDown")
    rings += page.eval_on_selector_all('.suggestion[aria-selected="true"]', CONTRAST_JS, "outlineColor")
    rings += page.eval_on_selector_all('.chip[aria-current="true"]', CONTRAST_JS, "borderTopColor")
    page.emulate_media(forced_colors="active")
    told = page.evaluate("""() => { const probe = document.body.appendChild(document.createElement('i'));
      probe.style.backgroundColor = 'Highlight';
      return ['.suggestion[aria-selected="true"]', '.chip[aria-current]', '.suggestion[aria-selected="false"]', '.chip:not([aria-current])']
        .map(s => getComputedStyle(document.querySelector(s)).backgroundColor === getComputedStyle(probe).backgroundColor); }""")
    assert told == [True, True, False, False], told
    page.emulate_media(forced_colors="none")
    page.open("/agent?q=" + urllib.request.quote("钱转错人了咋办"))
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId === 'transfer-wrong-recipient'")
    ratios += page.eval_on_selector_all(".agent-count, .agent-item-meta, .copy-button, .copy-button kbd, .detail-meta dt, .badge", CONTRAST_JS)
    rings += focus_rings(page, ["#aq", "#keys-button", "#agent-results", "#copy-button", "#agent-detail .related-list a"])
    page.keyboard.press("?")  # the list of keys, on its dark strip
    rings += focus_rings(page, ["#single-keys"])
    # The option selected in a list of several has a bar the others have not (not a tint alone), ≥ 3:1; in
    # forced-colors mode, where colours are the system's, it still has one, and a ring.
    page.open("/agent?q=" + urllib.request.quote("提现"))
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")
    rings += page.eval_on_selector_all('.agent-item[aria-selected="true"]', CONTRAST_JS, "borderLeftColor")
    shape = "els => els.map(e => (s => [s.borderLeftStyle, s.borderLeftWidth, s.outlineStyle])(getComputedStyle(e)))"
    for forced in ("none", "active"):
        page.emulate_media(forced_colors=forced)
        (selected,) = page.eval_on_selector_all('.agent-item[aria-selected="true"]', shape)
        others = page.eval_on_selector_all('.agent-item[aria-selected="false"]', shape)
        assert selected[0] == "solid" and others and selected not in others, (forced, selected, others)
    assert selected[2] == "solid"
    low = [r for r in ratios if r[1] < 4.5] + [r for r in rings if r[1] < 3]
    assert len(ratios) > 10 and len(rings) > 13 and not low, low


def test_keyboard_suggestions_results_and_escape(page):
    page.open("/")
    assert page.is_hidden("#results")  # no empty 搜索结果 to land on
    page.evaluate(RECORD_STATUS_JS)
    page.type_query("mima", delay=150)
    page.wait_for_selector("#suggestions:not([hidden]) [role=option]")
    # The status line is said once typing pauses, not at each key. The last key's answer is shown: whatever
    # typing has to say is written within SETTLE_MS of that key, by the page's clock however loaded.
    page.let_timers_run(SETTLE_MS)
    assert len(page.evaluate("window.__said")) == 1, page.evaluate("window.__said")
    assert page.get_attribute("#q", "role") == "combobox" and page.get_attribute("#q", "aria-expanded") == "true"
    sync_api.expect(page.locator("#q")).to_have_accessible_description("边输入边显示答案。上下方向键选择建议或答案，回车打开，Esc 清除。")
    assert page.get_attribute("#suggestions", "role") == "listbox"
    options = page.locator("#suggestions [role=option]").all_inner_texts()
    assert options and all("密" in o for o in options)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#q", "aria-activedescendant") == "suggestion-1"
    assert page.get_attribute("#suggestion-1", "aria-selected") == "true"
    chosen = page.locator("#suggestion-1 .suggestion-question").inner_text()
    page.keyboard.press("Enter")
    assert page.input_value("#q") == chosen
    page.wait_for_function("q => document.querySelector('#hits > li .hit-question') && document.querySelector('#hits > li .hit-question').textContent === q", arg=chosen)
    assert page.is_hidden("#suggestions") and page.get_attribute("#q", "aria-expanded") == "false"
    assert page.text_content("#status").startswith("找到")  # a completion chosen: said at once
    page.keyboard.press("ArrowDown")  # from the box into the results
    assert page.evaluate("document.activeElement.id") == "hit-0"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.id") == "hit-1"
    page.keyboard.press("Enter")  # opens the second answer
    assert page.locator("#hits > li").nth(1).locator("details").get_attribute("open") is not None
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.press("Escape")  # clears
    assert page.input_value("#q") == ""
    page.wait_for_selector("#popular:not([hidden])")
    assert page.locator("#hits > li").count() == 0 and page.is_hidden("#results")


def test_answer_markup_is_read_in_linear_time_as_the_server_reads_it(page):
    # The console's bold pattern scanned to the end of the line from every unclosed '**': 20,000 took 0.8 s
    # in V8 at each answer shown (the server's, answer_markdown.py, took 16 s and was made linear first).
    import random

    from faq_search.answer_markdown import inline_runs, plain_text

    page.open("/")
    took = page.evaluate("() => { const t = performance.now(); FAQ.inlineRuns('**b '.repeat(40000)); "
                         "FAQ.inlineRuns('__a '.repeat(40000)); return performance.now() - t; }")
    assert took < 300, took
    pieces = ["**", "__", "*", "_", "[", "]", "(", ")", "a", "b", "文", " ", "x_y", "](https://a.cn/p)", "[t](https://b.cn)"]
    draw = random.Random(7)
    lines = ["**粗** 和 __粗__ 与 [链接](https://a.cn)", "****", "**a**b**", "a__b__c", "__a__", "**[x](https://a.cn)** y"]
    lines += ["".join(draw.choice(pieces) for _ in range(draw.randint(1, 14))) for _ in range(400)]
    assert page.evaluate("lines => lines.map((l) => FAQ.plainAnswer(l))", lines) == [plain_text(line) for line in lines]
    # A line holding a line break is read without the closing-mark shortcut: the same runs again.
    lines += ["\n".join(lines[i : i + 3]) for i in range(0, 90, 3)]
    assert page.evaluate("lines => lines.map((l) => FAQ.inlineRuns(l).map((r) => [r.text, r.bold, r.url]))", lines) == \
        [[list(r) for r in inline_runs(line)] for line in lines]


def test_an_answers_lines_end_where_the_servers_do(page):
    # The script split an answer at "\n" only; the server (render.py, str.splitlines) at a \r or a U+2028
    # pasted from a web page too: the page showed one line with JavaScript and two without.
    from faq_search.answer_markdown import plain_text
    from faq_search.web.render import answer_blocks

    page.open("/")
    texts = ["第一行\u2028第二行", "一\r二\r\n三", "1. 打开 App\u20292. 点**设置**", "段一\x0c\x0c段二\x85- 项", "末尾\n", "a\n\n"]
    structure = """texts => texts.map((t) => Array.from(FAQ.answer(t).children, (b) => [
        b.tagName.toLowerCase() === "p" ? "p" : b.tagName.toLowerCase(),
        b.tagName === "P" ? b.innerHTML.split("<br>").map((x) => x.replace(/<[^>]*>/g, "")) : Array.from(b.children, (li) => li.textContent),
        Number(b.getAttribute("start") || 1)]))"""
    assert page.evaluate(structure, texts) == [[[k, [plain_text(x) for x in lines], n] for k, lines, n in answer_blocks(t)]
                                               for t in texts]
    assert page.evaluate("texts => texts.map((t) => FAQ.plainAnswer(t))", texts) == \
        ["\n".join(plain_text(line) for line in t.splitlines()) for t in texts]


def test_arrow_keys_reach_the_questions_shown_when_no_answers_are(page):
    # ↓ from the box did nothing on the home page or with only questions listed: the popular questions
    # were reachable by Tab alone.
    page.open("/")
    page.wait_for_selector("#popular:not([hidden]) #popular-list a")
    questions = page.locator("#popular-list a").all_inner_texts()
    focused = "document.activeElement.textContent"
    page.focus("#q")
    page.keyboard.press("ArrowDown")
    assert page.evaluate(focused) == questions[0]
    page.keyboard.press("ArrowDown")
    assert page.evaluate(focused) == questions[1]
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # opens that question's answer
    page.wait_for_selector("#hits > li details[open]")
    assert page.input_value("#q") == questions[0]


def test_pinyin_initials_suggest_without_a_search_hit(page):
    # "txdz" (提现到账 by initials) matches no article words; "tixian" itself is a synonym of 提现 and
    # is answered by search directly.
    page.open("/")
    page.type_query("txdz")
    page.wait_for_selector("#suggestions:not([hidden]) [role=option]")
    assert "提现" in page.locator("#suggestions .suggestion-question").all_inner_texts()[0]
    page.keyboard.press("Escape")  # closes the list, keeps the text
    assert page.input_value("#q") == "txdz" and page.is_hidden("#suggestions")
    page.keyboard.press("Enter")
    page.wait_for_selector("#did-you-mean:not([hidden])")
    assert "提现多久到账？" in page.inner_text("#did-you-mean")
    # The status region says so too, for screen readers (the heading shows it).
    assert page.text_content("#status").startswith("你是不是想问：")
    page.type_query("现")  # one character: no answer is claimed, related questions are listed
    page.wait_for_selector("#maybe-title:not([hidden])")
    page.wait_for_function("() => document.getElementById('status').textContent.includes('个可能相关的问题')")  # typing paused


def test_pinyin_of_a_domain_word_is_answered_by_search(page):
    page.open("/")
    page.type_query("tixian")
    page.wait_for_selector("#hits > li")
    assert "提现" in page.locator("#hits > li").first.inner_text()


# Where a chip focused from the keyboard is in the chips' row (one that scrolls sideways on a phone): its
# focus ring (5 px: outline and offset) not clipped by the row, the chip clear of the fade at its end.
CHIP_IN_VIEW_JS = """() => {
  const row = document.querySelector('.chips-inner'), box = row.getBoundingClientRect();
  const chip = document.activeElement.getBoundingClientRect(), mask = getComputedStyle(row).maskImage;
  const px = /^linear-gradient\\(to left, rgba\\(0, 0, 0, 0\\), rgb\\(0, 0, 0\\) ([\\d.]+)px\\)$/.exec(mask);
  const share = /^linear-gradient\\(to right, rgb\\(0, 0, 0\\) ([\\d.]+)%, rgba\\(0, 0, 0, 0\\)\\)$/.exec(mask);
  const fade = mask === 'none' ? 0 : px ? +px[1] : share ? box.width * (1 - share[1] / 100) : NaN;
  return [document.activeElement.textContent, chip.left - 5 >= box.left - 0.5, chip.right <= box.right - fade + 0.5,
          chip.top - 5 >= box.top - 0.5 && chip.bottom + 5 <= box.top + row.clientHeight + 0.5];
}"""


# The search box's placeholder: its width in the box's font, and the room the box has for it.
PLACEHOLDER_JS = """() => {
  const box = document.getElementById('q'), style = getComputedStyle(box);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = style.font;
  return [box.placeholder, ctx.measureText(box.placeholder).width, box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)];
}"""


# 320 px is the narrowest phone in use; 360 and 375 are common.
@pytest.mark.parametrize("path, typed, width", [("/", "", 320), ("/", "忘记登录密码了怎么办", 375), ("/", "推荐一部好看的电影", 320),
                                                ("/", "a" * 120, 360), ("/agent", "钱转错人了咋办", 320)])
def test_phone_has_no_horizontal_scroll(browser, site, path, typed, width):
    context = browser.new_context(viewport={"width": width, "height": 740}, is_mobile=True, has_touch=True, device_scale_factor=2)
    p = Page(context.new_page(), site["url"]).open(path)
    try:
        if typed:
            box = "#aq" if path == "/agent" else "#q"
            p.type_query(typed, selector=box, delay=0)
            p.wait_for_function("() => document.getElementById('main').dataset.latencyMs !== undefined")
        widths = p.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]")
        assert widths[0] <= width and widths[1] <= width and widths[2] == width, widths
        if path == "/" and not typed:
            # The chips scroll in a row of their own: the keyboard reaches every one, shown whole.
            for narrow in (320, 360):
                p.set_viewport_size({"width": narrow, "height": 740})
                # The placeholder shows whole, an example in it; the box's name is its label.
                placeholder, wide, room = p.evaluate(PLACEHOLDER_JS)
                assert "例如" in placeholder and wide <= room, (narrow, placeholder, wide, room)
                sync_api.expect(p.locator("#q")).to_have_accessible_name("输入你的问题")
                chips = p.locator(".chip").all_inner_texts()
                p.focus(".chip")
                seen = []
                for _ in chips:
                    seen.append(p.evaluate(CHIP_IN_VIEW_JS))
                    p.keyboard.press("Tab")
                assert [s[0] for s in seen] == chips and all(all(s[1:]) for s in seen), (narrow, [s for s in seen if not all(s[1:])])
        p.check_clean()
    finally:
        context.close()


# What a thumb taps on a phone, and how big it is (width, height): ≥ 44 CSS px each way (WCAG 2.5.5; Apple's and
# Google's guidelines), not the 31–36 px of a desktop's mouse. Links amid sentences (an answer's, a channel's) are exempt.
TAP_TARGETS_JS = """sels => sels.flatMap(sel => [...document.querySelectorAll(sel)]
  .filter(e => e.getClientRects().length)
  .map(e => { const r = e.getBoundingClientRect(); return [sel, e.textContent.trim().slice(0, 10), Math.round(r.width), Math.round(r.height)]; }))"""


@pytest.mark.parametrize("width, height", [(360, 640), (390, 844)])
def test_phone_tap_targets_are_44_px(browser, site, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=True, has_touch=True, device_scale_factor=2)
    p = Page(context.new_page(), site["url"]).open("/")
    try:
        seen = p.evaluate(TAP_TARGETS_JS, [".chip", "#popular-list a"])
        p.type_query("忘记密码", delay=0)
        wait_for_hits(p, "password-forgot-login-password")
        seen += p.evaluate(TAP_TARGETS_JS, ["#clear", ".search-button", ".hit-summary", ".feedback-button", ".related-list a"])
        p.type_query("tx", delay=0)  # pinyin initials: completions, and 你是不是想问
        p.wait_for_selector("#suggestions:not([hidden]) [role=option]")
        p.wait_for_selector("#did-you-mean:not([hidden])")
        seen += p.evaluate(TAP_TARGETS_JS, ["#suggestions [role=option]", "#did-you-mean-list a"])
        p.type_query("今天天气怎么样", delay=0)
        p.wait_for_selector("#no-answer:not([hidden])")
        seen += p.evaluate(TAP_TARGETS_JS, ["#ask-form .primary-button", "#ask-form input"])
        p.open("/?category=password")
        seen += p.evaluate(TAP_TARGETS_JS, ["#browse-list a"])
        kinds = {s[0] for s in seen}
        assert len(kinds) == 12, kinds  # each kind was on screen
        small = [s for s in seen if min(s[2:]) < 44]
        assert not small, small
        p.check_clean()
    finally:
        context.close()


# A tablet is wider than a phone's 640 px: touch, not the width, calls for 44 px targets (its chips and vote buttons
# were a desktop's 31–33 px); the same width with a mouse keeps the desktop's sizes.
def test_tablet_tap_targets_are_44_px_and_a_mouse_keeps_the_desktop_sizes(browser, site):
    seen = {}
    for touch in (True, False):
        context = browser.new_context(viewport={"width": 820, "height": 1180}, is_mobile=touch, has_touch=touch)
        p = Page(context.new_page(), site["url"]).open("/")
        try:
            seen[touch] = p.evaluate(TAP_TARGETS_JS, [".chip", "#popular-list a"])
            p.type_query("忘记密码", delay=0)
            wait_for_hits(p, "password-forgot-login-password")
            seen[touch] += p.evaluate(TAP_TARGETS_JS, ["#clear", ".search-button", ".hit-summary", ".feedback-button", ".related-list a"])
            p.check_clean()
        finally:
            context.close()
    assert len({s[0] for s in seen[True]}) == 7
    small = [s for s in seen[True] if min(s[2:]) < 44]
    assert not small, small
    assert all(s[3] < 44 for s in seen[False] if s[0] in (".chip", ".feedback-button")), seen[False]


# How much of the search box shows what is typed: [text's width, room for it, the search button's right edge,
# the search icon's middle, the box's top and bottom].
TYPED_ROOM_JS = """() => {
  const box = document.getElementById('q'), style = getComputedStyle(box);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = style.font;
  return [ctx.measureText(box.value).width, box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
          document.querySelector('.search-button').getBoundingClientRect().right,
          (i => (i.top + i.bottom) / 2)(document.querySelector('.search-icon').getBoundingClientRect()),
          (r => [r.top, r.bottom])(box.getBoundingClientRect())];
}"""


# A 360 or 390 px phone at 200 % zoom lays the page out 180 or 195 px wide: the box still shows a short question whole
# (beside the clear button and 搜索 it had 3 px left, and showed nothing of it).
@pytest.mark.parametrize("width", [180, 195])
def test_search_box_shows_the_question_at_200_percent_zoom(browser, site, width):
    context = browser.new_context(viewport={"width": width, "height": 400}, is_mobile=True, has_touch=True, device_scale_factor=4)
    p = Page(context.new_page(), site["url"]).open("/")
    try:
        p.type_query("转错人了", delay=0)
        wide, room, button_right, icon_middle, (box_top, box_bottom) = p.evaluate(TYPED_ROOM_JS)
        assert wide <= room, (wide, room)
        assert box_top < icon_middle < box_bottom, (icon_middle, box_top, box_bottom)  # the 🔍 in the box, not beside 搜索
        assert p.is_visible("#clear") and button_right <= width
        assert p.evaluate("document.scrollingElement.scrollWidth") <= width
        p.check_clean()
    finally:
        context.close()


# The brand's 易 stays inside its white square when text is larger: a fixed 32 px square held the 34 px glyph of 200 %
# text, its edges white on the orange header.
@pytest.mark.parametrize("text_size", ["100%", "200%"])
def test_brand_mark_holds_its_glyph_at_large_text(page, text_size):
    page.set_viewport_size({"width": 390, "height": 844})
    page.open("/")
    page.evaluate("size => document.documentElement.style.fontSize = size", text_size)
    square, glyph = page.evaluate("""() => { const mark = document.querySelector('.masthead .brand-mark'), range = document.createRange();
      range.selectNodeContents(mark);
      return [mark.getBoundingClientRect(), range.getBoundingClientRect()].map(r => [r.left, r.top, r.right, r.bottom]); }""")
    assert square[0] <= glyph[0] and square[1] <= glyph[1] and glyph[2] <= square[2] and glyph[3] <= square[3], (text_size, square, glyph)
    assert square[2] - square[0] >= 32  # as large as it was at the usual size


# A skip link is off screen until focused, whatever the text size: browsers' "very large" text is 24 px (150 %), and
# a visitor may set more (200 %); a fixed -40 px left it peeking over the brand then.
@pytest.mark.parametrize("text_size", ["100%", "150%", "200%"])
def test_skip_link_hidden_until_focused_at_large_text(page, text_size):
    page.set_viewport_size({"width": 390, "height": 844})
    page.open("/")
    page.evaluate("size => document.documentElement.style.fontSize = size", text_size)
    rect = "() => (r => [r.top, r.bottom])(document.querySelector('.skip-link').getBoundingClientRect())"
    top, bottom = page.evaluate(rect)
    assert bottom <= -1, (text_size, top, bottom)  # at 0 its anti-aliased edge still paints a white line
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    top, bottom = page.evaluate(rect)
    assert top >= 0 and bottom <= 844, (text_size, top, bottom)


# Whether the option selected in the console's list shows, nothing over it: what is at its corners and centre.
UNCOVERED_JS = """() => {
  const option = document.getElementById(document.getElementById('agent-results').getAttribute('aria-activedescendant'));
  const r = option.getBoundingClientRect();
  return [[r.left + 4, r.top + 2], [(r.left + r.right) / 2, (r.top + r.bottom) / 2], [r.right - 4, r.bottom - 2]]
    .map(([x, y]) => option.contains(document.elementFromPoint(x, y)));
}"""


def test_agent_console_filters_explains_and_copies(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"])
    p = Page(context.new_page(), site["url"]).open("/agent")
    try:
        p.wait_for_selector("#agent-results [role=option]")  # popular questions before typing
        p.keyboard.press("/")
        assert p.evaluate("document.activeElement.id") == "aq"
        p.keyboard.type("钱转错人了咋办", delay=20)
        # The whole question's results, not a prefix's (钱转 may show the same article first).
        p.wait_for_function("() => document.getElementById('main').dataset.query === '钱转错人了咋办' && "
                            "document.querySelector('#agent-detail').dataset.articleId === 'transfer-wrong-recipient' && "
                            "(document.querySelector('#agent-detail .why-terms')?.textContent || '').includes('转错')")
        detail = p.locator("#agent-detail")
        text = detail.inner_text()
        assert "transfer-wrong-recipient" in text and "为什么匹配" in text
        # 更新 in the agent's time with its zone (as the CLI prints it); half hours, west and UTC too.
        updated = datetime.fromisoformat(p.evaluate("fetch('/api/articles/transfer-wrong-recipient').then(r => r.json()).then(b => b.updated)"))
        clock = p.context.new_cdp_session(p.page)
        for zone, label in (("Asia/Shanghai", "UTC+8"), ("Asia/Kolkata", "UTC+5:30"), ("Pacific/Marquesas", "UTC-9:30"), ("UTC", "UTC")):
            clock.send("Emulation.setTimezoneOverride", {"timezoneId": zone})
            p.click("#agent-item-0")  # shown again, in that zone
            told = updated.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M ") + label
            p.wait_for_function("t => [...document.querySelectorAll('#agent-detail dd')].some(d => d.textContent === t)", arg=told)
        assert "转错" in p.locator(".why-terms").inner_text() and p.locator(".why-weight").count() >= 1
        assert float(p.locator(".why-weight").first.inner_text()) > 0
        assert "如何转账给易钱包好友？" in p.locator(".related-list").inner_text()
        p.keyboard.press("Escape")  # leave the box: single-key shortcuts work now
        p.keyboard.press("c")
        p.wait_for_function("() => document.getElementById('agent-toast').textContent.startsWith('已复制答案')")
        copied = p.evaluate("navigator.clipboard.readText()")
        answer = p.evaluate("fetch('/api/articles/transfer-wrong-recipient').then(r => r.json()).then(b => b.answer)")
        assert copied == answer and copied.startswith("已经完成的转账")
        # j/k through a list of several (that question has one answer worth listing; 支付密码 has several).
        p.fill("#aq", "支付密码")
        p.locator("#aq").dispatch_event("input")
        p.wait_for_function("() => document.getElementById('main').dataset.query === '支付密码' && "
                            "document.querySelectorAll('#agent-results [role=option]').length > 1 && "
                            "document.querySelector('#agent-detail').dataset.articleId")
        first = p.evaluate("document.querySelector('#agent-detail').dataset.articleId")
        p.keyboard.press("Escape")
        p.keyboard.press("j")
        assert p.get_attribute("#agent-item-1", "aria-selected") == "true"
        p.wait_for_function(f"() => document.querySelector('#agent-detail').dataset.articleId !== '{first}'")
        p.keyboard.press("k")
        p.wait_for_function(f"() => document.querySelector('#agent-detail').dataset.articleId === '{first}'")
        p.click("#copy-button")
        first_answer = p.evaluate(f"fetch('/api/articles/{first}').then(r => r.json()).then(b => b.answer)")
        assert p.evaluate("navigator.clipboard.readText()") == first_answer
        # Outside the list ↓ scrolls as usual (it does not change the article); j still moves, and the
        # focus on the copy button it replaces goes to the list, not <body>.
        p.keyboard.press("ArrowDown")
        assert p.get_attribute("#agent-item-0", "aria-selected") == "true"
        p.keyboard.press("j")
        p.wait_for_function(f"() => document.querySelector('#agent-detail').dataset.articleId !== '{first}'")
        assert p.evaluate("document.activeElement.id") == "agent-results"
        # In a short window a new article, from the list or a search, starts at its top, not where the one
        # before was scrolled to.
        p.set_viewport_size({"width": 1280, "height": 600})
        # The ↓ above scrolls the pane smoothly; Chromium carries an unfinished scroll over to the next article.
        p.wait_for_function("() => { const d = document.getElementById('agent-detail'); const still = d.scrollTop === d.lastTop; "
                            "d.lastTop = d.scrollTop; return still; }", polling=100)
        shown = "() => document.querySelector('#agent-detail').dataset.articleId"
        to_bottom = "() => { const d = document.getElementById('agent-detail'); d.scrollTop = d.scrollHeight; return d.scrollTop; }"
        assert p.evaluate(to_bottom) > 0
        before = p.evaluate(shown)
        p.keyboard.press("j")
        p.wait_for_function(f"() => ![undefined, '{before}'].includes(({shown})())")  # the next one, shown
        assert p.evaluate("document.getElementById('agent-detail').scrollTop") == 0
        assert p.evaluate(to_bottom) > 0
        p.fill("#aq", "忘记支付密码")
        p.locator("#aq").dispatch_event("input")
        p.wait_for_function("() => document.getElementById('main').dataset.query === '忘记支付密码' && "
                            "document.querySelector('#agent-detail').dataset.articleId === 'password-forgot-payment-password'")
        assert p.evaluate("document.getElementById('agent-detail').scrollTop") == 0
        # ↓ from the box chooses a result, shown; Enter takes the focus to the list and keeps it.
        p.keyboard.press("ArrowDown")
        p.keyboard.press("ArrowDown")
        chosen = p.inner_text("#agent-item-2 code")
        p.wait_for_function("id => document.querySelector('#agent-detail').dataset.articleId === id", arg=chosen)
        p.keyboard.press("Enter")
        p.wait_for_function("() => document.activeElement.id === 'agent-results'")
        p.let_timers_run(100)  # a load Enter set off (one is awaited before the focus moves), or a debounce, has run
        assert p.get_attribute("#agent-item-2", "aria-selected") == "true" and p.evaluate(shown) == chosen
        # At 200 % and 400 % zoom (640×360, 320×180) the bar scrolls away with the page, and at 1280×600 with the
        # keys shown it stays clear: j/k while reading down the answer, and Shift+Tab back to the list (scrolled
        # to its top), never leave the option selected out of view or under the bar or the list's title.
        focused = "document.activeElement.id"
        p.wait_for_selector("#agent-toast", state="hidden")  # the copy's, 2 s at the bottom: over the list at 320×180
        for width, height in ((640, 360), (320, 180), (1280, 600)):
            p.set_viewport_size({"width": width, "height": height})
            if width == 1280:
                p.keyboard.press("?")
            for key in "kkjjj":  # ending lower each time, below the list's first screen
                p.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
                p.keyboard.press(key)
                assert p.evaluate(UNCOVERED_JS) == [True] * 3, (width, key)
            p.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId === "
                                "document.querySelector('#agent-results [aria-selected=true] code').textContent")
            p.keyboard.press("Tab")
            assert p.evaluate(focused) == "copy-button"
            p.evaluate("window.scrollTo(0, document.documentElement.scrollHeight); document.querySelector('.agent-list').scrollTop = 0")
            p.keyboard.press("Shift+Tab")
            assert p.evaluate(focused) == "agent-results" and p.evaluate(UNCOVERED_JS) == [True] * 3, width
            if width == 320:  # the bar, 144 px of 180, is no longer on screen at all
                assert p.evaluate("document.querySelector('.agent-bar').getBoundingClientRect().bottom") <= 0
            assert p.locator("#keys-button").is_visible(), width  # the way to the list of keys, on any screen
        p.keyboard.press("?")
        p.set_viewport_size({"width": 1280, "height": 900})
        # Filters: a category, then a tag within it.
        p.select_option("#acategory", "password")
        p.wait_for_function("() => document.querySelectorAll('#agent-results [role=option]').length === 0 || "
                            "[...document.querySelectorAll('#agent-results .agent-item-meta')].every(e => e.textContent.includes('密码'))")
        # Browsing: a page at a time (4 here, as the server could pass; 200 by default), the total told.
        every = p.evaluate("fetch('/api/articles?category=password').then(r => r.json()).then(b => b.articles.map(a => a.id))")
        assert len(every) == 9  # pages of 4, 4 and 1
        p.evaluate("document.getElementById('main').dataset.pageSize = '4'")
        p.fill("#aq", "")
        p.locator("#aq").dispatch_event("input")
        p.wait_for_function("() => document.getElementById('agent-list-label').textContent === '浏览'")
        assert p.inner_text("#agent-count") == "显示 1–4，共 9 篇" and p.inner_text("#agent-more") == "更多（还有 5 篇）"
        assert p.get_attribute("#agent-item-3", "aria-setsize") == "9" and p.get_attribute("#agent-item-3", "aria-posinset") == "4"
        # j past the last one loaded: the next page, appended, its first article opened and said.
        p.locator("#agent-results").focus()
        for _ in range(4):
            p.keyboard.press("j")
        p.wait_for_function("id => document.querySelector('#agent-detail').dataset.articleId === id", arg=every[4])
        assert p.get_attribute("#agent-item-4", "aria-selected") == "true" and p.evaluate(focused) == "agent-results"
        assert p.inner_text("#agent-count") == "显示 1–8，共 9 篇"
        p.wait_for_function("q => document.getElementById('agent-announce').textContent === '已加载第 5–8 篇，共 9 篇：' + q",
                            arg=p.inner_text("#agent-item-4 .agent-item-question"))
        # 更多 with the mouse: the last page; the button goes, the focus to the list, j/k still move.
        p.click("#agent-more")
        p.wait_for_function("id => document.querySelector('#agent-detail').dataset.articleId === id", arg=every[8])
        assert p.is_hidden("#agent-more") and p.evaluate(focused) == "agent-results"
        assert p.inner_text("#agent-count") == "共 9 篇" and p.locator("#agent-results code").all_inner_texts() == every
        p.keyboard.press("k")
        p.wait_for_function("id => document.querySelector('#agent-detail').dataset.articleId === id", arg=every[7])
        p.wait_for_function("() => [...document.querySelectorAll('#atag option')].some(o => o.value === '支付密码')")
        p.select_option("#atag", "支付密码")
        p.wait_for_function("() => document.getElementById('main').dataset.filters === 'password|支付密码'")
        ids = p.locator("#agent-results code").all_inner_texts()
        assert "password-forgot-payment-password" in ids and "password-forgot-login-password" not in ids
        assert p.inner_text("#agent-count") == "显示 1–4，共 6 篇"
        assert "tag=%E6%94%AF%E4%BB%98%E5%AF%86%E7%A0%81" in p.url
        # From a filter (a select, not a text field): j/k move, Enter goes to the list, Esc and / to the box.
        p.focus("#atag")
        p.keyboard.press("j")
        assert p.get_attribute("#agent-item-1", "aria-selected") == "true"
        assert (p.evaluate(focused), p.input_value("#atag")) == ("atag", "支付密码")
        p.keyboard.press("k")
        assert p.get_attribute("#agent-item-0", "aria-selected") == "true"
        p.keyboard.press("Enter")
        assert p.evaluate(focused) == "agent-results"
        p.focus("#atag")
        p.keyboard.press("Escape")
        assert p.evaluate(focused) == "aq"
        p.focus("#acategory")
        p.keyboard.press("/")
        assert p.evaluate(focused) == "aq"
        # The list of keys: ? opens it, naming ? and Esc; Esc closes it.
        p.keyboard.press("Escape")
        p.keyboard.press("?")
        keys = p.locator("#agent-keys")
        assert keys.is_visible() and p.get_attribute("#keys-button", "aria-expanded") == "true"
        assert "?" in keys.locator("kbd").all_inner_texts() and "Esc" in keys.locator("kbd").all_inner_texts()
        p.keyboard.press("Escape")
        assert keys.is_hidden() and p.get_attribute("#keys-button", "aria-expanded") == "false"
        # ↓ in a filter still chooses its next option, but passing over options is not choosing them: nothing
        # loads while the arrows move (a closed select changes at each), and the options chosen on one visit
        # to the filter make one history entry, taken to the list by Enter or loaded as the arrows rest.
        browsed = []
        p.on("request", lambda r: browsed.append(r.url) if "/api/articles?" in r.url else None)
        entries = p.evaluate("history.length")
        p.focus("#acategory")
        for _ in range(3):
            p.keyboard.press("ArrowDown")
        assert p.evaluate(focused) == "acategory" and p.input_value("#acategory") != "password"
        passed = p.input_value("#acategory")
        p.keyboard.press("Enter")
        p.wait_for_function("c => document.getElementById('main').dataset.filters === c + '|'", arg=passed)
        assert (len(browsed), p.evaluate("history.length"), p.evaluate(focused)) == (1, entries + 1, "agent-results")
        p.focus("#acategory")
        for _ in range(2):
            p.keyboard.press("ArrowDown")
            p.wait_for_function("c => document.getElementById('main').dataset.filters === c + '|'", arg=p.input_value("#acategory"))
        assert (len(browsed), p.evaluate("history.length")) == (3, entries + 2)
        p.go_back()
        p.wait_for_function("c => document.getElementById('main').dataset.filters === c + '|'", arg=passed)
        p.go_back()
        p.wait_for_function("() => document.getElementById('main').dataset.filters === 'password|支付密码'")
        # The one-letter keys can be turned off in the list of keys (WCAG 2.1.4: a word said to speech input
        # must not copy an answer or move the list), remembered in this browser; the arrows still move.
        p.click("#keys-button")
        p.uncheck("#single-keys")
        p.keyboard.press("Escape")
        assert keys.is_hidden() and p.evaluate(focused) == "keys-button"
        p.reload()
        p.wait_for_function(shown)
        # c copies through the clipboard first thing, before anything it awaits: a call is seen at once.
        p.evaluate(STUB_CLIPBOARD_JS)
        p.locator("#agent-results").focus()
        chosen = p.get_attribute("#agent-results", "aria-activedescendant")
        for key in "jkc/?":
            p.keyboard.press(key)  # each key's handler has run when press returns
        assert (p.get_attribute("#agent-results", "aria-activedescendant"), p.evaluate(focused), keys.is_hidden(), p.is_hidden("#agent-toast"),
                p.evaluate("window.__copied")) == (chosen, "agent-results", True, True, [])
        assert p.is_hidden("#copy-button kbd") and p.get_attribute("#copy-button", "aria-keyshortcuts") is None
        assert "/" not in p.get_attribute("#aq", "placeholder")
        p.keyboard.press("ArrowDown")
        assert p.get_attribute("#agent-results", "aria-activedescendant") != chosen
        p.click("#keys-button")
        p.check("#single-keys")
        p.locator("#agent-results").focus()
        p.keyboard.press("k")
        assert p.get_attribute("#agent-results", "aria-activedescendant") == chosen and p.is_visible("#copy-button kbd")
        p.check_clean()
    finally:
        context.close()


# Records every text the console's main area shows (the list, the pane, the notice above the list) in window.__told.
RECORD_TOLD_JS = """() => { window.__told = []; const main = document.getElementById('main');
  new MutationObserver(() => window.__told.push(main.innerText)).observe(main, {childList: true, characterData: true, subtree: true}); }"""


def test_agent_tag_filter_follows_the_index_version_served(browser, live_site):
    base, publish = live_site
    articles = {path: dict(a) for path, a in TINY_ARTICLES.items()}
    by_id = {a["id"]: a for a in articles.values()}
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = Page(context.new_page(), base)
    tag_requests = []
    p.on("request", lambda r: tag_requests.append(r.url) if "/api/tags" in r.url else None)
    offered = "t => [...document.querySelectorAll('#atag option')].some(o => o.value === t)"
    try:
        p.clock.install()  # performance.now too: the quiet minute below passes at once
        p.open("/agent?tag=转账")
        p.wait_for_function("() => document.getElementById('main').dataset.filters === '|转账'")
        assert p.locator("#agent-results code").all_inner_texts() == ["tr-wrong"]
        # An editor replaces the tag chosen (转账 → 转错人) and publishes; the server loads the new version.
        # The agent's next search, refused for the tag gone, drops it from the filter and the URL, saying so.
        by_id["tr-wrong"]["tags"] = ["转错人"]
        publish(articles)
        p.evaluate(RECORD_TOLD_JS)
        p.type_query("转错", selector="#aq")
        p.wait_for_function("() => document.getElementById('main').dataset.filters === '|'")
        assert "标签「转账」已不存在" in p.inner_text(".agent-link-notice") and "tag=" not in p.url
        # Meanwhile the console said what it was doing, never to reload the page while it recovered by itself.
        told = p.evaluate("window.__told")
        assert any("正在更新筛选" in t for t in told) and not any("刷新" in t for t in told), told
        assert p.evaluate(offered, "转错人") and not p.evaluate(offered, "转账")
        assert p.locator("#agent-results code").all_inner_texts() == ["tr-wrong"]
        # A tag added: offered as soon as an answer comes from the new version, with one request for the tags.
        asked = len(tag_requests)
        by_id["wd-time"]["tags"] = ["提现", "到账"]
        publish(articles)
        p.clock.fast_forward(11_000)  # past the 10 s after the tags were last loaded again
        p.type_query("提现", selector="#aq")
        p.wait_for_function(offered, arg="到账")
        p.let_timers_run(300)
        assert len(tag_requests) == asked + 1
        p.select_option("#atag", "到账")
        p.wait_for_function("() => document.getElementById('main').dataset.filters === '|到账'")
        # Nothing asked since: going to the filter reads the tags again only once a minute has passed.
        by_id["pw-pay"]["tags"] = ["密码", "限额"]
        publish(articles)
        p.focus("#atag")
        p.focus("#aq")
        p.let_timers_run(300)
        assert len(tag_requests) == asked + 1 and not p.evaluate(offered, "限额")
        p.clock.fast_forward(61_000)
        p.focus("#atag")
        p.wait_for_function(offered, arg="限额")
        assert p.input_value("#atag") == "到账"  # the tag chosen stays chosen
        forget_failed_loads(p)  # the search refused for its tag (400)
        p.check_clean()
    finally:
        context.close()


def test_agent_browse_list_whose_tag_is_gone_by_its_next_page_follows_the_version(browser, live_site):
    # Browsing a tag a page at a time, the agent presses j on the last article loaded after an editor removed
    # the tag: the next page was refused, said as 加载失败：…请刷新页面, and the console stayed on the old filters.
    base, publish = live_site
    offered = "t => [...document.querySelectorAll('#atag option')].some(o => o.value === t)"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = Page(context.new_page(), base)
    try:
        p.open("/agent")
        p.wait_for_function("() => document.getElementById('main').dataset.filters === '|'")
        p.evaluate("document.getElementById('main').dataset.pageSize = '1'")
        p.select_option("#atag", "密码")
        p.wait_for_function("() => document.getElementById('main').dataset.filters === '|密码'")
        assert p.locator("#agent-results [role=option]").count() == 1 and p.is_visible("#agent-more")
        publish({path: dict(a, tags=[t for t in a["tags"] if t != "密码"]) for path, a in TINY_ARTICLES.items()})
        p.evaluate("() => { window.__toasts = []; const t = document.getElementById('agent-toast');"
                   " new MutationObserver(() => window.__toasts.push(t.textContent)).observe(t, {childList: true, characterData: true}); }")
        p.locator("#agent-results").focus()
        p.keyboard.press("j")
        p.wait_for_function("() => document.getElementById('main').dataset.filters === '|'")
        assert "标签「密码」已不存在" in p.inner_text(".agent-link-notice") and "tag=" not in p.url
        assert p.input_value("#atag") == "" and not p.evaluate(offered, "密码")
        assert not any("刷新" in t for t in p.evaluate("window.__toasts")), p.evaluate("window.__toasts")
        forget_failed_loads(p)  # the page refused for its tag (400)
        p.check_clean()
    finally:
        context.close()


def test_agent_filters_follow_hosts_switching_one_by_one_at_most_every_10_s(page):
    # While hosts switch one by one, answers alternate between two versions: the filters are loaded again
    # once in 10 s, not at each answer (each a request against the rate limit).
    page.clock.install()
    page.open("/agent")
    page.wait_for_selector("#agent-results [role=option]")
    tag_requests = []
    page.on("request", lambda r: tag_requests.append(r.url) if "/api/tags" in r.url else None)
    versions = itertools.cycle(["v-switching-1", "v-switching-2"])

    def alternate(route):
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(), "index_version": next(versions)})

    page.route(SEARCHES, alternate)
    for question in ("转账", "提现", "忘记密码"):
        page.type_query(question, selector="#aq")
    page.let_timers_run(300)
    assert len(tag_requests) == 1
    page.clock.fast_forward(11_000)
    with page.expect_request(lambda r: "/api/tags" in r.url):
        page.type_query("银行卡", selector="#aq")
    assert len(tag_requests) == 2


def test_agent_tag_filter_is_read_once_the_server_answers_again(page):
    # The console opened while the server restarted: its tags could not be read, and the tag filter offered
    # 全部标签 alone all call long, whatever the server answered since.
    tags = re.compile(r".*/api/tags(\?.*)?$")
    page.clock.install()
    page.route(tags, lambda route: route.fulfill(status=503, content_type="application/json",
                                                 body='{"error": {"code": "unavailable", "message": "restarting"}}'))
    page.open("/agent")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")
    assert page.locator("#atag option").count() == 1
    page.unroute(tags)
    page.clock.fast_forward(11_000)  # tried again at most every 10 s, as when following a version
    page.type_query("提现", selector="#aq")
    page.wait_for_function("() => document.querySelectorAll('#atag option').length > 1")
    forget_failed_loads(page)


def test_agent_category_filter_follows_the_index_version_served(browser, live_site):
    base, publish = live_site
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = Page(context.new_page(), base)
    try:
        p.open("/agent?category=withdraw")
        p.wait_for_function("() => document.getElementById('main').dataset.filters === 'withdraw|'")
        # An editor moves 提现 into a new category, 提现与到账 (cashout), and publishes.
        articles = {("cashout/arrival.md" if a["id"] == "wd-time" else path): dict(a, category="cashout" if a["id"] == "wd-time" else a["category"])
                    for path, a in TINY_ARTICLES.items()}
        publish(articles, {"password": "密码", "transfer": "转账", "cashout": "提现与到账"})
        p.evaluate(RECORD_TOLD_JS)
        p.type_query("提现", selector="#aq")
        p.wait_for_function("() => document.getElementById('main').dataset.filters === '|'")
        assert "分类「提现」已不存在" in p.inner_text(".agent-link-notice") and "category=" not in p.url
        assert not any("刷新" in t for t in p.evaluate("window.__told")), p.evaluate("window.__told")
        assert p.locator("#acategory option").all_inner_texts() == ["全部分类", "密码", "转账", "提现与到账"]
        assert "提现与到账" in p.inner_text("#agent-item-0 .agent-item-meta")
        p.select_option("#acategory", "cashout")
        p.wait_for_function("() => document.getElementById('main').dataset.filters === 'cashout|'")
        assert p.locator("#agent-results code").all_inner_texts() == ["wd-time"]
        forget_failed_loads(p)  # the search refused for its category (400)
        p.check_clean()
    finally:
        context.close()


# An editor's correction of wd-time's answer, and the copies the console's c makes, kept for the test to read.
CORRECTED_WD_TIME = "提现一般2小时内到账，最晚3个工作日内到账。"
STUB_CLIPBOARD_JS = ("() => { window.__copied = []; navigator.clipboard.writeText = "
                     "(t) => (window.__copied.push(t), Promise.resolve()); }")
SHOWN_ARTICLE_JS = "id => document.querySelector('#agent-detail').dataset.articleId === id"


@contextlib.contextmanager
def _console_showing_wd_time(browser, base: str, clock: bool = False, before_open=lambda p: None):
    """The console on the live site, 提现多久到账 asked and wd-time shown; ``clock``: Playwright's clock
    installed first (performance.now too), so the seconds a test lets pass, pass at once."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = Page(context.new_page(), base)
    try:
        before_open(p)
        if clock:
            p.clock.install()
        p.open("/agent")
        p.type_query("提现多久到账", selector="#aq")
        p.wait_for_function(SHOWN_ARTICLE_JS, arg="wd-time")
        yield p
    finally:
        context.close()


def _publish_wd_time_corrected(publish, **fields):
    publish({path: dict(a, answer=CORRECTED_WD_TIME, **fields) if a["id"] == "wd-time" else a
             for path, a in TINY_ARTICLES.items()})


def test_agent_shows_an_answer_corrected_by_a_new_version_not_the_one_it_kept(browser, live_site):
    # Answers are kept for a minute (retyping costs no request); one the editor corrected since must not be
    # copied as it was once the server serves the correction.
    base, publish = live_site
    with _console_showing_wd_time(browser, base) as p:
        assert "次日24点前到账" in p.inner_text("#agent-detail .answer")
        _publish_wd_time_corrected(publish)
        p.type_query("转错人", selector="#aq")  # an answer from the new version
        p.wait_for_function(SHOWN_ARTICLE_JS, arg="tr-wrong")
        p.type_query("提现多久到账", selector="#aq")
        p.wait_for_function(SHOWN_ARTICLE_JS, arg="wd-time")
        p.keyboard.press("Escape")
        p.evaluate(STUB_CLIPBOARD_JS)
        p.keyboard.press("c")
        assert p.evaluate("window.__copied") == [CORRECTED_WD_TIME]
        assert "3个工作日" in p.inner_text("#agent-detail .answer")
        p.check_clean()


def retype(p: Page, question: str):
    """The console's box cleared and ``question`` typed again, as one edit; returns once its list is shown."""
    p.evaluate("() => delete document.getElementById('main').dataset.query")
    p.fill("#aq", question)
    p.locator("#aq").dispatch_event("input")
    p.wait_for_function("q => document.getElementById('main').dataset.query === q", arg=question)


def test_agent_a_kept_answer_does_not_hide_a_new_version(browser, live_site):
    # On a call the agent retypes a question answered a moment ago: it came from the answers kept for a
    # minute, and the version an editor published meanwhile (the answer corrected, a tag added) went
    # unnoticed until some other question was asked.
    base, publish = live_site
    asked = []
    offered = "t => [...document.querySelectorAll('#atag option')].some(o => o.value === t)"

    def listen(p):
        p.on("request", lambda r: asked.append(r.url.split("?")[0].replace(base, "")))

    with _console_showing_wd_time(browser, base, clock=True, before_open=listen) as p:
        # Unchanged, a question retyped after a quiet spell costs a version check, no search nor article.
        p.clock.fast_forward(5_000)
        asked.clear()
        retype(p, "提现多久到账")
        p.wait_for_function(SHOWN_ARTICLE_JS, arg="wd-time")
        assert [a for a in asked if a.startswith("/api/")] == [] and "/healthz" in asked, asked
        # A check left unanswered (a stalled connection) holds the kept answer back a moment, not for the
        # 15 s a search may take.
        held = []
        p.route(re.compile(".*/healthz$"), lambda route: held.append(route))
        p.clock.fast_forward(5_000)
        started = time.monotonic()
        retype(p, "提现多久到账")
        assert time.monotonic() - started < 5 and held
        p.unroute(re.compile(".*/healthz$"))
        for route in held:
            route.fallback()
        _publish_wd_time_corrected(publish, tags=["提现", "到账"])
        p.clock.fast_forward(5_000)  # within the minute answers are kept
        retype(p, "提现多久到账")
        p.wait_for_function("() => document.querySelector('#agent-detail .answer').textContent.includes('3个工作日')")
        p.wait_for_function(offered, arg="到账")  # the filters follow the version, as after any answer from it
        p.check_clean()


def test_agent_copy_of_an_answer_corrected_since_it_was_read_says_so(browser, live_site):
    # The agent reads an answer on a call; an editor corrects it meanwhile; c copied the answer as read, with
    # nothing to tell it was no longer the one served (no request is made while the agent reads).
    base, publish = live_site
    with _console_showing_wd_time(browser, base, clock=True) as p:
        p.evaluate(STUB_CLIPBOARD_JS)
        _publish_wd_time_corrected(publish)
        p.clock.fast_forward(5_000)
        p.keyboard.press("Escape")
        p.keyboard.press("c")
        p.wait_for_function("t => document.querySelector('#agent-detail .answer').textContent === t", arg=CORRECTED_WD_TIME)
        assert "旧答案" in p.text_content("#agent-toast") and p.evaluate("window.__copied").pop().startswith("提现一般2小时内到账，最晚次日")
        p.keyboard.press("c")
        assert p.evaluate("window.__copied").pop() == CORRECTED_WD_TIME
        p.check_clean()


def test_agent_copy_of_an_article_deleted_since_it_was_read_says_so(browser, live_site):
    # The agent copies an answer; an editor had deleted the article meanwhile: the console said nothing, and
    # the answer, gone from the help content, went to the customer.
    base, publish = live_site
    with _console_showing_wd_time(browser, base, clock=True) as p:
        p.evaluate(STUB_CLIPBOARD_JS)
        publish({path: a for path, a in TINY_ARTICLES.items() if a["id"] != "wd-time"})
        p.clock.fast_forward(5_000)
        p.keyboard.press("Escape")
        p.keyboard.press("c")
        p.wait_for_selector("#agent-detail .notice")
        assert p.inner_text("#agent-detail .notice") == "这篇文章（wd-time）已从帮助内容中删除：刚才复制的答案已失效，请不要发给客户。"
        assert "已删除" in p.text_content("#agent-toast")
        p.keyboard.press("c")  # nothing left to copy
        assert p.text_content("#agent-toast") == "没有可复制的答案" and len(p.evaluate("window.__copied")) == 1
        # The list showed it as before, to be chosen and read again as if nothing had happened: it stays in its
        # place (j/k keep theirs), greyed and marked 已删除, and chosen again it says so, with nothing to copy.
        deleted = p.locator("#agent-results [role=option]", has_text="wd-time")
        assert "已删除" in deleted.inner_text() and deleted.get_attribute("aria-disabled") == "true"
        assert "agent-item-deleted" in deleted.get_attribute("class")
        deleted.click(force=True)  # aria-disabled: Playwright's checks would refuse what a mouse does
        p.wait_for_function("t => document.querySelector('#agent-detail .notice')?.textContent === t",
                            arg="这篇文章（wd-time）已从帮助内容中删除，没有可复制的答案。")
        assert p.get_attribute("#agent-item-0", "aria-selected") == "true"
        p.keyboard.press("c")
        assert p.text_content("#agent-toast") == "没有可复制的答案" and len(p.evaluate("window.__copied")) == 1
        forget_failed_loads(p)  # the article asked for (404)
        p.check_clean()


def _first_result(p, query: str, category: str = "") -> dict:
    url = "/api/search?q=" + urllib.parse.quote(query) + ("&category=" + category if category else "")
    return p.evaluate(f"fetch('{url}').then(r => r.json()).then(b => b.results[0])")


def test_why_it_matched_tells_answer_words_and_synonyms_apart(page):
    # The console: 密码 is in no phrasing of a transfer article, only in answers.
    page.open("/")
    first = _first_result(page, "密码", "transfer")
    assert first["answer_terms"] == ["密码"] and "密码" not in first["matched"]
    page.open("/agent?q=%E5%AF%86%E7%A0%81&category=transfer")
    page.wait_for_function("id => document.querySelector('#agent-detail').dataset.articleId === id && "
                           "document.querySelector('#agent-detail .why-answer')", arg=first["id"])
    assert page.locator(".why-matched q mark").count() == 0  # nothing said to be in the phrasing
    assert page.locator(".why-answer").inner_text().startswith("答案中出现：密码 ")
    assert page.locator(".why-none").count() == 0
    assert page.locator("#agent-detail .answer mark").first.inner_text() == "密码"
    # The search page: no phrasing holds 提款 as typed; the one holding its synonym is shown, highlighted.
    first = _first_result(page, "提款")
    (synonym,) = first["synonyms"]
    found = synonym["matched"]
    assert synonym == {"query": "提款", "matched": found, "in": "matched"}
    assert found in first["matched"] and "提款" not in first["matched"]
    for js in (True, False):
        page.open("/") if js else page.open("/?q=%E6%8F%90%E6%AC%BE")
        if js:
            page.type_query("提款")
        wait_for_hits(page, first["id"])
        hit = page.locator("#hits > li").first
        assert hit.locator(".hit-matched mark").all_inner_texts() == [found], js
        assert hit.locator(".hit-synonyms").inner_text() == f"同义词：提款 → {found}", js
        assert hit.locator(".hit-answer-terms").count() == 0, js


def test_why_it_matched_tells_words_typed_in_pinyin_as_read(page):
    # tixian (listed as a synonym of 提现) and daozhang (read by the pinyin reader) are told as 拼音, on the search
    # page (rendered by the server and by search.js) and in the console; neither as 同义词, nor 到账 unexplained.
    query = "ｔｉｘｉａｎ ｄａｏｚｈａｎｇ"
    page.open("/")
    first = _first_result(page, query)
    assert first["read_as"] == [{"query": "tixian", "read": "提现", "in": "matched"},
                                {"query": "daozhang", "read": "到账", "in": "matched"}] and first["synonyms"] == []
    said = "拼音：tixian → 提现、daozhang → 到账"
    for js in (True, False):
        page.open("/") if js else page.open("/?q=" + urllib.parse.quote(query))
        if js:
            page.type_query(query)
        wait_for_hits(page, first["id"])
        hit = page.locator("#hits > li").first
        assert hit.locator(".hit-read-as").inner_text() == said, js
        assert hit.locator(".hit-synonyms").count() == 0, js
        if first["matched"] != first["question"]:
            assert hit.locator(".hit-matched mark").all_inner_texts() == ["提现", "到账"], js
    page.open("/agent?q=" + urllib.parse.quote(query))
    page.wait_for_function("id => document.querySelector('#agent-detail').dataset.articleId === id && "
                           "document.querySelector('#agent-detail .why-read-as')", arg=first["id"])
    assert re.fullmatch(r"拼音：tixian → 提现 0\.\d{3}、daozhang → 到账 0\.\d{3}", page.locator(".why-read-as").inner_text())
    assert page.locator(".why-synonyms").count() == 0 and page.locator(".why-none").count() == 0
    assert page.locator(".why-matched q mark").all_inner_texts() == ["提现", "到账"]


def test_agent_copies_nothing_when_no_article_is_shown(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"])
    p = Page(context.new_page(), site["url"]).open("/agent")
    try:
        p.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")  # a popular article
        p.evaluate("navigator.clipboard.writeText('before')")
        p.type_query("qqqq", selector="#aq")
        p.wait_for_selector("#agent-results .agent-none")
        assert p.inner_text("#agent-announce") == "没有匹配的文章"  # not the question shown before
        p.keyboard.press("Escape")
        p.keyboard.press("c")
        p.wait_for_function("() => document.getElementById('agent-toast').textContent === '没有可复制的答案'")
        assert p.evaluate("navigator.clipboard.readText()") == "before"
        p.check_clean()
    finally:
        context.close()


SEARCHES = re.compile(r".*/api/search\?.*")
# Records every text the status line (a live region: each write is said) is given, in window.__said.
SETTLE_MS = 800  # search.js: what typing brings is said once typing pauses this long
RECORD_STATUS_JS = """() => { window.__said = []; const s = document.getElementById('status');
  new MutationObserver(() => window.__said.push(s.textContent)).observe(s, {childList: true, characterData: true, subtree: true}); }"""


def fail_searches(p: Page, status: int, **headers):
    """Answers every /api/search with `status` from now on, in the API's error shape."""
    code = {429: "rate_limited", 500: "internal_error", 503: "unavailable"}[status]
    body = '{"error": {"code": "%s", "message": "too many requests; slow down"}}' % code
    p.route(SEARCHES, lambda route: route.fulfill(status=status, body=body, content_type="application/json", headers=headers))


def forget_failed_loads(p: Page):
    # Chromium logs each non-2xx response, and each request made offline, as a console error; those were the point here.
    p.errors[:] = [e for e in p.errors if not any(failed in e for failed in (
        "the server responded with a status of", "ERR_INTERNET_DISCONNECTED", "ERR_CONNECTION_REFUSED"))]


@pytest.mark.parametrize("status, headers, message", [(429, {"Retry-After": "7"}, "请求太频繁，请 7 秒后再试。"),
                                                      (429, {}, "请求太频繁，请稍候再试。"),
                                                      (503, {}, "搜索服务暂时不可用，请稍后再试。")])
def test_search_errors_are_told_in_chinese(page, status, headers, message):
    page.open("/")
    page.type_query("提现多久到账")
    wait_for_hits(page, "topup-withdraw-withdraw-arrival")
    fail_searches(page, status, **headers)
    page.click("#q")
    page.keyboard.type("了")
    page.wait_for_function("m => document.getElementById('status').textContent === m", arg=message)
    assert page.locator("#hits > li").count() == 0 and page.is_hidden("#no-answer")
    forget_failed_loads(page)


def test_a_server_not_reached_while_online_is_not_blamed_on_the_visitors_network(page):
    # The server down (connection refused) while the visitor's browser is online: 网络连接失败，请检查网络 sent
    # them to check a network that works. Offline, their network is what is named.
    page.open("/")
    page.type_query("提现多久到账")
    wait_for_hits(page, "topup-withdraw-withdraw-arrival")
    page.route(SEARCHES, lambda route: route.abort("connectionrefused"))
    page.click("#q")
    page.keyboard.type("了")
    page.wait_for_function("m => document.getElementById('status').textContent === m",
                           arg="无法连接搜索服务器（本机已联网，问题不在你这边），请稍后再试。")
    page.unroute(SEARCHES)
    page.context.set_offline(True)
    page.keyboard.type("吗")
    page.wait_for_function("m => document.getElementById('status').textContent === m", arg="网络连接失败，请检查网络后重试。")
    page.context.set_offline(False)
    forget_failed_loads(page)


def test_a_failed_search_is_said_in_view_not_under_the_popular_questions(page):
    # On a phone the popular questions fill the screen: an error said under them was out of sight, and the
    # list read as the answer to what was typed.
    page.set_viewport_size({"width": 390, "height": 844})
    page.open("/")
    fail_searches(page, 503)
    page.click("#q")
    page.keyboard.type("转账限额", delay=30)
    page.wait_for_selector("#status.status-error")
    assert page.is_hidden("#popular") and page.is_hidden("#browse")
    assert page.evaluate("document.getElementById('status').getBoundingClientRect().bottom <= innerHeight")
    page.unroute(SEARCHES)
    page.keyboard.press("Enter")  # tried again: the answers, and the error gone
    wait_for_hits(page, "transfer-limits")
    assert page.text_content("#status").startswith("找到")
    forget_failed_loads(page)


def test_no_answer_in_a_category_offers_every_category(page):
    # A chip left on from browsing: the question's answer is in another category, so "no answer" must say
    # the search was narrowed and offer to search them all, not only to rephrase.
    page.open("/?category=password")
    page.click("#q")
    page.keyboard.type("提现多久到账", delay=30)
    # The whole question's answer, not one typed on the way (提现多 has no answer in 密码 either).
    page.wait_for_function("q => document.getElementById('main').dataset.query === q", arg="提现多久到账")
    page.wait_for_selector("#no-answer:not([hidden])")
    note = page.locator("#no-answer-filter")
    assert note.is_visible() and "「密码」" in note.inner_text()
    note.locator("a").click()
    wait_for_hits(page, "topup-withdraw-withdraw-arrival")
    assert page.get_attribute('.chip[data-category=""]', "aria-current") == "true" and "category" not in page.url
    assert page.evaluate("document.activeElement.id") == "hit-0"
    page.click('.chip[data-category="password"]')  # and without a filter the note is not there
    page.wait_for_selector("#no-answer:not([hidden])")
    page.click('.chip[data-category=""]')
    wait_for_hits(page, "topup-withdraw-withdraw-arrival")
    page.fill("#q", "今天天气怎么样")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('status').textContent === '没有找到匹配的答案'")
    assert page.is_hidden("#no-answer-filter")


@pytest.mark.parametrize("question", ["😀", "嗯"])
def test_one_character_with_nothing_found_says_no_answer(page, question):
    # Nothing found and nothing to suggest: the page said nothing at all (the server's no-answer box was
    # hidden again by the script), where it must say there is no answer and how to reach a person.
    page.open("/?q=" + urllib.parse.quote(question))
    page.wait_for_function("q => document.getElementById('main').dataset.query === q", arg=question)
    assert page.is_visible("#no-answer") and page.text_content("#status") == "没有找到匹配的答案"
    assert page.locator("#no-answer .channels a[href^='tel:']").count() > 0
    page.open("/")
    page.type_query(question)
    page.wait_for_function("() => document.getElementById('status').textContent === '没有找到匹配的答案'")
    assert page.is_visible("#no-answer") and page.is_hidden("#popular")


def test_status_never_describes_answers_no_longer_shown(page):
    # What typing brings is said once typing pauses; meanwhile the status line showed (and held for screen
    # readers) the text of the answers before, 找到 1 个相关答案 over the popular questions or over no answer.
    page.open("/")
    page.type_query("提现多久到账")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('找到')")
    before = page.text_content("#status")
    # The status line as each new list is shown (data-query is set as it is).
    page.evaluate("""() => { window.__atShow = []; const s = document.getElementById('status');
      new MutationObserver(() => window.__atShow.push([document.getElementById('main').dataset.query, s.textContent]))
        .observe(document.getElementById('main'), {attributes: true, attributeFilter: ['data-query']}); }""")
    page.type_query("今天天气怎么样")
    page.let_timers_run(SETTLE_MS)
    assert page.text_content("#status") == "没有找到匹配的答案"
    at_show = page.evaluate("window.__atShow")
    assert at_show and all(text != before for _, text in at_show), at_show


def test_a_slow_search_is_said_given_up_and_never_outrun(page):
    page.open("/")
    page.type_query("提现多久到账")
    wait_for_hits(page, "topup-withdraw-withdraw-arrival")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('找到')")  # once typing paused
    held = []
    page.route(SEARCHES, lambda route: held.append(route))  # a connection that never answers
    page.evaluate("FAQ.timeoutMs = 1000")
    page.evaluate(RECORD_STATUS_JS)
    page.fill("#q", "转账转错人了怎么办")
    page.keyboard.press("Enter")
    # The answers of the question before stay under the new one meanwhile: marked busy at once, then dimmed
    # and said to be stale (正在搜索…, once however many keys are typed), given up at the timeout.
    assert page.get_attribute("#results", "aria-busy") == "true" and page.hit_ids()[0] == "topup-withdraw-withdraw-arrival"
    page.wait_for_function("() => document.getElementById('status').textContent === '正在搜索…'")
    assert page.evaluate("getComputedStyle(document.getElementById('results')).opacity") == "0.5"
    page.keyboard.type("呢")
    page.wait_for_selector("#status.status-error")
    # The request left (offline it would fail at once): the server did not answer, not the visitor's network.
    assert page.evaluate("window.__said") == ["正在搜索…", "等了 1 秒，搜索服务器仍没有回应，请稍后再试。"]
    assert page.input_value("#q") == "转账转错人了怎么办呢" and page.get_attribute("#results", "aria-busy") is None
    # Offline: the connection is named, not the service; Enter tries again once it is back.
    page.unroute(SEARCHES)
    page.context.set_offline(True)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('status').textContent === '网络连接失败，请检查网络后重试。'")
    page.context.set_offline(False)
    page.keyboard.press("Enter")
    wait_for_hits(page, "transfer-wrong-recipient")
    # Back to what is shown while a search for other text is under way: that one is dropped, its late answer too.
    page.route(SEARCHES, lambda route: held.append(route))
    page.keyboard.type("吗")
    page.wait_for_function("() => document.getElementById('results').getAttribute('aria-busy') === 'true'")
    page.keyboard.press("Backspace")
    page.wait_for_function("() => !document.getElementById('results').hasAttribute('aria-busy')")
    for route in held:
        route.fallback()
    for route in held:  # each answered, or dropped by the page (None), and the page has had the answer
        if route.request.response() is not None:
            route.request.response().finished()
    page.let_timers_run(0)
    assert page.evaluate("[document.getElementById('main').dataset.query, document.getElementById('q').value]") == ["转账转错人了怎么办呢"] * 2
    assert page.hit_ids()[0] == "transfer-wrong-recipient" and page.url.endswith(urllib.parse.quote("转账转错人了怎么办呢"))
    page.unroute(SEARCHES)
    forget_failed_loads(page)


# The script's vote buttons; the server's (for pages without it) are in a form.
SCRIPT_VOTES = "#hits .hit-body > .feedback"


def test_a_vote_button_reached_before_the_script_answers_keeps_the_focus(page):
    # A slow phone: the visitor tabbed to the server's 没有 before the script's buttons came to take its place; the
    # focus fell to <body>, and the next Tab started over from the top of the page.
    held = []
    page.route(SEARCHES, lambda route: held.append(route))
    with page.expect_request(SEARCHES):
        page.open("/?q=" + urllib.parse.quote("提现多久到账"))
    page.locator("#hits > li").first.get_by_role("button", name="没有").focus()
    for route in held:
        route.fallback()
    page.wait_for_selector(SCRIPT_VOTES)
    assert page.evaluate("[document.activeElement.closest('.hit-body > .feedback') !== null, document.activeElement.textContent]") == [True, "没有"]
    page.unroute(SEARCHES)


def test_a_question_written_before_the_script_answers_is_kept(page):
    # A slow phone: the no-answer page's form, there before the script, was filled in; the script's answer then
    # wrote the search's words over the visitor's.
    held = []
    page.route(SEARCHES, lambda route: held.append(route))
    with page.expect_request(SEARCHES):
        page.open("/?q=" + urllib.parse.quote("推荐一部好看的电影"))
    page.fill("#ask-form textarea", "推荐一部好看的电影，最好是喜剧片")
    page.fill("#ask-form input[name=contact]", "user@example.com")
    for route in held:
        route.fallback()
    page.wait_for_function("() => document.getElementById('main').dataset.query === '推荐一部好看的电影'")
    assert page.input_value("#ask-form textarea") == "推荐一部好看的电影，最好是喜剧片"
    assert page.input_value("#ask-form input[name=contact]") == "user@example.com"
    page.unroute(SEARCHES)


def test_what_the_visitor_did_on_a_page_opened_with_a_question_is_kept(page):
    # A slow phone: the server's answers are read, one opened, before the API's answer (votes and all) comes.
    held = []
    page.route(SEARCHES, lambda route: held.append(route))
    opened = "() => [...document.querySelectorAll('#hits > li')].filter(li => li.querySelector('details').open).map(li => li.dataset.id)"
    focused = "() => document.activeElement.closest('#hits > li')?.dataset.id"
    for reordered in (False, True):
        held.clear()
        with page.expect_request(SEARCHES):  # the script has asked the API
            page.open("/?q=" + urllib.parse.quote("提现多久到账"))
        page.evaluate("document.querySelectorAll('#hits > li').forEach(li => li.served = true)")
        page.focus("#q")
        for key in ("ArrowDown", "ArrowDown", "Enter"):
            page.keyboard.press(key)
        before = page.evaluate(opened), page.evaluate(focused)
        assert len(before[0]) == 2 and before[1] == before[0][1] and page.get_attribute("#results", "aria-busy") is None
        assert len(held) == 1
        for route in held:
            if reordered:  # the index changed meanwhile: the list is new, what was open and the focus kept by article
                response = route.fetch()
                body = response.json()
                body["results"].reverse()
                route.fulfill(response=response, json=body)
            else:
                route.fallback()
        page.wait_for_selector(SCRIPT_VOTES, state="attached")
        assert (page.evaluate(opened) if not reordered else sorted(page.evaluate(opened))) == (before[0] if not reordered else sorted(before[0]))
        assert page.evaluate(focused) == before[1]
        assert page.evaluate("[...document.querySelectorAll('#hits > li')].every(li => li.served)") is not reordered
    # The API failing then leaves the server's answers as they are.
    page.unroute(SEARCHES)
    fail_searches(page, 503)
    page.open("/?q=" + urllib.parse.quote("提现多久到账"))
    page.wait_for_load_state("networkidle")
    assert page.hit_ids()[0] == "topup-withdraw-withdraw-arrival" and page.text_content("#status").startswith("找到")
    page.unroute(SEARCHES)
    forget_failed_loads(page)


def test_agent_search_error_is_not_an_empty_list(page):
    page.open("/agent")
    page.type_query("提现", selector="#aq")
    page.wait_for_function("() => document.getElementById('agent-count').textContent.startsWith('(')")
    fail_searches(page, 429, **{"Retry-After": "3"})
    page.keyboard.type("多久到账")
    page.wait_for_selector("#agent-detail .notice")
    assert page.inner_text("#agent-count") == ""
    page.open("/agent")  # the first search after the popular list fails: not titled 热门问题
    page.wait_for_selector("#agent-results [role=option]")
    page.click("#aq")
    page.keyboard.type("转账")
    page.wait_for_selector("#agent-detail .notice")
    assert page.inner_text("#agent-list-label") == "搜索结果" and page.inner_text("#agent-count") == ""
    assert "没有匹配" not in page.inner_text("#agent-results")
    assert page.inner_text("#agent-detail .notice") == "请求太频繁，3 秒后自动重试。"
    # Said as an alert; the polite region no longer holds the article shown before.
    assert page.get_attribute("#agent-detail .notice", "role") == "alert" and page.inner_text("#agent-announce") == ""
    page.keyboard.press("Escape")  # to the list, empty now: no article of the list before to scroll to (a TypeError)
    assert page.evaluate("document.activeElement.id") == "agent-results"
    page.unroute(SEARCHES)
    page.context.set_offline(True)  # the connection is named, not the service, and what the console will do
    page.keyboard.type("到账")
    page.wait_for_function("() => document.querySelector('#agent-detail .notice').textContent === '本机网络已断开，请检查网络；恢复后自动重试。'")
    page.context.set_offline(False)
    forget_failed_loads(page)


def test_agent_told_when_to_ask_again_tries_again_by_itself(page):
    # Past the rate limit the console said 请求太频繁，请 1 秒后再试 and stayed so, long after: the agent, on a
    # call, had to notice, wait and press Enter (or j/k again for an article) to get the answer.
    page.open("/agent")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")
    def limited(until, status=429):
        code = {429: "rate_limited", 503: "no_replica"}[status]
        body = '{"error": {"code": "%s", "message": "try again in a second"}}' % code
        return lambda route: (route.fulfill(status=status, body=body, content_type="application/json", headers={"Retry-After": "1"})
                              if time.monotonic() < until else route.fallback())

    notice = "t => document.querySelector('#agent-detail .notice')?.textContent === t"
    shown = "id => document.querySelector('#agent-detail').dataset.articleId === id"
    page.route(SEARCHES, limited(time.monotonic() + 1))
    page.fill("#aq", "提现多久到账")
    page.wait_for_function(notice, arg="请求太频繁，1 秒后自动重试。")
    page.wait_for_function(shown, arg="topup-withdraw-withdraw-arrival")
    second = page.inner_text("#agent-item-1 code")
    articles = re.compile(r".*/api/articles/.*")
    page.route(articles, limited(time.monotonic() + 1))
    page.locator("#agent-results").focus()
    page.keyboard.press("j")
    page.wait_for_function(notice, arg=f"无法读取文章 {second}：请求太频繁，1 秒后自动重试。")
    page.wait_for_function(shown, arg=second)
    # No search server answering behind nginx (deploy/nginx.conf): 503 with Retry-After, asked again as long
    # as it lasts, and said once, not as a new alert every second.
    page.evaluate("() => { window.__alerts = 0; new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach((n) =>"
                  " window.__alerts += n.getAttribute?.('role') === 'alert'))).observe(document.getElementById('agent-detail'), {childList: true}); }")
    page.route(SEARCHES, limited(time.monotonic() + 2.5, 503))
    page.fill("#aq", "转账限额")
    page.wait_for_function(notice, arg="搜索服务暂时不可用，1 秒后自动重试。")
    page.wait_for_function("() => document.getElementById('main').dataset.query === '转账限额'")
    assert page.evaluate("window.__alerts") == 1
    forget_failed_loads(page)


def _refused(until):
    """A route handler refusing connections (as a server process gone does) until time.monotonic() passes ``until``."""
    return lambda route: route.abort("connectionrefused") if time.monotonic() < until else route.fallback()


ALERTS_IN_DETAIL_JS = ("() => { window.__alerts = []; new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach((n) =>"
                       " n.getAttribute?.('role') === 'alert' && window.__alerts.push(n.textContent)))).observe("
                       "document.getElementById('agent-detail'), {childList: true}); }")


def test_agent_server_not_answering_is_not_blamed_on_the_agents_network(page):
    # The server went down mid-call (connection refused): the console said 网络连接失败，请检查网络后重试, and the
    # agent, whose browser was online, checked their own network while nothing asked the server again.
    page.open("/agent")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")
    page.evaluate(ALERTS_IN_DETAIL_JS)
    page.route(SEARCHES, _refused(time.monotonic() + 3))
    page.fill("#aq", "提现多久到账")
    notice = "无法连接搜索服务器（本机已联网，问题不在你这边），5 秒后自动重试。"
    page.wait_for_function("t => document.querySelector('#agent-detail .notice')?.textContent === t", arg=notice)
    assert page.evaluate("navigator.onLine")
    # Asked again by itself once the server is back, the failure said once.
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId === 'topup-withdraw-withdraw-arrival'", timeout=15_000)
    assert page.evaluate("window.__alerts") == [notice]
    forget_failed_loads(page)


def test_agent_a_single_failure_to_reach_the_server_is_not_flashed(page):
    # A connection dropped once (a worker restarting) flashed 网络连接失败 over the list until the agent asked again.
    page.open("/agent")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")
    page.evaluate(ALERTS_IN_DETAIL_JS)
    refused = []
    page.route(SEARCHES, lambda route: (refused.append(route.request.url), route.abort("connectionrefused")) if not refused else route.fallback())
    page.fill("#aq", "提现多久到账")
    page.locator("#aq").dispatch_event("input")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId === 'topup-withdraw-withdraw-arrival'")
    assert refused and page.evaluate("window.__alerts") == []
    forget_failed_loads(page)


def test_agent_a_server_not_answering_in_time_is_asked_again_with_longer_waits(page):
    # A search left unanswered (a worker stuck, a stalled proxy) was given up after 15 s saying 请检查网络或稍后再试,
    # and never asked again, while a refused connection was asked again every 5 s.
    page.clock.install()  # the waits pass at once; the requests are real
    page.open("/agent")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")
    page.evaluate("FAQ.timeoutMs = 1000")
    held, asked = [], []
    page.route(SEARCHES, lambda route: held.append(route))  # a server that never answers
    page.on("request", lambda request: SEARCHES.match(request.url) and asked.append(request.url))
    page.fill("#aq", "提现多久到账")
    page.locator("#aq").dispatch_event("input")
    notice = "t => document.querySelector('#agent-detail .notice')?.textContent === t"
    page.clock.run_for(1100)
    page.wait_for_function(notice, arg="等了 1 秒，搜索服务器仍没有回应，5 秒后自动重试。")
    # Asked again meanwhile, the notice stays as it is: neither dimmed (aria-busy) nor 正在搜索… each time.
    page.evaluate(ALERTS_IN_DETAIL_JS)
    page.evaluate("() => { window.__changes = []; const seen = new MutationObserver((records) => records.forEach((r) =>"
                  " window.__changes.push(r.target.id + ' ' + r.target.getAttribute('aria-busy') + ' ' + r.target.textContent.slice(0, 20))));"
                  " for (const id of ['agent-detail', 'agent-results']) seen.observe(document.getElementById(id), {attributes: true, attributeFilter: ['aria-busy']});"
                  " seen.observe(document.getElementById('agent-count'), {childList: true, characterData: true, subtree: true}); }")
    with page.expect_request(SEARCHES):
        page.clock.run_for(5000)
    page.clock.run_for(1100)
    page.wait_for_function(notice, arg="等了 1 秒，搜索服务器仍没有回应，10 秒后自动重试。")
    page.clock.run_for(9000)
    assert len(asked) == 2  # not before the 10 s
    assert page.evaluate("window.__changes") == [] and page.evaluate("window.__alerts") == ["等了 1 秒，搜索服务器仍没有回应，10 秒后自动重试。"]
    page.unroute(SEARCHES)  # the server answers again
    for route in held:
        with contextlib.suppress(Exception):  # given up by the page already
            route.abort()
    page.clock.run_for(1100)
    page.wait_for_function(SHOWN_ARTICLE_JS, arg="topup-withdraw-withdraw-arrival")
    forget_failed_loads(page)


def test_agent_more_past_the_rate_limit_tries_again_by_itself(page):
    # 更多 past the rate limit said 加载失败：请求太频繁，请 1 秒后再试 and loaded nothing more, while a search
    # refused the same way was asked again by itself once Retry-After had passed.
    page.open("/agent")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")
    page.evaluate("document.getElementById('main').dataset.pageSize = '4'")
    page.select_option("#acategory", "password")
    page.wait_for_function("() => document.getElementById('agent-count').textContent === '显示 1–4，共 9 篇'")
    until = time.monotonic() + 1
    page.route(re.compile(r".*/api/articles\?.*offset=.*"), lambda route: route.fulfill(
        status=429, content_type="application/json", headers={"Retry-After": "1"},
        body='{"error": {"code": "rate_limited", "message": "slow down"}}') if time.monotonic() < until else route.fallback())
    page.click("#agent-more")
    page.wait_for_function("() => document.getElementById('agent-toast').textContent === '加载失败：请求太频繁，1 秒后自动重试。'")
    page.wait_for_function("() => document.getElementById('agent-count').textContent === '显示 1–8，共 9 篇'")
    assert page.locator("#agent-results [role=option]").count() == 8
    assert page.get_attribute("#agent-item-4", "aria-selected") == "true"
    forget_failed_loads(page)


def test_agent_back_online_asks_again_what_failed_offline(page):
    # The agent's connection drops mid-call: what was typed meanwhile failed (网络连接失败), and stayed so once
    # the connection was back, until the agent noticed and pressed Enter (j/k again for an article).
    page.open("/agent?q=" + urllib.parse.quote("支付密码"))
    page.wait_for_function("() => document.querySelectorAll('#agent-results [role=option]').length > 2 && "
                           "document.querySelector('#agent-detail').dataset.articleId")
    second = page.inner_text("#agent-item-1 code")
    page.context.set_offline(True)
    page.locator("#agent-results").focus()
    page.keyboard.press("j")
    page.wait_for_function("() => document.querySelector('#agent-detail .notice')?.textContent.includes('本机网络已断开')")
    page.context.set_offline(False)
    page.wait_for_function("id => document.querySelector('#agent-detail').dataset.articleId === id", arg=second)
    page.context.set_offline(True)
    page.fill("#aq", "转账限额")
    page.wait_for_function("() => document.querySelector('#agent-detail .notice')?.textContent === '本机网络已断开，请检查网络；恢复后自动重试。'")
    page.context.set_offline(False)
    page.wait_for_function("() => document.getElementById('main').dataset.query === '转账限额'")
    forget_failed_loads(page)


def test_agent_waiting_for_a_slow_search_shows_and_copies_nothing_stale(page):
    # On a call the agent types the customer's next question and presses c: with the server slow, the
    # answer to the question before was copied into the chat, under no sign that a search was under way.
    page.add_init_script("navigator.clipboard.writeText = (t) => (window.__copied.push(t), Promise.resolve()); window.__copied = [];")
    page.open("/agent")
    page.type_query("提现多久到账", selector="#aq")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId === 'topup-withdraw-withdraw-arrival'")
    held = []
    page.route(SEARCHES, lambda route: held.append(route))  # a server that has not answered yet
    page.fill("#aq", "转账转错人了怎么办")
    page.locator("#aq").dispatch_event("input")
    page.wait_for_function("() => document.getElementById('agent-results').getAttribute('aria-busy') === 'true' && "
                           "document.getElementById('agent-detail').getAttribute('aria-busy') === 'true'")
    page.keyboard.press("Escape")
    page.keyboard.press("c")
    assert page.evaluate("window.__copied") == []
    page.wait_for_function("() => document.getElementById('agent-toast').textContent.startsWith('正在搜索')")
    # Dimmed once the wait outlasts a keystroke's, and said (shown in the list's title) once it is noticeable.
    page.wait_for_function("() => document.getElementById('agent-count').textContent === '正在搜索…' && "
                           "document.getElementById('agent-announce').textContent === '正在搜索…'")
    assert page.evaluate("[getComputedStyle(document.getElementById('agent-results')).opacity, "
                         "getComputedStyle(document.getElementById('agent-detail')).opacity]") == ["0.5", "0.5"]
    page.unroute(SEARCHES)
    for route in held:
        route.fallback()
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId === 'transfer-wrong-recipient'")
    assert page.evaluate("[...document.querySelectorAll('[aria-busy]')].map(e => e.id)") == []
    page.keyboard.press("c")
    page.wait_for_function("() => window.__copied.length === 1")
    assert page.evaluate("window.__copied[0]").startswith("已经完成的转账")
    # An article still loading is the pane's too: the one shown is the article before, not to be copied.
    articles = re.compile(r".*/api/articles/.*")
    page.route(articles, lambda route: held.append(route))
    page.fill("#aq", "支付密码")
    page.locator("#aq").dispatch_event("input")
    page.wait_for_function("() => document.getElementById('main').dataset.query === '支付密码'")
    assert page.get_attribute("#agent-detail", "aria-busy") == "true" and page.get_attribute("#agent-results", "aria-busy") is None
    page.keyboard.press("Escape")
    page.keyboard.press("c")
    page.wait_for_function("() => document.getElementById('agent-toast').textContent.startsWith('正在读取')")
    page.unroute(articles)
    for route in held[-1:]:
        route.fallback()
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId && "
                           "!document.getElementById('agent-detail').hasAttribute('aria-busy')")
    assert page.evaluate("window.__copied.length") == 1


def test_agent_enter_reads_again_an_article_the_server_failed_to_send(page):
    # The server restarts mid-call: the article selected could not be read. Once it is back, Enter (in the
    # list, or from the box) reads it again; it showed the failure until the agent moved away and back.
    page.open("/agent?q=" + urllib.request.quote("支付密码"))
    page.wait_for_function("() => document.querySelectorAll('#agent-results [role=option]').length > 2 && "
                           "document.querySelector('#agent-detail').dataset.articleId")
    second = page.inner_text("#agent-item-1 code")
    articles = re.compile(r".*/api/articles/.*")
    page.route(articles, lambda route: route.fulfill(status=503, content_type="application/json",
                                                     body='{"error": {"code": "unavailable", "message": "restarting"}}'))
    page.locator("#agent-results").focus()
    page.keyboard.press("j")
    page.wait_for_selector("#agent-detail .notice")
    page.unroute(articles)
    page.keyboard.press("Enter")
    forget_failed_loads(page)
    page.wait_for_function("id => document.querySelector('#agent-detail').dataset.articleId === id", arg=second)
    assert page.get_attribute("#agent-item-1", "aria-selected") == "true" and page.evaluate("document.activeElement.id") == "agent-results"
    page.route(articles, lambda route: route.fulfill(status=503, content_type="application/json",
                                                     body='{"error": {"code": "unavailable", "message": "restarting"}}'))
    page.keyboard.press("j")
    page.wait_for_selector("#agent-detail .notice")
    page.unroute(articles)
    page.keyboard.press("/")
    page.keyboard.press("Enter")
    page.wait_for_function("id => document.querySelector('#agent-detail').dataset.articleId === id",
                           arg=page.inner_text("#agent-item-2 code"))
    forget_failed_loads(page)


def test_typing_fetches_only_what_can_change(page):
    requests = []
    page.on("request", lambda r: requests.append(r.url.split("?")[0].split("/api/")[-1]) if "/api/" in r.url else None)
    page.open("/")
    page.click("#q")
    for typed in ("嗯", "嗯嗯", "嗯嗯嗯", "嗯嗯嗯嗯"):  # no completions for 嗯嗯, so none for what extends it
        page.keyboard.type("嗯")
        # A key at a time, each answered before the next: the page can spare only what is typed after it
        # learnt 嗯嗯 has no completions. Typed 150 ms apart, a loaded machine answered 嗯嗯 after 嗯嗯嗯 was
        # typed, which dropped that answer, and the page rightly asked again for 嗯嗯嗯 and 嗯嗯嗯嗯.
        page.wait_for_function("q => document.getElementById('main').dataset.query === q", arg=typed)
    assert requests.count("search") == 4 and requests.count("suggest") == 2, requests
    page.open("/agent")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")
    page.locator("#agent-results").focus()
    page.keyboard.press("j")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId && "
                           "document.querySelector('#agent-item-1').getAttribute('aria-selected') === 'true'")
    requests.clear()
    page.keyboard.press("k")  # back to an article read a moment ago
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")
    assert requests == []
    # An input method composing 转错 as zhuancuo: one search, for what it commits, on both pages.
    ime = page.context.new_cdp_session(page.page)
    for path, box in (("/agent", "#aq"), ("/", "#q")):
        page.open(path)
        page.wait_for_load_state("networkidle")
        page.click(box)
        requests.clear()
        for n in range(1, len("zhuancuo") + 1):
            ime.send("Input.imeSetComposition", {"text": "zhuancuo"[:n], "selectionStart": n, "selectionEnd": n})
            page.let_timers_run(100)  # past the debounce (60 ms): a search set off by composing is made
        ime.send("Input.insertText", {"text": "转错"})  # commits the composition
        page.wait_for_function("() => document.getElementById('main').dataset.query === '转错'")
        assert requests.count("search") == 1, (path, requests)


def test_agent_one_letter_keys_turned_off_in_one_tab_are_off_in_the_others(page):
    # An agent with two consoles open turns the one-letter keys off for speech input in one: a word said in
    # the other moved its list and copied its answer until that tab was reloaded.
    page.open("/agent")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")
    other = Page(page.context.new_page(), page.base).open("/agent")
    other.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")
    page.bring_to_front()
    page.click("#keys-button")
    page.uncheck("#single-keys")
    other.bring_to_front()
    other.wait_for_function("() => !document.getElementById('single-keys').checked")
    other.locator("#agent-results").focus()
    other.keyboard.press("j")
    assert other.get_attribute("#agent-results", "aria-activedescendant") == "agent-item-0"
    assert other.is_hidden("#copy-button kbd") and "/" not in other.get_attribute("#aq", "placeholder")
    page.check("#single-keys")  # and on again
    other.wait_for_function("() => document.getElementById('single-keys').checked")
    other.keyboard.press("j")
    assert other.get_attribute("#agent-results", "aria-activedescendant") == "agent-item-1"
    other.check_clean()


def test_agent_copy_and_keys_work_from_a_filter(page):
    # c in a filter copied nothing and said nothing: the answer before stayed in the clipboard, to be pasted.
    page.open("/agent")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.answer")
    page.evaluate(STUB_CLIPBOARD_JS)
    for select in ("#acategory", "#atag"):
        page.focus(select)
        page.keyboard.press("c")
        assert page.evaluate("window.__copied.at(-1)") == page.evaluate("document.querySelector('#agent-detail').dataset.answer")
        assert (page.input_value(select), page.evaluate("document.activeElement.id")) == ("", select[1:])
    assert page.evaluate("window.__copied.length") == 2 and page.inner_text("#agent-toast").startswith("已复制答案")
    page.keyboard.press("?")
    assert page.is_visible("#agent-keys") and page.evaluate("document.activeElement.id") == "atag"


def test_agent_copy_of_a_hit_not_judged_the_answer_says_so(page):
    # c on the best hit of 今天天气怎么样 said 已复制答案 as for any answer: pasted without a look at 判断.
    page.open("/agent")
    page.evaluate(STUB_CLIPBOARD_JS)
    verdict = "() => document.querySelector('#agent-detail .badge')?.textContent || ''"
    for question, told in (("今天天气怎么样", "不确定"), ("支付宝客服电话", "问的是支付宝"), ("钱转错人了咋办", None)):
        page.type_query(question, selector="#aq")
        page.wait_for_function(f"t => ({verdict})() === t", arg=told or "可信")
        page.keyboard.press("Escape")
        page.keyboard.press("c")
        toast = page.inner_text("#agent-toast")
        assert page.evaluate("window.__copied.at(-1)") == page.evaluate("document.querySelector('#agent-detail').dataset.answer")
        article = page.evaluate("document.querySelector('#agent-detail').dataset.articleId")
        assert toast == (f"已复制答案（{article}），但判断为「{told}」：请核对后再发给客户" if told else f"已复制答案（{article}）")


def test_agent_copy_is_said_by_a_live_region_there_before_it(page):
    # What c did (已复制答案, 复制失败) was written into the toast as it was unhidden: a live region shown with
    # its text already in it is not read out (NVDA, JAWS), so a screen-reader user heard nothing of the copy.
    in_tree = "() => [...document.querySelectorAll('[role=status]')].filter(e => e.checkVisibility()).map(e => e.id)"
    page.open("/agent")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.answer")
    page.evaluate(STUB_CLIPBOARD_JS)
    assert "agent-toast" in page.evaluate(in_tree) and page.is_hidden("#agent-toast")  # there, empty: nothing shows
    sync_api.expect(page.get_by_role("status")).to_have_count(1)
    page.locator("#agent-results").focus()
    page.keyboard.press("c")
    page.wait_for_function("() => document.getElementById('agent-toast').textContent.startsWith('已复制答案')")
    assert page.is_visible("#agent-toast")
    page.wait_for_selector("#agent-toast", state="hidden")  # gone after 2 s: emptied, in place for the next
    assert page.text_content("#agent-toast") == "" and "agent-toast" in page.evaluate(in_tree)


def test_agent_copy_without_clipboard_api_keeps_focus(page):
    page.add_init_script("delete Navigator.prototype.clipboard")  # plain HTTP on a non-local name
    page.open("/agent")
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId")
    page.locator("#agent-results").focus()
    page.keyboard.press("c")
    page.wait_for_function("() => document.getElementById('agent-toast').textContent.startsWith('已复制答案')")
    assert page.evaluate("document.activeElement.id") == "agent-results"


def test_headings_and_a_short_announcement_per_article(page):
    page.open("/agent?q=" + urllib.request.quote("钱转错人了咋办"))
    page.wait_for_function("() => document.querySelector('#agent-detail').dataset.articleId === 'transfer-wrong-recipient'")
    assert page.locator("h1").count() == 1
    assert page.locator("[aria-live]:has(#agent-detail), #agent-detail[aria-live]").count() == 0
    found = page.locator("#agent-results [role=option]").count()
    assert page.inner_text("#agent-announce") == f"{found} 条结果：转账转错人了怎么办？"
    assert page.inner_text("#agent-count") == f"({found})"
    # A search finding more than the 20 listed says they are the first 20, not all.
    page.open("/agent?q=" + urllib.request.quote("银行卡"))
    assert page.evaluate("fetch('/api/search?k=50&q=' + encodeURIComponent('银行卡')).then(r => r.json()).then(b => b.results.length)") > 20
    page.wait_for_function("() => document.getElementById('agent-announce').textContent.startsWith('前 20 条结果：')")
    assert page.inner_text("#agent-count") == "(前 20 条)" and page.locator("#agent-results [role=option]").count() == 20
    page.open("/")
    page.type_query("忘记登录密码")
    wait_for_hits(page, "password-forgot-login-password")
    levels = page.eval_on_selector_all("h1, h2, h3, h4, h5, h6", "els => els.filter(e => e.checkVisibility()).map(e => +e.tagName[1])")
    assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:])), levels


def test_search_page_works_without_javascript(browser, site):
    context = browser.new_context(java_script_enabled=False)
    p = context.new_page()
    try:
        p.goto(site["url"] + "/")
        # A plain search field: no combobox, nor keys, that only the script brings.
        assert p.get_attribute("#q", "role") is None and p.get_attribute("#q", "aria-expanded") is None
        sync_api.expect(p.locator("#q")).to_have_accessible_description("输入问题，按回车搜索。")
        p.fill("#q", "忘记登录密码")
        p.press("#q", "Enter")
        p.wait_for_url("**/?q=*")
        first = p.locator("#hits > li").first
        assert first.get_attribute("data-id") == "password-forgot-login-password"
        assert "在登录页点「忘记密码」" in first.locator(".answer").inner_text()
        p.click('.chip[data-category="password"]')
        p.wait_for_url("**category=password*")
        assert set(p.locator("#hits .hit-category").all_inner_texts()) == {"密码"}
    finally:
        context.close()


def test_votes_and_questions_work_without_javascript(browser, site, page):
    # The vote buttons and the form to leave a question were the script's: without it, nothing could be sent.
    context = browser.new_context(java_script_enabled=False, locale="zh-CN")
    p = context.new_page()
    asked = "退款一直没到账怎么查进度"
    try:
        p.goto(site["url"] + "/?q=" + urllib.parse.quote(asked))
        first = p.locator("#hits > li").first
        article = first.get_attribute("data-id")
        if first.locator("details[open]").count() == 0:  # not the confident answer: opened to read
            first.locator("summary").click()
        first.get_by_role("group", name="这个回答有帮助吗？").get_by_role("button", name="没有").click()
        p.wait_for_url("**/feedback")
        assert p.inner_text("h1") == "感谢反馈"
        # As the script does: the channels and the question to leave, filled in.
        assert p.locator("#no-answer").get_by_text("400-660-8888").is_visible()
        assert p.input_value("#ask-form textarea") == asked
        p.locator("#ask-form input[name=contact]").evaluate("e => e.removeAttribute('maxlength')")
        p.fill("#ask-form input[name=contact]", "x" * 101)
        p.click("#ask-form button[type=submit]")
        p.wait_for_url("**/question")
        # Refused: said on the page, the field marked and described, what was written kept.
        assert p.inner_text("[role=alert]") == "联系方式太长了，请精简到 100 个字以内。"
        sync_api.expect(p.locator("#ask-form input[name=contact]")).to_have_accessible_description("联系方式太长了，请精简到 100 个字以内。")
        p.fill("#ask-form input[name=contact]", "user@example.com")
        p.click("#ask-form button[type=submit]")
        p.wait_for_selector("text=已收到，谢谢！")
        p.click("text=返回搜索")
        p.wait_for_url("**/?q=*")
        if first.locator("details[open]").count() == 0:
            first.locator("summary").click()
        first.get_by_role("button", name="有", exact=True).click()
        p.wait_for_selector("text=感谢你的反馈！")
        p.click("text=返回答案")
        assert p.input_value("#q") == asked
        # Nothing matched: the form to leave the question is there, and the browser asks for a question first.
        p.goto(site["url"] + "/?q=" + urllib.parse.quote("推荐一部好看的电影"))
        p.fill("#ask-form textarea", "")
        p.click("#ask-form button[type=submit]")
        assert p.evaluate("document.querySelector('#ask-form textarea').validity.valueMissing") and "/question" not in p.url
        p.fill("#ask-form textarea", "推荐一部好看的电影")
        p.click("#ask-form button[type=submit]")
        p.wait_for_selector("text=已收到，谢谢！")
    finally:
        context.close()
    with sqlite3.connect(site["db"]) as db:
        votes = db.execute("SELECT query, article_id, helpful FROM feedback UNION ALL "
                           "SELECT query, article_id, helpful FROM repeat_votes").fetchall()
        questions = db.execute("SELECT query, contact FROM questions").fetchall()
    assert (asked, article, 0) in votes and (asked, article, 1) in votes
    assert (asked, "user@example.com") in questions and ("推荐一部好看的电影", "") in questions
    # With JavaScript the script's buttons take the form's place in the answers the server sent.
    page.open("/?q=" + urllib.parse.quote(asked))
    page.wait_for_selector(SCRIPT_VOTES)
    assert page.locator("#hits form").count() == 0 and page.locator("#hits .feedback").count() == page.locator("#hits > li").count()


def _without_javascript(browser, site, path: str, read):
    """What ``read(page)`` gives for ``path`` in a browser with JavaScript off (the server's page alone)."""
    context = browser.new_context(java_script_enabled=False)
    try:
        p = context.new_page()
        p.goto(site["url"] + path)
        return read(p)
    finally:
        context.close()


def _answer_links_both_ways(page, browser, site, question: str, hit: str, links: str, third: str):
    """The ``links`` (a selector) of the answer of the hit ``hit`` (a selector's tail: [data-id=…], :first-child)
    for ``question``, as [text, href, the link's ``third`` property]: (without JavaScript, rendered by the script)."""
    def answer_links(p):
        p.wait_for_selector(f"#hits > li{hit} .answer")
        return p.eval_on_selector_all(f"#hits > li{hit} .answer {links}",
                                      f"els => els.map(a => [a.textContent, a.getAttribute('href'), a.{third}])")

    served = _without_javascript(browser, site, "/?q=" + urllib.parse.quote(question), answer_links)
    page.open("/")
    page.type_query(question)  # rendered by the script (common.js answer), not kept from the server
    return served, answer_links(page)


def test_did_you_mean_is_the_same_with_and_without_javascript(page, browser, site):
    # Without JavaScript 你是不是想问 stayed hidden: the visitor typing initials (txdz: 提现到账) got 没有找到匹配的答案.
    def listed(p):
        return p.eval_on_selector_all("#did-you-mean:not([hidden]) #did-you-mean-list a",
                                      "els => els.map(a => [a.textContent, a.getAttribute('href')])")

    served = _without_javascript(browser, site, "/?q=txdz", listed)
    page.open("/")
    page.type_query("txdz")
    page.keyboard.press("Escape")  # the completions closed: what the page lists stays
    page.wait_for_selector("#did-you-mean:not([hidden])")
    assert served and [text for text, _ in served] == [text for text, _ in listed(page)]
    assert "提现多久到账？" in [text for text, _ in served]


def test_our_site_is_a_link_with_and_without_javascript(page, browser, site):
    # 用浏览器打开 help.yiqianbao.com (service-human-agent) was text on both; a look-alike stays text.
    import random

    from faq_search.answer_markdown import inline_runs

    served, scripted = _answer_links_both_ways(page, browser, site, "如何联系人工客服", '[data-id="service-human-agent"]',
                                                'a[href^="http"]', "rel")
    assert served == scripted == [["help.yiqianbao.com", "https://help.yiqianbao.com", "noopener noreferrer"]]
    # The script reads our sites in a line as the server does, look-alikes included.
    sites = page.evaluate("document.body.dataset.sites").split()
    assert sites == ["help.yiqianbao.com"]
    pieces = ["help.yiqianbao.com", "HELP.yiqianbao.com", "https://", "http://", "/a", ".", "-", "x", "@", "?r=", "/",
              "。", "cn", " ", "**", "[t](https://a.cn)", "中"]
    draw = random.Random(11)
    lines = ["".join(draw.choice(pieces) for _ in range(draw.randint(1, 8))) for _ in range(400)]
    script = page.evaluate("([lines, sites]) => lines.map((l) => FAQ.inlineRuns(l, sites).map((r) => [r.text, r.bold, r.url]))",
                           [lines, sites])
    assert script == [[list(r) for r in inline_runs(line, tuple(sites))] for line in lines]


def test_our_phone_number_in_an_answer_is_a_link_with_and_without_javascript(page, browser, site):
    # 拨打 400-660-8888 in an answer could not be tapped on a phone (the footer's could); only the channels
    # article's numbers and addresses are linked, by the server and the script alike.
    served, scripted = _answer_links_both_ways(page, browser, site, "手机丢了怎么冻结账户", ":first-child", "a", "target")
    assert served == scripted and ["400-660-8888", "tel:4006608888", ""] in served
    contacts = page.evaluate("document.body.dataset.contacts").split()
    lines = ["拨打400-660-8888", "400-660-88889", "1400-660-8888", "support@yiqianbao.com。", "support@yiqianbao.com.cn",
             "x.support@yiqianbao.com", "**400-660-8888**", "[热线](https://a.cn/400-660-8888)"]
    script = page.evaluate("""([lines, contacts]) => lines.map((l) => FAQ.inlineRuns(l).flatMap(
        (r) => r.url ? [r] : FAQ.contactRuns(r, contacts)).map((r) => [r.text, r.bold, r.url]))""", [lines, contacts])
    from faq_search.answer_markdown import inline_runs
    from faq_search.web.render import contact_runs

    assert script == [[list(p) for r in inline_runs(line) for p in (contact_runs(r, tuple(contacts)) if not r.url else [r])]
                      for line in lines]


SHOTS = [("search-desktop", "/", "忘记登录密码了怎么办", 1280), ("search-phone", "/", "提现多久到账", 375),
         ("search-no-answer-desktop", "/", "推荐一部好看的电影", 1280), ("search-other-product-desktop", "/", "支付宝客服电话", 1280),
         ("agent-desktop", "/agent", "钱转错人了咋办", 1280),
         ("agent-phone", "/agent", "钱转错人了咋办", 375)]


def test_screenshots(browser, site, tmp_path):
    """Screenshots of both pages; `make screenshots` writes them to docs/ (FAQ_SCREENSHOTS_DIR)."""
    out = Path(os.environ.get("FAQ_SCREENSHOTS_DIR") or tmp_path)
    for name, path, typed, width in SHOTS:
        phone = width < 500
        context = browser.new_context(viewport={"width": width, "height": 820 if phone else 900}, device_scale_factor=2 if phone else 1,
                                      is_mobile=phone, has_touch=phone, locale="zh-CN")
        p = Page(context.new_page(), site["url"]).open(path)
        try:
            box = "#aq" if path == "/agent" else "#q"
            p.type_query(typed, selector=box, delay=0)
            p.wait_for_function("() => document.getElementById('main').dataset.latencyMs !== undefined")
            p.locator(box).blur()
            p.evaluate("document.fonts.ready")
            p.screenshot(path=str(out / f"screenshot-{name}.png"), full_page=not path.startswith("/agent") and not phone)
            p.check_clean()
        finally:
            context.close()
        assert (out / f"screenshot-{name}.png").stat().st_size > 10_000


def test_a_vote_without_javascript_returns_to_the_answer_voted_on(browser, site):
    # 返回答案 led to /?q=… alone: the chosen category was dropped and the first answer shown, not the one voted on.
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 700})
    p = context.new_page()
    try:
        p.goto(site["url"] + "/?category=password&q=" + urllib.parse.quote("忘记密码"))
        second = p.locator("#hits > li").nth(1)
        article = second.get_attribute("data-id")
        second.locator("summary").click()
        second.get_by_role("button", name="有", exact=True).click()
        p.wait_for_selector("text=感谢你的反馈！")
        p.click("text=返回答案")
        p.wait_for_url("**/?q=*")
        assert "category=password" in p.url and p.url.endswith("#answer-" + article)
        assert p.locator('.chip[aria-current="true"]').inner_text() == "密码"
        voted = p.locator(f'#hits > li[data-id="{article}"]')
        sync_api.expect(voted.locator("details")).to_have_attribute("open", "")
        sync_api.expect(voted.locator("summary")).to_be_in_viewport()
    finally:
        context.close()


def test_the_box_and_the_question_form_take_the_servers_count_of_emoji(page):
    # maxlength counted UTF-16 units: 200 emoji pasted into the box (or the question form) kept 100 of them,
    # though the server, counting characters, takes 200.
    limit = _paste_past_the_limit(page, "/", "#q", "😀", "length-hint")
    # Past the limit in characters, what was put in is cut there (as maxlength did), where it was put.
    page.keyboard.press("Home")
    page.keyboard.insert_text("𠮷𠮷")
    assert page.input_value("#q") == "😀" * limit
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    page.keyboard.insert_text("𠮷𠮷")
    assert page.input_value("#q") == "😀" * (limit - 1) + "𠮷"
    page.wait_for_function("n => document.getElementById('main').dataset.query === document.getElementById('q').value", arg=limit)
    assert page.inner_text("#status") != f"问题太长了，请精简到 {limit} 个字以内。"
    page.open("/?q=" + urllib.parse.quote("推荐一部好看的电影"))
    question = page.locator("#ask-form textarea")
    question.fill("")
    question.focus()
    page.keyboard.insert_text("𠮷" * (limit + 5))
    assert question.input_value() == "𠮷" * limit


def test_the_consoles_box_takes_the_servers_count_of_emoji(page):
    # maxlength counted UTF-16 units: 200 emoji pasted into the console's box kept 100 of them, though the
    # server, counting characters, takes 200.
    limit = _paste_past_the_limit(page, "/agent", "#aq", "😀", "agent-toast")
    # Past the limit in characters, what was put in is cut there, where it was put.
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    page.keyboard.insert_text("𠮷𠮷")
    assert page.input_value("#aq") == "😀" * (limit - 1) + "𠮷"
    # A longer question from the URL is kept whole, for the server to say it is too long.
    page.open("/agent?q=" + urllib.parse.quote("𠮷" * (limit + 1)))
    page.wait_for_function("n => (document.querySelector('#agent-detail [role=alert]') || {}).textContent === `问题太长了，请精简到 ${n} 个字以内。`", arg=limit)
    assert page.input_value("#aq") == "𠮷" * (limit + 1)
    forget_failed_loads(page)  # the 400 that said so
