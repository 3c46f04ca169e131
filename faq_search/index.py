"""Index build, persistence and atomic publishing.

Layout of an index directory::

    index/
      CURRENT                 name of the published version (replaced atomically)
      RETRY                   the last forced admin reload: "<version> <request id>" (replaced atomically),
                              which every server that refused that version loads once more
      versions/<version>/     immutable once published
        manifest.json         format, versions, analyzer, ranking, corpus hash, file checksums
        meta.json             categories, popular ids, each article's id, category and tags, and
                              former ids (aliases) → article id
        articles.jsonl        the articles as served, one JSON object a line (decoded when used)
        rows.txt              the question rows' texts, one UTF-8 run (offsets in arrays/)
        heads.txt             each answer's normalised start, one UTF-8 run (where a hit's
                              matched terms are looked for; absent from older versions)
        spelled.txt           each question row normalised (where a hit's matched terms are
                              looked for first; absent from older versions)
        vocab.json            feature → column, per field
        arrays/*.npy          idf vectors, term-major (CSC) weight matrices, article × term counts
                              (CSR), row → article, offsets; memory-mapped at load
        dict/                 the user words and synonyms the index was built with
        state/                each article's source key and related ids, and a JSON Lines corpus's
                              phrasings' digests (for incremental builds)
        delta/                only in an incremental version (format 7, see incremental.py):
                              the articles added or changed since the base, whose files the
                              version shares with it as hard links
      cache/analysis-<fingerprint>.npz    feature ids per question text and per answer
      .build.lock             held by the running build (flock): builds of one directory take turns

Nothing is pickled: arrays are ``.npy`` loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import json
import logging
import mmap
import multiprocessing
import os
import re
import shlex
import shutil
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp

from . import __version__
from .analysis import Analyzer, DictionaryTable, dictionary_table_name, read_dictionary_table, write_dictionary_table
from .answer_markdown import searchable, unsupported
from .corpus import Article, Corpus, Scope
from .features import Analysed, Progress, Ragged, TokenCache, analyse_texts, answer_key, count_matrix
from .lsa import LsaModel
from .paraphrase import ParaphraseModel
from .rerank import DEFAULT_WEIGHTS, Reranker

log = logging.getLogger(__name__)

__all__ = ["IndexData", "IndexError_", "BuildResult", "publish", "read_current", "read_pointer", "published_versions", "changed_in_place", "mapped_changed", "load_index", "in_memory"]

# 4: format 3 (memory-mapped .npy arrays) plus the paraphrase model and 20-feature rerankers.
# 6: format 4 plus the LSA model and 22-feature rerankers.
FORMAT_VERSION = 6
# 7: a format-6 base plus a delta segment (incremental.py; 5 was one over format 4); older code refuses it.
DELTA_FORMAT = 7
READABLE_FORMATS = (FORMAT_VERSION, DELTA_FORMAT)
FIELDS = ("word", "char")
# Answers are matched on character features only: segmenting long answers with
# jieba would dominate build time for a signal weighted 0.2.
ANSWER_FIELDS = ("char",)
# A hit's matched terms are looked for in its phrasing and in this many first characters of its answer.
ANSWER_HEAD_CHARS = 200
CURRENT = "CURRENT"
RETRY = "RETRY"
KEEP_VERSIONS = 2
BUILD_LOCK = ".build.lock"
# Ranking settings recorded in the manifest so a search uses what the index was built for.
DEFAULT_RANKING = {
    "weighting": "bm25", "k1": 0.8, "b": 0.75,  # tuned on the dev half, see docs/quality.md
    "field_weights": {"word": 0.5, "char": 0.5}, "answer_weight": 0.2,
}


class IndexError_(Exception):
    """An index directory is missing, unpublished, corrupt or of another format."""


@dataclass
class IndexData:
    """Everything a Searcher needs, as loaded from one published version."""

    version: str
    manifest: dict
    articles: list[Article]
    categories: dict[str, str]
    vocab: dict[str, dict[str, int]]
    idf: dict[str, np.ndarray]
    questions: dict[str, sp.csc_matrix]  # rows = question rows, term-major storage
    answers: dict[str, sp.csc_matrix]  # rows = articles
    row_article: np.ndarray  # question row → article position
    row_text: list[str] = field(default_factory=list)  # question row → its text
    # Article → the normalised start of its answer (answer_head); None in versions written before it.
    answer_heads: "Sequence[str] | None" = None
    # Question row → its text normalised (Analyzer.spelled); None in versions written before it.
    spelled_rows: "Sequence[str] | None" = None
    path: Path | None = None
    reranker: "Reranker | None" = None
    popular: list[str] = field(default_factory=list)  # curated article ids (corpus popular.yml)
    scope: Scope = field(default_factory=Scope)  # our product names and others' (corpus scope.yml)
    # Per field, article × term: how many of the article's phrasings contain the term (CSR).
    article_terms: dict[str, sp.csr_matrix] | None = None
    # Per article, without decoding the articles: "id", "category", "tags" lists.
    columns: dict[str, list] | None = None
    # Former id → the id of the article that carries it (articles' `aliases`); {} in versions written before them.
    aliases: dict[str, str] = field(default_factory=dict)
    paraphrase: "ParaphraseModel | None" = None  # small knowledge bases only
    lsa: "LsaModel | None" = None  # trained with the paraphrase model
    # Incremental versions: (segment data, segment article → article here (−1: removed),
    # first row number of the segment here); None for a single-segment version.
    segments: "list[tuple[IndexData, np.ndarray, int]] | None" = None
    # Memory-mapped file's path → (device, inode, size) when loaded: see changed_in_place.
    mapped: dict[str, tuple[int, int, int]] = field(default_factory=dict)


@dataclass
class BuildResult:
    version: str
    path: Path
    articles: int
    vocabulary: int
    seconds: float
    analysed: int  # question texts segmented afresh (the rest came from the cache)
    incremental: bool = False  # a delta over the base's files (incremental.py)
    completions_seconds: float | None = None  # writing its completion data (None: not written)
    completions_reused: bool = False  # linked to an earlier version's (only answers changed)
    warnings: tuple = ()  # corpus.Problem: published anyway (an article changed but kept its `updated`)
    unchanged: bool = False  # nothing written: the published version was built from this corpus
    republished: bool = False  # nothing written: an earlier version built from this corpus is published again
    changes: str = ""  # the articles changed since the version published before ("changed: a.md (answer); …")


def _lead_sentence(answer: str) -> str:
    """First sentence of an answer: stands in as the question of an answer-only entry."""
    for i, ch in enumerate(answer):
        if ch in "。！？!?\n" and i >= 4:
            return answer[: i + 1].strip()
    return answer[:80].strip()


def row_texts(article: Article) -> tuple[str, ...]:
    return article.questions or (_lead_sentence(searchable(article.answer)),)


def corpus_key(corpus: Corpus, analyzer: Analyzer, ranking: dict) -> str:
    """What the published index must match to be fresh."""
    h = hashlib.sha256()
    defaults = DEFAULT_WEIGHTS.read_bytes() if DEFAULT_WEIGHTS.exists() else b""
    parts = (corpus.content_hash, analyzer.fingerprint, f"format{FORMAT_VERSION}", json.dumps(ranking, sort_keys=True),
             hashlib.sha256(defaults).hexdigest())
    for part in parts:
        h.update(part.encode() + b"\0")
    return h.hexdigest()


# --- analysis: cached per text as feature ids, parallel over processes -------------------------

# Up to this many question texts to segment, an analyzer whose jieba dictionary is not loaded yet
# reads only their entries from a dictionary table (Analyzer.restricted): ≈ 0.1 s for a few texts
# against ≈ 0.6 s for the whole dictionary, which 1,000 texts of ≈ 0.4 ms each would cost as much.
RESTRICTED_MAX_TEXTS = 1000


def _dictionary_table_path(cache_dir: Path, analyzer: Analyzer) -> Path:
    return Path(cache_dir) / dictionary_table_name(analyzer.fingerprint)


def save_dictionary_table(cache_dir: Path, analyzer: Analyzer) -> Path | None:
    """Write ``analyzer``'s dictionary table into ``cache_dir`` unless there is one (≈ 0.3 s and
    9 MiB; tables of other dictionaries go): later incremental builds segment their few new
    texts from it, and analyzers given the directory load their dictionary from it (≈ 0.3 s
    instead of ≈ 0.7 s). None when the analyzer's dictionary is not loaded (nothing to write it from)."""
    if not analyzer.dictionary_loaded:
        return None
    path = _dictionary_table_path(cache_dir, analyzer)
    if path.exists():
        return path
    try:
        write_dictionary_table(path, analyzer.dictionary_table())
    except (OSError, ValueError) as e:  # only a cache: the version is published already
        log.warning("dictionary table not written: %s", e)
        return None
    for old in path.parent.glob("dictionary-*.npz"):
        if old != path:
            old.unlink(missing_ok=True)
    return path


