"""The /api/search body is encoded by hand around cached article parts: it must equal json's output."""

import json

from faq_search import Searcher
from faq_search.corpus import Article
from faq_search.search import Hit
from faq_search.web.payloads import SearchPayloads, related_of

AWKWARD = 'quote " backslash \\ tab \t newline \n nul \x00 bell \x07 emoji 😀 line sep \u2028 全角ＡＢＣ'


def expected(s: Searcher, h: Hit) -> dict:
    return {**h.to_dict(), "related": related_of(s, h.id)}


def test_each_result_encodes_as_json_would(tiny_index, tiny_analyzer):
    s = Searcher.load(tiny_index, analyzer=tiny_analyzer)
    payloads = SearchPayloads(s)
    for query in ("密码忘了", "转错人了能退回吗", "提現要幾天", "冻结"):
        for h in s.search(query, k=10):
            assert json.loads(payloads.hit(h)) == expected(s, h)


def test_awkward_strings_and_numbers_survive_the_hand_encoding(tiny_index, tiny_analyzer):
    s = Searcher.load(tiny_index, analyzer=tiny_analyzer)
    article = Article(id="odd-" + AWKWARD, question=AWKWARD, answer=AWKWARD + "答", category="c", tags=(AWKWARD,),
                      updated="2026-11-23T00:00:00Z")
    hit = Hit(id=article.id, score=1 / 3, category=AWKWARD, tags=(AWKWARD, "b"), confident=True, source=lambda: article,
              explain=lambda: (AWKWARD, (AWKWARD, "密码"), ((AWKWARD, 2 / 3), ("密码", 1e-9))))
    body = SearchPayloads(s).hit(hit)
    assert json.loads(body) == expected(s, hit)
    assert "😀" in body and "全角" in body  # not escaped to \\u sequences
    assert json.loads(SearchPayloads(s).results([hit, hit]))[1]["matched"] == AWKWARD
