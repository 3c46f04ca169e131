"""Why a hit matched, as support agents read it: `matched` holds the words said to be in it, words
found only in the answer and matches through a synonym are told apart."""

import dataclasses
import json
import re

import numpy as np
import pytest

from faq_search.analysis import Analyzer
from faq_search.build import build_index
from faq_search.search import Searcher, _Explainer
from tests.conftest import TINY_ARTICLES, TINY_SYNONYMS, TINY_USER_WORDS, build_app, write_corpus
from tests.test_incremental import build, entry, small_base, write, written  # noqa: F401 - small_base is a fixture

ARTICLES = {
    "security/frozen.md": dict(
        id="sec-frozen", question="账户被冻结了怎么解冻？", category="security", tags=["冻结"],
        similar=["被封号了", "账号冻住了怎么办"],
        answer="冻结期间余额不受影响，完成身份验证后即可解冻。",
    ),
    "transfer/to-friend.md": dict(
        id="tr-friend", question="如何转账给好友？", category="transfer", tags=["转账"],
        similar=["扫对方二维码转账怎么操作", "给朋友打钱", "咋给朋友转账"],
        answer="打开扫一扫，扫描对方的收款码，输入金额和支付密码即可完成转账。",
    ),
    "password/forgot-pay.md": TINY_ARTICLES["password/forgot-pay.md"],
    "password/forgot-login.md": dict(
        id="pw-login", question="登陆密码忘了怎么办？", category="password", tags=["密码"],
        similar=["登陆密码记不住", "登陆不上去"],
        answer="在登录页点「忘记密码」，验证手机号后重置。",
    ),
}
CATEGORIES = {"security": "安全", "transfer": "转账", "password": "密码"}
# The tiny groups, with 打钱 (and zhuanzhang, pinyin as the shipped list has tixian) for 转账 and a group
# whose same-length words the analyzer respells.
SYNONYMS = TINY_SYNONYMS.replace("转账 转帐", "转账 转帐 打钱 zhuanzhang") + "冻结 封号 冻住\n"


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer([(w, int(f)) for w, f in (line.split() for line in TINY_USER_WORDS.splitlines())],
                    [line.split() for line in SYNONYMS.splitlines()])


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, analyzer):
    root = tmp_path_factory.mktemp("explain")
    corpus = write_corpus(root / "corpus", ARTICLES, CATEGORIES)
    (corpus / "dict" / "synonyms.txt").write_text(SYNONYMS, "utf-8")
    build_index(corpus, root / "index", analyzer=analyzer)
    return root / "index"


@pytest.fixture(scope="module")
def searcher(index_dir, analyzer) -> Searcher:
    return Searcher.load(index_dir, analyzer=analyzer)


def explain(s: Searcher, query: str, article_id: str, phrasing: str):
    """Why ``article_id`` matched ``query``, had the ranking scored ``phrasing`` best."""
    art = s._by_id[article_id]
    row = next(r for r in range(len(s.data.row_text)) if s.data.row_text[r] == phrasing)
    return _Explainer(s, s.analyze_query(query).words, query)(art, row)


def test_a_word_only_in_the_answer_is_reported_apart(searcher):
    # 密码 is in none of the transfer article's phrasings, only in its answer.
    hit = next(h for h in searcher.search("转账密码") if h.id == "tr-friend")
    assert "密码" not in hit.matched
    assert hit.matched_terms == ("转账",) and hit.answer_terms == ("密码",) and hit.synonyms == ()
    assert dict(hit.term_weights)["密码"] > 0
    d = hit.to_dict()
    assert d["matched_terms"] == ["转账"] and d["answer_terms"] == ["密码"] and d["synonyms"] == []


