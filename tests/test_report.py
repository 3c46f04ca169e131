"""faq-search report: content gaps from the query log and the feedback store."""

import re
import sqlite3
import time
from html.parser import HTMLParser

import pytest

from faq_search.build import build_index
from faq_search.cli import main
from faq_search.feedback import FeedbackStore
from faq_search.querylog import FOLD_SECONDS
from faq_search.report import (build_report, normalize_query, parse_since, read_feedback, read_votes, render_html,
                                render_text, report_from_files)
from tests.conftest import TINY_ARTICLES, read_only_directory

DAY = 86400
# Noon UTC: the same calendar day in every time zone from UTC-11 to UTC+11.
T0 = 1_763_640_000.0  # 2025-11-20 12:00 UTC


def search(ts, query, confident, top_id=None, results=None):
    return {"ts": ts, "event": "search", "query": query, "confident": confident, "top_id": top_id,
            "results": results if results is not None else int(bool(top_id)), "index_version": "v1", "route": "/api/search"}


def view(ts, article_id):
    return {"ts": ts, "event": "view", "article_id": article_id, "query": None}


EVENTS = [
    *(search(T0 + i, "忘记密码怎么办", True, "pw-login") for i in range(5)),
    search(T0 + 10, "忘记密码怎么办？", True, "pw-login"),  # same question, other punctuation
    search(T0 + 11, "ＡＢＣ 忘记密码怎么办", True, "pw-login"),  # full width: same as "abc 忘记密码怎么办"
    search(T0 + DAY, "花呗怎么开通", False, None, results=0),
    search(T0 + DAY + 1, "花呗怎么开通", False, "pw-pay"),
    search(T0 + DAY + 2, "花呗怎么开通", False, "pw-pay"),
    search(T0 + 2 * DAY, "转账限额", False, "tr-wrong"),
    view(T0 + 3, "pw-login"),
    view(T0 + DAY + 3, "pw-pay"),
    search(T0 - 30 * DAY, "很久以前的问题", False),  # outside the window
    {"ts": T0, "event": "search"},  # no query: skipped
    {"ts": T0, "event": "other", "query": "x"},
]


def test_parse_since():
    assert parse_since("7d") == 7 * DAY and parse_since("24h") == DAY and parse_since("30m") == 1800
    assert parse_since("2w") == 14 * DAY and parse_since("1.5h") == 5400
    assert parse_since("3660d") == 3660 * DAY
    for too_long in ("3661d", "999999d", "99999999999999d"):  # a traceback (year -712) before
        with pytest.raises(ValueError, match="too long a period.*at most 3660d"):
            parse_since(too_long)
    for bad in ("", "7", "d", "-1d", "0d", "7y", "7 days"):
        with pytest.raises(ValueError):
            parse_since(bad)


def test_queries_are_grouped_by_normalized_text():
    assert normalize_query("忘记密码怎么办？") == normalize_query(" 忘记密码怎么办 ") == "忘记密码怎么办"
    assert normalize_query("ＡＢＣ  Def!") == "abc def"


def test_report_counts_top_queries_gaps_and_click_through():
    r = build_report(EVENTS, since=T0 - DAY, until=T0 + 3 * DAY)
    assert (r.searches, r.unanswered, r.views) == (11, 4, 2)
    assert r.click_through == pytest.approx(2 / 11)
    assert r.top_queries[0] == ("忘记密码怎么办", 6, 6)
    assert r.top_queries[1] == ("花呗怎么开通", 3, 0)
    assert r.top_unanswered == [("花呗怎么开通", 3, "pw-pay"), ("转账限额", 1, "tr-wrong")]
    labels = [p[0] for p in r.periods]
    assert len(labels) == 5 and labels == sorted(labels)  # quiet days are shown too
    assert [p[1:] for p in r.periods][1:4] == [(7, 0), (3, 3), (1, 1)]


def test_top_limits_rows_and_long_ranges_are_weekly():
    r = build_report(EVENTS, since=T0 - 90 * DAY, until=T0 + 3 * DAY, top=1)
    assert len(r.top_queries) == 1 and len(r.top_unanswered) == 1
    assert all("-W" in label for label, *_ in r.periods) and r.searches == 12


