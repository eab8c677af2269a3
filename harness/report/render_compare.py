"""Render a Comparison: terminal (rich), markdown (PR comments), JSON, HTML. No decisions here."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table

from harness.analysis.compare import Comparison, Row, Verdict
from harness.analysis.thresholds import DEFAULT_DELTA
from harness.report.plotlyjs import plotly_script
from harness.report.site.templates import num, pval, render

_STYLE = {
    Verdict.REGRESSED: "bold red",
    Verdict.IMPROVED: "bold green",
    Verdict.UNCHANGED: "dim",
    Verdict.INCONCLUSIVE: "yellow",
    Verdict.INCOMPARABLE: "magenta",
    Verdict.SUSPECTED: "bold yellow",
}
_ORDER = {Verdict.REGRESSED: 0, Verdict.INCOMPARABLE: 1, Verdict.SUSPECTED: 2, Verdict.INCONCLUSIVE: 2,
          Verdict.IMPROVED: 3, Verdict.UNCHANGED: 4}


def _ci(r: Row) -> str:
    return "" if r.ci_low is None or not math.isfinite(r.ci_low) else f"{r.ci_low:.3f}–{r.ci_high:.3f}"


def _ratio(r: Row) -> str:
    return "" if r.ratio is None else f"{r.ratio:.3f}"


def runs_text(r: Row) -> str:
    """Runs per side (rounds when paired): the unit of evidence."""
    if r.kind != "noisy" or not (r.runs_a or r.runs_b):
        return ""
    return f"{r.runs_a} rounds" if r.paired else f"{r.runs_a}/{r.runs_b}"


def sigma_text(r: Row) -> str:
    """σ_run used and where it came from."""
    if r.sigma_run is None:
        return ""
    when = ", ".join(x for x in (f"{r.sigma_runs} runs" if r.sigma_runs else "", r.sigma_date or "") if x)
    return (f"{100 * r.sigma_run:.1f} % {r.sigma_source or ''}".strip() + (f" ({when})" if when else "")
            + (" stale: observed" if r.sigma_stale else ""))


def mde_text(r: Row) -> str:
    return "" if r.mde is None else f"{100 * r.mde:.1f} %"


def why_text(r: Row) -> str:
    return " · ".join([r.reason, *r.notes]) if r.notes else r.reason


def _counts_line(cmp: Comparison) -> str:
    return ", ".join(f"{n} {v.lower()}" for v, n in cmp.counts().items() if n)


def render_terminal(cmp: Comparison, console: Console, *, strict: bool = False, show_all: bool = True) -> None:
    table = Table(title=f"{rich_escape(cmp.a_label)} → {rich_escape(cmp.b_label)}", show_lines=False)
    numeric = ("A", "B", "B/A", "95% CI", "runs A/B", "σ_run", "MDE", "Holm p")
    for col in ("device", "workload", "prec", "backend", "metric", *numeric, "verdict", "why"):
        table.add_column(col, justify="right" if col in numeric else "left")
    for r in sorted(cmp.rows, key=lambda r: _ORDER[r.verdict]):
        if not show_all and r.verdict is Verdict.UNCHANGED:
            continue
        style = _STYLE[r.verdict]
        table.add_row(
            *(rich_escape(str(x)) for x in (r.device, r.workload, r.precision, r.backend, r.metric)),
            num(r.a), num(r.b), _ratio(r), _ci(r), runs_text(r), sigma_text(r), mde_text(r), pval(r.p_holm),
            f"[{style}]{r.verdict.value}[/]", rich_escape(why_text(r)),
        )
    console.print(table)
    for note in cmp.notes:
        console.print(note, markup=False, highlight=False)
    console.print(f"{_counts_line(cmp) or 'no rows'} · exit {cmp.exit_code(strict)}", highlight=False)


def _md(text: Any) -> str:
    return html.escape(str(text if text is not None else ""), quote=False).replace("|", "\\|")


def render_markdown(cmp: Comparison, *, strict: bool = False) -> str:
    head = ("| device | workload | precision | backend | metric | A | B | B/A | 95% CI | runs A/B | σ_run | MDE | "
            "Holm p | verdict | why |")
    sep = "|" + "---|" * 15
    lines = [f"### harness compare: {_md(cmp.a_label)} → {_md(cmp.b_label)}", "",
             f"**{_md(_counts_line(cmp) or 'no rows')}** · exit code {cmp.exit_code(strict)}", ""]
    lines += [f"> {_md(n)}" for n in cmp.notes]

    def table(rows: list[Row]) -> list[str]:
        out = [head, sep]
        for r in rows:
            verdict = f"**{r.verdict.value}**" if r.verdict is Verdict.REGRESSED else r.verdict.value
            out.append("| " + " | ".join([
                _md(r.device), _md(r.workload), _md(r.precision), _md(r.backend), _md(r.metric),
                num(r.a), num(r.b), _ratio(r), _ci(r), runs_text(r), _md(sigma_text(r)), mde_text(r), pval(r.p_holm),
                verdict, _md(why_text(r))]) + " |")
        return out

    ordered = sorted(cmp.rows, key=lambda r: _ORDER[r.verdict])
    notable = [r for r in ordered if r.verdict is not Verdict.UNCHANGED]
    unchanged = [r for r in ordered if r.verdict is Verdict.UNCHANGED]
    if notable:
        lines += table(notable)
    if unchanged:
        lines += ["", f"<details><summary>{len(unchanged)} unchanged row(s)</summary>", "", *table(unchanged), "",
                  "</details>"]
    return "\n".join(lines) + "\n"


def render_json(cmp: Comparison, *, strict: bool = False) -> str:
    doc = {**cmp.to_dict(), "exit_code": cmp.exit_code(strict)}
    return json.dumps(doc, indent=2, allow_nan=False, default=str)


def _gap(hi: float | None, lo: float | None) -> float:
    return 0.0 if hi is None or lo is None else hi - lo


def compare_figure(cmp: Comparison) -> go.Figure | None:
    """A forest plot: B/A with its CI per noisy row, the ±threshold band shaded."""
    rows = [r for r in cmp.rows if r.ratio is not None and r.ci_low is not None and math.isfinite(r.ci_low)]
    if not rows:
        return None
    labels = [f"{r.device} · {r.workload} · {r.precision} · {r.backend} · {r.metric}" for r in rows]
    colors = {"REGRESSED": "#cf222e", "IMPROVED": "#1a7f37", "UNCHANGED": "#57606a", "INCONCLUSIVE": "#9a6700",
              "INCOMPARABLE": "#8250df"}
    fig = go.Figure(
        go.Scatter(
            x=[r.ratio for r in rows], y=labels, mode="markers",
            marker={"color": [colors[r.verdict.value] for r in rows], "size": 9},
            error_x={"type": "data", "symmetric": False,
                     "array": [_gap(r.ci_high, r.ratio) for r in rows],
                     "arrayminus": [_gap(r.ratio, r.ci_low) for r in rows]},
            customdata=[r.verdict.value for r in rows],
            hovertemplate="%{y}<br>B/A %{x:.4f}<br>%{customdata}<extra></extra>",
        )
    )
    delta = max((r.delta or DEFAULT_DELTA) for r in rows)
    fig.add_vrect(x0=1 / (1 + delta), x1=1 + delta, fillcolor="#d0d7de", opacity=0.35, line_width=0)
    fig.add_vline(x=1.0, line_dash="dot")
    fig.update_layout(title="B/A ratio of medians with 95 % CI", xaxis_title="B / A", height=max(300, 28 * len(rows)),
                      margin={"l": 20, "r": 20, "t": 50, "b": 40}, yaxis={"automargin": True})
    return fig


def render_html(cmp: Comparison, out_dir: Path, *, strict: bool = False, plotlyjs: str = "inline",
                root: str = "") -> str:
    """A compare page. plotlyjs: "inline", "directory" (plotly.min.js beside it) or a relative URL."""
    fig = compare_figure(cmp)
    figure = fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}) if fig else ""
    return render("compare.html.j2", title=f"compare {cmp.a_label} → {cmp.b_label}", root=root,
                  plotly=plotly_script(Path(out_dir), plotlyjs), cmp=_view(cmp), figure=_markup(figure),
                  exit_code=cmp.exit_code(strict))


def _view(cmp: Comparison) -> dict[str, Any]:
    return {"a": cmp.a_label, "b": cmp.b_label, "counts": cmp.counts(), "notes": cmp.notes,
            "rows": [{**r.to_dict(), "runs": runs_text(r), "sigma": sigma_text(r), "mde_pct": mde_text(r),
                      "why": why_text(r)} for r in sorted(cmp.rows, key=lambda r: _ORDER[r.verdict])]}


def _markup(fragment: str) -> Any:
    from markupsafe import Markup  # plotly's own div + script: trusted, our strings inside are JSON-encoded

    return Markup(fragment)
