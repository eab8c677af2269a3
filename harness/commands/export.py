"""`harness export RUN --format csv|json|parquet|markdown|pytest-benchmark`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from harness.commands._formats import check_format
from harness.commands._run_ref import counted_device_option, counted_workload_option, store_option
from harness.results.exporters import FORMATS as DATA_FORMATS  # the package loads pandas only to export
from harness.results.exporters import SUFFIX as DATA_SUFFIX

FORMATS = (*DATA_FORMATS, "markdown")
SUFFIX = {**DATA_SUFFIX, "markdown": ".md"}


def export_cmd(
    run_id: str = typer.Argument(..., help="Run id (see `harness results`), 'latest' for the newest, 'latest~N' for "
                                           "N runs before it."),
    fmt: str = typer.Option("csv", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output file (default: <run>.<ext> here)."),
    store_url: str | None = store_option(),
    device: list[str] = counted_device_option(),
    workload: list[str] = counted_workload_option(),
) -> None:
    """Export one run's cells, metrics and raw samples."""
    from harness.config.ids import check_id
    from harness.config.outputs import output_file
    from harness.results.exporters import RunBundle, export
    from harness.results.run_refs import RunFilter, resolve_run
    from harness.results.store import Store

    check_format(fmt, FORMATS)
    if out is not None:
        output_file(out, "--out")
    store = Store(store_url)
    run_id = resolve_run(store, run_id, RunFilter(device=tuple(device), workload=tuple(workload)))
    bundle = RunBundle.load(store, run_id)
    default = Path(f"{check_id(run_id, 'run id')}{SUFFIX[fmt]}") if out is None else out  # an id names a file here
    target = output_file(default, "export file")
    if fmt == "markdown":
        from harness.report.run_markdown import export as export_markdown

        path = export_markdown(bundle, target)
    else:
        path = export(bundle, fmt, target)
    Console().print(f"wrote {path}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
