"""Completion data published beside an index version, so servers map it instead of building it.

Building a Suggester reads every phrasing's pinyin: ≈ 18 s of CPU at 100k articles, which every
server process paid at start and again for each new version. The builder now writes the arrays once
per version to ``completions/<version>/`` (a temporary directory renamed into place, every file
checksummed), made in a forked process alongside the index build (an incremental build's child
reads only the changed articles). A server memory-maps them, so its workers share one copy.

The directory sits beside ``versions/``, not inside the immutable version. Its manifest holds a key of
what completions are made of (every article's id, category and question phrasings, in order): a version
whose key an earlier version's completions have (only answers changed, the common edit) gets hard links
to their files instead of a new build. An incremental version's completions are layers, as the version is:
its base's files as hard links (``base/``), the articles added or changed since the base (``delta/``), and
where each article of either sits in the version (``LayeredSuggester``), so a changed question costs
reading its few articles, not copying every phrase's forms.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .corpus import Article
from .index import (
    CHILD_TIMEOUT, IndexData, _file_sha256, _fsync_path, _write_file, _write_npy, analyzer_for, load_index, mapped_files,
    read_current, row_texts,
)
from .suggest import LayeredSuggester, Suggester

log = logging.getLogger(__name__)

DIRNAME = "completions"
FORMAT = 1  # raise it when what a Suggester stores or how it normalises changes: keys then differ


@dataclass(frozen=True)
class Phrasings:
    """What completions read of an article: its question rows (standard question, or the answer's lead
    sentence for an answer-only entry, first)."""

    id: str
    question: str
    category: str
    questions: tuple[str, ...]


def completions_dir(index_dir: str | Path, version: str) -> Path:
    return Path(index_dir) / DIRNAME / version


def _canonical_rows(data: IndexData) -> np.ndarray:
    """The question rows of the version's articles, by article, each article's in its order (an
    incremental version also holds the replaced rows of its base, owned by no article: −1)."""
    owner = np.asarray(data.row_article, np.int64)
    live = np.flatnonzero(owner >= 0)
    return live[np.argsort(owner[live], kind="stable")]


def _row_runs(row_text, rows: np.ndarray) -> tuple[list, np.ndarray]:
    """The UTF-8 bytes of ``rows`` one after the other, as views of the mapped row files (one per run of
    rows stored side by side: one for a full version, a few for an incremental one), and each row's
    length. Nothing is copied or decoded: the key of a 100k version takes ≈ 35 ms (300k: 90 ms), where
    gathering the bytes first took 0.13 s (0.40 s) of every rebuild."""
    if not hasattr(row_text, "segments"):
        encoded = [row_text[int(i)].encode("utf-8") for i in rows]
        return [b"".join(encoded)], np.array([len(e) for e in encoded], np.int64)
    segments = row_text.segments()
    starts, ends, which = (np.zeros(rows.size, np.int64) for _ in range(3))
    for k, (_blob, off, first) in enumerate(segments):
        sel = (rows >= first) & (rows < first + off.size - 1)
        local = rows[sel] - first
        starts[sel], ends[sel], which[sel] = off[local], off[local + 1], k
    # A run ends where the next row is in another segment or does not follow in the same blob.
    breaks = np.flatnonzero((which[1:] != which[:-1]) | (starts[1:] != ends[:-1])) + 1
    first_rows = np.concatenate([[0], breaks]) if rows.size else np.empty(0, np.int64)
    last_rows = np.concatenate([breaks - 1, [rows.size - 1]]) if rows.size else np.empty(0, np.int64)
    chunks = [segments[k][0][s:e] for k, s, e in zip(which[first_rows].tolist(), starts[first_rows].tolist(),
                                                       ends[last_rows].tolist())]
    return chunks, ends - starts


def _key(ids: list[str], categories: list[str], owners: np.ndarray, lengths: np.ndarray, text_chunks) -> str:
    h = hashlib.sha256(json.dumps([FORMAT, ids, categories], ensure_ascii=False).encode("utf-8"))
    h.update(np.ascontiguousarray(owners, np.int64).tobytes())
    h.update(np.ascontiguousarray(lengths, np.int64).tobytes())
    for chunk in text_chunks:
        h.update(chunk)
    return h.hexdigest()


def content_key(data: IndexData) -> str:
    """A digest of everything a version's completions are built from."""
    rows = _canonical_rows(data)
    chunks, lengths = _row_runs(data.row_text, rows)
    return _key(data.columns["id"], data.columns["category"], np.asarray(data.row_article, np.int64)[rows], lengths, chunks)


