"""Durations in the unit that fits the number: 14 µs, 9.78 ms, 2.31 s — never "9.78e-03 ms".

Formatting only (the stored unit stays what the runner measured in). A value in a time unit is
shown in µs below 1 ms, in s from 1000 ms on; anything else (tokens/s, MB) is left as it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

TO_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
STEPS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))


def is_time(unit: str | None) -> bool:
    return (unit or "") in TO_SECONDS


def fitting_unit(seconds: float) -> tuple[str, float]:
    """(unit, seconds per unit) for a duration given in seconds: the largest unit it is ≥ 1 of."""
    if not math.isfinite(seconds) or seconds == 0:
        return "ms", 1e-3
    for name, scale in STEPS:
        if abs(seconds) >= scale:
            return name, scale
    return "ns", 1e-9


def common_unit(values: Iterable[float | None], unit: str | None) -> tuple[str | None, float]:
    """One unit for several values (a chart axis): the one that fits their median; the factor
    turns a value in ``unit`` into it. Not a time unit: (unit, 1.0)."""
    if not is_time(unit):
        return unit, 1.0
    vals = sorted(abs(float(v)) for v in values if v is not None and math.isfinite(float(v)) and v != 0)
    if not vals:
        return unit, 1.0
    name, scale = fitting_unit(vals[len(vals) // 2] * TO_SECONDS[str(unit)])
    return name, TO_SECONDS[str(unit)] / scale


def decimals(v: float, significant: int = 3) -> int:
    return 0 if v == 0 else max(0, significant - 1 - math.floor(math.log10(abs(v))))


def duration(value: float | None, unit: str | None, *, significant: int = 3) -> str:
    """``value`` in ``unit`` as text in the unit that fits it: "14.2 µs", "9.78 ms", "2.31 s";
    values in other units keep theirs, with 3 significant digits."""
    if value is None or not math.isfinite(value):
        return "–"
    if not is_time(unit):
        return f"{value:.{decimals(value, significant)}f}" + (f" {unit}" if unit else "")
    name, scale = fitting_unit(value * TO_SECONDS[str(unit)])
    v = value * TO_SECONDS[str(unit)] / scale
    return f"{v:.{decimals(v, significant)}f} {name}"


def interval(low: float | None, high: float | None, value: float, unit: str | None) -> str | None:
    """A CI in the unit ``value`` is shown in, with as many decimals: "[13.9, 14.5]"."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return None
    factor = 1.0
    if is_time(unit) and math.isfinite(value):
        _, scale = fitting_unit(value * TO_SECONDS[str(unit)])
        factor = TO_SECONDS[str(unit)] / scale
    d = decimals(value * factor)
    return f"[{low * factor:.{d}f}, {high * factor:.{d}f}]"
