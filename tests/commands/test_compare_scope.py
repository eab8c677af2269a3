"""`harness compare` of runs that planned different cells, with failures and many sub-metrics: what a
PR reader sees (terminal line count, exit code, markdown that GitHub's renderer turns into tables)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from harness.records import MetricValue
from harness.results.store import Store
from tests.analysis.synthetic import CellSpec, record_run
from tests.commands.test_compare import harness

WORKLOADS = ("text-lm", "image-cls", "translation", "detector", "speech")
PRECISIONS = ("fp32", "fp16", "int8", "int4")
MATRIX = tuple(CellSpec(workload=w, precision=p, base_ms=5.0 + 3 * i + j)
               for i, w in enumerate(WORKLOADS) for j, p in enumerate(PRECISIONS))  # 20 cells
# what a real cell records besides its headline: fidelity per batch and output, a second batch size
SUB_METRICS = tuple(
    MetricValue(f"{m}:{b}/{out}", v, "", "deterministic", "vs fp32 on the host")
    for b in ("b1", "b4") for out in ("logits", "hidden")
    for m, v in (("cosine", 0.999), ("rel_l2", 0.01), ("max_abs", 0.02), ("top1_agreement", 1.0),
                 ("top5_agreement", 1.0))
)
QUIET = "defaults: {run_noise: 0.005}\n"  # synthetic runs have no run offsets: a quiet device, declared


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "scope.db")
    record_run(s, "full", cells=MATRIX, extra_metrics=SUB_METRICS, seed=1, n=60,
               created_at="2026-01-01T00:00:00+00:00")
    record_run(s, "full-again", cells=MATRIX, extra_metrics=SUB_METRICS, seed=2, n=60,
               created_at="2026-01-02T00:00:00+00:00")
    record_run(s, "two", cells=MATRIX[:2], extra_metrics=SUB_METRICS, seed=3, n=60,
               created_at="2026-01-03T00:00:00+00:00")
    record_run(s, "broken", cells=(MATRIX[0], MATRIX[5]), extra_metrics=SUB_METRICS, seed=4, n=60,
               status={"image-cls": "failed"}, created_at="2026-01-04T00:00:00+00:00")  # image-cls fp16 failed
    yield s
    s.close()


def test_subset_compare_is_short_and_exits_0(store, monkeypatch, capsys, tmp_path) -> None:
    quiet = tmp_path / "quiet.yaml"
    quiet.write_text(QUIET)
    for a, b, side in (("full", "two", "A"), ("two", "full", "B")):
        code = harness(monkeypatch, "compare", a, b, "--store", store.url, "--thresholds", quiet)
        out = capsys.readouterr().out
        lines = out.splitlines()
        assert code == 0, out
        assert len(lines) <= 40, out
        assert "INCOMPARABLE" not in out and "cosine" not in out  # one headline row per compared cell
        only = [ln for ln in lines if ln.startswith(f"only in {side}")]
        assert only == [f"only in {side}: 5 workloads (detector, image-cls, speech, text-lm, …) × 4 precisions "
                        "(fp32, fp16, int8, int4), 18 cells — not compared"]
        assert "--all-metrics shows them" in out
    # --strict: cells on one side only are an incomparable comparison
    assert harness(monkeypatch, "compare", "full", "two", "--store", store.url, "--thresholds", quiet,
                   "--strict") == 2
    # every sub-metric on demand, one metric by glob
    harness(monkeypatch, "compare", "full", "two", "--store", store.url, "--all-metrics", "--thresholds", quiet)
    assert "cosine:b4/hidden" in capsys.readouterr().out
    assert harness(monkeypatch, "compare", "full", "two", "--store", store.url, "--metric", "peak_*",
                   "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert {r["metric"] for r in doc["rows"]} == {"peak_rss_mb"} and len(doc["one_sided"]) == 18
    assert harness(monkeypatch, "compare", "full", "two", "--store", store.url, "--metric", "nope*") == 2
    assert "--metric nope*: matches no metric (known: cosine:b1/hidden" in capsys.readouterr().err
    # no cell in common: nothing was compared, which never passes a gate
    record_run(store, "elsewhere", cells=(MATRIX[10],), seed=5, n=20)
    assert harness(monkeypatch, "compare", "two", "elsewhere", "--store", store.url) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert ("no judged metrics in common; only in A: 1 workload (text-lm) × 2 precisions (fp32, fp16), 2 cells — "
            "not compared; only in B: 1 workload (translation) × 1 precision (int8), 1 cell — not compared") in err


def test_failed_in_b_exits_1_and_is_listed_first(store, monkeypatch, capsys, tmp_path) -> None:
    quiet = tmp_path / "quiet.yaml"
    quiet.write_text(QUIET)
    code = harness(monkeypatch, "compare", "full", "broken", "--store", store.url, "--thresholds", quiet)
    out = capsys.readouterr().out
    assert code == 1, out
    table = [ln for ln in out.splitlines() if re.search(r"\b(FAILED|UNCHANGED|INCONCLUSIVE|REGRESSED)\b", ln)]
    assert "FAILED" in table[0] and "image-cls" in table[0] and "failed in B: run broken: boom" in table[0]
    assert sum("FAILED" in ln for ln in table) == 1  # one row for the cell, not one per metric
    # markdown: the FAILED row heads the table; --changes-only keeps it and drops the unchanged
    harness(monkeypatch, "compare", "full", "broken", "--store", store.url, "--thresholds", quiet, "--format",
            "markdown", "--changes-only")
    md = capsys.readouterr().out
    rows = [ln for ln in md.splitlines() if ln.startswith("| pixel")]
    assert rows and "**FAILED**" in rows[0] and not any("UNCHANGED" in r for r in rows)
    # the other way round it is a fix: listed, never exit 1
    assert harness(monkeypatch, "compare", "broken", "full", "--store", store.url, "--thresholds", quiet) == 0
    assert "failed in A: 1 workload (image-cls) × 1 precision (fp16), 1 cell" in capsys.readouterr().out


def _tables_render(md: str) -> str:
    html = cmarkgfm.github_flavored_markdown_to_html(md, options=Options.CMARK_OPT_UNSAFE)
    heads = [ln for ln in md.splitlines() if ln.startswith("| device |")]
    body = [ln for ln in md.splitlines() if ln.startswith("| pixel |")]
    assert heads and html.count("<table>") == len(heads)  # every markdown table is an HTML table
    assert html.count("<tr>") == len(heads) + len(body)  # and every row of it a row
    for quote in re.findall(r"<blockquote>(.*?)</blockquote>", html, flags=re.S):
        assert "<table" not in quote and "|" not in quote  # nothing folded into the notes' quote
    return html


def test_full_aa_markdown_fits_a_comment_and_renders(store, monkeypatch, capsys, tmp_path) -> None:
    quiet = tmp_path / "quiet.yaml"
    quiet.write_text(QUIET)
    harness(monkeypatch, "compare", "full", "full-again", "--store", store.url, "--format", "markdown",
            "--thresholds", quiet)
    md = capsys.readouterr().out
    assert len(md) <= 60_000 and md.count("| pixel |") == 20  # one row per cell
    html = _tables_render(md)
    assert "<details><summary>" in html and "unchanged row(s)" in html  # the unchanged are folded
    # every sub-metric: 300 rows do not fit; the tail is cut and the comment says what was cut
    harness(monkeypatch, "compare", "full", "full-again", "--store", store.url, "--format", "markdown",
            "--all-metrics")
    md = capsys.readouterr().out
    assert 50_000 < len(md) <= 60_000
    cut = re.search(r"\*(\d+) row\(s\) cut to keep this comment under 60,000 characters \(([^)]*)\)", md)
    assert cut and int(cut.group(1)) + md.count("| pixel |") == 20 * (3 + len(SUB_METRICS))
    _tables_render(md)
