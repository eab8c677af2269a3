"""`harness results`: list the runs in the store (a table, or JSON / CSV for scripts).

Each row names the run both ways: its whole id and its reference (`latest`, `latest~1`, ...)
under the same filters, so `harness compare latest~1 latest -d pixel7` compares the first two
rows of `harness results -d pixel7`.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.commands._formats import check_format

if TYPE_CHECKING:  # SQLAlchemy loads when the command runs, not at `harness --help`
    from harness.results.store import Store

FORMATS = ("table", "json", "csv")
CSV_COLUMNS = ("ref", "run_id", "created_at", "finished_at", "kind", "build_id", "status", "host", "planned",
               "cells", "devices", "workloads")


def _rows(store: Store, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from harness.results.run_refs import cell_counts, format_ref, planned_names, recorded_names

    counts = cell_counts(store, [r["run_id"] for r in runs])
    recorded = recorded_names(store, [r["run_id"] for r in runs if not r.get("plan")])
    out = []
    for i, r in enumerate(runs):
        devices, workloads = recorded.get(r["run_id"]) or planned_names(r)
        out.append({
            "ref": format_ref(i),
            "run_id": r["run_id"],
            "created_at": r["created_at"],
            "finished_at": r.get("finished_at"),
            "kind": r.get("kind"),
            "build_id": r.get("build_id"),
            "status": r.get("status"),
            "host": r.get("host"),
            "planned": sum(1 for c in r["plan"] if isinstance(c, dict) and c.get("status") != "skipped"),
            "cells": counts.get(r["run_id"], {}),
            "devices": devices,
            "workloads": workloads,
        })
    return out


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({**r, "cells": ";".join(f"{s}={n}" for s, n in r["cells"].items()),
                    "devices": " ".join(r["devices"]), "workloads": " ".join(r["workloads"])})
    return buf.getvalue()


def _table(rows: list[dict[str, Any]]) -> Table:
    t = Table(header_style="bold")
    id_width = max((len(r["run_id"]) for r in rows), default=3)
    t.add_column("ref", no_wrap=True)
    t.add_column("run", no_wrap=True, min_width=id_width)  # a script or a narrow terminal still gets the whole id
    for col in ("created", "kind", "build", "status", "cells"):
        t.add_column(col)
    for r in rows:
        counts = ", ".join(f"{n} {s}" for s, n in r["cells"].items()) or "0"
        cells = (r["ref"], r["run_id"], r["created_at"][:19], str(r["kind"]), str(r["build_id"]), str(r["status"]),
                 f"{counts} (planned {r['planned']})")
        t.add_row(*(Text(c) for c in cells))  # ids and builds are user text: never markup
    return t


def results(
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many runs, newest first."),
    build: list[str] = typer.Option([], "--build", help="Only runs of this build id (glob, repeatable)."),
    device: list[str] = typer.Option([], "--device", "-d", help="Only runs that planned a device matching this glob."),
    workload: list[str] = typer.Option([], "--workload", "-w", help="Only runs that planned a matching workload."),
    kind: list[str] = typer.Option([], "--kind", help="Only runs of this kind: run, nightly, ab, calibrate, sustained."),
    fmt: str = typer.Option("table", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
) -> None:
    """List runs: reference, whole id, time, kind, build, status and cell counts."""
    check_format(fmt, FORMATS)
    from harness.results.run_refs import RunFilter, find_runs
    from harness.results.store import Store

    store = Store(store_url)
    flt = RunFilter(build=tuple(build), kind=tuple(kind), device=tuple(device), workload=tuple(workload))
    rows = _rows(store, find_runs(store, flt, limit))
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=1) + "\n")
    elif fmt == "csv":
        sys.stdout.write(_csv(rows))
    else:
        console = Console() if Console().is_terminal else Console(width=200)
        if rows:
            console.print(_table(rows))
        else:
            console.print(f"no runs{flt.describe()} in {store.shown}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("results")(results)
