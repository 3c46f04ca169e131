"""Search and ranking over a loaded index. No Flask here.

An entry's score = (1 − a) · best question score + a · answer score, where each
text's score is a weighted sum of cosine similarities of the word and character
TF-IDF vectors. All parts are in [0, 1], so scores compare across queries.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .analysis import Analyzer
from .corpus import Article
from .index import FIELDS, IndexData, analyzer_for, load_index, read_current
from .rerank import Reranker, candidate_features, confidence_features, load_default_confidence

__all__ = ["Hit", "Searcher", "QueryError"]

DEFAULT_MIN_SCORE = 0.1
# First-stage pruning: terms in more than max(RARE_POSTINGS, RARE_SHARE · rows) phrasings do
# not generate candidates; the best RESCORE_ROWS candidate rows are then scored exactly.
RARE_POSTINGS = 2000
RARE_SHARE = 0.01
RESCORE_ROWS = 1000
GATHER_POSTINGS = 20000  # below this many postings, rescoring gathers them instead of binary searches
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
        # Shallow on purpose: dataclasses.asdict deep-copies and cost ~0.1 ms per hit.
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["tags"] = list(self.tags)
        d["matched_terms"] = list(self.matched_terms)
        d["term_weights"] = {t: round(w, 4) for t, w in self.term_weights}
        d["score"] = round(self.score, 4)
        return d


_EMPTY = (np.empty(0, np.int64), np.empty(0), np.empty(0))


def _accumulate(postings: sp.csc_matrix, cols: np.ndarray, weights: np.ndarray, coverage: np.ndarray):
    """(rows, dot products, covered query weight) for every row sharing a query term.

    Touches only the postings of the query's terms: cost grows with their
    length, not with the number of rows.
    """
    if cols.size == 0:
        return _EMPTY
    offsets, lengths = _gather(postings.indptr, cols)
    if offsets.size == 0:
        return _EMPTY
    rows, data = postings.indices[offsets], postings.data
    uniq, inverse = np.unique(rows, return_inverse=True)
    dots = np.bincount(inverse, weights=data[offsets] * np.repeat(weights, lengths))
    return uniq, dots, np.bincount(inverse, weights=np.repeat(coverage, lengths))


def _gather(indptr: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of every stored entry of the ``keys`` (columns of a CSC, rows of a CSR) and their lengths."""
    starts = indptr[keys]
    lengths = indptr[keys + 1] - starts
    total = int(lengths.sum())
    offsets = np.repeat(starts - np.cumsum(np.concatenate(([0], lengths[:-1]))), lengths) + np.arange(total)
    return offsets, lengths


