"""Each renderer of the results matrix: the column groups per device survive every format,
statuses are never blank, and any device or workload text stays plain text (hypothesis)."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from harness.analysis.results_matrix import DeviceGroup, MatrixCell, MatrixRow, ResultsMatrix
from harness.report.results_table.csv import render_csv
from harness.report.results_table.html import render_fragment, render_html
from harness.report.results_table.latex import render_latex, tex
from harness.report.results_table.markdown import GROUP_SEPARATOR, render_markdown
from harness.report.results_table.terminal import render_table
from tests.report.markdown_tables import parse_tables

COLUMNS = ("latency", "speedup", "memory", "rel_l2", "xplat")


def matrix(devices: list[str], workload: str = "resnet", *, backends: tuple[str | None, ...] = (None,)) -> ResultsMatrix:
    groups = [DeviceGroup(d, d, f"fp{i}", ("cpu",), ("r1",), "2026-01-01") for i, d in enumerate(devices)]
    rows = []
    for b in backends:
        for p, ms in (("fp32", 10.0), ("int8", 4.0)):
            cells = {}
            for i, g in enumerate(groups):
                if p == "int8" and i == 0:
                    cells[g.key] = MatrixCell(status="failed", error="InvalidGraph: <boom> & |pipe|")
                else:
                    cells[g.key] = MatrixCell(status="ok" if i % 2 == 0 else "accuracy_fail", backend=b or "cpu",
                                              latency=ms * (i + 1), ci_low=ms * 0.98, ci_high=ms * 1.03, n=50,
                                              speedup=10.0 / ms, memory_mb=123.4, rel_l2=3e-4, xplat_rel_l2=0.0,
                                              best=b == "nnapi")
            rows.append(MatrixRow(workload, p, b, "latency_ms@b1", "ms", False, cells))
    return ResultsMatrix(groups, rows, COLUMNS, notes=["note <b>&</b>"])


def test_markdown_parses_as_one_column_group_per_device() -> None:
    m = matrix(["pixel", "pi5", "jetson"])
    ((head, body),) = parse_tables(render_markdown(m, "t"))
    assert head[:2] == ["workload", "precision"]
    groups: dict[str, list[str]] = {}
    for h in head[2:]:
        device, _, quantity = h.partition(GROUP_SEPARATOR)
        groups.setdefault(device.split(" · ")[0], []).append(quantity)
    assert list(groups) == ["pixel", "pi5", "jetson"]
    assert all(len(q) == len(COLUMNS) for q in groups.values())
    assert groups["pixel"][0].endswith("· median [95% CI]")  # a duration carries the unit that fits it, in its cell
    assert len(body) == 2 and all(len(r) == len(head) for r in body)
    int8 = body[1]
    assert int8[2] == "failed" and int8[3] == "–" and int8[2 + len(COLUMNS) + 1] == "2.50×"
    assert int8[2 + len(COLUMNS)] == "8.00 ms [3.92, 4.12]" and int8[2 + len(COLUMNS) + 3] == "3.0e-04 accuracy_fail"
    assert body[0][2] == "10.0 ms [9.8, 10.3]"


def test_best_backend_is_marked_in_every_format() -> None:
    m = matrix(["pixel", "pi5"], backends=("cpu", "nnapi"))
    ((head, body),) = parse_tables(render_markdown(m))
    assert head[2] == "backend" and "★" in body[2][3] and "★" not in body[0][3]
    assert r"\textbf{" in render_latex(m) and 'class="best"' in render_html(m)
    assert "true" in render_csv(m).lower()


def test_terminal_csv_latex_html_keep_groups_and_statuses() -> None:
    m = matrix(["pixel", "pi5"])
    console = Console(record=True, width=300)
    console.print(render_table(m, "t"))
    text = console.export_text()
    assert "pixel" in text and "pi5" in text and "failed" in text and "accuracy_fail" in text
    recs = list(csv.DictReader(io.StringIO(render_csv(m))))
    assert len(recs) == 4 and {r["device"] for r in recs} == {"pixel", "pi5"}
    assert [r["status"] for r in recs if r["precision"] == "int8"] == ["failed", "accuracy_fail"]
    assert float(recs[0]["median"]) == 10.0 and recs[0]["ci_low"] and recs[1]["speedup_vs_fp32"]
    latex = render_latex(m)
    assert latex.count(r"\multicolumn{5}{c}") == 2 and r"\textit{failed}" in latex and r"\cmidrule(lr){8-12}" in latex
    assert "10.0 ms" in latex and not any(ord(ch) > 127 for ch in latex)  # units in the cell, plain ASCII LaTeX
    m.rows[0].cells["pixel"].latency = 0.0141
    assert r"14.1 $\mu$s" in render_latex(m)
    page = render_html(m)
    assert page.count('class="group" colspan="5"') == 2 and "&lt;boom&gt;" in page and "<boom>" not in page
    assert "note &lt;b&gt;" in page


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.data: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [v or "" for _, v in attrs]

    def handle_data(self, data: str) -> None:
        self.data.append(data)


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=24)


@settings(max_examples=60, deadline=None)
@given(device=names, workload=names)
def test_any_device_or_workload_text_stays_plain_text(device: str, workload: str) -> None:
    m = matrix([device, "pi5"], workload)
    ((head, body),) = parse_tables(render_markdown(m))
    assert len(head) == 2 + 2 * len(COLUMNS) and all(len(r) == len(head) for r in body)
    assert head[2].startswith(device.strip()) or not device.strip()  # CommonMark trims cell edges
    assert body[0][0] == workload.strip()
    parser = _Text()
    parser.feed(str(render_fragment(m)))
    assert set(parser.tags) <= {"div", "table", "caption", "thead", "tr", "th", "td", "tbody", "span", "ul", "li"}
    assert device in parser.attrs  # data-device round-trips
    escaped = tex(device)
    assert not re.search(r"(?<!\\)[&%$#_{}~^]", escaped.replace(r"\textbackslash{}", "").replace(
        r"\textasciitilde{}", "").replace(r"\textasciicircum{}", "").replace(r"$\times$", "").replace(
        r"$\star$", "").replace(r"$\cdot$", "").replace(r"$\mu$", ""))


def test_renderers_neither_read_the_store_nor_decide() -> None:
    """House rule: the results-table renderers format a ResultsMatrix; loading is views/, deciding analysis/."""
    import ast
    from pathlib import Path

    import harness.report.results_table as pkg

    allowed_analysis = {"DeviceGroup", "MatrixCell", "MatrixRow", "ResultsMatrix", "QUANTITIES"}
    for path in Path(pkg.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("harness.results", "harness.views", "harness.session")), path
                if node.module.startswith("harness.analysis"):
                    assert {a.name for a in node.names} <= allowed_analysis, (path, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith(("harness.results", "sqlalchemy")) for a in node.names), path
