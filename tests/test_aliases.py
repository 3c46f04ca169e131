"""Renamed articles: former ids (`aliases`) keep links and votes made before a rename."""

import json
import re
import time

import pytest

from faq_search.build import build_index
from faq_search.cli import main
from faq_search.corpus import Article, CorpusError, load_corpus
from faq_search.feedback import Counts, FeedbackStore
from faq_search.index import load_index
from faq_search.search import Searcher
from tests.conftest import TINY_ARTICLES, article_text, assert_error
from tests.test_corpus import problems_of, write_jsonl
from tests.test_incremental import build, entry, small_base, write, written  # noqa: F401 - small_base is a fixture
from tests.test_report import make_feedback


def with_aliases(path: str, aliases: str, **changes) -> dict:
    """TINY_ARTICLES with the article at ``path`` changed and given the front-matter line ``aliases``."""
    a = {**TINY_ARTICLES[path], **changes}
    return {**TINY_ARTICLES, path: article_text(a).replace(f"id: {a['id']}\n", f"id: {a['id']}\n{aliases}\n", 1)}


# pw-pay renamed pw-payment; pw-login names it as related, so it changes too.
RENAMED = {**with_aliases("password/forgot-pay.md", "aliases: [pw-pay, password-pay]", id="pw-payment"),
           "password/forgot-login.md": {**TINY_ARTICLES["password/forgot-login.md"], "related": ["pw-payment"]}}


# --- the corpus -----------------------------------------------------------------------------------

def test_aliases_are_read_from_markdown_and_json_lines(make_corpus, tmp_path):
    corpus = load_corpus(make_corpus(RENAMED))
    a = next(a for a in corpus.articles if a.id == "pw-payment")
    assert a.aliases == ("pw-pay", "password-pay")
    assert all(b.aliases == () for b in corpus.articles if b is not a)
    block = with_aliases("withdraw/arrival.md", "aliases:\n  - wd-arrival\n  - wd-arrival")  # a repeat is kept once
    assert next(a for a in load_corpus(make_corpus(block, name="b")).articles if a.id == "wd-time").aliases == ("wd-arrival",)
    path = write_jsonl(tmp_path / "kb.jsonl", [{"id": "new", "question": "问？", "answer": "答。", "aliases": ["old"]},
                                               {"id": "other", "question": "问二？", "answer": "答二。"}])
    assert [a.aliases for a in load_corpus(path).articles] == [("old",), ()]


def test_an_article_record_without_aliases_still_loads():
    d = Article(id="a", question="问？", answer="答。", aliases=("b",)).to_dict()
    assert d["aliases"] == ["b"] and Article.from_dict(d).aliases == ("b",)
    del d["aliases"]  # as written by versions before aliases
    assert Article.from_dict(d).aliases == ()


ALIAS_ITEMS = "aliases:\n  - old-ok\n  - not an id\n  - 'x/y'"


@pytest.mark.parametrize("aliases, expected", [
    # Each bad item at its own line (the key is at line 3).
    (ALIAS_ITEMS, ["forgot-pay.md:5: invalid alias 'not an id'", "forgot-pay.md:6: invalid alias 'x/y'"]),
    ("aliases: not an id", ["forgot-pay.md:3: invalid alias 'not an id'"]),
    ("aliases: [pw-pay]", ["forgot-pay.md:3: alias 'pw-pay' is this article's own id"]),
    ("aliases:\n  - old\n  - wd-time", ["forgot-pay.md:5: alias 'wd-time' is the id of the article at "
                                        "articles/withdraw/arrival.md:2"]),
    ("aliases:\n  -\n  - old", ["forgot-pay.md:4: empty item in 'aliases'"]),
])
def test_bad_aliases_are_reported_at_their_line(make_corpus, aliases, expected):
    root = make_corpus(with_aliases("password/forgot-pay.md", aliases))
    problems = [p.replace(f"{root}/", "") for p in problems_of(root) if "forgot-pay.md:" in p]
    for message in expected:
        assert any(message in p for p in problems), problems
    assert len(problems) == len(expected), problems


