"""The HTML report of one run: results first (the results matrix per device with its charts),
then changes (each cell against its last comparable successful run), then every cell's
numbers, latency distributions, methods and devices."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from harness.analysis.run_table import fmt, run_table
from harness.report import run_figures
from harness.report.llm_table import llm_section
from harness.report.plotlyjs import plotly_script
from harness.report.results_section import results_section
from harness.report.units import quantity
from harness.results.store import Store
from harness.views.changes import DeviceChanges, run_changes
from harness.views.llm_table import run_llm_table
from harness.views.results_matrix import run_results_matrix

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("harness.report", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
)
_env.filters["fmt"] = fmt
_env.filters["duration"] = lambda v, unit: quantity(v, unit, fmt)

SEEDED_NOTE = (
    "Built-in workloads are seeded, untrained models: they prove the pipeline and the runtime "
    "(speed, memory, numeric error of each precision), not a trained model's accuracy."
)


def seeded_note(cells: pd.DataFrame) -> str | None:
    """The seeded-model note, naming the built-in workloads of the run; None when every model is
    a user's own. Cells stored before they recorded their model's origin get the general note."""
    origins = {}
    for wl, raw in zip(cells["workload"], cells["result_json"]):
        origin = (json.loads(raw) if isinstance(raw, str) and raw else {}).get("model_source")
        if origin is not None:
            origins[wl] = origin
    if not origins:
        return SEEDED_NOTE if len(cells) else None
    builtin = sorted(wl for wl, o in origins.items() if o.get("builtin"))
    if not builtin:
        return None
    return SEEDED_NOTE.replace("Built-in workloads are", f"Built-in workloads ({', '.join(builtin)}) are")


def _headline_samples(store: Store, table: pd.DataFrame) -> dict[int, np.ndarray]:
    wanted = {(int(r.cell_id), r.metric) for r in table.itertuples() if r.metric}
    got = store.samples_for([cid for cid, _ in wanted])
    return {cid: got[(cid, m)] for cid, m in wanted if (cid, m) in got}


def _methods(metrics: pd.DataFrame) -> list[tuple[str, str]]:
    """(metric families, method) pairs: each way of measuring listed once."""
    if metrics.empty:
        return []
    m = metrics[metrics["method"].notna() & (metrics["kind"] != "info")].copy()
    m["family"] = m["metric"].str.split(r"[@:.]", regex=True).str[0]
    m["how"] = m["method"].str.replace(r"median of \d+ .*", "median of the steady-state samples", regex=True)
    grouped = m.groupby("how")["family"].agg(lambda s: ", ".join(sorted(set(s))))
    return sorted((str(fams), str(how)) for how, fams in grouped.items())


def _fig_html(fig: object) -> str:
    return run_figures.figure_html(fig)  # type: ignore[arg-type]


def render_run_report(store: Store, run_id: str, out_dir: Path, plotlyjs: str = "shared",
                      changes: list[DeviceChanges] | None = None) -> str:
    """``changes``: the run's changes when the caller already has them (the site's overview)."""
    run = store.get_run(run_id)
    cells = store.cells_frame([run_id])
    metrics = store.metrics_frame([run_id])
    table = run_table(cells, metrics)
    samples = _headline_samples(store, table)
    figures: list[tuple[str, str]] = [(name, _fig_html(f)) for name, f in run_figures.latency_distributions(table, samples)]
    devices = []
    for dev, g in cells.groupby("device"):
        facts = json.loads(g["fingerprint_json"].dropna().iloc[0]) if g["fingerprint_json"].notna().any() else {}
        devices.append({"name": dev, "fingerprint": g["device_fingerprint"].dropna().iloc[0]
                        if g["device_fingerprint"].notna().any() else None,
                        "transport": g["transport"].dropna().iloc[0] if g["transport"].notna().any() else None,
                        "facts": {k: v for k, v in facts.items() if not isinstance(v, (list, dict))}})
    counts = table["status"].value_counts().to_dict()
    show = {c: table[c].notna().any() for c in ("power_w", "energy_mj", "temp_max_c", "top1", "token_match")}
    template = _env.get_template("run.html.j2")
    return template.render(
        results=results_section(run_results_matrix(store, run_id), id_prefix="run"),
        llm=llm_section(run_llm_table(store, run_id)),
        changes=run_changes(store, run_id) if changes is None else changes,
        run=run,
        rows=table.to_dict("records"),
        counts=counts,
        figures=figures,
        devices=devices,
        methods=_methods(metrics),
        show=show,
        seeded_note=seeded_note(cells),
        plotly=plotly_script(out_dir, plotlyjs),
        summary=run.get("summary") or {},
    )


def write_run_report(store: Store, run_id: str, out_dir: Path, plotlyjs: str = "shared",
                     changes: list[DeviceChanges] | None = None) -> Path:
    """Write <out_dir>/index.html for the run and return its path. plotlyjs: see plotly_script
    ("shared": one plotly.min.js beside the run folders; "inline": a page that travels alone)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html = render_run_report(store, run_id, out_dir, plotlyjs, changes)
    path = out_dir / "index.html"
    tmp = path.with_suffix(".html.part")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
