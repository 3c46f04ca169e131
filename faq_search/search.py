"""Search and ranking over a loaded index. No Flask here.

An entry's score = (1 − a) · best question score + a · answer score, where each
text's score is a weighted sum of cosine similarities of the word and character
TF-IDF vectors. All parts are in [0, 1], so scores compare across queries.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import logging
import math
import os
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import scipy.sparse as sp

from .analysis import TOPIC_FREE_WORDS, Analysis, Analyzer
from .contrast import asked_clause
from .corpus import Article
from .index import ANSWER_HEAD_CHARS, FIELDS, IndexData, IndexError_, analyzer_for, answer_head, check_in_background, load_index, read_current
from .lsa import LsaModel
from .paraphrase import ParaphraseModel, query_vector
from .pinyin import PinyinReader, Reading, may_hold_pinyin, may_hold_typo
from .postings import FrequentPostings
from .rerank import Reranker, candidate_features, confidence_features, load_default_confidence

__all__ = ["Hit", "Searcher", "QueryError"]

DEFAULT_MIN_SCORE = 0.1
# Reranked hits below this probability of being the answer are not returned (docs/quality.md,
# "Decisions"): most of a search's 10 were, matching a word or two (钱转错人了咋办 listed nine at 0.0000),
# and none was ever the right answer on our dev half, tuning set or BQ; 0.01 lost one tuning query.
MIN_PROBABILITY = 0.005
# ... unless they match at least this share of the query's weight: 密码 still lists every article
# about passwords, however unsure the reranker is which one a one-word question means.
STRONG_MATCH = 0.5
# First-stage pruning: terms in more than max(RARE_POSTINGS, RARE_SHARE · rows) phrasings do
# not generate candidates; the best RESCORE_ROWS candidate rows are then scored exactly.
RARE_POSTINGS = 2000
RARE_SHARE = 0.01
RESCORE_ROWS = 350
# From this many rare-term entries on, they are summed by sorting rather than through a dense buffer.
SORTED_SUM_MIN = 2000
# Answer postings up to this long, or up to a 32nd of the articles, are read whole; longer ones
# (frequent characters) are looked up for the candidates in their bitmaps. A bitmap takes a quarter
# byte per article, so beyond a 32nd it is smaller than the postings it stands for.
ANSWER_GATHER = 4000
ANSWER_BITMAP_SHARE = 32
MIN_CONFIDENT_CHARS = 2
# A number alone is the answer from this many digits on (400, 1069, 123456 name a line, a sender, a weak
# password); 20 or 8 is an amount or a date typed on the way to a question.
MIN_CONFIDENT_DIGITS = 3
# jieba's count from which a window of characters is a word of its own, not a typo (冻洁 has 3).
MIN_DICTIONARY_COUNT = 10
# A query respelled for its typos may answer with one of the first hits of the query as typed. Five, not
# three: a two-character typo (退宽) matches only by the character typed right, which ranks every refund
# article alike; no labelled query of any set changed outcome (docs/quality.md).
RESPELLED_WITHIN = 5
_HAS_HAN = re.compile("[\u4e00-\u9fff]")
_LATIN_RUN = re.compile("[a-z]+(?: [a-z]+)*")
# An amount, and the words it is said with, name no topic (500, 块, 万).
_NUMBER = re.compile(r"[0-9][0-9.,]*%?")
_AMOUNT_WORDS = frozenset("块 块钱 元 万 千 百".split())
# Up to this many phrasings the LSA cosines are computed for all of them (≈ 10 µs), not gathered.
LSA_FULL_PRODUCT = 10000
# Articles whose phrasings an explanation keeps at hand, and phrasings normalised (per Searcher): as many
# as the articles kept decoded (index.LazyArticles). With 4096, searches spread over 100k articles
# (≈ 10k shown) emptied them before an article came back: ≈ 0.05 ms a search. At most ≈ 25 MiB a worker.
PHRASINGS_CACHE = 20_000
NORMALIZED_CACHE = 20_000
# Below this a hit is shown as "maybe related", not as the answer (see docs/quality.md).
DEFAULT_CONFIDENT_SCORE = 0.35


@functools.cache
def _kernels():
    """The compiled loops (kernels.py), imported (and compiled or loaded from their cache) on first
    use; None where Numba is missing or turned off with FAQ_SEARCH_JIT=0: the NumPy forms serve."""
    if os.environ.get("FAQ_SEARCH_JIT", "1") == "0":
        return None
    try:
        from . import kernels

        kernels.check()
    except Exception as e:  # noqa: BLE001 - no Numba, no writable cache, an LLVM it cannot use: serve without
        logging.getLogger(__name__).warning("compiled search loops unavailable, serving the NumPy form: %s", e)
        return None
    return kernels


class QueryError(ValueError):
    """A query the caller must fix (e.g. an unknown category)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class Why(NamedTuple):
    """Why a hit matched. Query words are as the query spelled them (忘了, not the canonical 忘记), each
    told once, by the first of: in ``matched`` (matched_terms), a synonym of it in ``matched``, in the
    start of the answer (answer_terms), a synonym of it there. ``synonyms`` holds (query word, synonym
    found, "matched" or "answer"); ``read_as`` (pinyin typed, the word it was read as, "matched" or
    "answer") for query words typed in pinyin, which are in neither terms (a reading found only through
    a synonym is in both ``read_as`` and ``synonyms``: tixian → 提现, 提现 → 取现); ``term_weights`` the
    weight of every query word found, either way, words read from pinyin by the word read."""
    matched: str
    matched_terms: tuple[str, ...]
    term_weights: tuple[tuple[str, float], ...]
    answer_terms: tuple[str, ...] = ()
    synonyms: tuple[tuple[str, str, str], ...] = ()
    read_as: tuple[tuple[str, str, str], ...] = ()


_NO_WHY = Why("", (), ())


@dataclass(frozen=True)
class Hit:
    """One result. The article's own text (question, answer, updated) is read from the index when
    first asked for: a caller showing one answer does not pay for decoding ten articles. So is why it
    matched (the phrasing, the query words found, their weights): ranking never needs it."""
    id: str
    score: float
    category: str
    tags: tuple[str, ...]
    confident: bool = False  # score above the calibrated no-answer threshold
    source: Callable[[], Article] | None = field(default=None, repr=False, compare=False)
    # () → Why, or its first three fields as a tuple: see matched, matched_terms, term_weights, ...
    explain: Callable[[], tuple] | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def _why(self) -> Why:
        if self.explain is None:
            return _NO_WHY
        why = self.explain()
        return why if isinstance(why, Why) else Why(*why)

    @property
    def matched(self) -> str:
        """The article's phrasing (question or similar question) holding most of the query's weight;
        of equals, the one holding the fewest words only as a synonym, then the one the ranking scored best."""
        return self._why.matched

    @property
    def matched_terms(self) -> tuple[str, ...]:
        """Query words found in ``matched`` as typed: highlighting ``matched`` with them is right."""
        return self._why.matched_terms

    @property
    def answer_terms(self) -> tuple[str, ...]:
        """Query words found not in ``matched`` (nor a synonym of them) but in the start of the answer."""
        return self._why.answer_terms

    @property
    def synonyms(self) -> tuple[tuple[str, str, str], ...]:
        """(query word, its synonym found, "matched" or "answer") for query words found only through a
        synonym (corpus/dict/synonyms.txt): 封号 found as 冻结."""
        return self._why.synonyms

    @property
    def read_as(self) -> tuple[tuple[str, str, str], ...]:
        """(pinyin typed, the word it was read as, "matched" or "answer") for query words typed in pinyin,
        read by the pinyin reader or listed as a synonym in pinyin: daozhang read as 到账, tixian as 提现."""
        return self._why.read_as

    @property
    def term_weights(self) -> tuple[tuple[str, float], ...]:
        """(word, weight) for every query word found (matched_terms, answer_terms, the synonyms' query
        words, then the words read from pinyin): its weight in the L2-normalised query word vector."""
        return self._why.term_weights

    @property
    def matched_words(self) -> tuple[str, ...]:
        """The words of ``matched`` the query was found as (its own, synonyms, then words read from
        pinyin): to highlight in it."""
        why = self._why
        return (why.matched_terms + tuple(found for _q, found, where in why.synonyms if where == "matched")
                + tuple(read for _typed, read, where in why.read_as if where == "matched"))

    @property
    def found_words(self) -> tuple[str, ...]:
        """The query words found (in ``matched`` or the answer, as typed, through a synonym or read from
        pinyin) and the synonyms they were found as: to highlight in the question and the answer."""
        why = self._why
        return (why.matched_terms + why.answer_terms + tuple(w for typed, found, _where in why.synonyms for w in (typed, found))
                + tuple(read for _typed, read, _where in why.read_as))

    @property
    def article(self) -> Article:
        if self.source is None:
            raise LookupError(f"hit {self.id} carries no article")
        return self.source()

    @property
    def question(self) -> str:
        return self.article.question

    @property
    def answer(self) -> str:
        return self.article.answer

    @property
    def updated(self) -> str:
        """The article's last-modified time (ISO 8601)."""
        return self.article.updated

    def to_dict(self) -> dict:
        a = self.article
        return {"id": self.id, "score": round(self.score, 4), "question": a.question, "answer": a.answer,
                "category": self.category, "tags": list(self.tags), "matched": self.matched,
                "matched_terms": list(self.matched_terms), "answer_terms": list(self.answer_terms),
                "synonyms": [{"query": q, "matched": m, "in": where} for q, m, where in self.synonyms],
                "read_as": [{"query": q, "read": r, "in": where} for q, r, where in self.read_as],
                "confident": self.confident, "term_weights": {t: round(w, 4) for t, w in self.term_weights},
                "updated": a.updated, "aliases": list(a.aliases)}