def test_an_alias_claimed_by_two_articles_names_both(make_corpus):
    articles = {**with_aliases("password/forgot-pay.md", "aliases: [old-pay]"),
                **{k: v for k, v in with_aliases("withdraw/arrival.md", "aliases:\n  - wd-old\n  - old-pay").items()
                   if k == "withdraw/arrival.md"}}
    root = make_corpus(articles)
    assert [p.replace(f"{root}/", "") for p in problems_of(root)] == [
        "articles/withdraw/arrival.md:5: alias 'old-pay' is also claimed by 'pw-pay' (at articles/password/forgot-pay.md:3): "
        "a former id leads to one article, keep it on the one it became"]


def test_a_former_id_left_in_related_or_popular_says_what_it_is_called_now(make_corpus):
    articles = {**RENAMED, "password/forgot-login.md": TINY_ARTICLES["password/forgot-login.md"]}  # related: [pw-pay]
    root = make_corpus(articles)
    (root / "popular.yml").write_text("- wd-time\n- password-pay\n", "utf-8")
    assert [p.replace(f"{root}/", "") for p in problems_of(root)] == [
        "articles/password/forgot-login.md:10: related id 'pw-pay' is a former id of 'pw-payment': write 'pw-payment'",
        "popular.yml:2: article id 'password-pay' is a former id of 'pw-payment': write 'pw-payment'"]


def test_a_misspelt_former_id_says_what_it_is_called_now(make_corpus):
    articles = {**RENAMED, "password/forgot-login.md": {**TINY_ARTICLES["password/forgot-login.md"],
                                                        "related": ["pw-pya"]}}
    root = make_corpus(articles)
    (root / "popular.yml").write_text("- password-pya\n", "utf-8")
    assert [p.replace(f"{root}/", "") for p in problems_of(root)] == [
        "articles/password/forgot-login.md:10: unknown related id 'pw-pya' (did you mean 'pw-pay'? It is a former id "
        "of 'pw-payment': write 'pw-payment')",
        "popular.yml:1: unknown article id 'password-pya' (did you mean 'password-pay'? It is a former id of "
        "'pw-payment': write 'pw-payment')"]


def test_json_lines_aliases_are_checked_like_ids(tmp_path):
    path = write_jsonl(tmp_path / "kb.jsonl", [
        {"id": "a", "question": "问？", "answer": "答。", "aliases": ["old"]},
        {"id": "b", "question": "问？", "answer": "答。", "aliases": ["old-b", "a"]},
        {"id": "c", "question": "问？", "answer": "答。", "aliases": "old-b"},
        {"id": "d", "question": "问？", "answer": "答。", "aliases": ["bad id"]},
    ])
    assert problems_of(path) == [
        f"{path}:4: invalid alias 'bad id': an alias is a former id (letters, digits, '.', '_', '-')",
        f"{path}:2: alias 'a' is the id of the article at {path}:1: an id in use cannot lead to another article",
        f"{path}:3: alias 'old-b' is also claimed by 'b' (at {path}:2): a former id leads to one article, keep it "
        "on the one it became"]


# --- the index ------------------------------------------------------------------------------------

def test_a_version_keeps_the_former_ids_and_resolve_follows_them(make_corpus, tmp_path, tiny_analyzer):
    build_index(make_corpus(RENAMED), tmp_path / "ix", analyzer=tiny_analyzer)
    s = Searcher.load(tmp_path / "ix", analyzer=tiny_analyzer)
    assert s.aliases == {"pw-pay": "pw-payment", "password-pay": "pw-payment"}
    assert [s.resolve(i) for i in ("pw-pay", "password-pay", "pw-payment", "pw-login", "nope")] == \
        ["pw-payment", "pw-payment", "pw-payment", "pw-login", None]
    # get stays exact: ids written in the corpus (related, popular.yml) and the API's redirect rely on it.
    assert s.get("pw-pay") is None and s.get("pw-payment").aliases == ("pw-pay", "password-pay")