def make_feedback(path, rows):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE feedback(id INTEGER PRIMARY KEY, ts REAL NOT NULL, query TEXT NOT NULL, "
                 "article_id TEXT NOT NULL, helpful INTEGER NOT NULL)")
    conn.executemany("INSERT INTO feedback(ts, query, article_id, helpful) VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()


def test_read_feedback_ranks_articles_by_not_helpful_votes(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    make_feedback(path, [
        (T0, "q", "pw-pay", 0), (T0, "q", "pw-pay", 0), (T0, "q", "pw-pay", 1),
        (T0, "q", "tr-wrong", 0), (T0, "q", "wd-time", 1),
        (T0 - 30 * DAY, "q", "wd-time", 0),  # too old
    ])
    assert read_feedback(path, since=T0 - DAY) == [("pw-pay", 2, 1), ("tr-wrong", 1, 0)]
    assert read_feedback(tmp_path / "missing.sqlite3", since=0) is None
    (tmp_path / "empty.sqlite3").write_bytes(b"")
    assert read_feedback(tmp_path / "empty.sqlite3", since=0) is None  # no table yet


def test_a_store_that_cannot_be_read_is_said_and_a_read_only_directory_is_read(tiny_index, tmp_path, capsys):
    data = tmp_path / "data"
    store = FeedbackStore(data / "feedback.sqlite3")
    store.add_vote("忘记支付密码", "pw-pay", False)
    store.add_question("能用美元吗")  # the writer closes last: no -wal or -shm is left, as between votes
    report = ["report", "--since", "7d", "--data-dir", str(data), "--index", str(tiny_index)]
    with read_only_directory(data):  # a reader in the 0640 store's group, who may not write the directory
        assert main(report) == 0
    out, err = capsys.readouterr()
    assert re.search(r"1\. +1 +0  pw-pay", out) and "feedback store" not in err
    (data / "feedback.sqlite3").write_bytes(b"not a database " * 1000)
    assert main(report) == 0
    out, err = capsys.readouterr()
    assert f"warning: cannot read the feedback store {data / 'feedback.sqlite3'}: file is not a database" in err


def test_text_report_sections():
    r = build_report(EVENTS, since=T0 - DAY, until=T0 + 3 * DAY, feedback=[("pw-pay", 2, 1)],
                     titles={"pw-pay": "忘记支付密码怎么办？"})
    text = render_text(r)
    assert "searches 11 · without a confident answer 4 (36.4%) · article views 2 · click-through 18.2%" in text
    gaps = text.split("write these articles next")[1]
    assert re.search(r"1\. 花呗怎么开通 +3  pw-pay", gaps)
    assert re.search(r'1\. +2 +1  pw-pay  忘记支付密码怎么办？', text)
    assert "(no feedback store)" in render_text(build_report([], since=T0, until=T0 + DAY))


def test_a_long_query_is_cut_and_the_report_stays_within_120_columns():
    from faq_search.report import _width

    long = "我的账户" * 50  # 200 characters, 400 cells
    events = [search(T0, long, False, "tr-wrong"), search(T0 + 1, "提现多久", True, "wd-time"),
              search(T0 + 2, "x" * 150, False, "wd-time"), search(T0 + 3, "转账\x1b[2J清屏", False)]
    r = build_report(events, since=T0 - DAY, until=T0 + DAY, feedback=[("tr-wrong", 3, 0)],
                     titles={"tr-wrong": "转账" * 40, "wd-time": "提现多久到账？"})
    r.new_phrasings = [(long, "tr-wrong", 2, "wd-time")]
    text = render_text(r)
    assert max(_width(line) for line in text.splitlines()) <= 120
    rows = [line for line in text.split("write these articles next")[0].splitlines() if re.match(r" +\d\. ", line)]
    # CJK characters take two cells: 15 of them and the … take 31 of the 32-cell column, 31 x and the … 32.
    assert rows[0] == f"  1. {'x' * 31}…  {1:>6}  {0:>6.0%}"
    assert rows[1] == f"  2. {'我的账户' * 3}我的账…   {1:>6}  {0:>6.0%}"
    assert rows[2] == f"  3. 提现多久{' ' * 24}  {1:>6}  {1:>6.0%}"
    assert "\x1b" not in text and "转账\ufffd[2j清屏" in text  # no escape sequence reaches the terminal
    page = render_html(r)
    assert "\x1b" not in page and "<td>转账\ufffd[2j清屏</td>" in page  # shown as in the text
    assert "→ tr-wrong  转账转账" in text and "…    2  wd-time" in text  # the title cut, the counts kept


def test_queries_answered_by_another_article_are_phrasings_to_add(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    make_feedback(path, [
        (T0, "转账限额", "tr-limit", 1), (T0 + 1, "转账限额？", "tr-limit", 1),  # first was tr-wrong
        (T0, "转账限额", "tr-wrong", 0),                                        # not helpful: not a vote for it
        (T0, "花呗怎么开通", "pw-pay", 1),          # helpful, but pw-pay ranked first anyway
        (T0, "忘记密码怎么办", "pw-pay", 1),        # ranked pw-login first: a phrasing for pw-pay
        (T0, "没搜过的问题", "wd-time", 1),          # not in the log: nothing to compare with
        (T0 - 30 * DAY, "转账限额", "wd-time", 1),  # too old
    ])
    votes = read_votes(path, since=T0 - DAY)
    assert sorted(votes) == [("忘记密码怎么办", "pw-pay", 1), ("没搜过的问题", "wd-time", 1), ("花呗怎么开通", "pw-pay", 1),
                             ("转账限额", "tr-limit", 1), ("转账限额？", "tr-limit", 1)]
    assert read_votes(tmp_path / "missing.sqlite3", since=0) == []
    r = build_report(EVENTS, since=T0 - DAY, until=T0 + 3 * DAY, votes=votes, titles={"tr-limit": "转账限额是多少？"})
    assert r.new_phrasings == [("转账限额", "tr-limit", 2, "tr-wrong"), ("忘记密码怎么办", "pw-pay", 1, "pw-login")]
    # A query the article already has as a phrasing is not proposed again.
    r2 = build_report(EVENTS, since=T0 - DAY, until=T0 + 3 * DAY, votes=votes, phrasings={"pw-pay": {"忘记密码怎么办"}})
    assert [q for q, *_ in r2.new_phrasings] == ["转账限额"]
    text = render_text(r).split("add each query to that article's similar questions")[1]
    assert re.search(r"1\. 转账限额 +→ tr-limit  转账限额是多少？ +2  tr-wrong", text)
    assert "忘记密码怎么办" in render_html(r).split("phrasings to add")[1]


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]


def test_html_report_is_self_contained_with_a_chart_and_no_scripts():
    events = EVENTS + [search(T0 + 20, "<script>alert(1)</script>", False)]
    page = render_html(build_report(events, since=T0 - DAY, until=T0 + 3 * DAY, feedback=[]))
    parser = _Collect()
    parser.feed(page)
    assert "svg" in parser.tags and parser.tags.count("rect") >= 10
    assert "script" not in parser.tags and not any(a.startswith("on") for a in parser.attrs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)  # nothing fetched from elsewhere
    assert "花呗怎么开通" in page and "41.7%" in page  # 5 of 12 searches


def test_report_command_text_and_html(client, tmp_path, tiny_index, capsys):
    # The app writes the query log; the report reads it back.
    data = tmp_path / "data"
    for q in ("忘记登录密码了怎么办", "忘记登录密码了怎么办", "推荐一部电影", "推荐一部电影", "推荐一部电影"):
        client.get("/api/search", query_string={"q": q})
    client.get("/api/articles/pw-login?q=忘记登录密码了怎么办")
    make_feedback(data / "feedback.sqlite3", [(time.time(), "q", "pw-pay", 0)])
    html_path = tmp_path / "report.html"
    code = main(["report", "--since", "1d", "--data-dir", str(data), "--index", str(tiny_index), "--html", str(html_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "searches 5 · without a confident answer 3 (60.0%) · article views 1 · click-through 20.0%" in out
    assert re.search(r"1\. 推荐一部电影 +3", out.split("write these articles next")[1])
    assert "pw-pay  忘记支付密码怎么办？" in out  # titles come from the index
    # A reader of 提现几天到账 voted the payment-password article helpful: a phrasing to add to it.
    client.get("/api/search", query_string={"q": "提现几天到账"})
    client.post("/api/feedback", json={"query": "提现几天到账", "article_id": "pw-pay", "helpful": True})
    client.post("/api/feedback", json={"query": "提现几天到", "article_id": "pw-pay", "helpful": True},  # never searched
                environ_overrides={"REMOTE_ADDR": "10.0.0.2"})  # another visitor: counted
    assert main(["report", "--since", "1d", "--data-dir", str(data), "--index", str(tiny_index)]) == 0
    added = capsys.readouterr().out.split("add each query to that article's similar questions")[1]
    assert re.search(r"1\. 提现几天到账 +→ pw-pay  忘记支付密码怎么办？ +1  wd-time", added)
    assert "提现几天到 " not in added
    assert "<svg" in html_path.read_text("utf-8")


def test_searches_typed_on_the_way_to_a_longer_one_are_not_counted(tmp_path, capsys):
    from faq_search.querylog import QueryLog

    t = time.time() - 3600
    logged = [  # (seconds after t, query, confident, route), in the order the workers appended them
        # One visitor typing by IME on the search page: one search, not five.
        (0, "我的", False, "/api/search"), (1.5, "我的账户", False, "/api/search"), (3, "我的账户被", False, "/api/search"),
        (4, "我的", False, "/"),  # meanwhile another, without scripts: another route, counted
        (5.5, "我的账户被冻结", True, "/api/search"), (7, "我的账户被冻结了？", True, "/api/search"),
        (20, "提", False, "/api/search"), (22, "提现多久", True, "/api/search"),
        (21, "提现", True, "/api/search"),  # appended after a later search by another worker
        (60, "提现", True, "/api/search"),  # nothing extends it: settled on
        (70, "提现", True, "/api/search"), (72, "提现", True, "/api/search"),  # the same again: two searches
        (80, "转账限额", True, "/api/search"), (82, "转账", False, "/api/search"),  # shorter: another question
        (100, "密码", False, "/api/search"), (115, "密码忘了", True, "/api/search"),  # more than 10 s apart
    ]
    data = tmp_path / "data"
    for offset, query, confident, route in logged:
        QueryLog(data / "queries.jsonl", clock=lambda: t + offset).search(query, 1, "pw-login", confident, "v1", route)
    args = ["report", "--since", "1d", "--data-dir", str(data), "--index", str(tmp_path / "none")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "searches 10 (and 6 typed on the way to one, not counted) · without a confident answer 3 (30.0%)" in out
    top, gaps = out.split("Top queries (searches")[1].split("write these articles next")
    assert re.findall(r"\d+\. (\S+) +(\d+)", top) == [
        ("提现", "3"), ("密码", "1"), ("密码忘了", "1"), ("我的", "1"), ("我的账户被冻结了", "1"), ("提现多久", "1"),
        ("转账", "1"), ("转账限额", "1")]
    assert re.findall(r"\d+\. (\S+) +1  pw-login", gaps.split("Answered by another")[0]) == ["密码", "我的", "转账"]
    assert main([*args, "--fold-seconds", "0"]) == 0
    assert "searches 16 · without a confident answer 7 (43.8%)" in capsys.readouterr().out


def test_votes_and_searches_under_a_former_id_count_for_the_renamed_article(make_corpus, tmp_path, tiny_analyzer,
                                                                            capsys):
    from faq_search.querylog import QueryLog

    # wd-time renamed wd-arrival, keeping its old id in `aliases`.
    renamed = {**TINY_ARTICLES, "withdraw/arrival.md": {**TINY_ARTICLES["withdraw/arrival.md"], "id": "wd-arrival",
                                                         "aliases": ["wd-time"]}}
    build_index(make_corpus(renamed), tmp_path / "ix", analyzer=tiny_analyzer)
    data, t = tmp_path / "data", time.time() - 3600
    for offset, query, confident, top_id in [(0, "取钱多久", False, "wd-time"),  # logged before the rename
                                             (60, "提现要几天", True, "wd-arrival"), (120, "转账转错了", True, "tr-wrong")]:
        QueryLog(data / "queries.jsonl", clock=lambda: t + offset).search(query, 1, top_id, confident, "v1", "/api/search")
    make_feedback(data / "feedback.sqlite3", [
        (t, "提现要几天", "wd-time", 1), (t, "提现要几天", "wd-time", 1), (t, "提现要几天", "wd-time", 0),  # before
        (t, "取钱多久", "wd-arrival", 1),  # after: the article ranked first, under its former id in the log
        (t, "转账转错了", "wd-time", 1),  # another article than the first: a phrasing to add to wd-arrival
        (t, "q", "gone", 0),  # no article's id, no former one
    ])
    html_path = tmp_path / "r.html"
    assert main(["report", "--since", "1d", "--data-dir", str(data), "--index", str(tmp_path / "ix"),
                 "--html", str(html_path)]) == 0
    out, page = capsys.readouterr().out, html_path.read_text("utf-8")
    assert "wd-time" not in out and "wd-time" not in page
    gaps, added, voted, orphaned = re.split(r"add each query to that article's similar questions|"
                                            r'most "not helpful" votes|Votes for no article', out.split("write these")[1])
    assert re.search(r"1\. 取钱多久 +1  wd-arrival\n", gaps)
    assert re.findall(r"\d+\. .+", added) == ["1. 转账转错了  → wd-arrival  提现多久到账？    1  tr-wrong"]
    assert re.findall(r"\d+\. .+", voted) == ["1.     1     0  gone", "2.     1     4  wd-arrival  提现多久到账？"]
    assert re.findall(r"\d+\. .+", orphaned) == ["1.     0     1  gone"]
    assert "<td>转账转错了</td><td>wd-arrival 提现多久到账？</td><td class=\"n\">1</td>" in page
    assert "<td>wd-arrival</td><td>提现多久到账？</td><td class=\"n\">1</td><td class=\"n\">4</td>" in page


def test_report_command_rejects_a_bad_since(capsys):
    assert main(["report", "--since", "yesterday"]) == 2
    assert "not a duration" in capsys.readouterr().err


def write_log(path, events):
    """A query log file of ``events`` in the given (append) order, gzip-compressed for a .gz name."""
    import gzip
    import json

    text = "".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in events).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text) if path.name.endswith(".gz") else text)


def test_a_streamed_report_over_rotated_files_matches_the_settled_searches_definition(tmp_path):
    import dataclasses
    import random

    rng = random.Random(5)
    words = ["我的账户", "被冻结了", "提现", "多久到账", "转账", "限额", "忘记", "密码"]
    logged, t = [], T0
    while t < T0 + 2 * DAY:
        t += rng.expovariate(1 / 120)
        route = rng.choice(["/api/search", "/api/search", "/"])
        query = "".join(rng.sample(words, rng.randint(1, 3)))
        typed = [query[:k] for k in range(1, len(query))] if rng.random() < 0.4 else []  # as-you-type
        for i, q in enumerate([*typed, query, *([query] * rng.randint(0, 1))]):
            q = q + "？" if rng.random() < 0.1 else q  # a spelling normalize_query groups
            ts = t + i * rng.choice([0, 0.5, 3, 12])  # ties, steps inside the fold window and beyond it
            logged.append(search(ts, q, rng.random() < 0.6, rng.choice(["pw-login", "pw-pay", "tr-wrong", None]), 1))
            logged[-1]["route"] = route
        if rng.random() < 0.3:
            logged.append(view(t + 1, "pw-pay"))
    # Two workers append in about time order: a few seconds out.
    order = sorted(range(len(logged)), key=lambda i: logged[i]["ts"] + rng.uniform(0, 5))
    logged = [logged[i] for i in order]
    since, until = T0 + 3600, T0 + 2 * DAY - 3600  # events before and after the period too
    data = tmp_path / "data"
    half = len(logged) // 2
    write_log(data / "queries.jsonl.1.gz", logged[:half])  # logrotate's compressed older part
    write_log(data / "queries.jsonl", logged[half:])
    make_feedback(data / "feedback.sqlite3", [(T0 + DAY, q, a, 1) for q, a in
                                              [("转账限额", "tr-wrong"), ("忘记密码", "pw-pay"), ("提现多久到账", "pw-login")]])

    # The definition, on the whole list at once: a search is left out when a later one (in time, then
    # in append order) on the same route at most FOLD_SECONDS after it extends its query.
    kept = [(e["ts"], i, e) for i, e in enumerate(logged) if since <= e["ts"] <= until and e["event"] == "search"]
    kept.sort(key=lambda s: s[:2])
    settled = []
    for i, (ts, _, e) in enumerate(kept):
        q, extended = normalize_query(e["query"]), False
        for t2, _, f in kept[i + 1:]:
            if t2 - ts > FOLD_SECONDS:
                break
            q2 = normalize_query(f["query"])
            extended |= f["route"] == e["route"] and len(q2) > len(q) and q2.startswith(q)
        if not extended:
            settled.append(e)
    assert 100 < len(settled) < len(kept) - 100  # many folded, many kept
    views = [e for e in logged if e["event"] == "view"]
    expected = build_report(settled + views, since, until, fold_seconds=0, top=50,
                            votes=read_votes(data / "feedback.sqlite3", since),
                            feedback=read_feedback(data / "feedback.sqlite3", since))
    expected.prefixes = len(kept) - len(settled)
    assert len(expected.new_phrasings) >= 2
    streamed = report_from_files(data, None, since, until, top=50)
    assert dataclasses.asdict(streamed) == {**dataclasses.asdict(expected), "log_start": logged[0]["ts"],
                                            "log_files": [data / "queries.jsonl.1.gz", data / "queries.jsonl"]}


def test_the_report_reads_the_rotated_logs_and_says_when_the_log_starts_late(tmp_path, capsys):
    data, now = tmp_path / "data", time.time()
    rotated = {  # as logrotate names them, with and without dateext, oldest first
        "queries.jsonl-20240101.gz": [search(now - 60 * DAY, "很久以前的问题", False)],  # before the period: not read
        "queries.jsonl.3.gz": [search(now - 20 * DAY, "转账限额", False, "tr-wrong")],
        "queries.jsonl.2": [search(now - 10 * DAY, "转账限额", True, "tr-wrong")],
        "queries.jsonl.1": [search(now - 2 * DAY, "提现", False, "wd-time")],  # typed on the way to the next
        "queries.jsonl": [search(now - 2 * DAY + 2, "提现多久", True, "wd-time"), view(now - 60, "wd-time")],
        "queries.jsonl.bak": [search(now - DAY, "操作员的备份", True)],  # not logrotate's: not read
    }
    for name, events in rotated.items():
        write_log(data / name, events)
    (data / "queries.jsonl.4.gz").write_bytes(b"not gzip")
    html_path = tmp_path / "r.html"
    assert main(["report", "--since", "30d", "--data-dir", str(data), "--index", str(tmp_path / "none"),
                 "--html", str(html_path)]) == 0
    out, err = capsys.readouterr()
    assert "searches 3 (and 1 typed on the way to one, not counted) · without a confident answer 1" in out
    assert "1. 转账限额" in out and "提现多久" in out and "很久以前" not in out and "备份" not in out
    assert f"warning: query log not read to its end, its events after that are missing: {data / 'queries.jsonl.4.gz'}" in err
    assert "note:" not in out and "note:" not in html_path.read_text("utf-8")

    # The older copies deleted: the period's first 28 days are not in the log, and the report says so.
    for name in ("queries.jsonl-20240101.gz", "queries.jsonl.3.gz", "queries.jsonl.2", "queries.jsonl.4.gz"):
        (data / name).unlink()
    assert main(["report", "--since", "30d", "--data-dir", str(data), "--index", str(tmp_path / "none"),
                 "--html", str(html_path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\nnote: the query log starts \d{4}-\d\d-\d\d \d\d:\d\d UTC\S*, after the start of the period", out)
    assert "note: the query log starts" in html_path.read_text("utf-8")
    assert main(["report", "--since", "50h", "--data-dir", str(data), "--index", str(tmp_path / "none")]) == 0
    assert "note:" not in capsys.readouterr().out  # it starts within the period's first tenth


def test_memory_grows_with_the_distinct_queries_not_with_the_log():
    import tracemalloc

    def events(n):  # a day's worth of 40 questions asked again and again, as a log is read: one at a time
        for i in range(n):
            yield search(T0 + i * DAY / n, f"问题{chr(0x4e00 + i % 40)}", i % 3 == 0, "pw-pay")

    tracemalloc.start()
    try:
        peaks = []
        for n in (500, 5_000):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            r = build_report(events(n), since=T0, until=T0 + DAY)
            peaks.append(tracemalloc.get_traced_memory()[1] - before)
            assert r.searches == n
    finally:
        tracemalloc.stop()
    assert peaks[1] < 1.5 * peaks[0], peaks  # ten times the events, about the same memory



def test_the_period_is_shown_with_its_zone(monkeypatch):
    r = build_report([], since=T0, until=T0 + DAY)
    try:
        for zone, shown in (("Asia/Shanghai", "2025-11-20 20:00 UTC+8 → 2025-11-21 20:00 UTC+8"),
                            ("UTC", "2025-11-20 12:00 UTC → 2025-11-21 12:00 UTC")):
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            assert render_text(r).startswith(f"faq-search report {shown}\n")
            assert f"<p>{shown}</p>" in render_html(r)
    finally:
        monkeypatch.undo()
        time.tzset()  # the other tests' zone again
