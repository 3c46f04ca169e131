"""Search and ranking over a loaded index. No Flask here.

An entry's score = (1 − a) · best question score + a · answer score, where each
text's score is a weighted sum of cosine similarities of the word and character
TF-IDF vectors. All parts are in [0, 1], so scores compare across queries.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .analysis import Analyzer
from .corpus import Article
from .index import FIELDS, IndexData, analyzer_for, load_index

__all__ = ["Hit", "Searcher", "QueryError"]

DEFAULT_MIN_SCORE = 0.1
# Below this a hit is shown as "maybe related", not as the answer (see docs/quality.md).
DEFAULT_CONFIDENT_SCORE = 0.35


class QueryError(ValueError):
    """A query the caller must fix (e.g. an unknown category)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    question: str
    answer: str
    category: str
    tags: tuple[str, ...]
    matched: str  # the phrasing of the question that matched best
    matched_terms: tuple[str, ...] = ()  # query words found in the matched text (why it matched)
    confident: bool = False  # score above the calibrated no-answer threshold
    # (term, weight) for each matched term: its weight in the L2-normalised query word vector
    term_weights: tuple[tuple[str, float], ...] = ()
    updated: str = ""  # the article's last-modified time (ISO 8601)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["tags"] = list(self.tags)
        d["matched_terms"] = list(self.matched_terms)
        d["term_weights"] = {t: round(w, 4) for t, w in self.term_weights}
        d["score"] = round(self.score, 4)
        return d


