import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from faq_search import Searcher
from faq_search.lsa import LsaModel
from faq_search.paraphrase import ParaphraseModel, query_vector
from faq_search.rerank import (CONFIDENCE_INPUTS, FEATURES, LEXICAL_FEATURES, Reranker, candidate_features, confidence_features,
                               load_default, pseudo_queries)
from tests.conftest import REAL_CORPUS


@pytest.fixture
def seed_analysis(real_index):
    """Gives an index directory to be the real index's analysis cache. Analysis is keyed by text and
    analyser, so a build there skips jieba for the texts it holds and otherwise builds as it would."""
    def seed(out):
        shutil.copytree(real_index / "cache", out / "cache")
        return out
    return seed


@pytest.fixture
def editable_real_corpus(tmp_path, seed_analysis):
    corpus = tmp_path / "corpus"
    shutil.copytree(REAL_CORPUS, corpus)
    return corpus, seed_analysis(tmp_path / "index")


def test_default_weights_load_and_predict_probabilities():
    # The shipped weights never read the paraphrase model's features: knowledge bases
    # that fall back to them are the ones with too few paraphrases to train that model.
    model = load_default()
    assert model is not None and model.features == LEXICAL_FEATURES and model.coef.shape == (len(LEXICAL_FEATURES),)
    p = model.predict(np.random.default_rng(0).random((5, len(FEATURES))))
    assert ((0 <= p) & (p <= 1)).all()


def test_confidence_inputs_count_the_categories_of_the_most_probable_candidates():
    X = np.arange(6 * len(FEATURES), dtype=float).reshape(6, len(FEATURES))
    p = np.array([0.9, 0.1, 0.5, 0.7, 0.3, 0.2])  # best five: 0, 3, 2, 4, 5
    f = confidence_features(X, p, np.array(["a", "z", "a", "b", "b", "a"], dtype=object))
    assert f.shape == (len(CONFIDENCE_INPUTS),)
    assert f[CONFIDENCE_INPUTS.index("p_gap")] == pytest.approx(0.2)
    assert f[CONFIDENCE_INPUTS.index("categories")] == 2  # "z" is sixth
    np.testing.assert_array_equal(f[CONFIDENCE_INPUTS.index("score"):], X[0])


def test_weights_round_trip_through_json():
    model = load_default()
    again = Reranker.from_json(model.to_json())
    np.testing.assert_allclose(again.coef, model.coef)
    with pytest.raises(ValueError):
        Reranker.from_json(model.to_json().replace('"score"', '"other"'))
    with pytest.raises(ValueError):
        Reranker.from_json(model.to_json().replace('"features": [', '"features": ["paraphrase", '))


def test_features_are_computed_for_all_candidates_at_once(tiny_index, tiny_analyzer):
    s = Searcher.load(tiny_index, analyzer=tiny_analyzer)
    analysis = tiny_analyzer.analyze("密码忘了")
    cands = s.first_stage(analysis)
    X = candidate_features(cands, analysis)
    assert X.shape == (cands.arts.size, len(FEATURES)) and np.isfinite(X).all()


def test_small_knowledge_base_uses_default_weights(tiny_index, tiny_analyzer):
    s = Searcher.load(tiny_index, analyzer=tiny_analyzer)
    assert len(pseudo_queries(s, 10_000)) < 1000
    np.testing.assert_allclose(s.reranker.coef, load_default().coef)


def test_real_corpus_trains_its_own_reranker(real_index, real_analyzer):
    s = Searcher.load(real_index, analyzer=real_analyzer)
    assert s.reranker is not None and s.reranker.info["available"] >= 1000
    assert s.data.manifest["reranker"]["pseudo_queries"] == 800  # a sample, to keep builds fast


def test_real_corpus_has_a_paraphrase_model_its_reranker_reads(real_index, real_analyzer):
    s = Searcher.load(real_index, analyzer=real_analyzer)
    assert isinstance(s.paraphrase, ParaphraseModel) and s.reranker.features == FEATURES
    analysis = real_analyzer.analyze("绑卡一直不成功")
    cands = s.candidates(analysis, limit=10)
    scores = dict(zip((s.articles[a].id for a in cands.arts), cands.paraphrase))
    # Learned from the phrasings: 不成功 belongs to "binding failed", not to "how to bind".
    assert scores["cards-bind-failed"] > scores["cards-bind-card"]


