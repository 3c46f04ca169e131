"""The offline builder: validate → analyse → fit → train the paraphrase model and reranker → write → publish."""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import shutil
import time
from dataclasses import replace
from datetime import date

import numpy as np
import scipy.sparse as sp
from pathlib import Path
from typing import Callable

from .analysis import Analyzer
from .completions import CompletionsBuild, completions_dir, publish_completions
from .corpus import NO_SUCH_ID, Article, Corpus, CorpusError, Problem, _written_id, load_corpus, where_in_front
from .index import (
    DEFAULT_RANKING, DELTA_FORMAT, READABLE_FORMATS, ArticleTextsJob, BuildResult, IndexError_, analyse_corpus, analyzer_for,
    build_arrays, corpus_key, build_lock, dict_files_for, in_memory, load_index, publish, published_manifest,
    published_versions, read_current, read_pointer, remove_dead_builders_leftovers, row_texts, save_dictionary_table,
    start_dictionary_table, verify_version, write_version,
)
from .features import Ragged
from .incremental import (
    FileRead, articles_changed_since, build_incremental, published_warnings, save_row_features, source_keys,
)
from .lsa import LsaModel
from .paraphrase import FIELD_ORDER, ParaphraseModel, trainable
from .rerank import MODEL_FEATURES, RERANK_C, Reranker, load_default, train_reranker, training_sample
from .search import Searcher

__all__ = ["build_index", "check_index"]

log = logging.getLogger(__name__)


def build_index(corpus_path: str | Path, out_dir: str | Path, dict_dir: str | Path | None = None,
                analyzer: Analyzer | None = None, ranking: dict | None = None, progress=None,
                workers: int | None = None, rerank: bool = True, full: bool = False,
                completions: bool = True, on_wait: Callable[[str], None] | None = None,
                allow_shrink: bool = False) -> BuildResult:
    """Validate, analyse, fit and publish. Raises CorpusError; leaves the published index untouched on failure.

    A corpus holding under half the published version's articles (and 10 or more fewer) is refused
    unless ``allow_shrink``: a --corpus one folder too deep, or a folder deleted by mistake, would
    otherwise be published to every server.

    When the published index is a large one and the corpus differs from its base in few articles,
    publishes an incremental version (incremental.py) instead; ``full`` always builds a complete one.
    Then, unless ``completions`` is false, writes the new version's completion data (completions.py).
    Another build of ``out_dir`` running, this one waits for it (``on_wait`` is told) and then reads
    the corpus: the last build to publish has read it last."""
    # The outermost directory this build creates (out_dir, or a missing parent of it), if any.
    created = next((d for d in reversed((Path(out_dir), *Path(out_dir).parents)) if not d.exists()), None)
    try:
        with build_lock(out_dir, on_wait):
            return _build_locked(corpus_path, out_dir, dict_dir, analyzer, ranking, progress, workers, rerank, full,
                                 completions, allow_shrink)
    except BaseException:
        if created is not None:
            _remove_unpublished(Path(out_dir), created)
        raise


def _remove_unpublished(out_dir: Path, created: Path) -> None:
    """The directories a failed first build created (its lock, caches): an empty index directory left
    behind looks like an index to whoever reads it next. Kept once anything is published in it
    (another build's, which may have started meanwhile)."""
    if read_current(out_dir) is None and not any((out_dir / "versions").glob("*")):
        shutil.rmtree(created, ignore_errors=True)


def _build_locked(corpus_path, out_dir, dict_dir, analyzer, ranking, progress, workers, rerank, full,
                  completions, allow_shrink) -> BuildResult:
    remove_dead_builders_leftovers(Path(out_dir))
    before = read_current(Path(out_dir))
    try:
        result, pending = _build_version(corpus_path, out_dir, dict_dir, analyzer, ranking, progress, workers, rerank,
                                         full, completions, allow_shrink)
    except CorpusError as e:
        hinted = published_hints(e, out_dir, corpus_path)
        if hinted is None:
            raise
        raise hinted from None
    if result.unchanged:
        return result
    # Editors' own articles only: an import's ids and dates are the exporting system's (and reading both
    # versions' articles costs seconds at 100k entries, more than a rebuild).
    if Path(corpus_path).is_dir() and before not in (None, result.version):
        warnings, changes = version_warnings(out_dir, before, result.version, Path(corpus_path), with_changes=True)
        result = replace(result, warnings=(*result.warnings, *warnings), changes=changes)
    if completions and not result.republished:  # a version published again has its own (_up_to_date)
        t0 = time.perf_counter()
        try:
            if pending is not None:
                _path, reused = pending.finish(result.version)
            else:
                _path, reused = publish_completions(out_dir, result.version, analyzer.normalize if analyzer else None)
        except (OSError, ValueError, KeyError, TypeError, IndexError_) as e:
            # The version is published and serves; servers build its completions themselves.
            log.warning("completions of %s not written: %s", result.version, e)
        else:
            result = replace(result, completions_seconds=time.perf_counter() - t0, completions_reused=reused)
    return result


