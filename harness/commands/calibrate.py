"""`harness calibrate --build B`: A/A runs of one build; store each device's noise floor per workload.

floor = 99th percentile of |log ratio| of per-run medians between the A/A runs; `compare` then
uses exp(floor) - 1 as the threshold for that (device, workload, metric) when it exceeds delta.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.commands._waiting import lock_wait_s, no_wait_option, wait_timeout_option


def calibrate_cmd(
    build: str = typer.Option(..., "--build", help="The build to run against itself: id, folder or manifest."),
    device: list[str] = typer.Option([], "--device", "-d", help="Device name glob or device YAML (repeatable)."),
    workload: list[str] = typer.Option([], "--workload", "-w", help="Workload name glob (repeatable)."),
    precision: list[str] = typer.Option([], "--precision", "-p", help="Precision glob (repeatable)."),
    backend: list[str] = typer.Option([], "--backend", "-b", help="Backend glob (repeatable)."),
    runs: int = typer.Option(3, "--runs", min=2, help="A/A runs (pairs grow as runs x (runs-1) / 2)."),
    devices_dir: Path | None = typer.Option(None, "--devices-dir", help="Folder of device profiles."),
    workloads_dir: Path | None = typer.Option(None, "--workloads-dir", help="Folder of workloads."),
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
    wait_timeout: float = wait_timeout_option(),
    no_wait: bool = no_wait_option(),
) -> None:
    """Measure and store the noise floor of each device x workload x metric."""
    import secrets

    from harness.analysis.noise import noise_floors
    from harness.commands._experiment import filters, run_once
    from harness.errors import HarnessError
    from harness.results.analysis_tables import save_noise_floors
    from harness.results.store import Store

    store = Store(store_url)
    console = Console()
    flt, files = filters(device, workload, precision, backend)
    tag = secrets.token_hex(4)
    run_ids = [run_once(store, build=build, flt=flt, device_files=files, kind="calibrate",
                        labels={"calibrate": tag, "round": i + 1}, devices_dir=devices_dir,
                        workloads_dir=workloads_dir, test_slowdown=0.0, console=console,
                        what=f"A/A run {i + 1}/{runs}", lock_wait_s=lock_wait_s(wait_timeout, no_wait))
               for i in range(runs)]
    metrics = store.metrics_frame(run_ids)
    samples = store.samples_for(metrics.loc[metrics["kind"] == "noisy", "cell_id"].unique().tolist())
    floors = noise_floors(metrics, samples)
    if not floors:
        raise HarnessError(f"calibration runs {', '.join(run_ids)} produced no noisy metric to calibrate")
    save_noise_floors(store, floors)
    out = Console(width=None if sys.stdout.isatty() else 200)
    table = Table(title=f"noise floors ({runs} A/A runs of {escape(build)})")
    for col in ("device", "workload", "metric", "floor (99th pct |log ratio|)", "threshold used", "pairs"):
        table.add_column(col)
    for f in floors:
        thr = max(0.05, math.expm1(f["floor"]))
        table.add_row(escape(f["device"]), escape(f["workload"]), escape(f["metric"]), f"{f['floor']:.4f}",
                      f"±{thr:.1%}" + (" (calibrated)" if thr > 0.05 else " (default δ)"), str(f["n_pairs"]))
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate_cmd)
