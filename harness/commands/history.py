"""`harness history`: series over runs per (workload, precision, backend, device, metric) + change points.

It also brings the stored regression alerts up to date (as `harness alerts` and a farm night do);
`harness publish` only shows them.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table


def history_cmd(
    workload: str = typer.Option("*", "--workload", "-w", help="Workload glob."),
    device: str = typer.Option("*", "--device", "-d", help="Device name glob."),
    metric: str = typer.Option("*", "--metric", "-m", help="Metric glob, e.g. 'latency_ms*'."),
    precision: str = typer.Option("*", "--precision", help="Precision glob."),
    backend: str = typer.Option("*", "--backend", help="Backend glob."),
    last: int = typer.Option(8, "--last", help="Show the last N run medians per series."),
    changes_only: bool = typer.Option(False, "--changes-only", help="Only series with a change point."),
    canary: list[str] = typer.Option(None, "--canary", help="WORKLOAD or DEVICE=WORKLOAD: the device's canary."),
    sync: bool = typer.Option(True, "--sync/--no-sync", help="Update the stored regression alerts."),
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
) -> None:
    """Show each series' recent medians, its run-to-run noise and the change points found on it."""
    from harness.analysis.noise import as_percent
    from harness.commands._canaries import parse_canaries
    from harness.report.site.templates import num
    from harness.results.store import Store
    from harness.views.history import load_series, sync_alerts

    store = Store(store_url)
    series = load_series(store, workload=workload, device=device, metric=metric, precision=precision,
                         backend=backend)
    out = Console(width=None if sys.stdout.isatty() else 220)
    if not series:
        out.print(f"no series match in {escape(store.shown)}")
        return
    if sync:  # over every series, not only those shown: a canary filtered out must still suppress
        filtered = (workload, device, metric, precision, backend) != ("*",) * 5
        alerts = sync_alerts(store, load_series(store) if filtered else series, canaries=parse_canaries(canary))
        keys = {s.key for s in series}
        open_alerts = [a for a in alerts if a.series_key in keys and a.state in ("suspected", "confirmed")]
        out.print(f"{len(open_alerts)} open regression alert(s) on these series (`harness alerts` lists them)",
                  highlight=False)
    table = Table(title=f"history ({len(series)} series)")
    for col in ("device", "workload", "prec", "backend", "metric", "runs", f"last {last} medians", "σ_run",
                "change points (run: ratio)"):
        table.add_column(col)
    for s in series:
        if changes_only and not s.changes:
            continue
        med = s.points["median"].to_numpy()
        cps = ", ".join(
            f"[{'red' if c.worse else 'green'}]{escape(str(s.points['run_id'].iloc[c.index]))}: x{c.ratio:.3f}[/]"
            for c in s.changes)
        pct = as_percent(s.sigma_run)
        table.add_row(*(escape(str(x)) for x in (s.device, *s.key[:3], s.key[4])), str(len(med)),
                      " ".join(num(v, 4) for v in med[-last:]), "—" if pct is None else f"{pct:.1f} %", cps or "—")
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("history")(history_cmd)