def test_paraphrase_model_round_trips_through_arrays(real_index, real_analyzer):
    s = Searcher.load(real_index, analyzer=real_analyzer)
    again = ParaphraseModel.from_arrays(s.paraphrase.to_arrays())
    analysis = real_analyzer.analyze("提现没到账")
    arts = np.arange(len(s.articles))
    np.testing.assert_allclose(again.scores(s.data.vocab, s.data.idf, analysis, arts),
                               s.paraphrase.scores(s.data.vocab, s.data.idf, analysis, arts), rtol=1e-6)


def test_tiny_knowledge_base_has_no_paraphrase_model(tiny_index, tiny_analyzer):
    s = Searcher.load(tiny_index, analyzer=tiny_analyzer)
    assert s.paraphrase is None and s.lsa is None
    cands = s.candidates(tiny_analyzer.analyze("密码忘了"), limit=5)
    assert (cands.paraphrase == 0).all() and (cands.lsa_max == 0).all()


def test_uneven_paraphrase_groups_are_dealt_round_robin(real_index, real_analyzer):
    from faq_search.rerank import _pseudo_queries

    s = Searcher.load(real_index, analyzer=real_analyzer)
    even = pseudo_queries(s, 10_000)  # our groups are even: a uniform draw
    assert len({a for a, _row, _text in even[:50]}) < 50
    # Three large groups among many pairs: one phrasing of every article before a second of any.
    data = SimpleNamespace(row_article=np.repeat(np.arange(23), [30, 30, 30] + [2] * 20),
                           articles=[SimpleNamespace(id=f"a{i}") for i in range(23)])
    data.row_text = [f"q{i}" for i in range(data.row_article.size)]
    queries = _pseudo_queries(data, 10_000)
    arts = [a for a, _row, _text in queries]
    assert len(set(arts[:23])) == 23 and len(queries) == data.row_article.size and queries == _pseudo_queries(data, 10_000)
    assert all(data.row_article[row] == a and data.row_text[row] == text for a, row, text in queries)


def test_lsa_features_read_the_closest_phrasing_and_never_the_held_out_one(real_index, real_analyzer):
    s = Searcher.load(real_index, analyzer=real_analyzer)
    assert isinstance(s.lsa, LsaModel) and s.lsa.rows.shape[0] == s.data.row_article.size
    analysis = real_analyzer.analyze("提现一直没到账")
    cands = s.candidates(analysis, limit=10)
    assert ((-1 - 1e-5 <= cands.lsa_max) & (cands.lsa_max <= 1 + 1e-5)).all()
    best_row = np.asarray([s.lsa.rows[r] @ s.lsa.query(query_vector(s.data.vocab, s.data.idf, analysis)) for r in cands.rows])
    assert (cands.lsa_max >= best_row - 1e-5).all()
    # A phrasing scored against the rest: its own row must not lift its article's closest cosine.
    row = int(np.flatnonzero(s.data.row_article == cands.arts[0])[1])
    own = real_analyzer.analyze(s.data.row_text[row])
    seen, hidden = s.candidates(own, limit=10), s.candidates(own, limit=10, exclude_row=row)
    art = int(s.data.row_article[row])
    q = s.lsa.query(query_vector(s.data.vocab, s.data.idf, own))
    others = [r for r in np.flatnonzero(s.data.row_article == art) if r != row]
    np.testing.assert_allclose(seen.lsa_max[seen.arts == art][0], 1.0, atol=1e-5)
    np.testing.assert_allclose(hidden.lsa_max[hidden.arts == art][0], (s.lsa.rows[others] @ q).max(), rtol=1e-5)


def test_lsa_closest_phrasing_is_the_same_gathered_or_from_all_phrasings(real_index, real_analyzer, monkeypatch):
    import faq_search.search as search

    s = Searcher.load(real_index, analyzer=real_analyzer)
    analysis = real_analyzer.analyze("转账转错了人怎么追回")
    row = int(s.first_stage(analysis, limit=1).rows[0])
    full = s.candidates(analysis, limit=30, exclude_row=row)
    monkeypatch.setattr(search, "LSA_FULL_PRODUCT", 0)
    gathered = s.candidates(analysis, limit=30, exclude_row=row)
    np.testing.assert_array_equal(full.arts, gathered.arts)
    np.testing.assert_allclose(full.lsa_max, gathered.lsa_max, rtol=1e-5)