def corpus_phrasings(articles: list[Article]) -> list[Phrasings]:
    """What completions read of a loaded corpus: the question rows its index will hold."""
    out = []
    for a in articles:
        rows = row_texts(a)
        out.append(Phrasings(a.id, rows[0] if rows else "", a.category, tuple(rows)))
    return out


def phrasings_key(phrasings: list[Phrasings]) -> str:
    """``content_key`` of the version these phrasings will be published in, before it exists."""
    encoded = [q.encode("utf-8") for p in phrasings for q in p.questions]
    owners = np.repeat(np.arange(len(phrasings)), [len(p.questions) for p in phrasings])
    return _key([p.id for p in phrasings], [p.category for p in phrasings], owners,
                np.array([len(e) for e in encoded], np.int64), encoded)


def index_suggester(data: IndexData, normalize: Callable[[str], str], previous: Suggester | None = None) -> Suggester:
    """The Suggester of a loaded version, from its question rows (no article is decoded); with
    ``previous`` (an earlier version's), the forms of phrases it holds are copied from it."""
    if data.columns is None:  # a version from before per-article columns
        return Suggester(data.articles, normalize)
    rows = _canonical_rows(data)
    owners = np.asarray(data.row_article, np.int64)[rows].tolist()
    ids, categories = data.columns["id"], data.columns["category"]
    texts: list[list[str]] = [[] for _ in ids]
    # The rows' bytes in runs (views of the mapped files), cut and decoded here: ≈ 4× faster than
    # asking the row store for each of 400k rows.
    chunks, lengths = _row_runs(data.row_text, rows)
    raw = b"".join(bytes(c) for c in chunks) if len(chunks) != 1 else bytes(chunks[0])
    ends = np.cumsum(lengths).tolist()
    start = 0
    for art, end in zip(owners, ends):
        texts[art].append(raw[start:end].decode("utf-8"))
        start = end
    phrasings = [Phrasings(ids[a], t[0] if t else "", categories[a], tuple(t)) for a, t in enumerate(texts)]
    return Suggester(phrasings, normalize) if previous is None else Suggester.reusing(previous, phrasings, normalize)


def latest_completions(index_dir: str | Path, normalize: Callable[[str], str], but: str | None = None
                       ) -> Suggester | LayeredSuggester | None:
    """The newest readable completions published in ``index_dir`` (other than ``but``'s), mapped;
    None when there are none. A new version's are built from them: an edit changes few phrases."""
    root = Path(index_dir) / DIRNAME
    for other in sorted(root.iterdir(), reverse=True) if root.is_dir() else ():
        if other.name.startswith(".") or other.name == but:
            continue
        try:
            found = load_completions(index_dir, other.name, normalize)
        except ValueError as e:  # corrupt, or written by another FORMAT: read every phrase afresh
            log.info("completions of %s not reused: %s", other.name, e)
            continue
        if found is not None:
            return found
    return None


def publish_completions(index_dir: str | Path, version: str, normalize: Callable[[str], str] | None = None,
                        layer: Callable[[], tuple[Path, dict] | None] | None = None) -> tuple[Path, bool]:
    """Write the completions of published ``version``: (directory, whether an earlier version's were reused).
    ``layer()``: (directory, its ``files.json``) of the changed articles' completions made by a
    ``CompletionsBuild``, asked for only when an incremental version needs them and used when its
    changed phrasings are theirs."""
    data = load_index(index_dir, version, verify=False)  # just written by this process
    key = content_key(data)
    earlier = _published_with_key(index_dir, key, but=version)
    if earlier is not None:
        return _write_dir(index_dir, version, key, linked=earlier), True
    if normalize is None:  # normalising needs no dictionary: jieba is never loaded here
        dict_dir = data.path / "dict"
        normalize = analyzer_for({"user_words.txt": dict_dir / "user_words.txt",
                                  "synonyms.txt": dict_dir / "synonyms.txt"}, lazy=True).normalize
    if data.segments is not None:
        return _write_layered(index_dir, version, key, data, normalize, layer), False
    previous = latest_completions(index_dir, normalize, but=version)
    return write_completions(index_dir, version, index_suggester(data, normalize, previous), key), False


def _published_manifests(index_dir: str | Path, but: str | None = None):
    """(directory, manifest) of each readable completions directory of this FORMAT, newest first."""
    root = Path(index_dir) / DIRNAME
    for other in sorted(root.iterdir(), reverse=True) if root.is_dir() else ():
        if other.name.startswith(".") or other.name == but:
            continue
        try:
            manifest = json.loads((other / "manifest.json").read_text("utf-8"))
            if isinstance(manifest, dict) and manifest.get("format") == FORMAT and isinstance(manifest.get("files"), dict):
                yield other, manifest
        except (OSError, ValueError):
            continue  # unreadable or gone meanwhile: build instead


