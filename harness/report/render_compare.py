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
from harness.analysis.compare_select import RowFilter, ordered, select
from harness.analysis.compare_unmatched import OneSidedGroup, group_one_sided
from harness.analysis.thresholds import DEFAULT_DELTA
from harness.report.plotlyjs import plotly_script
from harness.report.site.templates import num, pval, render
from harness.terminal_text import terminal_safe

_STYLE = {  # by verdict name: a verdict without a style prints plain
    "FAILED": "bold red",
    "REGRESSED": "bold red",
    "IMPROVED": "bold green",
    "UNCHANGED": "dim",
    "INCONCLUSIVE": "yellow",
    "INCOMPARABLE": "magenta",
    "SUSPECTED": "bold yellow",
}
_BOLD = ("FAILED", "REGRESSED")
MARKDOWN_LIMIT = 60_000  # characters; a GitHub comment holds 65,536
FOLD_AFTER = 25  # markdown: notable rows beyond these go into a <details> block


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


#: past this MDE (as a fraction) the figure says only that these runs cannot see a change of any size
MDE_SHOWN_UP_TO = 1.0


def mde_text(r: Row) -> str:
    """The minimum detectable effect; one run a side at a Holm-adjusted level gives figures like
    "12388.5 %", which read as a bug: past 100 % it is "> 100 %" (the why column says how many runs
    would decide it; the JSON keeps the number)."""
    if r.mde is None or math.isnan(r.mde):
        return ""
    return f"> {100 * MDE_SHOWN_UP_TO:.0f} %" if r.mde > MDE_SHOWN_UP_TO else f"{100 * r.mde:.1f} %"


def why_text(r: Row) -> str:
    return " · ".join([r.reason, *r.notes]) if r.notes else r.reason


def _counts_line(cmp: Comparison) -> str:
    counts = [f"{n} {v.lower()}" for v, n in cmp.counts().items() if n]
    cells = len({(o.device, o.workload, o.precision, o.backend) for o in cmp.one_sided if o.metric is None})
    if cells:
        counts.append(f"{cells} cell(s) on one side only")
    return ", ".join(counts)


def _names(values: tuple[str, ...], what: str, most: int = 4) -> str:
    shown = ", ".join(values[:most]) + (", …" if len(values) > most else "")
    return f"{len(values)} {what}{'s' if len(values) != 1 else ''} ({shown})"


def one_sided_text(g: OneSidedGroup) -> str:
    """"only in A: 3 workloads (…) × 2 precisions (…), 4 cells — not compared"."""
    detail = g.example.split(": ", 1)[1] if ": " in g.example else ""
    where = f"{_names(g.workloads, 'workload')} × {_names(g.precisions, 'precision')}"
    if len(g.devices) > 1:
        where += f" on {_names(g.devices, 'device')}"
    if g.metrics:
        where = f"{_names(g.metrics, 'metric', 3)} of {g.cells} cell(s)"
    else:
        where += f", {g.cells} cell{'s' if g.cells != 1 else ''}"
    return f"{g.what}: {where}" + (f" (e.g. {detail[:160]})" if detail and g.what != f"only in {g.side}" else "") \
        + " — not compared"


def one_sided_lines(cmp: Comparison) -> list[str]:
    return [one_sided_text(g) for g in group_one_sided(cmp.one_sided)]


def render_terminal(cmp: Comparison, console: Console, *, strict: bool = False, rows: RowFilter = RowFilter()) -> None:
    picked = select(cmp, rows)
    table = Table(title=f"{rich_escape(terminal_safe(cmp.a_label))} → {rich_escape(terminal_safe(cmp.b_label))}",
                  show_lines=False)
    numeric = ("A", "B", "B/A", "95% CI", "runs A/B", "σ_run", "MDE", "Holm p")
    for col in ("device", "workload", "prec", "backend", "metric", *numeric, "verdict", "why"):
        table.add_column(col, justify="right" if col in numeric else "left")
    for r in picked.rows:
        style = _STYLE.get(r.verdict.value, "")
        verdict = f"[{style}]{r.verdict.value}[/]" if style else r.verdict.value
        table.add_row(
            *(rich_escape(terminal_safe(str(x))) for x in (r.device, r.workload, r.precision, r.backend, r.metric)),
            num(r.a), num(r.b), _ratio(r), _ci(r), runs_text(r), sigma_text(r), mde_text(r), pval(r.p_holm),
            verdict, rich_escape(terminal_safe(why_text(r))),
        )
    if picked.rows:
        console.print(table)
    for line in [*one_sided_lines(cmp), *picked.hidden_text(), *cmp.notes]:
        console.print(terminal_safe(line), markup=False, highlight=False)
    console.print(f"{_counts_line(cmp) or 'no rows'} · exit {cmp.exit_code(strict)}", highlight=False)


