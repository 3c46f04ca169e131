#!/usr/bin/env python3
"""Completions (`Suggester.suggest`) in process: what a search box sends while a query is typed.

    python benchmarks/bench_suggest.py --index /tmp/faq-bench/index-100000 \
        --queries /tmp/faq-bench/queries-100000.jsonl [--code /path/to/other/tree]

The typed strings are each query's first 1–6 characters, as `bench_http.py` sends to /api/suggest.
Prints a table: the Suggester's build time and the memory its arrays hold, then p50/p90/p99/mean/max
of one `suggest(k=8)` (single thread, wall time), and the slowest typed strings. When the builder
published the version's completion data (completions/<version>/), a second row times the Suggester
a server maps from it, and its load time. Run two trees (--code) one after the other to compare them
on the same index.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from codetree import ROOT, import_faq_search  # noqa: E402


def typed_strings(path: Path, limit: int) -> list[str]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in list(f)[:limit]:
            q = json.loads(line)["query"].strip()
            out.extend(q[:i] for i in range(1, min(len(q), 6) + 1))
    return out


def held_bytes(suggester) -> int:
    """Bytes of the NumPy arrays the Suggester's haystacks hold (texts and small lists aside); both
    layers' for the completions of an incremental version."""
    if hasattr(suggester, "delta"):
        return held_bytes(suggester.base) + held_bytes(suggester.delta)
    total = 0
    for hay in (suggester._text, suggester._full, suggester._initials):
        total += sum(v.nbytes for v in vars(hay).values() if isinstance(v, np.ndarray))
    return total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Suggester.suggest timings on typed prefixes.")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--queries", type=Path, required=True, help="JSON lines with a 'query'")
    p.add_argument("--limit", type=int, default=2000, help="queries to take the prefixes of")
    p.add_argument("--code", type=Path, default=ROOT, help="tree whose faq_search to import")
    p.add_argument("--slowest", type=int, default=5)
    args = p.parse_args(argv)
    import_faq_search(args.code)
    from faq_search.search import Searcher
    from faq_search.suggest import Suggester
    searcher = Searcher.load(args.index)
    typed = typed_strings(args.queries, args.limit)
    before = os.getloadavg()[0]
    rows = []
    try:
        from faq_search.completions import index_suggester, load_completions
    except ImportError:  # a tree from before published completions: built from the articles
        load_completions = None
        index_suggester = lambda data, normalize: Suggester(data.articles, normalize)  # noqa: E731
    t = time.perf_counter()
    rows.append(("built in process", index_suggester(searcher.data, searcher.analyzer.normalize), time.perf_counter() - t))
    if load_completions is not None:
        t = time.perf_counter()
        mapped = load_completions(args.index, searcher.version, searcher.analyzer.normalize)
        if mapped is not None:
            rows.append(("published, mapped", mapped, time.perf_counter() - t))
    print(f"code: {args.code} · {len(searcher):,} entries · {len(typed):,} typed strings")
    print("\n| Suggester | build or load s | arrays MiB | p50 ms | p90 ms | p99 ms | mean ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    slowest = []
    for name, suggester, seconds in rows:
        for q in typed[:200]:
            suggester.suggest(q)
        times = []
        for q in typed:
            t = time.perf_counter()
            suggester.suggest(q)
            times.append(time.perf_counter() - t)
        ms = np.asarray(times) * 1000
        print(f"| {name} | {seconds:.2f} | {held_bytes(suggester) / 2**20:.0f} | {np.percentile(ms, 50):.3f} | "
              f"{np.percentile(ms, 90):.3f} | {np.percentile(ms, 99):.3f} | {ms.mean():.3f} | {ms.max():.2f} |")
        slowest.append(f"{name}: " + ", ".join(f"{typed[i]!r} {ms[i]:.2f} ms" for i in np.argsort(-ms)[: args.slowest]))
    if len(rows) > 1:  # the published data must answer as the Suggester built from the version does
        built, mapped = rows[0][1], rows[1][1]
        differ = [q for q in typed if [x.to_dict() for x in built.suggest(q)] != [x.to_dict() for x in mapped.suggest(q)]]
        print(f"\n{rows[1][0]} ({type(mapped).__name__}) against built: {len(typed) - len(differ):,} of {len(typed):,} "
              f"typed strings answered alike" + (f"; differ: {differ[:5]}" if differ else ""))
    print(f"\nload average {before:.2f} → {os.getloadavg()[0]:.2f}")
    print("slowest: " + "; ".join(slowest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
