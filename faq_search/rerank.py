"""Second stage: a logistic-regression reranker over the first stage's top candidates.

It is trained on the knowledge base itself: every phrasing of an article with
other phrasings becomes a pseudo-query, scored with its own row hidden, so the
model learns how paraphrases (not copies) look. Its output is a probability
that the candidate answers the query: the hit's score, comparable across queries.

Weights are a small JSON file (never pickle). A knowledge base with too few
paraphrase groups uses the default weights trained on our own corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .features import fork_pool

__all__ = ["FEATURES", "LEXICAL_FEATURES", "MODEL_FEATURES", "CONFIDENCE_FEATURES", "CONFIDENCE_INPUTS", "Reranker", "candidate_features", "confidence_features",
           "confidence_examples", "fit_confidence",
           "train_reranker", "train_confidence", "training_sample", "TrainingSample", "DEFAULT_WEIGHTS", "DEFAULT_CONFIDENCE", "MIN_PSEUDO_QUERIES",
           "RERANK_C"]

FEATURES = (
    "score", "question", "word", "char", "answer", "word_cov", "char_cov", "answer_cov",
    "support", "first_rank", "gap_to_best", "best_score", "query_len",
    "art_word_cov", "art_char_cov", "missing_idf",
    "art_char_bm25", "jaccard", "paraphrase", "paraphrase_gap",
    "lsa_max", "lsa_gap",
)
# Zero where the knowledge base has no paraphrase model (the LSA model is trained with it): a
# reranker is trained with them only when they exist, and the shipped default weights and the
# no-answer model never read them.
MODEL_FEATURES = ("paraphrase", "paraphrase_gap", "lsa_max", "lsa_gap")
LEXICAL_FEATURES = tuple(f for f in FEATURES if f not in MODEL_FEATURES)
DEFAULT_WEIGHTS = Path(__file__).with_name("default_reranker.json")
# The no-answer model reads the reranked candidates: is the best one an answer at all? "categories"
# is how many categories the TOP_CATEGORIES most probable candidates span: a question near the domain
# but outside it (信用卡年费, 公交卡充值) pulls candidates from several (docs/quality.md). A knowledge
# base with one category always gives 1, which the model reads as agreement.
CONFIDENCE_INPUTS = ("p", "p_gap", "categories", *FEATURES)
CONFIDENCE_FEATURES = ("p", "p_gap", "categories", *LEXICAL_FEATURES)
TOP_CATEGORIES = 5
DEFAULT_CONFIDENCE = Path(__file__).with_name("default_confidence.json")
# Below this many pseudo-queries, weights fitted on the corpus itself overfit.
MIN_PSEUDO_QUERIES = 1000
# Paraphrase groups are uneven when more than this share of their phrasings is in groups over twice
# the median size (BQ: 0.29; ours: 0).
UNEVEN_SHARE = 0.1
# Pseudo-queries sampled per build: each costs ~2 ms of training on every build; on our corpus
# 600 to 1,700 of them moved test acc@1 by 0.003 (docs/quality.md).
TRAIN_QUERIES = 800
# Inverse L2 strength of the reranker's logistic regression. Across five training samples, 0.3 against
# 1.0 left our three labelled sets where they were and gave BQ 1.200–1.203× the best baseline
# against 1.192–1.203× (docs/quality.md): steadier weights from the same 800 pseudo-queries.
RERANK_C = 0.3


def candidate_features(c, analysis) -> np.ndarray:
    """One row of FEATURES per candidate, computed for all candidates at once (filled column by
    column into one array: a query makes this call once, and ``np.column_stack`` of 22 short
    arrays costs three times as much)."""
    n = c.arts.size
    X = np.empty((n, len(FEATURES)))
    if n == 0:
        return X
    order = np.argsort(-c.score, kind="stable")
    best = c.score[order[0]]
    (X[:, 0], X[:, 1], X[:, 2], X[:, 3], X[:, 4], X[:, 5], X[:, 6], X[:, 7]) = (
        c.score, c.question, c.word, c.char, c.answer, c.word_cov, c.char_cov, c.answer_cov)
    np.log1p(c.support, out=X[:, 8])
    X[order, 9] = 1.0 / np.arange(1.0, n + 1.0)
    np.subtract(c.score, best, out=X[:, 10])
    X[:, 11] = best
    X[:, 12] = np.log1p(len(analysis.chars))
    (X[:, 13], X[:, 14], X[:, 15], X[:, 16], X[:, 17], X[:, 18], X[:, 20]) = (
        c.art_word_cov, c.art_char_cov, c.missing_idf, c.art_char_bm25, c.jaccard, c.paraphrase, c.lsa_max)
    np.subtract(c.paraphrase, c.paraphrase.max(), out=X[:, 19])
    np.subtract(c.lsa_max, c.lsa_max.max(), out=X[:, 21])
    return X


def confidence_features(X: np.ndarray, p: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """CONFIDENCE_INPUTS of the best candidate, given all candidates' features ``X``, probabilities
    ``p`` and categories: its probability, its lead over the runner-up, how many categories the most
    probable candidates span, its features."""
    best = int(np.argmax(p))
    runner_up = float(np.partition(p, -2)[-2]) if p.size > 1 else 0.0
    top = np.argsort(-p, kind="stable")[:TOP_CATEGORIES]
    return np.concatenate(([p[best], p[best] - runner_up, len(set(categories[top].tolist()))], X[best]))


@dataclass(frozen=True)
class Reranker:
    """A standardised logistic model over ``features``, a subset of the ``inputs`` columns
    it is given (FEATURES for ranking, CONFIDENCE_INPUTS for the no-answer decision)."""

    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray
    info: dict
    features: tuple = FEATURES
    inputs: tuple = FEATURES

    def __post_init__(self):
        columns = np.asarray([self.inputs.index(f) for f in self.features], np.int64)
        # The standardisation folded into the weights: a prediction is one product, not a
        # subtraction and a division first.
        object.__setattr__(self, "_columns", None if columns.tolist() == list(range(len(self.inputs))) else columns)
        object.__setattr__(self, "_weights", self.coef / self.scale)
        object.__setattr__(self, "_bias", float(self.intercept - (self.mean / self.scale) @ self.coef))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Probabilities for the rows of ``X`` (whose columns are ``inputs``)."""
        z = (X if self._columns is None else X[:, self._columns]) @ self._weights
        z += self._bias
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> str:
        return json.dumps({
            "features": list(self.features), "coef": self.coef.tolist(), "intercept": self.intercept,
            "mean": self.mean.tolist(), "scale": self.scale.tolist(), "info": self.info,
        }, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str, inputs: tuple = FEATURES) -> "Reranker":
        d = json.loads(text)
        features = d.get("features")
        if not isinstance(features, list) or not features or not set(features) <= set(inputs):
            raise ValueError("weights were trained on other features")
        coef = np.asarray(d["coef"], float)
        if coef.shape != (len(features),):
            raise ValueError("weights do not match their features")
        return cls(coef, float(d["intercept"]), np.asarray(d["mean"], float),
                   np.asarray(d["scale"], float), d.get("info", {}), tuple(features), tuple(inputs))

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, C: float, info: dict, features: tuple = FEATURES,
            inputs: tuple = FEATURES) -> "Reranker":
        """Fit on the ``features`` columns of ``X`` (whose columns are ``inputs``)."""
        from sklearn.linear_model import LogisticRegression

        X = X[:, [inputs.index(f) for f in features]]
        mean, scale = X.mean(axis=0), X.std(axis=0)
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=C, max_iter=2000).fit((X - mean) / scale, y)
        return cls(model.coef_[0], float(model.intercept_[0]), mean, scale, info, tuple(features), tuple(inputs))