def _refuse_a_shrunken_corpus(corpus_path: Path, out_dir: Path, articles: int) -> None:
    published = read_current(out_dir)
    try:
        before = int(json.loads((out_dir / "versions" / str(published) / "manifest.json").read_text("utf-8"))["articles"])
    except (OSError, ValueError, KeyError, TypeError):
        return  # nothing (sound) published: nothing to lose
    if articles * 2 < before and before - articles >= 10:
        where = Problem(str(corpus_path), 0, f"{articles} articles, where the published index {published} has {before}: "
                        f"is --corpus the knowledge base's own directory? To publish it anyway, build with --allow-shrink")
        raise CorpusError([where])


def _published_same(corpus_path, out_dir, dict_dir, analyzer: Analyzer | None, ranking: dict, rerank: bool
                    ) -> tuple[tuple[str, dict] | None, Corpus | FileRead | None]:
    """((version, manifest) of the version built from this corpus, ranking, analyzer and builder format
    (its corpus key) and these dictionary files, with (or without) a reranker as asked, whose files match
    their checksums (a corrupt one is rebuilt): the published version, else another one still in
    versions/ (an edit undone: the version it replaced), newest first; else None), and the corpus as
    read, for the build that follows: a directory loaded (its key is over the files it reads), a JSON
    Lines file's bytes and their hash; for a JSON Lines file one of the versions was built from, the
    warnings that version's build printed (a Corpus without articles). Those are hashed, not parsed:
    ≈ 0.1 s at 100k entries, the checksums ≈ 0.17 s more, the warnings ≈ 0.1 s."""
    corpus_path, out_dir = Path(corpus_path), Path(out_dir)
    published = published_manifest(out_dir, READABLE_FORMATS, ranking)
    if published is None:
        return None, None
    dict_files = dict_files_for(corpus_path, Path(dict_dir) if dict_dir else None)
    if corpus_path.is_dir():
        corpus = loaded = load_corpus(corpus_path)
    elif corpus_path.is_file():
        blob = corpus_path.read_bytes()
        loaded = FileRead(blob, hashlib.sha256(blob).hexdigest())
        corpus = Corpus(articles=[], content_hash=loaded.sha256)
    else:
        return None, None  # the build says it is missing
    # Only its fingerprint is read: jieba's dictionary is not loaded.
    key = corpus_key(corpus, analyzer or analyzer_for(dict_files, lazy=True), ranking)
    # The version's copies of the dictionary, which servers load: a comment edited changes no fingerprint.
    dict_sums = {f"dict/{name}": hashlib.sha256(Path(src).read_bytes() if src and Path(src).exists() else b"").hexdigest()
                 for name, src in dict_files.items()}
    found = next((v for v in _versions_to_match(out_dir, published, ranking)
                  if v[2].get("corpus_key") == key and (v[2].get("reranker") is not None) == rerank
                  and all((v[2].get("files") or {}).get(name) == digest for name, digest in dict_sums.items())), None)
    if found is None:
        return None, loaded
    version, vdir, manifest = found
    lines = None
    if isinstance(loaded, FileRead):  # of its bytes, only the line of each entry is kept, for the warnings
        lines = [n for n, raw in enumerate(loaded.blob.split(b"\n"), 1) if raw.strip()]
        loaded = None  # not held while the checksums map the version: read again in the rare corrupt case
    refused = verify_version(out_dir, version)
    if refused is not None:
        log.warning("%s index %s is refused (%s): building a new version",
                    "published" if version == published[0] else "earlier", version, refused)
        return None, loaded
    if lines is not None:
        loaded = replace(corpus, warnings=tuple(published_warnings(corpus_path, vdir, manifest, lines)))
    return (version, manifest), loaded


