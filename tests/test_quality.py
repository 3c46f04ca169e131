"""Search-quality gates on the labelled queries (corpus/eval/queries.jsonl).

The gates sit a margin below what the test half measured (docs/quality.md), so noise
passes and a ranking regression fails the build."""

import json
import re

import pytest

from faq_search import Searcher
from faq_search.cli import main
from faq_search.confusions import find_confusions
from faq_search.corpus import load_corpus
from faq_search.evaluate import LabelledQuery, evaluate, load_queries, split_of
from tests.conftest import REAL_CORPUS

QUERIES = REAL_CORPUS / "eval" / "queries.jsonl"
# Written apart from queries.jsonl by an editor who never saw it: checks thresholds, never tunes them.
VALIDATION = REAL_CORPUS / "eval" / "validation.jsonl"
# Written apart from both by another editor; fits the no-answer model with the dev half.
TUNING = REAL_CORPUS / "eval" / "tuning.jsonl"
# A fourth editor's visitors (long stories, error texts, abbreviations, regional words): the dev half
# fits the no-answer model with the two above; the test half is held out.
PROBE = REAL_CORPUS / "eval" / "probe.jsonl"
# A fifth editor's: what visitors type into a search box (head words, half-typed questions) and agents
# type on a call (keywords); its dev half guided corpus edits, its test half is held out.
SEARCHBOX = REAL_CORPUS / "eval" / "searchbox.jsonl"


@pytest.fixture(scope="module")
def searcher(real_index, real_analyzer):
    return Searcher.load(real_index, analyzer=real_analyzer)


def _key(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text).lower()


def _labelled_not_copied(path, min_in_scope: int, min_out_of_scope: int, also_not=frozenset()) -> None:
    """Enough labelled queries, every label an article, none equal to a phrasing (or to ``also_not``)."""
    queries = load_queries(path)
    articles = load_corpus(REAL_CORPUS).articles
    in_scope = [q for q in queries if q.in_scope]
    assert len(in_scope) >= min_in_scope and len(queries) - len(in_scope) >= min_out_of_scope
    assert all(set(q.expected) <= {a.id for a in articles} for q in in_scope)
    taken = {_key(p) for a in articles for p in a.questions} | set(also_not)
    assert [q.query for q in queries if _key(q.query) in taken] == []


def test_eval_set_is_big_labelled_and_not_copied_from_articles():
    _labelled_not_copied(QUERIES, 400, 60)


def test_validation_set_is_labelled_and_shares_nothing_with_the_eval_set_or_articles():
    _labelled_not_copied(VALIDATION, 250, 200, also_not={_key(q.query) for q in load_queries(QUERIES)})


def test_tuning_set_is_labelled_and_shares_nothing_with_the_reporting_sets_or_articles():
    reporting = load_queries(QUERIES) + load_queries(VALIDATION)
    _labelled_not_copied(TUNING, 400, 200, also_not={_key(q.query) for q in reporting})


def test_probe_set_is_labelled_and_shares_nothing_with_the_other_sets_or_articles():
    others = load_queries(QUERIES) + load_queries(VALIDATION) + load_queries(TUNING)
    _labelled_not_copied(PROBE, 350, 80, also_not={_key(q.query) for q in others})


def test_searchbox_set_is_labelled_and_shares_nothing_with_the_other_sets_or_articles():
    others = load_queries(QUERIES) + load_queries(VALIDATION) + load_queries(TUNING) + load_queries(PROBE)
    _labelled_not_copied(SEARCHBOX, 350, 60, also_not={_key(q.query) for q in others})


def test_split_is_stable_and_roughly_half():
    queries = load_queries(QUERIES)
    dev = load_queries(QUERIES, "dev")
    assert 0.4 < len(dev) / len(queries) < 0.6
    assert split_of("忘记密码") == split_of("忘记密码")


def test_quality_gate_on_the_test_half(searcher):
    # Measured 0.917 / 0.949 / 0.997 / 0.943 / 0.047 (docs/quality.md); the margins allow a few
    # queries of noise (363 in scope, 35 out of scope), not a ranking regression. Out-of-scope
    # rejection: three of 35 queries.
    report = evaluate(searcher, load_queries(QUERIES, "test"))
    assert report.acc1 >= 0.88
    assert report.mrr10 >= 0.92
    assert report.recall10 >= 0.98
    assert report.oos_rejection >= 0.82
    assert report.false_rejection <= 0.09


def test_quality_gate_on_the_validation_set(searcher):
    # Measured 0.958 acc@1, 0.813 out-of-scope rejection (mostly near-domain; 0.732 before
    # corpus/scope.yml), 0.028 false rejection.
    report = evaluate(searcher, load_queries(VALIDATION))
    assert report.acc1 >= 0.92
    assert report.oos_rejection >= 0.78
    assert report.false_rejection <= 0.09