def start_dictionary_table(cache_dir: Path, analyzer: Analyzer):
    """``save_dictionary_table`` in a forked process, alongside a full build (≈ 0.4 s of a core it
    leaves idle); the process to join, or None when there is nothing to write."""
    if not analyzer.dictionary_loaded or _dictionary_table_path(cache_dir, analyzer).exists():
        return None
    process = multiprocessing.get_context("fork").Process(
        target=save_dictionary_table, args=(cache_dir, analyzer), name="dictionary-table", daemon=True)
    process.start()
    return process


def load_dictionary_table(cache_dir: Path, analyzer: Analyzer) -> DictionaryTable | None:
    """The table ``save_dictionary_table`` wrote for this analyzer and jieba dictionary, verified;
    None when there is none or it is damaged (only a cache: the whole dictionary is loaded instead)."""
    return read_dictionary_table(_dictionary_table_path(cache_dir, analyzer))


def analyse_corpus(analyzer: Analyzer, articles: list[Article], cache_path: Path | None,
                   progress=None, workers: int | None = None, known: dict | None = None,
                   prune: bool = True, then: Callable[[], None] | None = None) -> Analysed:
    """Feature ids of every question row and every answer: each text not in the cache is analysed
    (jieba is the slow part), the rest are looked up; the cache is then pruned to this corpus
    (``prune``). ``known``: question text → (word features, char features) found elsewhere.
    ``then`` is called once the texts are analysed, before their features are gathered. A few
    texts to segment, and jieba's dictionary not loaded yet, they are segmented from the dictionary
    table in the cache's directory when there is one (``RESTRICTED_MAX_TEXTS``)."""
    workers = workers or os.cpu_count() or 1
    cache = TokenCache.load(cache_path) if cache_path and cache_path.exists() else TokenCache.empty()
    texts = [t for a in articles for t in row_texts(a)]
    answers = [searchable(a.answer) for a in articles]
    akeys = [answer_key(t) for t in answers]
    todo = sorted({t for t in texts if t not in cache.q_index})
    seeded = [t for t in todo if known and t in known]
    if seeded:
        todo = [t for t in todo if t not in known]
    atodo = {}
    for k, t in zip(akeys, answers):
        if k not in cache.a_index:
            atodo.setdefault(k, t)
    bar = Progress(len(todo) + len(atodo), "analysing", progress)
    segmenter = analyzer
    if todo and len(todo) <= RESTRICTED_MAX_TEXTS and cache_path and not analyzer.dictionary_loaded:
        table = load_dictionary_table(Path(cache_path).parent, analyzer)
        if table is not None:
            segmenter = analyzer.restricted(todo, table)
    (q_word, q_char), (a_char,) = analyse_texts(segmenter, cache, todo, list(atodo.values()), workers, bar, then)
    if seeded:
        q_word = Ragged.concat([q_word, _ragged(cache, [known[t][0] for t in seeded])])
        q_char = Ragged.concat([q_char, _ragged(cache, [known[t][1] for t in seeded])])
        todo = todo + seeded
    # Old and fresh entries side by side; rows and answers index into them.
    q_index = {**cache.q_index, **{t: len(cache.q_keys) + i for i, t in enumerate(todo)}}
    a_index = {**cache.a_index, **{k: len(cache.a_keys) + i for i, k in enumerate(atodo)}}
    q_word, q_char = Ragged.concat([cache.q_word, q_word]), Ragged.concat([cache.q_char, q_char])
    a_char = Ragged.concat([cache.a_char, a_char])
    row_entry = np.fromiter((q_index[t] for t in texts), np.int64, len(texts))
    art_entry = np.fromiter((a_index[k] for k in akeys), np.int64, len(akeys))
    analysed = Analysed(tokens=cache.tokens, rows={"word": q_word.take(row_entry), "char": q_char.take(row_entry)},
                        answers={"char": a_char.take(art_entry)}, fresh=len(todo) - len(seeded), fresh_answers=len(atodo))
    keys, akeys_all = cache.q_keys + todo, cache.a_keys + list(atodo)
    q_used, a_used = np.unique(row_entry), np.unique(art_entry)
    # Entries no text uses any more are dropped once they are a fifth of the cache (a rewrite costs
    # a gather of every entry); until then the cache only grows by what was analysed afresh.
    stale = len(keys) - q_used.size + len(akeys_all) - a_used.size
    if cache_path and (todo or atodo or stale):
        if not prune or stale <= 0.2 * (len(keys) + len(akeys_all)):
            q_used, a_used = np.arange(len(keys)), np.arange(len(akeys_all))
            if not (todo or atodo):
                return analysed  # nothing new to keep
        TokenCache(cache.tokens, [keys[i] for i in q_used], q_word.take(q_used), q_char.take(q_used),
                   [akeys_all[i] for i in a_used], a_char.take(a_used)).save(cache_path)
    return analysed


def _ragged(cache: TokenCache, lists: list[list[str]]) -> Ragged:
    off = np.zeros(len(lists) + 1, np.int64)
    np.cumsum([len(x) for x in lists], out=off[1:])
    return Ragged(off, cache.add_tokens([t for x in lists for t in x]))


# --- build -------------------------------------------------------------------------------

def bm25_weights(counts: sp.csr_matrix, idf: np.ndarray, k1: float, b: float,
                 block: int = 1 << 22, avglen: float | None = None) -> tuple[sp.csr_matrix, float]:
    """BM25 term weights idf · tf(k1+1) / (tf + k1(1 − b + b·len/avglen)), and avglen.

    Saturating tf and a soft length norm: a long phrasing is not punished for every
    extra word the way cosine normalisation punishes it. Computed in blocks of stored
    entries, in place: no full-size float64 temporaries."""
    counts = counts.tocsr()
    if counts.dtype != np.float32:
        counts = counts.astype(np.float32)
    lengths = np.zeros(counts.shape[0])
    if counts.nnz:
        lengths = np.add.reduceat(counts.data, np.minimum(counts.indptr[:-1], counts.nnz - 1), dtype=np.float64)
        lengths[np.diff(counts.indptr) == 0] = 0.0
    avg = float(lengths.mean()) if lengths.size and lengths.mean() > 0 else 1.0
    avg = avg if avglen is None else avglen  # an incremental build keeps the base's
    row_norm = k1 * (1.0 - b + b * lengths / avg)
    row_of = np.repeat(np.arange(counts.shape[0], dtype=np.int32), np.diff(counts.indptr))
    data, indices = counts.data, counts.indices
    for i in range(0, data.size, block):
        tf = data[i : i + block].astype(np.float64)
        data[i : i + block] = idf[indices[i : i + block]] * tf * (k1 + 1.0) / (tf + row_norm[row_of[i : i + block]])
    return counts, avg


