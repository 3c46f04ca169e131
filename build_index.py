#!/usr/bin/env python3
"""Build and atomically publish the search index: `python build_index.py [--corpus corpus/] [--out index/]`."""

import sys

from faq_search.cli import build_main

if __name__ == "__main__":
    sys.exit(build_main())
