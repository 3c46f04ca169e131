import json
import logging
import os
import shutil

import pytest

from faq_search.build import build_index
from tests.conftest import TINY_ARTICLES, assert_error
from tests.test_observability import request_lines


def test_search_returns_ranked_results(client):
    r = client.get("/api/search", query_string={"q": "忘记登录密码了怎么办"})
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == {"query", "results", "other_product", "other_product_ask", "took_ms", "index_version"}
    assert body["query"] == "忘记登录密码了怎么办"
    first = body["results"][0]
    assert first["id"] == "pw-login"
    assert set(first) >= {"id", "question", "answer", "category", "tags", "score", "matched"}
    assert isinstance(body["took_ms"], float) and body["other_product"] is None and body["other_product_ask"] is None


def test_search_k_and_category(client):
    body = client.get("/api/search?q=密码&k=1&category=password").get_json()
    assert len(body["results"]) == 1 and body["results"][0]["category"] == "password"


def test_a_number_left_out_is_never_more_than_one_may_ask_for(client):
    from faq_search.web.api import _int_arg

    # /api/search's k defaults to 10 and /api/popular's to 8: neither may pass the maximum it is checked against.
    with client.application.test_request_context("/api/search?q=密码"):
        assert _int_arg("k", 10, 1, 5) == 5 and _int_arg("k", 3, 1, 5) == 3
    with client.application.test_request_context("/api/search?q=密码&k=5"):
        assert _int_arg("k", 10, 1, 5) == 5


def test_a_number_left_out_is_read_without_a_failed_lookup(client, monkeypatch):
    from werkzeug.exceptions import BadRequestKeyError

    from faq_search.web.api import _int_arg

    # MultiDict.get finds a parameter missing by raising and catching BadRequestKeyError (≈ 5 µs): every
    # search without k paid it.
    raised = []
    with client.application.test_request_context("/api/search?q=密码"):
        monkeypatch.setattr(BadRequestKeyError, "__init__", lambda self, *args, **kwargs: raised.append(args))
        assert _int_arg("k", 10, 1, 50) == 10
    assert raised == []


def test_json_is_utf8_not_escaped(client):
    assert "忘记登录密码".encode() in client.get("/api/search?q=忘记登录密码").data


@pytest.mark.parametrize(
    "url, status, code",
    [
        ("/api/search", 400, "missing_query"),
        ("/api/search?q=", 400, "missing_query"),
        ("/api/search?q=%20%20", 400, "missing_query"),
        ("/api/search?q=" + "密" * 201, 400, "query_too_long"),
        ("/api/search?q=密码&k=abc", 400, "invalid_k"),
        ("/api/search?q=密码&k=0", 400, "invalid_k"),
        ("/api/search?q=密码&k=51", 400, "invalid_k"),
        ("/api/search?q=密码&k=-3", 400, "invalid_k"),
        ("/api/search?q=密码&category=nope", 400, "unknown_category"),
        ("/api/search?q=%FF%FE", 400, "invalid_encoding"),
        # Only invisible characters (zero-width space, BOM, a direction mark, NUL): blank
        ("/api/search?q=%E2%80%8B%EF%BB%BF%E2%80%AE", 400, "missing_query"),
        ("/api/search?q=%00%01", 400, "missing_query"),
        # Integers are ASCII digits: not " 5", "+5", "1_0" or other scripts' digits
        ("/api/search?q=密码&k=%205", 400, "invalid_k"),
        ("/api/search?q=密码&k=%2B5", 400, "invalid_k"),
        ("/api/search?q=密码&k=1_0", 400, "invalid_k"),
        ("/api/search?q=密码&k=%EF%BC%95", 400, "invalid_k"),
        ("/api/search?q=密码&k=%D9%A5", 400, "invalid_k"),
        ("/api/articles?limit=%EF%BC%95", 400, "invalid_limit"),
        # An empty value is a value, not an absent parameter: what a client built wrongly sends
        ("/api/search?q=密码&k=", 400, "invalid_k"),
        ("/api/suggest?q=mm&k=", 400, "invalid_k"),
        ("/api/popular?k=", 400, "invalid_k"),
        ("/api/articles?limit=", 400, "invalid_limit"),
        ("/api/articles//pw-login", 404, "not_found"),  # not a redirect built from the Host header
        ("/api//search?q=密码", 404, "not_found"),
        ("/api/articles/nope", 404, "article_not_found"),
        ("/no/such/route", 404, "not_found"),
    ],
)
def test_bad_requests_get_json_errors(client, url, status, code):
    assert_error(client.get(url), status, code)


