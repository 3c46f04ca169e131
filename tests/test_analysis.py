import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faq_search import analysis as analysis_module
from faq_search.analysis import Analyzer, _nfkc, load_user_words
from faq_search.corpus import load_corpus
from tests.conftest import REAL_CORPUS


def test_normalize_full_width_traditional_and_case(tiny_analyzer):
    assert tiny_analyzer.normalize("ＡＰＰ　閃退１２３？") == "app 闪退123?"
    assert tiny_analyzer.normalize("忘記登錄密碼") == "忘记登录密码"
    assert tiny_analyzer.normalize("提\u200b現") == "提现"


def test_traditional_and_simplified_queries_analyse_the_same(tiny_analyzer):
    assert tiny_analyzer.analyze("轉帳轉錯人了怎麼辦") == tiny_analyzer.analyze("转账转错人了怎么办")


def test_full_width_query_analyses_like_half_width(tiny_analyzer):
    assert tiny_analyzer.analyze("ＰＩＮ码忘了") == tiny_analyzer.analyze("PIN码忘了")


@pytest.mark.parametrize("variant, canonical", [("转帐", "转账"), ("咋办", "怎么"), ("取现", "提现"), ("登陆", "登录")])
def test_synonyms_map_to_one_form(tiny_analyzer, variant, canonical):
    words = tiny_analyzer.analyze(f"我想{variant}").words
    assert canonical in words and variant not in words


def test_spelling_variant_is_corrected_inside_a_compound(tiny_analyzer):
    # 登陆密码 is one jieba word; the same-length variant 登陆→登录 still applies.
    assert "登录密码" in tiny_analyzer.analyze("登陆密码忘了").words


def test_character_ngrams_let_a_subword_match(tiny_analyzer):
    chars = tiny_analyzer.analyze("登录密码").chars
    assert "密码" in chars and "登" in chars


def test_search_mode_adds_dictionary_subwords(tiny_analyzer):
    words = tiny_analyzer.analyze("二维码").words
    assert "二维码" in words and "二维" in words


def test_english_function_words_are_stop_words(real_analyzer):
    assert real_analyzer.analyze("how to bind my bank card").words == real_analyzer.analyze("how bind bank card").words


def test_emoji_that_stand_for_words_are_read_as_them(real_analyzer):
    assert real_analyzer.analyze("📱被偷了").words == real_analyzer.analyze("手机被偷了").words
    assert real_analyzer.analyze("💳丢了😭").words == real_analyzer.analyze("银行卡丢了").words
    # The quick test that skips texts without emoji must let every emoji of the table through.
    assert all(analysis_module._EMOJI_BLOCKS.match(e) for e in analysis_module._EMOJI_WORDS)
    assert real_analyzer.spelled_many(["📱被偷了", "☎️打不通"]) == [real_analyzer.spelled("手机被偷了"), real_analyzer.spelled("☎️打不通")]


def test_stop_words_never_empty_a_query(tiny_analyzer):
    assert tiny_analyzer.analyze("的了吗").words
    assert "的" not in tiny_analyzer.analyze("我的密码").words


@pytest.mark.parametrize("text", ["", "   ", "？？！！", "😀😀", "\x00\x01", "a" * 5000])
def test_degenerate_text_does_not_crash(tiny_analyzer, text):
    result = tiny_analyzer.analyze(text)
    assert isinstance(result.words, list) and isinstance(result.chars, list)


def test_mixed_latin_digit_terms_stay_whole(real_analyzer):
    assert "pin码" in real_analyzer.analyze("PIN码是什么").words
    assert "2fa" in real_analyzer.analyze("怎么开启2FA").words
    assert "5g" in real_analyzer.analyze("5G网络下付款失败").words


