"""A paraphrase model: which article a phrasing belongs to, learned from the knowledge base.

Every phrasing of every article (its question and similar questions) is a labelled
example of that article; a one-vs-rest linear SVM over the same word and character
term weights as the index learns, per article, the terms that set its phrasings apart
from the phrasings of the articles it is confused with (失败 for "binding failed" against
"how to bind"). Its score for a candidate is one of the reranker's features.

It is trained only where it pays: the fit costs ~5 ms per article and its weights are
one sparse row per article, so knowledge bases above MAX_ARTICLES go without it.
Weights are plain arrays in the version's .npz, pruned below PRUNE (which loses
nothing measurable on our evaluation queries).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["ParaphraseModel", "MAX_ARTICLES", "trainable", "query_vector"]

MAX_ARTICLES = 5000
MIN_PARAPHRASE_ROWS = 200  # phrasings beyond each article's first: below this there is nothing to learn
PRUNE = 0.02
FIELD_ORDER = ("word", "char")


def trainable(row_article: np.ndarray, n_articles: int) -> bool:
    """Whether a knowledge base is small enough and has enough paraphrases for the model."""
    return 2 <= n_articles <= MAX_ARTICLES and row_article.size - n_articles >= MIN_PARAPHRASE_ROWS


def _row_matrix(questions: dict) -> sp.csr_matrix:
    """One L2-normalised row per phrasing: its word weights, then its character weights."""
    from sklearn.preprocessing import normalize

    return normalize(sp.hstack([questions[f].tocsr() for f in FIELD_ORDER]).tocsr())


def query_vector(vocab: dict, idf: dict, analysis) -> tuple[np.ndarray, np.ndarray]:
    """(columns, values) of a query as a training row of _row_matrix (word terms, then character
    terms): sublinear tf·idf, L2-normalised over both fields. Unknown terms are left out."""
    cols, vals = [], []
    offset = 0
    for f, tokens in zip(FIELD_ORDER, (analysis.words, analysis.chars)):
        v, f_idf = vocab[f], idf[f]
        for term, tf in Counter(tokens).items():
            j = v.get(term)
            if j is not None:
                cols.append(offset + j)
                vals.append((1.0 + math.log(tf)) * float(f_idf[j]))
        offset += len(v)
    out = np.asarray(vals)
    if out.size:
        out /= math.sqrt(float(out @ out))
    return np.asarray(cols, np.int64), out


@dataclass(frozen=True)
class ParaphraseModel:
    coef: sp.csc_matrix  # articles × (word terms + char terms), term-major for the query's columns
    intercept: np.ndarray  # per article
    offsets: dict  # field → first column of its terms

    @classmethod
    def fit(cls, questions: dict, row_article: np.ndarray, n_articles: int,
            exclude_rows: np.ndarray | None = None, C: float = 1.0) -> "ParaphraseModel":
        """Fit on every phrasing except ``exclude_rows`` (held out to train the reranker)."""
        from sklearn.svm import LinearSVC

        X, y = _row_matrix(questions), np.asarray(row_article)
        if exclude_rows is not None and exclude_rows.size:
            keep = np.ones(y.size, bool)
            keep[exclude_rows] = False
            X, y = X[keep], y[keep]
        with warnings.catch_warnings():
            # "more classes than half the samples" is the point here, not a mistake.
            warnings.simplefilter("ignore")
            model = LinearSVC(C=C, random_state=0).fit(X, y)
        classes = model.classes_
        coef = model.coef_ if classes.size > 2 else np.vstack([-model.coef_[0], model.coef_[0]])
        intercept = model.intercept_ if classes.size > 2 else np.array([-model.intercept_[0], model.intercept_[0]])
        coef = np.where(np.abs(coef) >= PRUNE, coef, 0.0)
        # Articles with no phrasing left in training get no weights and the lowest intercept.
        place = sp.csr_matrix((np.ones(classes.size, np.float32), (classes, np.arange(classes.size))),
                              shape=(n_articles, classes.size))
        full = place @ sp.csr_matrix(coef.astype(np.float32))
        full_intercept = np.full(n_articles, float(intercept.min()), np.float32)
        full_intercept[classes] = intercept
        offsets, start = {}, 0
        for f in FIELD_ORDER:
            offsets[f] = start
            start += questions[f].shape[1]
        return cls(full.tocsc(), full_intercept, offsets)

    @staticmethod
    def fit_articles(questions: dict, row_article: np.ndarray, articles: list[int],
                     C: float = 1.0) -> tuple[sp.csr_matrix, np.ndarray]:
        """The one-vs-rest classifiers of ``articles`` alone, as ``fit`` makes them (their weights, one
        row each, pruned; their intercepts): what a rebuild refits for articles whose phrasings changed."""
        from sklearn.svm import LinearSVC

        X, owner = _row_matrix(questions), np.asarray(row_article)
        coef, intercept = [], np.zeros(len(articles), np.float32)
        for i, art in enumerate(articles):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = LinearSVC(C=C, random_state=0).fit(X, owner == art)
            c = model.coef_[0]
            coef.append(sp.csr_matrix(np.where(np.abs(c) >= PRUNE, c, 0.0).astype(np.float32)))
            intercept[i] = model.intercept_[0]
        return sp.vstack(coef, format="csr"), intercept

    def scores(self, vocab: dict, idf: dict, analysis, arts: np.ndarray, vector=None) -> np.ndarray:
        """Decision values of ``arts`` for a query (``vector``: its query_vector, if already computed)."""
        cols, vals = vector if vector is not None else query_vector(vocab, idf, analysis)
        out = self.intercept[arts].astype(np.float64)
        if not cols.size:
            return out
        # The query's columns of the CSC, gathered and summed per article with array calls:
        # scipy's column slicing costs ~0.1 ms of overhead for a few dozen columns.
        c = self.coef
        starts = c.indptr[cols]
        lengths = c.indptr[cols + 1] - starts
        ends = np.add.accumulate(lengths)
        at = (starts - ends + lengths).repeat(lengths) + np.arange(int(ends[-1]))
        column = np.bincount(c.indices[at], weights=c.data[at] * vals.repeat(lengths), minlength=c.shape[0])
        return out + column[arts]

    def to_arrays(self, prefix: str = "paraphrase") -> dict:
        c = self.coef.tocsc()
        c.sort_indices()
        return {
            f"{prefix}.data": c.data.astype(np.float32), f"{prefix}.indices": c.indices.astype(np.int32),
            f"{prefix}.indptr": c.indptr.astype(np.int64), f"{prefix}.shape": np.asarray(c.shape, np.int64),
            f"{prefix}.intercept": self.intercept.astype(np.float32),
            f"{prefix}.offsets": np.asarray([self.offsets[f] for f in FIELD_ORDER], np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays, prefix: str = "paraphrase") -> "ParaphraseModel | None":
        if f"{prefix}.data" not in arrays:
            return None
        shape = tuple(int(x) for x in arrays[f"{prefix}.shape"])
        coef = sp.csc_matrix((arrays[f"{prefix}.data"], arrays[f"{prefix}.indices"], arrays[f"{prefix}.indptr"]), shape=shape)
        offsets = dict(zip(FIELD_ORDER, (int(x) for x in arrays[f"{prefix}.offsets"])))
        return cls(coef, np.asarray(arrays[f"{prefix}.intercept"]), offsets)
