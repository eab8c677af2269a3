"""The results matrix as a GitHub-flavoured markdown table: header cells "device · quantity",
so each device's columns form one group (markdown has no spanning headers)."""

from __future__ import annotations

import html
import re

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

GROUP_SEPARATOR = " · "


_ACTIVE = re.compile(r"([\\`*_\[\]|~])")  # what means markup inside a table cell (< > & are escaped as HTML)


def md(text: object) -> str:
    """Plain text in a table cell: markup characters backslash-escaped, HTML escaped, one line."""
    return html.escape(_ACTIVE.sub(r"\\\1", str(text)), quote=False).replace("\r", " ").replace("\n", " ")


def _cell(s: Shown) -> str:
    if s.status and s.status != "accuracy_fail":
        return f"_{md(s.text)}_"
    out = md(s.text + s.suffix) + (f" {s.ci}" if s.ci else "")  # the CI is our own "[low, high]": no link
    if s.best:
        out = f"**{out}** ★"
    if s.status == "accuracy_fail":
        out += " _accuracy_fail_"
    return out


def render_markdown(matrix: ResultsMatrix, title: str | None = None) -> str:
    labels = label_columns(matrix)
    head = [md(c) for c in labels]
    for g in matrix.devices:
        head += [md(group_label(g, matrix) + GROUP_SEPARATOR + header(matrix, key)) for key in matrix.columns]
    align = ["---"] * len(labels) + ["---:"] * (len(head) - len(labels))
    lines = [f"**{md(caption(matrix, title))}**", "", "| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for r in matrix.rows:
        cells = [md(x) for x in row_labels(matrix, r)]
        for g in matrix.devices:
            cells += [_cell(shown(matrix, r.cells[g.key], key, r.unit)) for key in matrix.columns]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [""] + [f"> {md(n)}  " for n in footnotes(matrix)]
    return "\n".join(lines).rstrip("\n") + "\n"
