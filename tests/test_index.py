import json

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from faq_search.corpus import CorpusError
from faq_search.build import build_index, check_index
from faq_search.index import IndexError_, load_index, read_current
from faq_search.search import Searcher
from tests.conftest import TINY_ARTICLES


def test_build_publishes_a_loadable_version(make_corpus, tmp_path, tiny_analyzer):
    out = tmp_path / "index"
    result = build_index(make_corpus(), out, analyzer=tiny_analyzer)
    assert read_current(out) == result.version
    data = load_index(out)
    assert [a.id for a in data.articles] == ["pw-login", "pw-pay", "tr-wrong", "wd-time"]
    manifest = data.manifest
    assert manifest["articles"] == 4 and manifest["question_rows"] == 13
    assert manifest["analyzer"]["fingerprint"] == tiny_analyzer.fingerprint
    files = set(manifest["files"])
    assert {"meta.json", "articles.jsonl", "rows.txt", "vocab.json", "reranker.json", "dict/user_words.txt",
            "dict/synonyms.txt", "arrays/questions.word.data.npy", "arrays/row_article.npy"} <= files
    assert all(f.startswith(("arrays/", "dict/", "state/")) or "/" not in f for f in files)
    assert list(data.row_text) == [t for a in data.articles for t in a.questions]
    assert result.articles == 4 and result.vocabulary > 0 and result.analysed == 13  # every question phrasing segmented once


def test_index_files_hold_no_pickles(tiny_index):
    version_dir = tiny_index / "versions" / read_current(tiny_index)
    arrays = sorted((version_dir / "arrays").glob("*.npy"))
    assert arrays
    for path in arrays:
        assert np.load(path, allow_pickle=False).dtype != object
    json.loads((version_dir / "manifest.json").read_text("utf-8"))


def test_failed_build_leaves_the_published_index_untouched(make_corpus, tiny_index, tiny_analyzer):
    before = read_current(tiny_index)
    versions = sorted(p.name for p in (tiny_index / "versions").iterdir())
    bad = make_corpus({**TINY_ARTICLES, "password/bad.md": "---\nid: [\n---\n答\n"}, name="bad")
    with pytest.raises(CorpusError):
        build_index(bad, tiny_index, analyzer=tiny_analyzer)
    assert read_current(tiny_index) == before
    assert sorted(p.name for p in (tiny_index / "versions").iterdir()) == versions
    assert Searcher.load(tiny_index, analyzer=tiny_analyzer).search("忘记登录密码")[0].id == "pw-login"


def test_check_reports_fresh_then_stale(make_corpus, tmp_path, tiny_analyzer):
    root, out = make_corpus(), tmp_path / "index"
    assert check_index(root, out, analyzer=tiny_analyzer)[0] is False  # nothing published yet
    build_index(root, out, analyzer=tiny_analyzer)
    assert check_index(root, out, analyzer=tiny_analyzer)[0] is True
    path = root / "articles" / "withdraw" / "arrival.md"
    path.write_text(path.read_text("utf-8") + "\n补充：周末照常到账。\n", "utf-8")
    fresh, reason = check_index(root, out, analyzer=tiny_analyzer)
    assert fresh is False and "stale" in reason


def test_dictionary_change_makes_the_index_stale(make_corpus, tmp_path):
    root, out = make_corpus(), tmp_path / "index"
    build_index(root, out)
    assert check_index(root, out)[0]
    (root / "dict" / "synonyms.txt").write_text("提现 取钱\n", "utf-8")
    assert not check_index(root, out)[0]


def test_rebuild_reanalyses_only_the_changed_article(make_corpus, tmp_path, tiny_analyzer):
    root, out = make_corpus(), tmp_path / "index"
    assert build_index(root, out, analyzer=tiny_analyzer).analysed == 13
    path = root / "articles" / "transfer" / "wrong-person.md"
    path.write_text(path.read_text("utf-8").replace("钱转错人了", "钱转错人了怎么要回"), "utf-8")
    assert build_index(root, out, analyzer=tiny_analyzer).analysed == 1
    path.write_text(path.read_text("utf-8").replace("1到3个工作日", "3个工作日"), "utf-8")
    assert build_index(root, out, analyzer=tiny_analyzer).analysed == 0  # answers need no jieba


