import ctypes
import sys

import pytest

from faq_search.terminal_input import _Keys, utf8_keys


class FakeReadline:
    """What readline would read through ``_Keys``: the keys it is handed (those pushed back first, as
    rl_read_key takes them) and the bytes put in the line as they are."""

    def __init__(self, typed: bytes):
        self.typed, self.pushed, self.line = list(typed), [], bytearray()

    def getc(self, stream) -> int:
        return self.typed.pop(0) if self.typed else -1

    def stuff(self, byte: int) -> int:
        self.pushed.append(byte)
        return 1

    def insert(self, data: bytes) -> int:
        self.line += data
        return 0

    def read_all(self) -> bytes:
        keys = _Keys(self.getc, self.stuff, self.insert)
        while (key := self.pushed.pop(0) if self.pushed else keys(None)) >= 0:
            self.line.append(key)
        return bytes(self.line)


@pytest.mark.parametrize("typed", [
    "钱转错人了".encode(), "a😀b".encode(), "提现".encode() + b"\xc4\r", b"\xe5\xbfabc\r", "钱".encode() + b"\xe5" + "钱".encode(),
    b"\xb8\xc4\r", b"\xf0\x9f\x98", b"\xc4",
])
def test_every_byte_typed_reaches_the_line_in_order(typed):
    # Whole characters handed over as typed, the bytes of one cut short put in the line as they are.
    assert FakeReadline(typed).read_all() == typed


def test_a_character_cut_short_is_put_in_the_line_not_handed_to_readline():
    # Readline composes what it is handed and kept a lead byte with no character to finish for the next line.
    readline, handed = FakeReadline("提现".encode() + b"\xc4\r"), []
    keys = _Keys(readline.getc, readline.stuff, lambda data: handed.append(("inserted", data)) or 0)
    while (key := readline.pushed.pop(0) if readline.pushed else keys(None)) >= 0:
        handed.append(key)
    assert handed == [*"提现".encode(), ("inserted", b"\xc4"), ord("\r")]


def test_nothing_is_installed_on_a_terminal_that_is_not_utf8():
    readline = pytest.importorskip("readline")
    try:
        hook = ctypes.c_void_p.in_dll(ctypes.CDLL(readline.__file__), "rl_getc_function")
    except (OSError, ValueError):
        pytest.skip("not GNU readline")
    before = hook.value
    with utf8_keys("gbk"):  # readline composes GBK's characters itself
        assert hook.value == before
    with utf8_keys("utf-8"):
        assert hook.value != before
    assert hook.value == before and "readline" in sys.modules


def test_pasted_text_goes_on_as_read_readline_puts_it_in_the_line_itself():
    # Inside the bracketed-paste marks readline composes nothing: a bad byte inserted apart came first.
    pasted = b"\x1b[200~" + "提".encode() + b"\xc4\x1b[201~"
    readline, handed = FakeReadline(pasted + "好\r".encode()), []
    keys = _Keys(readline.getc, readline.stuff, lambda data: handed.append(("inserted", data)) or 0)
    while (key := readline.pushed.pop(0) if readline.pushed else keys(None)) >= 0:
        handed.append(key)
    assert handed == [*pasted, *"好\r".encode()]
