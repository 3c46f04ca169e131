"""The HTML pages as served (without a browser): escaping, no-JS fallback, CSP-ready markup, static caching."""

import re
from urllib.parse import quote

import pytest

from faq_search.build import build_index
from faq_search.web import render
from tests.conftest import TINY_ARTICLES, TINY_CATEGORIES, assert_error

# What the browser tests and these share: the tiny KB plus the service articles the no-answer
# state is built from, and an article whose text is markup.
SERVICE_ARTICLES = {
    "service/working-hours.md": dict(
        id="service-working-hours", question="客服的工作时间是几点到几点？", category="service", tags=["客服"],
        answer="各渠道的服务时间如下：\n1. App 在线客服：人工客服每天 8:00–22:00。\n"
               "2. 客服热线 400-660-8888：人工每天 8:00–22:00。\n3. 客服邮箱 support@yiqianbao.com：1 个工作日内回复。",
    ),
    "service/human-agent.md": dict(
        id="service-human-agent", question="如何联系人工客服？", category="service", tags=["客服"],
        answer="在 App「我的 → 客服中心 → 在线客服」输入“转人工”。",
    ),
    "service/markup.md": dict(
        id="markup-article", question="标签<b>加粗</b>会显示吗？", category="service", tags=["测试"],
        similar=["页面标记测试"],
        answer="答案里有 <script>window.__pwned = 1</script> 和 <img src=x onerror=\"window.__pwned = 2\"> 两段标记。",
    ),
}
PAGE_ARTICLES = {**TINY_ARTICLES, **SERVICE_ARTICLES}
PAGE_CATEGORIES = {**TINY_CATEGORIES, "service": "联系客服"}


@pytest.fixture
def page_index(make_corpus, tmp_path, tiny_analyzer):
    out = tmp_path / "page-index"
    root = make_corpus(PAGE_ARTICLES, PAGE_CATEGORIES, name="page-corpus")
    (root / "popular.yml").write_text("- wd-time\n- pw-login\n", "utf-8")
    (root / "scope.yml").write_text("ours: [易钱包]\nothers: [支付宝]\nask:\n  发卡银行: [信用卡分期]\n", "utf-8")
    build_index(root, out, analyzer=tiny_analyzer)
    return out


@pytest.fixture
def pages(app_factory, page_index):
    return app_factory(page_index).test_client()


def html_of(client, url, **params):
    r = client.get(url, query_string=params)
    assert r.status_code == 200 and r.mimetype == "text/html"
    return r.get_data(as_text=True)


def test_search_box_is_a_plain_search_field_without_javascript(pages):
    # search.js makes it a combobox with keys; the page alone claims neither.
    html = html_of(pages, "/")
    box = re.search(r'<input id="q"[^>]*>', html).group(0)
    assert 'type="search"' in box and "role=" not in box and "aria-expanded" not in box and "aria-controls" not in box
    assert re.search(r'<p id="search-hint"[^>]*>输入问题，按回车搜索。</p>', html)


def test_search_page_without_javascript_shows_the_best_answer_open(pages):
    html = html_of(pages, "/", q="忘记登录密码了怎么办")
    first = html.index('data-id="pw-login"')
    assert "<details class=\"hit-details\" open>" in html[first:first + 200]
    assert "找到" in html and "没有找到匹配的答案" in html  # the latter only in the hidden no-answer block
    assert re.search(r'<section id="no-answer"[^>]*\bhidden\b', html)
    assert "<mark>登录密码</mark>" in html
    # A summary's name keeps the question and its category apart, as the script's summaries do.
    assert re.search(r'<summary class="hit-summary" id="hit-0">\s*<span class="hit-question">.*?</span>'
                     r'<span class="visually-hidden">，分类：</span>\s*<span class="hit-category">', html)


def test_query_and_article_markup_are_escaped(pages):
    html = html_of(pages, "/", q="<script>alert(1)</script>标签加粗")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    html = html_of(pages, "/", q="页面标记测试")
    assert "<b>加粗</b>" not in html and "&lt;b&gt;加粗&lt;/b&gt;" in html
    assert "<script>window.__pwned" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=" in html


def test_no_answer_lists_the_channels_from_the_knowledge_base(pages):
    html = html_of(pages, "/", q="推荐一部电影")
    assert not re.search(r'<section id="no-answer"[^>]*\bhidden\b', html)
    assert '<a href="tel:4006608888">400-660-8888</a>' in html
    assert '<a href="mailto:support@yiqianbao.com">support@yiqianbao.com</a>' in html
    assert "App 在线客服" in html and "如何联系人工客服？" in html


RESULTS_HIDDEN = re.compile(r'<section id="results"[^>]*\bhidden\b')
NO_ANSWER_HIDDEN = re.compile(r'<section id="no-answer"[^>]*\bhidden\b')


def test_one_character_says_no_answer_as_the_script_does(pages):
    # Without JavaScript, 钱 showed "no matching answer" over the articles it found; the script shows them.
    html = html_of(pages, "/", q="钱")
    assert not RESULTS_HIDDEN.search(html) and NO_ANSWER_HIDDEN.search(html) and "showing-no-answer" not in html
    assert NO_ANSWER_HIDDEN.search(html_of(pages, "/", q="a"))  # may begin pinyin
    assert not NO_ANSWER_HIDDEN.search(html_of(pages, "/", q="😀"))  # nothing found: said


