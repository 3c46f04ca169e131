"""Flask app factory: JSON API + the self-service search page (imported as faq_search.web)."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Mapping

from flask import Flask

from ..config import Config
from ..feedback import FILENAME, FeedbackStore
from ..live import LiveSearcher
from . import admin, api, errors, observability, pages, security

log = logging.getLogger("faq_search.web")  # the name it had as the package's own module


class App(Flask):
    def make_default_options_response(self):
        # Flask's answer to OPTIONS is 200 with an empty text/html body: there is nothing to send but Allow.
        response = super().make_default_options_response()
        response.status_code = 204
        del response.headers["Content-Type"]
        return response


def create_app(config: Mapping[str, object] | None = None, live: LiveSearcher | None = None) -> Flask:
    """Build the app. ``config`` maps setting names (see faq_search.config) to values;
    ``None`` reads the environment. ``live`` replaces the index follower (tests)."""
    settings = Config.from_mapping(os.environ if config is None else config)
    app = App(__name__, static_folder=None)  # the pages blueprint serves static/ (versioned, cached)
    app.config["FAQ"] = settings
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    # "//" in a path is a 404 like any unknown path, not a redirect built from the client's Host header.
    app.url_map.merge_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = settings.FAQ_MAX_BODY_BYTES
    # Loading here, in the factory, means gunicorn's preload loads once before forking.
    app.extensions["faq_live"] = live or LiveSearcher(
        settings.FAQ_INDEX_DIR, interval=settings.FAQ_RELOAD_INTERVAL, min_score=settings.FAQ_MIN_SCORE
    )
    app.extensions["faq_feedback"] = FeedbackStore(Path(settings.FAQ_DATA_DIR) / FILENAME)
    if (s := app.extensions["faq_live"].get()) is not None:
        api.suggester_for(app, s)  # before gunicorn forks, like the index
    errors.init_app(app)
    observability.init_app(app, settings)  # first: its clock starts before the other hooks run
    security.init_app(app, settings)
    admin.init_app(app, settings)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    return app


def follow_index(app: Flask, stop: threading.Event | None = None) -> threading.Thread:
    """Look at the index pointer every FAQ_RELOAD_INTERVAL seconds in a thread of this process, so that a
    newly published version, and then its completions, are loaded before a request asks for them.
    Without it a worker noticed a publish only at its next request, which the old version still
    answered (the first visitor after an edit saw the old answer). Started in each gunicorn worker
    (gunicorn.conf.py's post_fork: a thread does not survive the fork); ``stop`` ends it."""
    live, stop = app.extensions["faq_live"], stop or threading.Event()
    interval = max(0.05, app.config["FAQ"].FAQ_RELOAD_INTERVAL)

    def run() -> None:
        while not stop.wait(interval):
            try:
                s = live.get()  # starts loading a new version; a later turn finds it swapped in
                if s is not None:
                    api.suggester_for(app, s)  # and its completions follow
            except Exception:  # noqa: BLE001 - the next turn tries again; requests still check themselves
                log.exception("following the index pointer failed")

    thread = threading.Thread(target=run, name="index-follower", daemon=True)
    thread.start()
    return thread