def test_matched_is_the_phrasing_holding_most_of_the_query(searcher):
    # Had the ranking scored 给朋友打钱 best, the phrasing holding 二维码 too is shown.
    why = explain(searcher, "扫二维码转账", "tr-friend", "给朋友打钱")
    assert why.matched == "扫对方二维码转账怎么操作"
    assert set(why.matched_terms) >= {"二维码", "转账"} and why.synonyms == ()
    # Of phrasings holding as much (转账 as itself or as its synonym 打钱), the first holding it as typed.
    why = explain(searcher, "转账", "tr-friend", "给朋友打钱")
    assert why.matched == "如何转账给好友？" and why.matched_terms == ("转账",) and why.synonyms == ()
    # None holds it as typed (转帐): the ranking's stays, told as a synonym.
    why = explain(searcher, "转帐", "tr-friend", "给朋友打钱")
    assert why.matched == "给朋友打钱"
    assert why.matched_terms == () and why.synonyms == (("转帐", "打钱", "matched"),)
    # And when the ranking's phrasing holds every word, it is the one shown.
    assert explain(searcher, "扫二维码转账", "tr-friend", "扫对方二维码转账怎么操作").matched == "扫对方二维码转账怎么操作"


def test_a_synonym_match_is_told_as_one(searcher):
    # The analyzer respells 封号 as 冻结 (same length): the respelled texts cannot tell them apart, the
    # normalised ones can. Had the ranking scored 被封号了 best, 冻结 shows the phrasing holding it as typed.
    why = explain(searcher, "冻结", "sec-frozen", "被封号了")
    assert why.matched == "账户被冻结了怎么解冻？" and why.matched_terms == ("冻结",) and why.synonyms == ()
    why = explain(searcher, "封号", "sec-frozen", "账户被冻结了怎么解冻？")
    assert why.matched == "被封号了" and why.matched_terms == ("封号",) and why.synonyms == ()
    # When no phrasing holds it as typed, the synonym found is said, with the word's weight.
    why = explain(searcher, "转帐", "tr-friend", "如何转账给好友？")
    assert why.matched == "如何转账给好友？" and why.matched_terms == ()
    assert why.synonyms == (("转帐", "转账", "matched"),) and dict(why.term_weights)["转帐"] > 0
    # A word typed as a synonym and found as itself is literal: 忘了 in 支付密码忘了.
    why = explain(searcher, "支付密码忘了", "pw-pay", "支付密码忘了")
    assert set(why.matched_terms) == {"支付密码", "忘了", "支付", "密码"} and why.synonyms == ()
    # As typed means the query's whole word: 咋办 typed, 咋 found is a synonym (both are 怎么).
    why = explain(searcher, "转账咋办", "tr-friend", "咋给朋友转账")
    assert why.matched == "咋给朋友转账" and why.matched_terms == ("转账",) and why.synonyms == (("咋办", "咋", "matched"),)
    # Found in the answer only, beside a word the phrasing holds as typed (not the ranking's 冻住).
    why = explain(searcher, "封号 余额", "sec-frozen", "账号冻住了怎么办")
    assert why.matched == "被封号了" and why.synonyms == () and why.answer_terms == ("余额",)


def test_a_word_only_inside_a_respelled_one_is_not_said_to_be_found(searcher):
    # 登陆密码 is respelled 登录密码 (登陆 → 登录): the texts the ranking reads hold 登录密码 and its
    # sub-words, the phrasing shown does not. What it holds: 密码 as typed, 登录 as its synonym 登陆.
    why = explain(searcher, "登录密码", "pw-login", "登陆密码记不住")
    assert why.matched == "登陆密码记不住"  # none holds more of it, or more of it as typed: the ranking's
    assert why.matched_terms == ("密码",) and why.synonyms == (("登录", "登陆", "matched"),)
    assert "登录密码" not in dict(why.term_weights)


@pytest.fixture(scope="module")
def shipped(real_index, real_analyzer) -> Searcher:
    return Searcher.load(real_index, analyzer=real_analyzer)


@pytest.mark.parametrize("query, article, said, not_said", [
    # 服务费 is read as 手续费, and analysis adds 手续, 续费, 提现手续费 around it: none of them was typed.
    ("提现服务费", "topup-withdraw-withdraw-fee", {"提现"}, {"手续", "续费", "手续费", "提现手续费"}),
    # 付款失败 is read as 支付失败: its 支付 was not typed either.
    ("付款失败了但是钱被扣了", "refund-failed-but-charged", {"失败", "被扣"}, {"支付", "支付失败"}),
    ("登陆密码忘了", "password-forgot-login-password", {"密码", "忘了"}, {"登录密码", "登录"}),
])
def test_words_made_around_a_respelled_query_word_are_not_said_typed(shipped, query, article, said, not_said):
    hit = next(h for h in shipped.search(query, k=3) if h.id == article)
    reported = {*hit.matched_terms, *hit.answer_terms, *(typed for typed, _f, _w in hit.synonyms)}
    assert said <= set(hit.matched_terms) and not reported & not_said, hit
    assert not {t for t, _w in hit.term_weights} & not_said


