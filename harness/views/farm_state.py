"""The farm's state, as the site's overview shows it: per device, the latest *complete* result of
every (workload, precision, backend) cell, each with its date — not the newest run alone.

A 2-cell follow-up run replaces those two cells and leaves the other 18 of last night's matrix
standing; a device whose newest runs measured nothing (offline, busy with ``--no-wait``, a failing
setup, every cell timed out) is "down since" the first of those runs, its last good results kept
and dated. A cell whose newer attempts failed keeps its last measured result with a note saying
since when it fails. A cell that never measured shows its newest attempt (failed, timeout, ...).

Per device only the cells of its newest measured fingerprint are kept: a device whose OS changed
is not shown twice, half of it stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from harness.analysis.compare import MEASURED
from harness.results.history_source import HISTORY_RUN_KINDS
from harness.results.store import Store

IDENTITY = ["device", "workload", "precision", "backend"]
SKIPPED = "skipped"


@dataclass(frozen=True)
class DeviceState:
    device: str
    newest_run: str  # the device's newest history run that attempted a cell (measured or not)
    newest_at: str
    last_good_at: str | None  # the newest run where it measured a cell (None: never)
    down_since: str | None = None  # first of the trailing runs that measured nothing (None: up)
    down_runs: int = 0  # how many such runs
    reason: str | None = None  # the newest run's first error, as the device said it

    @property
    def down(self) -> bool:
        return self.down_since is not None


@dataclass
class FarmState:
    cell_ids: list[int]  # the cells shown: per device x workload x precision x backend, one
    devices: list[DeviceState]
    failing_since: dict[int, str] = field(default_factory=dict)  # shown cell id -> note on newer failed attempts

    def runs_of(self, index: pd.DataFrame) -> dict[str, list[str]]:
        """device -> the runs its shown cells come from, newest first."""
        shown = index[index["id"].isin(set(self.cell_ids))].sort_values("run_created_at", ascending=False)
        return {str(d): list(dict.fromkeys(g["run_id"])) for d, g in shown.groupby("device", sort=True)}


def history_index(store: Store, kinds: Sequence[str] = HISTORY_RUN_KINDS, *,
                  cells: pd.DataFrame | None = None) -> pd.DataFrame:
    """Store.cell_index of the history runs (ab / calibrate experiments left out); ``cells``: a
    Store.cells_frame the caller read already (its index columns are used, no second scan)."""
    runs = {r["run_id"] for r in store.list_runs() if r.get("kind", "run") in kinds}
    index = store.cell_index() if cells is None else cells[list(Store.CELL_INDEX)]
    return index[index["run_id"].isin(runs)].reset_index(drop=True)


def farm_state(index: pd.DataFrame, errors: dict[int, str] | None = None) -> FarmState:
    """Pure: ``index`` is Store.cell_index rows of the history runs; ``errors``: cell id -> error text
    of the cells the reasons may come from (the devices' newest runs)."""
    if index.empty:
        return FarmState([], [])
    idx = index.sort_values(["run_created_at", "id"]).reset_index(drop=True)
    measured = idx[idx["status"].isin(list(MEASURED))]
    newest_fp = measured.drop_duplicates("device", keep="last").set_index("device")["device_fingerprint"]
    newest, fp = idx["device"].map(newest_fp), idx["device_fingerprint"]
    same = (fp.astype(object) == newest.astype(object)).astype(bool)
    idx = idx[(newest.isna() | fp.isna() | same).to_numpy(dtype=bool)]
    measured = idx[idx["status"].isin(list(MEASURED))]
    last_measured = measured.drop_duplicates(IDENTITY, keep="last")
    last_attempt = idx.drop_duplicates(IDENTITY, keep="last")
    never = last_attempt.merge(last_measured[IDENTITY], on=IDENTITY, how="left", indicator=True)
    never = never[never["_merge"] == "left_only"]
    shown = pd.concat([last_measured, never[idx.columns]], ignore_index=True)

    failing: dict[int, str] = {}
    later = idx.merge(last_measured[[*IDENTITY, "id", "run_created_at"]], on=IDENTITY, suffixes=("", "_ok"))
    later = later[(later["run_created_at"] > later["run_created_at_ok"]) & (later["id"] != later["id_ok"])]
    for ok_id, g in later.groupby("id_ok", sort=False):
        first, last = g.iloc[0], g.iloc[-1]
        failing[int(ok_id)] = (f"newer attempts did not measure: {len(g)} since {str(first['run_created_at'])[:16]} "
                               f"(newest {last['run_id']}: {last['status']}); this result is of "
                               f"{str(first['run_created_at_ok'])[:16]}")

    # a run whose cells of the device were all skipped (a -p the device cannot run) says nothing
    # about whether the device is up: it is left out of the up/down reading
    attempted = idx[idx["status"] != SKIPPED]
    runs = (attempted.assign(ok=attempted["status"].isin(list(MEASURED)))
            .groupby(["device", "run_id"], sort=False).agg(at=("run_created_at", "max"), ok=("ok", "max"))
            .reset_index().sort_values("at", ascending=False))
    devices = []
    for device, per_run in runs.groupby("device", sort=True):
        oks = per_run["ok"].astype(bool).tolist()
        down = oks.index(True) if True in oks else len(oks)  # the newest runs that measured nothing
        good = per_run[per_run["ok"].astype(bool)]
        newest = str(per_run["run_id"].iloc[0])
        reason = None
        if down:
            ids = idx.loc[(idx["run_id"] == newest) & (idx["device"] == device), "id"]
            reason = next((errors[int(i)] for i in ids if errors and errors.get(int(i))), None)
        devices.append(DeviceState(
            device=str(device), newest_run=newest, newest_at=str(per_run["at"].iloc[0]),
            last_good_at=str(good["at"].iloc[0]) if len(good) else None,
            down_since=str(per_run["at"].iloc[down - 1]) if down else None, down_runs=down, reason=reason))
    return FarmState(sorted(int(i) for i in shown["id"]), devices, failing)


def load_farm_state(store: Store, *, cells: pd.DataFrame | None = None) -> tuple[FarmState, pd.DataFrame]:
    """The farm's state and the history index it was chosen from (one scan of the store, or
    ``cells``: every cell, as Store.cells_frame() read them)."""
    index = history_index(store, cells=cells)
    newest = index.sort_values("run_created_at").drop_duplicates("device", keep="last")["run_id"]
    errors: dict[int, str] = {}
    if len(newest):
        cells = store.cells_frame(sorted(set(newest)))
        errors = {int(i): str(e) for i, e in zip(cells["id"], cells["error"]) if isinstance(e, str) and e}
    return farm_state(index, errors), index