def strip_aliases(vdir) -> None:
    """Make a version look written before aliases: no 'aliases' in its meta.json (checksum kept valid)."""
    import hashlib

    meta = json.loads((vdir / "meta.json").read_text("utf-8"))
    del meta["aliases"]
    raw = json.dumps(meta, ensure_ascii=False).encode("utf-8")
    (vdir / "meta.json").unlink()  # a hard link an incremental version may share: not written through
    (vdir / "meta.json").write_bytes(raw)
    manifest = json.loads((vdir / "manifest.json").read_text("utf-8"))
    manifest["files"]["meta.json"] = hashlib.sha256(raw).hexdigest()
    (vdir / "manifest.json").write_text(json.dumps(manifest), "utf-8")


def test_a_renamed_article_is_said_renamed_not_added_and_removed(make_corpus, tmp_path, tiny_analyzer):
    out = tmp_path / "ix"
    build_index(make_corpus(), out, analyzer=tiny_analyzer)
    # Its old id in its aliases, or (no alias) its file the one the old id was in.
    unaliased = {**RENAMED, "password/forgot-pay.md": {**TINY_ARTICLES["password/forgot-pay.md"], "id": "pw-payment"}}
    for n, articles in enumerate((RENAMED, unaliased)):
        result = build_index(make_corpus(articles, name=f"v{n}"), out, analyzer=tiny_analyzer)
        assert result.changes == ("changed: articles/password/forgot-login.md (related); "
                                  "renamed: articles/password/forgot-pay.md (pw-pay → pw-payment)")
        build_index(make_corpus(name=f"back{n}"), out, analyzer=tiny_analyzer)
    # Moved to another folder as well: where from.
    moved = {**RENAMED, "withdraw/pay.md": RENAMED["password/forgot-pay.md"].replace("category: password",
                                                                                      "category: withdraw")}
    del moved["password/forgot-pay.md"]
    result = build_index(make_corpus(moved, name="moved"), out, analyzer=tiny_analyzer)
    assert result.changes == ("changed: articles/password/forgot-login.md (related); renamed: articles/withdraw/pay.md "
                              "(pw-pay → pw-payment, from articles/password/forgot-pay.md; category)")


def test_a_version_written_before_aliases_still_loads(make_corpus, tmp_path, tiny_analyzer):
    result = build_index(make_corpus(), tmp_path / "ix", analyzer=tiny_analyzer)
    strip_aliases(result.path)
    s = Searcher.load(tmp_path / "ix", analyzer=tiny_analyzer)
    assert len(s) == 4 and s.aliases == {} and s.resolve("pw-pay") == "pw-pay" and s.resolve("old") is None


@pytest.mark.usefixtures("small_base")
def test_incremental_versions_carry_the_bases_former_ids_and_the_deltas(tmp_path, tiny_analyzer):
    entries = [entry(i) for i in range(60)]
    entries[7] = entry(7, aliases=["old-7"])
    corpus, out = tmp_path / "kb.jsonl", tmp_path / "index"
    write(corpus, entries)
    build(corpus, out, tiny_analyzer)
    entries[5] = entry(5, id="e005-renamed", aliases=["e005"])
    write(corpus, entries)
    assert build(corpus, out, tiny_analyzer).incremental
    data = load_index(out)
    assert data.aliases == {"old-7": "e007", "e005": "e005-renamed"}
    assert data.articles[5].aliases == ("e005",) and data.articles[7].aliases == ("old-7",)
    entries[7] = entry(7, aliases=["old-7b"])  # a base article replaced: its former ids are the delta's
    write(corpus, entries)
    assert build(corpus, out, tiny_analyzer).incremental
    assert load_index(out).aliases == {"old-7b": "e007", "e005": "e005-renamed"}
    # Checked across the kept base entries and the changed ones, as a full load checks them.
    for bad, message in ((entry(9, aliases=["old-7b"]), "alias 'old-7b' is also claimed by 'e007'"),
                         (entry(9, aliases=["e010"]), "alias 'e010' is the id of the article at"),
                         (entry(9, related=["e005"]), "related id 'e005' is a former id of 'e005-renamed'")):
        write(corpus, [*entries[:9], bad, *entries[10:]])
        with pytest.raises(CorpusError, match=re.escape(message)):
            build(corpus, out, tiny_analyzer)


