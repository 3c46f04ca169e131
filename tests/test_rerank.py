import numpy as np
import pytest

from faq_search import Searcher
from faq_search.rerank import FEATURES, Reranker, candidate_features, load_default, pseudo_queries


def test_default_weights_load_and_predict_probabilities():
    model = load_default()
    assert model is not None and model.coef.shape == (len(FEATURES),)
    p = model.predict(np.random.default_rng(0).random((5, len(FEATURES))))
    assert ((0 <= p) & (p <= 1)).all()


def test_weights_round_trip_through_json():
    model = load_default()
    again = Reranker.from_json(model.to_json())
    np.testing.assert_allclose(again.coef, model.coef)
    with pytest.raises(ValueError):
        Reranker.from_json(model.to_json().replace('"score"', '"other"'))


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
