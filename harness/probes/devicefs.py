"""Read device files and resolve globs ON THE DEVICE, through any transport.

Sysfs paths move (hwmon numbers, thermal zone order), so globs are expanded where the
files are, with one round trip per call, whether the transport is local, ssh or adb.
Only POSIX ``sh`` and ``head`` are assumed (toybox and busybox have both).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from harness.transport.base import Transport

# Unquoted $pat is deliberate: the device's shell expands the glob. The pattern is passed
# as an argument, never spliced into the script text.
_GLOB_SCRIPT = 'for pat in "$@"; do for p in $pat; do [ -e "$p" ] && echo "$p"; done; done; true'
_HEADER = re.compile(r"^==> (.*) <==$")


def natural_key(path: str) -> list[object]:
    """thermal_zone2 before thermal_zone10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]


def expand_globs(transport: Transport, patterns: Iterable[str], timeout: float = 30.0) -> list[str]:
    """Existing paths matching any pattern on the device, naturally sorted, no duplicates."""
    pats = [p for p in patterns if p]
    if not pats:
        return []
    res = transport.exec(["sh", "-c", _GLOB_SCRIPT, "sh", *pats], timeout=timeout)
    found = {line.strip() for line in res.stdout.splitlines() if line.strip()}
    return sorted(found, key=natural_key)


def head_argv(paths: Sequence[str]) -> list[str]:
    """argv printing the first line of each file with a ``==> path <==`` header.

    /dev/null is appended so head always prints headers (it omits them for one file).
    Missing files print no header (head complains on stderr), so a gap never shifts values.
    """
    return ["head", "-n", "1", *paths, "/dev/null"]


def parse_head(text: str) -> dict[str, str]:
    """Parse ``head`` multi-file output into {path: first line}."""
    out: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            current = m.group(1)
            out[current] = ""
        elif current is not None and line and not out[current]:
            out[current] = line.strip()
    out.pop("/dev/null", None)
    return out


def read_first_lines(transport: Transport, paths: Sequence[str], timeout: float = 30.0) -> dict[str, str]:
    """{path: first line} for the readable files among ``paths``, in one round trip."""
    if not paths:
        return {}
    res = transport.exec(head_argv(paths), timeout=timeout)
    return parse_head(res.stdout)