def tfidf_weights(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """(1 + log tf) · idf, each row L2-normalised (TfidfVectorizer(sublinear_tf=True, norm="l2"))."""
    m = counts.tocsr().astype(np.float32)
    m.data = ((1.0 + np.log(m.data)) * idf[m.indices]).astype(np.float32)
    sq = np.asarray(m.multiply(m).sum(axis=1), dtype=np.float64).ravel()
    norms = np.sqrt(sq)
    norms[norms == 0] = 1.0
    m.data = (m.data / np.repeat(norms, np.diff(m.indptr))).astype(np.float32)
    return m


def smooth_idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """TfidfTransformer's smooth idf, ln((1 + n) / (1 + df)) + 1, computed in float32 as it does."""
    idf = np.full(df.shape, n_docs + 1, dtype=np.float32)
    idf /= (df + 1).astype(np.float32)
    np.log(idf, out=idf)
    idf += 1.0
    return idf


def row_owner(articles: Sequence[Article]) -> tuple[np.ndarray, sp.csr_matrix]:
    """Question row → article position, and the article × row 0/1 matrix of it."""
    counts = [len(row_texts(a)) for a in articles]
    row_article = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    owner = sp.csr_matrix((np.ones(row_article.size, np.int32), (row_article, np.arange(row_article.size))),
                          shape=(len(counts), row_article.size))
    return row_article, owner


def field_counts(analysed: Analysed, name: str, owner: sp.csr_matrix):
    """(question row × token counts, article × token answer counts or None, article × token count of
    the article's phrasings holding the token, each token's document frequency over articles)."""
    n_tok = len(analysed.tokens)
    q = count_matrix(analysed.rows[name], n_tok)
    # Article × term: how many of the article's phrasings contain the term.
    art_terms = (owner @ sp.csr_matrix((np.ones(q.nnz, np.int32), q.indices, q.indptr), shape=q.shape)).tocsr()
    present = art_terms
    a = None
    if name in ANSWER_FIELDS:
        a = count_matrix(analysed.answers[name], n_tok)
        present = art_terms + sp.csr_matrix((np.ones(a.nnz, np.int32), a.indices, a.indptr), shape=a.shape)
    present.sum_duplicates()
    return q, a, art_terms, np.bincount(present.indices, minlength=n_tok)


def weigh_field(out: dict, name: str, q, a, art_terms, remap: np.ndarray, width: int, idf: np.ndarray,
                ranking: dict, avglen: dict | None = None) -> None:
    """Token columns mapped to the index's (``remap``, ``width`` columns), then the field's article
    terms and weighted question / answer matrices into ``out``. ``avglen`` fixes BM25's mean lengths
    (a delta uses its base's); without it they are measured and recorded in ``out["avglen"]``."""
    def columns(m: sp.csr_matrix) -> sp.csr_matrix:
        m = sp.csr_matrix((m.data, remap[m.indices], m.indptr), shape=(m.shape[0], width))
        m.has_sorted_indices = False
        return m

    art_terms = columns(art_terms)
    art_terms.sort_indices()
    out["article_terms"][name] = art_terms
    for kind, m in {"questions": q, "answers": a}.items():
        if m is None:
            continue
        m = columns(m)
        if ranking.get("weighting") == "bm25":
            key = name if kind == "questions" else f"answer.{name}"
            fixed = float(avglen[key]) if avglen is not None else None
            m, measured = bm25_weights(m, idf, ranking["k1"], ranking["b"], avglen=fixed)
            if avglen is None:
                out["avglen"][key] = measured
        else:
            m = tfidf_weights(m, idf)
        out[kind][name] = m.tocsc()


def build_arrays(corpus: Corpus, analysed: Analysed, ranking: dict | None = None) -> dict:
    """Vocabulary, idf and weight matrices per field, from the analysed feature ids.

    Columns are the features in sorted order; idf counts articles (a document is an
    article's phrasings, plus its answer for the answer fields), not question rows, so
    many paraphrases of one article don't dilute a term."""
    ranking = ranking or DEFAULT_RANKING
    out = {"vocab": {}, "idf": {}, "questions": {}, "answers": {}, "avglen": {}, "article_terms": {}, "token_column": {}}
    row_article, owner = row_owner(corpus.articles)
    n_tok = len(analysed.tokens)
    for name in FIELDS:
        q, a, art_terms, df_all = field_counts(analysed, name, owner)
        used = np.flatnonzero(df_all)
        terms = [analysed.tokens[i] for i in used]
        order = sorted(range(len(terms)), key=terms.__getitem__)
        used = used[np.asarray(order, np.int64)]
        remap = np.full(n_tok, -1, np.int32)
        remap[used] = np.arange(used.size, dtype=np.int32)
        out["token_column"][name] = remap
        out["vocab"][name] = {terms[i]: col for col, i in enumerate(order)}
        idf = smooth_idf(df_all[used], len(corpus.articles))
        out["idf"][name] = idf
        weigh_field(out, name, q, a, art_terms, remap, used.size, idf, ranking)
    out["row_article"] = row_article
    return out


def _save_csc(arrays: dict, name: str, m: sp.spmatrix, kind: str = "csc") -> None:
    m = m.tocsc() if kind == "csc" else m.tocsr()
    m.sort_indices()
    # One index dtype for indices and indptr: scipy then wraps the mapped arrays without a copy.
    idx = np.int32 if max(m.nnz, *m.shape) < 2**31 - 1 else np.int64
    arrays[f"{name}.data"] = m.data
    arrays[f"{name}.indices"] = m.indices.astype(idx, copy=False)
    arrays[f"{name}.indptr"] = m.indptr.astype(idx, copy=False)
    arrays[f"{name}.shape"] = np.asarray(m.shape, dtype=np.int64)


def _load_sparse(arrays, name: str, cls=sp.csc_matrix):
    try:
        shape = tuple(int(x) for x in arrays[f"{name}.shape"])
        m = cls((arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]), shape=shape)
    except KeyError as e:
        raise IndexError_(f"the index lacks array {e}") from None
    m.has_sorted_indices = True  # written sorted (_save_csc)
    return m


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> str:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return hashlib.sha256(data).hexdigest()


class _HashingWriter:
    """A write-only file that hashes what passes through (no second read of what was written)."""

    def __init__(self, f):
        self.f, self.h = f, hashlib.sha256()

    def write(self, data) -> int:
        self.h.update(data)
        return self.f.write(data)


