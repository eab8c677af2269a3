"""Which rows of a comparison a reader sees, in what order (pure; the verdicts are decided elsewhere).

By default one row per cell: its headline metric (``latency_ms@b1``, ``decode_ms``…). A sub-metric row
(``cosine:b1/logits``, ``peak_rss_mb``…) is shown as well when it sets the exit code (FAILED,
REGRESSED); the others are counted, and ``--all-metrics`` shows them. ``--changes-only`` keeps
FAILED / REGRESSED / SUSPECTED / IMPROVED. ``--metric GLOB`` narrows the sides before anything is
judged (``keep_metrics``), so the exit code speaks of those metrics only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

from harness.analysis.compare import Comparison, Row
from harness.analysis.run_table import headline_metric
from harness.records import Side

# Display order by verdict name (names, not members: verdicts added later sort among the middle ones).
ORDER = ("FAILED", "REGRESSED", "SUSPECTED", "INCOMPARABLE", "INCONCLUSIVE", "IMPROVED", "UNCHANGED")
CHANGES = frozenset({"FAILED", "REGRESSED", "SUSPECTED", "IMPROVED"})  # what --changes-only keeps
ALWAYS = frozenset({"FAILED", "REGRESSED"})  # a sub-metric row with these verdicts is never hidden


def rank(row: Row) -> int:
    name = row.verdict.value
    return ORDER.index(name) if name in ORDER else ORDER.index("INCOMPARABLE")


def ordered(rows: Sequence[Row]) -> list[Row]:
    """Findings first (FAILED, then REGRESSED…), then by device, workload, precision, backend, metric."""
    return sorted(rows, key=lambda r: (rank(r), r.device, r.workload, r.precision, r.backend, r.metric))


@dataclass(frozen=True)
class RowFilter:
    all_metrics: bool = False
    changes_only: bool = False


@dataclass
class Selection:
    rows: list[Row]  # shown, in display order
    hidden_metrics: Counter[str]  # sub-metric rows not shown, per verdict (--all-metrics shows them)
    hidden_verdicts: Counter[str]  # rows hidden by --changes-only, per verdict

    def hidden_text(self) -> list[str]:
        out = []
        if self.hidden_metrics:
            out.append(f"{sum(self.hidden_metrics.values())} sub-metric row(s) not shown ({_counts(self.hidden_metrics)}); "
                       "--all-metrics shows them")
        if self.hidden_verdicts:
            out.append(f"{sum(self.hidden_verdicts.values())} row(s) hidden by --changes-only "
                       f"({_counts(self.hidden_verdicts)})")
        return out


def _counts(c: Counter[str]) -> str:
    return ", ".join(f"{n} {v.lower()}" for v, n in sorted(c.items(), key=lambda kv: ORDER.index(kv[0])
                                                          if kv[0] in ORDER else len(ORDER)))


def headline_rows(rows: Sequence[Row]) -> set[int]:
    """ids of each cell's headline row: its headline noisy metric, else its first metric by name."""
    cells: dict[tuple[str, ...], list[Row]] = {}
    for r in rows:
        cells.setdefault((r.device, r.device_fingerprint, r.workload, r.precision, r.backend), []).append(r)
    out = set()
    for members in cells.values():
        noisy = [r.metric for r in members if r.kind == "noisy"]
        head = headline_metric(noisy) or (sorted(noisy)[0] if noisy else min(r.metric for r in members))
        out.add(id(next(r for r in members if r.metric == head)))
    return out


def select(cmp: Comparison, f: RowFilter = RowFilter()) -> Selection:
    heads = headline_rows(cmp.rows)
    shown: list[Row] = []
    hidden_metrics: Counter[str] = Counter()
    hidden_verdicts: Counter[str] = Counter()
    for r in cmp.rows:
        name = r.verdict.value
        if f.changes_only and name not in CHANGES:
            hidden_verdicts[name] += 1
        elif not f.all_metrics and id(r) not in heads and name not in ALWAYS:
            hidden_metrics[name] += 1
        else:
            shown.append(r)
    return Selection(ordered(shown), hidden_metrics, hidden_verdicts)


def keep_metrics(side: Side, globs: Sequence[str]) -> Side:
    """The side with only the metrics matching one of ``globs`` (its cells, failed ones included, stay)."""
    if not globs or side.metrics.empty:
        return side
    names = side.metrics["metric"].astype(str)
    keep = names.map(lambda n: any(fnmatchcase(n, g) for g in globs))
    return replace(side, metrics=side.metrics[keep.to_numpy()].reset_index(drop=True))