def test_a_run_of_letters_is_not_cut_at_a_word_inside_it(real_analyzer):
    # phone is a synonym of 手机: iphone was read as i + 手机 (once 电话, answered with the hotline).
    assert real_analyzer.words("iphone能用吗") == ["iphone", "能用", "吗"]
    assert real_analyzer.words("我的iPhone6") == ["我", "的", "iphone6"]
    assert real_analyzer.words("apple pay") == ["apple", "支付"]
    assert [(t.text, t.start, t.end) for t in real_analyzer.tokens("用smartphone")] == [("用", 0, 1), ("smartphone", 1, 11)]
    # A run made wholly of dictionary words is still read as them.
    assert real_analyzer.words("kefudianhua") == ["客服", "电话"] and real_analyzer.words("phone") == ["手机"]


def test_a_synonym_that_begins_a_jieba_word_is_cut_whole():
    # Adding 几个钟头 makes jieba list its prefix 几个钟 at count 0: taken for a word it knew, the synonym
    # after it was never added, and 提现几个钟到卡 was cut 几个 / 钟到, never read as 多久.
    analyzer = Analyzer([("记不起来", 5)], [["多久", "几个钟头", "几个钟"], ["忘记", "记不起"]])
    assert analyzer.words("提现几个钟到卡")[:3] == ["提现", "多久", "到"]
    assert "忘记" in analyzer.words("密码记不起了")


def test_a_latin_synonym_typed_in_halves_is_read_whole(real_analyzer):
    # 怎么top up got the article on receiving money; topup is a synonym of 充值.
    assert real_analyzer.words("怎么top up") == ["怎么", "充值"]
    assert real_analyzer.words("Top-Up失败") == ["充值", "失败"]
    assert real_analyzer.words("e-mail换绑")[0] == "邮箱"
    assert real_analyzer.words("to top up now") == ["to", "充值", "now"]
    # English terms of two words, written as one in synonyms.txt (double charged got no result at all).
    assert real_analyzer.words("double charged") == ["重复扣款"]
    assert real_analyzer.words("bind bank card") == ["绑定", "银行卡"]
    # Halves that are words of their own, or that make no synonym, stay apart.
    assert real_analyzer.words("check in") == ["check", "in"]
    assert real_analyzer.words("bill pay") == ["账单", "支付"]


@pytest.mark.parametrize("typed, meant", [
    ("信用卡可以儲值嗎", "信用卡可以充值吗"), ("收不到簡訊", "收不到短信"), ("換了新裝置", "换了新设备"),
    ("臉部辨識失敗", "脸部识别失败"), ("客服專線", "客服热线"), ("點樣轉帳俾朋友", "怎么转账给朋友"),
    ("點解提現失敗", "为什么提现失败"), ("易錢寶係咩", "易钱宝系什么"), ("冇收到退款", "没有收到退款"),
    ("唔記得密碼點算", "忘记密码怎么办"), ("資料外洩", "资料泄露"),
])
def test_taiwan_and_hong_kong_words_read_as_ours(real_analyzer, typed, meant):
    # A review's visitors from Taiwan and Hong Kong: 儲值, 簡訊, 點樣 were words no article holds.
    assert real_analyzer.words(typed) == real_analyzer.words(meant)


def test_every_user_word_is_kept_whole_in_context(real_analyzer):
    words = load_user_words(REAL_CORPUS / "dict" / "user_words.txt")
    assert len(words) >= 100
    broken = []
    for word, _freq in words:
        alone = [t.text for t in real_analyzer.tokens(word)]
        for context in ("我的{}怎么弄", "请问{}是什么意思", "关于{}的问题"):
            in_context = [t.text for t in real_analyzer.tokens(context.format(word))]
            if len(alone) != 1 or alone[0] not in in_context:
                broken.append((word, context, in_context))
                break
    assert not broken


def test_tokens_carry_offsets_into_the_normalised_text(tiny_analyzer):
    text = "忘記登錄密碼"
    norm = tiny_analyzer.normalize(text)
    for token in tiny_analyzer.tokens(text):
        assert norm[token.start : token.end]  # a real span


def test_fingerprint_changes_with_the_dictionary():
    a = Analyzer([("提现", 100)], [])
    b = Analyzer([("提现", 200)], [])
    assert a.fingerprint != b.fingerprint