def _write_npy(path: Path, arr: np.ndarray) -> str:
    arr = np.ascontiguousarray(arr)
    with open(path, "wb") as f:
        w = _HashingWriter(f)
        np.lib.format.write_array(w, arr, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    return w.h.hexdigest()


def answer_head(analyzer: Analyzer, article: Article) -> str:
    """The normalised start of an answer, where a hit's matched terms are also looked for."""
    return analyzer.spelled(searchable(article.answer)[:ANSWER_HEAD_CHARS])


# The text files of a segment, by the name of their offsets array.
TEXT_FILES = {"articles": "articles.jsonl", "rows": "rows.txt", "heads": "heads.txt", "spelled": "spelled.txt"}
# Articles spelled and encoded at a time: the texts of 100k articles held whole took ≈ 0.5 GiB.
TEXTS_CHUNK = 8192
# Corpora from this many articles get their texts written in a forked process (``ArticleTextsJob``);
# smaller ones take well under a second.
ARTICLE_TEXTS_FORK_MIN = 5000
# Seconds a builder waits for a process it forked to write part of a version (the completions take
# ≈ 20 s at 100k articles) before it gives up on it and does the work itself.
CHILD_TIMEOUT = 900


def write_article_texts(corpus: Corpus, analyzer: Analyzer, texts_dir: Path, arrays_dir: Path
                        ) -> tuple[dict[str, str], dict[str, str]]:
    """Write a segment's text files into ``texts_dir`` and their offsets arrays (``<key>.off.npy``)
    into ``arrays_dir``: the articles (one JSON object a line, decoded when first used), the question
    rows' texts and the answers' normalised starts (one UTF-8 run each: normalising them per hit cost
    ≈ 18 µs each), and the rows normalised (≈ 8 µs each per hit). Returns the checksums of the text
    files (by file name) and of the arrays (by array name)."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # one encoder, not one a call
    lengths: dict[str, list[np.ndarray]] = {key: [] for key in TEXT_FILES}
    with contextlib.ExitStack() as stack:
        files = {key: stack.enter_context(open(texts_dir / name, "wb")) for key, name in TEXT_FILES.items()}
        writers = {key: _HashingWriter(f) for key, f in files.items()}
        for at in range(0, len(corpus.articles), TEXTS_CHUNK):
            articles = corpus.articles[at : at + TEXTS_CHUNK]
            rows = [t for a in articles for t in row_texts(a)]
            parts = {
                "articles": [encode(a.to_dict()).encode("utf-8") for a in articles],
                "rows": [t.encode("utf-8") for t in rows],
                "heads": [h.encode("utf-8") for h in analyzer.spelled_many([searchable(a.answer)[:ANSWER_HEAD_CHARS] for a in articles])],
                "spelled": [s.encode("utf-8") for s in analyzer.spelled_many(rows)],
            }
            for key, chunks in parts.items():
                writers[key].write(b"".join(chunks))
                lengths[key].append(np.fromiter(map(len, chunks), np.int64, len(chunks)))
        for f in files.values():
            f.flush()
            os.fsync(f.fileno())
    sums = {TEXT_FILES[key]: w.h.hexdigest() for key, w in writers.items()}
    offsets = {}
    for key, runs in lengths.items():
        off = np.zeros(sum(r.size for r in runs) + 1, np.int64)
        np.cumsum(np.concatenate(runs) if runs else off[:0], out=off[1:])
        offsets[f"{key}.off"] = _write_npy(arrays_dir / f"{key}.off.npy", off)
    return sums, offsets


class ArticleTextsJob:
    """``write_article_texts`` in a forked process, while a full build analyses its corpus: at 100k
    articles they take ≈ 5 s, which the build otherwise spends after the analysis with a core idle.
    Forked while the builder is small (its pages shared; the child's own ≈ 0.1 GiB at 100k), into a
    directory of its own under ``versions/`` (a killed builder's is pruned like a version's)."""

    def __init__(self, out_dir: Path, corpus: Corpus, analyzer: Analyzer):
        versions = out_dir / "versions"
        versions.mkdir(parents=True, exist_ok=True)
        self.dir = versions / f".tmp-texts-{os.getpid()}"
        if self.dir.exists():
            shutil.rmtree(self.dir)
        (self.dir / "arrays").mkdir(parents=True)
        self.process = multiprocessing.get_context("fork").Process(
            target=self._write, args=(corpus, analyzer), name="article-texts", daemon=True)
        self.process.start()

    @classmethod
    def start(cls, out_dir: Path, corpus: Corpus, analyzer: Analyzer) -> "ArticleTextsJob | None":
        """The job for a corpus large enough to be worth a process; None for a smaller one."""
        return cls(out_dir, corpus, analyzer) if len(corpus.articles) >= ARTICLE_TEXTS_FORK_MIN else None

    def _write(self, corpus: Corpus, analyzer: Analyzer) -> None:
        gc.freeze()  # a collection walking the parent's objects would copy every page holding one
        sums, offsets = write_article_texts(corpus, analyzer, self.dir, self.dir / "arrays")
        _write_file(self.dir / "sums.json", json.dumps([sums, offsets]).encode("utf-8"))

    def move_into(self, texts_dir: Path, arrays_dir: Path) -> tuple[dict[str, str], dict[str, str]] | None:
        """Move the written files into a version being written; their checksums as ``write_article_texts``
        returns them, or None (nothing moved) when the child failed."""
        self.process.join(CHILD_TIMEOUT)
        try:
            if self.process.exitcode != 0:
                log.warning("article texts written alongside the build are unusable (exit code %s); writing them again",
                            self.process.exitcode)
                return None
            sums, offsets = json.loads((self.dir / "sums.json").read_text("utf-8"))
            for name in sums:
                os.rename(self.dir / name, texts_dir / name)
            for name in offsets:
                os.rename(self.dir / "arrays" / f"{name}.npy", arrays_dir / f"{name}.npy")
            return sums, offsets
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Stop the child if it still runs and remove what it wrote."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        shutil.rmtree(self.dir, ignore_errors=True)


def _new_version_name(key: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"v{stamp}-{key[:8]}"


def new_version_dir(out_dir: Path, key: str) -> tuple[str, Path]:
    """(name, temporary directory) of a version being written: renamed into place when complete."""
    versions = out_dir / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    version = _new_version_name(key)
    tmp = versions / f".tmp-{version}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    (tmp / "dict").mkdir()
    return version, tmp


def write_dict_files(tmp: Path, dict_files: dict[str, Path | None], checksums: dict) -> None:
    for name, src in dict_files.items():
        data = Path(src).read_bytes() if src and Path(src).exists() else b""
        checksums[f"dict/{name}"] = _write_file(tmp / "dict" / name, data)


def finish_version(out_dir: Path, version: str, tmp: Path, manifest: dict) -> Path:
    """Write the manifest, fsync the directories and move the version into place."""
    _write_file(tmp / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    for sub in ("dict", "arrays", "state", "delta/arrays", "delta"):
        if (tmp / sub).is_dir():
            _fsync_path(tmp / sub)
    _fsync_path(tmp)
    final = out_dir / "versions" / version
    os.rename(tmp, final)
    _fsync_path(final.parent)
    return final


def write_version(out_dir: Path, corpus: Corpus, analyzer: Analyzer, arrays: dict, key: str,
                  dict_files: dict[str, Path | None], ranking: dict, seconds: float,
                  reranker: Reranker | None = None, paraphrase: ParaphraseModel | None = None,
                  keys: list[bytes] | None = None, lsa: LsaModel | None = None,
                  models: dict | None = None, texts_job: ArticleTextsJob | None = None) -> tuple[str, Path]:
    """Write a complete, fsynced version directory under ``versions/`` (not yet published).
    ``keys`` (one 16-byte digest of each article's source) let a later build go incremental;
    ``models`` (what the paraphrase and LSA models were fitted from) lets a later build reuse them;
    ``texts_job``, the article texts already being written (else they are written here)."""
    version, tmp = new_version_dir(out_dir, key)
    try:
        return version, _write_version_files(out_dir, version, tmp, corpus, analyzer, arrays, key, dict_files,
                                             ranking, seconds, reranker, paraphrase, keys, lsa, models, texts_job)
    except BaseException:
        # A full disk, an unwritable file: the half-written copy goes now, or a retry after freeing a
        # little space fails again (a killed builder's goes at the start of the next build).
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_version_files(out_dir: Path, version: str, tmp: Path, corpus: Corpus, analyzer: Analyzer, arrays: dict,
                         key: str, dict_files: dict[str, Path | None], ranking: dict, seconds: float,
                         reranker: Reranker | None, paraphrase: ParaphraseModel | None, keys: list[bytes] | None,
                         lsa: LsaModel | None, models: dict | None, texts_job: ArticleTextsJob | None) -> Path:
    checksums = {}
    npy = {}
    for name in FIELDS:
        npy[f"idf.{name}"] = arrays["idf"][name]
        _save_csc(npy, f"questions.{name}", arrays["questions"][name])
        _save_csc(npy, f"article_terms.{name}", arrays["article_terms"][name], "csr")
        if name in arrays["answers"]:
            _save_csc(npy, f"answers.{name}", arrays["answers"][name])
    npy["row_article"] = arrays["row_article"].astype(np.int32, copy=False)
    if paraphrase is not None:
        npy.update(paraphrase.to_arrays())
    if lsa is not None:
        npy.update(lsa.to_arrays())
    (tmp / "arrays").mkdir()
    written = texts_job.move_into(tmp, tmp / "arrays") if texts_job is not None else None
    sums, offsets = written or write_article_texts(corpus, analyzer, tmp, tmp / "arrays")
    checksums.update(sums)
    checksums.update({f"arrays/{name}.npy": sha for name, sha in offsets.items()})
    for name, arr in npy.items():
        checksums[f"arrays/{name}.npy"] = _write_npy(tmp / "arrays" / f"{name}.npy", arr)
    dumps = lambda obj: json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    checksums["meta.json"] = _write_file(tmp / "meta.json", dumps(article_meta(corpus)))
    checksums["vocab.json"] = _write_file(tmp / "vocab.json", dumps(arrays["vocab"]))
    if reranker is not None:
        checksums["reranker.json"] = _write_file(tmp / "reranker.json", reranker.to_json().encode("utf-8"))
    write_dict_files(tmp, dict_files, checksums)
    if keys is not None:
        (tmp / "state").mkdir()
        checksums["state/keys.bin"] = _write_file(tmp / "state" / "keys.bin", b"".join(keys))
        checksums["state/related.json"] = _write_file(tmp / "state" / "related.json", dumps(
            {a.id: list(a.related) for a in corpus.articles if a.related}))
        if corpus.phrasings is not None:  # a JSON Lines corpus: see incremental._jsonl_warnings
            for name, arr in zip(("phrasings", "phrasing_article"), corpus.phrasings):
                checksums[f"state/{name}.npy"] = _write_npy(tmp / "state" / f"{name}.npy", arr)
            # The entries whose answers hold Markdown shown as typed (≈ none): warned of at every build.
            marked = np.array([i for i, a in enumerate(corpus.articles) if unsupported(a.answer)], np.int64)
            checksums["state/marked.npy"] = _write_npy(tmp / "state" / "marked.npy", marked)
    manifest = manifest_head(FORMAT_VERSION, version, seconds, key, corpus, analyzer, ranking) | {
        "articles": len(corpus.articles),
        "question_rows": int(arrays["row_article"].shape[0]),
        "vocabulary": {name: len(arrays["vocab"][name]) for name in FIELDS},
        "avglen": arrays.get("avglen", {}),
        "reranker": reranker.info if reranker is not None else None,
        "files": checksums,
    }
    if models is not None:
        manifest["models"] = models
    return finish_version(out_dir, version, tmp, manifest)


def article_meta(corpus: Corpus) -> dict:
    """meta.json's per-version facts: categories, popular ids, each article's id, category, tags, and
    the former ids (aliases) → id of the articles that have some (few: no list per article)."""
    return {
        "categories": corpus.categories,
        "popular": list(corpus.popular),
        "scope": corpus.scope.to_json(),
        "id": [a.id for a in corpus.articles],
        "category": [a.category for a in corpus.articles],
        "tags": [list(a.tags) for a in corpus.articles],
        "aliases": {alias: a.id for a in corpus.articles for alias in a.aliases},
    }


def manifest_head(fmt: int, version: str, seconds: float, key: str, corpus: Corpus, analyzer, ranking: dict) -> dict:
    """The manifest fields every build writes, full or incremental."""
    return {
        "format": fmt,
        "version": version,
        "faq_search_version": __version__,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(seconds, 3),
        "corpus_key": key,
        "corpus_hash": corpus.content_hash,
        "analyzer": analyzer.settings(),
        "ranking": ranking,
        "libraries": _library_versions(),
    }


def _library_versions() -> dict:
    from importlib.metadata import version

    import scipy

    # scikit-learn's and jieba's versions from their metadata: a build that reuses the reranker
    # (or segments nothing) needs nothing else from them, and importing costs ~2 s (0.1 s).
    return {"numpy": np.__version__, "scipy": scipy.__version__, "scikit-learn": version("scikit-learn"), "jieba": version("jieba")}


def published_manifest(out_dir: Path, formats, ranking: dict) -> tuple[str, Path, dict] | None:
    """(version, its directory, its manifest) of the published version when it is of one of
    ``formats`` and was built with ``ranking``; None when there is none, or it is unreadable or other."""
    version = read_current(out_dir)
    if version is None:
        return None
    vdir = out_dir / "versions" / version
    try:
        manifest = json.loads((vdir / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") not in formats or manifest.get("ranking") != ranking:
        return None
    return version, vdir, manifest


def publish(out_dir: Path, version: str, keep: int = KEEP_VERSIONS, written_now: bool = True) -> None:
    """Point CURRENT at ``version`` atomically, then prune (see ``prune``: the version it replaces stays).
    ``written_now``: the version was just written by this build (removed when the pointer cannot be
    written); else one kept from before (an edit undone), left as it is whatever happens."""
    out_dir = Path(out_dir)
    previous = read_current(out_dir)
    tmp = out_dir / f".{CURRENT}.{os.getpid()}.tmp"
    try:
        _write_file(tmp, (version + "\n").encode())
        os.replace(tmp, out_dir / CURRENT)
    except BaseException:
        tmp.unlink(missing_ok=True)
        if written_now:  # never published (a disk the version itself filled): it would only take the room a retry needs
            shutil.rmtree(out_dir / "versions" / version, ignore_errors=True)
        raise
    _fsync_path(out_dir)
    prune(out_dir, keep, previous=previous if previous != version else None)


def _content_of(vdir: Path) -> str:
    """What a version was built from (its corpus key: equal for a rebuild of an unchanged corpus, full or
    incremental); its name when its manifest is unreadable (then it is like no other)."""
    try:
        key = json.loads((vdir / "manifest.json").read_text("utf-8")).get("corpus_key")
    except (OSError, ValueError, AttributeError):
        key = None
    return key if isinstance(key, str) and key else vdir.name


def prune(out_dir: Path, keep: int = KEEP_VERSIONS, previous: str | None = None) -> None:
    """Delete old versions. Kept: the published one; ``previous``, the one it replaced (what was serving
    a moment ago, and the target of a rollback — after an operator rolled back, the version rolled back
    to, not the newer bad one); then the newest others until ``keep`` different contents are kept, so a
    rebuild of an unchanged corpus does not push out the last different version."""
    current = read_current(out_dir)
    versions = {p.name: p for p in (out_dir / "versions").iterdir() if p.is_dir() and p.name.startswith("v")}
    served = [n for n in dict.fromkeys((current, previous)) if n in versions]
    contents = {_content_of(versions[n]) for n in served}
    survivors = set(served)
    for name in sorted(versions, reverse=True):  # names start with the build time: newest first
        if name in survivors or len(contents) >= keep:
            continue
        content = _content_of(versions[name])
        if content not in contents:
            survivors.add(name)
            contents.add(content)
    for name, p in versions.items():
        if name not in survivors:
            shutil.rmtree(p, ignore_errors=True)
    for p in (out_dir / "versions").glob(".tmp-*"):
        # Left by a builder that died mid-write; never referenced by CURRENT.
        if time.time() - p.stat().st_mtime > 3600:
            shutil.rmtree(p, ignore_errors=True)
    cache = out_dir / "cache"
    for p in [*cache.glob(".dictionary-*.tmp"), *cache.glob("*.tmp.npz")]:
        # Cache files such a builder was writing (up to 0.2 GiB each at 100k entries).
        with contextlib.suppress(OSError):
            if time.time() - p.stat().st_mtime > 3600:
                p.unlink()


def remove_dead_builders_leftovers(out_dir: Path) -> None:
    """Remove the half-written directories in ``versions/`` and ``completions/`` at the start of a build,
    whatever their age: builds take turns (``build_lock``), so whoever wrote them died mid-write (SIGKILL,
    the OOM killer) or is an orphan of such a builder. prune's hour-old sweep runs only after a publish,
    which a disk they filled never let happen: every retry failed (0.4 GiB a version at 100k entries)."""
    for p in [*(out_dir / "versions").glob(".tmp-*"), *(out_dir / "completions").glob(".tmp-*")]:
        shutil.rmtree(p, ignore_errors=True)
    # A cache file being written is named by its writer (<name>.<pid>.tmp.npz, .<name>.<pid>.tmp): the builder or
    # its dictionary-table child. Gone, it never renames it; alive (an orphan still writing, or the pid reused
    # since), it is left to prune's hour-old sweep.
    for p in [*(out_dir / "cache").glob(".dictionary-*.tmp"), *(out_dir / "cache").glob("*.tmp.npz")]:
        if _writer_gone(p.name):
            with contextlib.suppress(OSError):
                p.unlink()


_WRITER_PID = re.compile(r"\.(\d{1,10})\.tmp(?:\.npz)?$")


def _writer_gone(name: str) -> bool:
    """Whether the process whose pid a temporary file's name holds is not running on this host."""
    found = _WRITER_PID.search(name)
    if found is None:
        return False
    try:
        os.kill(int(found.group(1)), 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # EPERM: running, as another user
        return False
    return False


# The lock descriptor this process holds, closed in forked children (completions, analysis and
# training workers): an orphan of a killed builder would otherwise keep the next build waiting.
_held_lock: list[int] = []


def _close_held_lock() -> None:
    for fd in _held_lock:
        os.close(fd)
    _held_lock.clear()


os.register_at_fork(after_in_child=_close_held_lock)


@contextlib.contextmanager
def build_lock(out_dir: str | Path, on_wait: Callable[[str], None] | None = None):
    """Held for a whole build of ``out_dir``: builds take turns. Two at once would race, and the one that
    started first (with the older corpus) could publish last, over the newer one; or prune the version
    the other is building an incremental one on. ``on_wait`` is told who holds it before this waits.
    An flock: the kernel releases it when its holder dies, however it dies."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(out_dir / BUILD_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                on_wait(f"waiting for another build of {out_dir} ({holder or 'starting'}) to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        # In UTC, said so: the waiting builder may run in another zone (cron, an operator's shell).
        os.pwrite(fd, f"pid {os.getpid()}, since {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC\n".encode(), 0)
        _held_lock.append(fd)
        try:
            yield
        finally:
            _held_lock.remove(fd)
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)


def read_current(out_dir: Path) -> str | None:
    try:
        name = (Path(out_dir) / CURRENT).read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name or None


def read_pointer(out_dir: Path) -> tuple[str | None, str | None]:
    """(the version CURRENT names, None); or (None, what is wrong with CURRENT) when it is empty, not
    UTF-8, unreadable, or missing although versions are published (deleted by hand or by a sync tool):
    read_current takes all of these for "nothing published"; (None, None) when nothing is."""
    try:
        name = (Path(out_dir) / CURRENT).read_bytes().decode("utf-8").strip()
    except FileNotFoundError:
        return None, f"the pointer {CURRENT} is missing" if published_versions(out_dir) else None
    except UnicodeDecodeError:
        return None, f"the pointer {CURRENT} is not UTF-8"
    except OSError as e:
        return None, f"the pointer {CURRENT} cannot be read ({e.strerror or e})"
    return (name, None) if name else (None, f"the pointer {CURRENT} is empty")


def request_retry(out_dir: Path, version: str) -> str:
    """Ask every server following ``out_dir`` (each gunicorn worker, each replica sharing the directory) to
    load ``version`` once more although it refused it: its files were repaired in place, and nothing else
    would tell the workers that did not answer the admin's request. Written as CURRENT is, a new file renamed
    over RETRY. Returns the request (read_retry's); raises OSError (a directory the server cannot write)."""
    out_dir = Path(out_dir)
    request = f"{version} {uuid.uuid4().hex}"  # a new id: the same version may be repaired twice
    tmp = out_dir / f".{RETRY}.{os.getpid()}.tmp"
    try:
        tmp.write_text(request + "\n", "utf-8")
        os.replace(tmp, out_dir / RETRY)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return request


def read_retry(out_dir: Path) -> str | None:
    """The last retry request (see request_retry), "<version> <request id>"; None when there is none."""
    try:
        return (Path(out_dir) / RETRY).read_text("utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def published_versions(out_dir: Path) -> list[str]:
    """The names of the versions in ``versions/``, newest first (names start with the build time)."""
    try:
        return sorted((p.name for p in (Path(out_dir) / "versions").iterdir() if p.is_dir() and p.name.startswith("v")),
                      reverse=True)
    except OSError:
        return []


def rollback_command(out_dir: Path, version: str) -> str:
    """The shell command that publishes ``version`` again, the way a build does: a new pointer file
    renamed over CURRENT, so no reader ever sees it half-written (``echo v > CURRENT`` truncates it first)."""
    tmp, current = shlex.quote(str(Path(out_dir) / f"{CURRENT}.rollback")), shlex.quote(str(Path(out_dir) / CURRENT))
    return f"echo {shlex.quote(version)} > {tmp} && mv {tmp} {current}"


DICT_FILES = ("user_words.txt", "synonyms.txt")


def dict_files_for(corpus_path: Path, dict_dir: Path | None) -> dict[str, Path | None]:
    """The dictionary files a build reads. FileNotFoundError when an explicit ``dict_dir`` (--dict) is
    not a directory: a typo would otherwise build without user words and synonyms, without a word."""
    if dict_dir is not None and not Path(dict_dir).is_dir():
        raise FileNotFoundError(f"dictionary directory not found: {dict_dir} (--dict)")
    if dict_dir is None and Path(corpus_path).is_dir():
        dict_dir = Path(corpus_path) / "dict"
    if dict_dir is None:
        return {"user_words.txt": None, "synonyms.txt": None}
    return {"user_words.txt": Path(dict_dir) / "user_words.txt", "synonyms.txt": Path(dict_dir) / "synonyms.txt"}


def dict_warnings(corpus_path: Path, dict_dir: Path | None) -> list[str]:
    """What the builder should say about missing dictionary files: a corpus directory without
    ``dict/`` (or a dictionary directory lacking a file) is searched without them, which loses the
    synonym matches and segments the product's words wrongly. Not an error: a minimal corpus has none."""
    files = dict_files_for(Path(corpus_path), Path(dict_dir) if dict_dir else None)
    where = Path(dict_dir) if dict_dir else Path(corpus_path) / "dict"
    if files["user_words.txt"] is None:
        return []  # a JSON Lines import without --dict
    if Path(corpus_path).is_dir() and not (Path(corpus_path) / "articles").is_dir():
        return []  # not a corpus (articles/ itself, a category's folder): the build refuses it, saying why
    if not where.is_dir():
        return [f"no dictionary directory {where}: building without user words and synonyms"]
    # Not there at all: a directory (or a socket) in its place is no missing file, and the build refuses it, naming it.
    return [f"no {name} in {where}: building without {'user words' if name == 'user_words.txt' else 'synonyms'}"
            for name in DICT_FILES if not files[name].exists()]


def analyzer_for(dict_files: dict[str, Path | None], lazy: bool = False, dictionary_cache: Path | None = None) -> Analyzer:
    return Analyzer.from_files(dict_files["user_words.txt"], dict_files["synonyms.txt"], lazy=lazy,
                               dictionary_cache=dictionary_cache)


class LazyArticles(Sequence):
    """The articles of a version, each decoded from its line of ``articles.jsonl`` when used.

    At most ``keep`` decoded articles are kept (when full, it starts over): a worker of a 100k
    index would otherwise end up holding every article (≈ 200 MiB) as traffic touches them."""

    def __init__(self, blob: np.ndarray, off: np.ndarray, keep: int = 20_000):
        self._blob, self._off, self._keep = blob, off, keep
        self._items: dict[int, Article] = {}

    def __len__(self) -> int:
        return self._off.size - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        a = self._items.get(i)
        if a is None:
            i = range(len(self))[i]  # negative indices, IndexError
            raw = self._blob[self._off[i] : self._off[i + 1]].tobytes()
            a = Article.from_dict(json.loads(raw))
            if len(self._items) >= self._keep:
                self._items.clear()  # a dict written by request threads: no eviction order to keep
            self._items[i] = a
        return a

    def __iter__(self):
        return (self[i] for i in range(len(self)))


class RowTexts(Sequence):
    """Question row → its text, decoded from ``rows.txt`` on access."""

    def __init__(self, blob: np.ndarray, off: np.ndarray):
        self._blob, self._off = blob, off
        self._n = off.size - 1

    def __len__(self) -> int:
        return self._n

    def segments(self) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """(UTF-8 blob, offsets, number of the first row) of each stored run of rows."""
        return [(self._blob, self._off, 0)]

    def __getitem__(self, i):
        if type(i) is int and 0 <= i < self._n:  # one row: each hit reads three (≈ 0.4 µs saved each)
            return self._blob[self._off[i] : self._off[i + 1]].tobytes().decode("utf-8")
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = range(len(self))[i]
        return self._blob[self._off[i] : self._off[i + 1]].tobytes().decode("utf-8")


# Files checked by threads while the rest loads: hashlib releases the GIL on large buffers.
_BULK = ("arrays/", "articles.jsonl", "rows.txt", "heads.txt", "spelled.txt", "state/", "delta/arrays/",
         "delta/articles.jsonl", "delta/rows.txt", "delta/heads.txt", "delta/spelled.txt")
CHECK_THREADS = 2


class _Checker:
    """SHA-256 of many files by a few threads, largest files first; problems collected."""

    def __init__(self, vdir: Path, files: dict[str, str], threads: int = CHECK_THREADS):
        self.vdir, self.problems = vdir, []
        sizes = {}
        for name in files:
            try:
                sizes[name] = (vdir / name).stat().st_size
            except OSError as e:
                self.problems.append(f"missing file {name}: {e}")
        self._todo = sorted(((n, files[n]) for n in sizes), key=lambda nd: -sizes[nd[0]])
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(max(1, threads))]

    def start(self) -> "_Checker":
        for t in self._threads:
            t.start()
        return self

    def join(self) -> list[str]:
        for t in self._threads:
            t.join()
        return self.problems

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._todo:
                    return
                name, digest = self._todo.pop(0)
            try:
                if _file_sha256(self.vdir / name) != digest:
                    self.problems.append(f"checksum mismatch in {name} (corrupt or truncated)")
            except (OSError, ValueError) as e:
                self.problems.append(f"missing file {name}: {e}")


# (device, inode, size, modification time) → SHA-256 of each file this process hashed. Versions share
# files (an incremental version links its base's, completions in layers link theirs) and no writer
# rewrites a file in place, so a file met again unchanged is not hashed again: a server swapping to
# the next incremental version of a 100k index re-read ≈ 0.7 GiB it had verified already.
_HASHED: dict[tuple[int, int, int, int], str] = {}
_HASHED_MAX = 4096


def _file_sha256(path: Path) -> str:
    """SHA-256 of a file, hashed from a mapping in one call: hashlib releases the GIL for all of it,
    where a read loop (hashlib.file_digest) needs the GIL back every 256 KiB, and so stalls for as
    long as another thread holds it (jieba's marshal.load: ≈ 0.5 s in one call)."""
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        digest = _HASHED.get(key)
        if digest is not None:
            return digest
        if st.st_size == 0:
            digest = hashlib.sha256().hexdigest()
        else:
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                digest = hashlib.sha256(mapped).hexdigest()
    if len(_HASHED) >= _HASHED_MAX:
        _HASHED.clear()
    _HASHED[key] = digest
    return digest


def _map(path: Path) -> np.ndarray:
    if path.stat().st_size == 0:
        return np.empty(0, np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r").view(np.ndarray)  # see _segment: no memmap overhead per slice


def verify_version(out_dir: str | Path, version: str) -> str | None:
    """Why published ``version`` would be refused (its manifest unreadable or of another format, a file
    missing or not matching its checksum), or None when it is sound. Hashes every file (≈ what a
    server's load costs), so `--check` does not call a corrupt version "up to date"."""
    vdir = Path(out_dir) / "versions" / version
    try:
        manifest = json.loads((vdir / "manifest.json").read_text("utf-8"))
        files = manifest["files"]
        fmt = manifest.get("format")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return f"unreadable manifest: {e}"
    if fmt not in READABLE_FORMATS:
        return f"format {fmt} (this code reads {', '.join(map(str, READABLE_FORMATS))})"
    problems = _Checker(vdir, files).start().join()
    return sorted(problems)[0] if problems else None


def check_in_background(out_dir: str | Path, version: str) -> "_Checker | None":
    """Start checking ``version``'s large files now, for ``load_index(check=...)``: hashlib runs beside
    the GIL, so the checksums of a 100k index (≈ 0.4 s) overlap jieba's dictionary load (≈ 0.5 s, GIL
    held) instead of following it. None when the manifest is unreadable (load_index reports it)."""
    vdir = Path(out_dir) / "versions" / version
    try:
        files = json.loads((vdir / "manifest.json").read_text("utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(files, dict):
        return None
    return _Checker(vdir, {n: d for n, d in files.items() if n.startswith(_BULK)}).start()


def load_index(out_dir: str | Path, version: str | None = None, verify: bool = True,
               check: "_Checker | None" = None) -> IndexData:
    """Load the published (or named) version, verifying every file's checksum.

    Arrays are memory-mapped (read-only; forked workers share their pages) and articles are
    decoded when first used, so loading costs little more than the checksums, which a thread
    computes over the large files while the small ones are parsed. ``check``: those checksums,
    already started by ``check_in_background`` for this version."""
    out_dir = Path(out_dir)
    version = version or read_current(out_dir)
    if version is None:
        # Said with where the directory comes from: run elsewhere than the repository, `index` is not there.
        raise IndexError_(f"no published index in {out_dir} (run build_index.py, or give the index directory: "
                          f"--index or FAQ_INDEX_DIR)")
    vdir = out_dir / "versions" / version
    try:
        manifest = json.loads((vdir / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise IndexError_(f"index {version}: unreadable manifest: {e}") from None
    # Valid JSON of another shape ([] or "files": []) is no manifest either: refused like one that does
    # not parse, so a server falls back to a sound version instead of stopping on a traceback.
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise IndexError_(f"index {version}: unreadable manifest: not an object with a \"files\" object")
    fmt = manifest.get("format")
    if type(fmt) is not int or fmt not in READABLE_FORMATS:
        raise IndexError_(f"index {version}: format {fmt!r} (this code reads "
                          f"{', '.join(map(str, READABLE_FORMATS))}): rebuild it with build_index.py")
    files = manifest["files"]
    bulk = {n: d for n, d in files.items() if n.startswith(_BULK)}
    if check is not None and check.vdir != vdir:
        raise ValueError("check_in_background() was started for another version")
    checker = (check or _Checker(vdir, bulk).start()) if verify else check
    blobs = {}
    try:
        for name, digest in files.items():
            if name in bulk:
                continue
            try:
                data = (vdir / name).read_bytes()
            except OSError as e:
                raise IndexError_(f"index {version}: missing file {name}: {e}") from None
            if verify and hashlib.sha256(data).hexdigest() != digest:
                raise IndexError_(f"index {version}: checksum mismatch in {name} (corrupt or truncated)")
            blobs[name] = data
        try:
            meta = json.loads(blobs["meta.json"])
            vocab = json.loads(blobs["vocab.json"])
            reranker = Reranker.from_json(blobs["reranker.json"].decode("utf-8")) if "reranker.json" in blobs else None
        except (KeyError, ValueError) as e:
            raise IndexError_(f"index {version}: unreadable data: {e}") from None
    finally:
        problems = checker.join() if checker else []
    if problems:
        raise IndexError_(f"index {version}: {sorted(problems)[0]}")
    try:
        data = _segment(vdir, "", version, manifest, meta, vocab, reranker, bulk)
        if manifest["format"] == DELTA_FORMAT:
            from .incremental import merge_segments

            delta_meta = json.loads(blobs["delta/meta.json"])
            delta = _segment(vdir, "delta/", version, manifest, delta_meta, vocab, reranker, bulk)
            data = merge_segments(data, delta, delta_meta)
    except (KeyError, ValueError, OSError) as e:
        raise IndexError_(f"index {version}: unreadable data: {e}") from None
    data.mapped.update(mapped_files(vdir / name for name in bulk if not name.startswith("state/")))  # the rest is mapped
    return data


def changed_in_place(data: IndexData) -> str | None:
    """The first memory-mapped file of ``data`` whose size changed since it was loaded: written over in
    place (cp, scp -r or rsync --inplace over the served version), so reading past its new end kills
    the process (SIGBUS). A file replaced (rsync, mv) or removed does no harm: the map keeps the old one.
    One stat per file (≈ 40: 0.1–0.3 ms)."""
    return mapped_changed(data.mapped)


def mapped_files(paths) -> dict[str, tuple[int, int, int]]:
    """Each of ``paths`` (just memory-mapped) → (device, inode, size), for mapped_changed."""
    out = {}
    for path in paths:
        with contextlib.suppress(OSError):
            st = os.stat(path)
            out[str(path)] = (st.st_dev, st.st_ino, st.st_size)
    return out


def mapped_changed(mapped: dict[str, tuple[int, int, int]]) -> str | None:
    """The first of ``mapped`` (path → (device, inode, size) when mapped) whose file changed size in
    place since: see changed_in_place."""
    for path, (dev, ino, size) in mapped.items():
        try:
            st = os.stat(path)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (dev, ino) and st.st_size != size:
            return path
    return None


def _segment(vdir: Path, prefix: str, version: str, manifest: dict, meta: dict, vocab: dict,
             reranker: Reranker | None, files) -> IndexData:
    """The arrays, articles and rows of one segment (``prefix`` "" or "delta/"), memory-mapped."""
    start = f"{prefix}arrays/"
    # Plain ndarray views of the maps: np.memmap's Python-level __getitem__ and __array_wrap__
    # cost microseconds on each of the many small slices a query takes.
    arrays = {n[len(start):-len(".npy")]: np.load(vdir / n, mmap_mode="r", allow_pickle=False).view(np.ndarray)
              for n in files if n.startswith(start)}
    articles = LazyArticles(_map(vdir / f"{prefix}articles.jsonl"), np.asarray(arrays["articles.off"]))
    row_text = RowTexts(_map(vdir / f"{prefix}rows.txt"), np.asarray(arrays["rows.off"]))
    heads = None
    if f"{prefix}heads.txt" in files:
        heads = RowTexts(_map(vdir / f"{prefix}heads.txt"), np.asarray(arrays["heads.off"]))
        if len(heads) != len(articles):
            raise IndexError_(f"index {version}: {prefix}answer starts do not match the articles")
    spelled = None
    if f"{prefix}spelled.txt" in files:
        spelled = RowTexts(_map(vdir / f"{prefix}spelled.txt"), np.asarray(arrays["spelled.off"]))
        if len(spelled) != len(row_text):
            raise IndexError_(f"index {version}: {prefix}normalised rows do not match the rows")
    data = IndexData(
        version=version,
        manifest=manifest,
        articles=articles,
        categories=meta.get("categories", {}),
        vocab=vocab,
        idf={f: arrays[f"idf.{f}"] for f in FIELDS},
        questions={f: _load_sparse(arrays, f"questions.{f}") for f in FIELDS},
        answers={f: _load_sparse(arrays, f"answers.{f}") for f in ANSWER_FIELDS},
        row_article=arrays["row_article"],
        row_text=row_text,
        answer_heads=heads,
        spelled_rows=spelled,
        path=vdir,
        reranker=reranker,
        popular=list(meta.get("popular", [])),
        scope=Scope.from_json(meta.get("scope")),
        article_terms={f: _load_sparse(arrays, f"article_terms.{f}", sp.csr_matrix) for f in FIELDS},
        columns={k: meta[k] for k in ("id", "category", "tags")},
        aliases=dict(meta.get("aliases", {})),
        paraphrase=ParaphraseModel.from_arrays(arrays),
        lsa=LsaModel.from_arrays(arrays),
    )
    if not len(articles) == len(meta["id"]) == len(meta["category"]) == len(meta["tags"]):
        raise IndexError_(f"index {version}: {prefix}articles do not match their columns")
    if len(row_text) != data.row_article.shape[0]:
        raise IndexError_(f"index {version}: {prefix}question rows do not match the articles")
    return data


def in_memory(corpus: Corpus, arrays: dict, ranking: dict) -> IndexData:
    """An IndexData straight from freshly built arrays (to train the reranker before writing)."""
    return IndexData(
        version="(building)", manifest={"ranking": ranking, "avglen": arrays.get("avglen", {})}, articles=list(corpus.articles),
        categories=corpus.categories, scope=corpus.scope, vocab=arrays["vocab"], idf=arrays["idf"],
        questions=arrays["questions"], answers=arrays["answers"], row_article=arrays["row_article"],
        row_text=[t for a in corpus.articles for t in row_texts(a)], article_terms=arrays["article_terms"],
        aliases={alias: a.id for a in corpus.articles for alias in a.aliases},
    )
