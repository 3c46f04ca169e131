"""Typed pinyin read as the index's words (faq_search/pinyin.py), and through Searcher.search."""

import pytest

from faq_search import Searcher
from faq_search.pinyin import PinyinReader, may_hold_pinyin

WORDS = [("扫码", 3.0), ("付款", 2.0), ("余额", 2.5), ("不足", 4.0), ("支付", 1.0), ("知府", 9.0),
         ("人工客服", 5.0), ("水费", 6.0), ("忘了", 2.0), ("a", 1.0), ("易钱包", 1.5)]
CHARS = "扫码付款余额不足支付知府人工客服水费忘了交我想吃易钱包"


@pytest.fixture(scope="module")
def reader():
    return PinyinReader(WORDS, CHARS)


def never_known(token):
    return False


@pytest.mark.parametrize("typed, read", [
    ("sao ma fu kuan", "扫码付款"),   # spaced syllables
    ("saomafukuan", "扫码付款"),      # run together
    ("yu e bu zu", "余额不足"),       # a word across typed tokens
    ("ren gong ke fu", "人工客服"),
    ("zhifu", "支付"),               # homophones: the index's most frequent word wins
    ("jiao shui fei", "jiao水费"),    # a syllable no word covers stays as typed
    ("yiqianbao怎么用", "易钱包怎么用"),
])
def test_pinyin_becomes_the_words_of_the_index(reader, typed, read):
    assert reader.read(typed, never_known) == read


@pytest.mark.parametrize("typed", [
    "i love you", "hello", "what is the capital of france",  # English: not all syllables
    "jiao", "wo", "a",                                        # a lone syllable is never a guess
    "zxcv", "ios12", "",
])
def test_other_latin_text_stays_as_typed(reader, typed):
    assert reader.read(typed, never_known) == typed


def test_tokens_analysis_already_knows_are_left_alone(reader):
    assert reader.read("zhifu mima", lambda t: t == "mima") == "支付mima"
    assert reader.read("fukuan", lambda t: t == "fukuan") == "fukuan"


@pytest.mark.parametrize("typed, said", [
    ("sao ma fu kuan", {"扫码": "sao ma", "付款": "fu kuan", "扫码付款": "sao ma fu kuan", "码付": "ma fu"}),
    ("saomafukuan", {"扫码": "saoma", "付款": "fukuan"}),
    ("我想 zhifu", {"支付": "zhifu", "我想": None}),            # beside Chinese, kept as typed
    ("jiao shui fei", {"水费": "shui fei", "jiao": None}),     # a syllable left as typed was not read
    ("yu e不足", {"余额": "yu e", "额不": "e不", "不足": None}),  # a word half read, half typed
])
def test_a_reading_tells_what_each_word_read_was_typed_as(reader, typed, said):
    reading = reader.read_traced(typed, never_known)
    assert reading.read == reader.read(typed, never_known)
    for word, pinyin in said.items():
        at = reading.read.index(word)
        assert reading.typed(at, at + len(word)) == pinyin, word


def test_a_reader_without_words_changes_nothing():
    assert PinyinReader([], "").read("sao ma", never_known) == "sao ma"


def test_only_text_with_letters_is_looked_at():
    assert may_hold_pinyin("sao ma") and may_hold_pinyin("ＳＡＯ") and not may_hold_pinyin("扫码 123")


TYPO_WORDS = [("密码", 1.0), ("充值", 2.0), ("客服", 2.0), ("易钱包", 1.0), ("易钱宝", 3.0), ("哪天", 5.0)]


@pytest.fixture(scope="module")
def typo_reader():
    return PinyinReader(TYPO_WORDS, "密码充值客服易钱包宝哪天")


def respell(reader, text, fixed=(), is_word=lambda piece: False, stopwords=frozenset("的了吗")):
    """``text`` respelled, with the characters at positions ``fixed`` inside recognised words."""
    return reader.respell_homophones(text, [i in fixed for i in range(len(text))], is_word, stopwords)


@pytest.mark.parametrize("typed, meant", [
    ("密马忘了", "密码忘了"),
    ("充直失败", "充值失败"),
    ("人工可服", "人工客服"),          # the first character the one mistyped
    ("易前宝是啥", "易钱宝是啥"),      # 易钱包 reads the same and is commoner, but keeps fewer of what was typed
])
def test_homophone_typos_become_the_index_words(typo_reader, typed, meant):
    assert respell(typo_reader, typed) == meant


