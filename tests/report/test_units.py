"""Durations in the unit that fits the number (issue 24: 14 µs was printed "9.78e-03 ms")."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from harness.report.units import common_unit, duration, interval


def test_each_duration_in_the_unit_that_fits_it() -> None:
    assert duration(0.014, "ms") == "14.0 µs"
    assert duration(9.78, "ms") == "9.78 ms"
    assert duration(2310.0, "ms") == "2.31 s"
    assert duration(0.5, "s") == "500 ms"
    assert duration(12.0, "tokens/s") == "12.0 tokens/s"  # not a time: its own unit
    assert duration(None, "ms") == duration(math.nan, "ms") == duration(1e308, "ms") == "–"
    assert interval(0.0139, 0.0142, 0.014, "ms") == "[13.9, 14.2]"
    assert common_unit([0.01, 0.02, 0.04], "ms") == ("µs", 1000.0)
    assert common_unit([5.0, 40.0], "MB") == ("MB", 1.0)


@given(st.floats(min_value=1e-9, max_value=1e9, allow_nan=False))
def test_never_e_notation_and_3_significant_digits(ms: float) -> None:
    text = duration(ms, "ms")
    number, unit = text.split(" ")
    assert "e" not in number and unit in ("ns", "µs", "ms", "s")
    digits = number.replace(".", "").lstrip("0")
    assert len(digits) >= 3 or float(number) >= 100
