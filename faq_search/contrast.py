"""What a question asks when it first says what it is not about.

不是忘了密码 是密码被锁了 names the wrong problem first, and its words (忘了密码) are an article's key
phrase: counted like the rest, they brought up the article the user has just ruled out. A question of
the form "not X but Y" (不是 / 并非 / 不想 X, then 而是 / 只是 / 就是 / 只想 … Y) is searched for Y.

Only that form, and only where the denial opens a clause: 那笔消费不是我本人操作的 and 总说不是本人
可就是我自己 are facts about the problem, not a denied topic, and keep every word. A bare 是 counts as
the contrast only after a break (space or punctuation), and never as 是不是 / 是否: 不是实名用户是不是
不能转账 asks about not being verified.
"""

from __future__ import annotations

import re

__all__ = ["asked_clause"]

_BREAK = r"[\s,，、。.;；:：!！?？~～…]"
_DENIAL = re.compile(rf"(?:^|(?<={_BREAK}))(?:我|其实|其實|并|並)?(?:并不是|並不是|不是|并非|並非|不想)")
_CONTRAST = re.compile(rf"{_BREAK}*(?:而是|只是想|只是|就是|是想|只想|就想)|{_BREAK}+是(?![不否])")
_SENTENCE_END = re.compile(r"[,，。;；!！?？]")
_WORD_CHAR = re.compile(r"[\u3400-\u9fffA-Za-z0-9]")
LONGEST_DENIED = 16  # characters: longer, the "contrast" is more likely a later sentence's 是


def asked_clause(query: str) -> str:
    """``query`` less a denied topic it opens with (see the module), else ``query`` unchanged.
    Idempotent: the clause kept is read again, for 不是A 是 不是B 是C."""
    for _ in range(3):
        kept = _drop_denied(query)
        if kept == query:
            break
        query = kept
    return query


def _drop_denied(query: str) -> str:
    denial = _DENIAL.search(query)
    if denial is None:
        return query
    contrast = _CONTRAST.search(query, denial.end())
    if contrast is None:
        return query
    denied = query[denial.end():contrast.start()]
    if not 1 <= len(denied.strip()) <= LONGEST_DENIED or _SENTENCE_END.search(denied):
        return query
    asked = query[contrast.end():].strip()
    if len(_WORD_CHAR.findall(asked)) < 2:  # 不是，是 … too little left to search for
        return query
    return f"{query[:denial.start()].strip()} {asked}".strip()