DID_YOU_MEAN = re.compile(r'<section id="did-you-mean" class="panel"( hidden)?[^>]*>.*?<ul class="question-list" id="did-you-mean-list">(.*?)</ul>', re.S)


def test_did_you_mean_without_javascript_lists_what_the_script_lists(pages):
    # Initials (txjt: 提现几天) match no article words: the script lists /api/suggest's questions under
    # 你是不是想问; without JavaScript the section stayed hidden and empty, under 没有找到匹配的答案.
    html = html_of(pages, "/", q="txjt")
    hidden, items = DID_YOU_MEAN.search(html).groups()
    suggested = pages.get("/api/suggest", query_string={"q": "txjt"}).get_json()["suggestions"]
    assert suggested and not hidden
    assert re.findall(r'<li><a href="([^"]+)" data-question="([^"]+)">', items) == [
        ("/?q=" + quote(s["question"]), s["question"]) for s in suggested]
    # The questions are the answer then, as the script has it: no "no matching answer" under them.
    assert NO_ANSWER_HIDDEN.search(html) and "showing-no-answer" not in html
    # Within a chip, the links keep it (search.js questionLink); a confident answer needs no guesses.
    html = html_of(pages, "/", q="txjt", category="withdraw")
    assert f'href="/?q={quote("提现多久到账？")}&amp;category=withdraw"' in DID_YOU_MEAN.search(html).group(2)
    hidden, items = DID_YOU_MEAN.search(html_of(pages, "/", q="提现几")).groups()
    assert hidden and not items.strip()


def status_of(html: str) -> tuple[str, str]:
    return re.search(r'<p id="status" class="([^"]*)"[^>]*>(.*?)</p>', html, re.S).groups()


def test_status_short_of_an_answer_is_heard_not_an_empty_gap_as_with_the_script(pages):
    # Without JavaScript an empty status line stood above 你是不是想问 or 没有找到匹配的答案; the script hides
    # it and says there what is listed.
    assert status_of(html_of(pages, "/", q="txjt")) == ("status visually-hidden", "你是不是想问：1 个问题")
    assert status_of(html_of(pages, "/", q="推荐一部电影")) == ("status visually-hidden", "没有找到匹配的答案")
    assert status_of(html_of(pages, "/", q="忘记登录密码了怎么办"))[0] == "status"  # 找到 … shown
    assert status_of(html_of(pages, "/")) == ("status", "")



    # Without JavaScript too: the filter is named and a link searches every category.
    html = html_of(pages, "/", q="提现多久到账", category="password")
    note = re.search(r'<p class="no-answer-filter" id="no-answer-filter">(.*?)</p>', html, re.S)
    assert note and "「密码」" in re.sub(r"<[^>]+>", "", note.group(1))
    assert 'href="/?q=%E6%8F%90%E7%8E%B0%E5%A4%9A%E4%B9%85%E5%88%B0%E8%B4%A6"' in note.group(1)
    assert re.search(r'<p class="no-answer-filter" id="no-answer-filter" hidden>', html_of(pages, "/", q="今天天气怎么样"))


def test_popular_before_typing_and_browse_by_category(pages):
    html = html_of(pages, "/")
    popular = html[html.index('id="popular-list"'):]
    assert popular.index("提现多久到账？") < popular.index("忘记登录密码怎么办？")
    # No empty 搜索结果 region for screen readers to land on; shown when there are results.
    assert RESULTS_HIDDEN.search(html) and not RESULTS_HIDDEN.search(html_of(pages, "/", q="忘记登录密码"))
    html = html_of(pages, "/", category="password")
    assert RESULTS_HIDDEN.search(html) and "<title>密码 - 易钱包帮助中心</title>" in html  # the list is named
    browse = html[html.index('id="browse-list"'):html.index("</section>", html.index('id="browse-list"'))]
    assert "忘记登录密码怎么办？" in browse and "提现" not in browse
    assert 'data-category="password" aria-current="true"' in html
    # Every one listed, and the total said; a page at a time (and 更多) is for JavaScript only.
    assert re.search(r'<span id="browse-count"[^>]*>共 2 篇</span>', html)
    assert re.search(r'<button[^>]*id="browse-more"[^>]*\bhidden\b', html)


def test_category_chip_filters_without_javascript(pages):
    html = html_of(pages, "/", q="密码", category="withdraw")
    hits = re.findall(r'<li class="hit[^"]*" data-id="([^"]+)"', html)
    assert hits and all(h == "wd-time" for h in hits) or hits == []
    html = html_of(pages, "/", q="密码", category="password")
    assert set(re.findall(r'<li class="hit[^"]*" data-id="([^"]+)"', html)) == {"pw-login", "pw-pay"}
    assert html_of(pages, "/", q="密码", category="nope")  # an unknown category is ignored, not an error
    # By its name too, as the API reads it (a link written by hand: ?category=密码).
    assert html_of(pages, "/", q="密码", category="密码") == html
    assert 'data-category="password" aria-current="true"' in html_of(pages, "/", category="密碼")


