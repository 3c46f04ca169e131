"""The compiled lexical stage (faq_search/kernels.py) gives exactly what the NumPy form gives."""

import json
import subprocess
import sys

import numpy as np
import pytest

from faq_search import search as search_module
from faq_search.search import Searcher
from tests.conftest import REAL_CORPUS
from tests.test_incremental import build, entry, small_base, write  # noqa: F401 - small_base is a fixture

KERNELS = search_module._kernels()
pytestmark = pytest.mark.skipif(KERNELS is None, reason="numba not importable")


def both_paths(searcher, analyses, monkeypatch, **kwargs):
    out = []
    for kernels in (KERNELS, None):
        monkeypatch.setattr(search_module, "_kernels", lambda k=kernels: k)
        out.append([searcher.candidates(a, **kwargs) for a in analyses])
    return out


def assert_same(compiled, reference, queries):
    for q, a, b in zip(queries, compiled, reference):
        if a is None or b is None:
            assert a is None and b is None, q
            continue
        assert np.array_equal(a.arts, b.arts) and np.array_equal(a.rows, b.rows), q
        for name, value in a.__dict__.items():
            assert np.allclose(value, getattr(b, name), rtol=0, atol=1e-9), (q, name)


@pytest.fixture(scope="module")
def eval_queries():
    lines = (REAL_CORPUS / "eval" / "queries.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line)["query"] for line in lines if line.strip()]


@pytest.mark.parametrize("rescore_rows, answer_gather", [
    (350, 4000),  # as shipped: our corpus reads answers whole
    (7, 2),       # forced: the cut among equal sums, and every frequent answer character from bitmaps
])
def test_compiled_and_numpy_first_stages_agree(real_index, real_analyzer, eval_queries, monkeypatch,
                                               rescore_rows, answer_gather):
    monkeypatch.setattr(search_module, "RESCORE_ROWS", rescore_rows)
    monkeypatch.setattr(search_module, "ANSWER_GATHER", answer_gather)
    s = Searcher.load(real_index, analyzer=real_analyzer)
    analyses = [s.analyze_query(q) for q in eval_queries]
    compiled, reference = both_paths(s, analyses, monkeypatch, limit=30, min_score=0.1)
    assert_same(compiled, reference, eval_queries)
    assert sum(c is not None for c in compiled) > 0.9 * len(eval_queries)


def test_they_agree_with_a_held_out_row(real_index, real_analyzer, monkeypatch):
    s = Searcher.load(real_index, analyzer=real_analyzer)
    rows = range(0, s.data.row_article.size, 97)
    for row in rows:
        analysis = s.analyzer.analyze(s.data.row_text[row])
        compiled, reference = both_paths(s, [analysis], monkeypatch, exclude_row=row, limit=30)
        assert_same(compiled, reference, [row])
        assert row not in compiled[0].rows


@pytest.mark.usefixtures("small_base")
def test_they_agree_on_an_incremental_version_with_hidden_rows(tmp_path, tiny_analyzer, monkeypatch):
    corpus, out = tmp_path / "kb.jsonl", tmp_path / "index"
    entries = [entry(i) for i in range(60)]
    write(corpus, entries)
    build(corpus, out, tiny_analyzer)
    entries[7] = entry(7, question="提现改成实时到账了吗")
    del entries[20]
    write(corpus, entries)
    assert build(corpus, out, tiny_analyzer).incremental
    s = Searcher.load(out, analyzer=tiny_analyzer)
    queries = ["提现多久到账", "转错人了", "忘记登录密码", "红包过期", "提现实时到账", "请问红包过期了还能领吗20"]
    compiled, reference = both_paths(s, [s.analyze_query(q) for q in queries], monkeypatch, limit=10)
    assert_same(compiled, reference, queries)
    assert not any(c is not None and s.articles[a].id == "e020" for c in compiled for a in c.arts)


def test_jit_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("FAQ_SEARCH_JIT", "0")
    assert search_module._kernels.__wrapped__() is None


def test_search_serves_without_the_compiled_loops(monkeypatch, real_index, real_analyzer):
    # Numba missing, or its cache not writable: the NumPy form serves, with the same results.
    import faq_search

    monkeypatch.setitem(sys.modules, "faq_search.kernels", None)
    monkeypatch.delattr(faq_search, "kernels", raising=False)
    assert search_module._kernels.__wrapped__() is None
    s = Searcher.load(real_index, analyzer=real_analyzer)
    compiled = [h.id for h in s.search("钱转错人了咋办")]
    monkeypatch.setattr(search_module, "_kernels", lambda: None)
    assert [h.id for h in s.search("钱转错人了咋办")] == compiled


def test_warm_loads_every_compiled_loop_before_the_first_request(real_index):
    # A worker forked after warm() must not load a kernel on its first request (≈ 1 s).
    code = (
        "import sys; from faq_search import search as S; s = S.Searcher.load(sys.argv[1]).warm(); k = S._kernels(); "
        "print(len(k.lexical_stage.signatures), len(k.article_features.signatures))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(real_index)], capture_output=True, text=True, timeout=300,
                         check=True).stdout.split()
    assert [int(n) > 0 for n in out] == [True, True]


@pytest.mark.parametrize("field_weights", [{"word": 0.0, "char": 1.0}, {"word": 1.0, "char": 0.0}])
def test_they_agree_when_a_field_weighs_nothing(real_index, real_analyzer, eval_queries, monkeypatch, field_weights):
    s = Searcher.load(real_index, analyzer=real_analyzer)
    s.field_weights = field_weights
    analyses = [s.analyze_query(q) for q in eval_queries[:200]]
    compiled, reference = both_paths(s, analyses, monkeypatch, limit=30)
    assert_same(compiled, reference, eval_queries[:200])


def test_best_limit_keeps_what_a_stable_sort_keeps():
    from faq_search.kernels import _best_limit

    rng = np.random.default_rng(7)
    for _ in range(500):
        score = rng.integers(0, 5, rng.integers(2, 60)) / 4  # many equal scores
        passing = np.flatnonzero(score >= rng.choice([0.0, 0.25]))
        limit = int(rng.integers(1, 40))
        if passing.size <= limit:
            continue
        stable = np.sort(passing[np.argsort(-score[passing], kind="mergesort")[:limit]])
        assert _best_limit(score, passing, limit).tolist() == stable.tolist()


def test_a_kernel_module_that_cannot_compile_leaves_the_numpy_forms(monkeypatch):
    from faq_search import kernels

    def broken():
        raise RuntimeError("no such intrinsic")

    monkeypatch.setattr(kernels, "check", broken)
    assert search_module._kernels.__wrapped__() is None
    monkeypatch.undo()
    assert search_module._kernels.__wrapped__() is kernels
