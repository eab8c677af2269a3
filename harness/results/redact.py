"""Secrets never reach the store, an export or a page: URL passwords are masked.

A store URL like ``postgresql+psycopg://bench:s3cret@db/harness`` can arrive in argv (``--store``),
in labels or in a saved configuration. Everything the store writes about a run passes through
``redact`` first, and what it reads back passes again (stores written before this existed).
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
# scheme://authority: the authority runs to the first '/', whitespace or quote
# (a password may hold an unescaped '@' or '/': the userinfo then runs to the token's last '@')
_URL = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<authority>[^\s'\"]*@[^@/\s'\"?#]*|[^/\s'\"]*)")


def _mask(m: re.Match[str]) -> str:
    authority = m.group("authority")
    userinfo, at, host = authority.rpartition("@")  # a password may hold an unescaped '@': the last one ends it
    user, colon, _secret = userinfo.partition(":")
    if not at or not colon:
        return m.group(0)
    return f"{m.group('scheme')}{user}:{MASK}@{host}"


# a credential in a query string or a libpq keyword string: ?password=..., &sslpassword=..., password=...
_QUERY_SECRET = re.compile(
    r"(?P<key>(?<![A-Za-z0-9_])(?:password|passwd|pwd|pass|sslpassword|secret|token|api_?key|access_?token)=)"
    r"(?P<value>[^&\s'\"]*)", re.IGNORECASE)


def redact_text(text: str) -> str:
    """``text`` with every credential masked: the password of each ``scheme://user:password@host``
    URL (an unescaped ``@`` in it included) and each ``password=`` (``?password=``, ``&pwd=``, a
    libpq ``password=...`` keyword)."""
    return _QUERY_SECRET.sub(lambda m: m.group("key") + MASK, _URL.sub(_mask, text))


def redact(value: Any) -> Any:
    """A copy of a JSON-like value (str / list / dict, nested) with URL passwords masked."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value
