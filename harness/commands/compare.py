"""`harness compare A B`: the CI gate between two runs, builds or result files.

Exit codes: 0 no regression, 1 regression, 2 usage/harness error or incomparable rows,
3 inconclusive rows with --strict.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

FORMATS = ("terminal", "markdown", "json", "html")


def compare_cmd(
    a: str = typer.Argument(..., help="Baseline: run id, 'latest' / 'latest~N' (N runs before the newest), build id "
                                      "(latest run per cell) or result file (JSON export, pytest-benchmark JSON)."),
    b: str = typer.Argument(..., help="Candidate: same kinds as A."),
    fmt: str = typer.Option("terminal", "--format", "-f", help=f"What to print: {', '.join(FORMATS)}."),
    markdown: Path | None = typer.Option(None, "--markdown", help="Also write the markdown table (PR comment) here."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the JSON verdicts here."),
    html_out: Path | None = typer.Option(None, "--html", help="Also write an HTML page here (plotly.min.js beside it)."),
    thresholds: Path | None = typer.Option(None, "--thresholds", help="YAML with per-metric / workload-glob limits."),
    strict: bool = typer.Option(False, "--strict", help="Exit 3 when any row is INCONCLUSIVE."),
    allow_artifact_change: bool = typer.Option(False, "--allow-artifact-change",
                                               help="Judge rows whose model artifact sha256 differs."),
    no_calibration: bool = typer.Option(False, "--no-calibration", help="Ignore calibrated noise floors."),
    all_rows: bool = typer.Option(True, "--all/--changes-only", help="Terminal: show UNCHANGED rows too."),
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
    device: list[str] = typer.Option([], "--device", "-d", help="latest~N counts only runs that planned a matching "
                                                                "device (glob, repeatable)."),
    workload: list[str] = typer.Option([], "--workload", "-w", help="latest~N counts only runs that planned a "
                                                                    "matching workload (glob, repeatable)."),
) -> None:
    """Compare two runs/builds/files: verdict per (workload, precision, backend, device, metric)."""
    from harness.analysis.compare import compare
    from harness.analysis.thresholds import Thresholds
    from harness.config.outputs import output_file
    from harness.config.validate import parse_model
    from harness.errors import HarnessError
    from harness.report import render_compare as R
    from harness.results.analysis_tables import calibration_map
    from harness.results.run_refs import RunFilter
    from harness.results.sources import resolve_side
    from harness.results.store import Store

    if fmt not in FORMATS:
        raise HarnessError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    for flag, path in (("--markdown", markdown), ("--json", json_out), ("--html", html_out)):
        if path is not None:
            output_file(path, flag)
    th = parse_model(Thresholds, thresholds) if thresholds else Thresholds()
    store = None if Path(a).is_file() and Path(b).is_file() else Store(store_url)
    counted = RunFilter(device=tuple(device), workload=tuple(workload))
    side_a = resolve_side(a, store, which="A", counted=counted)
    side_b = resolve_side(b, store, which="B", counted=counted)
    calib = {} if (no_calibration or store is None) else calibration_map(store)
    cmp = compare(side_a, side_b, th, calibration=calib, allow_artifact_change=allow_artifact_change)
    if not cmp.rows:
        raise HarnessError(f"nothing to compare: {side_a.label} and {side_b.label} have no judged metrics")
    if calib:
        cmp.notes.append(f"calibrated noise floors in use for {len(calib)} (device, workload, metric) series")
    out = Console(width=None if sys.stdout.isatty() else 220)  # logs and pipes get the whole table
    if fmt == "terminal":
        R.render_terminal(cmp, out, strict=strict, show_all=all_rows)
    elif fmt == "markdown":
        typer.echo(R.render_markdown(cmp, strict=strict), nl=False)
    elif fmt == "json":
        typer.echo(R.render_json(cmp, strict=strict))
    else:
        typer.echo(R.render_html(cmp, Path.cwd(), strict=strict))
    for path, text in ((markdown, lambda: R.render_markdown(cmp, strict=strict)),
                       (json_out, lambda: R.render_json(cmp, strict=strict)),
                       (html_out, lambda: R.render_html(cmp, html_out.parent, strict=strict, plotlyjs="directory"))):  # type: ignore[union-attr]
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text(), encoding="utf-8")
    code = cmp.exit_code(strict)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_cmd)
