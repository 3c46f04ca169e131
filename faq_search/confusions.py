"""Articles the search confuses, found from the knowledge base alone.

Every similar question of an article is a way users ask for it. Searched with its own row
hidden (as the reranker's pseudo-queries are, with paraphrase and LSA models that never saw
it), a phrasing that brings up another article first shows where users asking that way would
get the other article: two articles whose phrasings overlap, a phrasing filed under the wrong
article, or one too bare to say which it means. Editors read the pairs (`faq-search
confusions`) and tell the articles apart before users run into them; no labelled queries needed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, replace

import numpy as np

from .rerank import candidate_features, held_out_lsa, held_out_paraphrase, pseudo_queries

__all__ = ["Confusion", "ConfusionReport", "find_confusions", "DEFAULT_LIMIT"]

# Phrasings searched at most (≈ 1.5 ms each on ours, plus two paraphrase-model fits; ≈ 2 ms at 100k articles).
DEFAULT_LIMIT = 20_000


@dataclass(frozen=True)
class Confusion:
    article: str  # the phrasing's own article
    taken_by: str  # the article ranked first instead
    phrasing: str
    matched: str  # the other article's phrasing that matched best
    score: float  # the other article's score
    own_score: float  # the own article's score (0 when it is not among the candidates)
    own_rank: int  # 1-based; 0 when the own article is not among the candidates


@dataclass(frozen=True)
class ConfusionReport:
    articles: int
    searched: int  # phrasings searched (of articles with at least two)
    available: int  # phrasings that could have been (searched < available: a sample)
    first: int  # of them, those whose own article ranked first
    confusions: tuple[Confusion, ...]
    questions: dict  # article id → standard question, for the articles named
    involving: str | None = None  # confusions kept only where this article is on either side

    def only(self, article_id: str) -> "ConfusionReport":
        """The confusions where ``article_id`` loses a phrasing or takes one (the counts stay whole)."""
        kept = tuple(c for c in self.confusions if article_id in (c.article, c.taken_by))
        return replace(self, confusions=kept, involving=article_id)

    def pairs(self) -> list[tuple[tuple[str, str], list[Confusion]]]:
        """(own article, article ranked first) → its confusions; most confusions first."""
        by_pair: dict[tuple[str, str], list[Confusion]] = defaultdict(list)
        for c in self.confusions:
            by_pair[(c.article, c.taken_by)].append(c)
        return sorted(by_pair.items(), key=lambda kv: (-len(kv[1]), kv[0]))

    def to_dict(self, top: int | None = None) -> dict:
        pairs = self.pairs()
        return {
            "articles": self.articles, "searched": self.searched, "available": self.available, "first": self.first,
            "pairs": [{"article": a, "question": self.questions.get(a, ""), "taken_by": b,
                       "taken_by_question": self.questions.get(b, ""),
                       "phrasings": [{k: v for k, v in asdict(c).items() if k not in ("article", "taken_by")} for c in cs]}
                      for (a, b), cs in pairs[:top]],
            "pair_count": len(pairs),
            "involving": self.involving,
        }

    def format(self, top: int = 20, examples: int = 3) -> str:
        share = self.first / self.searched if self.searched else 1.0
        sample = f" (a sample of {self.available:,})" if self.searched < self.available else ""
        lines = [f"{self.searched:,} phrasings{sample} of {self.articles:,} articles, each searched with itself hidden: "
                 f"{self.first:,} ({share:.1%}) bring up their own article first."]
        pairs = self.pairs()
        where = f" where {self.involving} is on either side" if self.involving else ""
        if not pairs:
            return "\n".join(lines + [f"None brings up another article first{where}."] if where else lines)
        lines.append(f"{len(self.confusions):,} bring up another article first{where} ({len(pairs):,} pairs); "
                     f"the {min(top, len(pairs))} largest:")
        for (a, b), cs in pairs[:top]:
            lines += ["", f"{len(cs):>3}  {a}  {self.questions.get(a, '')}", f"     → {b}  {self.questions.get(b, '')}" if b else "     → no article found"]
            for c in cs[:examples]:
                own = f"own {c.own_score:.2f}, rank {c.own_rank}" if c.own_rank else "own not in the candidates"
                lines.append(f"       {c.phrasing}  ⇒  {c.matched}  ({c.score:.2f}; {own})")
            if len(cs) > examples:
                lines.append(f"       … {len(cs) - examples} more")
        return "\n".join(lines)


def find_confusions(searcher, limit: int = DEFAULT_LIMIT, depth: int = 30) -> ConfusionReport:
    """Search every phrasing of the index's articles that have two or more (at most ``limit``,
    a deterministic sample beyond) with its own row hidden; report those whose article is not first."""
    data = searcher.data
    every = pseudo_queries(searcher, len(data.row_text))
    available, queries = len(every), every[:limit]
    # Folds over the shuffled order: split in corpus order, a fold would hide whole articles.
    paraphrase, lsa = held_out_paraphrase(searcher, queries), held_out_lsa(searcher, queries)
    queries = sorted(queries, key=lambda q: q[1])  # reported in corpus order
    ids = [a.id for a in data.articles]
    confusions, first = [], 0
    for art, row, text in queries:
        analysis = searcher.analyzer.analyze(text)
        cands = searcher.candidates(analysis, exclude_row=row, limit=depth,
                                    paraphrase=paraphrase.get(row), lsa=lsa.get(row))
        if cands is None or cands.arts.size == 0:
            confusions.append(Confusion(ids[art], "", text, "", 0.0, 0.0, 0))
            continue
        scores = (searcher.reranker.predict(candidate_features(cands, analysis)) if searcher.reranker is not None
                  else cands.score)
        order = np.lexsort((cands.arts, -scores.round(6)))  # as Searcher.search breaks ties
        best = int(order[0])
        if int(cands.arts[best]) == art:
            first += 1
            continue
        own = np.flatnonzero(cands.arts[order] == art)
        rank = int(own[0]) + 1 if own.size else 0
        confusions.append(Confusion(ids[art], ids[int(cands.arts[best])], text, data.row_text[int(cands.rows[best])],
                                    round(float(scores[best]), 4),
                                    round(float(scores[order[rank - 1]]), 4) if rank else 0.0, rank))
    named = ({c.article for c in confusions} | {c.taken_by for c in confusions}) - {""}
    questions = {i: searcher.get(i).question for i in sorted(named)}
    return ConfusionReport(len(ids), len(queries), available, first, tuple(confusions), questions)
