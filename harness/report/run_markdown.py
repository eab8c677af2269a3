"""Markdown export of a run: its summary table (and its LLM cells' table), ready for a PR comment or a
wiki page.

A rendering of ``analysis.run_table``, so it lives with the other renderers (``results`` keeps the data
formats and knows nothing of analysis or reports)."""

from __future__ import annotations

from pathlib import Path

from harness.analysis.llm_table import llm_table
from harness.analysis.run_table import fmt, run_table
from harness.report.llm_table import to_markdown as llm_markdown
from harness.report.units import quantity, shown_in
from harness.results.exporters import RunBundle

HEADERS = ["device", "workload", "precision", "backend", "metric", "p50", "p90", "peak MB", "rel L2", "status", "notes"]


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(bundle: RunBundle) -> str:
    table = run_table(bundle.cells, bundle.metrics)
    run = bundle.run
    lines = [f"### harness run `{run['run_id']}` (build `{run.get('build_id')}`)", "",
             "| " + " | ".join(HEADERS) + " |", "|" + "|".join("---" for _ in HEADERS) + "|"]
    for r in table.itertuples():
        notes = "; ".join(x for x in (r.flags, r.error) if x)
        unit = shown_in(r.unit)
        metric = (f"{r.metric} ({unit})" if unit else r.metric) if r.metric else ""
        vals = [r.device, r.workload, r.precision, r.backend, metric, quantity(r.p50, r.unit, fmt),
                quantity(r.p90, r.unit, fmt), fmt(r.peak_mb),
                fmt(r.rel_l2), r.status, notes]
        lines.append("| " + " | ".join(_cell(v) for v in vals) + " |")
    llm = llm_table(bundle.cells, bundle.metrics)
    if not llm.empty:  # an LLM run: llama-bench's tests and quality per quantization, as `harness table --llm`
        lines += ["", llm_markdown(llm, "Language models: device × runtime × quantization").rstrip("\n")]
    return "\n".join(lines) + "\n"


def export(bundle: RunBundle, path: Path) -> Path:
    path.write_text(to_markdown(bundle))
    return path