def test_only_the_last_two_versions_are_kept(make_corpus, tmp_path, tiny_analyzer):
    root, out = make_corpus(), tmp_path / "index"
    path = root / "articles" / "withdraw" / "arrival.md"
    names = []
    for i in range(4):  # an edit each time: an unchanged corpus publishes nothing
        path.write_text(path.read_text("utf-8") + f"补充{i}。\n", "utf-8")
        names.append(build_index(root, out, analyzer=tiny_analyzer).version)
    kept = sorted(p.name for p in (out / "versions").iterdir())
    assert len(set(names)) == 4 and kept == sorted(names[-2:])


def test_full_rebuilds_of_an_unchanged_corpus_do_not_push_out_the_last_different_version(make_corpus, tmp_path, tiny_analyzer):
    root, out = make_corpus(), tmp_path / "index"
    before_edit = build_index(root, out, analyzer=tiny_analyzer).version
    path = root / "articles" / "withdraw" / "arrival.md"
    path.write_text(path.read_text("utf-8") + "周末也到账。\n", "utf-8")
    edited = build_index(root, out, analyzer=tiny_analyzer).version
    # --full: a plain rebuild of an unchanged corpus publishes nothing (test_build_unchanged.py).
    again = [build_index(root, out, analyzer=tiny_analyzer, full=True).version for _ in range(3)]
    kept = sorted(p.name for p in (out / "versions").iterdir())
    # The published one, the one it replaced (servers may still be on it), and the rollback target.
    assert kept == sorted([before_edit, *again[-2:]]) and edited not in kept


def test_a_build_after_a_rollback_keeps_the_version_rolled_back_to(make_corpus, tmp_path, tiny_analyzer):
    root, out = make_corpus(), tmp_path / "index"
    path = root / "articles" / "withdraw" / "arrival.md"
    text = path.read_text("utf-8")
    good = build_index(root, out, analyzer=tiny_analyzer).version
    path.write_text(text + "错误的说明。\n", "utf-8")
    bad = build_index(root, out, analyzer=tiny_analyzer).version
    (out / "CURRENT").write_text(good + "\n")  # the operator rolls back
    path.write_text(text + "正确的说明。\n", "utf-8")
    fixed = build_index(root, out, analyzer=tiny_analyzer).version
    assert read_current(out) == fixed
    assert sorted(p.name for p in (out / "versions").iterdir()) == sorted([good, fixed])  # the bad one went
    assert bad not in {p.name for p in (out / "completions").iterdir()}


def test_corrupted_version_is_refused(tiny_index):
    version_dir = tiny_index / "versions" / read_current(tiny_index)
    path = version_dir / "arrays" / "questions.char.data.npy"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(IndexError_, match="checksum mismatch in arrays/questions.char.data.npy"):
        load_index(tiny_index)


@pytest.mark.parametrize("name", ["articles.jsonl", "rows.txt", "meta.json", "arrays/row_article.npy"])
@pytest.mark.parametrize("loader", ["load_index", "Searcher.load"])
def test_tampered_file_is_refused(tiny_index, name, loader):
    path = tiny_index / "versions" / read_current(tiny_index) / name
    data = bytearray(path.read_bytes())
    data[-2] ^= 1  # same size, one bit flipped
    path.write_bytes(bytes(data))
    with pytest.raises(IndexError_, match=f"checksum mismatch in {name}"):
        # Searcher.load without an analyzer starts the checksums before jieba loads (check_in_background).
        load_index(tiny_index) if loader == "load_index" else Searcher.load(tiny_index)


def test_checksums_started_for_one_version_are_not_used_for_another(tiny_index):
    from faq_search.index import check_in_background

    check = check_in_background(tiny_index, read_current(tiny_index))
    import shutil

    shutil.copytree(tiny_index / "versions" / read_current(tiny_index), tiny_index / "versions" / "v0-other")
    with pytest.raises(ValueError, match="another version"):
        load_index(tiny_index, "v0-other", check=check)
    assert check_in_background(tiny_index, "v0-missing") is None


