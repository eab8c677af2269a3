"""`harness sustained`: one workload cell under continuous load for N minutes.

Burst numbers (the first seconds, what a normal cell measures) and sustained numbers (the
last slice, heat-soaked) stand side by side with temperature and power over time. The cell
is stored like any other (run kind "sustained") plus ``*.burst_p50`` / ``*.sustained_p50``
metrics and the timeline in its result.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from harness.commands._waiting import lock_wait_s, no_wait_option, wait_timeout_option
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.probes.timeline import Timeline
    from harness.records import CellRecord
    from harness.session.launch import PreparedRun


def _one_cell(prep: PreparedRun) -> None:
    if len(prep.todo) != 1:
        keys = ", ".join(c.key for c in prep.todo[:12]) or "(none runnable)"
        raise HarnessError(
            f"sustained runs exactly one cell; the filters select {len(prep.todo)}: {keys}. "
            "Narrow them with --device/--workload/--precision/--backend"
        )


def _stretch_measure(prep: PreparedRun, seconds: float) -> None:
    """The cell's steady phase runs for ``seconds`` (time-boxed, no iteration cap)."""
    cell = prep.todo[0]
    wl, path = prep.ctx.workloads[cell.workload]
    measure = wl.measure.model_copy(
        update={"min_seconds": seconds, "max_seconds": seconds, "min_iterations": 1, "max_iterations": 10**12,
                "contention_cores": None}  # one time-boxed window: never measured again for contention
    )
    timeout = seconds + 600.0  # load + warm-up + idle baseline on a slow board
    prep.ctx.workloads[cell.workload] = (wl.model_copy(update={"measure": measure, "timeout_s": timeout}), path)


def _sustained_metrics(timelines: list[Timeline]) -> list[Any]:
    from harness.records import MetricValue

    out = []
    for tl in timelines:
        if tl.burst and tl.burst.p50_ms is not None:
            out.append(
                MetricValue(f"{tl.series}.burst_p50", tl.burst.p50_ms, "ms", "info", f"median over the first {tl.burst.t1_s:g} s")
            )
        if tl.sustained and tl.sustained.p50_ms is not None:
            out.append(
                MetricValue(
                    f"{tl.series}.sustained_p50",
                    tl.sustained.p50_ms,
                    "ms",
                    "info",
                    f"median over {tl.sustained.t0_s:g}-{tl.sustained.t1_s:g} s",
                )
            )
        if tl.sustained_over_burst is not None:
            out.append(
                MetricValue(f"{tl.series}.sustained_over_burst", tl.sustained_over_burst, "", "info", "sustained p50 / burst p50")
            )
    return out


def _fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def render(console: Console, rec: CellRecord, timelines: list[Timeline]) -> None:
    from harness.analysis.flags import parse_flags  # numpy: loads when the command runs

    flags = parse_flags(rec.result.get("flags"))
    for tl in timelines:
        t = Table(title=f"{rec.cell_key} — {tl.series} over {tl.duration_s / 60:.1f} min", header_style="bold")
        for col in ("from s", "to s", "n", "p50 ms", "p90 ms", "temp max C", "power W"):
            t.add_column(col, justify="right")
        for s in tl.slices:
            t.add_row(
                f"{s.t0_s:.0f}",
                f"{s.t1_s:.0f}",
                str(s.n),
                _fmt(s.p50_ms, 3),
                _fmt(s.p90_ms, 3),
                _fmt(s.temp_max_c, 1),
                _fmt(s.power_w),
            )
        console.print(t)
        side = Table(title="burst vs sustained", header_style="bold")
        for col in ("phase", "window s", "n", "p50 ms", "temp max C", "power W"):
            side.add_column(col, justify="right" if col != "phase" else "left")
        for name, ph in (("burst", tl.burst), ("sustained", tl.sustained)):
            if ph is not None:
                side.add_row(
                    name, f"{ph.t0_s:.0f}-{ph.t1_s:.0f}", str(ph.n), _fmt(ph.p50_ms, 3), _fmt(ph.temp_max_c, 1), _fmt(ph.power_w)
                )
        console.print(side)
        if tl.sustained_over_burst is not None:
            console.print(f"sustained / burst p50: [bold]{tl.sustained_over_burst:.3f}[/]", highlight=False)
    for f in flags:
        console.print(Text("flag ", style="yellow") + Text(f.message), highlight=False)


