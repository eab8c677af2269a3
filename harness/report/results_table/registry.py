"""Text format -> renderer ("terminal" is a rich Table: results_table.terminal.render_table)."""

from __future__ import annotations

from collections.abc import Callable

from harness.analysis.results_matrix import ResultsMatrix
from harness.report.results_table.csv import render_csv
from harness.report.results_table.html import render_html
from harness.report.results_table.latex import render_latex
from harness.report.results_table.markdown import render_markdown

TEXT_RENDERERS: dict[str, Callable[[ResultsMatrix, str | None], str]] = {
    "markdown": render_markdown,
    "csv": render_csv,
    "html": render_html,
    "latex": render_latex,
}
