import numpy as np
import pytest
import scipy.sparse as sp

from faq_search.postings import FrequentPostings


def random_csc(n_items: int, n_cols: int, density: float, seed: int) -> sp.csc_matrix:
    m = sp.random(n_items, n_cols, density=density, format="csc", random_state=seed, dtype=np.float32)
    m.sort_indices()
    return m


@pytest.mark.parametrize("n_items", [1, 63, 64, 65, 130, 2000])
def test_values_equal_the_dense_matrix(n_items):
    m = random_csc(n_items, 120, 0.3, seed=n_items)
    fp = FrequentPostings(m, min_df=0.2 * n_items)
    cols = np.flatnonzero(fp.covers(np.arange(120)))
    assert cols.size and np.all(np.diff(m.indptr)[cols] > 0.2 * n_items)
    # Unsorted items with repeats, as candidates come.
    items = np.random.default_rng(0).integers(0, n_items, 40)
    expected = m[:, cols].toarray()[items].T
    assert np.array_equal(fp.values(cols, items), expected.astype(np.float64))


def test_only_columns_longer_than_min_df_get_bitmaps():
    m = sp.csc_matrix(np.array([[1, 0, 2], [1, 0, 0], [1, 1, 3]], np.float32))
    fp = FrequentPostings(m, min_df=1)
    assert fp.covers(np.arange(3)).tolist() == [True, False, True]
    assert fp.values(np.array([2, 0]), np.array([2, 1, 0])).tolist() == [[3.0, 0.0, 2.0], [1.0, 1.0, 1.0]]
    assert fp.nbytes > 0


def test_no_frequent_columns():
    m = random_csc(50, 10, 0.1, seed=3)
    fp = FrequentPostings(m, min_df=50)
    assert not fp.covers(np.arange(10)).any()


def test_the_first_stage_scores_alike_through_every_path(real_index, real_analyzer, monkeypatch):
    """Bitmaps for the answers' frequent columns and the sorted sum of rare postings only serve
    large indexes by default; forced on a small one, they give what the plain paths give."""
    from faq_search import search as search_module
    from faq_search.search import Searcher

    queries = ["钱转错人了咋办", "提現要幾天", "二唯码付不了款", "登陆密码忘了", "信用卡年费", "转账", "怎么"]

    # The NumPy form: the compiled one is checked against it in test_kernels.py.
    monkeypatch.setattr(search_module, "_kernels", lambda: None)

    def candidates(answer_gather: int, sorted_sum_min: int):
        monkeypatch.setattr(search_module, "ANSWER_GATHER", answer_gather)
        monkeypatch.setattr(search_module, "SORTED_SUM_MIN", sorted_sum_min)
        s = Searcher.load(real_index, analyzer=real_analyzer)
        return [s.candidates(real_analyzer.analyze(q)) for q in queries], s

    plain, s_plain = candidates(10**9, 10**9)
    forced, s_forced = candidates(2, 1)
    assert s_forced._frequent_answer_terms().covers(np.arange(s_forced.data.answers["char"].shape[1])).sum() > 100
    assert not s_plain._frequent_answer_terms().covers(np.arange(s_plain.data.answers["char"].shape[1])).any()
    for q, a, b in zip(queries, plain, forced):
        assert np.array_equal(a.arts, b.arts) and np.array_equal(a.rows, b.rows), q
        for name, value in a.__dict__.items():
            assert np.allclose(value, getattr(b, name), rtol=0, atol=1e-9), (q, name)