def pseudo_queries(searcher, limit: int, seed: int = 13) -> list[tuple[int, int, str]]:
    """(article, row, text) for phrasings of articles that have at least two."""
    return _pseudo_queries(searcher.data, limit, seed)


def _pseudo_queries(data, limit: int, seed: int = 13) -> list[tuple[int, int, str]]:
    """In an order drawn by hashing each phrasing (with its article's id and ``seed``), so that
    editing a few phrasings moves only those in the sample: a shuffle of the whole list would draw
    a new sample, and retrain a different reranker, for any edit. When paraphrase groups are uneven,
    then dealt round robin over the articles (one phrasing of each, then a second …). Drawn
    uniformly, such a sample is mostly the few articles with many phrasings, whose held-out phrasing
    is easy to place, and the reranker leans on what most entries lack (how many phrasings match;
    docs/quality.md)."""
    owner = np.asarray(data.row_article, np.int64)
    # An incremental version keeps its base's replaced rows, owned by no article (−1).
    counts = np.bincount(owner[owner >= 0], minlength=len(data.articles))
    out = [(a, r, data.row_text[r]) for r, a in enumerate(owner.tolist()) if a >= 0 and counts[a] >= 2]
    # A loaded index lists its ids beside the articles: decoding 100k articles for them took ≈ 1 s.
    columns = getattr(data, "columns", None)
    ids = columns["id"] if columns is not None else [a.id for a in data.articles]
    out.sort(key=lambda q: hashlib.blake2b(f"{seed}\0{ids[q[0]]}\0{q[2]}".encode("utf-8"), digest_size=8).digest())
    sizes = counts[counts >= 2]
    # Even groups (ours: 15–24 phrasings each) draw alike either way: keep the uniform draw.
    if not sizes.size or sizes[sizes > 2 * np.median(sizes)].sum() <= UNEVEN_SHARE * sizes.sum():
        return out[:limit]
    dealt = np.zeros(len(data.articles), np.int64)
    turn = []
    for a, _r, _t in out:
        turn.append(dealt[a])
        dealt[a] += 1
    order = sorted(range(len(out)), key=turn.__getitem__)  # stable: shuffled order within a round
    return [out[i] for i in order[:limit]]


