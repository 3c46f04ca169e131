"""The /api/search body, encoded with the article parts cached per index version.

A search result is a few per-query fields (score, why it matched, confidence) beside the article's own
fields (question, full answer, tags, related questions): most of the bytes. An index
version never changes once published, so each article's part is encoded to JSON once per version and
reused by every later search that returns it; a request encodes only its own fields. With
FAQ_SEARCH_CACHE > 0 the most recent searches (hits and encoded results) are kept too, per version.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from typing import Callable

from ..search import Hit, Searcher

__all__ = ["dumps", "related_of", "SearchPayloads", "search_body"]

# What Flask's JSON provider writes here (app.json.ensure_ascii = False, compact outside debug mode);
# one encoder, not json.dumps(**options), which builds a new one per call.
dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# A str as a JSON string, as that encoder writes it (C escaping, non-ASCII kept).
_string = json.encoder.encode_basestring


def related_of(s: Searcher, article_id: str) -> list[dict]:
    a = s.get(article_id)
    if a is None:
        return []
    return [{"id": r.id, "question": r.question, "category": r.category}
            for r in (s.get(rid) for rid in a.related) if r is not None]


class SearchPayloads:
    """Per-article JSON fragments of one index version. At most ``max_articles`` are kept (an index of
    100k articles would otherwise hold every answer twice per worker); when full, it starts over."""

    def __init__(self, searcher: Searcher, max_articles: int = 20_000, max_searches: int = 0):
        self.searcher, self.version, self.max_articles = searcher, searcher.version, max_articles
        self._fragments: dict[str, str] = {}
        self._lock = threading.Lock()  # threaded workers: one writer at a time
        self.max_searches = max_searches
        self._searches: OrderedDict[tuple, tuple[list[Hit], str]] = OrderedDict()  # least recently used first

    def search(self, key: tuple, search: Callable[[], list[Hit]]) -> tuple[list[Hit], str]:
        """``search()``'s hits and their encoded results, remembered under ``key`` (the query and its
        options) for this version: the ``max_searches`` most recently used are kept; 0 keeps none."""
        if self.max_searches <= 0:
            hits = search()
            return hits, self.results(hits)
        with self._lock:
            done = self._searches.get(key)
            if done is not None:
                self._searches.move_to_end(key)
                return done
        hits = search()  # outside the lock: two threads may both search a new key, never wait on one
        done = hits, self.results(hits)
        with self._lock:
            self._searches[key] = done
            if len(self._searches) > self.max_searches:
                self._searches.popitem(last=False)
        return done

    def fragment(self, hit: Hit) -> str:
        """``"question":…,"answer":…,"category":…,"tags":[…],"updated":…,"aliases":[…],"related":[…]`` of
        the hit's article. Its former ids let a page find votes it remembers under them."""
        frag = self._fragments.get(hit.id)
        if frag is None:
            article = hit.article
            frag = dumps({"question": article.question, "answer": article.answer, "category": hit.category,
                          "tags": list(hit.tags), "updated": article.updated, "aliases": list(article.aliases),
                          "related": related_of(self.searcher, hit.id)})[1:-1]
            with self._lock:
                if len(self._fragments) >= self.max_articles:
                    self._fragments.clear()
                self._fragments[hit.id] = frag
        return frag

    def hit(self, h: Hit) -> str:
        """One result object: Hit.to_dict() plus "related", the article's part from the cache. Written
        field by field (strings through json's own escaping): one encoder call per hit cost ~4 us."""
        terms = ",".join(map(_string, h.matched_terms))
        answer_terms = ",".join(map(_string, h.answer_terms))
        synonyms = ",".join(f'{{"query":{_string(q)},"matched":{_string(m)},"in":{_string(where)}}}'
                            for q, m, where in h.synonyms)
        read_as = ",".join(f'{{"query":{_string(q)},"read":{_string(r)},"in":{_string(where)}}}' for q, r, where in h.read_as)
        weights = ",".join(f"{_string(t)}:{round(w, 4)!r}" for t, w in h.term_weights)
        return (f'{{"id":{_string(h.id)},"score":{round(h.score, 4)!r},"matched":{_string(h.matched)},'
                f'"matched_terms":[{terms}],"answer_terms":[{answer_terms}],"synonyms":[{synonyms}],"read_as":[{read_as}],'
                f'"confident":{"true" if h.confident else "false"},"term_weights":{{{weights}}},{self.fragment(h)}}}')

    def results(self, hits: list[Hit]) -> str:
        """The "results" array, encoded."""
        return f"[{','.join(self.hit(h) for h in hits)}]"


def search_body(payloads: SearchPayloads, query: str, results: str, t0: float, other_product: str | None = None,
                other_product_ask: str | None = None) -> str:
    """The /api/search body around the encoded ``results``; ``took_ms`` counts from ``t0`` (time.perf_counter)."""
    took_ms = round((time.perf_counter() - t0) * 1000, 2)
    return (f'{{"query":{dumps(query)},"results":{results},"other_product":{dumps(other_product)},'
            f'"other_product_ask":{dumps(other_product_ask)},'
            f'"took_ms":{took_ms},"index_version":{dumps(payloads.version)}}}\n')
