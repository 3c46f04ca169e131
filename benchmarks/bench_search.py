#!/usr/bin/env python3
"""In-process search latency beside bm25s and tantivy, same run, same queries, one thread.

    python benchmarks/bench_search.py --data /tmp/faq-bench --sizes 1000,10000,100000

Needs ``index-<N>/`` (bench_build.py), ``kb-<N>.jsonl`` and ``queries-<N>.jsonl`` (gen_corpus.py)
in --data, and the ``bench`` extra (bm25s, tantivy).

Every engine goes from the query text to its top 10, so query analysis is included:
* ``Searcher.search``: our full ranked search (k=10), Hit objects included;
* the Searcher's first (lexical) stage alone, when it exposes one (see ``STAGE1_NAMES``);
* ``bm25s`` (``get_scores`` + NumPy top-k) and ``tantivy``: BM25 over the same jieba words (``Searcher.analyzer.analyze(text).words``),
  one document per entry holding its questions and answer; tantivy gets them through its whitespace
  tokenizer and is queried with a boolean OR of term queries; the ids of its top 10 are read back.

Engines take turns query by query, so load from other processes hits them alike; per-query CPU time
of this thread (``time.thread_time``) is reported beside wall time because it ignores such load.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import inspect
import json
import os
import statistics
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from faq_search import Searcher  # noqa: E402

# Method names a first lexical stage may carry on Searcher, tried in order; --stage1 overrides.
STAGE1_NAMES = ("first_stage", "lexical", "lexical_search", "retrieve", "candidates", "stage1")
WARMUP = 200
K = 10


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def du_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def load_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# --- peers' documents: the same analysis as ours, computed once and cached ----------------

_ANALYZER = None


def _entry_words(entry: dict) -> str:
    text = " ".join([entry.get("question", ""), *entry.get("similar_questions", []), entry.get("answer", "")])
    return " ".join(_ANALYZER.analyze(text).words)


def entry_tokens(kb: Path, analyzer, cache_dir: Path) -> list[list[str]]:
    """Per entry, its analysed words. Forked workers (2) share the analyzer; cached by content."""
    global _ANALYZER
    key = hashlib.sha256(kb.read_bytes()).hexdigest()[:16] + "-" + analyzer.fingerprint
    cache = cache_dir / f"tokens-{kb.stem}-{key}.txt"
    if cache.exists():
        return [line.split(" ") if line else [] for line in cache.read_text("utf-8").split("\n")[:-1]]
    _ANALYZER = analyzer
    entries = load_jsonl(kb)
    with get_context("fork").Pool(os.cpu_count() or 1) as pool:
        lines = pool.map(_entry_words, entries, chunksize=256)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), "utf-8")
    os.replace(tmp, cache)
    return [line.split(" ") if line else [] for line in lines]


class Bm25sPeer:
    name = "bm25s"

    def __init__(self, docs: list[list[str]], analyzer):
        import bm25s

        self.analyzer = analyzer
        self.model = bm25s.BM25()
        self.model.index(docs, show_progress=False)
        self.vocab = self.model.vocab_dict

    def search(self, query: str) -> list[int]:
        words = [w for w in dict.fromkeys(self.analyzer.analyze(query).words) if w in self.vocab]
        if not words:
            return []
        # get_scores + top-k is what retrieve() does inside, without its ~1 ms per-call overhead.
        scores = self.model.get_scores(words)
        top = np.argpartition(-scores, K)[:K] if scores.size > K else np.arange(scores.size)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [int(d) for d in top if scores[d] > 0]


class TantivyPeer:
    name = "tantivy"

    def __init__(self, docs: list[list[str]], analyzer):
        import tantivy

        self.tantivy = tantivy
        self.analyzer = analyzer
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
        sb.add_integer_field("pos", stored=True)
        self.schema = sb.build()
        self.index = tantivy.Index(self.schema)
        writer = self.index.writer(heap_size=256_000_000, num_threads=1)
        for i, words in enumerate(docs):
            writer.add_document(tantivy.Document(body=" ".join(words), pos=i))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def search(self, query: str) -> list[int]:
        t = self.tantivy
        words = list(dict.fromkeys(self.analyzer.analyze(query).words))
        if not words:
            return []
        q = t.Query.boolean_query([(t.Occur.Should, t.Query.term_query(self.schema, "body", w)) for w in words])
        hits = self.searcher.search(q, K, count=False).hits
        return [self.searcher.doc(addr)["pos"][0] for _score, addr in hits]


# --- measurement ---------------------------------------------------------------------------

def summary(wall: list[float], cpu: list[float]) -> dict:
    w = np.asarray(wall) * 1000
    return {
        "p50_ms": round(float(np.percentile(w, 50)), 3),
        "p90_ms": round(float(np.percentile(w, 90)), 3),
        "p99_ms": round(float(np.percentile(w, 99)), 3),
        "mean_ms": round(float(w.mean()), 3),
        "cpu_p50_ms": round(float(np.percentile(np.asarray(cpu) * 1000, 50)), 3),
        "cpu_p99_ms": round(float(np.percentile(np.asarray(cpu) * 1000, 99)), 3),
    }


def run_engines(engines: dict, queries: list[dict], schedule: str = "interleaved") -> dict:
    """Timings and recall@10 of each engine over all ``queries``.

    ``interleaved``: engines take turns (rotating order), each on its own query: engine e at step i
    runs query i + e·N/E, so every engine runs every query once and never right after another engine
    ran the same one (which would find that query's data in cache); each pays for the others'
    evictions, as a server's search pays for its web stack's. ``passes``: each engine alone over half
    the queries, then again in reverse engine order over the other half (drift cancels), so no
    engine evicts another's data between two of its queries."""
    names = list(engines)
    for q in queries[:WARMUP]:
        for fn in engines.values():
            fn(q["query"])
    wall = {n: [] for n in names}
    cpu = {n: [] for n in names}
    found = {n: 0 for n in names}

    def timed(name: str, q: dict) -> None:
        c0, t0 = time.thread_time(), time.perf_counter()
        ids = engines[name](q["query"])
        t1, c1 = time.perf_counter(), time.thread_time()
        wall[name].append(t1 - t0)
        cpu[name].append(c1 - c0)
        if q.get("expected") is not None and q["expected"] in ids:
            found[name] += 1

    gc.collect()
    if schedule == "passes":
        half = len(queries) // 2
        for part, order in ((queries[:half], names), (queries[half:], names[::-1])):
            for name in order:
                for q in part:
                    timed(name, q)
    else:
        stride = max(len(queries) // len(names), 1)
        for i in range(len(queries)):
            for j in range(len(names)):
                e = (i + j) % len(names)
                timed(names[e], queries[(i + e * stride) % len(queries)])
    expected = sum(q.get("expected") is not None for q in queries)
    return {n: {**summary(wall[n], cpu[n]), "recall_at_10": round(found[n] / max(expected, 1), 3)} for n in names}


def stage1_method(searcher, name: str | None):
    if name:
        return name, getattr(searcher, name)
    for n in STAGE1_NAMES:
        if callable(getattr(searcher, n, None)):
            return n, getattr(searcher, n)
    return None, None


def stage1_runner(searcher, method, ids: list[str]):
    """Query text → ids of the first stage's best K, whatever the method takes: the query or its
    analysis (then analysis is timed with it), and a ``limit`` (given the depth search itself uses)."""
    params = inspect.signature(method).parameters
    takes_analysis = next(iter(params), "") == "analysis"
    kwargs = {}
    if "limit" in params:
        reranked = getattr(searcher, "reranker", None) is not None
        kwargs["limit"] = getattr(searcher, "rerank_depth", K) if reranked else K

    def run(q: str) -> list[str]:
        res = method(searcher.analyzer.analyze(q) if takes_analysis else q, **kwargs)
        if res is None:
            return []
        if hasattr(res, "arts") and hasattr(res, "score"):  # candidates: best K by first-stage score
            top = np.argsort(-np.asarray(res.score), kind="stable")[:K]
            return [ids[int(a)] for a in np.asarray(res.arts)[top]]
        return [getattr(h, "id", h) for h in res]

    return run


def bench_size(n: int, data: Path, work: Path, stage1: str | None, peers: list[str], schedule: str) -> dict:
    index_dir = work / f"index-{n}"
    version = (index_dir / "CURRENT").read_text().strip()
    gc.collect()
    before = rss_kib()
    t0 = time.perf_counter()
    searcher = Searcher.load(index_dir)
    first_load = time.perf_counter() - t0
    rss_delta = rss_kib() - before
    loads = []
    for _ in range(3):
        t0 = time.perf_counter()
        again = Searcher.load(index_dir, analyzer=searcher.analyzer)
        loads.append(time.perf_counter() - t0)
        del again
        gc.collect()
    out = {
        "entries": len(searcher),
        "index_mib": round(du_bytes(index_dir / "versions" / version) / 2**20, 1),
        "load_first_s": round(first_load, 3),
        "load_s": round(statistics.median(loads), 3),
        "rss_after_load_mib": round(rss_delta / 1024, 1),
    }
    ids = [a.id for a in searcher.articles]

    def explained(q: str) -> list[str]:
        """What the API and CLI show besides: why each hit matched (worked out when first asked)."""
        hits = searcher.search(q, k=K)
        return [h.id for h in hits if h.matched_terms is not None]

    engines = {"Searcher.search": lambda q: [h.id for h in searcher.search(q, k=K)], "Searcher.search, explained": explained}
    name, method = stage1_method(searcher, stage1)
    out["stage1_method"] = name
    if method is not None:
        engines[f"first stage ({name})"] = stage1_runner(searcher, method, ids)
    engines["analysis only"] = lambda q: (searcher.analyzer.analyze(q), [])[1]
    if peers:
        t0 = time.perf_counter()
        docs = entry_tokens(data / f"kb-{n}.jsonl", searcher.analyzer, work)
        out["peer_tokens_s"] = round(time.perf_counter() - t0, 1)
        for cls in (Bm25sPeer, TantivyPeer):
            if cls.name in peers:
                t0 = time.perf_counter()
                peer = cls(docs, searcher.analyzer)
                out[f"{cls.name}_index_s"] = round(time.perf_counter() - t0, 1)
                engines[cls.name] = lambda q, peer=peer: [ids[i] for i in peer.search(q)]
        del docs
    queries = load_jsonl(data / f"queries-{n}.jsonl")
    out["queries"] = len(queries)
    out["load_avg_before"] = os.getloadavg()[0]
    out["engines"] = run_engines(engines, queries, schedule)
    out["load_avg_after"] = os.getloadavg()[0]
    return out


def print_tables(results: dict) -> None:
    print("| entries | engine | p50 ms | p90 ms | p99 ms | mean ms | CPU p50 ms | CPU p99 ms | recall@10 |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in results.items():
        for name, s in r["engines"].items():
            rec = "" if name == "analysis only" else s["recall_at_10"]
            print(f"| {n:,} | {name} | {s['p50_ms']} | {s['p90_ms']} | {s['p99_ms']} | {s['mean_ms']} | {s['cpu_p50_ms']} | {s['cpu_p99_ms']} | {rec} |")
    print()
    # Issue targets read off the table: full search against its own first stage, and the first stage
    # against tantivy, both at the p50 of this run.
    print("| entries | Searcher.search ÷ first stage (p50) | explained ÷ first stage (p50) | first stage ÷ tantivy (p50) |")
    print("|---:|---:|---:|---:|")
    for n, r in results.items():
        engines = r["engines"]
        stage1 = next((s for name, s in engines.items() if name.startswith("first stage")), None)
        full, tantivy = engines.get("Searcher.search"), engines.get("tantivy")
        explained = engines.get("Searcher.search, explained")
        ratio = f"{full['p50_ms'] / stage1['p50_ms']:.2f}" if full and stage1 and stage1["p50_ms"] else ""
        ratio_explained = f"{explained['p50_ms'] / stage1['p50_ms']:.2f}" if explained and stage1 and stage1["p50_ms"] else ""
        versus = f"{stage1['p50_ms'] / tantivy['p50_ms']:.2f}" if stage1 and tantivy and tantivy["p50_ms"] else ""
        print(f"| {n:,} | {ratio} | {ratio_explained} | {versus} |")
    print()
    print("| entries | index on disk MiB | Searcher.load s (first, with analyzer) | Searcher.load s (analyzer reused) | RSS after load MiB | first stage method | load avg before/after |")
    print("|---:|---:|---:|---:|---:|---|---|")
    for n, r in results.items():
        print(f"| {n:,} | {r['index_mib']} | {r['load_first_s']} | {r['load_s']} | {r['rss_after_load_mib']} | "
              f"{r['stage1_method'] or 'none exposed'} | {r['load_avg_before']:.2f} / {r['load_avg_after']:.2f} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Searcher.search p50/p99 beside bm25s and tantivy.")
    p.add_argument("--data", type=Path, required=True, help="directory of kb-<N>.jsonl, queries-<N>.jsonl (and index-<N>/)")
    p.add_argument("--work", type=Path, default=None, help="where index-<N>/ are and token caches go (default: --data)")
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--peers", default="bm25s,tantivy", help="comma-separated; empty for none")
    p.add_argument("--stage1", default=None, help="Searcher method that runs the first (lexical) stage alone")
    p.add_argument("--schedule", choices=("interleaved", "passes"), default="interleaved",
                   help="engines take turns query by query, or each runs alone over the queries (see run_engines)")
    args = p.parse_args(argv)
    work = args.work or args.data
    peers = [x for x in args.peers.split(",") if x]
    results = {}
    for n in (int(s) for s in args.sizes.split(",")):
        results[n] = bench_size(n, args.data, work, args.stage1, peers, args.schedule)
        print(f"{n}: done", file=sys.stderr, flush=True)
        (work / "search.json").write_text(json.dumps(results, indent=2))
    print_tables(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
