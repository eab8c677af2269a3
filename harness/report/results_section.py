"""The "Results" block of the run report and the site overview: the results matrix as an HTML
table (one column group per device) followed by its charts. Rendering only; the matrix comes
from views.results_matrix. plotly.js must be loaded by the page."""

from __future__ import annotations

from markupsafe import Markup

from harness.analysis.results_matrix import ResultsMatrix
from harness.report.matrix_figures import matrix_charts
from harness.report.results_table.html import STYLE, render_fragment
from harness.report.site.plots import plot_div

CHART_CSS = ".results-charts{max-width:1400px}"  # stacked: plotly sizes a chart to its div as it is parsed


def results_section(matrix: ResultsMatrix | None, *, id_prefix: str = "results", title: str | None = None,
                    dated: bool = False) -> Markup:
    """``dated``: every cell shows its run's date (the overview mixes runs)."""
    if matrix is None or not matrix.rows:
        return Markup('<p class="note">No results yet: no cell has been recorded.</p>')
    charts = [plot_div(f"{id_prefix}-{c.name}", c.data, c.layout, c.height) for c in matrix_charts(matrix)]
    return Markup("<style>{}{}</style>{}<div class=\"results-charts\">{}</div>").format(
        Markup(STYLE), Markup(CHART_CSS), render_fragment(matrix, title, table_id=f"{id_prefix}-matrix", dated=dated),
        Markup("").join(charts))
