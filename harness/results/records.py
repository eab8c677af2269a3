"""Where the session's records used to live: they are in ``harness.records`` now (shared by results and
analysis); this name stays so code written against it keeps working."""

from __future__ import annotations

from harness.records import CellRecord, MetricValue

__all__ = ["CellRecord", "MetricValue"]
