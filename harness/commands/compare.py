"""`harness compare A B`: the CI gate between two runs, builds or result files.

A side may name several runs, comma-separated (``RUN1,RUN2,RUN3``); a build id means all its runs.
Exit codes: 0 no regression, 1 regression or a cell measured in A that failed in B, 2 usage/harness
error or incomparable rows (a crash too: never 1; cells on one side only with --strict), 3
inconclusive rows with --strict. Cells one side never ran are listed once, compactly, not judged.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from harness.commands._formats import check_format
from harness.commands._run_ref import counted_device_option, counted_workload_option, store_option

if TYPE_CHECKING:
    from harness.analysis.compare import Comparison
    from harness.analysis.compare_select import RowFilter

FORMATS = ("terminal", "markdown", "json", "html")


def compare_cmd(
    a: str = typer.Argument(..., help="Baseline: run id, 'latest' / 'latest~N' (N runs before the newest), build id "
                                      "(all its runs) or result file (JSON export, pytest-benchmark JSON); several, "
                                      "comma-separated, are several runs."),
    b: str = typer.Argument(..., help="Candidate: same kinds as A."),
    fmt: str = typer.Option("terminal", "--format", "-f", help=f"What to print: {', '.join(FORMATS)}."),
    markdown: Path | None = typer.Option(None, "--markdown", help="Also write the markdown table (PR comment) here."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the JSON verdicts here."),
    html_out: Path | None = typer.Option(None, "--html", help="Also write an HTML page here (plotly.min.js beside it)."),
    thresholds: Path | None = typer.Option(None, "--thresholds", help="YAML with per-metric / workload-glob limits "
                                                                       "(delta, alpha, run_noise, tolerances)."),
    strict: bool = typer.Option(False, "--strict", help="Exit 3 when any row is INCONCLUSIVE, 2 when a cell or "
                                                        "metric is on one side only."),
    allow_artifact_change: bool = typer.Option(False, "--allow-artifact-change",
                                               help="Judge rows whose model artifact sha256 differs."),
    allow_config_change: bool = typer.Option(False, "--allow-config-change",
                                             help="Judge rows whose session settings, provider options or runner "
                                                  "differ (noted on each row)."),
    no_calibration: bool = typer.Option(False, "--no-calibration", help="Ignore `harness calibrate` results."),
    all_rows: bool = typer.Option(True, "--all/--changes-only", help="--changes-only shows FAILED, REGRESSED, "
                                                                     "SUSPECTED and IMPROVED rows only (terminal, "
                                                                     "markdown)."),
    all_metrics: bool = typer.Option(False, "--all-metrics", help="One row per metric; by default one per cell (its "
                                                                  "headline metric) plus any sub-metric that "
                                                                  "regressed or failed."),
    metric: list[str] = typer.Option([], "--metric", "-m", help="Judge only metrics matching this glob "
                                                                "(repeatable), e.g. 'latency_ms*'."),
    store_url: str | None = store_option(),
    device: list[str] = counted_device_option(),
    workload: list[str] = counted_workload_option(),
) -> None:
    """Compare two runs/builds/files: verdict per (workload, precision, backend, device, metric)."""
    from harness.analysis.compare_select import RowFilter
    from harness.analysis.thresholds import Thresholds
    from harness.config.outputs import output_file
    from harness.config.validate import parse_model
    from harness.errors import HarnessError
    from harness.results.run_refs import RunFilter
    from harness.views.compare import CompareOptions, compare_refs

    check_format(fmt, FORMATS)
    for flag, path in (("--markdown", markdown), ("--json", json_out), ("--html", html_out)):
        if path is not None:
            output_file(path, flag)
    th = parse_model(Thresholds, thresholds) if thresholds else Thresholds()
    options = CompareOptions(thresholds=th, allow_artifact_change=allow_artifact_change,
                             allow_config_change=allow_config_change, use_calibration=not no_calibration,
                             metrics=tuple(metric))
    try:
        counted = RunFilter(device=tuple(device), workload=tuple(workload))
        cmp = compare_refs(a, b, store_url=store_url, options=options, counted=counted)
        if not cmp.rows:  # nothing in common is no evidence: never a passing gate
            from harness.report.render_compare import one_sided_lines

            lone = "".join(f"; {line}" for line in one_sided_lines(cmp))
            raise HarnessError(f"nothing to compare: {cmp.a_label} and {cmp.b_label} have no judged metrics in "
                               f"common{lone}")
        rows = RowFilter(all_metrics=all_metrics, changes_only=not all_rows)
        _render(cmp, fmt, strict, rows, markdown, json_out, html_out)
    except HarnessError:
        raise
    except OSError as exc:
        raise HarnessError(f"compare {a} {b}: cannot write the output: {exc}") from exc
    except Exception as exc:  # a crash is a harness error (exit 2), never a regression (exit 1)
        raise HarnessError(f"compare {a} {b} failed: {type(exc).__name__}: {exc}") from exc
    code = cmp.exit_code(strict)
    if code:
        raise typer.Exit(code)


def _render(cmp: Comparison, fmt: str, strict: bool, rows: RowFilter, markdown: Path | None, json_out: Path | None,
            html_out: Path | None) -> None:
    from harness.report import render_compare as R

    out = Console(width=None if sys.stdout.isatty() else 240)  # logs and pipes get the whole table
    if fmt == "terminal":
        R.render_terminal(cmp, out, strict=strict, rows=rows)
    elif fmt == "markdown":
        typer.echo(R.render_markdown(cmp, strict=strict, rows=rows), nl=False)
    elif fmt == "json":
        typer.echo(R.render_json(cmp, strict=strict))
    else:
        typer.echo(R.render_html(cmp, Path.cwd(), strict=strict))
    for path, text in ((markdown, lambda: R.render_markdown(cmp, strict=strict, rows=rows)),
                       (json_out, lambda: R.render_json(cmp, strict=strict)),
                       (html_out, lambda: R.render_html(cmp, html_out.parent, strict=strict, plotlyjs="directory"))):  # type: ignore[union-attr]
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text(), encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_cmd)