@pytest.mark.usefixtures("small_base")
def test_a_json_lines_base_from_before_aliases_is_rebuilt_in_full(tmp_path, tiny_analyzer):
    # Its unchanged lines may hold 'aliases' that the code of the time did not keep.
    entries, corpus, out = written(tmp_path)
    strip_aliases(build(corpus, out, tiny_analyzer).path)
    write(corpus, [entry(0, answer="新的回答。"), *entries[1:]])
    assert not build(corpus, out, tiny_analyzer).incremental


def test_the_source_key_of_an_article_without_aliases_is_the_one_before_them():
    # Otherwise every article of a Markdown base would count as changed: one full build for nothing.
    import hashlib

    from faq_search.incremental import article_key

    a = Article(id="a", question="问？", answer="答。", tags=("t",), source="x.md:2")
    before = {"id": "a", "question": "问？", "answer": "答。", "similar_questions": [], "category": "", "tags": ["t"],
              "related": [], "updated": ""}
    assert article_key(a) == hashlib.blake2b(json.dumps(before, ensure_ascii=False, sort_keys=True).encode("utf-8"),
                                             digest_size=16).digest()
    assert article_key(a) != article_key(Article(id="a", question="问？", answer="答。", tags=("t",), aliases=("b",)))


# --- the feedback store ---------------------------------------------------------------------------

