"""Follow an index directory's CURRENT pointer and swap in new versions without a restart."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable, NamedTuple

from .analysis import Analyzer
from .index import (IndexError_, published_versions, read_current, read_pointer, read_retry, request_retry,
                    rollback_command)
from .search import Searcher

log = logging.getLogger(__name__)


class Reload(NamedTuple):
    """What an admin reload did: whether the version served changed, and the version now loading (None: none)."""

    swapped: bool
    loading: str | None


class LiveSearcher:
    """Holds the Searcher of the newest valid published version.

    ``get()`` checks the pointer at most once per ``interval`` seconds. A version
    that fails to load is logged and skipped; the previous one keeps serving. A server that starts
    on a refused version serves the newest sound one published before it (see ``_fall_back``), so a
    restart does not turn one corrupt file into an outage; ``refused`` names the version it skips.

    With ``background`` (the server's setting) a new version is loaded and warmed in a thread
    while ``get()`` keeps returning the previous one: a sync gunicorn worker would otherwise
    answer nothing while it loads (≈ 2 s at 100k entries). An admin ``reload`` loads in such a thread
    too, and ``loading`` names the version being loaded. A refused version is loaded again, once, when a
    forced admin reload (``ask_every_worker_to_retry``) asks, whichever process answered it. Without
    ``background``, the request that notices a new version loads it and is answered by it (tests, scripts).

    ``subscribe`` tells listeners (the metrics) which version this process serves: at each swap,
    whichever thread makes it, and at the first ``get()`` of a forked process (a gunicorn worker, whose
    index-follower thread calls it within FAQ_RELOAD_INTERVAL), which serves the version it inherited.
    """

    def __init__(self, index_dir: str | Path, interval: float = 1.0, min_score: float | None = None,
                 clock: Callable[[], float] = time.monotonic, analyzer: Analyzer | None = None,
                 background: bool = True):
        self.index_dir = Path(index_dir)
        self.interval = interval
        self.min_score = min_score
        self.background = background
        self._clock = clock
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._tried: str | None = None  # last version we attempted, good or bad
        # The retry request (index.read_retry) acted on last; one made before this process started is moot.
        self._retried = read_retry(self.index_dir)
        self._checked = clock()
        self.error: str | None = None
        self.refused: str | None = None  # the published version refused while another one serves
        self.pointer_error: str | None = None  # why CURRENT names no version although versions are published
        self.loading: str | None = None  # the version a thread of this process is loading now
        self._analyzer = analyzer  # reused across versions built with the same dictionary
        self._listeners: list[Callable[[Searcher | None], None]] = []
        self._pid = os.getpid()  # the process the listeners were last told about
        self.refresh()

    def get(self) -> Searcher | None:
        if self._pid != os.getpid():  # a forked worker: what it inherited is what it now serves
            self._pid = os.getpid()
            self._notify()
        now = self._clock()
        if now - self._checked >= self.interval and self._lock.acquire(blocking=False):
            # One thread reloads; the others keep answering with the current version.
            self._checked = now
            if self.background and self._searcher is not None and self._pending():
                threading.Thread(target=self._refresh_and_release, name="index-reload", daemon=True).start()
                return self._searcher
            try:
                self.refresh()
            finally:
                self._lock.release()
        return self._searcher

    def _pending(self) -> bool:
        """Whether the pointer names a version not tried yet, or one refused that a retry request names (one
        small file read; two while a version is refused)."""
        version = read_current(self.index_dir)
        return version is not None and (version != self._tried or self._retry_asked(version)[1])

    def _retry_asked(self, version: str) -> tuple[str | None, bool]:
        """The retry request (index.read_retry), and whether it asks this process to load ``version`` again:
        it names that version and was not acted on yet. Not read for the version served (never loaded again)."""
        if self._searcher is not None and version == self._searcher.version:
            return None, False
        request = read_retry(self.index_dir)
        return request, request is not None and request != self._retried and request.split(" ")[0] == version

    def ask_every_worker_to_retry(self) -> bool | None:
        """Record a retry of the version the pointer names for every process following this index directory
        (a forced admin reload): each one that refused it loads it once more, in the background, at its next
        check of the pointer. True when recorded, None when the pointer names no version; raises OSError
        when the request cannot be written (a read-only index directory: logged, and only the process that
        answers a forced reload can retry)."""
        version = read_current(self.index_dir)
        if version is None:
            return None
        try:
            request_retry(self.index_dir, version)
        except OSError as e:
            log.error("cannot ask the other workers to retry index version %s: %s; only the one answering "
                      "a forced reload retries it", version, e)
            raise
        return True

    def _refresh_and_release(self) -> None:
        try:
            self.refresh()
        except Exception:  # noqa: BLE001 - a thread's error would vanish; the previous version keeps serving
            log.exception("index reload failed")
        finally:
            self._lock.release()

    def subscribe(self, listener: Callable[[Searcher | None], None]) -> None:
        """Call ``listener(searcher)`` whenever this process starts serving a version (see the class)."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in self._listeners:
            try:
                listener(self._searcher)
            except Exception:  # noqa: BLE001 - a listener's failure must not undo or stop a swap
                log.exception("index listener failed")

    @property
    def current(self) -> Searcher | None:
        """The Searcher being served, without checking the pointer."""
        return self._searcher

    def reload(self, force: bool = False) -> Reload:
        """Check the pointer now (admin reload); ``force`` retries a version refused before. The version served
        is never loaded again, forced or not. With ``background`` the request never waits for a load (seconds
        at 100k entries, during which a sync worker answers nothing): a version to load, or one the follower
        is loading, is reported in ``loading`` and swapped in (or refused, the previous one serving) by a
        thread. ``swapped``: whether the version served changed during the call."""
        before = self._searcher
        if not self.background:
            with self._lock:
                self._checked = self._clock()
                return Reload(self.refresh(force=force) or self._searcher is not before, None)
        busy = self._acquire_unless_loading()
        if busy is not None:  # the follower's load, of what CURRENT names: forcing adds nothing to it
            return Reload(self._searcher is not before, busy)
        try:
            self._checked = self._clock()
            version, swapped = self._pending_version(force)
            if version is not None:
                self.loading = version  # said from now on, before the thread has started
                threading.Thread(target=self._load_and_release, args=(version,), name="index-reload",
                                 daemon=True).start()
        except BaseException:
            self.loading = None
            self._lock.release()
            raise
        if version is None:
            self._lock.release()
        return Reload(swapped or self._searcher is not before, version)

    def _acquire_unless_loading(self) -> str | None:
        """Take the lock, unless a load holds it: then the version being loaded (the lock is otherwise held
        only for a look at the pointer, which is waited for)."""
        while not self._lock.acquire(timeout=0.05):
            loading = self.loading
            if loading is not None:
                return loading
        return None

    def _load_and_release(self, version: str) -> None:
        try:
            self._load_published(version)
        except Exception:  # noqa: BLE001 - a thread's error would vanish; the previous version keeps serving
            log.exception("index reload failed")
        finally:
            self.loading = None
            self._lock.release()

    def refresh(self, force: bool = False) -> bool:
        """Load the published version if it is new; True when a swap happened."""
        version, swapped = self._pending_version(force)
        return swapped if version is None else self._load_published(version)

    def _pending_version(self, force: bool = False) -> tuple[str | None, bool]:
        """The version the pointer asks this process to load (None: none, or it is served, or it was refused
        and not ``force``d), after noting a pointer that names none; and whether this swapped meanwhile (a
        pointer naming none while nothing serves: the newest sound version is loaded here)."""
        version, problem = read_pointer(self.index_dir)
        if problem != self.pointer_error:  # said once, not at every check
            self._pointer_changed(problem)
            if problem and self._searcher is None:
                if self._fall_back(None, problem):
                    return None, True
                log.error("%s and no published version is sound: answering 503 until one is published", self.error)
        if version is None:
            if problem is None and self._searcher is None and self.error is None:  # said once, not at every check
                self.error = f"no published index in {self.index_dir}"
                log.warning("%s (run build_index.py); answering 503 until one is published", self.error)
            return None, False
        if self._searcher is not None and version == self._searcher.version:
            # Served already (a forced reload, or CURRENT pointed back at it after a refusal): nothing to
            # load again, and no refused version is published any more.
            if self.refused:
                log.info("CURRENT names %s, the version served, again: %s is no longer published", version, self.refused)
            self._tried = version
            self.error = self.refused = None
            return None, False
        request, asked = self._retry_asked(version)
        if version == self._tried and not (force or asked):
            return None, False
        if asked and not force and version == self._tried:
            log.info("retrying index version %s: a forced admin reload asked every worker to", version)
        self._retried = request  # whatever it asks, this load, started after it, answers it
        return version, False

    def _load_published(self, version: str) -> bool:
        """Load ``version`` and serve it; a refused one leaves the previous one serving. True when swapped."""
        self._tried = version
        try:
            searcher = self._load(version)
        except LOAD_ERRORS as e:
            self.error = f"index version {version} refused: {e}"
            log.error(self.error)
            self.refused = version if self._searcher is not None else None
            return self._searcher is None and self._fall_back(version)
        self._serve(searcher)
        return True

    def _load(self, version: str | None) -> Searcher:
        kwargs = {} if self.min_score is None else {"min_score": self.min_score}
        self.loading = version
        try:
            # Warm before serving: built in the gunicorn master (preload), the query-time
            # structures are shared by the forked workers instead of built once per worker.
            return Searcher.load(self.index_dir, version=version, analyzer=self._analyzer, **kwargs).warm()
        finally:
            self.loading = None

    def _serve(self, searcher: Searcher) -> None:
        self._searcher = searcher
        self._analyzer = searcher.analyzer
        self.error = self.refused = None
        log.info("serving index version %s (%d articles)", searcher.version, len(searcher))
        self._notify()

    def _pointer_changed(self, problem: str | None) -> None:
        """Note that CURRENT names no version (``problem``: why), or does again. Unnoticed, a replica
        would say ok until its next restart, which would then find nothing to serve."""
        if problem:
            self.error = f"{problem} in {self.index_dir}"
            if self._searcher is not None:
                log.error("%s: still serving %s, but a restart would serve the newest sound version in versions/: "
                          "publish a version (build_index.py) or point it at this one again (%s)", self.error,
                          self._searcher.version, rollback_command(self.index_dir, self._searcher.version))
        elif self.pointer_error and self.error == f"{self.pointer_error} in {self.index_dir}":
            self.error = None
        self.pointer_error = problem

    def _fall_back(self, refused: str | None, problem: str | None = None) -> bool:
        """Serve the newest sound version built before ``refused`` (see ``load_newest_sound``)."""
        searcher = load_newest_sound(self.index_dir, self._load, refused,
                                     on_refused=lambda name, e: log.error("index version %s refused too: %s", name, e))
        if searcher is None:
            return False
        error = self.error
        self._serve(searcher)
        self.error, self.refused = error, refused
        log.error("serving the %s version %s while %s: publish a sound version (build_index.py) or roll back (%s)",
                  "older" if refused else "newest sound", searcher.version,
                  problem or f"the published {refused} is refused", rollback_command(self.index_dir, searcher.version))
        return True


LOAD_ERRORS = (IndexError_, OSError, ValueError, KeyError)  # a version refused: corrupt, half-copied, hand-edited


def load_newest_sound(index_dir: str | Path, load: Callable[[str], Searcher], refused: str | None = None,
                      on_refused: Callable[[str, Exception], None] | None = None) -> Searcher | None:
    """``load(name)`` of the newest published version that loads, of those built before ``refused`` (what
    it replaced, when it was published normally; any version when the pointer names none: ``refused``
    None); None when none does. ``on_refused(name, error)`` hears of each one skipped."""
    names = published_versions(Path(index_dir))
    if refused in names:
        names = names[names.index(refused) + 1:]
    for name in names:
        try:
            return load(name)
        except LOAD_ERRORS as e:
            if on_refused:
                on_refused(name, e)
    return None


def load_or_fall_back(index_dir: str | Path, **kwargs) -> tuple[Searcher, str | None]:
    """What a server started now would serve, for a process that reads an index once (the CLI): the
    published version and None; or, when it is refused or the pointer names none, the newest sound
    version, as ``LiveSearcher`` falls back, and why (for a warning). ``kwargs`` go to ``Searcher.load``.
    Raises the published version's error when nothing is published or no version is sound."""
    version, problem = read_pointer(Path(index_dir))
    try:
        return Searcher.load(index_dir, version=version, **kwargs), None
    except LOAD_ERRORS as e:
        if version is None and problem is None:  # nothing published at all
            raise
        searcher = load_newest_sound(index_dir, lambda name: Searcher.load(index_dir, version=name, **kwargs), version)
        if searcher is None:
            raise
        return searcher, (f"the published {version} is refused ({str(e).removeprefix(f'index {version}: ')})" if version
                          else f"{problem} in {index_dir}")