# Full-width forms, CJK, Latin, combining marks and other compatibility characters, mixed.
_NFKC_ALPHABET = st.one_of(
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFF65), st.characters(min_codepoint=0x300, max_codepoint=0x36F),
    st.sampled_from("\u3000\u3099\u309a①㍿ﬁ＇。，密码提現Aa1 "), st.characters(codec="utf-8"),
)


@settings(max_examples=2000, deadline=None)
@given(st.text(_NFKC_ALPHABET, max_size=30))
def test_fast_nfkc_equals_unicodedata(text):
    assert _nfkc(text) == unicodedata.normalize("NFKC", text)


# CJK at and around the ranges' edges, Latin runs with their joiners, separators, other scripts.
_GRAM_ALPHABET = st.one_of(
    st.sampled_from("\u33ff\u3400\u4dbf\u4dc0\u4dff\u4e00\u9fff\ua000\uf8ff\uf900\ufaff\ufb00𠀀"),
    st.sampled_from("密码提现转账abz09.+#- \n，。ＡＢ１"), st.characters(codec="utf-8"),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(_GRAM_ALPHABET, max_size=40), max_size=6))
def test_batch_grams_are_each_texts_grams(texts):
    analyzer = Analyzer(lazy=True)
    table, offsets, ids = analyzer.texts_chars(texts)
    assert offsets.size == len(texts) + 1 and len(set(table)) == len(table)
    for i, text in enumerate(texts):
        batch = sorted(table[j] for j in ids[offsets[i] : offsets[i + 1]])
        assert batch == sorted(analyzer.text_chars(text))


def test_batch_grams_of_the_real_answers(real_analyzer):
    from faq_search.corpus import load_corpus

    answers = [a.answer for a in load_corpus(REAL_CORPUS).articles]
    table, offsets, ids = real_analyzer.texts_chars(answers)
    for i, answer in enumerate(answers):
        assert sorted(table[j] for j in ids[offsets[i] : offsets[i + 1]]) == sorted(real_analyzer.text_chars(answer))


def test_jieba_is_loaded_without_pkg_resources():
    """jieba imports pkg_resources (≈ 0.1 s a process) only to open its data files; it opens them by path."""
    import subprocess
    import sys

    code = ("import sys; from faq_search.analysis import Analyzer; "
            "a = Analyzer(); print(a.analyze('二维码付不了款').words, 'pkg_resources' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False") and "二维码" in out


def test_a_restricted_analyzer_segments_its_texts_as_the_whole_dictionary_does(real_analyzer):
    texts = ["钱转错人了咋办", "提現要幾天", "二唯码付不了款", "登陆密码忘了", "ＡＰＰ閃退怎么办", "zhifu失败 iphone6",
             "付款失败扣的钱什么时候退回来", "我的易钱宝收益怎么算的呀", "", "！！！", "余额宝和易钱宝哪个收益高"]
    texts += [p for a in load_corpus(REAL_CORPUS).articles[:40] for p in (a.question, *a.similar_questions)]
    lazy = Analyzer(real_analyzer.user_words, real_analyzer.synonym_groups, lazy=True)
    restricted = lazy.restricted(texts, real_analyzer.dictionary_table())
    assert [restricted.analyze(t) for t in texts] == [real_analyzer.analyze(t) for t in texts]
    assert restricted.fingerprint == real_analyzer.fingerprint
    # It read a few thousand entries, not the half million of jieba's dictionary, and left the
    # analyzer it came from unloaded.
    assert len(restricted._jieba.FREQ) < 10000 and not lazy.dictionary_loaded and not restricted.dictionary_loaded
    with pytest.raises(ValueError, match="cannot segment"):
        restricted.analyze("一句没准备过的话")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("帐户登陆密碼提現ＡＢｃ　？！ \t\n\r\u200b\u2028ΣΟİa1。，臺灣裏")), max_size=12),
                max_size=8))