def _published_with_key(index_dir: str | Path, key: str, but: str | None = None) -> tuple[Path, dict] | None:
    """(directory, manifest) of completions already written for content ``key``, if any."""
    return next(((d, m) for d, m in _published_manifests(index_dir, but) if m.get("key") == key), None)


def _base_layer(index_dir: str | Path, base_key: str, but: str | None = None) -> tuple[Path, dict] | None:
    """(directory, files) of whole completions of content ``base_key``: a full build's directory, or
    the base layer of an incremental version's (which outlives the base version's own)."""
    for d, m in _published_manifests(index_dir, but):
        if m.get("key") == base_key and "layers" not in m:
            return d, dict(m["files"])
        if (m.get("layers") or {}).get("base_key") == base_key:
            return d / "base", {n.removeprefix("base/"): h for n, h in m["files"].items() if n.startswith("base/")}
    return None


def _write_layered(index_dir: str | Path, version: str, key: str, data: IndexData,
                   normalize: Callable[[str], str], layer: Callable[[], tuple[Path, dict] | None] | None = None) -> Path:
    """The completions of incremental ``version`` as layers (LayeredSuggester): its base's files as
    hard links, and those of the articles added or changed since the base (≤ 1 % of them), read here.
    When no completions of the base are left (pruned with an older version, or never written), its
    layer is made here once, from the latest completions, and the next versions link it. ``layer()``:
    the changed articles' layer as a CompletionsBuild wrote it (directory, files.json), if it has them."""
    (base, base_position, _), (delta, delta_position, _) = data.segments
    base_key = content_key(base)
    source = _base_layer(index_dir, base_key, but=version)
    with _removed_on_failure(_new_tmp(index_dir, version)) as tmp:
        if source is not None:
            files = _link_files(source, tmp / "base")
        else:
            (tmp / "base").mkdir()
            previous = latest_completions(index_dir, normalize, but=version)
            files = _write_files(tmp / "base", *index_suggester(base, normalize, previous).to_arrays())
        files = {f"base/{name}": digest for name, digest in files.items()}
        (tmp / "delta").mkdir()
        made = layer() if layer is not None else None
        if made is not None and made[1]["files"] is not None and made[1]["key"] == content_key(delta):
            layer_files = made[1]["files"]
            for name in layer_files:
                os.replace(made[0] / name, tmp / "delta" / name)
        else:
            layer_files = _write_files(tmp / "delta", *index_suggester(delta, normalize).to_arrays())
        files.update({f"delta/{name}": digest for name, digest in layer_files.items()})
        files["base_position.npy"] = _write_npy(tmp / "base_position.npy", np.asarray(base_position, np.int64))
        files["delta_position.npy"] = _write_npy(tmp / "delta_position.npy", np.asarray(delta_position, np.int64))
        return _finish_dir(index_dir, version, tmp, key, files, layers={"base_key": base_key})


# Corpora from this many articles get their completions built in a forked process while the index
# is built; smaller ones build them after publishing (well under a second).
FORK_MIN_ARTICLES = 5000


