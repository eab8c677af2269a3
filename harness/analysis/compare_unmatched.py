"""Rows on one side of a comparison only: what they are, decided once per cell (pure, no I/O).

A comparison of a 2-cell run with a 20-cell run has 18 cells that one side never planned; they are not
compared, and they are not a problem (``OneSided``: listed once, compactly, exit code unchanged unless
``--strict``). Three cases are findings instead:

- a cell measured in A that *failed* (or timed out) in B: ``FAILED``, one row per cell; it used to work;
- the same device name with another fingerprint (OS update, other hardware): INCOMPARABLE rows;
- everything else (planned on one side only, skipped, thermal-gated, failed in A and fixed in B,
  a metric one side did not record) is a ``OneSided`` entry with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.analysis.run_table import PRECISION_ORDER, headline_metric
from harness.records import MEASURED

GroupKey = tuple[str, str, str, str, str, str]  # workload, precision, backend, fingerprint, metric, device
CellFails = Mapping[tuple[str, ...], list[tuple[str, str, str]]]  # (cell key, device) -> [(run, status, error)]
FAILED_STATUSES = ("failed", "timeout")  # a cell that did not measure because something broke


@dataclass(frozen=True)
class OneSided:
    """A cell (``metric`` None) or one metric of a cell that only one side measured: not compared."""

    side: str  # "A" or "B": the side that has it
    device: str
    workload: str
    precision: str
    backend: str
    reason: str  # "only in A", "skipped in B: ...", "failed in A: ..."
    metric: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class FailedCell:
    """A cell measured in A whose every B run failed: one FAILED row (``metric``: A's headline)."""

    key: GroupKey
    runs: list[dict[str, Any]]  # A's records of the headline metric
    reason: str


@dataclass
class Unmatched:
    fingerprint_moved: list[tuple[GroupKey, str]]  # A's row key, B's fingerprint (INCOMPARABLE rows)
    failed: list[FailedCell]
    one_sided: list[OneSided]


def _cell(key: GroupKey) -> tuple[str, str, str, str, str]:
    """(workload, precision, backend, fingerprint, device): the cell a row belongs to."""
    return (key[0], key[1], key[2], key[3], key[5])


def _headline(keys: Sequence[GroupKey], kind_of: Callable[[GroupKey], str]) -> GroupKey:
    noisy = [k[4] for k in keys if kind_of(k) == "noisy"]
    head = headline_metric(noisy) or (sorted(noisy)[0] if noisy else sorted(k[4] for k in keys)[0])
    return next(k for k in keys if k[4] == head)


def _status_reason(side: str, fails: list[tuple[str, str, str]]) -> str:
    """"failed in B: run R: error" (the first run's; how many when several)."""
    run, status, err = fails[0]
    more = f" ({len(fails)} runs)" if len(fails) > 1 else ""
    return f"{status} in {side}: run {run}{more}" + (f": {err}" if err else "")


def _measured(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in runs if r.get("status") in MEASURED]


def unmatched(ga: Mapping[GroupKey, list[dict[str, Any]]], gb: Mapping[GroupKey, list[dict[str, Any]]],
              fails_a: CellFails, fails_b: CellFails) -> Unmatched:
    """Sort the rows present on one side only (row key -> records of every run) into findings and
    not-compared entries; ``fails_*``: each side's cells that did not measure, with run, status, error."""
    out = Unmatched([], [], [])
    cells_a = {_cell(k) for k in ga}
    cells_b = {_cell(k) for k in gb}
    names_b = {(k[0], k[1], k[2], k[5], k[4]): k for k in gb if k not in ga}
    moved_b: set[GroupKey] = set()
    by_cell: dict[tuple[str, str, str, str, str, str], list[GroupKey]] = {}
    for side, mine, theirs in (("A", ga, gb), ("B", gb, ga)):
        for key in mine:
            if key not in theirs:
                by_cell.setdefault((side, *_cell(key)), []).append(key)
    for (side, wl, prec, be, fp, dev), keys in sorted(by_cell.items()):
        groups, other_cells = (ga, cells_b) if side == "A" else (gb, cells_a)
        other_fails = fails_b if side == "A" else fails_a
        other = "B" if side == "A" else "A"
        if side == "A":
            left = []
            for k in keys:
                kb = names_b.get((k[0], k[1], k[2], k[5], k[4]))
                if kb is None:
                    left.append(k)
                else:
                    out.fingerprint_moved.append((k, kb[3]))
                    moved_b.add(kb)
            keys = left
        else:
            keys = [k for k in keys if k not in moved_b]
        if not keys:
            continue
        if (wl, prec, be, fp, dev) in other_cells:  # the cell is compared; these metrics are not
            out.one_sided += [OneSided(side, dev, wl, prec, be, f"metric only in {side}", k[4]) for k in keys]
            continue
        # a cell that failed before the device was fingerprinted (unreachable) has none: same device name
        fails = other_fails.get((wl, prec, be, fp, dev)) or other_fails.get((wl, prec, be, "", dev), [])
        if side == "A" and fails and all(f[1] in FAILED_STATUSES for f in fails):
            kinds = {k: str(next((r.get("kind") for r in groups[k]), "")) for k in keys}
            head = _headline(keys, kinds.__getitem__)
            if _measured(groups[head]):
                out.failed.append(FailedCell(head, _measured(groups[head]), _status_reason("B", fails)))
                continue
        reason = _status_reason(other, fails) if fails else f"only in {side}"
        out.one_sided.append(OneSided(side, dev, wl, prec, be, reason))
    return out


@dataclass(frozen=True)
class OneSidedGroup:
    """One line of the compact listing: entries of one side with the same kind of reason."""

    side: str
    what: str  # the reason without its run-specific detail ("only in A", "skipped in B", "metric only in A")
    cells: int
    workloads: tuple[str, ...]
    precisions: tuple[str, ...]
    devices: tuple[str, ...]
    metrics: tuple[str, ...]  # metric-level entries: which metrics
    example: str  # one full reason (the first), for the detail a group line leaves out


def _precision_rank(p: str) -> tuple[int, str]:
    return (PRECISION_ORDER.index(p) if p in PRECISION_ORDER else len(PRECISION_ORDER), p)


def group_one_sided(entries: Sequence[OneSided]) -> list[OneSidedGroup]:
    """Entries grouped by side and reason kind, for one line each."""
    groups: dict[tuple[str, str], list[OneSided]] = {}
    for e in entries:
        groups.setdefault((e.side, e.reason.split(":", 1)[0]), []).append(e)
    out = []
    for (side, what), items in sorted(groups.items()):
        out.append(OneSidedGroup(
            side, what, len({(e.device, e.workload, e.precision, e.backend) for e in items}),
            tuple(sorted({e.workload for e in items})), tuple(sorted({e.precision for e in items}, key=_precision_rank)),
            tuple(sorted({e.device for e in items})), tuple(sorted({e.metric for e in items if e.metric})),
            items[0].reason))
    return out
