"""`harness run`: benchmark builds on devices; store every cell; write the HTML report."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from harness.commands._waiting import lock_wait_s, no_wait_option, wait_timeout_option
from harness.errors import RunInterrupted, essential_line
from harness.runtimes.registry import runtime_names
from harness.terminal_text import terminal_safe

if TYPE_CHECKING:  # heavy modules load when the command runs, not at `harness --help`
    from rich.progress import Task

    from harness.analysis.run_cost import Eta
    from harness.results.store import Store
    from harness.session.launch import PreparedRun
    from harness.session.runner import Event, RunOutcome

STATUS_STYLE = {"ok": "green", "failed": "red", "timeout": "red", "accuracy_fail": "yellow", "skipped": "dim",
                "thermal_gated": "magenta"}


class EtaColumn(ProgressColumn):
    """Time left for the whole run from the cells' estimates (blank on the device rows)."""

    def __init__(self, eta: Eta, total: TaskID) -> None:
        super().__init__()
        self.eta, self.total = eta, total

    def render(self, task: Task) -> Text:
        if task.id != self.total or task.finished:
            return Text("")
        from harness.analysis.run_cost import duration

        return Text(f"ETA {duration(self.eta.remaining_s(time.monotonic()))}", style="cyan")


def _progress_listener(progress: Progress, prep: PreparedRun, total: TaskID, eta: Eta):  # type: ignore[no-untyped-def]
    tasks: dict[str, TaskID] = {}
    waiting: dict[str, float] = {}  # device -> when its wait began

    def on_event(e: Event) -> None:
        if e.kind == "device_start":
            tasks[e.device] = progress.add_task(f"{e.device}: connecting", total=e.total)
        elif e.kind == "device_waiting" and e.message:
            if e.device not in waiting:  # once in the log; the device's row keeps the live line
                waiting[e.device] = time.monotonic()
                progress.console.print(f"device {e.device} is busy, waiting for it: {terminal_safe(e.message)}",
                                       highlight=False, markup=False)
            progress.update(tasks[e.device], description=escape(f"{e.device}: waiting, {terminal_safe(e.message)}"))
        elif e.kind == "cell_start" and e.cell:
            if e.device in waiting:
                progress.console.print(f"device {e.device}: free after waiting "
                                       f"{time.monotonic() - waiting.pop(e.device):.0f} s", highlight=False, markup=False)
            eta.started(e.device, e.cell.key, time.monotonic())
            progress.update(tasks[e.device], description=f"{e.device}: {e.cell.workload} {e.cell.precision} "
                                                          f"{e.cell.backend}")
        elif e.kind == "cell_done" and e.record:
            if e.cell:
                eta.finished(e.device, e.cell.key, time.monotonic())
            progress.advance(tasks[e.device])
            if e.record.status != "skipped" or e.cell in prep.todo:
                progress.advance(total)
            if e.record.status not in ("ok",):
                # the essential line of the error; the store keeps the whole text
                line = Text(e.record.status, style=STATUS_STYLE.get(e.record.status, ""))
                line.append(f" {e.record.cell_key}: {essential_line(e.record.error)}")
                progress.console.print(line, highlight=False)
        elif e.kind == "device_note":
            progress.console.print(Text("note", style="yellow") + Text(f": {terminal_safe(e.message or '')}"),
                                   highlight=False)
        elif e.kind == "device_error":
            progress.console.print(Text(e.device, style="red") + Text(f": {terminal_safe(e.message or '')}"),
                                   highlight=False)
        elif e.kind == "device_done":
            eta.device_done(e.device)
            progress.update(tasks[e.device], description=f"{e.device}: done")

    return on_event


