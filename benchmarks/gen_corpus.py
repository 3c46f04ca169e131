#!/usr/bin/env python3
"""Deterministic knowledge bases of N entries for speed tests, recombined from real sentences.

    python benchmarks/gen_corpus.py --corpus corpus \\
        --kb /work/shared/bench/bq/kb.jsonl --questions /work/shared/bench/bq/unlabeled_questions.txt \\
        --real-queries /work/shared/bench/bq/queries.jsonl --sizes 1000,10000,100000 --out /tmp/faq-bench

Writes ``kb-<N>.jsonl`` in the import format ({id, question, similar_questions, answer, category,
tags}) and ``queries-<N>.jsonl`` ({query, kind, expected}) per size. Entries come from one seeded
stream, so each size is a prefix of the next. Nothing from the inputs is stored in the repository.

Where the text comes from:
* questions: real phrasings (our articles, BQ clusters and unlabeled BQ questions), used as they are
  about a third of the time and otherwise recombined by a word-level Markov chain over them, so
  vocabulary and term frequencies stay those of real users while entries do not repeat;
* similar questions: a cluster's other real phrasings, topped up with paraphrases (synonyms from
  corpus/dict/synonyms.txt, polite fillers, clause splices, Markov continuations);
* answers (80–400 characters): sentences of our articles' answers in the entry's category, with
  numbers varied, often opened by a restatement of the question.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

import jieba

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from faq_search.analysis import load_synonyms, load_user_words  # noqa: E402
from faq_search.corpus import load_corpus  # noqa: E402

REAL_SHARE = 0.35  # entries whose question is a real phrasing (mutated after the first pass)
PREFIXES = ("请问", "你好，", "您好，请问", "我想问一下", "问下", "咨询一下", "麻烦问下", "在吗，")
SUFFIXES = ("？", "吗", "呢", "怎么办", "啊", "，谢谢", "，急", "？？")
OPENERS = ("关于{q}：", "您好，{q}的问题可以这样处理。", "{q}？请按下面的说明操作。", "针对“{q}”，")
_SENTENCE_END = re.compile(r"(?<=[。！？；])")
_LIST_MARK = re.compile(r"^\s*(?:\d+[.、]|[-*•])\s*")
_MARKDOWN = re.compile(r"[*`#>]+")
# Amounts and phone numbers (3+ digits), not times or small counts.
_DIGITS = re.compile(r"(?<![\d:：])[1-9]\d{2,}(?![\d:：])")
_PUNCT_TAIL = re.compile(r"[\s？?！!。，,、~～]+$")


def read_lines(path: Path) -> list[str]:
    return [line.strip().strip("'\"#") for line in path.read_text("utf-8").splitlines() if line.strip()]


class Sources:
    """Real sentences, grouped the way the generator samples them."""

    def __init__(self, corpus_dir: Path, kb_paths: list[Path], question_paths: list[Path]):
        corpus = load_corpus(corpus_dir)
        self.categories = list(corpus.categories) or sorted({a.category for a in corpus.articles})
        self.clusters: list[tuple[list[str], str | None]] = []  # (phrasings, category or None)
        self.answer_sentences: dict[str, list[str]] = defaultdict(list)
        self.tags: dict[str, list[str]] = defaultdict(list)
        self.tag_category: dict[str, str] = {}
        for a in corpus.articles:
            self.clusters.append((list(a.questions), a.category))
            for line in a.answer.splitlines():
                line = _MARKDOWN.sub("", _LIST_MARK.sub("", line)).strip()
                for s in _SENTENCE_END.split(line):
                    if len(s.strip()) >= 6:
                        self.answer_sentences[a.category].append(s.strip())
            for t in a.tags:
                if t not in self.tags[a.category]:
                    self.tags[a.category].append(t)
                self.tag_category.setdefault(t, a.category)
        for path in kb_paths:
            for line in path.read_text("utf-8").splitlines():
                if line.strip():
                    e = json.loads(line)
                    qs = [q.strip() for q in [e.get("question", ""), *e.get("similar_questions", [])] if q and q.strip()]
                    if qs:
                        self.clusters.append((qs, None))
        for path in question_paths:
            self.clusters.extend(([q], None) for q in read_lines(path) if 2 <= len(q) <= 80)
        self.synonyms = load_synonyms(corpus_dir / "dict" / "synonyms.txt")
        self.user_words = load_user_words(corpus_dir / "dict" / "user_words.txt")


class Markov:
    """Order-2 word chain over real questions, backing off to order 1 for variety."""

    def __init__(self, sentences: list[list[str]]):
        self.next2: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.next1: dict[str, list[str]] = defaultdict(list)
        self.starts: list[tuple[str, str]] = []
        for words in sentences:
            seq = ["<s>", *words, "</s>"]
            self.starts.append((seq[0], seq[1]))
            for i in range(len(seq) - 2):
                self.next2[(seq[i], seq[i + 1])].append(seq[i + 2])
            for i in range(len(seq) - 1):
                self.next1[seq[i]].append(seq[i + 1])

    def walk(self, rng: random.Random, start: tuple[str, str] | None = None, max_chars: int = 40) -> str:
        a, b = start or rng.choice(self.starts)
        out = [b] if b != "<s>" else []
        if a != "<s>":
            out.insert(0, a)
        while sum(map(len, out)) < max_chars:
            options = self.next2.get((a, b)) if rng.random() > 0.3 else None
            options = options or self.next1.get(b)
            if not options:
                break
            w = rng.choice(options)
            if w == "</s>":
                break
            out.append(w)
            a, b = b, w
        return "".join(out)


class Generator:
    def __init__(self, sources: Sources, seed: int):
        self.src = sources
        self.seed = seed
        self.rng = random.Random(seed)
        tok = jieba.Tokenizer()
        tok.initialize()
        for word, freq in sources.user_words:
            tok.add_word(word, freq)
        self.cut = lambda s: [w for w in tok.lcut(s) if w.strip()]
        self.cluster_words = [[self.cut(q) for q in qs] for qs, _ in sources.clusters]
        self.markov = Markov([w for ws in self.cluster_words for w in ws])
        self.order = list(range(len(sources.clusters)))
        self.rng.shuffle(self.order)
        self.synonym_of: dict[str, list[str]] = {}
        for group in sources.synonyms:
            for w in group:
                self.synonym_of[w] = [x for x in group if x != w]
        self.synonym_re = re.compile("|".join(map(re.escape, sorted(self.synonym_of, key=len, reverse=True))))
        self.tag_re = re.compile("|".join(map(re.escape, sorted(sources.tag_category, key=len, reverse=True))))

    # --- questions ------------------------------------------------------------------
    def paraphrase(self, q: str, rng: random.Random) -> str:
        """One or two surface edits a user might make to ``q``."""
        for _ in range(rng.choice((1, 1, 2))):
            move = rng.random()
            if move < 0.35 and (m := list(self.synonym_re.finditer(q))):
                hit = rng.choice(m)
                q = q[: hit.start()] + rng.choice(self.synonym_of[hit.group(0)]) + q[hit.end():]
            elif move < 0.55:
                q = rng.choice(PREFIXES) + q
            elif move < 0.7:
                q = _PUNCT_TAIL.sub("", q) + rng.choice(SUFFIXES)
            elif move < 0.85:
                words = self.cut(q)
                if len(words) >= 3:
                    keep = rng.randint(2, min(3, len(words) - 1))
                    start = tuple(words[keep - 2 : keep]) if keep >= 2 else None
                    q = "".join(words[: keep - 2]) + self.markov.walk(rng, start, max_chars=max(8, len(q)))
            else:
                words = self.cut(q)
                if len(words) >= 4:
                    del words[rng.randrange(1, len(words))]
                    q = "".join(words)
        return q.strip() or "怎么办"

    def question(self, i: int, rng: random.Random) -> tuple[str, list[str], str | None]:
        """(question, real paraphrases, category or None) of entry ``i``."""
        if rng.random() < REAL_SHARE:
            k = i % len(self.order)  # walk the shuffled real clusters; later passes mutate them
            phrasings, category = self.src.clusters[self.order[k]]
            phrasings = list(phrasings)
            rng.shuffle(phrasings)
            if i >= len(self.order):
                phrasings = [self.paraphrase(p, rng) for p in phrasings]
            return phrasings[0], phrasings[1:], category
        for _ in range(10):
            q = self.markov.walk(rng)
            if 4 <= len(q) <= 40:
                return q, [], None
        return rng.choice(self.src.clusters)[0][0], [], None

    def similar(self, q: str, real: list[str], rng: random.Random) -> list[str]:
        want = rng.choice((1, 2, 3, 3, 4, 5))
        out, seen = [], {q}
        for p in real[:want]:
            if p not in seen:
                out.append(p)
                seen.add(p)
        for _ in range(want * 4):
            if len(out) >= want:
                break
            p = self.paraphrase(q, rng)
            if p not in seen:
                out.append(p)
                seen.add(p)
        return out

    # --- metadata and answers ---------------------------------------------------------
    def category_and_tags(self, texts: list[str], category: str | None, rng: random.Random) -> tuple[str, list[str]]:
        found = [m.group(0) for t in texts for m in self.tag_re.finditer(t)]
        if category is None:
            category = self.src.tag_category[found[0]] if found else rng.choice(self.src.categories)
        tags = [t for t in dict.fromkeys(found) if self.src.tag_category.get(t) == category][:2]
        pool = self.src.tags.get(category) or []
        while pool and len(tags) < rng.choice((1, 2, 3)):
            t = rng.choice(pool)
            if t not in tags:
                tags.append(t)
        return category, tags

    def answer(self, q: str, category: str, rng: random.Random) -> str:
        target = min(400, max(80, int(rng.lognormvariate(math.log(170), 0.45))))
        parts = []
        if rng.random() < 0.5:
            parts.append(rng.choice(OPENERS).format(q=_PUNCT_TAIL.sub("", q)))
        own = self.src.answer_sentences.get(category) or self.src.answer_sentences[rng.choice(list(self.src.answer_sentences))]
        while sum(map(len, parts)) < target:
            pool = own if rng.random() < 0.8 else self.src.answer_sentences[rng.choice(list(self.src.answer_sentences))]
            s = rng.choice(pool)
            # Vary amounts, days and phone numbers so answers do not share every number.
            parts.append(_DIGITS.sub(lambda m: str(rng.randrange(10 ** (len(m.group(0)) - 1), 10 ** len(m.group(0)))), s))
        text = "".join(parts)
        if len(text) > 400:
            cut = max(text.rfind(c, 80, 400) for c in "。！？；")
            text = text[: cut + 1] if cut >= 80 else text[:400]
        return text

    def entries(self, n: int):
        for i in range(n):
            # One RNG per entry, seeded by (seed, i): entry i is the same whatever the size.
            rng = random.Random(self.seed * 1_000_003 + i)
            q, real, category = self.question(i, rng)
            similar = self.similar(q, real, rng)
            category, tags = self.category_and_tags([q, *similar], category, rng)
            yield {"id": f"e{i:06d}", "question": q, "similar_questions": similar,
                   "answer": self.answer(q, category, rng), "category": category, "tags": tags}

    # --- queries ----------------------------------------------------------------------
    def queries(self, entries: list[dict], real: list[str], n: int) -> list[dict]:
        """Queries as a help-center box receives them: real held-out questions, paraphrases of
        entries, keystroke prefixes and one- or two-word searches."""
        rng = random.Random(self.seed * 7919 + len(entries))
        out = []
        while len(out) < n:
            r = rng.random()
            e = entries[rng.randrange(len(entries))]
            if r < 0.35 and real:
                out.append({"query": rng.choice(real), "kind": "real", "expected": None})
            elif r < 0.7:
                out.append({"query": self.paraphrase(rng.choice([e["question"], *e["similar_questions"]]), rng), "kind": "paraphrase", "expected": e["id"]})
            elif r < 0.85 and len(e["question"]) >= 3:
                out.append({"query": e["question"][: rng.randint(2, len(e["question"]) - 1)], "kind": "prefix", "expected": e["id"]})
            else:
                words = [w for w in self.cut(e["question"]) if len(w) > 1] or [e["question"][:2]]
                out.append({"query": "".join(rng.sample(words, min(len(words), rng.choice((1, 2))))), "kind": "keywords", "expected": e["id"]})
        return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="our Markdown knowledge base (articles + dict)")
    p.add_argument("--kb", type=Path, action="append", default=[], help="JSON Lines FAQ set to take question clusters from (repeatable)")
    p.add_argument("--questions", type=Path, action="append", default=[], help="text file of real questions, one per line (repeatable)")
    p.add_argument("--real-queries", type=Path, action="append", default=[], help="JSON Lines {query} or text file of held-out user queries")
    p.add_argument("--sizes", default="1000,10000,100000,300000")
    p.add_argument("--n-queries", type=int, default=2000)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)

    sizes = sorted(int(s) for s in args.sizes.split(","))
    sources = Sources(args.corpus, args.kb, args.questions)
    gen = Generator(sources, args.seed)
    real = []
    for path in args.real_queries:
        if path.suffix == ".jsonl":
            real += [json.loads(line)["query"] for line in path.read_text("utf-8").splitlines() if line.strip()]
        else:
            real += read_lines(path)
    args.out.mkdir(parents=True, exist_ok=True)
    entries = list(gen.entries(sizes[-1]))
    for n in sizes:
        with open(args.out / f"kb-{n}.jsonl", "w", encoding="utf-8") as f:
            for e in entries[:n]:
                f.write(json.dumps(e, ensure_ascii=False) + "\n")
        with open(args.out / f"queries-{n}.jsonl", "w", encoding="utf-8") as f:
            for q in gen.queries(entries[:n], real, args.n_queries):
                f.write(json.dumps(q, ensure_ascii=False) + "\n")
        print(f"kb-{n}.jsonl, queries-{n}.jsonl", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