def test_quality_gate_on_the_probe_held_out_half(searcher):
    # Measured 0.849 acc@1, 0.949 out-of-scope rejection, 0.080 false rejection (docs/quality.md;
    # 199 in scope, 39 out of scope): a probe of harder questions than the other sets.
    report = evaluate(searcher, load_queries(PROBE, "test"))
    assert report.acc1 >= 0.80
    assert report.oos_rejection >= 0.87
    assert report.false_rejection <= 0.13


def test_quality_gate_on_the_searchbox_held_out_half(searcher):
    # Measured 0.920 acc@1, 0.879 out-of-scope rejection, 0.040 false rejection (docs/quality.md;
    # 199 in scope, 33 out of scope): head words, half-typed questions and agents' keywords.
    report = evaluate(searcher, load_queries(SEARCHBOX, "test"))
    assert report.acc1 >= 0.87
    assert report.oos_rejection >= 0.75
    assert report.false_rejection <= 0.10


def test_shipped_phrasings_bring_up_their_own_article(searcher):
    # Each similar question searched with itself hidden (`faq-search confusions`): measured 0.794 of
    # 2,546 (docs/quality.md). An edit that files phrasings under the wrong article, or copies one
    # article's phrasings into another, lowers it without any labelled query noticing at first.
    report = find_confusions(searcher)
    assert report.searched == report.available > 2000
    assert report.first / report.searched >= 0.75
    # Without itself, a phrasing may find nothing (the one English phrasing of its article): a few.
    assert sum(not c.taken_by for c in report.confusions) <= 5


def test_a_filter_never_makes_another_article_the_confident_answer(searcher):
    # The no-answer model judges the best candidate it is shown: within a category, the best of a few
    # unrelated articles. A review found 40 confident wrong answers over these queries and categories.
    for q in ["忘记登录密码怎么办", "密码", "退款", "冻结", "钱转错人了咋办", "提现多久到账", "怎么联系人工客服"]:
        overall = searcher.search(q, k=1)
        for category in searcher.categories:
            hits = searcher.search(q, k=3, category=category)
            if hits and hits[0].confident:
                assert overall and overall[0].confident and overall[0].id == hits[0].id, (q, category)
    best = searcher.search("忘记登录密码怎么办", k=1)[0]  # the answer stays the answer inside its category
    assert best.confident and searcher.search("忘记登录密码怎么办", k=3, category=best.category)[0].confident


def test_a_filter_keeps_the_order_and_scores_of_the_unfiltered_search(searcher):
    # Reranked among the category's candidates alone, the features reading a candidate's rank and gap to the
    # best reordered them: 5 of ~1,600 labelled queries got another first article inside the best hit's own
    # category, 38 another order, 747 other scores.
    queries = [*load_queries(TUNING), *load_queries(VALIDATION), *load_queries(QUERIES, "dev")]
    for lq in queries:
        overall = searcher.search(lq.query)
        if not overall:
            continue
        category = overall[0].category
        kept = [(h.id, round(h.score, 9), h.confident) for h in overall if h.category == category]
        within = [(h.id, round(h.score, 9), h.confident) for h in searcher.search(lq.query, category=category)]
        # Besides these, the filter may find articles the unfiltered search did not return.
        shared = [x for x in within if x in kept]
        assert within[0] == kept[0] and shared == kept[: len(shared)], lq.query


def test_homophone_typos_get_the_answer_the_words_typed_right_get(searcher):
    # A review's typos: the right article came first but was not confident, so the page said "no answer".
    for typed, meant in [("充直失败", "充值失败"), ("客福电话", "客服电话"), ("登路不上去", "登录不上去"),
                         ("闪腿", "闪退"), ("扫妈付款", "扫码付款"),
                         # the typo cut a longer word short, leaving a word: 银行 + 咔, 手续 + 废
                         ("银行咔丢了", "银行卡丢了"), ("手续废多少", "手续费多少"),
                         # two characters, one typed right: as typed, every refund article alike
                         ("退宽", "退款")]:
        hits, right = searcher.search(typed, k=1), searcher.search(meant, k=1)
        assert hits[0].confident and hits[0].id == right[0].id, typed
    assert searcher.respelled_typos("银行咔丢了") == "银行卡丢了"
    assert searcher.respelled_typos("充值失败") is None
    # 养老保险 is rare in jieba's dictionary (3) but made of common words (养老, 保险): typed right, kept.
    # Respelled once (险交 → 先交), it found a scam warning the question as typed did not bring up first.
    assert searcher.respelled_typos("养老保险交够多少年能领") is None
    hits = searcher.search("养老保险交够多少年能领", k=3)
    assert not (hits and hits[0].confident)