def render_summary(console: Console, store: Store, run_id: str) -> None:
    from harness.analysis.llm_table import llm_table
    from harness.analysis.run_table import fmt, run_table
    from harness.report.llm_table import summary_table
    from harness.report.units import quantity, shown_in

    cells, metrics = store.cells_frame([run_id]), store.metrics_frame([run_id])  # read once: both tables use them
    table = run_table(cells, metrics)
    # one device / one backend: say it in the title instead of a column of repeats
    single = {c: table[c].nunique() == 1 for c in ("device", "backend")}
    title = f"run {run_id}" + "".join(f" · {c} {table[c].iloc[0]}" for c, one in single.items() if one and len(table))
    t = Table(title=Text(title), header_style="bold")
    columns = [c for c in ("device", "workload", "precision", "backend") if not single.get(c)] if len(table) else []
    show_flags = bool(len(table)) and table["flags"].astype(bool).any()
    for col in [*columns, "metric", "p50", "p90", "peak MB", "rel L2 vs fp32", "status", *(["flags"] if show_flags else [])]:
        t.add_column(col, justify="right" if col in ("p50", "p90", "peak MB", "rel L2 vs fp32") else "left")
    for r in table.itertuples():
        metric = (r.metric or "") + (f" ({shown_in(r.unit)})" if shown_in(r.unit) else "")  # 14.0 µs: unit in the value
        row: list[str | Text] = [*(Text(terminal_safe(str(getattr(r, c)))) for c in columns), Text(terminal_safe(metric)),
                                 quantity(r.p50, r.unit, fmt), quantity(r.p90, r.unit, fmt),
                                 fmt(r.peak_mb), fmt(r.rel_l2), Text(r.status, style=STATUS_STYLE.get(r.status, ""))]
        t.add_row(*row, *([Text(terminal_safe(r.flags or ""), style="yellow")] if show_flags else []))
    console.print(t)
    llm = summary_table(llm_table(cells, metrics), f"LLM cells of run {run_id}")
    if llm is not None:  # what decides between quantizations: speed per test, memory, quality vs the reference
        console.print(llm)


def _push_line(outcome: RunOutcome) -> str:
    parts = [f"{name}: {d.bytes_pushed} bytes in {d.files_pushed} files, {d.files_cached} cached"
             for name, d in outcome.devices.items()]
    return "pushed " + "; ".join(parts) if parts else ""


def _split_files(values: list[str]) -> tuple[list[Path], list[str]]:
    """(YAML files, name globs): a value ending in .yaml/.yml is a file."""
    return ([Path(v) for v in values if v.endswith((".yaml", ".yml"))],
            [v for v in values if not v.endswith((".yaml", ".yml"))])


