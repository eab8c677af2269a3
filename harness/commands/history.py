"""`harness history`: series over runs per (workload, precision, backend, device, metric) + change points."""

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
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
) -> None:
    """Show each series' recent medians and the change points found on them."""
    from harness.analysis.stats import robust_sigma
    from harness.report.site.templates import num
    from harness.results.history_source import load_series
    from harness.results.store import Store

    store = Store(store_url)
    series = load_series(store, workload=workload, device=device, metric=metric, precision=precision,
                         backend=backend)
    out = Console(width=None if sys.stdout.isatty() else 220)
    if not series:
        out.print(f"no series match in {escape(store.shown)}")
        return
    table = Table(title=f"history ({len(series)} series)")
    for col in ("device", "workload", "prec", "backend", "metric", "runs", f"last {last} medians", "noise σ",
                "change points (run: ratio)"):
        table.add_column(col)
    for s in series:
        if changes_only and not s.changes:
            continue
        med = s.points["median"].to_numpy()
        cps = ", ".join(
            f"[{'red' if c.worse else 'green'}]{escape(str(s.points['run_id'].iloc[c.index]))}: x{c.ratio:.3f}[/]"
            for c in s.changes)
        table.add_row(*(escape(str(x)) for x in (s.device, *s.key[:3], s.key[4])), str(len(med)),
                      " ".join(num(v, 4) for v in med[-last:]), num(robust_sigma(med), 3), cps or "—")
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("history")(history_cmd)