def _versions_to_match(out_dir: Path, published: tuple[str, Path, dict], ranking: dict):
    """(version, directory, manifest): the published one, then the others in versions/, newest first, of a
    format this builder reads and built with ``ranking`` (manifests read only as far as needed)."""
    yield published
    for name in published_versions(out_dir):
        if name == published[0]:
            continue
        try:
            manifest = json.loads((out_dir / "versions" / name / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and manifest.get("format") in READABLE_FORMATS and manifest.get("ranking") == ranking:
            yield name, out_dir / "versions" / name, manifest


def _up_to_date(out_dir, same: tuple[str, dict], analyzer: Analyzer | None, completions: bool, t0: float
                ) -> BuildResult:
    """The published version, nothing written; but its completion data when it has none (a builder
    died before writing it), as the build that published it would have."""
    version, manifest = same
    result = BuildResult(version, Path(out_dir) / "versions" / version, int(manifest.get("articles", 0)),
                         sum((manifest.get("vocabulary") or {}).values()), 0.0, 0,
                         manifest.get("format") == DELTA_FORMAT, unchanged=True)
    if completions and not (completions_dir(out_dir, version) / "manifest.json").is_file():
        t1 = time.perf_counter()
        try:
            _path, reused = publish_completions(out_dir, version, analyzer.normalize if analyzer else None)
        except (OSError, ValueError, KeyError, TypeError, IndexError_) as e:
            log.warning("completions of %s not written: %s", version, e)
        else:
            result = replace(result, completions_seconds=time.perf_counter() - t1, completions_reused=reused)
    return replace(result, seconds=time.perf_counter() - t0)


# What readers see of an article: a change to any of these should move its `updated`.
DATED_FIELDS = ("question", "similar_questions", "answer", "category", "tags", "related")
# Past this many articles gone at once (a category's folder deleted), one line lists them.
GONE_LISTED = 10


def version_warnings(out_dir: str | Path, before: str, after: str, corpus_path: Path, with_changes: bool = False
                     ) -> list[Problem] | tuple[list[Problem], str]:
    """What the editor should hear about going from version ``before`` to ``after``, built from the
    articles in ``corpus_path``: articles gone (renamed_or_deleted) and changes whose `updated` stayed
    the same (undated_changes). Empty when ``before`` cannot be read. ``with_changes``: (those, and
    what changed_articles says of the two versions)."""
    try:
        old = load_index(out_dir, before, verify=False).articles
        new = load_index(out_dir, after, verify=False).articles
    except (IndexError_, OSError, ValueError) as e:
        log.warning("could not compare %s with %s: %s", after, before, e)
        return ([], "") if with_changes else []
    warnings = [*renamed_or_deleted(old, new, before, str(corpus_path)), *undated_changes(old, new, before)]
    return (warnings, changed_articles(old, new)) if with_changes else warnings


# Articles named per kind (changed, added, removed) in a build's or --check's summary, the rest counted.
CHANGES_LISTED = 3


def changed_articles(old, new) -> str:
    """The articles that differ from ``old`` (a published version's) to ``new``, by id, briefly:
    "changed: articles/x.md (answer); renamed: articles/w.md (a → b); added: articles/y.md; removed:
    articles/z.md", at most CHANGES_LISTED names of each then "and N more"; "" when no article did (the
    dictionary, popular.yml)."""
    before = {a.id: a for a in old}
    now = {a.id for a in new}
    gone = {i: b for i, b in before.items() if i not in now}
    # A renamed article is one, not one added and one removed: its old id in its aliases, or (a Markdown
    # file, whose path says which article it is) its file one a gone article was in.
    gone_files = {rel: b for b in gone.values() if (rel := _in_articles(b.source)) is not None}
    changed, added, renamed = [], [], []
    for a in new:
        b = before.get(a.id)
        if b is None:
            b = next((gone[x] for x in a.aliases if x in gone), None) or gone_files.get(_in_articles(a.source))
            if b is None or gone.pop(b.id, None) is None:
                added.append(_file_of(a))
                continue
            fields = [f for f in DATED_FIELDS if getattr(a, f) != getattr(b, f)]
            moved = f", from {_file_of(b)}" if _file_of(b) != _file_of(a) else ""
            renamed.append(f"{_file_of(a)} ({b.id} → {a.id}{moved}{'; ' + ', '.join(fields) if fields else ''})")
            continue
        fields = [f for f in (*DATED_FIELDS, "aliases") if getattr(a, f) != getattr(b, f)]
        if fields:
            changed.append(f"{_file_of(a)} ({', '.join(fields)})")
    removed = [_file_of(b) for b in gone.values()]

    def listed(kind: str, names: list[str]) -> str:
        more = f" and {len(names) - CHANGES_LISTED} more" if len(names) > CHANGES_LISTED else ""
        return f"{kind}: {', '.join(names[:CHANGES_LISTED])}{more}"

    return "; ".join(listed(k, n) for k, n in (("changed", changed), ("renamed", renamed), ("added", added),
                                               ("removed", removed)) if n)


def _changed_besides_articles(published, corpus, dict_files: dict) -> str:
    """What differs from a published version when no article does: "changed: dict/synonyms.txt,
    popular.yml", or "" (the ranking's settings, the builder's version)."""
    def text(path) -> bytes:  # a missing file reads as an empty one, as the build reads it
        return Path(path).read_bytes() if path is not None and Path(path).is_file() else b""

    names = [f"dict/{name}" for name, path in dict_files.items() if text(path) != text(published.path / "dict" / name)]
    names += [name for name, now, then in (("categories.yml", corpus.categories, published.categories),
                                           ("popular.yml", list(corpus.popular), list(published.popular)),
                                           ("scope.yml", corpus.scope, published.scope)) if now != then]
    return f"changed: {', '.join(names)}" if names else ""


def _file_of(a: Article) -> str:
    rel = _in_articles(a.source)
    return f"articles/{rel}" if rel else a.source


def renamed_or_deleted(old: list[Article], new: list[Article], before: str, corpus: str) -> list[Problem]:
    """Articles of version ``before`` whose id neither an article nor an alias has now. Integrations,
    bookmarks and stored votes know articles by id: a rename without `aliases` leaves them nothing to
    find. A new article holding most of a gone one's phrasings is named as what it probably became."""
    kept = {a.id for a in new} | {alias for a in new for alias in a.aliases}
    gone = [a for a in old if a.id not in kept]
    if not gone:
        return []
    if len(gone) > GONE_LISTED:
        ids = ", ".join(a.id for a in gone[:GONE_LISTED])
        return [Problem(corpus, 0,
                        f"{len(gone)} articles of {before} are gone ({ids}, …): links, bookmarks and votes to "
                        f"their ids find nothing now; an article renamed keeps its old id in 'aliases'")]
    old_ids = {a.id for a in old}
    newcomers = [a for a in new if a.id not in old_ids]
    problems = []
    for a in gone:
        became = _successor(a, newcomers)
        if became is not None:
            path, line = became.source.rsplit(":", 1)
            problems.append(Problem(path, int(line),
                                    f"'{became.id}' looks like '{a.id}' of {before} renamed: write 'aliases: "
                                    f"[{a.id}]' in it so that links, bookmarks and votes to '{a.id}' still find it"))
        else:
            path, line = a.source.rsplit(":", 1)
            problems.append(Problem(path, int(line), f"article '{a.id}' of {before} is gone: links, bookmarks "
                                    f"and votes to it find nothing now (if it was renamed, list '{a.id}' in "
                                    "the new article's 'aliases')"))
    return problems


def _successor(a: Article, newcomers: list[Article]) -> Article | None:
    """The one of ``newcomers`` holding most of gone article ``a``'s phrasings, if over half: what it
    probably became."""
    phrasings = set(a.questions)
    became = max(newcomers, key=lambda b: len(phrasings & set(b.questions)), default=None)
    return became if became is not None and len(phrasings & set(became.questions)) * 2 > len(phrasings) else None


def _in_articles(source: str) -> str | None:
    """An article's path below its corpus's articles/ ("transfer/x.md" of "corpus/articles/transfer/x.md:2"),
    the same whatever directory the build ran in."""
    parts = Path(source.rsplit(":", 1)[0]).parts
    if "articles" not in parts:
        return None
    return "/".join(parts[len(parts) - parts[::-1].index("articles"):])


GUESSES = 20  # misspelt ids compared with every name the published index had: a few at most
# What to do about an id the published index explains. The new id must be written either way: a former id
# kept in aliases is still refused in related and popular.yml (it serves old links and votes).
RENAMED = "write that, and keep the old id in its aliases for the links and votes made before"
GONE = "delete it here, or bring the article back"


def published_hints(error: CorpusError, out_dir: str | Path, corpus_path: str | Path) -> CorpusError | None:
    """``error`` with each unknown id the published version of ``out_dir`` had explained: which file had
    it and what that file says now, or that it is gone (and what it probably became); of a JSON Lines
    corpus, whose entries have no file of their own, the line that had it and the entry holding most of
    its phrasings now. An id it never had but spelt close to one it had (a link misspelt from before a
    rename) gets that one as its did-you-mean, explained alike, unless an id or former id of the corpus
    is as close. A rename fails the build before the build's own rename warning could say so. None
    when nothing is explained. Read only when a build fails: the published articles are decoded one
    by one."""
    current = {name for b in error.articles for name in (b.id, *b.aliases) if name}
    # A former id the corpus keeps in its aliases: the problem already says what it is called now.
    wanted = {p.unknown for p in error.problems if p.unknown} - current
    corpus_path = Path(corpus_path)
    version = read_current(Path(out_dir)) if wanted and corpus_path.exists() else None
    if version is None:
        return None
    try:
        held: dict[str, Article] = {}  # each id and former id of the published version → its article
        for a in load_index(out_dir, version, verify=False).articles:
            for former in (a.id, *a.aliases):
                held.setdefault(former, a)
    except (IndexError_, OSError, ValueError, KeyError) as e:
        log.warning("could not read the published index %s: %s", version, e)
        return None
    meant = {rid: rid for rid in wanted if rid in held}
    names = [*held.keys() - current, *current]
    for rid in sorted(wanted - held.keys())[:GUESSES]:
        close = difflib.get_close_matches(rid, names, n=1, cutoff=0.8)
        if close and close[0] not in current:  # else the corpus's own guess stands
            meant[rid] = close[0]
    had = {rid: held[name] for rid, name in meant.items()}
    old_ids = {a.id for a in had.values()}
    newcomers = [b for b in error.articles if b.id and b.id not in old_ids]
    now = {_in_articles(b.source): b for b in error.articles}
    hints = {}
    for rid, a in had.items():
        hint = _what_became(meant[rid], a, corpus_path, now, newcomers)
        if hint is not None:
            hints[rid] = hint if meant[rid] == rid else f"did you mean '{meant[rid]}'? {hint}"
    # What the published index knew replaces a guess from the spelling; a note of another kind stays alone.
    problems, explained = [], False
    for p in error.problems:
        said = p.message.split(" (did you mean ", 1)[0].split(NO_SUCH_ID, 1)[0]
        if p.unknown in hints and (meant[p.unknown] == p.unknown or said.endswith(f"'{p.unknown}'")):
            p, explained = replace(p, message=f"{said} ({hints[p.unknown]})"), True
        problems.append(p)
    return type(error)(problems, error.articles) if explained else None


def _what_became(rid: str, a: Article, corpus_path: Path, now: dict[str | None, Article],
                 newcomers: list[Article]) -> str | None:
    """What became of published article ``a``, which had id ``rid`` (its id or a former one): ``now``,
    the articles read, by their path below articles/; ``newcomers``, those whose ids are not the
    published ones explained. None when nothing is to say (its file still says ``rid``)."""
    if corpus_path.is_file():  # JSON Lines: a line of a file that other lines shift
        line = a.source.rsplit(":", 1)[-1]
        became = _successor(a, newcomers)
        if became is None:
            return f"line {line} had it in the published index; no entry has most of its phrasings now: {GONE}"
        return (f"line {line} had it in the published index; '{became.id}' (line {became.source.rsplit(':', 1)[-1]}) "
                f"has most of its phrasings now: {RENAMED}")
    rel = _in_articles(a.source)
    if rel is None:
        return None
    if rel in now or (corpus_path / "articles" / rel).is_file():  # an article read, or one with problems
        said = now[rel].id if rel in now else _written_id(corpus_path / "articles" / rel)
        if said and said != rid:
            return f"articles/{rel} had it in the published index; it now says '{said}': {RENAMED}"
        return None
    became = _successor(a, newcomers)
    if became is not None:
        return (f"articles/{rel} had it in the published index; its file is gone, and '{became.id}' "
                f"(articles/{_in_articles(became.source)}) looks like it moved: {RENAMED}")
    return f"articles/{rel} had it in the published index; its file is gone: {GONE}"


def undated_changes(old: list[Article], new: list[Article], before: str) -> list[Problem]:
    """Articles whose text changed from version ``before`` (``old``) to ``new`` while their `updated`
    stayed the same (an editor forgot to bump it): the console, the CLI and the API would show the old
    date. Not when that date is today's (or later): a second edit on the day it was bumped has nothing
    to bump it to. At the `updated:` line of the article."""
    previous = {a.id: a for a in old}
    today = date.today().isoformat()
    problems = []
    for a in new:
        b = previous.get(a.id)
        # ISO 8601 dates (and date-times, by their date) compare as text.
        if b is None or not a.updated or a.updated != b.updated or a.updated[:10] >= today:
            continue
        changed = [f for f in DATED_FIELDS if getattr(a, f) != getattr(b, f)]
        if changed:
            problems.append(Problem(*where_in_front(a.source, "updated", ""),
                                    f"{', '.join(changed)} changed since {before} but 'updated' still says "
                                    f"{a.updated}: bump it"))
    return problems


def _build_version(corpus_path: str | Path, out_dir: str | Path, dict_dir: str | Path | None,
                   analyzer: Analyzer | None, ranking: dict | None, progress, workers: int | None,
                   rerank: bool, full: bool, completions: bool, allow_shrink: bool = False
                   ) -> tuple[BuildResult, CompletionsBuild | None]:
    t0 = time.perf_counter()
    corpus_path, out_dir = Path(corpus_path), Path(out_dir)
    ranking = ranking or DEFAULT_RANKING
    read = None
    if not full:
        same, read = _published_same(corpus_path, out_dir, dict_dir, analyzer, ranking, rerank)
        republished = same is not None and same[0] != read_current(out_dir)
        if republished:  # an edit undone: the version built from the corpus as it is now, verified, is published again
            if not allow_shrink:
                _refuse_a_shrunken_corpus(corpus_path, out_dir, int(same[1].get("articles", 0)))
            publish(out_dir, same[0], written_now=False)
        if same is not None:  # its warnings (a very long answer) all the same: nothing else tells of them
            return replace(_up_to_date(out_dir, same, analyzer, completions, t0), unchanged=not republished,
                           republished=republished, warnings=read.warnings if isinstance(read, Corpus) else ()), None
    dict_files = dict_files_for(corpus_path, Path(dict_dir) if dict_dir else None)
    if not full and rerank:
        layer: list[CompletionsBuild] = []

        def start_layer(articles: list[Article], normalize: Callable[[str], str]) -> None:
            layer.append(CompletionsBuild(out_dir, articles, normalize, fork=workers != 1, layer=True))

        try:
            result = build_incremental(corpus_path, out_dir, dict_files, ranking, progress, workers, analyzer,
                                       on_delta=start_layer if completions else None, read=read)
        except BaseException:
            for pending in layer:
                pending.cancel()
            raise
        if result is not None:  # with the whole corpus's warnings, as a full build's
            return result, layer[0] if layer else None
    corpus = read if isinstance(read, Corpus) else load_corpus(corpus_path)
    read = None  # a JSON Lines file's bytes: not held through a full build's memory peak
    if not allow_shrink:
        _refuse_a_shrunken_corpus(corpus_path, out_dir, len(corpus.articles))
    analyzer = analyzer or analyzer_for(dict_files, dictionary_cache=out_dir / "cache")
    # Forked while this process is small: the completions are made alongside the whole build.
    pending = CompletionsBuild(out_dir, corpus.articles, analyzer.normalize, fork=workers != 1) if completions else None
    # Every later load of the index reads jieba's dictionary from this table (≈ 0.3 s against ≈ 0.7 s),
    # and incremental versions segment their few new texts from it.
    table = start_dictionary_table(out_dir / "cache", analyzer) if workers != 1 else None
    if table is None:
        save_dictionary_table(out_dir / "cache", analyzer)
    # The version's text files, written meanwhile while this process is small, as the completions are.
    texts_job = ArticleTextsJob.start(out_dir, corpus, analyzer) if workers != 1 else None
    try:
        key = corpus_key(corpus, analyzer, ranking)
        cache_path = out_dir / "cache" / f"analysis-{analyzer.fingerprint}.npz"
        # The completions' process peaks at its end, and this one's memory rises as soon as the texts are
        # analysed: it waits for the child there (usually done by then, having shared the cores with jieba).
        analysed = analyse_corpus(analyzer, corpus.articles, cache_path, progress, workers,
                                  then=pending.wait if pending is not None else None)
        return replace(_build_full(corpus, out_dir, dict_files, analyzer, ranking, workers, rerank, corpus_path, t0, key,
                                   analysed, texts_job), warnings=corpus.warnings), pending
    except BaseException:
        if pending is not None:
            pending.cancel()
        if texts_job is not None:
            texts_job.cancel()
        raise
    finally:
        if table is not None:
            table.join()


def _build_full(corpus, out_dir: Path, dict_files: dict, analyzer: Analyzer, ranking: dict, workers: int | None,
                rerank: bool, corpus_path: Path, t0: float, key: str, analysed, texts_job: ArticleTextsJob | None = None
                ) -> BuildResult:
    for stale in (out_dir / "cache").glob("analysis-*.json"):  # token caches of index format 2
        stale.unlink(missing_ok=True)
    # count_matrix sorts and merges the ids in place: keep the rows' features as analysed.
    rows = {f: Ragged(r.off, r.ids.copy()) for f, r in analysed.rows.items()}
    arrays = build_arrays(corpus, analysed, ranking)
    reranker = paraphrase = lsa = models = None
    keys = source_keys(corpus_path, corpus)
    # Texts analysed afresh, or articles that differ from the published version's (an edit to texts the
    # analysis cache already held: a phrasing or answer moved to another article), whichever is more.
    changed = max(analysed.fresh + analysed.fresh_answers, articles_changed_since(out_dir, ranking, keys) or 0)
    if rerank:
        data = in_memory(corpus, arrays, ranking)
        if trainable(data.row_article, len(data.articles)):
            models = {"analyzer": analyzer.fingerprint, "changed_since_fit": 0}
            texts = len(data.row_text) + len(corpus.articles)
            reused = _reusable_models(out_dir, ranking, analyzer, corpus, changed, texts,
                                      arrays["vocab"], data.questions, data.row_article)
            if reused is not None:
                paraphrase, lsa, models["changed_since_fit"] = reused
            else:
                paraphrase = ParaphraseModel.fit(data.questions, data.row_article, len(data.articles))
                lsa = LsaModel.fit(data.questions)
            data.paraphrase, data.lsa = paraphrase, lsa
        # Own paraphrase groups when there are enough of them, else our default weights.
        sample = training_sample(data)
        reranker = (_reusable_reranker(out_dir, analyzer, ranking, sample, changed, len(data.row_text) + len(corpus.articles),
                                       paraphrase is not None)
                    or train_reranker(Searcher(data, analyzer), sample=sample, workers=workers) or load_default())
    seconds = time.perf_counter() - t0
    version, path = write_version(out_dir, corpus, analyzer, arrays, key, dict_files, ranking, seconds,
                                  reranker, paraphrase, keys, lsa,
                                  models if paraphrase is not None else None, texts_job)
    publish(out_dir, version)
    try:
        save_row_features(out_dir, version, rows, arrays)
    except OSError as e:  # a cache, written after the switch: the version serves, the build did not fail
        log.warning("row features of %s not cached: %s (an incremental build segments its changed questions "
                    "afresh)", version, e)
    vocab = sum(len(v) for v in arrays["vocab"].values())
    return BuildResult(version, path, len(corpus.articles), vocab, time.perf_counter() - t0, analysed.fresh)


def _reusable_models(out_dir: Path, ranking: dict, analyzer: Analyzer, corpus, changed: int, texts: int,
                     vocab: dict, questions: dict, row_article: np.ndarray
                     ) -> tuple[ParaphraseModel, LsaModel | None, int] | None:
    """The published version's paraphrase and LSA models brought to this build, while the texts changed
    since they were fitted stay under REUSE_MAX_CHANGED_SHARE of all (as in an incremental version, a
    few terms' idf drift meanwhile): columns moved to ``vocab``'s; an article whose question rows
    changed, or a new one, gets its own one-vs-rest classifier fitted again (≈ 5 ms; the other
    articles' miss only its phrasings as negatives), and every row its LSA vector from the kept terms.
    The three full fits are most of a rebuild of a knowledge base of a few thousand entries (≈ 20 s
    each at 4,000). With how many texts changed since the fit; None otherwise."""
    published = published_manifest(out_dir, READABLE_FORMATS, ranking)
    info = (published[2].get("models") or {}) if published is not None else {}
    if info.get("analyzer") != analyzer.fingerprint or int(info.get("changed_since_fit", 0)) + changed > \
            REUSE_MAX_CHANGED_SHARE * texts:
        return None
    try:
        data = load_index(out_dir, published[0])  # every file's checksum verified
    except (IndexError_, OSError, ValueError) as e:
        log.info("models of %s not reused: %s", published[0], e)
        return None
    if data.paraphrase is None:
        return None
    old_ids = [a.id for a in data.articles]
    old_rows: list[list[str]] = [[] for _ in old_ids]
    for text, art in zip(data.row_text, np.asarray(data.row_article).tolist()):
        old_rows[art].append(text)
    where = {i: n for n, i in enumerate(old_ids)}
    take = np.asarray([where.get(a.id, -1) for a in corpus.articles], np.int64)
    refit = [n for n, a in enumerate(corpus.articles) if take[n] < 0 or tuple(old_rows[take[n]]) != row_texts(a)]
    take[refit] = -1
    drift = int(info.get("changed_since_fit", 0)) + changed + len(refit) + len(set(old_ids) - {a.id for a in corpus.articles})
    if drift > REUSE_MAX_CHANGED_SHARE * texts:
        return None
    # Old column → new column, field after field (word, then char, as the models lay them out); a term
    # gone is in no question row any more.
    moved = []
    for f in FIELD_ORDER:
        old = sorted(data.vocab[f].items(), key=lambda item: item[1])
        moved.append(np.fromiter((vocab[f].get(t, -1) for t, _c in old), np.int64, len(old)))
    offsets = np.cumsum([0, *(len(vocab[f]) for f in FIELD_ORDER)])
    target = np.concatenate([np.where(m >= 0, m + offsets[i], -1) for i, m in enumerate(moved)])
    kept = np.flatnonzero(target >= 0)
    width = int(offsets[-1])
    select = sp.csr_matrix((np.ones(kept.size, np.float32), (kept, target[kept])), shape=(target.size, width))
    coef = data.paraphrase.coef.tocsr() @ select
    # Kept articles' rows, in this build's order; refitted and new ones empty until filled below.
    carry = sp.csr_matrix((np.ones(int((take >= 0).sum()), np.float32), (np.flatnonzero(take >= 0), take[take >= 0])),
                          shape=(take.size, coef.shape[0]))
    coef = carry @ coef
    intercept = np.where(take >= 0, np.asarray(data.paraphrase.intercept)[np.maximum(take, 0)], 0.0).astype(np.float32)
    if refit:
        rows, refit_intercepts = ParaphraseModel.fit_articles(questions, row_article, refit)
        place = sp.csr_matrix((np.ones(len(refit), np.float32), (refit, np.arange(len(refit)))),
                              shape=(take.size, len(refit)))
        coef = coef + place @ rows
        intercept[refit] = refit_intercepts
    paraphrase = ParaphraseModel(coef.tocsc(), intercept, {f: int(offsets[i]) for i, f in enumerate(FIELD_ORDER)})
    lsa = None
    if data.lsa is not None:
        terms = np.zeros((width, data.lsa.terms.shape[1]), np.float32)
        terms[target[kept]] = data.lsa.terms[kept]
        lsa = LsaModel.with_terms(terms, questions)
    return paraphrase, lsa, drift


# A rebuild keeps the published version's trained weights while the texts analysed afresh since
# they were trained stay under this share of all texts (question rows + answers) and the
# training sample (article ids and texts of the sampled pseudo-queries) differs from theirs in at
# most this share of its pseudo-queries.
REUSE_MAX_CHANGED_SHARE = 0.01


def _sample_barely_moved(info: dict, sample) -> bool:
    """Whether this build's training sample is the one the weights were trained on, or differs from
    it in at most REUSE_MAX_CHANGED_SHARE of its pseudo-queries (an edited phrasing swaps one or two
    in or out): retraining costs two more fits of the paraphrase model (≈ 25 s at 4,000 entries)."""
    if info.get("sample") == sample.digest:
        return True
    trained = set(str(info.get("sample_keys") or "").split())
    if not trained or not sample.keys:
        return False
    return len(trained ^ set(sample.keys)) <= max(2, REUSE_MAX_CHANGED_SHARE * len(sample.keys))


def _reusable_reranker(out_dir: Path, analyzer: Analyzer, ranking: dict, sample, changed: int,
                       texts: int, has_paraphrase: bool) -> Reranker | None:
    """The published version's own reranker, when this build's corpus barely differs from the one it
    was trained on; None otherwise (the caller trains). Deterministic: depends on the corpus and the
    published version only."""
    published = published_manifest(out_dir, READABLE_FORMATS, ranking)
    if published is None:
        return None
    version, vdir, manifest = published
    try:
        info = manifest.get("reranker") or {}
        if (manifest.get("analyzer", {}).get("fingerprint") != analyzer.fingerprint
                or info.get("C", 1.0) != RERANK_C or not _sample_barely_moved(info, sample)):
            return None
        drift = int(info.get("changed_since_training", 0)) + changed
        if drift > REUSE_MAX_CHANGED_SHARE * texts:
            return None
        raw = (vdir / "reranker.json").read_bytes()
        if hashlib.sha256(raw).hexdigest() != manifest.get("files", {}).get("reranker.json"):
            return None
        previous = Reranker.from_json(raw.decode("utf-8"))
    except (OSError, ValueError, KeyError, AttributeError):
        return None
    if bool(set(MODEL_FEATURES) & set(previous.features)) != has_paraphrase:
        return None  # trained with (or without) a paraphrase model this build no longer has (or now has)
    info = {**previous.info, "trained_in": previous.info.get("trained_in", version), "changed_since_training": drift}
    return replace(previous, info=info)


def _loaded_as_the_build_says(corpus_path: Path, out_dir: Path) -> Corpus:
    """load_corpus, its problems explained by the published index as a failed build explains them."""
    try:
        return load_corpus(corpus_path)
    except CorpusError as e:
        hinted = published_hints(e, out_dir, corpus_path)
        if hinted is None:
            raise
        raise hinted from None


def check_index(corpus_path: str | Path, out_dir: str | Path, dict_dir: str | Path | None = None,
                analyzer: Analyzer | None = None) -> tuple[bool, str]:
    """(fresh, reason): whether the published index was built from this corpus and dictionary."""
    out_dir = Path(out_dir)
    dict_files = dict_files_for(Path(corpus_path), Path(dict_dir) if dict_dir else None)  # a mistyped --dict raises
    version, pointer = read_pointer(out_dir)
    if version is None:  # a pointer naming none while versions are published is not "nothing published"
        return False, (f"{pointer} in {out_dir}: servers serve the newest sound version in versions/ until a build "
                       f"publishes one" if pointer else f"no published index in {out_dir}")
    corpus_path = Path(corpus_path)
    try:
        manifest = json.loads((out_dir / "versions" / version / "manifest.json").read_text("utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError(f"a JSON {type(manifest).__name__}, not an object")
    except (OSError, ValueError) as e:
        # A build would write a new version, unless the corpus's problems fail it: those are what to fix.
        _loaded_as_the_build_says(corpus_path, out_dir)
        why = e.strerror if isinstance(e, OSError) and e.strerror else e
        return False, f"published index {version} is unreadable: manifest.json: {why}"
    if corpus_path.is_file():  # hashed, not parsed, as the build's own up-to-date test does
        corpus = Corpus(articles=[], content_hash=hashlib.sha256(corpus_path.read_bytes()).hexdigest())
    else:
        corpus = _loaded_as_the_build_says(corpus_path, out_dir)
    # Only its fingerprint is read: jieba's dictionary is not loaded.
    analyzer = analyzer or analyzer_for(dict_files, lazy=True)
    key = corpus_key(corpus, analyzer, manifest.get("ranking", DEFAULT_RANKING))
    if manifest.get("corpus_key") != key or manifest.get("format") not in READABLE_FORMATS:
        if corpus_path.is_file():
            # A file changed: its problems, which a build would fail on, raise here.
            _loaded_as_the_build_says(corpus_path, out_dir)
            return False, f"index {version} is stale: the corpus or dictionary changed"
        try:  # only when stale: the published articles decoded one by one
            published = load_index(out_dir, version, verify=False)
            changes = changed_articles(published.articles, corpus.articles) or _changed_besides_articles(
                published, corpus, dict_files)
        except (IndexError_, OSError, ValueError, KeyError) as e:
            log.warning("could not compare the corpus with %s: %s", version, e)
            changes = ""
        return False, f"index {version} is stale: {changes or 'the corpus or dictionary changed'}"
    # Servers refuse a version whose files fail their checksums: such a one needs a rebuild too.
    refused = verify_version(out_dir, version)
    if refused is not None:
        return False, f"published index {version} is corrupt: {refused}"
    return True, f"index {version} is up to date"
