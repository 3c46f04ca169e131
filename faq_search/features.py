"""Analysed features as integer ids, cached per text, and the count matrices built from them.

jieba is the slow part of a build, and after it turning millions of feature strings into
matrix columns: so each question text and each answer is analysed once, its features stored
as ids into one token table, and a rebuild assembles count matrices from those ids with NumPy
(no strings touched for unchanged texts).

Cache file ``cache/analysis-<fingerprint>.npz`` (plain arrays, ``allow_pickle=False``):

    tokens      UTF-8 JSON list: id → feature string
    q_keys      UTF-8 JSON list of question texts; q_word/q_char ragged id lists per text
    a_keys      16-byte BLAKE2b digests of answer texts; a_char ragged id lists per answer

A ragged list is ``<name>.off`` (int64, n + 1) and ``<name>.ids`` (int32).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import multiprocessing
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp

from .analysis import Analyzer

__all__ = ["Ragged", "TokenCache", "Analysed", "analyse_texts", "count_matrix", "answer_key", "fork_pool"]

CACHE_FORMAT = 1
# Set only in the parent right before forking a pool: workers inherit the initialised
# jieba dictionary instead of re-loading it (≈1 s each) or pickling it.
_POOL_ANALYZER: Analyzer | None = None
PARALLEL_MIN_TEXTS = 4000
CHUNK = 1000


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz cache file, read whole. Raises OSError when it cannot be read and
    ValueError when it is damaged (a truncated file is not a zip at all: zipfile's own error)."""
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            return {name: z[name] for name in z.files}
    except (zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"{path} is damaged: {e}") from None


def write_npz(path: Path, tmp: Path, arrays: dict[str, np.ndarray]) -> None:
    """``arrays`` into ``path`` through ``tmp`` and a rename: a crash leaves the old file or none, and a
    write that fails (a full disk) leaves no temporary file behind either."""
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass
class Ragged:
    """Variable-length id lists: list i is ``ids[off[i]:off[i + 1]]``."""

    off: np.ndarray  # int64, len n + 1
    ids: np.ndarray  # int32

    @classmethod
    def empty(cls) -> "Ragged":
        return cls(np.zeros(1, np.int64), np.empty(0, np.int32))

    def __len__(self) -> int:
        return self.off.size - 1

    def take(self, idx, block: int = 1 << 18) -> "Ragged":
        """The lists at ``idx``, in that order (gathered in blocks: no full-size int64 temporary)."""
        idx = np.asarray(idx, np.int64)
        if idx.size == len(self) and (idx.size == 0 or (idx[0] == 0 and np.all(np.diff(idx) == 1))):
            return self
        starts = self.off[idx]
        lengths = self.off[idx + 1] - starts
        off = np.zeros(idx.size + 1, np.int64)
        np.cumsum(lengths, out=off[1:])
        ids = np.empty(int(off[-1]), np.int32)
        for i in range(0, idx.size, block):
            j = min(i + block, idx.size)
            n = int(off[j] - off[i])
            pos = np.repeat(starts[i:j] - (off[i:j] - off[i]), lengths[i:j]) + np.arange(n, dtype=np.int64)
            ids[off[i] : off[j]] = self.ids[pos]
        return Ragged(off, ids)

    @staticmethod
    def concat(parts: list["Ragged"]) -> "Ragged":
        parts = [p for p in parts if len(p)]
        if not parts:
            return Ragged.empty()
        if len(parts) == 1:
            return parts[0]
        lengths = np.concatenate([np.diff(p.off) for p in parts])
        off = np.zeros(lengths.size + 1, np.int64)
        np.cumsum(lengths, out=off[1:])
        return Ragged(off, np.concatenate([p.ids for p in parts]).astype(np.int32, copy=False))


def answer_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def _blob(obj) -> np.ndarray:
    return np.frombuffer(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), np.uint8)


def _unblob(arr: np.ndarray):
    return json.loads(arr.tobytes().decode("utf-8"))


class TokenCache:
    """Feature ids per question text (word and char features) and per answer (char features)."""

    def __init__(self, tokens: list[str], q_keys: list[str], q_word: Ragged, q_char: Ragged,
                 a_keys: list[bytes], a_char: Ragged):
        self.tokens = tokens
        self.token_id = {t: i for i, t in enumerate(tokens)}
        self.q_keys, self.q_word, self.q_char = q_keys, q_word, q_char
        self.a_keys, self.a_char = a_keys, a_char
        self.q_index = {t: i for i, t in enumerate(q_keys)}
        self.a_index = {k: i for i, k in enumerate(a_keys)}

    @classmethod
    def empty(cls) -> "TokenCache":
        return cls([], [], Ragged.empty(), Ragged.empty(), [], Ragged.empty())

    @classmethod
    def load(cls, path: Path) -> "TokenCache":
        """The cache at ``path``; an empty one when it is missing or unreadable (it is only a cache)."""
        try:
            z = read_npz(path)
            if int(z["format"]) != CACHE_FORMAT:
                return cls.empty()
            rag = lambda name: Ragged(z[f"{name}.off"], z[f"{name}.ids"])
            return cls(_unblob(z["tokens"]), _unblob(z["q_keys"]), rag("q_word"), rag("q_char"),
                       [bytes(k) for k in z["a_keys"].reshape(-1, 16)], rag("a_char"))
        except (OSError, ValueError, KeyError, UnicodeDecodeError):
            return cls.empty()

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename); a crash leaves the old cache or none."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
        arrays = {"format": np.asarray(CACHE_FORMAT), "tokens": _blob(self.tokens), "q_keys": _blob(self.q_keys),
                  "a_keys": np.frombuffer(b"".join(self.a_keys), np.uint8)}
        for name in ("q_word", "q_char", "a_char"):
            r = getattr(self, name)
            arrays[f"{name}.off"], arrays[f"{name}.ids"] = r.off, r.ids
        write_npz(path, tmp, arrays)

    def add_tokens(self, table: list[str]) -> np.ndarray:
        """Global ids of a chunk's local token table (new tokens are appended)."""
        tid, tokens = self.token_id, self.tokens
        out = np.empty(len(table), np.int32)
        for i, t in enumerate(table):
            j = tid.get(t)
            if j is None:
                j = tid[t] = len(tokens)
                tokens.append(t)
            out[i] = j
        return out