@pytest.mark.parametrize("url", ["/", "/?q=忘记密码", "/?q=推荐一部电影", "/agent"])
def test_pages_are_ready_for_a_strict_csp(pages, url):
    html = pages.get(url).get_data(as_text=True)
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(re.search(r'\ssrc="/static/[a-z]+\.js\?v=[0-9a-f]{12}"', s) for s in scripts)
    assert all(not body.strip() for body in re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S))  # no inline code
    assert not re.search(r"\son[a-z]+\s*=", html)  # no inline handlers
    assert not re.search(r"\sstyle\s*=", html) and "<style" not in html
    assert "javascript:" not in html


def test_static_files_are_versioned_and_cached(pages):
    html = pages.get("/").get_data(as_text=True)
    url = re.search(r'href="(/static/style\.css\?v=[0-9a-f]{12})"', html).group(1)

    def cache_control(url):
        with pages.get(url) as r:
            assert r.status_code == 200, url
            return r.headers["Cache-Control"]

    assert set(cache_control(url).split(", ")) == {"public", "max-age=31536000", "immutable"}
    assert cache_control("/static/style.css?v=000000000000") == "no-cache"  # an old version's URL
    assert cache_control("/static/style.css") == "no-cache"
    for name in ("common.js", "search.js", "agent.js", "agent.css", "favicon.svg"):
        cache_control(f"/static/{name}")
    # Other spellings of a file are that file: one version each file, however many URLs a client makes up.
    versions = pages.application.extensions["faq_static_versions"]
    known = len(versions)
    version = url.partition("?")[2]
    aliases = ("./style.css", "x/../style.css", "a/./b/../../style.css", "style.css/", "./" * 50 + "style.css")
    cached = [cache_control(f"/static/{alias}?{version}") for alias in aliases]
    assert len(versions) == known
    assert all("immutable" in c for c in cached)  # and the current version's URL is cached whatever its spelling


def test_the_smallest_max_k_allowed_is_what_the_pages_ask_for(app_factory, page_index):
    from faq_search.config import PAGES_K
    from tests.conftest import ROOT

    static = ROOT / "faq_search" / "web" / "static"
    text = "".join(js.read_text("utf-8") for js in static.glob("*.js"))
    asked = [int(a or b) for a, b in re.findall(r"\bk: (\d+)|[?&]k=(\d+)", text)]  # search.js 10, popular 20
    agent = (static / "agent.js").read_text("utf-8")
    assert "k: SEARCH_K + 1" in agent
    asked.append(int(re.search(r"const SEARCH_K = (\d+);", agent).group(1)) + 1)
    assert len(asked) >= 3 and max(asked) == PAGES_K
    client = app_factory(page_index, FAQ_MAX_K=PAGES_K).test_client()
    for url in (f"/api/search?q=密码&k={k}" for k in asked):
        assert client.get(url).status_code == 200, url
    assert client.get("/api/popular?k=20").status_code == 200


