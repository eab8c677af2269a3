"""Renderers print the decision; they never change it, and they escape user strings."""

from __future__ import annotations

import dataclasses
import json

from rich.console import Console

from harness.analysis.compare import Comparison, Row, Verdict
from harness.report.render_compare import render_html, render_json, render_markdown, render_terminal

EVIL = "<img src=x onerror=alert(1)>|[red]x[/red]"


def _cmp() -> Comparison:
    rows = [
        Row(workload=EVIL, precision="fp32", backend="cpu", device=EVIL, device_fingerprint="f", metric="latency_ms@b1",
            unit="ms", kind="noisy", verdict=Verdict.REGRESSED, reason="+10%", a=10.0, b=11.0, ratio=1.1, ci_low=1.08,
            ci_high=1.12, p=1e-9, p_holm=2e-9, n_a=100, n_b=100, delta=0.05, runs_a=5, runs_b=5, sigma_run=0.021,
            sigma_source="estimated", mde=0.064, notes=["measured under contention: B run r2"]),
        Row(workload="bert", precision="int8", backend="cpu", device="pixel", device_fingerprint="f",
            metric="peak_rss_mb", unit="MB", kind="deterministic", verdict=Verdict.UNCHANGED, reason="ok", a=100.0,
            b=100.5, ratio=1.005),
        Row(workload="gpt", precision="fp16", backend="cpu", device="pixel", device_fingerprint="f",
            metric="latency_ms@b1", unit="ms", kind="noisy", verdict=Verdict.INCONCLUSIVE, reason="CI crosses",
            ratio=float("nan"), ci_low=float("nan"), ci_high=float("nan"), runs_a=1, runs_b=1, sigma_run=0.05,
            sigma_source="assumed", mde=0.27, runs_needed=13),
    ]
    return Comparison("run a", "run b", rows, notes=["run-to-run noise assumed 5 % for 1 row(s)"])


def test_markdown_escapes_and_folds_unchanged_rows() -> None:
    md = render_markdown(_cmp())
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt;\\|" in md
    assert "**REGRESSED**" in md and "<details><summary>1 unchanged row(s)</summary>" in md
    assert md.index("REGRESSED") < md.index("INCONCLUSIVE") < md.index("<details>")
    assert "exit code 1" in md


def test_json_is_strict_and_carries_the_exit_code() -> None:
    doc = json.loads(render_json(_cmp(), strict=True))
    assert doc["exit_code"] == 1 and doc["counts"]["REGRESSED"] == 1
    gpt = next(r for r in doc["rows"] if r["workload"] == "gpt")
    assert gpt["ratio"] is None and gpt["ci_low"] is None  # NaN never reaches JSON


def test_terminal_does_not_interpret_markup_in_names() -> None:
    console = Console(record=True, width=250, color_system=None)
    render_terminal(_cmp(), console)
    text = console.export_text()
    assert "[red]x[/red]" in text and "REGRESSED" in text and "exit 1" in text


def test_html_escapes_names(tmp_path) -> None:
    html = render_html(_cmp(), tmp_path, plotlyjs="plotly.min.js")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert '<script src="plotly.min.js"></script>' in html


def test_every_renderer_states_each_rows_evidence(tmp_path) -> None:
    """Runs per side, σ_run with its source and the minimum detectable effect: terminal, markdown, JSON, HTML."""
    md = render_markdown(_cmp())
    assert "| runs A/B | σ_run | MDE |" in md
    assert "| 5/5 | 2.1 % estimated | 6.4 % |" in md and "| 1/1 | 5.0 % assumed | 27.0 % |" in md
    assert "measured under contention: B run r2" in md and "> run-to-run noise assumed 5 %" in md
    console = Console(record=True, width=300, color_system=None)
    render_terminal(_cmp(), console)
    text = console.export_text()
    assert "2.1 % estimated" in text and "6.4 %" in text and "run-to-run noise assumed 5 %" in text
    rows = {r["workload"]: r for r in json.loads(render_json(_cmp()))["rows"]}
    assert (rows["gpt"]["runs_a"], rows["gpt"]["sigma_source"], rows["gpt"]["runs_needed"]) == (1, "assumed", 13)
    assert rows["gpt"]["sigma_run"] == 0.05 and rows["gpt"]["mde"] == 0.27
    html = render_html(_cmp(), tmp_path, plotlyjs="plotly.min.js")
    assert "<th>σ_run</th>" in html and "2.1 % estimated" in html and "27.0 %" in html


def test_an_mde_no_run_count_here_reaches_reads_past_100_percent() -> None:
    from harness.report.render_compare import mde_text

    row = _cmp().rows[2]
    assert mde_text(row) == "27.0 %"
    for huge in (float("inf"), 99.6):  # one run a side at a Holm-adjusted level: expm1 of a large log effect
        row.mde = huge
        assert mde_text(row) == "> 100 %"
    assert json.loads(render_json(Comparison("a", "b", [row])))["rows"][0]["mde"] == 99.6  # the data keeps it


def test_a_narrow_terminal_keeps_verdicts_and_numbers_whole_and_says_every_row_once() -> None:
    base = _cmp().rows[0]
    rows = [dataclasses.replace(base, device="pixel", backend="cpu", workload=f"workload-with-a-long-name-{i}",
                                notes=[f"autocorrelated samples in {i} run(s) (lag-1 up to 0.{i}): within-run error",
                                       "measured under contention: B run r2"] if i < 3 else [])
            for i in range(1, 4)]
    rows.append(_cmp().rows[2])  # INCONCLUSIVE, one run a side, σ_run assumed
    rows[-1].device, rows[-1].backend = "pixel", "cpu"
    cmp = Comparison("run a", "run b", rows, notes=["run-to-run noise assumed 5 % for 1 row(s)"])
    wide = Console(record=True, width=400, color_system=None)
    render_terminal(cmp, wide)
    assert "why" in wide.export_text()  # a wide terminal (a log, a pipe) keeps the one-line rows
    console = Console(record=True, width=80, color_system=None)
    render_terminal(cmp, console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "· device pixel · backend cpu" in text  # what every row shares: said once, in the title
    assert text.count("REGRESSED") >= 3 and "INCONCLUSIVE" in text and "1.100" in text and "1.080–1.120" in text
    joined = " ".join(text.split())
    assert "1. A 10 → B 11 (runs 5/5) · σ_run 2.1 % estimated · MDE 6.4 %" in joined  # the rest of row 1's evidence
    assert "4. A – → B – (runs 1/1) · σ_run 5.0 % assumed · MDE 27.0 %" in joined and "CI crosses" in joined
    assert joined.count("measured under contention: B run r2") == 1  # a caveat on several rows: once
    assert "rows 1–2: measured under contention: B run r2" in joined
    assert "rows 1–2: autocorrelated samples in 1 run(s)" in joined and "figures differ per row" in joined
