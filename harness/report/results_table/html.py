"""The results matrix as HTML: a table fragment (two header rows, one spanning group per
device) that the run report and the site embed, and a standalone page for `--format html`.
Every string is escaped by markupsafe."""

from __future__ import annotations

from markupsafe import Markup, escape

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

STYLE = """
table.results-matrix{border-collapse:collapse;font-size:.85em;margin:12px 0}
.results-matrix th,.results-matrix td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;white-space:nowrap}
.results-matrix th{background:#f4f4f4}.results-matrix th.group{text-align:center;border-left:2px solid #bbb}
.results-matrix td.first,.results-matrix th.first{border-left:2px solid #bbb}
.results-matrix td.num{text-align:right;font-variant-numeric:tabular-nums}
.results-matrix .ci{color:#777;font-size:.85em}.results-matrix .best{color:#1a7f37;font-weight:700}
.results-matrix .st-failed,.results-matrix .st-timeout{color:#cf222e;font-weight:600}
.results-matrix .st-accuracy_fail{color:#bc4c00}.results-matrix .st-thermal_gated{color:#8250df}
.results-matrix .st-skipped,.results-matrix .st-not_run,.results-matrix .st-n\\/a{color:#888;font-style:italic}
.results-matrix .fp{color:#777;font-weight:400;font-size:.85em}
.results-matrix caption{text-align:left;font-weight:600;padding:4px 0}.matrix-notes{color:#555;font-size:.85em;margin:0}
.matrix-box{overflow-x:auto;max-width:100%}
.results-matrix .badge{display:inline-block;margin-left:4px;padding:0 5px;border-radius:8px;font-size:.78em;
 font-weight:600;background:#fff1e5;color:#953800;border:1px solid #ffd8b5}
.results-matrix .b-stale{background:#ffebe9;color:#a40e26;border-color:#ffcecb}
.results-matrix .b-budget_missed{background:#ffebe9;color:#a40e26;border-color:#ffcecb}
.results-matrix .at{display:block;color:#888;font-size:.78em}
"""


def _cell(s: Shown, first: bool, dated: bool = False) -> Markup:
    cls = ["num"] + (["first"] if first else []) + ([f"st-{s.status}"] if s.status else [])
    body = escape(s.text + s.suffix)
    if s.ci:
        body += Markup(' <span class="ci">{}</span>').format(s.ci)
    if s.best:
        body += Markup(' <span class="best" title="best backend on this device">★</span>')
    if s.status == "accuracy_fail":
        body += Markup(' <span class="st-accuracy_fail">accuracy_fail</span>')
    for code, label, message in s.badges:  # flags beside the number, the whole sentence on hover
        body += Markup('<span class="badge b-{}" title="{}">{}</span>').format(code, message, label)
    if dated and s.at:
        body += Markup('<span class="at" title="{}">{}</span>').format(s.at, s.at[:10])
    title = Markup(' title="{}"').format(s.note) if s.note else Markup("")
    return Markup('<td class="{}"{}>{}</td>').format(" ".join(cls), title, body)


def render_fragment(matrix: ResultsMatrix, title: str | None = None, table_id: str = "results-matrix", *,
                    dated: bool = False) -> Markup:
    """The table in a box that scrolls sideways (several devices never widen the page); ``dated``:
    each cell also shows the date of its run (the site's overview mixes runs)."""
    labels = label_columns(matrix)
    k = len(matrix.columns)
    top = Markup("").join(Markup('<th rowspan="2">{}</th>').format(c) for c in labels)
    for g in matrix.devices:
        fp = Markup(' <span class="fp">{}</span>').format(g.fingerprint[:12]) if g.fingerprint else Markup("")
        top += Markup('<th class="group" colspan="{}" data-device="{}">{}{}</th>').format(
            k, g.device, group_label(g, matrix), fp)
    sub = Markup("").join(
        Markup('<th class="num{}">{}</th>').format(" first" if i == 0 else "", header(matrix, key))
        for _ in matrix.devices for i, key in enumerate(matrix.columns))
    body = Markup("")
    for r in matrix.rows:
        tds = Markup("").join(Markup("<td>{}</td>").format(x) for x in row_labels(matrix, r))
        for g in matrix.devices:
            tds += Markup("").join(_cell(shown(matrix, r.cells[g.key], key, r.unit), i == 0, dated and key == "latency")
                                  for i, key in enumerate(matrix.columns))
        body += Markup("<tr>{}</tr>\n").format(tds)
    notes = Markup("").join(Markup('<li>{}</li>').format(n) for n in footnotes(matrix))
    notes = Markup('<ul class="matrix-notes">{}</ul>').format(notes) if notes else notes
    return Markup(
        '<div class="matrix-box"><table class="results-matrix" id="{id}"><caption>{cap}</caption><thead><tr>{top}</tr>'
        "<tr>{sub}</tr></thead><tbody>\n{body}</tbody></table></div>{notes}"
    ).format(id=table_id, cap=caption(matrix, title), top=top, sub=sub, body=body, notes=notes)


def render_html(matrix: ResultsMatrix, title: str | None = None) -> str:
    """A standalone page (no scripts): the table and its notes."""
    return str(Markup(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{t}</title><style>{css}'
        "body{{font-family:system-ui,sans-serif;margin:24px;color:#222}}caption{{text-align:left;color:#555;"
        "padding:4px 0}}.note{{color:#555;font-size:.9em}}</style></head>\n<body>\n{table}\n</body></html>\n"
    ).format(t=title or "harness table", css=Markup(STYLE), table=render_fragment(matrix, title)))
