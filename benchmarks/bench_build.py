#!/usr/bin/env python3
"""Build benchmark: `build_index.py` run as a subprocess at each corpus size.

    python benchmarks/bench_build.py --data /tmp/faq-bench --sizes 1000,10000,100000

For each ``kb-<N>.jsonl`` in --data: a fresh build into ``<work>/index-<N>`` (wall time, CPU, peak
memory of the build's process tree, index size on disk), then a rebuild after one changed answer
and one after one added similar question (the same index directory, so the analysis cache is reused;
from 5,000 entries incremental versions, see docs/operations.md; a question also changes the
completions). Prints a Markdown table and writes
``<work>/build.json``. The indexes are left for bench_search.py and bench_http.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from proctree import du_bytes, measure  # noqa: E402

MIB = 1024 * 1024


def changed_copy(src: Path, dst: Path, question: bool = False) -> None:
    """``src`` with its first entry's answer edited, or (``question``) a similar question added to it:
    what an editor's one-article fix looks like."""
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        first = json.loads(f.readline())
        if question:
            first["similar_questions"] = [*first.get("similar_questions", []), "这个问题还能怎么问呢"]
        else:
            first["answer"] += "如仍有疑问，请联系在线客服。"
        out.write(json.dumps(first, ensure_ascii=False) + "\n")
        shutil.copyfileobj(f, out)


def build(kb: Path, out: Path, dict_dir: Path, timeout: float, full: bool = False) -> dict:
    run = measure([sys.executable, str(ROOT / "build_index.py"), "--corpus", str(kb), "--out", str(out), "--dict", str(dict_dir)]
                  + ["--full"] * full, timeout=timeout, cwd=ROOT)
    if run.returncode != 0:
        raise SystemExit(f"build of {kb} failed ({run.returncode}) after {run.seconds:.0f}s:\n{run.stderr[-2000:]}")
    current = (out / "CURRENT").read_text().strip()
    return {
        "seconds": round(run.seconds, 2),
        "cpu_seconds": round(run.user_s + run.sys_s, 2),
        "max_rss_mib": round(run.max_rss_kib / 1024, 1),
        "peak_tree_rss_mib": round(run.peak_tree_rss_kib / 1024, 1),
        "peak_tree_pss_mib": round(run.peak_tree_pss_kib / 1024, 1),
        "version_mib": round(du_bytes(out / "versions" / current) / MIB, 1),
        "cache_mib": round(du_bytes(out / "cache") / MIB, 1) if (out / "cache").exists() else 0.0,
        "output": run.stdout.strip().splitlines()[-1] if run.stdout.strip() else "",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Build wall time, peak RSS and rebuild time at each corpus size.")
    p.add_argument("--data", type=Path, required=True, help="directory of kb-<N>.jsonl from gen_corpus.py")
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--work", type=Path, default=None, help="where index-<N>/ go (default: --data)")
    p.add_argument("--dict", type=Path, default=ROOT / "corpus" / "dict", help="user words and synonyms")
    p.add_argument("--timeout", type=float, default=1800, help="seconds allowed per build")
    args = p.parse_args(argv)
    work = args.work or args.data
    results = {}
    for n in (int(s) for s in args.sizes.split(",")):
        kb = args.data / f"kb-{n}.jsonl"
        out = work / f"index-{n}"
        shutil.rmtree(out, ignore_errors=True)
        fresh = build(kb, out, args.dict, args.timeout)
        changed = work / f"kb-{n}.changed.jsonl"
        changed_copy(kb, changed)
        again = build(changed, out, args.dict, args.timeout)
        changed_copy(kb, changed, question=True)  # one entry changed since the first build, as above
        asked = build(changed, out, args.dict, args.timeout)
        # Publish the unchanged corpus again (also from the cache) so the left index matches kb-<N>,
        # complete (not incremental) like the one a fresh build leaves.
        build(kb, out, args.dict, args.timeout, full=True)
        changed.unlink()
        results[n] = {"build": fresh, "rebuild_one_changed": again, "rebuild_one_question": asked}
        print(f"{n}: build {fresh['seconds']}s, rebuild {again['seconds']}s ({again['output']}), "
              f"{asked['seconds']}s ({asked['output']})", file=sys.stderr, flush=True)
    (work / "build.json").write_text(json.dumps(results, indent=2))
    print("| entries | build s | CPU s | peak RSS, largest process MiB | peak PSS, tree MiB | index version MiB | analysis cache MiB | rebuild after 1 changed answer s | rebuild CPU s | rebuild peak RSS MiB | rebuild after 1 added question s | its CPU s | its peak RSS MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in results.items():
        b, a, q = r["build"], r["rebuild_one_changed"], r["rebuild_one_question"]
        print(f"| {n:,} | {b['seconds']} | {b['cpu_seconds']} | {b['max_rss_mib']} | {b['peak_tree_pss_mib']} | {b['version_mib']} | "
              f"{b['cache_mib']} | {a['seconds']} | {a['cpu_seconds']} | {a['max_rss_mib']} | {q['seconds']} | {q['cpu_seconds']} | {q['max_rss_mib']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