def test_taiwan_and_hong_kong_questions_get_the_answer_their_mandarin_twin_gets(searcher):
    # A review: for 13 of 83 such questions the right article came first, yet not as the answer.
    for typed, meant in [("點樣轉帳俾朋友", "怎样转账给朋友"), ("客服專線幾號", "客服热线几号"),
                         ("信用卡可以儲值嗎", "信用卡可以充值吗"), ("臉部辨識一直失敗", "人脸识别一直失败"),
                         ("儲值咗但係餘額冇變", "充值了但是余额没有变"), ("積分點樣換禮物", "积分怎么换礼物")]:
        hits, right = searcher.search(typed, k=1), searcher.search(meant, k=1)
        assert hits[0].confident and hits[0].id == right[0].id, typed
    # Words of their own, in the articles' questions: 入錢 (top up), lag.
    for typed, expected in [("點樣入錢去易錢包", "topup-withdraw-how-to-top-up"), ("個App好lag 成日轉圈", "app-slow-loading")]:
        hits = searcher.search(typed, k=1)
        assert hits[0].confident and hits[0].id == expected, typed


def test_a_service_we_do_not_offer_is_not_answered_through_a_word_it_shares(searcher):
    # A review: USDT咋提现到银行卡 got how to withdraw and 社保卡 the bank cards' answers, confidently.
    for query, service in [("USDT咋提现到银行卡", "USDT"), ("社保卡能绑定吗", "社保"), ("理财能买股票吗", "股票")]:
        hits = searcher.search(query, k=3)
        assert not hits[0].confident and searcher.other_product(query, hits) == service, query
    # No question of the scam article names 保险 (one that did let an insurance question of the test half
    # through): the 百万保障 call said with 保险 is not answered, but its article still comes first.
    assert searcher.search("说我开了百万保险不取消每月扣钱", k=1)[0].id == "security-fraud-identify"


def test_the_banks_business_is_sent_to_the_bank_and_a_scam_naming_it_is_still_answered(searcher):
    # scope.yml's ask: a credit card is ours to bind and repay, applying for one is the bank's.
    for query, business, whom in [("办信用卡要带什么材料", "办信用卡", "发卡银行"), ("银行卡取款密码被锁了", "取款密码", "开户银行")]:
        hits = searcher.search(query, k=3)
        other = searcher.other_product(query, hits)
        assert not hits[0].confident and (other, searcher.whom_to_ask(other)) == (business, whom), query
    # A scam that names a loan is ours to warn about: its article names 贷款 too.
    hit = searcher.search("有人说帮我办贷款 要先交500块手续费", k=1)[0]
    assert hit.id == "security-pay-first-scams" and hit.confident


def test_colloquial_words_find_their_article(searcher):
    # 提出来 is 提现 and 撤销 撤回; a slow withdrawal is not a slow app, nor 诈骗电话 a scam to identify.
    for query, expected in [("我想把易钱包里面的两万块钱提出来要收多少手续费", "topup-withdraw-withdraw-fee"),
                            ("撤销转账", "transfer-wrong-recipient"), ("提现为啥慢成这样", "topup-withdraw-withdraw-arrival"),
                            ("你们泄露我信息了吧 天天接到诈骗电话", "security-info-leaked")]:
        hits = searcher.search(query, k=1)
        assert hits[0].confident and hits[0].id == expected, query


def test_metrics_on_a_hand_made_case(searcher):
    queries = [
        LabelledQuery("忘记登录密码了怎么办", ("password-forgot-login-password",)),
        LabelledQuery("今天天气怎么样", ()),
    ]
    report = evaluate(searcher, queries)
    assert report.acc1 == 1.0 and report.mrr10 == 1.0 and report.oos_rejection == 1.0
    assert report.false_rejection == 0.0 and report.failures == []


def test_eval_refuses_labels_naming_no_article(real_index, tmp_path, capsys):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"query": "提現要幾天", "expected": "topup-withdraw-withdraw-arrival"}, ensure_ascii=False)
                    + "\n" + json.dumps({"query": "钱转错人了", "expected": ["renamed-article"]}, ensure_ascii=False) + "\n",
                    "utf-8")
    assert main(["eval", "--index", str(real_index), "--queries", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2: expects 'renamed-article'" in err and "nothing measured" in err


def test_eval_command_prints_json_and_failures(real_index, tmp_path, capsys):
    path = tmp_path / "q.jsonl"
    path.write_text(
        json.dumps({"query": "提現要幾天", "expected": "topup-withdraw-withdraw-arrival"}, ensure_ascii=False) + "\n"
        + json.dumps({"query": "我的猫不吃饭", "expected": "service-human-agent"}, ensure_ascii=False) + "\n", "utf-8")
    assert main(["eval", "--index", str(real_index), "--queries", str(path), "--json", "--failures"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["in_scope"] == 2 and body["acc1"] == 0.5
    assert body["failures"][0]["query"] == "我的猫不吃饭"
    assert main(["eval", "--index", str(real_index), "--queries", str(path), "--failures"]) == 0
    text = capsys.readouterr().out
    assert "acc@1 0.500" in text and "我的猫不吃饭" in text and "topup-withdraw" in text
