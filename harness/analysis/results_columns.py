"""The quantities a results-matrix cell can show (its columns), in their default order.

Kept apart from the decision (results_matrix) so the command line can list them without
loading pandas and scipy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quantity:
    key: str
    label: str
    unit: str | None  # None: the row's own unit (latency)


QUANTITIES: dict[str, Quantity] = {q.key: q for q in (
    Quantity("latency", "median", None),
    Quantity("speedup", "speed-up vs fp32", "×"),
    Quantity("memory", "peak memory", "MB"),
    Quantity("energy", "energy / inference", "mJ"),
    Quantity("rel_l2", "rel-L2 vs fp32", ""),
    Quantity("xplat", "rel-L2 vs reference", ""),
)}
DEFAULT_COLUMNS = tuple(QUANTITIES)