def test_older_format_is_refused_with_a_rebuild_message(tiny_index):
    manifest = tiny_index / "versions" / read_current(tiny_index) / "manifest.json"
    m = json.loads(manifest.read_text("utf-8"))
    m["format"] = 2
    manifest.write_text(json.dumps(m), "utf-8")
    with pytest.raises(IndexError_, match="format 2 .*rebuild"):
        load_index(tiny_index)


@pytest.mark.parametrize("edit, message", [
    (lambda m: [], "unreadable manifest: not an object"),
    (lambda m: {**m, "files": []}, "unreadable manifest: not an object"),
    (lambda m: {**m, "format": str(m["format"])}, "format '[0-9]+' .*rebuild"),
    (lambda m: {k: v for k, v in m.items() if k != "analyzer"}, "manifest.json is not as build_index.py writes it .KeyError"),
    (lambda m: {**m, "ranking": None}, "manifest.json is not as build_index.py writes it .AttributeError"),
])
def test_a_manifest_of_another_shape_is_refused_like_a_corrupt_one(make_corpus, tmp_path, tiny_analyzer, edit, message):
    from faq_search.live import LiveSearcher

    # Its own checksums are in it, so nothing but its shape is checked: hand-edited, it was a traceback.
    out = tmp_path / "ix"
    sound = build_index(make_corpus(), out, analyzer=tiny_analyzer).version
    edited = {**TINY_ARTICLES["withdraw/arrival.md"], "answer": "提现两小时内到账。"}
    newer = build_index(make_corpus({**TINY_ARTICLES, "withdraw/arrival.md": edited}, name="v2"), out,
                        analyzer=tiny_analyzer).version
    manifest = out / "versions" / newer / "manifest.json"
    manifest.write_text(json.dumps(edit(json.loads(manifest.read_text("utf-8")))), "utf-8")
    with pytest.raises(IndexError_, match=message):
        Searcher.load(out)
    # A server starting on it serves the sound version before it, as for a corrupt file.
    live = LiveSearcher(out, interval=0.0, analyzer=tiny_analyzer, background=False)
    assert live.get().version == sound and live.refused == newer


def test_loaded_articles_are_decoded_on_use(tiny_index):
    data = load_index(tiny_index)
    assert data.articles[-1].id == "wd-time" and data.articles[1:3][0].id == "pw-pay"
    assert data.columns["id"] == [a.id for a in data.articles]
    assert [a.id for a in data.articles] == ["pw-login", "pw-pay", "tr-wrong", "wd-time"]


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexError_, match="no published index"):
        load_index(tmp_path / "nothing")


def test_tfidf_query_vector_matches_sklearn_for_known_terms(make_corpus, tmp_path, tiny_analyzer):
    ranking = {"weighting": "tfidf", "field_weights": {"word": 0.5, "char": 0.5}, "answer_weight": 0.2}
    build_index(make_corpus(), tmp_path / "ix", analyzer=tiny_analyzer, ranking=ranking, rerank=False)
    searcher = Searcher.load(tmp_path / "ix", analyzer=tiny_analyzer)
    data = searcher.data
    vec = TfidfVectorizer(analyzer=lambda t: t, sublinear_tf=True, norm="l2")
    vec.vocabulary_ = data.vocab["char"]
    vec.idf_ = data.idf["char"].astype(np.float64)
    tokens = [t for t in tiny_analyzer.analyze("忘记支付密码，密码").chars if t in data.vocab["char"]]
    assert tokens.count("密码") == 2
    expected = vec.transform([tokens]).toarray()[0]
    cols, weights, _coverage = searcher.query_vector(tokens, "char")
    got = np.zeros_like(expected)
    got[cols] = weights
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_bm25_scores_a_phrasing_against_itself_at_one(tiny_index, tiny_analyzer):
    searcher = Searcher.load(tiny_index, analyzer=tiny_analyzer)
    assert searcher.weighting == "bm25"
    cands = searcher.first_stage(tiny_analyzer.analyze("登录密码忘了"))
    best = int(np.argmax(cands.question))
    assert searcher.data.row_text[cands.rows[best]] == "登录密码忘了"
    assert cands.word[best] == pytest.approx(1.0, abs=0.05) and cands.char[best] == pytest.approx(1.0, abs=0.05)
    assert cands.word_cov[best] == pytest.approx(1.0) and cands.char_cov[best] == pytest.approx(1.0)


