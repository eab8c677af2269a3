"""Wall times of earlier runs of the same cells, for a run's cost estimate before it starts."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from harness.results import schema as S
from harness.results.store import Store

CellId = tuple[str, str, str, str]  # device, workload, precision, backend

RECENT = 5  # the last few ok runs of a cell: recent enough to track a device, enough to shrug off one outlier
STRETCHED_KINDS = ("sustained",)  # runs whose cells are stretched on purpose say nothing of a normal cell


def earlier_walls(store: Store, cells: Iterable[CellId], recent: int = RECENT) -> dict[CellId, list[float]]:
    """cell -> wall seconds of its last ``recent`` ok runs (newest first); cells never run are absent."""
    wanted = set(cells)
    if not wanted:
        return {}
    c = S.cells.c
    q = (
        select(c.device, c.workload, c.precision, c.backend, c.wall_s)
        .join(S.runs, S.runs.c.run_id == c.run_id)
        .where(c.status == "ok", c.wall_s.is_not(None), S.runs.c.kind.not_in(STRETCHED_KINDS),
               c.device.in_(sorted({w[0] for w in wanted})), c.workload.in_(sorted({w[1] for w in wanted})))
        .order_by(c.id.desc())
    )
    out: dict[CellId, list[float]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(q):
            key = (row.device, row.workload, row.precision, row.backend)
            if key in wanted and len(out.setdefault(key, [])) < recent:
                out[key].append(float(row.wall_s))
    return out
