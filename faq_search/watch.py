"""Rebuild and publish the index whenever the corpus changes (`build_index.py --watch`).

Polling, not inotify: it works the same on every file system (network mounts, containers) and a
knowledge base is small enough to stat every second. A burst of edits (saving ten files, a git pull)
becomes one build once the files have been quiet for ``debounce`` seconds. A build that fails (a
broken article) publishes nothing, so the servers keep the previous index; the next edit retries. A
build that fails for another reason (a full disk, a read-only index directory) is tried again without an
edit, after ``retry`` seconds and then twice as long each time: the corpus is fine, and waiting for the
next edit would leave the servers on an old version until someone happens to make one. Nor does one that
finds the corpus as published (a file saved unchanged, an edit undone): its result is
``unchanged`` and the servers keep their version.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Callable

from .analysis import Analyzer
from .build import build_index, check_index
from .corpus import CorpusError, article_files
from .index import BuildResult, analyzer_for, dict_files_for

__all__ = ["CorpusWatcher"]

Snapshot = dict[str, tuple[int, int, int]]  # path → (mtime_ns, size, inode)
MAX_RETRY = 600.0  # seconds: the longest wait between retries of a build that failed for no edit


class CorpusWatcher:
    def __init__(self, corpus: str | Path, out: str | Path, dict_dir: str | Path | None = None, *,
                 debounce: float = 1.0, max_delay: float | None = None,
                 on_built: Callable[[BuildResult], None] = lambda result: None,
                 on_failed: Callable[[Exception], None] = lambda error: None,
                 on_wait: Callable[[str], None] | None = None,
                 analyzer: Analyzer | None = None, clock: Callable[[], float] = time.monotonic,
                 retry: float = 30.0):
        """``max_delay`` (default 10 × debounce) bounds the wait while edits keep coming. ``retry``: seconds
        before a build that failed but not for the corpus is tried again (doubling up to MAX_RETRY).
        ``analyzer`` is used for every build; without one it is rebuilt when the dictionary changes."""
        self.corpus, self.out = Path(corpus), Path(out)
        self.dict_dir = Path(dict_dir) if dict_dir else None
        self.dict_files = dict_files_for(self.corpus, self.dict_dir)
        self.debounce = debounce
        self.max_delay = max_delay if max_delay is not None else 10 * debounce
        self.on_built, self.on_failed, self.on_wait = on_built, on_failed, on_wait
        self._fixed_analyzer = analyzer
        self._analyzer: tuple[str, Analyzer] | None = None  # (dictionary hash, analyzer)
        self._clock = clock
        self._seen = self.snapshot()
        self._first_change: float | None = None  # first change not yet built
        self._last_change: float | None = None
        self.retry = retry
        self._retry_in: float | None = None  # the wait before the next retry, while builds fail for no edit
        self._retry_at: float | None = None

    def watched(self) -> list[Path]:
        """The files a build reads: articles, categories.yml, popular.yml, scope.yml (or the .jsonl
        file), the dictionary."""
        if self.corpus.is_dir():
            # The files the build reads or reports (a misnamed one: renaming it is a change); not the
            # editors' lock and swap files, which come and go with every open buffer.
            articles, misnamed = article_files(self.corpus)
            files = articles + misnamed + [self.corpus / f for f in ("categories.yml", "popular.yml", "scope.yml")]
        else:
            files = [self.corpus]
        return files + [p for p in self.dict_files.values() if p is not None]

    def snapshot(self) -> Snapshot:
        snap = {}
        for path in self.watched():
            try:
                st = path.stat()
            except OSError:
                try:  # a dangling link fails the build: its removal must be seen as a change
                    st = path.lstat()
                except OSError:  # absent, or deleted between listing and stat
                    continue
            snap[str(path)] = (st.st_mtime_ns, st.st_size, st.st_ino)
        return snap

    def poll(self) -> BuildResult | Exception | None:
        """Look once; build when changes have settled. Returns the build's result or error, else None."""
        now = self._clock()
        snap = self.snapshot()
        if snap != self._seen:
            self._seen = snap
            self._last_change = now
            if self._first_change is None:
                self._first_change = now
            if now - self._first_change < self.max_delay:
                return None
        if self._first_change is None:
            if self._retry_at is not None and now >= self._retry_at:
                return self.build()
            return None
        if now - self._last_change < self.debounce and now - self._first_change < self.max_delay:
            return None
        self._first_change = self._last_change = None
        return self.build()

    def build(self) -> BuildResult | Exception:
        """Build and publish now (nothing when the corpus is as published: ``result.unchanged``); any
        error is reported, not raised: the watcher must keep running."""
        try:
            result = build_index(self.corpus, self.out, self.dict_dir, analyzer=self._current_analyzer(),
                                 on_wait=self.on_wait)
        except Exception as e:  # noqa: BLE001 — a CorpusError usually; the published index is untouched
            if isinstance(e, CorpusError):  # the next edit retries
                self._retry_in = self._retry_at = None
            else:
                self._retry_in = self.retry if self._retry_in is None else min(2 * self._retry_in, MAX_RETRY)
                self._retry_at = self._clock() + self._retry_in
            self.on_failed(e)
            return e
        self._retry_in = self._retry_at = None
        self.on_built(result)
        return result

    def build_if_stale(self) -> BuildResult | Exception | None:
        try:
            fresh, _reason = check_index(self.corpus, self.out, self.dict_dir, analyzer=self._current_analyzer())
        except Exception as e:  # noqa: BLE001 — a broken corpus at start: report, then wait for edits
            self.on_failed(e)
            return e
        return None if fresh else self.build()

    def run(self, interval: float = 1.0, stop: threading.Event | None = None, check_first: bool = True) -> None:
        """Build if the index is stale (unless ``check_first`` is false), then poll every ``interval``
        seconds until ``stop`` is set. Edits made meanwhile are seen: the baseline is from __init__."""
        stop = stop or threading.Event()
        if check_first:
            self.build_if_stale()
        while not stop.wait(interval):
            self.poll()

    def _current_analyzer(self) -> Analyzer:
        if self._fixed_analyzer is not None:
            return self._fixed_analyzer
        h = hashlib.sha256()
        for path in self.dict_files.values():
            try:
                h.update(Path(path).read_bytes() if path else b"")
            except OSError:
                pass
            h.update(b"\0")
        if self._analyzer is None or self._analyzer[0] != h.hexdigest():
            # jieba takes a second to load a dictionary: only when it changed.
            self._analyzer = (h.hexdigest(), analyzer_for(self.dict_files))
        return self._analyzer[1]