@pytest.mark.parametrize("query, matched_terms, synonyms, read_as", [
    ("zhifu shibai", (), (), (("zhifu", "支付", "matched"), ("shibai", "失败", "matched"))),
    ("pay失败", ("失败",), (("pay", "支付", "matched"),), ()),
])
def test_a_word_typed_in_pinyin_or_english_is_shown_in_a_phrasing_holding_it(shipped, query, matched_terms, synonyms,
                                                                             read_as):
    # 支付 sits in 一直付款失败 only inside the respelled 支付失败: the phrasing 支付失败 shows it, said
    # as the synonym (pay) or the reading of pinyin (zhifu, listed as a synonym; shibai, read) it is,
    # rather than a phrasing in which only 失败 can be pointed at.
    hit = shipped.search(query, k=1)[0]
    assert hit.id == "payment-failed-overview" and hit.matched == "支付失败"
    assert (hit.matched_terms, hit.synonyms, hit.read_as) == (matched_terms, synonyms, read_as)


def test_a_synonym_found_through_a_word_and_its_sub_word_is_told_once(shipped):
    # 实名认证 and its sub-word 实名 are one synonym group: a phrasing holding 实名 is one match of the 实名认证
    # typed, not two (the console and `faq-search search` printed 实名认证 → 实名 twice).
    hits = [h for h in shipped.search("实名认证失败", k=10) if h.synonyms]
    assert any(("实名认证", "实名", "matched") in h.synonyms for h in hits)
    for hit in hits:
        assert len(set(hit.synonyms)) == len(hit.synonyms), hit
        assert [t for t, _w in hit.term_weights] == \
            [*hit.matched_terms, *hit.answer_terms, *(typed for typed, _f, _where in hit.synonyms)]


@pytest.mark.parametrize("query", ["登录密码", "冻结", "封号", "密码", "转账给朋友", "打钱", "忘了支付密码", "冻住了余额还在吗",
                                   "二维码转账", "解冻", "扫码 密码"])
def test_every_word_said_to_be_found_is_where_it_is_said_to_be(searcher, analyzer, query):
    for hit in searcher.search(query, k=10):
        matched, answer = analyzer.normalize(hit.matched), analyzer.normalize(hit.answer[:200])
        assert all(t in matched for t in hit.matched_terms), hit
        assert all(t in answer and t not in matched for t in hit.answer_terms), hit
        for typed, found, where in hit.synonyms:
            assert typed != found and found in (matched if where == "matched" else answer), hit
            assert typed not in matched, hit
        assert [t for t, _w in hit.term_weights] == \
            [*hit.matched_terms, *hit.answer_terms, *(typed for typed, _f, _where in hit.synonyms)]
        phrasings = searcher.get(hit.id).questions
        assert hit.matched in phrasings


def test_the_search_page_and_the_api_tell_it(index_dir, analyzer, tmp_path):
    client = build_app(index_dir, tmp_path / "data", analyzer).test_client()

    def hit_html(query: str, article_id: str) -> str:
        html = client.get("/", query_string={"q": query}).get_data(as_text=True)
        start = html.index(f'data-id="{article_id}"')
        return html[start : html.index("</details>", start)]

    # 打钱 found as its synonym 转账 in the standard question (no 匹配到 line: it is the question).
    html = hit_html("打钱给好友", "tr-friend")
    assert "匹配到" not in html and "同义词：打钱 → 转账" in html and "答案中出现" not in html
    assert '<span class="hit-question">如何<mark>转账</mark>给<mark>好友</mark>？</span>' in html
    # 密码 only in the answer; the phrasing shown highlights only what it holds.
    html = hit_html("二维码转账 密码", "tr-friend")
    assert "匹配到：“扫对方<mark>二维码</mark><mark>转账</mark>怎么操作”" in html and "答案中出现：密码" in html
    assert "支付<mark>密码</mark>即可" in html
    body = client.get("/api/search", query_string={"q": "二维码转账 密码", "category": "transfer"}).get_json()
    first = body["results"][0]
    assert (first["matched"], first["answer_terms"], first["synonyms"]) == ("扫对方二维码转账怎么操作", ["密码"], [])
    assert set(first["term_weights"]) == {*first["matched_terms"], "密码"}