def _gather(indptr: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of every stored entry of the ``keys`` (columns of a CSC, rows of a CSR), and where
    each key's entries end among them."""
    starts = indptr[keys]
    lengths = indptr[keys + 1] - starts
    ends = np.add.accumulate(lengths)
    # Array methods and ufuncs, not np.cumsum/np.diff/np.repeat: their Python wrappers cost
    # microseconds, and a query makes a few hundred such calls.
    return (starts - ends + lengths).repeat(lengths) + np.arange(int(ends[-1]) if ends.size else 0), ends


def _owners(ends: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Which key each of the given positions among _gather's offsets belongs to."""
    return ends.searchsorted(positions, side="right")


def _presence(matrix: sp.csr_matrix, rows: np.ndarray, lut: np.ndarray, first_term: int, n_terms: int) -> np.ndarray:
    """Dense (rows × query terms) counts of a CSR: a small gather, no scipy indexing.
    ``lut`` maps a column to its query term's slot (−1 for other columns); this matrix's
    terms are slots first_term … first_term + n_terms − 1."""
    out = np.zeros((rows.size, n_terms))
    offsets, ends = _gather(matrix.indptr, rows)
    term = lut[matrix.indices[offsets]]
    found = (term >= 0).nonzero()[0]
    out[_owners(ends, found), term[found] - first_term] = matrix.data[offsets[found]]
    return out


def _without(rows: np.ndarray, values: np.ndarray, drop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ``rows`` and their ``values`` less the (sorted) rows in ``drop``: a binary search
    of the few dropped rows, not a pass over every row."""
    pos = rows.searchsorted(drop)
    inside = pos < rows.size
    pos, drop = pos[inside], drop[inside]
    hit = pos[rows[pos] == drop]
    if hit.size == 0:
        return rows, values
    keep = np.ones(rows.size, bool)
    keep[hit] = False
    return rows[keep], values[keep]


def _firsts(values: np.ndarray) -> np.ndarray:
    """Mask of the first of each run of equal values."""
    mask = np.empty(values.size, bool)
    mask[:1] = True
    np.not_equal(values[1:], values[:-1], out=mask[1:])
    return mask


def _sum_by_row(rows: np.ndarray, values: np.ndarray, acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ``rows`` and the sum of their ``values``. Many entries are sorted (the rows come
    as sorted runs, one per term, which a stable sort merges) and summed by run: random writes into
    ``acc`` (one float per row of the index) would touch a cache line each. Few go through ``acc``
    (zeros, left so): cheaper in NumPy calls."""
    if rows.size >= SORTED_SUM_MIN:
        order = rows.argsort(kind="stable")
        rows = rows[order]
        first = _firsts(rows).nonzero()[0]
        return rows[first], np.add.reduceat(values[order], first)
    try:
        np.add.at(acc, rows, values)
        rows = np.sort(rows)
        rows = rows[_firsts(rows)]
        return rows, acc[rows]
    finally:
        acc[rows] = 0.0


def _best_candidates(cands: "Candidates", limit: int, min_score: float) -> "Candidates":
    """The best ``limit`` candidates scoring ≥ ``min_score``, in article order; of equal scores, the
    lower articles (as kernels.py)."""
    passing = np.flatnonzero(cands.score >= min_score)
    if passing.size > limit:
        passing = np.sort(passing[np.argsort(-cands.score[passing], kind="stable")[:limit]])
    return cands if passing.size == cands.arts.size else cands.take(passing)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, unordered; no full sort."""
    if scores.size <= k:
        return np.arange(scores.size)
    return (-scores).argpartition(k - 1)[:k]


_NO_ARTICLES = np.empty(0, np.int64)
_NO_VALUES = np.empty(0)
_NO_INDPTR = np.zeros(1, np.int64)
_NO_SLOTS = np.empty(0, np.int32)
_NO_BITS = np.empty((0, 0, 2), np.uint64)
_NO_MASK = np.empty(0, bool)
_RERANK_ONLY = ("art_word_cov", "art_char_cov", "missing_idf", "art_char_bm25", "jaccard", "paraphrase",
                "lsa_max")


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
    art_word_cov: np.ndarray  # the rest: filled for reranked candidates only
    art_char_cov: np.ndarray
    missing_idf: np.ndarray
    art_char_bm25: np.ndarray  # all the article's phrasings as one document, BM25 over characters
    jaccard: np.ndarray  # character-set overlap of the query and the best phrasing
    paraphrase: np.ndarray  # the paraphrase model's decision value (0 without a model)
    lsa_max: np.ndarray  # LSA cosine of the query with the article's closest phrasing (0 without a model)

    def take(self, idx: np.ndarray) -> "Candidates":
        return Candidates(**{k: v[idx] for k, v in self.__dict__.items()})

    @staticmethod
    def concat(parts: list["Candidates"]) -> "Candidates":
        return Candidates(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in parts[0].__dict__})


class _Ranking(NamedTuple):
    """One search's reranked candidates (the first stage's best ``depth``), their scores, and which is
    the answer: what ``Searcher._hits`` shows and a filter narrows."""
    query: str
    analysis: Analysis
    depth: int
    cands: Candidates
    scores: np.ndarray
    confident: np.ndarray
    typed: str | None = None  # the query as typed, when ``query`` is its typos respelled


class Searcher:
    """Ranked search over one published index version. Thread-safe; immutable."""

    def __init__(self, data: IndexData, analyzer: Analyzer, min_score: float = DEFAULT_MIN_SCORE,
                 reranker: Reranker | None = None, rerank_depth: int = 30, confidence: Reranker | None = None,
                 compiled: bool = True):
        self.data = data
        # Whether queries may run the compiled loops (kernels.py). A process that asks one question (the
        # CLI's search) is better off without: loading Numba takes ≈ 0.5 s, the NumPy form ≈ 0.3 ms more.
        self.compiled = compiled
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
        # Product names (scope.yml) as queries are normalised: a question naming another product
        # and none of ours claims no answer (see names_other_product).
        self._own_names = tuple(n for n in (analyzer.spelled(x) for x in data.scope.ours) if n)
        self._other_names = {n: x for n, x in ((analyzer.spelled(x), x) for x in data.scope.other_names) if n}
        # Id, category and tags of every article without decoding the articles (a loaded index
        # decodes each one when first shown).
        columns = data.columns or {"id": [a.id for a in self.articles], "category": [a.category for a in self.articles],
                                   "tags": [a.tags for a in self.articles]}
        self._ids = columns["id"]
        self._by_id = {a: i for i, a in enumerate(self._ids)}
        self._categories = np.array(columns["category"], dtype=object)
        self._tags = columns["tags"]
        # OOV query terms count in the query norm with the largest idf, so a query
        # that is mostly unknown words cannot score high on the one word it shares.
        self._oov_idf = {f: float(data.idf[f].max()) if data.idf[f].size else 1.0 for f in FIELDS}
        self.paraphrase = data.paraphrase
        self.lsa = data.lsa
        # Normalised text of recently shown phrasings + answers, for matched terms (bounded memory).
        self._spelled_row_cached = functools.lru_cache(maxsize=4096)(
            lambda row: self.analyzer.spelled(self.data.row_text[row]))
        # Set on the Searcher of one segment of an incremental version (see _segment_searchers).
        self._hidden: np.ndarray | None = None  # question rows of base articles removed or replaced (sorted)
        self._shared_bm25 = None
        self._segments = None
        if data.segments:
            self._segments = self._segment_searchers(data.segments)
            return
        # Columns a query term may have here: an incremental version's base lacks the delta's new terms.
        self._width = {f: data.questions[f].shape[1] for f in FIELDS}
        # Article × term counts of phrasings containing the term (for article-level coverage).
        self._article_terms = data.article_terms
        if self._article_terms is None:  # an index written before it stored them
            owner = sp.csr_matrix((np.ones(data.row_article.size, np.int32), (data.row_article, np.arange(data.row_article.size))),
                                  shape=(len(self.articles), data.row_article.size))
            self._article_terms = {f: (owner @ (data.questions[f] > 0).astype(np.int32)).tocsr() for f in FIELDS}

    def _segment_searchers(self, segments) -> list:
        """(Searcher, its article → article here, its first row here) per segment of an incremental
        version; each searches its own arrays with this version's vocabulary, idf and lengths."""
        out = []
        for data, to_here, row0 in segments:
            seg = Searcher(data, self.analyzer, self.min_score, self.reranker, self.rerank_depth, self.confidence,
                           self.compiled)
            seg._oov_idf = self._oov_idf
            if row0 == 0:
                hidden = to_here < 0
                seg._hidden = np.flatnonzero(hidden[data.row_article]) if hidden.any() else None
            else:
                seg._shared_bm25 = self._delta_bm25
            out.append((seg, to_here, row0))
        return out

    def _delta_bm25(self, name: str) -> tuple[float, np.ndarray]:
        """Mean article length and idf of the base for the delta's article-level BM25 (frozen like
        the rest of the base's statistics); terms new in the delta counted over it."""
        def build():
            (base, _, _), (delta, _, _) = self._segments
            _length, avg, idf = base._article_bm25(name)
            m = delta._article_terms[name]
            if m.shape[1] > idf.size:
                n_art = max(base._article_terms[name].shape[0], 1)
                df = np.bincount(m.indices, minlength=m.shape[1])[idf.size:]
                idf = np.concatenate([idf, np.log1p((n_art - df + 0.5) / (df + 0.5))])
            return avg, idf
        return self._derived(f"_delta_bm25_{name}", build)

    @classmethod
    def load(cls, index_dir: str | Path = "index", analyzer: Analyzer | None = None, version: str | None = None,
             **kwargs) -> "Searcher":
        """Load the published version of ``index_dir`` (or the named one). Reuses ``analyzer`` when it
        was built with the same dictionary; otherwise builds one from the index's copy."""
        version = version or read_current(index_dir)
        check = None
        if version is not None and analyzer is None:
            # The version's own copy of the dictionary; the version is refused below if it is corrupt.
            # The checksums start first: hashlib lets them run while jieba's marshal.load (≈ 0.5 s)
            # holds the GIL. The index's JSON comes after it: in two threads, it and marshal.load
            # only took turns holding the GIL, ≈ 0.07 s slower.
            check = check_in_background(index_dir, version)
            dict_dir = Path(index_dir) / "versions" / version / "dict"
            try:
                analyzer = analyzer_for({"user_words.txt": dict_dir / "user_words.txt", "synonyms.txt": dict_dir / "synonyms.txt"},
                                        dictionary_cache=Path(index_dir) / "cache")
            except OSError:
                analyzer = None
        data = load_index(index_dir, version, check=check)
        try:
            if analyzer is None or analyzer.fingerprint != data.manifest["analyzer"]["fingerprint"]:
                dict_dir = data.path / "dict"
                analyzer = analyzer_for({"user_words.txt": dict_dir / "user_words.txt", "synonyms.txt": dict_dir / "synonyms.txt"},
                                        dictionary_cache=Path(index_dir) / "cache")
            return cls(data, analyzer, **kwargs)
        except (KeyError, TypeError, AttributeError) as e:
            # The manifest holds the checksums, so nothing checks it but its shape: a hand-edited one
            # ("ranking": null, no "analyzer") is refused like a corrupt version, not a traceback.
            raise IndexError_(f"index {data.version}: manifest.json is not as build_index.py writes it "
                              f"({type(e).__name__}: {e})") from None

    @property
    def version(self) -> str:
        return self.data.version

    @property
    def categories(self) -> dict[str, str]:
        return self.data.categories

    def __len__(self) -> int:
        return len(self.articles)

    def get(self, article_id: str) -> Article | None:
        """The article whose id is ``article_id`` (a former id finds nothing: see ``resolve``)."""
        i = self._by_id.get(article_id)
        return None if i is None else self.articles[i]

    def resolve(self, article_id: str) -> str | None:
        """The current id of ``article_id``: itself for an article's id, the renamed article's for one
        of its former ids (its ``aliases``), None for neither. Kept apart from ``get`` so a caller can
        tell a moved article (the API redirects) and ids in the corpus stay current ones."""
        if article_id in self._by_id:
            return article_id
        current = self.data.aliases.get(article_id)
        return current if current in self._by_id else None

    @property
    def aliases(self) -> dict[str, str]:
        """Former id → current id of every renamed article."""
        return self.data.aliases

    @property
    def popular(self) -> list[str]:
        """Curated ids of the most asked articles (the corpus's popular.yml), most asked first."""
        return [i for i in self.data.popular if i in self._by_id]

    def category_counts(self) -> dict[str, int]:
        return dict(Counter(self._categories.tolist()))

    def category_list(self) -> list[dict]:
        """Every category as GET /api/categories and `faq-search categories --json` list it, in display
        order: ``{"id", "name", "count"}``, count 0 for one no article is in yet."""
        counts = self.category_counts()
        return [{"id": cid, "name": name, "count": counts.get(cid, 0)} for cid, name in self.categories.items()]

    def tag_counts(self, category: str | None = None) -> dict[str, int]:
        """Articles per tag (within ``category`` if given), most used first, then by name."""
        counts = Counter(t for c, tags in zip(self._categories, self._tags) if not category or c == category for t in tags)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def category_named(self, value: str) -> str:
        """The id of the category ``value`` names: its id, or its id or display name compared as search
        compares text (the analyzer's normalisation: NFKC, traditional → simplified, case, spaces), so
        ``TRANSFER``, ``转账`` and ``轉賬`` name transfer (转账); failing that, compared as ``tag_named``
        compares a tag (a synonym read as its canonical form), so ``转帐`` names it too, as it names the
        tag 转账. Raises QueryError('unknown_category') when it names none, or more than one."""
        if value in self.data.categories:
            return value
        norm = self.analyzer.normalize
        key = norm(value)
        named = [c for c, name in self.data.categories.items() if key and key in (norm(c), norm(name))]
        if not named and key:  # a category's own name first: one named 转帐 is not transfer's synonym
            key = self._name_key(value)
            named = [c for c, name in self.data.categories.items() if key in (self._name_key(c), self._name_key(name))]
        if len(named) != 1:
            raise QueryError("unknown_category", f"unknown category '{value}'" if not named else
                             f"category '{value}' is ambiguous: {', '.join(named)}")
        return named[0]

    def tag_named(self, value: str) -> str:
        """The tag ``value`` names: itself, or the one tag equal to it once both are normalised as search
        normalises a word (the analyzer's normalisation, then the synonyms' canonical form), so 转帐 and
        轉賬 name 转账. Raises QueryError('unknown_tag') when it names none, or more than one."""
        if value in self._tagged:
            return value
        named = self._tags_by_key().get(self._name_key(value), []) if value.strip() else []
        if len(named) != 1:
            raise QueryError("unknown_tag", f"unknown tag '{value}'" if not named else
                             f"tag '{value}' is ambiguous: {', '.join(named)}")
        return named[0]

    def _name_key(self, name: str) -> str:
        """A tag's or category's name as search reads a word: normalised, then a synonym's canonical form."""
        norm = self.analyzer.normalize(name)
        return self.analyzer.synonyms.get(norm, norm)

    def _tags_by_key(self) -> dict[str, list[str]]:
        """Normalised tag → the tags it stands for. Built at the first tag not written as it is stored."""
        def build():
            keys: dict[str, list[str]] = {}
            for t in self.tag_counts():
                keys.setdefault(self._name_key(t), []).append(t)
            return keys
        return self._derived("_tag_keys", build)

    def term_weights(self, words: list[str]) -> dict[str, float]:
        """Each query word's weight in the query's word vector (sublinear tf × idf, L2-normalised over
        all its words): how much the word can contribute to a match. Unknown words are left out."""
        vocab, idf = self.data.vocab["word"], self._idf_lists()["word"]  # a list: no NumPy scalar per word
        raw = {t: (1.0 + math.log(tf)) * (idf[vocab[t]] if t in vocab else self._oov_idf["word"])
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
        cols, weights, answer_weights, coverage = self._query_terms(tokens, name)
        return cols, answer_weights if answer else weights, coverage

    def _query_terms(self, tokens: list[str], name: str):
        """(columns, dot weights against questions, dot weights against answers, coverage weights).
        Plain Python arithmetic in one pass over the distinct terms: a query has a few dozen, where
        NumPy calls cost more."""
        vocab, oov = self.data.vocab[name], self._oov_idf[name]
        idf = self._idf_lists()[name]
        # Weights count every term of the version; a segment's arrays have columns below its width.
        width = self._width[name] if self._segments is None else len(vocab)
        counts = Counter(tokens)
        tf, term_idf, known, cols = [], [], [], []
        any_known = False
        for i, (term, f) in enumerate(counts.items()):
            c = vocab.get(term, -1)
            tf.append(f)
            if c < 0:
                term_idf.append(oov)
                continue
            any_known = True
            term_idf.append(idf[c])
            if c < width:
                known.append(i)
                cols.append(c)
        if not any_known:
            return np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0)
        total_idf = sum(term_idf)
        coverage = np.array([term_idf[i] / total_idf for i in known])
        if self.weighting == "bm25":
            length, k1, b = sum(tf), self.k1, self.b

            def weights(avg: float) -> np.ndarray:
                norm = k1 * (1 - b + b * length / avg)
                self_score = sum(x * (f * (k1 + 1) / (f + norm)) for x, f in zip(term_idf, tf))
                return np.full(len(known), 1.0 / self_score)

            w = weights(self._avglen[name])
            wa = weights(self._avglen[f"answer.{name}"]) if f"answer.{name}" in self._avglen else w
        else:
            raw = [(1.0 + math.log(f)) * x for f, x in zip(tf, term_idf)]
            norm = math.sqrt(sum(x * x for x in raw))
            w = wa = np.array([raw[i] / norm for i in known])
        return np.array(cols, np.int64), w, wa, coverage

    def _idf_lists(self) -> dict[str, list[float]]:
        """Each field's idf as a Python list: a query reads a few dozen, one at a time."""
        return self._derived("_idf_as_lists", lambda: {f: self.data.idf[f].tolist() for f in FIELDS})

    # --- query-time structures, derived from the loaded arrays on first use -------------------

    def warm(self) -> "Searcher":
        """Build the query-time structures and load the compiled loops now rather than at the first
        query (≈ 1.5 s at 100k entries; the row-major copy ≈ 70 MiB, the answer bitmaps ≈ 23 MiB).
        Call it before forking workers, so that they share them."""
        self._tagged  # built now, so forked workers share it
        self._idf_lists()
        if self._segments is not None:
            for seg, _to_here, _row0 in self._segments:
                seg.warm()
        else:
            self._row_major()
            if "char" in self.data.answers:
                self._frequent_answer_terms()
            self._column_offsets()
            self._rows_by_article()
            self._unigram_columns()
            self._article_bm25("char")
        self._pinyin()
        if len(self.data.row_text):
            # One search loads (or compiles) the compiled loops now, not in each worker's first request.
            self.search(self.data.row_text[0], k=1)
        return self

    @property
    def _tagged(self) -> dict[str, np.ndarray]:
        """Tag → its articles (sorted). Built at the first tag filter, not at load (≈ 0.1 s at 100k)."""
        def build():
            tagged: dict[str, list[int]] = {}
            for i, tags in enumerate(self._tags):
                for t in tags:
                    tagged.setdefault(t, []).append(i)
            return {t: np.asarray(ids, np.int64) for t, ids in tagged.items()}
        return self._derived("_tag_index", build)

    def _pinyin(self) -> PinyinReader:
        """Readings of the index's words (and of their spelling variants, 忘了 for 忘记). A query asking
        for it while prepare_pinyin builds it in another thread waits for that one, not builds its own."""
        def build():
            vocab, idf = self.data.vocab["word"], self.data.idf["word"]
            words = [(w, float(idf[c])) for w, c in vocab.items()]
            words += [(variant, float(idf[vocab[canonical]])) for variant, canonical in self.analyzer.synonyms.items()
                      if canonical in vocab]
            return PinyinReader(words, self.data.vocab["char"])
        reader = self.__dict__.get("_pinyin_reader")
        if reader is None:
            with self.__dict__.setdefault("_pinyin_lock", threading.Lock()):  # setdefault: one lock, atomically
                reader = self._derived("_pinyin_reader", build)
        return reader

    def prepare_pinyin(self) -> None:
        """Build now what reads typed pinyin and homophone typos (tixian, 忘记蜜码): ≈ 0.7 s the first time
        (pypinyin's tables), ≈ 1 ms a query after. For a thread to run while a person types a question."""
        self._pinyin()

    def _knows(self, token: str) -> bool:
        """Whether analysis already reads a Latin token: a listed synonym (mima, login) or a term of
        three letters or more (app, wifi); "e" of e-mail does not stop yu e from reading 余额."""
        return token in self.analyzer.synonyms or (len(token) > 2 and token in self.data.vocab["word"])

    def analyze_query(self, query: str) -> Analysis:
        """A visitor's query analysed, typed pinyin first read as the index's words (sao ma → 扫码)."""
        if may_hold_pinyin(query):
            query = self._pinyin().read(self.analyzer.normalize(query), self._knows)
        return self.analyzer.analyze(query)

    def respelled_typos(self, query: str) -> str | None:
        """``query`` normalised with its homophone typos respelled as the index's words (密马忘了 →
        密码忘了, 银行咔 → 银行卡, pinyin.py); None when it has none. Characters inside a word analysis
        recognises, and windows that are words of jieba's dictionary or the index's text, are left alone."""
        if may_hold_pinyin(query):
            query = self._pinyin().read(self.analyzer.normalize(query), self._knows)
        text = self.analyzer.spelled(query)
        if not _HAS_HAN.search(text):
            return None
        vocab, grams = self.data.vocab["word"], self.data.vocab["char"]

        def is_word(piece: str) -> bool:
            return piece in vocab or piece in grams or self.analyzer.frequency(piece) >= MIN_DICTIONARY_COUNT

        fixed = [False] * len(text)
        for token in self.analyzer.tokens(text):
            if token.end - token.start > 1 and (token.text in vocab or is_word(text[token.start:token.end])):
                fixed[token.start:token.end] = [True] * (token.end - token.start)
                continue
            # A rare word of jieba's made of common ones (养老保险, count 3: 养老 and 保险) was typed right:
            # its words are kept (养老保险交 is not 养老保先交).
            for start in range(token.start, token.end - 1):
                for end in range(start + 2, min(token.end, start + 4) + 1):
                    if is_word(text[start:end]):
                        fixed[start:end] = [True] * (end - start)
        if not may_hold_typo(text, fixed, is_word, self.analyzer.stopwords):  # the usual unanswerable question: its words are all words
            return None
        respelled = self._pinyin().respell_homophones(text, fixed, is_word, self.analyzer.stopwords)
        return respelled if respelled != text else None

    def _rows_by_article(self) -> bool:
        """Whether question rows are stored article by article (the builder writes them so)."""
        return self._derived("_grouped", lambda: bool(np.all(np.diff(self.data.row_article) >= 0)))

    def _derived(self, key: str, build):
        """``build()`` once per Searcher (a race builds it twice, harmlessly); shared by threads."""
        value = self.__dict__.get(key)
        if value is None:
            value = self.__dict__.setdefault(key, build())
        return value

    def _row_major(self) -> sp.csr_matrix:
        """The question matrices side by side (word columns, then char columns), row-major:
        rescoring reads the rows' own terms, so its cost is (rows × terms per row), whatever
        the length of the query terms' postings."""
        return self._derived("_rows", lambda: sp.hstack([self.data.questions[f] for f in FIELDS], format="csr"))

    def _row_terms(self, row: int, name: str) -> np.ndarray:
        """The columns of field ``name`` that question row ``row`` holds, from the row-major copy:
        a row of the term-major matrix is found by walking all of it (≈ 1.6 ms at 100k entries)."""
        m, start = self._row_major(), self._column_offsets()[name]
        lo, hi = m.indptr[row], m.indptr[row + 1]
        cols, weights = m.indices[lo:hi], m.data[lo:hi]
        keep = (cols >= start) & (cols < start + self.data.questions[name].shape[1]) & (weights > 0)
        return cols[keep] - start

    def _column_offsets(self) -> dict[str, int]:
        """Where each field's columns start in ``_row_major``."""
        def build():
            widths = [self.data.questions[f].shape[1] for f in FIELDS]
            return dict(zip(FIELDS, np.cumsum([0, *widths[:-1]]).tolist()))
        return self._derived("_offsets", build)

    def _frequent_answer_terms(self) -> FrequentPostings:
        """Bitmaps of the longest answer columns (≈ 23 MiB at 100k entries, 82 MiB at 300k)."""
        def build():
            m = self.data.answers["char"]
            return FrequentPostings(m, max(ANSWER_GATHER, m.shape[0] // ANSWER_BITMAP_SHARE))
        return self._derived("_answer_bitmaps", build)

    def _scratch(self) -> threading.local:
        """Per-thread buffers reused across queries: a score per question row, a query-term slot
        per column, a candidate slot per article. Every query leaves them as it found them
        (zeros, −1), so no query pays for a dense reset."""
        local = self._derived("_local", threading.local)
        if not hasattr(local, "acc"):
            local.acc = np.zeros(self.data.row_article.size)
            local.lut = np.full(sum(self.data.questions[f].shape[1] for f in FIELDS), -1, np.int32)
            local.slot = np.full(len(self.articles), -1, np.int32)
            local.touched = np.empty(self.data.row_article.size, np.int64)
        return local

    def _score_answers(self, arts: np.ndarray, cols: np.ndarray, weights: np.ndarray,
                       coverage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(answer score, covered query weight) of each candidate article."""
        m = self.data.answers["char"]
        n = arts.size
        answer, cov = np.zeros(n), np.zeros(n)
        if cols.size == 0 or n == 0:
            return answer, cov
        frequent = self._frequent_answer_terms()
        long = frequent.covers(cols)
        if not long.all():
            # Short postings read whole, all terms at once; an article → candidate slot table filters them.
            indptr, indices, data = m.indptr, m.indices, m.data
            short = ~long
            starts, ends = indptr[cols[short]], indptr[cols[short] + 1]
            spans = list(zip(starts.tolist(), ends.tolist()))
            slot = self._scratch().slot
            slot[arts] = np.arange(n)
            try:
                pos = slot[np.concatenate([indices[a:b] for a, b in spans])]
            finally:
                slot[arts] = -1
            found = pos >= 0
            pos = pos[found]
            term = short.nonzero()[0].repeat(ends - starts)[found]
            vals = np.concatenate([data[a:b] for a, b in spans])[found]
            answer += np.bincount(pos, weights=vals * weights[term], minlength=n)
            cov += np.bincount(pos, weights=coverage[term], minlength=n)
        if long.any():
            # Frequent characters: a bitmap lookup per (term, candidate), not a walk of their postings.
            values = frequent.values(cols[long], arts)
            answer += weights[long] @ values
            cov += coverage[long] @ (values > 0)
        return answer, cov

    def first_stage(self, analysis, category: str | None = None, exclude_row: int = -1,
                    min_score: float = 0.0, limit: int | None = None, tag: str | None = None) -> Candidates | None:
        """The lexical stage: scores of every article sharing a term with the query; with
        ``limit``, only the best ``limit`` scoring ≥ ``min_score``. The fields only the
        reranker reads stay zero (see ``candidates``).

        ``exclude_row`` hides one question row (a paraphrase scored against the rest
        of the index when the reranker trains on the knowledge base itself).
        """
        return self._first_stage(analysis, category, exclude_row, min_score, limit, tag, False)

    def candidates(self, analysis, category: str | None = None, exclude_row: int = -1,
                   min_score: float = 0.0, limit: int | None = None, tag: str | None = None,
                   paraphrase: ParaphraseModel | None = None, lsa: LsaModel | None = None,
                   known: np.ndarray | None = None) -> Candidates | None:
        """``first_stage``, and for its best ``limit`` the features the second stage reads:
        article-level coverage, phrasing overlap, paraphrase and LSA scores. ``paraphrase`` and
        ``lsa`` replace the index's models (ones that never saw ``exclude_row``). Of the best ``limit``,
        the articles ``known`` (ones the caller has features of) may be left out."""
        return self._first_stage(analysis, category, exclude_row, min_score, limit, tag, True, paraphrase, lsa, known)

    def _first_stage(self, analysis, category, exclude_row, min_score, limit, tag, features: bool,
                     paraphrase: ParaphraseModel | None = None, lsa: LsaModel | None = None,
                     known: np.ndarray | None = None) -> Candidates | None:
        if self._segments is not None:
            return self._merged_first_stage(analysis, category, exclude_row, min_score, limit, tag, features)
        words = self._query_terms(analysis.words, "word")
        chars = self._query_terms(analysis.chars, "char")
        query_terms = {"word": words[:2] + words[3:], "char": chars[:2] + chars[3:]}
        if words[0].size == 0 and chars[0].size == 0:
            return None
        scratch = self._scratch()
        # One query-term slot per column of both fields (word terms first).
        offsets = self._column_offsets()
        all_cols = np.concatenate([query_terms[f][0] + offsets[f] for f in FIELDS])
        lut = scratch.lut
        lut[all_cols] = np.arange(all_cols.size, dtype=np.int32)
        try:
            n_word = query_terms["word"][0].size
            kernels = _kernels() if self.compiled else None
            if kernels is not None and not category and not tag and self._rows_by_article():
                cands = self._compiled_lexical(kernels.lexical_stage, query_terms, chars, exclude_row, lut, n_word, scratch,
                                               limit, min_score)
            else:
                cands = self._lexical(query_terms, chars, exclude_row, category, tag, lut, n_word, scratch)
                if cands is not None and limit is not None:
                    cands = _best_candidates(cands, limit, min_score)
            if cands is None or limit is None:
                return cands
            if known is not None and known.size and cands.arts.size:
                cands = cands.take(~np.isin(cands.arts, known))
            if features and cands.arts.size:
                if kernels is not None and exclude_row < 0:
                    self._compiled_article_features(kernels.article_features, cands, analysis, query_terms, lut, offsets, n_word)
                else:
                    self._article_coverage(cands, query_terms, exclude_row, lut, offsets, n_word)
                    self._row_overlap(cands, analysis, lut, n_word, query_terms["char"][0])
                model, lsa = paraphrase or self.paraphrase, lsa or self.lsa
                if model is not None or lsa is not None:
                    vector = query_vector(self.data.vocab, self.data.idf, analysis)
                    if model is not None:
                        cands.paraphrase[:] = model.scores(self.data.vocab, self.data.idf, analysis, cands.arts, vector)
                    if lsa is not None:
                        self._lsa_scores(cands, lsa, vector, exclude_row)
            return cands
        finally:
            lut[all_cols] = -1

    def _lexical(self, query_terms, chars, exclude_row, category, tag, lut, n_word, scratch) -> Candidates | None:
        """The first stage's candidates in NumPy: the reference for ``_compiled_lexical``, and the
        form that applies category and tag filters."""
        n_rows = self.data.row_article.size
        cap = max(RARE_POSTINGS, int(RARE_SHARE * n_rows))
        # Candidates come from the rarer terms' postings only; frequent terms
        # (怎么, 钱) are added exactly for the best candidates below.
        found_rows, found_vals, found_weights = [], [], []
        for name in FIELDS:
            cols, weights, _coverage = query_terms[name]
            if cols.size == 0:
                continue
            postings = self.data.questions[name]
            indptr, indices, data = postings.indptr, postings.indices, postings.data
            starts, ends = indptr[cols], indptr[cols + 1]
            df = ends - starts
            rare = df <= cap
            if not rare.any():
                rare = df <= np.partition(df, min(1, df.size - 1))[min(1, df.size - 1)]
            for a, b in zip(starts[rare].tolist(), ends[rare].tolist()):
                found_rows.append(indices[a:b])
                found_vals.append(data[a:b])
            found_weights.append((weights[rare] * self.field_weights.get(name, 0.5)).repeat(df[rare]))
        rows = np.concatenate(found_rows)
        if rows.size == 0:
            return None
        rows, partial = _sum_by_row(rows, np.concatenate(found_vals) * np.concatenate(found_weights), scratch.acc)
        if not partial.all():  # rows only a zero-weighted field matched (as kernels.py)
            rows, partial = rows[partial != 0], partial[partial != 0]
            if rows.size == 0:
                return None
        if self._hidden is not None:
            rows, partial = _without(rows, partial, self._hidden)
        if exclude_row >= 0 or category or tag:
            keep = rows != exclude_row
            if category:
                keep &= self._categories[self.data.row_article[rows]] == category
            if tag:
                keep &= np.isin(self.data.row_article[rows], self._tagged.get(tag, _NO_ARTICLES))
            rows, partial = rows[keep], partial[keep]
            if rows.size == 0:
                return None
        if rows.size > RESCORE_ROWS:
            # The best RESCORE_ROWS; of equals at the cut, the lowest rows (as kernels.py).
            floor = np.partition(partial, rows.size - RESCORE_ROWS)[rows.size - RESCORE_ROWS]
            keep = partial > floor
            keep[(partial == floor).nonzero()[0][: RESCORE_ROWS - int(keep.sum())]] = True
            rows = rows[keep]
        (word, char), (word_cov, char_cov) = self._rescore(
            rows, lut, n_word, np.concatenate([query_terms[f][1] for f in FIELDS]),
            np.concatenate([query_terms[f][2] for f in FIELDS]))
        combined = self.field_weights.get("word", 0.5) * word + self.field_weights.get("char", 0.5) * char
        arts, best, support = self._best_rows(rows, combined)
        a = self.answer_weight
        question = combined[best]
        answer, answer_cov = np.zeros(arts.size), np.zeros(arts.size)
        if "char" in self.data.answers:
            answer, answer_cov = self._score_answers(arts, chars[0], chars[2], chars[3])
        return Candidates(
            arts=arts, rows=rows[best], score=(1.0 - a) * question + a * answer,
            question=question, word=word[best], char=char[best], answer=answer,
            word_cov=word_cov[best], char_cov=char_cov[best], answer_cov=answer_cov, support=support,
            **{name: np.zeros(arts.size) for name in _RERANK_ONLY},
        )

    def _compiled_lexical(self, kernel, query_terms, chars, exclude_row, lut, n_word, scratch,
                          limit: int | None, min_score: float) -> Candidates | None:
        """``_lexical`` (without filters) and ``_best_candidates`` in one compiled call (kernels.py)."""
        n_rows = self.data.row_article.size
        w_cols, w_weights, _ = query_terms["word"]
        c_cols, c_weights, _ = query_terms["char"]
        wq, cq = self.data.questions["word"], self.data.questions["char"]
        m = self._row_major()
        if "char" in self.data.answers:
            answers, bitmaps = self.data.answers["char"], self._frequent_answer_terms()
            a_indptr, a_indices, a_data = answers.indptr, answers.indices, answers.data
            a_cols, a_weights, a_coverage = chars[0], chars[2], chars[3]
            bit_slot, bit_table, bit_starts = bitmaps.slot, bitmaps.table, bitmaps.starts
        else:
            a_indptr, a_indices, a_data = _NO_INDPTR, _NO_ARTICLES, _NO_VALUES
            a_cols, a_weights, a_coverage = _NO_ARTICLES, _NO_VALUES, _NO_VALUES
            bit_slot, bit_table, bit_starts = _NO_SLOTS, _NO_BITS, _NO_ARTICLES
        found, *out = kernel(
            wq.indptr, wq.indices, wq.data, w_cols, w_weights, float(self.field_weights.get("word", 0.5)),
            cq.indptr, cq.indices, cq.data, c_cols, c_weights, float(self.field_weights.get("char", 0.5)),
            max(RARE_POSTINGS, int(RARE_SHARE * n_rows)), RESCORE_ROWS, scratch.acc, scratch.touched,
            self._hidden_rows(), int(exclude_row),
            m.indptr, m.indices, m.data, lut,
            np.concatenate([w_weights, c_weights]), np.concatenate([query_terms["word"][2], query_terms["char"][2]]),
            n_word, self.data.row_article,
            a_indptr, a_indices, a_data, a_cols, a_weights, a_coverage, scratch.slot,
            bit_slot, bit_table, bit_starts, float(self.answer_weight), -1 if limit is None else int(limit),
            float(min_score))
        if found == 0:
            return None
        return Candidates(*out, **{name: np.zeros(out[0].size) for name in _RERANK_ONLY})

    def _compiled_article_features(self, kernel, cands: Candidates, analysis, query_terms, lut, offsets, n_word) -> None:
        """``_article_coverage`` and ``_row_overlap`` (no held-out row) in one compiled call."""
        w_cols, _w, w_coverage = query_terms["word"]
        c_cols, _c, c_coverage = query_terms["char"]
        length, avg, c_idf = self._article_bm25("char")
        mask, per_row = self._unigram_columns()
        is_gram = mask[c_cols]
        n_grams = len({g for g in analysis.chars if len(g) == 1 or g.isascii()}) if is_gram.any() else 0
        wa, ca, m = self._article_terms["word"], self._article_terms["char"], self._row_major()
        (cands.art_word_cov[:], cands.art_char_cov[:], cands.missing_idf[:], cands.art_char_bm25[:],
         cands.jaccard[:]) = kernel(
            cands.arts, cands.rows, n_word, lut, offsets["char"],
            wa.indptr, wa.indices, wa.data, w_coverage, self.data.idf["word"][w_cols] / self._oov_idf["word"],
            ca.indptr, ca.indices, ca.data, c_coverage, c_idf[c_cols], length[cands.arts], float(avg),
            float(self.k1), float(self.b),
            m.indptr, m.indices, np.concatenate([np.zeros(n_word, bool), is_gram]), n_grams, per_row)

    def _hidden_rows(self) -> np.ndarray:
        """A mask of the hidden question rows (see ``_hidden``), or an empty array for none."""
        if self._hidden is None:
            return _NO_MASK
        def build():
            mask = np.zeros(self.data.row_article.size, bool)
            mask[self._hidden] = True
            return mask
        return self._derived("_hidden_mask", build)

    def _merged_first_stage(self, analysis, category, exclude_row, min_score, limit, tag, features) -> Candidates | None:
        """The first stage (with ``features``, ``candidates``) over each segment of an incremental
        version, candidates merged. An article lives in one segment only, so its article-level
        features are exact; the best ``limit`` of all are among the segments' best ``limit``."""
        parts = []
        floor = min_score
        for seg, to_here, row0 in self._segments:
            n_rows = seg.data.row_article.size
            if n_rows == 0:
                continue
            own = exclude_row - row0 if row0 <= exclude_row < row0 + n_rows else -1
            c = seg._first_stage(analysis, category, own, floor, limit, tag, features)
            if c is not None and c.arts.size:
                c.arts, c.rows = to_here[c.arts], c.rows + row0
                parts.append(c)
                if limit is not None and c.arts.size >= limit:
                    # The delta's candidates below the base's limit-th score cannot make the top
                    # (an equal one could: the floor is inclusive).
                    floor = max(floor, float(np.partition(c.score, c.arts.size - limit)[c.arts.size - limit]))
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        cands = Candidates.concat(parts)
        if limit is not None and cands.arts.size > limit:
            cands = cands.take(_top(cands.score, limit))
        return cands

    def _article_bm25(self, name: str) -> tuple[np.ndarray, float, np.ndarray]:
        """(length, mean length, idf) of each article's phrasings taken as one document."""
        def build():
            m = self._article_terms[name]
            length = np.asarray(m.sum(axis=1), np.float64).ravel()
            if self._shared_bm25 is not None:
                return (length, *self._shared_bm25(name))
            n_art = max(m.shape[0], 1)
            df = np.bincount(m.indices, minlength=m.shape[1])
            idf = np.log1p((n_art - df + 0.5) / (df + 0.5))
            return length, max(float(length.mean()) if length.size else 1.0, 1.0), idf
        return self._derived(f"_article_bm25_{name}", build)

    def _unigram_columns(self) -> tuple[np.ndarray, np.ndarray]:
        """(is-unigram mask over character terms, unigram terms per question row)."""
        def build():
            vocab = self.data.vocab["char"]
            q = self.data.questions["char"]
            mask = np.zeros(q.shape[1], bool)  # a segment's columns: maybe fewer than the vocabulary
            for term, col in vocab.items():
                if col < mask.size:
                    mask[col] = len(term) == 1 or term.isascii()
            per_row = np.bincount(q.indices, weights=mask.repeat(np.diff(q.indptr)), minlength=q.shape[0])
            return mask, per_row
        return self._derived("_unigrams", build)

    def _lsa_scores(self, cands: Candidates, lsa: LsaModel, vector, exclude_row: int) -> None:
        """LSA cosine of the query with each candidate's closest phrasing (its best-scoring one if
        the rows are not stored article by article)."""
        q = lsa.query(vector)
        if q is None:
            return
        if not self._rows_by_article():
            cands.lsa_max[:] = lsa.rows[cands.rows] @ q
            return
        first = self._derived("_article_rows", lambda: np.searchsorted(self.data.row_article, np.arange(len(self.articles) + 1)))
        if lsa.rows.shape[0] <= LSA_FULL_PRODUCT:
            # Every phrasing at once: one BLAS product beats gathering the candidates' rows.
            sims = lsa.rows @ q
            if exclude_row >= 0:
                sims[exclude_row] = -1.0  # the held-out phrasing must not vouch for its article
            cands.lsa_max[:] = np.maximum.reduceat(sims, first[:-1])[cands.arts]
            return
        starts = first[cands.arts]
        lengths = first[cands.arts + 1] - starts
        ends = np.add.accumulate(lengths)
        rows = (starts - ends + lengths).repeat(lengths) + np.arange(int(ends[-1]))
        sims = lsa.rows[rows] @ q
        if exclude_row >= 0:
            sims[rows == exclude_row] = -1.0
        cands.lsa_max[:] = np.maximum.reduceat(sims, ends - lengths)

    def _row_overlap(self, cands: Candidates, analysis, lut: np.ndarray, n_word: int, char_cols: np.ndarray) -> None:
        """Jaccard overlap of the query's characters with each candidate's best phrasing. ``lut``
        maps a column of ``_row_major`` to its query-term slot (``n_word`` word terms first, then
        the character terms ``char_cols``)."""
        grams = {g for g in analysis.chars if len(g) == 1 or g.isascii()}
        mask, per_row = self._unigram_columns()
        # Per slot (and a last False for "no slot", −1): a character unigram or Latin run of the query?
        is_gram = np.zeros(n_word + char_cols.size + 1, bool)
        is_gram[n_word : n_word + char_cols.size] = mask[char_cols]
        if not is_gram.any():
            return
        m = self._row_major()
        offsets, ends = _gather(m.indptr, cands.rows)
        shared = is_gram[lut[m.indices[offsets]]].nonzero()[0]
        inter = np.bincount(_owners(ends, shared), minlength=cands.rows.size).astype(np.float64)
        cands.jaccard[:] = inter / np.maximum(len(grams) + per_row[cands.rows] - inter, 1.0)

    def _best_rows(self, rows: np.ndarray, combined: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(articles, position of each one's best row — the first of equals —, paraphrase support:
        how many of its phrasings score ≥ 0.8 × its best) for sorted ``rows``."""
        row_art = self.data.row_article[rows]
        if self._rows_by_article():
            # Rows are stored article by article, so sorted rows come grouped: no sort needed.
            first = _firsts(row_art).nonzero()[0]
            sizes = np.empty_like(first)
            sizes[:-1] = first[1:] - first[:-1]
            sizes[-1] = rows.size - first[-1]
            top = np.maximum.reduceat(combined, first).repeat(sizes)
            best = np.minimum.reduceat(np.where(combined == top, np.arange(rows.size), rows.size), first)
            support = np.add.reduceat((combined >= 0.8 * top).astype(np.float64), first)
            return row_art[first], best, support
        order = np.lexsort((-combined, row_art))
        row_art, sorted_scores = row_art[order], combined[order]
        first = np.flatnonzero(np.concatenate(([True], row_art[1:] != row_art[:-1])))
        group = np.repeat(np.arange(first.size), np.diff(np.append(first, order.size)))
        near = sorted_scores >= 0.8 * sorted_scores[first][group]
        return row_art[first], order[first], np.bincount(group, weights=near, minlength=first.size)

    def _rescore(self, rows: np.ndarray, lut: np.ndarray, n_word: int, weights: np.ndarray,
                 coverage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact (dot products, covered query weight) of the query with the given question rows,
        each a (word, char) pair of arrays. ``lut`` maps a column to its query term (word terms
        first, ``n_word`` of them)."""
        m = self._row_major()
        n = rows.size
        offsets, ends = _gather(m.indptr, rows)
        term = lut[m.indices[offsets]]
        found = np.flatnonzero(term >= 0)
        term = term[found]
        # Where each product lands: word scores in 0..n-1, char scores in n..2n-1.
        owner = _owners(ends, found) + n * (term >= n_word)
        dots = np.bincount(owner, weights=m.data[offsets[found]] * weights[term], minlength=2 * n)
        return dots.reshape(2, n), np.bincount(owner, weights=coverage[term], minlength=2 * n).reshape(2, n)

    def _article_coverage(self, cands: Candidates, query_terms: dict, exclude_row: int, lut: np.ndarray,
                          offsets: dict[str, int], n_word: int) -> None:
        """How much of the query the whole article (all its phrasings) contains, and the
        rarest query word it lacks: a frequent query word missing from a candidate."""
        for name in FIELDS:
            cols, _weights, coverage = query_terms[name]
            if cols.size == 0:
                continue
            width = self.data.questions[name].shape[1]
            field_lut = lut[offsets[name] : offsets[name] + width]
            first_term = 0 if name == "word" else n_word
            present = _presence(self._article_terms[name], cands.arts, field_lut, first_term, cols.size)
            if exclude_row >= 0:
                # The held-out phrasing must not vouch for its own article.
                mine = cands.arts == self.data.row_article[exclude_row]
                row_terms = self._row_terms(exclude_row, name)
                own = np.isin(cols, row_terms)
                present[mine] -= own
            if name == "char":
                length, avg, idf = self._article_bm25(name)
                tf = np.maximum(present, 0.0)
                doc_len = length[cands.arts]
                if exclude_row >= 0:
                    doc_len = np.where(mine, doc_len - row_terms.size, doc_len)
                k1, b = self.k1, self.b
                sat = tf * (k1 + 1) / (tf + (k1 * (1 - b + b * doc_len / avg))[:, None])
                q_idf = idf[cols]
                cands.art_char_bm25[:] = (sat @ q_idf) / max((k1 + 1) * float(q_idf.sum()), 1e-9)
            present = present > 0
            covered = present @ coverage
            if name == "word":
                cands.art_word_cov[:] = covered
                idf = self.data.idf[name][cols] / self._oov_idf[name]
                cands.missing_idf[:] = np.where(present, 0.0, idf).max(axis=1)
            else:
                cands.art_char_cov[:] = covered

    def may_be_confident(self, analysis) -> bool:
        """False for a query whose best hit is never "the answer", whatever its score."""
        if sum(len(g) for g in set(analysis.chars) if len(g) == 1 or g.isascii()) < MIN_CONFIDENT_CHARS:
            return False  # one character is a keystroke, not a question; nor is one held down (密密密…)
        if analysis.words and all(w.isdigit() for w in analysis.words) and sum(map(len, analysis.words)) < MIN_CONFIDENT_DIGITS:
            return False
        # 怎么, 可以吗: a question with no topic has no one answer
        return not all(w in TOPIC_FREE_WORDS or w in self.analyzer.stopwords for w in analysis.words)

    def names_other_product(self, query: str, art: int) -> str | None:
        """The other product (scope.yml) ``query`` is about when it names one, names none of ours,
        and no question of article ``art`` names it either (微信 in "find us on WeChat" does; QQ in a
        scam warning's answer does not make the article about QQ); else None.
        Such a question is about that product: its hits are related reading, not the answer."""
        if not self._other_names:
            return None
        text = self.analyzer.spelled(query)
        named = [n for n in self._other_names if n in text]
        if may_hold_pinyin(query):  # zhifubao转账, wei xin
            letters = "|".join(run.replace(" ", "") for run in _LATIN_RUN.findall(text))
            named += [n for n, reading in self._other_readings.items() if reading in letters and n not in named]
        if not named or any(n in text for n in self._own_names):
            return None
        article = self.articles[art]
        article_text = self.analyzer.spelled("\n".join(article.questions))
        other = next((n for n in named if n not in article_text), None)
        if other is None:
            # 微信提现 is not "find us on WeChat" though that article names 微信: it asks what it lacks.
            # A name alone (贷款) asks nothing of the article that names it (a scam warning): it is theirs.
            words = self._topic_words(query, named)
            if not words or words - self._article_words(art):
                other = named[0]
        return None if other is None else self._other_names[other]

    def _topic_words(self, query: str, names: list[str]) -> set[str]:
        """The topic words of the index ``query`` holds, other than the products ``names``. An amount is
        no topic: 500 块 in 帮我办贷款先交500块 does not take the question away from the scam warning
        that names 贷款."""
        vocab = self.data.vocab["word"]
        return {w for w in self.analyze_query(query).words
                if w in vocab and w not in TOPIC_FREE_WORDS and not _NUMBER.fullmatch(w)
                and w not in _AMOUNT_WORDS and not any(w in n or n in w for n in names)}

    def _article_words(self, art: int) -> frozenset[str]:
        cached = self._derived("_article_words_cache", lambda: functools.lru_cache(maxsize=256)(
            lambda i: frozenset(self.analyzer.analyze("\n".join((*self.articles[i].questions, self.articles[i].answer))).words)))
        return cached(art)

    @property
    def _other_readings(self) -> dict[str, str]:
        """Other products' names written in Chinese → their toneless pinyin (支付宝 → zhifubao)."""
        def build():
            from pypinyin import Style, lazy_pinyin

            return {n: "".join(lazy_pinyin(n, style=Style.NORMAL)) for n in self._other_names if _HAS_HAN.search(n)}
        return self._derived("_other_name_readings", build)

    def other_product(self, query: str, hits: list[Hit]) -> str | None:
        """The other product ``query`` is about (see names_other_product) when that is why its best
        hit is not the answer, for the no-answer state to say so; else None."""
        if not hits or hits[0].confident:
            return None
        art = self._by_id.get(hits[0].id)
        return None if art is None else self.names_other_product(asked_clause(query), art)

    def whom_to_ask(self, other_product: str | None) -> str | None:
        """Whom scope.yml's ``ask`` sends a question about ``other_product`` to (发卡银行 for 办信用卡);
        None: that product's own customer service."""
        return None if other_product is None else self.data.scope.whom_to_ask(other_product)

    @property
    def own_name(self) -> str | None:
        """The product's own name (first of scope.yml's ``ours``), for messages."""
        return self.data.scope.ours[0] if self.data.scope.ours else None

    def categories_of(self, arts: np.ndarray) -> np.ndarray:
        return self._categories[arts]

    def search(self, query: str, k: int = 10, category: str | None = None, min_score: float | None = None,
               tag: str | None = None) -> list[Hit]:
        """Best ``k`` articles for ``query``, best first; [] when nothing scores ≥ ``min_score``.
        ``category`` and ``tag`` keep only articles of that category / with that tag: the hits the
        unfiltered search gives that are in the filter, in its order, with its scores and its answer, and
        those of the filter it did not reach, scored as if it had (``_within``). A query that
        opens by saying what it is not about (不是X 是Y) is searched for what it asks (asked_clause). A query with no
        confident answer is searched once more with its homophone typos respelled (respelled_typos);
        that search's hits are returned when it has one.

        Raises QueryError('unknown_category'/'unknown_tag') for a category or tag the index lacks (each
        is looked up as ``category_named`` and ``tag_named`` do).
        """
        category = self.category_named(category) if category else None
        tag = self.tag_named(tag) if tag else None
        if k <= 0 or not query or not query.strip():
            return []
        query = asked_clause(query)
        min_score = self.min_score if min_score is None else min_score
        # At least the shortlist below, whatever k: with k=1, 提线 lost its respelled, confident answer.
        ranking = self._rank(query, max(k, RESPELLED_WITHIN), min_score)
        hits = self._hits(ranking, max(k, RESPELLED_WITHIN))
        # Only as a second chance: a rare word typed right is never "corrected" away from its answer.
        # None found: a respelled answer must be among them (below), so none can be.
        respelled = None if not hits or hits[0].confident else self.respelled_typos(query)
        if respelled is not None:
            again = self._rank(respelled, k, min_score, typed=query)
            found = self._hits(again, k)
            # The respelled answer must be one the query as typed already brought up: a respelling that
            # finds something new has changed the question (养老保险交 → 养老保先交, a scam warning).
            if found and found[0].confident and found[0].id in {h.id for h in hits[:RESPELLED_WITHIN]}:
                ranking, hits = again, found
        # Decided on the whole knowledge base, then narrowed: a filter removes hits, never reorders them.
        if category or tag:
            # Without the floor: 密码 within 转账 lists the transfer answers that mention it, weak as they are.
            hits = self._hits(self._within(ranking, category, tag, min_score), k, floor=False)
        return hits[:k]

    def _rank(self, query: str, k: int, min_score: float, typed: str | None = None) -> "_Ranking | None":
        """The reranked candidates of ``query`` over the whole knowledge base (enough for ``k`` hits), the
        best one marked when it is the answer; None when nothing scores ≥ ``min_score``. ``typed``: the
        query as typed, when ``query`` is its typos respelled (for explanations)."""
        analysis = self.analyze_query(query)
        # The reranker orders the first stage's best rerank_depth; a caller asking for more gets more.
        depth = max(self.rerank_depth, k) if self.reranker is not None else k
        # The floor applies to the lexical score: a candidate sharing too little with the
        # query is not shown, however the reranker would order it.
        cands = self.candidates(analysis, min_score=min_score, limit=depth)
        if cands is None or cands.arts.size == 0:
            return None
        # Only the best hit can be "the answer"; the others are related reading.
        if self.reranker is not None:
            X = candidate_features(cands, analysis)
            scores = self.reranker.predict(X)
        else:
            scores = cands.score
        best = int(np.argmax(scores))
        confident = np.zeros(scores.size, bool)
        if not self.may_be_confident(analysis) or self.names_other_product(query, int(cands.arts[best])):
            pass
        elif self.reranker is not None and self.confidence is not None:
            # Trained on best candidates: it says whether the best one answers at all.
            threshold = float(self.confidence.info.get("threshold", 0.5))
            features = confidence_features(X, scores, self.categories_of(cands.arts))
            confident[best] = self.confidence.predict(features[None, :])[0] >= threshold
        else:
            confident[best] = scores[best] >= self.confident_score
        return _Ranking(query, analysis, depth, cands, scores, confident, typed)

    def _within(self, ranking: "_Ranking | None", category: str | None, tag: str | None, min_score: float
                ) -> "_Ranking | None":
        """``ranking`` narrowed to a category and/or tag: its candidates there, scores and answer as they
        are, and those of the filter's best ``depth`` it did not reach, scored as if its candidates had
        gone on to them (ranked after them, their gaps to its best). Reranked among the filter's few
        instead, the features reading a candidate's rank and its gap to the best reordered them
        (docs/api.md). The answer stays the whole knowledge base's, or none (docs/quality.md,
        "Decisions": a filter does not make an answer confident)."""
        if ranking is None:  # no candidate anywhere: none in the filter either
            return None
        cands, scores, confident = ranking.cands, ranking.scores, ranking.confident
        inside = np.ones(cands.arts.size, bool)
        if category:
            inside &= self._categories[cands.arts] == category
        if tag:
            inside &= np.isin(cands.arts, self._tagged[tag])
        # Features only for the articles not reranked already (an incremental version's segments compute
        # them for all: they are told apart here).
        filtered = self.candidates(ranking.analysis, category, min_score=min_score, limit=ranking.depth, tag=tag,
                                   known=cands.arts)
        unreached = _NO_ARTICLES if filtered is None else np.flatnonzero(~np.isin(filtered.arts, cands.arts))
        if unreached.size == 0:
            return ranking._replace(cands=cands.take(inside), scores=scores[inside], confident=confident[inside])
        more = filtered.take(unreached)
        if self.reranker is not None:
            X = candidate_features(Candidates.concat([cands, more]), ranking.analysis)
            more_scores = self.reranker.predict(X[cands.arts.size:])
        else:
            more_scores = more.score
        kept, kept_scores, confident = cands.take(inside), scores[inside], confident[inside]
        if confident.any():
            # Only the first hit is the answer, and one the whole knowledge base's search did not reach
            # may come first (ordered as _hits orders them).
            answer = int(np.flatnonzero(confident)[0])
            theirs, its = more_scores.round(6), kept_scores[answer].round(6)
            if ((theirs > its) | ((theirs == its) & (more.arts < kept.arts[answer]))).any():
                confident[answer] = False
        return ranking._replace(cands=Candidates.concat([kept, more]), scores=np.concatenate([kept_scores, more_scores]),
                                confident=np.concatenate([confident, np.zeros(more.arts.size, bool)]))

    def _hits(self, ranking: "_Ranking | None", k: int, floor: bool = True) -> list[Hit]:
        """The best ``k`` of ``ranking`` shown, best first; with ``floor``, not those the reranker all
        but rules out (MIN_PROBABILITY) unless they match much of the query (STRONG_MATCH)."""
        if ranking is None or ranking.cands.arts.size == 0:
            return []
        cands, scores = ranking.cands, ranking.scores
        top = _top(scores, k)
        if self.reranker is not None and floor:
            top = top[(scores[top] >= MIN_PROBABILITY) | (cands.score[top] >= STRONG_MATCH)]
        arts, rows, scores, confident = cands.arts[top], cands.rows[top], scores[top], ranking.confident[top]
        # Ties break on corpus order, so results are deterministic.
        order = np.lexsort((arts, -scores.round(6)))
        explainer = _Explainer(self, ranking.analysis.words, ranking.query, ranking.typed)
        return [self._hit(int(arts[i]), int(rows[i]), float(scores[i]), bool(confident[i]), explainer)
                for i in order]

    def _synonym_groups(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Each word of a synonym group (corpus/dict/synonyms.txt) → (the group normalised, longest
        first; the group as the index spells it — same-length synonyms respelled to the first —, less
        the words holding another: a text holds one of the group if it holds one of these)."""
        def build():
            groups = {}
            for group in self.analyzer.synonym_groups:
                words = tuple(sorted(dict.fromkeys(group), key=len, reverse=True))  # of equal length, as listed
                spelled = {self.analyzer.spelled(w) for w in group} - {""}
                forms = tuple(f for f in spelled if not any(g != f and g in f for g in spelled))
                for w in group:
                    groups[w] = (words, forms)
            return groups
        return self._derived("_synonyms_by_word", build)

    def _spell_row(self, row: int) -> str:
        """A question row normalised: written by the builder; for versions written before that,
        normalised here (through an LRU of recently shown rows)."""
        if self.data.spelled_rows is not None:
            return self.data.spelled_rows[row]
        return self._spelled_row_cached(row)

    def _spelled_answer(self, art: int) -> str:
        """Normalised start of an article's answer: written by the builder; for versions written
        before that, normalised here (recently shown ones cached: bounded memory)."""
        if self.data.answer_heads is not None:
            return self.data.answer_heads[art]
        cached = self._derived("_spelled_answers", lambda: functools.lru_cache(maxsize=4096)(
            lambda i: answer_head(self.analyzer, self.articles[i])))
        return cached(art)

    def _hit(self, art: int, row: int, score: float, confident: bool, explainer: "_Explainer") -> Hit:
        return Hit(
            id=self._ids[art],
            score=min(max(score, 0.0), 1.0),
            category=self._categories[art],
            tags=tuple(self._tags[art]),
            confident=confident,
            source=functools.partial(self.articles.__getitem__, art),
            explain=functools.partial(explainer, art, row),
        )

    def _explain(self, art: int, row: int, query: "_Query") -> Why:
        """Why article ``art`` matched, its best-scoring row being ``row``: see Why. Substring tests,
        no segmentation per hit. The phrasing is chosen on the index's respelled texts (stored), where
        a synonym counts as the word; what was found, and how, is then read in the chosen phrasing (and
        the answer's start) normalised but not respelled: the analyzer respells same-length synonyms
        (封号 → 冻结), which would hide which of them a text holds."""
        words = query.words
        # The words the best-scoring phrasing holds (as themselves or a synonym: in the respelled texts,
        # one of their forms). The article's other phrasings are read only when it lacks some.
        chosen_spelled = self._spell_row(row)
        held, chosen = [word for word in words if _first_in(word[4], chosen_spelled) is not None], row
        if len(held) < len(words):
            rows, spelled, joined, starts = self._phrasings(art, row)
            article_words = [word for word in words if _first_in(word[4], joined) is not None]
            if len(held) < len(article_words):
                # Another phrasing may hold more of the query's weight: where each word occurs in them
                # all (joined by line breaks) takes a few str.find, not a test per phrasing.
                weights = [0.0] * len(rows)
                for _w, weight, _spellings, _others, forms in article_words:
                    where = set()
                    for form in forms:
                        at = joined.find(form)
                        while at >= 0:
                            where.add(bisect.bisect_right(starts, at) - 1)
                            at = joined.find(form, at + 1)
                    for j in where:
                        weights[j] += weight
                i = rows.index(row)
                top = max(weights)
                if top > weights[i]:  # of equals, the row the ranking scored best; then the first
                    i = weights.index(top)
                    held = [word for word in article_words if _first_in(word[4], spelled[i]) is not None]
                    chosen, chosen_spelled = rows[i], spelled[i]
        text = self.data.row_text[chosen]
        terms, synonyms = self._found_in(held, text, self._normal_row(chosen, chosen_spelled, text), "matched")
        if synonyms or len(terms) + len(synonyms) < len(held):
            # A phrasing holding as much reads better with more of it found as typed, or as a synonym, rather
            # than only inside a word the index respelled (支付 in 付款失败, respelled 支付失败): for zhifu
            # shibai, 支付失败 rather than 一直付款失败; 冻结 shows 账户被冻结了… rather than 被封号了. Of
            # those, the first; none: the one chosen.
            rows, spelled, _joined, _starts = self._phrasings(art, row)
            for j, other in enumerate(rows):
                if other == chosen or any(_first_in(word[4], spelled[j]) is None for word in held):
                    continue
                other_text = functools.partial(self.data.row_text.__getitem__, other)
                found = self._found_in(held, other_text, self._normal_row(other, spelled[j]), "matched")
                if (len(found[0]) + len(found[1]), -len(found[1])) > (len(terms) + len(synonyms), -len(synonyms)):
                    chosen, text, (terms, synonyms) = other, other_text, found
                    if not synonyms and len(terms) == len(held):
                        break
        answer_terms = []
        missing = [word for word in words if word not in held] if len(held) < len(words) else ()
        if missing:
            head = self._spelled_answer(art)
            answer_terms, in_answer = self._found_in(
                [word for word in missing if _first_in(word[4], head) is not None],
                lambda: self.articles[art].answer[:ANSWER_HEAD_CHARS], lambda: self._normalized_answer(art), "answer")
            synonyms += in_answer
        weight = query.weight
        if len(terms) > 1 or answer_terms:  # two query words may be found as one (sub-words)
            terms = list(dict.fromkeys(terms))
            answer_terms = [t for t in dict.fromkeys(answer_terms) if t not in terms]
        read_as = ()
        if query.readings:  # words typed in pinyin were found as read: told as readings, not as typed
            typed = query.readings
            read_as = tuple(dict.fromkeys([*((typed[t], t, "matched") for t in terms if t in typed),
                                           *((typed[t], t, "answer") for t in answer_terms if t in typed),
                                           *((typed[q], q, where) for q, _m, where in synonyms if q in typed)]))
            terms = [t for t in terms if t not in typed]
            answer_terms = [t for t in answer_terms if t not in typed]
        reported = [*terms, *answer_terms, *(q for q, _m, _where in synonyms), *(r for _q, r, _where in read_as)]
        return Why(text if isinstance(text, str) else text(), tuple(terms),
                   tuple((t, weight[t]) for t in dict.fromkeys(reported)), tuple(answer_terms), tuple(synonyms), read_as)

    @staticmethod
    def _found_in(words: list, plain: str | Callable[[], str], normalized: str | Callable[[], str], where: str
                  ) -> tuple[list[str], list[tuple[str, str, str]]]:
        """(the query ``words`` found as typed in a text, those found there only as a synonym: (typed,
        found, ``where``)). The respelled texts have shown each word or a synonym is there; the text
        normalised (OpenCC, ``normalized``) tells which. ``plain`` is the stored text (most often already
        normal), ``normalized`` the text normalised; either a str, or what gives it when first asked.
        A word with no synonyms is found as typed in either: first looked for in the one at hand. One found
        only inside a respelled word (手续 of 服务费, respelled 手续费) is not reported."""
        terms, synonyms = [], []
        text = normalized if isinstance(normalized, str) else None
        raw = plain if isinstance(plain, str) else None
        for w, _weight, spellings, others, _forms in words:
            if not others and spellings == (w,):
                if text is not None and w in text:
                    terms.append(w)
                    continue
                if raw is None:
                    raw = plain()
                if w in raw:
                    terms.append(w)
                    continue
            if text is None:
                text = normalized()
            found = _first_in(spellings, text)
            if found is not None:
                terms.append(found)
                continue
            synonym = _first_in(others, text)
            # Once: a word and its sub-word of one group (实名认证, 实名) are both typed as the word.
            if synonym is not None and (spellings[0], synonym, where) not in synonyms:
                synonyms.append((spellings[0], synonym, where))
        return terms, synonyms

    def _normal_row(self, row: int, spelled: str, text: str | None = None) -> str | Callable[[], str]:
        """Question row ``row`` normalised, not respelled, for _found_in: its respelled text ``spelled``
        when respelling left that as it was (this analyzer wrote it: Searcher.load checks), else what
        normalises the row (its ``text`` when at hand) when first asked."""
        normal = self.analyzer.unspelled(spelled)
        return normal if normal is not None else functools.partial(self._normalized_row, row, text)

    def _phrasings(self, art: int, row: int) -> tuple[tuple[int, ...], tuple[str, ...], str, list[int]]:
        """(question rows of article ``art``, their respelled texts, those joined by line breaks, where
        each starts there); recently shown articles' kept (bounded memory)."""
        cache = self._derived("_phrasings_cache", dict)
        found = cache.get(art)
        if found is None:
            rows = tuple(self._phrasing_rows(art, row))
            spelled = self._spelled_texts(rows)
            starts = list(itertools.accumulate((len(t) + 1 for t in spelled[:-1]), initial=0))
            found = rows, spelled, "\n".join(spelled), starts
            if len(cache) >= PHRASINGS_CACHE:
                cache.clear()  # written by request threads: no eviction order to keep
            cache[art] = found
        return found

    def _spelled_texts(self, rows: tuple[int, ...]) -> tuple[str, ...]:
        """The respelled texts of ``rows``. Consecutive stored rows (an article's, as the builder writes
        them) are decoded from one read of their file rather than one each (≈ 2 µs a row at 100k)."""
        texts = self.data.spelled_rows
        runs = getattr(texts, "segments", None)  # the mapped files' (a version built in memory holds lists)
        if runs is not None and len(rows) > 1 and rows == tuple(range(rows[0], rows[0] + len(rows))):
            for blob, off, row0 in self._derived("_spelled_runs", runs):
                if row0 <= rows[0] and rows[-1] < row0 + off.size - 1:
                    ends = off[rows[0] - row0 : rows[-1] - row0 + 2].tolist()
                    run, at = blob[ends[0] : ends[-1]].tobytes(), ends[0]
                    return tuple(run[a - at : b - at].decode("utf-8") for a, b in zip(ends, ends[1:]))
        return tuple(self._spell_row(r) for r in rows)

    def _normalized_row(self, row: int, text: str | None = None) -> str:
        """A question row normalised, not respelled, from its ``text`` when at hand (recently shown ones
        cached: bounded memory)."""
        cache = self._derived("_normalized_rows", dict)
        found = cache.get(row)
        if found is None:
            found = self.analyzer.normalize(self.data.row_text[row] if text is None else text)
            if len(cache) >= NORMALIZED_CACHE:
                cache.clear()  # written by request threads: no eviction order to keep
            cache[row] = found
        return found

    def _normalized_answer(self, art: int) -> str:
        """The start of an article's answer (as _spelled_answer) normalised, not respelled (cached so)."""
        cached = self._derived("_normalized_answers", lambda: functools.lru_cache(maxsize=4096)(
            lambda i: self.analyzer.normalize(self.articles[i].answer[:ANSWER_HEAD_CHARS])))
        return cached(art)

    def _phrasing_rows(self, art: int, row: int):
        """The question rows of article ``art`` (whose row ``row`` is one). Rows are stored article by
        article in a version, and in each segment of an incremental one (where an article lives in
        one segment only); any other order is looked up in a table built once."""
        if self._segments is not None:
            for seg, _to_here, row0 in self._segments:
                if row0 <= row < row0 + seg.data.row_article.size:
                    own = row - row0
                    return [row0 + r for r in seg._phrasing_rows(int(seg.data.row_article[own]), own)]
        if self._rows_by_article():
            first = self._derived("_article_rows", lambda: np.searchsorted(self.data.row_article, np.arange(len(self.articles) + 1)))
            return range(int(first[art]), int(first[art + 1]))

        def build():
            order = np.argsort(self.data.row_article, kind="stable")
            return order, np.searchsorted(self.data.row_article[order], np.arange(len(self.articles) + 1))
        order, first = self._derived("_rows_of_articles", build)
        return order[first[art] : first[art + 1]].tolist()


def _first_in(words: tuple[str, ...], text: str) -> str | None:
    for t in words:
        if t in text:
            return t
    return None


def _class_weight(spelled: str, words) -> float:
    """Query weight a respelled text holds: a word counts when it or one of its synonyms is there."""
    total = 0.0
    for _w, weight, _spellings, _others, forms in words:
        if _first_in(forms, spelled) is not None:
            total += weight
    return total


class _Query(NamedTuple):
    """A query's words for explanations: (word, weight, its spellings in the query, its other
    synonyms, the forms it takes in the index's respelled texts) for each word of two characters or
    more, longest first; the weight of each word and spelling; and the pinyin each spelling read from
    pinyin was typed as (到账: daozhang)."""
    words: list[tuple[str, float, tuple[str, ...], tuple[str, ...], tuple[str, ...]]]
    weight: dict[str, float]
    readings: dict[str, str]


def _as_read(spellings: tuple[str, ...], group: tuple[str, ...], reading: Reading, reader: PinyinReader,
             readings: dict[str, str]) -> tuple[str, ...]:
    """A query word's ``spellings`` (in ``reading.read``) as read from pinyin: a word the reader read stays
    (到账, typed daozhang); a synonym listed in pinyin (tixian, mima) becomes the words of its ``group``
    with that reading (提现). Each spelling read is recorded in ``readings`` with the pinyin typed."""
    out = []
    for spelling in spellings:
        at = reading.read.find(spelling)
        typed = reading.typed(at, at + len(spelling)) if at >= 0 else None
        same = [w for _cost, w in reader.homophones.get(spelling, ()) if w in group] if spelling.isalpha() and spelling.isascii() else []
        if typed is not None:
            readings.setdefault(spelling, typed)
            out.append(spelling)
        elif same:
            for w in same:
                readings.setdefault(w, spelling)
            out += same
        else:
            out.append(spelling)
    return tuple(dict.fromkeys(out))


class _Explainer:
    """Why the hits of one search matched, worked out when a hit is first asked: the query's words
    (longest first), their weights and spellings are computed once for all its hits."""

    def __init__(self, searcher: Searcher, words: list[str], query: str = "", typed: str | None = None):
        # typed: the query as typed when ``query`` is its typos respelled (its pinyin already read).
        self._searcher, self._words, self._text, self._typed = searcher, words, query, typed
        self._query: _Query | None = None

    def _prepare(self) -> _Query:
        s = self._searcher
        weights = s.term_weights(self._words)
        groups = s._synonym_groups()
        text = None  # the query normalised (OpenCC), its pinyin read: only words with synonyms or read need it
        words, weight, readings = [], {}, {}
        ordered = [w for w in sorted(dict.fromkeys(self._words), key=len, reverse=True) if len(w) >= 2]  # of equal length, in query order
        reading = None
        if self._text and may_hold_pinyin(self._typed or self._text):
            # What analysis read (daozhang → 到账) is what the query holds, each word told with what was typed.
            reader = s._pinyin()
            reading = reader.read_traced(s.analyzer.normalize(self._typed or self._text), s._knows)
            if self._typed:
                # Respelling keeps lengths (取线 → 取现): the respelled text, each character traced to what
                # was typed, so duojiu is still told as read (多久), not as if typed in Chinese.
                respelled = s.analyzer.normalize(self._text)
                if len(respelled) == len(reading.read):
                    reading = reading._replace(read=respelled)
                else:
                    reading = reader.read_traced(respelled, s._knows)
            text = reading.read
        elif any(groups.get(w) for w in ordered):
            text = s.analyzer.normalize(self._text) if self._text else ""
        # Words the query holds only as a synonym (登录 for 登陆, 手续费 for 服务费): the words analysis made
        # around them (登录密码, 手续, 续费) were never typed either, and are not told as matches.
        respelled = [w for w in ordered if w not in text and any(t in text for t in groups.get(w, ((),))[0])] if text else []
        for w in ordered:
            if respelled and w not in text and w not in respelled and any(w in v or v in w for v in respelled):
                continue
            group, forms = groups.get(w, ((), (w,)))
            # As the query spells it (analysis maps its synonyms to w): 封号 for 冻结, 咋办 (not its 咋) for
            # 怎么; the word itself when the query does not hold it. Pinyin is as read (sao ma: 扫码), a synonym
            # listed in pinyin too (tixian: 提现), each told with the pinyin typed.
            typed = [t for t in group if t in text]
            spellings = tuple(t for t in typed if not any(t != u and t in u for u in typed)) or (w,)
            if reading is not None:
                spellings = _as_read(spellings, group, reading, reader, readings)
            words.append((w, weights.get(w, 0.0), spellings, tuple(t for t in group if t not in spellings), forms))
            for t in (w, *spellings):
                weight.setdefault(t, weights.get(w, 0.0))
        return _Query(words, weight, readings)

    def __call__(self, art: int, row: int) -> Why:
        if self._query is None:
            self._query = self._prepare()
        return self._searcher._explain(art, row, self._query)
