"""The results matrix as a rich table: one column group per device (device name over its
first column, a rule between groups). Device-supplied text goes in as Text, never markup."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from harness.analysis.results_matrix import ResultsMatrix
from harness.report.results_table.text import (
    Shown,
    caption,
    footnotes,
    group_label,
    header,
    label_columns,
    row_labels,
    shown,
)

STATUS_STYLE = {"ok": "", "accuracy_fail": "yellow", "failed": "red", "timeout": "red", "thermal_gated": "magenta",
                "skipped": "dim", "not_run": "dim", "n/a": "dim"}


def _cell(s: Shown) -> Text:
    t = Text(s.text + s.suffix, style=STATUS_STYLE.get(s.status or "", "") if s.ci is None else "")
    if s.ci:
        t.append(" " + s.ci, style="dim")
    if s.best:
        t.append(" ★", style="bold green")
    if s.status == "accuracy_fail":
        t.append(" accuracy_fail", style="yellow")
    return t


def render_table(matrix: ResultsMatrix, title: str | None = None) -> Table:
    t = Table(title=Text(caption(matrix, title)), caption=Text("\n".join(footnotes(matrix))), caption_justify="left",
              header_style="bold", show_lines=False)
    for col in label_columns(matrix):
        t.add_column(Text(col), no_wrap=True)
    for g in matrix.devices:
        for i, key in enumerate(matrix.columns):
            top = group_label(g, matrix) if i == 0 else ""
            t.add_column(Text(f"{top}\n{header(matrix, key)}"), justify="right", no_wrap=key == "latency")
    for r in matrix.rows:
        cells = [Text(x) for x in row_labels(matrix, r)]
        for g in matrix.devices:
            cells += [_cell(shown(matrix, r.cells[g.key], key, r.unit)) for key in matrix.columns]
        t.add_row(*cells)
    return t
