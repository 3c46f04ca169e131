"""The web layer: the Flask app factory (app.py), the JSON API and the pages.

The factory is imported on first use, not with the package: the CLI's `search --json` builds its lines
with payloads.py, which needs no Flask, and would otherwise pay Flask's start-up (≈ 0.2 s) on every run."""

__all__ = ["create_app", "follow_index"]


def __getattr__(name: str):
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
