#!/usr/bin/env python3
"""`Searcher.load` time of an index, with the code of the tree given by --code (default: this one).

    python benchmarks/bench_load.py --index /tmp/faq-bench/index-100000 [--code /path/to/other/tree]

Prints one JSON line: the first load (which builds the analyzer from the index's dictionary), the best
of --repeat loads reusing it (wall and CPU seconds of the process, all threads), the first search
after it, RSS after the first load and the load average before and after. Run two trees alternately
to compare them under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from codetree import ROOT, import_faq_search  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Searcher.load time of one index.")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--code", type=Path, default=ROOT, help="tree whose faq_search to import")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    import_faq_search(args.code)
    from faq_search.search import Searcher
    before = os.getloadavg()[0]
    t, c = time.perf_counter(), time.process_time()
    searcher = Searcher.load(args.index)
    first = (time.perf_counter() - t, time.process_time() - c)
    rss = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    reused = []
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        Searcher.load(args.index, analyzer=searcher.analyzer)
        reused.append((time.perf_counter() - t, time.process_time() - c))
    best = min(reused)
    t = time.perf_counter()
    searcher.search("忘记登录密码了怎么办")
    print(json.dumps({
        "first_s": round(first[0], 3), "first_cpu_s": round(first[1], 3),
        "reused_s": round(best[0], 3), "reused_cpu_s": round(best[1], 3),
        "first_search_ms": round((time.perf_counter() - t) * 1000, 1), "rss_mib": round(rss),
        "load_average": [round(before, 2), round(os.getloadavg()[0], 2)],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