def test_lsa_model_round_trips_through_arrays(real_index, real_analyzer):
    s = Searcher.load(real_index, analyzer=real_analyzer)
    again = LsaModel.from_arrays(s.lsa.to_arrays())
    vector = query_vector(s.data.vocab, s.data.idf, real_analyzer.analyze("怎么改绑手机号"))
    np.testing.assert_allclose(again.query(vector), s.lsa.query(vector), rtol=1e-6)
    assert LsaModel.from_arrays({}) is None


def test_an_edited_phrasing_moves_only_itself_in_the_training_sample():
    from faq_search.rerank import _pseudo_queries

    def sample(texts_per_article):
        counts = [len(t) for t in texts_per_article]
        data = SimpleNamespace(row_article=np.repeat(np.arange(len(counts)), counts),
                               articles=[SimpleNamespace(id=f"a{i}") for i in range(len(counts))],
                               row_text=[t for texts in texts_per_article for t in texts])
        return {(data.articles[a].id, text) for a, _row, text in _pseudo_queries(data, 100)}

    texts = [[f"问题{a}-{i}" for i in range(10)] for a in range(50)]
    before = sample(texts)
    texts[7].insert(3, "新加的说法")  # every later row shifts by one
    texts[20][5] = "改过的说法"
    after = sample(texts)
    assert len(before) == len(after) == 100
    assert len(after - before) <= 2 and (after - before) <= {("a7", "新加的说法"), ("a20", "改过的说法")}


def test_rebuild_reuses_weights_until_the_corpus_changed_materially(editable_real_corpus, tmp_path, real_analyzer):
    from faq_search.build import build_index
    from faq_search.index import load_index

    corpus, out = editable_real_corpus
    first = load_index(out, build_index(corpus, out, analyzer=real_analyzer).version)
    assert first.reranker.info["sample"] and "trained_in" not in first.reranker.info
    # One answer edited: same paraphrase sample, well under 1 % of the texts changed.
    path = next(p for p in sorted((corpus / "articles").rglob("*.md")))
    path.write_text(path.read_text("utf-8") + "\n补充说明。\n", "utf-8")
    second = load_index(out, build_index(corpus, out, analyzer=real_analyzer).version)
    np.testing.assert_array_equal(second.reranker.coef, first.reranker.coef)
    assert second.reranker.info["trained_in"] == first.version and second.reranker.info["changed_since_training"] == 1
    # Many answers edited: trained afresh.
    for p in sorted((corpus / "articles").rglob("*.md"))[:40]:
        p.write_text(p.read_text("utf-8") + "\n另见帮助中心。\n", "utf-8")
    third = load_index(out, build_index(corpus, out, analyzer=real_analyzer).version)
    assert "trained_in" not in third.reranker.info and third.reranker.info["sample"] == first.reranker.info["sample"]


def test_edits_made_of_texts_the_analysis_cache_knows_count_towards_retraining(editable_real_corpus, tmp_path, real_analyzer):
    """Answers swapped between articles are analysed from the cache (nothing is analysed afresh), yet
    each is an edit the reranker's and the models' drift must count."""
    from faq_search.build import build_index
    from faq_search.index import DEFAULT_RANKING, FORMAT_VERSION, load_index, published_manifest

    def swap_answers(a, b):
        heads, bodies = zip(*(p.read_text("utf-8").split("\n---\n", 1) for p in (a, b)))
        a.write_text(f"{heads[0]}\n---\n{bodies[1]}", "utf-8")
        b.write_text(f"{heads[1]}\n---\n{bodies[0]}", "utf-8")

    corpus, out = editable_real_corpus
    first = build_index(corpus, out, analyzer=real_analyzer)
    paths = sorted((corpus / "articles").rglob("*.md"))
    swap_answers(paths[0], paths[1])
    second = build_index(corpus, out, analyzer=real_analyzer)
    assert second.analysed == 0
    info = load_index(out, second.version).reranker.info
    assert info["trained_in"] == first.version and info["changed_since_training"] == 2
    assert published_manifest(out, (FORMAT_VERSION,), DEFAULT_RANKING)[2]["models"]["changed_since_fit"] == 2
    for a, b in zip(paths[2:42:2], paths[3:42:2]):  # 40 more articles: over 1 % of the texts
        swap_answers(a, b)
    third = build_index(corpus, out, analyzer=real_analyzer)
    assert third.analysed == 0 and "trained_in" not in load_index(out, third.version).reranker.info
    assert published_manifest(out, (FORMAT_VERSION,), DEFAULT_RANKING)[2]["models"]["changed_since_fit"] == 0


