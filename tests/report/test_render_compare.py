"""Renderers print the decision; they never change it, and they escape user strings."""

from __future__ import annotations

import json

from rich.console import Console

from harness.analysis.compare import Comparison, Row, Verdict
from harness.report.render_compare import render_html, render_json, render_markdown, render_terminal

EVIL = "<img src=x onerror=alert(1)>|[red]x[/red]"


def _cmp() -> Comparison:
    rows = [
        Row(workload=EVIL, precision="fp32", backend="cpu", device=EVIL, device_fingerprint="f", metric="latency_ms@b1",
            unit="ms", kind="noisy", verdict=Verdict.REGRESSED, reason="+10%", a=10.0, b=11.0, ratio=1.1, ci_low=1.08,
            ci_high=1.12, p=1e-9, p_holm=2e-9, n_a=100, n_b=100, delta=0.05),
        Row(workload="bert", precision="int8", backend="cpu", device="pixel", device_fingerprint="f",
            metric="peak_rss_mb", unit="MB", kind="deterministic", verdict=Verdict.UNCHANGED, reason="ok", a=100.0,
            b=100.5, ratio=1.005),
        Row(workload="gpt", precision="fp16", backend="cpu", device="pixel", device_fingerprint="f",
            metric="latency_ms@b1", unit="ms", kind="noisy", verdict=Verdict.INCONCLUSIVE, reason="CI crosses",
            ratio=float("nan"), ci_low=float("nan"), ci_high=float("nan")),
    ]
    return Comparison("run a", "run b", rows)


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
