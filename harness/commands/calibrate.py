"""`harness calibrate --build B`: A/A runs of one build; store each series' run-to-run noise σ_run.

Each run's log median and within-run error come from its raw samples; σ_run is the spread of the runs'
log medians less that within-run error, with a 95 % interval on the degrees of freedom the runs are
worth given their tails, per device fingerprint × workload × precision × backend × metric, stored with
its date and run count. `compare` and `ab` use it when the runs they are given cannot estimate
σ_run themselves (it sets the variance of a verdict's test, never its threshold δ).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.analysis.calibration_size import CALIBRATION_RUNS, MIN_CALIBRATION_RUNS
from harness.commands._waiting import lock_wait_s, no_wait_option, wait_timeout_option


def calibrate_cmd(
    build: str = typer.Option(..., "--build", help="The build to run against itself: id, folder or manifest."),
    device: list[str] = typer.Option([], "--device", "-d", help="Device name glob or device YAML (repeatable)."),
    workload: list[str] = typer.Option([], "--workload", "-w", help="Workload name glob (repeatable)."),
    precision: list[str] = typer.Option([], "--precision", "-p", help="Precision glob (repeatable)."),
    backend: list[str] = typer.Option([], "--backend", "-b", help="Backend glob (repeatable)."),
    runs: int = typer.Option(CALIBRATION_RUNS, "--runs", min=MIN_CALIBRATION_RUNS,
                             help="A/A runs; each runs every cell once, so the cells interleave."),
    pause: float = typer.Option(0.0, "--pause", min=0.0, help="Seconds to wait between runs (spread them over "
                                                               "time: thermal state and background load vary)."),
    thresholds: Path | None = typer.Option(None, "--thresholds", help="YAML with per-metric limits (δ for the plan)."),
    devices_dir: Path | None = typer.Option(None, "--devices-dir", help="Folder of device profiles."),
    workloads_dir: Path | None = typer.Option(None, "--workloads-dir", help="Folder of workloads."),
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
    wait_timeout: float = wait_timeout_option(),
    no_wait: bool = no_wait_option(),
) -> None:
    """Measure and store the run-to-run noise σ_run of each device × series."""
    import math
    import secrets

    from harness.analysis.noise import as_percent
    from harness.analysis.stats import runs_to_detect
    from harness.analysis.thresholds import Thresholds
    from harness.commands._experiment import filters, run_once
    from harness.config.validate import parse_model
    from harness.errors import HarnessError
    from harness.results.analysis_tables import save_run_noise
    from harness.results.store import Store
    from harness.views.calibration import calibrate_runs

    th = parse_model(Thresholds, thresholds) if thresholds else Thresholds()
    store = Store(store_url)
    console = Console()
    flt, files = filters(device, workload, precision, backend)
    tag = secrets.token_hex(4)
    run_ids = []
    for i in range(runs):
        if i and pause:
            time.sleep(pause)
        run_ids.append(run_once(store, build=build, flt=flt, device_files=files, kind="calibrate",
                                labels={"calibrate": tag, "round": i + 1}, devices_dir=devices_dir,
                                workloads_dir=workloads_dir, test_slowdown=0.0, console=console,
                                what=f"A/A run {i + 1}/{runs}", lock_wait_s=lock_wait_s(wait_timeout, no_wait)))
    found = calibrate_runs(store, run_ids)
    if not found:
        raise HarnessError(f"calibration runs {', '.join(run_ids)} produced no noisy series with "
                           f"{MIN_CALIBRATION_RUNS} good runs to calibrate")
    save_run_noise(store, found)
    out = Console(width=None if sys.stdout.isatty() else 220)
    table = Table(title=f"run-to-run noise σ_run ({runs} A/A runs of {escape(build)})")
    for col in ("device", "workload", "prec", "backend", "metric", "runs", "σ_run", "95 % interval", "within-run",
                "runs/side for ±δ"):
        table.add_column(col, justify="right" if col not in ("device", "workload", "prec", "backend", "metric")
                         else "left")
    for c in found:
        limit = th.resolve(c.workload, c.precision, c.backend, c.metric)
        need = runs_to_detect(c.sigma**2 + c.within**2, math.log1p(limit.delta), alpha=limit.alpha)
        table.add_row(*(escape(str(x)) for x in (c.device, c.workload, c.precision, c.backend, c.metric)),
                      str(c.n_runs), f"{as_percent(c.sigma):.2f} %", f"{as_percent(c.low):.2f}–{as_percent(c.high):.2f} %",
                      f"{as_percent(c.within):.2f} %",
                      f"{need} (±{limit.delta:.0%})" if need else f"> 100 (±{limit.delta:.0%})")
    out.print(table)
    out.print(f"stored {time.strftime('%Y-%m-%d', time.gmtime())} with its {runs} runs: compare and ab use σ_run "
              "for these series when the runs given cannot estimate it, check it against the rows at hand (a "
              "variance-ratio test) and use the larger observed one when it went stale; δ stays as the thresholds "
              "set it.", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate_cmd)
