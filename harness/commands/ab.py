"""`harness ab BUILD_A BUILD_B`: run A and B interleaved in rounds on the same device(s), then compare.

Rounds alternate the order, A B | B A | A B ..., so thermal drift and background load hit both builds
alike; the comparison pairs the runs of each round and tests the per-round differences of log
medians (with fewer than 3 rounds, σ_run comes from the calibration, the history or the assumed
default instead, and the rows say so). Exit codes as `compare`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from harness.commands._waiting import lock_wait_s, no_wait_option, wait_timeout_option

ROUNDS = 5  # paired by round: 4 degrees of freedom for the round-to-round spread


def ab_cmd(
    build_a: str = typer.Argument(..., help="Baseline build: id, folder or manifest."),
    build_b: str = typer.Argument(..., help="Candidate build: id, folder or manifest."),
    device: list[str] = typer.Option([], "--device", "-d", help="Device name glob or device YAML (repeatable)."),
    workload: list[str] = typer.Option([], "--workload", "-w", help="Workload name glob (repeatable)."),
    precision: list[str] = typer.Option([], "--precision", "-p", help="Precision glob (repeatable)."),
    backend: list[str] = typer.Option([], "--backend", "-b", help="Backend glob (repeatable)."),
    rounds: int = typer.Option(ROUNDS, "--rounds", min=1, help="A/B rounds (each runs both builds once)."),
    fmt: str = typer.Option("terminal", "--format", "-f", help="terminal, markdown, json or html."),
    markdown: Path | None = typer.Option(None, "--markdown", help="Also write the markdown table here."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the JSON verdicts here."),
    thresholds: Path | None = typer.Option(None, "--thresholds", help="YAML with per-metric / workload-glob limits."),
    strict: bool = typer.Option(False, "--strict", help="Exit 3 when any row is INCONCLUSIVE."),
    devices_dir: Path | None = typer.Option(None, "--devices-dir", help="Folder of device profiles."),
    workloads_dir: Path | None = typer.Option(None, "--workloads-dir", help="Folder of workloads."),
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
    wait_timeout: float = wait_timeout_option(),
    no_wait: bool = no_wait_option(),
    test_slowdown_b: float = typer.Option(0.0, "--test-slowdown-b", hidden=True,
                                          help="TEST ONLY: inject this fractional slowdown into B's timed calls."),
) -> None:
    """Interleave builds A and B in rounds on the same device, then compare them paired by round."""
    import secrets

    from harness.analysis.thresholds import Thresholds
    from harness.commands._experiment import filters, run_once
    from harness.config.validate import parse_model
    from harness.errors import HarnessError
    from harness.report import render_compare as R
    from harness.results.sources import side_from_runs
    from harness.results.store import Store
    from harness.views.compare import CompareOptions, compare_sides, rounds_plan

    if fmt not in ("terminal", "markdown", "json", "html"):
        raise HarnessError(f"--format {fmt!r}: expected terminal, markdown, json or html")
    from harness.config.outputs import output_file

    for flag, path in (("--markdown", markdown), ("--json", json_out)):
        if path is not None:
            output_file(path, flag)  # before minutes of measuring, not after
    th = parse_model(Thresholds, thresholds) if thresholds else Thresholds()
    store = Store(store_url)
    console = Console(stderr=fmt != "terminal")
    flt, files = filters(device, workload, precision, backend)
    for line in rounds_plan(store, flt.device, th):
        console.print(line, markup=False, highlight=False)
    ab_id = secrets.token_hex(4)
    runs: dict[str, list[str]] = {"A": [], "B": []}
    round_of: dict[str, int] = {}
    for i in range(rounds):
        order = (("A", build_a, 0.0), ("B", build_b, test_slowdown_b))
        for side, build, slow in order if i % 2 == 0 else order[::-1]:
            run_id = run_once(
                store, build=build, flt=flt, device_files=files, kind="ab",
                labels={"ab": ab_id, "side": side, "round": i + 1}, devices_dir=devices_dir,
                workloads_dir=workloads_dir, test_slowdown=slow, console=console,
                what=f"round {i + 1}/{rounds} {side}", lock_wait_s=lock_wait_s(wait_timeout, no_wait))
            runs[side].append(run_id)
            round_of[run_id] = i + 1
    a = side_from_runs(store, runs["A"], label=f"A {build_a}", rounds=round_of)
    b = side_from_runs(store, runs["B"], label=f"B {build_b}", rounds=round_of)
    cmp = compare_sides(a, b, store, CompareOptions(thresholds=th, allow_artifact_change=True), paired=True)
    cmp.notes.append(f"ab {ab_id}: {rounds} interleaved round(s) A B | B A ...; different model artifacts are "
                     "judged (that is the point of an A/B)")
    out = Console(width=None if sys.stdout.isatty() else 240)
    if fmt == "terminal":
        R.render_terminal(cmp, out, strict=strict)
    elif fmt == "markdown":
        typer.echo(R.render_markdown(cmp, strict=strict), nl=False)
    elif fmt == "json":
        typer.echo(R.render_json(cmp, strict=strict))
    else:
        typer.echo(R.render_html(cmp, Path.cwd(), strict=strict))
    if markdown:
        markdown.write_text(R.render_markdown(cmp, strict=strict), encoding="utf-8")
    if json_out:
        json_out.write_text(R.render_json(cmp, strict=strict), encoding="utf-8")
    code = cmp.exit_code(strict)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("ab")(ab_cmd)
