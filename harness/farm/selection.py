"""Which devices this orchestrator takes (shard / label), and which cells each one runs tonight.

A shard ``i/n`` takes every n-th device of the farm in farm order (stable while the farm file
is), so n orchestrators on n hosts cover the farm exactly once. ``--label key=value`` takes
the devices whose labels match. Cells: the farm's label rules pick workloads / precisions /
backends per device; a cell matching a known failure is kept as skipped with
"known failure: <link>"; a device that failed preflight keeps its cells as skipped with
"quarantined at preflight: <reason>". Nothing is silently dropped except cells no rule asks for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

from harness.config.farm import FarmConfig, label_match
from harness.errors import HarnessError
from harness.plan import Cell, Filters

KNOWN = "known failure: "
PREFLIGHT = "quarantined at preflight: "


@dataclass(frozen=True)
class Shard:
    index: int = 1
    count: int = 1
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        parts = [f"{self.index}/{self.count}"]
        parts += [f"{k}={v}" for k, v in self.labels]
        return ",".join(parts)


def parse_shard(text: str | None, labels: Mapping[str, str] | None = None) -> Shard:
    index, count = 1, 1
    if text:
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
            raise HarnessError(f"--shard {text!r}: expected i/n with 1 <= i <= n, e.g. 2/3")
        index, count = int(m.group(1)), int(m.group(2))
    return Shard(index, count, tuple(sorted((labels or {}).items())))


def shard_devices(cfg: FarmConfig, shard: Shard) -> list[str]:
    names = [n for n in cfg.profiles if label_match(cfg.profiles[n].labels, dict(shard.labels))]
    if shard.labels and not names:
        raise HarnessError(f"no device of farm {cfg.name} has labels {dict(shard.labels)}")
    return [n for i, n in enumerate(cfg.profiles) if n in names and i % shard.count == shard.index - 1]


def union_filters(cfg: FarmConfig, devices: Sequence[str]) -> Filters:
    """The widest filters any rule asks for on these devices (cells are narrowed per device after)."""
    rules = [r for d in devices for r in cfg.cells_for(d)]
    if not rules:
        raise HarnessError(f"farm {cfg.name}: no `runs` rule matches any of the devices {list(devices)}")
    wl = sorted({p for r in rules for p in r.workloads})
    pr = sorted({p for r in rules for p in r.precisions})
    be = sorted({p for r in rules for p in r.backends})
    return Filters(tuple(devices), tuple(wl), tuple(pr), tuple(be))


def wanted(cfg: FarmConfig, cell: Cell) -> bool:
    return any(
        any(fnmatchcase(cell.workload, p) for p in r.workloads)
        and any(fnmatchcase(cell.precision, p) for p in r.precisions)
        and any(fnmatchcase(cell.backend, p) for p in r.backends)
        for r in cfg.cells_for(cell.device)
    )


def night_cells(cfg: FarmConfig, cells: Sequence[Cell], quarantined: Mapping[str, str]) -> list[Cell]:
    """Narrow a plan to the farm's rules; mark known failures and preflight quarantines skipped."""
    out = []
    for c in cells:
        if not wanted(cfg, c):
            continue
        kf = cfg.known_failure(c.key)
        if kf is not None and c.status == "planned":
            c = replace(c, status="skipped", reason=KNOWN + kf.issue)
        elif c.device in quarantined and c.status == "planned":
            c = replace(c, status="skipped", reason=PREFLIGHT + quarantined[c.device])
        out.append(c)
    return out
