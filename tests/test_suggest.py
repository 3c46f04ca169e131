"""Question completions: Chinese substrings, pinyin in full or as initials, fast."""

import json
import time

import pytest

from faq_search.corpus import Article, load_corpus
from faq_search.suggest import Suggester
from tests.conftest import REAL_CORPUS, assert_error


@pytest.fixture(scope="module")
def tiny_suggester(tiny_analyzer):
    from tests.conftest import TINY_ARTICLES

    articles = [
        Article(id=a["id"], question=a["question"], answer=a["answer"], similar_questions=tuple(a.get("similar", ())),
                category=a["category"])
        for a in TINY_ARTICLES.values()
    ]
    articles.append(Article(id="app", question="App 打不开怎么办？", answer="重装。", category="password"))
    return Suggester(articles, tiny_analyzer.normalize)


def ids(suggestions):
    return [s.id for s in suggestions]


@pytest.mark.parametrize(
    "typed, first",
    [
        ("忘记", "pw-login"),          # Chinese prefix of the standard question
        ("支付", "pw-pay"),            # substring
        ("转错", "tr-wrong"),
        ("mima", "pw-login"),          # full pinyin
        ("mm", "pw-login"),            # initials
        ("tixian", "wd-time"),
        ("tix", "wd-time"),            # the last syllable may be partial
        ("TiXian", "wd-time"),         # case does not matter
        ("ti xian", "wd-time"),        # nor spaces between syllables
        ("忘记zhifu", "pw-pay"),       # Chinese, then pinyin
        ("zfmm", "pw-pay"),
        ("取現", "wd-time"),           # traditional characters
        ("app", "app"),                # Latin text in a question
    ],
)
def test_completions(tiny_suggester, typed, first):
    got = tiny_suggester.suggest(typed)
    assert got and got[0].id == first, [(s.id, s.matched) for s in got]


@pytest.mark.parametrize("typed", ["lvyou", "lüyou", "LÜYOU", "lǚyou", "lu:you", "lü", "lǘ you", "chūguó lǚ"])
def test_u_umlaut_and_tone_marks_read_as_the_toneless_v(tiny_analyzer, typed):
    # pypinyin writes 旅 lv: ü as typed (or u: on a keyboard without it) and tone marks are the same syllable.
    trip = Article(id="trip", question="出国旅游能用吗？", answer="能。", category="password")
    assert ids(Suggester([trip], tiny_analyzer.normalize).suggest(typed)) == ["trip"]


def test_pinyin_matches_start_at_a_syllable(tiny_suggester):
    # "ima" occurs inside "mima" but no syllable starts with it.
    assert tiny_suggester.suggest("ima") == []
    assert tiny_suggester.suggest("xyzxyz") == [] and tiny_suggester.suggest("  ") == []


def test_password_questions_for_mima_and_mm(tiny_suggester):
    for typed in ("mima", "mm"):
        assert set(ids(tiny_suggester.suggest(typed))) == {"pw-login", "pw-pay"}


def test_span_points_at_the_matched_characters(tiny_suggester):
    s = tiny_suggester.suggest("tixian")[0]
    assert s.question == "提现多久到账？" and s.matched[s.span[0]:s.span[1]] == "提现"
    s = tiny_suggester.suggest("dabukai")[0]  # after a space the original has and the match has not
    assert s.matched == "App 打不开怎么办？" and s.matched[s.span[0]:s.span[1]] == "打不开"
    s = tiny_suggester.suggest("zhifumima")[0]
    assert s.matched[s.span[0]:s.span[1]] == "支付密码"
    assert tiny_suggester.suggest("忘记")[0].to_dict()["span"] == [0, 2]


def test_prefix_of_the_standard_question_ranks_first(tiny_suggester):
    # "密码想不起来登不上" (a similar question) starts with 密码, but a standard question starting with it would
    # win; here none does, so the similar-question prefix leads.
    got = tiny_suggester.suggest("密码")
    assert got[0].id == "pw-login" and got[0].matched.startswith("密码")
    assert got[0].question == "忘记登录密码怎么办？"


