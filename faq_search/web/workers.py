"""gunicorn's fork hooks, shared by gunicorn.conf.py (`make run`) and `faq-search serve`."""

from __future__ import annotations

import gc


def pre_fork(server, worker) -> None:
    """In the master, before each fork. Moves what the preload built (index, articles, suggestions) out
    of the collector's reach: a collection in a worker would write to every tracked object's header and
    so copy the shared pages into the worker (≈ 100 MiB private per worker at 100k articles).
    Refcounting still works."""
    gc.collect()
    gc.freeze()


def post_fork(server, worker) -> None:
    """In each new worker: follow the index pointer in a thread, so a publish is loaded before a request
    needs it (a thread of the master does not survive the fork)."""
    from . import follow_index

    follow_index(server.app.wsgi())
