"""The answer's Markdown: the inline subset every reader shows, and what the builder warns is shown as typed."""

import re

import pytest

from faq_search.answer_markdown import Run, inline_runs, plain_text, searchable, unsupported


@pytest.mark.parametrize("line, runs", [
    ("**重要提示**：请在[安全中心](https://help.yiqianbao.com/security)操作。",
     [Run("重要提示", True), Run("：请在"), Run("安全中心", url="https://help.yiqianbao.com/security"), Run("操作。")]),
    ("先__确认__再付", [Run("先"), Run("确认", True), Run("再付")]),
    ("**在[这里](http://a.cn/x?y=1&z=2)改**", [Run("在", True), Run("这里", True, "http://a.cn/x?y=1&z=2"), Run("改", True)]),
    ("[a [b] c](https://x.cn)", [Run("a [b] c", url="https://x.cn")]),  # one level of brackets in the text
    ("[\"<i>\"](https://x.cn/\"><b>)", [Run("\"<i>\"", url="https://x.cn/\"><b>")]),  # text and address as typed
])
def test_bold_and_web_links_are_read(line, runs):
    assert inline_runs(line) == runs


@pytest.mark.parametrize("line", [
    "[x](javascript:alert(1))", "[x](JavaScript:alert(1))", "[x](data:text/html,<script>alert(1)</script>)",
    "[x]( https://a.cn)", "[x](//evil.cn)", "[x](tel:4006608888)", "[x](https://a.cn/a b)",
    "** 不是粗体 **", "**没有合上", "__init__value", "a__b__c", "<b>x</b>", "| a | b |", "",
])
def test_anything_else_stays_text(line):
    assert inline_runs(line) == [Run(line)] and plain_text(line) == line


OURS = ("help.yiqianbao.com",)


@pytest.mark.parametrize("line, runs", [
    ("用浏览器打开 help.yiqianbao.com，点击「在线客服」",
     [Run("用浏览器打开 "), Run("help.yiqianbao.com", url="https://help.yiqianbao.com"), Run("，点击「在线客服」")]),
    ("官网 Help.YiQianBao.com/download?from=faq. 下载", [Run("官网 "), Run(
        "Help.YiQianBao.com/download?from=faq", url="https://Help.YiQianBao.com/download?from=faq"), Run(". 下载")]),
    ("见http://help.yiqianbao.com/a。", [Run("见"), Run("http://help.yiqianbao.com/a", url="http://help.yiqianbao.com/a"),
                                       Run("。")]),
    ("**认准 help.yiqianbao.com**", [Run("认准 ", True), Run("help.yiqianbao.com", True, "https://help.yiqianbao.com")]),
    # A link keeps its own address; the e-mail's domain is not the site.
    ("[官网](https://help.yiqianbao.com/x) support@yiqianbao.com",
     [Run("官网", url="https://help.yiqianbao.com/x"), Run(" support@yiqianbao.com")]),
])
def test_our_sites_written_bare_are_links(line, runs):
    assert inline_runs(line, OURS) == runs
    assert inline_runs(line) == inline_runs(line, ())  # no sites given: as before


@pytest.mark.parametrize("line", [
    # Look-alikes a scam warning quotes must never become clickable, nor any other bare address.
    "不要打开 help-yiqianbao.com", "不要打开 help.yiqianbao.com.cn", "不要打开 help.yiqianbao.community",
    "不要打开 x.help.yiqianbao.com", "不要打开 evil.cn/help.yiqianbao.com", "https://evil.cn/?r=help.yiqianbao.com",
    "假冒 yiqianbao-help.com 和 https://evil.cn", "help.yiqianbao.co", "support@help.yiqianbao.com",
])
def test_no_other_bare_address_is_a_link(line):
    assert inline_runs(line, OURS) == [Run(line)]


def test_plain_text_keeps_a_links_address():
    assert plain_text("**注意**：见[帮助](https://a.cn/h)或[https://a.cn](https://a.cn)") == \
        "注意：见帮助 https://a.cn/h 或 https://a.cn"


@pytest.mark.parametrize("line", [
    "请在[安全中心](https://help.yiqianbao.com/security)操作。", "（详见[帮助](https://a.cn/h?x=1&y=2)）",
    "访问[https://a.cn/p](https://a.cn/p)查看", "[入口](https://a.cn/x)，或**[客服](https://a.cn/kf)**", "[a](https://a.cn)[b](https://b.cn)",
    "见[帮助 ](https://a.cn/h) 或 [https://a.cn](https://a.cn)", "[https://a.cn](https://a.cn)",
])
def test_plain_text_sets_each_address_apart_so_a_pasted_link_works(line):
    # Pasted into a chat, "text (URL)操作。" links to "URL)操作。" (linkifyjs, Slack-like \S+ matchers), and
    # "访问https://…" to nothing (markdown-it's linkify-it wants no letter before the scheme).
    text = plain_text(line)
    urls = [r.url for r in inline_runs(line) if r.url]
    assert re.findall(r"(?:^|(?<=\s))https?://\S+", text) == urls, text
    assert "(" not in text.replace("（", "") and "  " not in text  # readable: no brackets nor double spaces


def test_markdown_shown_as_typed_is_named_at_its_line():
    answer = "\n".join([
        "说明", "| 项目 | 费用 |", "|---|---|", "| 提现 | 0.1% |",  # one table: one warning, at its first row
        "## 提现", "```", "| in code |", "<b>", "```", "![图](https://a.cn/x.png)",
        "见 <br> 下面", "[x](javascript:alert(1))", "[电话](tel:400)", "[帮助](https://a.cn/帮 助)", "[ok](https://a.cn)",
    ])
    assert [(line, message.split(" is shown")[0]) for line, message in unsupported(answer)] == [
        (1, "a Markdown table"), (4, "a Markdown heading ('#')"), (5, "a code block ('```')"),
        (9, "an image ('![…](…)')"), (10, "an HTML tag ('<br>')"), (11, "a link to 'javascript:'"),
        (12, "a link to 'tel:'"), (13, "a link whose address holds a space or a parenthesis"),
    ]
    assert unsupported("1. 打开 App\n2. 点 **设置**，见[帮助](https://a.cn)\n- 一 | 二\n#话题 不是标题") == []


def test_search_reads_an_answer_as_shown_not_its_link_addresses(make_corpus, tmp_path, tiny_analyzer):
    from copy import deepcopy

    from faq_search import Searcher
    from faq_search.build import build_index
    from tests.conftest import TINY_ARTICLES

    articles = deepcopy(TINY_ARTICLES)
    articles["password/forgot-pay.md"]["answer"] = ("**重要**：请在[安全中心](https://help.example.com/security/wallet)"
                                                    "重置支付密码。")
    build_index(make_corpus(articles), tmp_path / "index", analyzer=tiny_analyzer)
    searcher = Searcher.load(tmp_path / "index", analyzer=tiny_analyzer)
    assert searcher.search("wallet security", k=3) == []  # words of the address only
    hit = next(h for h in searcher.search("支付密码 安全中心 wallet", k=3) if h.id == "pw-pay")
    assert "安全中心" in "".join(hit.answer_terms) and "wallet" not in "".join(hit.answer_terms)
    assert searchable("[安全中心](https://a.example/x) **重要**") == "安全中心 重要"
    assert searchable("没有标记的答案") == "没有标记的答案"