def test_votes_under_former_ids_count_for_the_article(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    for aid, helpful in (("pw-pay", True), ("pw-pay", False), ("password-pay", True), ("pw-payment", True),
                         ("pw-login", True), ("pw-login", True), ("pw-login", True), ("gone", True)):
        store.add_vote("", aid, helpful)
    assert store.counts("pw-payment") == Counts(1, 0)
    assert store.counts("pw-payment", ("pw-pay", "password-pay")) == Counts(3, 1)
    assert store.add_vote("", "pw-payment", False, ("pw-pay",)) == (Counts(2, 2), True)
    aliases = {"pw-pay": "pw-payment", "password-pay": "pw-payment", "unused": "pw-login"}
    assert list(store.all_counts(aliases).items()) == [
        ("pw-login", Counts(3, 0)), ("pw-payment", Counts(3, 2)), ("gone", Counts(1, 0))]
    assert "pw-pay" in store.all_counts()  # stored as they came


# --- the API --------------------------------------------------------------------------------------

@pytest.fixture
def renamed_client(app_factory, make_corpus, tmp_path, tiny_analyzer):
    build_index(make_corpus(RENAMED), tmp_path / "ix", analyzer=tiny_analyzer)
    return app_factory(tmp_path / "ix").test_client()


def test_a_former_id_is_a_301_to_the_articles_address_with_the_query_string(renamed_client):
    r = renamed_client.get("/api/articles/pw-pay?q=%E5%BF%98%E8%AE%B0&x=1")
    assert r.status_code == 301
    assert r.headers["Location"] == "/api/articles/pw-payment?q=%E5%BF%98%E8%AE%B0&x=1"
    body = r.get_json()
    assert body == {"moved_from": "pw-pay", "id": "pw-payment", "location": r.headers["Location"],
                    "index_version": body["index_version"]}
    assert renamed_client.get("/api/articles/password-pay").headers["Location"] == "/api/articles/pw-payment"
    followed = renamed_client.get("/api/articles/pw-pay", follow_redirects=True)
    assert followed.status_code == 200 and followed.get_json()["id"] == "pw-payment"
    assert followed.get_json()["aliases"] == ["pw-pay", "password-pay"]
    assert renamed_client.get("/api/articles/pw-payment").status_code == 200
    assert_error(renamed_client.get("/api/articles/pw-pay-x"), 404, "article_not_found")
    # Search hits carry them too: a page finds the votes it remembers under a former id.
    hits = renamed_client.get("/api/search?q=忘记支付密码").get_json()["results"]
    assert hits[0]["id"] == "pw-payment" and hits[0]["aliases"] == ["pw-pay", "password-pay"]
    assert all(h["aliases"] == [] for h in hits[1:])


def test_a_vote_for_a_former_id_counts_for_the_article(renamed_client, tmp_path):
    FeedbackStore(tmp_path / "data" / "feedback.sqlite3").add_vote("", "pw-pay", True)  # voted before the rename
    r = renamed_client.post("/api/feedback", json={"query": "支付密码", "article_id": "pw-pay", "helpful": True})
    assert r.status_code == 201
    assert r.get_json() == {"article_id": "pw-payment", "feedback": {"helpful": 2, "not_helpful": 0}, "counted": True}
    # Its visitor voting again under the new id: the same article, not counted; another visitor is.
    r = renamed_client.post("/api/feedback", json={"query": "", "article_id": "pw-payment", "helpful": False})
    assert r.status_code == 201 and r.get_json()["counted"] is False
    r = renamed_client.post("/api/feedback", json={"query": "", "article_id": "pw-payment", "helpful": False},
                            environ_overrides={"REMOTE_ADDR": "10.0.0.2"})
    assert r.get_json()["feedback"] == {"helpful": 2, "not_helpful": 1}
    assert renamed_client.get("/api/articles/pw-payment").get_json()["feedback"] == {"helpful": 2, "not_helpful": 1}
    assert_error(renamed_client.post("/api/feedback", json={"query": "", "article_id": "nope", "helpful": True}),
                 404, "article_not_found")


def test_popular_and_stats_add_the_votes_under_former_ids(renamed_client, tmp_path):
    store = FeedbackStore(tmp_path / "data" / "feedback.sqlite3")
    for aid in ("pw-pay", "pw-pay", "password-pay", "pw-login", "pw-login", "gone"):
        store.add_vote("", aid, True)
    store.add_vote("", "pw-payment", False)
    popular = renamed_client.get("/api/popular").get_json()["questions"]
    # 3 "helpful" votes (FAQ_POPULAR_MIN_VOTES) only with those under its former ids; pw-login has 2
    assert [(q["id"], q["helpful"]) for q in popular] == [("pw-payment", 3)]
    stats = renamed_client.get("/api/feedback/stats").get_json()["articles"]
    assert [(a["id"], a["question"], a["helpful"], a["not_helpful"]) for a in stats] == [
        ("pw-payment", "忘记支付密码怎么办？", 3, 1), ("pw-login", "忘记登录密码怎么办？", 2, 0), ("gone", None, 1, 0)]


# --- the report -----------------------------------------------------------------------------------

def test_the_report_lists_votes_for_ids_that_are_no_article(make_corpus, tmp_path, tiny_analyzer, capsys):
    build_index(make_corpus(RENAMED), tmp_path / "ix", analyzer=tiny_analyzer)
    data = tmp_path / "data"
    data.mkdir()
    now = time.time()
    make_feedback(data / "feedback.sqlite3", [
        (now, "q", "pw-pay", 1), (now, "q", "pw-login", 1),  # a former id and an id: counted
        (now, "q", "payment-nfc-tap-pay", 1), (now, "q", "payment-nfc-tap-pay", 0), (now, "q", "payment-nfc-tap-pay", 1),
        (now - 90 * 86400, "q", "old-gone", 0),  # older than --since: still votes nobody sees
    ])
    html_path = tmp_path / "r.html"
    assert main(["report", "--since", "1d", "--data-dir", str(data), "--index", str(tmp_path / "ix"),
                 "--html", str(html_path)]) == 0
    section = capsys.readouterr().out.split("Votes for no article")[1]
    assert "add `aliases: [old-id]` to the article it became" in section
    assert re.search(r"1\. +2 +1  payment-nfc-tap-pay\n +2\. +0 +1  old-gone\n$", section), section
    assert "pw-pay" not in section and "pw-login" not in section
    page = html_path.read_text("utf-8").split("Votes for no article")[1]
    assert "<td>payment-nfc-tap-pay</td>" in page and "pw-pay" not in page
    # Without the index every id would look orphaned: nothing is listed.
    assert main(["report", "--since", "1d", "--data-dir", str(data), "--index", str(tmp_path / "none")]) == 0
    assert "(no index or no feedback store to compare)" in capsys.readouterr().out.split("Votes for no article")[1]
