"""The query path, measured two ways on the same index: ours against scikit-learn's.

    python benchmarks/bench_query_path.py [--index index] [--queries corpus/eval/queries.jsonl]

- ours: `Searcher.first_stage` (query weights computed directly from the stored idf, only the
  postings of the query's terms read) and the full `Searcher.search` (reranker included);
- scikit-learn: the same analysis, then `TfidfVectorizer.transform` of the query and a sparse
  matrix product with every question row, then a max over each article's rows.
Prints p50/p99 in milliseconds; analysis is included in every row.
"""

import argparse
import json
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from faq_search.search import Searcher


def timed(fn, queries):
    for q in queries[:50]:
        fn(q)
    lat = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        lat.append(time.perf_counter() - t)
    return np.percentile(lat, 50) * 1000, np.percentile(lat, 99) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", default="index")
    ap.add_argument("--queries", default="corpus/eval/queries.jsonl")
    args = ap.parse_args()
    s = Searcher.load(args.index)
    queries = [json.loads(line)["query"] for line in open(args.queries, encoding="utf-8")]
    vecs, mats = {}, {}
    for name in ("word", "char"):
        vec = TfidfVectorizer(analyzer=lambda t: t, sublinear_tf=True)
        vec.vocabulary_, vec.idf_ = s.data.vocab[name], s.data.idf[name].astype(np.float64)
        vecs[name], mats[name] = vec, s.data.questions[name].tocsr()
    owner, n = s.data.row_article, len(s.articles)

    def sklearn_path(q):
        a = s.analyzer.analyze(q)
        rows = 0.5 * (mats["word"] @ vecs["word"].transform([a.words]).T).toarray().ravel()
        rows += 0.5 * (mats["char"] @ vecs["char"].transform([a.chars]).T).toarray().ravel()
        best = np.full(n, -1.0)
        np.maximum.at(best, owner, rows)
        return np.argpartition(-best, 10)[:10]

    rows = [
        ("analysis only", lambda q: s.analyzer.analyze(q)),
        ("scikit-learn transform + full product", sklearn_path),
        ("ours: first stage (direct weights, postings only)", lambda q: s.first_stage(s.analyzer.analyze(q), limit=30)),
        ("ours: full search (reranked, hits built)", lambda q: s.search(q)),
    ]
    print(f"{len(s.articles)} articles, {owner.size} question rows, {len(queries)} queries")
    print("| path | p50 ms | p99 ms |\n|---|---:|---:|")
    for label, fn in rows:
        p50, p99 = timed(fn, queries)
        print(f"| {label} | {p50:.3f} | {p99:.3f} |")


if __name__ == "__main__":
    main()
