"""Remove personal data from free text before it is stored: phone, ID-card and bank-card numbers, e-mail.

Users paste such data into the search box ("我的卡号6222 0212 3456 7890 123扣款失败"). The query log
keeps the question and replaces each match with a placeholder such as ``[phone]``.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["redact", "PLACEHOLDERS"]


class _Probe(dict):
    """``str.translate`` table for the copy patterns run on, one character for one (so match positions
    are valid in the original): full-width forms from a Chinese input method (１３８, ＠, －, ideographic
    space, 。), any script's decimal digits (𝟏, ١) as ASCII digits, dashes as "-", and invisible format
    characters (zero-width space, direction marks) as spaces, so that they separate digit groups
    rather than hide a number."""

    def __init__(self):
        super().__init__({0xFF01 + i: 0x21 + i for i in range(94)})  # ！…～ → !…~
        self.update({0x3002: ord("."), 0x3000: ord(" ")})  # 。 ideographic space
        self.update(dict.fromkeys([*range(0x2010, 0x2016), 0x2212, 0xFE58, 0xFE63], ord("-")))

    def __missing__(self, code: int) -> int:
        char = chr(code)
        digit = unicodedata.decimal(char, None)
        to = (ord(str(digit)) if digit is not None else ord(" ") if unicodedata.category(char) == "Cf" else code)
        self[code] = to  # remembered: a query meets few distinct characters
        return to


_PROBE = _Probe()

# Up to two separators between digit groups: spaces, hyphens, dots or underscores ("138  1234  5678",
# "6222.0212.3456.7890").
_S = r"[ \t\u00a0._-]"
_SEP = rf"(?:{_S}{{1,2}})"
_DATE = r"(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"

# Order matters: an earlier pattern claims its span first (an ID number is also 18 digits).
_PATTERNS = (
    ("email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    # Resident ID: 6-digit region, birth date, 3-digit sequence, check digit or X; the 15-digit
    # pre-1999 form has a 2-digit year.
    ("id_card", re.compile(
        rf"(?<![0-9])[1-9][0-9]{{5}}{_SEP}?{_DATE}{_SEP}?[0-9]{{3}}[0-9Xx](?![0-9A-Za-z])"
        rf"|(?<![0-9])[1-9][0-9]{{7}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{{3}}(?![0-9])"
    )),
    # Bank cards: 16–19 digits, often typed in groups of four. No Luhn check: some UnionPay debit
    # cards fail it, and redacting an order number too costs nothing.
    ("bank_card", re.compile(
        rf"(?<![0-9])(?<![0-9]{_S})(?<![0-9]{_S}{_S})[0-9](?:{_SEP}?[0-9]){{15,18}}(?!{_SEP}?[0-9])")),
    # Mainland mobiles, with or without +86 / 0086 / (+86), grouped 3-4-4 or not.
    ("phone", re.compile(
        rf"(?<![0-9])(?:[(]?(?:\+|00)?86[)]?{_S}*)?1[3-9][0-9](?:{_SEP}?[0-9]){{8}}(?![0-9])"
    )),
    # Landlines need the area-code separator: a bare 0-led digit run is more likely an order number.
    # Neither part of a longer run of digit groups (a card or serial number).
    ("phone", re.compile(
        rf"(?<![0-9])(?<![0-9]{_S})(?<![0-9]{_S}{_S})(?:\(0[0-9]{{2,3}}\){_SEP}?|0[0-9]{{2,3}}{_SEP})"
        rf"(?:[0-9]{{7,8}}|[0-9]{{3,4}}{_SEP}[0-9]{{4}})(?!{_SEP}?[0-9])")),
)

PLACEHOLDERS = {kind: f"[{kind}]" for kind, _ in _PATTERNS}


def redact(text: str) -> str:
    """``text`` with every phone, ID-card, bank-card number and e-mail address replaced by a placeholder."""
    probe = text.translate(_PROBE)
    spans: list[tuple[int, int, str]] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(probe):
            if not any(m.start() < end and start < m.end() for start, end, _ in spans):
                spans.append((m.start(), m.end(), kind))
    if not spans:
        return text
    out, pos = [], 0
    for start, end, kind in sorted(spans):
        out += [text[pos:start], PLACEHOLDERS[kind]]
        pos = end
    out.append(text[pos:])
    return "".join(out)
