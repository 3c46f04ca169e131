"""Regenerate the shipped model weights from our own knowledge base.

- faq_search/default_reranker.json: the reranker trained on corpus/'s paraphrase groups, lexical
  features only; used by knowledge bases with too few groups of their own.
- faq_search/default_confidence.json: the no-answer model, fitted on the DEV half of
  corpus/eval/queries.jsonl (never the test half, which reports).

    python benchmarks/train_defaults.py [--corpus corpus] [--queries corpus/eval/queries.jsonl]
"""

import argparse
import tempfile
from pathlib import Path

from faq_search.build import build_index
from faq_search.evaluate import load_queries
from faq_search.rerank import DEFAULT_CONFIDENCE, DEFAULT_WEIGHTS, train_confidence, train_reranker
from faq_search.search import Searcher


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default="corpus")
    p.add_argument("--queries", default="corpus/eval/queries.jsonl")
    p.add_argument("--threshold", type=float, default=0.6, help="confidence probability for 'confident'")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        build_index(args.corpus, Path(tmp) / "index")
        searcher = Searcher.load(Path(tmp) / "index", confidence=None)
        if searcher.reranker is None:
            raise SystemExit("the corpus has too few paraphrase groups to train a reranker")
        default = train_reranker(searcher, lexical_only=True)
        DEFAULT_WEIGHTS.write_text(default.to_json() + "\n", "utf-8")
        dev = load_queries(args.queries, "dev")
        confidence = train_confidence(searcher, dev, args.threshold)
        DEFAULT_CONFIDENCE.write_text(confidence.to_json() + "\n", "utf-8")
    print(f"wrote {DEFAULT_WEIGHTS} ({default.info})")
    print(f"wrote {DEFAULT_CONFIDENCE} ({confidence.info})")


if __name__ == "__main__":
    main()