def test_the_length_limit_counts_what_is_searched_not_surrounding_spaces(client):
    assert client.get("/api/search", query_string={"q": " " + "密" * 200 + " "}).status_code == 200
    assert_error(client.get("/api/search", query_string={"q": " " + "密" * 201}), 400, "query_too_long")


def test_bodies_must_be_utf8_json(client):
    body = {"query": "能用美元付款吗"}
    assert client.post("/api/question", json=body).status_code == 201
    for raw, content_type in [(json.dumps(body).encode("utf-16"), "application/json"),
                              (b"\xef\xbb\xbf" + json.dumps(body).encode(), "application/json")]:
        assert_error(client.post("/api/question", data=raw, content_type=content_type), 400, "invalid_json")
    assert_error(client.post("/api/question", data=json.dumps(body).encode(), content_type="application/json; charset=latin-1"),
                 415, "unsupported_media_type")
    assert client.post("/api/question", data=json.dumps(body).encode(),
                       content_type="application/json; charset=UTF-8").status_code == 201


def test_left_questions_and_votes_are_measured_after_trimming(client):
    padded = "  " + "问" * 200 + "  "
    assert client.post("/api/question", json={"query": padded}).status_code == 201
    assert_error(client.post("/api/question", json={"query": "\u200b\ufeff"}), 400, "missing_query")
    assert client.post("/api/feedback", json={"query": padded, "article_id": "pw-login", "helpful": True}).status_code == 201


def test_a_left_question_must_hold_a_word(client):
    # The editors read them: ？？？！！！ or an emoji alone was stored as a question.
    for junk in ("？？？！！！", "😀", "!!! ..."):
        assert_error(client.post("/api/question", json={"query": junk}), 400, "missing_query")
    for question in ("提现😀", "2000", "hello?"):
        assert client.post("/api/question", json={"query": question}).status_code == 201


def test_wrong_method_is_405_json(client):
    r = client.post("/api/search?q=密码")
    assert_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]


def test_options_answers_allow_without_a_body(client):
    for path, method in [("/api/search", "GET"), ("/api/feedback", "POST"), ("/", "GET")]:
        r = client.options(path)
        assert r.status_code == 204 and r.data == b"" and "Content-Type" not in r.headers
        assert method in r.headers["Allow"] and "OPTIONS" in r.headers["Allow"]
    assert_error(client.options("/no/such/route"), 404, "not_found")


def test_a_path_starting_with_two_slashes_is_not_found(client, caplog):
    caplog.set_level(logging.INFO, logger="faq_search.requests")
    # What gunicorn passes for "GET //api/search" (the test client would read "//api" as a host).
    for path in ("//api/search", "//healthz", "//agent", "///", "//static/common.js"):
        assert_error(client.get("/", query_string={"q": "密码"}, environ_overrides={"PATH_INFO": path}), 404, "not_found")
    assert {line["route"] for line in request_lines(caplog)} == {"unmatched"}  # not counted as /api/search
    assert client.get("/", query_string={"q": "密码"}, environ_overrides={"PATH_INFO": "/api/search"}).status_code == 200


def test_article_with_related(client):
    body = client.get("/api/articles/pw-login").get_json()
    assert body["question"] == "忘记登录密码怎么办？"
    assert body["related"] == [{"id": "pw-pay", "question": "忘记支付密码怎么办？", "category": "password"}]
    assert "source" not in body


