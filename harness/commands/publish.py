"""`harness publish [--out DIR]`: the static site (opens from file://)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console


def publish_cmd(
    out: Path | None = typer.Option(None, "--out", "-o", help="Site folder (default: reports/site in the harness home)."),
    run_pages: int = typer.Option(20, "--run-pages", help="Write report pages for the latest N runs."),
    thresholds: Path | None = typer.Option(None, "--thresholds", help="YAML with per-metric / workload-glob limits."),
    base_url: str | None = typer.Option(None, "--base-url", help="Where the site will be served (Atom links)."),
    pair: list[str] = typer.Option(None, "--compare", help="A..B (run ids, latest~N, build ids or files): add a "
                                                           "compare page."),
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
) -> None:
    """Publish overview, runs, compares, series, devices and regressions (+ JSON, Atom).

    It shows the regression alerts as `harness history`, `harness alerts` or `harness nightly` last
    synced them; publishing never writes the results store."""
    import time

    from harness.analysis.thresholds import Thresholds
    from harness.config.locations import site_dir
    from harness.config.outputs import output_dir
    from harness.config.validate import parse_model
    from harness.errors import HarnessError
    from harness.report.site.publish import publish
    from harness.results.run_refs import parse_ref, resolve_run
    from harness.results.store import Store

    store = Store(store_url)
    out = output_dir(out or site_dir(), "--out")  # before any work
    pairs: list[tuple[str, str]] = []
    for p in pair or []:
        a, sep, b = p.partition("..")
        if not (sep and a and b):
            raise HarnessError(f"--compare {p!r}: expected A..B")
        # a page named after the runs themselves: `latest` moves, the page it made should not
        a, b = (resolve_run(store, x) if parse_ref(x) is not None else x for x in (a, b))
        pairs.append((a, b))
    t0 = time.perf_counter()
    th = parse_model(Thresholds, thresholds) if thresholds else None
    result = publish(store, out, run_pages=run_pages, thresholds=th, base_url=base_url, pairs=pairs)
    sizes = result.sizes()
    biggest = max(sizes.items(), key=lambda kv: kv[1]) if sizes else ("-", 0)
    Console(markup=False).print(f"wrote {len(sizes)} files to {out}/ in {time.perf_counter() - t0:.1f} s "
                    f"(largest {biggest[0]}: {biggest[1] / 1e6:.2f} MB); open {out / 'index.html'}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("publish")(publish_cmd)
