"""`harness run`: benchmark builds on devices; store every cell; write the HTML report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.config.loader import project_root
from harness.plan import Filters

if TYPE_CHECKING:  # heavy modules load when the command runs, not at `harness --help`
    from harness.results.store import Store
    from harness.session.launch import PreparedRun
    from harness.session.runner import Event, RunOutcome

STATUS_STYLE = {"ok": "green", "failed": "red", "timeout": "red", "accuracy_fail": "yellow", "skipped": "dim",
                "thermal_gated": "magenta"}


def _progress_listener(progress: Progress, prep: PreparedRun):  # type: ignore[no-untyped-def]
    total = progress.add_task("all cells", total=len(prep.todo))
    tasks: dict[str, TaskID] = {}

    def on_event(e: Event) -> None:
        if e.kind == "device_start":
            tasks[e.device] = progress.add_task(f"{e.device}: connecting", total=e.total)
        elif e.kind == "cell_start" and e.cell:
            progress.update(tasks[e.device], description=f"{e.device}: {e.cell.workload} {e.cell.precision} "
                                                          f"{e.cell.backend}")
        elif e.kind == "cell_done" and e.record:
            progress.advance(tasks[e.device])
            if e.record.status != "skipped" or e.cell in prep.todo:
                progress.advance(total)
            if e.record.status not in ("ok",):
                style = STATUS_STYLE.get(e.record.status, "")
                progress.console.print(
                    f"[{style}]{e.record.status}[/] " + escape(f"{e.record.cell_key}: {e.record.error or ''}"[:400]),
                    highlight=False,
                )
        elif e.kind == "device_note":
            progress.console.print(f"[yellow]note[/]: {escape(e.message or '')}", highlight=False)
        elif e.kind == "device_error":
            progress.console.print(f"[red]{escape(e.device)}[/]: {escape(e.message or '')}", highlight=False)
        elif e.kind == "device_done":
            progress.update(tasks[e.device], description=f"{e.device}: done")

    return on_event


def render_summary(console: Console, store: Store, run_id: str) -> None:
    from harness.analysis.run_table import fmt, run_table

    table = run_table(store.cells_frame([run_id]), store.metrics_frame([run_id]))
    # one device / one backend: say it in the title instead of a column of repeats
    single = {c: table[c].nunique() == 1 for c in ("device", "backend")}
    title = f"run {run_id}" + "".join(f" · {c} {table[c].iloc[0]}" for c, one in single.items() if one and len(table))
    t = Table(title=title, header_style="bold")
    columns = [c for c in ("device", "workload", "precision", "backend") if not single.get(c)] if len(table) else []
    for col in [*columns, "metric", "p50", "p90", "peak MB", "rel L2 vs fp32", "status"]:
        t.add_column(col, justify="right" if col in ("p50", "p90", "peak MB", "rel L2 vs fp32") else "left")
    for r in table.itertuples():
        st = STATUS_STYLE.get(r.status, "")
        metric = escape((r.metric or "") + (f" ({r.unit})" if r.unit else ""))
        t.add_row(*[getattr(r, c) for c in columns], metric, fmt(r.p50), fmt(r.p90), fmt(r.peak_mb), fmt(r.rel_l2),
                  f"[{st}]{r.status}[/]")
    console.print(t)


def _push_line(outcome: RunOutcome) -> str:
    parts = [f"{name}: {d.bytes_pushed} bytes in {d.files_pushed} files, {d.files_cached} cached"
             for name, d in outcome.devices.items()]
    return "pushed " + "; ".join(parts) if parts else ""


def run(
    device: list[str] = typer.Option([], "--device", "-d", help="Device name glob, or a device YAML file (repeatable)."),
    workload: list[str] = typer.Option([], "--workload", "-w", help="Workload name glob (repeatable)."),
    precision: list[str] = typer.Option([], "--precision", "-p", help="Precision glob: fp32 fp16 int8 int8-static int4."),
    backend: list[str] = typer.Option([], "--backend", "-b", help="Backend name glob (repeatable)."),
    build: str | None = typer.Option(None, "--build", help="Build id, folder or manifest (default: build now)."),
    resume: str | None = typer.Option(None, "--resume", help="Run id to complete: runs only the missing cells."),
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
    report_dir: Path | None = typer.Option(None, "--report-dir", help="Where the HTML report goes."),
    no_report: bool = typer.Option(False, "--no-report", help="Skip the HTML report."),
    devices_dir: Path | None = typer.Option(None, "--devices-dir", help="Folder of device profiles."),
    workloads_dir: Path | None = typer.Option(None, "--workloads-dir", help="Folder of workloads."),
) -> None:
    """Run the plan (devices x workloads x precisions x backends) and report it."""
    from harness.config.outputs import output_dir
    from harness.errors import HarnessError
    from harness.report.run_report import write_run_report
    from harness.results.store import Store
    from harness.session.launch import RunRequest, execute, prepare_resume, prepare_run

    console = Console() if Console().is_terminal else Console(width=200)  # logs and CI: never wrap the table
    if resume is not None and not resume.strip():
        raise HarnessError("--resume '': expected a run id (see `harness results`)")  # never a new run instead
    if report_dir is not None and not no_report:
        output_dir(report_dir, "--report-dir")
    store = Store(store_url)
    if resume is not None:
        prep = prepare_resume(resume, store)
        console.print(f"resuming run [bold]{resume}[/]: {len(prep.todo)} of "
                      f"{sum(c.status == 'planned' for c in prep.cells)} planned cells missing")
        for note in prep.notes:
            console.print(f"[yellow]note[/]: {escape(note)}", highlight=False)
    else:
        files = [Path(d) for d in device if d.endswith((".yaml", ".yml"))]
        globs = [d for d in device if not d.endswith((".yaml", ".yml"))]
        req = RunRequest(
            filters=Filters(tuple(globs), tuple(workload), tuple(precision), tuple(backend)),
            build=build, devices_dir=devices_dir, workloads_dir=workloads_dir, device_files=files,
            argv=sys.argv[1:],
        )
        with console.status("preparing the build (reused when unchanged)…"):
            prep = prepare_run(req, store)
        skipped = sum(c.status == "skipped" for c in prep.cells)
        console.print(f"run [bold]{prep.run_id}[/]: build {prep.ctx.manifest.build_id}, {len(prep.todo)} cells on "
                      f"{len(prep.profiles)} device(s)" + (f", {skipped} skipped" if skipped else ""))
        for c in prep.cells:
            if c.status == "failed":  # its workload could not be built: stored as failed, not run
                console.print("[red]failed[/] " + escape(f"{c.key}: {c.reason}"), highlight=False)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        outcome = execute(prep, _progress_listener(progress, prep))
    render_summary(console, store, prep.run_id)
    if line := _push_line(outcome):
        console.print(line, highlight=False)
    if not no_report:
        out = report_dir or project_root() / "reports" / "runs" / prep.run_id
        path = write_run_report(store, prep.run_id, out)
        console.print(f"report: [bold]{escape(str(path))}[/]", highlight=False)
    console.print(f"results: {store.shown} (run {prep.run_id})", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
