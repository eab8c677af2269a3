"""`harness results`: list the runs in the store."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.results.store import Store


def results(
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
    limit: int = typer.Option(20, "--limit", "-n", help="How many runs, newest first."),
) -> None:
    """List runs: id, time, build, kind, status and cell counts."""
    store = Store(store_url)
    runs = store.list_runs(limit)
    cells = store.cells_frame([r["run_id"] for r in runs]) if runs else None
    t = Table(header_style="bold")
    for col in ("run", "created", "kind", "build", "status", "cells"):
        t.add_column(col)
    for r in runs:
        counts = ""
        if cells is not None and not cells.empty:
            vc = cells.loc[cells["run_id"] == r["run_id"], "status"].value_counts()
            counts = ", ".join(f"{n} {s}" for s, n in vc.items())
        planned = sum(1 for c in r["plan"] if c.get("status") != "skipped")
        t.add_row(*(Text(str(x)) for x in (r["run_id"], r["created_at"][:19], r["kind"], r["build_id"], r["status"])),
                  f"{counts or '0'} (planned {planned})")
    Console().print(t)
    if not runs:
        Console().print(f"no runs in {store.shown}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("results")(results)
