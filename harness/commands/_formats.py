"""The --format check of the commands that print or write one of several formats."""

from __future__ import annotations

from collections.abc import Sequence

from harness.errors import HarnessError


def check_format(fmt: str, formats: Sequence[str]) -> None:
    """A usage error (exit 2) naming the formats this command writes, for any other --format."""
    if fmt not in formats:
        raise HarnessError(f"--format {fmt!r}: expected one of {', '.join(formats)}")
