"""The rules for ids a user or a file gives us (build ids, run ids, night labels).

An id becomes a folder or file name, so it is checked where it enters, with rules modelled on
``git check-ref-format`` for one path component: not empty, at most ``MAX_ID_LEN`` characters,
letters / digits / ``._+-`` only, starting with a letter or digit (never ``.``, ``..`` or an
option-like ``-x``), no ``..`` anywhere, not ending in ``.`` or ``.lock``. An id can therefore
never name a parent folder, an absolute path or a hidden file.
"""

from __future__ import annotations

import re

from harness.errors import HarnessError

MAX_ID_LEN = 128
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def id_problem(value: object) -> str | None:
    """Why ``value`` is not a valid id, or None when it is."""
    if not isinstance(value, str):
        return f"expected text, got {type(value).__name__}"
    if not value:
        return "it is empty"
    if len(value) > MAX_ID_LEN:
        return f"it is longer than {MAX_ID_LEN} characters"
    if not _ID_RE.fullmatch(value):
        return "use letters, digits and . _ + - only, starting with a letter or digit"
    if ".." in value:
        return "'..' is not allowed in an id"
    if value.endswith((".", ".lock")):
        return "an id may not end with '.' or '.lock'"
    return None


def check_id(value: object, what: str) -> str:
    """``value`` when it is a valid id; else a HarnessError naming ``what`` (e.g. ``--id``)."""
    problem = id_problem(value)
    if problem:
        raise HarnessError(f"{what} {value!r}: not a valid id: {problem}")
    assert isinstance(value, str)
    return value
