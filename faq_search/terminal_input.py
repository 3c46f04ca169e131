"""Lines typed at GNU readline's prompt with the bytes that are not UTF-8 kept in their own line.

Readline composes a character from its bytes as they come (``_rl_insert_char``) and keeps the bytes of
one not finished in a buffer of its own that accepting the line does not empty: a lead byte typed on a
mis-set terminal (GBK's \\xc4) was left out of its line, which was answered as if typed right, and put
into the next question, which was refused in its place. ``utf8_keys`` reads each typed character's
bytes before readline sees any: whole characters go on to readline, the bytes of one cut short are put
in the line as they are, where ``input()`` (errors="surrogateescape") gives them as lone surrogates.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import sys

# Bytes a UTF-8 character of each lead byte holds (C0, C1, F5-FF lead none: readline puts them in as they are).
_LENGTHS = {**{b: 2 for b in range(0xC2, 0xE0)}, **{b: 3 for b in range(0xE0, 0xF0)}, **{b: 4 for b in range(0xF0, 0xF5)}}


@contextlib.contextmanager
def utf8_keys(encoding: str):
    """While in the block, readline reads typed keys through ``_Keys`` when the terminal's ``encoding``
    (standard input's) is UTF-8; nothing changes in another (readline composes GBK's characters itself
    then), nor where the readline is not GNU's (libedit on macOS) or ctypes cannot reach it."""
    readline = sys.modules.get("readline")
    if codecs.lookup(encoding or "ascii").name != "utf-8":
        yield
        return
    try:
        lib = ctypes.CDLL(readline.__file__)
        hook = ctypes.c_void_p.in_dll(lib, "rl_getc_function")
        insert = lib.rl_insert_text
        insert.argtypes = [ctypes.c_char_p]
        keys = _Keys(_GETC(hook.value), lib.rl_stuff_char, insert)
    except (AttributeError, OSError, TypeError, ValueError):
        yield
        return
    original = hook.value
    callback = _GETC(keys)  # kept referenced while readline may call it
    hook.value = ctypes.cast(callback, ctypes.c_void_p).value
    try:
        yield
    finally:
        hook.value = original


_GETC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class _Keys:
    """readline's ``rl_getc_function``: the next byte typed, a character's first byte only once its
    others are read (they follow it at once) and pushed back to come next (``rl_stuff_char``); the bytes
    of a character cut short by one that cannot follow them are inserted in the line as they are
    (``rl_insert_text``), then that byte is read as the next key. Pasted text (between the terminal's
    bracketed-paste marks) goes on as read: readline puts it in the line as it is, composing nothing."""

    PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"

    def __init__(self, getc, stuff, insert):
        self.getc, self.stuff, self.insert = getc, stuff, insert
        self.recent, self.pasting = bytearray(), False

    def __call__(self, stream) -> int:
        key = self._read(stream)
        try:
            while key in _LENGTHS and not self.pasting:
                started, decoder = [key], codecs.getincrementaldecoder("utf-8")()
                decoder.decode(bytes([key]))
                while len(started) < _LENGTHS[started[0]]:
                    key = self._read(stream)
                    if not 0 <= key <= 0xFF:  # end of input, or an error reading it
                        break
                    try:
                        decoder.decode(bytes([key]))
                    except UnicodeDecodeError:
                        break
                    started.append(key)
                else:  # a whole character
                    for byte in started[1:]:
                        self.stuff(byte)
                    return started[0]
                self.insert(bytes(started))  # cut short: as it was typed, in its line
        except Exception:  # noqa: BLE001 - nothing may leave a ctypes callback: the key goes on as read
            return key
        return key

    def _read(self, stream) -> int:
        key = self.getc(stream)
        if 0 <= key <= 0xFF:
            self.recent = (self.recent + bytes([key]))[-len(self.PASTE_START):]
            if self.recent in (self.PASTE_START, self.PASTE_END):
                self.pasting, self.recent = self.recent == self.PASTE_START, bytearray()
        return key
