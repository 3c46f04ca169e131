"""Latent semantic analysis of the knowledge base's phrasings: reranker features only.

A truncated SVD of the phrasing × term matrix (the paraphrase model's rows: word and
character weights, L2-normalised) puts terms used in the same phrasings near each other
(借钱 / 借款 / 贷款), so a paraphrase sharing few terms with a candidate can still sit close
to it. Too blurry to rank with on its own (every phrasing of a topic is close), it only
feeds the reranker: the query's cosine with the best phrasing and with the article's closest.

Trained with the paraphrase model (small knowledge bases with paraphrases): DIMENSIONS
floats per phrasing and per term, stored in the version's arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .paraphrase import _row_matrix

__all__ = ["LsaModel", "DIMENSIONS"]

# 32 did about as well as 64–256 on BQ and our halves (docs/quality.md) at the least search time.
DIMENSIONS = 32


@dataclass(frozen=True)
class LsaModel:
    terms: np.ndarray  # (word terms + char terms) × k, float32: each term's direction
    rows: np.ndarray  # question rows × k, float32, L2-normalised

    @classmethod
    def fit(cls, questions: dict, exclude_rows: np.ndarray | None = None, k: int = DIMENSIONS) -> "LsaModel | None":
        """Fit on every phrasing except ``exclude_rows`` (held out to train the reranker); their
        vectors are still computed. None when there are too few phrasings or terms."""
        from sklearn.decomposition import TruncatedSVD

        X = _row_matrix(questions)
        fit_on = X
        if exclude_rows is not None and exclude_rows.size:
            keep = np.ones(X.shape[0], bool)
            keep[exclude_rows] = False
            fit_on = X[keep]
        k = min(k, min(fit_on.shape) - 1)
        if k < 2:
            return None
        svd = TruncatedSVD(k, algorithm="randomized", n_iter=5, random_state=0).fit(fit_on)
        terms = np.ascontiguousarray(svd.components_.T, dtype=np.float32)
        rows = np.asarray(X @ terms, dtype=np.float32)
        rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)
        return cls(terms, rows)

    @classmethod
    def with_terms(cls, terms: np.ndarray, questions: dict) -> "LsaModel":
        """A model over ``questions``' rows with directions ``terms`` fitted earlier (a rebuild whose
        phrasings barely changed): each row's vector computed as ``fit`` computes it."""
        rows = np.asarray(_row_matrix(questions) @ terms, dtype=np.float32)
        rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)
        return cls(np.ascontiguousarray(terms, np.float32), rows)

    def query(self, vector: tuple[np.ndarray, np.ndarray]) -> np.ndarray | None:
        """The unit LSA vector of a query given as paraphrase.query_vector; None if it has no known term."""
        cols, vals = vector
        if not cols.size:
            return None
        q = vals.astype(np.float32) @ self.terms[cols]
        norm = float(np.linalg.norm(q))
        return q / norm if norm > 0 else None

    def to_arrays(self, prefix: str = "lsa") -> dict:
        return {f"{prefix}.terms": self.terms, f"{prefix}.rows": self.rows}

    @classmethod
    def from_arrays(cls, arrays, prefix: str = "lsa") -> "LsaModel | None":
        if f"{prefix}.terms" not in arrays:
            return None
        return cls(np.asarray(arrays[f"{prefix}.terms"]), np.asarray(arrays[f"{prefix}.rows"]))