def _accumulate(postings: sp.csc_matrix, cols: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sparse dot products of the query with every row that shares a term.

    Touches only the postings of the query's terms: cost grows with their
    length, not with the number of rows.
    """
    if cols.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    indptr, indices, data = postings.indptr, postings.indices, postings.data
    starts, ends = indptr[cols], indptr[cols + 1]
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    # Gather all postings of the query terms in one vectorised step.
    offsets = np.repeat(starts - np.cumsum(np.concatenate(([0], lengths[:-1]))), lengths) + np.arange(total)
    rows = indices[offsets]
    vals = data[offsets] * np.repeat(weights, lengths)
    uniq, inverse = np.unique(rows, return_inverse=True)
    return uniq, np.bincount(inverse, weights=vals).astype(np.float32)


class Searcher:
    """Ranked search over one published index version. Thread-safe; immutable."""

    def __init__(self, data: IndexData, analyzer: Analyzer, min_score: float = DEFAULT_MIN_SCORE):
        self.data = data
        self.analyzer = analyzer
        self.min_score = min_score
        ranking = data.manifest.get("ranking", {})
        self.field_weights = ranking.get("field_weights", {"word": 0.5, "char": 0.5})
        self.answer_weight = float(ranking.get("answer_weight", 0.2))
        self.confident_score = float(ranking.get("confident_score", DEFAULT_CONFIDENT_SCORE))
        self.articles = data.articles
        self._by_id = {a.id: i for i, a in enumerate(self.articles)}
        self._categories = np.array([a.category for a in self.articles], dtype=object)
        tagged: dict[str, list[int]] = {}
        for i, a in enumerate(self.articles):
            for t in a.tags:
                tagged.setdefault(t, []).append(i)
        self._tagged = {t: np.asarray(ids, np.int64) for t, ids in tagged.items()}
        # OOV query terms count in the query norm with the largest idf, so a query
        # that is mostly unknown words cannot score high on the one word it shares.
        self._oov_idf = {f: float(data.idf[f].max()) if data.idf[f].size else 1.0 for f in FIELDS}

    @classmethod
    def load(cls, index_dir: str | Path = "index", analyzer: Analyzer | None = None, **kwargs) -> "Searcher":
        """Load the published version of ``index_dir``. Reuses ``analyzer`` when it
        was built with the same dictionary; otherwise builds one from the index's copy."""
        data = load_index(index_dir)
        if analyzer is None or analyzer.fingerprint != data.manifest["analyzer"]["fingerprint"]:
            dict_dir = data.path / "dict"
            analyzer = analyzer_for({"user_words.txt": dict_dir / "user_words.txt", "synonyms.txt": dict_dir / "synonyms.txt"})
        return cls(data, analyzer, **kwargs)

    @property
    def version(self) -> str:
        return self.data.version

    @property
    def categories(self) -> dict[str, str]:
        return self.data.categories

    def __len__(self) -> int:
        return len(self.articles)

    def get(self, article_id: str) -> Article | None:
        i = self._by_id.get(article_id)
        return None if i is None else self.articles[i]

    @property
    def popular(self) -> list[str]:
        """Curated ids of the most asked articles (the corpus's popular.yml), most asked first."""
        return [i for i in self.data.popular if i in self._by_id]

    def category_counts(self) -> dict[str, int]:
        return dict(Counter(a.category for a in self.articles))

    def tag_counts(self, category: str | None = None) -> dict[str, int]:
        """Articles per tag (within ``category`` if given), most used first, then by name."""
        counts = Counter(t for a in self.articles if not category or a.category == category for t in a.tags)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def query_vector(self, tokens: list[str], name: str) -> tuple[np.ndarray, np.ndarray]:
        """Sublinear-tf × idf weights of the query's in-vocabulary terms, L2-normalised
        over all its terms (see ``_oov_idf``)."""
        vocab, idf = self.data.vocab[name], self.data.idf[name]
        cols, weights, norm2 = [], [], 0.0
        for term, tf in Counter(tokens).items():
            col = vocab.get(term)
            w = (1.0 + math.log(tf)) * (float(idf[col]) if col is not None else self._oov_idf[name])
            norm2 += w * w
            if col is not None:
                cols.append(col)
                weights.append(w)
        if not cols:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        return np.asarray(cols, np.int64), np.asarray(weights, np.float32) / np.float32(math.sqrt(norm2))

    def term_weights(self, words: list[str]) -> dict[str, float]:
        """Each query word's weight in the query's word vector (sublinear tf × idf, L2-normalised over
        all its words): how much the word can contribute to a match. Unknown words are left out."""
        vocab, idf = self.data.vocab["word"], self.data.idf["word"]
        raw = {t: (1.0 + math.log(tf)) * (float(idf[vocab[t]]) if t in vocab else self._oov_idf["word"])
               for t, tf in Counter(words).items()}
        norm = math.sqrt(sum(w * w for w in raw.values())) or 1.0
        return {t: w / norm for t, w in raw.items() if t in vocab}

    def _score(self, query: str):
        analysis = self.analyzer.analyze(query)
        feats = {"word": analysis.words, "char": analysis.chars}
        row_parts, ans_parts = [], []
        for name in FIELDS:
            cols, weights = self.query_vector(feats[name], name)
            wf = float(self.field_weights.get(name, 0.0))
            rows, s = _accumulate(self.data.questions[name], cols, weights)
            row_parts.append((rows, s * wf))
            arts, s = _accumulate(self.data.answers[name], cols, weights)
            ans_parts.append((arts, s * wf))
        return analysis, row_parts, ans_parts

    @staticmethod
    def _merge(parts):
        ids = np.concatenate([p[0] for p in parts])
        vals = np.concatenate([p[1] for p in parts])
        uniq, inverse = np.unique(ids, return_inverse=True)
        return uniq, np.bincount(inverse, weights=vals, minlength=uniq.size)

    def search(self, query: str, k: int = 10, category: str | None = None, min_score: float | None = None,
               tag: str | None = None) -> list[Hit]:
        """Best ``k`` articles for ``query``, best first; [] when nothing scores ≥ ``min_score``.
        ``category`` and ``tag`` keep only articles of that category / with that tag.

        Raises QueryError('unknown_category'/'unknown_tag') for a category or tag the index lacks.
        """
        if category and category not in self.data.categories:
            raise QueryError("unknown_category", f"unknown category '{category}'")
        if tag and tag not in self._tagged:
            raise QueryError("unknown_tag", f"unknown tag '{tag}'")
        if k <= 0 or not query or not query.strip():
            return []
        min_score = self.min_score if min_score is None else min_score
        analysis, row_parts, ans_parts = self._score(query)
        rows, row_scores = self._merge(row_parts)
        if rows.size == 0:
            return []
        # Best question row per article: sort by (article, -score), keep each article's first.
        row_art = self.data.row_article[rows]
        order = np.lexsort((-row_scores, row_art))
        row_art, rows, row_scores = row_art[order], rows[order], row_scores[order]
        first = np.concatenate(([True], row_art[1:] != row_art[:-1]))
        arts, best_rows, q_scores = row_art[first], rows[first], row_scores[first]
        a_ids, a_scores = self._merge(ans_parts)
        answer_scores = np.zeros(arts.size)
        pos = np.searchsorted(a_ids, arts)
        pos_ok = pos < a_ids.size
        hit = np.zeros(arts.size, bool)
        hit[pos_ok] = a_ids[pos[pos_ok]] == arts[pos_ok]
        answer_scores[hit] = a_scores[pos[hit]]
        a = self.answer_weight
        scores = (1.0 - a) * q_scores + a * answer_scores
        keep = scores >= min_score
        if category:
            keep &= self._categories[arts] == category
        if tag:
            keep &= np.isin(arts, self._tagged[tag])
        arts, best_rows, scores = arts[keep], best_rows[keep], scores[keep]
        if arts.size > k:
            top = np.argpartition(-scores, k - 1)[:k]
            arts, best_rows, scores = arts[top], best_rows[top], scores[top]
        # Ties break on corpus order, so results are deterministic.
        order = np.lexsort((arts, -np.round(scores, 6)))
        query_words = sorted(set(analysis.words), key=len, reverse=True)
        hits = [self._hit(int(arts[i]), int(best_rows[i]), float(scores[i]), query_words) for i in order]
        return self._explain(hits, analysis.words)

    def _explain(self, hits: list[Hit], words: list[str]) -> list[Hit]:
        """Hits with the weights of their matched terms and their article's last-modified time."""
        weights = self.term_weights(words)
        return [replace(h, term_weights=tuple((t, weights.get(t, 0.0)) for t in h.matched_terms),
                        updated=self.articles[self._by_id[h.id]].updated) for h in hits]

    def _hit(self, art: int, row: int, score: float, query_words: list[str]) -> Hit:
        a = self.articles[art]
        matched = self.data.row_text[row]
        target = self.analyzer.normalize(matched + " " + a.answer[:200])
        # Synonyms are mapped in the query's words, so also compare canonical tokens.
        canon = {t.text for t in self.analyzer.tokens(matched)}
        terms = tuple(w for w in query_words if len(w) > 1 and (w in target or w in canon))
        return Hit(
            id=a.id,
            score=min(max(score, 0.0), 1.0),
            question=a.question,
            answer=a.answer,
            category=a.category,
            tags=a.tags,
            matched=matched,
            matched_terms=terms,
            confident=score >= self.confident_score,
        )