def _score_ids(postings: sp.csc_matrix, cols: np.ndarray, weights: np.ndarray, coverage: np.ndarray,
               ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact (dot products, covered query weight) of the query with the given sorted rows."""
    dots, cov = np.zeros(ids.size), np.zeros(ids.size)
    if cols.size == 0 or ids.size == 0:
        return dots, cov
    indptr, indices, data = postings.indptr, postings.indices, postings.data
    lengths = indptr[cols + 1] - indptr[cols]
    if int(lengths.sum()) <= GATHER_POSTINGS:
        # Short postings: look each one up among the ids, all terms at once.
        offsets, lengths = _gather(indptr, cols)
        rows = indices[offsets]
        pos = np.minimum(np.searchsorted(ids, rows), ids.size - 1)
        found = ids[pos] == rows
        term = np.repeat(np.arange(cols.size), lengths)[found]
        dots += np.bincount(pos[found], weights=data[offsets[found]] * weights[term], minlength=ids.size)
        cov += np.bincount(pos[found], weights=coverage[term], minlength=ids.size)
        return dots, cov
    # Long postings (frequent terms in a big index): a binary search per term, never a walk.
    for col, w, c in zip(cols.tolist(), weights.tolist(), coverage.tolist()):
        start, end = indptr[col], indptr[col + 1]
        if start == end:
            continue
        pos = np.searchsorted(indices[start:end], ids)
        pos[pos == end - start] = 0
        found = indices[start + pos] == ids
        dots[found] += data[start + pos[found]] * w
        cov[found] += c
    return dots, cov


def _presence(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Dense (rows × cols) counts of a CSR with sorted indices: a small gather, no scipy indexing."""
    out = np.zeros((rows.size, cols.size))
    offsets, lengths = _gather(matrix.indptr, rows)
    terms = matrix.indices[offsets]
    order = np.argsort(cols)
    sorted_cols = cols[order]
    pos = np.minimum(np.searchsorted(sorted_cols, terms), cols.size - 1)
    found = sorted_cols[pos] == terms
    owner = np.repeat(np.arange(rows.size), lengths)
    out[owner[found], order[pos[found]]] = matrix.data[offsets[found]]
    return out


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, unordered; no full sort."""
    if scores.size <= k:
        return np.arange(scores.size)
    return np.argpartition(-scores, k - 1)[:k]


@dataclass
class Candidates:
    """First-stage results, one entry per article, with what the reranker reads."""

    arts: np.ndarray
    rows: np.ndarray  # best-matching question row of each article
    score: np.ndarray  # first-stage score in 0–1
    question: np.ndarray
    word: np.ndarray
    char: np.ndarray
    answer: np.ndarray
    word_cov: np.ndarray
    char_cov: np.ndarray
    answer_cov: np.ndarray
    support: np.ndarray
    art_word_cov: np.ndarray  # the next three: filled for reranked candidates only
    art_char_cov: np.ndarray
    missing_idf: np.ndarray

    def take(self, idx: np.ndarray) -> "Candidates":
        return Candidates(**{k: v[idx] for k, v in self.__dict__.items()})


class Searcher:
    """Ranked search over one published index version. Thread-safe; immutable."""

    def __init__(self, data: IndexData, analyzer: Analyzer, min_score: float = DEFAULT_MIN_SCORE,
                 reranker: Reranker | None = None, rerank_depth: int = 30, confidence: Reranker | None = None):
        self.data = data
        self.analyzer = analyzer
        self.min_score = min_score
        self.reranker = reranker if reranker is not None else data.reranker
        self.rerank_depth = rerank_depth
        # The no-answer model applies to reranked probabilities; without a reranker the
        # first-stage score is compared with confident_score.
        self.confidence = confidence if confidence is not None else load_default_confidence()
        ranking = data.manifest.get("ranking", {})
        self.field_weights = ranking.get("field_weights", {"word": 0.5, "char": 0.5})
        self.answer_weight = float(ranking.get("answer_weight", 0.2))
        self.confident_score = float(ranking.get("confident_score", DEFAULT_CONFIDENT_SCORE))
        self.weighting = ranking.get("weighting", "tfidf")
        self.k1, self.b = float(ranking.get("k1", 1.2)), float(ranking.get("b", 0.75))
        self._avglen = data.manifest.get("avglen", {})
        self.articles = data.articles
        # Id, category and tags of every article without decoding the articles (a loaded index
        # decodes each one when first shown).
        columns = data.columns or {"id": [a.id for a in self.articles], "category": [a.category for a in self.articles],
                                   "tags": [a.tags for a in self.articles]}
        self._by_id = {a: i for i, a in enumerate(columns["id"])}
        self._categories = np.array(columns["category"], dtype=object)
        self._tags = columns["tags"]
        tagged: dict[str, list[int]] = {}
        for i, tags in enumerate(self._tags):
            for t in tags:
                tagged.setdefault(t, []).append(i)
        self._tagged = {t: np.asarray(ids, np.int64) for t, ids in tagged.items()}
        # OOV query terms count in the query norm with the largest idf, so a query
        # that is mostly unknown words cannot score high on the one word it shares.
        self._oov_idf = {f: float(data.idf[f].max()) if data.idf[f].size else 1.0 for f in FIELDS}
        # Article × term counts of phrasings containing the term (for article-level coverage).
        self._article_terms = data.article_terms
        if self._article_terms is None:  # an index written before it stored them
            owner = sp.csr_matrix((np.ones(data.row_article.size, np.int32), (data.row_article, np.arange(data.row_article.size))),
                                  shape=(len(self.articles), data.row_article.size))
            self._article_terms = {f: (owner @ (data.questions[f] > 0).astype(np.int32)).tocsr() for f in FIELDS}
        # Normalised text of recently shown phrasings + answers, for matched terms (bounded memory).
        self._spelled_row = functools.lru_cache(maxsize=4096)(self._spell_row)

    @classmethod
    def load(cls, index_dir: str | Path = "index", analyzer: Analyzer | None = None, **kwargs) -> "Searcher":
        """Load the published version of ``index_dir``. Reuses ``analyzer`` when it
        was built with the same dictionary; otherwise builds one from the index's copy."""
        version = read_current(index_dir)
        built = None
        if version is not None and analyzer is None:
            # jieba's dictionary loads (≈0.6 s) while threads hash the index files; the copy of
            # the dictionary used is the version's own, and the version is refused if it is corrupt.
            dict_dir = Path(index_dir) / "versions" / version / "dict"
            with ThreadPoolExecutor(1) as pool:
                loading = pool.submit(load_index, index_dir, version)
                try:
                    built = analyzer_for({"user_words.txt": dict_dir / "user_words.txt", "synonyms.txt": dict_dir / "synonyms.txt"})
                except OSError:
                    built = None
                data = loading.result()
            analyzer = built
        else:
            data = load_index(index_dir, version)
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
        return dict(Counter(self._categories.tolist()))

    def tag_counts(self, category: str | None = None) -> dict[str, int]:
        """Articles per tag (within ``category`` if given), most used first, then by name."""
        counts = Counter(t for c, tags in zip(self._categories, self._tags) if not category or c == category for t in tags)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def term_weights(self, words: list[str]) -> dict[str, float]:
        """Each query word's weight in the query's word vector (sublinear tf × idf, L2-normalised over
        all its words): how much the word can contribute to a match. Unknown words are left out."""
        vocab, idf = self.data.vocab["word"], self.data.idf["word"]
        raw = {t: (1.0 + math.log(tf)) * (float(idf[vocab[t]]) if t in vocab else self._oov_idf["word"])
               for t, tf in Counter(words).items()}
        norm = math.sqrt(sum(w * w for w in raw.values())) or 1.0
        return {t: w / norm for t, w in raw.items() if t in vocab}

    def query_vector(self, tokens: list[str], name: str, answer: bool = False):
        """(columns, dot weights, coverage weights) of the query's in-vocabulary terms.

        Dot weights make a query scored against itself come out at 1: for tf-idf the
        L2-normalised sublinear tf·idf; for BM25 one over the query's own BM25 score.
        Both count out-of-vocabulary terms with the largest idf, so a query that is
        mostly unknown words cannot score high on the one word it shares. Coverage
        weights are idf shares of the whole query (known and unknown terms).
        """
        vocab, idf, oov = self.data.vocab[name], self.data.idf[name], self._oov_idf[name]
        counts = Counter(tokens)
        cols = np.fromiter((vocab.get(t, -1) for t in counts), np.int64, len(counts))
        tf = np.fromiter(counts.values(), np.float64, len(counts))
        term_idf = np.where(cols >= 0, idf[np.maximum(cols, 0)] if idf.size else 0.0, oov)
        known = cols >= 0
        if not known.any():
            return np.empty(0, np.int64), np.empty(0), np.empty(0)
        coverage = term_idf / term_idf.sum()
        if self.weighting == "bm25":
            avg = self._avglen[f"answer.{name}" if answer else name]
            sat = tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * tf.sum() / avg))
            weights = np.ones(cols.size) / float((term_idf * sat).sum())
        else:
            w = (1.0 + np.log(tf)) * term_idf
            weights = w / float(np.sqrt((w * w).sum()))
        return cols[known], weights[known], coverage[known]

    def first_stage(self, analysis, category: str | None = None, exclude_row: int = -1,
                    min_score: float = 0.0, limit: int | None = None, tag: str | None = None) -> Candidates | None:
        """Lexical scoring of every article sharing a term with the query; with ``limit``,
        only the best ``limit`` scoring ≥ ``min_score``, with their article-level features.

        ``exclude_row`` hides one question row (a paraphrase scored against the rest
        of the index when the reranker trains on the knowledge base itself).
        """
        feats = {"word": analysis.words, "char": analysis.chars}
        query_terms, gathered = {}, []
        n_rows = self.data.row_article.size
        cap = max(RARE_POSTINGS, int(RARE_SHARE * n_rows))
        for name in FIELDS:
            cols, weights, coverage = self.query_vector(feats[name], name)
            query_terms[name] = (cols, weights, coverage)
            if cols.size == 0:
                continue
            indptr = self.data.questions[name].indptr
            df = indptr[cols + 1] - indptr[cols]
            # Candidates come from the rarer terms' postings only; frequent terms
            # (怎么, 钱) are added exactly for the best candidates below.
            rare = df <= cap
            if not rare.any():
                rare = df <= np.sort(df)[min(1, df.size - 1)]
            wf = self.field_weights.get(name, 0.5)
            rows, dots, _ = _accumulate(self.data.questions[name], cols[rare], weights[rare], coverage[rare])
            gathered.append((rows, dots * wf))
        if not gathered:
            return None
        rows = np.concatenate([g[0] for g in gathered])
        partial = np.concatenate([g[1] for g in gathered])
        rows, inverse = np.unique(rows, return_inverse=True)
        partial = np.bincount(inverse, weights=partial)
        keep = rows != exclude_row
        if category:
            keep &= self._categories[self.data.row_article[rows]] == category
        if tag:
            keep &= np.isin(self.data.row_article[rows], self._tagged[tag])
        rows, partial = rows[keep], partial[keep]
        if rows.size == 0:
            return None
        if rows.size > RESCORE_ROWS:
            rows = np.sort(rows[_top(partial, RESCORE_ROWS)])
        word, word_cov = _score_ids(self.data.questions["word"], *query_terms["word"], rows)
        char, char_cov = _score_ids(self.data.questions["char"], *query_terms["char"], rows)
        combined = self.field_weights.get("word", 0.5) * word + self.field_weights.get("char", 0.5) * char
        row_art = self.data.row_article[rows]
        # Best question row per article: sort by (article, -score), keep each article's first.
        order = np.lexsort((-combined, row_art))
        row_art, sorted_scores = row_art[order], combined[order]
        first = np.flatnonzero(np.concatenate(([True], row_art[1:] != row_art[:-1])))
        best = order[first]
        arts = row_art[first]
        # Paraphrase support: how many of the article's phrasings score near its best.
        group = np.repeat(np.arange(first.size), np.diff(np.append(first, order.size)))
        near = sorted_scores >= 0.8 * sorted_scores[first][group]
        support = np.bincount(group, weights=near, minlength=first.size)
        answer, answer_cov = np.zeros(arts.size), np.zeros(arts.size)
        if "char" in self.data.answers:
            cols, weights, coverage = query_terms["char"]
            if self.weighting == "bm25":
                cols, weights, coverage = self.query_vector(feats["char"], "char", answer=True)
            order_a = np.argsort(arts)
            a_dots, a_cov = _score_ids(self.data.answers["char"], cols, weights, coverage, arts[order_a])
            answer[order_a], answer_cov[order_a] = a_dots, a_cov
        a = self.answer_weight
        cands = Candidates(
            arts=arts, rows=rows[best], score=(1.0 - a) * combined[best] + a * answer,
            question=combined[best], word=word[best], char=char[best], answer=answer,
            word_cov=word_cov[best], char_cov=char_cov[best], answer_cov=answer_cov, support=support,
            art_word_cov=np.zeros(arts.size), art_char_cov=np.zeros(arts.size), missing_idf=np.zeros(arts.size),
        )
        if limit is None:
            return cands
        cands = cands.take(np.flatnonzero(cands.score >= min_score))
        cands = cands.take(_top(cands.score, limit))
        if cands.arts.size:
            self._article_coverage(cands, query_terms, exclude_row)
        return cands

    def _article_coverage(self, cands: Candidates, query_terms: dict, exclude_row: int) -> None:
        """How much of the query the whole article (all its phrasings) contains, and the
        rarest query word it lacks: a frequent query word missing from a candidate."""
        for name in FIELDS:
            cols, _weights, coverage = query_terms[name]
            if cols.size == 0:
                continue
            present = _presence(self._article_terms[name], cands.arts, cols)
            if exclude_row >= 0:
                # The held-out phrasing must not vouch for its own article.
                mine = cands.arts == self.data.row_article[exclude_row]
                own = self.data.questions[name][exclude_row, cols].toarray().ravel() > 0
                present[mine] -= own
            present = present > 0
            covered = present @ coverage
            if name == "word":
                cands.art_word_cov[:] = covered
                idf = self.data.idf[name][cols] / self._oov_idf[name]
                cands.missing_idf[:] = np.max(np.where(present, 0.0, idf), axis=1)
            else:
                cands.art_char_cov[:] = covered

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
        analysis = self.analyzer.analyze(query)
        depth = self.rerank_depth if self.reranker is not None else k
        # The floor applies to the lexical score: a candidate sharing too little with the
        # query is not shown, however the reranker would order it.
        cands = self.first_stage(analysis, category, min_score=min_score, limit=depth, tag=tag)
        if cands is None or cands.arts.size == 0:
            return []
        # Only the best hit can be "the answer"; the others are related reading.
        if self.reranker is not None:
            X = candidate_features(cands, analysis)
            scores = self.reranker.predict(X)
        else:
            scores = cands.score
        best = int(np.argmax(scores))
        confident = np.zeros(scores.size, bool)
        if self.reranker is not None and self.confidence is not None:
            # Trained on best candidates: it says whether the best one answers at all.
            threshold = float(self.confidence.info.get("threshold", 0.5))
            confident[best] = self.confidence.predict(confidence_features(X, scores)[None, :])[0] >= threshold
        else:
            confident[best] = scores[best] >= self.confident_score
        top = _top(scores, k)
        arts, rows, scores, confident = cands.arts[top], cands.rows[top], scores[top], confident[top]
        # Ties break on corpus order, so results are deterministic.
        order = np.lexsort((arts, -np.round(scores, 6)))
        query_words = sorted(set(analysis.words), key=len, reverse=True)
        hits = [self._hit(int(arts[i]), int(rows[i]), float(scores[i]), bool(confident[i]), query_words) for i in order]
        return self._explain(hits, analysis.words)


    def _explain(self, hits: list[Hit], words: list[str]) -> list[Hit]:
        """Hits with the weights of their matched terms and their article's last-modified time."""
        weights = self.term_weights(words)
        return [replace(h, term_weights=tuple((t, weights.get(t, 0.0)) for t in h.matched_terms),
                        updated=self.articles[self._by_id[h.id]].updated) for h in hits]

    def _spell_row(self, row: int) -> str:
        article = self.articles[int(self.data.row_article[row])]
        return self.analyzer.spelled(self.data.row_text[row] + " " + article.answer[:200])

    def _hit(self, art: int, row: int, score: float, confident: bool, query_words: list[str]) -> Hit:
        a = self.articles[art]
        matched = self.data.row_text[row]
        # A substring test (no segmentation per hit): spelling variants are fixed on both sides.
        target = self._spelled_row(row)
        terms = tuple(w for w in query_words if len(w) > 1 and w in target)
        return Hit(
            id=a.id,
            score=min(max(score, 0.0), 1.0),
            question=a.question,
            answer=a.answer,
            category=a.category,
            tags=a.tags,
            matched=matched,
            matched_terms=terms,
            confident=confident,
        )