def test_static_js_never_puts_text_into_html(tmp_path):
    from tests.conftest import ROOT

    for js in (ROOT / "faq_search" / "web" / "static").glob("*.js"):
        source = js.read_text("utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in source, f"{js.name} uses {sink}"


# What the pages' scripts must do without, or Safari 15 (iPhones not updated since early 2023) cannot run
# them: a lookbehind, as a regex literal or in a string for new RegExp ('<' maybe escaped), fails the whole
# script before Safari 16.4; the others came in Safari 15.4 or later.
NEWER_THAN_SAFARI_15 = {
    "a regular-expression lookbehind": r"\(\?(?:\\?<|\\x3[cC]|\\u003[cC])[=!]",
    "a class static block": r"\bstatic\s*\{",
    "Array/String .at()": r"\.at\(",
    "Array .findLast()": r"\.findLast(?:Index)?\(",
    "Object.hasOwn": r"\bObject\.hasOwn\b",
    "structuredClone": r"\bstructuredClone\b",
}


def test_static_js_runs_on_safari_15():
    from tests.conftest import ROOT

    for js in (ROOT / "faq_search" / "web" / "static").glob("*.js"):
        source = js.read_text("utf-8")
        for what, pattern in NEWER_THAN_SAFARI_15.items():
            found = re.search(pattern, source)
            assert found is None, f"{js.name}:{source.count(chr(10), 0, found.start()) + 1}: {what}"


def test_agent_console_page(pages):
    html = html_of(pages, "/agent")
    assert 'id="aq"' in html and 'id="acategory"' in html and 'id="atag"' in html
    assert '<option value="password">密码</option>' in html


@pytest.mark.parametrize("q", ["", "忘记密码", "推荐一部电影"])
def test_public_page_does_not_link_to_the_agents_console(pages, q):
    assert 'href="/agent' not in html_of(pages, "/", q=q)


def test_pages_without_an_index_say_so(app_factory, tmp_path):
    client = app_factory(tmp_path / "empty").test_client()
    for url in ("/?q=密码", "/agent"):  # with a 503, so that a balancer sends visitors to a replica with an index
        r = client.get(url)
        assert r.status_code == 503 and "搜索服务暂时不可用" in r.get_data(as_text=True)


def test_render_answer_blocks_and_highlight():
    text = "第一段\n第二行\n\n1. 打开 App\n2. 点<b>设置</b>\n- 一\n- 二"
    assert render.answer_blocks(text) == [("p", ["第一段", "第二行"], 1), ("ol", ["打开 App", "点<b>设置</b>"], 1), ("ul", ["一", "二"], 1)]
    assert render.answer_blocks("3. 第三步") == [("ol", ["第三步"], 3)]
    assert str(render.highlight("打开 APP 设置<b>", ["app", "设置"])) == "打开 <mark>APP</mark> <mark>设置</mark>&lt;b&gt;"
    assert str(render.highlight("<i>", [])) == "&lt;i&gt;"
    assert str(render.linkify("拨打 400-660-8888 或写信 a@b.cn <x>")) == (
        '拨打 <a href="tel:4006608888">400-660-8888</a> 或写信 <a href="mailto:a@b.cn">a@b.cn</a> &lt;x&gt;')
    assert render.channel_items("说明\n1. 热线 400：全天\n2. 邮箱") == [("热线 400", "全天"), ("邮箱", "")]


@pytest.mark.parametrize("line, html", [
    ("**重要提示**：请在[安全中心](https://help.yiqianbao.com/security)操作。",
     '<strong>重要提示</strong>：请在<a href="https://help.yiqianbao.com/security" target="_blank" '
     'rel="noopener noreferrer">安全中心</a>操作。'),
    ("__先__[冻结](https://a.cn/?x=1&y=2)", '<strong>先</strong><a href="https://a.cn/?x=1&amp;y=2" target="_blank" '
                                           'rel="noopener noreferrer">冻结</a>'),
    # Text and address escaped: a quote cannot end the attribute, a bracket cannot open a tag.
    ('[<img src=x onerror=alert(1)>"](https://a.cn/"onmouseover="alert`1`"<b>\'x)',
     '<a href="https://a.cn/&#34;onmouseover=&#34;alert`1`&#34;&lt;b&gt;&#39;x" target="_blank" rel="noopener noreferrer">'
     '&lt;img src=x onerror=alert(1)&gt;&#34;</a>'),
    ("[a [b] c](https://a.cn)", '<a href="https://a.cn" target="_blank" rel="noopener noreferrer">a [b] c</a>'),
    # Only http(s): the rest is shown as typed, never a link.
    ("[x](javascript:alert(1))", "[x](javascript:alert(1))"),
    ("[x](data:text/html,<script>alert(1)</script>)", "[x](data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;)"),
    ("**[x](javascript:alert(1))**", "<strong>[x](javascript:alert(1))</strong>"),
    ("[x](  javascript:alert(1))", "[x](  javascript:alert(1))"),
])
def test_an_answer_line_shows_bold_and_web_links_only(line, html):
    assert str(render.answer_line(line)) == html


def test_an_answer_lines_terms_are_highlighted_inside_bold_and_links():
    assert str(render.answer_line("**冻结**后去[安全中心](https://a.cn/冻结)", ["冻结", "安全"])) == (
        '<strong><mark>冻结</mark></strong>后去<a href="https://a.cn/冻结" target="_blank" rel="noopener noreferrer">'
        '<mark>安全</mark>中心</a>')
    assert render.channel_items("1. **热线** 400：全天") == [("热线 400", "全天")]


def _shown_answer(html: str, article_id: str) -> str:
    """The answer's HTML of the hit ``article_id`` on a search page."""
    return re.search(rf'<li class="hit[^"]*" data-id="{article_id}">.*?<div class="answer">(.*?)</div>', html, re.S).group(1)


def _search_page(app_factory, root, index_dir, analyzer, q: str) -> str:
    """The search page for ``q`` over an index built from the corpus at ``root``."""
    build_index(root, index_dir, analyzer=analyzer)
    return html_of(app_factory(index_dir).test_client(), "/", q=q)


def test_the_pages_show_an_answers_markdown_and_the_api_gives_it_as_written(app_factory, make_corpus, tmp_path,
                                                                            tiny_analyzer):
    answer = ("**重要提示**：冻结后请在[安全中心](https://help.yiqianbao.com/security)操作。\n\n"
              "1. 打开 **设置**\n2. 别点[这里](javascript:alert(1))")
    articles = {**TINY_ARTICLES, "password/frozen.md": dict(
        id="pw-frozen", question="账户冻结了怎么办？", category="password", similar=["冻结了"], answer=answer)}
    build_index(make_corpus(articles), tmp_path / "md-index", analyzer=tiny_analyzer)
    client = app_factory(tmp_path / "md-index").test_client()
    html = html_of(client, "/", q="账户冻结了怎么办")
    shown = _shown_answer(html, "pw-frozen")
    assert "**" not in shown and "](" not in shown.replace("](javascript:alert(1))", "")
    assert "<p><strong>重要提示</strong>：<mark>冻结</mark>后请在<a href=\"https://help.yiqianbao.com/security\" " \
           "target=\"_blank\" rel=\"noopener noreferrer\">安全中心</a>操作。</p>" in shown
    assert "<li>打开 <strong>设置</strong></li><li>别点[这里](javascript:alert(1))</li>" in shown
    assert 'href="javascript' not in html
    # The API's answer is the article's Markdown, as before: its clients render it (docs/api.md).
    assert client.get("/api/articles/pw-frozen").get_json()["answer"] == answer


def test_our_site_written_bare_is_a_link_and_a_look_alike_is_not(app_factory, make_corpus, tmp_path, tiny_analyzer):
    # help.yiqianbao.com in an answer was plain text; scope.yml's `sites` makes exactly it a link.
    answer = ("1. 用浏览器打开 help.yiqianbao.com，点右下角的「咨询」。\n"
              "2. 不要打开 help-yiqianbao.com 或 help.yiqianbao.com.cn/login 这类仿冒网址。")
    articles = {**SERVICE_ARTICLES, "service/web-chat.md": dict(
        id="svc-web", question="官网在线客服怎么用？", category="service", similar=["网页客服在哪"], answer=answer)}
    articles["service/working-hours.md"] = {**articles["service/working-hours.md"],
                                            "answer": "渠道：\n1. 官网在线客服 help.yiqianbao.com：每天 8:00–22:00。"}
    root = make_corpus(articles, {"service": "联系客服"})
    (root / "scope.yml").write_text("ours: [易钱包]\nsites: [help.yiqianbao.com]\n", "utf-8")
    html = _search_page(app_factory, root, tmp_path / "site-index", tiny_analyzer, "官网在线客服怎么用")
    shown = _shown_answer(html, "svc-web")
    link = '<a href="https://help.yiqianbao.com" target="_blank" rel="noopener noreferrer">help.yiqianbao.com</a>'
    assert f"<li>用浏览器打开 {link}，点右下角的「咨询」。</li>" in shown
    assert "<li>不要打开 help-yiqianbao.com 或 help.yiqianbao.com.cn/login 这类仿冒网址。</li>" in shown
    assert shown.count("<a ") == 1
    # The contact channels too (the footer, the no-answer state); the script is told the sites.
    assert f'<span class="channel-name">官网在线客服 {link}</span>' in html
    assert '<body class="page-search" data-sites="help.yiqianbao.com">' in html


def test_our_phone_number_and_address_in_an_answer_are_links_and_others_are_not(app_factory, make_corpus, tmp_path,
                                                                                  tiny_analyzer):
    # On a phone, 拨打 400-660-8888 in an answer could not be tapped, while the footer's could. Ours are the
    # channels article's (SERVICE_ARTICLES); a number quoted in a scam warning stays text.
    answer = ("冻结请拨打 400-660-8888 按 1，或写信到 support@yiqianbao.com。\n\n"
              "来电 400-123-4567、400-660-88889 或邮件 support@yiqianbao.com.cn 都不是我们。")
    articles = {**SERVICE_ARTICLES, "service/freeze.md": dict(
        id="svc-freeze", question="怎么紧急冻结账户？", category="service", similar=["冻结账户"], answer=answer)}
    root = make_corpus(articles, {"service": "联系客服"})
    html = _search_page(app_factory, root, tmp_path / "contact-index", tiny_analyzer, "怎么紧急冻结账户")
    shown = _shown_answer(html, "svc-freeze")
    assert ('拨打 <a href="tel:4006608888">400-660-8888</a> 按 1，或写信到 '
            '<a href="mailto:support@yiqianbao.com">support@yiqianbao.com</a>。</p>') in shown
    assert "<p>来电 400-123-4567、400-660-88889 或邮件 support@yiqianbao.com.cn 都不是我们。</p>" in shown
    assert shown.count("<a ") == 2
    assert 'data-contacts="400-660-8888 support@yiqianbao.com"' in html  # for the script's answers


def test_a_question_about_another_product_is_told_so(pages):
    import re

    def hint(html):
        return re.search(r'<p class="no-answer-hint"[^>]*>([^<]*)</p>', html).group(1).strip()

    html = html_of(pages, "/", q="支付宝的钱转错人了")
    assert '<section id="no-answer" class="no-answer" aria-labelledby' in html  # shown
    assert hint(html).startswith("这个问题看起来是关于「支付宝」的：这里只能解答易钱包的问题，支付宝的问题请联系支付宝官方客服")
    assert 'data-id="tr-wrong"' in html  # still listed as related
    assert hint(html_of(pages, "/", q="天气怎么样")).startswith("换个说法试试")
    # Another's business asked in our words (scope.yml's ask) has no customer service of its own to send to.
    assert hint(html_of(pages, "/", q="信用卡分期的钱转错人了")).startswith(
        "这个问题看起来是关于「信用卡分期」的：这里只能解答易钱包的问题，这类问题请咨询发卡银行。")


def test_a_question_over_the_limit_is_said_to_be_too_long(pages):
    limit = pages.application.config["FAQ"].FAQ_MAX_QUERY_CHARS
    question = "忘记登录密码了怎么办" * (limit // 10 + 1)
    html = html_of(pages, "/", q=question)
    assert f'<p id="status" class="status status-error" role="status" aria-live="polite" tabindex="-1">问题太长了，请精简到 {limit} 个字以内。</p>' in html
    assert re.search(r'<section id="no-answer"[^>]*\bhidden\b', html) and "showing-no-answer" not in html
    assert '<li class="hit' not in html
    assert f'value="{question}"' in html  # whole, to be shortened
    html = html_of(pages, "/", q=question[:limit])  # at the limit: answered
    assert "太长" not in html and 'data-id="pw-login"' in html


def test_the_pages_answer_their_own_errors_as_pages(app_factory, page_index):
    # Without JavaScript the visitor sees what the server sends: the page saying what happened, not JSON.
    client = app_factory(page_index, FAQ_RATE_API=1).test_client()
    assert client.get("/?q=忘记密码").status_code == 200
    r = client.get("/?q=提现多久到账&category=withdraw")
    assert r.status_code == 429 and r.mimetype == "text/html" and 1 <= int(r.headers["Retry-After"]) <= 60
    html = r.get_data(as_text=True)
    assert f'<p class="notice" role="alert">请求太频繁，请 {r.headers["Retry-After"]} 秒后再试。</p>' in html
    assert 'value="提现多久到账"' in html and 'name="category" value="withdraw"' in html  # to send again
    assert '<li class="hit' not in html and re.search(r'<section id="no-answer"[^>]*\bhidden\b', html)
    assert_error(client.get("/api/search?q=密码"), 429, "rate_limited")  # the API keeps JSON
    raw = {"QUERY_STRING": "q=\xe5\xaf"}  # raw bytes, as a server passes them: not UTF-8, and limited first
    assert client.get("/", environ_overrides=raw).status_code == 429
    other = {"REMOTE_ADDR": "10.0.0.2"}  # not rate-limited
    for url in ("/?q=%FF%FE", "/agent?article=%FF"):
        r = client.get(url, environ_overrides=other)
        assert r.status_code == 400 and r.mimetype == "text/html", url
        assert "网址里有无法识别的字符" in r.get_data(as_text=True) and "\ufffd" not in r.get_data(as_text=True)
    assert 'id="aq"' in r.get_data(as_text=True)  # the console, with the notice
    assert_error(client.get("/static/nope.js"), 404, "not_found")  # files and other routes: JSON
    assert_error(client.get("/api/categories?x=%FF", environ_overrides={"REMOTE_ADDR": "10.0.0.3"}), 400, "invalid_encoding")


# --- votes and questions without JavaScript: plain forms posted to the server -----------------------------------

def _form_of(html: str, action: str) -> tuple[str, dict[str, list[str]]]:
    """The first form posting to ``action``: its opening tag and its fields' values by name (buttons too)."""
    form = re.search(rf'<form [^>]*action="{action}"[^>]*>(.*?)</form>', html, re.S)
    assert form, action
    fields: dict[str, list[str]] = {}
    for tag in re.findall(r"<(?:input|button|textarea)\b[^>]*>(?:[^<]*</textarea>)?", form.group(1)):
        if name := re.search(r'name="([^"]+)"', tag):
            value = re.search(r'value="([^"]*)"', tag) or re.search(r">([^<]*)</textarea>", tag)
            fields.setdefault(name.group(1), []).append(value.group(1) if value else "")
    return form.group(0)[:form.group(0).index(">") + 1], fields


def _stored_rows(app, sql: str) -> list[tuple]:
    """``sql``'s rows from the app's feedback store; none while nothing was ever stored (no file yet)."""
    import sqlite3

    path = app.extensions["faq_feedback"].path
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def test_a_vote_without_javascript_is_a_form_the_server_takes(app_factory, page_index):
    # The vote buttons were the script's alone: without JavaScript no answer could be voted on.
    app = app_factory(page_index)
    client = app.test_client()
    html = html_of(client, "/", q="忘记登录密码了怎么办")
    tag, fields = _form_of(html[html.index('data-id="pw-login"'):], "/feedback")
    assert 'method="post"' in tag
    assert fields == {"query": ["忘记登录密码了怎么办"], "article_id": ["pw-login"], "helpful": ["true", "false"]}
    r = client.post("/feedback", data={"query": "忘记登录密码了怎么办", "article_id": "pw-login", "helpful": "true"})
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "感谢你的反馈！" in html and f'<a href="/?q={quote("忘记登录密码了怎么办")}#answer-pw-login">返回答案</a>' in html
    assert client.get("/api/articles/pw-login").get_json()["feedback"] == {"helpful": 1, "not_helpful": 0}
    # 没有: as the script does, the channels and the question to leave, filled in, posting to the server too.
    r = client.post("/feedback", data={"query": "提现要多久", "article_id": "wd-time", "helpful": "false"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "感谢反馈" in html and '<a href="tel:4006608888">400-660-8888</a>' in html
    assert _form_of(html, "/question")[1] == {"query": ["提现要多久"], "contact": [""]}
    assert ("提现要多久", "wd-time", 0) in _stored_rows(app, "SELECT query, article_id, helpful FROM feedback")


def test_a_question_without_javascript_is_a_form_the_server_takes(app_factory, page_index):
    # The form to leave a question was hidden until the script showed it and sent it as JSON.
    app = app_factory(page_index)
    client = app.test_client()
    html = html_of(client, "/", q="推荐一部电影")
    tag, fields = _form_of(html, "/question")
    assert 'method="post"' in tag and "hidden" not in tag and "novalidate" not in tag
    assert fields == {"query": ["推荐一部电影"], "contact": [""]}
    r = client.post("/question", data={"query": " 推荐一部电影 ", "contact": "user@example.com"})
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert "已收到，谢谢！" in r.get_data(as_text=True)
    assert _stored_rows(app, "SELECT query, contact FROM questions") == [("推荐一部电影", "user@example.com")]


def _refused(r, status: int, said: str) -> str:
    html = r.get_data(as_text=True)
    assert r.status_code == status and r.mimetype == "text/html", (r.status_code, html[:300])
    assert f'<p class="notice" role="alert">{said}</p>' in html
    return html


def test_bad_form_input_gets_a_page_saying_what_is_wrong(app_factory, page_index, monkeypatch):
    app = app_factory(page_index)
    client = app.test_client()
    for query in ("", "   ", "？？？😀"):  # refused as the API refuses them, the field marked and the text kept
        html = _refused(client.post("/question", data={"query": query, "contact": "a@b.cn"}), 400, "请先用文字写下你的问题。")
        assert re.search(r'<textarea name="query"[^>]* aria-invalid="true" aria-describedby="ask-query-error">', html)
        assert 'value="a@b.cn"' in html
    html = _refused(client.post("/question", data={"query": "能用美元吗", "contact": "x" * 101}), 400,
                    "联系方式太长了，请精简到 100 个字以内。")
    assert re.search(r'<input name="contact"[^>]* value="x{101}" aria-invalid="true"', html) and ">能用美元吗</textarea>" in html
    vote = {"query": "提现", "article_id": "wd-time", "helpful": "true"}
    _refused(client.post("/feedback", data={**vote, "article_id": "no-such"}), 404, "这篇文章已更新或下线，请重新搜索。")
    for bad in ({**vote, "helpful": "maybe"}, {"query": "提现", "article_id": "wd-time"}, {**vote, "extra": "1"},
                {**vote, "article_id": "x" * 129}):
        _refused(client.post("/feedback", data=bad), 400, "提交的内容有误，请检查后再试。")
    _refused(client.post("/feedback", json={**vote, "helpful": True}), 415, "提交的内容有误，请检查后再试。")
    _refused(client.post("/question", data={"query": "长" * 20_000}), 413, "提交的内容太长了，请精简后再试。")
    assert _stored_rows(app, "SELECT query FROM questions") == []

    def unavailable(*args, **kwargs):
        import sqlite3
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(app.extensions["faq_feedback"], "add_question", unavailable)
    html = _refused(client.post("/question", data={"query": "能用美元吗"}), 503, "提交失败，请稍后再试。")
    assert ">能用美元吗</textarea>" in html  # to send again
    r = client.get("/question")  # the address of the page a form got, opened again
    assert r.status_code == 303 and r.headers["Location"] == "/"


def test_forms_are_taken_from_our_own_pages_only(app_factory, page_index):
    # A form, unlike the API's JSON, can be posted by any site's page: the browser's word decides.
    app = app_factory(page_index)
    client = app.test_client()
    question = {"query": "能用美元吗", "contact": ""}
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "https://evil.example"},
                    {"Origin": "null"}, {"Origin": "http://["}):
        html = _refused(client.post("/question", data=question, headers=headers), 403,
                        "这个表单只接受从本站页面提交，请回到帮助中心再试一次。")
        assert 'action="/question"' not in html  # not offered to send what another page wrote
        vote = {"query": "", "article_id": "wd-time", "helpful": "true"}
        assert client.post("/feedback", data=vote, headers=headers).status_code == 403
    assert _stored_rows(app, "SELECT query FROM questions") == []
    assert _stored_rows(app, "SELECT query FROM feedback") == []
    for headers in ({"Sec-Fetch-Site": "same-origin", "Origin": "null"}, {"Origin": "http://localhost"}, {}):
        assert client.post("/question", data=question, headers=headers).status_code == 200, headers
    assert _stored_rows(app, "SELECT query FROM questions") == [("能用美元吗",)] * 3


def _origin_sent(policy: str, page: str, target: str) -> str:
    """The Origin a browser without Sec-Fetch-Site sends with a form of a ``page`` (an origin) posted to
    ``target``'s under the page's Referrer-Policy ``policy`` (the Fetch standard's "serializing a request origin")."""
    if policy == "no-referrer" or (policy == "same-origin" and page != target):
        return "null"
    downgrade = page.startswith("https:") and not target.startswith("https:")
    if policy in ("no-referrer-when-downgrade", "strict-origin", "strict-origin-when-cross-origin") and downgrade:
        return "null"
    return page


def test_browsers_without_sec_fetch_site_can_post_our_own_forms_and_only_ours(app_factory, page_index):
    # Safari before 16.4 and Firefox before 90 tell where a form comes from by Origin alone, which the page's
    # Referrer-Policy decides: under no-referrer it was "null" for our own forms too, refused as a sandboxed
    # frame's, and such visitors could neither vote nor leave a question without JavaScript.
    app = app_factory(page_index, FAQ_RATE_FEEDBACK=0, FAQ_RATE_QUESTION=0)  # a post refused spends them too
    client = app.test_client()
    ours, other = "http://localhost", "https://evil.example"
    pages = {"results": client.get("/", query_string={"q": "提现"}),
             "no answer": client.get("/", query_string={"q": "推荐一部电影"}),
             "voted 没有": client.post("/feedback", data={"query": "提现", "article_id": "wd-time", "helpful": "false"}),
             "question refused": client.post("/question", data={"query": "？？？"})}
    posted, asked = [], []
    for name, page in pages.items():
        html, policy = page.get_data(as_text=True), page.headers["Referrer-Policy"]
        assert policy in ("same-origin", "no-referrer"), name  # the search URL never goes to another site
        for action in dict.fromkeys(re.findall(r'<form [^>]*method="post" action="([^"]+)"', html)):
            data = {k: v[0] for k, v in _form_of(html, re.escape(action))[1].items()}
            if action.startswith("/question"):
                data["query"] = f"能用美元吗{len(posted)}"
                asked.append((data["query"],))
            url = action.replace("&amp;", "&")
            r = client.post(url, data=data, headers={"Origin": _origin_sent(policy, ours, ours)})
            assert r.status_code == 200, (name, action, policy)
            posted.append(url)
            # The same form copied onto another site's page: posted with its Origin, or "null", whatever its
            # policy; by a current browser, said cross-site.
            for theirs in ("unsafe-url", "same-origin", "no-referrer"):
                _refused(client.post(url, data=data, headers={"Origin": _origin_sent(theirs, other, ours)}), 403,
                         "这个表单只接受从本站页面提交，请回到帮助中心再试一次。")
            _refused(client.post(url, data=data, headers={"Sec-Fetch-Site": "cross-site", "Origin": other}), 403,
                     "这个表单只接受从本站页面提交，请回到帮助中心再试一次。")
    assert {url.split("?")[0] for url in posted} == {"/feedback", "/question"}
    assert _stored_rows(app, "SELECT query FROM questions") == asked  # none of another site's
    # Pages without a form that posts keep no-referrer.
    assert client.get("/agent").headers["Referrer-Policy"] == "no-referrer"


def test_forms_spend_the_apis_vote_and_question_limits(app_factory, page_index):
    client = app_factory(page_index, FAQ_RATE_FEEDBACK=1, FAQ_RATE_QUESTION=1).test_client()
    vote = {"query": "提现", "article_id": "wd-time", "helpful": "true"}
    assert client.post("/feedback", data=vote).status_code == 200
    r = client.post("/feedback", data={**vote, "article_id": "pw-login"})
    html = _refused(r, 429, f"请求太频繁，请 {r.headers['Retry-After']} 秒后再试。")
    assert f'<a href="/?q={quote("提现")}#answer-pw-login">返回答案</a>' in html
    assert_error(client.post("/api/feedback", json={**vote, "helpful": True}), 429, "rate_limited")  # one bucket
    assert client.post("/api/question", json={"query": "能用美元吗"}).status_code == 201
    html = _refused(client.post("/question", data={"query": "能用美元吗"}), 429,
                    f"请求太频繁，请 {r.headers['Retry-After']} 秒后再试。")
    assert ">能用美元吗</textarea>" in html


def test_a_vote_without_javascript_leads_back_to_the_same_results_and_answer(app_factory, page_index):
    # 返回答案 went to /?q=… alone: the category chip was dropped, and the answer voted on (the second
    # here) was not the one shown open on return.
    client = app_factory(page_index).test_client()
    html = html_of(client, "/", q="忘记密码", category="password")
    voted = re.findall(r'<li class="hit[^"]*" data-id="([^"]+)"', html)[1]
    tag = _form_of(html[html.index(f'data-id="{voted}"'):], r"/feedback[^\"]*")[0]
    action = re.search(r'action="([^"]+)"', tag).group(1).replace("&amp;", "&")
    for helpful in ("true", "false"):
        r = client.post(action, data={"query": "忘记密码", "article_id": voted, "helpful": helpful})
        back = re.search(r'<a href="([^"]+)">返回答案</a>', r.get_data(as_text=True)).group(1).replace("&amp;", "&")
        assert back == f"/?q={quote('忘记密码')}&category=password#answer-{voted}"
    results = client.get(back.split("#")[0]).get_data(as_text=True)
    assert 'aria-current="true">密码</a>' in results
    assert re.search(rf'data-id="{voted}">\s*<details[^>]*>\s*<summary[^>]*>.*?</summary>\s*<div class="hit-body" id="answer-{voted}">',
                     results, re.S)
    # A vote refused (here: too many) leads back the same way; the question form carries the category too.
    client = app_factory(page_index, FAQ_RATE_FEEDBACK=1).test_client()
    client.post(action, data={"query": "忘记密码", "article_id": voted, "helpful": "true"})
    r = client.post(action, data={"query": "忘记密码", "article_id": voted, "helpful": "false"})
    assert r.status_code == 429
    assert f'href="/?q={quote("忘记密码")}&amp;category=password#answer-{voted}">返回答案</a>' in r.get_data(as_text=True)
    assert 'action="/question?category=password"' in html_of(client, "/", q="能用美元吗", category="password")


def test_the_fields_take_as_many_characters_as_the_server_outside_the_bmp_too(app_factory, page_index):
    # maxlength counts UTF-16 units: at maxlength=200 the box (and the question form) cut 200 emoji or rare
    # characters to 100, though the server, counting characters, takes 200 of them.
    client = app_factory(page_index, FAQ_MAX_QUERY_CHARS=20).test_client()
    astral = "😀𠮷" * 10
    html = html_of(client, "/", q="推荐一部好看的电影")
    fields = {name: re.search(rf'<(?:input|textarea) [^>]*(?:id|name)="{name}"[^>]*>', html).group(0)
              for name in ("q", "query", "contact")}
    for name, limit in (("q", 20), ("query", 20), ("contact", 100)):
        units = int(re.search(r'maxlength="(\d+)"', fields[name]).group(1))
        assert len((astral * (limit // 20)).encode("utf-16-le")) // 2 <= units, name
        assert re.search(rf'data-max-chars="{limit}"', fields[name]), name  # where search.js cuts
    # The server takes those 20, and says a 21st is too long, as before.
    assert "问题太长了" not in html_of(client, "/", q=astral)
    assert "问题太长了，请精简到 20 个字以内。" in html_of(client, "/", q=astral + "😀")
    assert client.post("/question", data={"query": astral}).status_code == 200
    assert client.post("/question", data={"query": astral + "😀"}).status_code == 400
