"""The verdict of a run from its cells' statuses, and the exit code `harness run` derives from it.

| code | meaning |
|---|---|
| 0 | every cell ok or skipped |
| 1 | at least one cell failed, timed out or was thermal-gated (not measured); wins over 3 |
| 2 | usage or harness error (the CLI's, for every command) |
| 3 | every cell measured, but at least one missed its fidelity budget (accuracy_fail) |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

EXIT_OK = 0
EXIT_NOT_MEASURED = 1
EXIT_ACCURACY = 3
NOT_MEASURED = ("failed", "timeout", "thermal_gated")
ACCURACY = ("accuracy_fail",)


@dataclass(frozen=True)
class RunVerdict:
    counts: Mapping[str, int]  # status -> cells

    @property
    def not_measured(self) -> int:
        return sum(self.counts.get(s, 0) for s in NOT_MEASURED)

    @property
    def accuracy_failed(self) -> int:
        return sum(self.counts.get(s, 0) for s in ACCURACY)

    @property
    def exit_code(self) -> int:
        if self.not_measured:
            return EXIT_NOT_MEASURED
        if self.accuracy_failed:
            return EXIT_ACCURACY
        return EXIT_OK

    @property
    def reason(self) -> str | None:
        """Why the exit code is not 0, in words; None when it is."""
        parts = [f"{n} {s}" for s in (*NOT_MEASURED, *ACCURACY) if (n := self.counts.get(s, 0))]
        return f"{', '.join(parts)} of {sum(self.counts.values())} cells" if parts else None


def run_verdict(statuses: Mapping[str, int]) -> RunVerdict:
    return RunVerdict(dict(statuses))
