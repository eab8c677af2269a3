"""The results matrix as a LaTeX table for a paper (booktabs): one \\multicolumn group per
device with a \\cmidrule under it; best backend in bold, non-measured cells in italics."""

from __future__ import annotations

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

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "×": r"$\times$", "–": "--",
            "★": r"$\star$", "·": r"$\cdot$", "µ": r"$\mu$"}
_PATTERN = re.compile("|".join(re.escape(k) for k in _SPECIAL))


def tex(text: object) -> str:
    """Escape plain text for LaTeX (every special character, the non-ASCII signs we print)."""
    return _PATTERN.sub(lambda m: _SPECIAL[m.group(0)], str(text).replace("\n", " "))


def _cell(s: Shown) -> str:
    if s.status and s.status != "accuracy_fail":
        return rf"\textit{{{tex(s.text)}}}"
    out = tex(s.text + s.suffix)
    if s.best:
        out = rf"\textbf{{{out}}}"
    if s.ci:
        out += rf" {{\scriptsize {tex(s.ci)}}}"
    if s.status == "accuracy_fail":
        out += r"$^{\dagger}$"
    return out


def render_latex(matrix: ResultsMatrix, title: str | None = None) -> str:
    labels = label_columns(matrix)
    k, n = len(matrix.columns), len(labels)
    spec = "l" * n + "".join("@{\\quad}" + "r" * k for _ in matrix.devices)
    groups = " & ".join([""] * n + [rf"\multicolumn{{{k}}}{{c}}{{{tex(group_label(g, matrix))}}}"
                                    for g in matrix.devices])
    rules = " ".join(rf"\cmidrule(lr){{{n + 1 + i * k}-{n + (i + 1) * k}}}" for i in range(len(matrix.devices)))
    heads = " & ".join([tex(c) for c in labels] + [tex(header(matrix, key)) for _ in matrix.devices
                                                   for key in matrix.columns])
    lines = [
        "% harness table: needs \\usepackage{booktabs}",
        "\\begin{table}[t]", "\\centering", "\\small",
        rf"\caption{{{tex(caption(matrix, title))}}}",
        rf"\begin{{tabular}}{{{spec}}}", r"\toprule", groups + r" \\", rules, heads + r" \\", r"\midrule",
    ]
    for r in matrix.rows:
        cells = [tex(x) for x in row_labels(matrix, r)]
        for g in matrix.devices:
            cells += [_cell(shown(matrix, r.cells[g.key], key, r.unit)) for key in matrix.columns]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if any(c.status == "accuracy_fail" for r in matrix.rows for c in r.cells.values()):
        lines.append(r"\par\smallskip{\footnotesize $^{\dagger}$ over the workload's accuracy budget (accuracy\_fail)}")
    lines += [rf"\par{{\footnotesize {tex(n_)}}}" for n_ in footnotes(matrix)]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"
