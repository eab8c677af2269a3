"""`harness table RUN_OR_BUILD...`: the comparison table across devices and precisions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from harness.analysis.results_columns import QUANTITIES
from harness.commands._formats import check_format
from harness.report.results_table import FORMATS
from harness.runtimes.registry import runtime_names

COLUMNS_HELP = "Comma list of " + "; ".join(f"{q.key} ({q.help})" for q in QUANTITIES.values()) + \
    ". Default: those with data."
PIPE_WIDTH = 400  # logs and pipes get the whole table: rich only uses the width it needs


def table_cmd(
    refs: list[str] = typer.Argument(..., help="Run ids, build ids (each device's latest run of that build), "
                                               "'latest' or result files (llama-bench -o json, pytest-benchmark, "
                                               "harness export --format json); several are merged, the newer run's "
                                               "cell wins."),
    metric: str | None = typer.Option(None, "--metric", "-m", help="The series rows show (a name or glob, e.g. "
                                      "'latency_ms@b4', 'decode_ms'); default: each workload's headline latency."),
    columns: str | None = typer.Option(None, "--columns", help=COLUMNS_HELP),
    fmt: str = typer.Option("terminal", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
    reference: str = typer.Option("host", "--reference", help="Cross-platform agreement against 'host' (the host "
                                  "CPU EP running the same artifact, measured with the run) or a device in the table "
                                  "(from the outputs kept in the store)."),
    runtime: list[str] = typer.Option([], "--runtime", "-r", help="Only cells of runtimes matching this glob "
                                      f"(repeatable): {' '.join(runtime_names())}."),
    llm: bool = typer.Option(False, "--llm", help="The cross-runtime LLM table alone (device x runtime x "
                             "quantization of llm workloads: pp/tg tok/s, TTFT, peak memory, energy/token, quality "
                             "vs the reference, the GGUF types beside the ONNX precisions); terminal, markdown or csv. "
                             "The terminal table prints it after the matrix when llm cells are shown."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write to this file instead of printing."),
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
) -> None:
    """Rows workload x precision (x backend), one column group per device: median latency with
    its 95 % CI, speed-up vs fp32, peak memory, energy, rel-L2 vs fp32 and vs the reference."""
    from rich.console import Console

    from harness.errors import HarnessError
    from harness.report.results_table.registry import TEXT_RENDERERS
    from harness.report.results_table.terminal import render_table
    from harness.results.sources import open_existing
    from harness.results.store import Store
    from harness.views.results_matrix import load_results_matrix

    check_format(fmt, FORMATS)
    if llm:
        _llm_table(Store(store_url), refs, runtime, fmt, out)
        return
    cols = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    files_only = all(Path(r).is_file() for r in refs)  # a table of result files alone creates no store
    store = open_existing(store_url) if files_only else Store(store_url)
    matrix = load_results_matrix(store, refs, metric=metric, columns=cols, reference=reference,
                                 runtimes=runtime)
    if not matrix.rows:
        raise HarnessError(f"nothing to tabulate in {', '.join(refs)}" + (f" for --metric {metric}" if metric else ""))
    title = "harness table: " + ", ".join(refs)
    if fmt == "terminal":
        if out is None:
            console = Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)
        else:
            console = Console(file=out.open("w", encoding="utf-8"), width=PIPE_WIDTH, no_color=True)
        console.print(render_table(matrix, title))
        from harness.report.llm_table import rich_tables
        from harness.views.llm_table import load_llm_table

        for tab in rich_tables(load_llm_table(Store(store_url), refs, runtime), "LLM cells: device x runtime x "
                               "quantization"):
            console.print(tab)
        if out is not None:
            console.file.close()
    else:
        _write_text(TEXT_RENDERERS[fmt](matrix, title), out)
    if out is not None:
        Console(stderr=True).print(f"wrote {out}", highlight=False, markup=False)


def _write_text(text: str, out: Path | None) -> None:
    """A rendered table to stdout, or to ``out`` (its folder made)."""
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")


def _llm_table(store: Any, refs: list[str], runtimes: list[str], fmt: str, out: Path | None) -> None:
    from rich.console import Console

    from harness.errors import HarnessError
    from harness.report.llm_table import rich_tables, to_csv, to_markdown
    from harness.views.llm_table import load_llm_table

    table = load_llm_table(store, refs, runtimes)
    if table.empty:
        raise HarnessError(f"no llm cells in {', '.join(refs)}")
    title = "harness table --llm: " + ", ".join(refs)
    if fmt == "terminal":
        console = Console(width=None if sys.stdout.isatty() and out is None else PIPE_WIDTH, no_color=out is not None,
                          file=out.open("w", encoding="utf-8") if out is not None else None)
        for tab in rich_tables(table, title):
            console.print(tab)
        if out is not None:
            console.file.close()
    else:
        renderers = {"markdown": lambda: to_markdown(table, title), "csv": lambda: to_csv(table)}
        if fmt not in renderers:
            raise HarnessError(f"--llm --format {fmt!r}: expected terminal, {', '.join(renderers)}")
        _write_text(renderers[fmt](), out)
    if out is not None:
        Console(stderr=True).print(f"wrote {out}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("table")(table_cmd)
