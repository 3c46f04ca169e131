import json

from faq_search.build import build_index
from faq_search.cli import main
from faq_search.confusions import find_confusions
from faq_search.search import Searcher
from tests.conftest import TINY_ARTICLES

# A phrasing filed under the wrong article: it asks for the login password, under "payment password".
MISFILED = "登录密码忘了怎么重新设置"


def _misfiled_index(make_corpus, tmp_path, tiny_analyzer):
    articles = {k: dict(v) for k, v in TINY_ARTICLES.items()}
    pay = articles["password/forgot-pay.md"]
    pay["similar"] = [*pay["similar"], MISFILED]
    out = tmp_path / "index"
    build_index(make_corpus(articles), out, analyzer=tiny_analyzer)
    return out


def test_a_misfiled_phrasing_is_reported_with_the_article_it_brings_up(make_corpus, tmp_path, tiny_analyzer):
    report = find_confusions(Searcher.load(_misfiled_index(make_corpus, tmp_path, tiny_analyzer)))
    # Every phrasing of an article with two or more is searched once, with itself hidden.
    assert report.searched == report.available == sum(1 + len(a["similar"]) for a in TINY_ARTICLES.values()) + 1
    assert report.first + len(report.confusions) == report.searched
    misfiled = [c for c in report.confusions if c.phrasing == MISFILED]
    assert len(misfiled) == 1
    c = misfiled[0]
    assert (c.article, c.taken_by) == ("pw-pay", "pw-login")
    assert c.matched in ("忘记登录密码怎么办？", "登录密码忘了", "密码想不起来登不上", "找回登录密码")
    assert c.score > c.own_score and c.own_rank >= 2
    assert ("pw-pay", "pw-login") in dict(report.pairs())
    assert report.questions["pw-login"] == "忘记登录密码怎么办？"


def test_a_sample_says_so(make_corpus, tmp_path, tiny_analyzer):
    report = find_confusions(Searcher.load(_misfiled_index(make_corpus, tmp_path, tiny_analyzer)), limit=5)
    assert report.searched == 5 < report.available
    assert "(a sample of" in report.format()


def test_confusions_command_text_and_json(make_corpus, tmp_path, tiny_analyzer, capsys):
    out = _misfiled_index(make_corpus, tmp_path, tiny_analyzer)
    assert main(["confusions", "--index", str(out)]) == 0
    text = capsys.readouterr().out
    assert "each searched with itself hidden" in text
    assert "pw-pay  忘记支付密码怎么办？" in text and "→ pw-login  忘记登录密码怎么办？" in text and MISFILED in text
    assert main(["confusions", "--index", str(out), "--json", "--top", "50"]) == 0
    body = json.loads(capsys.readouterr().out)
    pair = next(p for p in body["pairs"] if (p["article"], p["taken_by"]) == ("pw-pay", "pw-login"))
    assert any(x["phrasing"] == MISFILED and x["own_rank"] >= 2 for x in pair["phrasings"])
    assert body["first"] + sum(len(p["phrasings"]) for p in body["pairs"]) == body["searched"]


def test_confusions_command_without_an_index(tmp_path, capsys):
    assert main(["confusions", "--index", str(tmp_path / "missing")]) == 2
    assert "error:" in capsys.readouterr().err


def test_one_articles_pairs_either_side(make_corpus, tmp_path, tiny_analyzer, capsys):
    out = _misfiled_index(make_corpus, tmp_path, tiny_analyzer)
    report = find_confusions(Searcher.load(out))
    for article in ("pw-pay", "pw-login", "wd-time"):
        only = report.only(article)
        assert (only.searched, only.first) == (report.searched, report.first)
        assert set(only.confusions) == {c for c in report.confusions if article in (c.article, c.taken_by)}
    assert main(["confusions", "--index", str(out), "--article", "pw-login"]) == 0
    text = capsys.readouterr().out
    assert "where pw-login is on either side" in text and MISFILED in text
    assert main(["confusions", "--index", str(out), "--article", "no-such-id"]) == 2
    assert "no article with id 'no-such-id'" in capsys.readouterr().err
