"""Operator endpoints: POST /admin/reload, GET /admin/stats.

They exist only when FAQ_ADMIN_TOKEN is set, and answer only with that bearer token. Under gunicorn
each request reaches one worker: stats describe that worker (its pid is in the answer), and reload
makes that worker check the index pointer now (the others do so within FAQ_RELOAD_INTERVAL). A forced
reload is recorded in the index directory, so that every worker, of every replica, retries.
"""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, current_app, request

from ..config import Config
from ..index import RETRY
from .errors import ApiError
from .schema import Field, json_body
from .security import check_bearer

bp = Blueprint("admin", __name__, url_prefix="/admin")

MIN_TOKEN_CHARS = 16
RELOAD = {"force": Field(bool, required=False, default=False)}


def init_app(app: Flask, settings: Config) -> None:
    """Register the endpoints when a token is configured; raises ValueError for a short token."""
    if not settings.FAQ_ADMIN_TOKEN:
        return
    if len(settings.FAQ_ADMIN_TOKEN) < MIN_TOKEN_CHARS:
        raise ValueError(f"FAQ_ADMIN_TOKEN must be at least {MIN_TOKEN_CHARS} characters")
    app.extensions["faq_started"] = time.time()
    app.register_blueprint(bp)


@bp.before_request
def _authorize():
    if request.method == "OPTIONS":  # answered by Flask with Allow alone, as on every route (docs/api.md)
        return
    check_bearer(current_app.config["FAQ"].FAQ_ADMIN_TOKEN)


def _index_state() -> dict:
    live = current_app.extensions["faq_live"]
    s = live.current
    return {
        "index_version": s.version if s else None,
        "articles": len(s) if s else 0,
        "built_at": s.data.manifest.get("built_at") if s else None,
        "index_error": live.error,
        "loading": live.loading,
    }


@bp.post("/reload")
def reload():
    """Body (optional): {"force": bool} — retry the published version even if it was refused before, in this
    worker now and in every other one (and every replica sharing the index directory) at its next check:
    "every_worker" says that request was recorded (null: not forced, or nothing published).
    "reloaded": whether this worker swapped to another version meanwhile (the one served is never loaded again).
    202 while a version loads in the background ("loading" names it; /admin/stats and /healthz tell the
    outcome): the request does not wait for it, as the worker would answer nothing else meanwhile.
    :raise 503: index_not_writable, a forced reload whose request cannot be recorded (a read-only index
        directory): this worker retried, the others did not."""
    body = json_body(RELOAD, optional=True)
    live = current_app.extensions["faq_live"]
    # Recorded first: this worker's own retry then counts as its answer to it, and is not made twice.
    unrecorded = every_worker = None
    if body["force"]:
        try:
            every_worker = live.ask_every_worker_to_retry()
        except OSError as e:
            unrecorded = e
    done = live.reload(force=body["force"])
    if unrecorded is not None:  # this worker retried all the same; a 2xx would read as every worker's retry
        raise ApiError(503, "index_not_writable", _unrecorded_retry(live, unrecorded, done.loading))
    # "loading" as the request found it: a small version may be loaded already by the time this answers.
    state = {**_index_state(), "loading": done.loading}
    return ({"reloaded": done.swapped, "pid": os.getpid(), **state, "every_worker": every_worker},
            202 if done.loading else 200)


def _unrecorded_retry(live, error: OSError, loading: str | None) -> str:
    """Why a forced reload reached this worker only, what it did, and what to do instead."""
    served = live.current.version if live.current else None
    here = (f"this worker (pid {os.getpid()}) is loading {loading} (its /admin/stats tells the outcome)" if loading
            else f"this worker (pid {os.getpid()}) serves {served}" if served else "this worker serves no version")
    return (f"cannot write the index directory {live.index_dir}: {error.strerror or error}: a forced reload asks the "
            f"other workers and replicas to retry through its file {RETRY}, so only {here}; the others "
            f"retry at their restart. Make the index directory writable by the server, or, where it only receives "
            f"shipped versions, ship the repaired version under a new name and switch CURRENT")


@bp.get("/stats")
def stats():
    started = current_app.extensions["faq_started"]
    querylog = current_app.extensions.get("faq_querylog")
    try:
        log_bytes = querylog.path.stat().st_size if querylog else None
    except OSError:
        log_bytes = 0
    return {
        "pid": os.getpid(),
        "uptime_seconds": round(time.time() - started, 1),
        **_index_state(),
        "rate_limit_buckets": {name: len(lim) for name, lim in current_app.extensions["faq_rate_limiters"].items()},
        "query_log": {"path": str(querylog.path), "bytes": log_bytes} if querylog else None,
    }