def test_what_is_a_word_or_inside_one_is_never_respelled(typo_reader):
    assert respell(typo_reader, "密马忘了", fixed={0, 1}) == "密马忘了"           # 密马 recognised as a word
    assert respell(typo_reader, "密马忘了", is_word=lambda p: p == "密马") == "密马忘了"
    assert respell(typo_reader, "那天", stopwords=frozenset("那")) == "那天"   # a stop word is grammar, not a typo
    assert respell(typo_reader, "那天", stopwords=frozenset()) == "哪天"
    assert respell(typo_reader, "米马") == "米马"                             # shares no character with 密码
    assert respell(typo_reader, "密码") == "密码"


def test_a_typo_that_leaves_a_shorter_word_is_respelled_around_it():
    # 银行咔: analysis recognises 银行, and 咔 is the typo; 行 reads hang in 银行 (its first reading is xing).
    reader = PinyinReader([("银行卡", 1.0)], "银行卡")
    assert respell(reader, "银行咔", fixed={0, 1}) == "银行卡"
    assert respell(reader, "银行咔", fixed={0, 1, 2}) == "银行咔"   # all of it recognised
    assert respell(reader, "银航卡", fixed={1}) == "银航卡"         # a recognised character is never the one replaced
    assert respell(reader, "银航卡") == "银行卡"
    assert respell(reader, "银行的", fixed={0, 1}, stopwords=frozenset("的")) == "银行的"


@pytest.fixture
def searcher(tiny_index, tiny_analyzer):
    return Searcher.load(tiny_index, analyzer=tiny_analyzer)


@pytest.mark.parametrize("query, expected", [
    ("wangji denglu mima", "pw-login"),
    ("zhi fu mi ma wang le", "pw-pay"),
    ("ZHUAN CUO REN LE", "tr-wrong"),       # upper case, and full width below
    ("ｔｉｘｉａｎ ｄａｏｚｈａｎｇ", "wd-time"),
])
def test_search_reads_typed_pinyin(searcher, query, expected):
    hits = searcher.search(query)
    assert hits and hits[0].id == expected
    # Why it matched: the words the pinyin was read as, told as read (not as typed, nor as synonyms).
    assert hits[0].read_as and not hits[0].matched_terms and not hits[0].synonyms


def test_a_word_read_from_pinyin_found_as_a_synonym_is_told_both_ways(searcher):
    # tixian is read as 提现; the phrasing holding the most of the query holds its synonym 取现.
    hit = searcher.search("tixian 什么时候")[0]
    assert (hit.id, hit.matched) == ("wd-time", "取现什么时候到银行卡")
    assert hit.read_as == (("tixian", "提现", "matched"),) and hit.synonyms == (("提现", "取现", "matched"),)
    assert hit.matched_terms == ("什么", "时候") and [t for t, _w in hit.term_weights] == ["什么", "时候", "提现"]


def test_pinyin_of_a_query_respelled_for_its_typos_is_still_told_as_read(searcher):
    # 取线 is a typo (取现): searched again respelled, whose text is all Chinese (多久 read from duojiu);
    # duojiu is still told as read, not as if 多久 had been typed.
    assert searcher.respelled_typos("取线 duojiu dao") is not None
    hit = searcher.search("取线 duojiu dao")[0]
    assert hit.confident and ("duojiu", "多久", "matched") in hit.read_as and "多久" not in hit.matched_terms


def test_search_of_english_finds_nothing_in_a_chinese_index(searcher):
    assert searcher.search("what a lovely day") == []


def test_the_reader_is_built_only_for_a_question_that_may_hold_a_typo(searcher):
    # Building it imports pypinyin and reads every index word (≈ 0.9 s in a fresh CLI process on the real
    # knowledge base): a question whose every word is a word, or one that found nothing at all (within
    # a filter too: a respelled answer must be among what was found), cannot be respelled.
    hits = searcher.search("今天的天气怎么样")
    assert hits and not hits[0].confident  # a question it may have misread: the second chance is considered
    assert searcher.search("密马忘了", category="withdraw") == []
    assert "_pinyin_reader" not in searcher.__dict__
    assert searcher.respelled_typos("取线多久到") is not None  # a typo (取现): respelled, as before
    assert "_pinyin_reader" in searcher.__dict__


def test_a_query_needing_the_reader_while_a_thread_prepares_it_waits_for_that_one(searcher, monkeypatch):
    import threading

    # The CLI's prompt prepares it while the agent types: a question typed before it is done must not
    # build a second one beside it (twice the CPU, on the same 2 cores).
    started, release, built = threading.Event(), threading.Event(), []
    make = PinyinReader.__init__

    def slow(self, *args):
        built.append(threading.current_thread().name)
        started.set()
        release.wait(5)
        make(self, *args)

    monkeypatch.setattr(PinyinReader, "__init__", slow)
    preparing = threading.Thread(target=searcher.prepare_pinyin, name="preparing")
    preparing.start()
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()
    assert searcher.search("tixian")[0].id == "wd-time"  # waits for the reader being built
    preparing.join(5)
    assert built == ["preparing"]