@pytest.mark.parametrize("weighting", ["bm25", "tfidf"])
def test_counts_match_scikit_learn(make_corpus, tiny_analyzer, weighting):
    """build_arrays builds counts from cached feature ids: same vocabulary, idf and weights as the
    TfidfVectorizer it replaced (idf over articles, an article's answer in the answer fields)."""
    from faq_search.corpus import load_corpus
    from faq_search.index import ANSWER_FIELDS, FIELDS, analyse_corpus, bm25_weights, build_arrays, row_texts

    corpus = load_corpus(make_corpus())
    ranking = {"weighting": weighting, "k1": 0.8, "b": 0.75, "field_weights": {"word": 0.5, "char": 0.5}, "answer_weight": 0.2}
    arrays = build_arrays(corpus, analyse_corpus(tiny_analyzer, corpus.articles, None, workers=1), ranking)
    rows = [tiny_analyzer.analyze(t) for a in corpus.articles for t in row_texts(a)]
    answers = [tiny_analyzer.text_chars(a.answer) for a in corpus.articles]
    owner = arrays["row_article"]
    for name in FIELDS:
        feats = [r.words if name == "word" else r.chars for r in rows]
        docs = [[t for r, f in zip(owner, feats) if r == i for t in f] + (answers[i] if name in ANSWER_FIELDS else [])
                for i in range(len(corpus.articles))]
        vec = TfidfVectorizer(analyzer=lambda d: d, sublinear_tf=True, norm="l2", dtype=np.float32).fit(docs)
        assert arrays["vocab"][name] == vec.vocabulary_
        np.testing.assert_allclose(arrays["idf"][name], vec.idf_, rtol=1e-6)
        expected = vec.transform(feats)
        if weighting == "bm25":
            counts = CountVectorizer(analyzer=lambda d: d, vocabulary=vec.vocabulary_).transform(feats)
            expected, _ = bm25_weights(counts, vec.idf_.astype(np.float32), 0.8, 0.75)
        np.testing.assert_allclose(arrays["questions"][name].toarray(), expected.toarray(), rtol=1e-5, atol=1e-7)


def test_analysis_calls_back_once_the_texts_are_analysed(make_corpus, tiny_analyzer, monkeypatch):
    """The builder waits there for its completions process (build.py): after the analysis, before the
    features are gathered into cache ids."""
    from faq_search import features
    from faq_search.corpus import load_corpus
    from faq_search.index import analyse_corpus

    events = []
    add_tokens = features.TokenCache.add_tokens
    monkeypatch.setattr(features.TokenCache, "add_tokens", lambda self, table: events.append("gather") or add_tokens(self, table))
    corpus = load_corpus(make_corpus())
    analyse_corpus(tiny_analyzer, corpus.articles, None, workers=1, then=lambda: events.append("then"))
    assert events[0] == "then" and events.count("then") == 1 and "gather" in events


def test_a_file_met_again_is_not_hashed_again_unless_it_changed(tmp_path, monkeypatch):
    import hashlib
    import os

    import faq_search.index as index_module

    path = tmp_path / "arrays.npy"
    path.write_bytes(b"a" * 4096)
    first = index_module._file_sha256(path)
    os.link(path, tmp_path / "linked.npy")  # how versions share files
    hashed = []
    real = hashlib.sha256
    monkeypatch.setattr(index_module.hashlib, "sha256", lambda *a: hashed.append(1) or real(*a))
    assert index_module._file_sha256(tmp_path / "linked.npy") == first and hashed == []
    # Rewritten in place (no writer of ours does; a tamperer or a disk might): its time moves, so it is hashed.
    before = path.stat().st_mtime_ns
    path.write_bytes(b"b" * 4096)
    os.utime(path, ns=(before + 10**9, before + 10**9))  # a later time even within one clock tick
    assert index_module._file_sha256(path) == real(b"b" * 4096).hexdigest() and hashed == [1]
