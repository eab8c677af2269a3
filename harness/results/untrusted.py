"""Reading values from files a user or a device hands us: each bad value is a HarnessError that says
where it is (``file: cells[3].metrics[1].value``), never a crash or a silent coercion."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from harness.errors import HarnessError


def shown(value: Any) -> str:
    """A short, plain rendering of a bad value for an error message."""
    try:
        text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    except (ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def need(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    """``value`` if it is a ``kind`` (a bool is never a number), else a HarnessError naming ``where``."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
        raise HarnessError(f"{where}: expected {what}, got {type(value).__name__} {shown(value)}")
    return value


def text(value: Any, where: str, *, required: bool = True) -> str | None:
    """A JSON string; an optional one may be null (or NaN: our exporter wrote missing text so until it was fixed)."""
    if not required and (value is None or (isinstance(value, float) and math.isnan(value))):
        return None
    return str(need(value, str, where, "a string"))


def number(value: Any, where: str) -> float | None:
    """A JSON number; None and NaN read as missing (the row, not the file, is then incomparable)."""
    if value is None:
        return None
    need(value, (int, float), where, "a number")
    try:
        return float(value)
    except OverflowError as exc:  # an integer too large for a double
        raise HarnessError(f"{where}: number out of range") from exc


def sample_array(raw: Any, where: str) -> np.ndarray:
    """A JSON list of numbers as float64 (None read as NaN: the row is then judged incomparable)."""
    need(raw, list, where, "a list of numbers")
    try:
        arr = np.asarray(raw) if raw else np.empty(0)
    except (ValueError, OverflowError):
        arr = np.empty(0, dtype=object)
    if arr.dtype.kind in "iuf" and arr.ndim == 1:
        return arr.astype(float)
    out = np.empty(len(raw), dtype=float)
    for i, v in enumerate(raw):
        if v is None:
            out[i] = math.nan
        else:
            out[i] = number(v, f"{where}[{i}]")  # type: ignore[assignment]
    return out
