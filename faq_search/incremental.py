"""Incremental versions: a rebuild after a few changed articles writes only what changed.

A full build writes a complete version (the *base*) and, in ``state/``, a 16-byte key of each
article's source (its JSON line, or its parsed fields for a Markdown corpus). A later build whose
corpus differs from the base in at most COMPACT_SHARE of the base's articles writes an incremental
version (format 7) instead:

* the base's files as hard links, with the checksums of the base's manifest. Every writer creates
  new files (never rewrites one in place), so a shared file never changes; pruning a version only
  drops its links, and a kept version never loses a file;
* ``delta/``: every article added or changed since the base (cumulative: a version has at most two
  segments), analysed and weighted with the base's statistics — idf, average lengths and
  vocabulary frozen; terms the base lacks become new columns after the base's, their idf counted
  over the delta with the base's article count;
* ``delta/arrays/order.npy``: each article of the corpus, in corpus order, as its base position
  (≥ 0) or −1 − its delta position. Base articles it leaves out (removed or replaced) are hidden.

Search scores both segments with the same query weights and merges their candidates (search.py),
so an incremental version ranks like a full build of the same corpus except for the frozen
statistics, whose drift the compaction bounds: past COMPACT_SHARE changed articles the build is a
full one again. The base's reranker is kept until then (it was trained on the base).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from .analysis import Analyzer
from .corpus import (
    LONG_ANSWER, Article, Corpus, CorpusError, Problem, Scope, _display, answer_warnings, check_aliases, load_corpus,
    parse_jsonl_line, phrasing_at, phrasing_digests, repeat_warnings, repeated_phrasings, REPEATS_LISTED, unknown_id,
)
from .features import Analysed, Ragged, read_npz, write_npz
from .index import (
    DELTA_FORMAT, FIELDS, FORMAT_VERSION, BuildResult, IndexData, IndexError_, LazyArticles, article_meta, field_counts,
    manifest_head, save_dictionary_table, _map, _save_csc, _write_file, _write_npy, analyse_corpus, analyzer_for, corpus_key,
    finish_version, new_version_dir, publish, published_manifest, row_owner, row_texts, smooth_idf, weigh_field,
    write_article_texts, write_dict_files,
)

__all__ = ["COMPACT_SHARE", "MIN_ARTICLES", "articles_changed_since", "source_keys", "build_incremental",
           "merge_segments", "published_warnings"]

# Past this share of the base's articles added, changed or removed, a build is a full one
# (statistics recomputed, reranker retrained if needed, one segment again).
COMPACT_SHARE = 0.01
# Below this a full build takes seconds and is exact: no incremental versions.
MIN_ARTICLES = 5000
KEY_BYTES = 16


def _line_key(raw: bytes) -> bytes:
    return hashlib.blake2b(raw.strip(), digest_size=KEY_BYTES).digest()


def article_key(a: Article) -> bytes:
    """Key of a parsed article: its fields but not where it was read from."""
    d = a.to_dict()
    d.pop("source")
    if not d["aliases"]:  # the keys of articles without former ids stay those of versions before aliases
        del d["aliases"]
    return hashlib.blake2b(json.dumps(d, ensure_ascii=False, sort_keys=True).encode("utf-8"),
                           digest_size=KEY_BYTES).digest()


def source_keys(corpus_path: Path, corpus: Corpus) -> list[bytes]:
    """One key per article of a loaded corpus, in its order: of its JSON line, or of its fields."""
    if Path(corpus_path).is_dir():
        return [article_key(a) for a in corpus.articles]
    return [_line_key(raw) for raw in Path(corpus_path).read_bytes().split(b"\n") if raw.strip()]


def articles_changed_since(out_dir: Path, ranking: dict, keys: list[bytes]) -> int | None:
    """How many articles of a corpus (``source_keys``) are new or changed since the published version's
    base (the version itself when it is complete), and how many fewer it has; None when that version
    kept no keys. Unlike the texts analysed afresh, this sees an edit whose texts were already known:
    an answer or phrasing moved to another article, a revert."""
    published = published_manifest(out_dir, (FORMAT_VERSION, DELTA_FORMAT), ranking)
    if published is None:
        return None
    try:
        base = _Base(published[1], published[2])
        raw = base.read("state/keys.bin") if "state/keys.bin" in base.files else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if raw is None:
        return None
    old = {raw[i : i + KEY_BYTES] for i in range(0, len(raw), KEY_BYTES)}
    return len(set(keys) - old) + max(0, len(old) - len(keys))


class _Base:
    """The base segment of the published version: its files (name → checksum) and figures."""

    def __init__(self, vdir: Path, manifest: dict):
        self.vdir, self.manifest = vdir, manifest
        files = manifest["files"]
        if manifest["format"] == DELTA_FORMAT:
            info = manifest["base"]
            self.files = {n: files[n] for n in info["files"]}
        else:
            info = manifest
            self.files = {n: d for n, d in files.items() if n != "reranker.json" and not n.startswith("dict/")}
        self.version = info.get("version", manifest["version"])
        self.articles, self.rows = int(info["articles"]), int(info["question_rows"])
        self.avglen = info["avglen"]

    def read(self, name: str) -> bytes:
        data = (self.vdir / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != self.files[name]:
            raise ValueError(f"checksum mismatch in {name}")
        return data


def _published_base(out_dir: Path, ranking: dict) -> _Base | None:
    published = published_manifest(out_dir, (FORMAT_VERSION, DELTA_FORMAT), ranking)
    if published is None:
        return None
    _version, vdir, manifest = published
    try:
        base = _Base(vdir, manifest)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if "state/keys.bin" not in base.files or any(n.startswith("arrays/paraphrase") for n in base.files):
        return None  # built before keys were kept, or small enough for a paraphrase model
    return base if base.articles >= MIN_ARTICLES else None


def build_incremental(corpus_path: str | Path, out_dir: str | Path, dict_files: dict, ranking: dict,
                      progress=None, workers: int | None = None, analyzer: Analyzer | None = None,
                      on_delta: Callable[[list[Article], Callable[[str], str]], None] | None = None,
                      read: "Corpus | FileRead | None" = None) -> BuildResult | None:
    """Publish an incremental version when the published index allows one and the corpus changed
    little since its base; None when a full build is needed. Raises CorpusError like a full build.
    ``on_delta(articles, normalize)`` is told the added and changed articles once they are known to be
    valid and few enough, before the version is written, when one of them has a phrasing the base lacks.
    ``read``: the corpus as the caller read it (a directory loaded, a JSON Lines file's bytes and hash), else it
    is read here."""
    t0 = time.perf_counter()
    corpus_path, out_dir = Path(corpus_path), Path(out_dir)
    if not corpus_path.exists():
        raise FileNotFoundError(f"corpus not found: {corpus_path}")
    base = _published_base(out_dir, ranking)
    if base is None:
        return None
    # jieba loads only if a new text needs it, and then from the dictionary table when there is one.
    analyzer = analyzer or analyzer_for(dict_files, lazy=True, dictionary_cache=out_dir / "cache")
    if analyzer.fingerprint != base.manifest.get("analyzer", {}).get("fingerprint"):
        return None
    try:
        raw_keys = base.read("state/keys.bin")
        meta = json.loads(base.read("meta.json"))
        related = json.loads(base.read("state/related.json"))
        vocab = json.loads(base.read("vocab.json"))
        idf = {f: np.load(io.BytesIO(base.read(f"arrays/idf.{f}.npy")), allow_pickle=False) for f in FIELDS}
    except (OSError, ValueError, KeyError):
        return None
    if corpus_path.is_file() and ("aliases" not in meta or "state/marked.npy" not in base.files):
        return None  # a base from before aliases (or phrasings' digests): its unchanged JSON lines' were not kept
    position = {raw_keys[i : i + KEY_BYTES]: i // KEY_BYTES for i in range(0, len(raw_keys), KEY_BYTES)}
    if len(position) != base.articles:
        return None
    diff = _diff(corpus_path, position, base.articles, read)
    if diff is None:
        return None  # too much changed: compact
    order, delta, categories, popular, scope, content_hash, sources, warnings = diff
    if corpus_path.is_file():
        _check_jsonl(corpus_path, order, delta, meta, related, sources)
        kept = {meta["category"][p] for p in order[order >= 0].tolist()}
        categories = {c: c for c in sorted((kept | {a.category for a in delta}) - {""})}
        warnings = _jsonl_warnings(corpus_path, base, order, delta, meta["id"], sources)
    corpus = Corpus(articles=delta, categories=categories, content_hash=content_hash, popular=popular, scope=scope)
    key = corpus_key(corpus, analyzer, ranking)
    cache = out_dir / "cache" / f"delta-{analyzer.fingerprint}.npz"
    known = _base_features(out_dir, base, delta, meta["id"], vocab)
    # Told only when a phrasing is new: after an answer edit the completions are the base's, linked.
    if on_delta is not None and any(text not in known for a in delta for text in row_texts(a)):
        on_delta(delta, analyzer.normalize)
    # Not pruned: an entry edited back and forth stays cached (the cache goes at the next full build).
    analysed = analyse_corpus(analyzer, delta, cache, progress, workers, known, prune=False)
    save_dictionary_table(out_dir / "cache", analyzer)  # when this build had to load the whole dictionary
    arrays = delta_arrays(delta, analysed, vocab, idf, base.articles, base.avglen, ranking)
    version, path = _write(out_dir, base, corpus, analyzer, arrays, order, key, dict_files, ranking,
                           time.perf_counter() - t0)
    publish(out_dir, version)
    n_vocab = sum(arrays["idf"][f].size for f in FIELDS)
    return BuildResult(version, path, int(order.size), n_vocab, time.perf_counter() - t0, analysed.fresh, True,
                       warnings=tuple(warnings))


def save_row_features(out_dir: Path, version: str, rows: dict[str, Ragged], arrays: dict) -> None:
    """After a full build: each question row's features as the version's columns, in
    ``cache/rows-<version>.npz``, so that an incremental build takes a changed entry's unchanged
    questions from there rather than segmenting them (jieba's dictionary alone costs ≈ 0.6 s).
    Caches of other bases and of their deltas go."""
    cache = out_dir / "cache"
    for old in [*cache.glob("rows-*.npz"), *cache.glob("delta-*.npz")]:
        old.unlink(missing_ok=True)
    out = {}
    for name in FIELDS:
        r = rows[name]
        out[f"{name}.off"], out[f"{name}.ids"] = r.off, arrays["token_column"][name][r.ids]
    tmp = cache / f".rows-{version}.{os.getpid()}.tmp.npz"
    cache.mkdir(parents=True, exist_ok=True)
    write_npz(cache / f"rows-{version}.npz", tmp, out)


def _base_features(out_dir: Path, base: _Base, delta: list[Article], base_ids: list[str], vocab: dict) -> dict:
    """Question text → (word, char features) of the changed entries' questions the base already has,
    from the base's row features (save_row_features); {} when there are none."""
    path = out_dir / "cache" / f"rows-{base.version}.npz"
    position = {i: p for p, i in enumerate(base_ids)}
    wanted = [(a, position[a.id]) for a in delta if a.id in position]
    if not wanted or not path.exists():
        return {}
    try:
        row_article = np.load(base.vdir / "arrays" / "row_article.npy", mmap_mode="r", allow_pickle=False)
        off = np.load(base.vdir / "arrays" / "rows.off.npy", mmap_mode="r", allow_pickle=False)
        blob = np.memmap(base.vdir / "rows.txt", dtype=np.uint8, mode="r")
        terms = {f: [None] * len(vocab[f]) for f in FIELDS}
        for f in FIELDS:
            for t, col in vocab[f].items():
                terms[f][col] = t
        known = {}
        z = read_npz(path)
        feats = {f: (z[f"{f}.off"], z[f"{f}.ids"]) for f in FIELDS}
        if feats["word"][0].size != row_article.size + 1:
            return {}
        for a, p in wanted:
            texts = set(row_texts(a))
            lo, hi = np.searchsorted(row_article, [p, p + 1]).tolist()
            for r in range(lo, hi):
                text = blob[off[r] : off[r + 1]].tobytes().decode("utf-8")
                if text in texts:
                    known[text] = tuple([terms[f][i] for i in ids[o[r] : o[r + 1]].tolist()]
                                        for f, (o, ids) in feats.items())
        return known
    except (OSError, ValueError, KeyError, IndexError, UnicodeDecodeError):
        return {}  # only a cache: segment instead


class FileRead(NamedTuple):
    """A JSON Lines corpus as a caller read it: its bytes and their SHA-256 (hashed once a build)."""
    blob: bytes
    sha256: str


def _diff(corpus_path: Path, position: dict[bytes, int], n_base: int, read: "Corpus | FileRead | None" = None):
    """(order, delta articles, categories, popular, scope, content hash, line of each article, a
    directory's warnings) of the corpus against the base's keys; None when more than COMPACT_SHARE of
    the base changed.
    Only new or changed JSON lines are parsed; their problems raise CorpusError."""
    used = np.zeros(n_base, bool)
    order, delta, sources = [], [], []
    budget = int(COMPACT_SHARE * n_base)
    if corpus_path.is_dir():
        corpus = read if isinstance(read, Corpus) else load_corpus(corpus_path)  # validates everything
        items = [(article_key(a), a, 0, b"") for a in corpus.articles]
        categories, popular, scope, content_hash = corpus.categories, corpus.popular, corpus.scope, corpus.content_hash
        warnings = corpus.warnings
    else:
        if isinstance(read, FileRead):
            blob, content_hash = read
        else:
            blob = corpus_path.read_bytes()
            content_hash = hashlib.sha256(blob).hexdigest()
        items = ((_line_key(raw), None, n, raw) for n, raw in enumerate(blob.split(b"\n"), 1) if raw.strip())
        categories, popular, scope, warnings = {}, (), Scope(), ()  # the warnings: _jsonl_warnings
    problems: list[Problem] = []
    display = _display(corpus_path)
    for key, article, lineno, raw in items:
        p = position.get(key)
        if p is not None and not used[p]:
            used[p] = True
            order.append(p)
        else:
            if article is None:
                article = parse_jsonl_line(raw, display, lineno, problems)
            if article is not None:
                order.append(-1 - len(delta))
                delta.append(article)
                if len(delta) > budget:
                    return None
        sources.append(lineno)
    if problems:
        # A changed line's own problems are not all it has: read whole, as a full build reads it, the file
        # also names what they would hide (its unknown related ids, an id another entry has). Only a failing
        # build pays for that.
        load_corpus(corpus_path)
        raise CorpusError(problems)
    if len(delta) + n_base - int(used.sum()) > budget:
        return None
    if not order:
        raise CorpusError([Problem(display, 0, "no entries found")])
    return np.asarray(order, np.int32), delta, categories, popular, scope, content_hash, sources, warnings


def _check_jsonl(path: Path, order: np.ndarray, delta: list[Article], meta: dict, related: dict,
                 sources: list[int]) -> None:
    """The checks across entries a full load makes (unique ids, aliases, known related ids), over the
    kept base articles' ids, aliases and related ids and the new entries."""
    display, base_ids = _display(path), meta["id"]
    ids = [base_ids[o] if o >= 0 else delta[-1 - o].id for o in order.tolist()]
    problems, first_seen = [], {}
    for i, line in zip(ids, sources):
        if i in first_seen:
            problems.append(Problem(display, line, f"duplicate id '{i}' (first used at {display}:{first_seen[i]})"))
        else:
            first_seen[i] = line
    kept = {base_ids[o] for o in order.tolist() if o >= 0}
    claims = [((display, first_seen[i]), i, alias) for alias, i in meta.get("aliases", {}).items() if i in kept]
    claims += [((display, first_seen[a.id]), a.id, alias) for a in delta for alias in a.aliases]
    aliases = check_aliases(sorted(claims, key=lambda c: c[0][1]), {i: f"{display}:{n}" for i, n in first_seen.items()},
                            problems)
    refs = [(first_seen[a.id], a.related) for a in delta]
    refs += [(first_seen[i], r) for i, r in related.items() if i in kept]  # a changed entry's are its own now
    problems += [Problem(display, line, unknown_id("related id", rid, aliases)) for line, rel in refs for rid in rel
                 if rid not in first_seen]
    if problems:
        # Said as a full build says them, with every entry read: a guess at a misspelt id, and what the
        # published index knew of an unknown one (the builder adds that from the entries). Only a failing
        # build pays for reading the whole file.
        load_corpus(path)
        raise CorpusError(sorted(problems, key=lambda p: p.line))


def _jsonl_warnings(path: Path, base: _Base, order: np.ndarray, delta: list[Article], base_ids: list[str] | None,
                    sources: list[int]) -> list[Problem]:
    """The warnings a full build gives the whole corpus (over-long answers, Markdown shown as typed, phrasings an earlier entry
    has), not only the changed entries': from those, the base's answers that may be over-long (their
    stored size says which: ≈ none) and the base's phrasings' digests (state/), without parsing the
    unchanged lines and normalising their phrasings (≈ 3.5 s of CPU at 100k entries; this, ≈ 0.06 s).
    ``base_ids``: meta.json's, when read; else the few named are read from the base's articles."""
    display = _display(path)
    here, in_base = np.arange(order.size), order >= 0
    base_here = np.full(base.articles, -1, np.int64)
    base_here[order[in_base]] = here[in_base]
    delta_here = np.empty(len(delta), np.int64)
    delta_here[-1 - order[~in_base]] = here[~in_base]
    off = np.load(io.BytesIO(base.read("arrays/articles.off.npy")), allow_pickle=False)
    base_articles = LazyArticles(_map(base.vdir / "articles.jsonl"), off)
    # A served article's JSON has at least as many bytes as its answer has characters; the entries with
    # Markdown shown as typed were listed by the base's build (state/marked.npy).
    sized = np.flatnonzero((np.diff(off) > LONG_ANSWER) & (base_here >= 0))
    marked = np.load(io.BytesIO(base.read("state/marked.npy")), allow_pickle=False)
    marked = marked[base_here[marked] >= 0]
    answers = {int(base_here[p]): base_articles[p].answer for p in np.union1d(sized, marked).tolist()}
    answers |= {h: a.answer for h, a in zip(delta_here.tolist(), delta)}
    warnings = [w for h in sorted(answers) for w in answer_warnings(display, sources[h], answers[h])]

    digests = np.load(io.BytesIO(base.read("state/phrasings.npy")), allow_pickle=False)
    owner = np.load(io.BytesIO(base.read("state/phrasing_article.npy")), allow_pickle=False)
    at = base_here[owner]
    kept = np.flatnonzero(at >= 0)
    new_digests, new_owner = phrasing_digests(delta)
    # Every phrasing of the corpus in its order: where each is now, and which it is (≥ 0 the base's,
    # < 0 the changed entries').
    now = np.concatenate([at[kept], delta_here[new_owner]])
    by_place = np.argsort(now, kind="stable")
    which = np.concatenate([kept, -1 - np.arange(new_owner.size)])[by_place]
    now = now[by_place]
    repeats, firsts = repeated_phrasings(np.concatenate([digests[kept], new_digests])[by_place], now)

    def article_id(h: int) -> str:
        if order[h] < 0:
            return delta[-1 - order[h]].id
        return base_ids[order[h]] if base_ids is not None else base_articles[order[h]].id

    listed = []
    for i, j in zip(repeats[:REPEATS_LISTED].tolist(), firsts[:REPEATS_LISTED].tolist()):
        k = int(which[i])
        text = phrasing_at(base_articles, owner, k) if k >= 0 else phrasing_at(delta, new_owner, -1 - k)
        listed.append((sources[now[i]], article_id(now[i]), text, sources[now[j]], article_id(now[j])))
    return warnings + repeat_warnings(display, repeats.size, listed)


def published_warnings(path: Path, vdir: Path, manifest: dict, lines: list[int]) -> list[Problem]:
    """The warnings of JSON Lines file ``path``, which published version ``vdir`` (``manifest``) was
    built from, as its build (full or incremental) printed them: for a build that finds it up to date.
    ``lines``: the line of each entry. None of them for a version from before phrasings' digests."""
    if "state/marked.npy" not in manifest["files"]:  # an incremental version lists its base's files too
        return []
    base = _Base(vdir, manifest)
    order, delta = np.arange(base.articles), []
    if manifest["format"] == DELTA_FORMAT:
        order = np.load(vdir / "delta" / "arrays" / "order.npy", allow_pickle=False)
        off = np.load(vdir / "delta" / "arrays" / "articles.off.npy", allow_pickle=False)
        delta = list(LazyArticles(_map(vdir / "delta" / "articles.jsonl"), off))
    return _jsonl_warnings(path, base, order, delta, None, lines)


def delta_arrays(articles: list[Article], analysed: Analysed, vocab: dict, base_idf: dict, n_base: int,
                 avglen: dict, ranking: dict) -> dict:
    """The delta's weight matrices in the version's columns (the base's, then the terms it lacks),
    with the base's idf and average lengths; new terms' idf over the delta with the base's count."""
    out = {"idf": {}, "questions": {}, "answers": {}, "article_terms": {}, "new_terms": {}}
    row_article, owner = row_owner(articles)
    n_tok = len(analysed.tokens)
    for name in FIELDS:
        q, a, art_terms, df = field_counts(analysed, name, owner)
        used = np.flatnonzero(df)
        known, n_cols = vocab[name], len(vocab[name])
        new = sorted({analysed.tokens[i] for i in used.tolist()} - known.keys())
        new_col = {t: n_cols + j for j, t in enumerate(new)}
        remap = np.full(n_tok, -1, np.int32)
        remap[used] = [known.get(analysed.tokens[i], new_col.get(analysed.tokens[i])) for i in used.tolist()]
        width = n_cols + len(new)
        new_df = np.zeros(len(new), np.int64)
        is_new = remap[used] >= n_cols
        new_df[remap[used[is_new]] - n_cols] = df[used[is_new]]
        idf = np.concatenate([np.asarray(base_idf[name], np.float32), smooth_idf(new_df, n_base)])
        out["idf"][name], out["new_terms"][name] = idf, new
        weigh_field(out, name, q, a, art_terms, remap, width, idf, ranking, avglen)
    out["row_article"] = row_article
    return out


def _link(src: Path, dst: Path) -> None:
    """A hard link to a base file; a copy where links are impossible (another file system)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
        with open(dst, "rb") as f:
            os.fsync(f.fileno())


def _write(out_dir: Path, base: _Base, corpus: Corpus, analyzer, arrays: dict, order: np.ndarray, key: str,
           dict_files: dict, ranking: dict, seconds: float) -> tuple[str, Path]:
    version, tmp = new_version_dir(out_dir, key)
    try:
        return version, _write_delta_files(out_dir, base, corpus, analyzer, arrays, order, key, dict_files, ranking,
                                           seconds, version, tmp)
    except BaseException:
        # As a full build's: a retry after freeing a full disk must not meet this half-written copy.
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_delta_files(out_dir: Path, base: _Base, corpus: Corpus, analyzer, arrays: dict, order: np.ndarray, key: str,
                       dict_files: dict, ranking: dict, seconds: float, version: str, tmp: Path) -> Path:
    checksums = dict(base.files)
    for name in base.files:
        _link(base.vdir / name, tmp / name)
    published = base.manifest
    if "reranker.json" in published["files"]:  # the published reranker, kept (see module doc)
        _link(base.vdir / "reranker.json", tmp / "reranker.json")
        checksums["reranker.json"] = published["files"]["reranker.json"]
    write_dict_files(tmp, dict_files, checksums)
    (tmp / "delta" / "arrays").mkdir(parents=True)
    npy = {"order": order}
    for name in FIELDS:
        npy[f"idf.{name}"] = arrays["idf"][name]
        _save_csc(npy, f"questions.{name}", arrays["questions"][name])
        _save_csc(npy, f"article_terms.{name}", arrays["article_terms"][name], "csr")
        if name in arrays["answers"]:
            _save_csc(npy, f"answers.{name}", arrays["answers"][name])
    npy["row_article"] = arrays["row_article"]
    sums, offsets = write_article_texts(corpus, analyzer, tmp / "delta", tmp / "delta" / "arrays")
    checksums.update({f"delta/{name}": sha for name, sha in sums.items()})
    checksums.update({f"delta/arrays/{name}.npy": sha for name, sha in offsets.items()})
    for name, arr in npy.items():
        checksums[f"delta/arrays/{name}.npy"] = _write_npy(tmp / "delta" / "arrays" / f"{name}.npy", arr)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    checksums["delta/meta.json"] = _write_file(tmp / "delta" / "meta.json", encode(
        article_meta(corpus) | {"vocab": arrays["new_terms"]}).encode("utf-8"))
    manifest = manifest_head(DELTA_FORMAT, version, seconds, key, corpus, analyzer, ranking) | {
        "articles": int(order.size),
        "question_rows": base.rows + int(arrays["row_article"].size),
        "vocabulary": {f: int(arrays["idf"][f].size) for f in FIELDS},
        "avglen": base.avglen,
        "reranker": published.get("reranker"),
        "files": checksums,
        "base": {"version": base.version, "articles": base.articles, "question_rows": base.rows,
                 "avglen": base.avglen, "files": sorted(base.files)},
        "delta": {"articles": len(corpus.articles), "question_rows": int(arrays["row_article"].size),
                  "hidden_base_articles": base.articles - int((order >= 0).sum())},
    }
    return finish_version(out_dir, version, tmp, manifest)


# --- load: one view over both segments ---------------------------------------------------------

class MergedArticles:
    """The articles (or their answers' starts) of an incremental version in corpus order, each
    from its segment."""

    def __init__(self, base, delta, order: np.ndarray):
        self._base, self._delta, self._order = base, delta, order

    def __len__(self) -> int:
        return self._order.size

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        o = int(self._order[i])
        return self._base[o] if o >= 0 else self._delta[-1 - o]

    def __iter__(self):
        return (self[i] for i in range(len(self)))


class ConcatRows:
    """Row texts of the base's rows, then the delta's."""

    def __init__(self, base, delta):
        self._base, self._delta, self._n = base, delta, len(base)

    def __len__(self) -> int:
        return self._n + len(self._delta)

    def segments(self) -> list[tuple[np.ndarray, np.ndarray, int]]:
        return [*self._base.segments(), *((b, o, first + self._n) for b, o, first in self._delta.segments())]

    def __getitem__(self, i):
        if type(i) is int and 0 <= i:  # one row: explanations read ≈ 40 a search (≈ 1.5 µs saved each)
            return self._base[i] if i < self._n else self._delta[i - self._n]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = range(len(self))[i]
        return self._base[i] if i < self._n else self._delta[i - self._n]


def merge_segments(base: IndexData, delta: IndexData, meta: dict) -> IndexData:
    """One IndexData over an incremental version's two segments (their arrays stay mapped)."""
    vocab = base.vocab  # the object both segments hold: the new terms extend it for both
    for f in FIELDS:
        n = len(vocab[f])
        vocab[f].update({t: n + j for j, t in enumerate(meta["vocab"][f])})
        if len(vocab[f]) != delta.idf[f].size or delta.questions[f].shape[1] != delta.idf[f].size:
            raise IndexError_(f"index {base.version}: the delta's vocabulary does not match the base's")
    base.idf = delta.idf
    order = np.asarray(np.load(delta.path / "delta" / "arrays" / "order.npy", allow_pickle=False), np.int64)
    n_base, n_delta = len(base.articles), len(delta.articles)
    kept = order >= 0
    base_to_here = np.full(n_base, -1, np.int64)
    base_to_here[order[kept]] = np.flatnonzero(kept)
    delta_to_here = np.full(n_delta, -1, np.int64)
    delta_to_here[-1 - order[~kept]] = np.flatnonzero(~kept)
    if (order >= n_base).any() or (order < -n_delta).any() or (delta_to_here < 0).any() \
            or int((base_to_here >= 0).sum()) != int(kept.sum()):
        raise IndexError_(f"index {base.version}: the article order does not match the segments")
    columns = {}
    for k in ("id", "category", "tags"):
        b, d = base.columns[k], delta.columns[k]
        columns[k] = [b[o] if o >= 0 else d[-1 - o] for o in order.tolist()]
    # The former ids of the base's articles still here (a replaced one's are the delta's now).
    still = {base.columns["id"][o] for o in order[kept].tolist()}
    aliases = {alias: i for alias, i in base.aliases.items() if i in still} | delta.aliases
    row_article = np.concatenate([base_to_here[np.asarray(base.row_article)], delta_to_here[np.asarray(delta.row_article)]])
    return IndexData(
        version=base.version, manifest=base.manifest, articles=MergedArticles(base.articles, delta.articles, order),
        categories=delta.categories, vocab=vocab, idf=delta.idf, questions={}, answers={},
        row_article=row_article, row_text=ConcatRows(base.row_text, delta.row_text), path=base.path,
        answer_heads=None if base.answer_heads is None or delta.answer_heads is None
        else MergedArticles(base.answer_heads, delta.answer_heads, order),
        spelled_rows=None if base.spelled_rows is None or delta.spelled_rows is None
        else ConcatRows(base.spelled_rows, delta.spelled_rows),
        reranker=base.reranker, popular=delta.popular, scope=delta.scope, article_terms=None, columns=columns,
        aliases=aliases, segments=[(base, base_to_here, 0), (delta, delta_to_here, len(base.row_text))],
    )