def test_k_category_and_one_letter(tiny_suggester):
    assert len(tiny_suggester.suggest("m", k=1)) <= 1
    assert all(s.category == "withdraw" for s in tiny_suggester.suggest("t", category="withdraw"))
    # One letter matches only phrases that start with it (ti 提现, not ...tian...)
    assert ids(tiny_suggester.suggest("t")) == ["wd-time"]


@pytest.fixture(scope="module")
def real_suggester(real_analyzer):
    return Suggester(load_corpus(REAL_CORPUS).articles, real_analyzer.normalize)


def test_real_corpus_pinyin(real_suggester):
    assert all("密码" in s.question or "密" in s.matched for s in real_suggester.suggest("mima"))
    assert len(real_suggester.suggest("mima")) == 8
    assert all("提现" in s.matched for s in real_suggester.suggest("tixian"))


@pytest.mark.parametrize("typed", ["密", "密码", "mima", "mm", "m", "tix", "zz", "转", "ka", "怎么", "app", "qb"])
def test_stopping_early_keeps_the_full_ranking(real_suggester, typed):
    # Each scan stops after k articles; the first k must be those of a scan that never stops.
    full = [(s.id, s.matched, s.span) for s in real_suggester.suggest(typed, k=10_000)]
    for k in (1, 3, 8):
        assert [(s.id, s.matched, s.span) for s in real_suggester.suggest(typed, k=k)] == full[:k]
    for category in ("password", "transfer"):
        in_category = [(s.id, s.matched, s.span) for s in real_suggester.suggest(typed, k=10_000, category=category)]
        assert [(s.id, s.matched, s.span) for s in real_suggester.suggest(typed, k=3, category=category)] == in_category[:3]


def test_a_phrase_opening_with_punctuation_is_no_prefix_match(tiny_analyzer):
    # "，我借" reads wj from its second character: a substring match, ranked after the three
    # phrases that start with wj, however short it is.
    texts = ["，我借", "我进不去", "我几天到账", "我积分呢"]
    articles = [Article(id=f"a{i}", question=t, answer="…", category="c") for i, t in enumerate(texts)]
    suggester = Suggester(articles, tiny_analyzer.normalize)
    assert ids(suggester.suggest("wj", k=3)) == ["a1", "a3", "a2"]  # shorter first
    assert ids(suggester.suggest("wj", k=4)) == ["a1", "a3", "a2", "a0"]


def test_scans_start_where_the_query_first_occurs(tiny_analyzer):
    # 密码 occurs first inside 改密码 (a substring), then at the start of the longer phrase.
    texts = ["改密码", "密码忘了怎么办"]
    articles = [Article(id=f"a{i}", question=t, answer="…", category="c") for i, t in enumerate(texts)]
    suggester = Suggester(articles, tiny_analyzer.normalize)
    assert ids(suggester.suggest("密码")) == ["a1", "a0"]  # the prefix match first
    assert ids(suggester.suggest("改密")) == ["a0"] and suggester.suggest("忘记密码") == []
    # No phrase has the pair 忘记: answered without a scan. 码忘 (inside 密码忘了) is scanned for and found.
    assert not suggester._text.may_contain("忘记") and ids(suggester.suggest("码忘")) == ["a1"]
    assert Suggester([], tiny_analyzer.normalize).suggest("密码") == []


