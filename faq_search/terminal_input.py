"""Lines typed at GNU readline's prompt with the bytes that are not UTF-8 kept in their own line.

Readline composes a character from its bytes as they come (``_rl_insert_char``) and keeps those of one
not finished in a buffer of its own, which accepting the line does not empty, and which only a byte
completing a character empties: a lead byte typed last on a mis-set terminal (GBK's \\xc4) was left
out of its line, which was answered as if typed right, and put into the next question, which was
refused in its place. ``TypedLines`` hands readline the keys typed and watches what it holds: when a
key cannot continue it, readline is first handed the bytes of ``MARK``, four bytes which make it put
what it holds in the line as it is and then complete MARK (at most three bytes are held); MARK is
taken out of the line read, where ``input()`` (errors="surrogateescape") gives the bad bytes as lone
surrogates, as it gives those of a line piped in.
"""

from __future__ import annotations

import codecs
import ctypes
import sys

# Four bytes (a character readline composes after three held at most), never typed: a tag character.
MARK = "\U000E0001"
# The first bytes of UTF-8's characters of two to four bytes (C0, C1, F5-FF start none: readline puts them in as
# they are, holding nothing).
_LEADS = frozenset(range(0xC2, 0xF5))
_GETC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class TypedLines:
    """``input()`` at readline's prompt on a terminal whose ``encoding`` is UTF-8; where it is another
    (readline composes GBK's characters itself then), the readline is not GNU's (libedit on macOS) or
    ctypes cannot reach it, ``input()`` as it is."""

    def __init__(self, encoding: str):
        self.hook = self.keys = None
        readline = sys.modules.get("readline")
        if (readline is None or "libedit" in (readline.__doc__ or "")  # libedit composes otherwise
                or codecs.lookup(encoding or "ascii").name != "utf-8"):
            return
        try:
            lib = ctypes.CDLL(readline.__file__)
            self.hook = ctypes.c_void_p.in_dll(lib, "rl_getc_function")
            self.keys = _Keys(_GETC(self.hook.value), lib.rl_stuff_char)
        except (AttributeError, OSError, ValueError):
            self.hook = None
            return
        self.callback = _GETC(self.keys)  # referenced while readline may call it
        self.readline = readline

    def input(self, prompt: str) -> str:
        if self.hook is None:
            return input(prompt)
        # Bytes still held from a line given up (Ctrl-C) are not this line's: taken out with MARK.
        self.keys.stale = bool(self.keys.held)
        original, self.hook.value = self.hook.value, ctypes.cast(self.callback, ctypes.c_void_p).value
        try:
            line = input(prompt)
        finally:
            self.hook.value = original
        if MARK not in line:
            return line
        line = self.keys.cleaned(line)
        try:  # ↑ recalls it as read, without MARK
            self.readline.replace_history_item(self.readline.get_current_history_length() - 1, line)
        except (ValueError, UnicodeError):
            pass
        return line


class _Keys:
    """readline's ``rl_getc_function``: the key typed, and before one that cannot continue the bytes
    readline holds, MARK's (its first returned, the others and the key pushed back to come next,
    ``rl_stuff_char``). Pasted text (between the terminal's bracketed-paste marks) goes on as read:
    readline puts it in the line as it is, composing nothing."""

    PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"

    def __init__(self, getc, stuff):
        self.getc, self.stuff = getc, stuff
        self.held, self.decoder = bytearray(), codecs.getincrementaldecoder("utf-8")()
        self.stale, self.discarded = False, []
        self.recent, self.pasting = bytearray(), False

    def __call__(self, stream) -> int:
        key = self.getc(stream)
        try:
            if not 0 <= key <= 0xFF:  # end of input, or an error reading it
                return key
            self._watch_paste(key)
            if self.pasting or self.held and self._continues(key):
                return key
            if not self.held:
                self._start(key)
                return key
            mark = MARK.encode()
            for byte in [*mark[1:], key]:
                self.stuff(byte)
            if self.stale:
                self.discarded.append(bytes(self.held))
            self.held.clear()
            self.stale = False
            self._start(key)  # handed to readline after MARK
            return mark[0]
        except Exception:  # noqa: BLE001 - nothing may leave a ctypes callback: the key goes on as read
            return key

    def cleaned(self, line: str) -> str:
        """``line`` as read (bad bytes as lone surrogates) without MARK, nor the bytes held from a line
        given up that came before MARK."""
        for held in self.discarded:
            line = line.replace("".join(chr(0xDC00 + b) for b in held) + MARK, "", 1)
        self.discarded.clear()
        return line.replace(MARK, "")

    def _start(self, key: int) -> None:
        if key in _LEADS:
            self.decoder.reset()
            self.decoder.decode(bytes([key]))
            self.held = bytearray([key])

    def _continues(self, key: int) -> bool:
        """Whether ``key`` continues the character readline holds (which it completes, or not yet)."""
        try:
            done = self.decoder.decode(bytes([key]))
        except UnicodeDecodeError:
            self.decoder.reset()
            return False
        self.held = bytearray() if done else self.held + bytes([key])
        return True

    def _watch_paste(self, key: int) -> None:
        self.recent = (self.recent + bytes([key]))[-len(self.PASTE_START):]
        if self.recent in (self.PASTE_START, self.PASTE_END):
            self.pasting, self.recent = self.recent == self.PASTE_START, bytearray()