def held_out_paraphrase(searcher, queries, folds: int = 2) -> dict:
    """Row → a paraphrase model fitted without that row (cross-fitted over ``folds`` parts
    of the pseudo-queries), so a pseudo-query's paraphrase score is as honest as a user's."""
    data = searcher.data
    if searcher.paraphrase is None or not queries:
        return {}
    from .paraphrase import ParaphraseModel

    rows = np.asarray([row for _art, row, _text in queries])
    out = {}
    for part in np.array_split(rows, folds):
        model = ParaphraseModel.fit(data.questions, data.row_article, len(data.articles), exclude_rows=part)
        out.update((int(r), model) for r in part)
    return out


def held_out_lsa(searcher, queries, folds: int = 2) -> dict:
    """Row → an LSA model fitted without that row (cross-fitted like the paraphrase model)."""
    if searcher.lsa is None or not queries:
        return {}
    from .lsa import LsaModel

    rows = np.asarray([row for _art, row, _text in queries])
    out = {}
    for part in np.array_split(rows, folds):
        model = LsaModel.fit(searcher.data.questions, exclude_rows=part)
        out.update((int(r), model) for r in part)
    return out


def training_set(searcher, queries, depth: int = 30, paraphrase: bool = True):
    X, y, groups = [], [], []
    models = held_out_paraphrase(searcher, queries) if paraphrase else {}
    lsa_models = held_out_lsa(searcher, queries) if paraphrase else {}
    for qid, (art, row, text) in enumerate(queries):
        analysis = searcher.analyzer.analyze(text)
        top = searcher.candidates(analysis, exclude_row=row, limit=depth, paraphrase=models.get(row), lsa=lsa_models.get(row))
        if top is None or top.arts.size == 0:
            continue
        X.append(candidate_features(top, analysis))
        y.append(top.arts == art)
        groups.append(np.full(top.arts.size, qid))
    return np.vstack(X), np.concatenate(y), np.concatenate(groups)


@dataclass(frozen=True)
class TrainingSample:
    """The pseudo-queries a build trains on, a digest of them (article ids and texts) and a short key
    of each (so a later build can tell how many of them it shares)."""

    queries: list
    available: int
    digest: str
    keys: tuple[str, ...] = ()


def training_sample(data, limit: int = TRAIN_QUERIES) -> TrainingSample:
    """The first ``limit`` of the shuffled pseudo-queries of an index's data (deterministic:
    the same paraphrase rows give the same sample)."""
    available = _pseudo_queries(data, len(data.row_text))
    queries = available[:limit]
    h = hashlib.sha256(f"{len(available)}\0".encode())
    keys = []
    for art, _row, text in queries:
        item = f"{data.articles[art].id}\0{text}\0".encode("utf-8")
        h.update(item)
        keys.append(hashlib.blake2b(item, digest_size=4).hexdigest())
    return TrainingSample(queries, len(available), h.hexdigest()[:32], tuple(keys))


# Set in the parent right before forking: workers inherit the Searcher instead of pickling it.
_POOL_SEARCHER = None
# Below this many question rows a pseudo-query costs ~1 ms: training in one process is quicker
# than forking (and a long-running watcher then forks nothing for small knowledge bases).
PARALLEL_MIN_ROWS = 20000


def _training_chunk(args):
    queries, depth, paraphrase = args
    try:
        return training_set(_POOL_SEARCHER, queries, depth, paraphrase)[:2]
    except ValueError:  # no query of this chunk had candidates
        return np.empty((0, len(FEATURES))), np.empty(0, bool)