def typed_prefixes() -> list[str]:
    """What visitors type, keystroke by keystroke: every prefix of the eval queries, plus pinyin."""
    lines = (REAL_CORPUS / "eval" / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    queries = [json.loads(line)["query"] for line in lines if line.strip()]
    typed = {q[:i] for q in queries for i in range(1, min(len(q), 8) + 1)}
    typed |= {"mima", "mm", "tixian", "tix", "zfmm", "wangjimima", "忘记mi", "zhuanzhang", "kefu", "wd", "xyk"}
    return sorted(typed)


def test_gram_index_finds_what_a_scan_finds(real_suggester, monkeypatch):
    # MAX_GRAM_PLACES decides between the gram index and str.find: both must give the same suggestions.
    import faq_search.suggest as suggest_module

    typed = typed_prefixes()
    assert len(typed) > 2000
    results = {}
    for limit in (0, suggest_module.MAX_GRAM_PLACES, 10**9):  # always scan, as shipped, always listed
        monkeypatch.setattr(suggest_module, "MAX_GRAM_PLACES", limit)
        results[limit] = [[(s.id, s.matched, s.span) for s in real_suggester.suggest(t, k=k, category=c)]
                          for t in typed for k, c in ((8, None), (3, "transfer"))]
    assert results[0] == results[suggest_module.MAX_GRAM_PLACES] == results[10**9]
    assert sum(map(bool, results[0])) > 1000  # most prefixes have suggestions


@pytest.mark.parametrize("chunk", [5, 1 << 20])
def test_gram_keys_group_places_like_sorting_the_codes(real_suggester, monkeypatch, chunk):
    # Ranked alphabets packed with places into one key (the build's way) against sorting the codes
    # themselves: the same grams, starts and places, also when chunks split a gram or a phrase.
    import numpy as np

    import faq_search.suggest as suggest_module

    monkeypatch.setattr(suggest_module, "_GRAM_CHUNK", chunk)
    texts = [(real_suggester._text.text[:3000], 2), (real_suggester._full.text[:3000], 3),
             (real_suggester._initials.text[:3000], 3), ("\n", 2), ("a\n", 3), ("提现\n提\n\n现金提现\n", 2)]
    if chunk > 5:
        texts += [(h.text, g) for h, g in ((real_suggester._text, 2), (real_suggester._full, 3))]
    for text, g in texts:
        keyed = suggest_module._gram_index(text, g)
        sorted_codes = suggest_module._gram_index_sorting_codes(text, g)
        for a, b in zip(keyed, sorted_codes):
            assert a.dtype == b.dtype and np.array_equal(a, b), (text[:20], g)
    # An alphabet too large for one key falls back to sorting the codes.
    wide = "".join(map(chr, [*range(0x4E00, 0xA000), *range(0x20000, 0x25000)])) + "\n"
    monkeypatch.setattr(suggest_module, "_gram_index_sorting_codes", lambda text, g: "fallback")
    assert suggest_module._gram_index(wide * 3, 3) == "fallback"


@pytest.mark.timing
def test_suggest_is_fast_on_the_real_corpus(real_suggester):
    queries = ["mima", "mm", "tixian", "tix", "忘记mi", "提现", "提", "密码", "app", "zfmm", "m", "zh", "忘记登录密码怎么办"]
    times = []
    for _ in range(30):
        for q in queries:
            t0 = time.perf_counter()
            real_suggester.suggest(q)
            times.append(time.perf_counter() - t0)
    times.sort()
    assert times[len(times) // 2] < 0.002, f"median {times[len(times) // 2] * 1000:.2f} ms"


def test_api_suggest(client):
    body = client.get("/api/suggest", query_string={"q": "mima"}).get_json()
    assert set(body) == {"query", "suggestions", "took_ms", "index_version"}
    assert {s["id"] for s in body["suggestions"]} == {"pw-login", "pw-pay"}
    assert set(body["suggestions"][0]) == {"id", "question", "category", "matched", "span"}
    assert [s["id"] for s in client.get("/api/suggest?q=mima&k=1").get_json()["suggestions"]] == ["pw-login"]
    assert client.get("/api/suggest?q=mima&category=withdraw").get_json()["suggestions"] == []
    assert_error(client.get("/api/suggest?q="), 400, "missing_query")
    assert_error(client.get("/api/suggest?q=mima&k=9"), 400, "invalid_k")
    assert_error(client.get("/api/suggest?q=mima&category=nope"), 400, "unknown_category")


def test_published_completions_answer_like_the_built_ones(real_suggester, real_analyzer, tmp_path):
    from faq_search.completions import load_completions, write_completions

    assert load_completions(tmp_path, "v1") is None  # none published (yet)
    write_completions(tmp_path, "v1", real_suggester)
    loaded = load_completions(tmp_path, "v1", real_analyzer.normalize)
    assert isinstance(loaded._text.gram_places.base.base, __import__("mmap").mmap)  # mapped, not read into memory
    for t in typed_prefixes():
        for k, category in ((8, None), (3, "transfer")):
            assert ([s.to_dict() for s in loaded.suggest(t, k=k, category=category)]
                    == [s.to_dict() for s in real_suggester.suggest(t, k=k, category=category)]), t
    empty = Suggester([], real_analyzer.normalize)
    write_completions(tmp_path, "v0", empty)
    assert load_completions(tmp_path, "v0").suggest("密码") == []


def test_corrupt_published_completions_are_refused(tiny_suggester, tmp_path):
    from faq_search.completions import load_completions, write_completions

    d = write_completions(tmp_path, "v1", tiny_suggester)
    places = d / "text.gram_places.npy"
    data = bytearray(places.read_bytes())
    data[-1] ^= 1
    places.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum mismatch in text.gram_places.npy"):
        load_completions(tmp_path, "v1")
    places.unlink()
    with pytest.raises(ValueError, match="missing file"):
        load_completions(tmp_path, "v1")


def test_completions_of_pruned_versions_go_with_them(make_corpus, tmp_path, tiny_analyzer):
    from faq_search.build import build_index
    from faq_search.completions import DIRNAME
    from faq_search.index import read_current
    from tests.conftest import TINY_ARTICLES

    out = tmp_path / "ix"
    for n in range(4):
        extra = {"id": f"x{n}", "question": f"第{n}个问题怎么办？", "category": "password", "answer": "这样办。"}
        build_index(make_corpus({**TINY_ARTICLES, "password/x.md": extra}, name=f"c{n}"), out, analyzer=tiny_analyzer)
    kept = {p.name for p in (out / "versions").iterdir() if not p.name.startswith(".")}
    assert read_current(out) in kept and len(kept) == 2
    assert {p.name for p in (out / DIRNAME).iterdir()} == kept


def test_an_answer_only_entry_completes_by_its_lead_sentence(tmp_path, tiny_analyzer):
    from faq_search.build import build_index
    from faq_search.completions import load_completions

    kb = tmp_path / "kb.jsonl"
    kb.write_text(json.dumps({"id": "notice", "answer": "数字人民币钱包暂停充值。恢复时间另行通知。"}, ensure_ascii=False) + "\n"
                  + json.dumps({"id": "q", "question": "钱包怎么充值？", "answer": "在首页点充值。"}, ensure_ascii=False) + "\n",
                  "utf-8")
    version = build_index(kb, tmp_path / "ix", analyzer=tiny_analyzer).version
    found = load_completions(tmp_path / "ix", version).suggest("数字")
    assert [(s.id, s.question) for s in found] == [("notice", "数字人民币钱包暂停充值。")]


def _same_data(a: Suggester, b: Suggester) -> None:
    (arrays_a, lists_a), (arrays_b, lists_b) = a.to_arrays(), b.to_arrays()
    assert arrays_a.keys() == arrays_b.keys()
    for name in arrays_a:
        assert arrays_a[name].dtype == arrays_b[name].dtype and (arrays_a[name] == arrays_b[name]).all(), name
    assert lists_a == lists_b and list(lists_a["char_pinyin"]) == list(lists_b["char_pinyin"])


def test_a_suggester_built_from_an_earlier_one_equals_one_built_afresh(real_suggester, real_analyzer, tmp_path):
    import dataclasses

    from faq_search.completions import load_completions, write_completions

    before = list(load_corpus(REAL_CORPUS).articles)
    after = list(before)
    # An edit: phrasings dropped and added (one with a character no phrasing had: 璟), a standard
    # question changed, an article removed and one added.
    after[3] = dataclasses.replace(after[3], similar_questions=(*after[3].similar_questions[2:], "换了个问法行不行", "璟字怎么念"))
    after[10] = dataclasses.replace(after[10], question="改过的标准问题")
    del after[20]
    after.append(Article(id="new", question="新文章的问题", answer="答。", category="app", similar_questions=("新問題ＡＢＣ",)))
    afresh = Suggester(after, real_analyzer.normalize)
    write_completions(tmp_path, "v1", real_suggester)
    mapped = load_completions(tmp_path, "v1", real_analyzer.normalize)
    for previous in (real_suggester, mapped, Suggester([], real_analyzer.normalize)):
        reused = Suggester.reusing(previous, after, real_analyzer.normalize)
        _same_data(reused, afresh)
        for t in ("mima", "忘记mi", "xin", "新问", "jing", "璟", "zfmm"):
            assert [s.to_dict() for s in reused.suggest(t)] == [s.to_dict() for s in afresh.suggest(t)], t
    _same_data(Suggester.reusing(mapped, before, real_analyzer.normalize), real_suggester)
    assert Suggester.reusing(real_suggester, [], real_analyzer.normalize).suggest("密码") == []


def test_a_changed_question_gets_completions_built_from_the_previous_ones(make_corpus, tmp_path, tiny_analyzer,
                                                                         monkeypatch):
    from faq_search.build import build_index
    from faq_search.completions import index_suggester, load_completions
    from faq_search.index import load_index
    from tests.conftest import TINY_ARTICLES

    out = tmp_path / "ix"
    build_index(make_corpus(name="c0"), out, analyzer=tiny_analyzer)
    changed = {k: dict(v) for k, v in TINY_ARTICLES.items()}
    changed["withdraw/arrival.md"]["similar"] = ["提现几天到", "提现到账要多长时间"]
    reused = []
    reusing = Suggester.reusing.__func__
    monkeypatch.setattr(Suggester, "reusing", classmethod(lambda cls, *a: reused.append(a[0]) or reusing(cls, *a)))
    version = build_index(make_corpus(changed, name="c1"), out, analyzer=tiny_analyzer).version
    assert len(reused) == 1 and len(reused[0]._ids) == len(TINY_ARTICLES)  # the first version's, mapped
    published = load_completions(out, version, tiny_analyzer.normalize)
    _same_data(published, index_suggester(load_index(out, version), tiny_analyzer.normalize))
    assert [s.matched for s in published.suggest("到账要")] == ["提现到账要多长时间"]


ODD_PHRASES = ["Ｗｉ－Ｆｉ 密码 忘了", "①号柜台㎏ﬁ", "〇元购𠀀是什么", "提現要幾天？", "银行卡  解绑\t了", "app闪退iOS17怎么办",
               "\u200b扫码付款", "xi'an 重庆 长沙", "", "  ", "还款还是还钱", "a1b2 c3"]


def test_phrase_forms_are_pypinyin_reading_each_phrase_whole(real_analyzer):
    """The build's memos (characters normalised once, runs and words read once) change nothing: the
    compact text and syllables of each phrase are those of normalising it character by character
    and of pypinyin reading it word by word."""
    from pypinyin import Style, lazy_pinyin
    from pypinyin.seg.simpleseg import seg

    from faq_search.suggest import _ASCII_ALNUM, _CJK, _Compactor, _Readings, _syllables

    normalize = real_analyzer.normalize
    compact, readings = _Compactor(normalize), _Readings()
    phrases = [q for a in load_corpus(REAL_CORPUS).articles for q in a.questions] + ODD_PHRASES
    for q in phrases + phrases[::-1]:  # met again: from the memos
        kept = [(c, i) for i, ch in enumerate(q) if not ch.isspace() for c in normalize(ch) if not c.isspace()]
        text, orig = compact(q)
        assert (text, list(orig)) == ("".join(c for c, _i in kept), [i for _c, i in kept]), q
        read = [s for w in seg(text) for s in lazy_pinyin(w, style=Style.NORMAL, errors=lambda chunk: list(chunk))]
        expected = ([s if _CJK.match(ch) else (ch if _ASCII_ALNUM.match(ch) else "") for ch, s in zip(text, read)]
                    if len(read) == len(text) else [""] * len(text))
        assert _syllables(text, readings) == expected, q
