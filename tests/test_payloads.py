"""The /api/search body is encoded by hand around cached article parts: it must equal json's output."""

import json

from faq_search import Searcher
from faq_search.corpus import Article
from faq_search.search import Hit, Why
from faq_search.web.payloads import SearchPayloads, related_of

AWKWARD = 'quote " backslash \\ tab \t newline \n nul \x00 bell \x07 emoji 😀 line sep \u2028 全角ＡＢＣ'


def expected(s: Searcher, h: Hit) -> dict:
    """A result as /api/search gives it: the hit and its related articles."""
    return {**h.to_dict(), "related": related_of(s, h.id)}


def test_each_result_encodes_as_json_would(tiny_index, tiny_analyzer):
    s = Searcher.load(tiny_index, analyzer=tiny_analyzer)
    payloads = SearchPayloads(s)
    seen = set()
    for query in ("密码忘了", "转错人了能退回吗", "提現要幾天", "冻结", "取现几天到账", "联系客服"):
        for h in s.search(query, k=10):
            assert json.loads(payloads.hit(h)) == expected(s, h)
            seen.update(f for f in ("answer_terms", "synonyms") if getattr(h, f))
    assert seen == {"answer_terms", "synonyms"}  # both encoded non-empty somewhere


def test_awkward_strings_and_numbers_survive_the_hand_encoding(tiny_index, tiny_analyzer):
    s = Searcher.load(tiny_index, analyzer=tiny_analyzer)
    article = Article(id="odd-" + AWKWARD, question=AWKWARD, answer=AWKWARD + "答", category="c", tags=(AWKWARD,),
                      updated="2026-11-23T00:00:00Z", aliases=("odd-old", AWKWARD))
    hit = Hit(id=article.id, score=1 / 3, category=AWKWARD, tags=(AWKWARD, "b"), confident=True, source=lambda: article,
              explain=lambda: Why(AWKWARD, (AWKWARD, "密码"), ((AWKWARD, 2 / 3), ("密码", 1e-9), ("答", 0.5), ("x", 0.25)),
                                  ("答",), (("x", AWKWARD, "answer"),)))
    body = SearchPayloads(s).hit(hit)
    assert json.loads(body) == expected(s, hit)
    assert "😀" in body and "全角" in body  # not escaped to \\u sequences
    assert json.loads(SearchPayloads(s).results([hit, hit]))[1]["matched"] == AWKWARD
    assert json.loads(body)["synonyms"] == [{"query": "x", "matched": AWKWARD, "in": "answer"}]
    # A Hit explained the older way (three fields) still encodes, with nothing found elsewhere.
    old = Hit(id="a", score=0.5, category="c", tags=(), source=lambda: article, explain=lambda: ("m", ("m",), (("m", 1.0),)))
    assert json.loads(SearchPayloads(s).hit(old)) == expected(s, old)
    assert old.to_dict()["answer_terms"] == [] and old.to_dict()["synonyms"] == []