def run(
    device: list[str] = typer.Option([], "--device", "-d", help="Device name glob, or a device YAML file (repeatable)."),
    workload: list[str] = typer.Option([], "--workload", "-w",
                                       help="Workload name glob, or a workload YAML file (repeatable)."),
    precision: list[str] = typer.Option([], "--precision", "-p", help="Precision glob: fp32 fp16 int8 int8-static int4."),
    backend: list[str] = typer.Option([], "--backend", "-b", help="Backend name glob (repeatable)."),
    runtime: list[str] = typer.Option([], "--runtime", "-r",
                                      help=f"Runtime glob: {' '.join(runtime_names())} (repeatable)."),
    build: str | None = typer.Option(None, "--build", help="Build id, folder or manifest (default: build now)."),
    resume: str | None = typer.Option(None, "--resume", help="Run id (or latest, latest~N) to complete: runs only the "
                                                             "missing cells."),
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
    report_dir: Path | None = typer.Option(None, "--report-dir", help="Where the HTML report goes."),
    no_report: bool = typer.Option(False, "--no-report", help="Skip the HTML report."),
    devices_dir: Path | None = typer.Option(None, "--devices-dir", help="Folder of device profiles."),
    workloads_dir: Path | None = typer.Option(None, "--workloads-dir", help="Folder of workloads."),
    wait_timeout: float = wait_timeout_option(),
    no_wait: bool = no_wait_option(),
    self_contained: bool = typer.Option(False, "--self-contained",
                                        help="Inline plotly.js in the report (a page to mail) instead of sharing "
                                             "one copy beside the run folders."),
) -> None:
    """Run the plan (devices x workloads x precisions x backends) and report it.

    Exit code: 0 every cell ok or skipped; 1 a cell failed, timed out or was thermal-gated;
    3 every cell measured but one missed its fidelity budget; 2 a usage or harness error.
    """
    from harness.analysis.run_cost import Eta, describe
    from harness.analysis.run_verdict import run_verdict
    from harness.config.locations import run_report_dir
    from harness.config.outputs import output_dir
    from harness.errors import HarnessError
    from harness.plan import Filters
    from harness.report.run_report import write_run_report
    from harness.results.run_refs import RunFilter, resolve_run
    from harness.results.store import Store
    from harness.session.cost import estimate_run
    from harness.session.launch import RunRequest, execute, prepare_resume, prepare_run

    console = Console() if Console().is_terminal else Console(width=200)  # logs and CI: never wrap the table
    if resume is not None and not resume.strip():
        raise HarnessError("--resume '': expected a run id (see `harness results`)")  # never a new run instead
    if report_dir is not None and not no_report:
        output_dir(report_dir, "--report-dir")
    store = Store(store_url)
    wait_s = lock_wait_s(wait_timeout, no_wait)
    device_files, device_globs = _split_files(device)
    if resume is not None:  # -d / -w narrow what `latest~N` counts (the plan itself is the run's own)
        resume = resolve_run(store, resume, RunFilter(device=tuple(device_globs), workload=tuple(_split_files(workload)[1])))
        prep = prepare_resume(resume, store, lock_wait_s=wait_s)
        console.print(f"resuming run [bold]{resume}[/]: {len(prep.todo)} of "
                      f"{sum(c.status == 'planned' for c in prep.cells)} planned cells missing")
        for note in prep.notes:
            console.print(Text("note", style="yellow") + Text(f": {note}"), highlight=False)
    else:
        workload_files, workload_globs = _split_files(workload)
        req = RunRequest(
            filters=Filters(tuple(device_globs), tuple(workload_globs), tuple(precision), tuple(backend), tuple(runtime)),
            build=build, devices_dir=devices_dir, workloads_dir=workloads_dir, device_files=device_files,
            workload_files=workload_files, argv=sys.argv[1:], lock_wait_s=wait_s, check_first=True,
        )
        with console.status("preparing the build (reused when unchanged)…"):
            prep = prepare_run(req, store)
        skipped = sum(c.status == "skipped" for c in prep.cells)
        console.print(f"run [bold]{prep.run_id}[/]: build {prep.ctx.manifest.build_id}, {len(prep.todo)} cells on "
                      f"{len(prep.profiles)} device(s)" + (f", {skipped} skipped" if skipped else ""))
        for c in prep.cells:
            if c.status == "failed":  # its workload could not be built: stored as failed, not run
                console.print(Text("failed", style="red") + Text(f" {c.key}: {c.reason}"), highlight=False)
    out = None if no_report else (report_dir or run_report_dir(prep.run_id))
    console.print(Text(f"files: build {prep.ctx.build_dir} · results {store.shown} · report {out or '(none)'}"),
                  highlight=False)
    cost = estimate_run(prep)
    console.print(f"plan: {describe(cost)}", highlight=False, markup=False)
    eta = Eta(cost.cells)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, transient=False)
    total = progress.add_task("all cells", total=len(prep.todo))
    progress.columns = (*progress.columns, EtaColumn(eta, total))
    try:
        with progress:
            outcome = execute(prep, _progress_listener(progress, prep, total, eta))
    except RunInterrupted as stop:  # Ctrl-C or SIGTERM: the run is stored as interrupted
        console.print(Text("interrupted", style="yellow") + Text(f": {stop}"), highlight=False)
        raise typer.Exit(130) from None
    render_summary(console, store, prep.run_id)
    if line := _push_line(outcome):
        console.print(line, highlight=False)
    if out is not None:
        path = write_run_report(store, prep.run_id, out, plotlyjs="inline" if self_contained else "shared")
        console.print(Text(f"report: {path}"), highlight=False)
    console.print(Text(f"results: {store.shown} (run {prep.run_id}); devices x precisions: harness table {prep.run_id}"),
                  highlight=False)
    verdict = run_verdict(store.cells_frame([prep.run_id])["status"].value_counts().to_dict())
    if verdict.exit_code:
        console.print(Text(f"exit {verdict.exit_code}: {verdict.reason}", style="red"), highlight=False)
        raise typer.Exit(verdict.exit_code)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
