"""Search-quality evaluation on labelled queries.

Query files are JSON Lines: ``{"query": "...", "expected": "<id>" | ["<id>", ...] | null}``;
``null`` marks an out-of-scope question that should get no confident answer.
The dev/test split is by a hash of the query text, so it is stable and needs no bookkeeping.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .search import Searcher

__all__ = ["LabelledQuery", "load_queries", "split_of", "evaluate", "Report"]


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    expected: tuple[str, ...]  # empty = out of scope
    line: int = 0

    @property
    def in_scope(self) -> bool:
        return bool(self.expected)


def split_of(query: str) -> str:
    """'dev' or 'test', stable for a given query text (half each, by hash)."""
    return "dev" if hashlib.sha1(query.encode("utf-8")).digest()[0] % 2 == 0 else "test"


def load_queries(path: str | Path, split: str = "all") -> list[LabelledQuery]:
    """Read a query file; ``split`` is 'dev', 'test' or 'all'. Raises ValueError naming the bad line."""
    out = []
    for lineno, line in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            query, expected = obj["query"], obj.get("expected")
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}:{lineno}: {e}") from None
        if isinstance(expected, str):
            expected = (expected,)
        elif expected is None:
            expected = ()
        else:
            expected = tuple(expected)
        if split == "all" or split_of(query) == split:
            out.append(LabelledQuery(query, expected, lineno))
    return out


@dataclass
class Report:
    queries: int = 0
    in_scope: int = 0
    out_of_scope: int = 0
    acc1: float = 0.0
    mrr10: float = 0.0
    recall10: float = 0.0
    oos_rejection: float = 0.0  # out-of-scope queries with no confident answer
    false_rejection: float = 0.0  # in-scope queries whose top answer is not confident
    by_category: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}

    def format(self, failures: bool = False) -> str:
        lines = [
            f"queries {self.queries} (in scope {self.in_scope}, out of scope {self.out_of_scope})",
            f"acc@1 {self.acc1:.3f}  MRR@10 {self.mrr10:.3f}  recall@10 {self.recall10:.3f}",
            f"out-of-scope rejection {self.oos_rejection:.3f}  false rejection {self.false_rejection:.3f}",
            "",
            f"{'category':<16} {'n':>4} {'acc@1':>6} {'MRR@10':>7} {'R@10':>6}",
        ]
        for cat, m in sorted(self.by_category.items()):
            lines.append(f"{cat:<16} {m['n']:>4} {m['acc1']:>6.3f} {m['mrr10']:>7.3f} {m['recall10']:>6.3f}")
        if failures:
            lines += ["", f"failures ({len(self.failures)}):"]
            for f in self.failures:
                lines.append(
                    f"- {f['query']!r}: expected {'/'.join(f['expected']) or 'no answer'}, rank {f['rank'] or '-'}; "
                    f"first {f['top_id'] or '-'} ({f['top_score']:.3f}{', confident' if f['top_confident'] else ''})"
                    f" via {f['top_matched']!r} terms {_found(f, 'matched') or '-'}"
                    + (f" (in the answer: {_found(f, 'answer')})" if _found(f, "answer") else "")
                )
        return "\n".join(lines)


def _found(failure: dict, where: str) -> str:
    """The query words a failure's first hit was found by in its phrasing or its answer, synonyms as 封号→冻结,
    pinyin as daozhang→到账."""
    words = failure["top_terms"] if where == "matched" else failure.get("top_answer_terms", [])
    synonyms = [f"{q}→{m}" for q, m, w in failure.get("top_synonyms", []) if w == where]
    read = [f"{q}→{r}" for q, r, w in failure.get("top_read_as", []) if w == where]
    return " ".join([*words, *synonyms, *read])


def evaluate(searcher: Searcher, queries: list[LabelledQuery], k: int = 10) -> Report:
    report = Report(queries=len(queries))
    cats: dict[str, list] = defaultdict(lambda: [0, 0.0, 0.0, 0])
    rejected_oos = confident_misses = 0
    for lq in queries:
        hits = searcher.search(lq.query, k=k)
        ids = [h.id for h in hits]
        top = hits[0] if hits else None
        confident = bool(top and top.confident)
        rank = next((i + 1 for i, hid in enumerate(ids) if hid in lq.expected), None)
        if lq.in_scope:
            report.in_scope += 1
            article = searcher.get(lq.expected[0])
            c = cats[article.category if article else "?"]
            c[0] += 1
            if rank == 1:
                report.acc1 += 1
                c[1] += 1
            if rank:
                report.mrr10 += 1 / rank
                report.recall10 += 1
                c[2] += 1 / rank
                c[3] += 1
            if not confident:
                confident_misses += 1
            ok = rank == 1 and confident
        else:
            report.out_of_scope += 1
            rejected_oos += not confident
            ok = not confident
        if not ok:
            report.failures.append({
                "query": lq.query, "expected": list(lq.expected), "rank": rank,
                "top_id": top.id if top else None, "top_score": top.score if top else 0.0,
                "top_confident": confident, "top_matched": top.matched if top else "",
                "top_terms": list(top.matched_terms) if top else [],
                "top_synonyms": [list(s) for s in top.synonyms] if top else [],
                "top_answer_terms": list(top.answer_terms) if top else [],
                "top_read_as": [list(r) for r in top.read_as] if top else [],
            })
    n = max(report.in_scope, 1)
    report.acc1, report.mrr10, report.recall10 = report.acc1 / n, report.mrr10 / n, report.recall10 / n
    report.false_rejection = confident_misses / n
    report.oos_rejection = rejected_oos / max(report.out_of_scope, 1)
    report.by_category = {
        cat: {"n": c[0], "acc1": c[1] / c[0], "mrr10": c[2] / c[0], "recall10": c[3] / c[0]} for cat, c in cats.items()
    }
    return report