def test_categories_with_counts(client):
    body = client.get("/api/categories").get_json()
    assert body["categories"][0] == {"id": "password", "name": "密码", "count": 2}


def test_healthz(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["articles"] == 4 and body["index_version"]


def assert_damaged_when_written_over_in_place(client, tiny_index, caplog, monkeypatch, version, path):
    """``path``, a file the served ``version`` maps, grown in place (cp, scp -r or rsync --inplace over it; a
    file cut short would crash the test's process): /healthz says 503 damaged, logged once, at the next look
    (once a second at most); set back, ok again; replaced by a rename (rsync, mv), no harm."""
    from faq_search.web import api

    size = path.stat().st_size
    with open(path, "ab") as f:
        f.write(b"x")
    try:
        monkeypatch.setattr(api, "DAMAGE_CHECK_SECONDS", 3600)
        assert client.get("/healthz").status_code == 200
        monkeypatch.setattr(api, "DAMAGE_CHECK_SECONDS", 0)
        # A scrape sees it too (an alert need not probe /healthz), and leaves the log to /healthz.
        assert "faq_index_damaged 1.0" in client.get("/metrics").get_data(as_text=True)
        for _ in range(2):
            r = client.get("/healthz")
            assert r.status_code == 503 and r.get_json()["status"] == "damaged" and r.get_json()["index_version"] == version
            assert str(tiny_index) not in r.get_data(as_text=True)
        assert caplog.text.count(f"index version {version} was written over while served ({path} changed size") == 1
    finally:
        os.truncate(path, size)
    assert client.get("/healthz").get_json()["status"] == "ok"
    assert "faq_index_damaged 0.0" in client.get("/metrics").get_data(as_text=True)
    replacement = path.with_name("new-" + path.name)
    shutil.copy(path, replacement)
    with open(replacement, "ab") as f:
        f.write(b"x")
    os.replace(replacement, path)
    assert client.get("/healthz").status_code == 200


def test_healthz_says_when_the_served_version_is_written_over_in_place(client, tiny_index, caplog, monkeypatch):
    from faq_search.web import api

    # Looked at every second at most: /healthz is the benchmarks' trivial endpoint, a probe every ms under load.
    calls = []
    monkeypatch.setattr(api, "changed_in_place", lambda data: calls.append(data) or None)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert len(calls) == 1
    monkeypatch.undo()
    # Its mapped files change size under the workers, whose searches then die of SIGBUS.
    version = client.get("/healthz").get_json()["index_version"]
    rows = tiny_index / "versions" / version / "rows.txt"
    assert_damaged_when_written_over_in_place(client, tiny_index, caplog, monkeypatch, version, rows)


def test_healthz_says_when_the_served_versions_completions_are_written_over_in_place(client, tiny_index, caplog,
                                                                                    monkeypatch):
    from faq_search.completions import completions_dir

    # The type-ahead arrays are memory-mapped too: written over, suggestions kill the workers as searches do.
    version = client.get("/healthz").get_json()["index_version"]
    arrays = sorted(completions_dir(tiny_index, version).glob("*.npy"))
    assert arrays and client.get("/api/suggest", query_string={"q": "密码"}).status_code == 200
    assert_damaged_when_written_over_in_place(client, tiny_index, caplog, monkeypatch, version, arrays[0])


def test_no_index_gives_503_json_and_recovers(app_factory, tmp_path, make_corpus, tiny_analyzer):
    out = tmp_path / "later"
    client = app_factory(out).test_client()
    r = client.get("/api/search?q=密码")
    assert_error(r, 503, "index_unavailable")
    health = client.get("/healthz")
    assert health.status_code == 503
    # The reason names the index directory: for the log, not for every client.
    assert str(tmp_path) not in r.get_data(as_text=True) and str(tmp_path) not in health.get_data(as_text=True)
    # Pages say so with a 503 too, so that a balancer moves visitors to a replica that has an index.
    assert client.get("/?q=密码").status_code == 503 and client.get("/agent").status_code == 503
    build_index(make_corpus(), out, analyzer=tiny_analyzer)
    assert client.get("/api/search?q=密码").status_code == 200
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_server_swaps_to_a_newly_published_index(app_factory, make_corpus, tmp_path, tiny_analyzer):
    out = tmp_path / "ix"
    build_index(make_corpus(), out, analyzer=tiny_analyzer)
    client = app_factory(out).test_client()
    v1 = client.get("/healthz").get_json()["index_version"]
    extra = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心选择商品兑换。"}
    build_index(make_corpus({**TINY_ARTICLES, "password/points.md": extra}, name="v2"), out, analyzer=tiny_analyzer)
    health = client.get("/healthz").get_json()
    assert health["index_version"] != v1 and health["articles"] == 5
    assert client.get("/api/search?q=积分兑换").get_json()["results"][0]["id"] == "pts"


def test_a_corrupt_new_version_keeps_the_old_one_serving(app_factory, make_corpus, tmp_path, tiny_analyzer):
    out = tmp_path / "ix"
    build_index(make_corpus(), out, analyzer=tiny_analyzer)
    client = app_factory(out).test_client()
    v1 = client.get("/healthz").get_json()["index_version"]
    # Another corpus: an unchanged one would publish nothing.
    edited = {**TINY_ARTICLES["withdraw/arrival.md"], "answer": "提现两小时内到账。"}
    result = build_index(make_corpus({**TINY_ARTICLES, "withdraw/arrival.md": edited}, name="v2"), out,
                         analyzer=tiny_analyzer)
    assert result.version != v1
    (result.path / "vocab.json").write_text("{}", "utf-8")  # checksum no longer matches
    assert client.get("/healthz").get_json()["index_version"] == v1
    assert client.get("/api/search?q=密码").status_code == 200


def test_search_by_tag_with_related_and_why(client):
    body = client.get("/api/search", query_string={"q": "忘记密码", "tag": "支付"}).get_json()
    assert [r["id"] for r in body["results"]] == ["pw-pay"]
    first = client.get("/api/search", query_string={"q": "忘记登录密码"}).get_json()["results"][0]
    assert first["related"] == [{"id": "pw-pay", "question": "忘记支付密码怎么办？", "category": "password"}]
    found = {*first["matched_terms"], *first["answer_terms"], *(s["query"] for s in first["synonyms"])}
    assert set(first["term_weights"]) == found and first["updated"]
    assert_error(client.get("/api/search", query_string={"q": "密码", "tag": "nope"}), 400, "unknown_tag")


def test_tags_with_counts(client):
    assert client.get("/api/tags").get_json()["tags"][0] == {"name": "密码", "count": 2}
    assert [t["name"] for t in client.get("/api/tags?category=withdraw").get_json()["tags"]] == ["提现"]
    assert_error(client.get("/api/tags?category=nope"), 400, "unknown_category")


def test_search_names_the_other_product_a_question_is_about(app_factory, make_corpus, tmp_path, tiny_analyzer):
    root = make_corpus()
    (root / "scope.yml").write_text("ours: [易钱包]\nothers: [支付宝]\nask:\n  发卡银行: [信用卡分期]\n", "utf-8")
    build_index(root, tmp_path / "ix", analyzer=tiny_analyzer)
    client = app_factory(tmp_path / "ix").test_client()
    body = client.get("/api/search", query_string={"q": "支付宝的钱转错人了"}).get_json()
    assert body["other_product"] == "支付宝" and body["other_product_ask"] is None  # its own customer service
    assert body["results"][0]["id"] == "tr-wrong" and not body["results"][0]["confident"]
    # Another's business asked in our words: whom to ask instead.
    body = client.get("/api/search", query_string={"q": "信用卡分期的钱转错人了"}).get_json()
    assert (body["other_product"], body["other_product_ask"]) == ("信用卡分期", "发卡银行")
    assert body["results"][0]["id"] == "tr-wrong" and not body["results"][0]["confident"]
    body = client.get("/api/search", query_string={"q": "钱转错人了"}).get_json()
    assert body["other_product"] is None and body["results"][0]["confident"]


def test_popular_is_votes_then_the_curated_list(app_factory, make_corpus, tmp_path, tiny_analyzer):
    root = make_corpus()
    (root / "popular.yml").write_text("- wd-time\n- pw-login\n", "utf-8")
    build_index(root, tmp_path / "ix", analyzer=tiny_analyzer)
    client = app_factory(tmp_path / "ix", FAQ_POPULAR_MIN_VOTES=2).test_client()
    ids = lambda: [(q["id"], q["source"]) for q in client.get("/api/popular").get_json()["questions"]]
    assert ids() == [("wd-time", "curated"), ("pw-login", "curated")]
    voters = iter(range(1, 100))  # each vote from another visitor: one counts once per article
    vote = lambda aid, *helpful: [client.post("/api/feedback", json={"query": "", "article_id": aid, "helpful": h},
                                              environ_overrides={"REMOTE_ADDR": f"10.0.0.{next(voters)}"})
                                  for h in helpful]
    vote("tr-wrong", True)
    assert ids() == [("wd-time", "curated"), ("pw-login", "curated")]  # one vote is not popularity
    vote("pw-login", True, True, True, False)
    vote("tr-wrong", True)
    vote("pw-pay", True, True, False, False)  # as many "not helpful": not popular
    assert ids() == [("pw-login", "votes"), ("tr-wrong", "votes"), ("wd-time", "curated")]
    assert [q["id"] for q in client.get("/api/popular?k=1").get_json()["questions"]] == ["pw-login"]
    assert_error(client.get("/api/popular?k=0"), 400, "invalid_k")


def test_browse_articles_by_category_and_tag(client):
    body = client.get("/api/articles?category=password").get_json()
    assert [a["id"] for a in body["articles"]] == ["pw-login", "pw-pay"] and body["total"] == 2
    assert set(body["articles"][0]) == {"id", "question", "category", "tags", "updated"}
    assert [a["id"] for a in client.get("/api/articles?tag=支付").get_json()["articles"]] == ["pw-pay"]
    assert client.get("/api/articles?limit=1").get_json()["total"] == 4
    assert len(client.get("/api/articles?limit=1").get_json()["articles"]) == 1
    assert_error(client.get("/api/articles?tag=nope"), 400, "unknown_tag")
    assert_error(client.get("/api/articles?category=nope"), 400, "unknown_category")
    assert_error(client.get("/api/articles?limit=0"), 400, "invalid_limit")
    # Past the first page: the same order, from an offset; the total stays that of the whole list.
    every = [a["id"] for a in client.get("/api/articles").get_json()["articles"]]
    page = client.get("/api/articles?limit=2&offset=1").get_json()
    assert [a["id"] for a in page["articles"]] == every[1:3] and page["total"] == 4
    assert client.get("/api/articles?category=password&offset=1").get_json()["articles"][0]["id"] == "pw-pay"
    assert client.get("/api/articles?offset=4").get_json() | {"index_version": None} == {
        "articles": [], "total": 4, "index_version": None}
    for bad in ("-1", "", "x", "1.5", "1000000000"):
        assert_error(client.get(f"/api/articles?offset={bad}"), 400, "invalid_offset")


def test_search_results_are_the_hits_with_their_related_articles(app_factory, tiny_index):
    from tests.test_payloads import expected

    client = app_factory(tiny_index).test_client()
    s = client.application.extensions["faq_live"].get()
    for q, k in (("密码", 10), ("忘记登录密码了怎么办", 2), ("提现多久", 10), ("密码", 10)):  # the last one: cached parts
        body = client.get("/api/search", query_string={"q": q, "k": k}).get_json()
        assert body["results"] == [expected(s, h) for h in s.search(q, k=k)]
        assert body["results"][0]["related"] == [] or "question" in body["results"][0]["related"][0]


@pytest.mark.parametrize("cache, searches", [(2, 4), (0, 5)])
def test_repeated_searches_come_from_the_cache_and_are_still_logged(app_factory, tiny_index, tmp_path, monkeypatch,
                                                                    cache, searches):
    from faq_search.querylog import read_events

    app = app_factory(tiny_index, FAQ_SEARCH_CACHE=cache, FAQ_DATA_DIR=tmp_path / "d")
    client = app.test_client()
    s = app.extensions["faq_live"].get()
    calls = []
    real = s.search
    monkeypatch.setattr(s, "search", lambda *a, **kw: calls.append(a) or real(*a, **kw))
    urls = ["/api/search?q=密码", "/api/search?q=密码", "/api/search?q=密码&k=1", "/api/search?q=提现",
            "/api/search?q=密码"]  # with 2 entries, 密码 (k=10) was pushed out by the two after it
    bodies = [client.get(u).get_json() for u in urls]
    assert len(calls) == searches
    assert bodies[0]["results"] == bodies[1]["results"] == bodies[4]["results"] and len(bodies[2]["results"]) == 1
    assert sum(e["event"] == "search" for e in read_events(tmp_path / "d" / "queries.jsonl")) == 5


def test_suggestions_of_a_new_version_are_built_in_the_background(app_factory, make_corpus, tmp_path, tiny_analyzer):
    import time

    out = tmp_path / "ix"
    build_index(make_corpus(), out, analyzer=tiny_analyzer)
    client = app_factory(out).test_client()
    assert client.get("/api/suggest?q=积分").get_json()["suggestions"] == []
    extra = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心选择商品兑换。"}
    build_index(make_corpus({**TINY_ARTICLES, "password/points.md": extra}, name="v2"), out, analyzer=tiny_analyzer)
    deadline = time.monotonic() + 10
    while True:  # the first answers may come from the previous version's suggestions
        body = client.get("/api/suggest?q=积分").get_json()
        if body["suggestions"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [x["id"] for x in body["suggestions"]] == ["pts"]


def test_the_server_maps_the_completions_the_builder_published(app_factory, make_corpus, tmp_path, tiny_analyzer,
                                                             monkeypatch):
    import faq_search.web.api as api_module
    from faq_search.completions import completions_dir

    out = tmp_path / "ix"
    version = build_index(make_corpus(), out, analyzer=tiny_analyzer).version
    assert (completions_dir(out, version) / "manifest.json").is_file()

    def no_building(*args, **kwargs):
        raise AssertionError("built in the server")

    monkeypatch.setattr(api_module, "index_suggester", no_building)
    client = app_factory(out).test_client()
    assert [s["id"] for s in client.get("/api/suggest?q=mima").get_json()["suggestions"]] == ["pw-login", "pw-pay"]


def test_without_published_completions_the_server_builds_them(app_factory, make_corpus, tmp_path, tiny_analyzer):
    import time

    from faq_search.completions import publish_completions

    out = tmp_path / "ix"
    build_index(make_corpus(), out, analyzer=tiny_analyzer, completions=False)  # e.g. an index from before them
    client = app_factory(out, FAQ_COMPLETIONS_WAIT=0.0).test_client()
    assert [s["id"] for s in client.get("/api/suggest?q=mima").get_json()["suggestions"]] == ["pw-login", "pw-pay"]

    def suggested(client, typed: str, timeout: float = 10) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:  # the first answers may come from the previous version's suggestions
            found = [s["id"] for s in client.get("/api/suggest", query_string={"q": typed}).get_json()["suggestions"]]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    extra = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心选择商品兑换。"}
    build_index(make_corpus({**TINY_ARTICLES, "password/points.md": extra}, name="v2"), out, analyzer=tiny_analyzer,
                completions=False)
    assert suggested(client, "积分") == ["pts"]  # nothing published: built by the server
    # … from the version it followed, whose phrases it copied rather than read again
    assert suggested(client, "mima") == ["pw-login", "pw-pay"] and suggested(client, "jf") == ["pts"]

    # A long wait: the server keeps the previous completions until the builder's arrive.
    client = app_factory(out, FAQ_COMPLETIONS_WAIT=600.0).test_client()
    extra3 = {"id": "gift", "question": "礼品卡怎么用？", "category": "password", "answer": "在礼品卡页面绑定。"}
    v3 = build_index(make_corpus({**TINY_ARTICLES, "password/gift.md": extra3}, name="v3"), out,
                     analyzer=tiny_analyzer, completions=False).version
    assert suggested(client, "礼品", timeout=0.5) == []
    publish_completions(out, v3, tiny_analyzer.normalize)
    assert suggested(client, "礼品") == ["gift"]


def test_a_server_started_on_a_corrupt_version_serves_the_one_before(app_factory, make_corpus, tmp_path, tiny_analyzer):
    out = tmp_path / "ix"
    v1 = build_index(make_corpus(), out, analyzer=tiny_analyzer).version
    extra = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心选择商品兑换。"}
    bad = build_index(make_corpus({**TINY_ARTICLES, "password/points.md": extra}, name="v2"), out, analyzer=tiny_analyzer)
    (bad.path / "vocab.json").write_text("{}", "utf-8")
    client = app_factory(out).test_client()  # a restart after the corrupt publish
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json() == {"status": "stale", "index_version": v1, "articles": 4, "refused_version": bad.version}
    assert "faq_index_stale 1.0" in client.get("/metrics").get_data(as_text=True)
    assert client.get("/api/search?q=密码").status_code == 200
    # The next sound publish is served and the warning goes.
    good = build_index(make_corpus({**TINY_ARTICLES, "password/points.md": extra}, name="v3"), out, analyzer=tiny_analyzer)
    health = client.get("/healthz").get_json()
    assert health == {"status": "ok", "index_version": good.version, "articles": 5}
    assert "faq_index_stale 0.0" in client.get("/metrics").get_data(as_text=True)


def test_a_corrupt_only_version_still_gives_503(app_factory, make_corpus, tmp_path, tiny_analyzer):
    out = tmp_path / "ix"
    result = build_index(make_corpus(), out, analyzer=tiny_analyzer)
    (result.path / "vocab.json").write_text("{}", "utf-8")
    client = app_factory(out).test_client()
    assert client.get("/healthz").status_code == 503
    assert_error(client.get("/api/search?q=密码"), 503, "index_unavailable")


def test_category_and_tag_parameters_are_read_as_search_reads_text(client):
    # As the CLI reads --category and --tag (Searcher.category_named, tag_named): a category by id or name,
    # any case or script, a synonym of its name too, a tag by a synonym or its traditional form.
    for params in ({"tag": "转帐"}, {"tag": "轉賬"}, {"category": "转账"}, {"category": "TRANSFER"}, {"category": " transfer"},
                   {"category": "转帐"}, {"category": "轉帳"}):
        r = client.get("/api/search", query_string={"q": "钱转错人了", "k": 1, **params})
        assert r.status_code == 200 and [h["id"] for h in r.get_json()["results"]] == ["tr-wrong"], params
        r = client.get("/api/articles", query_string=params)
        assert r.status_code == 200 and [a["id"] for a in r.get_json()["articles"]] == ["tr-wrong"], params
    for category in ("轉賬", "转帐"):
        assert [t["name"] for t in client.get("/api/tags", query_string={"category": category}).get_json()["tags"]] == ["转账"]
    assert_error(client.get("/api/search", query_string={"q": "钱", "tag": "转错"}), 400, "unknown_tag")


def test_a_second_category_or_tag_is_refused_not_dropped(client):
    # ?tag=a&tag=b read as tag=a would answer another question than the one asked.
    assert_error(client.get("/api/search?q=密码&tag=密码&tag=转账"), 400, "invalid_tag")
    assert_error(client.get("/api/articles?category=password&category=transfer"), 400, "invalid_category")
    assert client.get("/api/search?q=密码&tag=密码").status_code == 200