# --- analysis in a pool of processes ----------------------------------------------------------

def _encode(lists: list[list[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(local token table, offsets, local ids) of a chunk's feature lists: cheap to send back."""
    local: dict[str, int] = {}
    ids, off = [], [0]
    for feats in lists:
        ids.extend(local.setdefault(t, len(local)) for t in feats)
        off.append(len(ids))
    return list(local), np.asarray(off, np.int64), np.asarray(ids, np.int32)


def _analyse_questions(texts: list[str]):
    words, chars = [], []
    for text in texts:
        a = _POOL_ANALYZER.analyze(text)
        words.append(a.words)
        chars.append(a.chars)
    return _encode(words), _encode(chars)


def _analyse_answers(texts: list[str]):
    return (_POOL_ANALYZER.texts_chars(texts),)


class Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, label: str, stream=None):
        self.stream = stream
        self.enabled = total >= 2000 and stream is not None and hasattr(stream, "isatty") and stream.isatty()
        self.total, self.label, self.done, self.last = total, label, 0, 0.0

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self.last > 0.1 or self.done >= self.total):
            self.last = now
            bar = "#" * int(self.done / max(self.total, 1) * 30)
            self.stream.write(f"\r{self.label} [{bar:<30}] {self.done}/{self.total}")
            if self.done >= self.total:
                self.stream.write("\n")
            self.stream.flush()


@contextlib.contextmanager
def fork_pool(workers: int):
    """A pool of forked processes (they inherit module state set just before, instead of pickling
    it); closed on success, so workers exit on their own, terminated only on failure."""
    # The parent's objects are kept out of the workers' collections: a collection walking them writes to
    # (so copies) every page holding one, ≈ 0.5 GiB more per training worker at 100k articles.
    gc.freeze()
    try:
        pool = multiprocessing.get_context("fork").Pool(workers)
    finally:
        gc.unfreeze()
    try:
        yield pool
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def analyse_texts(analyzer: Analyzer, cache: TokenCache, questions: list[str], answers: list[str],
                  workers: int, bar: Progress, then: Callable[[], None] | None = None) -> tuple[list[Ragged], list[Ragged]]:
    """Analyse ``questions`` (word, char features) and ``answers`` (char features), chunked over a
    fork pool; returns ([word, char] ragged lists per question, [char] per answer) in cache ids.
    ``then`` is called when every text is analysed, before the results are turned into cache ids."""
    global _POOL_ANALYZER
    _POOL_ANALYZER = analyzer
    jobs = [(_analyse_questions, questions[i : i + CHUNK]) for i in range(0, len(questions), CHUNK)]
    jobs += [(_analyse_answers, answers[i : i + CHUNK]) for i in range(0, len(answers), CHUNK)]
    results = []
    try:
        if workers <= 1 or len(questions) + len(answers) < PARALLEL_MIN_TEXTS:
            results = [fn(chunk) for fn, chunk in jobs]
        else:
            with fork_pool(workers) as pool:
                pending = [pool.apply_async(fn, (chunk,)) for fn, chunk in jobs]
                for (_fn, chunk), p in zip(jobs, pending):
                    results.append(p.get())
                    bar.advance(len(chunk))
    finally:
        _POOL_ANALYZER = None
    if then is not None:
        then()
    q_parts: list[list[Ragged]] = [[], []]
    a_parts: list[Ragged] = []
    for (fn, _chunk), result in zip(jobs, results):
        for f, (table, off, ids) in enumerate(result):
            r = Ragged(off, cache.add_tokens(table)[ids] if ids.size else ids)
            (a_parts if fn is _analyse_answers else q_parts[f]).append(r)
    return [Ragged.concat(p) for p in q_parts], [Ragged.concat(a_parts)]


@dataclass
class Analysed:
    tokens: list[str]  # id → feature string
    rows: dict[str, Ragged]  # per field: feature ids of each question row
    answers: dict[str, Ragged]  # "char": feature ids of each article's answer
    fresh: int  # question texts segmented afresh (not from the cache)
    fresh_answers: int = 0  # answer texts analysed afresh


def count_matrix(r: Ragged, n_cols: int) -> sp.csr_matrix:
    """Rows × token counts (float32) of ragged id lists. Sorts and merges ``r.ids`` in place
    (no copy of the largest array of a build: at 100k a copy of the answers' ids added ≈ 0.3 GiB
    to the peak); a caller that keeps the lists passes a copy."""
    idx = np.int32 if r.ids.size < 2**31 - 1 else np.int64  # one index dtype: scipy copies nothing
    m = sp.csr_matrix((np.ones(r.ids.size, np.float32), r.ids.astype(idx, copy=False), r.off.astype(idx)),
                      shape=(len(r), n_cols))
    m.sum_duplicates()
    return m