# (query, the words read from pinyin: typed, read, where; the words found as typed in the phrasing shown)
PINYIN_QUERIES = [
    # Full width; zhuanzhang is listed as a synonym of 转账, haoyou read by the pinyin reader.
    ("ｚｈｕａｎｚｈａｎｇ ｈａｏｙｏｕ", [("zhuanzhang", "转账", "matched"), ("haoyou", "好友", "matched")], []),
    ("zhuanzhanghaoyou", [("zhuanzhang", "转账", "matched"), ("haoyou", "好友", "matched")], []),  # run together
    # Spaced, beside Chinese, found only in the answer.
    ("转账 mi ma", [("mi ma", "密码", "answer")], ["转账"]),
]


@pytest.mark.parametrize("query, read_as, typed", PINYIN_QUERIES)
def test_words_typed_in_pinyin_are_told_as_read_not_as_typed_or_synonyms(index_dir, analyzer, tmp_path, query, read_as,
                                                                         typed):
    client = build_app(index_dir, tmp_path / "data", analyzer).test_client()
    first = client.get("/api/search", query_string={"q": query, "category": "transfer"}).get_json()["results"][0]
    assert first["read_as"] == [{"query": q, "read": r, "in": where} for q, r, where in read_as]
    assert first["synonyms"] == [] and first["matched_terms"] == typed
    # Weighed by the word read, as every other word found: no pinyin among the words.
    assert list(first["term_weights"]) == [*typed, *(r for _q, r, _where in read_as)]
    assert all(w > 0 for w in first["term_weights"].values())
    matched, answer = analyzer.normalize(first["matched"]), analyzer.normalize(first["answer"][:200])
    assert all(r in (matched if where == "matched" else answer) for _q, r, where in read_as)
    # The search page says it as 拼音：…, not as 同义词.
    html = client.get("/", query_string={"q": query, "category": "transfer"}).get_data(as_text=True)
    html = html[html.index(f'data-id="{first["id"]}"'):]
    html = html[: html.index("</details>")]
    assert "拼音：" + "、".join(f"{q} → {r}" for q, r, _where in read_as) in html and "同义词" not in html


