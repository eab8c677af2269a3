"""`harness export RUN --format csv|json|parquet|markdown|pytest-benchmark`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from harness.errors import HarnessError
from harness.results.exporters import FORMATS, SUFFIX, RunBundle, export
from harness.results.store import Store


def export_cmd(
    run_id: str = typer.Argument(..., help="Run id (see `harness results`); 'latest' for the newest."),
    fmt: str = typer.Option("csv", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output file (default: <run>.<ext> here)."),
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
) -> None:
    """Export one run's cells, metrics and raw samples."""
    from harness.config.ids import check_id
    from harness.config.outputs import output_file

    if fmt not in FORMATS:
        raise HarnessError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if out is not None:
        output_file(out, "--out")
    store = Store(store_url)
    if run_id == "latest":
        latest = store.latest_run()
        if latest is None:
            raise HarnessError(f"no runs in {store.shown}")
        run_id = latest["run_id"]
    bundle = RunBundle.load(store, run_id)
    default = Path(f"{check_id(run_id, 'run id')}{SUFFIX[fmt]}") if out is None else out  # an id names a file here
    path = export(bundle, fmt, output_file(default, "export file"))
    Console().print(f"wrote {path}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
