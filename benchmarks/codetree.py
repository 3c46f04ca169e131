"""Import faq_search from a given source tree (``--code``), so two trees can be timed alike."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def import_faq_search(code: Path):
    """faq_search imported from ``code``; exits when another copy was imported instead."""
    sys.path.insert(0, str(code.resolve()))
    module = importlib.import_module("faq_search")
    if not Path(module.__file__).resolve().is_relative_to(code.resolve()):
        raise SystemExit(f"imported {module.__file__}, not the tree in {code}")
    return module