def test_the_cli_tells_words_typed_in_pinyin_as_read(index_dir, capsys):
    from faq_search.cli import main

    assert main(["search", "ｚｈｕａｎｚｈａｎｇ ｈａｏｙｏｕ", "--index", str(index_dir), "-k", "1"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"\n +拼音 +zhuanzhang → 转账 0\.\d{3}  haoyou → 好友 0\.\d{3}\n", text), text
    assert "同义词" not in text and "匹配词" not in text
    assert main(["search", "转账 mi ma", "--index", str(index_dir), "--category", "transfer", "-k", "1", "--json"]) == 0
    (first,) = json.loads(capsys.readouterr().out)["results"]
    assert first["read_as"] == [{"query": "mi ma", "read": "密码", "in": "answer"}] and first["synonyms"] == []
    assert list(first["term_weights"]) == ["转账", "密码"]


def test_the_cli_and_the_evaluation_tell_it(index_dir, searcher, capsys):
    from faq_search.cli import main
    from faq_search.evaluate import LabelledQuery, evaluate

    assert main(["search", "二维码转账 密码", "--index", str(index_dir), "--category", "transfer", "-k", "1"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"匹配问法 扫对方二维码转账怎么操作（相似问法）\n +匹配词 +二维码 0\.\d{3} .* 转账 0\.\d{3}\n"
                     r" +答案中出现 密码 0\.\d{3}\n", text), text
    assert main(["search", "打钱给好友", "--index", str(index_dir), "-k", "1"]) == 0
    assert re.search(r"匹配词 +好友 0\.\d{3}\n +同义词 +打钱 → 转账 0\.\d{3}\n", capsys.readouterr().out)
    # An evaluation's failures say what the first hit was found by, and where.
    report = evaluate(searcher, [LabelledQuery("二维码转账 密码", ("pw-pay",), 1), LabelledQuery("打钱给好友", ("pw-pay",), 2),
                                 LabelledQuery("转账 mi ma", ("pw-pay",), 3)])
    lines = [line for line in report.format(failures=True).splitlines() if line.startswith("- ")]
    assert re.search(r"via '扫对方二维码转账怎么操作' terms 二维码 .*转账 \(in the answer: 密码\)$", lines[0]), lines
    assert lines[1].endswith("via '如何转账给好友？' terms 好友 打钱→转账"), lines
    assert lines[2].endswith("terms 转账 (in the answer: mi ma→密码)"), lines


def test_explanations_of_a_version_without_its_normalised_texts_are_the_same(searcher, analyzer):
    older = Searcher(dataclasses.replace(searcher.data, answer_heads=None, spelled_rows=None), analyzer)
    for query in ("冻结", "封号 余额", "密码", "扫二维码转账", "忘了支付密码"):
        assert [h._why for h in searcher.search(query)] == [h._why for h in older.search(query)], query


def test_the_rows_of_an_article_in_any_order(searcher, analyzer):
    rows = np.asarray(searcher.data.row_article)
    for data in (searcher.data, dataclasses.replace(searcher.data, row_article=rows[::-1].copy())):
        s = Searcher(data, analyzer)
        for art in range(len(s.articles)):
            own = np.flatnonzero(np.asarray(data.row_article) == art)
            assert sorted(s._phrasing_rows(art, int(own[0]))) == own.tolist()


@pytest.mark.usefixtures("small_base")
def test_incremental_versions_explain_from_the_articles_own_rows(tmp_path, tiny_analyzer):
    entries, corpus, out = written(tmp_path)
    build(corpus, out, tiny_analyzer)
    # Entry 7 gets new phrasings (its rows move to the delta, after every base row; its old rows stay
    # in the base, hidden), entry 20 goes, a new one comes.
    entries[7] = entry(7, similar_questions=["提现到账要多久七号", "提现什么时候到账"])
    del entries[20]
    entries.append({"id": "new-1", "question": "数字人民币钱包怎么绑定", "answer": "在银行卡页添加数字人民币钱包，提现更快。",
                    "category": "c9", "tags": ["数币"], "similar_questions": ["绑定数字人民币"]})
    write(corpus, entries)
    assert build(corpus, out, tiny_analyzer).incremental
    s = Searcher.load(out, analyzer=tiny_analyzer)
    assert s.data.segments and not s._rows_by_article()
    row_article = np.asarray(s.data.row_article)
    for art in range(len(s.articles)):
        own = np.flatnonzero(row_article == art)
        assert sorted(s._phrasing_rows(art, int(own[0]))) == own.tolist(), s.articles[art].id
    seven = s._by_id["e007"]
    hidden_rows = [r for r in range(len(s.data.row_text)) if row_article[r] < 0]
    assert hidden_rows and s.data.row_text[hidden_rows[0]]
    for art in range(len(s.articles)):  # read in one go from each segment's file
        rows = tuple(s._phrasing_rows(art, int(np.flatnonzero(row_article == art)[0])))
        assert s._spelled_texts(rows) == tuple(s.data.spelled_rows[r] for r in rows)
    for query in ("提现什么时候到账", "提现到账要多久", "数字人民币 提现", "绑定数字人民币钱包"):
        for hit in s.search(query, k=60):
            assert hit.matched in s.get(hit.id).questions, (query, hit.id, hit.matched)
    # The ranking's row of entry 7 is its first, an explanation picks the phrasing holding 七号 too.
    own = np.flatnonzero(row_article == seven)
    why = _Explainer(s, s.analyze_query("提现到账七号").words, "提现到账七号")(seven, int(own[0]))
    assert why.matched == "提现到账要多久七号" and "七号" in why.matched_terms


@pytest.mark.parametrize("text, unchanged", [
    ("余额不足怎么办", False),  # 怎么 may have been 如何: respelling writes it
    ("余额不足", True),
    ("帐户余额", False),  # respelled 账户余额
    ("top up 失败", False),  # Latin halves may have been joined (top up → topup)
    ("提示：余额不足，请稍后再试！", True),  # normalised (full-width punctuation), not respelled
])
def test_a_stored_spelling_stands_for_the_normalised_text_only_when_respelling_left_it(real_analyzer, text, unchanged):
    spelled = real_analyzer.spelled(text)
    assert real_analyzer.unspelled(spelled) == (real_analyzer.normalize(text) if unchanged else None)


def test_every_phrasing_of_ours_normalised_is_its_unspelled_spelling(shipped, real_analyzer):
    rows = [r for r in range(len(shipped.data.row_text)) if real_analyzer.unspelled(shipped.data.spelled_rows[r]) is not None]
    assert len(rows) > 100
    assert [real_analyzer.unspelled(shipped.data.spelled_rows[r]) for r in rows] == \
        [real_analyzer.normalize(shipped.data.row_text[r]) for r in rows]


def _queries_of_ours(s: Searcher) -> list[str]:
    """Each article's question, first similar question and the question's first half (as typed so far)."""
    queries = []
    for a in s.articles:
        queries += [a.question, *a.similar_questions[:1], a.question[: max(2, len(a.question) // 2)]]
    return queries


def test_a_phrasing_respelling_left_as_it_was_is_not_normalised_again(real_index, real_analyzer, monkeypatch):
    # Explaining a hit reads the chosen phrasing normalised (not respelled). Where respelling cannot
    # have changed the stored respelled text, that text is it: OpenCC runs only on the others.
    normalised = []
    normalized_row = Searcher._normalized_row
    monkeypatch.setattr(Searcher, "_normalized_row", lambda self, row, *text: normalised.append(row) or normalized_row(self, row, *text))
    s = Searcher.load(real_index, analyzer=real_analyzer)
    whys = [h._why for q in _queries_of_ours(s) for h in s.search(q)]
    assert whys and normalised  # some phrasings were respelled, and needed it
    # The words respelling writes: a same-length synonym's canonical form (如何 → 怎么).
    written = {g[0] for g in real_analyzer.synonym_groups for w in g[1:] if w != g[0] and len(w) == len(g[0]) > 1}
    spelled = [s.data.spelled_rows[r] for r in normalised]
    assert [t for t in spelled if not any(w in t for w in written) and not re.search("[a-z]", t)] == []


def test_explanations_are_the_same_with_every_phrasing_normalised_again(real_index, real_analyzer, monkeypatch):
    # The stored spellings stand for the normalised phrasings, and an article's phrasings are read in
    # one go: what each hit is said to match is what normalising every phrasing one by one says.
    fast = Searcher.load(real_index, analyzer=real_analyzer)
    queries = _queries_of_ours(fast)
    expected = [[h._why for h in fast.search(q)] for q in queries]
    monkeypatch.setattr(real_analyzer, "unspelled", lambda spelled: None)
    monkeypatch.setattr(Searcher, "_spelled_texts", lambda self, rows: tuple(self._spell_row(r) for r in rows))
    slow = Searcher.load(real_index, analyzer=real_analyzer)
    assert [[h._why for h in slow.search(q)] for q in queries] == expected
    assert sum(map(len, expected)) > 500


def test_an_articles_phrasings_read_in_one_go_are_read_one_by_one(shipped):
    for art in range(len(shipped.articles)):
        rows = tuple(shipped._phrasing_rows(art, -1))
        assert shipped._spelled_texts(rows) == tuple(shipped.data.spelled_rows[r] for r in rows)


def test_explanations_keep_as_many_articles_at_hand_as_are_kept_decoded():
    import inspect

    from faq_search import search
    from faq_search.index import LazyArticles

    # 2,000 searches of a 100k index show ≈ 13k articles: with 4096 phrasings (and normalised rows) kept,
    # the caches were emptied before an article came back, and every explanation rebuilt them (≈ 0.05 ms a
    # search). They hold as many as the articles kept decoded for the same hits.
    kept = inspect.signature(LazyArticles).parameters["keep"].default
    assert search.PHRASINGS_CACHE >= kept and search.NORMALIZED_CACHE >= kept
