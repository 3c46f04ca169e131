import ctypes

import pytest

from faq_search.terminal_input import MARK, TypedLines, _Keys


def _mbrtowc(held: bytes) -> int:
    """As glibc's mbrtowc in a UTF-8 locale: the length of the character ``held`` starts with, -2 when
    it is the start of one, -1 when it starts none."""
    for n in range(1, min(4, len(held)) + 1):
        try:
            held[:n].decode("utf-8")
            return n
        except UnicodeDecodeError:
            pass
    try:
        return -2 if not __import__("codecs").getincrementaldecoder("utf-8")().decode(held) else -1
    except UnicodeDecodeError:
        return -1


class Readline:
    """GNU readline's ``_rl_insert_char`` in a UTF-8 locale (text.c), its held bytes kept from line to
    line as there: ASCII goes in at once; another byte is held with those before it until they make a
    character (then all go in) or cannot (then the first goes in as it is). Keys come from ``_Keys``,
    those it pushes back first; Enter accepts the line, Ctrl-C gives it up."""

    def __init__(self):
        self.held, self.pushed = bytearray(), []

    def read_lines(self, typed: bytes) -> list[str]:
        keys, lines, line, typed = _Keys(None, self.pushed.append), [], bytearray(), list(typed)
        keys.getc = lambda stream: typed.pop(0) if typed else -1
        while (key := self.pushed.pop(0) if self.pushed else keys(None)) >= 0:
            if key in b"\r\x03":  # as TypedLines.input reads each line
                if key == 0x0D:
                    lines.append(keys.cleaned(line.decode("utf-8", "surrogateescape")))
                keys.stale, line = bool(keys.held), bytearray()
            elif key < 0x80:
                line.append(key)
            else:
                self.held.append(key)
                n = _mbrtowc(bytes(self.held))
                if n == -1:
                    line.append(self.held.pop(0))
                elif n > 0:
                    line += self.held
                    self.held.clear()
        return lines


@pytest.mark.parametrize("typed, lines", [
    ("钱转错人了\r提现\r".encode(), ["钱转错人了", "提现"]),
    ("a😀b\r".encode(), ["a😀b"]),
    # A lead byte typed last: readline held it, the line was read without it and the next with it.
    ("提现".encode() + b"\xc4\r" + "钱转错人了\r".encode(), ["提现\udcc4", "钱转错人了"]),
    (b"\xe5\xbfabc\r" + "好\r".encode(), ["\udce5\udcbfabc", "好"]),  # two of three bytes, then ASCII
    (b"\xf0\x9f\x98\rx\r", ["\udcf0\udc9f\udc98", "x"]),  # three of four
    ("钱".encode() + b"\xe5" + "钱\r".encode(), ["钱\udce5钱"]),
    (b"\xb8\xc4\r\xc4\xe3\r", ["\udcb8\udcc4", "\udcc4\udce3"]),  # GBK typed on a UTF-8 terminal
    # Given up with Ctrl-C while a byte is held: not put in the next line.
    ("提".encode() + b"\xc4\x03" + "好\r".encode(), ["好"]),
    (b"\xc4\x03ok\r", ["ok"]),
])
def test_every_line_holds_its_own_bytes_and_only_those(typed, lines):
    readline = Readline()
    assert readline.read_lines(typed) == lines and not readline.held


def test_pasted_text_goes_on_as_read_readline_puts_it_in_the_line_itself():
    # Inside the bracketed-paste marks readline composes nothing: MARK there would stay in the line.
    pasted = b"\x1b[200~" + "提".encode() + b"\xc4\x1b[201~\r"
    handed, keys, typed = [], _Keys(None, lambda b: None), list(pasted)
    keys.getc = lambda stream: typed.pop(0) if typed else -1
    while (key := keys(None)) >= 0:
        handed.append(key)
    assert bytes(handed) == pasted and MARK not in bytes(handed).decode("utf-8", "surrogateescape")


def test_nothing_is_installed_on_a_terminal_that_is_not_utf8():
    readline = pytest.importorskip("readline")
    try:
        ctypes.c_void_p.in_dll(ctypes.CDLL(readline.__file__), "rl_getc_function")
    except (OSError, ValueError):
        pytest.skip("not GNU readline")
    assert TypedLines("gbk").hook is None  # readline composes GBK's characters itself
    assert TypedLines("utf-8").hook is not None


def test_nothing_is_installed_over_libedit(monkeypatch):
    # macOS's Python: libedit's readline emulation reads characters its own way.
    import sys
    import types

    readline = pytest.importorskip("readline")
    emulation = types.ModuleType("readline", "Importing this module enables command line editing using libedit readline.")
    emulation.__file__ = readline.__file__
    monkeypatch.setitem(sys.modules, "readline", emulation)
    assert TypedLines("utf-8").hook is None