def test_weights_fitted_with_another_regularisation_are_refitted(editable_real_corpus, tmp_path, real_analyzer, monkeypatch):
    import faq_search.build as build
    from faq_search.index import load_index
    from faq_search.rerank import RERANK_C

    corpus, out = editable_real_corpus
    first = load_index(out, build.build_index(corpus, out, analyzer=real_analyzer).version)
    assert first.reranker.info["C"] == RERANK_C
    path = next(p for p in sorted((corpus / "articles").rglob("*.md")))
    path.write_text(path.read_text("utf-8") + "\n补充说明。\n", "utf-8")
    monkeypatch.setattr(build, "RERANK_C", RERANK_C * 2)  # as if the shipped setting had changed since
    second = load_index(out, build.build_index(corpus, out, analyzer=real_analyzer).version)
    assert "trained_in" not in second.reranker.info  # fitted afresh, not carried over


def test_first_stage_is_the_lexical_part_of_candidates(real_index, real_analyzer):
    s = Searcher.load(real_index, analyzer=real_analyzer)
    analysis = real_analyzer.analyze("提现一直没到账怎么办")
    lexical, full = s.first_stage(analysis, limit=30), s.candidates(analysis, limit=30)
    np.testing.assert_array_equal(lexical.arts, full.arts)
    np.testing.assert_array_equal(lexical.score, full.score)
    # What only the reranker reads is left to the second stage.
    assert not lexical.paraphrase.any() and not lexical.lsa_max.any() and not lexical.art_word_cov.any()
    assert full.paraphrase.any() and full.lsa_max.any() and full.art_word_cov.any()


def test_an_answer_edit_reuses_the_paraphrase_and_lsa_models_term_for_term(editable_real_corpus, seed_analysis, tmp_path, real_analyzer):
    from faq_search.build import build_index
    from faq_search.evaluate import load_queries
    from faq_search.index import load_index

    corpus, out = editable_real_corpus
    first = load_index(out, build_index(corpus, out, analyzer=real_analyzer).version)
    assert first.manifest["models"]["changed_since_fit"] == 0
    # An answer gains a character no other text holds: its column appears among the others (columns are
    # sorted terms), so every term after it moves one column along.
    path = sorted((corpus / "articles").rglob("*.md"))[0]
    path.write_text(path.read_text("utf-8") + "\n璟。\n", "utf-8")
    second = load_index(out, build_index(corpus, out, analyzer=real_analyzer).version)
    assert second.manifest["models"] == {**first.manifest["models"], "changed_since_fit": 1}
    assert first.manifest["models"]["analyzer"] == real_analyzer.fingerprint
    assert "璟" in second.vocab["char"] and "璟" not in first.vocab["char"]
    moved = 0
    for f in ("word", "char"):
        terms = list(first.vocab[f])
        old = first.paraphrase.offsets[f] + np.array([first.vocab[f][t] for t in terms])
        new = second.paraphrase.offsets[f] + np.array([second.vocab[f][t] for t in terms])
        moved += int((new != old).sum())
        np.testing.assert_array_equal(second.paraphrase.coef[:, new].toarray(), first.paraphrase.coef[:, old].toarray())
        np.testing.assert_array_equal(second.lsa.terms[new], first.lsa.terms[old])
    assert moved > 1000
    new_term = second.paraphrase.offsets["char"] + second.vocab["char"]["璟"]
    assert second.paraphrase.coef[:, new_term].nnz == 0 and not second.lsa.terms[new_term].any()
    np.testing.assert_array_equal(second.paraphrase.intercept, first.paraphrase.intercept)
    np.testing.assert_array_equal(second.lsa.rows, first.lsa.rows)
    # It ranks as models fitted afresh on the edited corpus do, but for an idf's nudge.
    fresh_dir = seed_analysis(tmp_path / "fresh")
    build_index(corpus, fresh_dir, analyzer=real_analyzer)
    reused, fresh = Searcher.load(out, analyzer=real_analyzer), Searcher.load(fresh_dir, analyzer=real_analyzer)
    assert fresh.data.manifest["models"]["changed_since_fit"] == 0
    queries = [q.query for q in load_queries(REAL_CORPUS / "eval" / "queries.jsonl", "dev")]
    same = sum([h.id for h in reused.search(q, k=1)] == [h.id for h in fresh.search(q, k=1)] for q in queries)
    assert same >= 0.98 * len(queries), (same, len(queries))
    # Many answers edited (over 1 % of the texts): fitted afresh.
    for p in sorted((corpus / "articles").rglob("*.md"))[:40]:
        p.write_text(p.read_text("utf-8") + "\n另见帮助中心。\n", "utf-8")
    third = load_index(out, build_index(corpus, out, analyzer=real_analyzer).version)
    assert third.manifest["models"]["changed_since_fit"] == 0


