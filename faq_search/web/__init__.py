"""Flask app factory: JSON API + the self-service search page."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from flask import Flask

from ..config import Config
from ..feedback import FILENAME, FeedbackStore
from ..live import LiveSearcher
from . import admin, api, errors, observability, pages, security


def create_app(config: Mapping[str, object] | None = None, live: LiveSearcher | None = None) -> Flask:
    """Build the app. ``config`` maps setting names (see faq_search.config) to values;
    ``None`` reads the environment. ``live`` replaces the index follower (tests)."""
    settings = Config.from_mapping(os.environ if config is None else config)
    app = Flask(__name__, static_folder=None)  # the pages blueprint serves static/ (versioned, cached)
    app.config["FAQ"] = settings
    app.json.ensure_ascii = False
    app.json.sort_keys = False
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
