"""Render a Comparison: terminal (rich), markdown (PR comments), JSON, HTML. No decisions here."""

from __future__ import annotations

import html
import json
import math
import re
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
    return "" if r.ratio is None or not math.isfinite(r.ratio) else f"{r.ratio:.3f}"


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


DASH = "–"
UNBOUNDED = 100_000  # columns: the width a table asks for when nothing bounds it
WHY_WIDTH = 43  # the wide table's why column at its narrowest (40) and its border: else the narrow layout
IDENTITY = (("device", "device"), ("workload", "workload"), ("prec", "precision"), ("backend", "backend"))
NUMERIC = ("A", "B", "B/A", "95% CI", "runs A/B", "σ_run", "MDE", "Holm p")


def _verdict_cell(r: Row) -> str:
    style = _STYLE.get(r.verdict.value, "")
    return f"[{style}]{r.verdict.value}[/]" if style else r.verdict.value


def _evidence(r: Row) -> list[str]:
    return [num(r.a), num(r.b), _ratio(r), _ci(r), runs_text(r), sigma_text(r), mde_text(r), pval(r.p_holm)]


def _safe(x: object) -> str:
    return rich_escape(terminal_safe(str(x)))


def _wide_table(cmp: Comparison, rows: list[Row], why: bool = True) -> Table:
    """One line of evidence per row, its why inline (wrapped in its column): for a terminal wide enough."""
    table = Table(title=f"{_safe(cmp.a_label)} → {_safe(cmp.b_label)}", show_lines=False)
    for col in (*(c for c, _ in IDENTITY), "metric", *NUMERIC, "verdict", *(["why"] if why else [])):
        table.add_column(col, justify="right" if col in NUMERIC else "left")
    for r in rows:
        table.add_row(*(_safe(getattr(r, f)) for _, f in IDENTITY), _safe(r.metric), *_evidence(r), _verdict_cell(r),
                      *([_safe(why_text(r))] if why else []))
    return table


def _shape(note: str) -> str:
    """A note with its figures masked: the same caveat on several rows, whatever its numbers."""
    return re.sub(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?", "#", note)


def _spans(numbers: list[int]) -> str:
    out: list[str] = []
    for n in numbers:
        if out and out[-1].split("–")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('–')[0]}–{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


#: the narrow layout's table: what decides a row; the rest of its evidence is its numbered line
NARROW_NUMERIC = ("B/A", "95% CI")


def _narrow(cmp: Comparison, rows: list[Row], console: Console) -> None:
    """For a terminal narrower than the wide table: what every row shares goes to the title; each row
    gets a number and the table keeps what decides it (verdict, B/A and its interval); a numbered line
    under it gives the rest of the row's evidence (A, B, runs, σ_run, MDE, Holm p) and its why. A caveat
    on several rows is said once, with the rows it is on (its figures per row: --format markdown)."""
    shared = [(c, f) for c, f in IDENTITY if len({getattr(r, f) for r in rows}) == 1]
    title = f"{_safe(cmp.a_label)} → {_safe(cmp.b_label)}" + "".join(
        f" · {c} {_safe(getattr(rows[0], f))}" for c, f in shared)
    own = [(c, f) for c, f in IDENTITY if (c, f) not in shared]
    cells = [[str(i), _verdict_cell(r), *(_safe(getattr(r, f)) for _, f in own), _safe(r.metric), _ratio(r), _ci(r)]
             for i, r in enumerate(rows, 1)]
    widths = [len(str(len(rows))), max(len(r.verdict.value) for r in rows)]  # the verdict first: never the one cut
    table = Table(title=title, show_lines=False)
    for k, col in enumerate(["#", "verdict", *(c for c, _ in own), "metric", *NARROW_NUMERIC]):
        whole = k < 2 or col in NARROW_NUMERIC  # numbers and verdicts are never cut: a narrow terminal cuts names
        table.add_column(col, justify="left" if col == "verdict" or not whole else "right", no_wrap=whole,
                         overflow="ellipsis",
                         min_width=(widths[k] if k < 2 else max(len(c[k]) for c in cells)) if whole else None)
    for c in cells:
        table.add_row(*c)
    console.print(table)
    on: dict[str, list[int]] = {}
    for i, r in enumerate(rows, 1):
        for shape in dict.fromkeys(_shape(n) for n in r.notes):
            on.setdefault(shape, []).append(i)
    for i, r in enumerate(rows, 1):
        mine = [n for n in r.notes if len(on[_shape(n)]) == 1]
        evidence = f"A {num(r.a) or DASH} → B {num(r.b) or DASH} (runs {runs_text(r) or DASH}) · σ_run " \
                   f"{sigma_text(r) or DASH} · MDE {mde_text(r) or DASH} · Holm p {pval(r.p_holm) or DASH}"
        console.print(f"{i:>3}. " + terminal_safe(" · ".join(x for x in (evidence, r.reason, *mine) if x)), markup=False,
                      highlight=False)
    for shape, numbers in on.items():
        if len(numbers) < 2:
            continue
        texts = [n for r in rows for n in r.notes if _shape(n) == shape]
        tail = "" if len(set(texts)) == 1 else " (figures differ per row: --format markdown has each)"
        console.print(f"rows {_spans(numbers)}: " + terminal_safe(texts[0]) + tail, markup=False, highlight=False)


def render_terminal(cmp: Comparison, console: Console, *, strict: bool = False, rows: RowFilter = RowFilter()) -> None:
    """The wide table where the terminal holds its evidence and a why column of 40 (a log or a pipe:
    240 columns); else the narrow layout."""
    picked = select(cmp, rows)
    if picked.rows:
        evidence = _wide_table(cmp, picked.rows, why=False)
        if console.measure(evidence, options=console.options.update_width(UNBOUNDED)).maximum + WHY_WIDTH <= console.width:
            console.print(_wide_table(cmp, picked.rows))
        else:
            _narrow(cmp, picked.rows, console)
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