def sustained(
    device: str = typer.Option(..., "--device", "-d", help="Device name (or glob matching one)."),
    workload: str = typer.Option(..., "--workload", "-w", help="Workload name."),
    precision: str | None = typer.Option(None, "--precision", "-p", help="Precision (needed when several apply)."),
    backend: str | None = typer.Option(None, "--backend", "-b", help="Backend (needed when several apply)."),
    minutes: float = typer.Option(10.0, "--minutes", "-m", min=0.01, help="Minutes of continuous load."),
    slices: int = typer.Option(10, "--slices", min=1, help="Time slices in the table."),
    burst_s: float = typer.Option(10.0, "--burst-s", min=0.1, help="Seconds at the start that count as burst."),
    build: str | None = typer.Option(None, "--build", help="Build id, folder or manifest (default: build now)."),
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the timeline as JSON here."),
    devices_dir: Path | None = typer.Option(None, "--devices-dir", help="Folder of device profiles."),
    workloads_dir: Path | None = typer.Option(None, "--workloads-dir", help="Folder of workloads."),
    wait_timeout: float = wait_timeout_option(),
    no_wait: bool = no_wait_option(),
) -> None:
    """Run one cell for N minutes: latency, temperature and power over time, burst vs sustained."""
    from harness.commands._waiting import WaitLine
    from harness.config.outputs import output_file
    from harness.plan import Filters
    from harness.probes.timeline import timelines_from_result
    from harness.results.store import Store
    from harness.session.launch import RunRequest, execute, prepare_run

    if json_out is not None:
        output_file(json_out, "--json")  # before minutes of measuring, not after
    console = Console()
    store = Store(store_url)
    files = [Path(device)] if device.endswith((".yaml", ".yml")) else []
    req = RunRequest(
        filters=Filters(
            () if files else (device,), (workload,), (precision,) if precision else (), (backend,) if backend else ()
        ),
        build=build,
        devices_dir=devices_dir,
        workloads_dir=workloads_dir,
        device_files=files,
        check_first=True,
        kind="sustained",
        labels={"sustained_minutes": minutes},
        argv=sys.argv[1:],
        lock_wait_s=lock_wait_s(wait_timeout, no_wait),
    )
    with console.status("preparing the build (reused when unchanged)…"):
        prep = prepare_run(req, store)
    _one_cell(prep)
    _stretch_measure(prep, minutes * 60.0)
    cell = prep.todo[0]
    done: list[CellRecord] = []
    waits = WaitLine(console)

    def on_event(e: Any) -> None:
        waits.on_event(e)
        if e.kind == "cell_done" and e.record is not None and e.record.cell_key == cell.key:
            done.append(e.record)
        elif e.kind == "device_error":
            console.print(f"[red]{escape(e.device)}[/]: {escape(e.message or '')}", highlight=False)

    console.print(f"run [bold]{prep.run_id}[/]: {cell.key} under load for {minutes:g} min", highlight=False)
    try:
        execute(prep, on_event)
    finally:
        waits.close()
    if not done:
        raise HarnessError(f"cell {cell.key} did not finish (see run {prep.run_id})")
    rec = done[0]
    if rec.status != "ok":
        raise HarnessError(f"cell {cell.key} ended {rec.status}: {rec.error}")
    timelines = timelines_from_result(rec.result, rec.samples, slices, burst_s)
    rec = replace(
        rec,
        metrics=[*rec.metrics, *_sustained_metrics(timelines)],
        result={**rec.result, "sustained": [tl.to_dict() for tl in timelines]},
    )
    store.record_cell(prep.run_id, rec, replace=True)
    render(console, rec, timelines)
    if json_out:
        json_out.write_text(
            json.dumps({"run_id": prep.run_id, "cell": cell.key, "timelines": [tl.to_dict() for tl in timelines]}, indent=1)
        )
    console.print(f"results: {store.shown} (run {prep.run_id})", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("sustained")(sustained)
