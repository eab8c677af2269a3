"""Text from a device, made safe for a terminal.

Device- and user-supplied strings are printed as plain text (rich markup off), but a terminal
still obeys what is in them: an escape sequence can recolour, move the cursor, retitle the window
or hide what follows, and a right-to-left override makes ``exe.txt`` read as ``txt.exe``. Before
such text reaches a terminal (``run``'s progress lines, ``compare``'s table, error messages) its
escape sequences are removed and every other control or bidi formatting character is replaced by
U+FFFD, so nothing is silently hidden. Stores and pages keep the text as it was (pages escape it).
"""

from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and two-character escapes
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")
# C0 controls but tab and newline, DEL, C1 controls; bidi embeddings, overrides, isolates and marks
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
REPLACEMENT = "\ufffd"


def terminal_safe(text: str) -> str:
    """``text`` with escape sequences removed and other control / bidi characters replaced."""
    return _CONTROLS.sub(REPLACEMENT, _ESCAPES.sub("", text))