def _md(text: Any) -> str:
    """Plain text in a markdown table cell or line: HTML escaped, pipes escaped, one line."""
    flat = " ".join(str(text if text is not None else "").split())
    return html.escape(flat, quote=False).replace("|", "\\|")


_MD_HEAD = ("| device | workload | precision | backend | metric | A | B | B/A | 95% CI | runs A/B | σ_run | MDE | "
            "Holm p | verdict | why |\n" + "|" + "---|" * 15 + "\n")


def _md_row(r: Row) -> str:
    verdict = f"**{r.verdict.value}**" if r.verdict.value in _BOLD else r.verdict.value
    return "| " + " | ".join([
        _md(r.device), _md(r.workload), _md(r.precision), _md(r.backend), _md(r.metric),
        num(r.a), num(r.b), _ratio(r), _ci(r), runs_text(r), _md(sigma_text(r)), mde_text(r), pval(r.p_holm),
        verdict, _md(why_text(r))]) + " |\n"


def _details(summary: str, body: str) -> str:
    """A folded block GitHub renders: blank lines around the markdown inside, or it stays raw text."""
    return f"\n<details><summary>{_md(summary)}</summary>\n\n{body}\n</details>\n"


def render_markdown(cmp: Comparison, *, strict: bool = False, rows: RowFilter = RowFilter(),
                    limit: int = MARKDOWN_LIMIT) -> str:
    """A PR comment: findings first, the rest folded, at most ``limit`` characters (rows past it are cut,
    and a note says how many of which verdicts; ``--format json`` / ``--html`` keep every row)."""
    picked = select(cmp, rows)
    head = [f"### harness compare: {_md(cmp.a_label)} → {_md(cmp.b_label)}", "",
            f"**{_md(_counts_line(cmp) or 'no rows')}** · exit code {cmp.exit_code(strict)}", ""]
    lone = one_sided_lines(cmp) + picked.hidden_text()
    if lone:
        head += [f"- {_md(line)}" for line in lone] + [""]
    if cmp.notes:  # a blockquote swallows what follows it unless a blank line ends it
        head += [f"> {_md(n)}" for n in cmp.notes] + [""]
    text = "\n".join(head) + "\n"
    notable = [r for r in picked.rows if r.verdict is not Verdict.UNCHANGED]
    unchanged = [r for r in picked.rows if r.verdict is Verdict.UNCHANGED]
    first, folded = notable[:FOLD_AFTER], notable[FOLD_AFTER:]
    reserve = 400  # the cut note and the closing tags of the blocks
    budget = limit - len(text) - reserve
    fitted: list[list[str]] = []
    cut: list[Row] = []
    for block in (first, folded, unchanged):
        lines: list[str] = []
        cost = len(_MD_HEAD) + 80 if block else 0  # table head + the <details> wrapper
        for r in block:
            line = _md_row(r)
            if cut or cost + len(line) > budget:
                cut.append(r)
                continue
            lines.append(line)
            cost += len(line)
        if lines:
            budget -= cost
        fitted.append(lines)
    if fitted[0]:
        text += _MD_HEAD + "".join(fitted[0])
    if fitted[1]:
        text += _details(f"{len(fitted[1])} more changed or undecided row(s)", _MD_HEAD + "".join(fitted[1]))
    if fitted[2]:
        text += _details(f"{len(fitted[2])} unchanged row(s)", _MD_HEAD + "".join(fitted[2]))
    if cut:
        by: dict[str, int] = {}
        for r in cut:
            by[r.verdict.value.lower()] = by.get(r.verdict.value.lower(), 0) + 1
        what = ", ".join(f"{n} {v}" for v, n in by.items())
        text += (f"\n*{len(cut)} row(s) cut to keep this comment under {limit:,} characters ({what}); "
                 "`harness compare --format json` or `--html` has every row.*\n")
    return text


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
    colors = {"REGRESSED": "#cf222e", "FAILED": "#cf222e", "IMPROVED": "#1a7f37", "UNCHANGED": "#57606a",
              "INCONCLUSIVE": "#9a6700", "SUSPECTED": "#bc4c00", "INCOMPARABLE": "#8250df"}
    fig = go.Figure(
        go.Scatter(
            x=[r.ratio for r in rows], y=labels, mode="markers",
            marker={"color": [colors.get(r.verdict.value, "#57606a") for r in rows], "size": 9},
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
                      "why": why_text(r)} for r in ordered(cmp.rows)],
            "one_sided": one_sided_lines(cmp)}


def _markup(fragment: str) -> Any:
    from markupsafe import Markup  # plotly's own div + script: trusted, our strings inside are JSON-encoded

    return Markup(fragment)