def test_spelling_many_texts_at_once_equals_one_by_one(real_analyzer, texts):
    assert real_analyzer.spelled_many(texts) == [real_analyzer.spelled(t) for t in texts]


def test_spelling_many_texts_at_once_equals_one_by_one_on_the_corpus(real_analyzer):
    articles = load_corpus(REAL_CORPUS).articles
    texts = [t for a in articles for t in (a.question, *a.similar_questions, a.answer[:160], a.answer)]
    assert real_analyzer.spelled_many(texts) == [real_analyzer.spelled(t) for t in texts]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("转帐咋办取现登陆密码忘了提現付款失败的我你 　？！.+#ａ1bC\u200b")), max_size=20))
def test_words_are_the_tokens_without_their_spans(real_analyzer, text):
    assert real_analyzer.words(text) == [t.text for t in real_analyzer.tokens(text)]


def test_words_are_the_tokens_without_their_spans_on_the_corpus(real_analyzer):
    texts = [t for a in load_corpus(REAL_CORPUS).articles for t in (*a.questions, a.answer[:160])]
    assert [real_analyzer.words(t) for t in texts] == [[t.text for t in real_analyzer.tokens(x)] for x in texts]


def test_an_analyzer_loads_its_dictionary_from_a_table_when_one_is_there(real_analyzer, tmp_path):
    from faq_search.analysis import dictionary_table_name, write_dictionary_table

    fresh = Analyzer(real_analyzer.user_words, real_analyzer.synonym_groups, lazy=True, dictionary_cache=tmp_path)
    assert fresh._tokenizer.FREQ == real_analyzer._tokenizer.FREQ  # none there: jieba's own cache, then the user words
    write_dictionary_table(tmp_path / dictionary_table_name(real_analyzer.fingerprint), real_analyzer.dictionary_table())
    from_table = Analyzer(real_analyzer.user_words, real_analyzer.synonym_groups, lazy=True, dictionary_cache=tmp_path)
    tok = from_table._tokenizer
    assert tok.FREQ == real_analyzer._tokenizer.FREQ and tok.total == real_analyzer._tokenizer.total
    assert from_table.dictionary_loaded
    texts = ["钱转错人了咋办", "提現要幾天", "二唯码付不了款", "登陆密码忘了", "zhifu失败", "付款失败扣的钱什么时候退回来"]
    assert [from_table.analyze(t) for t in texts] == [real_analyzer.analyze(t) for t in texts]
    # Another dictionary (another fingerprint) does not read this one's table.
    other = Analyzer(real_analyzer.user_words[:-1], real_analyzer.synonym_groups, lazy=True, dictionary_cache=tmp_path)
    assert other._tokenizer.FREQ != tok.FREQ


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), min_size=1, max_size=6),
                       st.integers(1, 10**6), max_size=40),
       st.lists(st.text(max_size=6), max_size=20))
def test_a_dictionary_table_finds_exactly_its_keys_without_decoding_them_all(freq, asked):
    from faq_search.analysis import DictionaryTable

    table = DictionaryTable.of(freq, 123)
    assert len(table) == len(freq) and table.as_dict() == freq
    words = [*asked, *list(freq)[:5]]
    assert table.lookup(words) == {w: freq[w] for w in words if w in freq}
    assert all(len(k) <= table.longest for k in freq)


def test_a_damaged_dictionary_table_is_refused(tmp_path, caplog):
    from faq_search.analysis import DictionaryTable, read_dictionary_table, write_dictionary_table

    path = tmp_path / "dictionary-x-y.npz"
    assert read_dictionary_table(path) is None and not caplog.records  # none there: nothing to say
    write_dictionary_table(path, DictionaryTable.of({"提现": 5, "到账": 3, "龘": 1}, 9))
    assert read_dictionary_table(path).lookup(["到账", "提"]) == {"到账": 3}
    path.write_bytes(path.read_bytes()[:-40])
    assert read_dictionary_table(path) is None and "damaged" in caplog.text
