"""`harness run`'s exit code from its cells' statuses."""

from __future__ import annotations

import pytest

from harness.analysis.run_verdict import EXIT_ACCURACY, EXIT_NOT_MEASURED, EXIT_OK, run_verdict


@pytest.mark.parametrize(("counts", "code"), [
    ({"ok": 3}, EXIT_OK),
    ({"ok": 1, "skipped": 4}, EXIT_OK),
    ({}, EXIT_OK),
    ({"ok": 2, "failed": 1}, EXIT_NOT_MEASURED),
    ({"failed": 5}, EXIT_NOT_MEASURED),
    ({"ok": 2, "timeout": 1}, EXIT_NOT_MEASURED),
    ({"ok": 2, "thermal_gated": 1}, EXIT_NOT_MEASURED),
    ({"ok": 2, "accuracy_fail": 1}, EXIT_ACCURACY),
    ({"accuracy_fail": 1, "failed": 1}, EXIT_NOT_MEASURED),  # a crash wins over a missed budget
])
def test_exit_codes(counts: dict[str, int], code: int) -> None:
    verdict = run_verdict(counts)
    assert verdict.exit_code == code
    assert (verdict.reason is None) == (code == EXIT_OK)


def test_reason_counts_what_went_wrong() -> None:
    assert run_verdict({"ok": 1, "failed": 2, "accuracy_fail": 1}).reason == "2 failed, 1 accuracy_fail of 4 cells"
    assert EXIT_NOT_MEASURED != 2 and EXIT_ACCURACY != 2  # 2 is the CLI's usage/harness error
