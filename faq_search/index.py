"""Index build, persistence and atomic publishing.

Layout of an index directory::

    index/
      CURRENT                 name of the published version (replaced atomically)
      versions/<version>/     immutable once published
        manifest.json         format, versions, analyzer, ranking, corpus hash, file checksums
        articles.json         the articles as served
        vocab.json            feature → column, per field
        matrices.npz          idf vectors and term-major (CSC) weight matrices
        dict/                 the user words and synonyms the index was built with
      cache/analysis-<fingerprint>.json   analysed tokens by article content hash

Nothing is pickled: arrays are ``.npz`` loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from . import __version__
from .analysis import Analyzer
from .corpus import Article, Corpus, load_corpus

__all__ = ["IndexData", "IndexError_", "BuildResult", "build_index", "publish", "read_current", "load_index", "check_index"]

FORMAT_VERSION = 1
FIELDS = ("word", "char")
CURRENT = "CURRENT"
KEEP_VERSIONS = 2
# Ranking settings recorded in the manifest so a search uses what the index was built for.
DEFAULT_RANKING = {"field_weights": {"word": 0.5, "char": 0.5}, "answer_weight": 0.2}


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
    path: Path | None = None
    popular: list[str] = field(default_factory=list)  # curated article ids (corpus popular.yml)


@dataclass
class BuildResult:
    version: str
    path: Path
    articles: int
    vocabulary: int
    seconds: float
    analysed: int  # articles analysed afresh (the rest came from the cache)


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def _lead_sentence(answer: str) -> str:
    """First sentence of an answer: stands in as the question of an answer-only entry."""
    for i, ch in enumerate(answer):
        if ch in "。！？!?\n" and i >= 4:
            return answer[: i + 1].strip()
    return answer[:80].strip()


def row_texts(article: Article) -> tuple[str, ...]:
    return article.questions or (_lead_sentence(article.answer),)


def corpus_key(corpus: Corpus, analyzer: Analyzer, ranking: dict) -> str:
    """What the published index must match to be fresh."""
    h = hashlib.sha256()
    for part in (corpus.content_hash, analyzer.fingerprint, f"format{FORMAT_VERSION}", json.dumps(ranking, sort_keys=True)):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


# --- analysis with a content-hash cache -------------------------------------------------

def _analyse_article(analyzer: Analyzer, article: Article) -> list:
    """[[words, chars] per question row..., [words, chars] of the answer], tokens space-joined."""
    out = []
    for text in (*row_texts(article), article.answer):
        a = analyzer.analyze(text)
        out.append([" ".join(a.words), " ".join(a.chars)])
    return out


def _load_cache(path: Path) -> dict:
    try:
        data = json.loads(path.read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


class _Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, label: str, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = total >= 200 and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.total, self.label, self.last = total, label, 0.0

    def update(self, done: int) -> None:
        now = time.monotonic()
        if self.enabled and (now - self.last > 0.1 or done == self.total):
            self.last = now
            frac = done / max(self.total, 1)
            bar = "#" * int(frac * 30)
            self.stream.write(f"\r{self.label} [{bar:<30}] {done}/{self.total}")
            if done == self.total:
                self.stream.write("\n")
            self.stream.flush()


def analyse_corpus(analyzer: Analyzer, articles: list[Article], cache_path: Path | None, progress=None) -> tuple[list, int]:
    cache = _load_cache(cache_path) if cache_path else {}
    results, fresh = [], 0
    bar = _Progress(len(articles), "analysing", progress)
    new_cache = {}
    for i, article in enumerate(articles, 1):
        key = article.content_hash()
        tokens = cache.get(key)
        if tokens is None:
            tokens = _analyse_article(analyzer, article)
            fresh += 1
        new_cache[key] = tokens
        results.append(tokens)
        bar.update(i)
    if cache_path and (fresh or len(new_cache) != len(cache)):
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(new_cache, ensure_ascii=False, separators=(",", ":")), "utf-8")
        os.replace(tmp, cache_path)
    return results, fresh


# --- build -------------------------------------------------------------------------------

def _fit_field(doc_tokens: list[list[str]], row_tokens: list[list[str]], answer_tokens: list[list[str]]):
    # idf counts articles, not question rows, so many paraphrases don't dilute a term.
    vec = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, norm="l2", dtype=np.float32)
    vec.fit(doc_tokens)
    rows = vec.transform(row_tokens).tocsc()
    answers = vec.transform(answer_tokens).tocsc()
    return vec.vocabulary_, vec.idf_.astype(np.float32), rows, answers


def build_arrays(corpus: Corpus, analysed: list) -> dict:
    n_fields = len(FIELDS)
    out = {"vocab": {}, "idf": {}, "questions": {}, "answers": {}}
    row_article = []
    for pos, (article, toks) in enumerate(zip(corpus.articles, analysed)):
        row_article.extend([pos] * (len(toks) - 1))
    for f in range(n_fields):
        rows = [t[f].split() for toks in analysed for t in toks[:-1]]
        answers = [toks[-1][f].split() for toks in analysed]
        docs = [[tok for t in toks for tok in t[f].split()] for toks in analysed]
        vocab, idf, qm, am = _fit_field(docs, rows, answers)
        name = FIELDS[f]
        out["vocab"][name] = {term: int(col) for term, col in vocab.items()}
        out["idf"][name] = idf
        out["questions"][name] = qm
        out["answers"][name] = am
    out["row_article"] = np.asarray(row_article, dtype=np.int32)
    return out


def _save_csc(arrays: dict, name: str, m: sp.csc_matrix) -> None:
    m = m.tocsc()
    m.sort_indices()
    arrays[f"{name}.data"] = m.data.astype(np.float32)
    arrays[f"{name}.indices"] = m.indices.astype(np.int32)
    arrays[f"{name}.indptr"] = m.indptr.astype(np.int64)
    arrays[f"{name}.shape"] = np.asarray(m.shape, dtype=np.int64)


def _load_csc(arrays, name: str) -> sp.csc_matrix:
    try:
        shape = tuple(int(x) for x in arrays[f"{name}.shape"])
        return sp.csc_matrix((arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]), shape=shape)
    except KeyError as e:
        raise IndexError_(f"matrices.npz lacks array {e}") from None


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


def _new_version_name(key: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"v{stamp}-{key[:8]}"


def write_version(out_dir: Path, corpus: Corpus, analyzer: Analyzer, arrays: dict, key: str,
                  dict_files: dict[str, Path | None], ranking: dict, seconds: float) -> tuple[str, Path]:
    """Write a complete, fsynced version directory under ``versions/`` (not yet published)."""
    versions = out_dir / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    version = _new_version_name(key)
    tmp = versions / f".tmp-{version}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    (tmp / "dict").mkdir()
    checksums = {}
    npz = {}
    for name in FIELDS:
        npz[f"idf.{name}"] = arrays["idf"][name]
        _save_csc(npz, f"questions.{name}", arrays["questions"][name])
        _save_csc(npz, f"answers.{name}", arrays["answers"][name])
    npz["row_article"] = arrays["row_article"]
    with open(tmp / "matrices.npz", "wb") as f:
        np.savez(f, **npz)
        f.flush()
        os.fsync(f.fileno())
    checksums["matrices.npz"] = hashlib.sha256((tmp / "matrices.npz").read_bytes()).hexdigest()
    dumps = lambda obj: json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    checksums["articles.json"] = _write_file(tmp / "articles.json", dumps({
        "categories": corpus.categories,
        "popular": list(corpus.popular),
        "articles": [a.to_dict() for a in corpus.articles],
    }))
    checksums["vocab.json"] = _write_file(tmp / "vocab.json", dumps(arrays["vocab"]))
    for name, src in dict_files.items():
        data = Path(src).read_bytes() if src and Path(src).exists() else b""
        checksums[f"dict/{name}"] = _write_file(tmp / "dict" / name, data)
    manifest = {
        "format": FORMAT_VERSION,
        "version": version,
        "faq_search_version": __version__,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(seconds, 3),
        "corpus_key": key,
        "corpus_hash": corpus.content_hash,
        "articles": len(corpus.articles),
        "question_rows": int(arrays["row_article"].shape[0]),
        "vocabulary": {name: len(arrays["vocab"][name]) for name in FIELDS},
        "analyzer": analyzer.settings(),
        "ranking": ranking,
        "libraries": _library_versions(),
        "files": checksums,
    }
    _write_file(tmp / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    _fsync_path(tmp / "dict")
    _fsync_path(tmp)
    final = versions / version
    os.rename(tmp, final)
    _fsync_path(versions)
    return version, final


def _library_versions() -> dict:
    import jieba
    import scipy
    import sklearn

    return {"numpy": np.__version__, "scipy": scipy.__version__, "scikit-learn": sklearn.__version__, "jieba": jieba.__version__}


def publish(out_dir: Path, version: str, keep: int = KEEP_VERSIONS) -> None:
    """Point CURRENT at ``version`` atomically, then prune all but the newest ``keep`` versions."""
    out_dir = Path(out_dir)
    tmp = out_dir / f".{CURRENT}.{os.getpid()}.tmp"
    _write_file(tmp, (version + "\n").encode())
    os.replace(tmp, out_dir / CURRENT)
    _fsync_path(out_dir)
    prune(out_dir, keep)


def prune(out_dir: Path, keep: int = KEEP_VERSIONS) -> None:
    current = read_current(out_dir)
    versions = sorted(p for p in (out_dir / "versions").iterdir() if p.is_dir() and p.name.startswith("v"))
    survivors = set(p.name for p in versions[-keep:]) | {current}
    for p in versions:
        if p.name not in survivors:
            shutil.rmtree(p, ignore_errors=True)
    for p in (out_dir / "versions").glob(".tmp-*"):
        # Left by a builder that died mid-write; never referenced by CURRENT.
        if time.time() - p.stat().st_mtime > 3600:
            shutil.rmtree(p, ignore_errors=True)


def read_current(out_dir: Path) -> str | None:
    try:
        name = (Path(out_dir) / CURRENT).read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name or None


def dict_files_for(corpus_path: Path, dict_dir: Path | None) -> dict[str, Path | None]:
    if dict_dir is None and Path(corpus_path).is_dir():
        dict_dir = Path(corpus_path) / "dict"
    if dict_dir is None:
        return {"user_words.txt": None, "synonyms.txt": None}
    return {"user_words.txt": Path(dict_dir) / "user_words.txt", "synonyms.txt": Path(dict_dir) / "synonyms.txt"}


def analyzer_for(dict_files: dict[str, Path | None]) -> Analyzer:
    return Analyzer.from_files(dict_files["user_words.txt"], dict_files["synonyms.txt"])


def build_index(corpus_path: str | Path, out_dir: str | Path, dict_dir: str | Path | None = None,
                analyzer: Analyzer | None = None, ranking: dict | None = None, progress=None) -> BuildResult:
    """Validate, analyse, fit and publish. Raises CorpusError; leaves the published index untouched on failure."""
    t0 = time.perf_counter()
    corpus_path, out_dir = Path(corpus_path), Path(out_dir)
    corpus = load_corpus(corpus_path)
    dict_files = dict_files_for(corpus_path, Path(dict_dir) if dict_dir else None)
    analyzer = analyzer or analyzer_for(dict_files)
    ranking = ranking or DEFAULT_RANKING
    key = corpus_key(corpus, analyzer, ranking)
    cache_path = out_dir / "cache" / f"analysis-{analyzer.fingerprint}.json"
    analysed, fresh = analyse_corpus(analyzer, corpus.articles, cache_path, progress)
    arrays = build_arrays(corpus, analysed)
    seconds = time.perf_counter() - t0
    version, path = write_version(out_dir, corpus, analyzer, arrays, key, dict_files, ranking, seconds)
    publish(out_dir, version)
    vocab = sum(len(v) for v in arrays["vocab"].values())
    return BuildResult(version, path, len(corpus.articles), vocab, time.perf_counter() - t0, fresh)


def check_index(corpus_path: str | Path, out_dir: str | Path, dict_dir: str | Path | None = None,
                analyzer: Analyzer | None = None) -> tuple[bool, str]:
    """(fresh, reason): whether the published index was built from this corpus and dictionary."""
    out_dir = Path(out_dir)
    version = read_current(out_dir)
    if version is None:
        return False, f"no published index in {out_dir}"
    try:
        manifest = json.loads((out_dir / "versions" / version / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as e:
        return False, f"published index {version} is unreadable: {e}"
    corpus = load_corpus(corpus_path)
    analyzer = analyzer or analyzer_for(dict_files_for(Path(corpus_path), Path(dict_dir) if dict_dir else None))
    key = corpus_key(corpus, analyzer, manifest.get("ranking", DEFAULT_RANKING))
    if manifest.get("corpus_key") != key or manifest.get("format") != FORMAT_VERSION:
        return False, f"index {version} is stale: the corpus or dictionary changed"
    return True, f"index {version} is up to date"


def load_index(out_dir: str | Path, version: str | None = None, verify: bool = True) -> IndexData:
    """Load the published (or named) version, verifying every file's checksum."""
    out_dir = Path(out_dir)
    version = version or read_current(out_dir)
    if version is None:
        raise IndexError_(f"no published index in {out_dir} (run build_index.py)")
    vdir = out_dir / "versions" / version
    try:
        manifest = json.loads((vdir / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise IndexError_(f"index {version}: unreadable manifest: {e}") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexError_(f"index {version}: format {manifest.get('format')} (this code reads {FORMAT_VERSION})")
    files = manifest.get("files", {})
    blobs = {}
    for name, digest in files.items():
        try:
            data = (vdir / name).read_bytes()
        except OSError as e:
            raise IndexError_(f"index {version}: missing file {name}: {e}") from None
        if verify and hashlib.sha256(data).hexdigest() != digest:
            raise IndexError_(f"index {version}: checksum mismatch in {name} (corrupt or truncated)")
        blobs[name] = data
    try:
        art = json.loads(blobs["articles.json"])
        vocab = json.loads(blobs["vocab.json"])
        import io

        with np.load(io.BytesIO(blobs["matrices.npz"]), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (KeyError, ValueError, OSError) as e:
        raise IndexError_(f"index {version}: unreadable data: {e}") from None
    articles = [Article.from_dict(d) for d in art["articles"]]
    row_text = [t for a in articles for t in row_texts(a)]
    data = IndexData(
        version=version,
        manifest=manifest,
        articles=articles,
        categories=art.get("categories", {}),
        vocab=vocab,
        idf={f: arrays[f"idf.{f}"] for f in FIELDS},
        questions={f: _load_csc(arrays, f"questions.{f}") for f in FIELDS},
        answers={f: _load_csc(arrays, f"answers.{f}") for f in FIELDS},
        row_article=arrays["row_article"],
        row_text=row_text,
        path=vdir,
        popular=list(art.get("popular", [])),
    )
    if len(row_text) != data.row_article.shape[0]:
        raise IndexError_(f"index {version}: question rows do not match the articles")
    return data