class CompletionsBuild:
    """Completions made in a forked process while the index is built, then published for the new version
    by ``finish`` (which falls back to ``publish_completions``).

    * A full build's, of its whole corpus: at 100k articles the index build leaves a core idle for much
      of its ≈ 45 s, and the completions (≈ 16 s of one core) fit in there instead of following it.
    * An incremental build's layer of changed articles (``layer``): a few phrasings, but reading their
      pinyin first imports pypinyin (≈ 0.3 s), a sixth of a one-question rebuild at 100k, which the
      child pays while this process writes the version."""

    def __init__(self, index_dir: str | Path, articles: list[Article], normalize: Callable[[str], str],
                 fork: bool = True, layer: bool = False):
        self.index_dir, self.normalize, self.layer = Path(index_dir), normalize, layer
        self.process = self.tmp = None
        if fork and (layer or len(articles) >= FORK_MIN_ARTICLES):
            root = self.index_dir / DIRNAME
            root.mkdir(parents=True, exist_ok=True)
            self.tmp = root / f".tmp-build-{os.getpid()}"
            if self.tmp.exists():
                shutil.rmtree(self.tmp)
            self.tmp.mkdir()
            # Imported here, not in the child, when another thread runs: a fork copies only the forking
            # thread, and an import lock another thread held at that moment would stay locked in the child.
            if not layer or threading.active_count() > 1:
                import pypinyin.seg.simpleseg  # noqa: F401

            # Forked: the child reads the parent's articles and normaliser as they are, nothing pickled,
            # and gathers their phrasings and key itself (≈ 0.7 s at 100k the build no longer waits for).
            self.process = multiprocessing.get_context("fork").Process(
                target=_write_arrays, args=(self.tmp, self.index_dir, articles, normalize, not layer),
                name="completions", daemon=True)
            self.process.start()

    def wait(self) -> None:
        """Let the child finish (it peaks at its end, ≈ 0.9 GiB at 100k articles, sorting its gram
        index), so that the caller's own peak, which follows, does not come on top of it."""
        if self.process is not None:
            self.process.join(CHILD_TIMEOUT)

    def finish(self, version: str) -> tuple[Path, bool]:
        """Publish the completions of ``version`` (just published from this corpus)."""
        if self.layer:
            try:
                # Waited for only if the layer is needed: not when only answers changed (linked instead).
                return publish_completions(self.index_dir, version, self.normalize, layer=self._layer)
            finally:
                self.cancel()
        built = self._built()
        if built is not None and built["files"] is None:  # this content's completions were published already
            self.cancel()
            return publish_completions(self.index_dir, version, self.normalize)
        if built is not None and content_key(load_index(self.index_dir, version, verify=False)) == built["key"]:
            with _removed_on_failure(self.tmp):
                (self.tmp / "files.json").unlink()
                return _finish_dir(self.index_dir, version, self.tmp, built["key"], built["files"]), False
        if self.process is not None:
            log.warning("completions built alongside the index are unusable (exit code %s); building them again",
                        self.process.exitcode)
        self.cancel()
        return publish_completions(self.index_dir, version, self.normalize)

    def _layer(self) -> tuple[Path, dict] | None:
        built = self._built()
        return None if built is None else (self.tmp, built)

    def _built(self) -> dict | None:
        """The child's ``files.json`` once it has finished; None without a child or when it failed."""
        if self.process is None:
            return None
        self.process.join(CHILD_TIMEOUT)
        if self.process.exitcode != 0 or not (self.tmp / "files.json").is_file():
            return None
        return json.loads((self.tmp / "files.json").read_text("utf-8"))

    def cancel(self) -> None:
        """Stop the child (the index build failed) and remove what it wrote."""
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.process = self.tmp = None


def _write_arrays(tmp: Path, index_dir: Path, articles: list[Article], normalize: Callable[[str], str],
                  reuse: bool = True) -> None:
    """In the forked child: build the Suggester of ``articles`` and write its files, then
    ``files.json`` ({"key", "files": their checksums}; with ``reuse``, "files" null when completions of
    this content were published already, by an earlier version). Not from the latest published completions
    (``Suggester.reusing``): mapping and gathering them here put the build's process tree at 1.9 GiB PSS
    at 100k articles (1.5 GiB reading every phrase), while this child mostly overlaps the index build anyway."""
    # The parent's objects are out of the collector's reach: a collection walking them would write to
    # (and so copy) every page that holds one, ≈ 1 GiB more at 100k articles.
    gc.freeze()
    phrasings = corpus_phrasings(articles)
    key = phrasings_key(phrasings)
    files = None
    if not reuse or _published_with_key(index_dir, key) is None:
        files = _write_files(tmp, *Suggester(phrasings, normalize).to_arrays())
    _write_file(tmp / "files.json", json.dumps({"key": key, "files": files}).encode("utf-8"))


def write_completions(index_dir: str | Path, version: str, suggester: Suggester, key: str | None = None) -> Path:
    """Write ``suggester``'s data for ``version`` atomically; returns its directory."""
    return _write_dir(index_dir, version, key, suggester=suggester)


def _write_dir(index_dir: str | Path, version: str, key: str | None, suggester: Suggester | None = None,
               linked: tuple[Path, dict] | None = None) -> Path:
    with _removed_on_failure(_new_tmp(index_dir, version)) as tmp:
        if linked is not None:
            source, manifest = linked
            files = _link_files((source, manifest["files"]), tmp)
            return _finish_dir(index_dir, version, tmp, key, files, layers=manifest.get("layers"))
        return _finish_dir(index_dir, version, tmp, key, _write_files(tmp, *suggester.to_arrays()))