def test_a_question_edit_refits_only_its_articles_classifiers(editable_real_corpus, seed_analysis, tmp_path, real_analyzer):
    from faq_search.build import build_index
    from faq_search.evaluate import load_queries
    from faq_search.index import load_index
    from faq_search.paraphrase import ParaphraseModel

    corpus, out = editable_real_corpus
    first = load_index(out, build_index(corpus, out, analyzer=real_analyzer).version)
    paths = sorted((corpus / "articles").rglob("*.md"))
    text = paths[5].read_text("utf-8")
    paths[5].write_text(text.replace("similar_questions:\n", "similar_questions:\n  - 璟璟这个问法怎么办\n", 1), "utf-8")
    second_version = build_index(corpus, out, analyzer=real_analyzer).version
    second = load_index(out, second_version)
    edited = next(i for i, a in enumerate(second.articles) if a.source.startswith(str(paths[5])))
    assert second.manifest["models"]["changed_since_fit"] == 2  # the phrasing analysed afresh, its article refitted
    # Every other article keeps its classifier, term for term; the edited one's is fitted again.
    terms = list(first.vocab["char"])
    old = first.paraphrase.offsets["char"] + np.array([first.vocab["char"][t] for t in terms])
    new = second.paraphrase.offsets["char"] + np.array([second.vocab["char"][t] for t in terms])
    others = [i for i in range(len(second.articles)) if i != edited]
    np.testing.assert_array_equal(second.paraphrase.coef[others][:, new].toarray(), first.paraphrase.coef[others][:, old].toarray())
    refit, intercept = ParaphraseModel.fit_articles(second.questions, second.row_article, [edited])
    np.testing.assert_allclose(second.paraphrase.coef[edited].toarray(), refit.toarray(), atol=1e-6)
    assert second.paraphrase.coef[edited, second.paraphrase.offsets["char"] + second.vocab["char"]["璟"]] > 0
    reused = Searcher.load(out, analyzer=real_analyzer)
    assert reused.search("璟璟这个问法", k=1)[0].id == second.articles[edited].id
    # It ranks as models fitted afresh on the edited corpus do.
    fresh_dir = seed_analysis(tmp_path / "fresh")
    build_index(corpus, fresh_dir, analyzer=real_analyzer)
    fresh = Searcher.load(fresh_dir, analyzer=real_analyzer)
    queries = [q.query for q in load_queries(REAL_CORPUS / "eval" / "queries.jsonl", "dev")]
    same = sum([h.id for h in reused.search(q, k=1)] == [h.id for h in fresh.search(q, k=1)] for q in queries)
    assert same >= 0.98 * len(queries), (same, len(queries))


def test_weights_are_kept_while_the_training_sample_barely_moved(editable_real_corpus, tmp_path, real_analyzer):
    from faq_search.build import build_index
    from faq_search.index import load_index
    from faq_search.rerank import training_sample

    corpus, out = editable_real_corpus
    first = load_index(out, build_index(corpus, out, analyzer=real_analyzer).version)
    sampled = [(first.articles[art], text) for art, _row, text in training_sample(first).queries]
    sampled = [(a, t) for a, t in sampled if t != a.question][:12]  # similar questions: one line each

    def reword(items):
        for a, t in items:
            path = corpus / "articles" / a.source.split("articles/", 1)[1].split(":")[0]
            text = path.read_text("utf-8")
            assert f"  - {t}\n" in text
            path.write_text(text.replace(f"  - {t}\n", f"  - {t}呢\n", 1), "utf-8")

    reword(sampled[:1])  # one pseudo-query out of the sample, its rewording in: 2 of 800 keys differ
    second = load_index(out, build_index(corpus, out, analyzer=real_analyzer).version)
    assert training_sample(second).digest != first.reranker.info["sample"]
    assert second.reranker.info["trained_in"] == first.version
    np.testing.assert_array_equal(second.reranker.coef, first.reranker.coef)
    reword(sampled[1:])  # 11 more: 24 keys differ, over 1 % of the sample
    third = load_index(out, build_index(corpus, out, analyzer=real_analyzer).version)
    assert "trained_in" not in third.reranker.info and third.reranker.info["sample"] == training_sample(third).digest