def _training_set_parallel(searcher, queries, depth: int, workers: int | None, paraphrase: bool):
    """training_set's (X, y), the queries split over a fork pool; same rows in the same order."""
    global _POOL_SEARCHER
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or len(queries) < 200 or searcher.data.row_article.size < PARALLEL_MIN_ROWS:
        return training_set(searcher, queries, depth, paraphrase)[:2]
    size = -(-len(queries) // workers)
    chunks = [(queries[i : i + size], depth, paraphrase) for i in range(0, len(queries), size)]
    # One query here first: the structures a search builds on first use (the row-major copy, the
    # answers' bitmaps, the compiled loops) are then built once and shared, not once per worker.
    training_set(searcher, queries[:1], depth, paraphrase=False)
    _POOL_SEARCHER = searcher
    try:
        with fork_pool(workers) as pool:
            parts = pool.map(_training_chunk, chunks)
    finally:
        _POOL_SEARCHER = None
    return np.vstack([X for X, _ in parts]), np.concatenate([y for _, y in parts])


def train_reranker(searcher, limit: int = TRAIN_QUERIES, depth: int = 30, C: float = RERANK_C,
                   sample: TrainingSample | None = None, workers: int | None = None,
                   lexical_only: bool = False) -> Reranker | None:
    """Fit weights on the index's own paraphrase groups (a sample of ``limit`` pseudo-queries);
    None when the knowledge base has too few groups to learn from. The paraphrase model's
    features are used when the index has that model (and not ``lexical_only``)."""
    sample = sample or training_sample(searcher.data, limit)
    if sample.available < MIN_PSEUDO_QUERIES:
        return None
    lexical_only = lexical_only or searcher.paraphrase is None
    X, y = _training_set_parallel(searcher, sample.queries, depth, workers, paraphrase=not lexical_only)
    if y.sum() == 0 or y.all():
        return None
    info = {"pseudo_queries": len(sample.queries), "available": sample.available, "candidates": int(y.size),
            "positives": int(y.sum()), "sample": sample.digest, "C": C, "sample_keys": " ".join(sample.keys)}
    return Reranker.fit(X, y, C, info, LEXICAL_FEATURES if lexical_only else FEATURES)


def confidence_examples(searcher, labelled) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per labelled query: CONFIDENCE_INPUTS of its best candidate (NaN when it has none or
    search never calls it confident), whether it is in scope, whether that candidate is right."""
    F, in_scope, right = [], [], []
    for lq in labelled:
        analysis = searcher.analyze_query(lq.query)
        cands = searcher.candidates(analysis, min_score=searcher.min_score, limit=searcher.rerank_depth)
        row = np.full(len(CONFIDENCE_INPUTS), np.nan)
        ok = False
        if cands is not None and cands.arts.size and searcher.may_be_confident(analysis):
            X = candidate_features(cands, analysis)
            p = searcher.reranker.predict(X)
            best = int(cands.arts[int(np.argmax(p))])
            if searcher.names_other_product(lq.query, best) is None:
                row = confidence_features(X, p, searcher.categories_of(cands.arts))
            ok = searcher.articles[best].id in lq.expected
        F.append(row)
        in_scope.append(lq.in_scope)
        right.append(ok)
    return np.asarray(F), np.asarray(in_scope), np.asarray(right)


def fit_confidence(F, in_scope, right, threshold: float, C: float = 1.0) -> Reranker:
    """Fit the no-answer model on confidence_examples: in-scope queries whose best candidate is
    right (should be confident) against out-of-scope ones (should not). A wrong best answer is
    a ranking miss, not a lesson about scope (counting it as either class moved nothing)."""
    use = ~np.isnan(F).any(axis=1) & (right | ~in_scope)
    info = {"labelled_queries": int(use.sum()), "out_of_scope": int((use & ~in_scope).sum()), "threshold": threshold}
    return Reranker.fit(F[use], in_scope[use], C, info, CONFIDENCE_FEATURES, CONFIDENCE_INPUTS)


def train_confidence(searcher, labelled, threshold: float, C: float = 1.0) -> Reranker:
    """The no-answer model fitted on labelled queries (see fit_confidence)."""
    return fit_confidence(*confidence_examples(searcher, labelled), threshold, C)


def load_default() -> Reranker | None:
    try:
        return Reranker.from_json(DEFAULT_WEIGHTS.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def load_default_confidence() -> Reranker | None:
    try:
        return Reranker.from_json(DEFAULT_CONFIDENCE.read_text("utf-8"), CONFIDENCE_INPUTS)
    except (OSError, ValueError):
        return None
