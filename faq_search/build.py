"""The offline builder: validate → analyse → fit → train the reranker → write → publish."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .analysis import Analyzer
from .corpus import load_corpus
from .index import (
    DEFAULT_RANKING, FORMAT_VERSION, BuildResult, analyse_corpus, analyzer_for, build_arrays, corpus_key,
    dict_files_for, in_memory, publish, read_current, write_version,
)
from .rerank import load_default, train_reranker
from .search import Searcher

__all__ = ["build_index", "check_index"]


def build_index(corpus_path: str | Path, out_dir: str | Path, dict_dir: str | Path | None = None,
                analyzer: Analyzer | None = None, ranking: dict | None = None, progress=None,
                workers: int | None = None, rerank: bool = True) -> BuildResult:
    """Validate, analyse, fit and publish. Raises CorpusError; leaves the published index untouched on failure."""
    t0 = time.perf_counter()
    corpus_path, out_dir = Path(corpus_path), Path(out_dir)
    corpus = load_corpus(corpus_path)
    dict_files = dict_files_for(corpus_path, Path(dict_dir) if dict_dir else None)
    analyzer = analyzer or analyzer_for(dict_files)
    ranking = ranking or DEFAULT_RANKING
    key = corpus_key(corpus, analyzer, ranking)
    cache_path = out_dir / "cache" / f"analysis-{analyzer.fingerprint}.npz"
    analysed = analyse_corpus(analyzer, corpus.articles, cache_path, progress, workers)
    arrays = build_arrays(corpus, analysed, ranking)
    reranker = None
    if rerank:
        # Own paraphrase groups when there are enough of them, else our default weights.
        reranker = train_reranker(Searcher(in_memory(corpus, arrays, ranking), analyzer)) or load_default()
    seconds = time.perf_counter() - t0
    version, path = write_version(out_dir, corpus, analyzer, arrays, key, dict_files, ranking, seconds, reranker)
    publish(out_dir, version)
    vocab = sum(len(v) for v in arrays["vocab"].values())
    return BuildResult(version, path, len(corpus.articles), vocab, time.perf_counter() - t0, analysed.fresh)


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