@contextmanager
def _removed_on_failure(tmp: Path):
    """``tmp``, removed when what writes it fails (a full disk) rather than by the hour-old sweep: a retry
    after freeing space has the room back, as a failed build's half-written version is removed at once."""
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _new_tmp(index_dir: str | Path, version: str) -> Path:
    root = completions_dir(index_dir, version).parent
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{version}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def _link_files(source: tuple[Path, dict], into: Path) -> dict[str, str]:
    """Hard links in ``into`` to the files (name → checksum) of directory ``source``; their checksums."""
    where, files = source
    for name in files:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(where / name, into / name)
        except OSError:  # a file system without hard links
            shutil.copyfile(where / name, into / name)
    return dict(files)


def _write_files(tmp: Path, arrays: dict[str, np.ndarray], lists: dict) -> dict[str, str]:
    files = {f"{name}.npy": _write_npy(tmp / f"{name}.npy", arr) for name, arr in arrays.items()}
    files["lists.json"] = _write_file(tmp / "lists.json", json.dumps(lists, ensure_ascii=False).encode("utf-8"))
    return files


def _finish_dir(index_dir: str | Path, version: str, tmp: Path, key: str | None, files: dict[str, str],
                layers: dict | None = None) -> Path:
    """Write the manifest into the complete temporary directory ``tmp`` and move it into place."""
    final = completions_dir(index_dir, version)
    manifest = {"format": FORMAT, "version": version, "key": key, "files": files}
    if layers is not None:
        manifest["layers"] = layers
    _write_file(tmp / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
    _fsync_path(tmp)
    if final.exists():  # rebuilt for the same version: the new copy replaces it whole
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_path(final.parent)
    prune_completions(index_dir)
    return final


def load_completions(index_dir: str | Path, version: str, normalize=str.lower) -> Suggester | LayeredSuggester | None:
    """The Suggester published for ``version`` (a LayeredSuggester for an incremental version's
    layers); None when there is none (yet). Raises ValueError when its files are corrupt or unreadable."""
    vdir = completions_dir(index_dir, version)
    try:
        manifest = json.loads((vdir / "manifest.json").read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ValueError(f"completions of {version}: unreadable manifest: {e}") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != version:
        raise ValueError(f"completions of {version}: format {manifest.get('format')} for {manifest.get('version')}")
    layered = "layers" in manifest
    arrays: dict[str, dict] = {"": {}, "base/": {}, "delta/": {}}  # by layer ("": a whole Suggester, or positions)
    lists: dict[str, dict] = {}
    for name, digest in manifest.get("files", {}).items():
        path = vdir / name
        layer = next((p for p in ("base/", "delta/") if layered and name.startswith(p)), "")
        try:
            if _file_sha256(path) != digest:
                raise ValueError(f"completions of {version}: checksum mismatch in {name}")
            if name == f"{layer}lists.json":
                lists[layer] = json.loads(path.read_bytes())
            else:
                # A plain ndarray over the mapping: np.memmap's bookkeeping costs on every slice.
                arrays[layer][name[len(layer):].removesuffix(".npy")] = np.load(
                    path, mmap_mode="r", allow_pickle=False).view(np.ndarray)
        except OSError as e:
            raise ValueError(f"completions of {version}: missing file {name}: {e}") from None
    for layer in ("base/", "delta/") if layered else ("",):
        if layer not in lists:
            raise ValueError(f"completions of {version}: no {layer}lists.json")
    try:
        if not layered:
            suggester = Suggester.from_arrays(arrays[""], lists[""], normalize)
        else:
            suggester = LayeredSuggester(Suggester.from_arrays(arrays["base/"], lists["base/"], normalize),
                                         Suggester.from_arrays(arrays["delta/"], lists["delta/"], normalize),
                                         arrays[""]["base_position"], arrays[""]["delta_position"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"completions of {version}: unreadable data: {e!r}") from None
    # Its arrays are mapped: written over in place, they crash the workers as the index's files do.
    suggester.mapped = mapped_files(vdir / name for name in manifest["files"] if name.endswith(".npy"))
    return suggester


def prune_completions(index_dir: str | Path) -> None:
    """Drop the completions of versions no longer kept (and temporary directories over an hour old)."""
    root = Path(index_dir) / DIRNAME
    versions = Path(index_dir) / "versions"
    if not root.is_dir() or not versions.is_dir():
        return
    kept = {p.name for p in versions.iterdir()}
    kept.add(read_current(index_dir) or "")
    for p in root.iterdir():
        if p.name.startswith(".tmp-"):
            if time.time() - p.stat().st_mtime > 3600:
                shutil.rmtree(p, ignore_errors=True)
        elif p.name not in kept:
            shutil.rmtree(p, ignore_errors=True)
