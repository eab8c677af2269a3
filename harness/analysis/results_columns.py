"""The quantities a results-matrix cell can show (its columns), in their default order.

Kept apart from the decision (results_matrix) so the command line can list them without
loading pandas and scipy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quantity:
    key: str
    header: str  # "{unit}": the rows' latency unit; "{reference}": what xplat compares with
    help: str


QUANTITIES: dict[str, Quantity] = {q.key: q for q in (
    Quantity("latency", "median [95% CI] ({unit})", "median of the row's series with its 95% CI"),
    Quantity("speedup", "× vs fp32", "the fp32 median over this median, same device and backend"),
    Quantity("vs_ort", "× vs ORT fp32", "the device's ONNX Runtime fp32 median (its CPU EP backend where it has one) "
             "over this median: what this runtime and precision gain over the default"),
    Quantity("memory", "peak MB", "peak memory of the measured session"),
    Quantity("energy", "mJ / inference", "energy per inference, where a power probe measured it"),
    Quantity("rel_l2", "rel-L2 vs fp32", "output error vs the fp32 reference on the host"),
    Quantity("xplat", "rel-L2 vs {reference}", "output agreement with the same precision on the reference"),
)}
DEFAULT_COLUMNS = tuple(QUANTITIES)
